"""Follow-up: prospects, roster, full task state, deals, loss proposals, complaint cases.

Revision ID: followup_0002
"""
from shared.migrations.sql import execute_all

revision = "followup_0002"
down_revision = "followup_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        # the whole domain task (FollowUpTask) as JSON; the columns are for queries
        "alter table tasks add column data jsonb",
        "alter table tasks add column escalated_at timestamptz",
        "create index tasks_pending_due on tasks (due_at) where status in ('open', 'overdue')",
        "create index tasks_customer_pending on tasks (customer_id) where status in ('open', 'overdue')",
        """create table prospects (
            customer_id uuid primary key,
            owner_id text,
            grade text,
            status text not null default 'active',
            status_at timestamptz,
            contacted boolean not null default false,
            last_contact_at timestamptz,
            marketing_allowed boolean not null default true,
            consent_at timestamptz,
            birthday date,
            merged_into uuid,
            updated_at timestamptz not null default now())""",
        """create table consultants (
            consultant_id text primary key,
            name text,
            team text,
            active boolean not null default true,
            source text not null,
            added_at timestamptz not null default now())""",
        """create table deals (
            deal_id uuid primary key,
            customer_id uuid not null,
            consultant_id text not null,
            amount numeric(14, 2) not null,
            gross_profit numeric(14, 2) not null,
            deposit numeric(14, 2) not null,
            closed_on date not null,
            data jsonb not null,
            recorded_at timestamptz not null)""",
        "create index deals_customer on deals (customer_id, closed_on)",
        """create table loss_proposals (
            proposal_id uuid primary key,
            customer_id uuid not null,
            status text not null,
            data jsonb not null,
            proposed_at timestamptz not null)""",
        "create unique index loss_proposals_one_pending on loss_proposals (customer_id) where status = 'proposed'",
        """create table complaint_cases (
            complaint_id uuid primary key,
            customer_id uuid not null,
            status text not null,
            owner_id text not null,
            severity text not null,
            acknowledge_due timestamptz not null,
            resolve_due timestamptz not null,
            escalated boolean not null default false,
            data jsonb not null,
            filed_at timestamptz not null)""",
        "create index complaint_cases_open on complaint_cases (resolve_due) where status in ('filed', 'acknowledged')",
        "create index complaint_cases_customer on complaint_cases (customer_id)",
    )


def downgrade() -> None:
    execute_all(
        "drop table complaint_cases",
        "drop table loss_proposals",
        "drop table deals",
        "drop table consultants",
        "drop table prospects",
        "alter table tasks drop column escalated_at",
        "alter table tasks drop column data",
    )
