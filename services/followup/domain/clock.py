"""Time comes from outside: an aware `now` argument or a `Clock`; rules never read the clock."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current aware time (the runtime's system clock, a test clock)."""

    def now(self) -> datetime: ...


def require_aware(moment: datetime, name: str = "now") -> datetime:
    """Return `moment` unchanged, or raise if it carries no time zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment
