"""Customer value reports (pure): pyramid (顾客金字塔), Pareto (二八法则), lifecycle (客户生命周期).

Grading owns customer value (architecture: one owner per concept) and publishes it in
`customer-valued`; the fold keeps each customer's latest one as `state["value"]`. These reports
show and aggregate what grading published and decide none of it: no tier cut, no management
class, no lifecycle or decline rule, no ranking of their own. The only order is the one value
ranking of `shared/value_ranking.py`, on the published `gross_profit`.

How the filters apply (docs/analytics.md says the same for users):

- consultant, channel, campaign and the period choose WHICH customers are counted: the
  customer's owner, origin channel and origin campaign, as in every report; with a period, only
  customers with a deal closed in it (without one, every customer with a deal or a published
  value);
- tier, management class, lifecycle stage, decline and the ranking profit are always grading's
  latest published values (its current, lifetime view): a period never re-tiers anyone;
- money: the pyramid's revenue and gross profit are the counted customers' deals in the period
  (all their deals without a period); the Pareto curve is the value ranking itself, so its
  figures are lifetime ones (published gross profit, revenue of all the customer's deals);
- a counted customer with no published value yet is shown as "not yet valued", never tiered or
  staged here.
"""
from __future__ import annotations

import math
from collections import Counter
from decimal import Decimal
from typing import Any

from shared.value_ranking import ranking_key

from services.analytics.domain.vocabulary import (CLASS_LABELS, CLASSES, NOT_YET_VALUED, PARETO_TOP_SHARE,
                                                   STAGE_LABELS, TIER_LABELS, TIERS, label, ordered)
from services.analytics.domain.vocabulary import LIFECYCLE_STAGES as STAGES
from services.analytics.domain.filters import Filters, active, money, ratio

# Grading's vocabularies, for display order and labels only (an unknown published value still
# gets its own row after these, labelled with its name).


def _period_deals(s: dict, f: Filters) -> list[dict]:
    return [d for d in s["deals"] if f.in_period(d["closed_on"])]


def _sum(deals: list[dict], field: str) -> Decimal:
    return sum((Decimal(d[field]) for d in deals), Decimal(0))


def _published(s: dict, field: str) -> Any:
    """One field of the customer's latest `customer-valued`, or None when grading has not sent it."""
    return (s.get("value") or {}).get(field)


def _published_profit(s: dict) -> Decimal | None:
    gp = _published(s, "gross_profit")
    return None if gp is None else Decimal(str(gp))


def _own_profit(s: dict, gp: Decimal) -> Decimal:
    """The profit of the customer's own deals: the ranking profit less the referral gains it credits
    (a referred deal's share is counted in its own customer's profit already; summed twice, shares
    would add up to more than the company made)."""
    return gp - Decimal(str(_published(s, "referral_gains") or 0))


def counted(states: list[dict], f: Filters) -> list[tuple[dict, list[dict]]]:
    """(state, the deals the money figures use) of every customer the filters choose.

    Owner / origin channel / origin campaign as everywhere; with a period, customers with a deal
    closed in it; without one, customers with a deal or a published value.
    """
    out = []
    for s in active(states):
        if not f.customer_matches(s):
            continue
        deals = _period_deals(s, f)
        if deals or (not f.has_period and (s["deals"] or s.get("value"))):
            out.append((s, deals))
    return out


def _breakdown(members: list[tuple[dict, list[dict]]], field: str, known: tuple[str, ...],
               labels: dict[str, str]) -> list[dict[str, Any]]:
    """Counted customers grouped by one published field: customers, money of their deals, lifetime profit."""
    agg: dict[str, dict[str, Any]] = {}
    for s, deals in members:
        key = _published(s, field) or NOT_YET_VALUED
        a = agg.setdefault(key, {"customers": 0, "revenue": Decimal(0), "gross_profit": Decimal(0),
                                 "lifetime": None})
        a["customers"] += 1
        a["revenue"] += _sum(deals, "amount")
        a["gross_profit"] += _sum(deals, "gross_profit")
        published = _published_profit(s)
        if published is not None:
            a["lifetime"] = (a["lifetime"] or Decimal(0)) + published
    total = sum((a["gross_profit"] for a in agg.values()), Decimal(0))
    empty = {"customers": 0, "revenue": Decimal(0), "gross_profit": Decimal(0), "lifetime": None}
    rows = []
    for key in ordered(set(agg), known):
        a = agg.get(key, empty)
        rows.append({field: key, "label": label(key, labels), "customers": a["customers"],
                     "revenue": money(a["revenue"]), "gross_profit": money(a["gross_profit"]),
                     "profit_share": ratio(a["gross_profit"], total),
                     "lifetime_gross_profit": None if a["lifetime"] is None else money(a["lifetime"])})
    return rows


def pyramid(states: list[dict], f: Filters) -> dict[str, Any]:
    """Counted customers by grading's published pyramid tier (and management class), with the
    revenue and gross profit of their deals in the period; unvalued ones in their own row."""
    members = counted(states, f)
    rows = [{"tier": r.pop("pyramid_tier"), **r}
            for r in _breakdown(members, "pyramid_tier", TIERS, TIER_LABELS)]
    classes = _breakdown(members, "management_class", CLASSES, CLASS_LABELS)
    not_valued = sum(1 for s, _ in members if not _published(s, "pyramid_tier"))
    return {"rows": rows, "management_classes": classes, "customers": len(members),
            "valued": len(members) - not_valued, "not_yet_valued": not_valued}


def pareto(states: list[dict], f: Filters) -> dict[str, Any]:
    """The Pareto curve in the one value ranking (grading's published gross profit, highest first,
    ties by customer id) and the revenue and profit shares of its first 20%; lifetime figures."""
    members = counted(states, f)
    ranked = sorted(((s, _published_profit(s)) for s, _ in members if _published_profit(s) is not None),
                    key=lambda r: ranking_key(r[1], r[0]["customer_id"]))
    n = len(ranked)
    revenue = [_sum(s["deals"], "amount") for s, _ in ranked]
    own = [_own_profit(s, gp) for s, gp in ranked]
    total_rev = sum(revenue, Decimal(0))
    total_gp = sum(own, Decimal(0))
    top = math.ceil(n * PARETO_TOP_SHARE)
    out, cum_rev, cum_gp = [], Decimal(0), Decimal(0)
    for i, ((s, gp), rev, mine) in enumerate(zip(ranked, revenue, own, strict=True), 1):
        cum_rev += rev
        cum_gp += mine
        out.append({"rank": i, "customer_id": s["customer_id"], "consultant_id": s["consultant_id"],
                    "pyramid_tier": _published(s, "pyramid_tier"),
                    "management_class": _published(s, "management_class"),
                    "deals": len(s["deals"]), "revenue": money(rev), "gross_profit": money(gp),
                    "customer_share": ratio(i, n), "cumulative_revenue_share": ratio(cum_rev, total_rev),
                    "cumulative_profit_share": ratio(cum_gp, total_gp)})
    return {"rows": out, "customers": n, "not_yet_valued": len(members) - n,
            "revenue": money(total_rev), "gross_profit": money(total_gp), "top20_customers": top,
            "top20_revenue_share": ratio(sum(revenue[:top], Decimal(0)), total_rev),
            "top20_profit_share": ratio(sum(own[:top], Decimal(0)), total_gp)}


def _ranking_or_last(s: dict) -> tuple[Decimal, str]:
    """The value ranking's key; a customer without a published profit after every ranked one."""
    gp = _published_profit(s)
    return ranking_key(gp, s["customer_id"]) if gp is not None else (Decimal("Infinity"), str(s["customer_id"]))


def lifecycle(states: list[dict], f: Filters) -> dict[str, Any]:
    """Counted customers by grading's published lifecycle stage, and those grading published as in
    decline (with its signals), most valuable first in the value ranking."""
    members = counted(states, f)
    counts = Counter(_published(s, "lifecycle_stage") or NOT_YET_VALUED for s, _ in members)
    total = sum(counts.values())
    rows = [{"stage": st, "label": label(st, STAGE_LABELS), "customers": counts.get(st, 0),
             "share": ratio(counts.get(st, 0), total)} for st in ordered(set(counts), STAGES)]
    declining = sorted((s for s, _ in members if _published(s, "in_decline")), key=_ranking_or_last)
    in_decline = [{"customer_id": s["customer_id"], "consultant_id": s["consultant_id"],
                   "pyramid_tier": _published(s, "pyramid_tier"), "lifecycle_stage": _published(s, "lifecycle_stage"),
                   "decline_signals": list(_published(s, "decline_signals") or []),
                   "gross_profit": None if _published_profit(s) is None else money(_published_profit(s)),
                   "deals": len(s["deals"]), "last_deal_on": s["totals"]["last_deal_on"],
                   "valued_at": _published(s, "at")} for s in declining]
    return {"rows": rows, "in_decline": in_decline, "customers": total,
            "not_yet_valued": counts.get(NOT_YET_VALUED, 0)}
