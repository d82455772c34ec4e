"""Business time (domain §8): the calendar day a business instant falls on, and the instant a
record keyed with only a day stands for. One rule for every service, so that a deal, a
payment's due date and a report's day are judged on the same day everywhere.

The business zone is the sales organisation's (default Asia/Shanghai; follow-up's working
hours use the same zone). Pure.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)


def business_day(instant: datetime, zone: ZoneInfo = DEFAULT_ZONE) -> date:
    """The business day an instant falls on."""
    return instant.astimezone(zone).date()


def business_instant(day: date, now: datetime, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """When a record dated only by its business `day` happened: now if it is today's (it was
    keyed as it happened), else the end of that day (it happened some time that day: at its end
    it had happened, so "as of that day" includes it). A future day reads as now."""
    if day >= business_day(now, zone):
        return now
    return datetime.combine(day, END_OF_DAY, tzinfo=zone)


def business_day_of(moment: str) -> str:
    """The business day (ISO date) of an ISO 8601 instant, or the date itself when given one."""
    if len(moment) == 10:
        return moment
    try:
        return business_day(datetime.fromisoformat(moment)).isoformat()
    except OverflowError:  # at the edge of the calendar (year 9999 in UTC): its own day is as good
        return moment[:10]


def end_of_business_day(day: date, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """The last instant of a business day (what "as of that day" means), in UTC."""
    return datetime.combine(day, time.max, tzinfo=zone).astimezone(UTC)
