"""Referral gains (推荐收益, domain §8): a share of the referred customers' deals counts for the referrer."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from services.grading.domain.customer_value import (
    PurchaseFact,
    ValueInputs,
    assess_customer_value,
    profit_entries,
    ranking_profit,
    referral_gain,
)
from services.grading.domain.lifetime_profit import ProfitComponent as PC
from services.grading.domain.policy import DEFAULT_POLICY, GradingPolicy, LifetimeProfitRules
from services.grading.domain.segments import ManagementClass, PyramidTier

AS_OF = date(2026, 6, 30)


def deal(on: date, profit: str, amount: str = "100000") -> PurchaseFact:
    return PurchaseFact(fact_id=uuid.uuid4(), occurred_at=datetime(on.year, on.month, on.day, tzinfo=UTC),
                        closed_on=on, amount=D(amount), gross_profit=D(profit), list_amount=D(amount))


def value(inputs: ValueInputs, policy: GradingPolicy = DEFAULT_POLICY):
    return assess_customer_value(inputs, AS_OF, PyramidTier.IRON, ManagementClass.GENERAL, policy)


def test_the_default_share_is_ten_percent_per_deal_to_the_cent_and_a_loss_gains_nothing():
    assert DEFAULT_POLICY.lifetime_profit.referral_gain_share == D("0.10")
    assert referral_gain(deal(AS_OF, "20000")) == D("2000.00")
    assert referral_gain(deal(AS_OF, "12345.65")) == D("1234.57")  # half up, as PostgreSQL's round()
    assert referral_gain(deal(AS_OF, "-3000")) == 0


def test_gains_count_in_the_ranking_profit_the_lifetime_profit_and_are_published():
    own = [deal(date(2024, 1, 10), "10000")]
    referred = [deal(date(2024, 3, 1), "20000"), deal(date(2025, 2, 1), "5000"), deal(date(2025, 3, 1), "-800")]
    inputs = ValueInputs.of(own, referrals=1, referred_purchases=referred)
    v = value(inputs)
    assert ranking_profit(own, referred) == v.gross_profit == D("12500.00")
    assert v.referral_gains == D("2500.00")
    # 10000 + 2000 in the first year; 500 in the second, discounted once at 8%
    assert v.lifetime_profit == (D("12000") + D("500") / D("1.08")).quantize(D("0.01"))
    gains = [e for e in profit_entries(inputs) if e.component == PC.REFERRAL_GAINS]
    assert [(e.on, e.amount) for e in gains] == [(date(2024, 3, 1), D("2000.00")), (date(2025, 2, 1), D("500.00"))]


def test_a_referred_deal_before_the_first_purchase_starts_the_discounting():
    own = [deal(date(2025, 6, 1), "1000")]
    referred = [deal(date(2024, 5, 1), "10000")]  # 396 days earlier: the own deal is one whole year later
    v = value(ValueInputs.of(own, referred_purchases=referred))
    assert v.lifetime_profit == (D("1000") + D("1000") / D("1.08")).quantize(D("0.01"))


def test_the_share_is_a_policy_setting_and_zero_turns_gains_off():
    own, referred = [deal(AS_OF, "100")], [deal(AS_OF, "1000")]
    quarter = GradingPolicy(lifetime_profit=LifetimeProfitRules(referral_gain_share=D("0.25")))
    assert value(ValueInputs.of(own, referred_purchases=referred), quarter).gross_profit == D("350.00")
    none = GradingPolicy(lifetime_profit=LifetimeProfitRules(referral_gain_share=D(0)))
    v = value(ValueInputs.of(own, referred_purchases=referred), none)
    assert (v.gross_profit, v.referral_gains, v.lifetime_profit) == (D("100"), D(0), D("100.00"))


def test_a_referrer_whose_own_deals_lost_money_can_be_profitable_by_its_referrals():
    own, referred = [deal(AS_OF, "-100")], [deal(AS_OF, "5000")]
    assert ranking_profit(own, referred) == D("400.00")


profits = st.sampled_from(["-500", "0", "0.05", "1234.55", "90000"])
deals = st.lists(st.builds(lambda d, p: deal(AS_OF - timedelta(days=d), p), st.integers(0, 900), profits), max_size=6)


@settings(max_examples=100, deadline=None)
@given(deals, deals, st.randoms(use_true_random=False))
def test_gains_are_a_function_of_the_set_of_referred_deals(own, referred, rnd):
    shuffled = list(referred)
    rnd.shuffle(shuffled)
    a = value(ValueInputs.of(own, referred_purchases=referred))
    b = value(ValueInputs.of(own, referred_purchases=shuffled + referred[:1]))  # a duplicate counts once
    assert a == b
    assert a.referral_gains == sum((referral_gain(p) for p in referred), D(0)) >= 0
    assert a.gross_profit == sum((p.gross_profit for p in own), D(0)) + a.referral_gains
