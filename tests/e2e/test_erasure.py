"""The right to be forgotten in an append-only system (crypto-shredding), on the running stack.

A customer with everything personal a CRM keeps — name, phone, email, free-text notes, a card
with birthday and home address, a complaint in their own words — plus consent and a deal; then
erased. Afterwards none of those strings is anywhere: not in any table of any service database
or the key vault, not in any message on any Kafka topic; the reads show nothing personal; the
business figures (funnel, channels, complaints, grade, deal amount) are what they were; an
analytics replay gives the same projection; a second erasure changes nothing.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from shared.business_time import business_day
from shared.events.enums import Role
from shared.events.topics import ALL_TOPICS

SERVICES = ("intake", "grading", "followup", "analytics")
# Before the erasure, personal data may be only in these query tables (kept to serve reads):
# never in an outbox, analytics' event log or a Kafka message, which hold it sealed.
QUERY_TABLES = {("intake", "customers"), ("intake", "identity_keys"), ("intake", "contacts"),
                ("intake", "customer_history"), ("intake", "complaints"), ("intake", "idempotency_keys"),
                ("analytics", "customer_facts"), ("analytics", "fact_cards"), ("analytics", "fact_contacts"),
                ("analytics", "fact_tasks"),
                ("followup", "prospects"), ("followup", "complaint_cases")}


def person(token: str) -> dict[str, str]:
    phone = f"139{uuid.UUID(token).int % 10**8:08d}"
    return {"name": f"Forget Me {token[:8]}", "phone": phone, "email": f"forget.{token[:12]}@example.com",
            "notes": f"prefers calls after eight, token {token[8:20]}",
            "complaint": f"the paint peeled within a week, token {token[20:]}",
            "address": f"{token[:6]} Erasure Road 7, Shanghai", "birthday": "1937-03-09"}


async def table_hits(api, needles: list[str]) -> dict[tuple[str, str], int]:
    """(database, table) -> rows whose text contains any of `needles`, over every table of every
    service database and the key vault."""
    urls = {name: api.stack.services[name].env["CRM_DATABASE_URL"] for name in SERVICES}
    urls["vault"] = api.stack.services["intake"].env["CRM_VAULT_URL"]
    patterns = [f"%{n}%" for n in needles]
    hits: dict[tuple[str, str], int] = {}
    for db, url in urls.items():
        conn = await asyncpg.connect(url)
        try:
            tables = [r[0] for r in await conn.fetch(
                "select table_name from information_schema.tables "
                "where table_schema = 'public' and table_type = 'BASE TABLE' order by 1")]
            assert tables, db
            for table in tables:
                n = await conn.fetchval(f'select count(*) from "{table}" t where t::text ilike any($1::text[])',
                                        patterns)
                if n:
                    hits[(db, table)] = n
        finally:
            await conn.close()
    return hits


async def kafka_scan(api, needles: list[str], customer_id: str) -> tuple[int, dict[str, int], int]:
    """Every message on every topic from the beginning: (messages read, hits by topic, messages
    about this customer). Reads until the topics are quiet."""
    consumer = AIOKafkaConsumer(bootstrap_servers=api.stack.broker.bootstrap, group_id=None,
                                enable_auto_commit=False, request_timeout_ms=10_000, auto_offset_reset="earliest",
                                fetch_max_bytes=8 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    read, hits, ours = 0, {}, 0
    try:
        known = await consumer.topics()
        # without a group every partition of the subscribed topics is ours, read from the earliest
        consumer.subscribe([t for t in ALL_TOPICS if t in known])
        quiet_since = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() - quiet_since < 3.0:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            if any(batch.values()):
                quiet_since = asyncio.get_running_loop().time()
            for tp, records in batch.items():
                for record in records:
                    read += 1
                    text = (record.value or b"").decode("utf-8", "replace") + \
                        (record.key or b"").decode("utf-8", "replace")
                    if customer_id in text:
                        ours += 1
                    if any(n.lower() in text.lower() for n in needles):
                        hits[tp.topic] = hits.get(tp.topic, 0) + 1
    finally:
        await consumer.stop()
    return read, hits, ours


async def figures(api, customer_id: str, campaign: str, consultant: str) -> dict:
    """The anonymous business figures of this customer (reports filtered to them alone)."""
    out = {}
    query = f"?campaign={campaign}&consultant={consultant}"
    for name in ("funnel", "channels", "complaints"):
        r = await api.get("analytics", f"/v1/reports/{name}{query}")
        assert r.status_code == 200, r.text
        body = r.json()
        body.pop("generated_at", None)
        out[name] = body
    grade = (await api.get("grading", f"/v1/prospects/{customer_id}/grade")).json()
    out["grade"] = [grade["grade"], len(grade["history"])]
    view = (await api.get("analytics", f"/v1/customers/{customer_id}/360")).json()
    out["deals"] = [(d["amount"], d["gross_profit"], d["closed_on"]) for d in view["deals"]]
    out["complaints_360"] = [(c["severity"], c["category"], c["channel"]) for c in view["complaints"]]
    out["contacts"] = [(c["channel"], c["campaign"], c["consultant_id"]) for c in view["contacts"]]
    return out


async def summary_state(api, customer_id: str) -> dict:
    conn = await api.db("analytics")
    try:
        text = await conn.fetchval("select state::text from customer_summary where customer_id = $1",
                                   uuid.UUID(customer_id))
    finally:
        await conn.close()
    return json.loads(text)


async def test_erasure_leaves_no_personal_data_anywhere_and_keeps_the_figures(api, reliability):
    token = uuid.uuid4().hex
    p = person(token)
    needles = [p["name"], p["phone"], p["email"], p["notes"], p["complaint"], p["address"], p["birthday"]]
    campaign, consultant = f"erasure-{token[:10]}", f"c-er{token[:6]}"
    await api.join_roster({consultant: None})
    today = business_day(datetime.now(UTC))  # the deal's day is a business day (not the UTC date)

    # --- a customer with everything personal, consent, a complaint and a deal
    r = await api.post("intake", "/v1/contacts", {
        "channel": "walk_in", "name": p["name"], "phone": p["phone"], "email": p["email"], "notes": p["notes"],
        "region": "上海", "purchase_timeframe": "within_7_days", "consultant_id": consultant, "campaign": campaign})
    assert r.status_code == 201, r.text
    customer_id = r.json()["customer_id"]
    patch = await api.client.patch(
        api.url("intake", f"/v1/customers/{customer_id}"),
        json={"birthday": p["birthday"], "home_address": p["address"], "occupation": "teacher"},
        headers=api.headers(Role.MANAGER, **{"Idempotency-Key": str(uuid.uuid4())}))
    assert patch.status_code == 200, patch.text
    consent = await api.client.put(api.url("intake", f"/v1/customers/{customer_id}/consent"),
                                   json={"marketing_allowed": True, "source": "web form"}, headers=api.headers())
    assert consent.status_code == 200, consent.text
    r = await api.post("intake", "/v1/complaints", {"customer_id": customer_id, "channel": "phone",
                                                    "severity": "medium", "category": "product_quality",
                                                    "description": p["complaint"]})
    assert r.status_code == 201, r.text
    await api.eventually("followup", f"/v1/prospects/{customer_id}", lambda v: v["birthday"] == p["birthday"])
    r = await api.post("followup", "/v1/deals", {
        "customer_id": customer_id, "consultant_id": consultant, "campaign": campaign,
        "items": [{"product": "Sedan L", "quantity": 1, "unit_price": "158000.00"}], "gross_profit": "12600.00",
        "closed_on": today.isoformat(), "delivered_at": datetime.now(UTC).isoformat()})
    assert r.status_code == 201, r.text
    view = await api.eventually(  # everything has arrived: the figures below are final
        "analytics", f"/v1/customers/{customer_id}/360",
        lambda v: v["deals"] and v["complaints"] and v["complaints"][0]["acknowledge_due_at"]
        and v["grade"] == "O" and v["value"].get("purchases") == 1 and v["profile"].get("name") == p["name"]
        and len(v["contacts"]) == 1)
    assert view["complaints"][0]["description"] == p["complaint"]
    before = await figures(api, customer_id, campaign, consultant)
    assert before["deals"] == [("158000.00", "12600.00", today.isoformat())]
    assert before["funnel"] != {} and before["grade"][0] == "O"

    # --- before: the personal data is in the query tables only, sealed everywhere else
    hits = await table_hits(api, needles)
    assert {db for db, _ in hits} >= {"intake", "analytics", "followup"}, hits
    assert set(hits) <= QUERY_TABLES, f"personal data outside the query tables: {set(hits) - QUERY_TABLES}"
    read, topic_hits, ours = await kafka_scan(api, needles, customer_id)
    assert ours >= 4 and topic_hits == {}, (ours, topic_hits)

    # --- erase
    r = await api.post("intake", f"/v1/customers/{customer_id}/erase", {}, role=Role.OPS,
                       headers={"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 200, r.text
    erased = r.json()
    assert erased["changed"] is True and erased["erased_customer_ids"] == [customer_id]
    await api.eventually("analytics", f"/v1/customers/{customer_id}/360", lambda v: v["erased"] is not None)
    await api.eventually("followup", f"/v1/prospects/{customer_id}",
                         lambda v: v["birthday"] is None and all(t["status"] != "open" for t in v["tasks"]))

    # (a) no trace anywhere: every table of every database and the vault, every Kafka message
    assert await table_hits(api, needles) == {}
    read, topic_hits, ours = await kafka_scan(api, needles, customer_id)
    assert topic_hits == {} and ours >= 5, (topic_hits, ours)  # ...customer-erased among them
    tables = 0
    for name in (*SERVICES, "vault"):
        url = api.stack.services["intake"].env["CRM_VAULT_URL"] if name == "vault" else \
            api.stack.services[name].env["CRM_DATABASE_URL"]
        conn = await asyncpg.connect(url)
        try:
            tables += await conn.fetchval("select count(*) from information_schema.tables "
                                          "where table_schema = 'public' and table_type = 'BASE TABLE'")
            if name == "vault":
                assert await conn.fetchval("select count(*) from customer_keys where customer_id = $1",
                                           uuid.UUID(customer_id)) == 0
                assert await conn.fetchval("select requested_by from erasures where customer_id = $1",
                                           uuid.UUID(customer_id)) == "ops:ops"
        finally:
            await conn.close()

    # (b) the reads show nothing personal
    record = (await api.get("intake", f"/v1/customers/{customer_id}")).json()
    assert record["erased"] is True and record["erased_at"]
    assert (record["name"], record["phone"], record["email"], record["identities"]) == (None, None, None, [])
    assert {k: v for k, v in record["card"].items() if v is not None} == {"kind": "consumer"}, record["card"]
    assert {h["field"] for h in record["history"]} >= {"birthday", "name"}
    assert all(h["old"] is None and h["new"] is None for h in record["history"] if h["field"] != "kind")
    for query in (f"phone={p['phone']}", f"email={p['email']}"):
        assert (await api.get("intake", f"/v1/customers?{query}")).json()["customers"] == []
    view = (await api.get("analytics", f"/v1/customers/{customer_id}/360")).json()
    assert view["profile"] == {} and view["erased"]["requested_by"] == "ops:ops"
    assert view["complaints"][0]["description"] == "[erased]"
    text = json.dumps([record, view])
    assert not any(n.lower() in text.lower() for n in needles)

    # (c) the business figures are unchanged
    after = await figures(api, customer_id, campaign, consultant)
    assert after == before

    # (d) a replay of analytics gives the same projection, still without personal data
    state = await summary_state(api, customer_id)
    r = await api.post("analytics", "/v1/admin/replay", {}, role=Role.OPS)
    assert r.status_code == 200, r.text
    assert await summary_state(api, customer_id) == state
    assert await figures(api, customer_id, campaign, consultant) == before
    assert await table_hits(api, needles) == {}

    # (e) erasing again changes nothing; nothing personal can be written for them again
    again = await api.post("intake", f"/v1/customers/{customer_id}/erase", {}, role=Role.MANAGER)
    assert again.status_code == 200 and again.json()["changed"] is False
    assert again.json()["erased_at"] == erased["erased_at"]
    conn = await api.db("intake")
    try:
        assert await conn.fetchval("select count(*) from event_store where customer_id = $1 and event_type = "
                                   "'customer-erased'", uuid.UUID(customer_id)) == 1
    finally:
        await conn.close()
    refused = await api.client.patch(api.url("intake", f"/v1/customers/{customer_id}"),
                                     json={"name": p["name"]}, headers=api.headers())
    assert refused.status_code == 409, refused.text
    refused = await api.post("intake", "/v1/complaints", {"customer_id": customer_id, "channel": "phone",
                                                          "severity": "low", "description": "again"})
    assert refused.status_code == 409, refused.text
    unknown = await api.post("intake", f"/v1/customers/{uuid.uuid4()}/erase", {})
    assert unknown.status_code == 404
    # The same phone later is somebody new: a new customer, nothing linked to the erased one.
    r = await api.post("intake", "/v1/contacts", {"channel": "phone", "phone": p["phone"]})
    assert r.status_code == 201 and r.json()["is_new_customer"] is True
    assert r.json()["customer_id"] != customer_id

    reliability.record(
        "erasure of a customer (name, phone, email, notes, card with birthday and address, complaint text; "
        "consent, a deal)", 1,
        f"none of their personal strings in {tables} tables of 5 databases (services and key vault) or in "
        f"{read} Kafka messages on every topic; reads masked to nothing; funnel, channels, complaints, grade "
        "and deal unchanged; replay identical; second erasure a no-op")


async def test_erasing_a_merged_record_erases_the_survivor_and_the_merged_one(api, reliability):
    token = uuid.uuid4().hex
    p = person(token)
    a = await api.post("intake", "/v1/contacts", {"channel": "walk_in", "name": p["name"], "phone": p["phone"]})
    b = await api.post("intake", "/v1/contacts", {"channel": "web_form", "email": p["email"], "notes": p["notes"]})
    survivor, merged = a.json()["customer_id"], b.json()["customer_id"]
    r = await api.post("intake", f"/v1/customers/{survivor}/merge", {"merged_customer_id": merged})
    assert r.status_code == 200, r.text
    await api.eventually("analytics", f"/v1/customers/{survivor}/360", lambda v: v["merged_from"] == [merged])
    r = await api.post("intake", f"/v1/customers/{merged}/erase", {})  # the merged id leads to the survivor
    assert r.status_code == 200, r.text
    assert r.json()["customer_id"] == survivor and r.json()["erased_customer_ids"] == [survivor, merged]
    await api.eventually("analytics", f"/v1/customers/{survivor}/360", lambda v: v["erased"] is not None)
    needles = [p["name"], p["phone"], p["email"], p["notes"]]
    assert await table_hits(api, needles) == {}
    for cid in (survivor, merged):
        record = (await api.get("intake", f"/v1/customers/{cid}")).json()
        assert record["erased"] is True and record["name"] is None and record["email"] is None
    reliability.record("erasure through a merged record's id", 1,
                       "survivor and merged record both erased; no trace in any table")


async def test_erase_needs_manager_or_ops(api):
    r = await api.post("intake", "/v1/contacts", {"channel": "phone", "phone": f"139{uuid.uuid4().int % 10**8:08d}"})
    customer_id = r.json()["customer_id"]
    for role in (Role.CONSULTANT, Role.INTEGRATION):
        refused = await api.post("intake", f"/v1/customers/{customer_id}/erase", {}, role=role)
        assert refused.status_code == 403
    async with httpx.AsyncClient() as client:
        assert (await client.post(api.url("intake", f"/v1/customers/{customer_id}/erase"))).status_code == 401
