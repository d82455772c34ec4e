"""A batch of deals or payments applied set-based (`deal_batches`) ends in exactly the state, and
appends exactly the events, of the same rows checked and applied one at a time with the rules of
one deal (`deals._check`, `deals.apply_deal`) and one payment (`deals.record_payment`); a refused
batch names the same rows and fields and changes nothing; a batch takes a fixed number of
statements (issue 13)."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.followup import deal_batches, deals, roster, task_store
from services.followup.domain import DEFAULT_POLICY, first_contact_task
from services.followup.handlers import FollowUpHandlers
from services.followup.schemas import NewDeal, PaymentEntry
from shared.auth import Principal
from shared.business_time import business_day, is_history
from shared.errors import DomainError
from shared.events.contract import ContactReceived
from shared.events.enums import Channel, Role

from .test_handlers import NOW, apply, inbound

MANAGER = Principal("m-1", Role.MANAGER)
CUSTOMERS = 3
TODAY = business_day(NOW, DEFAULT_POLICY.working_hours.zone)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# what a customer is before the batch: unknown to follow-up, a contact's prospect (owned, with its
# first contact), unowned with work waiting (its deal gives it an owner: the work moves with it),
# merged into customer 0
befores = st.lists(st.sampled_from(["unknown", "contact", "contact-named", "unowned-work", "merged"]),
                   min_size=CUSTOMERS, max_size=CUSTOMERS)
rows = st.lists(st.tuples(st.integers(0, CUSTOMERS - 1), st.sampled_from([0, 0, 3, 400, 800, -2]),
                          st.sampled_from([None, "c-1", "c-2", "c-2", "c-3"]), st.booleans(),
                          st.sampled_from(["12000.00", "12000.00", "999999.00"])),
                min_size=1, max_size=12)


def deal_body(customer_id: uuid.UUID, days_ago: int, consultant: str | None, delivered: bool,
              gross: str) -> NewDeal:
    return NewDeal.model_validate({
        "customer_id": str(customer_id), "consultant_id": consultant, "closed_on": str(TODAY - timedelta(days_ago)),
        "items": [{"product": "Sedan X", "quantity": 1, "unit_price": "150000.00"}], "gross_profit": gross,
        **({"delivered_at": (NOW - timedelta(days=days_ago)).isoformat()} if delivered and days_ago >= 0 else {})})


async def one_at_a_time(conn, bodies: list[NewDeal]) -> list:
    """The batch by the rules of one deal: every row checked, then each applied on its own."""
    order = sorted(range(len(bodies)), key=lambda i: (bodies[i].customer_id, bodies[i].closed_on, i))
    roster_, checked, problems = deals.Roster(conn), {}, []
    for i in order:
        try:
            checked[i] = await deals._check(conn, MANAGER, bodies[i], roster_, NOW)
        except deals.RowsRejected as exc:
            problems += deals.in_row(f"deals.{i}", exc).problems
        except DomainError as exc:
            problems.append((f"deals.{i}.{exc.field or 'customer_id'}", exc.message))
    if problems:
        raise deals.DealRejected(sorted(problems, key=lambda p: deals.row_of(p[0])))
    results = {}
    for i in order:
        c = checked[i]
        results[i] = await deals.apply_deal(conn, c, historical=is_history(c.deal.closed_on, NOW),
                                            now=NOW, policy=DEFAULT_POLICY)
    return [results[i] for i in range(len(bodies))]


async def prepare(pool, customers: list[uuid.UUID], before: list[str], contact_ids: list[uuid.UUID]) -> None:
    handlers = FollowUpHandlers(DEFAULT_POLICY, lambda: NOW - timedelta(days=1))
    for k, (customer_id, what) in enumerate(zip(customers, before, strict=True)):
        if what.startswith("contact"):
            await apply(pool, handlers, [inbound(ContactReceived(
                contact_id=contact_ids[k], channel=Channel.WALK_IN,
                consultant_id="c-2" if what == "contact-named" else None), customer_id, NOW - timedelta(days=1))])
        elif what == "unowned-work":
            await pool.execute("insert into prospects (customer_id, contacted) values ($1, true)", customer_id)
            async with pool.acquire() as conn:
                await task_store.save(conn, first_contact_task(
                    customer_id=customer_id, contact_id=contact_ids[k], channel=Channel.WALK_IN,
                    owner_id=roster.UNASSIGNED, received_at=NOW - timedelta(days=1), now=NOW - timedelta(days=1),
                    policy=DEFAULT_POLICY))
        elif what == "merged" and k:
            await pool.execute("insert into prospects (customer_id, merged_into) values ($1, $2)", customer_id,
                               customers[0])


async def state(pool, customers: list[uuid.UUID]) -> str:
    """Everything follow-up keeps and appends about these customers, the ids made in the run (events,
    deals, payments, their tasks) named by where they first appear (the events in their order)."""
    events = await pool.fetch("select stream_id, stream_version, event_type, envelope::text as e from event_store "
                              "where customer_id = any($1) order by position", customers)
    tables = {
        "prospects": "select * from prospects where customer_id = any($1) order by customer_id",
        "owners": "select * from customer_owners where customer_id = any($1) order by customer_id",
        "tasks": "select task_id, customer_id, kind, owner_id, status, due_at, grade, marketing, cause_event_id, "
                 "closed_at, data::text as data from tasks where customer_id = any($1) order by task_id",
        "deals": "select deal_id, customer_id, consultant_id, amount, gross_profit, deposit, closed_on, data::text, "
                 "recorded_at, payment_due_on from deals where customer_id = any($1)",
        "payments": "select p.* from payments p join deals d using (deal_id) where d.customer_id = any($1)",
    }
    names = {str(c): f"customer-{i}" for i, c in enumerate(customers)}

    def named(text: str) -> str:
        return UUID.sub(lambda m: names.setdefault(m[0], f"id-{len(names)}"), text)

    out = [named(json.dumps([dict(r) for r in events], default=str))]
    for name, sql in tables.items():
        found = [{k: v for k, v in dict(r).items() if k != "updated_at"} for r in await pool.fetch(sql, customers)]
        out.append(name + ":" + json.dumps(sorted(named(json.dumps(r, default=str, sort_keys=True)) for r in found)))
    load = await pool.fetch("select * from owner_load order by owner_id")
    return "\n".join([*out, json.dumps([dict(r) for r in load])])


async def outcome(pool, run) -> list | list[tuple[str, str]]:
    """What the batch answered (the refused rows' fields and messages when refused)."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            return [r.as_json() for r in await run(conn)]
    except deals.RowsRejected as exc:
        return exc.problems


def comparable(answer) -> str:
    return UUID.sub("<id>", json.dumps(answer, default=str))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=befores, drawn=rows)
async def test_a_deal_batch_ends_where_one_deal_at_a_time_ends(two_databases, before, drawn):
    one_by_one, batched = two_databases
    customers = [uuid.uuid4() for _ in range(CUSTOMERS)]
    contact_ids = [uuid.uuid4() for _ in range(CUSTOMERS)]
    for pool in two_databases:
        await prepare(pool, customers, before, contact_ids)
    bodies = [deal_body(customers[k], *rest) for k, *rest in drawn]

    expected = await outcome(one_by_one, lambda conn: one_at_a_time(conn, bodies))
    got = await outcome(batched, lambda conn: deal_batches.record_deals(
        conn, MANAGER, bodies, historical_before=NOW, now=NOW, policy=DEFAULT_POLICY))
    assert comparable(got) == comparable(expected)
    assert await state(batched, customers) == await state(one_by_one, customers)


def payment_rows(deal_ids: list[uuid.UUID]):
    return st.lists(st.tuples(st.integers(0, len(deal_ids)), st.sampled_from(["50000.00", "100000.00", "0.50"]),
                              st.sampled_from([1, 30, -5])), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_a_payment_batch_ends_where_one_payment_at_a_time_ends(two_databases, data):
    one_by_one, batched = two_databases
    customer = uuid.uuid4()
    closed = TODAY - timedelta(days=100)
    bodies = [deal_body(customer, 100, "c-1", True, "12000.00") for _ in range(2)]
    deal_ids = []
    for pool in two_databases:  # the same deals (same ids) in both
        async with pool.acquire() as conn, conn.transaction():
            recorded = await deal_batches.record_deals(conn, MANAGER, bodies, historical_before=NOW, now=NOW,
                                                       policy=DEFAULT_POLICY)
            if not deal_ids:
                deal_ids = [r.deal.deal_id for r in recorded]
            else:
                for r, deal_id in zip(recorded, deal_ids, strict=True):
                    await conn.execute("update deals set deal_id = $2 where deal_id = $1", r.deal.deal_id, deal_id)
    drawn = data.draw(payment_rows(deal_ids))
    entries = [PaymentEntry(deal_id=deal_ids[k] if k < len(deal_ids) else uuid.uuid4(), amount=Decimal(amount),
                            paid_on=closed + timedelta(days=days)) for k, amount, days in drawn]

    async def each(conn) -> list:
        results, problems = {}, []
        for i in sorted(range(len(entries)), key=lambda i: (entries[i].deal_id, i)):
            e = entries[i]
            try:
                async with conn.transaction():
                    results[i] = await deals.record_payment(conn, MANAGER, e.deal_id, e, now=NOW, location="body")
            except deals.RowsRejected as exc:
                problems += deals.in_row(f"payments.{i}", exc).problems
            except DomainError as exc:
                problems.append((f"payments.{i}.{exc.field or 'deal_id'}", exc.message))
        if problems:
            raise deals.PaymentRejected(sorted(problems, key=lambda p: deals.row_of(p[0])))
        return [_Answer(results[i]) for i in range(len(entries))]

    async def batch(conn) -> list:
        return [_Answer(r) for r in await deal_batches.record_payments(conn, MANAGER, entries, now=NOW)]

    expected, got = await outcome(one_by_one, each), await outcome(batched, batch)
    assert comparable(got) == comparable(expected)
    state_of = {}
    for pool in two_databases:
        state_of[pool] = await pool.fetch("select deal_id, amount, paid_on, balance_after from payments "
                                          "where deal_id = any($1) order by deal_id, balance_after desc", deal_ids)
    assert state_of[batched] == state_of[one_by_one]


class _Answer(dict):
    def as_json(self) -> dict:
        return self


async def test_a_history_batch_takes_a_fixed_number_of_statements(service_db):
    """Two hundred old deals of a hundred contacts' customers, then two hundred of new customers."""
    _, pool = await service_db("followup")
    await pool.executemany("insert into consultant_teams (consultant_id, team, active, changed_at) "
                           "values ($1, 'north', true, now())", [(c,) for c in ("c-1", "c-2")])
    handlers = FollowUpHandlers(DEFAULT_POLICY, lambda: NOW)
    known, warm_up = [uuid.uuid4() for _ in range(100)], [uuid.uuid4()]
    await apply(pool, handlers, [inbound(ContactReceived(contact_id=uuid.uuid4(), channel=Channel.BULK_IMPORT), c)
                                 for c in [*known, *warm_up]])
    statements = []

    def log(query) -> None:
        statements.append(query.query)

    for customers in (warm_up, known, [uuid.uuid4() for _ in range(100)]):
        bodies = [deal_body(c, days, "c-1", False, "12000.00") for c in customers for days in (400, 800)]
        statements.clear()  # the first batch (warm_up) also reads the types its statements use (asyncpg)
        async with pool.acquire() as conn, conn.transaction():
            conn.add_query_logger(log)
            try:
                recorded = await deal_batches.record_deals(conn, MANAGER, bodies, historical_before=NOW, now=NOW,
                                                           policy=DEFAULT_POLICY)
            finally:
                conn.remove_query_logger(log)
        assert all(r.historical for r in recorded) and len(recorded) == 2 * len(customers)
        assert customers is warm_up or len(statements) <= 11, "\n".join(" ".join(q.split()[:8]) for q in statements)
    assert await pool.fetchval("select count(*) from tasks where status in ('open', 'overdue')") == 0
    assert await pool.fetchval("select count(*) from deals") == 402
    assert await pool.fetchval("select count(*) from prospects where status = 'customer'") == 201
