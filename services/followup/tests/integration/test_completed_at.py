"""A follow-up logged after the fact: `completed_at` dates the record and its event, and the task is on time
or late by that time; a time in the future or before the work arose is a 422 naming `completed_at`."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from shared.events.enums import Role
from tests.support.problems import problem_fields

from .support import CONSULTANT, complete, pending, phone, until


async def _walk_in_days_ago(api, days: int) -> tuple[str, datetime]:
    """A walk-in that happened `days` ago, keyed now; its customer id and when it happened."""
    happened = (datetime.now(UTC) - timedelta(days=days)).replace(microsecond=0)
    r = await api.post("intake", "/v1/contacts", {"channel": "walk_in", "name": "Zhao Min", "phone": phone(),
                                                  "purchase_timeframe": "1_to_3_months", "consultant_id": CONSULTANT,
                                                  "occurred_at": happened.isoformat()})
    assert r.status_code == 201, r.text
    customer_id = r.json()["customer_id"]
    await api.eventually("followup", f"/v1/prospects/{customer_id}",
                         lambda p: p["grade"] and any(t["kind"] == "first_contact" for t in p["tasks"]))
    return customer_id, happened


async def _logged(api, task_id: str) -> list[dict]:
    """The followup-logged envelopes of a task."""
    conn = await api.db("followup")
    try:
        rows = await conn.fetch("select envelope::text as e from event_store where event_type = 'followup-logged' "
                                "and envelope->'payload'->>'task_id' = $1", task_id)
    finally:
        await conn.close()
    return [json.loads(r["e"]) for r in rows]


async def _task(api, task_id: str) -> dict:
    r = await api.get("followup", f"/v1/tasks/{task_id}")
    assert r.status_code == 200, r.text
    return r.json()


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_call_made_days_ago_is_logged_on_its_day_and_judged_on_it(api):
    customer_id, visited = await _walk_in_days_ago(api, 3)
    task = (await pending(api, customer_id, "first_contact"))[0]
    due = at(task["due_at"])
    assert visited < due < datetime.now(UTC)  # due a day after the visit: two days ago
    task_id = task["task_id"]

    # refused, naming the field, changing nothing: the future, before the visit, year 1
    for when in (datetime.now(UTC) + timedelta(hours=2), visited - timedelta(minutes=1),
                 datetime(1, 1, 1, tzinfo=UTC)):
        r = await complete(api, task_id, completed_at=when.isoformat())
        assert r.status_code == 422, (when, r.text)
        assert problem_fields(r) == ["completed_at"], r.text
    assert (await _task(api, task_id))["status"] in ("open", "overdue") and not await _logged(api, task_id)

    # done two hours after the visit, logged now: on time, and the event happened then
    done_at = visited + timedelta(hours=2)
    r = await complete(api, task_id, completed_at=done_at.isoformat(), content="called back after the visit")
    assert r.status_code == 200 and r.json()["changed"], r.text
    body = r.json()["task"]
    assert at(body["completed_at"]) == done_at and body["late"] is False, body
    (event,) = await _logged(api, task_id)
    assert at(event["occurred_at"]) == done_at and at(event["payload"]["completed_at"]) == done_at
    prospect = (await api.get("followup", f"/v1/prospects/{customer_id}")).json()
    assert at(prospect["last_contact_at"]) == done_at

    # the same call again: nothing changes, the first record stands
    again = await complete(api, task_id, completed_at=done_at.isoformat(), content="called back after the visit")
    assert again.status_code == 200 and again.json()["changed"] is False, again.text
    assert len(await _logged(api, task_id)) == 1

    # the next follow-up (created now, for nothing in the past) cannot have been done before it existed
    cadence = await until(lambda: pending(api, customer_id, "cadence"))
    assert cadence, await pending(api, customer_id)
    created = at(cadence[0]["created_at"])
    r = await complete(api, cadence[0]["task_id"], completed_at=(created - timedelta(minutes=1)).isoformat())
    assert r.status_code == 422 and problem_fields(r) == ["completed_at"], r.text


async def test_a_follow_up_done_after_its_due_time_is_late_even_if_logged_as_soon_as_possible(api):
    customer_id, visited = await _walk_in_days_ago(api, 3)
    task = (await pending(api, customer_id, "first_contact"))[0]
    done_at = at(task["due_at"]) + timedelta(hours=5)
    r = await complete(api, task["task_id"], completed_at=done_at.isoformat())
    assert r.status_code == 200 and r.json()["task"]["late"] is True, r.text
    (event,) = await _logged(api, task["task_id"])
    assert at(event["occurred_at"]) == done_at
    # a manager reading the task sees the same judgement
    seen = (await api.get("followup", f"/v1/tasks/{task['task_id']}", role=Role.MANAGER)).json()
    assert seen["late"] is True and seen["status"] == "done"


async def test_without_a_time_the_follow_up_is_done_now(api):
    customer_id, _ = await _walk_in_days_ago(api, 0)
    task = (await pending(api, customer_id, "first_contact"))[0]
    before = datetime.now(UTC)
    r = await complete(api, task["task_id"])
    assert r.status_code == 200, r.text
    done_at = at(r.json()["task"]["completed_at"])
    assert before - timedelta(seconds=5) <= done_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert r.json()["task"]["late"] is False
    (event,) = await _logged(api, task["task_id"])
    assert at(event["occurred_at"]) == done_at
    assert uuid.UUID(event["payload"]["task_id"]) == uuid.UUID(task["task_id"])
