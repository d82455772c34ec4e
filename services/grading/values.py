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
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import asyncpg

from shared.events.contract import CustomerValued
from shared.events.envelope import Envelope, new_event
from shared.runtime.store import append_many

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
        pass_ = _Pass(self, as_of)
        await pass_.value(conn, [(customer_id, causation)])  # places it by its facts
        if was_ranked or customer_id in self.ranking:  # else not a customer (yet): nobody moved
            touched |= self._near_cuts()
            await pass_.value(conn, [(c, causation) for c in sorted(touched - {customer_id}) if c in self.ranking])
        return await pass_.write(conn)

    async def revalue_many(self, conn: asyncpg.Connection, customers: dict[uuid.UUID, Envelope],
                           as_of: date) -> list[Envelope]:
        """Re-value a batch's customers once each (each with the event that last touched it), then
        whoever the batch's moves re-tiered: a customer whose standing (tier, management class)
        under the final ranking differs from the one it was last valued with. Set-based: a fixed
        number of statements whatever the batch's size (`_Pass`)."""
        async with self._busy:
            if len(customers) == 1:
                (customer_id, causation), = customers.items()
                return await self._revalue(conn, customer_id, as_of, causation)
            await self.ensure_loaded(conn)
            valued_with: dict[uuid.UUID, tuple | None] = dict.fromkeys(await self._without_value(conn, customers))
            subjects = sorted(c for c in customers if c not in valued_with)
            # Only a valued customer or one near a cut can have a new standing: the others keep
            # their profit and purchases, and their rank is too far from every cut to cross it.
            candidates = self.ranking.ids_near_cuts(self.policy.pyramid_cuts, self.policy.management.cuts,
                                                    moves=len(subjects)) | set(subjects)
            if 5 * len(candidates) > len(self.ranking):
                candidates = None  # one pass over the ranking costs less than a lookup per candidate
            before = self._standings_of(candidates)
            pass_ = _Pass(self, as_of)
            await pass_.value(conn, [(c, customers[c]) for c in subjects],
                              lambda c: valued_with.__setitem__(c, self._standing(c)))
            after = self._standings_of(candidates)
            await pass_.value(conn, [(c, None) for c in sorted(after)
                                     if after[c] != valued_with.get(c, before.get(c))])
            return await pass_.write(conn)

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

    def _standings_of(self, customer_ids: set[uuid.UUID] | None) -> dict[uuid.UUID, tuple]:
        """`_standings` of these ranked customers (None: of all)."""
        if customer_ids is None:
            return self._standings(self._purchases)
        return {c: s for c in customer_ids if (s := self._standing(c)) is not None}

    def _standing(self, customer_id: uuid.UUID) -> tuple | None:
        """(profit, tier, management class) of one ranked customer as the ranking stands now."""
        if customer_id not in self.ranking:
            return None
        rank, n = self.ranking.rank_of(customer_id), len(self.ranking)
        return (self.ranking.profit_of(customer_id), self.ranking.tier_of(customer_id).value,
                management_class_for_rank(rank, n, self._purchases[customer_id], self.policy.management).value)

    async def value_one(self, conn: asyncpg.Connection, customer_id: uuid.UUID, as_of: date,
                        causation: Envelope | None = None) -> Envelope | None:
        """Compute, store and (when changed) emit one customer's value (`_Pass` for one)."""
        pass_ = _Pass(self, as_of)
        await pass_.value(conn, [(customer_id, causation)])
        events = await pass_.write(conn)
        return events[0] if events else None

    def _assess(self, customer_id: uuid.UUID, inputs: ValueInputs, as_of: date,
                causation: Envelope | None) -> tuple[Decimal, CustomerValued] | None:
        """Place the customer in the ranking by the profit of its facts and assess its value under
        the ranking as it then stands; None (and out of the ranking) when it has no purchase."""
        if not inputs.purchases:
            if customer_id in self.ranking:
                self.ranking.remove(customer_id)
            self._purchases.pop(customer_id, None)
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
        return profit, value

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
        pass_ = _Pass(self, as_of)
        await pass_.value(conn, [
            (cid, None) for cid in sorted(set(stored) | set(expected))
            if (row := stored.get(cid)) is None
            or (row["profit"], row["tier"], row["management_class"]) != expected.get(cid)])
        return len(await pass_.write(conn))

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
        pass_ = _Pass(self, as_of)
        await pass_.value(conn, [(row["customer_id"], None) for row in ids])  # no purchases left: its value goes
        await pass_.write(conn)
        return len(ids)


class _Pass:
    """Customers valued one after another, as `value_one` each would, set-based: each `value` call
    locks its customers (in id order) and reads their facts and stored values in a fixed number of
    statements, then assesses them in its order in memory (each moves the ranking the next one is
    placed in); `write` stores every value, drops the values of customers without purchases and
    appends the changed values' events (in the order they were assessed), in three statements.

    The lock comes before the read: a transaction that stored facts of a customer and has not
    committed yet is waited for, so what is read is never older than what that transaction wrote.
    """

    def __init__(self, valuation: Valuation, as_of: date) -> None:
        self.valuation, self.as_of = valuation, as_of
        self.inputs: dict[uuid.UUID, ValueInputs] = {}  # read once: its facts are locked by then
        self.stored: dict[uuid.UUID, str | None] = {}  # value JSON as the transaction started
        self.current: dict[uuid.UUID, str | None] = {}  # value JSON as this pass leaves it
        self.rows: dict[uuid.UUID, tuple[Decimal, int] | None] = {}  # (profit, purchases), None: dropped
        self.events: list[Envelope] = []

    async def value(self, conn: asyncpg.Connection, order: list[tuple[uuid.UUID, Envelope | None]],
                    then: Callable[[uuid.UUID], None] | None = None) -> None:
        """Value `order`'s customers, each with its causation, in that order; `then(customer)` after each."""
        if not order:
            return
        await fact_store.lock_customers(conn, [c for c, _ in order])
        await self._read(conn, [c for c, _ in order])
        for customer_id, causation in order:
            self._value(customer_id, causation)
            if then is not None:
                then(customer_id)

    async def _read(self, conn: asyncpg.Connection, customer_ids: list[uuid.UUID]) -> None:
        missing = sorted({c for c in customer_ids if c not in self.inputs})
        if not missing:
            return
        for c, f in (await fact_store.value_facts_of(conn, missing)).items():
            first = f.first_contact_at
            self.inputs[c] = ValueInputs.of(
                f.purchases, f.complaints, len(f.referred), first.date() if first else None,
                payments=f.payments, cards=f.cards, referred_purchases=f.referred_purchases,
            ) if f.purchases else ValueInputs()
        stored = {r["customer_id"]: r["value"] for r in await conn.fetch(
            "select customer_id, value::text as value from customer_values where customer_id = any($1::uuid[])",
            missing)}
        for c in missing:
            self.stored[c] = self.current[c] = stored.get(c)

    def _value(self, customer_id: uuid.UUID, causation: Envelope | None) -> None:
        assessed = self.valuation._assess(customer_id, self.inputs[customer_id], self.as_of, causation)
        if assessed is None:
            self.rows[customer_id], self.current[customer_id] = None, None
            return
        profit, value = assessed
        self.rows[customer_id] = (profit, len(self.inputs[customer_id].purchases))
        current = self.current[customer_id]
        if current is not None and same_value(CustomerValued.model_validate_json(current), value):
            return
        self.current[customer_id] = value.model_dump_json()
        self.events.append(new_event(value, customer_id=customer_id, producer=SERVICE, causation=causation))

    async def write(self, conn: asyncpg.Connection) -> list[Envelope]:
        """Store what the pass valued; returns the events appended."""
        dropped = [c for c, row in self.rows.items() if row is None and self.stored[c] is not None]
        if dropped:
            await conn.execute("delete from customer_values where customer_id = any($1::uuid[])", dropped)
        kept = sorted(c for c, row in self.rows.items() if row is not None)
        if kept:
            # a value unchanged since the transaction started keeps its stored JSON and time
            await conn.execute(
                """insert into customer_values (customer_id, profit, purchases, value, valued_on, updated_at)
                   select c, p, n, v::jsonb, $5, now()
                   from unnest($1::uuid[], $2::numeric[], $3::int[], $4::text[]) as r(c, p, n, v)
                   on conflict (customer_id) do update
                   set profit = excluded.profit, purchases = excluded.purchases, valued_on = excluded.valued_on,
                       value = excluded.value,
                       updated_at = case when customer_values.value = excluded.value
                                         then customer_values.updated_at else now() end""",
                kept, [self.rows[c][0] for c in kept], [self.rows[c][1] for c in kept],
                [self.current[c] for c in kept], self.as_of)
        await append_many(conn, [(value_stream(e.customer_id), e) for e in self.events])
        return self.events
