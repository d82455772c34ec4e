"""The periodic overdue check (逾期跟踪与升级): a pure function of the open work and `now`.

`periodic_check` returns only the actions not taken yet: mark a late task
overdue, escalate a task that is `escalate_after_hours` late to the manager,
escalate a breached complaint deadline. Each action leaves a mark on the
task or case (`overdue_at`, `escalated_at`, `*_escalated_at`), so once the
actions are applied (`apply_actions`) the same check finds nothing new: the
periodic job survives restarts without doubling work.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .clock import require_aware
from .complaints import ComplaintCase, Deadline, escalations_due, mark_escalated
from .policy import FollowUpPolicy
from .tasks import FollowUpTask, TaskStatus


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MarkTaskOverdue(_Frozen):
    action: Literal["mark_overdue"] = "mark_overdue"
    task_id: uuid.UUID
    customer_id: uuid.UUID
    owner_id: str
    due_at: AwareDatetime


class EscalateTask(_Frozen):
    """Tell the owner's manager that this task is late beyond the threshold."""

    action: Literal["escalate_task"] = "escalate_task"
    task_id: uuid.UUID
    customer_id: uuid.UUID
    owner_id: str
    due_at: AwareDatetime
    late_by: timedelta


class EscalateComplaint(_Frozen):
    """Tell the manager that a complaint deadline was breached."""

    action: Literal["escalate_complaint"] = "escalate_complaint"
    complaint_id: uuid.UUID
    customer_id: uuid.UUID
    owner_id: str
    deadline: Deadline
    due_at: AwareDatetime


Action = Annotated[MarkTaskOverdue | EscalateTask | EscalateComplaint, Field(discriminator="action")]
_ORDER = {"mark_overdue": 0, "escalate_task": 1, "escalate_complaint": 2}


def overdue_work(tasks: Iterable[FollowUpTask], now: datetime) -> list[FollowUpTask]:
    """Pending tasks past their due time, most late first (the overdue list)."""
    require_aware(now)
    return sorted((t for t in tasks if t.is_late(now)), key=lambda t: (t.due_at, str(t.task_id)))


def periodic_check(
    tasks: Iterable[FollowUpTask],
    cases: Iterable[ComplaintCase],
    now: datetime,
    policy: FollowUpPolicy,
) -> list[Action]:
    """The actions still to take at `now`, ordered by due time."""
    require_aware(now)
    actions: list[Action] = []
    for t in tasks:
        if not t.is_late(now):
            continue
        if t.status == TaskStatus.OPEN:
            actions.append(MarkTaskOverdue(task_id=t.task_id, customer_id=t.customer_id, owner_id=t.owner_id,
                                           due_at=t.due_at))
        if t.escalated_at is None and now - t.due_at > policy.escalate_after:
            actions.append(EscalateTask(task_id=t.task_id, customer_id=t.customer_id, owner_id=t.owner_id,
                                        due_at=t.due_at, late_by=now - t.due_at))
    for case in cases:
        actions.extend(EscalateComplaint(complaint_id=case.complaint_id, customer_id=case.customer_id,
                                         owner_id=case.owner_id, deadline=b.deadline, due_at=b.due_at)
                       for b in escalations_due(case, now))
    return sorted(actions, key=_sort_key)


def _sort_key(a: Action) -> tuple[datetime, int, str]:
    ident = a.complaint_id if isinstance(a, EscalateComplaint) else a.task_id
    suffix = a.deadline.value if isinstance(a, EscalateComplaint) else ""
    return a.due_at, _ORDER[a.action], f"{ident}/{suffix}"


def apply_actions(
    tasks: Sequence[FollowUpTask],
    cases: Sequence[ComplaintCase],
    actions: Iterable[Action],
    now: datetime,
) -> tuple[list[FollowUpTask], list[ComplaintCase]]:
    """The tasks and cases after the actions (what the runtime persists, as a pure function)."""
    task_by_id = {t.task_id: t for t in tasks}
    case_by_id = {c.complaint_id: c for c in cases}
    for a in actions:
        if isinstance(a, MarkTaskOverdue) and a.task_id in task_by_id:
            task_by_id[a.task_id] = task_by_id[a.task_id].mark_overdue(now).task
        elif isinstance(a, EscalateTask) and a.task_id in task_by_id:
            task_by_id[a.task_id] = task_by_id[a.task_id].mark_escalated(now).task
        elif isinstance(a, EscalateComplaint) and a.complaint_id in case_by_id:
            case_by_id[a.complaint_id] = mark_escalated(case_by_id[a.complaint_id], a.deadline, now)
    return ([task_by_id[t.task_id] for t in tasks], [case_by_id[c.complaint_id] for c in cases])
