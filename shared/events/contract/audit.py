"""Events about who read what: the audit trail of full reads of personal data."""
from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime

from ..enums import Role
from ..envelope import EventPayload
from .types import ShortText


class PersonalDataRead(EventPayload):
    """A person read a customer's personal data unmasked (客户信息的保密性: every such read is audited).

    Emitted by a service that serves personal data outside intake (the 360 view); intake
    keeps the one audit trail. Carries who read, never what was read."""

    EVENT_TYPE: ClassVar[str] = "personal-data-read"
    VERSION: ClassVar[int] = 1

    subject: ShortText
    role: Role
    what: ShortText
    read_at: AwareDatetime
