"""Kafka clients with the settings the architecture notes require."""
from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from ..logging import get_logger

log = get_logger(__name__)
SEND_TIMEOUT = 15.0  # sends and stop() can wait forever with the broker gone


def producer(bootstrap: str) -> AIOKafkaProducer:
    # Tansu has no idempotent producer; ordering per key holds with one in-flight batch.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=False, acks="all",
        linger_ms=2, max_batch_size=256 * 1024, request_timeout_ms=10_000,
        max_request_size=2 * 1024 * 1024,
    )


def consumer(bootstrap: str, group_id: str | None, *topics: str, max_records: int = 200) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, group_id=group_id,
        enable_auto_commit=False, auto_offset_reset="earliest",
        session_timeout_ms=6_000, heartbeat_interval_ms=1_000,
        max_poll_records=max_records, max_poll_interval_ms=120_000,
        request_timeout_ms=10_000, metadata_max_age_ms=5_000,
    )


async def ensure_topics(bootstrap: str, topics: Iterable[str], partitions: int, replication: int = 1) -> None:
    """Create topics explicitly (auto-created ones get the broker's defaults)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, partitions, replication) for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except KafkaError as exc:  # a concurrent creator won: fine
                log.info("create_topics", error=str(exc))
    finally:
        await admin.close()


async def stop_quietly(client: AIOKafkaProducer | AIOKafkaConsumer) -> None:
    try:
        await asyncio.wait_for(client.stop(), SEND_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - shutting down anyway
        log.warning("kafka_stop_failed", error=str(exc))
