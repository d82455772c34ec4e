"""The outbox relay: publishes stored events to Kafka, keyed by customer id.

Rows are read by `published = false`, not by tailing the position, so a
transaction that commits late is never skipped. A crash between send and
mark republishes (at-least-once); consumers deduplicate by event id.
Only one replica relays at a time (a PostgreSQL advisory lock), which keeps
one customer's events in order.

The relay also watches the broker: if a partition it wrote to now ends below
what it already published (the embedded broker restarted empty, or a topic was
recreated), it marks everything unpublished and publishes it all again.
"""
from __future__ import annotations

import asyncio
import json
import zlib

import asyncpg
from aiokafka import AIOKafkaProducer, TopicPartition

from ..logging import get_logger
from ..metrics import EVENTS_PUBLISHED, RELAY_BACKLOG, RELAY_REPUBLISHES
from . import kafka

log = get_logger(__name__)

_UNPUBLISHED = """
select position, event_type, customer_id, envelope::text as body
from event_store where not published order by position limit $1"""


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, database_url: str, bootstrap: str, service: str,
                 topics: tuple[str, ...], partitions: int = 4, batch: int = 500,
                 poll_seconds: float = 1.0, broker_check_seconds: float = 5.0) -> None:
        self.pool, self.database_url, self.bootstrap = pool, database_url, bootstrap
        self.topics, self.partitions = topics, partitions
        self.batch, self.poll_seconds, self.broker_check_seconds = batch, poll_seconds, broker_check_seconds
        self.lock_key = zlib.crc32(f"relay:{service}".encode())
        self._wake = asyncio.Event()
        self.is_leader = False

    async def run(self) -> None:
        """Run forever: wait for leadership, then publish; reconnect on failure."""
        while True:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the relay must outlive outages
                self.is_leader = False
                log.warning("relay_restarting", error=repr(exc))
                await asyncio.sleep(1.0)

    async def _lead(self) -> None:
        listen = await asyncpg.connect(self.database_url)
        producer = kafka.producer(self.bootstrap)
        try:
            while not await listen.fetchval("select pg_try_advisory_lock($1)", self.lock_key):
                await asyncio.sleep(2.0)
            self.is_leader = True
            await listen.add_listener("event_store", lambda *_: self._wake.set())
            await kafka.ensure_topics(self.bootstrap, self.topics, self.partitions)
            await asyncio.wait_for(producer.start(), kafka.SEND_TIMEOUT)
            await self._publish_loop(producer)
        finally:
            self.is_leader = False
            await kafka.stop_quietly(producer)
            await listen.close(timeout=5)

    async def _publish_loop(self, producer: AIOKafkaProducer) -> None:
        loop = asyncio.get_running_loop()
        next_check = 0.0
        while True:
            if loop.time() >= next_check:
                await self.check_broker()
                next_check = loop.time() + self.broker_check_seconds
            sent = await self.publish_batch(producer)
            if sent < self.batch:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                except TimeoutError:
                    pass

    async def publish_batch(self, producer: AIOKafkaProducer) -> int:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(_UNPUBLISHED, self.batch)
            if not rows:
                RELAY_BACKLOG.set(0)
                return 0
            futures = [
                await producer.send(r["event_type"], value=r["body"].encode(), key=str(r["customer_id"]).encode())
                for r in rows
            ]
            metas = await asyncio.wait_for(asyncio.gather(*futures), kafka.SEND_TIMEOUT)
            ends: dict[tuple[str, int], int] = {}
            for meta in metas:
                key = (meta.topic, meta.partition)
                ends[key] = max(ends.get(key, 0), meta.offset + 1)
            async with conn.transaction():
                await conn.execute(
                    "update event_store set published = true where position = any($1::bigint[])",
                    [r["position"] for r in rows],
                )
                await conn.executemany(
                    """insert into relay_offsets (topic, partition, next_offset) values ($1, $2, $3)
                       on conflict (topic, partition) do update
                       set next_offset = greatest(relay_offsets.next_offset, excluded.next_offset)""",
                    [(t, p, o) for (t, p), o in ends.items()],
                )
            for r in rows:
                EVENTS_PUBLISHED.labels(r["event_type"]).inc()
            RELAY_BACKLOG.set(await conn.fetchval("select count(*) from event_store where not published"))
            return len(rows)

    async def check_broker(self) -> bool:
        """Republish everything if the broker lost what we published; True if it did."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("select topic, partition, next_offset from relay_offsets")
        if not rows:
            return False
        probe = kafka.consumer(self.bootstrap, None)
        await asyncio.wait_for(probe.start(), kafka.SEND_TIMEOUT)
        try:
            tps = [TopicPartition(r["topic"], r["partition"]) for r in rows]
            known = {tp for tp in tps if probe.partitions_for_topic(tp.topic)}
            ends = await asyncio.wait_for(probe.end_offsets(list(known)), kafka.SEND_TIMEOUT) if known else {}
        finally:
            await kafka.stop_quietly(probe)
        lost = [r for r in rows
                if ends.get(TopicPartition(r["topic"], r["partition"]), 0) < r["next_offset"]]
        if not lost:
            return False
        log.warning("broker_lost_events_republishing",
                    partitions=json.dumps([f"{r['topic']}/{r['partition']}" for r in lost]))
        RELAY_REPUBLISHES.inc()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("update event_store set published = false where published")
            await conn.execute("delete from relay_offsets")
        await kafka.ensure_topics(self.bootstrap, self.topics, self.partitions)
        return True
