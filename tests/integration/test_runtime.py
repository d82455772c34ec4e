"""The shared runtime against real PostgreSQL and a real Kafka-protocol broker."""
import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition
from alembic import command

from shared.errors import ConcurrencyConflict
from shared.events.contract import ConsentChanged, ConsultantUpdated, CustomerAssigned
from shared.events.envelope import new_event
from shared.runtime import kafka, ownership
from shared.runtime.consumer import BatchHandler, EventConsumer, Inbound
from shared.runtime.db import alembic_config, create_pool, database_url_for, ensure_database, plan_for_this_batch
from shared.runtime.relay import OutboxRelay
from shared.runtime.store import append, append_many, read_stream


def consent(customer_id=None, allowed=False):
    return new_event(ConsentChanged(marketing_allowed=allowed), customer_id=customer_id or uuid.uuid4(),
                     producer="test")


def record(envelope_or_bytes, offset: int, topic: str = "consent-changed") -> ConsumerRecord:
    value = envelope_or_bytes if isinstance(envelope_or_bytes, bytes) else envelope_or_bytes.to_json()
    return ConsumerRecord(topic, 0, offset, 0, 0, b"k", value, None, 1, len(value), ())


async def test_appends_with_a_stale_expected_version_conflict(service_db, reliability):
    reliability.record("concurrent writers to one stream", 2, "exactly one wins, the other gets a conflict")
    _, pool = await service_db("intake")
    cid = uuid.uuid4()
    async with pool.acquire() as c:
        await append(c, f"s-{cid}", [consent(cid)], expected_version=0)

    async def writer():
        async with pool.acquire() as c, c.transaction():
            await append(c, f"s-{cid}", [consent(cid)], expected_version=1)
            await asyncio.sleep(0.1)

    results = await asyncio.gather(writer(), writer(), return_exceptions=True)
    assert sum(isinstance(r, ConcurrencyConflict) for r in results) == 1
    async with pool.acquire() as c:
        assert [e.event_type for e in await read_stream(c, f"s-{cid}")] == ["consent-changed"] * 2


async def test_several_events_take_consecutive_versions_in_the_order_given(service_db):
    _, pool = await service_db("intake")
    cid = uuid.uuid4()
    first, second, third = consent(cid), consent(cid), consent(cid)
    async with pool.acquire() as c:
        assert await append(c, f"s-{cid}", [first], expected_version=0) == 1
        assert await append(c, f"s-{cid}", [second, third]) == 3
        rows = await c.fetch("select event_id, stream_version from event_store where stream_id = $1 "
                             "order by stream_version", f"s-{cid}")
    assert [(r["event_id"], r["stream_version"]) for r in rows] == \
        [(first.event_id, 1), (second.event_id, 2), (third.event_id, 3)]


async def test_a_batch_append_stores_the_rows_single_appends_store(service_db):
    """append_many reads the header columns from the envelopes it sends: the same values as the
    columns append sends one by one (ids, types, versions, times to the microsecond, any zone)."""
    _, pool = await service_db("intake")
    cid = uuid.uuid4()
    zone = timezone(timedelta(hours=8))
    at = datetime(2026, 3, 1, 9, 15, 30, 123456, tzinfo=zone)
    events = [new_event(ConsentChanged(marketing_allowed=i % 2 == 0), customer_id=cid, producer="test",
                        occurred_at=at + timedelta(microseconds=i), now=at + timedelta(seconds=i)) for i in range(3)]
    columns = "stream_version, event_type, schema_version, customer_id, occurred_at, recorded_at, envelope::text"
    async with pool.acquire() as c:
        await append(c, f"one-{cid}", events[:1])
        await append(c, f"one-{cid}", events[1:])
        await append_many(c, [(f"many-{cid}", e.model_copy(update={"event_id": uuid.uuid4()})) for e in events])
        one = await c.fetch(f"select {columns} from event_store where stream_id = $1 order by stream_version",
                            f"one-{cid}")
        many = await c.fetch(f"select event_id, {columns} from event_store where stream_id = $1 "
                             "order by stream_version", f"many-{cid}")
    assert [dict(r) | {"envelope": None} for r in one] == \
        [{k: v for k, v in dict(r).items() if k != "event_id"} | {"envelope": None} for r in many]
    assert [r["event_id"] for r in many] == [uuid.UUID(json.loads(r["envelope"])["event_id"]) for r in many]
    assert [r["occurred_at"] for r in many] == [e.occurred_at for e in events]
    assert [r["stream_version"] for r in many] == [1, 2, 3]


async def test_relay_never_skips_a_row_that_commits_late(service_db, broker, reliability):
    reliability.record("outbox row that commits after a later-numbered one", 1, "both published")
    """Row 1 is inserted first but commits after row 2 (the sequence "gap")."""
    url, pool = await service_db("intake")
    topic_marker = uuid.uuid4()
    early, late = consent(topic_marker), consent(topic_marker)
    slow = await pool.acquire()
    tx = slow.transaction()
    await tx.start()
    await append(slow, f"a-{early.event_id}", [early])
    async with pool.acquire() as c:
        await append(c, f"b-{late.event_id}", [late])

    relay = OutboxRelay(pool, url, broker.bootstrap, f"test-{uuid.uuid4()}", ("consent-changed",))
    producer = kafka.producer(broker.bootstrap)
    await kafka.ensure_topics(broker.bootstrap, ["consent-changed"], 4)
    await producer.start()
    try:
        assert await relay.publish_batch(producer) == 1  # the late-numbered, committed row
        await tx.commit()
        await pool.release(slow)
        assert await relay.publish_batch(producer) == 1  # the early-numbered row, now committed
        assert await relay.publish_batch(producer) == 0
    finally:
        await producer.stop()
    seen = await read_topic(broker.bootstrap, "consent-changed", {early.event_id, late.event_id})
    assert seen == {early.event_id, late.event_id}


def event_id_of(value: bytes | None) -> uuid.UUID | None:
    """The envelope's event id; None for anything else (the session's broker is shared with the
    whole stack, whose fuzz tests publish junk to the same topics)."""
    try:
        return uuid.UUID(json.loads(value)["event_id"])
    except (ValueError, TypeError, KeyError):
        return None


async def read_topic(bootstrap, topic, wanted: set, timeout=20) -> set:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen = set()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while seen != wanted and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                seen |= {event_id_of(r.value) for r in records} & wanted
    finally:
        await consumer.stop()
    return seen


@pytest.fixture
async def applied_consumer(service_db):
    _, pool = await service_db("intake")
    async with pool.acquire() as c:
        await c.execute("create table applied (event_id uuid primary key, allowed boolean)")

    async def handler(conn, inbound: Inbound):
        if inbound.payload.marketing_allowed is None:
            raise AssertionError("unreachable")
        await conn.execute("insert into applied values ($1, $2)", inbound.message_id,
                           inbound.payload.marketing_allowed)
        if inbound.envelope.producer == "explodes-after-write":
            raise ValueError("rule broken after a write")

    return EventConsumer("test-consumer", "intake", pool, "unused:9092", {"consent-changed": handler}), pool


async def test_each_message_applies_once_and_poison_goes_to_dead_letters(applied_consumer):
    consumer, pool = applied_consumer
    good = consent(allowed=True)
    exploding = consent().model_copy(update={"producer": "explodes-after-write"})
    batch = {TopicPartition("consent-changed", 0): [
        record(good, 0), record(b"{broken", 1), record(exploding, 2), record(good, 3)]}
    await consumer.apply_batch(batch)
    await consumer.apply_batch(batch)  # redelivered whole: nothing changes

    async with pool.acquire() as c:
        applied = await c.fetch("select event_id from applied")
        letters = await c.fetch("select envelope from event_store where event_type = 'dead-letters'")
        inbox = await c.fetchval("select count(*) from inbox where consumer = 'test-consumer'")
    assert [r["event_id"] for r in applied] == [good.event_id]  # the exploding write was rolled back
    reasons = sorted(json.loads(r["envelope"])["payload"]["reason"] for r in letters)
    assert len(reasons) == 2
    assert reasons[0].startswith("ValueError: rule broken") and reasons[1].startswith("envelope")
    assert inbox == 3


async def test_a_transient_failure_rolls_the_whole_batch_back(applied_consumer, reliability):
    reliability.record("database connection lost mid-batch", 1, "batch rolled back and retried, applied once")
    consumer, pool = applied_consumer
    events = [consent(allowed=True) for _ in range(3)]
    calls = 0
    original = consumer.handlers["consent-changed"]

    async def flaky(conn, inbound):
        nonlocal calls
        calls += 1
        await original(conn, inbound)
        if calls == 2:
            raise ConnectionResetError("database went away")

    consumer.handlers["consent-changed"] = flaky
    batch = {TopicPartition("consent-changed", 0): [record(e, i) for i, e in enumerate(events)]}
    await consumer._apply_with_retry(batch)
    async with pool.acquire() as c:
        assert await c.fetchval("select count(*) from applied") == 3
        assert await c.fetchval("select count(*) from event_store where event_type = 'dead-letters'") == 0


async def test_after_batch_runs_once_with_what_was_applied_and_isolates_a_failure(applied_consumer):
    consumer, pool = applied_consumer
    seen: list[list[uuid.UUID]] = []

    async def after(conn, applied):
        ids = [i.message_id for i in applied]
        if poison.event_id in ids:
            raise ValueError("the batch step refuses this message")
        seen.append(ids)

    consumer.after_batch = after
    good, poison, late = consent(allowed=True), consent(allowed=False), consent(allowed=True)
    await consumer.apply_batch({TopicPartition("consent-changed", 0): [record(good, 0), record(good, 1)]})
    assert seen == [[good.event_id]]  # once per batch, the duplicate copy left out

    seen.clear()
    await consumer.apply_batch({TopicPartition("consent-changed", 0): [record(poison, 2), record(late, 3)]})
    assert seen == [[late.event_id]]  # the failing step sent the batch one by one: only the poison is refused
    async with pool.acquire() as c:
        applied = {r[0] for r in await c.fetch("select event_id from applied")}
        letters = await c.fetchval("select count(*) from event_store where event_type = 'dead-letters'")
    assert applied == {good.event_id, late.event_id} and letters == 1


async def test_a_batch_handler_gets_its_topics_messages_at_once_and_isolates_a_failure(applied_consumer):
    consumer, pool = applied_consumer
    calls: list[list[uuid.UUID]] = []

    async def apply_all(conn, inbounds):
        ids = [i.message_id for i in inbounds]
        calls.append(ids)
        await conn.execute("insert into applied select * from unnest($1::uuid[], $2::bool[])", ids,
                           [i.payload.marketing_allowed for i in inbounds])
        if any(i.envelope.producer == "explodes-after-write" for i in inbounds):
            raise ValueError("rule broken after a write")

    consumer.handlers["consent-changed"] = BatchHandler(apply_all)
    first, second, third = (consent(allowed=True) for _ in range(3))
    await consumer.apply_batch({TopicPartition("consent-changed", 0): [
        record(first, 0), record(second, 1), record(first, 2), record(third, 3)]})
    assert calls == [[first.event_id, second.event_id, third.event_id]]  # once, in order, the duplicate left out

    calls.clear()
    poison = consent().model_copy(update={"producer": "explodes-after-write"})
    late = consent(allowed=False)
    await consumer.apply_batch({TopicPartition("consent-changed", 0): [record(poison, 4), record(late, 5)]})
    assert calls == [[poison.event_id, late.event_id], [poison.event_id], [late.event_id]]  # then one by one
    async with pool.acquire() as c:
        applied = {r[0] for r in await c.fetch("select event_id from applied")}
        letters = await c.fetchval("select count(*) from event_store where event_type = 'dead-letters'")
    assert applied == {first.event_id, second.event_id, third.event_id, late.event_id} and letters == 1


async def test_the_owners_and_the_roster_of_a_batch_take_one_statement_each_and_the_last_decision(service_db):
    url, _ = await service_db("grading")
    pool = await create_pool(url, min_size=1, max_size=1)  # one connection: the statements logged are the batch's
    consumer = EventConsumer("test-owners", "grading", pool, "unused:9092", dict(ownership.HANDLERS))
    a, b = uuid.uuid4(), uuid.uuid4()
    t0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)

    def assigned(customer, owner, minutes):
        return new_event(CustomerAssigned(owner_id=owner, basis="load"), customer_id=customer, producer="followup",
                         occurred_at=t0 + timedelta(minutes=minutes))

    def roster(consultant, team, active, minutes):
        return new_event(ConsultantUpdated(consultant_id=consultant, team=team, active=active),
                         customer_id=uuid.uuid5(uuid.NAMESPACE_URL, consultant), producer="followup",
                         occurred_at=t0 + timedelta(minutes=minutes))

    owners = [assigned(a, "c-1", 0), assigned(b, "c-3", 1), assigned(a, "c-2", 2)]
    teams = [roster("c-1", "north", True, 0), roster("c-1", "south", False, 3)]
    statements: list[str] = []

    def log(query) -> None:
        statements.append(query.query)

    try:
        async with pool.acquire() as c:
            c.add_query_logger(log)
        await consumer.apply_batch({
            TopicPartition("customer-assigned", 0): [record(e, i, "customer-assigned") for i, e in enumerate(owners)],
            TopicPartition("consultant-updated", 0): [record(e, i, "consultant-updated") for i, e in enumerate(teams)]})
        async with pool.acquire() as c:
            c.remove_query_logger(log)
            rows = {r["customer_id"]: (r["owner_id"], r["assigned_at"]) for r in await c.fetch(
                "select customer_id, owner_id, assigned_at from customer_owners")}
            team = await c.fetchrow("select team, active from consultant_teams where consultant_id = 'c-1'")
    finally:
        await pool.close()
    assert rows == {a: ("c-2", t0 + timedelta(minutes=2)), b: ("c-3", t0 + timedelta(minutes=1))}
    assert (team["team"], team["active"]) == ("south", False)
    assert sum("insert into customer_owners" in q for q in statements) == 1
    assert sum("insert into consultant_teams" in q for q in statements) == 1


async def test_relay_pipelines_batches_keeping_each_customers_order(service_db, broker, reliability):
    reliability.record("relay batches pipelined (next read, last marked while one is in flight)", 11,
                       "all published once marked, each customer's events in order")
    url, pool = await service_db("intake")
    customers = [uuid.uuid4() for _ in range(3)]
    events = [consent(customers[i % 3], allowed=bool(i % 2)) for i in range(11)]
    async with pool.acquire() as c, c.transaction():
        await append_many(c, [(f"s-{e.customer_id}", e) for e in events])
        versions = await c.fetch("select stream_id, stream_version, event_id from event_store "
                                 "where event_id = any($1::uuid[]) order by position", [e.event_id for e in events])
    assert [r["event_id"] for r in versions] == [e.event_id for e in events]  # positions in the order given
    for cid in customers:
        assert [r["stream_version"] for r in versions if r["stream_id"] == f"s-{cid}"] == list(range(1, 5))[
            :sum(e.customer_id == cid for e in events)]
    relay = OutboxRelay(pool, url, broker.bootstrap, f"test-{uuid.uuid4()}", ("consent-changed",), batch=4)
    producer = kafka.producer(broker.bootstrap)
    await kafka.ensure_topics(broker.bootstrap, ["consent-changed"], 4)
    await producer.start()
    try:
        assert await relay.publish_batch(producer) == 11  # three batches of at most 4 in one pass
        assert await relay.publish_batch(producer) == 0
    finally:
        await producer.stop()
    async with pool.acquire() as c:
        assert await c.fetchval("select count(*) from outbox_pending") == 0
        assert await c.fetchval("select count(*) from relay_offsets") >= 1
    wanted = {e.event_id for e in events}
    consumer = AIOKafkaConsumer("consent-changed", bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    received: list = []
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while len(received) < len(wanted) and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                received += [(r.key, event_id_of(r.value)) for r in records if event_id_of(r.value) in wanted]
    finally:
        await consumer.stop()
    for cid in customers:
        assert [i for k, i in received if k == str(cid).encode()] == [e.event_id for e in events
                                                                      if e.customer_id == cid]


async def test_the_pending_outbox_rows_survive_the_move_to_outbox_pending_and_back(postgres):
    """runtime_0006 moves what was unpublished (`published = false`) into `outbox_pending`, every
    insert into the outbox is pending from then on, and the downgrade puts the flags back."""
    name = f"t_intake_{uuid.uuid4().hex[:10]}"
    await ensure_database(postgres.admin_url, name)
    url = database_url_for(postgres.admin_url, name)
    cfg = alembic_config(url, "intake")
    await asyncio.to_thread(command.upgrade, cfg, "runtime_0005")
    conn = await asyncpg.connect(url)
    try:
        events = [consent() for _ in range(3)]
        for e, published in zip(events, (True, False, False)):
            await conn.execute(
                """insert into event_store (event_id, stream_id, stream_version, event_type, schema_version,
                       customer_id, occurred_at, recorded_at, envelope, published)
                   values ($1, $2, 1, $3, 1, $4, $5, $5, $6::jsonb, $7)""",
                e.event_id, f"s-{e.event_id}", e.event_type, e.customer_id, e.occurred_at, e.to_json().decode(),
                published)
        position = {r["event_id"]: r["position"] for r in await conn.fetch("select event_id, position from event_store")}
        await asyncio.to_thread(command.upgrade, cfg, "heads")
        pending = "select array_agg(position order by position) from outbox_pending"
        assert await conn.fetchval(pending) == [position[e.event_id] for e in events[1:]]
        late = consent()
        await append(conn, f"s-{late.event_id}", [late])
        later = await conn.fetchval("select position from event_store where event_id = $1", late.event_id)
        assert await conn.fetchval(pending) == [position[e.event_id] for e in events[1:]] + [later]
        await conn.execute("delete from outbox_pending where position = $1", position[events[1].event_id])
        await asyncio.to_thread(command.downgrade, cfg, "runtime_0005")
        assert await conn.fetchval("select array_agg(position order by position) from event_store where not published") \
            == [position[events[2].event_id], later]
    finally:
        await conn.close()


async def test_a_batch_plans_each_statement_for_its_own_arguments(service_db):
    """A pooled connection's generic plan, made while a table was analysed empty, would stay a
    sequential scan as an import grows the table; a batch's transaction plans afresh."""
    _, pool = await service_db("intake")
    async with pool.acquire() as c:
        await c.execute("create table grown (k uuid primary key)")
        await c.execute("analyze grown")
        read = await c.prepare("select k from grown where k = any($1::uuid[])")
        for _ in range(8):
            await read.fetch([uuid.uuid4()])
        plans = "select generic_plans, custom_plans from pg_prepared_statements where statement = $1"
        before = await c.fetchrow(plans, read.get_query())
        assert before["generic_plans"] > 0  # the connection settled on its generic plan
        async with c.transaction():
            await plan_for_this_batch(c)
            await read.fetch([uuid.uuid4()])
        after = await c.fetchrow(plans, read.get_query())
        assert after["custom_plans"] == before["custom_plans"] + 1
        assert after["generic_plans"] == before["generic_plans"]
        assert await c.fetchval("select current_setting('plan_cache_mode')") == "auto"  # only for that batch


async def test_a_consumer_batch_plans_afresh(applied_consumer):
    consumer, pool = applied_consumer
    seen = []

    async def handler(conn, inbound: Inbound):
        seen.append(await conn.fetchval("select current_setting('plan_cache_mode')"))

    consumer.handlers["consent-changed"] = handler
    await consumer.apply_batch({TopicPartition("consent-changed", 0): [record(consent(), 0)]})
    assert seen == ["force_custom_plan"]
