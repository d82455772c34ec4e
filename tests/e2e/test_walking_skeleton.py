"""One contact travels through all four services; the HTTP contract holds."""
import time
import uuid

from shared.events.enums import Role
from tests.support.phones import unique_mobile
from tests.support.problems import problem_fields


def contact(**over):
    phone = over.pop("phone") if "phone" in over else unique_mobile()
    return {"channel": "walk_in", "name": "Li Lei", "phone": phone,
            "purchase_timeframe": "within_7_days", "consultant_id": "c-001", **over}


async def test_contact_reaches_the_360_graded_and_with_a_task(api):
    started = time.monotonic()
    r = await api.post("intake", "/v1/contacts", contact())
    assert r.status_code == 201, r.text
    customer_id = r.json()["customer_id"]

    view = await api.eventually(
        "analytics", f"/v1/customers/{customer_id}/360",
        lambda v: v["grade"] == "H" and any(t["kind"] == "first_contact" for t in v["open_tasks"]),
    )
    print(f"contact visible in the 360 after {time.monotonic() - started:.2f}s")
    assert view["contacts"][0]["channel"] == "walk_in"
    assert view["open_tasks"][0]["owner_id"] == "c-001"
    grade = (await api.get("grading", f"/v1/prospects/{customer_id}/grade")).json()
    assert grade["grade"] == "H" and grade["history"][0]["cause_event_id"]


async def test_missing_and_invalid_fields_get_422_naming_the_field(api):
    r = await api.post("intake", "/v1/contacts", {"name": "x", "phone": "13900000000"})
    assert r.status_code == 422
    assert "channel" in problem_fields(r)

    r = await api.post("intake", "/v1/contacts", contact(party_size=0))
    assert r.status_code == 422
    assert "party_size" in problem_fields(r)

    r = await api.post("intake", "/v1/contacts", contact(phone="not a phone"))
    assert r.status_code == 422
    assert problem_fields(r)[0] == "phone"


async def test_idempotency_key_replays_the_first_result(api):
    body = contact()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await api.post("intake", "/v1/contacts", body, headers=key)
    second = await api.post("intake", "/v1/contacts", body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    conn = await api.db("intake")
    try:
        n = await conn.fetchval("select count(*) from contacts where customer_id = $1",
                                uuid.UUID(first.json()["customer_id"]))
    finally:
        await conn.close()
    assert n == 1
    other = await api.post("intake", "/v1/contacts", contact(), headers=key)
    assert other.status_code == 422
    assert problem_fields(other)[0] == "header.Idempotency-Key"


async def test_tokens_and_roles(api):
    url = api.url("intake", "/v1/contacts")
    assert (await api.client.post(url, json=contact())).status_code == 401
    bad = {"Authorization": "Bearer not.a.token"}
    assert (await api.client.post(url, json=contact(), headers=bad)).status_code == 401
    from shared.auth import mint_token
    expired = mint_token(api.secret, Role.MANAGER, ttl_seconds=-10)
    r = await api.client.post(url, json=contact(), headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    forged = mint_token("x" * 48, Role.MANAGER)
    r = await api.client.post(url, json=contact(), headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    r = await api.post("intake", "/v1/contacts", contact(), role=Role.OPS)
    assert r.status_code == 403


async def test_health_ready_and_metrics_are_open(api):
    for name in ("intake", "grading", "followup", "analytics"):
        assert (await api.client.get(api.url(name, "/health"))).status_code == 200
        assert (await api.client.get(api.url(name, "/ready"))).json()["ready"] is True
        metrics = (await api.client.get(api.url(name, "/metrics"))).text
        assert "crm_relay_backlog" in metrics
