"""Intake: customer registry and contacts.

Revision ID: intake_0001
"""
from shared.migrations.sql import execute_all

revision = "intake_0001"
down_revision = "runtime_0001"
branch_labels = ("intake",)
depends_on = None


def upgrade() -> None:
    execute_all(
        """create table customers (
            customer_id uuid primary key,
            kind text not null,
            name text,
            phone text,
            email text,
            marketing_allowed boolean not null default true,
            merged_into uuid references customers (customer_id),
            created_at timestamptz not null,
            updated_at timestamptz not null)""",
        "create unique index customers_phone on customers (phone) where merged_into is null and phone is not null",
        "create unique index customers_email on customers (email) where merged_into is null and email is not null",
        """create table contacts (
            contact_id uuid primary key,
            customer_id uuid not null references customers (customer_id),
            channel text not null,
            occurred_at timestamptz not null,
            consultant_id text,
            campaign text,
            details jsonb not null)""",
        "create index contacts_customer on contacts (customer_id, occurred_at)",
    )


def downgrade() -> None:
    execute_all("drop table contacts", "drop table customers")
