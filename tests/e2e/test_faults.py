"""Faults from issue 2's acceptance, injected for real on the embedded stack."""
import asyncio
import json
import uuid
from collections import Counter

from shared.runtime import kafka
from tests.support.dead_letters import read_dead_letters
from tests.support.reliability import APPLIED_ONCE

from .test_walking_skeleton import contact


async def post_contacts(api, n: int, concurrency: int = 16) -> list[str]:
    sem = asyncio.Semaphore(concurrency)

    async def one() -> str:
        async with sem:
            r = await api.post("intake", "/v1/contacts", contact(purchase_timeframe="within_1_month"))
            assert r.status_code == 201, r.text
            return r.json()["customer_id"]

    return await asyncio.gather(*(one() for _ in range(n)))


async def wait_for_sql(api, service: str, sql: str, args, expected, timeout: float = 60):
    conn = await api.db(service)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await conn.fetchval(sql, *args)
            if value == expected or asyncio.get_running_loop().time() > deadline:
                return value
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def counts_per_customer(api, service: str, sql: str, ids: list[str]) -> dict:
    conn = await api.db(service)
    try:
        rows = await conn.fetch(sql, [uuid.UUID(i) for i in ids])
    finally:
        await conn.close()
    return {str(r[0]): r[1] for r in rows}


async def assert_each_applied_once(api, ids: list[str]) -> None:
    graded = await wait_for_sql(api, "grading", "select count(*) from prospects where customer_id = any($1)",
                                [[uuid.UUID(i) for i in ids]], len(ids))
    assert graded == len(ids)
    tasks = await wait_for_sql(api, "followup", "select count(*) from tasks where customer_id = any($1)",
                               [[uuid.UUID(i) for i in ids]], len(ids))
    assert tasks == len(ids)
    history = await counts_per_customer(
        api, "grading", "select customer_id, count(*) from grade_history where customer_id = any($1) group by 1", ids)
    assert set(history.values()) == {1}, "a contact was graded twice"
    events = await counts_per_customer(
        api, "grading", "select customer_id, count(*) from event_store where customer_id = any($1) "
                        "and event_type = 'prospect-graded' group by 1", ids)
    assert len(events) == len(ids) and set(events.values()) == {1}
    per_task = await counts_per_customer(
        api, "followup", "select customer_id, count(*) from tasks where customer_id = any($1) group by 1", ids)
    assert set(per_task.values()) == {1}, "a grade made two tasks"


async def test_sigkill_consumer_mid_stream_applies_every_event_once(api, stack, reliability):
    reliability.record("SIGKILL grading consumer mid-stream (300 contacts in flight)", 1, APPLIED_ONCE)
    posting = asyncio.create_task(post_contacts(api, 300))
    await asyncio.sleep(0.8)  # grading is busy consuming the stream now
    stack.services["grading"].kill()
    ids = await posting
    stack.services["grading"].start()
    await asyncio.to_thread(stack.services["grading"].wait_ready, 60)
    await assert_each_applied_once(api, ids)


async def republish_count(api, service: str = "grading") -> float:
    metrics = (await api.client.get(api.url(service, "/metrics"))).text
    found = [line for line in metrics.splitlines() if line.startswith("crm_relay_republish_total")]
    assert found, "the relay's republish counter is missing"
    return float(found[0].split()[-1])


async def test_broker_restart_keeps_messages_and_offsets(api, stack, reliability):
    reliability.record("broker stopped and started again (Apache Kafka keeps its log dirs)", 1,
                       "no republish, every contact applied once, nothing consumed twice")
    before = await post_contacts(api, 20)
    await assert_each_applied_once(api, before)
    republished = await republish_count(api)
    await asyncio.to_thread(stack.restart_broker)
    after = await post_contacts(api, 20)
    await assert_each_applied_once(api, before + after)
    for cid in before + after:
        await api.eventually("analytics", f"/v1/customers/{cid}/360", lambda v: v["open_tasks"], timeout=60)
    # the relays found their last records still there: nothing to send again
    assert await republish_count(api) == republished
    await analytics_mirrors_producers(api, before + after)


async def test_broker_wiped_loses_nothing(api, stack, reliability):
    reliability.record("broker wiped (all messages, topics and committed offsets lost)", 1,
                       "relays republish, nothing lost, nothing applied twice")
    before = await post_contacts(api, 20)
    await assert_each_applied_once(api, before)
    republished = await republish_count(api)
    await asyncio.to_thread(stack.wipe_broker)
    after = await post_contacts(api, 20)
    await assert_each_applied_once(api, before + after)
    for cid in before + after:
        await api.eventually("analytics", f"/v1/customers/{cid}/360", lambda v: v["open_tasks"], timeout=60)
    assert await republish_count(api) >= republished + 1
    # republished events were deduplicated: analytics holds exactly the producers' events, once each
    await analytics_mirrors_producers(api, before + after)


async def analytics_mirrors_producers(api, ids: list[str], timeout: float = 60) -> None:
    """The analytics log holds every event the producers stored for these customers, each once, and
    the folder has folded them (no fold mark left for them): the 360 and the reports show them."""
    customers = [uuid.UUID(i) for i in ids]
    produced: set = set()
    kinds: dict = {}  # event id -> (producer, type, published), to say what is missing
    for name in ("intake", "grading", "followup"):
        conn = await api.db(name)
        try:
            for r in await conn.fetch("select e.event_id, e.event_type, p.position is null as published "
                                      "from event_store e left join outbox_pending p using (position) "
                                      "where customer_id = any($1) and event_type <> 'dead-letters'", customers):
                produced.add(r[0])
                kinds[r[0]] = (name, r[1], r[2])
        finally:
            await conn.close()
    conn = await api.db("analytics")
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = await conn.fetch("select event_id from event_log where customer_id = any($1)", customers)
            logged = [r[0] for r in rows]
            unfolded = await conn.fetchval("select count(*) from fold_marks where customer_id = any($1)", customers)
            if (produced <= set(logged) and not unfolded) or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.3)
    finally:
        await conn.close()
    missing = Counter(kinds[i] for i in produced - set(logged))
    assert produced <= set(logged), f"{sum(missing.values())} events never reached analytics: {dict(missing)}"
    assert not unfolded, f"{unfolded} fold marks of these customers never folded"
    assert len(logged) == len(set(logged))


async def test_malformed_message_goes_to_dead_letters_and_consumer_continues(api, stack, reliability):
    reliability.record("malformed message (bad JSON, bad payload) on contact-received", 2,
                       "dead letter with the reason; the consumer keeps going")
    producer = kafka.producer(stack.broker.bootstrap)
    await producer.start()
    marker = uuid.uuid4().hex
    bad_payload = {"event_id": str(uuid.uuid4()), "event_type": "contact-received", "schema_version": 1,
                   "occurred_at": "2026-01-01T00:00:00Z", "recorded_at": "2026-01-01T00:00:00Z",
                   "producer": "test", "customer_id": str(uuid.uuid4()),
                   "payload": {"contact_id": str(uuid.uuid4()), "channel": f"pigeon-{marker}"}}
    try:
        await producer.send_and_wait("contact-received", f"{{not json {marker}".encode(), key=b"k")
        await producer.send_and_wait("contact-received", json.dumps(bad_payload).encode(), key=b"k")
    finally:
        await producer.stop()

    letters = await read_dead_letters(stack.broker.bootstrap, marker, want=2, consumer="grading")
    reasons = " | ".join(letter["payload"]["reason"] for letter in letters)
    assert all(letter["payload"]["consumer"] == "grading" for letter in letters)
    assert "envelope" in reasons and "payload.channel" in reasons

    ids = await post_contacts(api, 3)
    await assert_each_applied_once(api, ids)
