"""Hypothesis-generated messages on every consumed topic, straight to the broker:
payloads valid per the contract and near misses (missing fields, wrong types,
out-of-range numbers and times, huge strings, odd unicode, broken envelopes,
bytes that are not JSON), for real and for unknown customers. Every message is
applied or dead-lettered with a reason by every consumer of its topic, invalid
ones are never applied, the consumers keep going and reads never answer 500."""
import asyncio
import importlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from hypothesis import strategies as st

from crm.stack import SERVICES
from services.intake.domain.callcenter import CallCenterMessage, CallCenterRejection, parse_callcenter_message
from shared.events.envelope import Envelope
from shared.events.registry import LATEST, decode
from shared.events.topics import CALLCENTER_CONTACTS
from shared.runtime import kafka
from shared.runtime.consumer import EventConsumer
from shared.runtime.db import create_pool, database_url_for, ensure_database, migrate
from tests.support.event_strategies import (
    AWARE,
    EMAILS,
    MUTATIONS,
    PHONES,
    collect,
    from_schema,
    mutate,
)
from tests.support.reliability import APPLIED_ONCE

from .test_fault_matrix import analytics_has_each_once
from .test_faults import assert_each_applied_once, post_contacts

VALID, NEAR_MISS, RAW = 12, 12, 4  # per topic
ENVELOPE_BREAKS = [
    ("event_id", "not-a-uuid"), ("customer_id", 12345), ("schema_version", 0), ("schema_version", 99),
    ("schema_version", "1"), ("occurred_at", "2026-01-01T00:00:00"), ("occurred_at", "last tuesday"),
    ("payload", []), ("payload", None), ("payload", "text"), ("event_type", "no-such-event"),
    ("producer", ""), ("zz_unknown", 1), ("recorded_at", None),
]
RAW_BREAKS = ["truncated", "latin-1", "not json", "json array", "empty", "tombstone", "bom", "deep nesting",
              "json string", "invalid utf-8"]
REPORTS_FALLBACK = ["funnel", "daily", "channels", "grades", "lost-reasons", "pyramid", "pareto", "lifecycle",
                    "complaints", "workload"]


@dataclass
class Sent:
    topic: str
    kind: str  # valid | near-miss | raw
    label: str
    value: bytes | None
    key: bytes
    customer_id: str | None
    valid: bool  # per the contract, judged here before sending
    partition: int = -1
    offset: int = -1


def consumer_groups() -> list[tuple[str, str, set[str]]]:
    """(service, consumer group, topics) for every consumer the services run."""
    out = []
    for name in SERVICES:
        app = importlib.import_module(f"services.{name}.app").build_app()
        for spec in app.state.spec.consumers:
            out.append((name, spec.group, set(spec.handlers)))
    return out


def contract_valid(topic: str, value: bytes | None) -> bool:
    try:
        if topic == CALLCENTER_CONTACTS:
            return value is not None and isinstance(parse_callcenter_message(value), CallCenterMessage)
        envelope = Envelope.from_json(value)
        return envelope.event_type == topic and decode(envelope) is not None
    except Exception:  # noqa: BLE001 - anything that does not decode is invalid
        return False


def encode(obj) -> bytes:
    text = json.dumps(obj, ensure_ascii=False, default=str)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate: send it escaped, as a JSON producer would
        return json.dumps(obj, default=str).encode()


def raw_break(kind: str, good: bytes, cut: int) -> bytes | None:
    return {
        "truncated": good[: max(1, cut % len(good))],
        "latin-1": '{"name": "café", "note": "ü"}'.encode("latin-1"),
        "not json": b"{oops, this is not json",
        "json array": b"[1, 2, 3]",
        "empty": b"",
        "tombstone": None,
        "bom": b"\xef\xbb\xbf" + good,
        "deep nesting": b"[" * 5000 + b"]" * 5000,
        "json string": b'"just a string"',
        "invalid utf-8": b'{"event_id": "\xff\xfe\xfd"}',
    }[kind]


def hints_for(real_ids: list[str]) -> dict:
    some_customer = st.one_of(st.sampled_from(real_ids), st.uuids().map(str))
    return {"phone": st.none() | PHONES, "email": st.none() | EMAILS, "caller_phone": PHONES,
            "caller_email": st.none() | EMAILS, "merged_customer_id": some_customer,
            "referrer_customer_id": st.none() | some_customer}


def generate(topic: str, real_ids: list[str], salt: int = 0) -> list[Sent]:
    """VALID + NEAR_MISS + RAW messages for one topic, drawn by hypothesis (reproducibly). The kinds of
    break cycle by position (and `salt`), so every kind is sent; hypothesis picks fields and values."""
    callcenter = topic == CALLCENTER_CONTACTS
    model = CallCenterMessage if callcenter else LATEST[topic]
    schema = model.model_json_schema()
    draws = collect(st.fixed_dictionaries({
        "payload": from_schema(schema, schema, hints_for(real_ids)),
        "customer_id": st.one_of(st.sampled_from(real_ids), st.uuids().map(str)),
        "occurred_at": AWARE.map(lambda d: d.isoformat()),
        "pick": st.integers(0, 10**6),
        "value": st.integers(0, 10**6),
        "cut": st.integers(1, 10**6),
    }), VALID + NEAR_MISS + RAW)
    out: list[Sent] = []
    for i, d in enumerate(draws):
        payload = dict(d["payload"])
        if callcenter:  # one call, one contact: a re-used call id would be a (correctly ignored) duplicate
            payload["call_id"] = f"FZ{i}-{uuid.uuid4().hex[:12]}"
        kind, label = ("valid", "as generated") if i < VALID else \
            ("near-miss", "") if i < VALID + NEAR_MISS else ("raw", RAW_BREAKS[(i + salt) % len(RAW_BREAKS)])
        envelope_broken = kind == "near-miss" and not callcenter and i % 3 == 0
        if kind == "near-miss" and not envelope_broken:
            spec = (MUTATIONS[(i + salt) % len(MUTATIONS)], d["pick"] + i, d["value"] + i)
            payload, label = mutate(payload, schema, schema, spec)
        if callcenter:
            message, customer = payload, None
        else:
            customer = d["customer_id"]
            message = {"event_id": str(uuid.uuid4()), "event_type": topic, "schema_version": model.VERSION,
                       "occurred_at": d["occurred_at"], "recorded_at": datetime.now(UTC).isoformat(),
                       "producer": "event-fuzz", "customer_id": customer, "correlation_id": None,
                       "causation_id": None, "payload": payload}
            if envelope_broken:
                field, value = ENVELOPE_BREAKS[(i // 3 + salt) % len(ENVELOPE_BREAKS)]
                message[field] = value
                label = f"envelope {field}={value!r}"
        value = encode(message)
        if kind == "raw":
            value = raw_break(label, value, d["cut"])
        # A raw NUL byte has its own test below (on a scratch consumer, not the shared stack).
        assert value is None or b"\x00" not in value
        key = customer or payload.get("caller_phone") or str(i)
        out.append(Sent(topic, kind, label, value, str(key).encode(), customer, contract_valid(topic, value)))
    return out


async def real_customers(api, n: int) -> list[str]:
    ids = await post_contacts(api, n)
    await assert_each_applied_once(api, ids)
    return ids


async def publish(stack, messages: list[Sent]) -> None:
    producer = kafka.producer(stack.broker.bootstrap)
    await producer.start()
    try:
        futures = [await producer.send(m.topic, m.value, key=m.key) for m in messages]
        for m, meta in zip(messages, await asyncio.gather(*futures), strict=True):
            m.partition, m.offset = meta.partition, meta.offset
    finally:
        await producer.stop()


async def outcomes(api, service: str, group: str, messages: list[Sent], timeout: float = 120) -> dict:
    """(topic, partition, offset) -> (inbox outcome, dead-letter reason) once every message is in the inbox."""
    want = {(m.topic, m.partition, m.offset) for m in messages}
    conn = await api.db(service)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = await conn.fetch(
                """select i.topic, i.partition, i."offset", i.outcome from inbox i
                   join unnest($2::text[], $3::int[], $4::bigint[]) as w(topic, partition, "offset")
                     using (topic, partition, "offset")
                   where i.consumer = $1""",
                group, *map(list, zip(*want, strict=True)))
            seen = {(r["topic"], r["partition"], r["offset"]): r["outcome"] for r in rows}
            if set(seen) >= want or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.3)
        letters = await conn.fetch(
            """select envelope->'payload'->>'topic' as topic, (envelope->'payload'->>'partition')::int as partition,
                      (envelope->'payload'->>'offset')::bigint as "offset", envelope->'payload'->>'reason' as reason
               from event_store where event_type = 'dead-letters' and envelope->'payload'->>'consumer' = $1
                 and envelope->'payload'->>'topic' = any($2)""",
            group, sorted({m.topic for m in messages}))
    finally:
        await conn.close()
    reasons = {(r["topic"], r["partition"], r["offset"]): r["reason"] for r in letters}
    return {k: (seen.get(k), reasons.get(k)) for k in want}


async def reads_never_fail(api, customer_ids: set[str]) -> int:
    paths = [("intake", "/v1/customers/{}"), ("grading", "/v1/prospects/{}/grade"),
             ("grading", "/v1/customers/{}/value"), ("followup", "/v1/prospects/{}"),
             ("followup", "/v1/tasks?customer_id={}"), ("followup", "/v1/complaints?open=false&customer_id={}"),
             ("analytics", "/v1/customers/{}/360"), ("analytics", "/dashboard/customers/{}")]
    sem = asyncio.Semaphore(12)
    failures = []

    async def read(service, path):
        async with sem:
            r = await api.get(service, path)
        if r.status_code >= 500:
            failures.append(f"GET {service}{path} -> {r.status_code}: {r.text[:200]}")

    await asyncio.gather(*(read(s, p.format(c)) for c in customer_ids for s, p in paths))
    spec = (await api.client.get(api.url("analytics", "/openapi.json"))).json()
    name = spec["paths"].get("/v1/reports/{name}", {}).get("get", {}).get("parameters", [{}])[0]
    reports = name.get("schema", {}).get("enum", REPORTS_FALLBACK)
    for report in reports:
        await read("analytics", f"/v1/reports/{report}")
    await read("analytics", "/dashboard")
    assert not failures, "\n".join(failures[:20])
    return len(customer_ids) * len(paths) + len(reports) + 1


async def test_generated_events_on_every_consumed_topic(api, stack, reliability):
    groups = consumer_groups()
    topics = sorted(set().union(*(t for _, _, t in groups)))
    unknown = [t for t in topics if t not in LATEST and t != CALLCENTER_CONTACTS]
    assert not unknown, f"no generator for consumed topics {unknown}"
    real = await real_customers(api, 4)

    messages = [m for i, topic in enumerate(topics) for m in await asyncio.to_thread(generate, topic, real, i)]
    await publish(stack, messages)

    problems: list[str] = []
    by_topic: dict[str, dict[str, int]] = {}
    for service, group, consumed in groups:
        mine = [m for m in messages if m.topic in consumed]
        results = await outcomes(api, service, group, mine)
        for m in mine:
            outcome, reason = results[(m.topic, m.partition, m.offset)]
            tally = by_topic.setdefault(m.topic, {})
            tally[f"{group}:{outcome}"] = tally.get(f"{group}:{outcome}", 0) + 1
            where = f"{group} {m.topic}@{m.partition}:{m.offset} ({m.kind}: {m.label})"
            if outcome is None:
                problems.append(f"{where}: neither applied nor dead-lettered")
            elif outcome == "dead-letter" and not reason:
                problems.append(f"{where}: dead-lettered without a reason")
            elif outcome == "applied" and not m.valid:
                problems.append(f"{where}: applied although it breaks the contract")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:30])

    for topic in topics:
        sent = [m for m in messages if m.topic == topic]
        valid = sum(m.valid for m in sent)
        tally = ", ".join(f"{k} {v}" for k, v in sorted(by_topic[topic].items()))
        reliability.record(
            f"hypothesis-generated messages on {topic}: {valid} valid per contract, {len(sent) - valid} near misses "
            f"and broken bytes", len(sent),
            f"each applied or dead-lettered with a reason by every consumer, none invalid applied ({tally})")

    # the consumers are alive and keep applying
    fresh = await post_contacts(api, 3)
    await assert_each_applied_once(api, fresh)
    await analytics_has_each_once(api, fresh)
    phone = f"136{uuid.uuid4().int % 10**8:08d}"
    await publish(stack, [Sent(CALLCENTER_CONTACTS, "valid", "a real call", encode({
        "schema_version": 1, "source_system": "cc-fuzz", "call_id": f"LIVE-{uuid.uuid4().hex[:12]}",
        "call_started_at": datetime.now(UTC).isoformat(), "call_type": "inbound", "caller_phone": phone,
        "agent_id": "A017", "purchase_timeframe": "within_1_month"}), phone.encode(), None, True)])
    await api.eventually("intake", f"/v1/customers?phone={phone}", lambda found: found["customers"])
    reliability.record("fresh contacts and a fresh call-center call after the generated messages", 4, APPLIED_ONCE)

    affected = {m.customer_id for m in messages if m.customer_id and m.valid} | set(real)
    reads = await reads_never_fail(api, affected)
    reliability.record("reads of every customer the generated events touched, reports, dashboard", reads,
                       "no 500 (404 for customers a service does not know)")


@pytest.fixture
async def scratch_db(stack):
    """A fresh, migrated grading database on the stack's PostgreSQL."""
    name = f"t_fuzz_{uuid.uuid4().hex[:10]}"
    await ensure_database(stack.postgres.admin_url, name)
    url = database_url_for(stack.postgres.admin_url, name)
    await migrate(url, "grading")
    pool = await create_pool(url)
    yield pool
    await pool.close()


async def test_message_with_a_nul_byte_is_dead_lettered(stack, scratch_db, reliability):
    reliability.record("message with a NUL byte (0x00) in its bytes", 1, "dead-lettered; the consumer goes on")

    async def never(conn, inbound):  # pragma: no cover - the message is poison before it gets here
        raise AssertionError("applied")

    consumer = EventConsumer("fuzz-nul", "grading", scratch_db, stack.broker.bootstrap,
                             {"contact-received": never})
    value = b"poison \x00 bytes"
    record = ConsumerRecord(topic="contact-received", partition=0, offset=7, timestamp=0, timestamp_type=0,
                            key=b"k", value=value, checksum=None, serialized_key_size=1,
                            serialized_value_size=len(value), headers=())
    try:
        await consumer.apply_batch({TopicPartition("contact-received", 0): [record]})
    except asyncpg.PostgresError as exc:
        pytest.fail(f"the batch failed instead of dead-lettering: {exc!r}")
    reason = await scratch_db.fetchval("select envelope->'payload'->>'reason' from event_store "
                                       "where event_type = 'dead-letters'")
    assert reason


def test_deeply_nested_call_center_message_is_refused_with_a_reason(reliability):
    reliability.record("call-center message nested 5,000 arrays deep", 1, "refused with a reason naming the field")
    result = parse_callcenter_message(b"[" * 5000 + b"]" * 5000)
    assert isinstance(result, CallCenterRejection) and result.reason.startswith("message")
