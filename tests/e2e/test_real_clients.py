"""Stock Kafka clients, as a call-center integrator would use them, against the embedded
Apache Kafka: Debian's kcat (librdkafka 2.0) on the command line and confluent-kafka in
Python publish a call to `callcenter-contacts` and read the `contact-received` it becomes
(docs/integrators.md)."""
from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import uuid

import pytest

CALLS = "callcenter-contacts"


def new_phone() -> str:
    """A fresh valid mainland mobile number (E.164)."""
    return f"+86138{uuid.uuid4().int % 10**8:08d}"


def call(marker: str, phone: str) -> dict:
    """One call in the inbound format (docs/events/callcenter-contacts.inbound.schema.json)."""
    return {"schema_version": 1, "source_system": "cc-east", "call_id": f"C-{marker}",
            "call_started_at": "2026-05-01T09:30:00+08:00", "duration_seconds": 180, "call_type": "inbound",
            "caller_phone": phone, "caller_name": "李雷", "agent_id": "A021", "purpose": "test drive",
            "product_interest": "SUV X5", "purchase_timeframe": "within_1_month"}


async def customer_of(api, phone: str) -> str:
    found = await api.eventually("intake", f"/v1/customers?phone={phone}", lambda v: v["customers"], timeout=60)
    return found["customers"][0]["customer_id"]


def as_json(text: str | bytes) -> dict | None:
    """A record's JSON object; None for anything else (the session's fuzz tests publish junk)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def received_for(records: list[dict], customer_id: str) -> list[dict]:
    return [r for r in records if r.get("event_type") == "contact-received" and r.get("customer_id") == customer_id]


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed (scripts/bootstrap installs it as root)")
async def test_kcat_as_the_call_center(api, stack):
    bootstrap, marker, phone = stack.broker.bootstrap, uuid.uuid4().hex[:12], new_phone()
    listing = subprocess.run(["kcat", "-b", bootstrap, "-L", "-t", CALLS], capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0 and f'topic "{CALLS}"' in listing.stdout, listing.stderr
    # kcat -P: one message per line, "key:value" with -K:
    line = f"cc-east:{json.dumps(call(marker, phone), ensure_ascii=False)}\n"
    sent = subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", CALLS, "-K:"], input=line,
                          capture_output=True, text=True, timeout=30)
    assert sent.returncode == 0, sent.stderr
    customer_id = await customer_of(api, phone)

    deadline = time.monotonic() + 60
    while True:  # -e: exit at the end of the partitions; the event may still be on its way
        read = await asyncio.to_thread(
            subprocess.run, ["kcat", "-b", bootstrap, "-C", "-t", "contact-received", "-o", "beginning", "-e",
                             "-q", "-f", "%s\n"], capture_output=True, text=True, timeout=60)
        assert read.returncode == 0, read.stderr
        mine = received_for([r for x in read.stdout.splitlines() if (r := as_json(x)) is not None], customer_id)
        if mine or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert len(mine) == 1, mine
    assert mine[0]["payload"]["channel"] == "call_center"
    assert phone not in read.stdout  # personal fields travel sealed


async def test_confluent_kafka_as_the_call_center(api, stack):
    from confluent_kafka import Consumer, Producer

    bootstrap, marker, phone = stack.broker.bootstrap, uuid.uuid4().hex[:12], new_phone()
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    delivered: list = []
    producer.produce(CALLS, key=b"cc-east", value=json.dumps(call(marker, phone)).encode(),
                     on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(30) == 0 and delivered == [None], delivered
    customer_id = await customer_of(api, phone)

    def read_until_found() -> list[dict]:
        # a group of the call center's own (under ACLs its groups must start with "callcenter-")
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"callcenter-test-{marker}",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe(["contact-received"])
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                msg = consumer.poll(1.0)
                if msg is None or msg.error():
                    continue
                record = as_json(msg.value())
                if record is not None and received_for([record], customer_id):
                    consumer.commit(msg, asynchronous=False)
                    return [record]
            return []
        finally:
            consumer.close()

    mine = await asyncio.to_thread(read_until_found)
    assert len(mine) == 1 and mine[0]["payload"]["channel"] == "call_center", mine
