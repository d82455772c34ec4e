"""The periodic jobs and a replay running against a flood of consumer and command traffic (issue 13.4):
no request answered 5xx, and PostgreSQL counted no deadlock in any service's database.

PostgreSQL breaks a deadlock by failing one transaction; the services retry those (run_command,
the consumers), so a deadlock never reaches a client, but each one is wasted work and a sign
that two paths lock in different orders (docs/scaling.md: customer first, then what hangs off
it). `pg_stat_database.deadlocks` counts them all, retried or not."""
from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime

from shared.business_time import business_day
from tests.support.fixtures import set_clock_offset
from tests.support.reliability import APPLIED_ONCE

from .test_faults import assert_each_applied_once, post_contacts
from .test_walking_skeleton import contact

SERVICES = ("intake", "grading", "followup", "analytics")


async def deadlocks(api) -> dict[str, int]:
    counted = {}
    for service in SERVICES:
        conn = await api.db(service)
        try:
            counted[service] = await conn.fetchval(
                "select deadlocks from pg_stat_database where datname = current_database()")
        finally:
            await conn.close()
    return counted


async def first_contact_tasks(api, customer_ids: list[str]) -> dict[str, str]:
    conn = await api.db("followup")
    try:
        rows = await conn.fetch("select customer_id::text, task_id::text from tasks where kind = 'first_contact' "
                                "and status = 'open' and customer_id = any($1::uuid[])", customer_ids)
    finally:
        await conn.close()
    return {r[0]: r[1] for r in rows}


async def test_jobs_and_a_replay_against_a_flood_make_no_deadlock_and_no_5xx(api, stack, reliability):
    reliability.record("overdue job, analytics replay, contacts, deals and task completions all at once", 1,
                       "no 5xx answer; no deadlock counted by PostgreSQL; " + APPLIED_ONCE)
    known = await post_contacts(api, 60)
    await assert_each_applied_once(api, known)
    tasks = await first_contact_tasks(api, known)
    statuses: Counter = Counter()
    before = await deadlocks(api)

    async def counted(call) -> None:
        r = await call
        statuses[r.status_code // 100 * 100] += 1
        assert r.status_code < 500, r.text

    today = business_day(datetime.now(UTC)).isoformat()

    def deal(customer_id: str) -> dict:
        return {"customer_id": customer_id, "items": [{"product": "SUV X5", "quantity": 1, "unit_price": "200000"}],
                "gross_profit": "15000", "closed_on": today}

    def key() -> dict:
        return {"Idempotency-Key": str(uuid.uuid4())}

    sem = asyncio.Semaphore(12)

    async def limited(call) -> None:
        async with sem:
            await counted(call)

    # two days on: every open first-contact task is overdue, so the overdue job (every 2 s)
    # escalates the same tasks the completions close and the deals end
    set_clock_offset(stack, 2 * 86400)
    try:
        flood = [
            *(limited(api.post("followup", "/v1/deals", deal(c), headers=key())) for c in known[:30]),
            *(limited(api.post("followup", f"/v1/tasks/{t}/complete",
                               {"method": "phone", "outcome": "reached", "content": "called back"}, headers=key()))
              for c, t in tasks.items() if c in known[20:50]),
            *(limited(api.post("intake", "/v1/contacts", contact(purchase_timeframe="within_1_month")))
              for _ in range(60)),
            counted(api.post("analytics", "/v1/admin/replay", {}, timeout=120)),
        ]
        await asyncio.gather(*flood)
        await asyncio.sleep(6)  # the overdue job runs three more times over what just changed
    finally:
        set_clock_offset(stack, 0)
    assert statuses[500] == 0 and statuses[200] + statuses[400] > 0
    after = await deadlocks(api)
    assert {s: after[s] - before[s] for s in SERVICES} == dict.fromkeys(SERVICES, 0)
