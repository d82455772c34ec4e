"""The customer registry: reads with masking and audit, the card and its history,
consent and merges, on the running stack."""
import uuid

from shared.events.enums import Role

from .helpers import count, events_of, fields_of, new_phone, spaced, walk_in

ID_NUMBER = "11010519491231002X"


async def new_customer(api, **over) -> tuple[str, str]:
    """A new customer, once intake knows its owner (follow-up's decision, a moment after the contact)."""
    phone = over.pop("phone", new_phone())
    body = walk_in(phone=phone, **over)
    r = await api.post("intake", "/v1/contacts", body)
    assert r.status_code == 201, r.text
    customer_id = r.json()["customer_id"]
    await api.eventually("intake", f"/v1/customers/{customer_id}",  # a masked read: not on the audit trail
                         lambda v: v["consultant_id"] == body["consultant_id"], role=Role.OPS)
    return customer_id, phone


async def audits(api, customer_id: str) -> int:
    return await count(api, "select count(*) from audit_reads where customer_id = $1", uuid.UUID(customer_id))


async def test_reads_mask_personal_data_by_role_and_audit_full_reads(api):
    customer_id, phone = await new_customer(api, consultant_id="c-777")
    r = await api.client.patch(api.url("intake", f"/v1/customers/{customer_id}"),
                               json={"id_number": ID_NUMBER, "occupation": "teacher"}, headers=api.headers())
    assert r.status_code == 200, r.text
    path = f"/v1/customers/{customer_id}"

    full = (await api.get("intake", path)).json()
    assert full["masked"] is False and full["phone"] == phone and full["card"]["id_number"] == ID_NUMBER
    assert await audits(api, customer_id) == 1

    own = (await api.get("intake", path, role=Role.CONSULTANT, consultant_id="c-777")).json()
    assert own["masked"] is False and await audits(api, customer_id) == 2

    for role, consultant in ((Role.OPS, None), (Role.CONSULTANT, "c-other"), (Role.INTEGRATION, None)):
        seen = (await api.get("intake", path, role=role, consultant_id=consultant)).json()
        assert seen["masked"] is True, role
        assert seen["phone"] == f"{phone[:6]}****{phone[-4:]}" and seen["name"] == "王*"
        assert seen["card"]["id_number"] == "110105********002X"
        assert ID_NUMBER not in str(seen) and phone not in str(seen)
    assert await audits(api, customer_id) == 2  # masked reads are not full reads
    trail = (await api.get("intake", f"{path}/audit")).json()["reads"]
    assert [(t["role"], t["subject"]) for t in trail][-2:] == [("consultant", "c-777"), ("manager", "manager")]
    assert (await api.get("intake", f"{path}/audit", role=Role.CONSULTANT, consultant_id="c-777")).status_code == 403

    logs = list((api.stack.root / "logs").glob("intake*"))
    assert logs and all(phone not in p.read_text(errors="replace") and ID_NUMBER not in p.read_text(errors="replace")
               for p in logs)


async def test_search_by_phone_or_email_any_spelling(api):
    customer_id, phone = await new_customer(api, email=f"s{uuid.uuid4().hex[:6]}@qq.com")
    found = (await api.client.get(api.url("intake", "/v1/customers"), params={"phone": spaced(phone)},
                                  headers=api.headers())).json()["customers"]
    assert [c["customer_id"] for c in found] == [customer_id]
    assert (await api.get("intake", f"/v1/customers?phone={new_phone()}")).json() == {"customers": []}
    for query, field in (("?phone=12345", "phone"), ("?email=nope", "email"), ("", "phone")):
        r = await api.get("intake", f"/v1/customers{query}")
        assert r.status_code == 422 and f"query.{field}" in fields_of(r), r.text
    assert (await api.get("intake", f"/v1/customers/{uuid.uuid4()}")).status_code == 404


async def test_card_changes_are_kept_as_history(api):
    customer_id, _ = await new_customer(api)
    url = api.url("intake", f"/v1/customers/{customer_id}")
    for patch in ({"occupation": "driver"}, {"occupation": "teacher", "home_postcode": "200120"}):
        assert (await api.client.patch(url, json=patch, headers=api.headers())).status_code == 200
    for patch, field in (({"id_number": "110105194912310021"}, "id_number"), ({"colour": "red"}, "colour"),
                         ({"counterpart_role": "supplier"}, "counterpart_role")):
        r = await api.client.patch(url, json=patch, headers=api.headers())
        assert r.status_code == 422 and field in fields_of(r), r.text
    history = (await api.get("intake", f"/v1/customers/{customer_id}")).json()["history"]
    occupation = [(h["old"], h["new"]) for h in history if h["field"] == "occupation"]
    assert occupation == [(None, "driver"), ("driver", "teacher")]
    assert not any(h["field"] == "id_number" for h in history)
    new_number, (other_id, other_phone) = new_phone(), await new_customer(api)
    assert (await api.client.patch(url, json={"phone": spaced(new_number)}, headers=api.headers())).status_code == 200
    found = (await api.get("intake", f"/v1/customers?phone={new_number[1:]}")).json()["customers"]
    assert [c["customer_id"] for c in found] == [customer_id] and found[0]["phone"] == new_number
    r = await api.client.patch(url, json={"phone": other_phone}, headers=api.headers())
    assert r.status_code == 409 and fields_of(r) == ["phone"] and other_id in r.text
    updates = [e["payload"] for e in await events_of(api, customer_id, "customer-updated")][:2]
    assert updates[-1] == {"changed_fields": ["occupation", "home_postcode"],
                           "card": {"occupation": "teacher", "home_postcode": "200120"}}


async def test_consent_latest_decision_wins_and_emits_consent_changed(api):
    customer_id, _ = await new_customer(api)
    path = f"/v1/customers/{customer_id}/consent"
    put = api.client.put
    refuse = {"marketing_allowed": False, "occurred_at": "2026-01-10T10:00:00+08:00", "source": "phone call"}
    r = await put(api.url("intake", path), json=refuse, headers=api.headers(Role.CONSULTANT, "c-001"))
    assert r.status_code == 200 and r.json()["marketing_allowed"] is False and r.json()["changed"] is True
    older = {"marketing_allowed": True, "occurred_at": "2026-01-01T10:00:00+08:00"}
    r = await put(api.url("intake", path), json=older, headers=api.headers(Role.INTEGRATION))
    assert r.json()["marketing_allowed"] is False and r.json()["changed"] is False
    events = await events_of(api, customer_id, "consent-changed")
    assert [e["payload"] for e in events] == [{"marketing_allowed": False, "source": "phone call"}]
    assert (await api.get("intake", f"/v1/customers/{customer_id}")).json()["marketing_allowed"] is False

    for body, field in (({"marketing_allowed": "maybe"}, "marketing_allowed"), ({}, "marketing_allowed"),
                        ({"marketing_allowed": True, "occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at")):
        r = await put(api.url("intake", path), json=body, headers=api.headers())
        assert r.status_code == 422 and field in fields_of(r), r.text
    r = await put(api.url("intake", f"/v1/customers/{uuid.uuid4()}/consent"), json=refuse, headers=api.headers())
    assert r.status_code == 404
    r = await put(api.url("intake", path), json=refuse, headers=api.headers(Role.OPS))
    assert r.status_code == 403
    assert await count(api, "select count(*) from consent_decisions where customer_id = $1",
                       uuid.UUID(customer_id)) == 2


async def test_merge_keeps_both_histories_and_emits_customer_merged(api):
    survivor, phone_a = await new_customer(api, name="张伟")
    merged, phone_b = await new_customer(api, name="张伟", email=f"zw{uuid.uuid4().hex[:6]}@163.com",
                                         consultant_id="c-002")
    await api.client.put(api.url("intake", f"/v1/customers/{merged}/consent"), headers=api.headers(),
                         json={"marketing_allowed": False, "source": "web unsubscribe"})
    r = await api.post("intake", f"/v1/customers/{survivor}/merge", {"merged_customer_id": merged},
                       role=Role.CONSULTANT, consultant_id="c-001")
    assert r.status_code == 403
    r = await api.post("intake", f"/v1/customers/{survivor}/merge", {"merged_customer_id": merged})
    assert r.status_code == 200, r.text

    record = (await api.get("intake", f"/v1/customers/{survivor}")).json()
    assert record["merged_customer_ids"] == [merged] and len(record["contacts"]) == 2
    assert {i["value"] for i in record["identities"]} >= {phone_a, phone_b}
    assert record["card"]["email"] and record["marketing_allowed"] is False  # refusal follows the merge
    assert any(h["source_customer_id"] == merged for h in record["history"])
    assert (await api.get("intake", f"/v1/customers/{merged}")).json()["merged_into"] == survivor
    [event] = await events_of(api, survivor, "customer-merged")
    assert event["payload"] == {"merged_customer_id": merged} and event["customer_id"] == survivor

    later = await api.post("intake", "/v1/contacts", walk_in(phone=spaced(phone_b)))
    assert later.json()["customer_id"] == survivor
    r = await api.post("intake", f"/v1/customers/{survivor}/merge", {"merged_customer_id": merged})
    assert r.status_code == 409 and fields_of(r) == ["merged_customer_id"]
    for body, status, field in (({"merged_customer_id": survivor}, 422, "merged_customer_id"),
                                ({"merged_customer_id": str(uuid.uuid4())}, 422, "merged_customer_id"),
                                ({"merged_customer_id": "x"}, 422, "merged_customer_id"),
                                ({}, 422, "merged_customer_id")):
        r = await api.post("intake", f"/v1/customers/{survivor}/merge", body)
        assert r.status_code == status and field in fields_of(r), r.text
    assert len(await events_of(api, survivor, "customer-merged")) == 1
