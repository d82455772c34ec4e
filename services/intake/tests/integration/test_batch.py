"""POST /v1/contacts/batch: all or nothing, every bad row named contacts.N.field."""
import uuid

from .helpers import count, fields_of, new_phone, walk_in


async def test_batch_takes_in_every_row_and_resolves_within_the_batch(api):
    shared_phone = new_phone()
    rows = [walk_in(phone=shared_phone), walk_in(), walk_in(phone=shared_phone[3:], channel="phone")]
    r = await api.post("intake", "/v1/contacts/batch", {"contacts": rows})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["accepted"] == 3 and body["new_customers"] == 2 and body["duplicates"] == 0
    first, _, third = body["results"]
    assert first["customer_id"] == third["customer_id"] and third["matched_by"] == "phone"


async def test_batch_with_bad_rows_is_refused_whole_naming_each_row(api):
    before = await count(api, "select count(*) from contacts")
    phones = [new_phone() for _ in range(4)]
    rows = [walk_in(phone=phones[0]), walk_in(phone="12345"), walk_in(phone=phones[2], party_size=0),
            walk_in(phone=phones[3])]
    r = await api.post("intake", "/v1/contacts/batch", {"contacts": rows})
    assert r.status_code == 422
    assert set(fields_of(r)) >= {"contacts[1].phone", "contacts[2].party_size"}
    # rule broken only when the row meets the registry: unknown referrer in row 1
    rows = [walk_in(phone=phones[0]), {"channel": "customer_referral", "phone": phones[1],
                                       "referral_kind": "recommendation", "referrer_phone": new_phone()}]
    r = await api.post("intake", "/v1/contacts/batch", {"contacts": rows})
    assert r.status_code == 422 and fields_of(r) == ["contacts[1].referrer_phone"], r.text
    for body in ({"contacts": []}, {"contacts": [walk_in()] * 1001}, {}):
        r = await api.post("intake", "/v1/contacts/batch", body)
        assert r.status_code == 422 and fields_of(r)[0] == "contacts"
    assert await count(api, "select count(*) from contacts") == before
    assert await count(api, "select count(*) from identity_keys where key = any($1)",
                       [f"phone:{p}" for p in phones]) == 0


async def test_import_rows_are_taken_in_once(api):
    batch = f"b-{uuid.uuid4().hex[:8]}"
    rows = [{"channel": "bulk_import", "phone": new_phone(), "import_batch": batch, "source_row": n}
            for n in (2, 3)]
    first = (await api.post("intake", "/v1/contacts/batch", {"contacts": rows})).json()
    again = (await api.post("intake", "/v1/contacts/batch", {"contacts": rows})).json()
    assert (first["accepted"], again["accepted"], again["duplicates"]) == (2, 0, 2)
    assert [r["contact_id"] for r in again["results"]] == [r["contact_id"] for r in first["results"]]


def _new_email() -> str:
    return f"b{uuid.uuid4().hex[:10]}@example.com"


async def _outcome(api, results: list[dict]) -> list[tuple]:
    """Each row's customer (numbered by first appearance), whether new, how matched; then each
    customer's history fields and event types in order."""
    numbers: dict[str, int] = {}
    rows = [(numbers.setdefault(r["customer_id"], len(numbers)), r["is_new_customer"], r["matched_by"])
            for r in results]
    conn = await api.db("intake")
    try:
        stored = []
        for customer_id in numbers:
            history = await conn.fetch("select field, new from customer_history where customer_id = $1 order by id",
                                       uuid.UUID(customer_id))
            events = await conn.fetch("select event_type from event_store where customer_id = $1 order by position",
                                      uuid.UUID(customer_id))
            stored.append(([(h["field"], h["new"]) for h in history if h["field"] not in ("phone", "email")],
                           [h["field"] for h in history], [e["event_type"] for e in events]))
    finally:
        await conn.close()
    return rows + stored


async def test_a_batch_resolves_exactly_as_its_rows_sent_one_after_another(api):
    def rows():
        p1, p2, p3, e1, e2 = new_phone(), new_phone(), new_phone(), _new_email(), _new_email()
        return [walk_in(phone=p1, name=None), walk_in(phone=p2, email=e1),
                walk_in(phone=p1, email=e2, name="李雷"), {"channel": "web_form", "email": e1.upper()},
                walk_in(phone=p3, email=e2), walk_in(phone=p2, name="王芳")]

    batch = await api.post("intake", "/v1/contacts/batch", {"contacts": rows()})
    assert batch.status_code == 201, batch.text
    one_by_one = []
    for row in rows():
        r = await api.post("intake", "/v1/contacts", row)
        assert r.status_code == 201, r.text
        one_by_one.append(r.json())
    at_once = await _outcome(api, batch.json()["results"])
    assert at_once == await _outcome(api, one_by_one)
    assert at_once[:6] == [(0, True, None), (1, True, None), (0, False, "phone"), (1, False, "email"),
                           (0, False, "email"), (1, False, "phone")]


async def test_contacts_dated_before_the_cut_off_are_told_as_history(api):
    """`historical_before`: a contact that happened on an earlier business day is history (domain §8),
    one on the cut-off's day or later is live, and without a cut-off every contact is live."""
    batch = f"h-{uuid.uuid4().hex[:8]}"
    rows = [{"channel": "bulk_import", "phone": new_phone(), "import_batch": batch, "source_row": 2,
             "occurred_at": "2024-11-03T23:59:59+08:00"},
            {"channel": "bulk_import", "phone": new_phone(), "import_batch": batch, "source_row": 3,
             "occurred_at": "2026-06-01T00:30:00+08:00"},
            {"channel": "bulk_import", "phone": new_phone(), "import_batch": batch, "source_row": 4}]
    r = await api.post("intake", "/v1/contacts/batch",
                       {"contacts": rows, "historical_before": "2026-06-01T00:00:00+08:00"})
    assert r.status_code == 201, r.text
    live = await api.post("intake", "/v1/contacts/batch", {"contacts": [
        {"channel": "bulk_import", "phone": new_phone(), "import_batch": batch, "source_row": 5,
         "occurred_at": "2024-11-03T23:59:59+08:00"}]})
    assert live.status_code == 201, live.text
    ids = [x["customer_id"] for x in r.json()["results"] + live.json()["results"]]
    conn = await api.db("intake")
    try:
        told = {str(row[0]): row[1] for row in await conn.fetch(
            "select customer_id, (envelope->'payload'->>'historical')::bool from event_store "
            "where event_type = 'contact-received' and customer_id = any($1::uuid[])", ids)}
    finally:
        await conn.close()
    assert [told[i] for i in ids] == [True, False, False, False]
    bad = await api.post("intake", "/v1/contacts/batch", {"contacts": rows[:1], "historical_before": "soon"})
    assert bad.status_code == 422 and fields_of(bad) == ["historical_before"], bad.text
