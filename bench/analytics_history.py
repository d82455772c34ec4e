"""A seeded retail-shaped history for the analytics benchmark: 25,000 customers over two years.

Shaped like a dealership's or a retailer's base: many one-off buyers, a long tail of repeat
buyers, a few heavy customers (one with 500 contacts), follow-up tasks mostly done on time,
some losses and complaints, and grading's published values (tiers cut on the value ranking).
The envelopes are what the other services publish; the benchmark writes them straight into
analytics' event log (COPY) and lets the service fold them.
"""
from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.events.contract import (ComplaintFiled, ComplaintUpdated, ContactReceived, CustomerAssigned,
                                    CustomerValued, DealClosed, DealItem, FollowUpLogged, ProspectGraded,
                                    ProspectLost, TaskClosed, TaskScheduled)
from shared.events.envelope import Envelope, EventPayload, new_event
from shared.value_ranking import ranking_key

END = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
DAYS = 730
CONSULTANTS = tuple(f"c-{i:03d}" for i in range(1, 21))
CHANNELS = (("walk_in", 30, None), ("phone", 20, None), ("exhibition", 10, "autoshow"),
            ("web_form", 12, "spring-web"), ("customer_referral", 10, None), ("area_campaign", 8, "east-district"),
            ("call_center", 6, None), ("vip_informant", 4, None))
REASONS = ("competitor", "price", "no_budget", "need_changed", "unreachable", "other")
CATEGORIES = ("product_quality", "after_sales_service", "delivery", "billing")


class RetailHistory:
    """`customers` customers' events, seeded; `heavy_customer` has `heavy_contacts` contacts."""

    def __init__(self, customers: int = 25_000, seed: int = 2026, heavy_contacts: int = 500) -> None:
        self.rng, self.n, self.heavy_contacts = random.Random(seed), customers, heavy_contacts
        self.profit: dict[uuid.UUID, Decimal] = {}
        self.deals: dict[uuid.UUID, int] = {}
        self.last: dict[uuid.UUID, datetime] = {}
        self.heavy_customer: uuid.UUID | None = None
        self.customer_ids: list[uuid.UUID] = []

    def _id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _ev(self, cid: uuid.UUID, payload: EventPayload, at: datetime) -> Envelope:
        self.last[cid] = max(self.last.get(cid, at), at)
        return new_event(payload, customer_id=cid, producer="bench", occurred_at=at, event_id=self._id(), now=at)

    def events(self) -> Iterator[Envelope]:
        """Every customer's events, then grading's valuations (tiers need the whole ranking)."""
        for i in range(self.n):
            yield from self._customer(i)
        yield from self._values()

    def _deal_count(self) -> int:
        roll = self.rng.random()
        if roll < 0.35:
            return 0
        if roll < 0.70:
            return 1
        if roll < 0.90:
            return self.rng.randrange(2, 6)
        if roll < 0.985:
            return self.rng.randrange(6, 16)
        return self.rng.randrange(20, 81)

    def _customer(self, i: int) -> Iterator[Envelope]:
        r, cid = self.rng, self._id()
        self.customer_ids.append(cid)
        channel, campaign = r.choices([(c, cp) for c, _, cp in CHANNELS], [w for _, w, _ in CHANNELS])[0]
        consultant = r.choice(CONSULTANTS)
        t0 = END - timedelta(days=DAYS) + timedelta(days=r.randrange(DAYS - 30), hours=r.randrange(1, 10),
                                                     minutes=r.randrange(60))
        contacts = self.heavy_contacts if i == 0 else (1 if r.random() < 0.85 else r.randrange(2, 6))
        if i == 0:
            self.heavy_customer = cid
        for k in range(contacts):
            at = t0 + timedelta(hours=k * 13)
            yield self._ev(cid, ContactReceived(
                contact_id=self._id(), channel=channel if k == 0 else r.choice(["walk_in", "phone"]),
                campaign=campaign if k == 0 else None, consultant_id=consultant, name=f"客户{i}",
                phone=f"+86139{i:08d}", purchase_timeframe="within_1_month"), at)
        yield self._ev(cid, CustomerAssigned(owner_id=consultant, basis="named"), t0 + timedelta(seconds=1))
        grade = r.choice("HABC")
        yield self._ev(cid, ProspectGraded(grade=grade, rule="timeframe", policy_version="1",
                                           consultant_id=consultant), t0 + timedelta(minutes=1))
        t = t0
        for _ in range(r.randrange(1, 4)):
            task, due = self._id(), t + timedelta(days=r.choice([1, 2, 7]))
            yield self._ev(cid, TaskScheduled(task_id=task, kind="cadence", owner_id=consultant, due_at=due),
                           t + timedelta(minutes=2))
            roll = r.random()
            if roll < 0.8:
                done = due - timedelta(hours=r.randrange(0, 20)) if roll < 0.7 else due + timedelta(hours=5)
                yield self._ev(cid, FollowUpLogged(task_id=task, kind="cadence", consultant_id=consultant,
                                                   method="phone", outcome="reached", completed_at=done), done)
                t = done
            elif roll < 0.9:
                yield self._ev(cid, TaskClosed(task_id=task, status="overdue", reason="not done"),
                               due + timedelta(hours=1))
                t = due
        deals = self._deal_count()
        if deals:
            yield self._ev(cid, ProspectGraded(grade="O", previous_grade=grade, rule="deposit", policy_version="1",
                                               consultant_id=consultant), t + timedelta(hours=3))
            when, span = t + timedelta(days=r.randrange(1, 6)), max(1, (END - t).days // (deals + 1))
            profit = Decimal(0)
            for _ in range(deals):
                price = Decimal(r.randrange(200, 320_000) if r.random() < 0.5 else r.randrange(200, 8_000))
                gp = (price * Decimal(r.randrange(-5, 25)) / 100).quantize(Decimal("0.01"))
                yield self._ev(cid, DealClosed(deal_id=self._id(), consultant_id=consultant, amount=price,
                                               gross_profit=gp, closed_on=when.date(), channel=channel,
                                               campaign=campaign,
                                               items=[DealItem(product="item", quantity=1, unit_price=price)]), when)
                profit += gp
                when = min(END - timedelta(hours=1), when + timedelta(days=r.randrange(1, span + 1)))
            self.profit[cid], self.deals[cid] = profit, deals
        elif r.random() < 0.3:
            yield self._ev(cid, ProspectLost(reason=r.choice(REASONS), consultant_id=consultant, approved_by="m-001"),
                           t + timedelta(days=r.randrange(1, 10)))
        if r.random() < 0.04:
            yield from self._complaint(cid, t0 + timedelta(days=r.randrange(1, 40)))

    def _complaint(self, cid: uuid.UUID, at: datetime) -> Iterator[Envelope]:
        r, complaint = self.rng, self._id()
        severity = r.choice(["low", "medium", "high"])
        yield self._ev(cid, ComplaintFiled(complaint_id=complaint, channel="phone", severity=severity,
                                           description="等待时间过长", category=r.choice(CATEGORIES)), at)
        ack = at + timedelta(hours=r.choice([1, 2, 6]))
        yield self._ev(cid, ComplaintUpdated(complaint_id=complaint, status="acknowledged",
                                             owner_id=r.choice(CONSULTANTS), acknowledge_due_at=at + timedelta(hours=4),
                                             resolve_due_at=at + timedelta(days=3), at=ack), ack)
        if r.random() < 0.8:
            fixed = at + timedelta(hours=r.randrange(5, 200))
            yield self._ev(cid, ComplaintUpdated(complaint_id=complaint, status="resolved", at=fixed), fixed)

    def _values(self) -> Iterator[Envelope]:
        """Grading's part: one `customer-valued` per buyer, tiers cut on the one value ranking."""
        order = sorted(self.profit, key=lambda c: ranking_key(self.profit[c], c))
        n = len(order)
        for rank, c in enumerate(order):
            gp = self.profit[c]
            tier = ("lead" if gp <= 0 else "platinum" if rank < math.ceil(n * 0.01)
                    else "gold" if rank < math.ceil(n * 0.05) else "iron")
            klass = ("one_off" if self.deals[c] == 1 else "key" if rank < math.ceil(n * 0.01)
                     else "suitable" if rank < math.ceil(n * 0.05) else "general")
            stage = ("exploration" if self.deals[c] == 1 else self.rng.choice(["formation", "stability", "decline"]))
            yield self._ev(c, CustomerValued(
                pyramid_tier=tier, management_class=klass, credit_grade="good", loyalty_stage="follower",
                lifecycle_stage=stage, in_decline=stage == "decline",
                decline_signals=["volume_halved"] if stage == "decline" else [], gross_profit=gp,
                lifetime_profit=(gp * Decimal("0.92")).quantize(Decimal("0.01")), purchases=self.deals[c],
                policy_version="1"), self.last[c] + timedelta(hours=2))
