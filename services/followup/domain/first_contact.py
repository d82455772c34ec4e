"""First contact after a contact is received (潜在客户首次跟进).

Due within `first_contact_within_hours` of the contact; when an interested
visitor agreed a next visit (对有意向者订定下次再访时间), that time instead.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from shared.events.enums import Channel, IntentGrade

from .clock import require_aware
from .policy import FollowUpPolicy
from .tasks import FollowUpTask, TaskKind, schedule_task


def first_contact_due(received_at: datetime, policy: FollowUpPolicy, next_visit_at: datetime | None = None) -> datetime:
    """The agreed next visit if one later than the contact was stated, else the default delay."""
    require_aware(received_at, "received_at")
    if next_visit_at is not None and require_aware(next_visit_at, "next_visit_at") > received_at:
        return next_visit_at
    return received_at + policy.first_contact_within


def is_customer_initiated(channel: Channel, policy: FollowUpPolicy) -> bool:
    """The customer reached out (walk-in, call, web form, ...): answering them is not marketing."""
    return channel in policy.customer_initiated_channels


def first_contact_task(
    *,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    channel: Channel,
    owner_id: str,
    received_at: datetime,
    now: datetime,
    policy: FollowUpPolicy,
    next_visit_at: datetime | None = None,
    grade: IntentGrade | None = None,
    cause_id: uuid.UUID | None = None,
) -> FollowUpTask:
    """The first-contact task for one received contact (one per contact id)."""
    return schedule_task(
        customer_id=customer_id,
        kind=TaskKind.FIRST_CONTACT,
        key=str(contact_id),
        owner_id=owner_id,
        due_at=first_contact_due(received_at, policy, next_visit_at),
        now=now,
        marketing=not is_customer_initiated(channel, policy),
        grade=grade,
        cause_id=cause_id,
        arose_at=received_at,
    )
