"""Every service knows who owns each customer (客户归属), from follow-up's `customer-assigned`,
so that access is decided on the same owner everywhere.

Revision ID: runtime_0004
"""
from shared.migrations.sql import execute_all

revision = "runtime_0004"
down_revision = "runtime_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        """create table customer_owners (
            customer_id uuid primary key,
            owner_id text,
            basis text not null,
            assigned_at timestamptz not null)""",
        "create index customer_owners_owner on customer_owners (owner_id)",
    )


def downgrade() -> None:
    execute_all("drop table customer_owners")
