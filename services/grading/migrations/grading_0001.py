"""Grading: prospects and the history of their intent grades.

Revision ID: grading_0001
"""
from shared.migrations.sql import execute_all

revision = "grading_0001"
down_revision = "runtime_0001"
branch_labels = ("grading",)
depends_on = None


def upgrade() -> None:
    execute_all(
        """create table prospects (
            customer_id uuid primary key,
            grade text,
            rule text,
            consultant_id text,
            policy_version text not null,
            updated_at timestamptz not null)""",
        """create table grade_history (
            customer_id uuid not null,
            seq integer not null,
            grade text not null,
            previous_grade text,
            rule text not null,
            cause_event_id uuid,
            changed_by text,
            reason text,
            policy_version text not null,
            changed_at timestamptz not null,
            primary key (customer_id, seq))""",
    )


def downgrade() -> None:
    execute_all("drop table grade_history", "drop table prospects")
