"""History import (issue 13): an earlier system's customers and deals taken over with
`crm import-history`, timed until every projection has caught up (analytics holds every customer
and deal, and grading's value of every buyer has reached it). Shaped like bench/analytics_history.py:
many one-off buyers, a long tail, a few heavy customers, two years of deals.

    .venv/bin/python -m bench.history_import                     # 25,000 customers
    .venv/bin/python -m bench.history_import --customers 2000
"""
from __future__ import annotations

import asyncio
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import typer

from crm.stack import Stack, auth_secret, free_port
from shared.auth import mint_token
from shared.events.enums import Role
from shared.settings import DEFAULT_PORTS

from .analytics_history import CONSULTANTS, RetailHistory
from .bulk_import import cpu_seconds, run_cli
from .common import Figure, join_roster

END = date(2026, 10, 31)


def write_files(root: Path, customers: int, seed: int) -> tuple[Path, Path, int, int]:
    """customers.csv and deals.csv; returns their paths, the deals and the buyers written."""
    rng, shape = random.Random(seed), RetailHistory(customers, seed)
    people, deals = root / "customers.csv", root / "deals.csv"
    written = buyers = 0
    with people.open("w", newline="") as p, deals.open("w", newline="") as d:
        pw, dw = csv.writer(p), csv.writer(d)
        pw.writerow(["customer_ref", "name", "phone"])
        dw.writerow(["customer_ref", "deal_ref", "closed_on", "product", "amount", "gross_profit", "consultant_id"])
        for i in range(customers):
            ref = f"H{i:06d}"
            pw.writerow([ref, f"Customer {i}", f"+86137{i:08d}"])
            n = shape._deal_count()
            buyers += n > 0
            for k in range(n):
                amount = rng.randrange(2_000, 400_000)
                dw.writerow([ref, f"{ref}-{k}", (END - timedelta(days=rng.randrange(730))).isoformat(),
                             "sedan", f"{amount}.00", f"{amount * rng.randrange(3, 15) // 100}.00",
                             rng.choice(CONSULTANTS)])
                written += 1
    return people, deals, written, buyers


async def caught_up(stack: Stack, customers: int, deals: int, buyers: int, timeout: float) -> dict[str, float]:
    """Waits until analytics holds every customer and deal and every buyer's value; returns when
    (perf counter) each of the three was first seen."""
    conn = await asyncpg.connect(stack.services["analytics"].env["CRM_DATABASE_URL"])
    seen: dict[str, float] = {}
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            n, folded, valued = await conn.fetchrow(
                "select count(*), coalesce(sum(deals), 0), count(*) filter (where valued and deals > 0)"
                " from customer_facts")
            for name, done in (("customers", n >= customers), ("deals", folded >= deals), ("valued", valued >= buyers)):
                if done:
                    seen.setdefault(name, time.perf_counter())
            if len(seen) == 3:
                if os.environ.get("BENCH_EVENT_COUNTS"):
                    rows = await conn.fetch("select event_type, count(*) from event_log group by 1 order by 2 desc")
                    print({r[0]: r[1] for r in rows}, file=sys.stderr)
                return seen
            await asyncio.sleep(1)
    finally:
        await conn.close()
    raise TimeoutError(f"projections did not catch up in {timeout} s")


async def first_deal(stack: Stack) -> float:
    """When follow-up takes its first deal in (the customers' phase is over), by the perf counter."""
    conn = await asyncpg.connect(stack.services["followup"].env["CRM_DATABASE_URL"])
    try:
        while not await conn.fetchval("select exists(select 1 from deals)"):
            await asyncio.sleep(0.5)
        return time.perf_counter()
    finally:
        await conn.close()


def profiled(stack: Stack, services: list[str], folder: Path | None) -> list[subprocess.Popen]:
    """py-spy recording each of these services (raw, idle frames left out) until stopped."""
    if folder is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking", "-r", "50",
                              "-f", "raw", "-o", str(folder / f"{name}.txt"), "--pid",
                              str(stack.services[name].proc.pid)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for name in services]


def stop(recorders: list[subprocess.Popen]) -> None:
    for r in recorders:
        r.send_signal(signal.SIGINT)
    for r in recorders:
        r.wait(timeout=60)


async def watch(stack: Stack, every: float = 5.0) -> None:
    """Where the events are, every few seconds (stderr): follow-up's outbox not yet published, the deals
    in grading's facts, the deals in analytics' log and folded (to see which projection is behind)."""
    conns = {name: await asyncpg.connect(stack.services[name].env["CRM_DATABASE_URL"])
             for name in ("followup", "grading", "analytics")}
    started = time.perf_counter()
    try:
        while True:
            outbox = await conns["followup"].fetchval("select count(*) from outbox_pending")
            deals = await conns["followup"].fetchval("select count(*) from deals")
            logged = await conns["analytics"].fetchval(
                "select count(*) from event_log where event_type = 'deal-closed'")
            folded = await conns["analytics"].fetchval("select coalesce(sum(deals), 0) from customer_facts")
            print(f"{time.perf_counter() - started:6.0f} s: follow-up deals {deals} outbox {outbox}, "
                  f"analytics logged {logged} folded {folded}", file=sys.stderr, flush=True)
            await asyncio.sleep(every)
    finally:
        for c in conns.values():
            await c.close()


async def run(customers: int = 25_000, seed: int = 2026, timeout: float = 1800,
              profile: Path | None = None, chunk: int | None = None, consumer_batch: int | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="crm-bench-history-") as tmp:
        root = Path(tmp)
        people, deals, written, buyers = write_files(root, customers, seed)
        stack = Stack(root / "stack", kafka_port=free_port(), ports={n: free_port() for n in DEFAULT_PORTS},
                      extra_env={"CRM_CONSUMER_BATCH": str(consumer_batch)} if consumer_batch else {})
        try:
            await asyncio.to_thread(stack.start)
            await join_roster(stack, list(CONSULTANTS))
            token = mint_token(auth_secret(stack.root), Role.MANAGER)
            cpu_before = cpu_seconds(stack)
            recorders = profiled(stack, ["intake", "followup", "grading", "analytics"], profile)
            started = time.perf_counter()
            deals_from = asyncio.create_task(first_deal(stack))
            watching = asyncio.create_task(watch(stack)) if profile else None
            cli_seconds, _ = await asyncio.to_thread(run_cli, [
                "import-history", "--customers", str(people), "--deals", str(deals),
                "--intake-url", stack.services["intake"].url, "--followup-url", stack.services["followup"].url,
                "--token", token, *(["--chunk", str(chunk)] if chunk else [])])
            cli_done = time.perf_counter()
            seen = await caught_up(stack, customers, written, buyers, timeout)
            total = time.perf_counter() - started
            behind = {f"{name}_after_cli": round(max(0.0, at - cli_done), 1) for name, at in seen.items()}
            customers_seconds = await deals_from - started
            stop(recorders)
            if watching:
                watching.cancel()
            cpu = {k: round(v - cpu_before[k], 1) for k, v in cpu_seconds(stack).items()}
        finally:
            await asyncio.to_thread(stack.stop)
    return {"customers": customers, "deals": written, "buyers": buyers, "cli_seconds": round(cli_seconds, 1),
            "customers_seconds": round(customers_seconds, 1), "deals_seconds": round(cli_seconds - customers_seconds, 1),
            "until_caught_up_seconds": round(total, 1), "analytics_seconds": behind, "cpu_seconds": cpu,
            "load_average": [round(x, 1) for x in os.getloadavg()]}


def figures(result: dict) -> list[Figure]:
    return [Figure("history import until every projection caught up", "s", result["until_caught_up_seconds"],
                   size=result["customers"], notes=result)]


cli = typer.Typer(add_completion=False)


@cli.command()
def main(customers: int = 25_000, seed: int = 2026, timeout: float = 1800,
         profile: Path = typer.Option(None, help="a folder for py-spy's raw stacks of each service"),
         chunk: int = typer.Option(None, help="rows per request (default: the CLI's)"),
         consumer_batch: int = typer.Option(None, help="the services' consumer batch (default: settings')")) -> None:
    result = asyncio.run(run(customers, seed, timeout, profile, chunk, consumer_batch))
    print(json.dumps(result, indent=2))
    print(f"history import of {result['customers']:,} customers / {result['deals']:,} deals until every projection "
          f"caught up: {result['until_caught_up_seconds']} s (target < 120 s; the CLI alone {result['cli_seconds']} s)")


if __name__ == "__main__":
    sys.exit(cli())
