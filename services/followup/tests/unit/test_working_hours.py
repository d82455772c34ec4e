"""Working-hours arithmetic: pinned examples across nights, weekends and holidays, and properties."""
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.followup.domain import DEFAULT_POLICY, WorkingHours
from services.followup.domain.working_hours import (
    add_working_hours,
    add_working_time,
    is_deadline_time,
    is_working_time,
    working_time_between,
)

from .factories import SH, at

CAL = DEFAULT_POLICY.working_hours  # Mon-Fri 09:00-18:00 Asia/Shanghai


@pytest.mark.parametrize(("start", "hours", "expected"), [
    (at(2024, 6, 7, 17), 4, at(2024, 6, 10, 12)),  # Friday 17:00 + 4h -> Monday 12:00 (the brief's example)
    (at(2024, 6, 3, 10), 4, at(2024, 6, 3, 14)),  # same day
    (at(2024, 6, 3, 16), 4, at(2024, 6, 4, 11)),  # across a night
    (at(2024, 6, 3, 14), 4, at(2024, 6, 3, 18)),  # lands exactly at closing, not next morning
    (at(2024, 6, 3, 7), 4, at(2024, 6, 3, 13)),  # before opening: counts from 09:00
    (at(2024, 6, 3, 20), 4, at(2024, 6, 4, 13)),  # after closing: counts from next 09:00
    (at(2024, 6, 8, 11), 4, at(2024, 6, 10, 13)),  # Saturday -> Monday
    (at(2024, 6, 9, 23, 59), 1, at(2024, 6, 10, 10)),  # Sunday night
    (at(2024, 6, 7, 18), 4, at(2024, 6, 10, 13)),  # Friday at closing
    (at(2024, 6, 3, 9), 9, at(2024, 6, 3, 18)),  # one full working day
    (at(2024, 6, 3, 9), 45, at(2024, 6, 7, 18)),  # a whole working week
    (at(2024, 6, 3, 9), 46, at(2024, 6, 10, 10)),
])
def test_add_working_hours_pinned(start, hours, expected):
    assert add_working_hours(start, hours, CAL) == expected


def test_input_in_another_zone_is_counted_in_the_calendar_zone():
    friday_17_shanghai_in_utc = datetime(2024, 6, 7, 9, tzinfo=UTC)
    assert add_working_hours(friday_17_shanghai_in_utc, 4, CAL) == at(2024, 6, 10, 12)


def test_holidays_are_skipped_and_make_up_days_count():
    cal = WorkingHours(holidays=(date(2024, 6, 10),), extra_workdays=(date(2024, 6, 8),))
    assert add_working_hours(at(2024, 6, 7, 17), 4, cal) == at(2024, 6, 8, 12)  # worked Saturday
    cal2 = WorkingHours(holidays=(date(2024, 6, 10),))
    assert add_working_hours(at(2024, 6, 7, 17), 4, cal2) == at(2024, 6, 11, 12)  # Monday off


def test_zero_is_identity_and_negative_is_refused():
    assert add_working_time(at(2024, 6, 8, 3), timedelta(0), CAL) == at(2024, 6, 8, 3)
    with pytest.raises(ValueError):
        add_working_time(at(2024, 6, 3, 10), timedelta(hours=-1), CAL)


def test_naive_time_is_refused():
    with pytest.raises(ValueError):
        add_working_hours(datetime(2024, 6, 3, 10), 4, CAL)


def test_is_working_time_window_is_half_open():
    assert is_working_time(at(2024, 6, 3, 9), CAL)
    assert is_working_time(at(2024, 6, 3, 17, 59), CAL)
    assert not is_working_time(at(2024, 6, 3, 18), CAL)
    assert not is_working_time(at(2024, 6, 8, 12), CAL)
    assert is_deadline_time(at(2024, 6, 3, 18), CAL) and not is_deadline_time(at(2024, 6, 3, 9), CAL)


def test_working_time_between():
    assert working_time_between(at(2024, 6, 7, 17), at(2024, 6, 10, 12), CAL) == timedelta(hours=4)
    assert working_time_between(at(2024, 6, 8), at(2024, 6, 9, 23), CAL) == timedelta(0)
    assert working_time_between(at(2024, 6, 4), at(2024, 6, 3), CAL) == timedelta(0)


# -- properties ---------------------------------------------------------------

starts = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(SH))
amounts = st.integers(min_value=1, max_value=60 * 9 * 20).map(lambda m: timedelta(minutes=m))  # up to 20 working days
calendars = st.builds(
    WorkingHours,
    timezone=st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York"]),
    workdays=st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s))),
    start=st.sampled_from([time(8), time(9), time(9, 30)]),
    end=st.sampled_from([time(12), time(17, 30), time(18)]),
    holidays=st.lists(st.dates(date(2020, 1, 1), date(2031, 1, 31)), max_size=20, unique=True).map(tuple),
)


@given(start=starts, amount=amounts)
def test_deadline_always_lands_within_working_hours(start, amount):
    deadline = add_working_time(start, amount, CAL)
    assert is_deadline_time(deadline, CAL)
    assert deadline > start


@given(a=starts, b=starts, amount=amounts)
def test_deadline_is_monotone_in_start_time(a, b, amount):
    lo, hi = sorted((a, b))
    assert add_working_time(lo, amount, CAL) <= add_working_time(hi, amount, CAL)


@given(start=starts, amount=amounts)
def test_exactly_the_requested_working_time_elapses(start, amount):
    assert working_time_between(start, add_working_time(start, amount, CAL), CAL) == amount


@settings(max_examples=60)
@given(cal=calendars, start=starts, amount=st.integers(1, 600).map(lambda m: timedelta(minutes=m)))
def test_properties_hold_for_other_calendars(cal, start, amount):
    deadline = add_working_time(start, amount, cal)
    assert is_deadline_time(deadline, cal)
    assert working_time_between(start, deadline, cal) == amount
    assert add_working_time(start + timedelta(minutes=1), amount, cal) >= deadline
