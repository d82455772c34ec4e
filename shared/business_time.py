"""Business time (domain §8): the calendar day a business instant falls on, and the instant a
record keyed with only a day stands for. One rule for every service, so that a deal, a
payment's due date and a report's day are judged on the same day everywhere.

The business zone is the sales organisation's: `CRM_BUSINESS_ZONE` (an IANA name, default
Asia/Shanghai), read here once for every service, so that no service judges a day in a zone of
its own (follow-up's working-hours calendar defaults to it too). Pure.
"""
from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError


def zone_named(name: str) -> ZoneInfo:
    """The zone named by CRM_BUSINESS_ZONE (also `Settings.business_zone`, checked the same way)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"CRM_BUSINESS_ZONE: unknown time zone {name!r} (an IANA name such as "
                         "Asia/Shanghai)") from None


BUSINESS_ZONE_DEFAULT = "Asia/Shanghai"
DEFAULT_ZONE = zone_named(os.environ.get("CRM_BUSINESS_ZONE", BUSINESS_ZONE_DEFAULT))
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


def is_history(day: date, cut_off: datetime, zone: ZoneInfo = DEFAULT_ZONE) -> bool:
    """A record dated on a business day before the cut-off's is history taken over from an earlier
    system (domain §8): it sets value, lifecycle and reports, and creates no work for the past. By
    the day, as deals are dated: a re-run on the cut-off's day judges every record as the first did."""
    return day < business_day(cut_off, zone)


def business_date_of(moment: str) -> date:
    """The business day of an ISO 8601 instant, or the date itself when given one."""
    if len(moment) == 10:
        return date.fromisoformat(moment)
    try:
        return business_day(datetime.fromisoformat(moment))
    except OverflowError:  # at the edge of the calendar (year 9999 in UTC): its own day is as good
        return date.fromisoformat(moment[:10])


def business_day_of(moment: str) -> str:
    """business_date_of as an ISO date."""
    return moment if len(moment) == 10 else business_date_of(moment).isoformat()


def end_of_business_day(day: date, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """The last instant of a business day (what "as of that day" means), in UTC."""
    return datetime.combine(day, time.max, tzinfo=zone).astimezone(UTC)


# ------------------------------------------------------------------ plausible business dates
# A business date is on or after CRM_EARLIEST_BUSINESS_DAY (default 1900-01-01); a date on
# which something happened is at most CRM_BUSINESS_DAYS_AHEAD days after today's business day (default 1:
# clock skew and time zones), a planned one (a callback, a due date) at most ten years ahead.
# Outside, the input is refused with a 422 naming the field: .NET's default date (year 1)
# must not become the first day of every chart, and year 1 or 9999 with an offset cannot
# even be turned into UTC.
EARLIEST_DAY = date.fromisoformat(os.environ.get("CRM_EARLIEST_BUSINESS_DAY", "1900-01-01"))
HAPPENED_DAYS_AHEAD = int(os.environ.get("CRM_BUSINESS_DAYS_AHEAD", "1"))
PLANNED_DAYS_AHEAD = 3660


def _plausible(day: date, days_ahead: int) -> None:
    latest = business_day(datetime.now(UTC)) + timedelta(days=days_ahead)  # "today" is the business day
    if not EARLIEST_DAY <= day <= latest:
        raise PydanticCustomError("implausible_date", "must be between {earliest} and {latest}",
                                  {"earliest": EARLIEST_DAY.isoformat(), "latest": latest.isoformat()})


def _happened_day(value: date) -> date:
    _plausible(value, HAPPENED_DAYS_AHEAD)
    return value


def _happened_instant(value: datetime) -> datetime:
    _plausible(value.date(), HAPPENED_DAYS_AHEAD)  # its own calendar day: no conversion that can overflow
    return value


def _planned_day(value: date) -> date:
    _plausible(value, PLANNED_DAYS_AHEAD)
    return value


def _planned_instant(value: datetime) -> datetime:
    _plausible(value.date(), PLANNED_DAYS_AHEAD)
    return value


HappenedOn = Annotated[date, AfterValidator(_happened_day)]
HappenedAt = Annotated[AwareDatetime, AfterValidator(_happened_instant)]
PlannedOn = Annotated[date, AfterValidator(_planned_day)]
PlannedAt = Annotated[AwareDatetime, AfterValidator(_planned_instant)]
