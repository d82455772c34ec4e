"""Replay: rebuild every analytics projection from its event log, versus just
reading and decoding the same events (the floor any rebuild stands on)."""
from __future__ import annotations

import asyncio
import os
import random
import resource
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from services.analytics.replay import rebuild
from shared.events.contract import (ContactReceived, DealClosed, DealItem, FollowUpLogged, ProspectGraded,
                                    TaskScheduled)
from shared.events.enums import Channel, ContactMethod, FollowUpOutcome, IntentGrade
from shared.events.envelope import Envelope, new_event
from shared.runtime.db import create_pool

from .common import Figure, Infra, timed

START = datetime(2026, 1, 1, tzinfo=UTC)


def customer_history(rng: random.Random) -> list[Envelope]:
    """About ten events: a contact, grades, tasks, follow-ups and, for some, a deal."""
    cid, consultant = uuid.uuid4(), f"c-{rng.randrange(20):03d}"
    at = START + timedelta(minutes=rng.randrange(300 * 24 * 60))

    def ev(payload, minutes):
        return new_event(payload, customer_id=cid, producer="bench", occurred_at=at + timedelta(minutes=minutes))

    out = [ev(ContactReceived(contact_id=uuid.uuid4(), channel=rng.choice(list(Channel)), consultant_id=consultant,
                              phone=f"+86139{rng.randrange(10**8):08d}", campaign=rng.choice([None, "spring"])), 0)]
    grade = IntentGrade.C
    for step in range(4):
        grade = rng.choice([IntentGrade.C, IntentGrade.B, IntentGrade.A, IntentGrade.H])
        out.append(ev(ProspectGraded(grade=grade, rule="timeframe", policy_version="bench"), 10 + step * 1440))
        task = uuid.uuid4()
        out.append(ev(TaskScheduled(task_id=task, kind="cadence", owner_id=consultant,
                                    due_at=at + timedelta(days=step + 1)), 11 + step * 1440))
        if step < 3:
            out.append(ev(FollowUpLogged(task_id=task, kind="cadence", consultant_id=consultant,
                                         method=ContactMethod.PHONE, outcome=FollowUpOutcome.REACHED,
                                         completed_at=at + timedelta(days=step + 1)), 20 + step * 1440))
    if rng.random() < 0.3:
        out.append(ev(DealClosed(deal_id=uuid.uuid4(), consultant_id=consultant, amount=Decimal("150000"),
                                 gross_profit=Decimal(rng.randrange(-2000, 20000)), closed_on=at.date(),
                                 items=[DealItem(product="sedan", quantity=1, unit_price=Decimal("150000"))]),
                      6 * 1440))
    return out


async def fill_event_log(pool, n_events: int, seed: int = 7) -> int:
    rng, written = random.Random(seed), 0
    async with pool.acquire() as conn:
        while written < n_events:
            rows = []
            while len(rows) < 5000 and written + len(rows) < n_events:
                rows += [(e.event_id, e.event_type, e.customer_id, e.occurred_at, e.model_dump_json())
                         for e in customer_history(rng)]
            await conn.copy_records_to_table("event_log", records=rows,
                                             columns=["event_id", "event_type", "customer_id", "occurred_at",
                                                      "envelope"])
            written += len(rows)
    return written


async def read_and_decode(pool) -> float:
    with timed() as t:
        async with pool.acquire() as conn, conn.transaction():
            n = 0
            async for row in conn.cursor("select envelope::text from event_log order by customer_id, occurred_at",
                                         prefetch=5000):
                Envelope.model_validate_json(row[0])
                n += 1
    return n / t["seconds"]


def python_cpu() -> float:
    """CPU seconds of this process and its finished children (the replay's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def postgres_cpu(pgdata: Path) -> float:
    """CPU seconds of the PostgreSQL server: the postmaster, its live backends and those it reaped."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    ticks = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(proc.name) == postmaster:
            ticks += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
        elif int(fields[1]) == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


async def run(infra: Infra, sizes: tuple[int, ...]) -> list[Figure]:
    """Rates next to the read+decode baseline, and the CPU each event cost (Python, workers included, and
    PostgreSQL): the figure that other work on the same cores does not move much."""
    figures = []
    for n in sizes:
        url = await infra.database("analytics")
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            n = await fill_event_log(pool, n)
            async with pool.acquire() as conn:
                # A log at rest, as a service's has long been: the bulk load's first readers would
                # otherwise set every row's hint bits and autovacuum would start on the fresh table,
                # and the replay's swap waits for its SHARE lock until autovacuum gives way (1 s).
                await conn.execute("vacuum analyze event_log")
            cpu, pg = python_cpu(), postgres_cpu(infra.postgres.pgdata)
            baseline = await read_and_decode(pool)
            base_cpu = {"baseline python cpu us/event": round((python_cpu() - cpu) / n * 1e6, 1),
                        "baseline postgres cpu us/event": round((postgres_cpu(infra.postgres.pgdata) - pg) / n * 1e6, 1)}
            cpu, pg = python_cpu(), postgres_cpu(infra.postgres.pgdata)
            with timed() as t:
                result = await rebuild(pool, database_url=url, workers=2)
            figures.append(Figure("replay: rebuild all projections", "events/s", n / t["seconds"], baseline,
                                  "read + decode the same events", n, notes={
                                      "customers": result["customers"],
                                      "python cpu us/event": round((python_cpu() - cpu) / n * 1e6, 1),
                                      "postgres cpu us/event": round(
                                          (postgres_cpu(infra.postgres.pgdata) - pg) / n * 1e6, 1),
                                      **base_cpu, "load average": round(os.getloadavg()[0], 1)}))
        finally:
            await pool.close()
    return figures


if __name__ == "__main__":  # quick look: python -m bench.replay
    import tempfile

    async def main():
        with tempfile.TemporaryDirectory() as tmp, Infra(Path(tmp)) as infra:
            for f in await run(infra, (20_000,)):
                print(f.as_dict())

    asyncio.run(main())
