"""Every number of the follow-up policy is pinned, configurable, versioned and JSON-serialisable."""
from datetime import date, time, timedelta

import pytest
from pydantic import ValidationError

from shared.events.enums import Channel, ComplaintSeverity, IntentGrade

from services.followup.domain import DEFAULT_POLICY, ComplaintSla, FollowUpPolicy, WorkingHours
from services.followup.domain.tasks import DeliveryStep


def test_cadence_per_grade():
    assert DEFAULT_POLICY.cadence_interval(IntentGrade.H) == timedelta(days=2)  # default
    assert DEFAULT_POLICY.cadence_interval(IntentGrade.A) == timedelta(days=7)  # seed: once a week
    assert DEFAULT_POLICY.cadence_interval(IntentGrade.B) == timedelta(days=15)  # seed: twice a month
    assert DEFAULT_POLICY.cadence_interval(IntentGrade.C) == timedelta(days=30)  # default: once a month
    assert DEFAULT_POLICY.cadence_interval(IntentGrade.O) is None  # delivery steps instead


def test_pinned_numbers():
    p = DEFAULT_POLICY
    assert p.first_contact_within == timedelta(hours=24)
    assert p.deal_call_within_days == 3  # 新车3日DC
    assert p.service_call_within_days == 3  # 售后3日DC
    assert p.base_maintenance_min_age_years == 3
    assert p.escalate_after == timedelta(hours=24)
    assert p.survey_after_days == 3
    assert p.care_lead_days == 7
    assert p.decline_recovery_within_days == 7
    assert {s: (sla.acknowledge_working_hours, sla.resolve_days) for s, sla in p.complaint_sla.items()} == {
        ComplaintSeverity.HIGH: (4, 1), ComplaintSeverity.MEDIUM: (4, 3), ComplaintSeverity.LOW: (4, 7)}
    assert [r.step for r in p.delivery_steps] == [DeliveryStep.PAYMENT, DeliveryStep.REGISTRATION,
                                                  DeliveryStep.INSURANCE, DeliveryStep.ACCESSORIES,
                                                  DeliveryStep.HANDOVER]


def test_working_hours_default_calendar():
    wh = DEFAULT_POLICY.working_hours
    assert (wh.timezone, wh.workdays, wh.start, wh.end) == ("Asia/Shanghai", (0, 1, 2, 3, 4), time(9), time(18))
    assert wh.day_length == timedelta(hours=9)
    assert wh.is_working_day(date(2024, 6, 7)) and not wh.is_working_day(date(2024, 6, 8))


def test_holidays_and_make_up_workdays():
    wh = WorkingHours(holidays=(date(2024, 6, 10),), extra_workdays=(date(2024, 6, 8),))
    assert not wh.is_working_day(date(2024, 6, 10))  # a Monday off (端午节)
    assert wh.is_working_day(date(2024, 6, 8))  # a Saturday worked (调休)


def test_json_round_trip_is_lossless():
    custom = FollowUpPolicy(version="test-7", cadence_days={IntentGrade.H: 1, IntentGrade.A: 5, IntentGrade.B: 10,
                                                             IntentGrade.C: 20},
                            working_hours=WorkingHours(timezone="Europe/Berlin", holidays=(date(2024, 12, 25),)))
    for policy in (DEFAULT_POLICY, custom):
        assert FollowUpPolicy.model_validate_json(policy.model_dump_json()) == policy


def test_policy_is_frozen():
    with pytest.raises(ValidationError):
        DEFAULT_POLICY.escalate_after_hours = 1  # type: ignore[misc]


@pytest.mark.parametrize("change", [
    {"cadence_days": {IntentGrade.H: 2, IntentGrade.A: 7, IntentGrade.B: 15}},  # C missing
    {"cadence_days": {IntentGrade.O: 1, IntentGrade.H: 2, IntentGrade.A: 7, IntentGrade.B: 15, IntentGrade.C: 30}},
    {"cadence_days": {IntentGrade.H: 0, IntentGrade.A: 7, IntentGrade.B: 15, IntentGrade.C: 30}},
    {"complaint_sla": {ComplaintSeverity.HIGH: ComplaintSla(resolve_days=1)}},
    {"delivery_steps": ()},
    {"customer_initiated_channels": (Channel.PHONE, Channel.PHONE)},
    {"escalate_after_hours": 0},
    {"version": ""},
    {"unknown_field": 1},
])
def test_invalid_policies_are_refused(change):
    with pytest.raises(ValidationError):
        FollowUpPolicy(**change)


@pytest.mark.parametrize("change", [
    {"timezone": "Mars/Olympus"},
    {"workdays": ()},
    {"workdays": (0, 7)},
    {"workdays": (1, 1)},
    {"start": time(18), "end": time(9)},
    {"holidays": (date(2024, 6, 8),), "extra_workdays": (date(2024, 6, 8),)},
])
def test_invalid_calendars_are_refused(change):
    with pytest.raises(ValidationError):
        WorkingHours(**change)
