"""Report filters and the small helpers every report shares (pure)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.business_time import business_day_of, end_of_business_day

UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class Filters:
    """Period (inclusive business days, shared.business_time), consultant, channel, campaign; `now` is
    the reference instant."""

    now: datetime
    date_from: date | None = None
    date_to: date | None = None
    consultant: str | None = None
    team: frozenset[str] | None = None  # a team manager's reports: their team's consultants only
    channel: str | None = None
    campaign: str | None = None

    def in_period(self, at: str | None) -> bool:
        if not at:
            return False
        day = business_day_of(at)
        return (self.date_from is None or day >= self.date_from.isoformat()) and \
               (self.date_to is None or day <= self.date_to.isoformat())

    @property
    def has_period(self) -> bool:
        return self.date_from is not None or self.date_to is not None

    @property
    def reference(self) -> str:
        """The instant 'overdue' is judged at: the end of `to`, or now. (Decline is not judged here:
        grading publishes it.)"""
        if self.date_to is None:
            return self.now.isoformat()
        return min(end_of_business_day(self.date_to), self.now).isoformat()

    def origin_matches(self, state: dict[str, Any]) -> bool:
        origin = state.get("origin") or {}
        return (self.channel is None or origin.get("channel") == self.channel) and \
               (self.campaign is None or origin.get("campaign") == self.campaign)

    def consultant_matches(self, consultant_id: str | None) -> bool:
        return (self.consultant is None or consultant_id == self.consultant) and \
               (self.team is None or consultant_id in self.team)

    def customer_matches(self, state: dict[str, Any]) -> bool:
        return self.origin_matches(state) and self.consultant_matches(state.get("consultant_id"))

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.date_from.isoformat() if self.date_from else None,
                "to": self.date_to.isoformat() if self.date_to else None,
                "consultant": self.consultant, "channel": self.channel, "campaign": self.campaign}


def money(value: Decimal | int | str) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def ratio(part: Decimal | int, whole: Decimal | int) -> float | None:
    """A share rounded to 4 places (None when the whole is zero)."""
    if not whole:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def mean(values: list[float]) -> float | None:
    if not values:
        return None
    return float((Decimal(str(sum(values))) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def hours_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600


def days_between(start: str | None, end: str | None) -> float | None:
    hours = hours_between(start, end)
    return None if hours is None else hours / 24


def active(states: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Customers not merged into another one (the survivor carries their history)."""
    merged = {m for s in states for m in s.get("merged_from", [])}
    return [s for s in states if s["customer_id"] not in merged and s.get("event_count", 0) > 0]
