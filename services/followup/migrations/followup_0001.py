"""Follow-up: work items (tasks).

Revision ID: followup_0001
"""
from shared.migrations.sql import execute_all

revision = "followup_0001"
down_revision = "runtime_0001"
branch_labels = ("followup",)
depends_on = None


def upgrade() -> None:
    execute_all(
        """create table tasks (
            task_id uuid primary key,
            customer_id uuid not null,
            kind text not null,
            owner_id text not null,
            status text not null default 'open',
            due_at timestamptz not null,
            grade text,
            marketing boolean not null default true,
            cause_event_id uuid,
            created_at timestamptz not null,
            closed_at timestamptz)""",
        "create index tasks_owner_open on tasks (owner_id, due_at) where status = 'open'",
        "create index tasks_customer on tasks (customer_id, created_at)",
    )


def downgrade() -> None:
    execute_all("drop table tasks")
