"""Helpers of follow-up's integration tests: publish events, wait for follow-up's state."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from shared.events.envelope import EventPayload, new_event
from shared.runtime import kafka
from shared.events.enums import Role

CONSULTANT = "c-fu-1"


def phone() -> str:
    return f"137{uuid.uuid4().int % 10**8:08d}"


async def publish(stack, payload: EventPayload, customer_id: uuid.UUID | str, offset_s: float = 0) -> None:
    """Send one event as its producer would (key = customer id); `occurred_at` on the moved clock."""
    at = datetime.now(UTC) + timedelta(seconds=offset_s)
    event = new_event(payload, customer_id=uuid.UUID(str(customer_id)), producer="test", occurred_at=at)
    producer = kafka.producer(stack.broker.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(event.event_type, event.to_json(), key=event.key)
    finally:
        await producer.stop()


async def new_prospect(api, channel: str = "walk_in", timeframe: str = "1_to_3_months") -> str:
    """A contact through intake, named consultant c-fu-1; returns the customer id once follow-up has its grade."""
    r = await api.post("intake", "/v1/contacts", {"channel": channel, "name": "Zhao Min", "phone": phone(),
                                                  "purchase_timeframe": timeframe, "consultant_id": CONSULTANT})
    assert r.status_code == 201, r.text
    customer_id = r.json()["customer_id"]
    await api.eventually("followup", f"/v1/prospects/{customer_id}",
                         lambda p: p["grade"] and any(t["kind"] == "first_contact" for t in p["tasks"]))
    return customer_id


async def pending(api, customer_id: str, kind: str | None = None) -> list[dict]:
    r = await api.get("followup", f"/v1/tasks?customer_id={customer_id}" + (f"&kind={kind}" if kind else ""))
    assert r.status_code == 200, r.text
    return r.json()["tasks"]


async def until(check, timeout: float = 20.0):
    """Poll an async predicate until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


async def complete(api, task_id: str, consultant: str = CONSULTANT, **record):
    body = {"method": "phone", "outcome": "reached", **record}
    return await api.post("followup", f"/v1/tasks/{task_id}/complete", body, role=Role.CONSULTANT,
                          consultant_id=consultant)


async def events(api, customer_id: str, event_type: str) -> list[dict]:
    import json
    conn = await api.db("followup")
    try:
        rows = await conn.fetch("select envelope::text as e from event_store where customer_id = $1 "
                                "and event_type = $2 order by recorded_at", uuid.UUID(customer_id), event_type)
    finally:
        await conn.close()
    return [json.loads(r["e"])["payload"] for r in rows]
