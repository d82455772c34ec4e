"""Analytics: the customer's card moves out of `customer_facts` into `fact_cards`; the daily
report's counts are kept in `day_counts` and `day_totals` (services/analytics/day_counts.py).

Every report scans `customer_facts`; with the card (~1.5 KB of JSON per customer, below the size
PostgreSQL moves out of line) in the row, a scan of 25,000 customers read 44 MB. The read model
is disposable: its tables are emptied here and the service folds them again from the event log
at startup (replay.rebuild_if_empty), as after analytics_0003. The facts also gain the totals of
the deals that have a close date (what a report without a period counts), so those reports read
them off the row instead of aggregating every deal.

Revision ID: analytics_0004
"""
from shared.migrations.sql import execute_all

revision = "analytics_0004"
down_revision = "analytics_0003"
branch_labels = None
depends_on = None

READ_MODEL = ("customer_facts, fact_contacts, fact_tasks, fact_deals, fact_losses, fact_grade_steps, "
              "fact_complaints, fact_merges")
SUMMARY = """create view customer_summary as
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


def upgrade() -> None:
    execute_all(
        "drop view customer_summary",
        f"truncate {READ_MODEL}",
        "alter table customer_facts drop column card",
        """alter table customer_facts add column dated_deals integer not null,
            add column dated_revenue numeric not null, add column dated_profit numeric not null""",
        "create table fact_cards (customer_id uuid primary key, card text not null)",
        "create index fact_tasks_open on fact_tasks (due_at) where late is null",
        """create table day_counts (day date not null, who text not null, origin_channel text not null,
            origin_campaign text not null, "walk_ins" integer not null default 0, "calls" integer not null default 0,
            "new_prospects_O" integer not null default 0, "new_prospects_H" integer not null default 0,
            "new_prospects_A" integer not null default 0, "new_prospects_B" integer not null default 0,
            "new_prospects_C" integer not null default 0, "followups_due" integer not null default 0,
            "followups_done" integer not null default 0, "followups_overdue" integer not null default 0,
            "orders" integer not null default 0, "deliveries" integer not null default 0,
            "losses" integer not null default 0, primary key (day, who, origin_channel, origin_campaign))""",
        """create table day_totals (day date not null, who text not null, "walk_ins" integer not null default 0,
            "calls" integer not null default 0, "new_prospects_O" integer not null default 0,
            "new_prospects_H" integer not null default 0, "new_prospects_A" integer not null default 0,
            "new_prospects_B" integer not null default 0, "new_prospects_C" integer not null default 0,
            "followups_due" integer not null default 0, "followups_done" integer not null default 0,
            "followups_overdue" integer not null default 0, "orders" integer not null default 0,
            "deliveries" integer not null default 0, "losses" integer not null default 0,
            primary key (day, who))""",
        SUMMARY,
    )


def downgrade() -> None:
    execute_all(
        "drop view customer_summary",
        "drop table day_totals",
        "drop table day_counts",
        "drop index fact_tasks_open",
        "drop table fact_cards",
        f"truncate {READ_MODEL}",
        "alter table customer_facts add column card text not null",
        "alter table customer_facts drop column dated_deals, drop column dated_revenue, drop column dated_profit",
        SUMMARY.replace("(select k.card::jsonb from fact_cards k where k.customer_id = f.customer_id)",
                        "f.card::jsonb"),
    )
