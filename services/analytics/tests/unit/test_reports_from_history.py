"""Report figures checked against values computed here, independently, from the generated events."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from services.analytics.domain.filters import Filters
from services.analytics.domain.reports import run, to_csv
from services.analytics.domain.state import fold_all
from services.analytics.tests.history import History

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


def test_pareto_and_pyramid_match_the_deals(history, states):
    gp, rev = profits(history)
    order = sorted(gp, key=lambda c: (-gp[c], c))
    n, top = len(order), order[:math.ceil(len(order) * 0.2)]
    pareto = report(states, "pareto")
    assert pareto["customers"] == n
    assert [r["customer_id"] for r in pareto["rows"]] == order
    assert pareto["top20_profit_share"] == r4(sum(gp[c] for c in top) / sum(gp.values()))
    assert pareto["top20_revenue_share"] == r4(sum(rev[c] for c in top) / sum(rev.values()))
    assert pareto["rows"][-1]["cumulative_profit_share"] == 1.0
    pyramid = {r["tier"]: r for r in report(states, "pyramid")["rows"]}
    lead = [c for c in order if gp[c] <= 0]
    assert pyramid["lead"]["customers"] == len(lead)
    assert pyramid["platinum"]["customers"] == len([c for c in order[:math.ceil(n * 0.05)] if gp[c] > 0])
    assert sum(r["customers"] for r in pyramid.values()) == n
    assert Decimal(pyramid["lead"]["gross_profit"]) == sum((gp[c] for c in lead), Decimal(0))


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
