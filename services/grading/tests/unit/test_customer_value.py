"""Customer value from purchase facts: the seed's numbers and order independence."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.grading.domain import DEFAULT_POLICY, ProfitRanking
from services.grading.domain.customer_value import (
    PurchaseFact,
    ValueInputs,
    annual_revenue,
    assess_customer_value,
    loyalty_indicators,
    purchase_from_deal,
    ranking_profit,
    same_value,
)
from services.grading.domain.pyramid import management_class_for_rank, management_classes, pyramid_tiers
from services.grading.domain.segments import ManagementClass, PyramidTier
from shared.events.contract import DealClosed, DealItem

AS_OF = date(2026, 6, 30)


def purchase(day: int, amount="100000", profit="10000", list_amount=None, products=("sedan",)) -> PurchaseFact:
    on = AS_OF - timedelta(days=day)
    return PurchaseFact(fact_id=uuid.uuid4(), occurred_at=datetime(on.year, on.month, on.day, tzinfo=UTC),
                        closed_on=on, amount=Decimal(amount), gross_profit=Decimal(profit),
                        list_amount=Decimal(list_amount or amount), products=products)


def value(*purchases, tier=PyramidTier.IRON, cls=ManagementClass.GENERAL, **kw):
    return assess_customer_value(ValueInputs.of(purchases, **kw), AS_OF, tier, cls)


def test_size_band_by_the_revenue_of_the_last_365_days_seed_numbers():
    assert value(purchase(10, amount="5000000.01")).size_band == "big"  # > 5M
    assert value(purchase(10, amount="5000000")).size_band == "medium"  # 1M .. 5M
    assert value(purchase(10, amount="999999")).size_band == "small"  # 0.5M .. 1M
    assert value(purchase(10, amount="49999")).size_band == "occasional"  # < 50k
    assert value(purchase(10, amount="120000")).size_band == "small"  # 50k .. 0.5M: small unless configured
    assert value(purchase(400, amount="9000000")).size_band == "occasional"  # older than a year


def test_a_deal_becomes_a_purchase_with_its_list_price_and_products():
    deal = DealClosed(deal_id=uuid.uuid4(), consultant_id="c-1", amount=Decimal("190000"),
                      gross_profit=Decimal("9000"), closed_on=AS_OF,
                      items=[DealItem(product="sedan", quantity=1, unit_price=Decimal("180000")),
                             DealItem(product="mats", quantity=2, unit_price=Decimal("10000"))])
    fact = purchase_from_deal(uuid.uuid4(), datetime(2026, 6, 30, tzinfo=UTC), deal)
    assert fact.list_amount == Decimal("200000") and fact.products == ("mats", "sedan")
    assert loyalty_indicators(ValueInputs.of([fact]), AS_OF).concession_purchase_share == 1


def test_retention_counts_whole_years_so_the_score_does_not_drift_daily():
    early = value(purchase(364), purchase(10))
    later = assess_customer_value(ValueInputs.of([purchase(364), purchase(10)]), AS_OF, PyramidTier.IRON,
                                  ManagementClass.GENERAL)
    assert early.loyalty_score == later.loyalty_score
    assert loyalty_indicators(ValueInputs.of([purchase(365)]), AS_OF).years_as_customer == 1


def test_loss_making_deals_are_price_concessions_and_lifetime_profit_is_discounted():
    v = value(purchase(800, profit="10000"), purchase(10, profit="-2000"))
    # the second deal is two whole years after the first: -2000 / 1.08^2
    assert v.gross_profit == Decimal("8000")
    assert v.lifetime_profit == (Decimal("10000") - Decimal("2000") / Decimal("1.08") ** 2).quantize(Decimal("0.01"))


def test_decline_when_no_purchase_for_twice_the_usual_interval():
    v = value(purchase(100), purchase(90), purchase(80))  # usual interval 10 days, 80 since
    assert v.lifecycle_stage == "decline" and v.in_decline and "overdue_purchase" in v.decline_signals
    assert value(purchase(5)).lifecycle_stage == "exploration"


def test_order_class_and_key_account_from_tier_and_loyalty():
    v = value(purchase(10, amount="2000000"), tier=PyramidTier.PLATINUM, cls=ManagementClass.KEY)
    assert v.order_class == 6  # average credit (no history), large, ordinary customer
    assert v.key_account_class == "key_development"  # attractive (platinum), loyalty below 50
    assert value(purchase(10), tier=PyramidTier.LEAD).key_account_class == "opportunistic"


def test_same_value_ignores_the_cause_only():
    v = value(purchase(10))
    assert same_value(v, v.model_copy(update={"cause_event_id": uuid.uuid4()}))
    assert not same_value(v, v.model_copy(update={"pyramid_tier": "gold"}))
    assert not same_value(None, v)


purchases = st.lists(
    st.builds(purchase, day=st.integers(0, 900), amount=st.sampled_from(["0", "40000", "600000", "6000000"]),
              profit=st.sampled_from(["-500", "0", "1500", "90000"]),
              products=st.sampled_from([("sedan",), ("suv", "mats"), ("truck",)])),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(purchases, st.randoms(use_true_random=False), st.integers(0, 4), st.integers(0, 3))
def test_value_is_a_function_of_the_set_of_facts(items, rnd, complaints, referrals):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    a = assess_customer_value(ValueInputs.of(items, complaints, referrals), AS_OF, PyramidTier.GOLD,
                              ManagementClass.SUITABLE)
    b = assess_customer_value(ValueInputs.of(shuffled + items[:1], complaints, referrals), AS_OF,
                              PyramidTier.GOLD, ManagementClass.SUITABLE)
    assert a == b
    assert annual_revenue(ValueInputs.of(items), AS_OF) >= 0 and ranking_profit(items) == ranking_profit(shuffled)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.sampled_from([-100, 0, 5, 50, 500, 5000])), max_size=40))
def test_tiers_and_classes_near_the_cuts_are_all_that_can_change(moves):
    """Re-checking the customers near the cuts (before and after a move) finds every change."""
    policy = DEFAULT_POLICY
    cuts = (policy.pyramid_cuts, policy.management.cuts)
    ranking, profits, counts = ProfitRanking(policy), {}, {}
    tiers, classes = {}, {}
    for cid, profit in moves:
        near = ranking.ids_near_cuts(*cuts) | {cid}
        ranking.upsert(cid, Decimal(profit))
        profits[cid] = Decimal(profit)
        counts[cid] = counts.get(cid, 0) + 1
        near |= ranking.ids_near_cuts(*cuts)
        for c in near:
            tiers[c] = ranking.tier_of(c)
            classes[c] = management_class_for_rank(ranking.rank_of(c), len(ranking), counts[c], policy.management)
        assert tiers == pyramid_tiers(profits, policy)
        # a class also changes with the customer's own purchase count (always re-valued: it is in `near`)
        assert classes == management_classes(profits, counts, policy)
