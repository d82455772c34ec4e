"""The pending-work counter per owner (kept by a trigger) always equals counting the tasks."""
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
