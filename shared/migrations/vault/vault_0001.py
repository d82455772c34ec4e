"""The key vault (database crm_vault): one data key per customer, and the record of erasures.

A destroyed key is a deleted row; `erasures` keeps who asked and when (an
employee's subject, never customer data) and stops a key from ever being
created again for an erased customer.

Revision ID: vault_0001
"""
from shared.migrations.sql import execute_all

revision = "vault_0001"
down_revision = None
branch_labels = ("vault",)
depends_on = None


def upgrade() -> None:
    execute_all(
        """create table customer_keys (
            customer_id uuid primary key,
            key bytea not null check (length(key) = 32),
            created_at timestamptz not null default now())""",
        """create table erasures (
            customer_id uuid primary key,
            erased_at timestamptz not null,
            requested_by text not null)""",
    )


def downgrade() -> None:
    execute_all("drop table erasures", "drop table customer_keys")
