"""The daily report's counts, kept per (business day, consultant, customer origin) as customers are folded.

Counting the daily report from the items themselves meant grouping every contact, task, grade
step, deal and loss of every customer on each request (240,000 items at 25,000 customers: half a
second of database CPU). Instead, each refresh (projection.refresh) counts the items of the
customers it folds, before and after, and adds the difference to `day_counts`: about 74,000 rows
at that size, one per (day, consultant, origin channel, origin campaign) with one count per
column of the report, and to `day_totals`, the same over every origin (about 14,500 rows, one per
row of the report). The report reads `day_totals`, or sums `day_counts` when it is filtered by
channel or campaign (report_queries.daily).

What depends on the moment the report is read is not counted here: an open task past its due
time is overdue only from then on, so the report counts those from `fact_tasks` (few rows: the
open ones) and adds them to the stored overdue counts (tasks whose lateness is decided: done
late, closed as overdue).

The counts are those of the report's definition (tests/reference/activity.daily, as the SQL
report states it): a customer merged into another counts nothing of its own (the survivor
carries its history), an item without a day counts nowhere.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable

import asyncpg

from .domain.filters import UNASSIGNED
from .domain.vocabulary import DAILY_COLUMNS

TABLE = "day_counts"
KEY = ("day", "who", "origin_channel", "origin_campaign")  # no origin: '' (a filter value is never empty)
TOTALS = "day_totals"  # the same counts over every origin: what the report reads without an origin filter
TOTALS_KEY = KEY[:2]
TABLES = (TABLE, TOTALS)
QUOTED = [f'"{c}"' for c in DAILY_COLUMNS]  # the column names keep their capitals
# What `_items` reads of a customer (keep in step with it): a refresh that leaves these unchanged, and
# changes no merge, leaves the customer's counts as they are (row_changes.counts_change); of `event_count`
# only whether it is above zero counts
COUNTED_FACTS = ("consultant_id", "origin_channel", "origin_campaign", "first_grade", "first_grade_day")
COUNTED_TABLES = ("fact_contacts", "fact_tasks", "fact_grade_steps", "fact_deals", "fact_losses")


def ddl(s: str = "") -> list[str]:
    counts = ", ".join(f"{c} integer not null default 0" for c in QUOTED)
    return [f"""create table {TABLE}{s} (day date not null, who text not null, origin_channel text not null,
                origin_campaign text not null, {counts}, primary key ({", ".join(KEY)}))""",
            f"""create table {TOTALS}{s} (day date not null, who text not null, {counts},
                primary key ({", ".join(TOTALS_KEY)}))"""]


def _items(s: str, everyone: bool = False) -> str:
    """Every counted item of the customers in $1 (`everyone`: of all customers) that are not merged
    into another: (day, who, column) with the customer's origin. Each branch reaches its table by
    customer (primary keys)."""
    owner = f"coalesce(nullif(a.consultant_id, ''), '{UNASSIGNED}')"
    sql = f"""
        with a as materialized (
            select f.customer_id, f.first_grade, f.first_grade_day, f.consultant_id,
                   coalesce(f.origin_channel, '') as ch, coalesce(f.origin_campaign, '') as cp
            from customer_facts{s} f where f.customer_id = any($1::uuid[]) and f.event_count > 0
              and not exists (select 1 from fact_merges{s} m where m.merged_id = f.customer_id))
        select x.day, x.who, x.ch, x.cp, x.col, count(*)::int as n from (
            select c.day, c.consultant_id as who, a.ch, a.cp,
                   case c.channel when 'walk_in' then 'walk_ins' else 'calls' end as col
              from a join fact_contacts{s} c using (customer_id)
              where c.customer_id = any($1::uuid[]) and c.channel in ('walk_in', 'phone')
            union all select a.first_grade_day, {owner}, a.ch, a.cp, 'new_prospects_' || a.first_grade
              from a where a.first_grade is not null
            union all select t.due_day, t.owner_id, a.ch, a.cp, 'followups_due'
              from a join fact_tasks{s} t using (customer_id) where t.customer_id = any($1::uuid[])
            union all select t.done_day, t.done_by, a.ch, a.cp, 'followups_done'
              from a join fact_tasks{s} t using (customer_id) where t.customer_id = any($1::uuid[]) and t.status = 'done'
            union all select t.due_day, t.owner_id, a.ch, a.cp, 'followups_overdue'
              from a join fact_tasks{s} t using (customer_id) where t.customer_id = any($1::uuid[]) and t.late
            union all select g.day, {owner}, a.ch, a.cp, 'orders'
              from a join fact_grade_steps{s} g using (customer_id)
              where g.customer_id = any($1::uuid[]) and g.grade = 'O' and g.previous_grade is distinct from 'O'
            union all select d.closed_on, d.consultant_id, a.ch, a.cp, 'deliveries'
              from a join fact_deals{s} d using (customer_id) where d.customer_id = any($1::uuid[])
            union all select l.day, coalesce(nullif(l.consultant_id, ''), '{UNASSIGNED}'), a.ch, a.cp, 'losses'
              from a join fact_losses{s} l using (customer_id) where l.customer_id = any($1::uuid[])) x
        where x.day is not null group by 1, 2, 3, 4, 5"""
    return sql.replace(".customer_id = any($1::uuid[])", ".customer_id is not null") if everyone else sql


async def counted(conn: asyncpg.Connection, customers: Iterable[uuid.UUID], s: str = "") -> Counter:
    """(day, who, channel, campaign, column) -> items, for these customers as the read model holds them now."""
    rows = await conn.fetch(_items(s), list(customers))
    return Counter({(r["day"], r["who"], r["ch"], r["cp"], r["col"]): r["n"] for r in rows
                    if r["col"] in DAILY_COLUMNS})


async def count_all(conn: asyncpg.Connection, s: str) -> None:
    """Fill empty count tables from every customer's rows (a replay, once its customers are folded)."""
    columns = ", ".join(f"coalesce(sum(n) filter (where col = '{c}'), 0)" for c in DAILY_COLUMNS)
    await conn.execute(f"""insert into {TABLE}{s} ({", ".join(KEY)}, {", ".join(QUOTED)})
                           select day, who, ch, cp, {columns} from ({_items(s, everyone=True)}) i
                           where col = any($1::text[]) group by 1, 2, 3, 4""", list(DAILY_COLUMNS))
    await conn.execute(f"""insert into {TOTALS}{s} ({", ".join(TOTALS_KEY)}, {", ".join(QUOTED)})
                           select day, who, {", ".join(f"sum({c})" for c in QUOTED)} from {TABLE}{s} group by 1, 2""")


async def add_difference(conn: asyncpg.Connection, before: Counter, after: Counter, s: str = "") -> None:
    """Add after - before to the stored counts, by origin and over every origin."""
    by_origin: dict[tuple, list[int]] = {}
    overall: dict[tuple, list[int]] = {}
    for key in before.keys() | after.keys():
        n = after.get(key, 0) - before.get(key, 0)
        if n:
            column = DAILY_COLUMNS.index(key[4])
            by_origin.setdefault(key[:4], [0] * len(DAILY_COLUMNS))[column] += n
            overall.setdefault(key[:2], [0] * len(DAILY_COLUMNS))[column] += n
    await _add(conn, f"{TABLE}{s}", KEY, ("date", "text", "text", "text"), by_origin)
    await _add(conn, f"{TOTALS}{s}", TOTALS_KEY, ("date", "text"), overall)


async def _add(conn: asyncpg.Connection, table: str, key: tuple[str, ...], types: tuple[str, ...],
               delta: dict[tuple, list[int]]) -> None:
    """One upsert, keys in order so that two writers lock rows in the same order; then the rows left
    at zero are dropped (a row is a (day, consultant) the report shows)."""
    delta = {k: v for k, v in delta.items() if any(v)}
    if not delta:
        return
    keys = sorted(delta)
    columns = [list(col) for col in zip(*keys, strict=True)]
    counts = [list(col) for col in zip(*(delta[k] for k in keys), strict=True)]
    n = len(key)
    arrays = ", ".join(f"${i}::{tp}[]" for i, tp in enumerate(types, 1))
    await conn.execute(
        f"""insert into {table} ({", ".join(key)}, {", ".join(QUOTED)})
            select * from unnest({arrays}, {", ".join(f"${i}::int[]" for i in range(n + 1, n + 1 + len(QUOTED)))})
            order by {", ".join(str(i) for i in range(1, n + 1))}
            on conflict ({", ".join(key)}) do update set
            {", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in QUOTED)}""",
        *columns, *counts)
    await conn.execute(
        f"""delete from {table} d using unnest({arrays}) k({", ".join(key)})
            where ({", ".join(f"d.{c}" for c in key)}) = ({", ".join(f"k.{c}" for c in key)})
              and {" and ".join(f"d.{c} = 0" for c in QUOTED)}""",
        *columns)
