"""Follow-up's and grading's consumers applying contact-received (the bulk import's events).

Two measures:
- `apply_rate`: the consumer's own batch step (`EventConsumer.apply_batch`: decode, inbox claim,
  handlers, after_batch) on recorded messages, no broker: what the service's code costs, with
  the statements it sends per batch (asyncpg's query logger), the consumer process's own CPU
  time per batch (steadier than the wall clock on a shared machine) and, with --profile,
  cProfile's top (--profile-sort cumulative for the call tree's heavy branches).
- `consume_rate`: the same consumer fed by Apache Kafka, as in a running service (bench.run).

    .venv/bin/python -m bench.consumers [--n 5000] [--batch 200] [--profile]
"""
from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import typer
from aiokafka import ConsumerRecord, TopicPartition

from services.followup.domain import DEFAULT_POLICY as FOLLOWUP_POLICY
from services.followup.handlers import FollowUpHandlers
from services.grading.domain import DEFAULT_POLICY as GRADING_POLICY
from services.grading.handlers import GradingHandlers
from services.grading.values import Valuation
from shared.business_time import business_day
from shared.events.contract import ContactReceived
from shared.events.enums import Channel, PurchaseTimeframe
from shared.events.envelope import Envelope, new_event
from shared.events.topics import ALL_TOPICS
from shared.runtime import kafka
from shared.runtime.consumer import EventConsumer, settle_heap
from shared.runtime.db import create_pool

from .common import Figure, Infra, applied_rate, timed

TOPIC = "contact-received"
PARTITIONS = 4
CONSULTANTS = [f"c-{i:03d}" for i in range(20)]


def contacts(n: int) -> list[Envelope]:
    """n first contacts of n new customers as an import sends them: a third name a consultant on the
    roster, the rest go to the least loaded; a timeframe, so grading grades them."""
    out = []
    for i in range(n):
        payload = ContactReceived(contact_id=uuid.uuid4(), channel=Channel.BULK_IMPORT, name=f"Customer {i}",
                                  phone=f"+86139{i:08d}", purchase_timeframe=PurchaseTimeframe.WITHIN_1_MONTH,
                                  consultant_id=CONSULTANTS[i % 20] if i % 3 == 0 else None)
        out.append(new_event(payload, customer_id=uuid.uuid4(), producer="bench"))
    return out


def records(events: list[Envelope]) -> list[ConsumerRecord]:
    """The events as the broker hands them over (partitioned by customer, offsets per partition)."""
    offsets: Counter = Counter()
    out = []
    for e in events:
        p = e.customer_id.int % PARTITIONS
        body = e.to_json()
        out.append(ConsumerRecord(TOPIC, p, offsets[p], 0, 0, e.key, body, None, 0, len(body), ()))
        offsets[p] += 1
    return out


def consumer_of(service: str, pool, bootstrap: str = "", name: str | None = None) -> EventConsumer:
    """The service's consumer as its app wires it (handlers, after_batch), on `pool`."""
    now = lambda: datetime.now(UTC)  # noqa: E731
    if service == "followup":
        fu = FollowUpHandlers(FOLLOWUP_POLICY, now)
        spec = fu.consumer_spec() if hasattr(fu, "consumer_spec") else {"handlers": fu.handlers()}  # before #14
        return EventConsumer(name or "followup", "followup", pool, bootstrap, **spec)
    grading = GradingHandlers(GRADING_POLICY, Valuation(GRADING_POLICY), lambda: business_day(now()))
    spec = grading.consumer_spec() if hasattr(grading, "consumer_spec") else {
        "handlers": grading.handlers(), "after_batch": grading.after_batch}
    return EventConsumer(name or "grading", "grading", pool, bootstrap, **spec)


async def prepared(url: str, service: str) -> None:
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        await pool.executemany("insert into consultant_teams (consultant_id, team, active, changed_at) "
                               "values ($1, 'bench', true, now()) on conflict do nothing",
                               [(c,) for c in CONSULTANTS])
    finally:
        await pool.close()


async def apply_rate(infra: Infra, service: str, n: int, batch: int, profile: bool = False,
                     profile_sort: str = "tottime") -> dict:
    """Events/s of the consumer's batch step alone, the statements per batch, and the profile's top."""
    url = await infra.database(service)
    await prepared(url, service)
    pool = await create_pool(url, min_size=1, max_size=1)
    consumer = consumer_of(service, pool)
    recs = records(contacts(n))
    statements: Counter = Counter()
    waited: Counter = Counter()  # seconds per statement, by its first words

    def log(q) -> None:
        statements.update([q.query.split()[0].lower()])
        waited[" ".join(q.query.split()[:4])[:60]] += q.elapsed

    async def init(conn):  # count every statement the service sends
        conn.add_query_logger(log)

    for holder in pool._holders:  # noqa: SLF001 - the bench's own pool: log on every connection
        if holder._con is not None:  # noqa: SLF001
            await init(holder._con)  # noqa: SLF001
    settle_heap()  # as EventConsumer.run does
    profiler = cProfile.Profile() if profile else None
    cpu = time.process_time()  # this process's CPU: the Python side, less sensitive to the machine's load
    with timed() as t:
        if profiler:
            profiler.enable()
        for start in range(0, n, batch):
            chunk = recs[start:start + batch]
            by_partition: dict[TopicPartition, list[ConsumerRecord]] = {}
            for r in sorted(chunk, key=lambda r: r.partition):
                by_partition.setdefault(TopicPartition(r.topic, r.partition), []).append(r)
            await consumer.apply_batch(by_partition)
        if profiler:
            profiler.disable()
    cpu = time.process_time() - cpu
    await pool.close()
    batches = -(-n // batch)
    top = ""
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(profile_sort).print_stats(40)
        top = out.getvalue()
    return {"service": service, "events": n, "batch": batch, "events_per_s": n / t["seconds"],
            "python_cpu_ms_per_batch": round(1000 * cpu / batches, 1),
            "wall_ms_per_batch": round(1000 * t["seconds"] / batches, 1),
            "statements_per_batch": sum(statements.values()) / batches,
            "by_kind": {k: round(v / batches, 1) for k, v in statements.most_common()},
            "ms_per_batch": {k: round(1000 * v / batches, 1) for k, v in waited.most_common(8)}, "profile": top}


async def produce(bootstrap: str, events: list[Envelope]) -> None:
    producer = kafka.producer(bootstrap)
    await producer.start()
    try:
        for i in range(0, len(events), 500):
            futures = [await producer.send(TOPIC, value=e.to_json(), key=e.key) for e in events[i:i + 500]]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def consume_rate(infra: Infra, service: str, n: int) -> float:
    """The service's consumer applying n contact-received from the broker (group join not timed)."""
    url = await infra.database(service)
    await prepared(url, service)
    pool = await create_pool(url, min_size=2, max_size=4)
    consumer = consumer_of(service, pool, infra.broker.bootstrap, name=f"bench-{service}-{n}")
    consumer.handlers = {TOPIC: consumer.handlers[TOPIC]}  # subscribe to the measured topic only
    consumer.batch = 500
    return await applied_rate(consumer, pool, "select count(*) from inbox where consumer = $1", n, consumer.name)


async def run(infra: Infra, sizes: tuple[int, ...]) -> list[Figure]:
    """Per size: a fresh topic of contacts, then follow-up's and grading's consumers each applying it."""
    figures = []
    for n in sizes:
        infra.broker.wipe()
        await kafka.ensure_topics(infra.broker.bootstrap, list(ALL_TOPICS), PARTITIONS)
        await produce(infra.broker.bootstrap, contacts(n))
        for service in ("followup", "grading"):
            rate = await consume_rate(infra, service, n)
            figures.append(Figure(f"consumer: Kafka to {service} (contact-received)", "events/s", rate, size=n))
    return figures


cli = typer.Typer(add_completion=False)


@cli.command()
def main(n: int = 5000, batch: int = 200, profile: bool = False, profile_sort: str = "tottime",
         kafka_too: bool = False, services: list[str] = typer.Option(["followup", "grading"])) -> None:
    async def go():
        with tempfile.TemporaryDirectory(prefix="crm-bench-") as tmp:
            infra = Infra(Path(tmp) / "infra")
            if kafka_too:  # the rate fed by the broker, as bench.run measures it
                with infra:
                    for figure in await run(infra, (n,)):
                        print(f"{figure.name}: {figure.ours:,.0f} {figure.unit} ({figure.size} events)")
                return
            infra.postgres.start()
            try:
                for service in services:
                    result = await apply_rate(infra, service, n, batch, profile, profile_sort)
                    print(result.pop("profile"))
                    print(result)
            finally:
                infra.postgres.stop()
    asyncio.run(go())


if __name__ == "__main__":
    cli()
