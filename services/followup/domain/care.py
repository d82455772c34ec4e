"""Customer care (客户关怀): birthdays, purchase anniversaries, base maintenance, decline recovery.

- Birthday and purchase-anniversary care (车主生日/车辆生日): one task per
  occasion, due at the end of the working day of the occasion; the periodic
  job asks for the occasions in `care_window(today)` so that tasks appear
  `care_lead_days` ahead.
- Base-customer maintenance (基盘维系): a customer whose product has been in
  use for at least `base_maintenance_min_age_years` years (车辆使用N年以上) gets
  at least one contact a month (*seed*), due by the end of the month.
- Decline recovery: a customer that entered the decline stage (衰退期) gets a
  recovery contact.
All of these are marketing work: refused consent suppresses them. Every
function is idempotent: given the existing tasks it returns only the missing ones.
"""
from __future__ import annotations

import calendar as _calendar
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from .clock import require_aware
from .policy import FollowUpPolicy
from .tasks import FollowUpTask, TaskKind, missing_tasks, schedule_task
from .working_hours import end_of_working_day


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CareCustomer(_Frozen):
    """What care scheduling needs to know about one customer."""

    customer_id: uuid.UUID
    owner_id: Annotated[str, Field(min_length=1, max_length=200)]
    birthday: date | None = None
    purchase_dates: tuple[date, ...] = ()  # one per product bought (for anniversaries and base age)
    marketing_allowed: bool = True


def on_year(anchor: date, year: int) -> date:
    """`anchor`'s month and day in `year`; 29 February falls on the 28th in common years."""
    try:
        return anchor.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def yearly_occurrences(anchor: date, start: date, end: date) -> list[date]:
    """Anniversaries of `anchor` (from its first anniversary on) within [start, end]."""
    return [d for year in range(max(start.year, anchor.year + 1), end.year + 1)
            if start <= (d := on_year(anchor, year)) <= end]


def care_window(today: date, policy: FollowUpPolicy) -> tuple[date, date]:
    """The occasions to schedule today: from today to `care_lead_days` ahead, inclusive."""
    return today, today + timedelta(days=policy.care_lead_days)


def care_tasks(
    customers: Iterable[CareCustomer],
    start: date,
    end: date,
    now: datetime,
    policy: FollowUpPolicy,
    existing: Iterable[FollowUpTask] = (),
) -> list[FollowUpTask]:
    """Birthday and anniversary tasks for occasions in [start, end] that do not exist yet."""
    require_aware(now)
    wanted: list[FollowUpTask] = []
    for customer in customers:
        if not customer.marketing_allowed:
            continue
        occasions: list[tuple[TaskKind, str, date]] = []
        if customer.birthday is not None:
            occasions += [(TaskKind.BIRTHDAY_CARE, f"birthday@{d}", d)
                          for d in yearly_occurrences(customer.birthday, start, end)]
        for bought in sorted(set(customer.purchase_dates)):
            occasions += [(TaskKind.ANNIVERSARY_CARE, f"{bought}@{d}", d)
                          for d in yearly_occurrences(bought, start, end)]
        for kind, key, day in occasions:
            wanted.append(schedule_task(customer_id=customer.customer_id, kind=kind, key=key,
                                        owner_id=customer.owner_id,
                                        due_at=end_of_working_day(day, policy.working_hours), now=now))
    return missing_tasks(wanted, existing)


def full_years_between(earlier: date, later: date) -> int:
    """Whole years from `earlier` to `later` (a product's age on a day)."""
    years = later.year - earlier.year
    return years - 1 if on_year(earlier, later.year) > later else years


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=_calendar.monthrange(day.year, day.month)[1])


def needs_base_maintenance(customer: CareCustomer, month: date, policy: FollowUpPolicy) -> bool:
    """True if a product of the customer is at least N years old on the first day of `month`."""
    first = month_start(month)
    return any(full_years_between(bought, first) >= policy.base_maintenance_min_age_years
               for bought in customer.purchase_dates if bought <= first)


def base_maintenance_tasks(
    customers: Iterable[CareCustomer],
    month: date,
    existing: Iterable[FollowUpTask],
    now: datetime,
    policy: FollowUpPolicy,
) -> list[FollowUpTask]:
    """The month's missing base-maintenance contacts, due at the end of the month's last day.

    A customer is covered for the month by any base-maintenance task with that
    month's key, whatever its status (done, cancelled or still pending).
    """
    require_aware(now)
    key = month_start(month).strftime("%Y-%m")
    covered = {t.customer_id for t in existing if t.kind == TaskKind.BASE_MAINTENANCE and t.key == key}
    due = end_of_working_day(month_end(month), policy.working_hours)
    wanted = [
        schedule_task(customer_id=c.customer_id, kind=TaskKind.BASE_MAINTENANCE, key=key, owner_id=c.owner_id,
                      due_at=due, now=now)
        for c in customers
        if c.marketing_allowed and c.customer_id not in covered and needs_base_maintenance(c, month, policy)
    ]
    return missing_tasks(wanted, ())


def decline_recovery_task(
    *,
    customer_id: uuid.UUID,
    owner_id: str,
    detected_at: datetime,
    cause_id: uuid.UUID,
    now: datetime,
    policy: FollowUpPolicy,
    existing: Iterable[FollowUpTask] = (),
    marketing_allowed: bool = True,
) -> FollowUpTask | None:
    """A recovery contact for a customer value grading reports in decline.

    None when consent is refused, or when a recovery contact is already
    pending for the customer or was already scheduled for this report.
    """
    if not marketing_allowed:
        return None
    task = schedule_task(customer_id=customer_id, kind=TaskKind.DECLINE_RECOVERY, key=str(cause_id),
                         owner_id=owner_id,
                         due_at=require_aware(detected_at, "detected_at")
                         + timedelta(days=policy.decline_recovery_within_days),
                         now=now, cause_id=cause_id)
    for t in existing:
        if t.task_id == task.task_id or (
                t.customer_id == customer_id and t.kind == TaskKind.DECLINE_RECOVERY and t.is_pending):
            return None
    return task
