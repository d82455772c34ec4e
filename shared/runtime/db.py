"""PostgreSQL access: connection pools and schema migrations (alembic)."""
from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from alembic import command
from alembic.config import Config

# The database is restarting, gone or overloaded: retry later; nothing was committed.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.exceptions.OperatorInterventionError,
    asyncpg.TooManyConnectionsError, ConnectionError, OSError, TimeoutError,
    # what asyncpg raises when the server goes away in the middle of an operation
    asyncpg.exceptions.InternalClientError,
)

SHARED_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
VAULT = "vault"  # the key vault's database has its own chain (shared/migrations/vault), no runtime tables


def alembic_config(database_url: str, service: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SHARED_MIGRATIONS))
    if service == VAULT:
        locations = [SHARED_MIGRATIONS / "vault"]
    else:
        locations = [SHARED_MIGRATIONS / "versions", SERVICES_DIR / service / "migrations"]
    cfg.set_main_option("version_locations", " ".join(str(p) for p in locations if p.exists()))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["url"] = sqlalchemy_url(database_url)
    return cfg


def sqlalchemy_url(database_url: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg"))


async def migrate(database_url: str, service: str) -> None:
    """Bring the service's database to the newest schema (safe to run concurrently)."""
    cfg = alembic_config(database_url, service)
    await asyncio.to_thread(command.upgrade, cfg, "heads")


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(database_url: str, *, min_size: int = 2, max_size: int = 10, reset=None) -> asyncpg.Pool:
    """`reset`: what a connection does on release instead of asyncpg's reset query (an open
    transaction is rolled back either way)."""
    return await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=30, reset=reset
    )


async def plan_for_this_batch(conn: asyncpg.Connection) -> None:
    """In a batch's transaction: plan each statement for its own arguments. A pooled connection keeps a
    prepared statement's generic plan, and one made while a table was small or analysed empty (the
    first minute of an import) stays a sequential scan as the table grows: `customer_id = any($1)` over
    50,000 rows went 1.5 -> 120 ms. Planning a batch's few statements costs far less than that."""
    await conn.execute("set local plan_cache_mode = force_custom_plan")


async def keep_session(conn: asyncpg.Connection) -> None:
    """A pool's `reset` that sends nothing: the connection goes back without asyncpg's reset query
    (one round trip per release). Only for pools on which nothing takes session state (a
    session-level advisory lock, LISTEN, SET, an open cursor); an open transaction is rolled back
    by the pool either way."""


@dataclass(frozen=True)
class Write:
    """One data-modifying statement (its own $1, $2, ...) and its arguments, to send with others."""

    sql: str
    args: tuple


async def write_together(conn: asyncpg.Connection, writes: Iterable[Write | None]) -> None:
    """Independent writes as one statement (one round trip): each becomes a data-modifying CTE.
    They must not depend on each other's effects: all of them see the database as it was before
    the statement (foreign keys are checked at its end, so a row may reference a row another
    part inserts)."""
    wanted = [w for w in writes if w is not None]
    if len(wanted) <= 1:
        for w in wanted:
            await conn.execute(w.sql, *w.args)
        return
    parts: list[str] = []
    args: list[object] = []
    for i, w in enumerate(wanted):
        offset = len(args)
        parts.append(f"w{i} as ({_PARAMETER.sub(lambda m, o=offset: f'${int(m[1]) + o}', w.sql)})")
        args.extend(w.args)
    await conn.execute("with " + ",\n".join(parts) + "\nselect 1", *args)


_PARAMETER = re.compile(r"\$(\d+)")


async def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` if it does not exist (embedded stack and tests)."""
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("select 1 from pg_database where datname = $1", name):
            await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()


def database_url_for(admin_url: str, name: str) -> str:
    """The same server as `admin_url`, another database."""
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path="/" + name))
