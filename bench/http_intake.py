"""HTTP intake with the whole pipeline running: sustained contacts/s and the
end-to-end latency from the POST until the 360 shows the grade and first task."""
from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from crm.stack import Stack, auth_secret, free_port, _wait_for_port
from shared.auth import mint_token
from shared.events.enums import Role
from shared.runtime.db import database_url_for, ensure_database
from shared.settings import DEFAULT_PORTS

from .common import Figure, join_roster

CONCURRENCY = 32


def body() -> dict:
    return {"channel": "walk_in", "name": "Bench", "phone": f"+86139{uuid.uuid4().int % 10**8:08d}",
            "purchase_timeframe": "within_7_days", "consultant_id": "c-001"}


async def sustained_rate(url: str, headers: dict, seconds: float) -> float:
    done = 0
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=CONCURRENCY)) as client:
        deadline = time.perf_counter() + seconds

        async def worker():
            nonlocal done
            while time.perf_counter() < deadline:
                r = await client.post(url, json=body(), headers=headers)
                if r.status_code == 201:
                    done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return done / (time.perf_counter() - start)


async def end_to_end_latency(stack: Stack, headers: dict, rate: float, seconds: float) -> list[float]:
    intake = f"{stack.services['intake'].url}/v1/contacts"
    analytics = stack.services["analytics"].url
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=30) as client:

        async def one():
            start = time.perf_counter()
            r = await client.post(intake, json=body(), headers=headers)
            cid = r.json()["customer_id"]
            while time.perf_counter() - start < 30:
                v = await client.get(f"{analytics}/v1/customers/{cid}/360", headers=headers)
                if v.status_code == 200 and v.json().get("grade") and v.json().get("open_tasks"):
                    latencies.append(time.perf_counter() - start)
                    return
                await asyncio.sleep(0.02)

        tasks = []
        for _ in range(int(rate * seconds)):
            tasks.append(asyncio.create_task(one()))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)
    return latencies


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


async def run(quick: bool) -> list[Figure]:
    seconds = 4 if quick else 15
    with tempfile.TemporaryDirectory(prefix="crm-bench-http-") as tmp:
        root = Path(tmp)
        stack = Stack(root, kafka_port=free_port(), ports={n: free_port() for n in DEFAULT_PORTS})
        baseline = None
        try:
            await asyncio.to_thread(stack.start)
            await join_roster(stack, ["c-001"])  # the contacts below name c-001
            headers = {"Authorization": f"Bearer {mint_token(auth_secret(root), Role.INTEGRATION)}"}
            admin = stack.postgres.admin_url
            await ensure_database(admin, "bench_baseline")
            port = free_port()
            env = {**os.environ, "BASELINE_DATABASE_URL": database_url_for(admin, "bench_baseline"),
                   "BASELINE_KAFKA": stack.broker.bootstrap, "BASELINE_PORT": str(port)}
            baseline = subprocess.Popen([sys.executable, "-m", "bench.baseline_app"], env=env)
            _wait_for_port(port, 30)
            await sustained_rate(f"http://127.0.0.1:{port}/v1/contacts", {}, 1)  # warm-up
            base = await sustained_rate(f"http://127.0.0.1:{port}/v1/contacts", {}, seconds)
            baseline.terminate()
            intake_url = f"{stack.services['intake'].url}/v1/contacts"
            await sustained_rate(intake_url, headers, 1)
            ours = await sustained_rate(intake_url, headers, seconds)
            await asyncio.sleep(5)  # let the pipeline drain before measuring latency
            offered = 20.0
            lat = await end_to_end_latency(stack, headers, offered, seconds)
        finally:
            if baseline is not None and baseline.poll() is None:
                baseline.terminate()
            await asyncio.to_thread(stack.stop)
    notes = {"offered_per_s": offered, "samples": len(lat)}
    return [
        Figure("HTTP intake, whole pipeline running", "contacts/s", ours, base,
               "FastAPI POST: 1 INSERT + 1 Kafka send", notes={"concurrency": CONCURRENCY}),
        Figure("POST -> 360 shows grade and task, p50", "ms", percentile(lat, 50) * 1000, notes=notes),
        Figure("POST -> 360 shows grade and task, p95", "ms", percentile(lat, 95) * 1000, notes=notes),
        Figure("POST -> 360 shows grade and task, p99", "ms", percentile(lat, 99) * 1000, notes=notes),
    ]
