"""Read the dead-letter topic from the start, for tests that inject bad messages."""
from __future__ import annotations

import asyncio
import json

from aiokafka import AIOKafkaConsumer


async def read_dead_letters(bootstrap: str, marker: str, want: int, consumer: str | None = None,
                            timeout: float = 60) -> list[dict]:
    """Dead-letter envelopes whose original message contains `marker` (from `consumer`, if given)."""
    reader = AIOKafkaConsumer("dead-letters", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                              group_id=None, enable_auto_commit=False)
    await reader.start()
    found: list[dict] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found) < want and asyncio.get_running_loop().time() < deadline:
            for records in (await reader.getmany(timeout_ms=500)).values():
                for r in records:
                    letter = json.loads(r.value)
                    payload = letter["payload"]
                    if marker in payload["original"] and consumer in (None, payload["consumer"]):
                        found.append(letter)
    finally:
        await reader.stop()
    return found
