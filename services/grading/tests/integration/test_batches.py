"""A consumer batch regrades and revalues each touched customer once, and ends in exactly the
state the same events reach one at a time (issue #13: catch-up at the speed of batches)."""
import random
import time
import uuid
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events.contract import ConsentChanged
from tests.support.fixtures import fresh_database

from . import events as ev
from .test_handlers import Grading


def history(n_customers: int, seed: int) -> list:
    """A shop's history: contacts, deals (some customers buy often, most once), payments, a referral."""
    rng = random.Random(seed)
    customers = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(n_customers)]
    out = []
    for i, c in enumerate(customers):
        referrer = customers[i - 1] if i and rng.random() < 0.2 else None
        out.append(ev.contact(c, ev.at(i * 0.01), referrer_customer_id=referrer))
        for k in range(1 + int(rng.paretovariate(1.5)) % 6):
            out.append(ev.deal(c, ev.at(1 + k * 40 + i * 0.01), gross_profit=str(rng.randrange(-2000, 60000))))
    return out


def figures(snapshot: dict) -> dict:
    """The snapshot with money as numbers: "0" and "0.00" are the same figure (a value only
    rewrites its stored JSON when a figure changes, so the spelling depends on the path)."""
    def number(v):
        try:
            return Decimal(v) if isinstance(v, str) else v
        except InvalidOperation:
            return v
    value = {k: number(v) for k, v in (snapshot["value"] or {}).items()}
    return {**snapshot, "value": value}


async def apply_as_batches(grading: Grading, envelopes: list, size: int) -> None:
    for start in range(0, len(envelopes), size):
        chunk = [ev.inbound(e) for e in envelopes[start:start + size]]
        async with grading.pool.acquire() as conn, conn.transaction():
            for inbound in chunk:
                await grading.handlers.handlers()[inbound.envelope.event_type](conn, inbound)
            await grading.handlers.after_batch(conn, chunk)


async def test_batches_end_where_one_at_a_time_ends_and_publish_once_per_customer(service_db):
    envelopes = history(60, seed=7)
    customers = sorted({e.customer_id for e in envelopes})
    one_by_one, batched = [Grading((await service_db("grading"))[1]) for _ in range(2)]

    started = time.perf_counter()
    await one_by_one.apply(*envelopes)
    alone = time.perf_counter() - started
    started = time.perf_counter()
    await apply_as_batches(batched, envelopes, size=len(envelopes))
    together = time.perf_counter() - started

    for c in customers:
        assert figures(await batched.snapshot(c)) == figures(await one_by_one.snapshot(c)), c
    valued = sum([len(await batched.emitted(c, "customer-valued")) for c in customers])
    graded = [len(await batched.emitted(c)) for c in customers]
    deals = sum(e.event_type == "deal-closed" for e in envelopes)
    assert graded == [1] * len(customers)  # one history published per customer, not one per event
    assert valued <= len(customers) * 2 < deals  # each valued once, plus re-tiers at the batch's end
    print(f"{len(envelopes)} events: one at a time {alone:.2f} s, one batch {together:.2f} s")


async def test_batches_of_any_size_agree(service_db):
    envelopes = history(30, seed=11)
    customers = sorted({e.customer_id for e in envelopes})
    small, large = [Grading((await service_db("grading"))[1]) for _ in range(2)]
    await apply_as_batches(small, envelopes, size=7)
    await apply_as_batches(large, envelopes, size=200)
    for c in customers:
        assert figures(await small.snapshot(c)) == figures(await large.snapshot(c)), c


# A consumer's way (issue #14): every fact of a run of fact events in one statement, merges and
# consent in their place between runs, then the regrade and revalue of each touched customer.
CUSTOMERS = 3
who = st.integers(0, CUSTOMERS - 1)
day = st.floats(0, 30, allow_nan=False)
kinds = st.one_of(
    st.builds(lambda c, d, r: ("contact", c, d, r), who, day, st.none() | who),
    st.builds(lambda c, d: ("follow_up", c, d), who, day),
    st.builds(lambda c, d, p: ("deal", c, d, p), who, day, st.sampled_from(["-500", "20000", "61000"])),
    st.builds(lambda c, d: ("payment", c, d), who, day),
    st.builds(lambda c, d: ("card", c, d), who, day),
    st.builds(lambda c, d: ("complaint", c, d), who, day),
    st.builds(lambda c, d: ("lost", c, d), who, day),
    st.builds(lambda c, d, m: ("merge", c, d, m), who, day, who),
    st.builds(lambda c, d, a: ("consent", c, d, a), who, day, st.booleans()),
)


def envelope_of(drawn: tuple, customers: list[uuid.UUID]):
    kind, c, d, *rest = drawn
    customer, when = customers[c], ev.at(d)
    match kind:
        case "contact":
            referrer = None if rest[0] is None or rest[0] == c else customers[rest[0]]
            return ev.contact(customer, when, referrer_customer_id=referrer)
        case "deal":  # ("deal", c, d, profit[, n]): the customer's deal number n, else its one deal
            deal_id = uuid.uuid5(customer, str(rest[1]) if len(rest) > 1 else "deal")
            return ev.deal(customer, when, gross_profit=rest[0], deal_id=deal_id, deposit="1000",
                           payment_due_on=when.date())
        case "payment":  # ("payment", c, d[, n]): a payment on that deal
            return ev.payment(customer, when, uuid.uuid5(customer, str(rest[0]) if rest else "deal"))
        case "card":
            return ev.card(customer, when, annual_revenue="6000000", market_share_pct="85")
        case "merge":
            return None if rest[0] == c else ev.merge(customer, customers[rest[0]], when)
        case "consent":
            return ev.envelope(ConsentChanged(marketing_allowed=rest[0]), customer, when, "intake")
        case _:
            return getattr(ev, kind)(customer, when)


async def apply_as_consumer(grading: Grading, envelopes: list, cuts: list[int]) -> None:
    """As the service's consumer applies them (`consumer_spec`), cut into batches."""
    spec, start = grading.handlers.consumer_spec(), 0
    for cut in [*cuts, len(envelopes)]:
        chunk = [ev.inbound(e) for e in envelopes[start:start + cut]]
        start += cut
        if chunk:
            async with grading.pool.acquire() as conn, conn.transaction():
                for inbound in chunk:
                    await spec["handlers"][inbound.envelope.event_type](conn, inbound)
                await spec["after_batch"](conn, chunk)


async def facts(grading: Grading, customers: list[uuid.UUID]) -> list:
    rows = await grading.pool.fetch("select fact_id, kind, customer_id, occurred_at, consultant_id, data::text "
                                    "from grading_facts where customer_id = any($1) order by fact_id, kind",
                                    customers)
    return [tuple(r) for r in rows]


@pytest.fixture(scope="module")
async def two_gradings(postgres):
    pools = [(await fresh_database(postgres, "grading"))[1] for _ in range(2)]
    yield [Grading(p) for p in pools]
    for p in pools:
        await p.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=st.lists(kinds, min_size=1, max_size=12), cuts=st.lists(st.integers(1, 12), min_size=1, max_size=3))
async def test_a_consumer_batch_stores_the_facts_and_state_of_one_at_a_time(two_gradings, drawn, cuts):
    one_by_one, batched = two_gradings
    customers = [uuid.uuid4() for _ in range(CUSTOMERS)]
    envelopes = [e for e in (envelope_of(d, customers) for d in drawn) if e is not None]
    await one_by_one.apply(*envelopes)
    await apply_as_consumer(batched, envelopes, cuts)
    assert await facts(batched, customers) == await facts(one_by_one, customers)
    for c in customers:
        assert figures(await batched.snapshot(c)) == figures(await one_by_one.snapshot(c)), c


async def test_a_run_of_fact_events_stores_its_facts_in_one_statement(service_db):
    grading = Grading((await service_db("grading"))[1])
    envelopes = history(40, seed=3)
    statements = []

    def log(query) -> None:
        statements.append(query.query)

    async with grading.pool.acquire() as conn, conn.transaction():
        await grading.handlers.store_facts(conn, [ev.inbound(e) for e in envelopes[:2]])  # asyncpg reads types
        conn.add_query_logger(log)
        try:
            await grading.handlers.store_facts(conn, [ev.inbound(e) for e in envelopes[2:]])
        finally:
            conn.remove_query_logger(log)
    assert [s.split()[0] for s in statements] == ["with", "insert"]  # the survivors, then every fact
    stored = await grading.pool.fetchval("select count(*) from grading_facts")
    assert stored == len(await facts(grading, list({e.customer_id for e in envelopes})))
    # a contact: its fact and, when referred, the referrer's referral; a deal: its fact and the purchase
    assert stored == sum(2 if e.event_type == "deal-closed" or e.payload.get("referrer_customer_id") else 1
                         for e in envelopes)
