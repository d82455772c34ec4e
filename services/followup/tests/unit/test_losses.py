"""Loss (战败) approval: proposed -> approved | rejected."""
import uuid
from datetime import timedelta

import pytest

from shared.events.enums import IntentGrade, LossReason

from services.followup.domain import (
    InvalidTransition,
    LossStatus,
    TaskKind,
    approve_loss,
    propose_loss,
    reject_loss,
)

from .factories import CUSTOMER, NOW, POLICY, task

PROPOSAL = uuid.UUID(int=5)


def proposal(reason=LossReason.COMPETITOR, **kw):
    return propose_loss(proposal_id=PROPOSAL, customer_id=CUSTOMER, reason=reason, proposed_by="alice", now=NOW,
                        note="bought a rival SUV", **kw)


def test_a_proposal_needs_a_reason_from_the_list():
    assert proposal().status == LossStatus.PROPOSED
    assert proposal("price").reason == LossReason.PRICE
    with pytest.raises(InvalidTransition, match="a loss needs a reason"):
        proposal("bad weather")
    with pytest.raises(InvalidTransition, match="a loss needs a reason"):
        proposal(None)


def test_only_one_pending_proposal_per_prospect():
    with pytest.raises(InvalidTransition, match="already waiting"):
        proposal(pending=proposal())


def test_approval_closes_the_prospect():
    cadence = task(TaskKind.CADENCE, due=NOW + timedelta(days=2))
    delivery = task(TaskKind.DELIVERY, due=NOW + timedelta(days=1))
    survey = task(TaskKind.COMPLAINT_SURVEY, due=NOW + timedelta(days=1))
    result = approve_loss(proposal(), approved_by="manager-1", now=NOW + timedelta(hours=1),
                          open_tasks=[cadence, delivery, survey])
    assert result.proposal.status == LossStatus.APPROVED and result.proposal.decided_by == "manager-1"
    assert {c.task.task_id for c in result.cancel} == {cadence.task_id, delivery.task_id}
    assert (result.event.reason, result.event.approved_by, result.event.consultant_id) == (
        LossReason.COMPETITOR, "manager-1", "alice")


def test_rejection_sends_the_prospect_back_to_follow_up_with_a_cadence_task():
    result = reject_loss(proposal(), rejected_by="manager-1", now=NOW, grade=IntentGrade.B, owner_id="alice",
                         open_tasks=[], policy=POLICY, note="call again after the holidays")
    assert result.proposal.status == LossStatus.REJECTED
    (created,) = result.plan.create
    assert (created.kind, created.grade, created.due_at) == (TaskKind.CADENCE, IntentGrade.B,
                                                             NOW + timedelta(days=15))


def test_rejection_moves_a_still_pending_cadence_task_instead_of_doubling_it():
    pending = task(TaskKind.CADENCE, grade=IntentGrade.B, due=NOW - timedelta(days=3))
    result = reject_loss(proposal(), rejected_by="m", now=NOW, grade=IntentGrade.B, owner_id="alice",
                         open_tasks=[pending], policy=POLICY)
    assert not result.plan.create and result.plan.move[0].task.task_id == pending.task_id


def test_a_decided_proposal_cannot_be_decided_again():
    approved = approve_loss(proposal(), approved_by="m", now=NOW, open_tasks=[]).proposal
    with pytest.raises(InvalidTransition, match="already approved"):
        approve_loss(approved, approved_by="m", now=NOW, open_tasks=[])
    with pytest.raises(InvalidTransition, match="already approved"):
        reject_loss(approved, rejected_by="m", now=NOW, grade=IntentGrade.A, owner_id="a", open_tasks=[],
                    policy=POLICY)
    rejected = reject_loss(proposal(), rejected_by="m", now=NOW, grade=IntentGrade.A, owner_id="a", open_tasks=[],
                           policy=POLICY).proposal
    with pytest.raises(InvalidTransition, match="already rejected"):
        approve_loss(rejected, approved_by="m", now=NOW, open_tasks=[])
    assert proposal(pending=rejected).status == LossStatus.PROPOSED  # a new proposal is allowed afterwards
