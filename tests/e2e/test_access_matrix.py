"""Every customer endpoint x every role x every relation to the customer, writes as reads, against
the running services: who may act, and who sees personal data unmasked.

The expected table is written out by hand here (it is the test's oracle, not read from
shared/access.py), so a change of the policy has to change this table too.

The relations: the consultant under test owns one customer; a colleague of their team owns a
second; a consultant of another team a third; nobody owns the fourth (as between intake's
commit and follow-up's assignment: the owner rows are cleared in every service before each
endpoint is tried). Tasks and complaint cases are tried through their owner, which is the
customer's.
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

import pytest

from shared.auth import mint_token
from shared.events.enums import Role

SYS, CON, MGR, HEAD, OPS = "integration", "consultant", "team manager", "head of sales", "ops"
OWNER, TEAM, OTHER, FREE = "owner", "same team", "other team", "unowned"
ALL = {OWNER, TEAM, OTHER, FREE}
REACH = {TEAM, FREE}  # a manager's reach: their team (every team for a head of sales) and the unowned

# (principal, customer) -> the principal's relation to the customer
RELATION = {
    CON: {"a": OWNER, "b": TEAM, "c": OTHER, "u": FREE},
    MGR: {"a": TEAM, "b": TEAM, "c": OTHER, "u": FREE},
    HEAD: {"a": TEAM, "b": TEAM, "c": TEAM, "u": FREE},
    SYS: {"a": OTHER, "b": OTHER, "c": OTHER, "u": FREE},
    OPS: {"a": OTHER, "b": OTHER, "c": OTHER, "u": FREE},
}
SEES_PERSONAL = {CON: {OWNER}, MGR: REACH, HEAD: REACH, SYS: set(), OPS: set()}

# endpoint -> who may call it in which relations (a principal absent: never)
EXPECTED: dict[str, dict[str, set[str]]] = {
    "record contact": {SYS: ALL, CON: ALL, MGR: ALL, HEAD: ALL},
    "record contact batch": {SYS: ALL, CON: ALL, MGR: ALL, HEAD: ALL},
    "look up by phone": {SYS: ALL, CON: ALL, MGR: ALL, HEAD: ALL, OPS: ALL},
    "read customer": {SYS: ALL, CON: ALL, MGR: ALL, HEAD: ALL, OPS: ALL},
    "change card": {CON: {OWNER}, MGR: REACH, HEAD: REACH},
    "change consent": {SYS: ALL, CON: {OWNER}, MGR: REACH, HEAD: REACH},
    "merge": {MGR: REACH, HEAD: REACH},
    "file complaint": {SYS: ALL, CON: ALL, MGR: ALL, HEAD: ALL},
    "erase": {MGR: REACH, HEAD: REACH, OPS: ALL},
    "read grade": {SYS: ALL, CON: ALL, MGR: ALL, HEAD: ALL, OPS: ALL},
    "override grade": {CON: {OWNER}, MGR: REACH, HEAD: REACH},
    "read value": {SYS: ALL, CON: ALL, MGR: ALL, HEAD: ALL, OPS: ALL},
    "read task": {CON: {OWNER}, MGR: REACH, HEAD: REACH, OPS: ALL},
    "complete task": {CON: {OWNER}, MGR: REACH, HEAD: REACH},
    "record deal": {SYS: ALL, CON: {OWNER, FREE}, MGR: REACH, HEAD: REACH},
    "record payment": {SYS: ALL, CON: {OWNER}, MGR: REACH, HEAD: REACH},
    "propose loss": {CON: {OWNER}, MGR: REACH, HEAD: REACH},
    "decide loss": {MGR: REACH, HEAD: REACH},
    "set care": {CON: {OWNER}, MGR: REACH, HEAD: REACH},
    "read prospect file": {CON: {OWNER}, MGR: REACH, HEAD: REACH, OPS: ALL},
    "read complaint": {CON: {OWNER}, MGR: REACH, HEAD: REACH, OPS: ALL},
    "acknowledge complaint": {SYS: ALL, CON: {OWNER}, MGR: REACH, HEAD: REACH},
    "read 360": {SYS: ALL, CON: ALL, MGR: ALL, HEAD: ALL, OPS: ALL},
    "reassign": {MGR: REACH, HEAD: REACH},
}
# The reads that carry personal data: how the answer says it is masked.
MASKED_FLAG: dict[str, Callable[[dict], bool]] = {
    "look up by phone": lambda body: body["customers"][0]["masked"],
    "read customer": lambda body: body["masked"],
    "read 360": lambda body: body["profile_masked"],
    "read prospect file": lambda body: body["birthday"] != BIRTHDAY,
}
BIRTHDAY = "1984-06-30"


@dataclass
class Customer:
    key: str
    customer_id: str
    phone: str
    owner: str | None
    task_id: str = ""
    complaint_id: str = ""
    deal_id: str = ""
    proposal_id: str = ""


class World:
    """The roster, four customers (one per relation) and a token per principal."""

    def __init__(self, api) -> None:
        self.api, self.suffix = api, uuid.uuid4().hex[:6]
        self.a, self.b, self.c = (f"c-mx-{n}-{self.suffix}" for n in "abc")
        self.team, self.other = f"mx-north-{self.suffix}", f"mx-south-{self.suffix}"
        secret = api.secret
        self.tokens = {
            CON: mint_token(secret, Role.CONSULTANT, consultant_id=self.a, subject=self.a),
            MGR: mint_token(secret, Role.MANAGER, subject=f"m-{self.suffix}", team=self.team),
            HEAD: mint_token(secret, Role.MANAGER, subject=f"head-{self.suffix}"),
            SYS: mint_token(secret, Role.INTEGRATION, subject=f"sys-{self.suffix}"),
            OPS: mint_token(secret, Role.OPS, subject=f"ops-{self.suffix}"),
        }
        self.customers: dict[str, Customer] = {}

    def headers(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}", "Idempotency-Key": str(uuid.uuid4())}

    async def call(self, who: str, method: str, service: str, path: str, body: dict | None = None,
                   params: dict | None = None):
        return await self.api.client.request(method, self.api.url(service, path), json=body, params=params,
                                             headers=self.headers(who))

    async def setup(self) -> None:
        await self.api.join_roster({self.a: self.team, self.b: self.team, self.c: self.other})
        owners = {"a": self.a, "b": self.b, "c": self.c, "u": self.c}
        made = await asyncio.gather(*(self.customer(key, owner, worked=True) for key, owner in owners.items()))
        self.customers = {c.key: c for c in made}
        await self.unown(self.customers["u"])

    async def customer(self, key: str, owner: str, worked: bool = False) -> Customer:
        """A customer owned by `owner` with an open task; `worked`: also a loss proposal waiting, a
        complaint case, a deal (so a value) and a birthday."""
        phone = f"136{uuid.uuid4().int % 10**8:08d}"
        r = await self.call(HEAD, "POST", "intake", "/v1/contacts", {
            "channel": "walk_in", "name": "Qian Duo", "phone": phone, "purchase_timeframe": "within_1_month",
            "consultant_id": owner})
        assert r.status_code == 201, r.text
        c = Customer(key, r.json()["customer_id"], phone, owner)
        view = await self.api.eventually("analytics", f"/v1/customers/{c.customer_id}/360",
                                         lambda v: v["open_tasks"] and v["consultant_id"] == owner)
        c.task_id = view["open_tasks"][0]["task_id"]
        await self.wait_owner(c, owner)
        if not worked:
            return c
        r = await self.call(HEAD, "POST", "followup", f"/v1/prospects/{c.customer_id}/lost", {"reason": "price"})
        assert r.status_code == 201, r.text
        c.proposal_id = r.json()["proposal_id"]
        r = await self.call(HEAD, "POST", "intake", "/v1/complaints", {
            "customer_id": c.customer_id, "channel": "phone", "severity": "low", "description": "slow answer"})
        assert r.status_code == 201, r.text
        c.complaint_id = r.json()["complaint_id"]
        await self.api.eventually("followup", f"/v1/complaints/{c.complaint_id}", lambda v: True)
        r = await self.call(HEAD, "POST", "followup", "/v1/deals", {
            "customer_id": c.customer_id, "items": [{"product": "SUV", "quantity": 1, "unit_price": 200000}],
            "gross_profit": 9000, "deposit": 1000, "closed_on": date.today().isoformat()})
        assert r.status_code == 201, r.text
        c.deal_id = r.json()["deal"]["deal_id"]
        r = await self.call(HEAD, "PUT", "followup", f"/v1/prospects/{c.customer_id}/care", {"birthday": BIRTHDAY})
        assert r.status_code == 200, r.text
        await self.api.eventually("grading", f"/v1/customers/{c.customer_id}/value", lambda v: True)
        # the deal ended the prospect work: the open task to try is one of the deal's (delivery, 3-day call)
        r = await self.call(HEAD, "GET", "followup", "/v1/tasks", params={"customer_id": c.customer_id})
        c.task_id = r.json()["tasks"][0]["task_id"]
        return c

    async def wait_owner(self, c: Customer, owner: str | None) -> None:
        for service in ("intake", "grading", "analytics", "followup"):
            conn = await self.api.db(service)
            try:
                for _ in range(400):
                    found = await conn.fetchval("select owner_id from customer_owners where customer_id = $1",
                                                uuid.UUID(c.customer_id))
                    if found == owner:
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError(f"{service} never learnt the owner of {c.key}")
            finally:
                await conn.close()

    async def unown(self, c: Customer) -> None:
        """Nobody owns the customer (as before follow-up has assigned it), in every service."""
        cid = uuid.UUID(c.customer_id)
        for service in ("intake", "grading", "analytics", "followup"):
            conn = await self.api.db(service)
            try:
                await conn.execute("delete from customer_owners where customer_id = $1", cid)
                if service == "followup":
                    await conn.execute("update prospects set owner_id = null, owner_basis = null "
                                       "where customer_id = $1", cid)
                    await conn.execute("update tasks set owner_id = 'unassigned', "
                                       "data = jsonb_set(data, '{owner_id}', '\"unassigned\"') "
                                       "where customer_id = $1 and status in ('open', 'overdue')", cid)
                    await conn.execute("update complaint_cases set owner_id = 'unassigned', "
                                       "data = jsonb_set(data, '{owner_id}', '\"unassigned\"') "
                                       "where customer_id = $1", cid)
            finally:
                await conn.close()
        c.owner = None


Request = Callable[[World, str, Customer], Awaitable]


def _contact(w: World, who: str, c: Customer) -> dict:
    return {"channel": "phone", "phone": c.phone, "purchase_timeframe": "within_1_month",
            **({} if who == CON else {"consultant_id": w.b})}


REQUESTS: dict[str, Request] = {
    "record contact": lambda w, who, c: w.call(who, "POST", "intake", "/v1/contacts", _contact(w, who, c)),
    "record contact batch": lambda w, who, c: w.call(who, "POST", "intake", "/v1/contacts/batch",
                                                     {"contacts": [_contact(w, who, c)]}),
    "look up by phone": lambda w, who, c: w.call(who, "GET", "intake", "/v1/customers", params={"phone": c.phone}),
    "read customer": lambda w, who, c: w.call(who, "GET", "intake", f"/v1/customers/{c.customer_id}"),
    "change card": lambda w, who, c: w.call(who, "PATCH", "intake", f"/v1/customers/{c.customer_id}",
                                            {"occupation": "teacher"}),
    "change consent": lambda w, who, c: w.call(who, "PUT", "intake", f"/v1/customers/{c.customer_id}/consent",
                                               {"marketing_allowed": True, "source": "matrix"}),
    "merge": lambda w, who, c: w.call(who, "POST", "intake", f"/v1/customers/{c.customer_id}/merge",
                                      {"merged_customer_id": str(uuid.uuid4())}),
    "file complaint": lambda w, who, c: w.call(who, "POST", "intake", "/v1/complaints", {
        "customer_id": c.customer_id, "channel": "phone", "severity": "low", "description": "noise"}),
    "read grade": lambda w, who, c: w.call(who, "GET", "grading", f"/v1/prospects/{c.customer_id}/grade"),
    "override grade": lambda w, who, c: w.call(who, "POST", "grading",
                                               f"/v1/prospects/{c.customer_id}/grade-override",
                                               {"grade": "A", "reason": "matrix"}),
    "read value": lambda w, who, c: w.call(who, "GET", "grading", f"/v1/customers/{c.customer_id}/value"),
    "read task": lambda w, who, c: w.call(who, "GET", "followup", f"/v1/tasks/{c.task_id}"),
    "complete task": lambda w, who, c: w.call(who, "POST", "followup", f"/v1/tasks/{c.task_id}/complete",
                                              {"method": "phone", "outcome": "reached"}),
    "record deal": lambda w, who, c: w.call(who, "POST", "followup", "/v1/deals", {
        "customer_id": c.customer_id, "items": [{"product": "SUV", "quantity": 1, "unit_price": 1000}],
        "gross_profit": 100, "closed_on": date.today().isoformat()}),
    "record payment": lambda w, who, c: w.call(who, "POST", "followup", f"/v1/deals/{c.deal_id}/payments",
                                               {"amount": 1, "paid_on": date.today().isoformat()}),
    "propose loss": lambda w, who, c: w.call(who, "POST", "followup", f"/v1/prospects/{c.customer_id}/lost",
                                             {"reason": "price"}),
    "decide loss": lambda w, who, c: w.call(who, "POST", "followup", f"/v1/losses/{c.proposal_id}/reject", {}),
    "set care": lambda w, who, c: w.call(who, "PUT", "followup", f"/v1/prospects/{c.customer_id}/care",
                                         {"birthday": BIRTHDAY}),
    "read prospect file": lambda w, who, c: w.call(who, "GET", "followup", f"/v1/prospects/{c.customer_id}"),
    "read complaint": lambda w, who, c: w.call(who, "GET", "followup", f"/v1/complaints/{c.complaint_id}"),
    "acknowledge complaint": lambda w, who, c: w.call(who, "POST", "followup",
                                                      f"/v1/complaints/{c.complaint_id}/acknowledge", {}),
    "read 360": lambda w, who, c: w.call(who, "GET", "analytics", f"/v1/customers/{c.customer_id}/360"),
    "reassign": lambda w, who, c: w.call(who, "POST", "followup", f"/v1/prospects/{c.customer_id}/reassign",
                                         {"consultant_id": c.owner or w.c, "reason": "matrix"}),
}
DESTRUCTIVE = {"erase"}  # tried on a fresh customer of the same relation
# Writes that can give an unowned customer an owner (through follow-up, a moment later): each
# principal tries them on an unowned customer of their own, so that one's effect cannot reach
# the next one's try.
ASSIGNING = {"record contact", "record contact batch", "file complaint", "record deal", "reassign"}


@pytest.fixture(scope="module")
async def world(api) -> World:
    w = World(api)
    await w.setup()
    return w




def _verdict(endpoint: str, who: str, relation: str, r) -> str | None:
    """None when the answer is what the table says, else what went wrong."""
    allowed = relation in EXPECTED[endpoint].get(who, set())
    if r.status_code in (401, 500) or r.status_code >= 500:
        return f"{r.status_code} {r.text[:200]}"
    if allowed and r.status_code == 403:
        return f"refused: {r.text[:200]}"
    if not allowed and r.status_code != 403:
        return f"allowed ({r.status_code}) but the table forbids it"
    if allowed and endpoint in MASKED_FLAG and r.status_code == 200:
        masked = MASKED_FLAG[endpoint](r.json())
        if masked == (relation in SEES_PERSONAL[who]):
            return f"{'masked' if masked else 'unmasked'} personal data"
    return None


@pytest.mark.parametrize("endpoint", [*REQUESTS, "erase"])
async def test_each_role_in_each_relation_gets_what_the_table_says(world, endpoint, reliability):
    wrong, tried = [], 0
    own_unowned: dict[str, Customer] = {}
    if endpoint in ASSIGNING:
        made = await asyncio.gather(*(world.customer("u", world.c) for _ in RELATION))
        for who, c in zip(RELATION, made, strict=True):
            await world.unown(c)
            own_unowned[who] = c
    for who, relations in RELATION.items():
        for key, relation in relations.items():
            c = own_unowned.get(who, world.customers[key]) if key == "u" else world.customers[key]
            if key == "u":  # an allowed write may have given it an owner: nobody owns it again
                await world.unown(c)
            if endpoint in DESTRUCTIVE:
                if relation in EXPECTED[endpoint].get(who, set()):  # allowed: erase a customer of its own
                    c = await world.customer(f"{key}-fresh", c.owner or world.c)
                    if key == "u":
                        await world.unown(c)
                r = await world.call(who, "POST", "intake", f"/v1/customers/{c.customer_id}/erase", {})
            else:
                r = await REQUESTS[endpoint](world, who, c)
            tried += 1
            if (problem := _verdict(endpoint, who, relation, r)) is not None:
                wrong.append(f"{who} / {relation}: {problem}")
    assert not wrong, f"{endpoint}:\n" + "\n".join(wrong)
    reliability.record(f"access matrix: {endpoint}, every role in every relation", tried,
                       "allowed, refused (403) and masked exactly as the table says")


async def test_reports_are_cut_to_the_callers_reach(world):
    """Reports on a consultant: a consultant on themselves only, a team manager on their team."""
    targets = {OWNER: world.a, TEAM: world.b, OTHER: world.c}
    expected = {CON: {OWNER}, MGR: {OWNER, TEAM}, HEAD: {OWNER, TEAM, OTHER}, OPS: {OWNER, TEAM, OTHER}}
    wrong = []
    for who, allowed in expected.items():
        for relation, consultant in targets.items():
            r = await world.call(who, "GET", "analytics", "/v1/reports/workload", params={"consultant": consultant})
            if (r.status_code == 200) != (relation in allowed) or r.status_code not in (200, 403):
                wrong.append(f"{who} on {relation}: {r.status_code}")
    assert not wrong, wrong
    rows = (await world.call(MGR, "GET", "analytics", "/v1/reports/workload")).json()["rows"]
    team = {world.a, world.b}
    assert {row["consultant_id"] for row in rows} <= team | {"unassigned"}, rows
