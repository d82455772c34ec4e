"""Follow-up work items (跟踪任务) and their transitions.

A `FollowUpTask` is an immutable value: every transition returns a
`TaskChange` holding the task after the move and whether anything changed.
A task that is done or cancelled never changes again; asking it to complete
or cancel once more is a no-op that says so ("already done"), so a retried
request or a replayed event cannot corrupt it.

Task ids are derived (uuid5) from the customer, the kind and a business key,
so that computing the same work twice yields the same id.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.events.enums import ContactMethod, FollowUpOutcome, IntentGrade, PurchaseTimeframe

from .clock import require_aware
from .errors import CompletionTimeInvalid, InvalidTransition

ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=2000)]

TASK_NAMESPACE = uuid.UUID("0b7f6a3e-5d2c-4f0e-9a57-6c1f0c7d2e11")


class TaskKind(StrEnum):
    """What a work item is for."""

    FIRST_CONTACT = "first_contact"  # after a contact is received
    CADENCE = "cadence"  # periodic follow-up by intent grade
    DELIVERY = "delivery"  # grade O: paperwork, payment, delivery
    DEAL_3DAY_CALL = "deal_3day_call"  # 新车3日DC
    SERVICE_3DAY_CALL = "service_3day_call"  # 售后3日DC
    BIRTHDAY_CARE = "birthday_care"  # 车主生日
    ANNIVERSARY_CARE = "anniversary_care"  # 车辆生日
    BASE_MAINTENANCE = "base_maintenance"  # 基盘维系
    DECLINE_RECOVERY = "decline_recovery"  # 衰退期挽回
    COMPLAINT_SURVEY = "complaint_survey"  # 投诉处理后的满意度调查

    @property
    def is_marketing(self) -> bool:
        """True for kinds that refused marketing consent suppresses.

        FIRST_CONTACT is marketing unless the customer asked to be contacted;
        the task's own `marketing` flag decides (see `first_contact`).
        """
        return self in MARKETING_KINDS


MARKETING_KINDS: frozenset[TaskKind] = frozenset({
    TaskKind.FIRST_CONTACT,
    TaskKind.CADENCE,
    TaskKind.BIRTHDAY_CARE,
    TaskKind.ANNIVERSARY_CARE,
    TaskKind.BASE_MAINTENANCE,
    TaskKind.DECLINE_RECOVERY,
})
"""Sales and relationship work: suppressed when marketing consent is refused."""

SERVICE_KINDS: frozenset[TaskKind] = frozenset(TaskKind) - MARKETING_KINDS
"""Order fulfilment, service calls and complaint work: never suppressed by consent."""

PROSPECT_KINDS: frozenset[TaskKind] = frozenset({TaskKind.FIRST_CONTACT, TaskKind.CADENCE, TaskKind.DELIVERY})
"""Work that exists only while the person is a prospect (closed by an approved loss)."""


class TaskStatus(StrEnum):
    OPEN = "open"
    OVERDUE = "overdue"  # still to be done, past its due time
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def is_pending(self) -> bool:
        """Still on someone's list (open or overdue)."""
        return self in (TaskStatus.OPEN, TaskStatus.OVERDUE)

    @property
    def is_closed(self) -> bool:
        return not self.is_pending


class DeliveryStep(StrEnum):
    """The order-to-delivery steps of grade O (车款/领牌/保险/配件/交车作业)."""

    PAYMENT = "payment"  # 车款作业
    REGISTRATION = "registration"  # 领牌作业
    INSURANCE = "insurance"  # 保险作业
    ACCESSORIES = "accessories"  # 配件工作
    HANDOVER = "handover"  # 交车作业


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FollowUpRecord(_Frozen):
    """What happened on a follow-up (跟踪记录), with the buying signals it revealed."""

    consultant_id: ShortText
    method: ContactMethod
    outcome: FollowUpOutcome
    content: Text | None = None
    test_drive: bool = False
    quote_accepted: bool = False
    budget_confirmed: bool = False
    deposit_amount: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)] | None = None
    purchase_timeframe: PurchaseTimeframe | None = None
    next_contact_at: AwareDatetime | None = None


class TaskChange(_Frozen):
    """The result of a transition: the task afterwards, and whether it changed."""

    task: FollowUpTask
    changed: bool
    note: str | None = None  # why nothing changed, e.g. "already done"


@lru_cache(maxsize=4096)  # a consumer batch asks for each id twice: which exist, then the task's own
def task_id_for(customer_id: uuid.UUID, kind: TaskKind, key: str) -> uuid.UUID:
    """The deterministic id of the `kind` work item identified by `key` for this customer."""
    return uuid.uuid5(TASK_NAMESPACE, f"{customer_id}/{kind.value}/{key}")


class FollowUpTask(_Frozen):
    """One work item: an owner, a due time, a status and, once done, its record."""

    task_id: uuid.UUID
    customer_id: uuid.UUID
    kind: TaskKind
    key: ShortText  # business key the id is derived from (contact id, month, occasion, ...)
    owner_id: ShortText
    due_at: AwareDatetime
    created_at: AwareDatetime
    marketing: bool
    status: TaskStatus = TaskStatus.OPEN
    grade: IntentGrade | None = None
    step: DeliveryStep | None = None
    cause_id: uuid.UUID | None = None  # the event that caused this task
    record: FollowUpRecord | None = None
    completed_at: AwareDatetime | None = None  # when the follow-up was done (a past moment when logged later)
    arose_at: AwareDatetime | None = None  # when the work arose, if before `created_at` (see `work_arose_at`)
    cancelled_at: AwareDatetime | None = None
    cancel_reason: ShortText | None = None
    overdue_at: AwareDatetime | None = None
    escalated_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FollowUpTask:
        if self.kind != TaskKind.FIRST_CONTACT and self.marketing != self.kind.is_marketing:
            raise ValueError(f"a {self.kind} task has marketing={self.kind.is_marketing}")
        if (self.kind == TaskKind.DELIVERY) != (self.step is not None):
            raise ValueError("a delivery task needs a step, and only a delivery task has one")
        if (self.status == TaskStatus.DONE) != (self.record is not None and self.completed_at is not None):
            raise ValueError("a task is done exactly when it has a record and a completion time")
        if (self.status == TaskStatus.CANCELLED) != (self.cancel_reason is not None and self.cancelled_at is not None):
            raise ValueError("a task is cancelled exactly when it has a reason and a cancellation time")
        return self

    # -- queries -----------------------------------------------------------

    @property
    def is_pending(self) -> bool:
        return self.status.is_pending

    def is_late(self, now: datetime) -> bool:
        """Pending and past its due time."""
        return self.is_pending and require_aware(now) > self.due_at

    @property
    def done_late(self) -> bool | None:
        """Done after its due time, judged on when it was done (not when it was logged); None unless done."""
        if self.status != TaskStatus.DONE or self.completed_at is None:
            return None
        return self.completed_at > self.due_at

    @property
    def work_arose_at(self) -> datetime:
        """The earliest moment the follow-up can have been done: when the work arose in the business
        (a first contact: the contact itself, which may have been keyed days later than it happened),
        else when the task was created."""
        return self.arose_at if self.arose_at is not None and self.arose_at < self.created_at else self.created_at

    def completion_time(self, done_at: datetime | None, now: datetime) -> datetime:
        """When the follow-up was done: `done_at` if the consultant gave one (a call made yesterday and
        logged today), else `now`. Never in the future, never before the work arose."""
        require_aware(now)
        if done_at is None:
            return now
        require_aware(done_at, "done_at")
        if done_at > now:
            raise CompletionTimeInvalid("a follow-up cannot be done in the future")
        if done_at < self.work_arose_at:
            raise CompletionTimeInvalid(
                f"a follow-up cannot be done before its work arose ({self.work_arose_at.isoformat()})")
        return done_at

    # -- transitions -------------------------------------------------------

    def _closed_note(self) -> str:
        return f"already {self.status.value}"

    def complete(self, record: FollowUpRecord, now: datetime, done_at: datetime | None = None) -> TaskChange:
        """Log the follow-up, done at `done_at` (default: now), and close the task; a closed task is
        left as it is (a repeat of the same call is answered "already done")."""
        at = self.completion_time(done_at, now)
        if self.status.is_closed:
            return TaskChange(task=self, changed=False, note=self._closed_note())
        if record.next_contact_at is not None and record.next_contact_at <= now:
            raise InvalidTransition("the next contact date must be in the future")
        done = self.model_copy(update={"status": TaskStatus.DONE, "record": record, "completed_at": at})
        return TaskChange(task=done, changed=True)

    def cancel(self, reason: str, now: datetime) -> TaskChange:
        """Take the task off the list with a reason; a closed task is left as it is."""
        require_aware(now)
        if not reason or not reason.strip():
            raise InvalidTransition("cancelling a task needs a reason")
        if self.status.is_closed:
            return TaskChange(task=self, changed=False, note=self._closed_note())
        cancelled = self.model_copy(update={
            "status": TaskStatus.CANCELLED, "cancel_reason": reason.strip()[:200], "cancelled_at": now,
        })
        return TaskChange(task=cancelled, changed=True)

    def mark_overdue(self, now: datetime) -> TaskChange:
        """OPEN -> OVERDUE once `now` is past the due time."""
        require_aware(now)
        if self.status != TaskStatus.OPEN:
            return TaskChange(task=self, changed=False, note=f"already {self.status.value}")
        if now <= self.due_at:
            return TaskChange(task=self, changed=False, note="not yet due")
        return TaskChange(task=self.model_copy(update={"status": TaskStatus.OVERDUE, "overdue_at": now}),
                          changed=True)

    def mark_escalated(self, now: datetime) -> TaskChange:
        """Record that the manager was told about this late task (only once)."""
        require_aware(now)
        if self.status.is_closed:
            return TaskChange(task=self, changed=False, note=self._closed_note())
        if self.escalated_at is not None:
            return TaskChange(task=self, changed=False, note="already escalated")
        return TaskChange(task=self.model_copy(update={"escalated_at": now}), changed=True)

    def reschedule(self, due_at: datetime, grade: IntentGrade | None = None) -> TaskChange:
        """Move a pending task to a new due time (and grade); it becomes OPEN again if it was overdue."""
        require_aware(due_at, "due_at")
        if self.status.is_closed:
            return TaskChange(task=self, changed=False, note=self._closed_note())
        new_grade = self.grade if grade is None else grade
        if due_at == self.due_at and new_grade == self.grade:
            return TaskChange(task=self, changed=False, note="unchanged")
        moved = self.model_copy(update={
            "due_at": due_at, "grade": new_grade, "status": TaskStatus.OPEN, "overdue_at": None, "escalated_at": None,
        })
        return TaskChange(task=moved, changed=True)

    def reassign(self, owner_id: str) -> TaskChange:
        """Give a pending task to another owner; closed tasks keep the owner who did them."""
        if not owner_id:
            raise InvalidTransition("a task needs an owner")
        if self.status.is_closed:
            return TaskChange(task=self, changed=False, note=self._closed_note())
        if owner_id == self.owner_id:
            return TaskChange(task=self, changed=False, note="unchanged")
        return TaskChange(task=self.model_copy(update={"owner_id": owner_id}), changed=True)


def schedule_task(
    *,
    customer_id: uuid.UUID,
    kind: TaskKind,
    key: str,
    owner_id: str,
    due_at: datetime,
    now: datetime,
    marketing: bool | None = None,
    grade: IntentGrade | None = None,
    step: DeliveryStep | None = None,
    cause_id: uuid.UUID | None = None,
    arose_at: datetime | None = None,
) -> FollowUpTask:
    """A new OPEN task with its deterministic id; `marketing` defaults to the kind's class; `arose_at`:
    when what caused it happened (a contact, a visit, a delivery), kept when that was before `now`."""
    return FollowUpTask(
        task_id=task_id_for(customer_id, kind, key),
        customer_id=customer_id,
        kind=kind,
        key=key,
        owner_id=owner_id,
        due_at=require_aware(due_at, "due_at"),
        created_at=require_aware(now),
        marketing=kind.is_marketing if marketing is None else marketing,
        grade=grade,
        step=step,
        cause_id=cause_id,
        arose_at=arose_at if arose_at is not None and require_aware(arose_at, "arose_at") < now else None,
    )


def missing_tasks(wanted: Iterable[FollowUpTask], existing: Iterable[FollowUpTask]) -> list[FollowUpTask]:
    """The wanted tasks whose id is not among the existing ones, first occurrence only, in order."""
    seen = {t.task_id for t in existing}
    out: list[FollowUpTask] = []
    for task in wanted:
        if task.task_id not in seen:
            seen.add(task.task_id)
            out.append(task)
    return out


TaskChange.model_rebuild()
