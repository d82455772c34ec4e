"""Value pyramid (顾客金字塔), management classes and Pareto (二八法则)."""
from collections import Counter
from decimal import Decimal as D

from services.grading.domain.pareto import pareto
from services.grading.domain.pyramid import group_size, management_classes, pyramid_tiers, ranked
from services.grading.domain.segments import ManagementClass as MC
from services.grading.domain.segments import PyramidTier as PT


def population_of_100():
    # customer i has profit 1000 * (100 - i): c000 the most profitable
    return {f"c{i:03d}": D(1000 * (100 - i)) for i in range(100)}


def test_pyramid_cuts_on_100_customers():
    profits = population_of_100()
    profits["c095"] = D(0)
    profits["c096"] = D(-50)
    tiers = pyramid_tiers(profits)
    assert Counter(tiers.values()) == {PT.PLATINUM: 5, PT.GOLD: 15, PT.IRON: 78, PT.LEAD: 2}
    assert [tiers[f"c{i:03d}"] for i in (0, 4, 5, 19, 20, 94)] == [PT.PLATINUM, PT.PLATINUM, PT.GOLD, PT.GOLD, PT.IRON, PT.IRON]
    assert tiers["c095"] == tiers["c096"] == PT.LEAD


def test_small_populations_round_up():
    assert group_size(10, D("0.05")) == 1 and group_size(10, D("0.20")) == 2
    assert group_size(100, D("0.05")) == 5 and group_size(101, D("0.05")) == 6
    assert group_size(0, D("0.05")) == 0
    assert pyramid_tiers({"only": D(5)}) == {"only": PT.PLATINUM}
    assert pyramid_tiers({}) == {}


def test_a_loss_maker_in_the_top_ranks_is_still_lead():
    assert pyramid_tiers({"a": D(0), "b": D(-1)}) == {"a": PT.LEAD, "b": PT.LEAD}


def test_ties_are_broken_by_customer_id_ascending():
    assert ranked({"a": D(1), "b": D(1), "c": D(2)}) == ["c", "a", "b"]


def test_management_classes_on_100_customers():
    profits = population_of_100()
    counts = {cid: 3 for cid in profits}
    counts["c001"] = 1  # one big single purchase: still one-off
    counts["c050"] = 1
    classes = management_classes(profits, counts)
    assert Counter(classes.values()) == {MC.KEY: 4, MC.SUITABLE: 15, MC.GENERAL: 79, MC.ONE_OFF: 2}
    assert classes["c000"] == MC.KEY and classes["c001"] == MC.ONE_OFF and classes["c005"] == MC.SUITABLE
    assert classes["c020"] == MC.GENERAL


def test_pareto_share_and_curve():
    # 10 customers: 2 bring 80 of 100
    values = {f"c{i}": D(40) for i in range(2)} | {f"d{i}": D("2.5") for i in range(8)}
    summary = pareto(values)
    assert summary.top_count == 2 and summary.top_share == D("0.8")
    assert len(summary.curve) == 10
    assert summary.curve[0].customer_share == D("0.1") and summary.curve[0].value_share == D("0.4")
    assert summary.curve[-1].customer_share == 1 and summary.curve[-1].value_share == 1
    shares = [p.value_share for p in summary.curve]
    assert shares == sorted(shares)


def test_pareto_with_no_positive_total():
    summary = pareto({"a": D(-5), "b": D(2)})
    assert summary.top_share is None and summary.curve == ()
    assert pareto({}).top_share is None
