"""Relay (store -> Kafka) and consumers (Kafka -> analytics projection) vs raw aiokafka."""
from __future__ import annotations

import asyncio
import statistics

from aiokafka import AIOKafkaConsumer

from services.analytics.folding import Folder
from services.analytics.handlers import log_and_mark, record_event
from shared.events.topics import ALL_TOPICS
from shared.runtime import kafka
from shared.runtime.consumer import EventConsumer
from shared.runtime.db import create_pool
from shared.runtime.relay import OutboxRelay

from .common import Figure, Infra, applied_rate, postgres_cpu_seconds, sample_contacts, timed

TOPIC = "contact-received"


async def fill_outbox(url: str, n: int) -> list:
    """Store n events the fast way (setup, not measured)."""
    events = sample_contacts(n)
    pool = await create_pool(url, min_size=1, max_size=1)
    async with pool.acquire() as conn:
        await conn.execute(
            """insert into event_store (event_id, stream_id, stream_version, event_type, schema_version,
                                        customer_id, occurred_at, recorded_at, envelope)
               select e, 'customer-' || c, 1, 'contact-received', 1, c, o, o, b
               from unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::jsonb[]) as t(e, c, o, b)""",
            [e.event_id for e in events], [e.customer_id for e in events], [e.occurred_at for e in events],
            [e.model_dump_json() for e in events])
    return pool, events


async def relay_rate(infra: Infra, url: str, n: int) -> tuple[float, float]:
    """Events/s, and PostgreSQL's CPU milliseconds per 1,000 events published (reading and marking)."""
    pool, _ = await fill_outbox(url, n)
    relay = OutboxRelay(pool, url, infra.broker.bootstrap, "bench", ALL_TOPICS)
    producer = kafka.producer(infra.broker.bootstrap)
    await producer.start()
    try:
        cpu_before = postgres_cpu_seconds(infra.postgres)
        with timed() as t:
            while await relay.publish_batch(producer):
                pass
        cpu = postgres_cpu_seconds(infra.postgres) - cpu_before
    finally:
        await producer.stop()
        await pool.close()
    return n / t["seconds"], cpu * 1e6 / n


async def raw_produce_rate(infra: Infra, n: int) -> float:
    events = sample_contacts(n)
    bodies = [(e.key, e.to_json()) for e in events]
    producer = kafka.producer(infra.broker.bootstrap)
    await producer.start()
    try:
        with timed() as t:
            for i in range(0, n, 500):
                futures = [await producer.send("bench-raw", value=v, key=k) for k, v in bodies[i:i + 500]]
                await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return n / t["seconds"]


async def consume_rate(infra: Infra, url: str, n: int) -> float:
    """Analytics as the service runs it: the consumer (inbox, event log, marks; per-batch transactions)
    and the folder beside it, until every event is folded into the read model."""
    pool = await create_pool(url, min_size=2, max_size=4)
    consumer = EventConsumer(f"bench-{n}", "analytics", pool, infra.broker.bootstrap, {TOPIC: record_event},
                             batch=500, after_batch=log_and_mark)
    folder = asyncio.create_task(Folder(pool, url).run())
    try:
        return await applied_rate(consumer, pool, "select coalesce(sum(own_events), 0) from customer_facts", n)
    finally:
        folder.cancel()
        await asyncio.gather(folder, return_exceptions=True)


async def raw_consume_rate(infra: Infra, n: int) -> float:
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=infra.broker.bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False, max_poll_records=500,
                                **kafka.client_kwargs())
    await consumer.start()
    seen = 0
    try:
        first = await consumer.getmany(timeout_ms=5000, max_records=1)  # connection and metadata warm-up
        seen = sum(len(v) for v in first.values())
        with timed() as t:
            while seen < n:
                batch = await consumer.getmany(timeout_ms=1000, max_records=500)
                seen += sum(len(v) for v in batch.values())
    finally:
        await consumer.stop()
    return (n - 1) / t["seconds"]


ROUNDS = 5  # relay and raw produce alternate, each measured this many times: one send of 10,000 events
# takes 0.15-0.3 s, and the rounds' ratios swing between about 0.5 and 1.4 (whichever side the broker's
# pauses fall on; docs/benchmarks.md, session 10): a median of 3 was a coin toss, all rounds together are not


async def relay_and_raw(infra: Infra, n: int) -> tuple[float, float, dict]:
    """The relay's and the raw produce's rates over ROUNDS runs taken in turn (each side: all its
    events over all its time, the same treatment for both), with every round's ratio and the
    relay's PostgreSQL CPU."""
    relays, raws, postgres_ms = [], [], []
    for _ in range(ROUNDS):
        relay, relay_postgres_ms = await relay_rate(infra, await infra.database("intake"), n)
        relays.append(relay)
        postgres_ms.append(relay_postgres_ms)
        raws.append(await raw_produce_rate(infra, n))
    # the consumer's figure reads what one relay published: the topic again with exactly n events
    infra.broker.wipe()
    await kafka.ensure_topics(infra.broker.bootstrap, [*ALL_TOPICS, "bench-raw"], 4)
    await relay_rate(infra, await infra.database("intake"), n)
    return overall(relays), overall(raws), {
        "round_ratios": [round(r / w, 2) for r, w in zip(relays, raws, strict=True)],
        "postgres_cpu_ms_per_1000": round(statistics.median(postgres_ms), 1)}


def overall(rates: list[float]) -> float:
    """Equal-sized runs' rates as one: all the events over all the time (the harmonic mean)."""
    return statistics.harmonic_mean(rates)


async def run(infra: Infra, sizes: tuple[int, ...]) -> list[Figure]:
    figures = []
    for n in sizes:
        infra.broker.wipe()  # an empty broker for each size
        await kafka.ensure_topics(infra.broker.bootstrap, [*ALL_TOPICS, "bench-raw"], 4)
        relay, raw_produce, relay_notes = await relay_and_raw(infra, n)
        consume = await consume_rate(infra, await infra.database("analytics"), n)
        raw_consume = await raw_consume_rate(infra, n)
        figures += [
            Figure("relay: outbox to Kafka", "events/s", relay, raw_produce, "raw aiokafka produce (5 rounds each, in turn)", n,
                   notes=relay_notes),
            Figure("consumer: Kafka to analytics log", "events/s", consume, raw_consume, "raw aiokafka consume", n),
        ]
    return figures
