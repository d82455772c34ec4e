"""Analytics: the log of every event consumed (the source of every projection).

Revision ID: analytics_0001
"""
from shared.migrations.sql import execute_all

revision = "analytics_0001"
down_revision = "runtime_0001"
branch_labels = ("analytics",)
depends_on = None


def upgrade() -> None:
    execute_all(
        """create table event_log (
            position bigint generated always as identity primary key,
            event_id uuid not null unique,
            event_type text not null,
            customer_id uuid not null,
            occurred_at timestamptz not null,
            envelope jsonb not null)""",
        "create index event_log_customer on event_log (customer_id, occurred_at)",
    )


def downgrade() -> None:
    execute_all("drop table event_log")
