"""Run a migration's SQL: asyncpg prepares each statement, so one at a time."""
from alembic import op


def execute_all(*statements: str) -> None:
    for statement in statements:
        op.execute(statement)
