"""The event store / transactional outbox.

Events are appended in the caller's transaction, next to the state change that
caused them; the relay publishes them after commit. Each stream (one aggregate)
has a version: appends state the version they expect, so concurrent writers to
one aggregate cannot both win.

Personal fields are sealed here, on the way in, with the customer's key from the
key vault (shared.pii_seal, shared.runtime.vault): every producer seals the same
way, and nothing personal reaches an outbox, a topic or a consumer's log in
plaintext. Without a vault in the process (tests, benchmarks) events are stored
as given.
"""
from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg

from ..errors import ConcurrencyConflict
from ..events.envelope import Envelope
from ..metrics import EVENTS_APPENDED
from ..pii_seal import needs_sealing, personal_event_types, redact_envelope, seal_envelope
from . import vault as vaults

T, U = TypeVar("T"), TypeVar("U")

# The stream's version bump and the events' insert are one statement (one round trip): the
# insert reads the bumped version from the CTE, and inserts nothing when the bump matched no
# row (the expected version was wrong), which `append` turns into ConcurrencyConflict.
_BUMP_ANY = """insert into streams (stream_id, version) values ($1, $2)
on conflict (stream_id) do update set version = streams.version + excluded.version returning version"""
_BUMP_EXPECTED = "update streams set version = version + $2 where stream_id = $1 and version = $10 returning version"
_CREATE = "insert into streams (stream_id, version) values ($1, $2) on conflict do nothing returning version"
_INSERT = """
with bumped as ({bump})
insert into event_store (event_id, stream_id, stream_version, event_type, schema_version,
                         customer_id, occurred_at, recorded_at, envelope)
select e.event_id, $1, bumped.version - $2 + e.ord::int, e.event_type, e.schema_version,
       e.customer_id, e.occurred_at, e.recorded_at, e.envelope
from bumped, unnest($3::uuid[], $4::text[], $5::int[], $6::uuid[], $7::timestamptz[], $8::timestamptz[],
                    $9::jsonb[]) with ordinality
     as e(event_id, event_type, schema_version, customer_id, occurred_at, recorded_at, envelope, ord)
returning stream_version"""
_APPEND_ANY = _INSERT.format(bump=_BUMP_ANY)
_APPEND_NEW = _INSERT.format(bump=_CREATE)
_APPEND_EXPECTED = _INSERT.format(bump=_BUMP_EXPECTED)


async def append(
    conn: asyncpg.Connection,
    stream_id: str,
    events: Sequence[Envelope],
    expected_version: int | None = None,
    *,
    vault: vaults.Vault | None = None,
) -> int:
    """Append `events` to a stream inside the caller's transaction; returns the new version.

    `expected_version=None` appends at the end whatever the version (for streams
    with a single writer, such as a consumer's output); otherwise a mismatch
    raises ConcurrencyConflict and the caller's transaction must roll back.
    Personal fields are sealed with `vault` (default: the process's); an erased
    customer raises CustomerErased (409) and the caller's transaction rolls back.
    """
    if not events:
        raise ValueError("append needs at least one event")
    events = await seal(events, vault)
    n = len(events)
    statement = _APPEND_ANY if expected_version is None else _APPEND_NEW if expected_version == 0 \
        else _APPEND_EXPECTED
    args = [stream_id, n, [e.event_id for e in events], [e.event_type for e in events],
            [e.schema_version for e in events], [e.customer_id for e in events], [e.occurred_at for e in events],
            [e.recorded_at for e in events], [e.model_dump_json() for e in events]]
    if statement is _APPEND_EXPECTED:
        args.append(expected_version)
    versions = await conn.fetch(statement, *args)
    if not versions:
        raise ConcurrencyConflict(f"stream {stream_id} is not at version {expected_version}")
    version = max(r[0] for r in versions)
    for e in events:
        EVENTS_APPENDED.labels(e.event_type).inc()
    return version


# The streams' bump and the events' insert are one statement (one round trip): each event's version
# is its stream's version before the bump plus its place among that stream's events. The columns
# that repeat the envelope's header are read from the envelope by the database: a batch sends each
# event once (its JSON) instead of seven more values to encode per event. `order by` keeps the rows'
# positions in the order given.
_APPEND_MANY = """
with counts as (select * from unnest($1::text[], $2::int[]) as c(stream_id, n)),
bumped as (
    insert into streams (stream_id, version) select stream_id, n from counts
    on conflict (stream_id) do update set version = streams.version + excluded.version
    returning stream_id, version)
insert into event_store (event_id, stream_id, stream_version, event_type, schema_version,
                         customer_id, occurred_at, recorded_at, envelope)
select (r.e->>'event_id')::uuid, r.s, b.version - c.n + row_number() over (partition by r.s order by r.ord),
       r.e->>'event_type', (r.e->>'schema_version')::int, (r.e->>'customer_id')::uuid,
       (r.e->>'occurred_at')::timestamptz, (r.e->>'recorded_at')::timestamptz, r.e
from unnest($3::text[], $4::jsonb[]) with ordinality as r(s, e, ord)
join bumped b on b.stream_id = r.s join counts c on c.stream_id = r.s
order by r.ord"""


async def append_many(conn: asyncpg.Connection, entries: Sequence[tuple[str, Envelope]], *,
                      vault: vaults.Vault | None = None) -> None:
    """Append events to many streams at their ends, in `entries`' order, in one statement whatever
    their number (a consumer's batch): the same rows as one `append(conn, stream, [event])` per
    entry in that order, versions included. A stream may appear more than once. Streams are
    bumped in id order, so two writers of overlapping batches wait for each other, never deadlock."""
    if not entries:
        return
    sealed = await seal([e for _, e in entries], vault)
    counts = Counter(stream for stream, _ in entries)
    streams = sorted(counts)
    await conn.execute(_APPEND_MANY, streams, [counts[s] for s in streams], [stream for stream, _ in entries],
                       [e.model_dump_json() for e in sealed])
    for event_type, n in Counter(e.event_type for e in sealed).items():
        EVENTS_APPENDED.labels(event_type).inc(n)


async def meanwhile(statement: Awaitable[T], work: Callable[[], U]) -> tuple[T, U]:
    """`work` (Python, no database) done while the database runs `statement` (sent first): a batch's
    serialising or building overlaps the statement before it instead of following it. The
    statement is awaited whatever `work` does, so the connection is free again on return."""
    pending = asyncio.ensure_future(statement)
    await asyncio.sleep(0)  # the statement goes out before the work starts
    try:
        done = work()
    finally:
        result = await pending
    return result, done


async def seal(events: Sequence[Envelope], vault: vaults.Vault | None = None) -> Sequence[Envelope]:
    """The events with their personal fields sealed (one vault query for all their customers)."""
    pending = {e.customer_id for e in events if needs_sealing(e)}
    vault = vault or vaults.installed()
    if not pending or vault is None:
        return events
    keys = await vault.keys_for_sealing(pending)
    return [seal_envelope(e, keys[e.customer_id]) if e.customer_id in pending else e for e in events]


async def stream_version(conn: asyncpg.Connection, stream_id: str) -> int:
    return await conn.fetchval("select version from streams where stream_id = $1", stream_id) or 0


async def read_stream(conn: asyncpg.Connection, stream_id: str) -> list[Envelope]:
    rows = await conn.fetch(
        "select envelope from event_store where stream_id = $1 order by stream_version", stream_id
    )
    return [Envelope.model_validate_json(r["envelope"]) for r in rows]


async def redact_plaintext(conn: asyncpg.Connection, customer_ids: Sequence[uuid.UUID],
                           table: str = "event_store") -> int:
    """Erase the personal fields of these customers' events stored *unsealed* (before sealing
    existed) in `table` (an outbox, or a consumer's log with `event_id` and `envelope` columns);
    sealed ones need nothing, their key is gone. Returns how many were rewritten."""
    rows = await conn.fetch(
        f"""select event_id, envelope::text as envelope from {table}
            where customer_id = any($1::uuid[]) and event_type = any($2::text[]) and not (envelope ? 'sealed')""",
        list(customer_ids), list(personal_event_types()))
    changed = []
    for row in rows:
        try:
            envelope = Envelope.model_validate_json(row["envelope"])
        except ValueError:  # not an envelope this code can read: nothing it could redact either
            continue
        redacted = redact_envelope(envelope)
        if redacted is not envelope:
            changed.append((row["event_id"], redacted.model_dump_json()))
    if changed:
        await conn.executemany(f"update {table} set envelope = $2::jsonb where event_id = $1", changed)
    return len(changed)

