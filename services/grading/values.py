"""Persisting customer value: compute it from the facts, keep the profit ranking, emit changes.

The profit ranking (pyramid tiers and management classes depend on rank) is
kept in memory (`ProfitRanking`, O(log n) per move) and rebuilt from
`customer_values` at startup. When one customer's profit moves, only the
customers near a cut point can change tier; those are re-valued and compared
with what is stored, so a change is never missed even after a rolled-back
batch. `customer-valued` is emitted only when a customer's value changed.
"""
from __future__ import annotations

import asyncio
import uuid
from datetime import date

import asyncpg

from shared.events.contract import CustomerValued
from shared.events.envelope import Envelope, new_event
from shared.runtime.store import append

from . import fact_store
from .domain import GradingPolicy, ProfitRanking
from .domain.customer_value import ValueInputs, assess_customer_value, ranking_profit, same_value
from .domain.pyramid import management_class_for_rank

SERVICE = "grading"


def value_stream(customer_id: uuid.UUID) -> str:
    return f"customer-value-{customer_id}"


class Valuation:
    """Customer value grading for the whole population served by this process."""

    def __init__(self, policy: GradingPolicy) -> None:
        self.policy = policy
        self.ranking = ProfitRanking(policy)
        self._loaded = False
        self._loading = asyncio.Lock()
        self._busy = asyncio.Lock()  # one ranking user at a time in this process (consumer, periodic job)

    async def ensure_loaded(self, conn: asyncpg.Connection) -> None:
        """Build the in-memory ranking from the stored values, once per process."""
        if self._loaded:
            return
        async with self._loading:
            if self._loaded:
                return
            ranking = ProfitRanking(self.policy)
            for row in await conn.fetch("select customer_id, profit from customer_values"):
                ranking.upsert(row["customer_id"], row["profit"])
            self.ranking, self._loaded = ranking, True

    def _near_cuts(self) -> set[uuid.UUID]:
        return self.ranking.ids_near_cuts(self.policy.pyramid_cuts, self.policy.management.cuts)

    async def revalue(self, conn: asyncpg.Connection, customer_id: uuid.UUID, as_of: date,
                      causation: Envelope | None = None) -> list[Envelope]:
        """Re-value the customer after its facts changed, and whoever its move re-tiers."""
        async with self._busy:
            return await self._revalue(conn, customer_id, as_of, causation)

    async def _revalue(self, conn: asyncpg.Connection, customer_id: uuid.UUID, as_of: date,
                       causation: Envelope | None) -> list[Envelope]:
        await self.ensure_loaded(conn)
        purchases = await fact_store.purchases(conn, customer_id)
        if not purchases and customer_id not in self.ranking:
            return []  # not a customer (yet): no value grading
        touched = {customer_id} | self._near_cuts()
        if purchases:
            self.ranking.upsert(customer_id, ranking_profit(purchases))
        elif customer_id in self.ranking:
            self.ranking.remove(customer_id)
        if not purchases:
            await conn.execute("delete from customer_values where customer_id = $1", customer_id)
        touched |= self._near_cuts()
        events = []
        for cid in sorted(c for c in touched if c in self.ranking):
            event = await self.value_one(conn, cid, as_of, causation)
            if event is not None:
                events.append(event)
        return events

    async def value_one(self, conn: asyncpg.Connection, customer_id: uuid.UUID, as_of: date,
                        causation: Envelope | None = None) -> Envelope | None:
        """Compute, store and (when changed) emit one ranked customer's value."""
        purchases = await fact_store.purchases(conn, customer_id)
        counts = await fact_store.value_counts(conn, customer_id)
        first = counts["first_contact_at"]
        payments, cards = await fact_store.payments_and_cards(conn, customer_id)
        inputs = ValueInputs.of(purchases, counts["complaints"], counts["referrals"], first.date() if first else None,
                                payments=payments, cards=cards)
        rank, population = self.ranking.rank_of(customer_id), len(self.ranking)
        value = assess_customer_value(
            inputs, as_of, self.ranking.tier_of(customer_id),
            management_class_for_rank(rank, population, len(inputs.purchases), self.policy.management),
            self.policy,
        ).model_copy(update={"cause_event_id": causation.event_id if causation else None})
        stored = await conn.fetchval("select value::text from customer_values where customer_id = $1", customer_id)
        previous = CustomerValued.model_validate_json(stored) if stored else None
        changed = not same_value(previous, value)
        await conn.execute(
            """insert into customer_values (customer_id, profit, purchases, value, valued_on, updated_at)
               values ($1, $2, $3, $4::jsonb, $5, now()) on conflict (customer_id) do update
               set profit = excluded.profit, purchases = excluded.purchases, valued_on = excluded.valued_on,
                   value = case when $6 then excluded.value else customer_values.value end,
                   updated_at = case when $6 then now() else customer_values.updated_at end""",
            customer_id, self.ranking.profit_of(customer_id), len(inputs.purchases), value.model_dump_json(),
            as_of, changed,
        )
        if not changed:
            return None
        event = new_event(value, customer_id=customer_id, producer=SERVICE, causation=causation)
        await append(conn, value_stream(customer_id), [event])
        return event

    async def reconcile(self, conn: asyncpg.Connection, as_of: date) -> int:
        """Rebuild the ranking from the database and re-value every customer whose stored
        rank-dependent class disagrees with it (O(n), periodic, not per event).

        This heals what the in-memory ranking cannot see by itself: changes made by
        another replica, or an update whose transaction was rolled back.
        """
        async with self._busy:
            return await self._reconcile(conn, as_of)

    async def _reconcile(self, conn: asyncpg.Connection, as_of: date) -> int:
        ranking = ProfitRanking(self.policy)
        rows = await conn.fetch(
            """select customer_id, profit, purchases, value->>'pyramid_tier' as tier,
                      value->>'management_class' as management_class from customer_values""")
        for row in rows:
            ranking.upsert(row["customer_id"], row["profit"])
        self.ranking, self._loaded = ranking, True
        tiers, population, fixed = ranking.tiers(), len(ranking), 0
        for row in rows:
            cid = row["customer_id"]
            expected = management_class_for_rank(ranking.rank_of(cid), population, row["purchases"],
                                                 self.policy.management)
            if (tiers[cid].value, expected.value) != (row["tier"], row["management_class"]):
                fixed += await self.value_one(conn, cid, as_of) is not None
        return fixed

    async def revalue_due(self, conn: asyncpg.Connection, as_of: date, limit: int = 200) -> int:
        """Re-value customers last valued before `as_of` (time alone moves lifecycle and size)."""
        async with self._busy:
            return await self._revalue_due(conn, as_of, limit)

    async def _revalue_due(self, conn: asyncpg.Connection, as_of: date, limit: int) -> int:
        await self.ensure_loaded(conn)
        ids = await conn.fetch(
            "select customer_id from customer_values where valued_on < $1 order by valued_on, customer_id limit $2",
            as_of, limit)
        for row in ids:
            if row["customer_id"] in self.ranking:
                await self.value_one(conn, row["customer_id"], as_of)
            else:
                await conn.execute("update customer_values set valued_on = $2 where customer_id = $1",
                                   row["customer_id"], as_of)
        return len(ids)
