"""Idempotency keys are scoped to the endpoint (method and route template) as well as the principal:
the same key sent to two endpoints is two independent requests.

Keys stored before this revision get their concrete `method path` as their endpoint: they keep
working as the records of what was answered (erasure scrubs them by `path`), and a retry that
arrives across the upgrade is taken as a new request on its endpoint.

Revision ID: runtime_0005
"""
from shared.migrations.sql import execute_all

revision = "runtime_0005"
down_revision = "runtime_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(
        "alter table idempotency_keys add column endpoint text",
        "update idempotency_keys set endpoint = method || ' ' || path",
        "alter table idempotency_keys alter column endpoint set not null",
        "alter table idempotency_keys drop constraint idempotency_keys_pkey",
        "alter table idempotency_keys add primary key (principal, endpoint, key)",
    )


def downgrade() -> None:
    execute_all(
        # one row per (principal, key) again: the oldest use of each key stays
        """delete from idempotency_keys k using idempotency_keys older
           where k.principal = older.principal and k.key = older.key
             and (k.created_at, k.endpoint) > (older.created_at, older.endpoint)""",
        "alter table idempotency_keys drop constraint idempotency_keys_pkey",
        "alter table idempotency_keys add primary key (principal, key)",
        "alter table idempotency_keys drop column endpoint",
    )
