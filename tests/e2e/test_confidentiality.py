"""Customer confidentiality (客户信息的保密性) on the running stack.

One customer with a value planted in every personal field (name, phone, email, ID number,
birthday, address, occupation, company, job title, the purpose of the visit, region,
receptionist, notes, a complaint in their own words) and the free text follow-up writes about
them (a follow-up record, a remedy, a survey comment, loss notes). Then:

- follow-up's events carry that free text sealed with the customer's key (as intake's do with
  purpose, region and receptionist), and analytics reads it back;
- no masked view — intake's customer record, analytics' 360, follow-up's prospect file and
  complaint case — holds any planted value whole;
- after the erasure none of them is in any table or topic;
- bodies with NaN, Infinity, 1e400 or a lone surrogate get 422 naming the field, and none of
  the values sent reaches the service's log.
"""
from __future__ import annotations

import json
import random
import uuid
from datetime import date, timedelta

import pytest

from services.intake.domain.customers import id_number_check_char
from shared.events.enums import Role
from tests.support.problems import problem_fields

from .test_erasure import kafka_scan, table_hits

MANAGER, OPS = Role.MANAGER, Role.OPS


def planted(token: str) -> dict[str, str]:
    rng = random.Random(token)
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 45))
    first17 = f"110105{born:%Y%m%d}{rng.randrange(1000):03d}"
    return {
        "name": f"Confidential Person {token[:8]}", "phone": f"139{uuid.UUID(token).int % 10**8:08d}",
        "email": f"conf.{token[:12]}@example.com", "id_number": first17 + id_number_check_char(first17),
        "birthday": born.isoformat(), "home_address": f"上海市浦东新区机密路{token[:6]}号",
        "occupation": f"occupation {token[:9]}", "company": f"Company {token[2:11]} Ltd",
        "job_title": f"buyer {token[3:12]}", "purpose": f"purpose {token[8:20]} 看七座车",
        "region": f"region {token[:10]}", "receptionist": f"desk {token[10:20]}",
        "notes": f"notes {token[5:17]} call after eight", "description": f"complaint {token[20:]} paint peeled",
        "content": f"record {token[4:16]} came with his wife", "remedy": f"remedy {token[6:18]} new door",
        "survey_comment": f"survey {token[2:14]} fair enough", "note": f"loss {token[12:24]} bought elsewhere",
        "decision_note": f"decision {token[14:26]} agreed",
    }


def needles(p: dict[str, str]) -> list[str]:
    """Every planted value as a whole; the phone also as its digits after the country code."""
    return [*p.values(), p["phone"][-11:]]


def whole_values_in(document: object, p: dict[str, str]) -> list[str]:
    text = json.dumps(document, ensure_ascii=False).lower()
    return sorted(field for field, value in {**p, "phone digits": p["phone"][-11:]}.items()
                  if value.lower() in text)


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}  # stored answers are scrubbed on erasure too


async def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
async def customer(api) -> dict:
    """The customer with everything planted, followed up, with a complaint handled and a loss approved."""
    token = uuid.uuid4().hex
    p = planted(token)
    body = {"channel": "walk_in", "name": p["name"], "phone": p["phone"], "email": p["email"],
            "region": p["region"], "purpose": p["purpose"], "receptionist": p["receptionist"], "notes": p["notes"],
            "company": p["company"], "job_title": p["job_title"], "purchase_timeframe": "1_to_3_months",
            "campaign": f"conf-{token[:8]}"}
    customer_id = (await ok(await api.post("intake", "/v1/contacts", body), 201))["customer_id"]
    card = {"id_number": p["id_number"], "birthday": p["birthday"], "home_address": p["home_address"],
            "occupation": p["occupation"], "gender": "female"}
    await ok(await api.client.patch(api.url("intake", f"/v1/customers/{customer_id}"), json=card,
                                    headers=api.headers(MANAGER, **{"Idempotency-Key": str(uuid.uuid4())})))
    await ok(await api.post("intake", "/v1/complaints", {"customer_id": customer_id, "channel": "phone",
                                                         "severity": "medium", "category": "product_quality",
                                                         "description": p["description"]}), 201)
    # follow-up: the first-contact record, the complaint handled and surveyed, a loss approved
    tasks = await api.eventually("followup", f"/v1/tasks?customer_id={customer_id}",
                                 lambda t: any(x["kind"] == "first_contact" for x in t["tasks"]))
    first = next(t for t in tasks["tasks"] if t["kind"] == "first_contact")
    await ok(await api.post("followup", f"/v1/tasks/{first['task_id']}/complete",
                            {"method": "phone", "outcome": "reached", "content": p["content"]}, headers=key()))
    cases = await api.eventually("followup", f"/v1/complaints?customer_id={customer_id}", lambda c: c["complaints"])
    case = f"/v1/complaints/{cases['complaints'][0]['complaint_id']}"
    await ok(await api.post("followup", f"{case}/acknowledge", {}, headers=key()))
    await ok(await api.post("followup", f"{case}/resolve", {"root_cause": "product_quality", "remedy": p["remedy"]},
                            headers=key()))
    await api.eventually("followup", f"/v1/tasks?customer_id={customer_id}&kind=complaint_survey",
                         lambda t: t["tasks"])
    await ok(await api.post("followup", f"{case}/survey", {"satisfaction": 4, "comment": p["survey_comment"]},
                            headers=key()))
    proposal = await ok(await api.post("followup", f"/v1/prospects/{customer_id}/lost",
                                       {"reason": "price", "note": p["note"]}, headers=key()), 201)
    await ok(await api.post("followup", f"/v1/losses/{proposal['proposal_id']}/approve",
                            {"note": p["decision_note"]}, headers=key()))
    return {"id": customer_id, "p": p, "case": case}


async def test_free_text_is_sealed_in_the_outboxes_and_read_back_by_analytics(api, customer):
    cid, p = customer["id"], customer["p"]
    # analytics opened every sealed field with the customer's key (a full read: manager)
    view = await api.eventually(
        "analytics", f"/v1/customers/{cid}/360",
        lambda v: v["lost"] and v["lost"]["note"] == p["note"] and v["complaints"]
        and v["complaints"][0]["remedy"] == p["remedy"] and v["complaints"][0]["status"] == "surveyed"
        and any((t.get("record") or {}).get("content") == p["content"] for t in v["past_tasks"]), timeout=30)
    assert view["contacts"][0]["purpose"] == p["purpose"] and view["profile"]["region"] == p["region"]
    # ... which every outbox holds sealed only
    expected = {("intake", "contact-received"): {"name", "phone", "email", "region", "purpose", "receptionist",
                                                 "notes", "channel_details"},
                ("followup", "followup-logged"): {"content"}, ("followup", "prospect-lost"): {"note"}}
    for (service, event_type), fields in expected.items():
        conn = await api.db(service)
        try:
            rows = [json.loads(r[0]) for r in await conn.fetch(
                "select envelope::text from event_store where customer_id = $1 and event_type = $2",
                uuid.UUID(cid), event_type)]
        finally:
            await conn.close()
        assert rows, (service, event_type)
        for envelope in rows:
            assert fields <= set(envelope["sealed"]), (event_type, envelope["sealed"])
            assert all(envelope["payload"][f].startswith("sealed:v1:") for f in fields)
            assert whole_values_in(envelope, p) == [], event_type
    conn = await api.db("followup")
    try:
        remedies = [json.loads(r[0]) for r in await conn.fetch(
            "select envelope::text from event_store where customer_id = $1 and event_type = 'complaint-updated' "
            "and envelope->'payload'->>'remedy' is not null", uuid.UUID(cid))]
    finally:
        await conn.close()
    assert remedies and all(e["sealed"] == ["remedy"] and whole_values_in(e, p) == [] for e in remedies)


async def test_no_masked_view_holds_a_personal_value(api, customer):
    cid, p, case = customer["id"], customer["p"], customer["case"]
    full = await ok(await api.get("intake", f"/v1/customers/{cid}"))
    assert full["masked"] is False and full["card"]["id_number"] == p["id_number"]  # everything is there
    await api.eventually("analytics", f"/v1/customers/{cid}/360",
                         lambda v: v["complaints"] and v["complaints"][0]["status"] == "surveyed" and v["lost"])
    views = {
        "intake customer record": await ok(await api.get("intake", f"/v1/customers/{cid}", role=OPS)),
        "analytics 360": await ok(await api.get("analytics", f"/v1/customers/{cid}/360", role=OPS)),
        "follow-up prospect file": await ok(await api.get("followup", f"/v1/prospects/{cid}", role=OPS)),
        "follow-up complaint case": await ok(await api.get("followup", case, role=OPS)),
        "follow-up complaint list": await ok(await api.get("followup", f"/v1/complaints?customer_id={cid}&open=false",
                                                           role=OPS)),
    }
    assert views["intake customer record"]["masked"] is True and views["analytics 360"]["profile_masked"] is True
    leaks = {name: found for name, view in views.items() if (found := whole_values_in(view, p))}
    assert leaks == {}, f"personal values in masked views: {leaks}"
    # what a masked reader still gets: the hints of the one masking and the business facts
    record = views["intake customer record"]
    assert record["name"] == "* * " + p["name"].split()[-1]
    assert record["card"]["birthday"] == p["birthday"][:4] + "-**-**"
    assert record["card"]["occupation"] is None and record["card"]["gender"] is None
    view360 = views["analytics 360"]
    assert view360["profile"]["phone"] == record["phone"]  # one masking: the same hint everywhere
    assert view360["complaints"][0]["severity"] == "medium" and view360["lost"]["reason"] == "price"
    assert views["follow-up prospect file"]["birthday"] in (None, p["birthday"][:4] + "-**-**")


async def test_erasure_leaves_none_of_it_in_any_table_or_topic(api, customer):
    cid, p = customer["id"], customer["p"]
    await ok(await api.post("intake", f"/v1/customers/{cid}/erase", {}, role=OPS,
                            headers={"Idempotency-Key": str(uuid.uuid4())}))
    await api.eventually("analytics", f"/v1/customers/{cid}/360", lambda v: v["erased"] is not None)
    await api.eventually("followup", f"/v1/prospects/{cid}", lambda v: v["birthday"] is None, role=MANAGER)
    grading_copies = [p["note"]]  # grading's own copy of the loss note: see the next test
    hits = await table_hits(api, [n for n in needles(p) if n not in grading_copies])
    assert hits == {}, hits
    assert set(await table_hits(api, grading_copies)) <= {("grading", "grading_facts")}
    _, topic_hits, ours = await kafka_scan(api, needles(p), cid)
    assert topic_hits == {} and ours >= 5, (topic_hits, ours)
    view = await ok(await api.get("analytics", f"/v1/customers/{cid}/360"))  # a full reader: nothing left
    assert whole_values_in(view, p) == []
    assert view["lost"]["note"] is None and view["complaints"][0]["remedy"] is None
    assert all((t.get("record") or {}).get("content") is None for t in view["past_tasks"])
    file = await ok(await api.get("followup", f"/v1/prospects/{cid}"))
    assert whole_values_in(file, p) == []


async def test_grading_forgets_the_loss_note_on_erasure(api, customer):
    await api.eventually("analytics", f"/v1/customers/{customer['id']}/360", lambda v: v["erased"] is not None)
    assert await table_hits(api, [customer["p"]["note"]]) == {}


BAD_NUMBERS = [("party_size", "NaN"), ("party_size", "Infinity"), ("party_size", "-Infinity"),
               ("budget", "1e400"), ("budget", "NaN")]


async def test_nan_infinity_and_lone_surrogates_get_422_naming_the_field_and_stay_out_of_the_logs(api, stack):
    token = uuid.uuid4().hex
    name, phone, email = f"Rejected Person {token[:8]}", f"138{uuid.UUID(token).int % 10**8:08d}", \
        f"rejected.{token[:10]}@example.com"
    notes = f"rejected notes {token[8:22]}"
    base = {"channel": "walk_in", "name": name, "phone": phone, "email": email, "notes": notes}
    log = stack.root / "logs" / "intake.log"
    start = log.stat().st_size
    for field, literal in BAD_NUMBERS:
        raw = json.dumps(base, ensure_ascii=False)[:-1] + f', "{field}": {literal}}}'
        r = await api.client.post(api.url("intake", "/v1/contacts"), content=raw.encode(),
                                  headers=api.headers(MANAGER, **{"Content-Type": "application/json"}))
        assert r.status_code == 422, (field, literal, r.status_code, r.text)
        assert problem_fields(r) == [field], r.text
        assert name not in r.text
    for field in ("name", "notes", "purpose", "region"):
        raw = json.dumps({**base, field: f"{base.get(field, 'x')} \ud800"}, ensure_ascii=True)  # "\\ud800" unpaired
        r = await api.client.post(api.url("intake", "/v1/contacts"), content=raw.encode(),
                                  headers=api.headers(MANAGER, **{"Content-Type": "application/json"}))
        assert r.status_code == 422, (field, r.status_code, r.text)
        assert problem_fields(r) == [field], r.text
        assert "\\ud800" not in r.text.lower()
    # a batch: the row's field is named, still without the values
    raw = '{"contacts": [' + json.dumps(base)[:-1] + ', "party_size": NaN}]}'
    r = await api.client.post(api.url("intake", "/v1/contacts/batch"), content=raw.encode(),
                              headers=api.headers(MANAGER, **{"Content-Type": "application/json"}))
    assert r.status_code == 422 and problem_fields(r) == ["contacts[0].party_size"], r.text
    conn = await api.db("intake")
    try:  # nothing was stored
        assert await conn.fetchval("select count(*) from customers where phone = $1", f"+86{phone}") == 0
    finally:
        await conn.close()
    written = log.read_bytes()[start:].decode("utf-8", "replace")
    for value in (name, phone, email, notes, token[:8], token[8:22]):
        assert value not in written, "a submitted value reached the intake log"
    assert "Traceback" not in written and "unhandled_error" not in written, written[-2000:]
