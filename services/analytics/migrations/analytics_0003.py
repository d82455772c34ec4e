"""Analytics: the typed read model (issue 13): one `customer_facts` row per customer with typed
columns, and child tables for the items reports count (contacts, tasks, deals, losses, grade steps,
complaints, merges). Filled by the service at startup from the event log (replay.rebuild_if_empty);
`customer_summary` (one JSON blob per customer, re-parsed by every report) becomes a view of the
same shape over the new tables: it was a disposable projection, rebuilt from the log like these.

Revision ID: analytics_0003
"""
from shared.migrations.sql import execute_all

revision = "analytics_0003"
down_revision = "analytics_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        "drop table customer_summary",
        """create table customer_facts (
            customer_id uuid primary key, own_events integer not null, event_count integer not null,
            consultant_id text, origin_channel text, origin_campaign text,
            first_contact_at timestamptz, first_contact_day date, grade text, lost boolean not null,
            first_grade text, first_grade_day date,
            deals integer not null, revenue numeric not null, gross_profit numeric not null,
            first_deal_on date, last_deal_on date, close_days integer,
            ever_qualified boolean not null, ever_hot boolean not null, ever_order boolean not null,
            valued boolean not null, pyramid_tier text, management_class text, lifecycle_stage text,
            in_decline boolean not null, decline_signals jsonb not null, ranking_profit numeric,
            referral_gains numeric not null, valued_at text, card text not null,
            refreshed_at timestamptz not null default now())""",
        """create index customer_facts_ranking on customer_facts (ranking_profit desc, customer_id)""",
        """create table fact_contacts (customer_id uuid not null, seq integer not null, channel text,
            day date, consultant_id text not null, data text not null, primary key (customer_id, seq))""",
        """create table fact_tasks (customer_id uuid not null, seq integer not null, status text,
            owner_id text not null, due_at timestamptz, due_day date, scheduled_at timestamptz, done_day date,
            done_by text not null, late boolean, data text not null, primary key (customer_id, seq))""",
        """create table fact_deals (customer_id uuid not null, seq integer not null, consultant_id text not null,
            amount numeric not null, gross_profit numeric not null, closed_on date, channel text, campaign text,
            data text not null, primary key (customer_id, seq))""",
        """create table fact_losses (customer_id uuid not null, seq integer not null, reason text, day date,
            consultant_id text, primary key (customer_id, seq))""",
        """create table fact_grade_steps (customer_id uuid not null, seq integer not null, grade text,
            previous_grade text, day date, primary key (customer_id, seq))""",
        """create table fact_complaints (customer_id uuid not null, seq integer not null, category text,
            severity text, filed_day date, status text, owner_id text not null, acknowledged boolean not null,
            resolved boolean not null, escalated boolean not null, acknowledge_due_at timestamptz,
            acknowledged_on_time boolean, resolve_due_at timestamptz, resolved_on_time boolean,
            hours_to_resolve double precision, satisfaction double precision, primary key (customer_id, seq))""",
        """create table fact_merges (customer_id uuid not null, merged_id uuid not null,
            primary key (customer_id, merged_id))""",
        """create index fact_merges_merged on fact_merges (merged_id)""",
        """create view customer_summary as
    select f.customer_id, f.card::jsonb || jsonb_build_object(
        'contacts', coalesce((select jsonb_agg(c.data::jsonb order by c.seq) from fact_contacts c
                              where c.customer_id = f.customer_id), '[]'::jsonb),
        'tasks', coalesce((select jsonb_object_agg(t.data::jsonb->>'task_id', t.data::jsonb) from fact_tasks t
                           where t.customer_id = f.customer_id), '{}'::jsonb),
        'deals', coalesce((select jsonb_agg(d.data::jsonb order by d.seq) from fact_deals d
                           where d.customer_id = f.customer_id), '[]'::jsonb)) as state,
        f.own_events, f.refreshed_at
    from customer_facts f""",
    )


def downgrade() -> None:
    execute_all("drop view customer_summary", "drop table fact_merges", "drop table fact_complaints",
                "drop table fact_grade_steps", "drop table fact_losses", "drop table fact_deals", "drop table fact_tasks", "drop table fact_contacts",
                "drop table customer_facts",
                """create table customer_summary (
            customer_id uuid primary key,
            state jsonb not null,
            own_events integer not null,
            refreshed_at timestamptz not null default now())""")
