"""`Idempotency-Key` is scoped to the caller and the endpoint (method and route template), on the
running stack: the same key on two endpoints, or from two callers, is two independent requests; on
the same endpoint from the same caller it replays the first answer, or is refused (422 naming
`Idempotency-Key`) for a different request."""
from __future__ import annotations

import uuid

from services.intake.tests.integration.helpers import walk_in
from shared.events.enums import Role


def key() -> dict:
    return {"Idempotency-Key": f"retry-{uuid.uuid4()}"}


async def test_the_same_key_on_two_endpoints_is_two_requests(api):
    k = key()
    contact = await api.post("intake", "/v1/contacts", walk_in(), headers=k)
    assert contact.status_code == 201, contact.text
    customer_id = contact.json()["customer_id"]
    complaint = await api.post("intake", "/v1/complaints", {"customer_id": customer_id, "channel": "phone",
                                                            "severity": "low", "description": "late"}, headers=k)
    assert complaint.status_code == 201, complaint.text
    assert "complaint_id" in complaint.json() and "Idempotent-Replay" not in complaint.headers
    again = await api.post("intake", "/v1/complaints", {"customer_id": customer_id, "channel": "phone",
                                                        "severity": "low", "description": "late"}, headers=k)
    assert again.headers.get("Idempotent-Replay") == "true" and again.json() == complaint.json()


async def test_the_same_key_from_two_callers_is_two_requests(api):
    k = key()
    answers = []
    for consultant in ("c-idem-a", "c-idem-b"):
        r = await api.post("intake", "/v1/contacts", walk_in(consultant_id=consultant), role=Role.CONSULTANT,
                           consultant_id=consultant, headers=k)
        assert r.status_code == 201 and "Idempotent-Replay" not in r.headers, r.text
        answers.append(r.json())
    assert answers[0]["contact_id"] != answers[1]["contact_id"]
    assert answers[0]["customer_id"] != answers[1]["customer_id"]


async def test_the_same_key_on_one_endpoint_replays_or_refuses_a_different_request(api):
    k = key()
    body = walk_in(consultant_id="c-idem-a")
    first = await api.post("intake", "/v1/contacts", body, role=Role.CONSULTANT, consultant_id="c-idem-a", headers=k)
    replay = await api.post("intake", "/v1/contacts", body, role=Role.CONSULTANT, consultant_id="c-idem-a", headers=k)
    assert first.status_code == replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replay") == "true"
    other = await api.post("intake", "/v1/contacts", walk_in(consultant_id="c-idem-a"), role=Role.CONSULTANT,
                           consultant_id="c-idem-a", headers=k)
    assert other.status_code == 422 and "Idempotency-Key" in other.text

    # one endpoint is one route template: the same key on another customer's path is another request
    a, b = (await api.post("intake", "/v1/contacts", walk_in())).json(), \
        (await api.post("intake", "/v1/contacts", walk_in())).json()
    k = key()
    patch = {"occupation": "teacher"}
    r = await api.client.patch(api.url("intake", f"/v1/customers/{a['customer_id']}"), json=patch,
                               headers=api.headers(**k))
    assert r.status_code == 200, r.text
    r = await api.client.patch(api.url("intake", f"/v1/customers/{b['customer_id']}"), json=patch,
                               headers=api.headers(**k))
    assert r.status_code == 422 and "Idempotency-Key" in r.text
