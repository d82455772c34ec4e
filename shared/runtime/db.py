"""PostgreSQL access: connection pools and schema migrations (alembic)."""
from __future__ import annotations

import asyncio
import json
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


async def create_pool(database_url: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=30
    )


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
