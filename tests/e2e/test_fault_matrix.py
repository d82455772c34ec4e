"""More faults, for real: each service killed mid-stream, PostgreSQL stopped under
load, every event delivered twice, a poison message on every consumed topic."""
import asyncio
import importlib
import uuid

import httpx
import pytest

from shared.runtime import kafka

from tests.support.dead_letters import read_dead_letters
from tests.support.reliability import APPLIED_ONCE

from .test_faults import assert_each_applied_once
from .test_walking_skeleton import contact


async def post_tolerant(api, n: int, concurrency: int = 12) -> tuple[list[str], int]:
    """Post n contacts, retrying refusals; returns the accepted customer ids and the refusals seen."""
    sem, accepted, refused = asyncio.Semaphore(concurrency), [], 0

    async def one():
        nonlocal refused
        body = contact(purchase_timeframe="within_1_month")
        key = {"Idempotency-Key": str(uuid.uuid4())}
        async with sem:
            for _ in range(100):
                try:
                    r = await api.post("intake", "/v1/contacts", body, headers=key)
                except httpx.HTTPError:
                    refused += 1
                    await asyncio.sleep(0.2)
                    continue
                if r.status_code == 201:
                    accepted.append(r.json()["customer_id"])
                    return
                assert r.status_code == 503, r.text  # never a 500
                refused += 1
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one() for _ in range(n)))
    return accepted, refused


async def analytics_has_each_once(api, ids: list[str], timeout: float = 90) -> None:
    conn = await api.db("analytics")
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            n = await conn.fetchval("select count(*) from event_log where event_type = 'contact-received' "
                                    "and customer_id = any($1)", [uuid.UUID(i) for i in ids])
            if n >= len(ids) or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.3)
    finally:
        await conn.close()
    assert n == len(ids)


@pytest.mark.parametrize("victim", ["intake", "followup", "analytics"])
async def test_sigkill_a_service_mid_stream(api, stack, victim, reliability):
    reliability.record(f"SIGKILL {victim} mid-stream (150 contacts in flight)", 1, APPLIED_ONCE)
    posting = asyncio.create_task(post_tolerant(api, 150))
    await asyncio.sleep(0.6)
    stack.services[victim].kill()
    await asyncio.sleep(0.5)
    stack.services[victim].start()
    await asyncio.to_thread(stack.services[victim].wait_ready, 60)
    ids, _ = await posting
    assert len(ids) == 150  # every contact was eventually accepted
    await assert_each_applied_once(api, ids)
    await analytics_has_each_once(api, ids)


async def test_postgres_stopped_under_load_and_started_again(api, stack, reliability):
    reliability.record("PostgreSQL stopped for 3 s under load, then started", 1,
                       f"503 (never 500) during the outage; {APPLIED_ONCE}")
    stop = asyncio.Event()
    accepted: list[str] = []
    refused = 0

    async def keep_posting():
        nonlocal refused
        while not stop.is_set():
            ids, r = await post_tolerant(api, 10)
            accepted.extend(ids)
            refused += r

    load = asyncio.create_task(keep_posting())
    await asyncio.sleep(0.5)
    await asyncio.to_thread(stack.postgres.stop)
    await asyncio.sleep(3)
    await asyncio.to_thread(stack.postgres.start)
    await asyncio.sleep(1)
    stop.set()
    await load
    assert refused > 0, "the outage never met a request"
    await assert_each_applied_once(api, accepted)
    await analytics_has_each_once(api, accepted)
    for svc in stack.services.values():
        await asyncio.to_thread(svc.wait_ready, 60)


async def test_every_event_delivered_twice_changes_nothing(api, stack, reliability):
    reliability.record("every stored event published again (duplicate delivery)", 1,
                       "no duplicate grade, task or analytics record")
    ids, _ = await post_tolerant(api, 30)
    await assert_each_applied_once(api, ids)
    await analytics_has_each_once(api, ids)
    for name in ("intake", "grading", "followup"):
        conn = await api.db(name)
        try:
            await conn.execute("insert into outbox_pending select position from event_store on conflict do nothing")  # the relay sends it all again
        finally:
            await conn.close()
    more, _ = await post_tolerant(api, 5)  # arrives after the duplicates in each partition
    await assert_each_applied_once(api, ids + more)
    await analytics_has_each_once(api, ids + more)
    conn = await api.db("analytics")
    try:
        per_event = await conn.fetchval("select count(*) from event_log where customer_id = any($1)",
                                        [uuid.UUID(i) for i in ids])
        distinct = await conn.fetchval("select count(distinct event_id) from event_log where customer_id = any($1)",
                                       [uuid.UUID(i) for i in ids])
    finally:
        await conn.close()
    assert per_event == distinct


def consumed_topics() -> dict[str, set[str]]:
    """consumer group -> topics, from the services' own specs."""
    groups: dict[str, set[str]] = {}
    for name in ("intake", "grading", "followup", "analytics"):
        app = importlib.import_module(f"services.{name}.app").build_app()
        for consumer in app.state.spec.consumers:
            groups.setdefault(consumer.group, set()).update(consumer.handlers)
    return groups


async def test_poison_on_every_consumed_topic_is_dead_lettered(api, stack, reliability):
    groups = consumed_topics()
    topics = set().union(*groups.values())
    marker = uuid.uuid4().hex
    producer = kafka.producer(stack.broker.bootstrap)
    await producer.start()
    try:
        for topic in sorted(topics):
            await producer.send_and_wait(topic, f"poison {marker} {topic}".encode(), key=marker.encode())
    finally:
        await producer.stop()
    want = {(group, topic) for group, ts in groups.items() for topic in ts}
    letters = await read_dead_letters(stack.broker.bootstrap, marker, len(want))
    got = {(letter["payload"]["consumer"], letter["payload"]["topic"]) for letter in letters}
    assert want <= got, f"no dead letter for {want - got}"
    reliability.record("poison message on every consumed topic", len(want),
                       "a dead letter per consumer and topic; consumers keep going")
    ids, _ = await post_tolerant(api, 3)
    await assert_each_applied_once(api, ids)
