"""Bulk import: `crm import` of generated business cards into the running stack,
timed until every projection has caught up, with the CLI's peak memory; the
baseline is the same CLI pipeline (read, validate, de-duplicate) with no server."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from crm.stack import Stack, auth_secret, free_port
from services.intake.domain.sample_cards import write_sample_cards
from shared.auth import mint_token
from shared.events.enums import Role
from shared.settings import DEFAULT_PORTS

from .common import Figure, postgres_cpu_seconds

# Runs the CLI in a child process and reports its peak resident memory. VmHWM, not
# ru_maxrss: Linux carries ru_maxrss over fork and exec, so it would report the parent's.
_WRAPPER = """
import json, sys
from crm.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print(json.dumps({"peak_rss_kib": int(hwm.split()[1])}), file=sys.stderr)
"""


def run_cli(args: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *args], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"crm import failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    peak = json.loads(done.stderr.strip().splitlines()[-1])["peak_rss_kib"]
    return elapsed, peak


def pipeline_only(path: Path) -> float:
    """The CLI's front end alone: parse, validate and de-duplicate, no HTTP."""
    from services.intake.cli import ImportChannel, _results

    started = time.perf_counter()
    n = sum(1 for _ in _results(path, "bench", ImportChannel.BULK_IMPORT, None))
    return n / (time.perf_counter() - started)


async def caught_up(stack: Stack, accepted: int, timeout: float = 1800) -> None:
    """Every accepted card is graded, has its first task, and is in the analytics summary."""
    conn = await asyncpg.connect(stack.services["analytics"].env["CRM_DATABASE_URL"])
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # the summary (a view over the facts) is counted only once the tasks are all there: the
            # polling is PostgreSQL work the import did not cause, so it is kept small
            tasks = await conn.fetchval("select count(*) from event_log where event_type = 'task-scheduled'")
            if tasks >= accepted and await conn.fetchval("select count(*) from customer_summary") >= accepted:
                return
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    raise TimeoutError("projections did not catch up")


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU time so far of each part of the stack (PostgreSQL: `postgres_cpu_seconds`)."""
    import psutil

    def total(proc: psutil.Process) -> float:
        return sum(proc.cpu_times()[:2])

    out = {name: total(psutil.Process(svc.proc.pid)) for name, svc in stack.services.items()}
    out["kafka"] = total(psutil.Process(stack.broker.proc.pid))
    out["postgres"] = postgres_cpu_seconds(stack.postgres)
    return out


async def measure(rows: int) -> Figure:
    with tempfile.TemporaryDirectory(prefix="crm-bench-import-") as tmp:
        root = Path(tmp)
        path = root / "cards.csv"
        plan = write_sample_cards(path, rows, seed=11)
        baseline = pipeline_only(path)
        stack = Stack(root / "stack", kafka_port=free_port(), ports={n: free_port() for n in DEFAULT_PORTS})
        try:
            await asyncio.to_thread(stack.start)
            token = mint_token(auth_secret(stack.root), Role.MANAGER)
            cpu_before = cpu_seconds(stack)
            started = time.perf_counter()
            cli_seconds, peak_kib = await asyncio.to_thread(run_cli, [
                "import", str(path), "--url", stack.services["intake"].url, "--token", token,
                "--report", str(root / "rejected.csv")])
            await caught_up(stack, plan.expected_accepted)
            total = time.perf_counter() - started
            cpu = {k: round(v - cpu_before[k], 1) for k, v in cpu_seconds(stack).items()}
        finally:
            await asyncio.to_thread(stack.stop)
    return Figure("bulk import until every projection caught up", "contacts/s", plan.expected_accepted / total,
                  baseline, "CLI read + validate + dedup, no server", rows,
                  notes={"accepted": plan.expected_accepted, "cli_seconds": round(cli_seconds, 1),
                         "cli_peak_rss_mib": round(peak_kib / 1024, 1), "cpu_seconds": cpu,
                         "wall_seconds": round(total, 1)})


async def run(sizes: tuple[int, ...]) -> list[Figure]:
    figures = []
    for rows in sizes:
        figures.append(await measure(rows))
        figures.append(Figure("bulk import: CLI peak memory", "MiB", figures[-1].notes["cli_peak_rss_mib"],
                              size=rows))
    return figures
