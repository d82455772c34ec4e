"""Report figures checked against values computed here, independently, from the generated events; customer
value (tier, class, stage, decline, ranking profit) is read from the `customer-valued` events grading published."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from services.analytics.domain.filters import Filters
from services.analytics.domain.reports import to_csv
from services.analytics.tests.reference.reports import run
from services.analytics.domain.state import fold_all
from services.analytics.tests.history import History
from shared.value_ranking import ranking_key

NOW = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def history() -> History:
    return History(seed=11, customers=80)


@pytest.fixture(scope="module")
def states(history):
    return fold_all(history.events)


def of_type(history, kind):
    return [e for e in history.events if e.event_type == kind]


def owner(history, e) -> str:
    """The customer an event counts for, after the merge."""
    return history.survivor if str(e.customer_id) == history.merged else str(e.customer_id)


def r4(x: Decimal) -> float:
    return float(x.quantize(Decimal("0.0001"), ROUND_HALF_UP))


def report(states, name, costs=(), **kw):
    return run(name, states, list(costs), Filters(now=NOW, **kw))


def test_daily_counts_match_the_events(history, states):
    daily = report(states, "daily")
    walk_ins = Counter((e.occurred_at.date().isoformat(), e.payload["consultant_id"])
                       for e in of_type(history, "contact-received") if e.payload["channel"] == "walk_in")
    got = {(r["date"], r["consultant_id"]): r["walk_ins"] for r in daily["rows"] if r["walk_ins"]}
    assert got == dict(walk_ins)
    t = daily["totals"]
    assert t["calls"] == sum(e.payload["channel"] == "phone" for e in of_type(history, "contact-received"))
    assert t["deliveries"] == len(of_type(history, "deal-closed"))
    assert t["losses"] == len(of_type(history, "prospect-lost"))
    assert t["followups_done"] == len(of_type(history, "followup-logged"))
    assert t["followups_due"] == len({e.payload["task_id"] for e in of_type(history, "task-scheduled")})
    firsts = {}
    for e in sorted(of_type(history, "prospect-graded"), key=lambda e: e.occurred_at, reverse=True):
        firsts[owner(history, e)] = e.payload["grade"]
    for grade in "OHABC":
        assert t[f"new_prospects_{grade}"] == sum(g == grade for g in firsts.values())


def test_overdue_follow_ups_match_the_events(history, states):
    due = {e.payload["task_id"]: e.payload["due_at"] for e in of_type(history, "task-scheduled")}
    done = {e.payload["task_id"]: e.payload["completed_at"] for e in of_type(history, "followup-logged")}
    closed = {e.payload["task_id"] for e in of_type(history, "task-closed")}
    ref = NOW.isoformat()
    def parse(s):
        return datetime.fromisoformat(s)
    late = [t for t in due if t in closed or (t in done and parse(done[t]) > parse(due[t]))
            or (t not in done and t not in closed and parse(due[t]) < NOW)]
    assert report(states, "daily")["totals"]["followups_overdue"] == len(late)
    open_late = Counter(e.payload["owner_id"] for e in of_type(history, "task-scheduled")
                        if e.payload["task_id"] not in done and e.payload["task_id"] not in closed
                        and parse(e.payload["due_at"]).isoformat() < ref)
    got = {r["consultant_id"]: r["overdue_open"] for r in report(states, "workload")["rows"] if r["overdue_open"]}
    assert got == dict(open_late)


def profits(history):
    gp, rev = defaultdict(Decimal), defaultdict(Decimal)
    for e in of_type(history, "deal-closed"):
        gp[owner(history, e)] += Decimal(e.payload["gross_profit"])
        rev[owner(history, e)] += Decimal(e.payload["amount"])
    return gp, rev


def published(history) -> dict[str, dict]:
    """Each customer's latest `customer-valued` payload, as grading published it (after the merge)."""
    latest: dict[str, tuple] = {}
    for e in of_type(history, "customer-valued"):
        c = owner(history, e)
        if c not in latest or (e.occurred_at, str(e.event_id)) > latest[c][0]:
            latest[c] = ((e.occurred_at, str(e.event_id)), e.payload)
    return {c: p for c, (_, p) in latest.items()}


def test_pyramid_counts_the_published_tiers(history, states):
    pub, (gp, rev) = published(history), profits(history)
    customers = set(gp) | set(pub)
    tier = {c: pub.get(c, {}).get("pyramid_tier") or "not_yet_valued" for c in customers}
    assert "not_yet_valued" in tier.values()  # the history leaves some customers with deals unvalued
    pyramid = report(states, "pyramid")
    rows = {r["tier"]: r for r in pyramid["rows"]}
    assert {t: r["customers"] for t, r in rows.items() if r["customers"]} == dict(Counter(tier.values()))
    assert [r["tier"] for r in pyramid["rows"]] == ["platinum", "gold", "iron", "lead", "not_yet_valued"]
    for t, row in rows.items():
        mine = [c for c in customers if tier[c] == t]
        assert Decimal(row["revenue"]) == sum((rev[c] for c in mine), Decimal(0))
        assert Decimal(row["gross_profit"]) == sum((gp[c] for c in mine), Decimal(0))
    assert rows["not_yet_valued"]["lifetime_gross_profit"] is None
    assert Decimal(rows["gold"]["lifetime_gross_profit"]) == sum(
        (Decimal(pub[c]["gross_profit"]) for c in customers if tier[c] == "gold"), Decimal(0))
    assert pyramid["not_yet_valued"] == rows["not_yet_valued"]["customers"]
    classes = {r["management_class"]: r["customers"] for r in pyramid["management_classes"] if r["customers"]}
    assert classes == dict(Counter(pub.get(c, {}).get("management_class") or "not_yet_valued" for c in customers))


def test_pareto_lists_the_published_profit_in_the_one_ranking(history, states):
    pub, (gp, rev) = published(history), profits(history)
    profit = {c: Decimal(p["gross_profit"]) for c, p in pub.items()}
    order = sorted(profit, key=lambda c: ranking_key(profit[c], c))
    n, top = len(order), order[:math.ceil(len(order) * 0.2)]
    pareto = report(states, "pareto")
    assert pareto["customers"] == n and pareto["not_yet_valued"] == len(set(gp) - set(pub))
    assert [r["customer_id"] for r in pareto["rows"]] == order
    assert [Decimal(r["gross_profit"]) for r in pareto["rows"]] == [profit[c] for c in order]
    assert [r["pyramid_tier"] for r in pareto["rows"]] == [pub[c]["pyramid_tier"] for c in order]
    assert pareto["top20_profit_share"] == r4(sum(profit[c] for c in top) / sum(profit.values()))
    assert pareto["top20_revenue_share"] == r4(sum(rev[c] for c in top) / sum(rev[c] for c in order))
    assert pareto["rows"][-1]["cumulative_profit_share"] == 1.0


def test_lifecycle_shows_the_published_stages_and_decline(history, states):
    pub, (gp, _) = published(history), profits(history)
    customers = set(gp) | set(pub)
    stages = Counter(pub.get(c, {}).get("lifecycle_stage") or "not_yet_valued" for c in customers)
    lifecycle = report(states, "lifecycle")
    assert {r["stage"]: r["customers"] for r in lifecycle["rows"] if r["customers"]} == dict(stages)
    declining = sorted((c for c in customers if pub.get(c, {}).get("in_decline")),
                       key=lambda c: ranking_key(pub[c]["gross_profit"], c))
    assert declining and [r["customer_id"] for r in lifecycle["in_decline"]] == declining
    assert [r["decline_signals"] for r in lifecycle["in_decline"]] == [pub[c]["decline_signals"] for c in declining]
    single = [c for c in declining if pub[c]["purchases"] == 1]
    assert single  # single-purchase customers in decline by volume are shown as grading says


def test_value_reports_count_the_period_s_buyers_at_their_published_tier(history, states):
    lo, hi = date(2026, 4, 1), date(2026, 5, 31)
    pub = published(history)
    bought = defaultdict(list)
    for e in of_type(history, "deal-closed"):
        if lo.isoformat() <= e.payload["closed_on"] <= hi.isoformat():
            bought[owner(history, e)].append(e)
    pyramid = report(states, "pyramid", date_from=lo, date_to=hi)
    tiers = Counter(pub.get(c, {}).get("pyramid_tier") or "not_yet_valued" for c in bought)
    assert {r["tier"]: r["customers"] for r in pyramid["rows"] if r["customers"]} == dict(tiers)
    assert sum(Decimal(r["revenue"]) for r in pyramid["rows"]) == sum(
        Decimal(e.payload["amount"]) for es in bought.values() for e in es)
    pareto = report(states, "pareto", date_from=lo, date_to=hi)
    assert {r["customer_id"] for r in pareto["rows"]} == {c for c in bought if c in pub}
    lifecycle = report(states, "lifecycle", date_from=lo, date_to=hi, consultant="c-002")
    owners = {str(e.customer_id): e.payload["consultant_id"] for e in of_type(history, "contact-received")}
    mine = [c for c in bought if owners[c] == "c-002"]
    assert lifecycle["customers"] == len(mine)


def test_funnel_losses_and_complaints_match_the_events(history, states):
    customers = {str(e.customer_id) for e in history.events} - {history.merged}
    with_deals = {owner(history, e) for e in of_type(history, "deal-closed")}
    funnel = report(states, "funnel")
    assert funnel["total"]["collected"] == len(customers)
    assert funnel["total"]["deals"] == len(with_deals)
    assert sum(r["collected"] for r in funnel["rows"]) == len(customers)
    losses = Counter(e.payload["reason"] for e in of_type(history, "prospect-lost"))
    got = {r["reason"]: r["losses"] for r in report(states, "lost-reasons")["rows"] if r["losses"]}
    assert got == dict(losses)
    filed = Counter((e.payload["category"], e.payload["severity"]) for e in of_type(history, "complaint-filed"))
    complaints = report(states, "complaints")
    assert {(r["category"], r["severity"]): r["complaints"] for r in complaints["rows"]} == dict(filed)
    sats = [e.payload["satisfaction"] for e in of_type(history, "complaint-updated") if e.payload.get("satisfaction")]
    assert complaints["total"]["avg_satisfaction"] == float(
        (Decimal(sum(sats)) / len(sats)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def test_period_and_consultant_filters(history, states):
    lo, hi = date(2026, 4, 1), date(2026, 4, 30)
    deals = [e for e in of_type(history, "deal-closed") if lo.isoformat() <= e.payload["closed_on"] <= hi.isoformat()]
    daily = report(states, "daily", date_from=lo, date_to=hi)
    assert daily["totals"]["deliveries"] == len(deals)
    assert all(lo.isoformat() <= r["date"] <= hi.isoformat() for r in daily["rows"])
    mine = report(states, "daily", date_from=lo, date_to=hi, consultant="c-002")
    assert mine["totals"]["deliveries"] == sum(e.payload["consultant_id"] == "c-002" for e in deals)
    assert {r["consultant_id"] for r in mine["rows"]} <= {"c-002"}


def test_campaign_roi_against_recorded_costs(history, states):
    gp = sum((Decimal(e.payload["gross_profit"]) for e in of_type(history, "deal-closed")
              if e.payload.get("campaign") == "autoshow-2026"), Decimal(0))
    costs = [{"campaign": "autoshow-2026", "amount": "30000.00", "spent_on": "2026-03-01", "channel": "exhibition"},
             {"campaign": "autoshow-2026", "amount": "20000.00", "spent_on": "2026-03-10", "channel": "exhibition"}]
    rows = report(states, "channels", costs, campaign="autoshow-2026")["rows"]
    row = next(r for r in rows if r["campaign"] == "autoshow-2026")
    assert Decimal(row["cost"]) == 50000
    assert Decimal(row["gross_profit"]) == gp
    assert row["roi"] == r4((gp - 50000) / Decimal(50000))


def test_grade_distribution_counts_open_prospects(history, states):
    last: dict[str, tuple] = {}
    for e in of_type(history, "prospect-graded"):
        c = owner(history, e)
        if c not in last or (e.occurred_at, str(e.event_id)) > last[c][0]:
            last[c] = ((e.occurred_at, str(e.event_id)), e.payload["grade"])
    closed = {owner(history, e) for e in of_type(history, "deal-closed") + of_type(history, "prospect-lost")}
    expected = Counter(g for c, (_, g) in last.items() if c not in closed)
    got = {r["grade"]: r["prospects"] for r in report(states, "grades")["rows"] if r["prospects"]}
    assert got == dict(expected)


def test_csv_has_a_header_and_one_line_per_row(states):
    body = report(states, "workload")
    lines = to_csv(body).splitlines()
    assert lines[0].startswith("consultant_id,customers,open_tasks")
    assert len(lines) == len(body["rows"]) + 1
