"""How many statements one `POST /v1/contacts` sends to intake's database and to the key vault.

Round trips, not Python, are most of a POST's cost (docs/benchmarks.md, "POST -> 360 latency,
HTTP intake and the relay"): this pins their number, so that a change adding one shows here.
The whole request path runs in-process (middleware, auth, `run_command`, the use case) on a
fresh intake database and a fresh vault, every statement recorded by asyncpg's query logger.
"""
from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx

from services.intake.app import build_app
from shared.auth import mint_token
from shared.events.enums import Role
from shared.runtime import vault as vaults
from shared.runtime.db import VAULT as VAULT_DB
from shared.runtime.db import create_pool, database_url_for, ensure_database, keep_session, migrate

from .helpers import new_phone, walk_in

SECRET = "statements-per-contact-" + "x" * 16

# The statements of one POST, by what they are for (docs/benchmarks.md lists them).
INTAKE_NEW_CUSTOMER = ["begin", "identity locks", "registry read", "registry writes", "outbox", "commit"]
INTAKE_WITH_KEY = ["begin", "idempotency claim", "identity locks", "registry read", "registry writes", "outbox",
                   "idempotency answer", "commit"]
VAULT = ["customer key"]


def purpose(statement: str) -> str:
    """What a statement of a POST is for, told by its text."""
    s = statement.lower()
    for start, name in (("begin", "begin"), ("commit", "commit"), ("insert into idempotency_keys", "idempotency claim"),
                        ("update idempotency_keys", "idempotency answer"),
                        ("select method, path, request_hash", "idempotency lookup"),
                        ("select pg_advisory_xact_lock", "identity locks"), ("with owned as", "registry read"),
                        ("with counts as", "outbox"), ("with wanted as", "customer key"),
                        ("select pg_advisory_unlock_all", "pool reset")):
        if s.startswith(start):
            return name
    if s.startswith(("with w0 as", "insert into contacts")):
        return "registry writes"
    return statement[:60]


@asynccontextmanager
async def in_process_intake(postgres, monkeypatch):
    """Intake's app as `crm up` builds it, without its background work (relay, consumers): a pool
    and a vault of one connection each, as the lifespan opens them, their statements recorded."""
    name = uuid.uuid4().hex[:10]
    urls = {}
    for service, db in (("intake", f"t_intake_{name}"), (VAULT_DB, f"t_vault_{name}")):
        await ensure_database(postgres.admin_url, db)
        urls[service] = database_url_for(postgres.admin_url, db)
        await migrate(urls[service], service)
    monkeypatch.setenv("CRM_AUTH_SECRET", SECRET)
    app = build_app()
    spec = app.state.spec
    pool = await create_pool(urls["intake"], min_size=1, max_size=1,
                             reset=keep_session if spec.pool_keeps_session else None)
    vault = await vaults.Vault.open(urls[VAULT_DB], max_size=1)
    statements: dict[str, list[str]] = {"intake": [], "vault": []}
    for label, p in (("intake", pool), ("vault", vault.pool)):
        for holder in p._holders:  # noqa: SLF001 - one connection each: record every statement it sends
            holder._con.add_query_logger(lambda q, into=statements[label]: into.append(" ".join(q.query.split())))  # noqa: SLF001
    await pool.execute("insert into consultant_teams (consultant_id, team, active, changed_at) "
                       "values ('c-001', 't', true, $1)", datetime.now(UTC))
    app.state.pool, app.state.vault = pool, vault
    vaults.install(vault)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
            yield client, statements
    finally:
        vaults.install(None)
        await vault.close()
        await pool.close()


async def _post(client, statements, body, **headers) -> tuple[httpx.Response, dict[str, list[str]]]:
    for sent in statements.values():
        sent.clear()
    token = mint_token(SECRET, Role.INTEGRATION)
    r = await client.post("/v1/contacts", json=body, headers={"Authorization": f"Bearer {token}", **headers})
    assert r.status_code == 201, r.text
    # asyncpg's one-time type introspection of a new statement is not a POST's cost
    return r, {k: [purpose(s) for s in v if not s.startswith(("SELECT current_setting('jit')", "WITH RECURSIVE",
                                                               "SELECT set_config('jit'"))]
               for k, v in statements.items()}


async def test_one_post_sends_a_fixed_few_statements(postgres, monkeypatch):
    async with in_process_intake(postgres, monkeypatch) as (client, statements):
        phone = new_phone()
        r, new = await _post(client, statements, walk_in(phone=phone))
        assert r.json()["is_new_customer"]
        assert new == {"intake": INTAKE_NEW_CUSTOMER, "vault": VAULT}
        # a known customer whose card changes (a new email): the same statements
        r, known = await _post(client, statements, walk_in(phone=phone, email=f"{uuid.uuid4().hex[:8]}@example.com"))
        assert not r.json()["is_new_customer"]
        assert known == {"intake": INTAKE_NEW_CUSTOMER, "vault": VAULT}
        body = walk_in()
        first, keyed = await _post(client, statements, body, **{"Idempotency-Key": f"k-{phone}"})
        assert keyed == {"intake": INTAKE_WITH_KEY, "vault": VAULT}
        replay, again = await _post(client, statements, body, **{"Idempotency-Key": f"k-{phone}"})
        assert replay.headers["Idempotent-Replay"] == "true" and replay.json() == first.json()
        assert again == {"intake": ["begin", "idempotency claim", "idempotency lookup", "commit"], "vault": []}
