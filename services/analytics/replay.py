"""Rebuild the projections from the event log while the old ones keep serving.

The new rows are built into shadow tables (every table of the read model,
services/analytics/tables.py, with the suffix `_rebuild`); then, in one
transaction that briefly blocks new events (SHARE lock on event_log), the
customers whose events arrived during the build are caught up and the tables
swap names (with their indexes, and the `customer_summary` view made again). Readers see either the old projection or the new one, never a mix.
Personal fields are opened with the key vault as the rows are folded (projection
.load_events): an erased customer's key is gone, so a replay after an erasure
yields no personal data. Outside a service (`crm replay --database-url`) the
vault comes from CRM_VAULT_URL.
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import asyncpg

from shared.errors import Conflict
from shared.runtime.db import create_pool
from shared.runtime.vault import process_vault

from . import day_counts
from .projection import COST_EVENT, refresh
from .tables import FACTS, SUMMARY_VIEW, TABLES, ddl, index_names

REBUILD = "_rebuild"
LOCK_KEY = 0x6A11_0001
Progress = Callable[[int, int], None]
# Below this many customers one process folds them all: starting a worker (a fresh
# interpreter importing the service) costs about a second.
PARALLEL_FROM = 2_000


class ReplayRunning(Conflict):
    """Another replay holds the lock."""


async def rebuild(pool: asyncpg.Pool, progress: Progress | None = None, chunk: int = 500, *,
                  database_url: str | None = None, vault_url: str | None = None,
                  workers: int | None = None) -> dict[str, Any]:
    """Rebuild every projection from the event log into shadow tables, then swap them in.

    Folding is CPU-bound Python (decoding envelopes, folding each customer): with
    `database_url`, `workers` processes (default: the machine's cores, at most 4) fold
    disjoint, contiguous ranges of customer ids at once, each on its own connection
    (issue 14: replay on both cores). Without it, or for a small log, this process folds alone."""
    async with process_vault():
        return await _rebuild(pool, progress, chunk, database_url, vault_url,
                              workers if workers is not None else min(os.cpu_count() or 1, 4))


async def _rebuild(pool: asyncpg.Pool, progress: Progress | None, chunk: int, database_url: str | None,
                   vault_url: str | None, workers: int) -> dict[str, Any]:
    started = time.perf_counter()
    async with pool.acquire() as conn:
        if not await conn.fetchval("select pg_try_advisory_lock($1)", LOCK_KEY):
            raise ReplayRunning("a replay is already running", field="replay", location="body")
        try:
            await _drop_shadow(conn)
            for statement in ddl(REBUILD):
                await conn.execute(statement)
            ids = [r[0] for r in await conn.fetch(
                "select distinct customer_id::text from event_log where event_type <> $1 order by 1", COST_EVENT)]
            events = await conn.fetchval("select count(*) from event_log")
            if database_url and workers > 1 and len(ids) >= PARALLEL_FROM:
                await _fold_in_processes(conn, ids, chunk, database_url, vault_url, workers, progress)
            else:
                await _fold_ranges(conn, ids, chunk, progress)
            await _retrying(conn, lambda: day_counts.count_all(conn, REBUILD))  # once, not per chunk
            caught_up = await _retrying(conn, lambda: _swap(conn))
        finally:
            await _drop_shadow(conn)
            await conn.fetchval("select pg_advisory_unlock($1)", LOCK_KEY)
    return {"customers": len(ids), "events": events, "caught_up": caught_up, "workers": workers,
            "seconds": round(time.perf_counter() - started, 3)}


async def _fold_ranges(conn: asyncpg.Connection, ids: list[str], chunk: int, progress: Progress | None,
                       total: int | None = None) -> None:
    async def fold(part: list[str]) -> None:
        # A chunk's commit need not wait for its WAL to reach the disk: the shadow tables only count once
        # swapped in, by a transaction that does wait; a crash before that loses the rebuild anyway.
        await conn.execute("set local synchronous_commit = off")
        await refresh(conn, part, REBUILD, counts=False)

    for i in range(0, len(ids), chunk):
        part = ids[i:i + chunk]
        await _retrying(conn, lambda part=part: fold(part))
        if progress:
            progress(i + len(part), total or len(ids))


async def _fold_in_processes(conn: asyncpg.Connection, ids: list[str], chunk: int, database_url: str,
                             vault_url: str | None, workers: int, progress: Progress | None) -> None:
    """Each worker folds one contiguous range. A merged customer's survivor may sit in another
    range: `refresh` rewrites a survivor's rows whole, so two workers writing it agree, and a
    deadlock between them is retried like one with a consumer."""
    size = -(-len(ids) // workers)
    ranges = [ids[i:i + size] for i in range(0, len(ids), size)]
    loop = asyncio.get_running_loop()
    # spawn, not fork: a forked child would inherit this process's event loop and connections
    with ProcessPoolExecutor(len(ranges), mp_context=multiprocessing.get_context("spawn")) as pool:
        running = [loop.run_in_executor(pool, fold_range, database_url, vault_url, part, chunk) for part in ranges]
        pending = set(running)
        while pending:
            _, pending = await asyncio.wait(pending, timeout=0.5)
            if progress:
                done = await conn.fetchval(f"select count(*) from {FACTS}{REBUILD}")
                progress(min(done, len(ids)), len(ids))
        for finished in running:
            finished.result()  # a worker's failure fails the replay (the old tables keep serving)


def fold_range(database_url: str, vault_url: str | None, ids: list[str], chunk: int) -> int:
    """In a worker process: fold these customers into the shadow tables."""
    gc.freeze()  # the imported modules' objects: the collector need not walk them again and again while folding

    async def fold() -> int:
        pool = await create_pool(database_url, min_size=1, max_size=1)
        try:
            async with process_vault(vault_url), pool.acquire() as conn:
                await _fold_ranges(conn, ids, chunk, None)
        finally:
            await pool.close()
        return len(ids)

    return asyncio.run(fold())


async def _retrying(conn: asyncpg.Connection, work: Callable[[], Awaitable[Any]], attempts: int = 5) -> Any:
    """Run `work` in a transaction; a deadlock with a consumer (per-customer locks) is retried."""
    for attempt in range(attempts):
        try:
            async with conn.transaction():
                return await work()
        except asyncpg.DeadlockDetectedError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))


async def _drop_shadow(conn: asyncpg.Connection) -> None:
    for table in TABLES:
        await conn.execute(f"drop table if exists {table}{REBUILD}")


async def _swap(conn: asyncpg.Connection) -> int:
    """Inside a transaction: catch up what arrived during the build, then swap the tables' names."""
    await conn.execute("lock table event_log in share mode")
    stale = [r[0] for r in await conn.fetch(
        f"""select e.customer_id::text from
              (select customer_id, count(*) as n from event_log where event_type <> $1 group by 1) e
            left join {FACTS}{REBUILD} r using (customer_id) where r.own_events is distinct from e.n""", COST_EVENT)]
    if stale:
        await refresh(conn, stale, REBUILD)
    await conn.execute("drop view if exists customer_summary")
    new_names, base_names = index_names(REBUILD), index_names()
    for table in TABLES:
        await conn.execute(f"drop table {table}")
        await conn.execute(f"alter table {table}{REBUILD} rename to {table}")
        for new, base in zip(new_names[table], base_names[table], strict=True):
            await conn.execute(f"alter index {new} rename to {base}")
    await conn.execute(SUMMARY_VIEW)
    return len(stale)


async def rebuild_if_empty(pool: asyncpg.Pool, database_url: str | None = None, vault_url: str | None = None) -> None:
    """At startup: a projection added by an upgrade starts from the whole log."""
    async with pool.acquire() as conn:
        empty = await conn.fetchval(f"select not exists (select 1 from {FACTS})")
        has_events = await conn.fetchval("select exists (select 1 from event_log where event_type <> $1)",
                                         COST_EVENT)
    if empty and has_events:
        with contextlib.suppress(ReplayRunning):  # another replica is rebuilding it
            await rebuild(pool, database_url=database_url, vault_url=vault_url)
