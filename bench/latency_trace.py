"""Where a contact's POST -> 360 time goes, hop by hop.

Starts the whole stack, posts contacts at a steady rate (as `bench.http_intake` does) and, for
each contact, lines up: the POST, each event's `recorded_at` in its producer's store, the
broker's CreateTime (the relay's send), when a bystander consumer on every topic received it,
when each service's consumer applied it (`inbox.applied_at`, its transaction's start) and
when the 360 first showed grade and task.

    .venv/bin/python -m bench.latency_trace [--rate 20] [--seconds 10]
"""
from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import asyncpg
import httpx
import typer
from aiokafka import AIOKafkaConsumer

from crm.stack import SERVICES, Stack, auth_secret, free_port
from shared.auth import mint_token
from shared.events.enums import Role
from shared.events.topics import ALL_TOPICS
from shared.runtime import kafka
from shared.runtime.db import database_url_for
from shared.settings import DEFAULT_PORTS

from .common import join_roster
from .http_intake import body

cli = typer.Typer(add_completion=False)


def pct(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


async def bystander(bootstrap: str, seen: dict, stop: asyncio.Event) -> None:
    """Every record on every topic: its CreateTime (the relay's send) and when it arrived here."""
    consumer = AIOKafkaConsumer(*ALL_TOPICS, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="latest", enable_auto_commit=False, fetch_max_wait_ms=100,
                                **kafka.client_kwargs())
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100)
            now = time.time()
            for records in batch.values():
                for r in records:
                    seen[r.key.decode() if r.key else None, r.topic].append((r.timestamp / 1000, now))
    finally:
        await consumer.stop()


async def post_and_wait(stack: Stack, headers: dict, rate: float, seconds: float, poll: float = 0.02) -> dict:
    intake = f"{stack.services['intake'].url}/v1/contacts"
    analytics = stack.services["analytics"].url
    out: dict[str, dict] = {}
    async with httpx.AsyncClient(timeout=30) as client:

        async def one():
            start = time.time()
            r = await client.post(intake, json=body(), headers=headers)
            cid = r.json()["customer_id"]
            out[cid] = {"post": start, "posted": time.time()}
            while time.time() - start < 30:
                v = await client.get(f"{analytics}/v1/customers/{cid}/360", headers=headers)
                if v.status_code == 200 and v.json().get("grade") and v.json().get("open_tasks"):
                    out[cid]["shown"] = time.time()
                    return
                await asyncio.sleep(poll)

        tasks = []
        for _ in range(int(rate * seconds)):
            tasks.append(asyncio.create_task(one()))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)
    return out


async def stored(stack: Stack, customers: list[str]) -> tuple[list, list]:
    """Every event of these customers in every store, and every inbox row for them."""
    events, applied = [], []
    for name in SERVICES:
        conn = await asyncpg.connect(database_url_for(stack.postgres.admin_url, f"crm_{name}"))
        try:
            events += [(name, *r) for r in await conn.fetch(
                """select event_id, event_type, customer_id::text, extract(epoch from recorded_at)
                   from event_store where customer_id::text = any($1)""", customers)]
            applied += [(name, *r) for r in await conn.fetch(
                "select consumer, message_id, topic, extract(epoch from applied_at) from inbox")]
        finally:
            await conn.close()
    return events, applied


async def profiled(stack: Stack, seconds: float, folder: Path) -> list[subprocess.Popen]:
    """py-spy on every service for `seconds` (raw collapsed stacks, idle frames left out)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(svc.proc.pid), "-d", str(int(seconds)), "-r", "50",
                              "-f", "raw", "-o", str(folder / f"{name}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, svc in stack.services.items()]


async def trace(rate: float, seconds: float, poll: float, profile: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="crm-bench-trace-") as tmp:
        root = Path(tmp)
        stack = Stack(root, kafka_port=free_port(), ports={n: free_port() for n in DEFAULT_PORTS})
        try:
            await asyncio.to_thread(stack.start)
            await join_roster(stack, ["c-001"])
            headers = {"Authorization": f"Bearer {mint_token(auth_secret(root), Role.INTEGRATION)}"}
            seen: dict = defaultdict(list)
            stop = asyncio.Event()
            watcher = asyncio.create_task(bystander(stack.broker.bootstrap, seen, stop))
            await asyncio.sleep(3)
            await post_and_wait(stack, headers, rate, 2)  # warm-up
            spies = await profiled(stack, seconds, profile) if profile else []
            timeline = await post_and_wait(stack, headers, rate, seconds, poll)
            for spy in spies:
                await asyncio.to_thread(spy.wait)
            await asyncio.sleep(2)
            stop.set()
            await watcher
            events, applied = await stored(stack, list(timeline))
        finally:
            await asyncio.to_thread(stack.stop)
    report(timeline, events, applied, seen)


def report(timeline: dict, events: list, applied: list, seen: dict) -> None:
    by_id = {str(e[1]): e for e in events}
    applied_at: dict[tuple[str, str], float] = {}
    for _svc, consumer, message_id, _topic, at in applied:
        if str(message_id) in by_id:
            applied_at[consumer, str(message_id)] = float(at)
    hops: dict[str, list[float]] = defaultdict(list)
    for _svc, event_id, event_type, customer, recorded in events:
        if customer not in timeline:
            continue
        t0 = timeline[customer]["post"]
        recorded = float(recorded)
        hops[f"{event_type}: recorded after POST"].append(recorded - t0)
        sent = seen.get((customer, event_type))
        if sent:
            create, arrived = sent[0]
            hops[f"{event_type}: relay sent after recorded"].append(create - recorded)
            hops[f"{event_type}: bystander got it after send"].append(arrived - create)
        for (consumer, mid), at in applied_at.items():
            if mid == str(event_id):
                hops[f"{event_type} -> {consumer}: applied after recorded"].append(at - recorded)
                if sent:
                    hops[f"{event_type} -> {consumer}: applied after send"].append(at - sent[0][0])
    for c in timeline.values():
        hops["POST answered"].append(c["posted"] - c["post"])
        if "shown" in c:
            hops["360 shows grade and task"].append(c["shown"] - c["post"])
    batches: dict[str, list[float]] = defaultdict(list)
    for _svc, consumer, _mid, _topic, at in applied:
        batches[consumer].append(float(at))
    for consumer, times in sorted(batches.items()):
        starts = sorted(set(times))
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        print(f"{consumer}: {len(times)} messages in {len(starts)} transactions; between transaction starts "
              f"p50 {pct(gaps, 50) * 1000:.0f} ms, p95 {pct(gaps, 95) * 1000:.0f} ms")
    print(f"{'hop':70s} {'n':>4s} {'p50':>7s} {'p95':>7s} {'p99':>7s}  (ms)")
    for name in sorted(hops):
        v = hops[name]
        print(f"{name:70s} {len(v):4d} {pct(v, 50) * 1000:7.1f} {pct(v, 95) * 1000:7.1f} {pct(v, 99) * 1000:7.1f}")


@cli.command()
def main(rate: float = 20.0, seconds: float = 10.0, poll: float = 0.02,
         profile: Path | None = typer.Option(None, help="folder for py-spy's collapsed stacks per service")) -> None:
    asyncio.run(trace(rate, seconds, poll, profile))


if __name__ == "__main__":
    cli()
