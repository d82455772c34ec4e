"""Erasing a customer (the right to be forgotten), with crypto-shredding.

Every personal field of every event was sealed with the customer's own key
when it was stored (shared.runtime.store); erasure destroys the keys of the
customer and of every customer merged into them (the same person), so each
copy — outboxes, analytics' log, Kafka, backups — stays ciphertext nobody
can open. Intake's own query tables keep plaintext to serve reads; they are
scrubbed here (``domain.erasure`` says what stays: a stored contact keeps the
sale's facts, not its free text — notes, purpose, region, receptionist — nor
the people named). A ``customer-erased`` event per record erased tells the
other services to drop the personal copies they keep.

One transaction in intake's database; the keys are destroyed last, just
before it commits (the vault is another database): if the commit then fails,
the keys are gone, the request fails and a retry finishes the scrub. While
the erasure holds the customer's identity-key and row locks no contact can
attach to them, and the vault never creates a key for an erased customer
again, so a racing write fails (409) instead of sealing new data.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from shared.errors import ConcurrencyConflict, NotFound
from shared.events.contract import CustomerErased
from shared.events.envelope import new_event
from shared.runtime.store import append, redact_plaintext
from shared.runtime.vault import Vault

from . import registry
from .contacts import SERVICE, Actor
from .domain.erasure import ERASED_RESPONSE, KEPT_CARD_FIELDS, KEPT_CONTACT_FIELDS, erased_card


async def _group(conn: asyncpg.Connection, live: uuid.UUID) -> list[uuid.UUID]:
    """The customer and every customer merged into them (merges point straight at the survivor)."""
    merged = await conn.fetch("select customer_id from customers where merged_into = $1 order by customer_id", live)
    return [live, *(r["customer_id"] for r in merged)]


async def erase(conn: asyncpg.Connection, customer_id: uuid.UUID, now: datetime, actor: Actor,
                vault: Vault) -> dict[str, Any]:
    """Erase the customer this id is (a merged id: its survivor) with everyone merged into them."""
    row = await conn.fetchrow("select customer_id, merged_into from customers where customer_id = $1", customer_id)
    if row is None:
        raise NotFound(f"customer {customer_id} not found", field="customer_id", location="path")
    live = row["merged_into"] or customer_id
    group = await _group(conn, live)
    identity = [r["key"] for r in await conn.fetch("select key from identity_keys where customer_id = any($1)",
                                                   group)]
    await registry.lock_keys(conn, identity)  # keys first, then rows: the order every writer uses
    rows = {r["customer_id"]: r for r in await conn.fetch(
        "select * from customers where customer_id = any($1) order by customer_id for update", group)}
    if await _group(conn, live) != group:
        raise ConcurrencyConflict("a merge changed this customer during the erasure")  # retried
    if rows[live]["erased_at"] is not None:
        return _answer(live, group, rows[live]["erased_at"], changed=False)
    phones = [k.split(":", 1)[1] for k in identity if k.startswith("phone:")]
    await _scrub(conn, group, rows, phones, now, actor.subject)
    requested_by = "".join(ch for ch in actor.subject if ch.isprintable())[:200] or "unknown"
    for cid in group:  # one each, so every record's own projections learn it (the survivor's names the rest)
        erased = CustomerErased(erased_at=now, requested_by=requested_by,
                                merged_customer_ids=group[1:] if cid == live else [])
        event = new_event(erased, customer_id=cid, producer=SERVICE, correlation_id=actor.correlation_id, now=now)
        await append(conn, registry.customer_stream(cid), [event])
    await vault.destroy(group, requested_by, now)
    return _answer(live, group, now, changed=True)


def _answer(live: uuid.UUID, group: list[uuid.UUID], erased_at: datetime, *, changed: bool) -> dict[str, Any]:
    return {"customer_id": live, "erased_customer_ids": group, "erased": True, "erased_at": erased_at,
            "changed": changed}


async def _scrub(conn: asyncpg.Connection, group: list[uuid.UUID], rows: dict[uuid.UUID, asyncpg.Record],
                 phones: list[str], now: datetime, by: str) -> None:
    await conn.executemany(
        """update customers set name = null, phone = null, email = null, card = $2::jsonb,
                  erased_at = $3, erased_by = $4, updated_at = $3 where customer_id = $1""",
        [(cid, json.dumps(erased_card(json.loads(rows[cid]["card"]))), now, by) for cid in group])
    await conn.execute("delete from identity_keys where customer_id = any($1)", group)
    await conn.execute("delete from merge_candidates where customer_a = any($1) or customer_b = any($1)", group)
    await conn.execute(
        """update customer_history set old = null, new = null
           where (customer_id = any($1) or source_customer_id = any($1)) and field <> all($2::text[])""",
        group, list(KEPT_CARD_FIELDS))
    await conn.execute(
        """update contacts set details = coalesce(
               (select jsonb_object_agg(key, value) from jsonb_each(details) where key = any($2::text[])), '{}')
           where customer_id = any($1)""", group, list(KEPT_CONTACT_FIELDS))
    if phones:  # the erased person named as someone else's referrer (the event carries only their id)
        await conn.execute("update contacts set details = details - 'referrer_phone' "
                           "where details->>'referrer_phone' = any($1::text[])", phones)
    await conn.execute("update complaints set description = null where customer_id = any($1)", group)
    await conn.execute(
        """update merges set conflicts = coalesce(
               (select jsonb_agg(jsonb_build_object('field', c->'field')) from jsonb_array_elements(conflicts) c),
               '[]') where merged_customer_id = any($1) or survivor_id = any($1)""", group)
    # Stored answers that held card values (PATCH) or merge conflicts replay as erased.
    paths = [f"/v1/customers/{cid}{suffix}" for cid in group for suffix in ("", "/merge")]
    await conn.execute("update idempotency_keys set response = $2 where path = any($1::text[])",
                       paths, json.dumps(ERASED_RESPONSE))
    await redact_plaintext(conn, group)  # events stored before sealing existed
