"""Intake's batch storing alone: `receive_batch` on generated business cards, in process.

No HTTP, no broker, no consumers: what one `POST /v1/contacts/batch` costs the
intake service itself (validation done, identity resolution, card, contact and
outbox rows, sealing with the key vault), chunk after chunk as `crm import` sends
them. `--profile FILE` writes a cProfile of the storing (view with pstats or snakeviz).

`--http` sends the chunks through intake's app instead (over ASGI, in process, still
no broker): the CLI's encoding of a chunk (`services.intake.cli.chunk_body`), the
request's validation, `receive_batch`, the idempotency key and the answer. It reports
the CPU per chunk of the CLI's encoding, of the rest of this process (intake and the
in-process transport) and of PostgreSQL, and how long a chunk takes.

    .venv/bin/python -m bench.intake_batch --rows 10000 [--chunk 500] [--http] [--profile /tmp/intake.prof]
"""
from __future__ import annotations

import asyncio
import cProfile
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import typer

from crm.stack import EmbeddedPostgres
from services.intake import contacts
from services.intake.app import build_app
from services.intake.cli import chunk_body
from services.intake.domain.cards_import import import_rows
from services.intake.domain import identity
from services.intake.domain.contacts import ContactIn
from services.intake.domain.sample_cards import sample_card_rows
from shared.auth import mint_token
from shared.events.enums import Role
from shared.runtime import vault as vaults
from shared.runtime.db import VAULT, create_pool, database_url_for, ensure_database, keep_session, migrate

from .intake_post import cpu_of

cli = typer.Typer(add_completion=False)
SECRET = "bench-intake-batch-" + "x" * 24


def cards(rows: int, seed: int = 11) -> list[ContactIn]:
    """The valid, file-deduplicated rows of a generated card file, as the CLI sends them."""
    table = ((n, row) for n, row in enumerate(sample_card_rows(rows, seed=seed), start=1))
    return [r for r in import_rows(table, import_batch=f"bench-{seed}") if isinstance(r, ContactIn)]


async def _databases(admin_url: str) -> tuple[str, str]:
    name = uuid.uuid4().hex[:8]
    urls = []
    for service in ("intake", VAULT):
        await ensure_database(admin_url, f"bench_{service}_{name}")
        urls.append(database_url_for(admin_url, f"bench_{service}_{name}"))
        await migrate(urls[-1], service)
    return urls[0], urls[1]


async def store(admin_url: str, rows: list[ContactIn], chunk: int, profile: Path | None) -> float:
    url, vault_url = await _databases(admin_url)
    pool = await create_pool(url)
    vault = await vaults.Vault.open(vault_url)
    vaults.install(vault)
    profiler = cProfile.Profile() if profile else None
    try:
        actor = contacts.Actor("bench")
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        for i in range(0, len(rows), chunk):
            async with pool.acquire() as conn, conn.transaction():
                await contacts.receive_batch(conn, rows[i:i + chunk], datetime.now(UTC), actor)
        elapsed = time.perf_counter() - started
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
    finally:
        vaults.install(None)
        await vault.close()
        await pool.close()
    return len(rows) / elapsed


def _content(body: dict | bytes) -> bytes:
    """What goes on the wire (a dict is encoded as httpx would)."""
    return body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()


async def post_chunks(pg: EmbeddedPostgres, rows: list[ContactIn], chunk: int, profile: Path | None) -> dict:
    """Every chunk through the app, one after another; CPU and time per chunk."""
    url, vault_url = await _databases(pg.admin_url)
    os.environ["CRM_AUTH_SECRET"] = SECRET
    app = build_app()
    pool = await create_pool(url, reset=keep_session if app.state.spec.pool_keeps_session else None)
    vault = await vaults.Vault.open(vault_url)
    app.state.pool, app.state.vault = pool, vault
    vaults.install(vault)
    headers = {"Authorization": f"Bearer {mint_token(SECRET, Role.INTEGRATION)}",
               "Content-Type": "application/json"}
    postgres = psutil.Process(int((pg.pgdata / "postmaster.pid").read_text().split()[0]))
    chunks = [rows[i:i + chunk] for i in range(0, len(rows), chunk)]
    identity._NORMALISED_PHONES.clear()  # intake has not seen these phones: the CLI normalised them, not intake
    profiler = cProfile.Profile() if profile else None
    encode_cpu = 0.0
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake",
                                     timeout=120) as client:
            warm = await client.post("/v1/contacts/batch", content=_content(chunk_body(chunks[0][:5])),
                                     headers=headers)  # pools, prepared statements
            warm.raise_for_status()
            pg_cpu, cpu, started = cpu_of(postgres), time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for rows_of_chunk in chunks:
                before = time.process_time()
                content = _content(chunk_body(rows_of_chunk))
                encode_cpu += time.process_time() - before
                response = await client.post("/v1/contacts/batch", content=content, headers=headers)
                if response.status_code != 201:
                    raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
            if profiler:
                profiler.disable()
                profiler.dump_stats(profile)
            wall, cpu, pg_cpu = (time.perf_counter() - started, time.process_time() - cpu,
                                 cpu_of(postgres) - pg_cpu)
    finally:
        vaults.install(None)
        await vault.close()
        await pool.close()
    n = len(chunks)
    return {"contacts_per_s": len(rows) / wall, "ms_per_chunk": wall / n * 1000,
            "cli_encode_cpu_ms": encode_cpu / n * 1000, "intake_cpu_ms": (cpu - encode_cpu) / n * 1000,
            "postgres_cpu_ms": pg_cpu / n * 1000, "load": os.getloadavg()[0]}


@cli.command()
def main(rows: int = 10_000, chunk: int = 500, profile: Path | None = None, http: bool = False) -> None:
    batch = cards(rows)
    with tempfile.TemporaryDirectory(prefix="crm-bench-intake-") as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "pgdata")
        admin = postgres.start()
        try:
            if http:
                r = asyncio.run(post_chunks(postgres, batch, chunk, profile))
            else:
                rate = asyncio.run(store(admin, batch, chunk, profile))
        finally:
            postgres.stop()
    if http:
        print(f"POST /v1/contacts/batch in process: {len(batch)} contacts in chunks of {chunk}: "
              f"{r['contacts_per_s']:,.0f} contacts/s, {r['ms_per_chunk']:.0f} ms a chunk; CPU a chunk: CLI encoding "
              f"{r['cli_encode_cpu_ms']:.0f} ms, intake {r['intake_cpu_ms']:.0f} ms, PostgreSQL "
              f"{r['postgres_cpu_ms']:.0f} ms (load average {r['load']:.1f})")
    else:
        print(f"intake receive_batch: {len(batch)} contacts in chunks of {chunk}: {rate:,.0f} contacts/s")


if __name__ == "__main__":
    cli()
