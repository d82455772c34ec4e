"""The value ranking's order (domain §8) is the shared one: profit highest first, ties by id ascending."""
from __future__ import annotations

import uuid
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.grading.domain.policy import DEFAULT_POLICY, GradingPolicy, RankCuts
from services.grading.domain.pyramid import (
    cut_ranks,
    management_class_for_rank,
    management_classes,
    pyramid_tiers,
    ranked,
    tier_for_rank,
)
from services.grading.domain.ranking import ProfitRanking
from services.grading.domain.segments import PyramidTier as PT
from shared.value_ranking import ranking_key


def brute_force(profits: dict, policy: GradingPolicy = DEFAULT_POLICY) -> tuple[list, dict]:
    """The ranking by sorting on the shared key, and the tiers §8 gives it."""
    order = sorted(profits, key=lambda cid: ranking_key(profits[cid], cid))
    n = len(order)
    return order, {cid: tier_for_rank(r, n, profits[cid], policy.pyramid_cuts) for r, cid in enumerate(order)}


def test_equal_profits_rank_the_lower_id_first():
    assert ranked({"a": D(1), "b": D(1), "c": D(2)}) == ["c", "a", "b"]
    r = ProfitRanking()
    for cid in ("b", "a", "c"):
        r.upsert(cid, D(1))
    assert [r.rank_of(c) for c in ("a", "b", "c")] == [0, 1, 2]


def test_the_top_cut_goes_to_the_lower_ids_of_a_tie():
    # 20 customers with the same profit: ceil(5%) = 1 platinum, ceil(20%) = 4 in the top two
    ids = [uuid.UUID(int=i) for i in range(20)]
    r = ProfitRanking()
    for cid in reversed(ids):
        r.upsert(cid, D(500))
    assert r.tier_of(ids[0]) == PT.PLATINUM
    assert [r.tier_of(c) for c in ids[1:4]] == [PT.GOLD] * 3 and r.tier_of(ids[4]) == PT.IRON
    assert pyramid_tiers({c: D(500) for c in ids}) == r.tiers()


moves = st.lists(
    st.tuples(st.sampled_from(["upsert"] * 4 + ["remove"]), st.integers(0, 60),
              st.sampled_from([-100, 0, 0, 700, 700, 700, 1500, 1500, 9000])),
    max_size=150,
)
ids = st.sampled_from(["uuid", "text"])


@pytest.mark.parametrize("cuts", [RankCuts(top=D("0.05"), next=D("0.15")), RankCuts(top=D("0.25"), next=D("0.25"))])
@settings(max_examples=150, deadline=None)
@given(ops=moves, kind=ids)
def test_ranks_and_tiers_equal_a_brute_force_sort_by_the_shared_key(cuts, ops, kind):
    """Many equal profits: the incremental structure, the full recomputation and a plain sort agree."""
    policy = GradingPolicy(pyramid_cuts=cuts)
    name = (lambda i: uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % 2**128)) if kind == "uuid" else (lambda i: f"c{i:02d}")
    ranking, profits = ProfitRanking(policy), {}
    for op, who, profit in ops:
        cid = name(who)
        if op == "remove":
            if cid in profits:
                ranking.remove(cid)
                del profits[cid]
            continue
        ranking.upsert(cid, D(profit))
        profits[cid] = D(profit)
    order, tiers = brute_force(profits, policy)
    assert [ranking.rank_of(c) for c in order] == list(range(len(order)))
    assert ranked(profits) == order
    assert ranking.tiers() == tiers == pyramid_tiers(profits, policy)
    assert {c: ranking.tier_of(c) for c in profits} == tiers
    # the management classes come from the same ranks (value.py values each customer by rank_of)
    n, counts = len(order), {c: 2 for c in profits}
    assert management_classes(profits, counts, policy) == {
        c: management_class_for_rank(ranking.rank_of(c), n, 2, policy.management) for c in profits}
    top, _ = cut_ranks(n, policy.pyramid_cuts)
    assert {c for c in order[:top] if profits[c] > 0} == {c for c, t in tiers.items() if t == PT.PLATINUM}
