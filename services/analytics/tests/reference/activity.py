"""Daily business report (营业日报表) and consultant workload (pure)."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from shared.business_time import business_day_of

from services.analytics.domain.vocabulary import DAILY_COLUMNS
from services.analytics.domain.filters import UNASSIGNED, Filters, active, money, ratio



def task_overdue(task: dict[str, Any], reference: str) -> bool:
    """Not done by its due time: closed as overdue, still open past due, or done late."""
    if task["status"] == "cancelled" or not task["due_at"]:
        return False
    if task["status"] == "overdue":
        return True
    if task["status"] == "done":
        return bool(task["done_at"]) and task["done_at"] > task["due_at"]
    return task["due_at"] < reference


def daily(states: list[dict], f: Filters) -> dict[str, Any]:
    """One row per (day, consultant) with the showroom counts, follow-ups, orders, deliveries and losses."""
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(DAILY_COLUMNS, 0))

    def add(at: str | None, consultant: str | None, column: str) -> None:
        consultant = consultant or UNASSIGNED
        if f.in_period(at) and f.consultant_matches(consultant):
            rows[(business_day_of(at), consultant)][column] += 1

    for s in active(states):
        if not f.origin_matches(s):
            continue
        for c in s["contacts"]:
            if c["channel"] in ("walk_in", "phone"):
                column = "walk_ins" if c["channel"] == "walk_in" else "calls"
                add(c["at"], c["consultant_id"] or s["consultant_id"], column)
        if s["first_grade"]:
            add(s["first_grade"]["at"], s["first_grade"]["consultant_id"], f"new_prospects_{s['first_grade']['grade']}")
        for t in s["tasks"].values():
            add(t["due_at"], t["owner_id"], "followups_due")
            if t["status"] == "done":
                add(t["done_at"], (t["record"] or {}).get("consultant_id") or t["owner_id"], "followups_done")
            if task_overdue(t, f.reference):
                add(t["due_at"], t["owner_id"], "followups_overdue")
        for h in s["grade_history"]:
            if h["grade"] == "O" and h["previous_grade"] != "O":
                add(h["at"], h["consultant_id"], "orders")
        for d in s["deals"]:
            add(d["closed_on"], d["consultant_id"], "deliveries")
        for loss in s["losses"]:
            add(loss["at"], loss["consultant_id"], "losses")
    out = [{"date": day, "consultant_id": who, **rows[(day, who)]} for day, who in sorted(rows)]
    totals = {c: sum(r[c] for r in out) for c in DAILY_COLUMNS}
    return {"columns": list(DAILY_COLUMNS), "rows": out, "totals": totals}


def workload(states: list[dict], f: Filters) -> dict[str, Any]:
    """Per consultant: customers, open and overdue work, work done (on time) and deals in the period."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "customers": 0, "open_tasks": 0, "overdue_open": 0, "overdue_closed": 0, "done": 0, "done_on_time": 0,
        "deals": 0, "gross_profit": Decimal(0), "open_complaints": 0})
    ref = f.reference
    for s in active(states):
        if not f.origin_matches(s):
            continue
        if not s["lost"]:
            rows[s["consultant_id"] or UNASSIGNED]["customers"] += 1
        for t in s["tasks"].values():
            r = rows[t["owner_id"] or UNASSIGNED]
            if t["status"] == "open" and (t["scheduled_at"] or "") <= ref:
                r["open_tasks"] += 1
                r["overdue_open"] += int(bool(t["due_at"]) and t["due_at"] < ref)
            elif t["status"] == "overdue" and f.in_period(t["due_at"]):
                r["overdue_closed"] += 1
            elif t["status"] == "done" and f.in_period(t["done_at"]):
                r["done"] += 1
                r["done_on_time"] += int(not task_overdue(t, ref))
        for d in s["deals"]:
            if f.in_period(d["closed_on"]):
                rows[d["consultant_id"] or UNASSIGNED]["deals"] += 1
                rows[d["consultant_id"] or UNASSIGNED]["gross_profit"] += Decimal(d["gross_profit"])
        for c in s["complaints"].values():
            if c["status"] not in ("resolved", "surveyed"):
                rows[c["owner_id"] or UNASSIGNED]["open_complaints"] += 1
    out = [{"consultant_id": who, **r, "gross_profit": money(r["gross_profit"]),
            "on_time_rate": ratio(r["done_on_time"], r["done"])}
           for who, r in sorted(rows.items()) if f.consultant_matches(who)]
    return {"rows": out, "overdue_total": sum(r["overdue_open"] for r in out)}
