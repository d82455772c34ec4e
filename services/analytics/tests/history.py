"""A seeded, realistic dealership event history (months of contacts, grades,
follow-ups, deals, losses, complaints, consent changes and a merge), as the
envelopes the other services would publish. Test-only."""
from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.events.contract import (
    ComplaintFiled,
    ComplaintUpdated,
    ConsentChanged,
    ContactReceived,
    CustomerAssigned,
    CustomerMerged,
    CustomerValued,
    DealClosed,
    DealItem,
    FollowUpLogged,
    ProspectGraded,
    ProspectLost,
    TaskClosed,
    TaskScheduled,
)
from shared.events.envelope import Envelope, EventPayload, new_event
from shared.value_ranking import ranking_key

CONSULTANTS = ("c-001", "c-002", "c-003", "c-004")
CHANNELS = (("walk_in", 30, None), ("phone", 20, None), ("exhibition", 12, "autoshow-2026"),
            ("web_form", 10, "spring-web"), ("customer_referral", 10, None), ("area_campaign", 8, "east-district"),
            ("call_center", 6, None), ("vip_informant", 4, None))
TIMEFRAME_GRADE = {"within_7_days": "H", "within_1_month": "A", "1_to_3_months": "B", "undecided": "C"}
CATEGORIES = ("product_quality", "after_sales_service", "delivery", "billing", "behaviour_gap", "procedure_gap")
REASONS = ("competitor", "price", "no_budget", "need_changed", "unreachable", "other")
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class History:
    def __init__(self, seed: int = 7, customers: int = 60, days: int = 120, start: datetime = START) -> None:
        self.rng, self.start, self.days = random.Random(seed), start, days
        self.events: list[Envelope] = []
        for _ in range(customers):
            self._customer()
        self._merge()
        self._publish_values()

    def _emit(self, customer: uuid.UUID, payload: EventPayload, at: datetime) -> Envelope:
        env = new_event(payload, customer_id=customer, producer="history", occurred_at=at,
                        event_id=uuid.UUID(int=self.rng.getrandbits(128)), now=at)
        self.events.append(env)
        return env

    def _id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _customer(self) -> None:
        r, cid = self.rng, self._id()
        channel, campaign = r.choices([(c, cp) for c, _, cp in CHANNELS], [w for _, w, _ in CHANNELS])[0]
        consultant = r.choice(CONSULTANTS)
        t0 = self.start + timedelta(days=r.randrange(self.days), hours=r.randrange(1, 10), minutes=r.randrange(60))
        timeframe = r.choice(list(TIMEFRAME_GRADE))
        self._emit(cid, ContactReceived(contact_id=self._id(), channel=channel, campaign=campaign,
                                        consultant_id=consultant, name=f"客户{r.randrange(10**4)}",
                                        phone=f"+86139{r.randrange(10**8):08d}", purchase_timeframe=timeframe,
                                        region=r.choice(["东区", "西区", "南区"])), t0)
        self._emit(cid, CustomerAssigned(owner_id=consultant, basis="named"), t0 + timedelta(seconds=1))
        grade = TIMEFRAME_GRADE[timeframe]
        self._emit(cid, ProspectGraded(grade=grade, rule="timeframe", policy_version="1", consultant_id=consultant),
                   t0 + timedelta(minutes=1))
        t = t0
        for _ in range(r.randrange(1, 4)):
            t = self._follow_up(cid, consultant, t)
        fate = r.random()
        if fate < 0.35:
            self._deals(cid, consultant, grade, t, channel, campaign)
        elif fate < 0.6:
            self._emit(cid, ProspectLost(reason=r.choice(REASONS), consultant_id=consultant, approved_by="m-001"),
                       t + timedelta(days=r.randrange(1, 10)))
        elif fate < 0.8 and grade != "C":
            new = r.choice([g for g in "HABC" if g != grade])
            self._emit(cid, ProspectGraded(grade=new, previous_grade=grade, rule="no_response", policy_version="1",
                                           consultant_id=consultant), t + timedelta(days=2))
        if r.random() < 0.2:
            self._complaint(cid, t0 + timedelta(days=r.randrange(1, 40)))
        if r.random() < 0.1:
            self._emit(cid, ConsentChanged(marketing_allowed=False, source="phone"), t0 + timedelta(days=3))

    def _follow_up(self, cid: uuid.UUID, consultant: str, after: datetime) -> datetime:
        r, task = self.rng, self._id()
        due = after + timedelta(days=r.choice([1, 2, 7]))
        self._emit(cid, TaskScheduled(task_id=task, kind="cadence", owner_id=consultant, due_at=due),
                   after + timedelta(minutes=2))
        roll = r.random()
        if roll < 0.65:
            early, late = timedelta(hours=r.randrange(0, 20)), timedelta(hours=r.randrange(2, 48))
            done = due - early if roll < 0.5 else due + late
            self._emit(cid, FollowUpLogged(task_id=task, kind="cadence", consultant_id=consultant, method="phone",
                                           outcome=r.choice(["reached", "visited", "no_answer"]),
                                           content="回访 follow-up", completed_at=done), done)
            return done
        if roll < 0.8:
            self._emit(cid, TaskClosed(task_id=task, status="overdue", reason="not done"), due + timedelta(hours=1))
        return due

    def _deals(self, cid, consultant, grade, t, channel, campaign) -> None:
        r = self.rng
        self._emit(cid, ProspectGraded(grade="O", previous_grade=grade, rule="deposit", policy_version="1",
                                       consultant_id=consultant), t + timedelta(hours=3))
        when = t + timedelta(days=r.randrange(1, 6))
        for _ in range(1 if r.random() < 0.7 else r.randrange(2, 5)):
            price = Decimal(r.randrange(90_000, 320_000))
            profit = Decimal(r.randrange(-4_000, 36_000))
            self._emit(cid, DealClosed(deal_id=self._id(), consultant_id=consultant, amount=price,
                                       gross_profit=profit, closed_on=when.date(), channel=channel, campaign=campaign,
                                       items=[DealItem(product="sedan", quantity=1, unit_price=price)]), when)
            when += timedelta(days=r.randrange(20, 60))

    def _complaint(self, cid: uuid.UUID, at: datetime) -> None:
        r, complaint = self.rng, self._id()
        severity = r.choice(["low", "medium", "high"])
        self._emit(cid, ComplaintFiled(complaint_id=complaint, channel="phone", severity=severity,
                                       description="等待时间过长", category=r.choice(CATEGORIES)), at)
        ack_due, fix_due = at + timedelta(hours=4), at + timedelta(days={"high": 1, "medium": 3, "low": 7}[severity])
        ack = at + timedelta(hours=r.choice([1, 2, 6]))
        self._emit(cid, ComplaintUpdated(complaint_id=complaint, status="acknowledged", owner_id=r.choice(CONSULTANTS),
                                         acknowledge_due_at=ack_due, resolve_due_at=fix_due, at=ack), ack)
        if r.random() < 0.8:
            fixed = at + timedelta(hours=r.randrange(5, 200))
            self._emit(cid, ComplaintUpdated(complaint_id=complaint, status="resolved", remedy="更换零件",
                                             at=fixed), fixed)
            if r.random() < 0.7:
                self._emit(cid, ComplaintUpdated(complaint_id=complaint, status="surveyed",
                                                 satisfaction=r.randrange(1, 6), at=fixed + timedelta(days=1)),
                           fixed + timedelta(days=1))

    def _merge(self) -> None:
        """The same person came in twice under two records; intake later merged them."""
        r = self.rng
        survivor, merged = self._id(), self._id()
        t = self.start + timedelta(days=5, hours=3)
        for cid, channel in ((survivor, "walk_in"), (merged, "phone")):
            self._emit(cid, ContactReceived(contact_id=self._id(), channel=channel, consultant_id="c-001",
                                            name="王芳", phone="+8613800138000"), t)
            self._emit(cid, CustomerAssigned(owner_id="c-001", basis="named"), t + timedelta(seconds=1))
            t += timedelta(hours=r.randrange(1, 5))
        self._emit(merged, DealClosed(deal_id=self._id(), consultant_id="c-001", amount=Decimal(150000),
                                      gross_profit=Decimal(12000), closed_on=t.date(),
                                      items=[DealItem(product="suv", quantity=1, unit_price=Decimal(150000))]), t)
        self._emit(survivor, CustomerMerged(merged_customer_id=merged), t + timedelta(days=1))
        self.survivor, self.merged = str(survivor), str(merged)

    def _publish_values(self) -> None:
        """Grading's part: the `customer-valued` events it would publish for the customers with deals.

        Tests read tiers, classes and stages back from these events and never recompute them. The
        values are plausible, not what any rule in analytics would give: the tiers are cut over the
        valued customers only (about one customer with deals in ten is left not yet valued), the
        stages are drawn (single-purchase customers in decline by volume among them), and repeat
        buyers first get an early valuation that a later one replaces. The merged record keeps the
        valuation it had before the merge; the survivor is valued afterwards with both records' deals.
        """
        r, deals = self.rng, {}
        for e in self.events:
            if e.event_type == "deal-closed":
                cid = self.survivor if str(e.customer_id) == self.merged else str(e.customer_id)
                deals.setdefault(cid, []).append(e)
        last = {}
        for e in self.events:
            cid = str(e.customer_id)
            last[cid] = max(last.get(cid, e.occurred_at), e.occurred_at)
        merged_deal = next(e for e in deals[self.survivor] if str(e.customer_id) == self.merged)
        self._emit(uuid.UUID(self.merged), CustomerValued(
            pyramid_tier="iron", management_class="one_off", lifecycle_stage="exploration", purchases=1,
            gross_profit=merged_deal.payload["gross_profit"], policy_version="1"),
            merged_deal.occurred_at + timedelta(hours=2))
        valued = sorted(c for c in deals if c == self.survivor or r.random() >= 0.1)
        profit = {c: sum((Decimal(e.payload["gross_profit"]) for e in deals[c]), Decimal(0)) for c in valued}
        order = sorted(valued, key=lambda c: ranking_key(profit[c], c))
        n = len(order)
        for rank, c in enumerate(order):
            mine = sorted(deals[c], key=lambda e: e.occurred_at)
            first = Decimal(mine[0].payload["gross_profit"])
            if len(mine) > 1:
                self._emit(uuid.UUID(c), CustomerValued(
                    pyramid_tier="iron" if first > 0 else "lead", management_class="one_off",
                    lifecycle_stage="exploration", purchases=1, gross_profit=first, lifetime_profit=first,
                    policy_version="1"), mine[0].occurred_at + timedelta(hours=2))
            tier = ("lead" if profit[c] <= 0 else "platinum" if rank < math.ceil(n * 0.05)
                    else "gold" if rank < math.ceil(n * 0.2) else "iron")
            klass = ("one_off" if len(mine) == 1 else "key" if rank < math.ceil(n * 0.05)
                     else "suitable" if rank < math.ceil(n * 0.2) else "general")
            if len(mine) == 1:
                stage = r.choice(["exploration", "exploration", "exploration", "decline"])
                signals = ["volume_halved"] if stage == "decline" else []
            else:
                stage = r.choice(["formation", "stability", "decline"])
                signals = r.choice([["volume_halved"], ["overdue_purchase"], ["volume_halved", "overdue_purchase"]]) \
                    if stage == "decline" else []
            self._emit(uuid.UUID(c), CustomerValued(
                pyramid_tier=tier, management_class=klass, credit_grade="good", loyalty_stage="follower",
                lifecycle_stage=stage, in_decline=stage == "decline", decline_signals=signals,
                gross_profit=profit[c], lifetime_profit=(profit[c] * Decimal("0.92")).quantize(Decimal("0.01")),
                purchases=len(mine), policy_version="1"), last[c] + timedelta(days=1, hours=r.randrange(1, 9)))
