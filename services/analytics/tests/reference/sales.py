"""Sales reports (pure): funnel (漏斗), channels and campaign ROI, grades, loss reasons (战败原因)."""
from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from shared.business_time import business_day_of

from services.analytics.domain.vocabulary import FUNNEL_STAGES as STAGES, GRADES, LOSS_REASONS
from services.analytics.domain.filters import Filters, active, days_between, mean, money, ratio



def _cohort(states: list[dict], f: Filters) -> list[dict]:
    """Customers whose first contact falls in the period and who match the filters."""
    return [s for s in active(states) if f.in_period(s["first_contact_at"]) and f.customer_matches(s)]


def _close_days(s: dict) -> float | None:
    first = s["totals"]["first_deal_on"]
    if not first or not s["first_contact_at"]:
        return None
    first_day = business_day_of(s["first_contact_at"])
    return max(0.0, days_between(first_day + "T00:00:00+00:00", first + "T00:00:00+00:00"))


def _funnel_row(group: dict[str, Any], members: list[dict]) -> dict[str, Any]:
    t = [s["totals"] for s in members]
    counts = {"collected": len(members), "qualified": sum(x["ever_qualified"] for x in t),
              "hot": sum(x["ever_hot"] for x in t), "orders": sum(x["ever_order"] for x in t),
              "deals": sum(1 for x in t if x["deals"])}
    closes = [d for d in (_close_days(s) for s in members) if d is not None]
    return {**group, **counts, "conversion": ratio(counts["deals"], counts["collected"]),
            "avg_days_to_close": mean(closes)}


def funnel(states: list[dict], f: Filters) -> dict[str, Any]:
    """Collected -> qualified -> hot -> orders -> deals, by origin channel and campaign."""
    cohort = _cohort(states, f)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for s in cohort:
        o = s["origin"] or {}
        groups[(o.get("channel") or "", o.get("campaign") or "")].append(s)
    rows = [_funnel_row({"channel": ch, "campaign": cp or None}, groups[(ch, cp)]) for ch, cp in sorted(groups)]
    return {"stages": list(STAGES), "total": _funnel_row({"channel": None, "campaign": None}, cohort), "rows": rows}


def channels(states: list[dict], costs: list[dict], f: Filters) -> dict[str, Any]:
    """Per channel and campaign: prospects, deals, revenue, attributed gross profit, cost and ROI."""
    rows: dict[tuple, dict[str, Any]] = {}

    def row(ch: str | None, cp: str | None) -> dict[str, Any]:
        return rows.setdefault((ch or "", cp or ""), {"channel": ch, "campaign": cp, "prospects": 0, "deals": 0,
                                                      "revenue": Decimal(0), "gross_profit": Decimal(0),
                                                      "cost": Decimal(0)})
    for s in _cohort(states, f):
        row(s["origin"]["channel"], s["origin"]["campaign"])["prospects"] += 1
    for s in active(states):
        if not f.consultant_matches(s.get("consultant_id")):
            continue
        for d in s["deals"]:
            if not f.in_period(d["closed_on"]) or (f.channel and d["channel"] != f.channel) or \
                    (f.campaign and d["campaign"] != f.campaign):
                continue
            r = row(d["channel"], d["campaign"])
            r["deals"] += 1
            r["revenue"] += Decimal(d["amount"])
            r["gross_profit"] += Decimal(d["gross_profit"])
    for c in costs:
        if f.in_period(c["spent_on"]) and (not f.campaign or c["campaign"] == f.campaign) and \
                (not f.channel or c.get("channel") == f.channel):
            row(c.get("channel"), c["campaign"])["cost"] += Decimal(c["amount"])
    out = []
    for key in sorted(rows):
        r = rows[key]
        roi = ratio(r["gross_profit"] - r["cost"], r["cost"])
        out.append({**r, "revenue": money(r["revenue"]), "gross_profit": money(r["gross_profit"]),
                    "cost": money(r["cost"]), "roi": roi, "conversion": ratio(r["deals"], r["prospects"])})
    return {"rows": out}


def grades(states: list[dict], f: Filters) -> dict[str, Any]:
    """Current grade distribution of open prospects and the grade movements in the period."""
    members = [s for s in active(states) if f.customer_matches(s)]
    dist = Counter(s["grade"] for s in members if s["grade"] and not s["lost"] and not s["deals"])
    moves: Counter = Counter()
    for s in members:
        for h in s["grade_history"]:
            if h["grade"] and h["previous_grade"] and h["previous_grade"] != h["grade"] and f.in_period(h["at"]):
                moves[(h["previous_grade"], h["grade"])] += 1
    up = sum(n for (a, b), n in moves.items() if GRADES.index(b) < GRADES.index(a))
    rows = [{"grade": g, "prospects": dist.get(g, 0), "share": ratio(dist.get(g, 0), sum(dist.values()))}
            for g in GRADES]
    movements = [{"from": a, "to": b, "count": moves[(a, b)],
                  "direction": "up" if GRADES.index(b) < GRADES.index(a) else "down"} for a, b in sorted(moves)]
    return {"rows": rows, "movements": movements, "upgrades": up, "downgrades": sum(moves.values()) - up}


def lost_reasons(states: list[dict], f: Filters) -> dict[str, Any]:
    """Losses in the period by reason (and by consultant)."""
    counts: Counter = Counter()
    by_consultant: Counter = Counter()
    for s in active(states):
        if not f.origin_matches(s):
            continue
        for loss in s["losses"]:
            if f.in_period(loss["at"]) and f.consultant_matches(loss["consultant_id"]):
                counts[loss["reason"]] += 1
                by_consultant[(loss["consultant_id"] or "unassigned", loss["reason"])] += 1
    total = sum(counts.values())
    reasons = list(LOSS_REASONS) + sorted(set(counts) - set(LOSS_REASONS))
    rows = [{"reason": r, "losses": counts.get(r, 0), "share": ratio(counts.get(r, 0), total)} for r in reasons]
    per = [{"consultant_id": c, "reason": r, "losses": n} for (c, r), n in sorted(by_consultant.items())]
    return {"rows": rows, "total": total, "by_consultant": per}
