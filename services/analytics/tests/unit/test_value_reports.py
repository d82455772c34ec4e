"""The value reports show what grading published in `customer-valued`, even where analytics' old rules
(its own tier cut, tie order, lifecycle and decline rules) would have said something else."""
from __future__ import annotations

import ast
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from services.analytics.tests.reference import value
from services.analytics.domain.filters import Filters
from services.analytics.domain.reports import to_csv
from services.analytics.tests.reference.reports import run
from services.analytics.domain.state import fold_all
from shared.events.contract import ContactReceived, CustomerAssigned, CustomerValued, DealClosed, DealItem
from shared.events.envelope import Envelope, new_event

NOW = datetime(2026, 9, 1, 12, tzinfo=UTC)
TODAY = NOW.date()


class Book:
    """A small hand-written history: customers numbered 1, 2, ... (their ids sort in that order)."""

    def __init__(self) -> None:
        self.events: list[Envelope] = []

    def _emit(self, cid: str, payload, at: datetime) -> None:
        self.events.append(new_event(payload, customer_id=uuid.UUID(cid), producer="test", occurred_at=at,
                                     event_id=uuid.UUID(int=len(self.events) + 1), now=at))

    def customer(self, n: int, consultant: str = "c-001", channel: str = "walk_in") -> str:
        cid = str(uuid.UUID(int=n))
        self._emit(cid, ContactReceived(contact_id=uuid.UUID(int=10**6 + n), channel=channel,
                                        consultant_id=consultant), datetime(2026, 1, 5, 9, tzinfo=UTC))
        self._emit(cid, CustomerAssigned(owner_id=consultant, basis="named"), datetime(2026, 1, 5, 9, 1, tzinfo=UTC))
        return cid

    def deal(self, cid: str, amount: int, profit: int, on: date) -> None:
        self._emit(cid, DealClosed(deal_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{cid}/{on}/{amount}"),
                                   consultant_id="c-001", amount=Decimal(amount), gross_profit=Decimal(profit),
                                   closed_on=on, items=[DealItem(product="sedan", quantity=1, unit_price=amount)]),
                   datetime.combine(on, datetime.min.time(), tzinfo=UTC))

    def valued(self, cid: str, at: datetime = NOW - timedelta(days=1), **fields) -> None:
        self._emit(cid, CustomerValued(policy_version="test", **fields), at)

    def report(self, name: str, **filters) -> dict:
        return run(name, fold_all(self.events), [], Filters(now=filters.pop("now", NOW), **filters))


def rows_by(report: dict, key: str) -> dict:
    return {r[key]: r for r in report["rows"]}


def test_a_tie_at_the_top_cut_keeps_grading_s_tiers():
    """20 valued customers: ceil(5%) = 1 platinum. Customers 1 and 2 tie on profit; grading put 2 in platinum.
    Analytics' old rule (ties by id ascending, over its own deal sums) would have made 1 platinum."""
    b = Book()
    ids = [b.customer(n) for n in range(1, 21)]
    b.deal(ids[0], 300_000, 50_000, date(2026, 5, 1))
    b.deal(ids[1], 200_000, 50_000, date(2026, 5, 2))
    b.valued(ids[0], pyramid_tier="gold", management_class="one_off", gross_profit=50_000, purchases=1)
    b.valued(ids[1], pyramid_tier="platinum", management_class="one_off", gross_profit=50_000, purchases=1)
    for i, cid in enumerate(ids[2:], 3):
        profit = 40_000 - 2_000 * i
        b.deal(cid, 100_000, profit, date(2026, 5, i))
        tier = "lead" if profit <= 0 else "gold" if i <= 4 else "iron"
        b.valued(cid, pyramid_tier=tier, management_class="one_off", gross_profit=profit, purchases=1)

    pyramid = rows_by(b.report("pyramid"), "tier")
    assert pyramid["platinum"]["customers"] == 1
    assert pyramid["platinum"]["revenue"] == "200000.00"  # customer 2's deal: the published platinum
    assert pyramid["gold"]["customers"] == 3 and pyramid["gold"]["revenue"] == "500000.00"
    assert pyramid["lead"]["customers"] == 1 and pyramid["lead"]["gross_profit"] == "0.00"
    assert sum(r["customers"] for r in pyramid.values()) == 20 and "not_yet_valued" not in pyramid

    pareto = b.report("pareto")
    assert [r["customer_id"] for r in pareto["rows"][:3]] == ids[:3]  # the tie in the one ranking: id ascending
    assert [r["pyramid_tier"] for r in pareto["rows"][:2]] == ["gold", "platinum"]  # shown as published
    assert pareto["top20_customers"] == 4


def test_pareto_ranks_by_the_published_profit_with_ties_by_customer_id():
    b = Book()
    a, c, d, e = (b.customer(n) for n in (1, 3, 4, 5))
    # Customer 5 was created first in this history and its deals are larger; the published profit decides.
    b.deal(e, 900_000, 90_000, date(2026, 4, 1))
    b.valued(e, gross_profit=20_000, pyramid_tier="iron")
    b.deal(a, 100_000, 100, date(2026, 4, 2))
    b.valued(a, gross_profit=30_000, pyramid_tier="platinum")  # grading's figure, not the deals analytics holds
    b.deal(d, 120_000, 20_000, date(2026, 4, 3))
    b.valued(d, gross_profit=20_000, pyramid_tier="gold")
    b.deal(c, 150_000, 20_000, date(2026, 4, 4))
    b.valued(c, gross_profit=20_000, pyramid_tier="gold")
    b.deal(b.customer(2), 500_000, 60_000, date(2026, 4, 5))  # not valued yet: not on the curve

    pareto = b.report("pareto")
    assert [r["customer_id"] for r in pareto["rows"]] == [a, c, d, e]
    assert [r["gross_profit"] for r in pareto["rows"]] == ["30000.00", "20000.00", "20000.00", "20000.00"]
    assert [r["revenue"] for r in pareto["rows"]] == ["100000.00", "150000.00", "120000.00", "900000.00"]
    assert pareto["customers"] == 4 and pareto["not_yet_valued"] == 1
    assert pareto["gross_profit"] == "90000.00" and pareto["top20_customers"] == 1
    assert pareto["top20_profit_share"] == 0.3333 and pareto["top20_revenue_share"] == 0.0787
    assert [r["cumulative_profit_share"] for r in pareto["rows"]] == [0.3333, 0.5556, 0.7778, 1.0]


def lifecycle_book() -> tuple[Book, dict[str, str]]:
    b = Book()
    who = {name: b.customer(n) for n, name in enumerate(("x", "y", "z", "w", "v"), 1)}
    # x: one purchase 30 days ago; grading first said exploration, then decline by volume (its judgement, §8).
    b.deal(who["x"], 200_000, 10_000, TODAY - timedelta(days=30))
    b.valued(who["x"], NOW - timedelta(days=20), lifecycle_stage="exploration", gross_profit=10_000)
    b.valued(who["x"], NOW - timedelta(days=2), lifecycle_stage="decline", in_decline=True,
             decline_signals=["volume_halved"], gross_profit=10_000, pyramid_tier="iron", purchases=1)
    # y: one purchase 100 days ago, published exploration (analytics' old volume rule said decline).
    b.deal(who["y"], 150_000, 12_000, TODAY - timedelta(days=100))
    b.valued(who["y"], lifecycle_stage="exploration", gross_profit=12_000, purchases=1)
    # z: four recent purchases, published formation (the old rule said stability at 4+ deals).
    for days in (60, 40, 20, 5):
        b.deal(who["z"], 100_000, 5_000, TODAY - timedelta(days=days))
    b.valued(who["z"], lifecycle_stage="formation", gross_profit=20_000, purchases=4)
    # w: two purchases, published stability but also in decline with both signals (shown as published).
    b.deal(who["w"], 100_000, 30_000, TODAY - timedelta(days=20))
    b.deal(who["w"], 100_000, 30_000, TODAY - timedelta(days=10))
    b.valued(who["w"], lifecycle_stage="stability", in_decline=True,
             decline_signals=["volume_halved", "overdue_purchase"], gross_profit=60_000, purchases=2)
    # v: a deal, no valuation yet.
    b.deal(who["v"], 100_000, 1_000, TODAY - timedelta(days=3))
    return b, who


def test_lifecycle_shows_the_published_stage_and_decline():
    b, who = lifecycle_book()
    lifecycle = b.report("lifecycle")
    counts = {r["stage"]: r["customers"] for r in lifecycle["rows"]}
    assert counts == {"exploration": 1, "formation": 1, "stability": 1, "decline": 1, "not_yet_valued": 1}
    assert lifecycle["not_yet_valued"] == 1 and lifecycle["customers"] == 5
    declining = lifecycle["in_decline"]
    assert [r["customer_id"] for r in declining] == [who["w"], who["x"]]  # the value ranking: w's profit first
    assert declining[1]["decline_signals"] == ["volume_halved"] and declining[1]["deals"] == 1
    assert declining[0]["lifecycle_stage"] == "stability"
    assert declining[0]["last_deal_on"] == str(TODAY - timedelta(days=10))


def test_time_passing_changes_no_value_report():
    """Analytics judges no stage or decline at `now`: only a new valuation from grading moves them."""
    b, _ = lifecycle_book()
    for name in ("pyramid", "pareto", "lifecycle"):
        assert b.report(name) == b.report(name, now=NOW + timedelta(days=400))


def test_unvalued_customers_and_unknown_tiers_are_shown_not_guessed():
    b = Book()
    plain, odd, quiet = b.customer(1), b.customer(2), b.customer(3)
    b.deal(plain, 180_000, 9_000, date(2026, 6, 1))
    b.deal(odd, 200_000, 8_000, date(2026, 6, 2))
    b.valued(odd, pyramid_tier="diamond", management_class="key", gross_profit=8_000)
    b.valued(quiet, pyramid_tier="iron", management_class="general", gross_profit=100)  # its deal not here yet
    pyramid = b.report("pyramid")
    assert [(r["tier"], r["customers"], r["revenue"]) for r in pyramid["rows"]] == [
        ("platinum", 0, "0.00"), ("gold", 0, "0.00"), ("iron", 1, "0.00"), ("lead", 0, "0.00"),
        ("diamond", 1, "200000.00"), ("not_yet_valued", 1, "180000.00")]
    assert pyramid["rows"][-1]["label"] == "尚未评价" and pyramid["rows"][-1]["lifetime_gross_profit"] is None
    assert (pyramid["customers"], pyramid["valued"], pyramid["not_yet_valued"]) == (3, 2, 1)
    classes = {r["management_class"]: r["customers"] for r in pyramid["management_classes"]}
    assert classes == {"key": 1, "suitable": 0, "general": 1, "one_off": 0, "not_yet_valued": 1}


def test_filters_choose_the_customers_money_is_the_period_s_tiers_are_published():
    b = Book()
    p, q = b.customer(1, consultant="c-001", channel="walk_in"), b.customer(2, consultant="c-002", channel="phone")
    b.deal(p, 100_000, 10_000, date(2026, 3, 10))
    b.deal(p, 200_000, 20_000, date(2026, 5, 10))
    b.valued(p, pyramid_tier="platinum", management_class="key", lifecycle_stage="stability",
             gross_profit=30_000, purchases=2)
    b.deal(q, 90_000, 4_000, date(2026, 3, 20))
    b.valued(q, pyramid_tier="gold", management_class="one_off", lifecycle_stage="decline", in_decline=True,
             decline_signals=["volume_halved"], gross_profit=4_000, purchases=1)

    spring = {"date_from": date(2026, 4, 1), "date_to": date(2026, 5, 31)}
    pyramid = rows_by(b.report("pyramid", **spring), "tier")
    assert pyramid["platinum"]["customers"] == 1 and pyramid["gold"]["customers"] == 0  # q bought in March only
    assert (pyramid["platinum"]["revenue"], pyramid["platinum"]["gross_profit"]) == ("200000.00", "20000.00")
    assert pyramid["platinum"]["lifetime_gross_profit"] == "30000.00"
    pareto = b.report("pareto", **spring)
    assert [(r["customer_id"], r["revenue"], r["gross_profit"]) for r in pareto["rows"]] == [
        (p, "300000.00", "30000.00")]  # the curve is the value ranking: lifetime figures
    assert b.report("lifecycle", **spring)["in_decline"] == []

    for filters in ({"consultant": "c-002"}, {"channel": "phone"}):
        pyramid = rows_by(b.report("pyramid", **filters), "tier")
        assert (pyramid["platinum"]["customers"], pyramid["gold"]["customers"]) == (0, 1)
        assert [r["customer_id"] for r in b.report("lifecycle", **filters)["in_decline"]] == [q]
        assert [r["customer_id"] for r in b.report("pareto", **filters)["rows"]] == [q]


def test_value_reports_as_csv():
    b, _ = lifecycle_book()
    for name, header in (("pyramid", "tier,label,customers,revenue,gross_profit,profit_share,lifetime_gross_profit"),
                         ("pareto", "rank,customer_id,consultant_id,pyramid_tier,management_class,deals,revenue"),
                         ("lifecycle", "stage,label,customers,share")):
        body = b.report(name)
        lines = to_csv(body).splitlines()
        assert lines[0].startswith(header) and len(lines) == len(body["rows"]) + 1


def test_analytics_keeps_no_value_rule():
    """No tier cut, stage or decline rule of its own is left in the analytics domain."""
    domain = Path(value.__file__).parent
    names = {node.name for path in domain.glob("*.py") for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.FunctionDef)}
    assert not names & {"tier_of", "tiers", "stage_of", "ranked"}
    assert (domain / "value.py").read_text().count("math.ceil(") == 1  # the Pareto's top 20%, nothing else


def test_pareto_shares_count_a_referred_deal_once():
    """The referrer ranks with its referral gains (grading's figure), but the shares add up to what
    the customers' own deals made: the referred deal's share is not counted twice."""
    b = Book()
    referrer, referred = b.customer(1), b.customer(2)
    b.deal(referrer, 100_000, 10_000, date(2026, 4, 1))
    b.valued(referrer, gross_profit=13_000, referral_gains=3_000, pyramid_tier="platinum")
    b.deal(referred, 200_000, 30_000, date(2026, 4, 2))
    b.valued(referred, gross_profit=30_000, pyramid_tier="gold")
    pareto = b.report("pareto")
    assert [r["customer_id"] for r in pareto["rows"]] == [referred, referrer]
    assert pareto["gross_profit"] == "40000.00"  # 30,000 + 10,000: the 3,000 gain is part of the 30,000
    assert [r["cumulative_profit_share"] for r in pareto["rows"]] == [0.75, 1.0]
