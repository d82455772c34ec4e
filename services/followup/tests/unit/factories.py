"""Builders for follow-up domain tests (no I/O)."""
from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from shared.events.enums import ContactMethod, FollowUpOutcome, IntentGrade

from services.followup.domain import DEFAULT_POLICY, FollowUpRecord, FollowUpTask, TaskKind, schedule_task
from services.followup.domain.tasks import DeliveryStep

SH = ZoneInfo("Asia/Shanghai")
CUSTOMER = uuid.UUID("00000000-0000-0000-0000-0000000000c1")
OTHER_CUSTOMER = uuid.UUID("00000000-0000-0000-0000-0000000000c2")
POLICY = DEFAULT_POLICY


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware Shanghai time. June 2024: the 7th is a Friday, the 10th a Monday."""
    return datetime(year, month, day, hour, minute, tzinfo=SH)


NOW = at(2024, 6, 3, 10)  # Monday 10:00


def task(
    kind: TaskKind = TaskKind.CADENCE,
    *,
    due: datetime = NOW,
    created: datetime | None = None,
    customer: uuid.UUID = CUSTOMER,
    owner: str = "alice",
    key: str | None = None,
    grade: IntentGrade | None = None,
    step: DeliveryStep | None = None,
    marketing: bool | None = None,
) -> FollowUpTask:
    if kind == TaskKind.DELIVERY and step is None:
        step = DeliveryStep.PAYMENT
    if kind == TaskKind.CADENCE and grade is None:
        grade = IntentGrade.A
    return schedule_task(customer_id=customer, kind=kind, key=key or f"{kind}-{due.isoformat()}-{step}",
                         owner_id=owner, due_at=due, now=created or min(due, NOW), grade=grade, step=step,
                         marketing=marketing)


def record(**overrides) -> FollowUpRecord:
    fields = {"consultant_id": "alice", "method": ContactMethod.PHONE, "outcome": FollowUpOutcome.REACHED}
    fields.update(overrides)
    return FollowUpRecord(**fields)
