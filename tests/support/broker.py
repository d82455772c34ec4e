"""Publishing envelopes straight to the stack's broker, as a producer (or an intruder) would."""
from __future__ import annotations

from shared.events.envelope import Envelope
from shared.runtime import kafka


async def publish(stack, *envelopes: Envelope) -> None:
    """Each envelope on its type's topic, keyed by its customer (the order given is kept per key)."""
    producer = kafka.producer(stack.broker.bootstrap)
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(envelope.event_type, envelope.to_json(), key=envelope.key)
    finally:
        await kafka.stop_quietly(producer)
