"""Every report as SQL aggregates over the typed read model (services/analytics/tables.py).

The database counts, sums and ranks (GROUP BY, grouping sets, window functions); Python only
formats the few aggregated rows with the reports' own helpers (domain.filters: money, ratio,
mean; domain.vocabulary: the order and labels of every vocabulary). The answers are those of the
reference definitions (tests/reference: activity, complaints, sales, value) on the same
customers — the integration tests compare them figure for figure. Days are business days (stored by domain.facts from
shared.business_time); the value ranking is shared.value_ranking.SQL_ORDER.

Long row lists (the daily rows, the Pareto ranking, the customers in decline) come a page at a
time (services/analytics/paging.py).
"""
from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg

from shared.value_ranking import SQL_ORDER

from .domain.filters import UNASSIGNED, Filters, mean, money, ratio
from .domain.reports import TITLES
from .domain.vocabulary import (CLASS_LABELS, CLASSES, DAILY_COLUMNS, GRADES, LOSS_REASONS, NOT_YET_VALUED,
                                PARETO_TOP_SHARE, STAGE_LABELS, TIER_LABELS, TIERS, UNCATEGORISED, label, ordered)
from .domain.vocabulary import FUNNEL_STAGES as STAGES
from .domain.vocabulary import LIFECYCLE_STAGES as LIFE
from .paging import Page
from . import day_counts
from .projection import COST_EVENT

T = TypeVar("T")
CURVE_POINTS = 100  # the Pareto curve, whole, at the customer who crosses each percent of the ranking
# Per sort or hash of a report statement (PostgreSQL's default, 4 MB, spilled the daily report's
# 15,000 (day, consultant) groups to disk); a report holds at most a few at once.
WORK_MEM = "32MB"
PAGED = {"daily": "rows", "pareto": "rows", "lifecycle": "in_decline"}  # report -> its paged list


async def off_loop(build: Callable[[], T]) -> T:
    """Build a long row list in a worker thread: formatting a few hundred rows (Decimal rounding) on the
    event loop held up every other request, /health included, while reports ran in parallel."""
    return await asyncio.to_thread(build)


class Query:
    """SQL text with numbered parameters, and the filters as SQL conditions."""

    def __init__(self, f: Filters) -> None:
        self.f, self.args = f, []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    @property
    def ref(self) -> str:
        return self.arg(datetime.fromisoformat(self.f.reference)) + "::timestamptz"

    def period(self, day: str) -> str:
        """Filters.in_period on a stored business day (no day: never in the period)."""
        out = [f"{day} is not null"]
        if self.f.date_from:
            out.append(f"{day} >= {self.arg(self.f.date_from)}::date")
        if self.f.date_to:
            out.append(f"{day} <= {self.arg(self.f.date_to)}::date")
        return " and ".join(out)

    def origin(self, a: str = "a") -> str:
        """Filters.origin_matches."""
        out = ["true"]
        if self.f.channel:
            out.append(f"{a}.origin_channel = {self.arg(self.f.channel)}")
        if self.f.campaign:
            out.append(f"{a}.origin_campaign = {self.arg(self.f.campaign)}")
        return " and ".join(out)

    def consultant(self, who: str) -> str:
        """Filters.consultant_matches."""
        out = ["true"]
        if self.f.consultant is not None:
            out.append(f"{who} = {self.arg(self.f.consultant)}")
        if self.f.team is not None:
            out.append(f"{who} = any({self.arg(sorted(self.f.team))}::text[])")
        return " and ".join(out)

    def customer(self, a: str = "a") -> str:
        """Filters.customer_matches."""
        return f"{self.origin(a)} and {self.consultant(f'{a}.consultant_id')}"


# Customers not merged into another one (the survivor carries their history): domain.filters.active.
ACTIVE = """(select * from customer_facts f where f.event_count > 0
              and not exists (select 1 from fact_merges m where m.merged_id = f.customer_id))"""
OWNER = f"coalesce(nullif(a.consultant_id, ''), '{UNASSIGNED}')"


async def run(conn: asyncpg.Connection, name: str, f: Filters, page: Page) -> tuple[dict[str, Any], dict | None]:
    """The report as the pure catalogue shapes it (report, title, filters, body) and, for a report
    with a paged list, that list's paging (`next_cursor`, `has_more`)."""
    async with conn.transaction(readonly=True):
        await conn.execute(f"set local work_mem = '{WORK_MEM}'")
        body, paging = await REPORTS[name](conn, f, page)
    return {"report": name, "title": TITLES[name], "filters": f.as_dict(), **body}, paging


async def funnel(conn, f: Filters, page: Page):
    q = Query(f)
    rows = await conn.fetch(f"""
        select coalesce(a.origin_channel, '') as ch, coalesce(a.origin_campaign, '') as cp,
               grouping(coalesce(a.origin_channel, ''), coalesce(a.origin_campaign, '')) as everything,
               count(*) as collected, count(*) filter (where a.ever_qualified) as qualified,
               count(*) filter (where a.ever_hot) as hot, count(*) filter (where a.ever_order) as orders,
               count(*) filter (where a.deals > 0) as deals, sum(a.close_days) as close_sum,
               count(a.close_days) as close_n
        from {ACTIVE} a where {q.period('a.first_contact_day')} and {q.customer()}
        group by grouping sets ((1, 2), ())""", *q.args)

    def row(group: dict, r) -> dict:
        closes = r["close_n"]
        return {**group, **{k: r[k] for k in STAGES}, "conversion": ratio(r["deals"], r["collected"]),
                "avg_days_to_close": mean([float(r["close_sum"])] + [0.0] * (closes - 1)) if closes else None}

    total = next(r for r in rows if r["everything"])
    groups = sorted((r for r in rows if not r["everything"]), key=lambda r: (r["ch"], r["cp"]))
    return {"stages": list(STAGES), "total": row({"channel": None, "campaign": None}, total),
            "rows": [row({"channel": r["ch"], "campaign": r["cp"] or None}, r) for r in groups]}, None


async def channels(conn, f: Filters, page: Page):
    q = Query(f)
    prospects = await conn.fetch(f"""
        select a.origin_channel as ch, a.origin_campaign as cp, count(*) as n from {ACTIVE} a
        where {q.period('a.first_contact_day')} and {q.customer()} group by 1, 2""", *q.args)
    q = Query(f)
    deal_filters = [q.consultant("a.consultant_id"), q.period("d.closed_on")]
    if f.channel:
        deal_filters.append(f"d.channel = {q.arg(f.channel)}")
    if f.campaign:
        deal_filters.append(f"d.campaign = {q.arg(f.campaign)}")
    deals = await conn.fetch(f"""
        select d.channel as ch, d.campaign as cp, count(*) as n, sum(d.amount) as revenue,
               sum(d.gross_profit) as gross_profit
        from {ACTIVE} a join fact_deals d using (customer_id) where {" and ".join(deal_filters)}
        group by 1, 2""", *q.args)
    q = Query(f)
    cost = "(envelope->'payload')"
    cost_filters = [q.period(f"({cost}->>'spent_on')::date")]
    if f.campaign:
        cost_filters.append(f"{cost}->>'campaign' = {q.arg(f.campaign)}")
    if f.channel:
        cost_filters.append(f"{cost}->>'channel' = {q.arg(f.channel)}")
    costs = await conn.fetch(f"""
        select {cost}->>'channel' as ch, {cost}->>'campaign' as cp, sum(({cost}->>'amount')::numeric) as amount
        from event_log where event_type = {q.arg(COST_EVENT)} and {" and ".join(cost_filters)}
        group by 1, 2""", *q.args)
    rows: dict[tuple, dict[str, Any]] = {}

    def row(ch: str | None, cp: str | None) -> dict[str, Any]:
        return rows.setdefault((ch or "", cp or ""), {"channel": ch, "campaign": cp, "prospects": 0, "deals": 0,
                                                      "revenue": Decimal(0), "gross_profit": Decimal(0),
                                                      "cost": Decimal(0)})
    for r in prospects:
        row(r["ch"], r["cp"])["prospects"] += r["n"]
    for r in deals:
        x = row(r["ch"], r["cp"])
        x["deals"] += r["n"]
        x["revenue"] += r["revenue"]
        x["gross_profit"] += r["gross_profit"]
    for r in costs:
        row(r["ch"], r["cp"])["cost"] += r["amount"]
    out = []
    for key in sorted(rows):
        r = rows[key]
        out.append({**r, "revenue": money(r["revenue"]), "gross_profit": money(r["gross_profit"]),
                    "cost": money(r["cost"]), "roi": ratio(r["gross_profit"] - r["cost"], r["cost"]),
                    "conversion": ratio(r["deals"], r["prospects"])})
    return {"rows": out}, None


async def grades(conn, f: Filters, page: Page):
    q = Query(f)
    members = f"(select a.* from {ACTIVE} a where {q.customer()})"
    dist = dict(await conn.fetch(f"""
        select m.grade, count(*) from {members} m where coalesce(m.grade, '') <> '' and not m.lost and m.deals = 0
        group by 1""", *q.args))
    moved = await conn.fetch(f"""
        select g.previous_grade, g.grade, count(*) from {members} m join fact_grade_steps g using (customer_id)
        where coalesce(g.grade, '') <> '' and coalesce(g.previous_grade, '') <> '' and g.grade <> g.previous_grade
          and {q.period('g.day')}
        group by 1, 2""", *q.args)
    moves = {(a, b): n for a, b, n in moved}
    up = sum(n for (a, b), n in moves.items() if GRADES.index(b) < GRADES.index(a))
    rows = [{"grade": g, "prospects": dist.get(g, 0), "share": ratio(dist.get(g, 0), sum(dist.values()))}
            for g in GRADES]
    movements = [{"from": a, "to": b, "count": moves[(a, b)],
                  "direction": "up" if GRADES.index(b) < GRADES.index(a) else "down"} for a, b in sorted(moves)]
    return {"rows": rows, "movements": movements, "upgrades": up, "downgrades": sum(moves.values()) - up}, None


async def lost_reasons(conn, f: Filters, page: Page):
    q = Query(f)
    found = await conn.fetch(f"""
        select coalesce(nullif(l.consultant_id, ''), 'unassigned') as who, l.reason, count(*) as n
        from {ACTIVE} a join fact_losses l using (customer_id)
        where {q.origin()} and {q.period('l.day')} and {q.consultant('l.consultant_id')}
        group by 1, 2""", *q.args)
    counts: Counter = Counter()
    for r in found:
        counts[r["reason"]] += r["n"]
    total = sum(counts.values())
    reasons = list(LOSS_REASONS) + sorted(set(counts) - set(LOSS_REASONS))
    rows = [{"reason": r, "losses": counts.get(r, 0), "share": ratio(counts.get(r, 0), total)} for r in reasons]
    per = [{"consultant_id": r["who"], "reason": r["reason"], "losses": r["n"]}
           for r in sorted(found, key=lambda r: (r["who"], r["reason"]))]
    return {"rows": rows, "total": total, "by_consultant": per}, None


# the daily report's columns summed over its stored counts (quoted: the names keep their capitals)
SUMS = ", ".join(f'sum(x."{c}")::bigint as "{c}"' for c in DAILY_COLUMNS)

# ... and their totals over every row (a window: computed before the page is cut)
TOTALS = ", ".join(f'sum(per_day."{c}") over ()::bigint as "total_{c}"' for c in DAILY_COLUMNS)


async def daily(conn, f: Filters, page: Page):
    """The counts kept per (day, consultant) by the fold (services/analytics/day_counts.py; per origin
    too, for a channel or campaign filter), plus the open tasks past their due time at the reference instant
    (the stored overdue counts hold only the tasks whose lateness is decided)."""
    q = Query(f)
    origin, stored = ["true"], day_counts.TOTALS
    if f.channel or f.campaign:
        stored = day_counts.TABLE
    if f.channel:
        origin.append(f"x.origin_channel = {q.arg(f.channel)}")
    if f.campaign:
        origin.append(f"x.origin_campaign = {q.arg(f.campaign)}")
    per = f"{q.period('x.day')} and {q.consultant('x.who')}"
    zeros = ", ".join("1" if c == "followups_overdue" else "0" for c in DAILY_COLUMNS)
    found = await conn.fetch(f"""
        with x as (
            select x.day, x.who, {", ".join(f'x."{c}"' for c in DAILY_COLUMNS)}
              from {stored} x where {per} and {" and ".join(origin)}
            union all
            select x.day, x.who, {zeros} from (
                select t.due_day as day, t.owner_id as who from {ACTIVE} a join fact_tasks t using (customer_id)
                where t.late is null and t.due_at < {q.ref} and {q.origin()}) x
              where {per})
        , per_day as (select x.day, x.who, {SUMS} from x group by 1, 2)
        select per_day.*, count(*) over () as n, {TOTALS} from per_day
        order by per_day.day, per_day.who collate "C" offset {q.arg(page.offset)}::bigint limit {q.arg(page.limit)}::bigint""",
        *q.args)
    if found:  # the totals are over every row, whichever page this is
        n, totals = found[0]["n"], {c: found[0][f"total_{c}"] for c in DAILY_COLUMNS}
    else:
        n, totals = 0, dict.fromkeys(DAILY_COLUMNS, 0)
        if page.offset:
            whole, _ = await daily(conn, f, Page(page.scope))
            n, totals = len(whole["rows"]), whole["totals"]
    rows = await off_loop(lambda: [{"date": r["day"].isoformat(), "consultant_id": r["who"],
                                    **{c: r[c] for c in DAILY_COLUMNS}} for r in found])
    return {"columns": list(DAILY_COLUMNS), "rows": rows, "totals": totals}, page.info(n)


async def workload(conn, f: Filters, page: Page):
    q = Query(f)
    a = f"(select a.* from {ACTIVE} a where {q.origin()})"
    ref = q.ref
    due_now = f"t.status = 'open' and (t.scheduled_at is null or t.scheduled_at <= {ref})"
    found = await conn.fetch(f"""
        with a as {a}
        select {OWNER} as who, count(*) as customers, 0 as open_tasks, 0 as overdue_open, 0 as overdue_closed,
               0 as done, 0 as done_on_time, 0 as deals, 0 as gross_profit, 0 as open_complaints
          from a where not a.lost group by 1
        union all
        select t.owner_id, 0, count(*) filter (where {due_now}),
               count(*) filter (where {due_now} and t.due_at < {ref}),
               count(*) filter (where t.status = 'overdue' and {q.period('t.due_day')}),
               count(*) filter (where t.status = 'done' and {q.period('t.done_day')}),
               count(*) filter (where t.status = 'done' and {q.period('t.done_day')} and not t.late), 0, 0, 0
          from a join fact_tasks t using (customer_id) group by 1
        union all
        select d.consultant_id, 0, 0, 0, 0, 0, 0, count(*), sum(d.gross_profit), 0
          from a join fact_deals d using (customer_id) where {q.period('d.closed_on')} group by 1
        union all
        select c.owner_id, 0, 0, 0, 0, 0, 0, 0, 0, count(*)
          from a join fact_complaints c using (customer_id)
          where coalesce(c.status, '') not in ('resolved', 'surveyed') group by 1""", *q.args)
    keys = ("customers", "open_tasks", "overdue_open", "overdue_closed", "done", "done_on_time", "deals",
            "gross_profit", "open_complaints")
    rows: dict[str, dict[str, Any]] = {}
    for r in found:
        x = rows.setdefault(r["who"], {k: 0 for k in keys})
        for k in keys:
            x[k] += r[k]
    out = [{"consultant_id": who, **r, "gross_profit": money(r["gross_profit"]),
            "on_time_rate": ratio(r["done_on_time"], r["done"])}
           for who, r in sorted(rows.items()) if f.consultant_matches(who)]
    return {"rows": out, "overdue_total": sum(r["overdue_open"] for r in out)}, None


async def complaints(conn, f: Filters, page: Page):
    q = Query(f)
    ref = q.ref
    where = f"{q.customer()} and {q.period('c.filed_day')}"

    def decided(due: str, done: str, on_time: str) -> str:
        return f"(case when c.{due} is null then null when c.{done} then c.{on_time} when c.{due} < {ref} then false end)"

    ack = decided("acknowledge_due_at", "acknowledged", "acknowledged_on_time")
    fix = decided("resolve_due_at", "resolved", "resolved_on_time")
    found = await conn.fetch(f"""
        select coalesce(nullif(c.category, ''), '{UNCATEGORISED}') as cat, coalesce(nullif(c.severity, ''), 'unknown') as sev,
               grouping(coalesce(nullif(c.category, ''), '{UNCATEGORISED}'), coalesce(nullif(c.severity, ''), 'unknown'))
                 as everything,
               count(*) as n, count(*) filter (where c.acknowledged) as acknowledged,
               count(*) filter (where c.resolved) as resolved, count(*) filter (where c.escalated) as escalated,
               count(*) filter (where {ack}) as ack_on_time, count({ack}) as ack_decided,
               count(*) filter (where {fix}) as fix_on_time, count({fix}) as fix_decided,
               sum(c.hours_to_resolve) as hours, count(c.hours_to_resolve) as hours_n,
               sum(c.satisfaction) as sat, count(c.satisfaction) as sat_n
        from {ACTIVE} a join fact_complaints c using (customer_id) where {where}
        group by grouping sets ((1, 2), ())""", *q.args)
    q = Query(f)
    repeat = [str(r[0]) for r in await conn.fetch(f"""
        select a.customer_id from {ACTIVE} a join fact_complaints c using (customer_id)
        where {q.customer()} and {q.period('c.filed_day')} group by 1 having count(*) > 1 order by 1""", *q.args)]

    def row(category, severity, r) -> dict[str, Any]:
        return {"category": category, "severity": severity, "complaints": r["n"],
                "acknowledged": r["acknowledged"], "resolved": r["resolved"], "escalated": r["escalated"],
                "acknowledge_on_time_rate": ratio(r["ack_on_time"], r["ack_decided"]),
                "resolve_on_time_rate": ratio(r["fix_on_time"], r["fix_decided"]),
                "avg_hours_to_resolve": _mean(r["hours"], r["hours_n"]), "avg_satisfaction": _mean(r["sat"], r["sat_n"])}

    total = next(r for r in found if r["everything"])
    groups = sorted((r for r in found if not r["everything"]), key=lambda r: (r["cat"], r["sev"]))
    return {"rows": [row(r["cat"], r["sev"], r) for r in groups], "total": row(None, None, total),
            "repeat_customers": len(repeat), "repeat_customer_ids": repeat}, None


def _mean(total: float | None, n: int) -> float | None:
    """domain.filters.mean from a sum and a count."""
    return mean([total] + [0.0] * (n - 1)) if n else None


def _counted(q: Query) -> str:
    """tests/reference/value.counted: the customers the filters choose, with the money of their deals in the
    period (all their dated deals without a period: kept on the row by the fold, no aggregate needed)."""
    if not q.f.has_period:
        return f"""(select a.*, a.dated_deals as period_deals, a.dated_revenue as period_revenue,
                           a.dated_profit as period_profit
                    from {ACTIVE} a where {q.customer()} and (a.dated_deals > 0 or a.deals > 0 or a.valued))"""
    return f"""(select a.*, coalesce(pd.n, 0) as period_deals, coalesce(pd.revenue, 0) as period_revenue,
                       coalesce(pd.gross_profit, 0) as period_profit
                from {ACTIVE} a join (
                    select d.customer_id, count(*) as n, sum(d.amount) as revenue, sum(d.gross_profit) as gross_profit
                    from fact_deals d where {q.period("d.closed_on")} group by 1) pd using (customer_id)
                where {q.customer()})"""


async def _count(conn, f: Filters, where: str = "true") -> int:
    q = Query(f)
    return await conn.fetchval(f"select count(*) from {_counted(q)} c where {where}", *q.args)


async def _breakdown(conn, q: Query, counted: str, column: str, field: str, known, labels) -> list[dict]:
    found = await conn.fetch(f"""
        select coalesce({column}, '{NOT_YET_VALUED}') as key, count(*) as customers, sum(period_revenue) as revenue,
               sum(period_profit) as gross_profit, sum(ranking_profit) as lifetime
        from {counted} c group by 1""", *q.args)
    agg = {r["key"]: r for r in found}
    total = sum((r["gross_profit"] for r in found), Decimal(0))
    rows = []
    for key in ordered(set(agg), known):
        r = agg.get(key)
        gp = r["gross_profit"] if r else Decimal(0)
        rows.append({field: key, "label": label(key, labels), "customers": r["customers"] if r else 0,
                     "revenue": money(r["revenue"] if r else 0), "gross_profit": money(gp),
                     "profit_share": ratio(gp, total),
                     "lifetime_gross_profit": None if not r or r["lifetime"] is None else money(r["lifetime"])})
    return rows


async def pyramid(conn, f: Filters, page: Page):
    q = Query(f)
    counted = _counted(q)
    tiers = await _breakdown(conn, q, counted, "pyramid_tier", "pyramid_tier", TIERS, TIER_LABELS)
    classes = await _breakdown(conn, q, counted, "management_class", "management_class", CLASSES, CLASS_LABELS)
    members = sum(r["customers"] for r in tiers)
    not_valued = next((r["customers"] for r in tiers if r["pyramid_tier"] == NOT_YET_VALUED), 0)
    rows = [{"tier": r.pop("pyramid_tier"), **r} for r in tiers]
    return {"rows": rows, "management_classes": classes, "customers": members,
            "valued": members - not_valued, "not_yet_valued": not_valued}, None


async def pareto(conn, f: Filters, page: Page):
    q = Query(f)
    counted = _counted(q)
    window = f"order by {SQL_ORDER} rows between unbounded preceding and current row"
    first = q.arg(page.offset)
    last = "null" if page.limit is None else q.arg(page.offset + page.limit)
    found = await conn.fetch(f"""
        with c as {counted},
        r as (select customer_id, consultant_id, pyramid_tier, management_class, deals, revenue,
                     ranking_profit as gross_profit, ranking_profit - referral_gains as own
              from c where ranking_profit is not null),
        ranked as (select r.*, row_number() over w as rank, sum(revenue) over w as cum_revenue,
                          sum(own) over w as cum_own, count(*) over () as n, sum(revenue) over () as total_revenue,
                          sum(own) over () as total_own
                   from r window w as ({window}))
        select ranked.*, (select count(*) from c) as members from ranked
        where (rank > {first}::bigint and ({last}::bigint is null or rank <= {last}::bigint))
           or rank = ceil(n * {q.arg(PARETO_TOP_SHARE)}::numeric)
           or floor(rank * {CURVE_POINTS}.0 / n) <> floor((rank - 1) * {CURVE_POINTS}.0 / n)
        order by rank""", *q.args)
    n = found[0]["n"] if found else 0
    members = found[0]["members"] if found else await _count(conn, f)
    total_rev = found[0]["total_revenue"] if found else Decimal(0)
    total_gp = found[0]["total_own"] if found else Decimal(0)
    top = math.ceil(n * PARETO_TOP_SHARE)
    at_top = next((r for r in found if r["rank"] == top), None)
    def listed() -> tuple[list, list]:
        rows = [{"rank": r["rank"], "customer_id": str(r["customer_id"]), "consultant_id": r["consultant_id"],
                 "pyramid_tier": r["pyramid_tier"], "management_class": r["management_class"], "deals": r["deals"],
                 "revenue": money(r["revenue"]), "gross_profit": money(r["gross_profit"]),
                 "customer_share": ratio(r["rank"], n), "cumulative_revenue_share": ratio(r["cum_revenue"], total_rev),
                 "cumulative_profit_share": ratio(r["cum_own"], total_gp)}
                for r in found if r["rank"] > page.offset and (page.limit is None or r["rank"] <= page.offset + page.limit)]
        curve = [{"customer_share": ratio(r["rank"], n), "cumulative_revenue_share": ratio(r["cum_revenue"], total_rev),
                  "cumulative_profit_share": ratio(r["cum_own"], total_gp)}
                 for r in found if r["rank"] * CURVE_POINTS // n != (r["rank"] - 1) * CURVE_POINTS // n]
        return rows, curve

    rows, curve = await off_loop(listed)
    return {"rows": rows, "curve": curve, "customers": n, "not_yet_valued": members - n,
            "revenue": money(total_rev), "gross_profit": money(total_gp), "top20_customers": top,
            "top20_revenue_share": ratio(at_top["cum_revenue"] if at_top else 0, total_rev),
            "top20_profit_share": ratio(at_top["cum_own"] if at_top else 0, total_gp)}, page.info(n)


async def lifecycle(conn, f: Filters, page: Page):
    q = Query(f)
    counted = _counted(q)
    counts = dict(await conn.fetch(f"""
        select coalesce(lifecycle_stage, '{NOT_YET_VALUED}'), count(*) from {counted} c group by 1""", *q.args))
    total = sum(counts.values())
    rows = [{"stage": st, "label": label(st, STAGE_LABELS), "customers": counts.get(st, 0),
             "share": ratio(counts.get(st, 0), total)} for st in ordered(set(counts), LIFE)]
    declining = await conn.fetch(f"""
        select customer_id, consultant_id, pyramid_tier, lifecycle_stage, decline_signals::text as signals,
               ranking_profit as gross_profit, deals, last_deal_on, valued_at, count(*) over () as n
        from {counted} c where in_decline
        order by (ranking_profit is null), {SQL_ORDER.replace("gross_profit", "ranking_profit")}
        offset {q.arg(page.offset)}::bigint limit {q.arg(page.limit)}::bigint""", *q.args)
    n = declining[0]["n"] if declining else (await _count(conn, f, "in_decline") if page.offset else 0)
    in_decline = await off_loop(lambda: [
        {"customer_id": str(r["customer_id"]), "consultant_id": r["consultant_id"],
         "pyramid_tier": r["pyramid_tier"], "lifecycle_stage": r["lifecycle_stage"],
         "decline_signals": json.loads(r["signals"]),
         "gross_profit": None if r["gross_profit"] is None else money(r["gross_profit"]),
         "deals": r["deals"], "last_deal_on": r["last_deal_on"].isoformat() if r["last_deal_on"] else None,
         "valued_at": r["valued_at"]} for r in declining])
    return {"rows": rows, "in_decline": in_decline, "customers": total,
            "not_yet_valued": counts.get(NOT_YET_VALUED, 0)}, page.info(n)


REPORTS = {"funnel": funnel, "daily": daily, "channels": channels, "grades": grades, "lost-reasons": lost_reasons,
           "pyramid": pyramid, "pareto": pareto, "lifecycle": lifecycle, "complaints": complaints,
           "workload": workload}
