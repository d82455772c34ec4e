from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.grading.domain.policy import DEFAULT_POLICY, GradingPolicy, IntentRules, RankCuts, SizeBands
from services.grading.domain.segments import SizeBand
from shared.events.enums import IntentGrade, PurchaseTimeframe


def test_seed_and_default_numbers():
    p = DEFAULT_POLICY
    assert p.intent.deposit_threshold_for_order == Decimal("1000")  # seed
    assert p.intent.timeframe_grades[PurchaseTimeframe.WITHIN_7_DAYS] == IntentGrade.H
    assert p.intent.timeframe_grades[PurchaseTimeframe.WITHIN_1_MONTH] == IntentGrade.A  # seed
    assert p.intent.timeframe_grades[PurchaseTimeframe.ONE_TO_3_MONTHS] == IntentGrade.B  # seed
    assert p.intent.timeframe_grades[PurchaseTimeframe.OVER_3_MONTHS] == IntentGrade.C
    assert p.intent.timeframe_grades[PurchaseTimeframe.UNDECIDED] == IntentGrade.C
    assert p.intent.missed_follow_ups_before_downgrade == 2
    assert (p.pyramid_cuts.top, p.pyramid_cuts.next) == (Decimal("0.05"), Decimal("0.15"))
    assert (p.management.cuts.top, p.management.cuts.next) == (Decimal("0.05"), Decimal("0.15"))
    assert p.size.big_above == 5_000_000 and p.size.medium_from == 1_000_000
    assert p.size.small_from == 500_000 and p.size.occasional_below == 50_000
    assert p.size.unassigned_band == SizeBand.SMALL
    assert (p.share.stable_from, p.share.basically_stable_from, p.share.unstable_from) == (
        Decimal("0.80"), Decimal("0.50"), Decimal("0.30"))
    assert p.lifecycle.window_days == 90 and p.lifecycle.decline_volume_ratio == Decimal("0.5")
    assert p.lifecycle.decline_interval_multiple == 2
    assert p.lifecycle.min_purchases_for_decline == 1  # domain §8: one purchase day declines by volume
    assert p.lifetime_profit.referral_gain_share == Decimal("0.10")  # domain §8
    assert p.pareto_top_fraction == Decimal("0.20")
    assert p.version


def test_policy_round_trips_through_json():
    text = DEFAULT_POLICY.model_dump_json()
    assert GradingPolicy.model_validate_json(text) == DEFAULT_POLICY
    custom = GradingPolicy(version="x", intent=IntentRules(deposit_threshold_for_order=Decimal("2000")))
    assert GradingPolicy.model_validate_json(custom.model_dump_json()) == custom


def test_policy_is_frozen():
    with pytest.raises(ValidationError):
        DEFAULT_POLICY.version = "other"


def test_a_time_frame_can_never_mean_an_order():
    mapping = dict(DEFAULT_POLICY.intent.timeframe_grades)
    mapping[PurchaseTimeframe.NOW] = IntentGrade.O
    with pytest.raises(ValidationError):
        IntentRules(timeframe_grades=mapping)


def test_every_time_frame_must_be_mapped():
    with pytest.raises(ValidationError):
        IntentRules(timeframe_grades={PurchaseTimeframe.NOW: IntentGrade.H})


def test_invalid_cuts_and_bands_are_rejected():
    with pytest.raises(ValidationError):
        RankCuts(top=Decimal("0.6"), next=Decimal("0.5"))
    with pytest.raises(ValidationError):
        SizeBands(big_above=Decimal(1), medium_from=Decimal(2))


def test_new_defaults_came_with_a_new_version():
    """grading_policies keeps one policy per version forever: a database that stored 2024.1 refuses
    to start with other numbers under that name, so changed defaults carry a new version."""
    from services.grading.domain.policy import LifecycleRules, LifetimeProfitRules
    before = GradingPolicy(version="2024.1", lifecycle=LifecycleRules(min_purchases_for_decline=2),
                           lifetime_profit=LifetimeProfitRules(referral_gain_share=Decimal(0)))
    assert DEFAULT_POLICY.version != before.version
    assert DEFAULT_POLICY.model_copy(update={"version": before.version}) != before
