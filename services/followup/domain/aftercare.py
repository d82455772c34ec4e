"""The 3-day calls (3日DC): after a deal's delivery (新车3日DC) and after a service visit (售后3日DC).

Both are service calls: refused marketing consent does not suppress them.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from .clock import require_aware
from .policy import FollowUpPolicy
from .tasks import FollowUpTask, TaskKind, schedule_task


def three_day_call_due(anchor_at: datetime, days: int) -> datetime:
    """`days` after the delivery or visit."""
    return require_aware(anchor_at, "anchor_at") + timedelta(days=days)


def service_call_task(
    *,
    customer_id: uuid.UUID,
    visit_id: uuid.UUID,
    owner_id: str,
    visited_at: datetime,
    now: datetime,
    policy: FollowUpPolicy,
    cause_id: uuid.UUID | None = None,
) -> FollowUpTask:
    """售后3日DC: call the customer within `service_call_within_days` of a service visit."""
    return schedule_task(customer_id=customer_id, kind=TaskKind.SERVICE_3DAY_CALL, key=str(visit_id),
                         owner_id=owner_id, due_at=three_day_call_due(visited_at, policy.service_call_within_days),
                         now=now, cause_id=cause_id, arose_at=visited_at)


def deal_call_task(
    *,
    customer_id: uuid.UUID,
    deal_id: uuid.UUID,
    owner_id: str,
    delivered_at: datetime,
    now: datetime,
    policy: FollowUpPolicy,
    cause_id: uuid.UUID | None = None,
) -> FollowUpTask:
    """新车3日DC: call the customer within `deal_call_within_days` of the delivery."""
    return schedule_task(customer_id=customer_id, kind=TaskKind.DEAL_3DAY_CALL, key=str(deal_id),
                         owner_id=owner_id, due_at=three_day_call_due(delivered_at, policy.deal_call_within_days),
                         now=now, cause_id=cause_id, arose_at=delivered_at)
