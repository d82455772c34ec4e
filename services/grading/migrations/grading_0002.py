"""Grading: the facts grading is computed from, merges, consent, customer value, policies.

Revision ID: grading_0002
"""
from shared.migrations.sql import execute_all

revision = "grading_0002"
down_revision = "grading_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        """create table grading_facts (
            fact_id uuid not null,
            kind text not null,
            customer_id uuid not null,
            occurred_at timestamptz not null,
            consultant_id text,
            data jsonb not null,
            recorded_at timestamptz not null default now(),
            primary key (fact_id, kind))""",
        "create index grading_facts_by_customer on grading_facts (customer_id, occurred_at, fact_id)",
        "alter table prospects add column status text not null default 'active'",
        "alter table prospects add column cause_event_id uuid",
        "alter table prospects add column overridden_by text",
        "alter table prospects add column override_reason text",
        "alter table prospects add column loss_reason text",
        "alter table grade_history alter column grade drop not null",
        "alter table grade_history add column previous_status text",
        "alter table grade_history add column status text",
        "alter table grade_history add column rules text[]",
        "alter table grade_history add column cause_kind text",
        "alter table grade_history add column loss_reason text",
        """create table merged_customers (
            merged_customer_id uuid primary key,
            survivor_id uuid not null,
            merged_at timestamptz not null)""",
        """create table customer_consent (
            customer_id uuid primary key,
            marketing_allowed boolean not null,
            changed_at timestamptz not null,
            event_id uuid not null)""",
        """create table customer_values (
            customer_id uuid primary key,
            profit numeric not null,
            purchases integer not null,
            value jsonb not null,
            valued_on date not null,
            updated_at timestamptz not null)""",
        "create index customer_values_by_day on customer_values (valued_on)",
        """create table grading_policies (
            version text primary key,
            policy jsonb not null,
            first_used_at timestamptz not null default now())""",
    )


def downgrade() -> None:
    execute_all(
        "drop table grading_policies", "drop table customer_values", "drop table customer_consent",
        "drop table merged_customers", "drop table grading_facts",
        "alter table grade_history drop column previous_status", "alter table grade_history drop column status",
        "alter table grade_history drop column rules", "alter table grade_history drop column cause_kind",
        "alter table grade_history drop column loss_reason",
        "alter table prospects drop column status", "alter table prospects drop column cause_event_id",
        "alter table prospects drop column overridden_by", "alter table prospects drop column override_reason",
        "alter table prospects drop column loss_reason",
    )
