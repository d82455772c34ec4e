"""Intake no longer keeps a consultant per customer of its own: the owner is follow-up's decision,
kept in the shared `customer_owners` rows (from `customer-assigned`) that access reads. Lookups by
phone or email are audited (masked answers included) and counted for the rate limit.

Revision ID: intake_0004
"""
from shared.migrations.sql import execute_all

revision = "intake_0004"
down_revision = "intake_0003_erasure"
branch_labels = None
depends_on = "runtime_0004"


def upgrade() -> None:
    execute_all(
        "alter table customers drop column consultant_id",
        """create table lookups (
            id bigserial primary key,
            subject text not null,
            role text not null,
            looked_up_at timestamptz not null,
            keys integer not null,
            found uuid[] not null)""",
        "create index lookups_subject_time on lookups (subject, looked_up_at)",
        "create index lookups_found on lookups using gin (found)",
    )


def downgrade() -> None:
    execute_all("drop table lookups", "alter table customers add column consultant_id text")
