"""History taken over from an earlier system (domain §8): one rule for deals and contacts, by the
business day (shared.business_time.is_history)."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from shared.business_time import business_day, business_instant, is_history

CUT_OFF = datetime(2026, 6, 1, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_a_record_of_a_day_before_the_cut_offs_is_history_one_of_its_day_is_not():
    assert is_history(date(2026, 5, 31), CUT_OFF)
    assert not is_history(date(2026, 6, 1), CUT_OFF)
    assert not is_history(date(2026, 6, 2), CUT_OFF)
    # the cut-off's day is the business zone's: 2026-05-31T16:30Z is already 1 June in Shanghai
    assert not is_history(date(2026, 6, 1), datetime(2026, 5, 31, 16, 30, tzinfo=UTC))
    assert is_history(date(2026, 5, 31), datetime(2026, 5, 31, 16, 30, tzinfo=UTC))


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
       st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)))
def test_a_contact_dated_by_its_day_is_history_exactly_when_a_deal_of_that_day_is(day, cut_off):
    """The history import dates a buyer's contact at the end of its first deal's day: the contact is
    history exactly when the deal is, never one without the other."""
    dated = business_instant(day, cut_off)
    assert is_history(business_day(dated), cut_off) == is_history(day, cut_off)
    if is_history(day, cut_off):
        assert business_day(dated) == day
