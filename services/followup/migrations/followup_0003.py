"""Follow-up: payments against deals (回款) and each deal's payment due date.

Revision ID: followup_0003
"""
from shared.migrations.sql import execute_all

revision = "followup_0003"
down_revision = "followup_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        "alter table deals add column payment_due_on date",
        """create table payments (
            payment_id uuid primary key,
            deal_id uuid not null references deals (deal_id),
            amount numeric(14, 2) not null check (amount > 0),
            paid_on date not null,
            note text,
            balance_after numeric(14, 2) not null,
            recorded_by text not null,
            recorded_at timestamptz not null)""",
        "create index payments_deal on payments (deal_id, paid_on)",
    )


def downgrade() -> None:
    execute_all(
        "drop table payments",
        "alter table deals drop column payment_due_on",
    )
