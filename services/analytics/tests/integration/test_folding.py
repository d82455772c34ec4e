"""The folder (services/analytics/folding.py): the consumer logs and marks, the folder folds each
marked customer once for all the batches that touched them, never before their events commit, never
waits for a consumer nor makes one wait, and one customer's failing fold holds up no one else."""
from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from services.analytics.folding import fold_marked, mark, read_fold_gauges
from services.analytics.handlers import log_and_mark
from services.analytics.replay import rebuild
from services.analytics.tables import FACTS, TABLES
from services.analytics.tests.history import History
from shared.metrics import ANALYTICS_UNFOLDED
from shared.runtime.consumer import Inbound
from tests.support.fixtures import fresh_database

from .test_refresh_writes import read_model

EVENTS = list(History(seed=5, customers=12, days=60).events)


@pytest.fixture
async def analytics(postgres):
    _, pool = await fresh_database(postgres, "analytics")
    yield pool
    await pool.close()


def inbound(events) -> list[Inbound]:
    return [Inbound(e.event_id, e.customer_id, e, e.payload) for e in events]


async def logged(pool, batches) -> None:
    async with pool.acquire() as conn:
        for batch in batches:
            async with conn.transaction():
                await log_and_mark(conn, inbound(batch))


async def marks(pool) -> set[uuid.UUID]:
    return {r[0] for r in await pool.fetch("select customer_id from fold_marks")}


async def failed(pool) -> set[uuid.UUID]:
    return {r[0] for r in await pool.fetch("select customer_id from fold_failed")}


async def test_marked_customers_are_folded_once_and_end_where_a_full_refold_ends(analytics):
    await logged(analytics, [EVENTS[i:i + 7] for i in range(0, len(EVENTS), 7)])
    customers = {e.customer_id for e in EVENTS}
    assert await marks(analytics) == customers
    assert await analytics.fetchval(f"select count(*) from {FACTS}") == 0  # nothing folded by the consumer
    taken = await analytics.fetchval("select count(*) from fold_marks")
    assert taken > len(customers)  # customers touched by several batches: marked by each
    assert await fold_marked(analytics) == taken
    assert await marks(analytics) == set()
    assert await fold_marked(analytics) == 0
    folded = await read_model(analytics)
    assert folded["fact_deals"] and folded["fact_merges"]
    await rebuild(analytics)  # every customer folded whole into empty tables
    assert folded == await read_model(analytics)


async def test_a_mark_whose_events_are_not_committed_is_left_for_later_and_nobody_waits(analytics):
    buyer = EVENTS[0].customer_id
    mine = [e for e in EVENTS if e.customer_id == buyer]
    await logged(analytics, [mine[:1]])
    async with analytics.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await log_and_mark(conn, inbound(mine[1:]))  # a second mark, and events, not yet committed
        # the folder takes the committed mark without waiting for the open transaction
        assert await asyncio.wait_for(fold_marked(analytics), 5) == 1
        assert await analytics.fetchval(f"select own_events from {FACTS} where customer_id = $1", buyer) == 1
        await tx.commit()
    assert await fold_marked(analytics) == 1
    assert await analytics.fetchval(f"select own_events from {FACTS} where customer_id = $1", buyer) == len(mine)
    assert await marks(analytics) == set()


async def test_a_customer_whose_fold_fails_is_recorded_and_the_others_are_folded(analytics):
    broken, others = uuid.uuid4(), [e for e in EVENTS if e.customer_id == EVENTS[0].customer_id]
    async with analytics.acquire() as conn:
        await conn.execute(  # a deal the fold cannot read: its amount is not a number
            "insert into event_log (event_id, event_type, customer_id, occurred_at, envelope)"
            " values ($1, 'deal-closed', $2, now(), $3::jsonb)",
            uuid.uuid4(), broken, json.dumps({"schema_version": 1, "payload": {"deal_id": str(uuid.uuid4()), "amount": "lots"}}))
        async with conn.transaction():
            await mark(conn, [broken])
            await log_and_mark(conn, inbound(others))
    assert await fold_marked(analytics) == 2  # the two customers, one by one after the batch failed
    assert await analytics.fetchval(f"select count(*) from {FACTS} where customer_id = $1", others[0].customer_id) == 1
    assert await marks(analytics) == set() and await failed(analytics) == {broken}
    async with analytics.acquire() as conn:
        await read_fold_gauges(conn)
        assert ANALYTICS_UNFOLDED.labels("failed")._value.get() == 1
        await conn.execute("update event_log set envelope = jsonb_set(envelope, '{payload,amount}', '\"12.50\"')"
                           " where customer_id = $1", broken)  # say a fix of the fold: the next mark folds them
        await mark(conn, [broken])
    assert await fold_marked(analytics) == 1
    assert await failed(analytics) == set()
    assert await analytics.fetchval(f"select deals from {FACTS} where customer_id = $1", broken) == 1


async def test_the_tables_of_the_read_model_are_what_replay_swaps(analytics):
    """The marks are bookkeeping, not read-model tables: a replay leaves them alone."""
    assert not {"fold_marks", "fold_failed"} & set(TABLES)
    await logged(analytics, [EVENTS[:5]])
    before = await marks(analytics)
    await rebuild(analytics)
    assert await marks(analytics) == before
