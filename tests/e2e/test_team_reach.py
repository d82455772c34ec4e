"""A manager whose token names a team reaches that team's consultants and customers only, in
every service: the roster (follow-up) tells the others who is in which team through
`consultant-updated`; and every full read of personal data is on the audit trail."""
import asyncio
import uuid

from shared.auth import mint_token
from shared.events.enums import Role
from tests.support.problems import problem_fields

from .test_walking_skeleton import contact


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def _roster(api, suffix: str) -> tuple[str, str]:
    north, south = f"c-north-{suffix}", f"c-south-{suffix}"
    await api.join_roster({north: f"north-{suffix}", south: f"south-{suffix}"})
    return north, south


async def _customer_with_task(api, consultant: str) -> tuple[str, str]:
    r = await api.post("intake", "/v1/contacts", contact(consultant_id=consultant))
    assert r.status_code == 201, r.text
    customer_id = r.json()["customer_id"]
    view = await api.eventually("analytics", f"/v1/customers/{customer_id}/360", lambda v: v["open_tasks"])
    return customer_id, view["open_tasks"][0]["task_id"]


async def _eventually(check, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.3)


async def test_a_team_manager_reaches_their_team_only(api, reliability):
    suffix = uuid.uuid4().hex[:6]
    north, south = await _roster(api, suffix)
    (ours, our_task), (theirs, their_task) = await asyncio.gather(
        _customer_with_task(api, north), _customer_with_task(api, south))
    manager = bearer(mint_token(api.secret, Role.MANAGER, subject=f"m-north-{suffix}", team=f"north-{suffix}"))

    tasks = (await api.client.get(api.url("followup", "/v1/tasks"), headers=manager)).json()["tasks"]
    assert {t["owner_id"] for t in tasks} - {"unassigned"} == {north}  # their team's, and work nobody owns
    assert (await api.client.get(api.url("followup", f"/v1/tasks/{their_task}"), headers=manager)).status_code == 403
    assert (await api.client.get(api.url("followup", f"/v1/tasks/{our_task}"), headers=manager)).status_code == 200
    assert (await api.client.get(api.url("followup", f"/v1/prospects/{theirs}"), headers=manager)).status_code == 403
    moved = await api.client.post(api.url("followup", f"/v1/prospects/{ours}/reassign"), headers=manager,
                                  json={"consultant_id": south, "reason": "customer moved south"})
    assert moved.status_code == 422 and problem_fields(moved)[0] == "consultant_id"
    poached = await api.client.post(api.url("followup", "/v1/consultants"), headers=manager,
                                    json={"consultant_id": south})
    assert poached.status_code == 403
    consultants = (await api.client.get(api.url("followup", "/v1/consultants"), headers=manager)).json()
    assert [c["consultant_id"] for c in consultants["consultants"]] == [north]

    async def view(customer_id):
        return (await api.client.get(api.url("analytics", f"/v1/customers/{customer_id}/360"), headers=manager)).json()

    assert await _eventually(lambda: _unmasked(view, ours)), "analytics never learnt the team from the roster"
    assert (await view(theirs))["profile_masked"] is True

    async def record(customer_id):
        return (await api.client.get(api.url("intake", f"/v1/customers/{customer_id}"), headers=manager)).json()

    async def intake_unmasked():
        return (await record(ours))["masked"] is False

    assert await _eventually(intake_unmasked), "intake never learnt the team from the roster"
    assert (await record(theirs))["masked"] is True
    reliability.record("a team manager's token on another team's tasks, prospects, roster, 360 and customer record",
                       7, "403 or masked; their own team served in full")


async def _unmasked(view, customer_id) -> bool:
    return (await view(customer_id)).get("profile_masked") is not True


async def test_a_full_read_in_the_360_is_audited(api, reliability):
    r = await api.post("intake", "/v1/contacts", contact(consultant_id="c-audited"))
    customer_id = r.json()["customer_id"]
    await api.eventually("analytics", f"/v1/customers/{customer_id}/360", lambda v: v["open_tasks"])
    subject = f"m-reader-{uuid.uuid4().hex[:6]}"
    reader = mint_token(api.secret, Role.MANAGER, subject=subject)
    masked_reader = mint_token(api.secret, Role.OPS, subject="ops-reader")
    for token in (reader, masked_reader):
        r = await api.client.get(api.url("analytics", f"/v1/customers/{customer_id}/360"), headers=bearer(token))
        assert r.status_code == 200
    conn = await api.db("analytics")
    try:
        reads = await conn.fetch(
            "select envelope->'payload'->>'subject' from event_store where event_type = 'personal-data-read' "
            "and customer_id = $1 and envelope->'payload'->>'subject' = any($2)", uuid.UUID(customer_id),
            [subject, "ops-reader"])
    finally:
        await conn.close()
    assert [r[0] for r in reads] == [subject]  # the masked read is not a full read

    async def on_the_trail():
        trail = (await api.get("intake", f"/v1/customers/{customer_id}/audit")).json()["reads"]
        return [r for r in trail if r["subject"] == subject]

    reads = await _eventually(on_the_trail)
    assert len(reads) == 1 and reads[0]["what"] == "customer 360 (analytics)"
    reliability.record("full and masked reads of the 360", 2,
                       "the full read is on intake's one audit trail, the masked one is not")
