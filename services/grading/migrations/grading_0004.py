"""Grading: each prospect's history revision, the number of the last published history (prospect-graded
version 2 carries the whole history; a reader keeps the latest revision's).

Revision ID: grading_0004
"""
from shared.migrations.sql import execute_all

revision = "grading_0004"
down_revision = "grading_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all("alter table prospects add column revision integer not null default 0")


def downgrade() -> None:
    execute_all("alter table prospects drop column revision")
