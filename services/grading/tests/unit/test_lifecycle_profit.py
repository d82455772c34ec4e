"""Lifecycle stage with decline detection, and lifetime profit as NPV."""
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from services.grading.domain.lifecycle import DeclineSignal, Purchase, assess_lifecycle, usual_interval_days
from services.grading.domain.lifetime_profit import ProfitComponent as PC
from services.grading.domain.lifetime_profit import ProfitEntry, lifetime_profit
from services.grading.domain.policy import GradingPolicy, LifecycleRules, LifetimeProfitRules
from services.grading.domain.segments import LifecycleStage as LS

AS_OF = date(2024, 12, 31)


def buys(*pairs):
    return [Purchase(on=AS_OF - timedelta(days=d), amount=D(a)) for d, a in pairs]


def test_no_or_one_recent_purchase_is_exploration():
    assert assess_lifecycle([], AS_OF).stage == LS.EXPLORATION
    one = assess_lifecycle(buys((10, 1000)), AS_OF)
    assert one.stage == LS.EXPLORATION and one.decline_signals == () and one.usual_interval_days is None


def test_purchases_on_one_day_only_decline_by_the_volume_rule_alone():
    """Domain §8: no usual interval, so only the 90-day volume rule; it applies to a single purchase too."""
    one = assess_lifecycle(buys((150, 1000)), AS_OF)  # previous window 1000, last window 0
    assert one.stage == LS.DECLINE and one.decline_signals == (DeclineSignal.VOLUME_HALVED,)
    same_day = assess_lifecycle(buys((150, 600), (150, 400)), AS_OF)
    assert same_day.usual_interval_days is None
    assert same_day.stage == LS.DECLINE and same_day.decline_signals == (DeclineSignal.VOLUME_HALVED,)
    # long silent but nothing in the previous window either: no interval, no volume trend
    assert assess_lifecycle(buys((400, 1000)), AS_OF).stage == LS.EXPLORATION
    assert assess_lifecycle(buys((90, 1000)), AS_OF).stage == LS.DECLINE  # 90 days ago is the previous window


def test_the_minimum_purchases_for_decline_is_configurable():
    policy = GradingPolicy(lifecycle=LifecycleRules(min_purchases_for_decline=2))
    assert assess_lifecycle(buys((150, 1000)), AS_OF, policy).stage == LS.EXPLORATION
    assert assess_lifecycle(buys((150, 600), (150, 400)), AS_OF, policy).stage == LS.DECLINE


def test_volume_below_half_of_previous_window_is_decline():
    # previous window (90..180 days ago): 1000; last window: 499.99
    a = assess_lifecycle(buys((100, 500), (120, 500), (10, "499.99")), AS_OF)
    assert a.stage == LS.DECLINE and DeclineSignal.VOLUME_HALVED in a.decline_signals
    b = assess_lifecycle(buys((100, 500), (120, 500), (10, 500), (20, 0)), AS_OF)
    assert DeclineSignal.VOLUME_HALVED not in b.decline_signals


def test_window_edges():
    # a purchase exactly 90 days ago belongs to the previous window; 180 days ago to none
    a = assess_lifecycle(buys((90, 1000), (180, 5000), (5, 400)), AS_OF)
    assert (a.last_window_volume, a.previous_window_volume) == (D(400), D(1000))


def test_no_purchase_for_twice_the_usual_interval_is_decline():
    # purchases every 30 days, last one 59 days ago: not yet; 60 days ago: decline
    series = [(59 + 30 * k, 100) for k in range(6)]
    assert usual_interval_days(p.on for p in buys(*series)) == 30
    assert DeclineSignal.OVERDUE_PURCHASE not in assess_lifecycle(buys(*series), AS_OF).decline_signals
    late = [(60 + 30 * k, 100) for k in range(6)]
    a = assess_lifecycle(buys(*late), AS_OF)
    assert a.stage == LS.DECLINE and DeclineSignal.OVERDUE_PURCHASE in a.decline_signals


def test_growth_is_formation_and_steady_is_stability():
    assert assess_lifecycle(buys((150, 100), (120, 100), (30, 300)), AS_OF).stage == LS.FORMATION
    assert assess_lifecycle(buys((150, 100), (120, 100), (60, 100), (30, 100)), AS_OF).stage == LS.STABILITY


def test_purchases_after_as_of_are_ignored():
    purchases = buys((150, 100), (120, 100), (60, 100), (30, 100))
    future = purchases + [Purchase(on=AS_OF + timedelta(days=3), amount=D(10**6))]
    assert assess_lifecycle(future, AS_OF) == assess_lifecycle(purchases, AS_OF)


def test_lifetime_profit_undiscounted_and_npv():
    start = date(2020, 1, 1)
    entries = [
        ProfitEntry(on=start, component=PC.ACQUISITION_COST, amount=D(500)),
        ProfitEntry(on=start + timedelta(days=10), component=PC.BASE_PROFIT, amount=D(1000)),
        ProfitEntry(on=start + timedelta(days=365), component=PC.BASE_PROFIT, amount=D(1080)),
        ProfitEntry(on=start + timedelta(days=730), component=PC.REFERRAL_GAINS, amount=D("1166.40")),
        ProfitEntry(on=start + timedelta(days=730), component=PC.COMPLAINT_COST, amount=D("116.64")),
    ]
    lp = lifetime_profit(entries)  # 8% default
    assert lp.start == start
    assert (lp.gross_profit, lp.costs, lp.net) == (D("3246.40"), D("616.64"), D("2629.76"))
    # -500 + 1000 + 1080/1.08 + (1166.40 - 116.64)/1.08^2 = 500 + 1000 + 900
    assert lp.npv == D("2400.00")
    assert lp.by_component[PC.BASE_PROFIT] == D(2080)


def test_zero_rate_npv_equals_net_and_empty_is_zero():
    policy = GradingPolicy(lifetime_profit=LifetimeProfitRules(annual_discount_rate=D(0)))
    entries = [ProfitEntry(on=date(2020, 1, 1) + timedelta(days=400 * k), component=PC.BASE_PROFIT, amount=D(100))
               for k in range(5)]
    lp = lifetime_profit(entries, policy=policy)
    assert lp.npv == lp.net == D(500)
    empty = lifetime_profit([])
    assert (empty.npv, empty.start) == (D(0), None)


def test_negative_amounts_are_rejected():
    with pytest.raises(ValueError):
        ProfitEntry(on=AS_OF, component=PC.SERVICE_COST, amount=D(-1))
