"""The customer registry in PostgreSQL: identity keys, the card and its history.

``identity_keys`` says who owns a normalised phone or email; a customer may own
several (after a merge, the merged record's keys point at the survivor). Every
card change is one ``customer_history`` row (``diff_card``).
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime

import asyncpg

from shared.errors import Conflict, NotFound
from shared.events.contract import CustomerUpdated
from shared.events.envelope import Envelope, new_event
from shared.runtime.store import append, seal

from .domain.customers import CustomerCard, FieldChange, diff_card
from .domain.identity import IdentityKey, KeyKind


SERVICE = "intake"


def customer_stream(customer_id: uuid.UUID) -> str:
    return f"customer-{customer_id}"


Outbox = list[tuple[str, Envelope]]  # events a batch holds back, to seal and append together


async def emit(conn: asyncpg.Connection, customer_id: uuid.UUID, event: Envelope, outbox: Outbox | None = None) -> None:
    """Append the event to the customer's stream now, or hold it in `outbox` (see `flush`)."""
    if outbox is None:
        await append(conn, customer_stream(customer_id), [event])
    else:
        outbox.append((customer_stream(customer_id), event))


async def flush(conn: asyncpg.Connection, outbox: Outbox) -> None:
    """Seal every held event with one key-vault query, then append them, each stream in order."""
    if not outbox:
        return
    sealed = await seal([event for _, event in outbox])
    streams: dict[str, list[Envelope]] = {}
    for (stream, _), event in zip(outbox, sealed, strict=True):
        streams.setdefault(stream, []).append(event)
    for stream, events in streams.items():
        await append(conn, stream, events)


async def lock_keys(conn: asyncpg.Connection, keys: list[str]) -> None:
    """Serialise work on the same identities (always in one global order: no deadlock)."""
    if keys:
        await conn.execute("select pg_advisory_xact_lock(hashtext(k)) from (select distinct unnest($1::text[]) k "
                           "order by 1) s", keys)


async def owners(conn: asyncpg.Connection, keys: tuple[IdentityKey, ...]) -> dict[IdentityKey, uuid.UUID]:
    """The current owner of each known key (keys absent are unknown)."""
    if not keys:
        return {}
    by_text = {str(k): k for k in keys}
    rows = await conn.fetch("select key, customer_id from identity_keys where key = any($1)", list(by_text))
    return {by_text[r["key"]]: r["customer_id"] for r in rows}


async def owner_of(conn: asyncpg.Connection, key: IdentityKey) -> uuid.UUID | None:
    return await conn.fetchval("select customer_id from identity_keys where key = $1", str(key))


async def claim_keys(conn: asyncpg.Connection, customer_id: uuid.UUID, keys: tuple[IdentityKey, ...],
                     now: datetime) -> None:
    if keys:
        await conn.execute(
            "insert into identity_keys (key, customer_id, claimed_at) select k, $2, $3 from unnest($1::text[]) k "
            "on conflict do nothing", [str(k) for k in keys], customer_id, now)


async def keys_of(conn: asyncpg.Connection, customer_id: uuid.UUID) -> list[IdentityKey]:
    rows = await conn.fetch("select key from identity_keys where customer_id = $1 order by claimed_at, key",
                            customer_id)
    out = []
    for r in rows:
        kind, value = r["key"].split(":", 1)
        out.append(IdentityKey(KeyKind(kind), value))
    return out


async def load(conn: asyncpg.Connection, customer_id: uuid.UUID, *, for_update: bool = False,
               field: str = "customer_id", location: str = "path") -> asyncpg.Record:
    """The customer's row; NotFound (404) naming ``field`` when unknown."""
    row = await conn.fetchrow(
        "select * from customers where customer_id = $1" + (" for update" if for_update else ""), customer_id)
    if row is None:
        raise NotFound(f"customer {customer_id} not found", field=field, location=location)
    return row


def check_not_erased(row: asyncpg.Record, *, field: str = "customer_id", location: str = "path") -> None:
    """409 for an erased customer: nothing personal may be recorded for them again."""
    if row["erased_at"] is not None:
        raise Conflict(f"customer {row['customer_id']} was erased", field=field, location=location)


async def live_id(conn: asyncpg.Connection, customer_id: uuid.UUID) -> uuid.UUID | None:
    """The customer a (possibly merged) id now is; None when unknown."""
    row = await conn.fetchrow("select customer_id, merged_into from customers where customer_id = $1", customer_id)
    if row is None:
        return None
    return row["merged_into"] or row["customer_id"]


def card_of(row: asyncpg.Record) -> CustomerCard:
    return CustomerCard.model_validate_json(row["card"])


async def create(conn: asyncpg.Connection, card: CustomerCard, *, now: datetime, by: str) -> uuid.UUID:
    """A new customer record; who owns it is follow-up's decision (it learns of the customer from the
    event that created it), kept here in `customer_owners` like everywhere else."""
    customer_id = uuid.uuid4()
    await conn.execute(
        """insert into customers (customer_id, kind, name, phone, email, card, created_at, updated_at)
           values ($1, $2, $3, $4, $5, $6::jsonb, $7, $7)""",
        customer_id, card.kind.value, card.name, card.phone, card.email, card.model_dump_json(), now,
    )
    await record_changes(conn, customer_id, diff_card(None, card, at=now), by)
    return customer_id


async def save_card(conn: asyncpg.Connection, customer_id: uuid.UUID, old: CustomerCard, new: CustomerCard,
                    now: datetime, by: str, outbox: Outbox | None = None) -> list[FieldChange]:
    """Store a new card, its history and `customer-updated`; returns the changes."""
    changes = diff_card(old, new, at=now)
    if not changes:
        return []
    values = {c.field: c.to_json()["new"] for c in changes}
    event = new_event(CustomerUpdated(changed_fields=list(values), card=values), customer_id=customer_id,
                      producer=SERVICE, now=now)
    await emit(conn, customer_id, event, outbox)
    await conn.execute(
        """update customers set kind = $2, name = $3, phone = $4, email = $5, card = $6::jsonb, updated_at = $7
           where customer_id = $1""",
        customer_id, new.kind.value, new.name, new.phone, new.email, new.model_dump_json(), now,
    )
    await record_changes(conn, customer_id, changes, by)
    return changes


async def record_changes(conn: asyncpg.Connection, customer_id: uuid.UUID, changes: list[FieldChange],
                         by: str) -> None:
    if not changes:
        return
    docs = [c.to_json() for c in changes]
    await conn.execute(
        """insert into customer_history (customer_id, field, old, new, changed_at, source_customer_id, changed_by)
           select $1, f, o::jsonb, n::jsonb, t, s, $7
           from unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::uuid[]) as u(f, o, n, t, s)""",
        customer_id, [c.field for c in changes], [json.dumps(d["old"]) for d in docs],
        [json.dumps(d["new"]) for d in docs], [c.changed_at for c in changes],
        [c.source_customer_id for c in changes], by)


SEARCH_COLUMNS = "c.customer_id, c.kind, c.name, c.phone, c.email, c.created_at, c.updated_at"
NAME_ORDER = (str, uuid.UUID)  # a name search's order: (lower(name), customer_id)
ID_ORDER = (uuid.UUID,)  # a phone or email search's order: customer_id


async def by_name_prefix(conn: asyncpg.Connection, prefix: str, bound: str | None, after: tuple | None,
                         limit: int) -> list[asyncpg.Record]:
    """Live customers whose lower-cased name starts with `prefix` (`bound`: the least string above all
    that do, for the index range), by (lower(name), customer_id), after `after`."""
    return await conn.fetch(
        f"""select {SEARCH_COLUMNS}, lower(c.name) as sort_name from customers c
            where c.merged_into is null and c.erased_at is null and c.name is not null
              and lower(c.name) ~>=~ $1 and ($2::text is null or lower(c.name) ~<~ $2)
              and left(lower(c.name), length($1)) = $1
              and ($3::text is null or (lower(c.name), c.customer_id) > ($3, $4::uuid))
            order by lower(c.name), c.customer_id limit $5""",
        prefix, bound, *(after or (None, None)), limit)


async def by_phone_suffix(conn: asyncpg.Connection, digits: str, after: tuple | None,
                          limit: int) -> list[asyncpg.Record]:
    """Live customers owning a phone that ends in `digits`, by customer_id, after `after`. The phone keys
    read backwards start with the digits backwards (an index range)."""
    backwards = digits[::-1]
    return await conn.fetch(
        f"""select {SEARCH_COLUMNS} from customers c where c.customer_id in (
              select k.customer_id from identity_keys k where k.key like 'phone:%'
                and reverse(k.key) ~>=~ $1 and reverse(k.key) ~<~ $2)
              and c.merged_into is null and c.erased_at is null
              and ($3::uuid is null or c.customer_id > $3)
            order by c.customer_id limit $4""",
        backwards, backwards[:-1] + chr(ord(backwards[-1]) + 1), after[0] if after else None, limit)


async def by_email(conn: asyncpg.Connection, email: str, after: tuple | None) -> list[asyncpg.Record]:
    """The live customer owning this (normalised) email, unless the page is past them."""
    return await conn.fetch(
        f"""select {SEARCH_COLUMNS} from customers c join identity_keys k on k.customer_id = c.customer_id
            where k.key = $1 and c.merged_into is null and c.erased_at is null
              and ($2::uuid is null or c.customer_id > $2)""",
        str(IdentityKey(KeyKind.EMAIL, email)), after[0] if after else None)
