"""Loyalty score from the seven indicators and the loyalty ladder (忠诚发展阶段)."""
from decimal import Decimal as D

import pytest

from services.grading.domain.loyalty import LoyaltyIndicators, assess_loyalty, loyalty_score, loyalty_sub_scores
from services.grading.domain.policy import GradingPolicy, LoyaltyRules
from services.grading.domain.segments import LOYALTY_INDICATORS
from services.grading.domain.segments import LoyaltyStage as LS

PERFECT = LoyaltyIndicators(purchases=6, product_categories=4, concession_purchase_share=D(0), complaints=0,
                            average_days_to_choose=D(0), referrals=3, years_as_customer=D(5))


def test_seven_indicators_and_perfect_score():
    subs = loyalty_sub_scores(PERFECT)
    assert tuple(subs) == LOYALTY_INDICATORS and len(subs) == 7
    assert all(v == 1 for v in subs.values())
    assert loyalty_score(PERFECT) == D("100.00")


def test_each_indicator_formula():
    ind = LoyaltyIndicators(purchases=3, product_categories=2, concession_purchase_share=D("0.25"), complaints=1,
                            average_days_to_choose=D(45), referrals=1, years_as_customer=D("2.5"))
    subs = loyalty_sub_scores(ind)
    assert subs["repeat_purchases"] == D("0.4")
    assert subs["cross_purchases"] == D(1) / D(3)
    assert subs["price_sensitivity"] == D("0.75")
    assert subs["incident_tolerance"] == 1 - D(1) / D(3)
    assert subs["time_to_choose"] == D("0.5")
    assert subs["referrals"] == D(1) / D(3)
    assert subs["retention"] == D("0.5")
    expected = (sum(subs.values()) / 7 * 100).quantize(D("0.01"))
    assert loyalty_score(ind) == expected


def test_complaints_lower_loyalty():
    calm = assess_loyalty(PERFECT)
    angry = assess_loyalty(PERFECT.model_copy(update={"complaints": 3}))
    assert angry.score < calm.score
    assert angry.sub_scores["incident_tolerance"] == 0


def test_weights_are_configurable():
    weights = {k: D(0) for k in LOYALTY_INDICATORS} | {"referrals": D(1)}
    policy = GradingPolicy(loyalty=LoyaltyRules(weights=weights))
    assert loyalty_score(PERFECT.model_copy(update={"referrals": 0}), policy) == 0


@pytest.mark.parametrize(
    "update, stage",
    [
        ({"purchases": 0, "has_contact": False}, LS.GENERAL_BUYER),
        ({"purchases": 0}, LS.POTENTIAL_BUYER),
        ({"purchases": 1}, LS.ORDINARY_CUSTOMER),
        ({"referrals": 0}, LS.FOLLOWER),
        ({"years_as_customer": D(2)}, LS.ADVOCATE),
        ({}, LS.PARTNER),
    ],
)
def test_ladder(update, stage):
    assert assess_loyalty(PERFECT.model_copy(update=update)).stage == stage


def test_a_repeat_buyer_with_a_low_score_stays_ordinary():
    weak = LoyaltyIndicators(purchases=2, concession_purchase_share=D(1), complaints=3)
    assert loyalty_score(weak) < 40
    assert assess_loyalty(weak).stage == LS.ORDINARY_CUSTOMER
