"""Rank-based classes: the value pyramid (顾客金字塔) and management classes.

Customers are ranked by lifetime gross profit, highest first; ties are
broken by customer id, ascending (domain §8). The order is
`shared.value_ranking.ranking_key`, the one analytics lists the Pareto curve
and its reports on, so grading's tiers and analytics's lists cannot disagree;
`ranking.ProfitRanking` uses it too. With n customers and cut fractions
(top, next), rank r (0-based) is in the top group when r < ceil(n * top) and
in the next group when r < ceil(n * (top + next)): of 100 customers 5 are
platinum and 15 gold; of 10, 1 and 1.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Any

from shared.value_ranking import ranking_key

from .policy import DEFAULT_POLICY, GradingPolicy, ManagementRules, RankCuts
from .segments import ManagementClass, PyramidTier

CustomerId = Any  # uuid.UUID or str; one type per population


def group_size(population: int, fraction: Decimal) -> int:
    """ceil(population * fraction), exactly (no float rounding)."""
    product = Decimal(population) * Decimal(fraction)
    return int(product.to_integral_value(rounding=ROUND_CEILING))


def cut_ranks(population: int, cuts: RankCuts) -> tuple[int, int]:
    """(end of the top group, end of the next group) as exclusive ranks."""
    return group_size(population, cuts.top), group_size(population, cuts.top + cuts.next)


def tier_for_rank(rank: int, population: int, profit: Decimal, cuts: RankCuts) -> PyramidTier:
    """Pyramid tier of the customer at `rank` (0 = most profitable).

    Profit <= 0 is lead whatever the rank; otherwise top 5% platinum, next
    15% gold, the rest iron (default cuts). The whole population counts,
    lead customers included.
    """
    if profit <= 0:
        return PyramidTier.LEAD
    top_end, next_end = cut_ranks(population, cuts)
    if rank < top_end:
        return PyramidTier.PLATINUM
    if rank < next_end:
        return PyramidTier.GOLD
    return PyramidTier.IRON


def ranked(profits: Mapping[CustomerId, Decimal]) -> list[CustomerId]:
    """Customer ids, most profitable first (ties: lower id first)."""
    return sorted(profits, key=lambda cid: ranking_key(profits[cid], cid))


def pyramid_tiers(
    profits: Mapping[CustomerId, Decimal], policy: GradingPolicy = DEFAULT_POLICY
) -> dict[CustomerId, PyramidTier]:
    """Every customer's pyramid tier, by full recomputation."""
    order = ranked(profits)
    n = len(order)
    return {cid: tier_for_rank(r, n, Decimal(profits[cid]), policy.pyramid_cuts) for r, cid in enumerate(order)}


def management_class_for_rank(
    rank: int, population: int, purchase_count: int, rules: ManagementRules
) -> ManagementClass:
    """Management class: one-off first, then by profit rank.

    one-off (一次性客户): exactly `one_off_purchase_count` (1) purchases, whatever
    the rank; otherwise key (大客户) top 5%, suitable (合适客户) next 15%,
    general (一般客户) the rest.
    """
    if purchase_count == rules.one_off_purchase_count:
        return ManagementClass.ONE_OFF
    top_end, next_end = cut_ranks(population, rules.cuts)
    if rank < top_end:
        return ManagementClass.KEY
    if rank < next_end:
        return ManagementClass.SUITABLE
    return ManagementClass.GENERAL


def management_classes(
    profits: Mapping[CustomerId, Decimal],
    purchase_counts: Mapping[CustomerId, int],
    policy: GradingPolicy = DEFAULT_POLICY,
) -> dict[CustomerId, ManagementClass]:
    """Every customer's management class; a missing purchase count is 0."""
    order = ranked(profits)
    n = len(order)
    return {
        cid: management_class_for_rank(r, n, purchase_counts.get(cid, 0), policy.management)
        for r, cid in enumerate(order)
    }

