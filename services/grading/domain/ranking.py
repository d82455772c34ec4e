"""Incremental profit ranking for the rank-dependent pyramid tiers.

`ProfitRanking` keeps the population sorted by the ranking key (profit
highest first, ties by customer id ascending: `shared.value_ranking`) in a
SortedList, index = rank, so an upsert costs O(log n) and a tier lookup O(log n), and
`changed_tiers_after_upsert` reports only the customers whose tier changed.

Why a constant number of candidates is enough: when one customer u is
inserted, moved or removed, every other customer's rank moves by at most one
and each cut point (ceil(n * fraction)) moves by at most one. A customer at
old rank r can therefore cross a cut c only if c - 2 <= r <= c + 1. Those at
most 4 customers per cut, plus u, are checked before and after: O(log n).
The order and the tier rule are those of `pyramid.py` (the full recomputation).
"""
from __future__ import annotations

from decimal import Decimal

from sortedcontainers import SortedList

from shared.value_ranking import ranking_key

from .policy import DEFAULT_POLICY, GradingPolicy, RankCuts
from .pyramid import CustomerId, cut_ranks, tier_for_rank
from .segments import PyramidTier

TierChange = tuple[PyramidTier | None, PyramidTier | None]
"""(tier before, tier after); None when the customer was absent / removed."""


class ProfitRanking:
    """Customers ranked by lifetime gross profit, highest first."""

    def __init__(self, policy: GradingPolicy = DEFAULT_POLICY) -> None:
        self._cuts = policy.pyramid_cuts
        self._sorted: SortedList = SortedList()  # (ranking key, id) ascending: index = rank, 0 the best
        self._profit: dict[CustomerId, Decimal] = {}

    def __len__(self) -> int:
        return len(self._profit)

    def __contains__(self, customer_id: CustomerId) -> bool:
        return customer_id in self._profit

    def profit_of(self, customer_id: CustomerId) -> Decimal:
        return self._profit[customer_id]

    def rank_of(self, customer_id: CustomerId) -> int:
        """0 for the most profitable customer. KeyError if unknown."""
        return self._sorted.index(self._entry(customer_id, self._profit[customer_id]))

    def tier_of(self, customer_id: CustomerId) -> PyramidTier:
        """The customer's pyramid tier in the current population. KeyError if unknown."""
        return tier_for_rank(self.rank_of(customer_id), len(self), self._profit[customer_id], self._cuts)

    def ranks(self) -> dict[CustomerId, int]:
        """Every customer's rank, O(n)."""
        return {cid: rank for rank, (_, cid) in enumerate(self._sorted)}

    def tiers(self) -> dict[CustomerId, PyramidTier]:
        """Every customer's tier, O(n)."""
        n = len(self._sorted)
        return {cid: tier_for_rank(rank, n, self._profit[cid], self._cuts)
                for rank, (_, cid) in enumerate(self._sorted)}

    def upsert(self, customer_id: CustomerId, profit: Decimal) -> None:
        """Insert the customer or move it to its new profit."""
        profit = Decimal(profit)
        old = self._profit.get(customer_id)
        if old is not None:
            self._sorted.remove(self._entry(customer_id, old))
        self._profit[customer_id] = profit
        self._sorted.add(self._entry(customer_id, profit))

    def remove(self, customer_id: CustomerId) -> None:
        """Take the customer out of the population (KeyError if unknown)."""
        self._sorted.remove(self._entry(customer_id, self._profit.pop(customer_id)))

    def changed_tiers_after_upsert(self, customer_id: CustomerId, profit: Decimal) -> dict[CustomerId, TierChange]:
        """Upsert, and return only the customers whose tier changed (O(log n))."""
        return self._tracking(customer_id, lambda: self.upsert(customer_id, profit))

    def changed_tiers_after_remove(self, customer_id: CustomerId) -> dict[CustomerId, TierChange]:
        """Remove, and return only the customers whose tier changed (O(log n))."""
        return self._tracking(customer_id, lambda: self.remove(customer_id))

    def ids_near_cuts(self, *cuts: RankCuts, moves: int = 1) -> set[CustomerId]:
        """The customers whose tier under `cuts` can change when `moves` customers move, one
        after another (O(moves log n)): each move shifts every other rank and each cut by at
        most one, so a crossing needs cut - 2 * moves <= rank < cut + 2 * moves.

        A caller that stores tiers (and may have lost an update) compares
        these, taken before and after a move, with what it stored.
        """
        n = len(self._sorted)
        found: set[CustomerId] = set()
        for c in cuts or (self._cuts,):
            for cut in set(cut_ranks(n, c)):
                for rank in range(max(cut - 2 * moves, 0), min(cut + 2 * moves, n)):
                    found.add(self._id_at_rank(rank))
        return found

    # -- internals ----------------------------------------------------------

    @staticmethod
    def _entry(customer_id: CustomerId, profit: Decimal) -> tuple:
        """The sorted entry: the shared key decides the order, the id only rides along."""
        return (ranking_key(profit, customer_id), customer_id)

    def _id_at_rank(self, rank: int) -> CustomerId:
        return self._sorted[rank][1]

    def _candidates(self, subject: CustomerId) -> set[CustomerId]:
        n = len(self._sorted)
        found = {subject}
        for cut in set(cut_ranks(n, self._cuts)):
            for rank in range(max(cut - 2, 0), min(cut + 2, n)):
                found.add(self._id_at_rank(rank))
        return found

    def _tier_or_none(self, customer_id: CustomerId) -> PyramidTier | None:
        return self.tier_of(customer_id) if customer_id in self._profit else None

    def _tracking(self, subject: CustomerId, mutate) -> dict[CustomerId, TierChange]:
        candidates = self._candidates(subject)
        before = {cid: self._tier_or_none(cid) for cid in candidates}
        mutate()
        changed: dict[CustomerId, TierChange] = {}
        for cid, old in before.items():
            new = self._tier_or_none(cid)
            if new != old:
                changed[cid] = (old, new)
        return changed
