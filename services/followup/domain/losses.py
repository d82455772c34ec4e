"""Loss (战败) approval: a consultant proposes, a manager approves or rejects.

proposed -> approved: the prospect is closed (its pending prospect work is
cancelled and `ProspectLost` is published);
proposed -> rejected: back to follow-up, with a cadence task.
A proposal needs a reason from `LossReason` (战败原因). Any other move raises
`InvalidTransition`.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.enums import IntentGrade, LossReason
from shared.events.contract import ProspectLost

from .cadence import CadencePlan, reschedule_on_grade_change
from .clock import require_aware
from .errors import InvalidTransition
from .policy import FollowUpPolicy
from .tasks import PROSPECT_KINDS, FollowUpTask, TaskChange

ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=2000)]

REASON_LOSS_APPROVED = "loss approved: prospect closed"


class LossStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


class LossProposal(BaseModel):
    """One request to close a prospect as lost, and its decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    proposal_id: uuid.UUID
    customer_id: uuid.UUID
    reason: LossReason
    note: Text | None = None
    proposed_by: ShortText
    proposed_at: AwareDatetime
    status: LossStatus = LossStatus.PROPOSED
    decided_by: ShortText | None = None
    decided_at: AwareDatetime | None = None
    decision_note: Text | None = None


def propose_loss(
    *,
    proposal_id: uuid.UUID,
    customer_id: uuid.UUID,
    reason: LossReason | str,
    proposed_by: str,
    now: datetime,
    note: str | None = None,
    pending: LossProposal | None = None,
) -> LossProposal:
    """A new proposal; refused without a valid reason or while another one is pending."""
    require_aware(now)
    try:
        loss_reason = LossReason(reason)
    except ValueError:
        allowed = ", ".join(r.value for r in LossReason)
        raise InvalidTransition(f"a loss needs a reason, one of: {allowed} (got {reason!r})") from None
    if pending is not None and pending.customer_id == customer_id and pending.status == LossStatus.PROPOSED:
        raise InvalidTransition(f"loss proposal {pending.proposal_id} is already waiting for a decision")
    return LossProposal(proposal_id=proposal_id, customer_id=customer_id, reason=loss_reason, note=note,
                        proposed_by=proposed_by, proposed_at=now)


def _decide(proposal: LossProposal, status: LossStatus, by: str, now: datetime, note: str | None) -> LossProposal:
    require_aware(now)
    if proposal.status != LossStatus.PROPOSED:
        raise InvalidTransition(f"loss proposal {proposal.proposal_id} is already {proposal.status.value}")
    if not by:
        raise InvalidTransition("a loss decision needs the deciding manager")
    return proposal.model_copy(update={"status": status, "decided_by": by, "decided_at": now, "decision_note": note})


class LossApproval(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    proposal: LossProposal
    cancel: tuple[TaskChange, ...]  # the prospect's pending first-contact, cadence and delivery work
    event: ProspectLost


def approve_loss(
    proposal: LossProposal,
    *,
    approved_by: str,
    now: datetime,
    open_tasks: Iterable[FollowUpTask],
    consultant_id: str | None = None,
    note: str | None = None,
) -> LossApproval:
    """Close the prospect: the proposal is approved and its prospect work cancelled.

    Care, service and complaint work is left alone (those are not prospect work).
    """
    decided = _decide(proposal, LossStatus.APPROVED, approved_by, now, note)
    cancel = [t.cancel(REASON_LOSS_APPROVED, now) for t in open_tasks
              if t.customer_id == proposal.customer_id and t.is_pending and t.kind in PROSPECT_KINDS]
    event = ProspectLost(reason=proposal.reason, note=proposal.note,
                         consultant_id=consultant_id or proposal.proposed_by, approved_by=approved_by)
    return LossApproval(proposal=decided, cancel=tuple(c for c in cancel if c.changed), event=event)


class LossRejection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    proposal: LossProposal
    plan: CadencePlan  # the follow-up the prospect goes back to


def reject_loss(
    proposal: LossProposal,
    *,
    rejected_by: str,
    now: datetime,
    grade: IntentGrade,
    owner_id: str,
    open_tasks: Iterable[FollowUpTask],
    policy: FollowUpPolicy,
    note: str | None = None,
    marketing_allowed: bool = True,
) -> LossRejection:
    """Back to follow-up: the cadence of `grade` restarts from now (a pending cadence task is moved)."""
    decided = _decide(proposal, LossStatus.REJECTED, rejected_by, now, note)
    plan = reschedule_on_grade_change(open_tasks, grade, now, policy, customer_id=proposal.customer_id,
                                      owner_id=owner_id, last_contact_at=now, previous_grade=grade,
                                      marketing_allowed=marketing_allowed, cause_id=proposal.proposal_id)
    return LossRejection(proposal=decided, plan=plan)
