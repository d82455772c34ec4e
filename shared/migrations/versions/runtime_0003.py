"""Every service knows each consultant's team (from `consultant-updated`), for a manager's reach.

Revision ID: runtime_0003
"""
from shared.migrations.sql import execute_all

revision = "runtime_0003"
down_revision = "runtime_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        """create table consultant_teams (
            consultant_id text primary key,
            team text,
            active boolean not null,
            changed_at timestamptz not null)""",
    )


def downgrade() -> None:
    execute_all("drop table consultant_teams")
