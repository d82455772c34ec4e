"""Mapping domain values to the shared event contract."""
import uuid
from datetime import timedelta

import pytest

from shared.events.enums import ComplaintCategory, ComplaintSeverity, IntentGrade

from services.followup.domain import (
    Deadline,
    InvalidTransition,
    TaskKind,
    acknowledge,
    complaint_updated,
    file_complaint,
    followup_logged,
    resolve,
    task_closed,
    task_scheduled,
)

from .factories import CUSTOMER, NOW, POLICY, record, task


def test_task_scheduled_carries_the_marketing_flag():
    ev = task_scheduled(task(TaskKind.CADENCE, grade=IntentGrade.H))
    assert (ev.kind, ev.grade, ev.marketing) == ("cadence", IntentGrade.H, True)
    assert task_scheduled(task(TaskKind.COMPLAINT_SURVEY)).marketing is False


def test_followup_logged_from_a_done_task():
    done = task().complete(record(test_drive=True, next_contact_at=NOW + timedelta(days=2)), NOW).task
    ev = followup_logged(done)
    assert (ev.task_id, ev.test_drive, ev.completed_at, ev.consultant_id) == (done.task_id, True, NOW, "alice")
    with pytest.raises(InvalidTransition):
        followup_logged(task())


def test_followup_logged_tells_whether_the_task_was_done_late():
    """Follow-up decides "done late" (FollowUpTask.done_late) and says so in the event: no reader judges it again."""
    due = task(due=NOW, created=NOW - timedelta(days=1))
    assert followup_logged(due.complete(record(), NOW - timedelta(minutes=1)).task).late is False
    assert followup_logged(due.complete(record(), NOW + timedelta(minutes=1)).task).late is True
    # judged on when it was done, not when it was logged
    logged_late = due.complete(record(), NOW + timedelta(days=1), done_at=NOW - timedelta(hours=1)).task
    assert followup_logged(logged_late).late is False


def test_task_closed_for_cancelled_and_overdue():
    assert task_closed(task().cancel("grade changed", NOW).task).status == "cancelled"
    assert task_closed(task(due=NOW).mark_overdue(NOW + timedelta(hours=1)).task).status == "overdue"
    with pytest.raises(InvalidTransition):
        task_closed(task())


def test_complaint_updated_steps():
    case = file_complaint(complaint_id=uuid.UUID(int=3), customer_id=CUSTOMER, severity=ComplaintSeverity.HIGH,
                          owner_id="svc", filed_at=NOW, policy=POLICY)
    assert complaint_updated(case, NOW).status == "opened"
    case = resolve(acknowledge(case, by="svc", now=NOW), root_cause=ComplaintCategory.DELIVERY, remedy="redeliver",
                   by="svc", now=NOW)
    ev = complaint_updated(case, NOW)
    assert (ev.status, ev.category, ev.remedy) == ("resolved", ComplaintCategory.DELIVERY, "redeliver")
    assert complaint_updated(case, NOW, escalated=Deadline.RESOLVE).breached == "resolve"
