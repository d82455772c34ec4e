"""The pending-work counter per owner (kept by a trigger) always equals counting the tasks."""
import asyncio
import uuid

import asyncpg
from alembic import command

from shared.runtime.db import alembic_config, database_url_for, ensure_database

from .support import CONSULTANT, new_prospect

MISMATCHES = """
    select coalesce(l.owner_id, t.owner_id) as owner_id, l.pending, t.n from owner_load l
    full join (select owner_id, count(*) as n from tasks where status in ('open', 'overdue') group by 1) t
      using (owner_id)
    where coalesce(l.pending, 0) <> coalesce(t.n, 0)"""


async def test_owner_load_matches_the_tasks_after_work_moves(api):
    customer_id = await new_prospect(api)
    prospect = (await api.get("followup", f"/v1/prospects/{customer_id}")).json()
    task = next(t for t in prospect["tasks"] if t["status"] == "open")
    done = await api.post("followup", f"/v1/tasks/{task['task_id']}/complete",
                          {"method": "phone", "outcome": "reached", "content": "called back"})
    assert done.status_code == 200, done.text
    moved = await api.post("followup", f"/v1/prospects/{customer_id}/reassign", {"consultant_id": "c-fu-load", "reason": "rebalancing"})
    assert moved.status_code == 200, moved.text
    conn = await api.db("followup")
    try:
        assert await conn.fetch(MISMATCHES) == []  # one statement: one snapshot, whatever is in flight
        assert await conn.fetchval("select pending from owner_load where owner_id = 'c-fu-load'") >= 1
        assert await conn.fetchval("select pending from owner_load where owner_id = $1", CONSULTANT) is not None
    finally:
        await conn.close()


async def test_owner_load_counts_statements_of_many_rows(api):
    """Counted once per statement (followup_0006): inserts, moves, closings and deletes of several
    rows for several owners in one statement each leave every counter equal to counting the tasks."""
    owners = ["c-load-a", "c-load-b", "c-load-c"]
    conn = await api.db("followup")
    try:
        async with conn.transaction():
            ids = await conn.fetch(
                """insert into tasks (task_id, customer_id, kind, owner_id, status, due_at, created_at)
                   select gen_random_uuid(), gen_random_uuid(), 'first_contact', o, s, now(), now()
                   from unnest($1::text[], $2::text[]) as t(o, s) returning task_id""",
                [owners[i % 3] for i in range(9)], ["open", "overdue", "done"] * 3)
            assert await conn.fetch(MISMATCHES) == []
            moved = [r[0] for r in ids[:4]]
            await conn.execute("update tasks set owner_id = case when status = 'open' then $2 else owner_id end,"
                               " status = case when status = 'overdue' then 'done' else status end"
                               " where task_id = any($1::uuid[])", moved, owners[2])
            assert await conn.fetch(MISMATCHES) == []
            await conn.execute("update tasks set grade = 'A' where task_id = any($1::uuid[])", moved)
            assert await conn.fetch(MISMATCHES) == []
            await conn.execute("delete from tasks where task_id = any($1::uuid[])", [r[0] for r in ids[2:7]])
            assert await conn.fetch(MISMATCHES) == []
            pending = {r[0]: r[1] for r in await conn.fetch(
                "select owner_id, pending from owner_load where owner_id = any($1::text[])", owners)}
            assert sum(pending.values()) == await conn.fetchval(
                "select count(*) from tasks where owner_id = any($1::text[]) and status in ('open', 'overdue')", owners) > 0
            raise _RolledBack
    except _RolledBack:
        pass
    finally:
        await conn.close()


class _RolledBack(Exception):
    """Leaves the shared stack's database as it was."""


async def test_the_counters_stay_right_across_followup_0006_and_back(postgres):
    """Tasks written under the row triggers, then the statement triggers, then the row triggers
    again (the downgrade): the counters equal counting the tasks at each step."""
    name = f"t_followup_{uuid.uuid4().hex[:10]}"
    await ensure_database(postgres.admin_url, name)
    url = database_url_for(postgres.admin_url, name)
    cfg = alembic_config(url, "followup")
    add = """insert into tasks (task_id, customer_id, kind, owner_id, status, due_at, created_at)
             select gen_random_uuid(), gen_random_uuid(), 'first_contact', o, 'open', now(), now()
             from unnest($1::text[]) as o"""
    await asyncio.to_thread(command.upgrade, cfg, "followup_0005")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(add, ["c-a", "c-b", "c-a"])
        await asyncio.to_thread(command.upgrade, cfg, "heads")
        await conn.execute(add, ["c-b", "c-c"])
        await conn.execute("update tasks set status = 'done' where owner_id = 'c-a'")
        assert await conn.fetch(MISMATCHES) == []
        await asyncio.to_thread(command.downgrade, cfg, "followup_0005")
        await conn.execute(add, ["c-a", "c-c"])
        await conn.execute("delete from tasks where owner_id = 'c-b'")
        assert await conn.fetch(MISMATCHES) == []
        assert {r[0]: r[1] for r in await conn.fetch("select * from owner_load")} == {"c-a": 1, "c-b": 0, "c-c": 2}
    finally:
        await conn.close()
