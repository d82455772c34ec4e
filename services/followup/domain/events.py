"""Payloads of the shared event contract for follow-up's own facts (no envelope, no I/O)."""
from __future__ import annotations

from datetime import datetime

from shared.events.contract import ComplaintUpdated, FollowUpLogged, TaskClosed, TaskScheduled

from .complaints import ComplaintCase, ComplaintStatus, Deadline

from .errors import InvalidTransition
from .tasks import FollowUpTask, TaskStatus


def task_scheduled(task: FollowUpTask) -> TaskScheduled:
    """A task was created, moved or reassigned (same task id)."""
    return TaskScheduled(task_id=task.task_id, kind=task.kind.value, owner_id=task.owner_id, due_at=task.due_at,
                         grade=task.grade, marketing=task.marketing)


def followup_logged(task: FollowUpTask) -> FollowUpLogged:
    """A task was completed with its record (跟踪记录)."""
    if task.status != TaskStatus.DONE or task.record is None or task.completed_at is None:
        raise InvalidTransition(f"task {task.task_id} is not done")
    r = task.record
    return FollowUpLogged(task_id=task.task_id, kind=task.kind.value, consultant_id=r.consultant_id, method=r.method,
                          outcome=r.outcome, content=r.content, test_drive=r.test_drive,
                          quote_accepted=r.quote_accepted, budget_confirmed=r.budget_confirmed,
                          deposit_amount=r.deposit_amount, purchase_timeframe=r.purchase_timeframe,
                          next_contact_at=r.next_contact_at, completed_at=task.completed_at, late=task.done_late)


def task_closed(task: FollowUpTask) -> TaskClosed:
    """A task left the open list without a record: cancelled (with its reason) or marked overdue."""
    if task.status == TaskStatus.CANCELLED and task.cancel_reason:
        return TaskClosed(task_id=task.task_id, status="cancelled", reason=task.cancel_reason)
    if task.status == TaskStatus.OVERDUE:
        return TaskClosed(task_id=task.task_id, status="overdue", reason=f"not done by {task.due_at.isoformat()}")
    raise InvalidTransition(f"task {task.task_id} is {task.status.value}: neither cancelled nor overdue")


_COMPLAINT_STEP = {
    ComplaintStatus.FILED: "opened",
    ComplaintStatus.ACKNOWLEDGED: "acknowledged",
    ComplaintStatus.RESOLVED: "resolved",
    ComplaintStatus.SURVEYED: "surveyed",
}


def complaint_updated(case: ComplaintCase, at: datetime, escalated: Deadline | None = None) -> ComplaintUpdated:
    """The case's current step (or, with `escalated`, the escalation of that breached deadline)."""
    return ComplaintUpdated(
        complaint_id=case.complaint_id,
        status="escalated" if escalated is not None else _COMPLAINT_STEP[case.status],
        owner_id=case.owner_id, category=case.root_cause, remedy=case.remedy, satisfaction=case.satisfaction,
        acknowledge_due_at=case.acknowledge_due, resolve_due_at=case.resolve_due,
        breached=escalated.value if escalated is not None else None, at=at,
    )
