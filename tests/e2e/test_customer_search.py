"""`GET /v1/customers?q=` on the running stack: the beginning of a name, the end of a phone, a whole
email; paged with the shared cursor; masked by the access policy; audited and rate-limited like the
lookups by phone or email; merged and erased records are not found."""
from __future__ import annotations

import random
import uuid

import pytest

from services.intake.tests.integration.helpers import new_phone, walk_in
from shared.auth import mint_token
from shared.events.enums import Role


def person(api, role: Role, subject: str, **claims) -> dict:
    """Headers of a person of their own (the lookup limit counts per subject)."""
    return {"Authorization": f"Bearer {mint_token(api.secret, role, subject=subject, **claims)}"}


async def search(api, headers: dict, **params):
    return await api.client.get(api.url("intake", "/v1/customers"), params=params, headers=headers)


async def customer(api, **over) -> dict:
    """A new customer, once intake knows its owner (follow-up's decision, a moment after the contact)."""
    body = walk_in(**over)
    r = await api.post("intake", "/v1/contacts", body)
    assert r.status_code == 201, r.text
    customer_id = r.json()["customer_id"]
    await api.eventually("intake", f"/v1/customers/{customer_id}",
                         lambda v: v["consultant_id"] == body["consultant_id"], role=Role.OPS)
    return {**body, "customer_id": customer_id}


def token() -> str:
    """A name part nobody else in the session has (letters only: a name, not a phone)."""
    return "".join(random.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))


async def test_a_name_prefix_finds_every_live_customer_page_by_page_case_insensitively(api):
    head = person(api, Role.MANAGER, f"m-search-{uuid.uuid4().hex[:6]}")
    tok = token()
    made = [await customer(api, name=f"{tok.capitalize()} {n}") for n in ("Wang", "Li", "Zhao")]
    await customer(api, name=f"X{tok} Wang")  # the token inside, not at the start: not found

    seen, cursor, pages = [], None, 0
    while True:
        r = await search(api, head, q=tok.upper(), limit=2, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        assert len(page["customers"]) <= 2 and page["has_more"] is (page["next_cursor"] is not None)
        seen += page["customers"]
        if not (cursor := page["next_cursor"]):
            break
    assert pages == 2
    assert [c["customer_id"] for c in seen] == [m["customer_id"] for m in sorted(made, key=lambda m: m["name"].lower())]
    assert {c["matched_by"] for c in seen} == {"name"} and not any(c["masked"] for c in seen)
    assert {c["name"] for c in seen} == {m["name"] for m in made}  # a head of sales sees them whole

    # a Chinese name by its first characters
    given = "".join(chr(0x4E00 + random.randrange(0x5000)) for _ in range(2))
    zhang = await customer(api, name=f"欧阳{given}")
    r = await search(api, head, q=f"欧阳{given[0]}")
    assert zhang["customer_id"] in [c["customer_id"] for c in r.json()["customers"]]


async def test_a_phone_is_found_by_its_last_digits_or_whole_in_any_spelling(api):
    head = person(api, Role.MANAGER, f"m-search-{uuid.uuid4().hex[:6]}")
    phone = new_phone()  # +86139xxxxxxxx
    found = await customer(api, phone=phone)
    national = phone[3:]
    for q in (national[-8:], national, f"{national[:3]} {national[3:7]} {national[7:]}", f"+86-{national}",
              f"0086 {national}", "１３９" + national[3:]):  # full-width digits too
        r = await search(api, head, q=q)
        assert r.status_code == 200, (q, r.text)
        assert [c["customer_id"] for c in r.json()["customers"]] == [found["customer_id"]], q
        assert r.json()["customers"][0]["matched_by"] == "phone"
    last4 = await search(api, head, q=national[-4:], limit=500)
    assert last4.status_code == 200
    assert all(c["phone"].endswith(national[-4:]) for c in last4.json()["customers"])
    for q in ("12", "1-2-3", "+86"):
        r = await search(api, head, q=q)
        assert r.status_code == 422 and "q" in r.text and "digits" in r.text, (q, r.text)


async def test_an_email_is_found_whole_whatever_its_case(api):
    head = person(api, Role.MANAGER, f"m-search-{uuid.uuid4().hex[:6]}")
    email = f"wang.fang.{uuid.uuid4().hex[:8]}@example.com"
    found = await customer(api, email=email)
    r = await search(api, head, q=email.upper())
    assert [(c["customer_id"], c["email"], c["matched_by"]) for c in r.json()["customers"]] == [
        (found["customer_id"], email, "email")]
    assert (await search(api, head, q=email.replace("@", "x@"))).json()["customers"] == []  # whole, not a part
    r = await search(api, head, q="wang@@example.com")
    assert r.status_code == 422 and "q" in r.text


async def test_results_are_masked_unless_the_caller_may_see_the_customer_and_every_search_is_audited(api):
    tok = token()
    phone = new_phone()
    owned = await customer(api, name=f"{tok} Fang", phone=phone, consultant_id="c-search-own")
    own = person(api, Role.CONSULTANT, "c-search-own", consultant_id="c-search-own")
    other = person(api, Role.CONSULTANT, "c-search-other", consultant_id="c-search-other")
    system = person(api, Role.INTEGRATION, "crm-web")

    mine = (await search(api, own, q=tok)).json()["customers"]
    assert [(c["customer_id"], c["masked"], c["phone"]) for c in mine] == [(owned["customer_id"], False, phone)]
    for headers in (other, system):
        r = await search(api, headers, q=phone[-8:])
        [shown] = r.json()["customers"]
        assert shown["masked"] is True and shown["consultant_id"] == "c-search-own"
        assert shown["phone"] == f"{phone[:6]}****{phone[-4:]}" and shown["name"] == "* Fang"
        assert phone not in r.text and tok not in r.text

    trail = (await api.get("intake", f"/v1/customers/{owned['customer_id']}/audit")).json()["lookups"]
    assert {t["subject"] for t in trail} >= {"c-search-own", "c-search-other", "crm-web"}


async def test_merged_and_erased_records_are_not_found(api):
    head = person(api, Role.MANAGER, f"m-search-{uuid.uuid4().hex[:6]}")
    tok = token()
    survivor, merged, erased = [await customer(api, name=f"{tok} {n}") for n in ("A", "B", "C")]
    r = await api.post("intake", f"/v1/customers/{survivor['customer_id']}/merge",
                       {"merged_customer_id": merged["customer_id"]})
    assert r.status_code == 200, r.text
    r = await api.post("intake", f"/v1/customers/{erased['customer_id']}/erase", {}, role=Role.OPS)
    assert r.status_code == 200, r.text
    found = (await search(api, head, q=tok)).json()["customers"]
    assert [c["customer_id"] for c in found] == [survivor["customer_id"]]
    by_phone = (await search(api, head, q=merged["phone"][-8:])).json()["customers"]  # its phone went along
    assert [c["customer_id"] for c in by_phone] == [survivor["customer_id"]]
    assert (await search(api, head, q=erased["phone"][-8:])).json()["customers"] == []


@pytest.mark.parametrize(("params", "field"), [
    ({"q": ""}, "q"), ({"q": "x"}, "q"), ({"q": "wang", "phone": "13800138000"}, "q"),
    ({"q": "wang", "limit": 0}, "limit"), ({"q": "wang", "limit": 501}, "limit"),
    ({"q": "wang", "cursor": "not-a-cursor"}, "cursor"),
])
async def test_bad_search_input_is_a_422_naming_the_field(api, params, field):
    r = await search(api, person(api, Role.INTEGRATION, "crm-web"), **params)
    assert r.status_code == 422 and field in r.text, r.text


async def test_a_cursor_belongs_to_its_query(api):
    head = person(api, Role.MANAGER, f"m-search-{uuid.uuid4().hex[:6]}")
    tok = token()
    for n in ("A", "B"):
        await customer(api, name=f"{tok} {n}")
    cursor = (await search(api, head, q=tok, limit=1)).json()["next_cursor"]
    assert cursor
    r = await search(api, head, q=tok[:-1], limit=1, cursor=cursor)  # another query
    assert r.status_code == 422 and "cursor" in r.text
    r = await search(api, head, q=tok, limit=1, cursor=cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB"))
    assert r.status_code == 422 and "cursor" in r.text


async def test_searches_count_against_the_lookup_limit(api):
    rushed = person(api, Role.CONSULTANT, "c-search-other", consultant_id="c-search-other")
    conn = await api.db("intake")
    try:  # this consultant's earlier searches in this session leave the window
        await conn.execute("delete from lookups where subject = 'c-search-other'")
    finally:
        await conn.close()
    limit = int(api.stack.services["intake"].env.get("CRM_LOOKUP_LIMIT_PER_MINUTE", 30))
    codes = [(await search(api, rushed, q=token())).status_code for _ in range(limit + 1)]
    assert codes[:limit] == [200] * limit and codes[limit] == 429
    r = await search(api, rushed, q=token())
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and "q" in r.text
    conn = await api.db("intake")
    try:
        await conn.execute("delete from lookups where subject = 'c-search-other'")
    finally:
        await conn.close()
