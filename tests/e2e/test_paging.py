"""Cursor paging on the running stack: every list answers `next_cursor` and `has_more`, honours
`limit`, and reading it page by page gives the same rows in the same order as one big page, without
a repeat or a gap; a bad `limit` or `cursor` is a 422 naming it."""
from __future__ import annotations

import base64
import json
import uuid

import pytest

from services.intake.tests.integration.helpers import new_phone, walk_in
from shared.events.enums import Role

OWNER = "c-page-1"


async def read_all(api, service: str, path: str, rows: str, limit: int, role: Role = Role.MANAGER,
                   consultant_id: str | None = None, **params) -> tuple[list[dict], int]:
    """Every row of a list, `limit` at a time; and the number of pages it took."""
    out, cursor, pages = [], None, 0
    while True:
        r = await api.get(service, path, role=role, consultant_id=consultant_id, params={**params, "limit": limit,
                                                            **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        assert len(page[rows]) <= limit
        assert page["has_more"] is (page["next_cursor"] is not None)
        out += page[rows]
        if not (cursor := page["next_cursor"]):
            return out, pages
        assert pages < 1000, "the cursor does not move"


async def contact(api, **over) -> str:
    r = await api.post("intake", "/v1/contacts", walk_in(**over))
    assert r.status_code == 201, r.text
    return r.json()["customer_id"]


@pytest.fixture(scope="module")
async def work(api) -> list[str]:
    """Customers of one consultant, with their first-contact tasks and a complaint each."""
    customers = [await contact(api, consultant_id=OWNER) for _ in range(5)]
    for cid in customers:
        await api.eventually("followup", f"/v1/tasks?customer_id={cid}", lambda v: v["tasks"])
        r = await api.post("intake", "/v1/complaints", {"customer_id": cid, "channel": "phone", "severity": "low",
                                                        "description": "the car is late"})
        assert r.status_code == 201, r.text
    for cid in customers:
        await api.eventually("followup", f"/v1/complaints?customer_id={cid}", lambda v: v["complaints"])
    return customers


async def test_tasks_page_by_page_are_the_whole_list_in_due_order(api, work):
    whole = (await api.get("followup", "/v1/tasks", params={"owner_id": OWNER, "limit": 500})).json()
    assert whole["has_more"] is False and whole["next_cursor"] is None and len(whole["tasks"]) >= 5
    paged, pages = await read_all(api, "followup", "/v1/tasks", "tasks", 2, owner_id=OWNER)
    assert [t["task_id"] for t in paged] == [t["task_id"] for t in whole["tasks"]]
    assert pages == -(-len(paged) // 2)
    assert [t["due_at"] for t in paged] == sorted(t["due_at"] for t in paged)
    mine, _ = await read_all(api, "followup", "/v1/tasks", "tasks", 3, role=Role.CONSULTANT, consultant_id=OWNER)
    assert [t["task_id"] for t in mine] == [t["task_id"] for t in whole["tasks"]]
    first = (await api.get("followup", "/v1/tasks", params={"owner_id": OWNER, "limit": 1})).json()
    assert len(first["tasks"]) == 1 and first["has_more"] is True
    assert [t["task_id"] for t in first["overdue"] + first["due_today"] + first["upcoming"]] == \
        [first["tasks"][0]["task_id"]]  # the buckets sort this page's tasks


async def test_the_default_page_is_50_rows(api, work):
    await api.join_roster({f"c-page-r{i:02d}": "paging" for i in range(60)})  # more than a page, whatever the rest
    page = (await api.get("followup", "/v1/consultants")).json()
    everyone, _ = await read_all(api, "followup", "/v1/consultants", "consultants", 500)
    assert len(everyone) > 50
    assert len(page["consultants"]) == 50 and page["has_more"] is True


async def test_complaints_losses_roster_page_like_the_tasks(api, work):
    whole = (await api.get("followup", "/v1/complaints", params={"owner_id": OWNER, "limit": 500})).json()
    paged, _ = await read_all(api, "followup", "/v1/complaints", "complaints", 2, owner_id=OWNER)
    assert [c["complaint_id"] for c in paged] == [c["complaint_id"] for c in whole["complaints"]]
    assert len(paged) >= 5 and len({c["complaint_id"] for c in paged}) == len(paged)

    for cid in work[:3]:
        r = await api.post("followup", f"/v1/prospects/{cid}/lost", {"reason": "price"}, role=Role.CONSULTANT,
                           consultant_id=OWNER)
        assert r.status_code == 201, r.text
    proposals, _ = await read_all(api, "followup", "/v1/losses", "losses", 1, role=Role.CONSULTANT,
                                  consultant_id=OWNER)
    assert {p["customer_id"] for p in proposals} >= set(work[:3])
    assert len({p["proposal_id"] for p in proposals}) == len(proposals)

    roster, _ = await read_all(api, "followup", "/v1/consultants", "consultants", 7)
    ids = [m["consultant_id"] for m in roster]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and OWNER in ids


async def test_merge_candidates_and_the_audit_trails_page(api, work):
    for _ in range(2):  # the phone of one record, the email of another: a candidate pair
        phone, email = new_phone(), f"page.{uuid.uuid4().hex[:8]}@example.com"
        await contact(api, phone=phone)
        await contact(api, phone=new_phone(), email=email)
        await contact(api, phone=phone, email=email)
    whole = (await api.get("intake", "/v1/merge-candidates", params={"limit": 500})).json()
    paged, _ = await read_all(api, "intake", "/v1/merge-candidates", "candidates", 1)
    key = [(c["customer_a"], c["customer_b"]) for c in paged]
    assert key == [(c["customer_a"], c["customer_b"]) for c in whole["candidates"]] and len(key) >= 2

    customer_id = work[0]
    for _ in range(3):
        assert (await api.get("intake", f"/v1/customers/{customer_id}")).status_code == 200  # a full read
    whole = (await api.get("intake", f"/v1/customers/{customer_id}/audit", params={"limit": 500})).json()
    reads, lookups, cursor, pages = [], [], None, 0
    while True:
        page = (await api.get("intake", f"/v1/customers/{customer_id}/audit",
                              params={"limit": 2, **({"cursor": cursor} if cursor else {})})).json()
        reads, lookups, pages = reads + page["reads"], lookups + page["lookups"], pages + 1
        if not (cursor := page["next_cursor"]):
            break
    assert reads == whole["reads"] and lookups == whole["lookups"] and len(reads) >= 3
    assert pages == max(-(-len(reads) // 2), -(-len(lookups) // 2), 1)


@pytest.mark.parametrize(("service", "path"), [
    ("followup", "/v1/tasks"), ("followup", "/v1/complaints"), ("followup", "/v1/losses"),
    ("followup", "/v1/consultants"), ("intake", "/v1/merge-candidates"),
    ("intake", f"/v1/customers/{uuid.uuid4()}/audit"),
])
@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"limit": "many"}, "limit"),
    ({"cursor": "not a cursor"}, "cursor"), ({"cursor": "e30"}, "cursor"),  # "{}"
    ({"cursor": base64.urlsafe_b64encode(json.dumps({"p": [1, 2, 3, 4, 5], "s": "x"}).encode()).decode()},
     "cursor"),
])
async def test_a_bad_limit_or_cursor_is_a_422_naming_it(api, service, path, params, field):
    r = await api.get(service, path, params=params)
    assert r.status_code == 422 and field in r.text, r.text


async def test_a_cursor_only_continues_its_own_list(api, work):
    cursor = (await api.get("followup", "/v1/tasks", params={"owner_id": OWNER, "limit": 1})).json()["next_cursor"]
    assert cursor
    for service, path, params in (("followup", "/v1/tasks", {"customer_id": work[0]}),
                                  ("followup", "/v1/tasks", {"owner_id": OWNER, "status": "done"}),
                                  ("followup", "/v1/complaints", {"owner_id": OWNER})):
        r = await api.get(service, path, params={**params, "cursor": cursor})
        assert r.status_code == 422 and "cursor" in r.text, r.text
    doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    doc["p"][0] = "not a time"
    forged = base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
    r = await api.get("followup", "/v1/tasks", params={"owner_id": OWNER, "cursor": forged})
    assert r.status_code == 422 and "cursor" in r.text
