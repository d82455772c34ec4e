"""The outbox relay: publishes stored events to Kafka, keyed by customer id.

Rows are read by what is pending (`outbox_pending`, filled by the insert into
`event_store` in the same transaction, runtime_0006), not by tailing the
position, so a transaction that commits late is never skipped. Publishing
deletes the pending rows: the events themselves are never updated. A crash
between send and mark republishes (at-least-once); consumers deduplicate by event id.
Only one replica relays at a time (a PostgreSQL advisory lock), which keeps
one customer's events in order. It wakes on the NOTIFY each append sends (a
statement trigger on the outbox) and otherwise polls slowly; each pass sends
batches pipelined with reading the next and marking the last (`publish_batch`).

The relay also watches the broker: if a partition it wrote to now ends below
what it already published (the broker lost its disk, a topic was deleted and
recreated, or the memory-only Tansu fallback restarted), it marks everything pending and publishes it all again.
"""
from __future__ import annotations

import asyncio
import json
import zlib
from collections import Counter

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import OffsetOutOfRangeError

from ..logging import get_logger
from ..metrics import EVENTS_PUBLISHED, RELAY_BACKLOG, RELAY_REPUBLISHES
from ..settings import Settings
from . import kafka
from .supervise import keep_running

log = get_logger(__name__)

# By position from a cursor: reading from the start each time would make one pass cost more the further
# it has gone. The bytes are the stored JSON as is (jsonb's text), what consumers have always received.
# The pending positions are looked up in event_store by its primary key (`= any(array(...))`): as a
# join the planner may pick a merge join that walks event_store's key from its first row every time.
_UNPUBLISHED_AFTER = """
select position, event_id, event_type, customer_id::text as key, convert_to(envelope::text, 'UTF8') as body
from event_store
where position = any(array(select position from outbox_pending where position > $1 order by position limit $2))
order by position"""
# One statement (one round trip, atomic without a transaction block): the rows marked published (no
# longer pending) and each partition's last offset and event id recorded.
_MARK_PUBLISHED = """
with marked as (delete from outbox_pending where position = any($1::bigint[]))
insert into relay_offsets (topic, partition, next_offset, last_event_id)
select * from unnest($2::text[], $3::int[], $4::bigint[], $5::uuid[])
on conflict (topic, partition) do update
set next_offset = excluded.next_offset, last_event_id = excluded.last_event_id
where relay_offsets.next_offset < excluded.next_offset"""
PENDING_COUNT = "select count(*) from outbox_pending"
REPUBLISH_ALL = "insert into outbox_pending (position) select position from event_store on conflict do nothing"


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, database_url: str, bootstrap: str, service: str,
                 topics: tuple[str, ...], partitions: int = 4, batch: int = 500,
                 poll_seconds: float = 1.0, broker_check_seconds: float = 5.0,
                 replication: int | None = None, linger_seconds: float = 0.005,
                 pass_seconds: float = 1.0, busy_rows: int = 50) -> None:
        self.pool, self.database_url, self.bootstrap = pool, database_url, bootstrap
        self.topics, self.partitions = topics, partitions
        self.replication = replication if replication is not None else Settings().topic_replication
        self.batch, self.poll_seconds, self.broker_check_seconds = batch, poll_seconds, broker_check_seconds
        # linger: after a wake-up while busy (the last pass published `busy_rows` or more), let the
        # commits of a burst gather into one batch; a lone commit under light load goes out at once.
        # pass: how long one pass may read ahead by position before it starts again from the oldest
        # unpublished row
        self.linger_seconds, self.pass_seconds, self.busy_rows = linger_seconds, pass_seconds, busy_rows
        self.lock_key = zlib.crc32(f"relay:{service}".encode())
        self._wake = asyncio.Event()
        self._backlog_counted_at = 0.0
        self.is_leader = False
        self.caught_up = True  # the last pass's last read found fewer rows than a batch

    async def run(self) -> None:
        """Run forever: wait for leadership, then publish; reconnect on failure."""
        await keep_running(self._lead, "relay_restarting", on_failure=self._lost)

    def _lost(self) -> None:
        self.is_leader = False

    async def _lead(self) -> None:
        listen = await asyncpg.connect(self.database_url)
        producer = kafka.producer(self.bootstrap)
        try:
            while not await listen.fetchval("select pg_try_advisory_lock($1)", self.lock_key):
                await asyncio.sleep(2.0)
            self.is_leader = True
            await listen.add_listener("event_store", lambda *_: self._wake.set())
            # bounded like every other broker call: with the controller quorum lost, an admin client can
            # wait for metadata forever, and the relay would never publish again once the brokers return
            await asyncio.wait_for(kafka.ensure_topics(self.bootstrap, self.topics, self.partitions, self.replication),
                                   2 * kafka.SEND_TIMEOUT)
            await asyncio.wait_for(producer.start(), kafka.SEND_TIMEOUT)
            await self._publish_loop(producer)
        finally:
            self.is_leader = False
            await kafka.stop_quietly(producer)
            await listen.close(timeout=5)

    async def _publish_loop(self, producer: AIOKafkaProducer) -> None:
        """Publish whenever the outbox has rows: woken by the NOTIFY of every append (runtime_0001's
        trigger), polling every `poll_seconds` in case a notification is lost."""
        loop = asyncio.get_running_loop()
        next_check = 0.0
        while True:
            if loop.time() >= next_check:
                await self.check_broker()
                next_check = loop.time() + self.broker_check_seconds
            self._wake.clear()
            published = await self.publish_batch(producer)
            if published and not self.caught_up:
                continue  # more to read at once
            # Caught up: a row that commits from now on (or committed during the pass, below its
            # cursor) notifies at its commit, so the wait below ends at once for it.
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                continue
            if published >= self.busy_rows:  # a burst is under way: let its next commits join this batch
                await asyncio.sleep(self.linger_seconds)

    async def publish_batch(self, producer: AIOKafkaProducer) -> int:
        """One pass over the outbox: publish the unpublished rows in position order, `batch` at a
        time, until none is left or `pass_seconds` have gone; returns how many were published.

        Pipelined on one connection: while a batch is on its way to the broker, the batch before it
        (acknowledged) is marked published and the next one is read. A batch is sent only once the
        batch before it is acknowledged, so one customer's events reach the broker in order, and rows
        are marked only once acknowledged (at-least-once). Within a pass rows are read after the last
        one read; a row that commits late below that cursor is read by the next pass, which starts from
        the oldest unpublished row.
        """
        deadline = asyncio.get_running_loop().time() + self.pass_seconds
        published, acknowledged, more = 0, None, False
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(_UNPUBLISHED_AFTER, 0, self.batch)
            self.caught_up = len(rows) < self.batch
            while rows:
                futures = await _send_all(producer, rows)
                if acknowledged is not None:
                    await _mark_published(conn, *acknowledged)
                more = len(rows) == self.batch and asyncio.get_running_loop().time() < deadline
                following = await conn.fetch(_UNPUBLISHED_AFTER, rows[-1]["position"], self.batch) if more else []
                self.caught_up = len(following) < self.batch if more else len(rows) < self.batch
                acknowledged = (rows, await asyncio.wait_for(asyncio.gather(*futures), kafka.SEND_TIMEOUT))
                published += len(rows)
                rows = following
            if acknowledged is not None:
                await _mark_published(conn, *acknowledged)
            await self._report_backlog(conn, caught_up=not more)
        return published

    async def _report_backlog(self, conn: asyncpg.Connection, caught_up: bool) -> None:
        """Counting unpublished rows costs a scan: at most once a second while behind."""
        now = asyncio.get_running_loop().time()
        if caught_up:
            RELAY_BACKLOG.set(0)
        elif now - self._backlog_counted_at >= 1.0:
            RELAY_BACKLOG.set(await conn.fetchval(PENDING_COUNT))
            self._backlog_counted_at = now

    async def check_broker(self) -> bool:
        """Republish everything if the broker lost what we published; True if it did.

        For each partition we wrote, the last record we published must still be
        there at its offset with its event id. (End offsets alone would do on
        Apache Kafka, but the Tansu fallback answers them wrongly.)
        """
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("select topic, partition, next_offset, last_event_id from relay_offsets")
        if not rows:
            return False
        lost = await _missing_records(self.bootstrap, rows)
        if lost is None or not lost:
            return False
        log.warning("broker_lost_events_republishing", partitions=json.dumps(sorted(lost)))
        RELAY_REPUBLISHES.inc()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(REPUBLISH_ALL)
            await conn.execute("delete from relay_offsets")
        await asyncio.wait_for(kafka.ensure_topics(self.bootstrap, self.topics, self.partitions, self.replication),
                               2 * kafka.SEND_TIMEOUT)
        return True


async def _send_all(producer: AIOKafkaProducer, rows: list) -> list[asyncio.Future]:
    """Hand the rows to the producer, each to the partition Kafka's default partitioner picks for its
    key (murmur2 of the customer id), computed here faster than aiokafka's pure-Python one."""
    partitions = {t: sorted(await producer.partitions_for(t)) for t in {r["event_type"] for r in rows}}
    futures = []
    for r in rows:
        key = r["key"].encode()
        chosen = partitions[r["event_type"]]
        futures.append(await producer.send(r["event_type"], value=r["body"], key=key,
                                           partition=chosen[kafka.key_partition(key, len(chosen))]))
    return futures


async def _mark_published(conn: asyncpg.Connection, rows: list, metas: list) -> None:
    """The rows are on the broker: mark them, and keep each partition's last offset and event id."""
    last: dict[tuple[str, int], tuple[int, object]] = {}
    for row, meta in zip(rows, metas, strict=True):
        key = (meta.topic, meta.partition)
        if meta.offset + 1 > last.get(key, (-1, None))[0]:
            last[key] = (meta.offset + 1, row["event_id"])
    await conn.execute(_MARK_PUBLISHED, [r["position"] for r in rows], [t for t, _ in last], [p for _, p in last],
                       [o for o, _ in last.values()], [e for _, e in last.values()])
    for event_type, count in Counter(r["event_type"] for r in rows).items():
        EVENTS_PUBLISHED.labels(event_type).inc(count)


def _event_id(value: bytes | None) -> str | None:
    try:
        return str(json.loads(value)["event_id"])
    except (ValueError, TypeError, KeyError):
        return None


async def _missing_records(bootstrap: str, rows: list) -> list[str] | None:
    """Partitions whose last published record is gone; None when the broker did not answer."""
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="none", request_timeout_ms=10_000, **kafka.client_kwargs())
    await asyncio.wait_for(probe.start(), kafka.SEND_TIMEOUT)
    try:
        existing = await asyncio.wait_for(probe.topics(), kafka.SEND_TIMEOUT)
        lost = [f"{r['topic']}/{r['partition']}" for r in rows if r["topic"] not in existing]
        wanted = {TopicPartition(r["topic"], r["partition"]): r for r in rows if r["topic"] in existing}
        if not wanted:
            return lost
        probe.assign(list(wanted))
        for tp, r in wanted.items():
            probe.seek(tp, r["next_offset"] - 1)
        seen: dict[TopicPartition, bool] = {}
        deadline = asyncio.get_running_loop().time() + 10
        while len(seen) < len(wanted) and asyncio.get_running_loop().time() < deadline:
            try:
                batch = await probe.getmany(timeout_ms=500)
            except OffsetOutOfRangeError as exc:
                for tp in exc.args[0] if exc.args and isinstance(exc.args[0], dict) else wanted:
                    seen[tp] = False
                    probe.pause(tp)
                continue
            for tp, records in batch.items():
                if tp in seen or not records:
                    continue
                first = records[0]
                seen[tp] = first.offset == wanted[tp]["next_offset"] - 1 and \
                    _event_id(first.value) == str(wanted[tp]["last_event_id"])
                probe.pause(tp)
            for tp, r in wanted.items():  # an empty fetch with a high watermark below ours
                high = probe.highwater(tp)
                if tp not in seen and high is not None and high < r["next_offset"]:
                    seen[tp] = False
                    probe.pause(tp)
        if len(seen) < len(wanted) and not lost and not any(v is False for v in seen.values()):
            return None  # inconclusive: try again at the next check
        return lost + [f"{tp.topic}/{tp.partition}" for tp, ok in seen.items() if not ok]
    finally:
        await kafka.stop_quietly(probe)
