"""Intake: erased customers (the right to be forgotten).

An erased customer keeps their row, ids, dates and business facts; `erased_at`
and `erased_by` (the employee who asked) mark it. A complaint's description is
personal (the customer's own words) and is cleared on erasure.

Revision ID: intake_0003_erasure
"""
from shared.migrations.sql import execute_all

revision = "intake_0003_erasure"
down_revision = "intake_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        "alter table customers add column erased_at timestamptz",
        "alter table customers add column erased_by text",
        "alter table complaints alter column description drop not null",
    )


def downgrade() -> None:
    execute_all(
        "update complaints set description = '[erased]' where description is null",
        "alter table complaints alter column description set not null",
        "alter table customers drop column erased_by",
        "alter table customers drop column erased_at",
    )
