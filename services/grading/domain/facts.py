"""Grading facts: what the intent grading (确度判别) needs to know of each event.

A fact is a small immutable value taken from one event: `fact_id` is the id of
the causing event and `occurred_at` is when it happened (an aware datetime).
Facts are ordered by `(occurred_at, fact_id)`, a total order that does not
depend on arrival order. `fact_from_payload` turns a contract payload into a
fact; it is pure and returns None for events that carry no grading signal.
"""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.enums import (
    Channel,
    ComplaintSeverity,
    FollowUpOutcome,
    IntentGrade,
    LossReason,
    PurchaseTimeframe,
)
from shared.events.envelope import EventPayload
from shared.events.contract import (
    ComplaintFiled,
    ContactReceived,
    DealClosed,
    FollowUpLogged,
    ProspectGraded,
    ProspectLost,
)

OVERRIDE_RULE = "override"
"""The `rule` of a ProspectGraded event that records a consultant's override."""


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    fact_id: uuid.UUID
    occurred_at: AwareDatetime

    @property
    def sort_key(self) -> tuple:
        """The replay order: time first, the event id breaks ties."""
        return (self.occurred_at, self.fact_id)


class ContactReceivedFact(_Fact):
    """A contact was taken in (showroom log: channel, time frame, initial grade)."""

    kind: Literal["contact_received"] = "contact_received"
    channel: Channel
    purchase_timeframe: PurchaseTimeframe | None = None
    initial_grade: IntentGrade | None = None
    budget: Decimal | None = None  # recorded; a stated budget is not a confirmed one


class FollowUpFact(_Fact):
    """A follow-up was logged with its outcome and the buying signals seen."""

    kind: Literal["follow_up"] = "follow_up"
    outcome: FollowUpOutcome
    test_drive: bool = False
    quote_accepted: bool = False
    budget_confirmed: bool = False
    deposit_amount: Decimal | None = Field(default=None, ge=0)
    purchase_timeframe: PurchaseTimeframe | None = None
    consultant_id: str | None = None

    @property
    def has_buying_signal(self) -> bool:
        """A test drive, an accepted quote or a confirmed budget."""
        return self.test_drive or self.quote_accepted or self.budget_confirmed


class DealClosedFact(_Fact):
    """A deal (成交) was recorded."""

    kind: Literal["deal_closed"] = "deal_closed"
    deal_id: uuid.UUID | None = None


class ComplaintFiledFact(_Fact):
    """A complaint was filed (a sign of life; it does not change the intent grade)."""

    kind: Literal["complaint_filed"] = "complaint_filed"
    severity: ComplaintSeverity | None = None


class ConsultantOverrideFact(_Fact):
    """A consultant set the grade by hand, with a reason."""

    kind: Literal["consultant_override"] = "consultant_override"
    grade: IntentGrade
    reason: str = Field(min_length=1, max_length=2000)
    overridden_by: str = Field(min_length=1, max_length=200)


class LossApprovedFact(_Fact):
    """A manager approved the loss (战败) of the prospect."""

    kind: Literal["loss_approved"] = "loss_approved"
    reason: LossReason
    approved_by: str = Field(min_length=1, max_length=200)
    note: str | None = None


GradingFact = Annotated[
    ContactReceivedFact
    | FollowUpFact
    | DealClosedFact
    | ComplaintFiledFact
    | ConsultantOverrideFact
    | LossApprovedFact,
    Field(discriminator="kind"),
]


def fact_from_payload(fact_id: uuid.UUID, occurred_at: AwareDatetime, payload: EventPayload) -> GradingFact | None:
    """The grading fact carried by one event, or None if the event carries none.

    A ProspectGraded event is a fact only when its rule is "override" (the
    command API records overrides that way); other ProspectGraded events are
    this service's own output and are not fed back.
    """
    common = {"fact_id": fact_id, "occurred_at": occurred_at}
    match payload:
        case ContactReceived():
            return ContactReceivedFact(
                **common,
                channel=payload.channel,
                purchase_timeframe=payload.purchase_timeframe,
                initial_grade=payload.initial_grade,
                budget=payload.budget,
            )
        case FollowUpLogged():
            return FollowUpFact(
                **common,
                outcome=payload.outcome,
                test_drive=payload.test_drive,
                quote_accepted=payload.quote_accepted,
                budget_confirmed=payload.budget_confirmed,
                deposit_amount=payload.deposit_amount,
                purchase_timeframe=payload.purchase_timeframe,
                consultant_id=payload.consultant_id,
            )
        case DealClosed():
            return DealClosedFact(**common, deal_id=payload.deal_id)
        case ComplaintFiled():
            return ComplaintFiledFact(**common, severity=payload.severity)
        case ProspectLost():
            # the loss note is free text about the person: grading does not need it, so it keeps none
            return LossApprovedFact(**common, reason=payload.reason, approved_by=payload.approved_by)
        case ProspectGraded() if payload.rule == OVERRIDE_RULE and payload.overridden_by:
            return ConsultantOverrideFact(
                **common, grade=payload.grade, reason=payload.override_reason or "-", overridden_by=payload.overridden_by
            )
    return None
