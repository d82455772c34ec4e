"""The customer registry in PostgreSQL: identity keys, the card and its history.

``identity_keys`` says who owns a normalised phone or email; a customer may own
several (after a merge, the merged record's keys point at the survivor). Every
card change is one ``customer_history`` row (``diff_card``).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from shared import json_exact
from shared.errors import Conflict, NotFound
from shared.events.contract import CustomerUpdated
from shared.events.envelope import Envelope, new_event
from shared.runtime.db import Write, write_together
from shared.runtime.store import append, append_many

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
    """Append every held event, each stream in order: one key-vault query, one version bump and
    one insert for all of them (shared.runtime.store.append_many)."""
    await append_many(conn, outbox)


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


# What a batch of contacts needs to know, in one statement after the identity locks: the owners of
# the keys ($1), the cards of the customers owning the rows' own keys ($2, locked in id order), the
# live id of referrer ids ($3), the roster entries ($4) and the contacts already received under
# the dedup keys ($5). One row per fact, tagged by `what`.
_VIEW = """
with owned as (select key, customer_id from identity_keys where key = any($1::text[])),
locked as materialized (
    select customer_id, card from customers
    where customer_id in (select customer_id from owned where key = any($2::text[]))
    order by customer_id for update)
select 'owner' as what, key as name, customer_id as id, null::uuid as other, null::text as card,
       null::boolean as active from owned
union all select 'card', null, customer_id, null, card::text, null from locked
union all select 'live', null, customer_id, coalesce(merged_into, customer_id), null, null
          from customers where customer_id = any($3::uuid[])
union all select 'roster', consultant_id, null, null, null, active
          from consultant_teams where consultant_id = any($4::text[])
union all select 'received', dedup_key, customer_id, contact_id, null, null
          from contacts where dedup_key = any($5::text[])"""


@dataclass
class BatchFacts:
    """What `batch_facts` read: `owners`, `cards`, `live_ids`, `roster` as `owners`, `cards_for_update`,
    `live_ids` and shared.runtime.ownership.consultant_statuses give them; `received`: dedup key ->
    (contact id, customer id)."""

    owners: dict[IdentityKey, uuid.UUID] = field(default_factory=dict)
    cards: dict[uuid.UUID, CustomerCard] = field(default_factory=dict)
    live_ids: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    roster: dict[str, bool] = field(default_factory=dict)
    received: dict[str, tuple[uuid.UUID, uuid.UUID]] = field(default_factory=dict)


async def batch_facts(conn: asyncpg.Connection, keys: set[IdentityKey], other_keys: set[IdentityKey],
                      referrer_ids: list[uuid.UUID], consultants: list[str], dedup_keys: list[str]) -> BatchFacts:
    """Everything a batch of contacts looks up, in one round trip: the owners of `keys` and
    `other_keys` (referrers), the cards (locked, as `cards_for_update`) of whoever owns `keys`, ...
    Run it after the identity locks (`lock_keys`): its snapshot is taken when it starts."""
    by_text = {str(k): k for k in keys | other_keys}
    facts = BatchFacts()
    for r in await conn.fetch(_VIEW, list(by_text), [str(k) for k in keys], list(set(referrer_ids)),
                              sorted(set(consultants)), list(set(dedup_keys))):
        match r["what"]:
            case "owner":
                facts.owners[by_text[r["name"]]] = r["id"]
            case "card":
                facts.cards[r["id"]] = CustomerCard.model_validate_json(r["card"])
            case "live":
                facts.live_ids[r["id"]] = r["other"]
            case "roster":
                facts.roster[r["name"]] = r["active"]
            case "received":
                facts.received[r["name"]] = (r["other"], r["id"])
    return facts


async def owner_of(conn: asyncpg.Connection, key: IdentityKey) -> uuid.UUID | None:
    return await conn.fetchval("select customer_id from identity_keys where key = $1", str(key))


async def claim_keys(conn: asyncpg.Connection, customer_id: uuid.UUID, keys: tuple[IdentityKey, ...],
                     now: datetime) -> None:
    await claim_keys_many(conn, [(k, customer_id) for k in keys], now)


async def claim_keys_many(conn: asyncpg.Connection, claims: list[tuple[IdentityKey, uuid.UUID]],
                          now: datetime) -> None:
    """Register each (key, customer) pair; a key someone already owns stays theirs."""
    await write_together(conn, [claiming_keys(claims, now)])


def claiming_keys(claims: list[tuple[IdentityKey, uuid.UUID]], now: datetime) -> Write | None:
    if not claims:
        return None
    return Write("insert into identity_keys (key, customer_id, claimed_at) select k, c, $3 "
                 "from unnest($1::text[], $2::uuid[]) as u(k, c) on conflict do nothing",
                 ([str(k) for k, _ in claims], [c for _, c in claims], now))


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


async def live_ids(conn: asyncpg.Connection, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """`live_id` of each id at once (unknown ids absent)."""
    if not customer_ids:
        return {}
    rows = await conn.fetch("select customer_id, merged_into from customers where customer_id = any($1::uuid[])",
                            customer_ids)
    return {r["customer_id"]: r["merged_into"] or r["customer_id"] for r in rows}


async def cards_for_update(conn: asyncpg.Connection, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, CustomerCard]:
    """The current card of each customer, their rows locked (in id order: two batches cannot deadlock)."""
    if not customer_ids:
        return {}
    rows = await conn.fetch("select customer_id, card from customers where customer_id = any($1::uuid[]) "
                            "order by customer_id for update", sorted(set(customer_ids)))
    return {r["customer_id"]: card_of(r) for r in rows}


def card_of(row: asyncpg.Record) -> CustomerCard:
    return CustomerCard.model_validate_json(row["card"])


async def create(conn: asyncpg.Connection, card: CustomerCard, *, now: datetime, by: str) -> uuid.UUID:
    """A new customer record; who owns it is follow-up's decision (it learns of the customer from the
    event that created it), kept here in `customer_owners` like everywhere else."""
    customer_id = uuid.uuid4()
    await create_many(conn, {customer_id: card}, now)
    await record_changes(conn, customer_id, diff_card(None, card, at=now), by)
    return customer_id


async def create_many(conn: asyncpg.Connection, cards: dict[uuid.UUID, CustomerCard], now: datetime) -> None:
    """New customer records with these ids and cards (their history is the caller's: `record_changes`)."""
    await write_together(conn, [creating(cards, now)])


def creating(cards: dict[uuid.UUID, CustomerCard], now: datetime) -> Write | None:
    if not cards:
        return None
    return Write(
        """insert into customers (customer_id, kind, name, phone, email, card, created_at, updated_at)
           select i, k, n, p, e, c::jsonb, $7, $7
           from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) as u(i, k, n, p, e, c)""",
        (*_card_columns(cards), now))


async def store_cards(conn: asyncpg.Connection, cards: dict[uuid.UUID, CustomerCard], now: datetime) -> None:
    """Write the new cards of known customers (their history and events are the caller's)."""
    await write_together(conn, [storing_cards(cards, now)])


def storing_cards(cards: dict[uuid.UUID, CustomerCard], now: datetime) -> Write | None:
    if not cards:
        return None
    return Write(
        """update customers set kind = u.k, name = u.n, phone = u.p, email = u.e, card = u.c::jsonb, updated_at = $7
           from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) as u(i, k, n, p, e, c)
           where customers.customer_id = u.i""",
        (*_card_columns(cards), now))


def _card_columns(cards: dict[uuid.UUID, CustomerCard]) -> tuple[list, ...]:
    return (list(cards), [c.kind.value for c in cards.values()], [c.name for c in cards.values()],
            [c.phone for c in cards.values()], [c.email for c in cards.values()],
            [c.model_dump_json() for c in cards.values()])


def card_updated(customer_id: uuid.UUID, changes: list[FieldChange], now: datetime) -> Envelope:
    """The `customer-updated` event of these card changes."""
    values = {c.field: c.to_json()["new"] for c in changes}
    return new_event(CustomerUpdated(changed_fields=list(values), card=values), customer_id=customer_id,
                     producer=SERVICE, now=now)


async def save_card(conn: asyncpg.Connection, customer_id: uuid.UUID, old: CustomerCard, new: CustomerCard,
                    now: datetime, by: str, outbox: Outbox | None = None) -> list[FieldChange]:
    """Store a new card, its history and `customer-updated`; returns the changes."""
    changes = diff_card(old, new, at=now)
    if not changes:
        return []
    await emit(conn, customer_id, card_updated(customer_id, changes, now), outbox)
    await store_cards(conn, {customer_id: new}, now)
    await record_changes(conn, customer_id, changes, by)
    return changes


async def record_changes(conn: asyncpg.Connection, customer_id: uuid.UUID, changes: list[FieldChange],
                         by: str) -> None:
    await record_changes_many(conn, [(customer_id, c) for c in changes], by)


async def record_changes_many(conn: asyncpg.Connection, changes: list[tuple[uuid.UUID, FieldChange]],
                              by: str) -> None:
    """One `customer_history` row per (customer, change), in the order given."""
    await write_together(conn, [recording_changes(changes, by)])


def recording_changes(changes: list[tuple[uuid.UUID, FieldChange]], by: str) -> Write | None:
    if not changes:
        return None
    docs = [c.to_json() for _, c in changes]
    return Write(
        """insert into customer_history (customer_id, field, old, new, changed_at, source_customer_id, changed_by)
           select i, f, o::jsonb, n::jsonb, t, s, $7
           from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::uuid[])
                with ordinality as u(i, f, o, n, t, s, ord)
           order by ord""",
        ([i for i, _ in changes], [c.field for _, c in changes], [_json(d["old"]) for d in docs],
         [_json(d["new"]) for d in docs], [c.changed_at for _, c in changes],
         [c.source_customer_id for _, c in changes], by))


def _json(value: object) -> str:
    """A history value's JSON (orjson: a batch writes thousands of them)."""
    return json_exact.dumps(value)


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
