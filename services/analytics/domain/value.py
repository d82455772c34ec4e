"""Customer value reports (pure): pyramid (顾客金字塔), Pareto (二八法则), lifecycle (客户生命周期).

Pyramid cut (*default*, after the seed's 5/15/80 split): customers with deals in
the period ranked by gross profit (ties by customer id); the first ceil(5%) are
platinum, up to ceil(20%) gold, the rest with profit > 0 iron, profit <= 0 lead.
Lifecycle: decline when the last 90 days' volume is below half the previous
90 days', or no purchase for twice the customer's usual interval; otherwise
exploration (1 deal), formation (2-3), stability (4 or more).
"""
from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from .filters import Filters, active, money, ratio

TIERS = ("platinum", "gold", "iron", "lead")
TIER_LABELS = {"platinum": "铂金", "gold": "黄金", "iron": "钢铁", "lead": "重铅"}
STAGES = ("exploration", "formation", "stability", "decline")
STAGE_LABELS = {"exploration": "考察期", "formation": "发展期", "stability": "稳定期", "decline": "衰退期"}


def _period_deals(s: dict, f: Filters) -> list[dict]:
    return [d for d in s["deals"] if f.in_period(d["closed_on"])]


def ranked(states: list[dict], f: Filters) -> list[dict[str, Any]]:
    """Customers with deals in the period, highest gross profit first."""
    out = []
    for s in active(states):
        if not f.customer_matches(s):
            continue
        deals = _period_deals(s, f)
        if deals:
            out.append({"customer_id": s["customer_id"], "consultant_id": s["consultant_id"], "deals": len(deals),
                        "revenue": sum((Decimal(d["amount"]) for d in deals), Decimal(0)),
                        "gross_profit": sum((Decimal(d["gross_profit"]) for d in deals), Decimal(0))})
    out.sort(key=lambda r: (-r["gross_profit"], r["customer_id"]))
    return out


def tier_of(rank: int, n: int, profit: Decimal) -> str:
    if profit <= 0:
        return "lead"
    if rank < math.ceil(n * 0.05):
        return "platinum"
    if rank < math.ceil(n * 0.20):
        return "gold"
    return "iron"


def tiers(states: list[dict], f: Filters) -> dict[str, str]:
    rows = ranked(states, f)
    return {r["customer_id"]: tier_of(i, len(rows), r["gross_profit"]) for i, r in enumerate(rows)}


def pyramid(states: list[dict], f: Filters) -> dict[str, Any]:
    rows = ranked(states, f)
    agg = {t: {"customers": 0, "revenue": Decimal(0), "gross_profit": Decimal(0)} for t in TIERS}
    for i, r in enumerate(rows):
        a = agg[tier_of(i, len(rows), r["gross_profit"])]
        a["customers"] += 1
        a["revenue"] += r["revenue"]
        a["gross_profit"] += r["gross_profit"]
    total = sum((a["gross_profit"] for a in agg.values()), Decimal(0))
    return {"rows": [{"tier": t, "label": TIER_LABELS[t], "customers": agg[t]["customers"],
                      "revenue": money(agg[t]["revenue"]), "gross_profit": money(agg[t]["gross_profit"]),
                      "profit_share": ratio(agg[t]["gross_profit"], total)} for t in TIERS],
            "customers": len(rows)}


def pareto(states: list[dict], f: Filters) -> dict[str, Any]:
    """The Pareto curve and the share of revenue and profit from the top 20% of customers."""
    rows = ranked(states, f)
    n = len(rows)
    total_rev = sum((r["revenue"] for r in rows), Decimal(0))
    total_gp = sum((r["gross_profit"] for r in rows), Decimal(0))
    top = rows[:math.ceil(n * 0.2)] if n else []
    out, cum_rev, cum_gp = [], Decimal(0), Decimal(0)
    for i, r in enumerate(rows, 1):
        cum_rev += r["revenue"]
        cum_gp += r["gross_profit"]
        out.append({"rank": i, "customer_id": r["customer_id"], "consultant_id": r["consultant_id"],
                    "deals": r["deals"], "revenue": money(r["revenue"]), "gross_profit": money(r["gross_profit"]),
                    "customer_share": ratio(i, n), "cumulative_revenue_share": ratio(cum_rev, total_rev),
                    "cumulative_profit_share": ratio(cum_gp, total_gp)})
    return {"rows": out, "customers": n, "revenue": money(total_rev), "gross_profit": money(total_gp),
            "top20_revenue_share": ratio(sum((r["revenue"] for r in top), Decimal(0)), total_rev),
            "top20_profit_share": ratio(sum((r["gross_profit"] for r in top), Decimal(0)), total_gp)}


def _volume(deals: list[dict], start: date, end: date) -> Decimal:
    return sum((Decimal(d["amount"]) for d in deals if start < date.fromisoformat(d["closed_on"]) <= end),
               Decimal(0))


def stage_of(deals: list[dict], today: date) -> tuple[str, bool]:
    """(stage, in decline) from the customer's deals up to `today`."""
    days = sorted(date.fromisoformat(d["closed_on"]) for d in deals)
    recent = _volume(deals, today - timedelta(days=90), today)
    previous = _volume(deals, today - timedelta(days=180), today - timedelta(days=90))
    declining = previous > 0 and recent < previous / 2
    if len(days) >= 2:
        usual = (days[-1] - days[0]).days / (len(days) - 1)
        declining = declining or (usual > 0 and (today - days[-1]).days > 2 * usual)
    if declining:
        return "decline", True
    return ("exploration" if len(days) == 1 else "formation" if len(days) <= 3 else "stability"), False


def lifecycle(states: list[dict], f: Filters) -> dict[str, Any]:
    """Stage distribution of customers with deals (as of the reference day) and those in decline."""
    today = date.fromisoformat(f.reference[:10])
    counts: Counter = Counter()
    declining = []
    for s in active(states):
        if not f.customer_matches(s):
            continue
        deals = [d for d in s["deals"] if d["closed_on"] and d["closed_on"] <= today.isoformat()]
        if not deals:
            continue
        stage, decline = stage_of(deals, today)
        counts[stage] += 1
        if decline:
            declining.append({"customer_id": s["customer_id"], "consultant_id": s["consultant_id"],
                              "deals": len(deals), "last_deal_on": max(d["closed_on"] for d in deals),
                              "graded_stage": s["value"].get("lifecycle_stage")})
    total = sum(counts.values())
    rows = [{"stage": st, "label": STAGE_LABELS[st], "customers": counts.get(st, 0),
             "share": ratio(counts.get(st, 0), total)} for st in STAGES]
    return {"rows": rows, "in_decline": sorted(declining, key=lambda r: (r["last_deal_on"], r["customer_id"]))}
