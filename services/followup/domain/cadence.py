"""Cadence follow-ups by intent grade (有望客户级别 / 跟踪频率).

H, A, B and C prospects are contacted at least every `cadence_days[grade]`
days; an O prospect (订单) gets the delivery steps instead; lost (战败) or
closed prospects get no cadence. When the grade changes, the cadence moves
with it: `reschedule_on_grade_change` returns a `CadencePlan` of tasks to
cancel, to move and to create. Plans are idempotent: applying a plan and
asking again with the same inputs gives an empty plan.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.events.enums import IntentGrade

from .clock import require_aware
from .consent import CONSENT_REFUSED
from .policy import FollowUpPolicy
from .tasks import FollowUpTask, TaskChange, TaskKind, TaskStatus, schedule_task

REASON_ORDER_RECEIVED = "order received: delivery steps replace cadence"
REASON_LEFT_ORDER = "grade left O: delivery steps no longer apply"
REASON_DUPLICATE = "duplicate cadence task"
REASON_LOST = "prospect lost"
REASON_CLOSED = "prospect closed"


class ProspectStatus(StrEnum):
    """Whether a person is still followed as a prospect."""

    ACTIVE = "active"
    LOST = "lost"  # 战败 approved: no cadence, no delivery steps
    CLOSED = "closed"  # no longer a prospect (e.g. became a customer): no cadence


class CadencePlan(BaseModel):
    """What to do to the cadence and delivery work of one customer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cancel: tuple[TaskChange, ...] = ()
    move: tuple[TaskChange, ...] = ()
    create: tuple[FollowUpTask, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.cancel or self.move or self.create)

    def apply(self, tasks: Iterable[FollowUpTask]) -> list[FollowUpTask]:
        """The task list after this plan: changed tasks replaced by id, new ones appended."""
        changed = {c.task.task_id: c.task for c in (*self.cancel, *self.move)}
        out = [changed.get(t.task_id, t) for t in tasks]
        known = {t.task_id for t in out}
        out.extend(t for t in self.create if t.task_id not in known)
        return out


def _key_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def next_cadence_due(
    grade: IntentGrade,
    last_contact_at: datetime | None,
    now: datetime,
    policy: FollowUpPolicy,
    requested_at: datetime | None = None,
) -> datetime | None:
    """When the next cadence follow-up of a `grade` prospect is due; None for O.

    Due one interval after the last contact (or after `now` if never
    contacted), earlier if the consultant set an earlier next contact
    (`requested_at`), and never before `now`: a cadence that moves because
    the grade just changed starts now rather than already late.
    """
    require_aware(now)
    interval = policy.cadence_interval(grade)
    if interval is None:
        return None
    anchor = now if last_contact_at is None else require_aware(last_contact_at, "last_contact_at")
    due = anchor + interval
    if requested_at is not None and require_aware(requested_at, "requested_at") < due:
        due = requested_at
    return max(due, now)


def cadence_task(
    *,
    customer_id: uuid.UUID,
    owner_id: str,
    grade: IntentGrade,
    due_at: datetime,
    now: datetime,
    cause_id: uuid.UUID | None = None,
) -> FollowUpTask:
    """One cadence follow-up of a `grade` prospect due at `due_at`."""
    if grade == IntentGrade.O:
        raise ValueError("grade O has delivery steps, not cadence follow-ups")
    return schedule_task(customer_id=customer_id, kind=TaskKind.CADENCE, key=f"{grade.value}@{_key_time(due_at)}",
                         owner_id=owner_id, due_at=due_at, now=now, grade=grade, cause_id=cause_id)


def delivery_tasks(
    *,
    customer_id: uuid.UUID,
    owner_id: str,
    ordered_at: datetime,
    now: datetime,
    policy: FollowUpPolicy,
    cause_id: uuid.UUID | None = None,
) -> list[FollowUpTask]:
    """The grade-O delivery steps (车款/领牌/保险/配件/交车作业) of an order placed at `ordered_at`."""
    require_aware(ordered_at, "ordered_at")
    return [
        schedule_task(customer_id=customer_id, kind=TaskKind.DELIVERY,
                      key=f"{rule.step.value}@{_key_time(ordered_at)}", owner_id=owner_id,
                      due_at=ordered_at + timedelta(days=rule.due_after_days), now=now,
                      grade=IntentGrade.O, step=rule.step, cause_id=cause_id)
        for rule in policy.delivery_steps
    ]


def _cancel_all(tasks: Iterable[FollowUpTask], reason: str, now: datetime) -> list[TaskChange]:
    return [c for c in (t.cancel(reason, now) for t in tasks) if c.changed]


def reschedule_on_grade_change(
    open_tasks: Iterable[FollowUpTask],
    new_grade: IntentGrade,
    now: datetime,
    policy: FollowUpPolicy,
    *,
    customer_id: uuid.UUID,
    owner_id: str,
    last_contact_at: datetime | None,
    previous_grade: IntentGrade | None = None,
    status: ProspectStatus = ProspectStatus.ACTIVE,
    marketing_allowed: bool = True,
    cause_id: uuid.UUID | None = None,
) -> CadencePlan:
    """Move the customer's cadence to `new_grade`.

    - H/A/B/C: one pending cadence task, due `next_cadence_due`; the earliest
      existing one is moved, duplicates are cancelled, one is created if none;
      pending delivery steps are cancelled (the order fell through).
    - O: pending cadence tasks are cancelled; on entering O the delivery steps
      that are not already pending are created.
    - LOST: cadence and delivery are cancelled. CLOSED: cadence is cancelled.
    - refused marketing consent: cadence is cancelled and none is created
      (delivery steps are order fulfilment and stay).
    Tasks of other customers and closed tasks are ignored.
    """
    require_aware(now)
    pending = [t for t in open_tasks if t.customer_id == customer_id and t.is_pending]
    cadence = sorted((t for t in pending if t.kind == TaskKind.CADENCE), key=lambda t: (t.due_at, str(t.task_id)))
    deliveries = [t for t in pending if t.kind == TaskKind.DELIVERY]

    if status == ProspectStatus.LOST:
        return CadencePlan(cancel=tuple(_cancel_all([*cadence, *deliveries], REASON_LOST, now)))
    if status == ProspectStatus.CLOSED:
        return CadencePlan(cancel=tuple(_cancel_all(cadence, REASON_CLOSED, now)))

    if new_grade == IntentGrade.O:
        cancel = _cancel_all(cadence, REASON_ORDER_RECEIVED, now)
        create: list[FollowUpTask] = []
        if previous_grade != IntentGrade.O:
            have = {t.step for t in deliveries}
            create = [t for t in delivery_tasks(customer_id=customer_id, owner_id=owner_id, ordered_at=now, now=now,
                                                policy=policy, cause_id=cause_id) if t.step not in have]
        return CadencePlan(cancel=tuple(cancel), create=tuple(create))

    cancel = _cancel_all(deliveries, REASON_LEFT_ORDER, now)
    if not marketing_allowed:
        return CadencePlan(cancel=tuple(cancel + _cancel_all(cadence, CONSENT_REFUSED, now)))
    due = next_cadence_due(new_grade, last_contact_at, now, policy)
    assert due is not None
    if not cadence:
        task = cadence_task(customer_id=customer_id, owner_id=owner_id, grade=new_grade, due_at=due, now=now,
                            cause_id=cause_id)
        return CadencePlan(cancel=tuple(cancel), create=(task,))
    keep, *extra = cadence
    moved = keep.reschedule(due, new_grade)
    cancel += _cancel_all(extra, REASON_DUPLICATE, now)
    return CadencePlan(cancel=tuple(cancel), move=(moved,) if moved.changed else ())


def plan_after_follow_up(
    completed: FollowUpTask,
    open_tasks: Iterable[FollowUpTask],
    grade: IntentGrade,
    now: datetime,
    policy: FollowUpPolicy,
    *,
    status: ProspectStatus = ProspectStatus.ACTIVE,
    marketing_allowed: bool = True,
) -> CadencePlan:
    """The next cadence follow-up after a first contact or cadence task was done.

    Due one interval of `grade` after the contact, or at the record's next
    contact date if that is earlier. Other kinds of task do not drive cadence.
    """
    if completed.status != TaskStatus.DONE or completed.kind not in (TaskKind.FIRST_CONTACT, TaskKind.CADENCE):
        return CadencePlan()
    if status != ProspectStatus.ACTIVE or grade == IntentGrade.O or not marketing_allowed:
        return CadencePlan()
    assert completed.completed_at is not None and completed.record is not None
    due = next_cadence_due(grade, completed.completed_at, now, policy, completed.record.next_contact_at)
    assert due is not None
    pending = sorted((t for t in open_tasks if t.customer_id == completed.customer_id and t.is_pending
                      and t.kind == TaskKind.CADENCE and t.task_id != completed.task_id),
                     key=lambda t: (t.due_at, str(t.task_id)))
    if pending:
        keep, *extra = pending
        moved = keep.reschedule(due, grade)
        return CadencePlan(cancel=tuple(_cancel_all(extra, REASON_DUPLICATE, now)),
                           move=(moved,) if moved.changed else ())
    task = cadence_task(customer_id=completed.customer_id, owner_id=completed.owner_id, grade=grade, due_at=due,
                        now=now, cause_id=completed.task_id)
    return CadencePlan(create=(task,))
