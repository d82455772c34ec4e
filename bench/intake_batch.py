"""Intake's batch storing alone: `receive_batch` on generated business cards, in process.

No HTTP, no broker, no consumers: what one `POST /v1/contacts/batch` costs the
intake service itself (validation done, identity resolution, card, contact and
outbox rows, sealing with the key vault), chunk after chunk as `crm import` sends
them. `--profile FILE` writes a cProfile of the storing (view with pstats or snakeviz).

    .venv/bin/python -m bench.intake_batch --rows 10000 [--profile /tmp/intake.prof]
"""
from __future__ import annotations

import asyncio
import cProfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import typer

from crm.stack import EmbeddedPostgres
from services.intake import contacts
from services.intake.domain.cards_import import import_rows
from services.intake.domain.contacts import ContactIn
from services.intake.domain.sample_cards import sample_card_rows
from shared.runtime import vault as vaults
from shared.runtime.db import VAULT, create_pool, database_url_for, ensure_database, migrate

cli = typer.Typer(add_completion=False)


def cards(rows: int, seed: int = 11) -> list[ContactIn]:
    """The valid, file-deduplicated rows of a generated card file, as the CLI sends them."""
    table = ((n, row) for n, row in enumerate(sample_card_rows(rows, seed=seed), start=1))
    return [r for r in import_rows(table, import_batch=f"bench-{seed}") if isinstance(r, ContactIn)]


async def store(admin_url: str, rows: list[ContactIn], chunk: int, profile: Path | None) -> float:
    url = database_url_for(admin_url, "bench_intake")
    vault_url = database_url_for(admin_url, "bench_vault")
    for name, u, service in (("bench_intake", url, "intake"), ("bench_vault", vault_url, VAULT)):
        await ensure_database(admin_url, name)
        await migrate(u, service)
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


@cli.command()
def main(rows: int = 10_000, chunk: int = 500, profile: Path | None = None) -> None:
    batch = cards(rows)
    with tempfile.TemporaryDirectory(prefix="crm-bench-intake-") as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "pgdata")
        admin = postgres.start()
        try:
            rate = asyncio.run(store(admin, batch, chunk, profile))
        finally:
            postgres.stop()
    print(f"intake receive_batch: {len(batch)} contacts in chunks of {chunk}: {rate:,.0f} contacts/s")


if __name__ == "__main__":
    cli()
