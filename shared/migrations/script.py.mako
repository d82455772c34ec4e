"""${message}

Revision ID: ${up_revision}
"""
from shared.migrations.sql import execute_all

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    execute_all()


def downgrade() -> None:
    execute_all()
