"""The projection in PostgreSQL: fed in different orders, rebuilt from the log, rebuilt under load."""
from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime

import asyncpg

from services.analytics.domain.filters import Filters
from services.analytics.tests.reference.reports import REPORTS, run
from services.analytics.domain.state import fold_all
from services.analytics.handlers import apply_event
from services.analytics.projection import load_costs, load_states
from services.analytics.replay import ReplayRunning, rebuild, rebuild_if_empty
from services.analytics.tests.history import History
from shared.runtime.consumer import Inbound

HISTORY = History(seed=5, customers=30)
NOW = datetime(2026, 9, 1, tzinfo=UTC)


async def feed(pool, events) -> None:
    async with pool.acquire() as conn:
        for e in events:
            async with conn.transaction():
                await apply_event(conn, Inbound(e.event_id, e.customer_id, e, e.payload))


async def answers(pool) -> str:
    """Every report, serialised: the bytes a client would get."""
    async with pool.acquire() as conn:
        states, costs = await load_states(conn), await load_costs(conn)
    return json.dumps({n: run(n, states, costs, Filters(now=NOW)) for n in REPORTS}, ensure_ascii=False)


async def daily_counts(pool) -> list:
    """The daily report's stored counts (services/analytics/day_counts.py), every row."""
    async with pool.acquire() as conn:
        return [[tuple(r) for r in await conn.fetch(f"select * from {table} order by 1, 2, 3")]
                for table in ("day_counts", "day_totals")]


async def test_orders_replay_and_the_pure_fold_agree(service_db):
    _, first = await service_db("analytics")
    _, second = await service_db("analytics")
    events = list(HISTORY.events)
    await feed(first, events)
    shuffled = events[:]
    random.Random(99).shuffle(shuffled)
    await feed(second, shuffled + shuffled[:40])  # redelivery changes nothing
    before, counts = await answers(first), await daily_counts(first)
    assert before == await answers(second)
    assert counts[0] and counts == await daily_counts(second)  # added up batch by batch, in any order
    async with first.acquire() as conn:
        assert await load_states(conn) == fold_all(events)
    result = await rebuild(first)
    assert result["customers"] == len({e.customer_id for e in events})
    assert await answers(first) == before  # byte for byte
    assert await daily_counts(first) == counts  # counted at once by the replay
    async with first.acquire() as conn:
        await conn.execute("delete from customer_facts")
    await rebuild(first)
    assert await answers(first) == before


async def test_events_arriving_during_a_replay_are_not_lost(service_db):
    _, pool = await service_db("analytics")
    events = list(HISTORY.events)
    await feed(pool, events[:300])
    progress: list[tuple[int, int]] = []
    replay = asyncio.create_task(rebuild(pool, progress=lambda d, t: progress.append((d, t)), chunk=5))
    await feed(pool, events[300:])
    await replay
    assert progress and progress[-1][0] == progress[-1][1]
    async with pool.acquire() as conn:
        assert await load_states(conn) == fold_all(events)


async def test_one_replay_at_a_time(service_db):
    _, pool = await service_db("analytics")
    await feed(pool, HISTORY.events[:50])
    async with pool.acquire() as conn:
        await conn.fetchval("select pg_advisory_lock($1)", 0x6A11_0001)
        try:
            try:
                await rebuild(pool)
                raise AssertionError("a second replay must be refused")
            except ReplayRunning as exc:
                assert exc.status_code == 409
        finally:
            await conn.fetchval("select pg_advisory_unlock($1)", 0x6A11_0001)


async def test_two_replicas_writing_the_same_customers_lose_nothing(service_db):
    """Scale-out: replicas consume different topics' partitions, so one customer's events are applied
    concurrently by two consumers, each in batch transactions."""
    _, pool = await service_db("analytics")
    events = list(HISTORY.events)
    odd = {"prospect-graded", "task-scheduled", "deal-closed", "complaint-updated"}
    by_customer = sorted(events, key=lambda e: (str(e.customer_id), e.occurred_at))  # both on the same customers
    halves = [[e for e in by_customer if e.event_type in odd], [e for e in by_customer if e.event_type not in odd]]

    async def replica(part):
        async with pool.acquire() as conn:
            for i in range(0, len(part), 3):
                for attempt in range(5):
                    try:
                        async with conn.transaction():
                            for e in part[i:i + 3]:
                                await apply_event(conn, Inbound(e.event_id, e.customer_id, e, e.payload))
                        break
                    except asyncpg.DeadlockDetectedError:  # the consumer retries the batch
                        await asyncio.sleep(0.01 * attempt)

    await asyncio.gather(*(replica(h) for h in halves))
    async with pool.acquire() as conn:
        assert await load_states(conn) == fold_all(events)


async def test_an_empty_projection_is_rebuilt_at_start(service_db):
    _, pool = await service_db("analytics")
    await feed(pool, HISTORY.events[:80])
    async with pool.acquire() as conn:
        before = await load_states(conn)
        await conn.execute("delete from customer_facts")
    await rebuild_if_empty(pool)
    async with pool.acquire() as conn:
        assert await load_states(conn) == before


async def test_a_replay_on_two_processes_builds_what_one_builds(service_db, monkeypatch):
    """Workers fold disjoint ranges of customers (merged ones across ranges included)."""
    from services.analytics import replay

    url, pool = await service_db("analytics")
    history = History(seed=11, customers=80)
    await feed(pool, list(history.events))
    before = await answers(pool)
    monkeypatch.setattr(replay, "PARALLEL_FROM", 1)
    progress: list[tuple[int, int]] = []
    result = await rebuild(pool, database_url=url, workers=2, chunk=7, progress=lambda d, t: progress.append((d, t)))
    assert result["workers"] == 2 and result["customers"] == len({e.customer_id for e in history.events})
    assert await answers(pool) == before
    async with pool.acquire() as conn:
        assert await load_states(conn) == fold_all(list(history.events))
    assert progress and all(total == result["customers"] for _, total in progress)
