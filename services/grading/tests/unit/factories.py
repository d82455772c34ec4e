"""Small builders for grading facts in tests."""
from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.grading.domain.facts import (
    ComplaintFiledFact,
    ConsultantOverrideFact,
    ContactReceivedFact,
    DealClosedFact,
    FollowUpFact,
    LossApprovedFact,
)
from shared.events.enums import Channel, FollowUpOutcome, LossReason

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
_counter = itertools.count(1)


def fid() -> uuid.UUID:
    return uuid.UUID(int=next(_counter))


def at(day: float) -> datetime:
    return T0 + timedelta(days=day)


def contact(day: float = 0, channel: Channel = Channel.WALK_IN, **kw) -> ContactReceivedFact:
    return ContactReceivedFact(fact_id=fid(), occurred_at=at(day), channel=channel, **kw)


def follow_up(day: float, outcome: FollowUpOutcome = FollowUpOutcome.REACHED, **kw) -> FollowUpFact:
    if "deposit_amount" in kw and kw["deposit_amount"] is not None:
        kw["deposit_amount"] = Decimal(str(kw["deposit_amount"]))
    return FollowUpFact(fact_id=fid(), occurred_at=at(day), outcome=outcome, **kw)


def no_answer(day: float) -> FollowUpFact:
    return follow_up(day, FollowUpOutcome.NO_ANSWER)


def deal(day: float) -> DealClosedFact:
    return DealClosedFact(fact_id=fid(), occurred_at=at(day))


def complaint(day: float) -> ComplaintFiledFact:
    return ComplaintFiledFact(fact_id=fid(), occurred_at=at(day))


def override(day: float, grade, reason: str = "knows the family", by: str = "consultant-7") -> ConsultantOverrideFact:
    return ConsultantOverrideFact(fact_id=fid(), occurred_at=at(day), grade=grade, reason=reason, overridden_by=by)


def lost(day: float, reason: LossReason = LossReason.COMPETITOR) -> LossApprovedFact:
    return LossApprovedFact(fact_id=fid(), occurred_at=at(day), reason=reason, approved_by="manager-1", note="bought X")
