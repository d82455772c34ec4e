"""Intake: identity keys, the customer card and its history, consent, complaints,
merges, merge candidates, the audit trail of full-record reads, import dedup.

Revision ID: intake_0002
"""
from shared.migrations.sql import execute_all

revision = "intake_0002"
down_revision = "intake_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        # identity_keys is the source of truth for "who is this phone/email";
        # a customer may own several (after a merge, the merged record's keys).
        "drop index customers_phone",
        "drop index customers_email",
        "alter table customers add column card jsonb not null default '{}'::jsonb",
        "alter table customers add column consultant_id text",
        "alter table customers add column consent_at timestamptz",
        "alter table customers add column consent_source text",
        """create table identity_keys (
            key text primary key,
            customer_id uuid not null references customers (customer_id),
            claimed_at timestamptz not null)""",
        "create index identity_keys_customer on identity_keys (customer_id)",
        """create table customer_history (
            id bigint generated always as identity primary key,
            customer_id uuid not null references customers (customer_id),
            field text not null,
            old jsonb,
            new jsonb,
            changed_at timestamptz not null,
            source_customer_id uuid,
            changed_by text)""",
        "create index customer_history_customer on customer_history (customer_id, changed_at)",
        "alter table contacts add column dedup_key text",
        "create unique index contacts_dedup on contacts (dedup_key) where dedup_key is not null",
        """create table consent_decisions (
            id bigint generated always as identity primary key,
            customer_id uuid not null references customers (customer_id),
            marketing_allowed boolean not null,
            occurred_at timestamptz not null,
            source text,
            recorded_at timestamptz not null,
            recorded_by text not null)""",
        """create table complaints (
            complaint_id uuid primary key,
            customer_id uuid not null references customers (customer_id),
            channel text not null,
            severity text not null,
            category text,
            description text not null,
            product text,
            consultant_id text,
            occurred_at timestamptz not null,
            filed_by text not null,
            created_at timestamptz not null)""",
        "create index complaints_customer on complaints (customer_id, occurred_at)",
        """create table merges (
            merged_customer_id uuid primary key references customers (customer_id),
            survivor_id uuid not null references customers (customer_id),
            conflicts jsonb not null,
            merged_by text not null,
            merged_at timestamptz not null)""",
        """create table merge_candidates (
            customer_a uuid not null references customers (customer_id),
            customer_b uuid not null references customers (customer_id),
            reason text not null,
            detected_at timestamptz not null,
            primary key (customer_a, customer_b))""",
        """create table audit_reads (
            id bigint generated always as identity primary key,
            subject text not null,
            role text not null,
            customer_id uuid not null,
            read_at timestamptz not null,
            what text not null)""",
        "create index audit_reads_customer on audit_reads (customer_id, read_at)",
    )


def downgrade() -> None:
    execute_all(
        "drop table audit_reads", "drop table merge_candidates", "drop table merges",
        "drop table complaints", "drop table consent_decisions",
        "drop index contacts_dedup", "alter table contacts drop column dedup_key",
        "drop table customer_history", "drop table identity_keys",
        "alter table customers drop column consent_source",
        "alter table customers drop column consent_at", "alter table customers drop column consultant_id",
        "alter table customers drop column card",
        "create unique index customers_phone on customers (phone) where merged_into is null and phone is not null",
        "create unique index customers_email on customers (email) where merged_into is null and email is not null",
    )
