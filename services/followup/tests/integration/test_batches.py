"""A consumer batch (contacts set-based, the rest in their place) ends in exactly the state, and
appends exactly the events, of the same messages applied one at a time (issue #14)."""
from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

from aiokafka import ConsumerRecord, TopicPartition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.followup.domain import DEFAULT_POLICY
from services.followup.handlers import FollowUpHandlers
from shared.events.contract import ComplaintFiled, ConsentChanged, ContactReceived, CustomerMerged, ProspectGraded
from shared.events.enums import Channel, ComplaintSeverity, IntentGrade, PurchaseTimeframe
from shared.runtime.consumer import EventConsumer, Inbound

from .test_handlers import NOW, apply, inbound

CUSTOMERS = 3

contacts = st.builds(
    lambda who, channel, consultant, new, grade, timeframe, historical: ("contact", who, ContactReceived(
        contact_id=uuid.uuid4(), channel=channel, consultant_id=consultant, is_new_customer=new,
        initial_grade=grade, purchase_timeframe=timeframe, historical=historical)),
    st.integers(0, CUSTOMERS - 1),
    st.sampled_from([Channel.WALK_IN, Channel.EXHIBITION, Channel.SERVICE_STATION, Channel.BULK_IMPORT]),
    st.sampled_from([None, "c-1", "c-2", "c-3", "c-unknown"]), st.booleans(),
    st.none() | st.sampled_from([IntentGrade.A, IntentGrade.O]), st.none() | st.just(PurchaseTimeframe.NOW),
    st.booleans())  # taken over from history (domain §8): no work from it
grades = st.builds(lambda who, grade: ("graded", who, ProspectGraded(
    grade=grade, rule="timeframe", policy_version="t", consultant_id="c-1")),
    st.integers(0, CUSTOMERS - 1), st.sampled_from([IntentGrade.H, IntentGrade.A, IntentGrade.O]))
consents = st.builds(lambda who, allowed: ("consent", who, ConsentChanged(marketing_allowed=allowed)),
                     st.integers(0, CUSTOMERS - 1), st.booleans())
complaints = st.builds(lambda who: ("complaint", who, ComplaintFiled(
    complaint_id=uuid.uuid4(), channel=Channel.PHONE, severity=ComplaintSeverity.LOW, description="late")),
    st.integers(0, CUSTOMERS - 1))
merges = st.builds(lambda a, b: ("merge", a, b), st.integers(0, CUSTOMERS - 1), st.integers(0, CUSTOMERS - 1))
# Mostly contacts, as the import sends them; now and then what makes a contact need the full rules.
messages = st.lists(st.one_of(contacts, contacts, contacts, grades, consents, complaints, merges),
                    min_size=1, max_size=14)


def envelopes(drawn: list, customers: list[uuid.UUID]) -> list[Inbound]:
    out = []
    for i, (_, who, payload) in enumerate(drawn):
        if isinstance(payload, int):  # a merge: `payload` is the merged customer
            if payload == who:
                continue
            payload = CustomerMerged(merged_customer_id=customers[payload])
        out.append(inbound(payload, customers[who], NOW + timedelta(seconds=i)))
    return out


def records(batch: list[Inbound]) -> dict[TopicPartition, list[ConsumerRecord]]:
    """The batch as the broker hands it over, in this order (the consumer applies it as flattened)."""
    offsets: Counter = Counter()
    out = []
    for i in batch:
        body = i.envelope.to_json()
        out.append(ConsumerRecord(i.envelope.event_type, 0, offsets[i.envelope.event_type], 0, 0, i.envelope.key,
                                  body, None, 0, len(body), ()))
        offsets[i.envelope.event_type] += 1
    return {TopicPartition("batch", 0): out}


async def state(pool, customers: list[uuid.UUID]) -> dict:
    """Everything follow-up keeps and appends about these customers (and the roster's load)."""
    prospects = await pool.fetch("select * from prospects where customer_id = any($1) order by customer_id",
                                 customers)
    tasks = await pool.fetch("select task_id, customer_id, kind, owner_id, status, due_at, grade, marketing, "
                             "cause_event_id, created_at, closed_at, escalated_at, data::text as data from tasks "
                             "where customer_id = any($1) order by task_id", customers)
    owners = await pool.fetch("select * from customer_owners where customer_id = any($1) order by customer_id",
                              customers)
    cases = await pool.fetch("select complaint_id, customer_id, status, owner_id from complaint_cases "
                             "where customer_id = any($1) order by complaint_id", customers)
    events = await pool.fetch("select stream_id, stream_version, event_type, envelope::text as e from event_store "
                              "where customer_id = any($1) order by position", customers)
    load = await pool.fetch("select * from owner_load order by owner_id")

    def event(row) -> tuple:
        envelope = json.loads(row["e"])
        envelope.pop("event_id")
        return row["stream_id"], row["stream_version"], row["event_type"], envelope

    return {"prospects": [{k: v for k, v in dict(r).items() if k != "updated_at"} for r in prospects],
            "tasks": [dict(r) for r in tasks], "owners": [dict(r) for r in owners], "cases": [dict(r) for r in cases],
            "events": [event(r) for r in events], "load": [dict(r) for r in load]}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=messages, cuts=st.lists(st.integers(1, 14), min_size=1, max_size=4))
async def test_a_batch_ends_where_one_message_at_a_time_ends(two_databases, drawn, cuts):
    one_by_one, batched = two_databases
    customers = [uuid.uuid4() for _ in range(CUSTOMERS)]
    history = envelopes(drawn, customers)
    handlers = FollowUpHandlers(DEFAULT_POLICY, lambda: NOW + timedelta(minutes=1))
    await apply(one_by_one, handlers, history)
    consumer = EventConsumer("followup", "followup", batched, "", **handlers.consumer_spec())
    start = 0
    for cut in [*cuts, len(history)]:  # the history cut into consumer batches
        if start < len(history):
            await consumer.apply_batch(records(history[start:start + cut]))
            start += cut
    assert await state(batched, customers) == await state(one_by_one, customers)
    assert await batched.fetchval("select count(*) from inbox where outcome <> 'applied'") == 0  # none isolated


async def test_an_import_batch_takes_a_fixed_number_of_statements(service_db):
    """Two hundred first contacts, a third naming a consultant, the rest given by load: one run."""
    _, pool = await service_db("followup")
    await pool.executemany("insert into consultant_teams (consultant_id, team, active, changed_at) "
                           "values ($1, 'north', true, now())", [(c,) for c in ("c-1", "c-2", "c-3")])
    handlers = FollowUpHandlers(DEFAULT_POLICY, lambda: NOW)
    statements = []

    def log(query) -> None:
        statements.append(query.query)

    for size in (3, 200):  # the first batch also reads the types of the connection (asyncpg)
        statements.clear()
        batch = [inbound(ContactReceived(contact_id=uuid.uuid4(), channel=Channel.BULK_IMPORT,
                                         consultant_id="c-2" if i % 3 == 0 else None), uuid.uuid4(),
                         NOW + timedelta(seconds=i)) for i in range(size)]
        async with pool.acquire() as conn, conn.transaction():
            conn.add_query_logger(log)
            try:
                await handlers.apply_batch(conn, batch)
            finally:
                conn.remove_query_logger(log)
    assert len(statements) == 7, statements  # the events: one statement (store.append_many)
    assert await pool.fetchval("select count(*) from tasks where kind = 'first_contact'") == 203
    assert await pool.fetchval("select count(*) from event_store where event_type = 'customer-assigned'") == 203
    loads = {r["owner_id"]: r["pending"] for r in await pool.fetch("select * from owner_load")}
    assert max(loads.values()) - min(loads.values()) <= 1  # the least loaded took each unnamed one in turn

    # then grading's verdicts on them: the first contact is still their next follow-up, so one run
    statements.clear()
    graded = [inbound(ProspectGraded(grade=IntentGrade.A, rule="timeframe", policy_version="t"), i.customer_id,
                      NOW + timedelta(minutes=1)) for i in batch]
    async with pool.acquire() as conn, conn.transaction():
        conn.add_query_logger(log)
        try:
            await handlers.apply_batch(conn, graded)
        finally:
            conn.remove_query_logger(log)
    assert len(statements) == 3, statements
    assert await pool.fetchval("select count(*) from prospects where grade = 'A'") == 200
