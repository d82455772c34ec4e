"""A consumer batch regrades and revalues each touched customer once, and ends in exactly the
state the same events reach one at a time (issue #13: catch-up at the speed of batches)."""
import random
import time
import uuid
from decimal import Decimal, InvalidOperation

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
