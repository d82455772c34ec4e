"""Contacts from every channel and identity resolution, on the running stack."""
import asyncio
import uuid

from shared.events.enums import Role

from .helpers import count, events_of, fields_of, new_phone, spaced, walk_in

TRAFFIC_LOG = {"region": "上海", "purpose": "看车", "party_size": 2, "receptionist": "R01",
               "initial_grade": "B", "consultant_id": "c-001"}


def channel_bodies(referrer_phone: str) -> dict[str, dict]:
    """A valid contact per channel with its channel-specific fields."""
    return {
        "walk_in": {},
        "phone": {},
        "web_form": {"email": f"web-{uuid.uuid4().hex[:8]}@example.com"},
        "call_center": {"call_id": f"CALL-{uuid.uuid4().hex[:8]}"},
        "exhibition": {"campaign": "2026 Auto Show", "company": "恒通贸易", "job_title": "采购经理"},
        "targeted_prospecting": {"prospecting_method": "visit", "target_segment": "logistics"},
        "area_campaign": {"campaign": "Pudong weekend"},
        "customer_referral": {"referral_kind": "recommendation", "referrer_phone": spaced(referrer_phone)},
        "vip_informant": {"informant_kind": "repair_shop", "informant_name": "李师傅"},
        "internal_referral": {"referring_staff_id": "s-042", "staff_relation": "relative"},
        "service_station": {"service_station": "Minhang service station"},
        "bulk_import": {"import_batch": f"b-{uuid.uuid4().hex[:6]}", "source_row": 2},
    }


async def test_every_channel_is_taken_in_with_the_traffic_log(api):
    referrer = new_phone()
    assert (await api.post("intake", "/v1/contacts", walk_in(phone=referrer))).status_code == 201
    referrer_id = (await api.get("intake", f"/v1/customers?phone={referrer}")).json()["customers"][0]["customer_id"]
    for channel, extra in channel_bodies(referrer).items():
        body = {"channel": channel, "name": "陈静", "phone": new_phone(), **TRAFFIC_LOG, **extra}
        r = await api.post("intake", "/v1/contacts", body, role=Role.INTEGRATION)
        assert r.status_code == 201, (channel, r.text)
        accepted = r.json()
        assert accepted["is_new_customer"] is True
        [event] = await events_of(api, accepted["customer_id"], "contact-received")
        payload = event["payload"]
        assert payload["channel"] == channel and payload["contact_id"] == accepted["contact_id"]
        assert {k: payload[k] for k in TRAFFIC_LOG} == TRAFFIC_LOG, channel
        if channel == "customer_referral":
            assert payload["referrer_customer_id"] == referrer_id
        for key, value in extra.items():  # channel-specific fields travel in the event's channel_details
            if key not in ("campaign", "email", "referrer_phone"):
                assert payload["channel_details"][key] == value, (channel, key)
        assert payload["notes"] == TRAFFIC_LOG.get("notes"), channel  # the free text alone


async def test_channel_rules_give_422_naming_the_field_and_store_nothing(api):
    cases = [
        ({"channel": "exhibition"}, "campaign"),
        ({"channel": "vip_informant", "informant_kind": "repair_shop"}, "informant_name"),
        ({"channel": "customer_referral", "referral_kind": "replacement"}, "referrer_customer_id"),
        ({"channel": "customer_referral", "referral_kind": "replacement", "referrer_phone": new_phone()},
         "referrer_phone"),  # no such customer
        ({"channel": "walk_in", "call_id": "X1"}, "call_id"),
        ({"channel": "targeted_prospecting", "prospecting_method": "pigeon"}, "prospecting_method"),
        ({"channel": "walk_in", "email": "li@"}, "email"),
        ({"channel": "walk_in", "occurred_at": "2099-01-01T00:00:00+08:00"}, "occurred_at"),
        ({"channel": "walk_in", "initial_grade": "Z"}, "initial_grade"),
        ({"channel": "walk_in", "name": "x" * 101}, "name"),
        ({"channel": "walk_in", "colour": "red"}, "colour"),
    ]
    for extra, field in cases:
        phone = new_phone()
        r = await api.post("intake", "/v1/contacts", {"name": "赵敏", "phone": phone, **extra})
        assert r.status_code == 422, (extra, r.text)
        assert field in fields_of(r), (extra, r.json())
        assert await count(api, "select count(*) from identity_keys where key = $1", f"phone:{phone}") == 0
    r = await api.post("intake", "/v1/contacts", {"channel": "walk_in", "name": "无号"})
    assert r.status_code == 422 and "phone" in fields_of(r)


async def test_same_phone_in_three_spellings_is_one_customer(api):
    phone = new_phone()
    national = phone[3:]
    ids = set()
    for spelling in (spaced(phone), f"+86-{national[:3]}-{national[3:7]}-{national[7:]}", f"0086{national}"):
        r = await api.post("intake", "/v1/contacts", walk_in(phone=spelling))
        assert r.status_code == 201, r.text
        ids.add(r.json()["customer_id"])
    assert len(ids) == 1
    customer_id = ids.pop()
    record = (await api.get("intake", f"/v1/customers/{customer_id}")).json()
    assert record["phone"] == phone and len(record["contacts"]) == 3
    events = await events_of(api, customer_id, "contact-received")
    assert [e["payload"]["is_new_customer"] for e in events] == [True, False, False]
    assert {e["payload"]["phone"] for e in events} == {phone}


async def test_email_matches_and_phone_wins_over_a_different_email_owner(api):
    email = f"Li.Lei.{uuid.uuid4().hex[:6]}@Example.COM"
    by_email = (await api.post("intake", "/v1/contacts", {"channel": "web_form", "email": email})).json()
    again = await api.post("intake", "/v1/contacts", {"channel": "web_form", "email": email.lower(),
                                                       "phone": new_phone()})
    assert again.json()["customer_id"] == by_email["customer_id"] and again.json()["matched_by"] == "email"
    other = (await api.post("intake", "/v1/contacts", walk_in())).json()
    other_phone = (await api.get("intake", f"/v1/customers/{other['customer_id']}")).json()["phone"]
    mixed = await api.post("intake", "/v1/contacts", walk_in(phone=other_phone, email=email))
    assert mixed.json()["customer_id"] == other["customer_id"] and mixed.json()["matched_by"] == "phone"
    pair = sorted([uuid.UUID(other["customer_id"]), uuid.UUID(by_email["customer_id"])])
    assert await count(api, "select count(*) from merge_candidates where customer_a = $1 and customer_b = $2",
                       *pair) == 1
    candidates, cursor = [], None
    while True:  # every page
        page = (await api.get("intake", "/v1/merge-candidates", params={"limit": 500, "cursor": cursor}
                              if cursor else {"limit": 500})).json()
        candidates += page["candidates"]
        if not (cursor := page["next_cursor"]):
            break
    assert [str(p) for p in pair] in [[c["customer_a"], c["customer_b"]] for c in candidates]


async def test_concurrent_first_contacts_of_one_person_make_one_customer(api):
    phone = new_phone()
    spellings = [phone, spaced(phone), phone[3:], f"0086 {phone[3:]}", f"(+86){phone[3:]}"] * 2
    answers = await asyncio.gather(*(api.post("intake", "/v1/contacts", walk_in(phone=s)) for s in spellings))
    assert [a.status_code for a in answers] == [201] * len(spellings)
    assert len({a.json()["customer_id"] for a in answers}) == 1
    assert sum(a.json()["is_new_customer"] for a in answers) == 1
