"""Idempotency keys keep the first answer as sent (text), so a replay is byte-identical.

Revision ID: runtime_0002
"""
from shared.migrations.sql import execute_all

revision = "runtime_0002"
down_revision = "runtime_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all("alter table idempotency_keys alter column response type text using response::text")


def downgrade() -> None:
    execute_all("alter table idempotency_keys alter column response type jsonb using response::jsonb")
