"""Analytics: the customers whose logged events are not folded yet (services/analytics/folding.py).

The consumer logs a batch and adds a mark per customer it touched in the same transaction; the
folder takes the marks it can see, folds their customers once and deletes the marks, in one
transaction. Marks are only ever inserted and deleted: a consumer never waits for the folder.
`fold_failed`: customers whose own fold raised (tried again with their next mark).

Revision ID: analytics_0006
"""
from shared.migrations.sql import execute_all

revision = "analytics_0006"
down_revision = "analytics_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        "create table fold_marks (seq bigserial primary key, customer_id uuid not null)",
        "create table fold_failed (customer_id uuid primary key, failed_at timestamptz not null, error text not null)",
    )


def downgrade() -> None:
    # marks still waiting are dropped with the table: if the service was not idle, rebuild the
    # read model after (`crm replay`)
    execute_all("drop table fold_failed", "drop table fold_marks")
