"""Dates outside a plausible business range are refused naming the field (shared.business_time):
year 1 (.NET's default), year 9999 with an offset (cannot even be turned into UTC), a day that
"happened" next week; a planned day may lie years ahead."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import BaseModel, ValidationError

from shared.business_time import EARLIEST_DAY, HappenedAt, HappenedOn, PlannedAt, PlannedOn, business_day


class Record(BaseModel):
    at: HappenedAt | None = None
    on: HappenedOn | None = None
    due_at: PlannedAt | None = None
    due_on: PlannedOn | None = None


TODAY = business_day(datetime.now(UTC))  # "ahead" counts from the business day (Asia/Shanghai)


@pytest.mark.parametrize(("field", "value"), [
    ("at", "0001-01-01T00:00:00+14:00"), ("at", "9999-12-31T23:59:59-12:00"), ("at", "1899-12-31T23:00:00Z"),
    ("at", (datetime.now(UTC) + timedelta(days=3)).isoformat()), ("on", "0001-01-01"), ("on", "9999-12-31"),
    ("on", (TODAY + timedelta(days=2)).isoformat()), ("due_on", "9999-12-31"), ("due_at", "0001-01-01T00:00:00Z"),
])
def test_an_implausible_date_is_refused_naming_the_field(field, value):
    with pytest.raises(ValidationError) as caught:
        Record.model_validate({field: value})
    [error] = caught.value.errors(include_input=False)
    assert error["loc"] == (field,) and error["type"] == "implausible_date"
    assert EARLIEST_DAY.isoformat() in error["msg"]


def test_tomorrow_in_the_business_zone_is_plausible_whatever_the_utc_date():
    Record.model_validate({"on": (TODAY + timedelta(days=1)).isoformat()})
    with pytest.raises(ValidationError):
        Record.model_validate({"on": (TODAY + timedelta(days=2)).isoformat()})


def test_plausible_dates_pass():
    record = Record.model_validate({"at": "1900-01-01T00:00:00+08:00", "on": TODAY.isoformat(),
                                    "due_on": (TODAY + timedelta(days=365 * 5)).isoformat(),
                                    "due_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()})
    assert record.on == TODAY and record.at.year == 1900
    assert Record.model_validate({"on": (TODAY + timedelta(days=1)).isoformat()}).on > TODAY  # time zones
    assert EARLIEST_DAY == date(1900, 1, 1)
