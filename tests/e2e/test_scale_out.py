"""Two replicas of a service: consumers share the partitions and take over from
each other; HTTP replicas share idempotency keys and concurrency checks."""
import asyncio
import uuid
from dataclasses import replace

import pytest

from crm.stack import ServiceProcess, free_port
from tests.support.reliability import APPLIED_ONCE

from .test_faults import assert_each_applied_once, post_contacts
from .test_walking_skeleton import contact


@pytest.fixture
def second_replica(stack):
    started: list[ServiceProcess] = []

    def start(name: str) -> ServiceProcess:
        first = stack.services[name]
        port = free_port()
        twin = replace(first, port=port, env={**first.env, "CRM_HTTP_PORT": str(port)},
                       log_path=first.log_path.with_name(f"{name}-2.log"), proc=None)
        twin.start()
        twin.wait_ready(60)
        started.append(twin)
        return twin

    yield start
    for twin in started:
        twin.stop()


async def test_consumer_replica_takes_over_when_the_other_is_killed(api, stack, second_replica, reliability):
    reliability.record("one of two grading replicas SIGKILLed under load", 1, APPLIED_ONCE)
    await asyncio.to_thread(second_replica, "grading")
    posting = asyncio.create_task(post_contacts(api, 200))
    await asyncio.sleep(0.8)
    stack.services["grading"].kill()  # the survivor must take all partitions over
    ids = await posting
    await assert_each_applied_once(api, ids)
    stack.services["grading"].start()
    await asyncio.to_thread(stack.services["grading"].wait_ready, 60)


async def test_http_replicas_share_idempotency_keys(api, stack, second_replica, reliability):
    reliability.record("same Idempotency-Key sent concurrently to two intake replicas", 6, "one contact stored")
    twin = await asyncio.to_thread(second_replica, "intake")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = contact()
    urls = [f"{stack.services['intake'].url}/v1/contacts", f"{twin.url}/v1/contacts"]
    responses = await asyncio.gather(*(
        api.client.post(url, json=body, headers=api.headers(**key)) for url in urls * 3))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["contact_id"] for r in responses}) == 1
    conn = await api.db("intake")
    try:
        n = await conn.fetchval("select count(*) from contacts where customer_id = $1",
                                uuid.UUID(responses[0].json()["customer_id"]))
    finally:
        await conn.close()
    assert n == 1


async def test_same_new_phone_on_two_replicas_makes_one_customer(api, stack, second_replica, reliability):
    reliability.record("concurrent first contacts, same phone, two replicas", 8, "one customer")
    twin = await asyncio.to_thread(second_replica, "intake")
    body = contact()
    urls = [f"{stack.services['intake'].url}/v1/contacts", f"{twin.url}/v1/contacts"]
    responses = await asyncio.gather(*(api.client.post(url, json=body, headers=api.headers())
                                       for url in urls * 4))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["customer_id"] for r in responses}) == 1
