"""The typed read model in PostgreSQL: each customer folded once, when their events arrive.

`event_log` is the source of truth; the read model (services/analytics/tables.py: a
`customer_facts` row per customer plus child rows) is disposable. A customer's rows are
recomputed from their whole history (plus the histories of customers merged into them)
whenever one of their events arrives, so their content never depends on the order events
arrived in. The view `customer_summary` shows each customer's folded state put back together.

The log holds personal fields sealed (shared.pii_seal); `load_events` opens them
with one key-vault query per call, so the pure fold sees plaintext — or, for an
erased customer whose key is gone, erased values. A refresh or a replay after an
erasure therefore yields no personal data. The log keeps each envelope at the
version it was sent in; the fold upcasts the opened envelopes to the latest
version (unseal first, upcast after: an upcaster reads plaintext fields).
"""
from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import asyncpg

from shared import json_exact
from shared.events.envelope import Envelope
from shared.events.registry import LATEST
from shared.pii_seal import unseal_envelope, unseal_payload
from shared.runtime import vault as vaults

from . import day_counts, row_changes
from .domain.facts import child_rows, customer_row
from .domain.state import Event, fold_event, fold_events
from .tables import CARDS, CHILD_COLUMNS, FACT_COLUMNS, FACTS

COST_EVENT = "campaign-cost-recorded"
COST_NAMESPACE = uuid.UUID("5d0f3c1e-8a3b-4c55-9a61-0c2b8f7e21aa")
LOCK_CLASS = 0x6A12  # advisory lock namespace: one customer's projection row


async def _merged_into(conn: asyncpg.Connection, ids: set[str]) -> dict[str, set[str]]:
    """survivor -> customers merged into it (transitively), for the given survivors.
    One query per level of merging for all survivors together."""
    out: dict[str, set[str]] = {i: set() for i in ids}
    frontier: dict[str, set[str]] = {i: {i} for i in ids}
    while any(frontier.values()):
        rows = await conn.fetch(
            """select customer_id::text, envelope->'payload'->>'merged_customer_id' from event_log
               where event_type = 'customer-merged' and customer_id = any($1::uuid[])""",
            list(set().union(*frontier.values())))
        children: dict[str, set[str]] = defaultdict(set)
        for parent, child in rows:
            if child:
                children[parent].add(child)
        for survivor, level in frontier.items():
            found = set().union(*(children[c] for c in level)) - out[survivor] - {survivor}
            out[survivor] |= found
            frontier[survivor] = found
    return out


async def _survivors(conn: asyncpg.Connection, ids: set[str]) -> set[str]:
    """The given customers plus every customer they were merged into (transitively)."""
    result, frontier = set(ids), set(ids)
    while frontier:
        rows = await conn.fetch(
            """select customer_id::text from event_log where event_type = 'customer-merged'
               and envelope->'payload'->>'merged_customer_id' = any($1::text[])""", list(frontier))
        frontier = {r[0] for r in rows} - result
        result |= frontier
    return result


async def load_events(conn: asyncpg.Connection, ids: Iterable[str]) -> dict[str, list[Envelope]]:
    rows = await conn.fetch(
        "select customer_id::text, envelope::text from event_log where customer_id = any($1::uuid[])"
        " and event_type <> $2", list(ids), COST_EVENT)
    out: dict[str, list[Envelope]] = defaultdict(list)
    for cid, text in rows:
        out[cid].append(Envelope.model_validate_json(text))
    return await _opened(out)


async def _opened(events: dict[str, list[Envelope]]) -> dict[str, list[Envelope]]:
    """The envelopes with their sealed fields opened: one vault query for every customer
    concerned; a customer without a key (erased) gets erased values, never ciphertext."""
    sealed = {e.customer_id for es in events.values() for e in es if e.sealed}
    if not sealed:
        return events
    keys = await vaults.required().keys_for(sealed)
    return {cid: [unseal_envelope(e, keys.get(e.customer_id), strict=False) for e in es]
            for cid, es in events.items()}


async def history(conn: asyncpg.Connection, customer_id: str) -> list[Envelope]:
    """A customer's events together with those of the customers merged into them."""
    group = (await _merged_into(conn, {customer_id}))[customer_id] | {customer_id}
    events = await load_events(conn, group)
    return [e for cid in sorted(events) for e in events[cid]]


# What the fold reads of each logged event, as columns: PostgreSQL takes the payload out of the
# envelope, the instant comes typed, and Python decodes nothing but the payload (and `sealed`).
FOLD_COLUMNS = """select customer_id::text, event_id::text, event_type, occurred_at,
                         (envelope->>'schema_version')::int, envelope->'payload', envelope->'sealed'
                  from event_log where customer_id = any($1::uuid[]) and event_type <> $2"""


async def fetch_for_fold(conn: asyncpg.Connection, ids: Iterable[str]) -> tuple[list, dict]:
    """These customers' logged events as the fold reads them, not yet decoded (decode_for_fold,
    off the event loop), and the vault keys of those with sealed fields (one query)."""
    rows = await conn.fetch(FOLD_COLUMNS, list(ids), COST_EVENT)
    sealed = {uuid.UUID(r[0]) for r in rows if r[6] is not None}
    keys = await vaults.required().keys_for(sealed) if sealed else {}
    return rows, keys


def decode_for_fold(rows: list, keys: dict) -> dict[str, list[Event]]:
    """customer id -> their events, opened as `_opened` opens envelopes (a customer without a key
    reads as erased) and upcast (state.fold_event)."""
    out: dict[str, list[Event]] = defaultdict(list)
    for cid, event_id, event_type, occurred_at, version, payload, sealed in rows:
        payload = json_exact.loads(payload)
        if sealed is not None and (names := json_exact.loads(sealed)):
            customer = uuid.UUID(cid)
            payload = unseal_payload(payload, names, keys.get(customer), customer_id=customer,
                                     model=LATEST.get(event_type), strict=False)
        out[cid].append(fold_event(event_type, version, occurred_at, event_id, payload))
    return out


def fold_rows(targets: set[str], groups: dict[str, set[str]], rows: list, keys: dict) -> list[tuple]:
    """The read-model rows of the target customers, each as (facts row, child rows by table, digests)
    (CPU work: run off the event loop)."""
    events = decode_for_fold(rows, keys)
    out = []
    for cid in sorted(targets):
        mine = events.get(cid, [])
        if not mine:
            continue
        merged = [e for m in sorted(groups[cid]) for e in events.get(m, [])]
        state = fold_events(cid, [*mine, *merged])
        fact, children = customer_row(state, len(mine)), child_rows(state)
        out.append((fact, children, row_changes.digests(fact, children)))
    return out


async def refresh(conn: asyncpg.Connection, ids: Iterable[str], suffix: str = "", counts: bool = True) -> int:
    """Recompute the rows of these customers (and of the survivors they were merged into); `suffix`
    names the tables a replay is building (which counts the daily report's items once at the end,
    `counts=False`). A fixed number of statements whatever the number of customers (one more per
    level of merging), the fold itself off the event loop. Each customer is folded whole; only the
    rows that came out different are written, and only the customers whose counted items may have
    changed are recounted (row_changes)."""
    targets = await _survivors(conn, {str(i) for i in ids})
    # One writer per customer at a time (replicas consume different partitions): a writer that waited
    # here sees the events the previous one committed, so the last write always holds every event.
    await conn.execute("select pg_advisory_xact_lock($1, hashtext(c)) from (select unnest($2::text[]) as c) s",
                       LOCK_CLASS, sorted(targets))  # taken in sorted order: no deadlock between replicas
    groups = await _merged_into(conn, targets)
    members = {m for t, ms in groups.items() for m in (ms | {t})}
    rows, keys = await fetch_for_fold(conn, members)
    folded = await asyncio.to_thread(fold_rows, targets, groups, rows, keys)
    stored = {str(r[0]): row_changes.decode(r[1]) for r in await conn.fetch(
        f"select customer_id, digests from {CARDS}{suffix} where customer_id = any($1::uuid[])",
        [uuid.UUID(m) for m in sorted(members)])}
    before_of = {f[0]: stored.get(f[0], row_changes.NOTHING_STORED) for f, _, _ in folded}
    if any(row_changes.merges_change(before_of[f[0]], d) for f, _, d in folded):
        # who counts as merged away may change: every customer concerned is recounted
        counted = [uuid.UUID(m) for m in sorted(members)]
    else:
        counted = [uuid.UUID(f[0]) for f, _, d in folded if row_changes.counts_change(before_of[f[0]], d)]
    before = (await day_counts.counted(conn, [c for c in counted if str(c) in stored], suffix)
              if counts and any(str(c) in stored for c in counted) else Counter())
    await _write(conn, folded, before_of, suffix)
    if counts and counted:
        await day_counts.add_difference(conn, before, await day_counts.counted(conn, counted, suffix), suffix)
    return len(folded)


async def _write(conn: asyncpg.Connection, folded: list[tuple], stored: dict[str, dict | None], suffix: str) -> None:
    """The facts and card of every folded customer rewritten, and of their lists only the rows that
    changed: one statement deletes, one COPY per table inserts."""
    written = [f[0] for f, _, _ in folded]  # customer ids as text: asyncpg writes text into uuid columns
    whole: dict[str, list[str]] = {t: [] for t in row_changes.LISTS}
    stale: dict[str, tuple[list[str], list[int]]] = {t: ([], []) for t in row_changes.BY_SEQ}
    inserts: dict[str, list[tuple]] = {t: [] for t in row_changes.LISTS}
    for fact, children, digests in folded:
        cid = fact[0]
        for table, change in row_changes.changes(stored[cid], digests).items():
            if change.whole:
                whole[table].append(cid)
            for seq in change.stale:
                stale[table][0].append(cid)
                stale[table][1].append(seq)
            inserts[table] += [children[table][i] for i in change.fresh]
    args: list = [written]
    parts = [f"delete from {CARDS}{suffix} where customer_id = any($1::uuid[])"]
    for table in row_changes.LISTS:
        args.append(whole[table])
        parts.append(f"delete from {table}{suffix} where customer_id = any(${len(args)}::uuid[])")
        if table in stale:
            args += stale[table]
            parts.append(f"""delete from {table}{suffix} t using unnest(${len(args) - 1}::uuid[], ${len(args)}::int[]) k(c, s)
                             where t.customer_id = k.c and t.seq = k.s""")
    await conn.execute(  # in one statement
        "with " + ", ".join(f"d{i} as ({p})" for i, p in enumerate(parts))
        + f" delete from {FACTS}{suffix} where customer_id = any($1::uuid[])", *args)
    if folded:
        await conn.copy_records_to_table(f"{FACTS}{suffix}", records=[f for f, _, _ in folded], columns=FACT_COLUMNS)
        await conn.copy_records_to_table(
            f"{CARDS}{suffix}", columns=(*CHILD_COLUMNS[CARDS], "digests"),
            records=[(*children[CARDS][0], row_changes.encode(d)) for _, children, d in folded])
    for table, rows in inserts.items():
        if rows:
            await conn.copy_records_to_table(f"{table}{suffix}", records=rows, columns=CHILD_COLUMNS[table])


async def load_states(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every customer's folded state, put back together from the read model (tests and tools)."""
    rows = await conn.fetch("select state::text from customer_summary order by customer_id")
    return [json.loads(r[0]) for r in rows]


async def load_card(conn: asyncpg.Connection, customer_id: uuid.UUID) -> dict[str, Any] | None:
    """The customer's stored state without its long lists (contacts, tasks, deals: `load_items`)."""
    text = await conn.fetchval(f"select card from {CARDS} where customer_id = $1", customer_id)
    return json.loads(text) if text else None


async def load_items(conn: asyncpg.Connection, table: str, customer_id: uuid.UUID, offset: int, limit: int,
                     where: str = "true") -> tuple[list[dict[str, Any]], int]:
    """A page of one of the customer's stored lists, in the fold's order, and the list's length."""
    rows = await conn.fetch(
        f"""select data, count(*) over () from {table} where customer_id = $1 and {where}
            order by seq offset $2 limit $3""", customer_id, offset, limit)
    total = rows[0][1] if rows else await conn.fetchval(
        f"select count(*) from {table} where customer_id = $1 and {where}", customer_id)
    return [json.loads(r[0]) for r in rows], total


def cost_customer_id(campaign: str) -> uuid.UUID:
    """Campaign costs live in event_log under a stable pseudo stream id per campaign."""
    return uuid.uuid5(COST_NAMESPACE, f"campaign:{campaign}")


async def load_costs(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch("select envelope->'payload' from event_log where event_type = $1"
                            " order by occurred_at, event_id", COST_EVENT)
    return [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]
