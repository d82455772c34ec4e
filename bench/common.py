"""What every benchmark shares: the embedded infrastructure, timing, results."""
from __future__ import annotations

import asyncio
import platform
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crm.stack import ApacheKafka, EmbeddedPostgres, free_port
from shared.events.contract import ContactReceived
from shared.events.enums import Channel
from shared.events.envelope import Envelope, new_event
from shared.runtime.db import database_url_for, ensure_database, migrate


@dataclass
class Figure:
    """One measured figure next to its baseline from the same run."""

    name: str
    unit: str
    ours: float
    baseline: float | None = None
    baseline_name: str = ""
    size: int | None = None
    notes: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline else self.ours / self.baseline

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


@contextmanager
def timed():
    box = {}
    start = time.perf_counter()
    yield box
    box["seconds"] = time.perf_counter() - start


def postgres_cpu_seconds(postgres: EmbeddedPostgres) -> float:
    """CPU time so far of the PostgreSQL server: the postmaster and its processes, those that have
    exited included (autovacuum workers come and go, and the postmaster reaps them)."""
    import psutil

    postmaster = psutil.Process(postgres.server.get_pid())
    own = postmaster.cpu_times()
    live = 0.0
    for p in postmaster.children(recursive=True):
        try:
            live += sum(p.cpu_times()[:2])
        except psutil.NoSuchProcess:  # exited since it was listed: the postmaster's children times have it
            pass
    return own.user + own.system + own.children_user + own.children_system + live


class Infra:
    """One embedded PostgreSQL and one Apache Kafka broker for a benchmark run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres = EmbeddedPostgres(root / "pgdata")
        self.broker = ApacheKafka(root / "kafka", free_port())

    def __enter__(self) -> Infra:
        self.postgres.start()
        self.broker.start()
        return self

    def __exit__(self, *exc) -> None:
        self.broker.stop()
        self.postgres.stop()

    async def database(self, service: str, migrated: bool = True) -> str:
        name = f"bench_{service}_{uuid.uuid4().hex[:8]}"
        await ensure_database(self.postgres.admin_url, name)
        url = database_url_for(self.postgres.admin_url, name)
        if migrated:
            await migrate(url, service)
        return url


def sample_contacts(n: int) -> list[Envelope]:
    """n contact-received events for n distinct customers."""
    out = []
    for i in range(n):
        payload = ContactReceived(contact_id=uuid.uuid4(), channel=Channel.WALK_IN, name=f"Customer {i}",
                                  phone=f"+86139{i:08d}", consultant_id=f"c-{i % 20:03d}")
        out.append(new_event(payload, customer_id=uuid.uuid4(), producer="bench"))
    return out


def machine() -> dict:
    def run(cmd: str) -> str:
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=5).stdout.strip()
        except Exception:  # noqa: BLE001 - best effort description
            return ""

    return {"python": platform.python_version(), "cpus": run("nproc"),
            "cpu_model": run("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
            "memory": run("free -h | awk '/Mem:/{print $2}'"), "kernel": platform.release()}


async def join_roster(stack, consultants: list[str], team: str = "bench", timeout: float = 30) -> None:
    """Register consultants on follow-up's roster and wait until intake accepts contacts naming them
    (a contact may only name a consultant on the roster; the roster reaches intake as events)."""
    import asyncio

    import httpx

    from crm.stack import auth_secret
    from shared.auth import mint_token
    from shared.events.enums import Role

    manager = {"Authorization": f"Bearer {mint_token(auth_secret(stack.root), Role.MANAGER)}"}
    async with httpx.AsyncClient(timeout=10) as client:
        for consultant in consultants:
            r = await client.post(f"{stack.services['followup'].url}/v1/consultants", headers=manager,
                                  json={"consultant_id": consultant, "team": team})
            r.raise_for_status()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:  # one probe contact per consultant, until intake takes it
            r = await client.post(f"{stack.services['intake'].url}/v1/contacts", headers=manager, json={
                "channel": "walk_in", "phone": f"+86136{uuid.uuid4().int % 10**8:08d}",
                "consultant_id": consultants[-1]})
            if r.status_code == 201:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"intake never accepted consultant {consultants[-1]}: {r.text[:200]}")
            await asyncio.sleep(0.2)


async def applied_rate(consumer, pool, applied_sql: str, n: int, *args) -> float:
    """Events/s of `consumer` (an EventConsumer on `pool`) until `applied_sql` counts n applied;
    joining the group is not timed."""
    task = asyncio.create_task(consumer.run())
    try:
        async with pool.acquire() as conn:
            while not consumer.assigned:
                await asyncio.sleep(0.05)
            with timed() as t:
                while await conn.fetchval(applied_sql, *args) < n:
                    await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pool.close()
    return n / t["seconds"]
