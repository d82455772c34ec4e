"""Complaints report (抱怨投诉): volume by category and severity, deadlines, time to resolve, satisfaction."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from services.analytics.domain.vocabulary import UNCATEGORISED
from services.analytics.domain.filters import Filters, active, hours_between, mean, ratio

SEVERITIES = ("high", "medium", "low")


def on_time(done_at: str | None, due_at: str | None, reference: str) -> bool | None:
    """True/False when the deadline is known and decided; None when there is no deadline or it is still running."""
    if not due_at:
        return None
    if done_at:
        return done_at <= due_at
    return False if due_at < reference else None


def complaints(states: list[dict], f: Filters) -> dict[str, Any]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    per_customer: dict[str, int] = defaultdict(int)
    ref = f.reference
    for s in active(states):
        if not f.customer_matches(s):
            continue
        for c in s["complaints"].values():
            if f.in_period(c["filed_at"]):
                groups[(c["category"] or UNCATEGORISED, c["severity"] or "unknown")].append(c)
                per_customer[s["customer_id"]] += 1
    rows = [_row(cat, sev, groups[(cat, sev)], ref) for cat, sev in sorted(groups)]
    everything = [c for cs in groups.values() for c in cs]
    repeat = sorted(cid for cid, n in per_customer.items() if n > 1)
    return {"rows": rows, "total": _row(None, None, everything, ref),
            "repeat_customers": len(repeat), "repeat_customer_ids": repeat}


def _row(category: str | None, severity: str | None, cases: list[dict], ref: str) -> dict[str, Any]:
    acks = [on_time(c["acknowledged_at"], c["acknowledge_due_at"], ref) for c in cases]
    fixes = [on_time(c["resolved_at"], c["resolve_due_at"], ref) for c in cases]
    acks, fixes = [a for a in acks if a is not None], [x for x in fixes if x is not None]
    hours = [h for h in (hours_between(c["filed_at"], c["resolved_at"]) for c in cases) if h is not None]
    sats = [float(c["satisfaction"]) for c in cases if c["satisfaction"] is not None]
    return {"category": category, "severity": severity, "complaints": len(cases),
            "acknowledged": sum(1 for c in cases if c["acknowledged_at"]),
            "resolved": sum(1 for c in cases if c["resolved_at"]),
            "escalated": sum(1 for c in cases if c["breached"]),
            "acknowledge_on_time_rate": ratio(sum(acks), len(acks)),
            "resolve_on_time_rate": ratio(sum(fixes), len(fixes)),
            "avg_hours_to_resolve": mean(hours), "avg_satisfaction": mean(sats)}
