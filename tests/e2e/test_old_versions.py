"""An old schema version on the wire: `contact-received` v1, as a producer wrote it before v2 (and
before sealing: plaintext), sent straight to the broker twice each — for a customer nobody knows
yet and for one intake already has. Each is applied once by every consumer, reads everywhere as
the v2 it upcasts to (the channel's fields out of the notes), and an analytics replay gives the
same 360 and the same projection row. A version newer than the code is dead-lettered."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

from shared.runtime import kafka
from tests.support.dead_letters import read_dead_letters
from tests.support.reliability import APPLIED_ONCE

from .test_faults import assert_each_applied_once, counts_per_customer, post_contacts, wait_for_sql

CONTACT_CONSUMERS = {"grading", "followup", "analytics"}


def v1_envelope(customer_id: str, occurred_at: datetime, payload: dict, *, version: int = 1) -> dict:
    """An envelope as an old producer sent it: no `sealed`, the payload in plaintext."""
    return {"event_id": str(uuid.uuid4()), "event_type": "contact-received", "schema_version": version,
            "occurred_at": occurred_at.isoformat(), "recorded_at": occurred_at.isoformat(),
            "producer": "intake-v1", "customer_id": customer_id, "correlation_id": None, "causation_id": None,
            "payload": payload}


async def send(stack, envelopes: list[dict], times: int) -> None:
    producer = kafka.producer(stack.broker.bootstrap)
    await producer.start()
    try:
        for _ in range(times):  # duplicate delivery: the same bytes again
            for e in envelopes:
                await producer.send_and_wait("contact-received", json.dumps(e, ensure_ascii=False).encode(),
                                             key=e["customer_id"].encode())
    finally:
        await producer.stop()


async def fetch(api, service: str, sql: str, *args):
    conn = await api.db(service)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def settled_360(api, customer_id: str, predicate, quiet: float = 1.0) -> dict:
    """The 360 once `predicate` holds and no event has arrived for `quiet` seconds (values, tasks...)."""
    view = await api.eventually("analytics", f"/v1/customers/{customer_id}/360", predicate, timeout=30)
    while True:
        await asyncio.sleep(quiet)
        again = (await api.get("analytics", f"/v1/customers/{customer_id}/360")).json()
        if again["event_count"] == view["event_count"]:
            return again
        view = again


async def duplicates_seen(api) -> dict[str, float]:
    """Per consumer of contact-received: how many copies it recognised as already applied."""
    out = {}
    for service in CONTACT_CONSUMERS:
        text = (await api.client.get(api.url(service, "/metrics"))).text
        out[service] = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                           if line.startswith("crm_events_consumed_total{") and f'consumer="{service}"' in line
                           and 'topic="contact-received"' in line and 'result="duplicate"' in line)
    return out


async def summary_rows(api, ids: list[str]) -> dict[str, dict]:
    rows = await fetch(api, "analytics", "select customer_id::text, state::text from customer_summary "
                                         "where customer_id = any($1::uuid[])", ids)
    return {r[0]: json.loads(r[1]) for r in rows}


async def test_v1_contact_received_delivered_twice_reads_as_v2_once_everywhere(api, stack, reliability):
    reliability.record("old schema version (v1) of contact-received, delivered twice", 4,
                       f"{APPLIED_ONCE}; the 360 shows channel details and free-text notes split as v2 would; "
                       "an analytics replay gives the same 360 and projection rows")
    marker = uuid.uuid4().hex[:10]
    [existing] = await post_contacts(api, 1)
    await assert_each_applied_once(api, [existing])
    new = str(uuid.uuid4())
    now = datetime.now(UTC)
    batch = f"b-{marker}"
    v1_new = v1_envelope(new, now - timedelta(minutes=5), {
        "contact_id": str(uuid.uuid4()), "channel": "vip_informant", "is_new_customer": True,
        "name": f"Old Producer {marker}", "phone": f"+86137{uuid.uuid4().int % 10**8:08d}", "region": "上海",
        "consultant_id": "c-v1", "purchase_timeframe": "within_7_days",
        "notes": f"想要七座 {marker}\n下周再来\ncompany: 恒通贸易\njob_title: 采购经理\ninformant_kind: repair_shop\n"
                 f"informant_name: 老王修理厂\ncallback_requested_at: 2026-03-02T10:00:00+08:00"})
    v1_existing = v1_envelope(existing, now - timedelta(minutes=1), {
        "contact_id": str(uuid.uuid4()), "channel": "exhibition", "is_new_customer": False,
        "campaign": f"show-{marker}", "consultant_id": "c-001",
        "notes": f"import_batch: {batch}\nsource_row: 3"})  # no free text: only the channel's fields
    seen_before = await duplicates_seen(api)
    await send(stack, [v1_new, v1_existing], times=2)

    # --- applied once: graded once, one first-contact task, one analytics record, per event
    await assert_each_applied_once(api, [new])
    for e in (v1_new, v1_existing):
        event_id = uuid.UUID(e["event_id"])
        facts = await wait_for_sql(api, "grading", "select count(*) from grading_facts where fact_id = $1",
                                   [event_id], 1)
        tasks = await wait_for_sql(api, "followup", "select count(*) from tasks where cause_event_id = $1 "
                                   "and kind = 'first_contact'", [event_id], 1)
        logged = await wait_for_sql(api, "analytics", "select count(*) from event_log where event_id = $1",
                                    [event_id], 1)
        assert (facts, tasks, logged) == (1, 1, 1), e["customer_id"]
        for service in CONTACT_CONSUMERS:
            [row] = await fetch(api, service, "select count(*), min(outcome) from inbox where message_id = $1",
                                event_id)
            assert tuple(row) == (1, "applied"), service
    deadline = asyncio.get_running_loop().time() + 20
    while True:  # every consumer has met the second copies (and skipped them) before the counts below
        seen = await duplicates_seen(api)
        if all(seen[s] - seen_before[s] >= 2 for s in CONTACT_CONSUMERS) or \
                asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    assert all(seen[s] - seen_before[s] >= 2 for s in CONTACT_CONSUMERS), (seen_before, seen)
    await assert_each_applied_once(api, [new])
    first = await counts_per_customer(api, "followup", "select customer_id, count(*) from tasks where "
                                      "customer_id = any($1) and kind = 'first_contact' group by 1", [new, existing])
    assert first == {new: 1, existing: 2}  # one per contact: the API's and the v1's
    stored = await fetch(api, "analytics", "select (envelope->>'schema_version')::int from event_log "
                                           "where event_id = any($1::uuid[])", [v1_new["event_id"],
                                                                                  v1_existing["event_id"]])
    assert sorted(r[0] for r in stored) == [1, 1]  # the log keeps what was sent; readers upcast

    # --- the 360 reads as v2: channel details out of the notes, the free text alone
    view_new = await settled_360(api, new, lambda v: v["grade"] and v["open_tasks"] and v["contacts"])
    [contact] = view_new["contacts"]
    assert contact["notes"] == f"想要七座 {marker}\n下周再来"
    assert contact["channel_details"] == {
        "company": "恒通贸易", "job_title": "采购经理", "informant_kind": "repair_shop", "informant_name": "老王修理厂",
        "callback_requested_at": "2026-03-02T10:00:00+08:00"}
    assert view_new["profile"]["name"] == f"Old Producer {marker}" and view_new["grade"] == "H"
    view_old = await settled_360(api, existing, lambda v: len(v["contacts"]) == 2 and len(v["open_tasks"]) >= 2)
    by_channel = {c["channel"]: c for c in view_old["contacts"]}
    assert by_channel["exhibition"]["notes"] is None
    assert by_channel["exhibition"]["channel_details"] == {"import_batch": batch, "source_row": 3}
    assert by_channel["walk_in"]["channel_details"] == {}  # the API's own v2 contact

    # --- a replay rebuilds the same projections and the same 360
    before = await summary_rows(api, [new, existing])
    r = await api.post("analytics", "/v1/admin/replay", {})
    assert r.status_code == 200, r.text
    assert await summary_rows(api, [new, existing]) == before
    for customer_id, view in ((new, view_new), (existing, view_old)):
        again = (await api.get("analytics", f"/v1/customers/{customer_id}/360")).json()
        assert again == view, customer_id


async def test_a_schema_version_newer_than_the_code_is_dead_lettered(api, stack, reliability):
    reliability.record("schema version newer than the code", 1,
                       "dead-lettered by every consumer of the topic with a reason naming schema_version")
    marker = uuid.uuid4().hex
    future = v1_envelope(str(uuid.uuid4()), datetime.now(UTC), {
        "contact_id": str(uuid.uuid4()), "channel": "walk_in", "region": f"r-{marker}",
        "purchase_timeframe": "now", "loyalty_hologram": "a field from the future"}, version=99)
    await send(stack, [future], times=1)
    letters = await read_dead_letters(stack.broker.bootstrap, marker, want=len(CONTACT_CONSUMERS), timeout=30)
    reasons = {letter["payload"]["consumer"]: letter["payload"]["reason"] for letter in letters}
    assert set(reasons) == CONTACT_CONSUMERS, reasons
    assert all("schema_version: 99 is newer than supported 3" in reason for reason in reasons.values()), reasons
    for service in CONTACT_CONSUMERS:  # nothing of it was applied
        [row] = await fetch(api, service, "select count(*), min(outcome) from inbox where message_id = $1",
                            uuid.UUID(future["event_id"]))
        assert tuple(row) == (1, "dead-letter"), service
    logged = await fetch(api, "analytics", "select count(*) from event_log where event_id = $1",
                         uuid.UUID(future["event_id"]))
    assert logged[0][0] == 0
