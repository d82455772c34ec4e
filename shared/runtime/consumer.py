"""The consumer loop: apply each message once, in a transaction with its inbox row.

For each batch: one database transaction; each message in a savepoint. The
message id goes into the inbox in the same transaction as the effect, so a
redelivered message changes nothing. A message that cannot be applied (bad
JSON, unknown type, a rule it breaks) is rolled back to its savepoint and
recorded as a `dead-letters` event in the outbox, in the same transaction, so
the dead letter is as durable as any other event. Offsets are committed only
after the database commit. A transient failure (database or network gone)
rolls the whole batch back, seeks back and retries with backoff.

A consumer may also name an `after_batch` step, run once per batch in the same
transaction with every message just applied: work that depends on the set of
messages rather than on each (a projection refreshed once per customer per
batch instead of once per event). A topic's handler may be a `BatchHandler`:
it gets all the batch's messages of its topic in one call (the owners' and the
roster's projection: one statement per batch, not one per event).

Sealed personal fields (shared.pii_seal) are opened before the payload is
decoded, with one key-vault query per batch for the customers whose envelopes
carry sealed fields: a handler's `Inbound.payload` is the plaintext model
(personal fields erased once the customer's key is destroyed), while
`Inbound.envelope` stays the envelope as sent, sealed, so what a consumer
stores of it holds ciphertext only.
"""
from __future__ import annotations

import asyncio
import gc
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception, stop_never, wait_exponential

from ..events.contract import DeadLetter
from ..events.envelope import Envelope, EventPayload, new_event
from ..events.registry import decode
from ..logging import get_logger
from ..metrics import CONSUMER_LAG, DEAD_LETTERS, EVENTS_CONSUMED
from ..pii_seal import SealError, unseal_envelope
from . import kafka
from . import vault as vaults
from .db import UNAVAILABLE, plan_for_this_batch
from .store import append
from .supervise import keep_running

log = get_logger(__name__)

TRANSIENT = (*UNAVAILABLE, asyncpg.SerializationError, asyncpg.DeadlockDetectedError)
NAMESPACE = uuid.UUID("9b7e3a52-1c1f-4e7a-9d8e-6d1c2f0a4b11")


class _Isolate(Exception):
    """A handler failed in the fast path: redo the batch one message at a time."""


class PoisonMessage(Exception):
    """The message can never be applied; it goes to the dead-letter topic."""


@dataclass(frozen=True)
class Inbound:
    """A decoded message: its deduplication id, the customer and what to apply."""

    message_id: uuid.UUID
    customer_id: uuid.UUID | None
    envelope: Envelope | None
    payload: object


Handler = Callable[[asyncpg.Connection, Inbound], Awaitable[None]]
AfterBatch = Callable[[asyncpg.Connection, list[Inbound]], Awaitable[None]]
Decoder = Callable[[ConsumerRecord], Inbound]


@dataclass(frozen=True)
class BatchHandler:
    """A topic's handler that takes every message of its topic in a batch at once, in their order,
    with a fixed number of statements. The consumer calls it once per batch, after the batch's
    per-message handlers and before `after_batch`: for a topic whose rows no other handler of the
    same consumer reads within the batch (the owners' and the roster's projection). Called with
    one message (the one-by-one path, tests) it applies that one."""

    apply: AfterBatch

    async def __call__(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        await self.apply(conn, [inbound])


_heap_settled = False


def settle_heap() -> None:
    """Once per process, when the service is loaded: what exists by then (modules, models, schemas:
    about 150,000 objects) is left out of the collector's full passes. A batch makes thousands of
    short-lived objects, and each full pass walked all those long-lived ones again (in
    bench.consumers the collector's time fell by more than half)."""
    global _heap_settled
    if not _heap_settled:
        _heap_settled = True
        gc.collect()
        gc.freeze()


def read_envelope(record: ConsumerRecord) -> Envelope:
    """The canonical JSON envelope of a record, sent on its own type's topic."""
    try:
        envelope = Envelope.from_json(record.value)
    except ValidationError as exc:
        raise PoisonMessage(_validation_reason(exc, "envelope")) from None
    if envelope.event_type != record.topic:
        raise PoisonMessage(f"event_type: {envelope.event_type!r} sent on topic {record.topic!r}")
    return envelope


def open_envelope(envelope: Envelope, keys: dict[uuid.UUID, bytes]) -> Inbound:
    """Open the sealed fields with the customer's key (erased values when it is gone) and decode
    the payload, upcast to the latest version; the Inbound keeps the envelope as sent."""
    try:
        plain = unseal_envelope(envelope, keys.get(envelope.customer_id))
    except SealError as exc:
        raise PoisonMessage(f"sealed: {exc}") from None
    try:
        payload = decode(plain)
    except ValidationError as exc:
        raise PoisonMessage(_validation_reason(exc, "payload")) from None
    except ValueError as exc:
        raise PoisonMessage(str(exc)) from None
    return Inbound(envelope.event_id, envelope.customer_id, envelope, payload)


def decode_envelope(record: ConsumerRecord, keys: dict[uuid.UUID, bytes] | None = None) -> Inbound:
    """Default decoder: the canonical JSON envelope, upcast to the latest payload; a sealed one
    needs its customer's key in `keys` (EventConsumer fetches them per batch)."""
    envelope = read_envelope(record)
    if envelope.sealed and keys is None:
        raise vaults.NoVault("a sealed envelope needs the customers' keys")
    return open_envelope(envelope, keys or {})


def _validation_reason(exc: ValidationError, prefix: str) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in (prefix, *err["loc"]))
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def _storable(text: str) -> str:
    """PostgreSQL text and jsonb cannot hold NUL: keep it visible as an escape instead."""
    return text.replace("\x00", "\\u0000")


def poison_id(record: ConsumerRecord) -> uuid.UUID:
    """A stable id for a message without a readable event id."""
    body = record.value or b""
    return uuid.uuid5(NAMESPACE, f"{record.topic}/{record.partition}/{record.offset}/{body.hex()[:4096]}")


@dataclass
class EventConsumer:
    """One consumer group applying `handlers` (by topic) into one service database."""

    name: str
    service: str
    pool: asyncpg.Pool
    bootstrap: str
    handlers: dict[str, Handler]
    decoders: dict[str, Decoder] = field(default_factory=dict)
    batch: int = 200
    after_batch: AfterBatch | None = None
    vault: vaults.Vault | None = None  # default: the process's (shared.runtime.vault.installed)
    assigned: bool = False
    _consumer: AIOKafkaConsumer | None = None

    async def run(self) -> None:
        """Consume forever; after any failure (a broker outage included) start a fresh client."""
        settle_heap()
        await keep_running(self._consume, "consumer_restarting", on_failure=self._lost, consumer=self.name)

    def _lost(self) -> None:
        self.assigned = False

    async def _consume(self) -> None:
        """One batch at a time into the database, with the next batch fetched and decoded while
        this one is applied (the database works while the event loop would wait), and a batch's
        offsets committed while the next one is applied. The rules stay: a batch's offsets are
        committed after its transaction, and in batch order (each commit waits for the one before);
        a batch read ahead but not applied when the consumer stops is read again by whoever
        consumes next (its offsets were never committed), and the inbox makes that harmless."""
        self._consumer = kafka.consumer(self.bootstrap, self.name, *self.handlers, max_records=self.batch)
        await asyncio.wait_for(self._consumer.start(), kafka.SEND_TIMEOUT)
        ahead: asyncio.Task | None = None
        committing: asyncio.Task | None = None
        try:
            ahead = asyncio.create_task(self._read_batch())
            while True:
                records, decoded = await ahead
                self.assigned = bool(self._consumer.assignment())
                ahead = asyncio.create_task(self._read_batch())
                if records:
                    await self._apply_with_retry(records, decoded)
                    if committing is not None:
                        await committing  # its failure (a commit that timed out) ends this consumer
                    committing = asyncio.create_task(self._commit(records))
                await self._report_lag()
        finally:
            for task in (ahead, committing):
                if task is not None and not task.done():
                    task.cancel()
            await asyncio.gather(*(t for t in (ahead, committing) if t is not None), return_exceptions=True)
            await kafka.stop_quietly(self._consumer)

    async def _read_batch(self) -> tuple[dict[TopicPartition, list[ConsumerRecord]],
                                         list[tuple[ConsumerRecord, Inbound | Exception]] | None]:
        """The next batch from the broker (empty after half a second without one), decoded."""
        records = await self._consumer.getmany(timeout_ms=500, max_records=self.batch)
        try:
            return records, await self._decode([r for tp_records in records.values() for r in tp_records])
        except TRANSIENT:  # the key vault out of reach: decoded again, with the batch's retries
            return records, None

    async def _apply_with_retry(self, records: dict[TopicPartition, list[ConsumerRecord]],
                                decoded: list[tuple[ConsumerRecord, Inbound | Exception]] | None = None) -> None:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, TRANSIENT)),
            wait=wait_exponential(multiplier=0.2, max=5), stop=stop_never, reraise=True,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    log.warning("consumer_retrying_batch", consumer=self.name,
                                attempt=attempt.retry_state.attempt_number)
                await self.apply_batch(records, decoded)

    async def apply_batch(self, records: dict[TopicPartition, list[ConsumerRecord]],
                          decoded: list[tuple[ConsumerRecord, Inbound | Exception]] | None = None) -> None:
        """Fast path: claim every id in one statement, apply without savepoints. If a
        handler fails, roll the batch back and apply it again message by message.
        `decoded`: the records already decoded (`_read_batch`), in the same order."""
        if decoded is None:
            decoded = await self._decode([r for tp_records in records.values() for r in tp_records])
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await plan_for_this_batch(conn)
                await self._apply_fast(conn, decoded)
            return
        except _Isolate:
            pass
        async with self.pool.acquire() as conn, conn.transaction():
            await plan_for_this_batch(conn)
            for record, inbound in decoded:
                await self._apply_one(conn, record, inbound)

    async def _decode(self, flat: list[ConsumerRecord]) -> list[tuple[ConsumerRecord, Inbound | Exception]]:
        """Every record decoded (or the reason it cannot be); the keys of all sealed envelopes of the
        batch in one vault query, before the service's transaction starts."""
        read: list[tuple[ConsumerRecord, Inbound | Envelope | Exception]] = []
        for record in flat:
            decoder = self.decoders.get(record.topic)
            try:
                read.append((record, decoder(record) if decoder else read_envelope(record)))
            except Exception as exc:  # noqa: BLE001 - a message that cannot be read
                read.append((record, exc))
        sealed = {item.customer_id for _, item in read if isinstance(item, Envelope) and item.sealed}
        keys = await vaults.required(self.vault).keys_for(sealed) if sealed else {}
        decoded: list[tuple[ConsumerRecord, Inbound | Exception]] = []
        for record, item in read:
            if isinstance(item, Envelope):
                try:
                    item = open_envelope(item, keys)
                except Exception as exc:  # noqa: BLE001 - a payload that cannot be read
                    item = exc
            decoded.append((record, item))
        return decoded

    async def _apply_fast(self, conn: asyncpg.Connection,
                          decoded: list[tuple[ConsumerRecord, Inbound | Exception]]) -> None:
        readable = [(r, i) for r, i in decoded if isinstance(i, Inbound)]
        applied: list[Inbound] = []
        fresh = {row[0] for row in await conn.fetch(
            """insert into inbox (consumer, message_id, topic, partition, "offset")
               select $1, * from unnest($2::uuid[], $3::text[], $4::int[], $5::bigint[])
               on conflict do nothing returning message_id""",
            self.name, [i.message_id for _, i in readable], [r.topic for r, _ in readable],
            [r.partition for r, _ in readable], [r.offset for r, _ in readable],
        )}
        outcomes: Counter[tuple[str, str]] = Counter()
        by_batch: dict[str, list[Inbound]] = {}  # the messages of topics a BatchHandler applies
        for record, inbound in decoded:
            if isinstance(inbound, Exception):
                await self._dead_letter(conn, record, inbound)
            elif inbound.message_id in fresh:
                fresh.discard(inbound.message_id)  # a second copy in the same batch is a duplicate
                handler = self.handlers[record.topic]
                if isinstance(handler, BatchHandler):
                    by_batch.setdefault(record.topic, []).append(inbound)
                else:
                    await self._isolating(handler(conn, inbound))
                applied.append(inbound)
                outcomes[(record.topic, "applied")] += 1
            else:
                outcomes[(record.topic, "duplicate")] += 1
        for topic, inbounds in by_batch.items():
            await self._isolating(self.handlers[topic].apply(conn, inbounds))
        for (topic, outcome), n in outcomes.items():  # one metric update per topic, not per message
            EVENTS_CONSUMED.labels(self.name, topic, outcome).inc(n)
        await self._after(conn, applied)

    @staticmethod
    async def _isolating(step: Awaitable[None]) -> None:
        """A handler's step in the fast path: a transient failure retries the batch, any other
        redoes it one message at a time (the failing message then goes to the dead letters)."""
        try:
            await step
        except TRANSIENT:
            raise
        except Exception as exc:
            raise _Isolate from exc

    async def _after(self, conn: asyncpg.Connection, applied: list[Inbound]) -> None:
        if self.after_batch and applied:
            await self._isolating(self.after_batch(conn, applied))

    async def _apply_one(self, conn: asyncpg.Connection, record: ConsumerRecord,
                         inbound: Inbound | Exception) -> None:
        try:
            async with conn.transaction():
                if isinstance(inbound, Exception):
                    raise inbound
                if not await self._claim(conn, inbound.message_id, record, "applied"):
                    EVENTS_CONSUMED.labels(self.name, record.topic, "duplicate").inc()
                    return
                await self.handlers[record.topic](conn, inbound)
                if self.after_batch:  # isolated: the step runs for this message alone
                    await self.after_batch(conn, [inbound])
            EVENTS_CONSUMED.labels(self.name, record.topic, "applied").inc()
        except TRANSIENT:
            raise
        except Exception as exc:  # noqa: BLE001 - anything else is a poison message
            await self._dead_letter(conn, record, exc)

    async def _claim(self, conn: asyncpg.Connection, message_id: uuid.UUID, record: ConsumerRecord,
                     outcome: str) -> bool:
        return bool(await conn.fetchval(
            """insert into inbox (consumer, message_id, topic, partition, "offset", outcome)
               values ($1, $2, $3, $4, $5, $6) on conflict do nothing returning true""",
            self.name, message_id, record.topic, record.partition, record.offset, outcome,
        ))

    async def _dead_letter(self, conn: asyncpg.Connection, record: ConsumerRecord, exc: Exception) -> None:
        message_id, customer_id = poison_id(record), NAMESPACE
        try:
            envelope = Envelope.from_json(record.value)
            message_id, customer_id = envelope.event_id, envelope.customer_id
        except Exception:  # noqa: BLE001 - unreadable envelope: keep the positional id
            pass
        if not await self._claim(conn, message_id, record, "dead-letter"):
            return
        reason = _storable(str(exc) if isinstance(exc, PoisonMessage) else f"{type(exc).__name__}: {exc}")
        letter = DeadLetter(
            consumer=self.name, topic=record.topic, partition=record.partition, offset=record.offset,
            reason=reason[:2000], original=_storable((record.value or b"").decode("utf-8", "replace"))[:1_000_000],
            failed_at=datetime.now(UTC),
        )
        event = new_event(letter, customer_id=customer_id, producer=self.service)
        await append(conn, f"dead-letter-{event.event_id}", [event], expected_version=0)
        DEAD_LETTERS.labels(self.name, record.topic).inc()
        EVENTS_CONSUMED.labels(self.name, record.topic, "dead-letter").inc()
        log.warning("dead_letter", consumer=self.name, topic=record.topic, partition=record.partition,
                    offset=record.offset, reason=reason[:300])

    async def _commit(self, records: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        offsets = {tp: recs[-1].offset + 1 for tp, recs in records.items() if recs}
        try:
            # A commit waits for the group's coordinator, forever if its broker is gone for good (lost
            # quorum): a TimeoutError leaves _consume, and run() starts a fresh consumer.
            await asyncio.wait_for(self._consumer.commit(offsets), kafka.SEND_TIMEOUT)
        except (CommitFailedError, KafkaError) as exc:
            # Rebalanced away: the next owner re-reads and the inbox deduplicates.
            log.info("commit_skipped", consumer=self.name, error=repr(exc))

    async def _report_lag(self) -> None:
        """One second at most for all partitions together: while the group's coordinator is
        unreachable every position() waits, and a wait per partition (84 of them for analytics)
        stalled the consumer for minutes after a broker outage."""
        known = [(tp, high) for tp in self._consumer.assignment()
                 if (high := self._consumer.highwater(tp)) is not None]
        if not known:
            return
        try:
            positions = await asyncio.wait_for(
                asyncio.gather(*(self._consumer.position(tp) for tp, _ in known)), 1.0)
        except Exception:  # noqa: BLE001 - positions unknown during a rebalance or an outage
            return
        for (tp, high), position in zip(known, positions, strict=True):
            CONSUMER_LAG.labels(self.name, tp.topic, str(tp.partition)).set(max(0, high - position))


def payload_of(inbound: Inbound) -> EventPayload:
    return inbound.payload  # type: ignore[return-value]
