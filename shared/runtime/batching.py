"""Consumers that apply a whole batch in one step, in a fixed number of statements.

The consumer (shared.runtime.consumer) hands its handlers one message at a time, then calls
its `after_batch` step once with every message just claimed, in order. A service whose work is
set-based registers `in_batch` for its topics and does everything in `after_batch`: the inbox
claim, the dead-letter isolation (a failing step makes the consumer redo the batch one message
at a time, each through the same step alone) and exactly-once stay the consumer's.
"""
from __future__ import annotations

import asyncpg

from .consumer import AfterBatch, Handler, Inbound


async def in_batch(conn: asyncpg.Connection, inbound: Inbound) -> None:
    """Nothing yet: the message is applied, in its place in the batch, by the batch step."""


def applied_by_batch(topics: dict[str, Handler] | list[str], step: AfterBatch) -> dict:
    """An EventConsumer's `handlers` and `after_batch` for consuming `topics` through `step` alone."""
    return {"handlers": dict.fromkeys(topics, in_batch), "after_batch": step}
