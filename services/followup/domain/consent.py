"""Marketing consent: refusal suppresses marketing work at once, never service or complaint work.

Spec section 1: a refusal "stops marketing follow-ups and campaigns at once;
it does not stop complaint handling or service calls the customer asked for".
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .tasks import FollowUpTask, TaskChange

CONSENT_REFUSED = "marketing consent refused"


def is_suppressed(task: FollowUpTask, marketing_allowed: bool) -> bool:
    """True if this task must not be worked because the customer refused marketing."""
    return task.marketing and not marketing_allowed


def permitted(tasks: Iterable[FollowUpTask], marketing_allowed: bool) -> list[FollowUpTask]:
    """The new tasks that may be scheduled under the customer's consent."""
    return [t for t in tasks if not is_suppressed(t, marketing_allowed)]


def cancellations_on_refusal(tasks: Iterable[FollowUpTask], now: datetime) -> list[TaskChange]:
    """Cancel every pending marketing task of a customer who just refused marketing."""
    changes = [t.cancel(CONSENT_REFUSED, now) for t in tasks if t.is_pending and t.marketing]
    return [c for c in changes if c.changed]
