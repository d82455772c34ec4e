"""Analytics: each customer's card keeps the digests of the read-model rows its last refresh wrote,
so that a refresh writes only the rows that changed (services/analytics/row_changes.py). Cards
written before have none: their customer is rewritten whole at their next refresh.

Revision ID: analytics_0005
"""
from shared.migrations.sql import execute_all

revision = "analytics_0005"
down_revision = "analytics_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all("alter table fact_cards add column digests text")


def downgrade() -> None:
    execute_all("alter table fact_cards drop column digests")
