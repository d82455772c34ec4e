"""Event append: our store (concurrency check + outbox) vs the eventsourcing
library's PostgreSQL recorder vs a raw batched INSERT, on the same database."""
from __future__ import annotations

import asyncio
import uuid
from urllib.parse import parse_qs, urlsplit

import asyncpg

from shared.runtime.db import create_pool
from shared.runtime.store import append

from .common import Figure, Infra, sample_contacts, timed


async def ours_sequential(url: str, n: int) -> float:
    """One transaction per event, as an HTTP command does it."""
    events = sample_contacts(n)
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        with timed() as t:
            async with pool.acquire() as conn:
                for e in events:
                    async with conn.transaction():
                        await append(conn, f"customer-{e.customer_id}", [e], expected_version=0)
    finally:
        await pool.close()
    return n / t["seconds"]


async def ours_concurrent(url: str, n: int, clients: int = 8) -> float:
    events = sample_contacts(n)
    pool = await create_pool(url, min_size=clients, max_size=clients)

    async def worker(chunk):
        async with pool.acquire() as conn:
            for e in chunk:
                async with conn.transaction():
                    await append(conn, f"customer-{e.customer_id}", [e], expected_version=0)

    try:
        with timed() as t:
            await asyncio.gather(*(worker(events[i::clients]) for i in range(clients)))
    finally:
        await pool.close()
    return n / t["seconds"]


async def raw_batched_insert(url: str, n: int) -> float:
    """The physical limit: the same rows in one COPY, no checks, no outbox."""
    events = sample_contacts(n)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("create table raw_events (event_id uuid primary key, stream_id text, "
                           "version int, event_type text, body jsonb)")
        rows = [(e.event_id, f"customer-{e.customer_id}", 1, e.event_type, e.model_dump_json()) for e in events]
        with timed() as t:
            await conn.copy_records_to_table("raw_events", records=rows)
    finally:
        await conn.close()
    return n / t["seconds"]


def eventsourcing_recorder(url: str, n: int, writers: int = 1) -> float:
    """pyeventsourcing's PostgresApplicationRecorder, one insert_events call per event, from
    `writers` threads sharing a pool of as many connections (psycopg releases the GIL on I/O)."""
    from concurrent.futures import ThreadPoolExecutor

    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parts = urlsplit(url)
    host = parse_qs(parts.query).get("host", [parts.hostname or "localhost"])[0]
    datastore = PostgresDatastore(dbname=parts.path.lstrip("/"), host=host, port=parts.port or 5432,
                                  user=parts.username or "postgres", password=parts.password or "",
                                  pool_size=writers, max_waiting=writers)
    recorder = PostgresApplicationRecorder(datastore, events_table_name=f"stored_events_{writers}")
    recorder.create_table()
    bodies = [e.model_dump_json().encode() for e in sample_contacts(n)]

    def write(chunk: list[bytes]) -> None:
        for body in chunk:
            recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "contact-received", body)])

    with ThreadPoolExecutor(writers) as threads, timed() as t:
        list(threads.map(write, [bodies[i::writers] for i in range(writers)]))
    datastore.close()
    return n / t["seconds"]


async def run(infra: Infra, sizes: tuple[int, ...]) -> list[Figure]:
    figures = []
    for n in sizes:
        ours = await ours_sequential(await infra.database("intake"), n)
        theirs = await asyncio.to_thread(eventsourcing_recorder, await infra.database("intake", False), n)
        raw = await raw_batched_insert(await infra.database("intake", False), n)
        concurrent = await ours_concurrent(await infra.database("intake"), n)
        theirs_concurrent = await asyncio.to_thread(eventsourcing_recorder,
                                                    await infra.database("intake", False), n, 8)
        figures += [
            Figure("event append, 1 event per transaction", "events/s", ours, theirs,
                   "eventsourcing PostgresApplicationRecorder", n),
            Figure("event append vs physical limit", "events/s", ours, raw, "raw COPY of the same rows", n),
            Figure("event append, 8 concurrent writers each", "events/s", concurrent, theirs_concurrent,
                   "eventsourcing recorder, 8 writer threads", n),
        ]
    return figures
