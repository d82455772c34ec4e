"""Complaint cases (抱怨投诉处理): the seed's order, working-hour deadlines, breach escalated once."""
import uuid
from datetime import timedelta

import pytest

from shared.events.enums import Channel, ComplaintCategory, ComplaintSeverity

from services.followup.domain import (
    ComplaintStatus,
    Deadline,
    InvalidTransition,
    TaskKind,
    acknowledge,
    breaches,
    complaint_deadlines,
    escalations_due,
    file_complaint,
    mark_escalated,
    record_survey,
    resolve,
    survey_task,
)

from .factories import CUSTOMER, POLICY, at

COMPLAINT = uuid.UUID(int=99)
FRIDAY_5PM = at(2024, 6, 7, 17)


def filed(severity=ComplaintSeverity.MEDIUM, when=FRIDAY_5PM):
    return file_complaint(complaint_id=COMPLAINT, customer_id=CUSTOMER, severity=severity, owner_id="svc-lead",
                          filed_at=when, policy=POLICY, channel=Channel.PHONE,
                          description="my repair request waited a month")


@pytest.mark.parametrize(("severity", "days"), [(ComplaintSeverity.HIGH, 1), (ComplaintSeverity.MEDIUM, 3),
                                                (ComplaintSeverity.LOW, 7)])
def test_deadlines_by_severity(severity, days):
    tuesday_10am = at(2024, 6, 4, 10)
    ack, res = complaint_deadlines(severity, tuesday_10am, POLICY)
    assert ack == at(2024, 6, 4, 14)  # 4 working hours
    assert res == tuesday_10am + timedelta(days=days)  # 1 / 3 / 7 calendar days


def test_four_working_hours_from_friday_5pm_is_monday_noon():
    for severity in ComplaintSeverity:
        assert complaint_deadlines(severity, FRIDAY_5PM, POLICY)[0] == at(2024, 6, 10, 12)
    assert complaint_deadlines(ComplaintSeverity.MEDIUM, FRIDAY_5PM, POLICY)[1] == at(2024, 6, 10, 17)
    assert complaint_deadlines(ComplaintSeverity.LOW, FRIDAY_5PM, POLICY)[1] == at(2024, 6, 14, 17)


def test_resolve_deadline_is_never_before_the_acknowledge_deadline():
    ack, res = complaint_deadlines(ComplaintSeverity.HIGH, FRIDAY_5PM, POLICY)  # 1 day = Saturday 17:00
    assert res == ack == at(2024, 6, 10, 12)


def test_resolve_days_can_be_working_days():
    sla = {s: v.model_copy(update={"resolve_in_working_days": True}) for s, v in POLICY.complaint_sla.items()}
    working = POLICY.model_copy(update={"complaint_sla": sla})
    assert complaint_deadlines(ComplaintSeverity.HIGH, FRIDAY_5PM, working)[1] == at(2024, 6, 10, 17)
    assert complaint_deadlines(ComplaintSeverity.MEDIUM, FRIDAY_5PM, working)[1] == at(2024, 6, 12, 17)


def test_acknowledge_deadline_across_a_night():
    ack, _ = complaint_deadlines(ComplaintSeverity.HIGH, at(2024, 6, 4, 16), POLICY)
    assert ack == at(2024, 6, 5, 11)


def test_the_full_flow_filed_acknowledged_resolved_surveyed():
    case = filed()
    assert case.status == ComplaintStatus.FILED and case.policy_version == POLICY.version
    case = acknowledge(case, by="svc-lead", now=at(2024, 6, 10, 9, 30))
    assert case.status == ComplaintStatus.ACKNOWLEDGED
    case = resolve(case, root_cause=ComplaintCategory.AFTER_SALES_SERVICE, remedy="free repair and a loan car",
                   by="svc-lead", now=at(2024, 6, 10, 15))
    assert (case.status, case.root_cause, case.remedy) == (ComplaintStatus.RESOLVED,
                                                           ComplaintCategory.AFTER_SALES_SERVICE,
                                                           "free repair and a loan car")
    survey = survey_task(case, POLICY, at(2024, 6, 10, 15))
    assert (survey.kind, survey.due_at, survey.marketing, survey.owner_id) == (
        TaskKind.COMPLAINT_SURVEY, at(2024, 6, 13, 15), False, "svc-lead")
    case = record_survey(case, satisfaction=4, now=at(2024, 6, 13, 10), comment="fixed quickly")
    assert (case.status, case.satisfaction) == (ComplaintStatus.SURVEYED, 4)
    assert breaches(case, at(2024, 7, 1)) == []


def test_steps_cannot_be_skipped_or_repeated():
    case = filed()
    with pytest.raises(InvalidTransition, match="it is filed, it must be acknowledged"):
        resolve(case, root_cause=ComplaintCategory.BILLING, remedy="refund", by="x", now=FRIDAY_5PM)
    with pytest.raises(InvalidTransition, match="survey"):
        record_survey(case, satisfaction=5, now=FRIDAY_5PM)
    with pytest.raises(InvalidTransition, match="not resolved"):
        survey_task(case, POLICY, FRIDAY_5PM)
    acked = acknowledge(case, by="x", now=FRIDAY_5PM)
    with pytest.raises(InvalidTransition, match="cannot acknowledge"):
        acknowledge(acked, by="x", now=FRIDAY_5PM)
    with pytest.raises(InvalidTransition, match="before it was filed"):
        acknowledge(case, by="x", now=FRIDAY_5PM - timedelta(minutes=1))


def test_resolution_needs_root_cause_and_remedy():
    acked = acknowledge(filed(), by="x", now=FRIDAY_5PM)
    with pytest.raises(InvalidTransition, match="root-cause"):
        resolve(acked, root_cause=None, remedy="refund", by="x", now=FRIDAY_5PM)
    with pytest.raises(InvalidTransition, match="remedy"):
        resolve(acked, root_cause=ComplaintCategory.PROCEDURE_GAP, remedy="  ", by="x", now=FRIDAY_5PM)
    with pytest.raises(InvalidTransition, match="unknown root-cause"):
        resolve(acked, root_cause="weather", remedy="sorry", by="x", now=FRIDAY_5PM)  # type: ignore[arg-type]


@pytest.mark.parametrize("score", [0, 6, 3.5, True, "5"])
def test_satisfaction_is_a_score_from_1_to_5(score):
    resolved = resolve(acknowledge(filed(), by="x", now=FRIDAY_5PM), root_cause=ComplaintCategory.PERCEPTION_GAP,
                       remedy="explained", by="x", now=FRIDAY_5PM)
    with pytest.raises(InvalidTransition, match="1 to 5"):
        record_survey(resolved, satisfaction=score, now=FRIDAY_5PM)


def test_no_breach_before_the_deadline():
    case = filed()
    assert breaches(case, at(2024, 6, 10, 12)) == []  # at the deadline is not a breach


def test_acknowledge_breach_is_escalated_exactly_once():
    case = filed(ComplaintSeverity.MEDIUM)  # acknowledge by Monday 12:00, resolve by Monday 17:00
    now = at(2024, 6, 10, 12, 1)
    (due,) = escalations_due(case, now)
    assert (due.deadline, due.due_at, due.outstanding, due.escalated) == (Deadline.ACKNOWLEDGE,
                                                                         at(2024, 6, 10, 12), True, False)
    escalated = mark_escalated(case, Deadline.ACKNOWLEDGE, now)
    assert escalations_due(escalated, now + timedelta(minutes=5)) == []
    assert mark_escalated(escalated, Deadline.ACKNOWLEDGE, now + timedelta(hours=1)) == escalated  # idempotent
    # the resolve deadline is a separate escalation
    later = at(2024, 6, 10, 17, 1)
    assert [b.deadline for b in escalations_due(escalated, later)] == [Deadline.RESOLVE]


def test_a_late_step_is_a_breach_but_needs_no_escalation():
    late_ack = acknowledge(filed(), by="x", now=at(2024, 6, 10, 14))
    (b,) = breaches(late_ack, at(2024, 6, 10, 14))
    assert (b.deadline, b.outstanding) == (Deadline.ACKNOWLEDGE, False)
    assert escalations_due(late_ack, at(2024, 6, 10, 14)) == []


def test_an_unbreached_deadline_cannot_be_escalated():
    with pytest.raises(InvalidTransition, match="not breached"):
        mark_escalated(filed(), Deadline.RESOLVE, FRIDAY_5PM + timedelta(hours=1))
