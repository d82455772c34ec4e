"""Events the shared runtime produces."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field

from ..envelope import EventPayload
from .types import ShortText, Text


class DeadLetter(EventPayload):
    """A message that could not be applied, with the reason."""

    EVENT_TYPE: ClassVar[str] = "dead-letters"
    VERSION: ClassVar[int] = 1

    consumer: ShortText
    topic: ShortText
    partition: int
    offset: int
    reason: Text
    original: Annotated[str, Field(max_length=1_000_000)]
    failed_at: datetime
