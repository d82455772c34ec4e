"""Tansu, the documented fallback broker for a machine without Java (`crm up --broker tansu`),
still starts and carries messages with the producer settings the stack gives it."""
import uuid
from pathlib import Path

from crm.stack import Stack, TansuBroker, free_port
from shared.runtime import kafka
from shared.settings import Settings


async def test_tansu_fallback_starts_and_carries_messages(tmp_path: Path):
    broker = Stack(tmp_path, kafka_port=free_port(), broker_kind="tansu").make_broker()
    assert isinstance(broker, TansuBroker) and broker.idempotence is False
    broker.start()
    try:
        topic = f"fallback-{uuid.uuid4().hex[:8]}"
        await kafka.ensure_topics(broker.bootstrap, [topic], 1)
        producer = kafka.producer(broker.bootstrap, Settings(kafka_idempotence=False))
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"hello", key=b"k")
        finally:
            await kafka.stop_quietly(producer)
        consumer = kafka.consumer(broker.bootstrap, None, topic)
        await consumer.start()
        try:
            batch = await consumer.getmany(timeout_ms=10_000)
        finally:
            await kafka.stop_quietly(consumer)
        assert [r.value for records in batch.values() for r in records] == [b"hello"]
    finally:
        broker.stop()
