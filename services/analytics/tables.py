"""The typed read model's tables: one `customer_facts` row per customer and child tables for what
reports count item by item. Disposable: replay builds them again from the event log under a
suffix (`_rebuild`) and swaps them in (services/analytics/replay.py); migration analytics_0003
created the first ones with this same DDL, analytics_0004 moved the card into `fact_cards`,
analytics_0005 gave it the digests of the rows written."""
from __future__ import annotations

from . import day_counts

FACTS = "customer_facts"
CARDS = "fact_cards"  # each customer's card (the folded state without its long lists), apart from FACTS
FACT_COLUMNS = (
    "customer_id", "own_events", "event_count", "consultant_id", "origin_channel", "origin_campaign",
    "first_contact_at", "first_contact_day", "grade", "lost", "first_grade", "first_grade_day",
    "deals", "revenue", "gross_profit", "dated_deals", "dated_revenue", "dated_profit", "first_deal_on",
    "last_deal_on", "close_days",
    "ever_qualified", "ever_hot", "ever_order",
    "valued", "pyramid_tier", "management_class", "lifecycle_stage", "in_decline", "decline_signals",
    "ranking_profit", "referral_gains", "valued_at",
)
CHILD_COLUMNS = {
    # the card (the state without its long lists, ~1.5 KB of JSON) apart from the typed columns: every report
    # scans customer_facts, and with the card inline each scan read 44 MB instead of a few
    "fact_cards": ("customer_id", "card"),
    "fact_contacts": ("customer_id", "seq", "channel", "day", "consultant_id", "data"),
    "fact_tasks": ("customer_id", "seq", "status", "owner_id", "due_at", "due_day", "scheduled_at", "done_day",
                   "done_by", "late", "data"),
    "fact_deals": ("customer_id", "seq", "consultant_id", "amount", "gross_profit", "closed_on", "channel",
                   "campaign", "data"),
    "fact_losses": ("customer_id", "seq", "reason", "day", "consultant_id"),
    "fact_grade_steps": ("customer_id", "seq", "grade", "previous_grade", "day"),
    "fact_complaints": ("customer_id", "seq", "category", "severity", "filed_day", "status", "owner_id",
                        "acknowledged", "resolved", "escalated", "acknowledge_due_at", "acknowledged_on_time",
                        "resolve_due_at", "resolved_on_time", "hours_to_resolve", "satisfaction"),
    "fact_merges": ("customer_id", "merged_id"),
}
TABLES = (FACTS, *CHILD_COLUMNS, *day_counts.TABLES)


def ddl(s: str = "") -> list[str]:
    """Create every table of the read model with suffix `s` (indexes named after the base table + s)."""
    return [
        f"""create table customer_facts{s} (
            customer_id uuid primary key, own_events integer not null, event_count integer not null,
            consultant_id text, origin_channel text, origin_campaign text,
            first_contact_at timestamptz, first_contact_day date, grade text, lost boolean not null,
            first_grade text, first_grade_day date,
            deals integer not null, revenue numeric not null, gross_profit numeric not null,
            dated_deals integer not null, dated_revenue numeric not null, dated_profit numeric not null,
            first_deal_on date, last_deal_on date, close_days integer,
            ever_qualified boolean not null, ever_hot boolean not null, ever_order boolean not null,
            valued boolean not null, pyramid_tier text, management_class text, lifecycle_stage text,
            in_decline boolean not null, decline_signals jsonb not null, ranking_profit numeric,
            referral_gains numeric not null, valued_at text,
            refreshed_at timestamptz not null default now())""",
        # the value ranking (shared.value_ranking.SQL_ORDER) read in order: Pareto, decline lists
        f"create index customer_facts{s}_ranking on customer_facts{s} (ranking_profit desc, customer_id)",
        # digests: of the rows the last refresh wrote (services/analytics/row_changes.py)
        f"create table fact_cards{s} (customer_id uuid primary key, card text not null, digests text)",
        f"""create table fact_contacts{s} (customer_id uuid not null, seq integer not null, channel text,
            day date, consultant_id text not null, data text not null, primary key (customer_id, seq))""",
        f"""create table fact_tasks{s} (customer_id uuid not null, seq integer not null, status text,
            owner_id text not null, due_at timestamptz, due_day date, scheduled_at timestamptz, done_day date,
            done_by text not null, late boolean, data text not null, primary key (customer_id, seq))""",
        # the open tasks, whose lateness the daily report judges when it is read (day_counts)
        f"create index fact_tasks{s}_open on fact_tasks{s} (due_at) where late is null",
        f"""create table fact_deals{s} (customer_id uuid not null, seq integer not null, consultant_id text not null,
            amount numeric not null, gross_profit numeric not null, closed_on date, channel text, campaign text,
            data text not null, primary key (customer_id, seq))""",
        f"""create table fact_losses{s} (customer_id uuid not null, seq integer not null, reason text, day date,
            consultant_id text, primary key (customer_id, seq))""",
        f"""create table fact_grade_steps{s} (customer_id uuid not null, seq integer not null, grade text,
            previous_grade text, day date, primary key (customer_id, seq))""",
        f"""create table fact_complaints{s} (customer_id uuid not null, seq integer not null, category text,
            severity text, filed_day date, status text, owner_id text not null, acknowledged boolean not null,
            resolved boolean not null, escalated boolean not null, acknowledge_due_at timestamptz,
            acknowledged_on_time boolean, resolve_due_at timestamptz, resolved_on_time boolean,
            hours_to_resolve double precision, satisfaction double precision, primary key (customer_id, seq))""",
        f"""create table fact_merges{s} (customer_id uuid not null, merged_id uuid not null,
            primary key (customer_id, merged_id))""",
        f"create index fact_merges{s}_merged on fact_merges{s} (merged_id)",
        *day_counts.ddl(s),
    ]


def index_names(s: str = "") -> dict[str, list[str]]:
    """Each table's index names under suffix `s` (to rename them when a rebuild is swapped in)."""
    return {FACTS: [f"customer_facts{s}_pkey", f"customer_facts{s}_ranking"],
            **{t: [f"{t}{s}_pkey"] for t in CHILD_COLUMNS},
            "fact_tasks": [f"fact_tasks{s}_pkey", f"fact_tasks{s}_open"],
            "fact_merges": [f"fact_merges{s}_pkey", f"fact_merges{s}_merged"],
            **{t: [f"{t}{s}_pkey"] for t in day_counts.TABLES}}


# Each customer's folded state put back together (the shape `customer_summary` had when it was a
# table of JSON blobs): for tools, tests and a look by hand. Reports never read it.
SUMMARY_VIEW = """create view customer_summary as
    select f.customer_id, (select k.card::jsonb from fact_cards k where k.customer_id = f.customer_id)
        || jsonb_build_object(
        'contacts', coalesce((select jsonb_agg(c.data::jsonb order by c.seq) from fact_contacts c
                              where c.customer_id = f.customer_id), '[]'::jsonb),
        'tasks', coalesce((select jsonb_object_agg(t.data::jsonb->>'task_id', t.data::jsonb) from fact_tasks t
                           where t.customer_id = f.customer_id), '{}'::jsonb),
        'deals', coalesce((select jsonb_agg(d.data::jsonb order by d.seq) from fact_deals d
                           where d.customer_id = f.customer_id), '[]'::jsonb)) as state,
        f.own_events, f.refreshed_at
    from customer_facts f"""
