"""`crm demo`: a realistic dealership history, generated through the services' public HTTP APIs.

Months of walk-ins, calls, exhibition and web leads, referrals, follow-ups,
grade overrides, deals, losses, consent refusals and complaints with their
handling. Every step is a documented HTTP call (architecture.md); a step whose
endpoint does not exist yet (404 Not Found / 405) is skipped and reported, so
the demo runs against whatever the services already serve.
"""
from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

CONSULTANTS = ("c-001", "c-002", "c-003", "c-004", "c-005")
TEAMS = {"c-001": "north", "c-002": "north", "c-003": "north", "c-004": "south", "c-005": "south"}
ROSTER_WAIT = 15.0  # seconds for the roster to reach intake (follow-up publishes it as events)
CHANNELS = (("walk_in", 30, None), ("phone", 20, None), ("exhibition", 12, "autoshow-2026"),
            ("web_form", 10, "spring-web"), ("customer_referral", 8, None), ("area_campaign", 8, "east-district"),
            ("call_center", 6, None), ("vip_informant", 3, None), ("service_station", 3, None))
CAMPAIGN_COSTS = {"autoshow-2026": ("exhibition", "180000.00"), "spring-web": ("web_form", "40000.00"),
                  "east-district": ("area_campaign", "60000.00")}
TIMEFRAMES = ("now", "within_7_days", "within_1_month", "1_to_3_months", "over_3_months", "undecided")
PRODUCTS = (("轿车 sedan", 120_000, 180_000), ("SUV", 180_000, 320_000), ("MPV", 200_000, 280_000))
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ("芳", "伟", "娜", "敏", "静", "磊", "洋", "勇", "军", "杰")
REASONS = ("competitor", "price", "no_budget", "need_changed", "unreachable", "other")
CATEGORIES = ("product_quality", "after_sales_service", "delivery", "billing", "behaviour_gap", "procedure_gap")


@dataclass
class StepReport:
    ok: int = 0
    failed: int = 0
    unavailable: bool = False
    first_error: str | None = None


@dataclass
class DemoClient:
    """HTTP calls to the four services with one bearer token, recording what each step did."""

    urls: dict[str, str]
    token: str
    client: httpx.AsyncClient
    steps: dict[str, StepReport] = field(default_factory=dict)

    async def call(self, step: str, method: str, service: str, path: str, body: dict | None = None,
                   key: str | None = None, params: dict | None = None) -> dict | None:
        report = self.steps.setdefault(step, StepReport())
        if report.unavailable:
            return None
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        if service not in self.urls:
            report.unavailable, report.first_error = True, f"{service}: no URL"
            return None
        try:
            r = await self.client.request(method, self.urls[service] + path, json=body, headers=headers,
                                          params=params)
        except httpx.ConnectError as exc:
            report.unavailable, report.first_error = True, f"{service} not reachable: {exc!r}"
            return None
        except httpx.HTTPError as exc:
            report.failed += 1
            report.first_error = report.first_error or f"{service} {path}: {exc!r}"
            return None
        if r.status_code == 405 or (r.status_code == 404 and _no_such_route(r)):
            report.unavailable = True
            report.first_error = f"{method} {service}{path.split('?')[0]}: {r.status_code} (not served yet)"
            return None
        if r.status_code >= 400:
            report.failed += 1
            report.first_error = report.first_error or f"{method} {service}{path}: {r.status_code} {r.text[:300]}"
            return None
        report.ok += 1
        return r.json() if r.content else {}

    async def contact(self, step: str, body: dict, key: str) -> dict | None:
        """POST a contact; while the roster is on its way to intake (a consultant it does not know
        yet), wait and try again rather than fail."""
        deadline = asyncio.get_running_loop().time() + ROSTER_WAIT
        while True:
            r = await self.client.post(self.urls["intake"] + "/v1/contacts", json=body, headers={
                "Authorization": f"Bearer {self.token}", "Idempotency-Key": key})
            if r.status_code != 422 or "not on the roster" not in r.text \
                    or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.2)
        report = self.steps.setdefault(step, StepReport())
        if r.status_code >= 400:
            report.failed += 1
            report.first_error = report.first_error or f"POST intake/v1/contacts: {r.status_code} {r.text[:300]}"
            return None
        report.ok += 1
        return r.json()

    async def exists(self, service: str, path: str) -> bool:
        try:
            r = await self.client.get(self.urls[service] + path, headers={"Authorization": f"Bearer {self.token}"})
        except (KeyError, httpx.HTTPError):
            return False
        return r.status_code == 200


def _no_such_route(r: httpx.Response) -> bool:
    """A 404 for a path no route has (not for a missing resource, whose problem names the path field)."""
    try:
        return not r.json().get("errors")
    except ValueError:
        return False


class Demo:
    def __init__(self, api: DemoClient, customers: int = 120, days: int = 120, seed: int = 2026,
                 now: datetime | None = None, progress: Callable[[int, int], None] | None = None) -> None:
        self.api, self.n, self.days = api, customers, days
        self.rng = random.Random(seed)
        self.now = now or datetime.now(UTC)
        self.seed, self.progress = seed, progress
        self.people: list[dict[str, Any]] = []
        self.sem = asyncio.Semaphore(8)

    def key(self, *parts: object) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"crm-demo/{self.seed}/" + "/".join(map(str, parts))))

    async def run(self) -> dict[str, Any]:
        await self._roster()
        plans = [self._plan(i) for i in range(self.n)]
        done = 0
        for i in range(0, len(plans), 16):
            await asyncio.gather(*(self._customer(p) for p in plans[i:i + 16]))
            done += len(plans[i:i + 16])
            if self.progress:
                self.progress(done, len(plans) + 1)
        await self._campaign_costs()
        await self._work_the_tasks()
        if self.progress:
            self.progress(len(plans) + 1, len(plans) + 1)
        return {"customers": len(self.people), "steps": {k: vars(v) for k, v in sorted(self.api.steps.items())}}

    def _plan(self, i: int) -> dict[str, Any]:
        r = self.rng
        channel, campaign = r.choices([(c, cp) for c, _, cp in CHANNELS], [w for _, w, _ in CHANNELS])[0]
        at = self.now - timedelta(days=r.uniform(1, self.days))
        at = at.replace(hour=r.randrange(1, 11), minute=r.randrange(60), second=0, microsecond=0)
        return {"i": i, "channel": channel, "campaign": campaign, "at": at, "consultant": r.choice(CONSULTANTS),
                "name": r.choice(SURNAMES) + r.choice(GIVEN), "phone": f"139{(self.seed * 7919 + i) % 10**8:08d}",
                "timeframe": r.choices(TIMEFRAMES, [5, 20, 25, 20, 15, 15])[0], "fate": r.random(),
                "complaint": r.random() < 0.15, "refuses_marketing": r.random() < 0.08,
                "returns": r.random() < 0.15, "product": r.choice(PRODUCTS), "roll": r.random(),
                "region": r.choice(["东区", "西区", "南区", "北区"])}

    async def _customer(self, p: dict[str, Any]) -> None:
        async with self.sem:
            body = {"channel": p["channel"], "occurred_at": p["at"].isoformat(), "name": p["name"],
                    "phone": p["phone"], "purchase_timeframe": p["timeframe"], "consultant_id": p["consultant"],
                    "product_interest": p["product"][0], "region": p["region"],
                    "purpose": "看车 browsing" if p["channel"] == "walk_in" else None,
                    "campaign": p["campaign"]}
            if p["channel"] == "customer_referral":  # 基盘推介: an existing customer recommended them
                known = [q for q in self.people if q["i"] < p["i"]]
                if known:
                    body["referral_kind"] = "recommendation"
                    body["referrer_customer_id"] = random.Random(p["i"]).choice(known)["customer_id"]
                else:  # nobody to refer them yet
                    p["channel"] = body["channel"] = "walk_in"
            if p["channel"] == "call_center":
                body["call_id"] = f"CC-{self.seed}-{p['i']:05d}"
            accepted = await self.api.contact("contact", {k: v for k, v in body.items() if v is not None},
                                              self.key("contact", p["i"]))
            if not accepted:  # a rule of intake's we do not know yet: record it, take them in as a walk-in
                plain = {k: body[k] for k in ("occurred_at", "name", "phone", "purchase_timeframe", "consultant_id")}
                accepted = await self.api.call("contact (walk-in fallback)", "POST", "intake", "/v1/contacts",
                                               {**plain, "channel": "walk_in"}, self.key("plain", p["i"]))
            if not accepted:
                return
            p["customer_id"] = accepted["customer_id"]
            self.people.append(p)
            if p["returns"]:  # came back to the showroom: same phone, same customer
                again = {**body, "channel": "walk_in", "campaign": None, "referrer_customer_id": None,
                         "referrer_phone": None, "call_id": None, "referral_kind": None,
                         "occurred_at": (p["at"] + timedelta(days=3)).isoformat()}
                await self.api.call("repeat visit", "POST", "intake", "/v1/contacts",
                                    {k: v for k, v in again.items() if v is not None}, self.key("again", p["i"]))
            if p["refuses_marketing"]:
                await self.api.call("consent", "PUT", "intake", f"/v1/customers/{p['customer_id']}/consent",
                                    {"marketing_allowed": False, "source": "phone"}, self.key("consent", p["i"]))
            if p["complaint"]:
                await self._complaint(p)

    async def _complaint(self, p: dict[str, Any]) -> None:
        r = random.Random(p["i"])
        filed = await self.api.call("complaint", "POST", "intake", "/v1/complaints", {
            "customer_id": p["customer_id"], "channel": "phone", "severity": r.choice(["low", "medium", "high"]),
            "description": "交车延误，等待太久 delivery delayed", "category": r.choice(CATEGORIES)},
            self.key("complaint", p["i"]))
        complaint_id = (filed or {}).get("complaint_id")
        if not complaint_id:
            return
        base = f"/v1/complaints/{complaint_id}"
        for _ in range(10):  # follow-up opens the case when the complaint-filed event reaches it
            if await self.api.exists("followup", base):
                break
            await asyncio.sleep(0.3)
        if await self.api.call("complaint acknowledge", "POST", "followup", f"{base}/acknowledge", {},
                               self.key("ack", p["i"])) is None:
            return
        if r.random() < 0.8 and await self.api.call("complaint resolve", "POST", "followup", f"{base}/resolve",
                                                    {"root_cause": r.choice(CATEGORIES),
                                                     "remedy": "免费更换零件 replaced the part"},
                                                    self.key("fix", p["i"])) is not None:
            await self.api.call("complaint survey", "POST", "followup", f"{base}/survey",
                                {"satisfaction": r.randrange(2, 6)}, self.key("survey", p["i"]))

    async def _work_the_tasks(self) -> None:
        """Consultants work their lists: follow-ups, overrides, deals and losses."""
        await asyncio.sleep(1.0)  # let grading and follow-up react to the contacts
        await asyncio.gather(*(self._outcome(p) for p in self.people))

    async def _outcome(self, p: dict[str, Any]) -> None:
        async with self.sem:
            cid, i = p["customer_id"], p["i"]
            tasks = await self.api.call("list tasks", "GET", "followup", "/v1/tasks",
                                        params={"owner_id": p["consultant"], "customer_id": cid})
            mine = [t for t in (tasks or {}).get("tasks", []) if t.get("customer_id") == cid]
            if mine and p["roll"] < 0.75:
                await self.api.call("complete task", "POST", "followup", f"/v1/tasks/{mine[0]['task_id']}/complete", {
                    "method": "phone", "outcome": "reached", "content": "客户确认试驾 test drive booked",
                    "test_drive": p["fate"] < 0.5}, self.key("task", i))
            if p["roll"] > 0.9:
                await self.api.call("grade override", "POST", "grading", f"/v1/prospects/{cid}/grade-override",
                                    {"grade": "A", "reason": "试驾后意向提升 keen after the test drive"},
                                    self.key("override", i))
            if p["fate"] < 0.35:
                await self._deal(p)
            elif p["fate"] < 0.55:  # 战败: the consultant proposes the loss, a manager approves it
                proposal = await self.api.call("lost", "POST", "followup", f"/v1/prospects/{cid}/lost", {
                    "reason": random.Random(i).choice(REASONS), "note": "战败 lost"}, self.key("lost", i))
                if proposal and proposal.get("proposal_id"):
                    await self.api.call("loss approval", "POST", "followup",
                                        f"/v1/losses/{proposal['proposal_id']}/approve",
                                        {"note": "同意 approved"}, self.key("approve", i))

    async def _deal(self, p: dict[str, Any]) -> None:
        r = random.Random(p["i"] * 31)
        name, low, high = p["product"]
        for n in range(1 if r.random() < 0.8 else r.randrange(2, 4)):
            price = r.randrange(low, high, 1000)
            closed = min(self.now.date(), (p["at"] + timedelta(days=r.randrange(2, 20) + 45 * n)).date())
            due = closed + timedelta(days=14)
            made = await self.api.call("deal", "POST", "followup", "/v1/deals", {
                "customer_id": p["customer_id"], "consultant_id": p["consultant"],
                "items": [{"product": name, "quantity": 1, "unit_price": price}], "amount": price,
                "gross_profit": r.randrange(-3000, int(price * 0.12)), "deposit": 5000,
                "closed_on": closed.isoformat(), "payment_due_on": due.isoformat(),
                "channel": p["channel"], "campaign": p["campaign"]},
                self.key("deal", p["i"], n))
            if made and made.get("deal"):
                await self._pay(r, made["deal"]["deal_id"], price - 5000, closed, due, (p["i"], n))

    async def _pay(self, r: random.Random, deal_id: str, balance: int, closed, due, key: tuple) -> None:
        """Most customers pay on time, some late, a few not at all (so credit grades differ)."""
        luck = r.random()
        if luck < 0.05 or balance <= 0:
            return
        paid = closed + timedelta(days=r.randrange(0, 14)) if luck < 0.85 else due + timedelta(days=r.randrange(5, 60))
        paid_on = min(paid, self.now.date())
        await self.api.call("payment", "POST", "followup", f"/v1/deals/{deal_id}/payments",
                            {"amount": balance, "paid_on": paid_on.isoformat(), "note": "尾款 balance"},
                            self.key("payment", *key))

    async def _roster(self) -> None:
        """The dealership's consultants (销售顾问), in two teams: only roster members own customers."""
        for consultant in CONSULTANTS:
            await self.api.call("roster", "POST", "followup", "/v1/consultants",
                                {"consultant_id": consultant, "team": TEAMS[consultant]}, self.key("roster", consultant))

    async def _campaign_costs(self) -> None:
        for campaign, (channel, amount) in CAMPAIGN_COSTS.items():
            await self.api.call("campaign cost", "POST", "analytics", f"/v1/campaigns/{campaign}/costs", {
                "amount": amount, "spent_on": (self.now - timedelta(days=self.days)).date().isoformat(),
                "channel": channel, "note": "演示 demo"}, self.key("cost", campaign))


async def run_demo(urls: dict[str, str], token: str, *, customers: int = 120, days: int = 120, seed: int = 2026,
                   now: datetime | None = None, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        api = DemoClient(urls, token, client)
        return await Demo(api, customers, days, seed, now, progress).run()
