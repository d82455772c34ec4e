"""Customer value of a batch, set-based (issues #13, #14): the same stored values and the same
`customer-valued` events, in the same order, as valuing the customers one at a time with a few
statements each (the way `Valuation` worked before), in a fixed number of statements."""
import json
import uuid
from datetime import date

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.grading import fact_store
from services.grading.domain import DEFAULT_POLICY
from services.grading.domain.customer_value import ValueInputs, same_value
from services.grading.values import SERVICE, Valuation, value_stream
from shared.events.contract import CustomerValued
from shared.events.envelope import Envelope, new_event
from shared.runtime.store import append
from tests.support.fixtures import fresh_database

from . import events as ev
from .test_batches import apply_as_consumer, envelope_of, history
from .test_handlers import AS_OF, Grading


class OneByOne(Valuation):
    """The reference: each customer locked, read (five statements), stored and emitted on its own."""

    async def revalue_many(self, conn, customers, as_of):
        async with self._busy:
            if len(customers) == 1:
                (customer_id, causation), = customers.items()
                return await self._revalue(conn, customer_id, as_of, causation)
            await self.ensure_loaded(conn)
            before = self._standings(self._purchases)
            valued_with = dict.fromkeys(await self._without_value(conn, customers))
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

    async def _revalue(self, conn, customer_id, as_of, causation):
        await self.ensure_loaded(conn)
        touched = self._near_cuts()
        was_ranked = customer_id in self.ranking
        subject = await self.value_one(conn, customer_id, as_of, causation)
        if not was_ranked and customer_id not in self.ranking:
            return []
        events = [subject] if subject is not None else []
        touched |= self._near_cuts()
        for cid in sorted(c for c in touched - {customer_id} if c in self.ranking):
            event = await self.value_one(conn, cid, as_of, causation)
            if event is not None:
                events.append(event)
        return events

    async def _inputs(self, conn: asyncpg.Connection, customer_id: uuid.UUID) -> ValueInputs:
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

    async def value_one(self, conn, customer_id: uuid.UUID, as_of: date,
                        causation: Envelope | None = None) -> Envelope | None:
        await fact_store.lock_customer(conn, customer_id)
        inputs = await self._inputs(conn, customer_id)
        assessed = self._assess(customer_id, inputs, as_of, causation)  # the ranking's move, as the batch makes it
        if assessed is None:
            await conn.execute("delete from customer_values where customer_id = $1", customer_id)
            return None
        profit, value = assessed
        stored = await conn.fetchval("select value::text from customer_values where customer_id = $1", customer_id)
        previous = CustomerValued.model_validate_json(stored) if stored else None
        changed = not same_value(previous, value)
        await conn.execute(
            """insert into customer_values (customer_id, profit, purchases, value, valued_on, updated_at)
               values ($1, $2, $3, $4::jsonb, $5, now()) on conflict (customer_id) do update
               set profit = excluded.profit, purchases = excluded.purchases, valued_on = excluded.valued_on,
                   value = case when $6 then excluded.value else customer_values.value end,
                   updated_at = case when $6 then now() else customer_values.updated_at end""",
            customer_id, profit, len(inputs.purchases), value.model_dump_json(), as_of, changed)
        if not changed:
            return None
        event = new_event(value, customer_id=customer_id, producer=SERVICE, causation=causation)
        await append(conn, value_stream(customer_id), [event])
        return event


def one_by_one(pool) -> Grading:
    grading = Grading(pool)
    grading.valuation = grading.handlers.valuation = OneByOne(DEFAULT_POLICY)
    return grading


async def values_and_events(grading: Grading) -> tuple[list, list]:
    """Every stored value, and every value event in the order it was appended (its id aside)."""
    rows = await grading.pool.fetch("select customer_id, profit, purchases, value::text, valued_on "
                                    "from customer_values order by customer_id")
    events = []
    for r in await grading.pool.fetch("select stream_id, stream_version, envelope::text as e from event_store "
                                      "where event_type = 'customer-valued' order by position"):
        e = json.loads(r["e"])
        events.append((r["stream_id"], r["stream_version"], e["causation_id"], e["payload"]))
    return [tuple(r) for r in rows], events


@pytest.fixture(scope="module")
async def reference_and_set_based(postgres):
    pools = [(await fresh_database(postgres, "grading"))[1] for _ in range(2)]
    yield one_by_one(pools[0]), Grading(pools[1])
    for p in pools:
        await p.close()


CUSTOMERS = 6
who = st.integers(0, CUSTOMERS - 1)
day = st.floats(0, 30, allow_nan=False)
drawn_events = st.one_of(
    st.builds(lambda c, d, r: ("contact", c, d, r), who, day, st.none() | who),
    st.builds(lambda c, d, p, k: ("deal", c, d, p, k), who, day,
              st.sampled_from(["-500", "900", "20000", "61000", "250000"]), st.integers(0, 2)),
    st.builds(lambda c, d, k: ("payment", c, d, k), who, day, st.integers(0, 2)),
    st.builds(lambda c, d: ("card", c, d), who, day),
    st.builds(lambda c, d: ("complaint", c, d), who, day),
    st.builds(lambda c, d, m: ("merge", c, d, m), who, day, who),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=st.lists(drawn_events, min_size=1, max_size=25), cuts=st.lists(st.integers(1, 25), max_size=3))
async def test_set_based_values_and_events_are_those_of_one_at_a_time(reference_and_set_based, drawn, cuts):
    reference, set_based = reference_and_set_based
    customers = [uuid.uuid4() for _ in range(CUSTOMERS)]  # the earlier examples' customers stay ranked
    envelopes = [e for e in (envelope_of(d, customers) for d in drawn) if e is not None]
    await apply_as_consumer(reference, envelopes, cuts)
    await apply_as_consumer(set_based, envelopes, cuts)
    assert await values_and_events(set_based) == await values_and_events(reference)
    assert set_based.valuation.ranking.ranks() == reference.valuation.ranking.ranks()


async def statements_to_revalue(service_db, n_customers: int) -> list[str]:
    """The statements revaluing a batch of a new deal for each of `n_customers` valued customers."""
    grading = Grading((await service_db("grading"))[1])
    await apply_as_consumer(grading, history(n_customers, seed=5), [10_000])
    customers = sorted({c for c in grading.valuation.ranking.ranks()})
    deals = [ev.inbound(ev.deal(c, ev.at(200), gross_profit=str(1000 * (i % 70)))) for i, c in enumerate(customers)]
    statements = []

    def log(query) -> None:
        statements.append(query.query)

    async with grading.pool.acquire() as conn, conn.transaction():
        await grading.handlers.store_facts(conn, deals)
        conn.add_query_logger(log)
        try:
            events = await grading.valuation.revalue_many(conn, {d.envelope.customer_id: d.envelope for d in deals},
                                                          AS_OF)
        finally:
            conn.remove_query_logger(log)
    assert len(events) >= len(customers)  # every one's value moved: the batch is really valued
    return statements


async def test_a_batch_is_valued_in_a_fixed_number_of_statements(service_db):
    small, large = [await statements_to_revalue(service_db, n) for n in (8, 80)]
    assert len(small) <= 14 and len(large) <= 14, large  # whatever the batch's size
    # the values, then the events' streams and rows in one statement (append_many)
    assert [s.split()[:3] for s in large if s.split()[0] == "insert" or s.split()[:2] == ["with", "counts"]] == [
        ["insert", "into", "customer_values"], ["with", "counts", "as"]]


@pytest.mark.parametrize("n_known, n_new", [(40, 12), (300, 3)])  # the whole ranking compared; the cuts only
async def test_newcomers_at_the_top_re_tier_customers_far_from_a_cut_as_one_at_a_time(service_db, n_known, n_new):
    """A batch of big buyers pushes customers' ranks down across the tier and class cuts: the ones
    re-valued, their values and events are those of the one-at-a-time path."""
    reference, set_based = one_by_one((await service_db("grading"))[1]), Grading((await service_db("grading"))[1])
    known, newcomers = [uuid.uuid4() for _ in range(n_known)], [uuid.uuid4() for _ in range(n_new)]
    history = [ev.deal(c, ev.at(k), gross_profit=str(1000 + 100 * i)) for i, c in enumerate(known) for k in (1, 2)]
    big = [ev.deal(c, ev.at(3 + k), gross_profit=str(900_000 + i)) for i, c in enumerate(newcomers) for k in (0, 1)]
    for grading in (reference, set_based):
        await apply_as_consumer(grading, history, [len(history)])
        await apply_as_consumer(grading, big, [len(big)])
    values, events = await values_and_events(set_based)
    assert (values, events) == await values_and_events(reference)
    re_tiered = {e[0] for e in events if e[1] > 1} & {value_stream(c) for c in known}
    assert len(re_tiered) >= 2  # customers who bought nothing in the batch were re-valued
