"""The SQL reports over the typed read model give the pure reports' answers (domain.reports on the
folded states), figure for figure, under every kind of filter; their row lists page."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest

from services.analytics import report_queries
from services.analytics.domain.filters import Filters
from services.analytics.tests.reference.reports import REPORTS, run
from services.analytics.domain.state import fold_all
from services.analytics.handlers import apply_event
from services.analytics.paging import Page, encode
from services.analytics.projection import COST_EVENT, cost_customer_id, load_costs
from services.analytics.tests.history import History
from shared.events.envelope import Envelope
from shared.runtime.consumer import Inbound
from shared.runtime.db import create_pool, database_url_for, ensure_database, migrate

HISTORY = History(seed=23, customers=90)
NOW = datetime(2026, 9, 1, tzinfo=UTC)
FILTERS = [
    {}, {"date_from": date(2026, 4, 1)}, {"date_to": date(2026, 5, 15)},
    {"date_from": date(2026, 4, 1), "date_to": date(2026, 6, 30)}, {"consultant": "c-001"},
    {"team": frozenset({"c-002", "c-003"})}, {"channel": "exhibition"}, {"campaign": "spring-web"},
    {"consultant": "c-004", "date_from": date(2026, 5, 1)}, {"consultant": "nobody"},
    {"channel": "walk_in", "date_to": date(2026, 4, 20)}, {"date_from": date(2030, 1, 1)},
]


def cost(campaign: str, amount: str, spent_on: str, channel: str | None) -> Envelope:
    payload = {"campaign": campaign, "amount": amount, "spent_on": spent_on, "channel": channel, "note": None,
               "recorded_by": "m-001"}
    return Envelope(event_id=uuid.uuid4(), event_type=COST_EVENT, schema_version=1,
                    occurred_at=datetime.fromisoformat(spent_on + "T00:00:00+00:00"), recorded_at=NOW,
                    producer="analytics", customer_id=cost_customer_id(campaign), payload=payload)


@pytest.fixture(scope="module")
async def fed(postgres):
    name = f"t_analytics_{uuid.uuid4().hex[:10]}"
    await ensure_database(postgres.admin_url, name)
    url = database_url_for(postgres.admin_url, name)
    await migrate(url, "analytics")
    pool = await create_pool(url)
    async with pool.acquire() as conn:
        for e in HISTORY.events:
            async with conn.transaction():
                await apply_event(conn, Inbound(e.event_id, e.customer_id, e, e.payload))
        for c in (cost("autoshow-2026", "5000.00", "2026-04-02", "exhibition"),
                  cost("spring-web", "1200.50", "2026-05-20", "web_form"), cost("radio", "300.00", "2026-06-01", None)):
            await conn.execute("insert into event_log (event_id, event_type, customer_id, occurred_at, envelope)"
                               " values ($1, $2, $3, $4, $5::jsonb)", c.event_id, c.event_type, c.customer_id,
                               c.occurred_at, c.model_dump_json())
    yield pool
    await pool.close()


@pytest.mark.parametrize("name", sorted(REPORTS))
async def test_sql_reports_answer_as_the_pure_reports(fed, name):
    states = fold_all(HISTORY.events)
    async with fed.acquire() as conn:
        costs = await load_costs(conn)
        for kw in FILTERS:
            for now in (NOW, datetime(2026, 5, 3, 12, tzinfo=UTC)):
                f = Filters(now=now, **kw)
                expected = run(name, states, costs, f)
                got, _ = await report_queries.run(conn, name, f, Page(name))
                curve = got.pop("curve", None)  # the Pareto curve for charts: its points are rows of the ranking
                if curve is not None:
                    shares = [{k: r[k] for k in curve[0]} for r in expected["rows"]] if curve else []
                    assert curve and all(point in shares for point in curve) or not expected["rows"]
                assert json.dumps(got, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False), (name, kw)


@pytest.mark.parametrize("name", sorted(report_queries.PAGED))
async def test_a_paged_list_comes_whole_page_by_page(fed, name):
    key = report_queries.PAGED[name]
    f = Filters(now=NOW)
    async with fed.acquire() as conn:
        whole, info = await report_queries.run(conn, name, f, Page(name))
        assert info == {"next_cursor": None, "has_more": False}
        assert len(whole[key]) > 3, name
        rows, offset = [], 0
        while True:
            part, info = await report_queries.run(conn, name, f, Page(name, offset, 3))
            assert len(part[key]) <= 3
            rows += part[key]
            assert {k: v for k, v in part.items() if k not in (key, "curve")} == \
                {k: v for k, v in whole.items() if k not in (key, "curve")}
            if not info["has_more"]:
                assert info["next_cursor"] is None
                break
            assert info["next_cursor"] == encode(name, offset + 3)
            offset += 3
        assert rows == whole[key]


async def test_the_360_from_the_stored_row_is_the_folded_one(fed):
    from services.analytics.domain.customer360 import build_360
    from services.analytics.projection import history
    from services.analytics.router import HISTORY_LISTS, stored_360

    async with fed.acquire() as conn:
        ids = sorted({str(e.customer_id) for e in HISTORY.events})
        for cid in ids:
            folded = build_360(cid, await history(conn, cid))
            info: dict = {}
            stored = await stored_360(conn, uuid.UUID(cid), {n: Page(n, 0, 10_000) for n in HISTORY_LISTS}, info)
            assert stored == folded, cid
            assert all(not i["has_more"] for i in info.values())
        assert await stored_360(conn, uuid.uuid4(), {n: Page(n) for n in HISTORY_LISTS}, {}) is None
