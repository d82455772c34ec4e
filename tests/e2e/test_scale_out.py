"""Two replicas of each service: consumers share the partitions and take over from
each other when one is SIGKILLed under load; HTTP replicas behind one database
share idempotency keys and their concurrency checks."""
import asyncio
import importlib
import json
import re
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from crm.stack import SERVICES, ServiceProcess, free_port
from shared.events.enums import Role
from shared.events.topics import CALLCENTER_CONTACTS
from shared.runtime import kafka
from tests.support.reliability import APPLIED_ONCE
from tests.support.problems import problem_fields

from .test_fault_matrix import analytics_has_each_once
from .test_faults import analytics_mirrors_producers, assert_each_applied_once, counts_per_customer, post_contacts
from .test_walking_skeleton import contact


def services_with_consumers() -> list[str]:
    """Every service whose app runs a consumer group (from the services' own specs)."""
    return [name for name in SERVICES
            if importlib.import_module(f"services.{name}.app").build_app().state.spec.consumers]


CONSUMING = services_with_consumers()
HTTP_SERVICES = list(SERVICES)


@pytest.fixture
def second_replica(stack):
    started: list[ServiceProcess] = []

    def start(name: str) -> ServiceProcess:
        first = stack.services[name]
        port = free_port()
        twin = replace(first, port=port, env={**first.env, "CRM_HTTP_PORT": str(port)},
                       log_path=first.log_path.with_name(f"{name}-2.log"), proc=None)
        twin.start()
        started.append(twin)
        twin.wait_ready(60)
        return twin

    yield start
    for twin in started:
        twin.stop()


async def until(check, timeout: float = 60, every: float = 0.2):
    """Poll an async check until it returns something truthy; returns that."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(every)


# --- consumers: the survivor takes every partition over -------------------------------------------------

def call(phone: str) -> dict:
    return {"schema_version": 1, "source_system": "cc-scale", "call_id": f"C-{uuid.uuid4().hex[:16]}",
            "call_started_at": datetime.now(UTC).isoformat(), "call_type": "inbound", "caller_phone": phone,
            "caller_name": "Han Meimei", "agent_id": "A017", "purchase_timeframe": "within_1_month",
            "consultant_id": "c-001"}


async def feed_calls(stack, n: int) -> list[str]:
    """Publish n raw call-center calls over ~2 s (a stream, not one burst); returns the phones."""
    producer = kafka.producer(stack.broker.bootstrap)
    await producer.start()
    phones = [f"137{uuid.uuid4().int % 10**8:08d}" for _ in range(n)]
    try:
        for i in range(0, n, 10):
            await asyncio.gather(*(producer.send_and_wait(CALLCENTER_CONTACTS, json.dumps(call(p)).encode(),
                                                          key=p.encode()) for p in phones[i:i + 10]))
            await asyncio.sleep(0.15)
    finally:
        await producer.stop()
    return phones


async def customers_of_calls(api, twin: ServiceProcess, phones: list[str]) -> list[str]:
    """The customer each call became, read from the surviving intake replica."""
    ids: list[str] = []
    for phone in phones:
        async def found(phone=phone):
            r = await api.client.get(f"{twin.url}/v1/customers", params={"phone": phone},
                                     headers=api.headers(Role.INTEGRATION))
            assert r.status_code == 200, r.text
            return r.json()["customers"]

        customers = await until(found, timeout=60)
        assert len(customers) == 1, f"call from {phone} made {len(customers)} customers"
        ids.append(customers[0]["customer_id"])
    return ids


@pytest.mark.parametrize("service", CONSUMING)
async def test_consumer_replica_takes_over_when_the_other_is_killed(api, stack, second_replica, service,
                                                                    reliability):
    n = 120
    load = "raw call-center calls" if service == "intake" else "contacts"
    reliability.record(f"one of two {service} replicas SIGKILLed under load ({n} {load} in flight)", 1,
                       f"{APPLIED_ONCE}; the killed replica restarts and rejoins")
    first = stack.services[service]
    twin = await asyncio.to_thread(second_replica, service)
    await asyncio.to_thread(first.wait_ready, 60)  # both replicas hold partitions after the rebalance
    if service == "intake":  # intake consumes the call-center feed: its HTTP side is not the load here
        feeding = asyncio.create_task(feed_calls(stack, n))
    else:
        feeding = asyncio.create_task(post_contacts(api, n))
    await asyncio.sleep(0.8)
    first.kill()  # the survivor must take every partition over
    fed = await feeding
    try:
        if service == "intake":
            ids = await customers_of_calls(api, twin, fed)
            per_customer = await counts_per_customer(
                api, "intake", "select customer_id, count(*) from contacts where customer_id = any($1) group by 1",
                ids)
            assert len(per_customer) == n and set(per_customer.values()) == {1}, "a call became two contacts"
        else:
            ids = fed
        await assert_each_applied_once(api, ids)
        await analytics_has_each_once(api, ids)
    finally:
        first.start()
        await asyncio.to_thread(first.wait_ready, 60)


# --- HTTP: two replicas, one database --------------------------------------------------------------------

async def graded_customer(api) -> str:
    r = await api.post("intake", "/v1/contacts", contact())
    assert r.status_code == 201, r.text
    customer_id = r.json()["customer_id"]
    await api.eventually("grading", f"/v1/prospects/{customer_id}/grade", lambda g: g["grade"] == "H")
    return customer_id


async def customer_with_task(api) -> tuple[str, str]:
    customer_id = await graded_customer(api)
    tasks = await api.eventually("followup", f"/v1/tasks?customer_id={customer_id}", lambda t: t["tasks"])
    return customer_id, tasks["tasks"][0]["task_id"]


async def db_value(api, service: str, sql: str, *args):
    conn = await api.db(service)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


class Idempotent:
    """Per service: one POST that takes an Idempotency-Key, and how to count what it stored."""

    @staticmethod
    async def intake(api):
        async def stored(responses):
            cid = uuid.UUID(responses[0].json()["customer_id"])
            return await db_value(api, "intake", "select count(*) from contacts where customer_id = $1", cid)
        return "/v1/contacts", contact(), "contact_id", stored

    @staticmethod
    async def grading(api):
        customer_id = await graded_customer(api)

        async def stored(_):
            return await db_value(api, "grading", "select count(*) from grade_history where customer_id = $1 "
                                                  "and rule = 'override'", uuid.UUID(customer_id))
        body = {"grade": "A", "reason": f"scale-out {uuid.uuid4().hex[:8]}"}
        return f"/v1/prospects/{customer_id}/grade-override", body, "cause_event_id", stored

    @staticmethod
    async def followup(api):
        customer_id, _ = await customer_with_task(api)

        async def stored(_):
            return await db_value(api, "followup", "select count(*) from deals where customer_id = $1",
                                  uuid.UUID(customer_id))
        body = {"customer_id": customer_id, "items": [{"product": "SUV X5", "quantity": 1, "unit_price": "200000"}],
                "gross_profit": "15000", "closed_on": date.today().isoformat()}
        return "/v1/deals", body, "deal", stored

    @staticmethod
    async def analytics(api):
        campaign = f"scale-{uuid.uuid4().hex[:8]}"

        async def stored(_):
            r = await api.get("analytics", f"/v1/campaigns/{campaign}/costs")
            assert r.status_code == 200, r.text
            return len(r.json()["costs"])
        body = {"amount": "1200.50", "spent_on": date.today().isoformat(), "note": "flyers"}
        return f"/v1/campaigns/{campaign}/costs", body, "cost_id", stored


class Concurrent:
    """Per service: the same command on both replicas at once; returns what was checked."""

    @staticmethod
    async def intake(api, urls):
        body = contact()  # a new phone: one customer, whichever replica wins
        responses = await asyncio.gather(*(api.client.post(f"{u}/v1/contacts", json=body, headers=api.headers())
                                           for u in urls * 4))
        assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
        assert len({r.json()["customer_id"] for r in responses}) == 1
        return len(responses), "same new phone on both replicas: one customer"

    @staticmethod
    async def followup(api, urls):
        _, task_id = await customer_with_task(api)
        body = {"method": "phone", "outcome": "reached", "content": "called back"}
        responses = await asyncio.gather(*(api.client.post(f"{u}/v1/tasks/{task_id}/complete", json=body,
                                                           headers=api.headers()) for u in urls * 3))
        assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
        changed = [r for r in responses if r.status_code == 200 and r.json()["changed"]]
        assert len(changed) == 1, f"{len(changed)} completions of one task"
        logged = await db_value(api, "followup", "select count(*) from event_store where event_type = "
                                                 "'followup-logged' and envelope->'payload'->>'task_id' = $1", task_id)
        assert logged == 1
        return len(responses), "same task completed on both replicas: exactly one completion, one followup-logged"

    @staticmethod
    async def grading(api, urls):
        customer_id = await graded_customer(api)
        bodies = [{"grade": g, "reason": f"race {i}"} for i, g in enumerate("ABCABC")]
        responses = await asyncio.gather(*(
            api.client.post(f"{urls[i % 2]}/v1/prospects/{customer_id}/grade-override", json=b, headers=api.headers())
            for i, b in enumerate(bodies)))
        assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
        ok = [r for r in responses if r.status_code == 200]
        assert ok, "every override was refused"
        grade = (await api.get("grading", f"/v1/prospects/{customer_id}/grade")).json()
        overrides = [h for h in grade["history"] if h["rule"] == "override"]
        seqs = [h["seq"] for h in grade["history"]]
        assert seqs == list(range(1, len(seqs) + 1)), f"history has gaps or doubles: {seqs}"
        # every accepted override is in the history (none lost); a repeat of the grade in force changes nothing
        assert 1 <= len(overrides) <= len(ok)
        assert {h["reason"] for h in overrides} <= {b["reason"] for b in bodies}
        assert grade["grade"] == grade["history"][-1]["grade"]
        return len(responses), "overrides of one prospect on both replicas: no lost or doubled history entry"

    @staticmethod
    async def analytics(api, urls):
        customer_id = await graded_customer(api)
        await api.eventually("analytics", f"/v1/customers/{customer_id}/360", lambda v: v["open_tasks"])
        await analytics_mirrors_producers(api, [customer_id])  # nothing for this customer still in flight
        before = (await api.get("analytics", f"/v1/customers/{customer_id}/360")).json()
        responses = await asyncio.gather(*(api.client.post(f"{u}/v1/admin/replay", headers=api.headers())
                                           for u in urls * 2))
        assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
        assert any(r.status_code == 200 for r in responses)
        after = (await api.get("analytics", f"/v1/customers/{customer_id}/360")).json()
        assert after == before, "a replay on two replicas at once changed the projection"
        return len(responses), "replay on both replicas at once: one at a time (409 for the other), same 360"


@pytest.mark.parametrize("service", HTTP_SERVICES)
async def test_http_replicas_share_idempotency_keys_and_concurrency_checks(api, stack, second_replica, service,
                                                                          reliability):
    twin = await asyncio.to_thread(second_replica, service)
    urls = [stack.services[service].url, twin.url]

    path, body, answer_field, stored = await getattr(Idempotent, service)(api)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    responses = await asyncio.gather(*(api.client.post(f"{u}{path}", json=body, headers=api.headers(**key))
                                       for u in urls * 3))
    assert len({r.status_code for r in responses}) == 1 and responses[0].status_code in (200, 201), \
        [r.text for r in responses]
    assert len({json.dumps(r.json()[answer_field], sort_keys=True) for r in responses}) == 1, "two different answers"
    assert await stored(responses) == 1
    label = re.sub(r"/(scale-)?[0-9a-f]{8}(-[0-9a-f-]{27})?(?=/|$)", "/{id}", path)
    reliability.record(f"same Idempotency-Key sent concurrently to two {service} replicas (POST {label})",
                       len(responses), "one result, one record stored")

    times, checked = await getattr(Concurrent, service)(api, urls)
    reliability.record(f"concurrent commands on two {service} replicas", times, checked)


ANOTHER_BODY = {"intake": {"name": "Someone Else"}, "grading": {"reason": "another reason"},
                "followup": {"gross_profit": "14000"}, "analytics": {"amount": "999.00"}}


@pytest.mark.parametrize("service", HTTP_SERVICES)
async def test_idempotency_key_reused_for_another_request_is_refused(api, service, reliability):
    reliability.record(f"{service}: Idempotency-Key re-used with another body", 1,
                       "422 naming the Idempotency-Key header; nothing new stored")
    path, body, _, stored = await getattr(Idempotent, service)(api)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await api.post(service, path, body, headers=key)
    assert first.status_code in (200, 201), first.text
    again = await api.post(service, path, {**body, **ANOTHER_BODY[service]}, headers=key)
    assert again.status_code == 422, again.text
    assert problem_fields(again)[0] == "header.Idempotency-Key"
    assert await stored([first]) == 1
