"""Persisting customer value: compute it from the facts, keep the profit ranking, emit changes.

The profit ranking (pyramid tiers and management classes depend on rank) is
kept in memory (`ProfitRanking`, O(log n) per move). A customer's ranking
profit is only ever taken from its stored facts: `value_one` computes it from
the purchases (and referred deals) it loads and places the customer with it,
and the whole ranking is rebuilt (at startup, and by the periodic `reconcile`)
with one aggregate over `grading_facts`, never from `customer_values.profit`.
The stored column is an output: a ranking read while another transaction had
moved a profit but not committed it is stale, and writing such a profit back,
then rebuilding from it, kept a customer in a tier its profit had left for
good. Rebuilt from the facts, a stale entry lasts until the customer is next
valued or the next reconcile.

When one customer's profit moves, only the customers near a cut point can
change tier; those are re-valued and compared with what is stored, so a
change is never missed even after a rolled-back batch. `customer-valued` is
emitted only when a customer's value changed.
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
        self._purchases: dict[uuid.UUID, int] = {}  # purchase count of each ranked customer (management class)
        self._loaded = False
        self._loading = asyncio.Lock()
        self._busy = asyncio.Lock()  # one ranking user at a time in this process (consumer, periodic job)

    async def ensure_loaded(self, conn: asyncpg.Connection) -> None:
        """Build the in-memory ranking from the facts, once per process."""
        if self._loaded:
            return
        async with self._loading:
            if self._loaded:
                return
            await self._rebuild(conn)

    async def _rebuild(self, conn: asyncpg.Connection) -> dict[uuid.UUID, int]:
        """Replace the ranking with the facts' ranking profits; returns each customer's purchase count."""
        ranking, counts = ProfitRanking(self.policy), {}
        for row in await fact_store.ranking_profits(conn, self.policy.lifetime_profit.referral_gain_share):
            ranking.upsert(row["customer_id"], row["profit"])
            counts[row["customer_id"]] = row["purchases"]
        self.ranking, self._purchases, self._loaded = ranking, counts, True
        return counts

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
        touched = self._near_cuts()
        was_ranked = customer_id in self.ranking
        subject = await self.value_one(conn, customer_id, as_of, causation)  # places it by its facts
        if not was_ranked and customer_id not in self.ranking:
            return []  # not a customer (yet): no value grading, nobody moved
        events = [subject] if subject is not None else []
        touched |= self._near_cuts()
        for cid in sorted(c for c in touched - {customer_id} if c in self.ranking):
            event = await self.value_one(conn, cid, as_of, causation)
            if event is not None:
                events.append(event)
        return events

    async def revalue_many(self, conn: asyncpg.Connection, customers: dict[uuid.UUID, Envelope],
                           as_of: date) -> list[Envelope]:
        """Re-value a batch's customers once each (each with the event that last touched it), then
        whoever the batch's moves re-tiered: a customer whose standing (tier, management class)
        under the final ranking differs from the one it was last valued with."""
        async with self._busy:
            if len(customers) == 1:
                (customer_id, causation), = customers.items()
                return await self._revalue(conn, customer_id, as_of, causation)
            await self.ensure_loaded(conn)
            before = self._standings(self._purchases)
            valued_with: dict[uuid.UUID, tuple | None] = dict.fromkeys(await self._without_value(conn, customers))
            events = []
            for customer_id in sorted(c for c in customers if c not in valued_with):
                event = await self.value_one(conn, customer_id, as_of, customers[customer_id])
                events += [event] if event is not None else []
                valued_with[customer_id] = self._standing(customer_id)
            after = self._standings(self._purchases)
            for customer_id in sorted(after):
                if after[customer_id] != valued_with.get(customer_id, before.get(customer_id)):
                    event = await self.value_one(conn, customer_id, as_of)
                    events += [event] if event is not None else []
            return events

    async def _without_value(self, conn: asyncpg.Connection, customers) -> list[uuid.UUID]:
        """The customers that are not ranked and have no purchase (most of a batch of new contacts):
        what `value_one` does for them (no value stored, the ranking untouched), for all in three
        statements."""
        unranked = sorted(c for c in customers if c not in self.ranking)
        if not unranked:
            return []
        buying = await fact_store.with_purchases(conn, unranked)
        idle = [c for c in unranked if c not in buying]
        await fact_store.lock_customers(conn, idle)
        await conn.execute("delete from customer_values where customer_id = any($1::uuid[])", idle)
        for customer_id in idle:
            self._purchases.pop(customer_id, None)
        return idle

    def _standing(self, customer_id: uuid.UUID) -> tuple | None:
        """(profit, tier, management class) of one ranked customer as the ranking stands now."""
        if customer_id not in self.ranking:
            return None
        rank, n = self.ranking.rank_of(customer_id), len(self.ranking)
        return (self.ranking.profit_of(customer_id), self.ranking.tier_of(customer_id).value,
                management_class_for_rank(rank, n, self._purchases[customer_id], self.policy.management).value)

    async def _inputs(self, conn: asyncpg.Connection, customer_id: uuid.UUID) -> ValueInputs:
        """Everything stored about the customer's value, its referred customers' deals included."""
        purchases = await fact_store.purchases(conn, customer_id)
        if not purchases:
            return ValueInputs()
        counts = await fact_store.value_counts(conn, customer_id)
        first = counts["first_contact_at"]
        payments, cards = await fact_store.payments_and_cards(conn, customer_id)
        referred = sorted(await fact_store.referred_customers(conn, customer_id))
        return ValueInputs.of(purchases, counts["complaints"], len(referred), first.date() if first else None,
                              payments=payments, cards=cards,
                              referred_purchases=await fact_store.purchases_of(conn, referred))

    async def value_one(self, conn: asyncpg.Connection, customer_id: uuid.UUID, as_of: date,
                        causation: Envelope | None = None) -> Envelope | None:
        """Compute, store and (when changed) emit one customer's value, placing it in the ranking by
        the profit of its facts (a customer without purchases leaves the ranking and has no value).

        The customer's lock first: a transaction that stored facts of it and has not committed yet
        is waited for, so what is read here is never older than what that transaction wrote.
        """
        await fact_store.lock_customer(conn, customer_id)
        inputs = await self._inputs(conn, customer_id)
        if not inputs.purchases:
            if customer_id in self.ranking:
                self.ranking.remove(customer_id)
            self._purchases.pop(customer_id, None)
            await conn.execute("delete from customer_values where customer_id = $1", customer_id)
            return None
        profit = ranking_profit(inputs.purchases, inputs.referred_purchases, self.policy)
        self.ranking.upsert(customer_id, profit)
        self._purchases[customer_id] = len(inputs.purchases)
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
            customer_id, profit, len(inputs.purchases), value.model_dump_json(),
            as_of, changed,
        )
        if not changed:
            return None
        event = new_event(value, customer_id=customer_id, producer=SERVICE, causation=causation)
        await append(conn, value_stream(customer_id), [event])
        return event

    async def reconcile(self, conn: asyncpg.Connection, as_of: date) -> int:
        """Rebuild the ranking from the facts and re-value every customer whose stored value
        disagrees with it: profit, tier or management class, or no stored value at all; drop
        stored values of customers without purchases (O(n), periodic, not per event).

        This heals what the in-memory ranking cannot see by itself: changes made by another
        replica, an update whose transaction was rolled back, a ranking rebuilt while a
        consumer's transaction was still open. Returns how many customers' values changed.
        """
        async with self._busy:
            return await self._reconcile(conn, as_of)

    async def _reconcile(self, conn: asyncpg.Connection, as_of: date) -> int:
        counts = await self._rebuild(conn)
        stored = {row["customer_id"]: row for row in await conn.fetch(
            """select customer_id, profit, value->>'pyramid_tier' as tier,
                      value->>'management_class' as management_class from customer_values""")}
        expected = self._standings(counts)  # taken before value_one moves anyone
        fixed = 0
        for cid in sorted(set(stored) | set(expected)):
            row = stored.get(cid)
            if row is not None and (row["profit"], row["tier"], row["management_class"]) == expected.get(cid):
                continue
            fixed += await self.value_one(conn, cid, as_of) is not None
        return fixed

    def _standings(self, purchase_counts: dict[uuid.UUID, int]) -> dict[uuid.UUID, tuple]:
        """(profit, tier, management class) of every ranked customer, as the ranking stands."""
        ranks, tiers, n = self.ranking.ranks(), self.ranking.tiers(), len(self.ranking)
        rules = self.policy.management
        return {cid: (self.ranking.profit_of(cid), tiers[cid].value,
                      management_class_for_rank(rank, n, purchase_counts[cid], rules).value)
                for cid, rank in ranks.items()}

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
            await self.value_one(conn, row["customer_id"], as_of)  # no purchases left: its value goes
        return len(ids)
