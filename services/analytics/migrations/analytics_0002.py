"""Analytics: the customer-summary projection (one folded row per customer).

Revision ID: analytics_0002
"""
from shared.migrations.sql import execute_all

revision = "analytics_0002"
down_revision = "analytics_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        """create table customer_summary (
            customer_id uuid primary key,
            state jsonb not null,
            own_events integer not null,
            refreshed_at timestamptz not null default now())""",
        "create index event_log_type on event_log (event_type, occurred_at)",
    )


def downgrade() -> None:
    execute_all("drop index event_log_type", "drop table customer_summary")
