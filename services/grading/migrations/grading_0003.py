"""Grading: find a customer's referrers by the referred id, or by any id merged into it
(referral gains follow the referred customer's deals).

Revision ID: grading_0003
"""
from shared.migrations.sql import execute_all

revision = "grading_0003"
down_revision = "grading_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        """create index grading_facts_referrals on grading_facts (((data->>'referred_customer_id')::uuid))
           where kind = 'referral'""",
        "create index merged_customers_by_survivor on merged_customers (survivor_id)",
    )


def downgrade() -> None:
    execute_all("drop index merged_customers_by_survivor", "drop index grading_facts_referrals")
