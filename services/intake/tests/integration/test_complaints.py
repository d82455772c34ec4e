"""Complaints filed from any channel, for a known customer or one found by phone."""
import uuid

from shared.events.enums import Role

from .helpers import count, events_of, fields_of, new_phone, spaced, walk_in


async def test_complaint_for_known_customer_by_id_or_by_phone(api):
    phone = new_phone()
    customer_id = (await api.post("intake", "/v1/contacts", walk_in(phone=phone))).json()["customer_id"]
    by_id = {"customer_id": customer_id, "channel": "call_center", "severity": "high",
             "description": "Repair request waited a month", "category": "after_sales_service"}
    r = await api.post("intake", "/v1/complaints", by_id, role=Role.INTEGRATION)
    assert r.status_code == 201, r.text
    assert r.json()["customer_id"] == customer_id and r.json()["is_new_customer"] is False
    by_phone = {"phone": spaced(phone), "channel": "phone", "severity": "medium",
                "description": "Two consultants quoted two prices"}
    r = await api.post("intake", "/v1/complaints", by_phone, role=Role.CONSULTANT, consultant_id="c-001")
    assert r.status_code == 201 and r.json()["customer_id"] == customer_id
    events = await events_of(api, customer_id, "complaint-filed")
    assert [(e["payload"]["channel"], e["payload"]["severity"]) for e in events] == \
        [("call_center", "high"), ("phone", "medium")]
    record = (await api.get("intake", f"/v1/customers/{customer_id}")).json()
    assert len(record["complaints"]) == 2


async def test_complaint_from_an_unknown_phone_makes_a_customer(api):
    r = await api.post("intake", "/v1/complaints", {"phone": new_phone(), "name": "刘洋", "channel": "web_form",
                                                    "severity": "low", "description": "No answer to my email"})
    assert r.status_code == 201 and r.json()["is_new_customer"] is True
    assert len(await events_of(api, r.json()["customer_id"], "complaint-filed")) == 1


async def test_invalid_complaints_get_422_naming_the_field_and_store_nothing(api):
    before = await count(api, "select count(*) from complaints")
    good = {"phone": new_phone(), "channel": "phone", "severity": "high", "description": "broken"}
    cases = [
        ({"severity": "apocalyptic"}, "severity"),
        ({"description": ""}, "description"),
        ({"description": "x" * 5001}, "description"),
        ({"channel": "fax"}, "channel"),
        ({"phone": "12345"}, "phone"),
        ({"phone": None}, "customer_id"),
        ({"phone": None, "customer_id": str(uuid.uuid4())}, "customer_id"),
        ({"category": "bad_vibes"}, "category"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at"),
    ]
    for change, field in cases:
        r = await api.post("intake", "/v1/complaints", {**good, **change})
        assert r.status_code == 422 and field in fields_of(r), (change, r.text)
    r = await api.post("intake", "/v1/complaints", good, role=Role.OPS)
    assert r.status_code == 403
    assert await count(api, "select count(*) from complaints") == before
    assert await count(api, "select count(*) from identity_keys where key = $1", f"phone:{good['phone']}") == 0
