"""`crm demo`: a dealership's history, generated through the services' public HTTP APIs.

Months of walk-ins, calls, exhibition and web leads, referrals, VIP informants,
repeat visits, grade overrides, deals with their payments, losses, consent
refusals and complaints with their handling. Every step is a documented HTTP
call (architecture.md); a step whose endpoint does not exist yet (404 Not Found /
405) is skipped and reported.

What is dated when, and why:

- contacts happen on their own days over the period (`occurred_at`), in the
  order they happened; every generated contact satisfies intake's channel rules;
- deals and payments are history (`POST /v1/deals/batch` with `historical_before`
  = the start of the period's last day, `POST /v1/payments/batch` with `paid_on`):
  they set value and reports on their own days and create no delivery work for
  a delivery long gone (domain §8); a deal or payment that would fall after the
  period simply has not happened yet;
- follow-ups happened when they were done (`completed_at` of
  `POST /v1/tasks/{id}/complete`): the consultants made the first contact with
  most prospects before any deal or loss, mostly within the day it was due, some
  late (a day or two after), a few never; a call whose time is after the run (or
  after `until`) has not happened yet and stays on the list. Losses, complaint
  handling and consent decisions are dated by the run (their APIs take no past
  time).

Re-running with the same seed and the same last day (`until`, default today)
creates nothing: every body is a pure function of (seed, until), every call
carries an Idempotency-Key made of them, and the tasks worked are the pending
first-contact tasks of the demo's own contacts, which are done after the first run.
"""
from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

from shared.business_time import DEFAULT_ZONE, business_day

CONSULTANTS = ("c-001", "c-002", "c-003", "c-004", "c-005")
TEAMS = {"c-001": "north", "c-002": "north", "c-003": "north", "c-004": "south", "c-005": "south"}
ROSTER_WAIT = 15.0  # seconds for the roster to reach intake (follow-up publishes it as events)
TASKS_WAIT = 20.0  # seconds for follow-up to open the first-contact tasks of the demo's contacts
CHANNELS = (("walk_in", 30, None), ("phone", 20, None), ("exhibition", 12, "autoshow-2026"),
            ("web_form", 10, "spring-web"), ("customer_referral", 8, None), ("area_campaign", 8, "east-district"),
            ("call_center", 6, None), ("vip_informant", 3, None), ("service_station", 3, None))
CAMPAIGN_COSTS = {"autoshow-2026": ("exhibition", "180000.00"), "spring-web": ("web_form", "40000.00"),
                  "east-district": ("area_campaign", "60000.00")}
TIMEFRAMES = ("now", "within_7_days", "within_1_month", "1_to_3_months", "over_3_months", "undecided")
PRODUCTS = (("轿车 sedan", 120_000, 180_000), ("SUV", 180_000, 320_000), ("MPV", 200_000, 280_000))
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ("芳", "伟", "娜", "敏", "静", "磊", "洋", "勇", "军", "杰")
INFORMANTS = (("repair_shop", "城东修理厂"), ("loyal_customer", "老客户赵先生"), ("partner_firm", "恒通贸易"),
              ("used_car_dealer", "诚信二手车"))
STATIONS = ("东区服务站", "西区服务站")
REASONS = ("competitor", "price", "no_budget", "need_changed", "unreachable", "other")
CATEGORIES = ("product_quality", "after_sales_service", "delivery", "billing", "behaviour_gap", "procedure_gap")
BATCH = 500  # rows per deal or payment batch (the API takes up to 1,000)
FIRST_CONTACT_MADE = 0.9  # share of first contacts made at all (the others are still on the list)
FIRST_CONTACT_LATE = 0.2  # of those made, the share made after the due time


@dataclass
class StepReport:
    ok: int = 0
    failed: int = 0
    unavailable: bool = False
    first_error: str | None = None


@dataclass
class DemoClient:
    """HTTP calls to the four services with one bearer token, recording what each step did and
    every answer of 400 or more (`http_errors`, by step and status)."""

    urls: dict[str, str]
    token: str
    client: httpx.AsyncClient
    steps: dict[str, StepReport] = field(default_factory=dict)
    http_errors: Counter[str] = field(default_factory=Counter)
    roster_waits: int = 0  # contacts tried again while intake learnt the roster (422s, expected)

    def _headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **({"Idempotency-Key": key} if key else {})}

    async def call(self, step: str, method: str, service: str, path: str, body: dict | None = None,
                   key: str | None = None, params: dict | None = None) -> dict | None:
        report = self.steps.setdefault(step, StepReport())
        if report.unavailable:
            return None
        if service not in self.urls:
            report.unavailable, report.first_error = True, f"{service}: no URL"
            return None
        try:
            r = await self.client.request(method, self.urls[service] + path, json=body, headers=self._headers(key),
                                          params=params)
        except httpx.ConnectError as exc:
            report.unavailable, report.first_error = True, f"{service} not reachable: {exc!r}"
            return None
        except httpx.HTTPError as exc:
            report.failed += 1
            report.first_error = report.first_error or f"{service} {path}: {exc!r}"
            return None
        return self._answer(step, report, r)

    def _answer(self, step: str, report: StepReport, r: httpx.Response) -> dict | None:
        if r.status_code >= 400:
            self.http_errors[f"{step} {r.status_code}"] += 1
        if r.status_code == 405 or (r.status_code == 404 and _no_such_route(r)):
            report.unavailable = True
            report.first_error = f"{r.request.method} {r.request.url.path}: {r.status_code} (not served yet)"
            return None
        if r.status_code >= 400:
            report.failed += 1
            report.first_error = report.first_error or \
                f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}"
            return None
        report.ok += 1
        return r.json() if r.content else {}

    async def contact(self, step: str, body: dict, key: str) -> dict | None:
        """POST a contact; while the roster is on its way to intake (a consultant it does not know
        yet), wait and try again rather than fail."""
        deadline = asyncio.get_running_loop().time() + ROSTER_WAIT
        while True:
            r = await self.client.post(self.urls["intake"] + "/v1/contacts", json=body, headers=self._headers(key))
            if r.status_code != 422 or "not on the roster" not in r.text \
                    or asyncio.get_running_loop().time() > deadline:
                break
            self.roster_waits += 1
            await asyncio.sleep(0.2)
        return self._answer(step, self.steps.setdefault(step, StepReport()), r)


def _no_such_route(r: httpx.Response) -> bool:
    """A 404 for a path no route has (not for a missing resource, whose problem names the path field)."""
    try:
        return not r.json().get("errors")
    except ValueError:
        return False


class Demo:
    def __init__(self, api: DemoClient, customers: int = 120, days: int = 120, seed: int = 2026,
                 until: date | None = None, progress: Callable[[int, int], None] | None = None) -> None:
        self.api, self.n, self.days, self.seed, self.progress = api, customers, days, seed, progress
        self.until = until or business_day(datetime.now(UTC))
        self.rng = random.Random(seed)
        self.people: list[dict[str, Any]] = []
        self.sem = asyncio.Semaphore(8)

    def key(self, *parts: object) -> str:
        """The same call of the same demo (seed, last day) always carries the same key."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL,
                              f"crm-demo/{self.seed}/{self.until}/" + "/".join(map(str, parts))))

    def _step_done(self, done: int, total: int) -> None:
        if self.progress:
            self.progress(done, total)

    async def run(self) -> dict[str, Any]:
        plans = sorted((self._plan(i) for i in range(self.n)), key=lambda p: (p["at"], p["i"]))
        self._choose_referrers(plans)
        total, done = len(plans) + 4, 0
        await self._roster()
        # those who were recommended come in after whoever recommended them
        for wave in ([p for p in plans if not p.get("referrer")], [p for p in plans if p.get("referrer")]):
            for i in range(0, len(wave), 16):
                await asyncio.gather(*(self._customer(p) for p in wave[i:i + 16]))
                done += len(wave[i:i + 16])
                self._step_done(done, total)
        self.people.sort(key=lambda p: (p["at"], p["i"]))
        await self._campaign_costs()
        await self._work_the_lists()  # the first contact comes before the deal or the loss
        self._step_done(done + 1, total)
        await self._deals()
        self._step_done(done + 2, total)
        await asyncio.gather(*(self._decide(p) for p in self.people))
        self._step_done(total, total)
        return {"customers": len(self.people), "seed": self.seed,
                "period": {"from": (self.until - timedelta(days=self.days)).isoformat(), "until": self.until.isoformat()},
                "http_errors": dict(sorted(self.api.http_errors.items())), "roster_waits": self.api.roster_waits,
                "steps": {k: vars(v) for k, v in sorted(self.api.steps.items())}}

    def _plan(self, i: int) -> dict[str, Any]:
        """One prospect's story, a pure function of (seed, i, until)."""
        r = self.rng
        channel, campaign = r.choices([(c, cp) for c, _, cp in CHANNELS], [w for _, w, _ in CHANNELS])[0]
        day = self.until - timedelta(days=r.randrange(1, self.days + 1))  # a day of the period before `until`
        at = datetime.combine(day, time(r.randrange(9, 19), r.randrange(60)), tzinfo=DEFAULT_ZONE)
        return {"i": i, "channel": channel, "campaign": campaign, "at": at, "consultant": r.choice(CONSULTANTS),
                "name": r.choice(SURNAMES) + r.choice(GIVEN), "phone": f"139{(self.seed * 7919 + i) % 10**8:08d}",
                "timeframe": r.choices(TIMEFRAMES, [5, 20, 25, 20, 15, 15])[0], "fate": r.random(),
                "complaint": r.random() < 0.15, "refuses_marketing": r.random() < 0.08,
                "returns": r.random() < 0.15, "product": r.choice(PRODUCTS), "roll": r.random(),
                "region": r.choice(["东区", "西区", "南区", "北区"]), "pick": r.random()}

    @staticmethod
    def _choose_referrers(plans: list[dict[str, Any]]) -> None:
        """A referral names someone who came earlier and is not a referral themselves; the first
        referrals, with nobody to name yet, come in as walk-ins."""
        earlier: list[dict[str, Any]] = []
        for p in plans:
            if p["channel"] == "customer_referral":
                if earlier:
                    p["referrer"] = earlier[int(p["pick"] * len(earlier))]["phone"]
                else:
                    p["channel"] = "walk_in"
            else:
                earlier.append(p)

    def _contact_body(self, p: dict[str, Any]) -> dict[str, Any]:
        body = {"channel": p["channel"], "occurred_at": p["at"].isoformat(), "name": p["name"], "phone": p["phone"],
                "purchase_timeframe": p["timeframe"], "consultant_id": p["consultant"],
                "product_interest": p["product"][0], "region": p["region"], "campaign": p["campaign"]}
        match p["channel"]:
            case "walk_in":
                body["purpose"] = "看车 browsing"
            case "customer_referral":  # 基盘推介: an existing customer recommended them
                body.update(referral_kind="recommendation", referrer_phone=p["referrer"])
            case "call_center":
                body["call_id"] = f"CC-{self.seed}-{p['i']:05d}"
            case "vip_informant":  # VIP情报: who told us about them
                body["informant_kind"], body["informant_name"] = INFORMANTS[p["i"] % len(INFORMANTS)]
            case "service_station":
                body["service_station"] = STATIONS[p["i"] % len(STATIONS)]
        return {k: v for k, v in body.items() if v is not None}

    async def _customer(self, p: dict[str, Any]) -> None:
        async with self.sem:
            body = self._contact_body(p)
            accepted = await self.api.contact("contact", body, self.key("contact", p["i"]))
            if not accepted:
                return
            p["customer_id"] = accepted["customer_id"]
            self.people.append(p)
            if p["returns"]:  # came back to the showroom three days later (if that day has come): same customer
                again = p["at"] + timedelta(days=3)
                if again.date() < self.until:
                    p["visits"] = 2
                    await self.api.contact("repeat visit", {
                        "channel": "walk_in", "occurred_at": again.isoformat(), "name": p["name"], "phone": p["phone"],
                        "consultant_id": p["consultant"], "purpose": "再次到店 second visit"}, self.key("again", p["i"]))
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
        if not complaint_id or not await self._case_opened(p["customer_id"], complaint_id):
            return
        base = f"/v1/complaints/{complaint_id}"
        if await self.api.call("complaint acknowledge", "POST", "followup", f"{base}/acknowledge", {},
                               self.key("ack", p["i"])) is None:
            return
        if r.random() < 0.8 and await self.api.call("complaint resolve", "POST", "followup", f"{base}/resolve",
                                                    {"root_cause": r.choice(CATEGORIES),
                                                     "remedy": "免费更换零件 replaced the part"},
                                                    self.key("fix", p["i"])) is not None:
            await self.api.call("complaint survey", "POST", "followup", f"{base}/survey",
                                {"satisfaction": r.randrange(2, 6)}, self.key("survey", p["i"]))

    async def _case_opened(self, customer_id: str, complaint_id: str) -> bool:
        """Follow-up opens the case when the complaint-filed event reaches it (the list, not a 404 poll)."""
        deadline = asyncio.get_running_loop().time() + TASKS_WAIT
        while asyncio.get_running_loop().time() < deadline:
            for is_open in ("true", "false"):
                found = await self.api.call("complaint lookup", "GET", "followup", "/v1/complaints",
                                            params={"customer_id": customer_id, "open": is_open})
                if found is None:
                    return False
                if any(c.get("complaint_id") == complaint_id for c in found.get("complaints", [])):
                    return True
            await asyncio.sleep(0.3)
        return False

    async def _deals(self) -> None:
        """The deals of the period as history (no delivery work for the past), then their payments."""
        historical_before = datetime.combine(self.until, time(0), tzinfo=DEFAULT_ZONE).isoformat()
        rows, pays = [], []
        for p in self.people:
            if p["fate"] < 0.35:
                rows += self._deal_rows(p)
        for n, start in enumerate(range(0, len(rows), BATCH)):
            part = rows[start:start + BATCH]
            made = await self.api.call("deals (history)", "POST", "followup", "/v1/deals/batch",
                                       {"deals": [body for body, _ in part], "historical_before": historical_before},
                                       self.key("deals", n))
            for (body, plan), result in zip(part, (made or {}).get("deals", []), strict=False):
                pays += self._payments(plan, result["deal"]["deal_id"], body)
        for n, start in enumerate(range(0, len(pays), BATCH)):
            await self.api.call("payments (history)", "POST", "followup", "/v1/payments/batch",
                                {"payments": pays[start:start + BATCH]}, self.key("payments", n))

    def _deal_rows(self, p: dict[str, Any]) -> list[tuple[dict, tuple]]:
        r = random.Random(p["i"] * 31)
        name, low, high = p["product"]
        rows = []
        for n in range(1 if r.random() < 0.8 else r.randrange(2, 4)):
            price = r.randrange(low, high, 1000)
            closed = (p["at"] + timedelta(days=r.randrange(2, 20) + 45 * n)).date()
            gross, luck, late = r.randrange(-3000, int(price * 0.12)), r.random(), r.randrange(0, 60)
            if closed >= self.until:  # not closed yet by the end of the period
                break
            due = closed + timedelta(days=14)
            rows.append(({"customer_id": p["customer_id"], "consultant_id": p["consultant"],
                          "items": [{"product": name, "quantity": 1, "unit_price": price}], "amount": price,
                          "gross_profit": gross, "deposit": 5000, "closed_on": closed.isoformat(),
                          "payment_due_on": due.isoformat(), "channel": p["channel"], "campaign": p["campaign"]},
                         (luck, late, price)))
        return rows

    def _payments(self, plan: tuple, deal_id: str, body: dict) -> list[dict]:
        """Most customers pay the balance on time, some late, a few not at all (so credit grades
        differ); a payment whose day has not come yet is still owed."""
        luck, late, price = plan
        closed, due = date.fromisoformat(body["closed_on"]), date.fromisoformat(body["payment_due_on"])
        if luck < 0.05:
            return []
        paid = closed + timedelta(days=int(luck * 100) % 14) if luck < 0.85 else due + timedelta(days=5 + late)
        if paid > self.until:
            return []
        return [{"deal_id": deal_id, "amount": price - 5000, "paid_on": paid.isoformat(), "note": "尾款 balance"}]

    async def _decide(self, p: dict[str, Any]) -> None:
        """Grade overrides after test drives; losses (战败) proposed and approved by a manager."""
        async with self.sem:
            cid, i = p["customer_id"], p["i"]
            if p["roll"] > 0.9 and p["fate"] >= 0.35:
                await self.api.call("grade override", "POST", "grading", f"/v1/prospects/{cid}/grade-override",
                                    {"grade": "A", "reason": "试驾后意向提升 keen after the test drive"},
                                    self.key("override", i))
            if 0.35 <= p["fate"] < 0.55:
                proposal = await self.api.call("lost", "POST", "followup", f"/v1/prospects/{cid}/lost", {
                    "reason": REASONS[i % len(REASONS)], "note": "战败 lost"}, self.key("lost", i))
                if proposal and proposal.get("proposal_id"):
                    await self.api.call("loss approval", "POST", "followup",
                                        f"/v1/losses/{proposal['proposal_id']}/approve",
                                        {"note": "同意 approved"}, self.key("approve", i))

    async def _work_the_lists(self) -> None:
        """The consultants log the first contact with their prospects, each at the time it was made."""
        await asyncio.gather(*(self._first_contacts(p) for p in self.people))

    async def _first_contacts(self, p: dict[str, Any]) -> None:
        async with self.sem:
            expected = p.get("visits", 1)
            deadline = asyncio.get_running_loop().time() + TASKS_WAIT
            while True:  # follow-up opens them when the contacts reach it
                pending = await self._tasks(p, None)
                done = await self._tasks(p, "done")
                if pending is None or done is None:
                    return
                if len(pending) + len(done) >= expected or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.3)
            latest = min(datetime.now(UTC), datetime.combine(self.until, time.max, tzinfo=DEFAULT_ZONE))
            for n, task in enumerate(sorted(pending, key=lambda t: t["due_at"])):
                made = self._first_contact_made(p, n, task)
                if made is None or made > latest:  # never made, or not yet
                    continue
                await self.api.call("complete task", "POST", "followup", f"/v1/tasks/{task['task_id']}/complete", {
                    "method": "phone", "outcome": "reached", "content": "客户确认试驾 test drive booked",
                    "test_drive": p["fate"] < 0.75, "completed_at": made.isoformat()},
                    self.key("task", task["task_id"]))

    def _first_contact_made(self, p: dict[str, Any], n: int, task: dict[str, Any]) -> datetime | None:
        """When the consultant made the `n`th first contact with `p` (None: never): mostly between the
        contact and the due time, some a day or two late; a pure function of (seed, p, n) and the task."""
        r = random.Random(f"{self.seed}/first-contact/{p['i']}/{n}")
        made, late, share, hours = r.random(), r.random(), r.uniform(0.1, 0.9), r.uniform(2, 48)
        if made >= FIRST_CONTACT_MADE:
            return None
        arose = datetime.fromisoformat(task.get("arose_at") or task["created_at"])
        due = datetime.fromisoformat(task["due_at"])
        when = due + timedelta(hours=hours) if late < FIRST_CONTACT_LATE else arose + (due - arose) * share
        return when.replace(microsecond=0)

    async def _tasks(self, p: dict[str, Any], status: str | None) -> list[dict] | None:
        found = await self.api.call("list tasks", "GET", "followup", "/v1/tasks", params={
            "customer_id": p["customer_id"], "kind": "first_contact", "limit": 50, **({"status": status} if status else {})})
        return None if found is None else [t for t in found.get("tasks", []) if t.get("customer_id") == p["customer_id"]]

    async def _roster(self) -> None:
        """The dealership's consultants (销售顾问), in two teams: only roster members own customers."""
        for consultant in CONSULTANTS:
            await self.api.call("roster", "POST", "followup", "/v1/consultants",
                                {"consultant_id": consultant, "team": TEAMS[consultant]}, self.key("roster", consultant))

    async def _campaign_costs(self) -> None:
        for campaign, (channel, amount) in CAMPAIGN_COSTS.items():
            await self.api.call("campaign cost", "POST", "analytics", f"/v1/campaigns/{campaign}/costs", {
                "amount": amount, "spent_on": (self.until - timedelta(days=self.days)).isoformat(),
                "channel": channel, "note": "演示 demo"}, self.key("cost", campaign))


async def run_demo(urls: dict[str, str], token: str, *, customers: int = 120, days: int = 120, seed: int = 2026,
                   until: date | None = None, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        api = DemoClient(urls, token, client)
        return await Demo(api, customers, days, seed, until, progress).run()
