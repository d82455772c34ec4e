"""Reading customers: the record, masked unless the access policy lets the reader see the
customer's personal data (shared.access, on the owner follow-up decided), an audit row for
every full read by a person, and lookups by phone or email audited and rate-limited."""
from __future__ import annotations

import json
import math
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from shared.access import sees_personal_data
from shared.auth import Principal
from shared.errors import DomainValidationError, TooManyRequests
from shared.masking import mask_field, mask_personal
from shared.runtime import ownership

from . import registry
from .domain.errors import DomainValidationError as FieldError
from .domain.identity import IdentityKey, KeyKind, normalise_email, normalise_phone
from .schemas import CustomerOut

RECENT = 100


async def customer_view(conn: asyncpg.Connection, customer_id: uuid.UUID, principal: Principal, now: datetime,
                        what: str = "customer record") -> CustomerOut:
    row = await registry.load(conn, customer_id)
    owner = await ownership.owner_of(conn, row["merged_into"] or customer_id)
    full = sees_personal_data(principal, await ownership.relation_to(conn, principal, owner))
    merged_ids = [r["customer_id"] for r in await conn.fetch(
        "select customer_id from customers where merged_into = $1 order by updated_at", customer_id)]
    ids = [customer_id, *merged_ids]
    keys = await registry.keys_of(conn, customer_id)
    history = await conn.fetch(
        "select field, old::text, new::text, changed_at, source_customer_id, changed_by from customer_history "
        "where customer_id = $1 order by changed_at, id", customer_id)
    contacts = await conn.fetch(
        "select contact_id, customer_id, channel, occurred_at, consultant_id, campaign from contacts "
        "where customer_id = any($1) order by occurred_at desc limit $2", ids, RECENT)
    complaints = await conn.fetch(
        "select complaint_id, customer_id, channel, severity, category, occurred_at from complaints "
        "where customer_id = any($1) order by occurred_at desc limit $2", ids, RECENT)
    if full and principal.is_person:
        await conn.execute(
            "insert into audit_reads (subject, role, customer_id, read_at, what) values ($1, $2, $3, $4, $5)",
            principal.subject, principal.role.value, customer_id, now, what)
    card = json.loads(row["card"])
    personal = {"name": row["name"], "phone": row["phone"], "email": row["email"]}
    return CustomerOut(
        customer_id=customer_id, kind=row["kind"], **_mask(personal, full), card=_mask(card, full),
        identities=[{"kind": k.kind.value, "value": _mask_one(k.kind.value, k.value, full)} for k in keys],
        consultant_id=owner.owner_id, marketing_allowed=row["marketing_allowed"],
        consent_at=row["consent_at"], consent_source=row["consent_source"], merged_into=row["merged_into"],
        merged_customer_ids=merged_ids, created_at=row["created_at"], updated_at=row["updated_at"],
        masked=not full, erased=row["erased_at"] is not None, erased_at=row["erased_at"],
        history=[_history_entry(h, full) for h in history],
        contacts=[dict(c) for c in contacts], complaints=[dict(c) for c in complaints],
    )


async def find_customers(conn: asyncpg.Connection, phone: str | None, email: str | None, principal: Principal,
                         now: datetime, limit_per_minute: int) -> list[CustomerOut]:
    """The customers owning this phone and/or email (at most two). Every lookup is kept (who, when,
    what was found, masked answers included), and a caller gets at most `limit_per_minute` of them
    a minute: a known phone tells that a customer exists, so lookups must not walk a phone book."""
    keys = search_keys(phone, email)
    if principal.is_person:  # company systems are not rate-limited (their lookups are audited all the same)
        await _count_lookup(conn, principal, now, limit_per_minute)
    found: list[uuid.UUID] = []
    for key in keys:
        owner = await registry.owner_of(conn, key)
        if owner is not None and owner not in found:
            found.append(owner)
    await conn.execute("insert into lookups (subject, role, looked_up_at, keys, found) values ($1, $2, $3, $4, $5)",
                       principal.subject, principal.role.value, now, len(keys), found)
    return [await customer_view(conn, cid, principal, now, what="customer search") for cid in found]


async def _count_lookup(conn: asyncpg.Connection, principal: Principal, now: datetime, limit: int) -> None:
    """429 with the seconds until the caller's oldest lookup of the last minute leaves the window."""
    await conn.execute("select pg_advisory_xact_lock(hashtextextended('lookups:' || $1::text, 0))", principal.subject)
    row = await conn.fetchrow(
        """select count(*) as n, min(looked_up_at) as oldest from lookups
           where subject = $1 and looked_up_at > $2::timestamptz - interval '1 minute'""", principal.subject, now)
    if row["n"] >= limit:
        wait = max(1, math.ceil(60 - (now - row["oldest"]).total_seconds()))
        raise TooManyRequests(f"at most {limit} lookups a minute; try again in {wait} s", retry_after=wait,
                              field="phone")


def search_keys(phone: str | None, email: str | None) -> list[IdentityKey]:
    if not (phone or "").strip() and not (email or "").strip():
        raise DomainValidationError("give phone or email", field="phone", location="query")
    keys = []
    try:
        if phone and phone.strip():
            keys.append(IdentityKey(KeyKind.PHONE, normalise_phone(phone)))
        if email and email.strip():
            keys.append(IdentityKey(KeyKind.EMAIL, normalise_email(email)))
    except FieldError as exc:
        raise DomainValidationError(exc.message, field=exc.field, location="query") from None
    return keys


def _mask(data: dict[str, Any], full: bool) -> dict[str, Any]:
    return mask_personal(data, full=full)  # the one masking (shared.masking)


def _mask_one(kind: str, value: Any, full: bool) -> Any:
    return mask_field(kind, value, full=full)


def _history_entry(h: asyncpg.Record, full: bool) -> dict[str, Any]:
    old, new = json.loads(h["old"]) if h["old"] else None, json.loads(h["new"]) if h["new"] else None
    old, new = _mask_one(h["field"], old, full), _mask_one(h["field"], new, full)
    return {"field": h["field"], "old": old, "new": new, "changed_at": h["changed_at"],
            "source_customer_id": h["source_customer_id"], "changed_by": h["changed_by"]}


async def merge_candidates(conn: asyncpg.Connection, limit: int) -> list[dict[str, Any]]:
    """Pairs that look like one person (phone of one record, email of another), oldest first."""
    rows = await conn.fetch("select customer_a, customer_b, reason, detected_at from merge_candidates "
                            "order by detected_at limit $1", limit)
    return [dict(r) for r in rows]


async def audit_trail(conn: asyncpg.Connection, customer_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    """Who read this customer's full record, latest first."""
    rows = await conn.fetch("select subject, role, read_at, what from audit_reads where customer_id = $1 "
                            "order by read_at desc, id desc limit $2", customer_id, limit)
    return [dict(r) for r in rows]


async def lookup_trail(conn: asyncpg.Connection, customer_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    """Who found this customer by phone or email (whether they saw the record masked or not), latest first."""
    rows = await conn.fetch("select subject, role, looked_up_at from lookups where $1 = any(found) "
                            "order by looked_up_at desc, id desc limit $2", customer_id, limit)
    return [dict(r) for r in rows]
