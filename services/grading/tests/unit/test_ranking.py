"""Incremental profit ranking equals the full recomputation (pyramid.py)."""
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.grading.domain.policy import GradingPolicy, RankCuts
from services.grading.domain.pyramid import pyramid_tiers
from services.grading.domain.ranking import ProfitRanking
from services.grading.domain.segments import PyramidTier as PT


def filled(n=100):
    ranking = ProfitRanking()
    for i in range(n):
        ranking.upsert(f"c{i:03d}", D(1000 * (100 - i)))
    return ranking


def test_tiers_on_100_customers():
    r = filled()
    assert [r.tier_of(f"c{i:03d}") for i in (0, 4, 5, 19, 20, 99)] == [PT.PLATINUM, PT.PLATINUM, PT.GOLD, PT.GOLD, PT.IRON, PT.IRON]
    assert r.rank_of("c000") == 0 and len(r) == 100


def test_a_customer_climbing_into_platinum_pushes_one_out():
    r = filled()
    changed = r.changed_tiers_after_upsert("c050", D(10**6))
    assert changed == {"c050": (PT.IRON, PT.PLATINUM), "c004": (PT.PLATINUM, PT.GOLD), "c019": (PT.GOLD, PT.IRON)}


def test_a_profit_change_within_a_tier_changes_nothing():
    r = filled()
    assert r.changed_tiers_after_upsert("c060", D(30500)) == {}


def test_a_new_customer_can_move_the_cut_points():
    r = filled()  # 100 customers: 5 platinum, 20 in the top two tiers
    changed = r.changed_tiers_after_upsert("new", D(1))  # 101: 6 platinum (ceil 5.05), 21 top two
    assert changed == {"new": (None, PT.IRON), "c005": (PT.GOLD, PT.PLATINUM), "c020": (PT.IRON, PT.GOLD)}


def test_going_to_zero_profit_is_lead_and_removal_is_reported():
    r = filled()
    assert r.changed_tiers_after_upsert("c000", D(0))["c000"] == (PT.PLATINUM, PT.LEAD)
    changed = r.changed_tiers_after_remove("c001")
    assert changed["c001"] == (PT.PLATINUM, None)
    assert r.tiers() == pyramid_tiers({cid: r.profit_of(cid) for cid in r.tiers()})
    with pytest.raises(KeyError):
        r.tier_of("c001")


operations = st.lists(
    st.tuples(st.sampled_from(["upsert", "upsert", "upsert", "remove"]), st.integers(0, 40),
              st.integers(-5, 30).map(lambda v: D(v) * 100)),
    max_size=120,
)


@pytest.mark.parametrize("cuts", [RankCuts(top=D("0.05"), next=D("0.15")), RankCuts(top=D("0.3"), next=D("0.3"))])
@settings(max_examples=150, deadline=None)
@given(ops=operations)
def test_incremental_tiers_equal_full_recomputation(cuts, ops):
    policy = GradingPolicy(pyramid_cuts=cuts)
    ranking = ProfitRanking(policy)
    profits: dict[str, D] = {}
    tiers = {}
    for op, who, profit in ops:
        cid = f"c{who:02d}"
        if op == "remove":
            if cid not in profits:
                continue
            changed = ranking.changed_tiers_after_remove(cid)
            del profits[cid]
        else:
            changed = ranking.changed_tiers_after_upsert(cid, profit)
            profits[cid] = profit
        expected = pyramid_tiers(profits, policy)
        # the structure agrees with a full recomputation...
        assert ranking.tiers() == expected
        assert {cid: ranking.tier_of(cid) for cid in profits} == expected
        # ...and the reported changes are exactly the customers whose tier changed
        truly_changed = {c: (tiers.get(c), expected.get(c)) for c in set(tiers) | set(expected)
                         if tiers.get(c) != expected.get(c)}
        assert changed == truly_changed
        tiers = expected


@pytest.mark.parametrize("cuts", [RankCuts(top=D("0.05"), next=D("0.15")), RankCuts(top=D("0.3"), next=D("0.3"))])
@settings(max_examples=150, deadline=None)
@given(start=operations, moves=st.lists(st.tuples(st.sampled_from(["upsert", "remove"]), st.integers(0, 80),
                                                 st.integers(-5, 60).map(lambda v: D(v) * 100)), max_size=30))
def test_after_many_moves_only_the_movers_and_those_near_a_cut_change_tier(cuts, start, moves):
    """values.py re-values only these after a batch (`ids_near_cuts(moves=k)` taken before it)."""
    ranking = ProfitRanking(GradingPolicy(pyramid_cuts=cuts))
    for op, who, profit in start:
        if op == "upsert":
            ranking.upsert(f"c{who:02d}", profit)  # moves past c40 bring new customers in
    before, moved = ranking.tiers(), set()
    steps = [(op, f"c{who:02d}", profit) for op, who, profit in moves
             if op == "upsert" or f"c{who:02d}" in ranking]
    near = ranking.ids_near_cuts(cuts, moves=len(steps))
    for op, cid, profit in steps:
        if op == "remove" and cid not in ranking:
            continue
        ranking.remove(cid) if op == "remove" else ranking.upsert(cid, profit)
        moved.add(cid)
    after = ranking.tiers()
    assert {c for c in set(before) | set(after) if before.get(c) != after.get(c)} <= near | moved


def test_ten_newcomers_at_the_top_move_customers_up_to_twenty_ranks_from_a_cut():
    cuts = RankCuts(top=D("0.3"), next=D("0.3"))
    ranking = ProfitRanking(GradingPolicy(pyramid_cuts=cuts))
    for i in range(40):
        ranking.upsert(f"c{i:02d}", D(1000 - i))
    before, near_one, near_ten = ranking.tiers(), ranking.ids_near_cuts(cuts), ranking.ids_near_cuts(cuts, moves=10)
    for i in range(10):
        ranking.upsert(f"n{i}", D(5000 + i))
    after = ranking.tiers()
    changed = {c for c in before if before[c] != after[c]}
    assert "c05" in changed - near_one  # one move's candidates are not enough
    assert changed <= near_ten
