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
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from shared.errors import Conflict
from shared.runtime.vault import process_vault

from . import day_counts
from .projection import COST_EVENT, refresh
from .tables import FACTS, SUMMARY_VIEW, TABLES, ddl, index_names

REBUILD = "_rebuild"
LOCK_KEY = 0x6A11_0001
Progress = Callable[[int, int], None]


class ReplayRunning(Conflict):
    """Another replay holds the lock."""


async def rebuild(pool: asyncpg.Pool, progress: Progress | None = None, chunk: int = 200) -> dict[str, Any]:
    async with process_vault():
        return await _rebuild(pool, progress, chunk)


async def _rebuild(pool: asyncpg.Pool, progress: Progress | None, chunk: int) -> dict[str, Any]:
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
            done = 0
            for i in range(0, len(ids), chunk):
                part = ids[i:i + chunk]
                await _retrying(conn, lambda part=part: refresh(conn, part, REBUILD, counts=False))
                done += len(part)
                if progress:
                    progress(done, len(ids))
            await _retrying(conn, lambda: day_counts.count_all(conn, REBUILD))  # once, not per chunk
            caught_up = await _retrying(conn, lambda: _swap(conn))
        finally:
            await _drop_shadow(conn)
            await conn.fetchval("select pg_advisory_unlock($1)", LOCK_KEY)
    return {"customers": len(ids), "events": events, "caught_up": caught_up,
            "seconds": round(time.perf_counter() - started, 3)}


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


async def rebuild_if_empty(pool: asyncpg.Pool) -> None:
    """At startup: a projection added by an upgrade starts from the whole log."""
    async with pool.acquire() as conn:
        empty = await conn.fetchval(f"select not exists (select 1 from {FACTS})")
        has_events = await conn.fetchval("select exists (select 1 from event_log where event_type <> $1)",
                                         COST_EVENT)
    if empty and has_events:
        with contextlib.suppress(ReplayRunning):  # another replica is rebuilding it
            await rebuild(pool)
