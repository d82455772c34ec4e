"""Working-hours arithmetic (工作时间) on a `WorkingHours` calendar.

Working time is counted in the calendar's local wall-clock time. A working
window is [start, end) of each working day; a deadline computed by adding
working time lands in (start, end] of a working day: 1 working hour from
17:00 on a Friday is 18:00 that Friday, not 09:00 on Monday.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from .clock import require_aware
from .policy import WorkingHours

_MAX_IDLE_DAYS = 3660  # ten years without a working day means a broken calendar


def _local(moment: datetime, calendar: WorkingHours) -> datetime:
    return require_aware(moment, "moment").astimezone(calendar.zone).replace(tzinfo=None)


def _aware(local: datetime, calendar: WorkingHours) -> datetime:
    return local.replace(tzinfo=calendar.zone)


def _window(day: date, calendar: WorkingHours) -> tuple[datetime, datetime]:
    return datetime.combine(day, calendar.start), datetime.combine(day, calendar.end)


def is_working_time(moment: datetime, calendar: WorkingHours) -> bool:
    """True if `moment` falls inside a working window [start, end)."""
    local = _local(moment, calendar)
    return calendar.is_working_day(local.date()) and calendar.start <= local.time() < calendar.end


def is_deadline_time(moment: datetime, calendar: WorkingHours) -> bool:
    """True if `moment` is where a working-time deadline can land: (start, end] of a working day."""
    local = _local(moment, calendar)
    return calendar.is_working_day(local.date()) and calendar.start < local.time() <= calendar.end


def add_working_time(start: datetime, amount: timedelta, calendar: WorkingHours) -> datetime:
    """The moment when `amount` of working time has elapsed after `start`.

    Time outside working windows (nights, weekends, holidays) does not count.
    `amount` zero returns `start` unchanged. The result is in the calendar's zone.
    """
    if amount < timedelta(0):
        raise ValueError("working time to add must not be negative")
    if amount == timedelta(0):
        return require_aware(start, "start")
    cursor = _local(start, calendar)
    remaining = amount
    day = cursor.date()
    idle = 0
    while idle < _MAX_IDLE_DAYS:
        if calendar.is_working_day(day):
            idle = 0
            opens, closes = _window(day, calendar)
            begin = max(cursor, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return _aware(begin + remaining, calendar)
                remaining -= available
        else:
            idle += 1
        day += timedelta(days=1)
        cursor = datetime.combine(day, time.min)
    raise ValueError("the working-hours calendar has no working day")


def add_working_hours(start: datetime, hours: int, calendar: WorkingHours) -> datetime:
    """`add_working_time` with whole hours."""
    return add_working_time(start, timedelta(hours=hours), calendar)


def working_time_between(start: datetime, end: datetime, calendar: WorkingHours) -> timedelta:
    """Working time elapsed from `start` to `end` (zero if `end` is not after `start`)."""
    lo, hi = _local(start, calendar), _local(end, calendar)
    total = timedelta(0)
    if hi <= lo:
        return total
    day = lo.date()
    while day <= hi.date():
        if calendar.is_working_day(day):
            opens, closes = _window(day, calendar)
            begin, finish = max(lo, opens), min(hi, closes)
            if finish > begin:
                total += finish - begin
        day += timedelta(days=1)
    return total


def end_of_working_day(day: date, calendar: WorkingHours) -> datetime:
    """`day` at the calendar's closing time (working day or not), aware in the calendar's zone."""
    return _aware(datetime.combine(day, calendar.end), calendar)
