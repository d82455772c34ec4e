"""Session fixtures: one embedded PostgreSQL, one Apache Kafka broker, one whole stack.

Everything is real: services run as processes, exactly as `crm up` runs them.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from crm.stack import ApacheKafka, EmbeddedPostgres, Stack, auth_secret, free_port
from shared.auth import mint_token
from shared.events.enums import Role
from shared.runtime.db import create_pool, database_url_for, ensure_database, migrate
from shared.settings import DEFAULT_PORTS

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def work_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="crm-test-"))
    yield path
    logs = path / "stack" / "logs"
    if logs.exists():  # keep the services' logs for a failed run to be read
        shutil.copytree(logs, ARTIFACTS / "logs", dirs_exist_ok=True)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(work_dir: Path) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(work_dir / "pg" / "pgdata")
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def broker(work_dir: Path) -> Iterator[ApacheKafka]:
    """The session's one Apache Kafka broker (a JVM start costs seconds): the whole stack
    uses it too. Tests that need isolation use their own topics or consumer groups."""
    b = ApacheKafka(work_dir / "kafka", free_port(), log_path=work_dir / "stack" / "logs" / "kafka.log")
    b.start()
    yield b
    b.stop()


async def fresh_database(postgres: EmbeddedPostgres, service: str) -> tuple[str, asyncpg.Pool]:
    """A new database with `service`'s migrations applied, and a pool on it (the caller closes it)."""
    name = f"t_{service}_{uuid.uuid4().hex[:10]}"
    await ensure_database(postgres.admin_url, name)
    url = database_url_for(postgres.admin_url, name)
    await migrate(url, service)
    return url, await create_pool(url)


@pytest.fixture
async def service_db(postgres: EmbeddedPostgres):
    """A fresh, migrated database for one service: `await service_db("intake")` -> (url, pool)."""
    pools: list[asyncpg.Pool] = []

    async def make(service: str) -> tuple[str, asyncpg.Pool]:
        url, pool = await fresh_database(postgres, service)
        pools.append(pool)
        return url, pool

    yield make
    for pool in pools:
        await pool.close()


@pytest.fixture(scope="session")
def stack(work_dir: Path, broker: ApacheKafka) -> Iterator[Stack]:
    """The whole system on the embedded stack, on free ports, on the session's broker."""
    root = work_dir / "stack"
    s = Stack(root, kafka_port=broker.port, broker=broker, ports={n: free_port() for n in DEFAULT_PORTS},
              extra_env={"CRM_CLOCK_OFFSET_FILE": str(root / "clock_offset"),
                         "CRM_BROKER_CHECK_SECONDS": "1"})
    s.start()
    yield s
    s.stop()


class Api:
    """A small HTTP client for the running stack, with tokens per role."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.secret = auth_secret(stack.root)
        self.client = httpx.AsyncClient(timeout=30)

    def token(self, role: Role = Role.MANAGER, consultant_id: str | None = None) -> str:
        return mint_token(self.secret, role, consultant_id=consultant_id, subject=consultant_id)

    def headers(self, role: Role = Role.MANAGER, consultant_id: str | None = None, **extra: str) -> dict:
        return {"Authorization": f"Bearer {self.token(role, consultant_id)}", **extra}

    def url(self, service: str, path: str) -> str:
        return f"{self.stack.services[service].url}{path}"

    async def post(self, service: str, path: str, json: dict, role: Role = Role.MANAGER, **kw) -> httpx.Response:
        headers = self.headers(role, kw.pop("consultant_id", None), **kw.pop("headers", {}))
        return await self.client.post(self.url(service, path), json=json, headers=headers, **kw)

    async def get(self, service: str, path: str, role: Role = Role.MANAGER, **kw) -> httpx.Response:
        headers = self.headers(role, kw.pop("consultant_id", None))
        return await self.client.get(self.url(service, path), headers=headers, **kw)

    async def eventually(self, service: str, path: str, predicate, timeout: float = 20.0,
                         role: Role = Role.MANAGER):
        """Poll GET until predicate(json) holds; returns the json."""
        deadline = asyncio.get_running_loop().time() + timeout
        last = None
        while asyncio.get_running_loop().time() < deadline:
            r = await self.get(service, path, role)
            if r.status_code == 200:
                last = r.json()
                if predicate(last):
                    return last
            await asyncio.sleep(0.05)
        raise AssertionError(f"GET {service}{path} never satisfied the check; last: {last}")

    async def db(self, service: str) -> asyncpg.Connection:
        return await asyncpg.connect(self.stack.services[service].env["CRM_DATABASE_URL"])

    async def join_roster(self, members: dict[str, str | None], active: bool = True, timeout: float = 30.0) -> None:
        """Register consultants (id -> team) with follow-up's roster and wait until every service has
        learnt them (a contact naming a consultant intake does not know yet is refused)."""
        for consultant_id, team in members.items():
            r = await self.post("followup", "/v1/consultants",
                                {"consultant_id": consultant_id, "team": team, "active": active})
            assert r.status_code == 200, r.text
        deadline = asyncio.get_running_loop().time() + timeout
        for service in ("intake", "grading", "analytics"):
            conn = await self.db(service)
            try:
                while True:
                    rows = await conn.fetch("select consultant_id, team, active from consultant_teams "
                                            "where consultant_id = any($1)", list(members))
                    if {(r["consultant_id"], r["team"], r["active"]) for r in rows} == \
                            {(c, t, active) for c, t in members.items()}:
                        break
                    assert asyncio.get_running_loop().time() < deadline, f"{service} never learnt the roster"
                    await asyncio.sleep(0.05)
            finally:
                await conn.close()


# The consultants the tests name, registered once per session (a consultant exists only on the roster).
ROSTER: dict[str, str | None] = {
    "c-001": "north", "c-002": "north", "c-003": "south", "c-007": "south", "c-009": "south",
    "c-1": None, "c-3": None, "c-7": None, "c-fu-1": "fu", "c-fu-2": "fu", "c-fu-load": "fu",
    "c-v1": None, "c-042": None, "c-777": None, "c-audited": None, "c-alice": None, "c-other": None, "c-fuzz": None, "alice": None,
    "c-search-own": "east", "c-search-other": "west", "c-page-1": None, "c-idem-a": None, "c-idem-b": None,
    **{f"c-{i:03d}": "bench" for i in range(20)},
}


@pytest.fixture(scope="session")
async def api(stack: Stack) -> AsyncIterator[Api]:
    a = Api(stack)
    await a.join_roster(ROSTER)
    yield a
    await a.client.aclose()


def set_clock_offset(stack: Stack, seconds: float) -> None:
    """Move every service's clock (see shared.clock)."""
    path = Path(stack.services["intake"].env["CRM_CLOCK_OFFSET_FILE"])
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(seconds))
    os.replace(tmp, path)
