"""The raw call-center feed: good calls become contacts, bad ones dead letters."""
import json
import uuid
from datetime import UTC, datetime

from shared.runtime import kafka
from tests.support.dead_letters import read_dead_letters

from .helpers import count, events_of, new_phone, spaced

TOPIC = "callcenter-contacts"


def call(marker: str, phone: str, **over) -> dict:
    return {"schema_version": 1, "source_system": "cc-north", "call_id": f"C-{marker}",
            "call_started_at": "2026-05-01T09:30:00+08:00", "duration_seconds": 240, "call_type": "inbound",
            "caller_phone": phone, "caller_name": "张三", "agent_id": "A017", "purpose": "price enquiry",
            "product_interest": "SUV X5", "purchase_timeframe": "within_1_month", **over}


async def publish(stack, *values: bytes) -> None:
    producer = kafka.producer(stack.broker.bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(TOPIC, value, key=b"cc-north")
    finally:
        await producer.stop()


async def test_good_calls_become_contacts_and_bad_ones_dead_letters(api, stack):
    marker, phone = uuid.uuid4().hex[:12], new_phone()
    good = json.dumps(call(marker, spaced(phone))).encode()
    bad = {
        "not json": f"{{not json {marker}".encode(),
        "caller_phone": json.dumps(call(f"{marker}-1", "12345")).encode(),
        "duration_seconds": json.dumps(call(f"{marker}-2", phone, duration_seconds="240")).encode(),
        "colour": json.dumps(call(f"{marker}-3", phone, colour="red")).encode(),
        "call_id": json.dumps({k: v for k, v in call(marker, phone, notes=marker).items() if k != "call_id"}).encode(),
        "requested_callback_at": json.dumps(call(f"{marker}-4", phone,
                                                 requested_callback_at="2026-04-01T00:00:00Z")).encode(),
        "occurred_at": json.dumps(call(f"{marker}-5", phone, call_started_at="2099-01-01T00:00:00Z")).encode(),
    }
    await publish(stack, *bad.values(), good, good)  # the good call is sent twice (a call-center retry)

    found = await api.eventually("intake", f"/v1/customers?phone={phone}", lambda v: v["customers"])
    customer_id = found["customers"][0]["customer_id"]
    [event] = await events_of(api, customer_id, "contact-received")
    payload = event["payload"]
    assert payload["channel"] == "call_center" and payload["phone"] == phone
    assert payload["receptionist"] == "A017" and payload["channel_details"]["call_id"] == f"C-{marker}"
    assert datetime.fromisoformat(event["occurred_at"]) == datetime(2026, 5, 1, 1, 30, tzinfo=UTC)

    letters = [letter["payload"] for letter in await read_dead_letters(
        stack.broker.bootstrap, marker, want=len(bad), consumer="intake-callcenter")]
    reasons = sorted(letter["reason"] for letter in letters)
    assert len(letters) == len(bad), reasons
    for field in bad:
        expected = "message" if field == "not json" else field
        assert any(r.startswith(f"{expected}:") for r in reasons), (field, reasons)
    sql = "select count(*) from contacts where dedup_key like $1"
    assert await count(api, sql, f"callcenter:cc-north:C-{marker}%") == 1
