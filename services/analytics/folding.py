"""Folding the customers whose logged events are not folded yet: many batches' events, one fold.

The consumer logs a batch and marks the customers it touched (`mark`, same transaction); the
folder (`Folder`, one loop per process; replicas share the marks) takes the marks it can see,
folds their customers (projection.refresh) and deletes the marks, in one transaction. Woken by
the NOTIFY each mark sends at commit: under light load a contact reaches the read model a moment
after it is logged. Under load, the folder folds while the consumer logs the next batches, and a
customer that several of them touched in the meantime (a contact, its owner, its grade, its first
task: four producers, four batches) is folded once for all of them.

Why no event is left unfolded: a mark is written in the transaction that logs its events, so the
folder sees a mark only once its events are committed, and a fold reads every event committed
before it started. Marks are only inserted and deleted (never updated): the consumer never waits
for the folder, the folder never for the consumer (`skip locked` between folders).
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

import asyncpg

from shared.logging import get_logger
from shared.metrics import ANALYTICS_UNFOLDED
from shared.runtime.consumer import TRANSIENT
from shared.runtime.db import plan_for_this_batch
from shared.runtime.supervise import keep_running

from .projection import refresh

log = get_logger(__name__)
CHANNEL = "fold_marks"
TAKE = 5000  # marks per fold transaction: a few thousand customers, about a second of folding


async def mark(conn: asyncpg.Connection, ids: Iterable[str | uuid.UUID]) -> None:
    """These customers have events to fold (in the transaction that logged them): one statement."""
    await conn.execute("insert into fold_marks (customer_id) select unnest($1::uuid[])",
                       sorted({uuid.UUID(str(i)) for i in ids}))
    await conn.execute("select pg_notify($1, '')", CHANNEL)


async def fold_marked(pool: asyncpg.Pool, limit: int = TAKE) -> int:
    """Fold the customers of the oldest marks (up to `limit` marks) and delete those marks, in one
    transaction; returns how many marks were taken. A fold that raises is tried again customer by
    customer; a customer whose own fold raises is recorded in `fold_failed` (and logged) instead."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            await plan_for_this_batch(conn)
            taken = await _take(conn, limit)
            if taken:
                folded = {str(c) for c in taken}
                await refresh(conn, folded)
                await conn.execute("delete from fold_failed where customer_id = any($1::uuid[])", sorted(folded))
            return len(taken)
    except TRANSIENT:
        raise
    except Exception:  # noqa: BLE001 - one customer's fold must not stop everyone's
        return await _fold_one_by_one(pool, limit)


async def _take(conn: asyncpg.Connection, limit: int, customer_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    """The marks taken (deleted), as their customers (repeated where a customer has several)."""
    rows = await conn.fetch(
        """delete from fold_marks m using (
               select seq from fold_marks where $2::uuid is null or customer_id = $2
               order by seq limit $1 for update skip locked) t
           where m.seq = t.seq returning m.customer_id""", limit, customer_id)
    return [r[0] for r in rows]


async def _fold_one_by_one(pool: asyncpg.Pool, limit: int) -> int:
    async with pool.acquire() as conn:
        ids = list(dict.fromkeys(r[0] for r in await conn.fetch(
            "select customer_id from fold_marks order by seq limit $1", limit)))
    for customer_id in ids:
        try:
            async with pool.acquire() as conn, conn.transaction():
                if await _take(conn, limit, customer_id):
                    await refresh(conn, [str(customer_id)])
                    await conn.execute("delete from fold_failed where customer_id = $1", customer_id)
        except TRANSIENT:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded and reported; the other customers go on
            # the kind of error only: a message may quote the event's (personal) values
            log.error("fold_failed", customer_id=str(customer_id), error=type(exc).__name__)
            async with pool.acquire() as conn, conn.transaction():
                await _take(conn, limit, customer_id)
                await conn.execute(
                    """insert into fold_failed (customer_id, failed_at, error) values ($1, now(), $2)
                       on conflict (customer_id) do update set failed_at = now(), error = excluded.error""",
                    customer_id, type(exc).__name__)
    return len(ids)


async def read_fold_gauges(conn: asyncpg.Connection) -> None:
    """`crm_analytics_unfolded{state}`: customers waiting to be folded, and those whose fold failed."""
    waiting = await conn.fetchval("select count(distinct customer_id) from fold_marks")
    ANALYTICS_UNFOLDED.labels("waiting").set(waiting)
    ANALYTICS_UNFOLDED.labels("failed").set(await conn.fetchval("select count(*) from fold_failed"))


class Folder:
    """The loop: fold while marks wait, then sleep until a NOTIFY (or `poll_seconds`, should one be lost)."""

    def __init__(self, pool: asyncpg.Pool, database_url: str, poll_seconds: float = 1.0) -> None:
        self.pool, self.database_url, self.poll_seconds = pool, database_url, poll_seconds
        self._wake = asyncio.Event()

    async def run(self) -> None:
        await keep_running(self._listen_and_fold, "folder_restarting")

    async def _listen_and_fold(self) -> None:
        listen = await asyncpg.connect(self.database_url)
        try:
            await listen.add_listener(CHANNEL, lambda *_: self._wake.set())
            while True:
                self._wake.clear()
                if await fold_marked(self.pool):
                    continue  # more may wait; a mark that commits from now on notifies
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                except TimeoutError:
                    pass
        finally:
            await listen.close(timeout=5)
