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
