"""Marketing consent: granted or refused, with time and source.

Semantics: last writer by ``occurred_at`` (business time, not arrival order),
so the state is the same whatever order the decisions arrive in. A refusal
wins over an older permission, and over a permission with the *same* time.
Refusal stops marketing follow-ups and campaigns at once; it never stops
complaint handling or a service call the customer asked for.

With no recorded decision marketing is allowed (opt-out, as the spec reads:
"a customer may refuse"); pass ``default_allowed=False`` for an opt-in policy.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.business_time import HappenedAt
from shared.events.contract import ConsentChanged

from .text import OptShortText


class ContactPurpose(StrEnum):
    """Why we want to contact a customer; only marketing needs consent."""

    MARKETING = "marketing"  # cadence follow-ups, campaigns, care mailings
    COMPLAINT_HANDLING = "complaint_handling"
    REQUESTED_SERVICE = "requested_service"  # a call or visit the customer asked for


class ConsentIn(BaseModel):
    """Body of ``PUT /v1/customers/{id}/consent``."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"marketing_allowed": False, "occurred_at": "2026-05-08T15:30:00+08:00", "source": "phone call"}]})

    marketing_allowed: bool
    occurred_at: HappenedAt | None = None  # the receipt time if omitted
    source: OptShortText = None  # e.g. "phone call", "web unsubscribe", "walk_in"


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    """One decision of the customer; ``occurred_at`` must be timezone-aware."""

    marketing_allowed: bool
    occurred_at: datetime
    source: str = ""

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")

    def _order(self) -> tuple[datetime, bool, str]:
        # later wins; at equal time a refusal (True here) wins; then source, for determinism
        return (self.occurred_at, not self.marketing_allowed, self.source)


def apply_consent(current: ConsentDecision | None, decision: ConsentDecision) -> ConsentDecision:
    """The consent state after one more decision (commutative, idempotent)."""
    if current is None or decision._order() > current._order():
        return decision
    return current


def fold_consent(decisions: Iterable[ConsentDecision]) -> ConsentDecision | None:
    """The consent state after all decisions, in any order."""
    state: ConsentDecision | None = None
    for decision in decisions:
        state = apply_consent(state, decision)
    return state


def marketing_allowed(state: ConsentDecision | None, *, default_allowed: bool = True) -> bool:
    return default_allowed if state is None else state.marketing_allowed


def contact_permitted(
    state: ConsentDecision | None, purpose: ContactPurpose, *, default_allowed: bool = True
) -> bool:
    """May we contact the customer for this purpose? Refusal blocks marketing only."""
    if purpose is not ContactPurpose.MARKETING:
        return True
    return marketing_allowed(state, default_allowed=default_allowed)


def consent_decision(body: ConsentIn, received_at: datetime) -> ConsentDecision:
    """The decision of a consent request (``occurred_at`` defaults to the receipt time)."""
    return ConsentDecision(
        marketing_allowed=body.marketing_allowed,
        occurred_at=body.occurred_at or received_at,
        source=body.source or "",
    )


def to_consent_changed(decision: ConsentDecision) -> ConsentChanged:
    """The ``consent-changed`` payload (the envelope's ``occurred_at`` is the decision's)."""
    return ConsentChanged(
        marketing_allowed=decision.marketing_allowed, source=decision.source[:200] or None
    )
