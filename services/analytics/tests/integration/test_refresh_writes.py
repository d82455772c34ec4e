"""A refresh writes only the rows that changed (services/analytics/row_changes.py): whatever batches
the events come in, in whatever order, redelivered or not, the read model ends with exactly the rows
a full refold writes (a replay from the log), digests and daily counts included."""
from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.analytics.handlers import log_and_refresh
from services.analytics.replay import rebuild
from services.analytics.tables import CHILD_COLUMNS, FACTS, TABLES
from services.analytics.tests.history import History
from shared.runtime.consumer import Inbound
from tests.support.fixtures import fresh_database

HISTORY = History(seed=11, customers=8, days=60)
EVENTS = list(HISTORY.events)


@pytest.fixture(scope="module")
async def analytics(postgres):
    _, pool = await fresh_database(postgres, "analytics")
    yield pool
    await pool.close()


async def read_model(pool) -> dict[str, list]:
    """Every row of every read-model table, in key order (the facts without their write time)."""
    out = {}
    async with pool.acquire() as conn:
        for table in TABLES:
            rows = [{k: v for k, v in dict(r).items() if not (table == FACTS and k == "refreshed_at")}
                    for r in await conn.fetch(f"select * from {table}")]
            out[table] = sorted(rows, key=lambda r: [str(v) for v in r.values()])
    return out


async def feed(pool, batches: list[list]) -> None:
    async with pool.acquire() as conn:
        for batch in batches:
            async with conn.transaction():
                await log_and_refresh(conn, [Inbound(e.event_id, e.customer_id, e, e.payload) for e in batch])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(EVENTS))), cuts=st.lists(st.integers(1, 40), min_size=1, max_size=12),
       again=st.lists(st.integers(0, len(EVENTS) - 1), max_size=10))
async def test_batches_refreshed_row_by_row_end_where_a_full_refold_ends(analytics, order, cuts, again):
    async with analytics.acquire() as conn:
        await conn.execute(f"truncate event_log, {', '.join(TABLES)}")
    events = [EVENTS[i] for i in order] + [EVENTS[i] for i in again]  # any order, some delivered twice
    batches, start = [], 0
    for cut in cuts:
        batches.append(events[start:start + cut])
        start += cut
    batches.append(events[start:])
    await feed(analytics, [b for b in batches if b])
    refreshed = await read_model(analytics)
    assert refreshed["fact_deals"] and refreshed["fact_merges"] and refreshed["day_counts"]
    await rebuild(analytics)  # every customer folded whole into empty tables, counted at once
    assert refreshed == await read_model(analytics)


async def test_an_added_deal_writes_its_row_and_leaves_the_others(analytics):
    """The point of it: a buyer's next deal inserts one deal row; their other rows stay the rows they were."""
    async with analytics.acquire() as conn:
        await conn.execute(f"truncate event_log, {', '.join(TABLES)}")
    events = list(History(seed=5, customers=60).events)
    deals = Counter(e.customer_id for e in events if e.event_type == "deal-closed")
    buyer = deals.most_common(1)[0][0]
    assert deals[buyer] > 1
    mine = sorted((e for e in events if e.customer_id == buyer), key=lambda e: (e.occurred_at, str(e.event_id)))
    last_deal = max(i for i, e in enumerate(mine) if e.event_type == "deal-closed")
    await feed(analytics, [mine[:last_deal]])
    async with analytics.acquire() as conn:
        ctids = {t: await conn.fetch(f"select seq, ctid::text from {t} where customer_id = $1 order by seq", buyer)
                 for t in CHILD_COLUMNS if "seq" in CHILD_COLUMNS[t]}
    await feed(analytics, [[mine[last_deal]]])
    async with analytics.acquire() as conn:
        after = {t: await conn.fetch(f"select seq, ctid::text from {t} where customer_id = $1 order by seq", buyer)
                 for t in ctids}
    assert len(after["fact_deals"]) == len(ctids["fact_deals"]) + 1
    assert after["fact_deals"][:-1] == ctids["fact_deals"]  # the earlier deals were not rewritten
    for table in ("fact_contacts", "fact_grade_steps", "fact_losses", "fact_complaints"):
        assert after[table] == ctids[table], table
