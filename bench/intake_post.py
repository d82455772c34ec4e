"""`POST /v1/contacts` in-process: intake's app over ASGI on a fresh database and key vault (no
relay, no consumers, no other service), so that a change to the POST's path can be measured
without the whole stack's noise. Reports contacts/s and the CPU per POST of this process (the
client and intake) and of PostgreSQL (every backend).

    .venv/bin/python -m bench.intake_post [--posts 1600] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

from crm.stack import EmbeddedPostgres
from services.intake.app import build_app
from shared.auth import mint_token
from shared.events.enums import Role
from shared.runtime import vault as vaults
from shared.runtime.db import VAULT, create_pool, database_url_for, ensure_database, keep_session, migrate

from .http_intake import body

SECRET = "bench-intake-post-" + "x" * 24


def cpu_of(master: psutil.Process) -> float:
    """CPU seconds of a process and its children (PostgreSQL's postmaster and backends)."""
    total = 0.0
    for proc in [master, *master.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:  # a backend that just ended
            continue
        total += times.user + times.system
    return total


async def measure(pg: EmbeddedPostgres, posts: int, concurrency: int) -> dict:
    urls = {}
    name = uuid.uuid4().hex[:8]
    for service in ("intake", VAULT):
        await ensure_database(pg.admin_url, f"bench_{service}_{name}")
        urls[service] = database_url_for(pg.admin_url, f"bench_{service}_{name}")
        await migrate(urls[service], service)
    os.environ["CRM_AUTH_SECRET"] = SECRET
    app = build_app()
    pool = await create_pool(urls["intake"], reset=keep_session if app.state.spec.pool_keeps_session else None)
    vault = await vaults.Vault.open(urls[VAULT])
    app.state.pool, app.state.vault = pool, vault
    vaults.install(vault)
    await pool.execute("insert into consultant_teams (consultant_id, team, active, changed_at) "
                       "values ('c-001', 'bench', true, $1)", datetime.now(UTC))
    headers = {"Authorization": f"Bearer {mint_token(SECRET, Role.INTEGRATION)}"}
    postgres = psutil.Process(int((pg.pgdata / "postmaster.pid").read_text().split()[0]))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:

            async def worker(n: int) -> None:
                for _ in range(n):
                    r = await client.post("/v1/contacts", json=body(), headers=headers)
                    r.raise_for_status()

            await asyncio.gather(*(worker(20) for _ in range(concurrency)))  # warm-up: pools, prepared statements
            pg_cpu, cpu, start = cpu_of(postgres), time.process_time(), time.perf_counter()
            await asyncio.gather(*(worker(posts // concurrency) for _ in range(concurrency)))
            wall, cpu, pg_cpu = time.perf_counter() - start, time.process_time() - cpu, cpu_of(postgres) - pg_cpu
    finally:
        vaults.install(None)
        await vault.close()
        await pool.close()
    done = posts // concurrency * concurrency
    return {"contacts_per_s": done / wall, "cpu_ms_per_post": cpu / done * 1000,
            "postgres_cpu_ms_per_post": pg_cpu / done * 1000, "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1600)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crm-bench-post-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pgdata")
        pg.start()
        try:
            r = asyncio.run(measure(pg, args.posts, args.concurrency))
        finally:
            pg.stop()
    print(f"{r['contacts_per_s']:.0f} contacts/s; CPU per POST: client + intake {r['cpu_ms_per_post']:.2f} ms, "
          f"PostgreSQL {r['postgres_cpu_ms_per_post']:.2f} ms (load average {r['load']:.1f})")


if __name__ == "__main__":
    main()
