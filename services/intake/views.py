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

from shared.access import own_consultant_id, relation_of, sees_personal_data
from shared.auth import Principal
from shared.errors import DomainValidationError, TooManyRequests
from shared.events.enums import Role
from shared.masking import mask_field, mask_personal
from shared.paging import PageRequest, cut, decode_cursor, encode_cursor
from shared.runtime import ownership

from . import registry
from .domain.errors import DomainValidationError as FieldError
from .domain.identity import IdentityKey, KeyKind, normalise_email, normalise_phone
from .domain.search import SearchBy, parse_query, prefix_upper_bound
from .schemas import AuditTrail, CustomerOut, CustomerPage, CustomerSummary, MergeCandidates

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


async def _count_lookup(conn: asyncpg.Connection, principal: Principal, now: datetime, limit: int,
                        field: str = "phone") -> None:
    """429 with the seconds until the caller's oldest lookup of the last minute leaves the window."""
    await conn.execute("select pg_advisory_xact_lock(hashtextextended('lookups:' || $1::text, 0))", principal.subject)
    row = await conn.fetchrow(
        """select count(*) as n, min(looked_up_at) as oldest from lookups
           where subject = $1 and looked_up_at > $2::timestamptz - interval '1 minute'""", principal.subject, now)
    if row["n"] >= limit:
        wait = max(1, math.ceil(60 - (now - row["oldest"]).total_seconds()))
        raise TooManyRequests(f"at most {limit} lookups a minute; try again in {wait} s", retry_after=wait,
                              field=field)


async def search_customers(conn: asyncpg.Connection, q: str, page: PageRequest, principal: Principal,
                           now: datetime, limit_per_minute: int) -> CustomerPage:
    """A page of the live customers `q` finds (the beginning of a name, the end of a phone, an email;
    services.intake.domain.search), each masked unless the caller may see them. A search reveals people
    like a lookup does: it is kept in `lookups` (who, when, whom it found) and counts against the same
    per-minute limit."""
    try:
        query = parse_query(q)
    except FieldError as exc:
        raise DomainValidationError(exc.message, field="q", location="query") from None
    scope = {"list": "customers", "by": query.by.value, "q": query.term}
    if principal.is_person:
        await _count_lookup(conn, principal, now, limit_per_minute, field="q")
    if query.by is SearchBy.NAME:
        after = decode_cursor(page.cursor, registry.NAME_ORDER, scope)
        rows = await registry.by_name_prefix(conn, query.term, prefix_upper_bound(query.term), after, page.limit + 1)
        shown = cut(rows, page.limit, lambda r: (r["sort_name"], r["customer_id"]), scope)
    else:
        after = decode_cursor(page.cursor, registry.ID_ORDER, scope)
        rows = (await registry.by_phone_suffix(conn, query.term, after, page.limit + 1) if query.by is SearchBy.PHONE
                else await registry.by_email(conn, query.term, after))
        shown = cut(rows, page.limit, lambda r: (r["customer_id"],), scope)
    found = [r["customer_id"] for r in shown.rows]
    await conn.execute("insert into lookups (subject, role, looked_up_at, keys, found) values ($1, $2, $3, $4, $5)",
                       principal.subject, principal.role.value, now, 1, found)
    owners = await ownership.owners_of(conn, found)
    own_team = (await ownership.team_of(conn, own_consultant_id(principal))
                if principal.role is Role.CONSULTANT else None)
    customers = []
    for r in shown.rows:
        owner = owners[r["customer_id"]]
        full = sees_personal_data(principal, relation_of(principal, owner, own_team))
        personal = _mask({"name": r["name"], "phone": r["phone"], "email": r["email"]}, full)
        customers.append(CustomerSummary(
            customer_id=r["customer_id"], kind=r["kind"], **personal, consultant_id=owner.owner_id, masked=not full,
            matched_by=query.by.value, created_at=r["created_at"], updated_at=r["updated_at"]))
    return CustomerPage(customers=customers, **shown.links())


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


CANDIDATE_ORDER = (datetime, uuid.UUID, uuid.UUID)  # (detected_at, customer_a, customer_b)
TRAIL_ORDER = (datetime, int)  # an audit trail's order, latest first: (at, id)


async def merge_candidates(conn: asyncpg.Connection, after: tuple | None, limit: int) -> list[dict[str, Any]]:
    """Pairs that look like one person (phone of one record, email of another), oldest first, after the
    position `after` (None: from the start)."""
    rows = await conn.fetch(
        """select customer_a, customer_b, reason, detected_at from merge_candidates
           where $1::timestamptz is null or (detected_at, customer_a, customer_b) > ($1, $2::uuid, $3::uuid)
           order by detected_at, customer_a, customer_b limit $4""",
        *(after or (None, None, None)), limit)
    return [dict(r) for r in rows]


async def audit_trail(conn: asyncpg.Connection, customer_id: uuid.UUID, before: tuple | None,
                      limit: int) -> list[dict[str, Any]]:
    """Who read this customer's full record, latest first, before the position `before` (None: from the
    latest); `id` orders reads of the same moment."""
    rows = await conn.fetch(
        """select id, subject, role, read_at, what from audit_reads where customer_id = $1
           and ($2::timestamptz is null or (read_at, id) < ($2, $3::bigint))
           order by read_at desc, id desc limit $4""", customer_id, *(before or (None, None)), limit)
    return [dict(r) for r in rows]


async def lookup_trail(conn: asyncpg.Connection, customer_id: uuid.UUID, before: tuple | None,
                       limit: int) -> list[dict[str, Any]]:
    """Who found this customer by phone, email or a search (whether they saw the record masked or not),
    latest first, before the position `before` (None: from the latest)."""
    rows = await conn.fetch(
        """select id, subject, role, looked_up_at from lookups where $1 = any(found)
           and ($2::timestamptz is null or (looked_up_at, id) < ($2, $3::bigint))
           order by looked_up_at desc, id desc limit $4""", customer_id, *(before or (None, None)), limit)
    return [dict(r) for r in rows]


async def candidates_page(conn: asyncpg.Connection, page: PageRequest) -> MergeCandidates:
    scope = {"list": "merge-candidates"}
    after = decode_cursor(page.cursor, CANDIDATE_ORDER, scope)
    shown = cut(await merge_candidates(conn, after, page.limit + 1), page.limit,
                lambda c: (c["detected_at"], c["customer_a"], c["customer_b"]), scope)
    return MergeCandidates(candidates=shown.rows, **shown.links())


async def audit_page(conn: asyncpg.Connection, customer_id: uuid.UUID, page: PageRequest) -> AuditTrail:
    """Both trails, `page.limit` rows of each at most. The cursor holds where each trail stopped (nothing
    for one that ended), so one cursor pages both."""
    scope = {"list": "audit", "customer_id": customer_id}
    kinds = tuple(kind | None for kind in (*TRAIL_ORDER, *TRAIL_ORDER))
    position = decode_cursor(page.cursor, kinds, scope)
    trails: dict[str, list[dict[str, Any]]] = {}
    stops: list[Any] = []
    for name, read, at, start in (("reads", audit_trail, "read_at", position[:2] if position else None),
                                  ("lookups", lookup_trail, "looked_up_at", position[2:] if position else None)):
        ended = start is not None and start[0] is None
        rows = [] if ended else await read(conn, customer_id, start, page.limit + 1)
        more = len(rows) > page.limit
        rows = rows[:page.limit]
        stops += [rows[-1][at], rows[-1]["id"]] if more else [None, None]
        trails[name] = [{k: v for k, v in r.items() if k != "id"} for r in rows]
    has_more = any(v is not None for v in stops)
    return AuditTrail(customer_id=customer_id, **trails, has_more=has_more,
                      next_cursor=encode_cursor(stops, scope) if has_more else None)
