"""The analytics HTTP surface on the running stack: reports (JSON, CSV, filters, roles), costs, 360, replay."""
from __future__ import annotations

import asyncio
import csv as csv_module
import io
import uuid

import pytest

from shared.events.enums import Role
from tests.support.problems import problem_fields

REPORTS = ("funnel", "daily", "channels", "grades", "lost-reasons", "pyramid", "pareto", "lifecycle",
           "complaints", "workload")


@pytest.fixture(scope="module")
async def data(demo_data):
    return demo_data


async def test_the_demo_went_through_the_public_apis(data):
    steps = data["summary"]["steps"]
    print({k: (v["ok"], v["failed"], v["unavailable"], (v["first_error"] or "")[:160]) for k, v in steps.items()})
    assert steps["contact"]["ok"] >= 20, steps["contact"]
    assert data["summary"]["customers"] == 30


async def stable_json_and_csv(api, name: str):
    """The stack is shared with tests still feeding events: read until JSON is the same before and after the CSV.
    Both with the same page size (the JSON's default page is shorter than a whole CSV)."""
    for _ in range(20):
        before = await api.get("analytics", f"/v1/reports/{name}?limit=5000")
        csv = await api.get("analytics", f"/v1/reports/{name}?format=csv&limit=5000")
        after = await api.get("analytics", f"/v1/reports/{name}?limit=5000")
        if before.status_code == 200 and before.json()["rows"] == after.json()["rows"]:
            return before, csv
        await asyncio.sleep(0.5)
    raise AssertionError(f"{name} never held still")


async def test_every_report_answers_json_and_csv(api, data):
    for name in REPORTS:
        r, csv = await stable_json_and_csv(api, name)
        assert r.status_code == 200, (name, r.text)
        assert r.json()["report"] == name
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert len(list(csv_module.reader(io.StringIO(csv.text)))) == len(r.json()["rows"]) + 1
    accept = await api.client.get(api.url("analytics", "/v1/reports/daily"),
                                  headers={**api.headers(), "Accept": "text/csv"})
    assert accept.text.startswith("date,consultant_id,walk_ins,calls")


async def test_bad_filters_get_422_naming_the_field(api, data):
    for query, field in (("from=yesterday", "from"), ("channel=pigeon", "channel"), ("format=xml", "format"),
                         ("from=2026-05-01&to=2026-04-01", "from")):
        r = await api.get("analytics", f"/v1/reports/funnel?{query}")
        assert r.status_code == 422, (query, r.text)
        assert problem_fields(r)[0] == f"query.{field}", r.text
    assert (await api.get("analytics", "/v1/reports/nope")).status_code == 422
    r = await api.get("analytics", f"/v1/customers/{uuid.uuid4()}/360?as_of=last-tuesday")
    assert r.status_code == 422 and problem_fields(r)[0] == "query.as_of"
    r = await api.post("analytics", "/v1/campaigns/x/costs", {"amount": -1, "spent_on": "2026-01-01"})
    assert r.status_code == 422 and problem_fields(r)[0] == "amount"


async def test_a_consultant_reports_on_themselves_only(api, data):
    r = await api.get("analytics", "/v1/reports/daily", role=Role.CONSULTANT, consultant_id="c-002")
    assert r.status_code == 200
    assert {row["consultant_id"] for row in r.json()["rows"]} <= {"c-002"}
    r = await api.get("analytics", "/v1/reports/daily?consultant=c-001", role=Role.CONSULTANT, consultant_id="c-002")
    assert r.status_code == 403 and problem_fields(r)[0] == "query.consultant"
    assert (await api.get("analytics", "/v1/reports/daily", role=Role.INTEGRATION)).status_code == 403


async def test_campaign_cost_gives_roi(api, data):
    campaign = f"roi-{uuid.uuid4().hex[:6]}"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    for _ in range(2):  # a retried request records the cost once
        r = await api.post("analytics", f"/v1/campaigns/{campaign}/costs",
                           {"amount": "1000.00", "spent_on": "2026-05-01", "channel": "exhibition"}, headers=key)
        assert r.status_code == 201, r.text
    rows = (await api.get("analytics", f"/v1/reports/channels?campaign={campaign}")).json()["rows"]
    assert rows == [{"channel": "exhibition", "campaign": campaign, "prospects": 0, "deals": 0, "revenue": "0.00",
                     "gross_profit": "0.00", "cost": "1000.00", "roi": -1.0, "conversion": None}]


async def test_360_is_masked_by_role(api, data):
    history = data["history"]
    cid = history.survivor
    full = (await api.get("analytics", f"/v1/customers/{cid}/360")).json()
    assert full["profile"]["phone"] == "+8613800138000" and not full["profile_masked"]
    assert len(full["deals"]) == 1 and full["merged_from"] == [history.merged]
    ops = (await api.get("analytics", f"/v1/customers/{cid}/360", role=Role.OPS)).json()
    assert ops["profile_masked"] and ops["profile"]["phone"] == "+86138****8000"  # the one masking (shared.masking)
    own = await api.get("analytics", f"/v1/customers/{cid}/360", role=Role.CONSULTANT, consultant_id="c-001")
    assert own.json()["profile"]["name"] == "王芳"
    other = await api.get("analytics", f"/v1/customers/{cid}/360", role=Role.CONSULTANT, consultant_id="c-009")
    assert other.json()["profile"]["name"] == "王*"
    past = (await api.get("analytics", f"/v1/customers/{cid}/360?as_of=2026-03-01")).json()
    assert past["event_count"] == 0 and past["as_of"].startswith("2026-03-01T23:59:59")


async def event_count(api) -> int:
    conn = await api.db("analytics")
    try:
        return await conn.fetchval("select count(*) from event_log")
    finally:
        await conn.close()


async def test_replay_gives_byte_for_byte_the_same_answers(api, data):
    """Compared while no event arrives (the other services' periodic jobs may add some: then try again)."""
    query = "?to=2026-10-31"
    for _ in range(5):
        count = await event_count(api)
        before = {n: (await api.get("analytics", f"/v1/reports/{n}{query}")).content for n in REPORTS}
        r = await api.post("analytics", "/v1/admin/replay", {}, role=Role.OPS)
        assert r.status_code == 200, r.text
        assert r.json()["customers"] >= 60
        after = {n: (await api.get("analytics", f"/v1/reports/{n}{query}")).content for n in REPORTS}
        if await event_count(api) == count == r.json()["events"]:
            break
        await asyncio.sleep(1)
    else:
        raise AssertionError("events kept arriving; could not compare")
    assert after == before
    assert (await api.post("analytics", "/v1/admin/replay", {}, role=Role.CONSULTANT)).status_code == 403


async def test_csv_cells_never_run_as_formulas(api, data):
    """A name and a campaign that are spreadsheet formulas (OWASP CSV injection) come out as text."""
    formula = '=HYPERLINK("x")'
    campaign = f'=HYPERLINK("{uuid.uuid4().hex[:8]}")'
    r = await api.post("intake", "/v1/contacts", {"channel": "walk_in", "name": formula, "campaign": campaign,
                                                  "phone": f"+86137{uuid.uuid4().int % 10**8:08d}"})
    assert r.status_code == 201, r.text
    for _ in range(60):
        csv = await api.client.get(api.url("analytics", "/v1/reports/channels"),
                                   params={"campaign": campaign, "format": "csv"}, headers=api.headers())
        rows = list(csv_module.reader(io.StringIO(csv.text)))
        if len(rows) > 1:
            break
        await asyncio.sleep(0.5)
    else:
        raise AssertionError("the contact never reached the channels report")
    assert rows[1][:2] == ["walk_in", "'" + campaign], rows
    for name in ("channels", "funnel", "workload", "pareto", "daily", "lifecycle"):
        text = (await api.get("analytics", f"/v1/reports/{name}?format=csv")).text
        cells = [c for row in csv_module.reader(io.StringIO(text)) for c in row]
        assert not [c for c in cells if c[:1] in ("=", "@", "\t", "\r")], name
        assert not [c for c in cells if c[:1] and c[:1] in "+-" and not c.lstrip("+-").replace(".", "", 1).isdigit()], name


async def test_report_lists_page_and_bad_paging_gets_422_naming_the_field(api, data):
    whole = (await api.get("analytics", "/v1/reports/pareto")).json()
    assert whole["has_more"] is False and whole["next_cursor"] is None
    first = (await api.get("analytics", "/v1/reports/pareto?limit=2")).json()
    assert first["rows"] == whole["rows"][:2] and first["has_more"] is True
    second = (await api.get("analytics", f"/v1/reports/pareto?limit=2&cursor={first['next_cursor']}")).json()
    assert second["rows"] == whole["rows"][2:4]
    for query, field in (("limit=0", "limit"), ("limit=100000", "limit"), ("cursor=not-a-cursor", "cursor"),
                         (f"cursor={first['next_cursor'][:-2]}xx", "cursor")):
        r = await api.get("analytics", f"/v1/reports/pareto?{query}")
        assert r.status_code == 422 and field in r.text, (query, r.text)
    r = await api.get("analytics", f"/v1/reports/daily?cursor={first['next_cursor']}")  # another list's cursor
    assert r.status_code == 422 and "cursor" in r.text


async def test_360_history_lists_page(api, data):
    cid = data["history"].survivor
    full = (await api.get("analytics", f"/v1/customers/{cid}/360")).json()
    assert len(full["contacts"]) == 2 and full["pages"]["contacts"] == {"next_cursor": None, "has_more": False}
    one = (await api.get("analytics", f"/v1/customers/{cid}/360?limit=1")).json()
    assert one["contacts"] == full["contacts"][:1] and one["pages"]["contacts"]["has_more"] is True
    cursor = one["pages"]["contacts"]["next_cursor"]
    rest = (await api.get("analytics", f"/v1/customers/{cid}/360?limit=1&contacts_cursor={cursor}")).json()
    assert rest["contacts"] == full["contacts"][1:] and rest["pages"]["contacts"]["has_more"] is False
    assert {k: v for k, v in rest.items() if k not in ("contacts", "pages")} == \
        {k: v for k, v in one.items() if k not in ("contacts", "pages")}
    r = await api.get("analytics", f"/v1/customers/{cid}/360?deals_cursor={cursor}")  # the contacts' cursor
    assert r.status_code == 422 and "deals_cursor" in r.text
