"""Taking in contacts: resolve who it is, keep the card current, emit contact-received.

Used by ``POST /v1/contacts``, ``POST /v1/contacts/batch`` (and so ``crm
import``) and the call-center feed; all of them end in ``receive_contact``.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.access import Action, check_role, own_consultant_id
from shared.auth import Principal
from shared.errors import DomainError, DomainValidationError, FieldError, Forbidden, dotted_loc, field_path
from shared.events.enums import Role
from shared.events.envelope import new_event
from shared.runtime import ownership

from . import registry
from .domain.contacts import ContactIn, resolve_occurred_at, to_contact_received
from .domain.customers import CustomerCard, merge_cards
from .domain.identity import IdentityKey, KeyKind, resolve_identity
from .registry import SERVICE
from .schemas import ContactAccepted


@dataclass(frozen=True)
class Actor:
    """Who writes: the principal's subject (kept with history and records)."""

    subject: str
    correlation_id: uuid.UUID | None = None


def as_recorded_by(principal: Principal, contact: ContactIn) -> ContactIn:
    """A consultant records their own contacts: the contact names them (named or not); only company
    systems and managers name another consultant (shared.access, NAME_CONSULTANT)."""
    if principal.role is not Role.CONSULTANT:
        return contact
    mine = own_consultant_id(principal)
    if contact.consultant_id not in (None, mine):
        check_role(principal, Action.NAME_CONSULTANT, field="consultant_id")
    return contact if contact.consultant_id == mine else contact.model_copy(update={"consultant_id": mine})


def rows_recorded_by(principal: Principal, rows: list[ContactIn]) -> list[ContactIn]:
    """`as_recorded_by` for each row of a batch; a refusal names the row."""
    out = []
    for index, row in enumerate(rows):
        try:
            out.append(as_recorded_by(principal, row))
        except Forbidden as exc:
            raise Forbidden(exc.message, field=f"contacts.{index}.{exc.field}", location="body") from None
    return out


async def check_consultant(conn: asyncpg.Connection, contact: ContactIn) -> None:
    """A consultant named on a contact is an active member of follow-up's roster (as this service
    keeps it from `consultant-updated`): an unknown id is an error, never a new consultant."""
    if not contact.consultant_id:
        return
    status = await ownership.consultant_status(conn, contact.consultant_id)
    if not status:
        raise DomainValidationError(
            f"consultant {contact.consultant_id!r} is {'inactive' if status is False else 'not on the roster'}",
            field="consultant_id")


def import_dedup_key(contact: ContactIn) -> str | None:
    """Rows of an import are unique by (batch, row): a re-run creates nothing twice."""
    if contact.import_batch and contact.source_row:
        return f"import:{contact.import_batch}:{contact.source_row}"
    return None


async def receive_contact(conn: asyncpg.Connection, contact: ContactIn, now: datetime, actor: Actor,
                          dedup_key: str | None = None, outbox: registry.Outbox | None = None) -> ContactAccepted:
    """Store one contact and its `contact-received` event in the caller's transaction (events held
    in `outbox` when given: the batch seals and appends them together)."""
    occurred = resolve_occurred_at(contact, now)
    dedup_key = dedup_key or import_dedup_key(contact)
    await check_consultant(conn, contact)
    keys = contact.identity_keys()
    await registry.lock_keys(conn, [str(k) for k in keys])  # also serialises two copies of one row
    if dedup_key and (seen := await _already_received(conn, dedup_key)):
        return seen
    owned = await registry.owners(conn, keys)
    resolution = resolve_identity(keys, owned)
    customer_id = resolution.customer_id
    referrer_id = await _referrer(conn, contact, customer_id)
    card = _card_from(contact, {k for k in keys if owned.get(k) in (None, customer_id)})
    if customer_id is None:
        customer_id = await registry.create(conn, card, now=now, by=actor.subject)
    else:
        row = await registry.load(conn, customer_id, for_update=True)
        current = registry.card_of(row)
        await registry.save_card(conn, customer_id, current, merge_cards(current, card)[0], now, actor.subject,
                                 outbox)
    await registry.claim_keys(conn, customer_id, resolution.keys_to_claim, now)
    if resolution.merge_candidate is not None:
        await _flag_merge_candidate(conn, customer_id, resolution.merge_candidate, now)
    contact_id = uuid.uuid4()
    await conn.execute(
        """insert into contacts (contact_id, customer_id, channel, occurred_at, consultant_id, campaign, details,
                                 dedup_key)
           values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)""",
        contact_id, customer_id, contact.channel.value, occurred, contact.consultant_id, contact.campaign,
        contact.model_dump_json(exclude_none=True), dedup_key,
    )
    payload = to_contact_received(contact, contact_id=contact_id, is_new_customer=resolution.is_new_customer,
                                  referrer_customer_id=referrer_id)
    event = new_event(payload, customer_id=customer_id, producer=SERVICE, occurred_at=occurred,
                      correlation_id=actor.correlation_id, now=now)
    await registry.emit(conn, customer_id, event, outbox)
    return ContactAccepted(contact_id=contact_id, customer_id=customer_id,
                           is_new_customer=resolution.is_new_customer,
                           matched_by=resolution.matched_by.value if resolution.matched_by else None)


async def receive_batch(conn: asyncpg.Connection, contacts: list[ContactIn], now: datetime,
                        actor: Actor) -> list[ContactAccepted]:
    """All rows or none: every row is tried so that every rejected row is reported,
    then the caller's transaction rolls back if any was. (No savepoints needed: a
    rule is always checked before the row writes anything.) The rows' events are
    sealed together at the end: one key-vault query for the batch, not one per row."""
    seen = await _already_received_many(conn, [import_dedup_key(c) for c in contacts])
    accepted: list[ContactAccepted] = []
    problems: list[tuple[int, DomainError]] = []
    outbox: registry.Outbox = []
    for index, contact in enumerate(contacts):
        key = import_dedup_key(contact)
        try:
            accepted.append(seen[key] if key in seen else
                            await receive_contact(conn, contact, now, actor, outbox=outbox))
        except DomainError as exc:
            problems.append((index, exc))
    if problems:
        raise BatchRejected(problems)
    await registry.flush(conn, outbox)
    return accepted


async def _already_received_many(conn: asyncpg.Connection, keys: list[str | None]) -> dict[str, ContactAccepted]:
    wanted = [k for k in keys if k]
    if not wanted:
        return {}
    rows = await conn.fetch("select dedup_key, contact_id, customer_id from contacts where dedup_key = any($1)",
                            wanted)
    return {r["dedup_key"]: ContactAccepted(contact_id=r["contact_id"], customer_id=r["customer_id"],
                                            is_new_customer=False, duplicate=True) for r in rows}


class BatchRejected(DomainValidationError):
    """Rows of a batch broke rules; each named ``contacts.N.field``."""

    def __init__(self, problems: list[tuple[int, DomainError]]) -> None:
        super().__init__(f"{len(problems)} rows rejected", field="contacts")
        self.problems = problems

    def field_errors(self) -> list[FieldError]:
        return [FieldError(field=field_path(["body", "contacts", index, *dotted_loc("body", exc.field)[1:]]),
                           message=exc.message) for index, exc in self.problems]


async def _already_received(conn: asyncpg.Connection, dedup_key: str) -> ContactAccepted | None:
    row = await conn.fetchrow("select contact_id, customer_id from contacts where dedup_key = $1", dedup_key)
    if row is None:
        return None
    return ContactAccepted(contact_id=row["contact_id"], customer_id=row["customer_id"], is_new_customer=False,
                           duplicate=True)


async def _referrer(conn: asyncpg.Connection, contact: ContactIn, customer_id: uuid.UUID | None) -> uuid.UUID | None:
    """The referring customer: by id, or by their phone; must be a known, other customer."""
    if contact.referrer_customer_id is not None:
        field, found = "referrer_customer_id", await registry.live_id(conn, contact.referrer_customer_id)
    elif contact.referrer_phone is not None:
        field = "referrer_phone"
        found = await registry.owner_of(conn, IdentityKey(KeyKind.PHONE, contact.referrer_phone))
    else:
        return None
    if found is None:
        raise DomainValidationError("no known customer is the referrer", field=field)
    if found == customer_id:
        raise DomainValidationError("a customer cannot refer themselves", field=field)
    return found


def _card_from(contact: ContactIn, claimable: set[IdentityKey]) -> CustomerCard:
    """What a contact tells about the person; phone/email only if no one else owns them."""
    mine = {k.kind for k in claimable}
    phone = contact.phone if KeyKind.PHONE in mine else None
    email = contact.email if KeyKind.EMAIL in mine else None
    return CustomerCard(kind=contact.customer_kind, name=contact.name, phone=phone, email=email,
                        company=contact.company, counterpart_role=contact.counterpart_role)


async def _flag_merge_candidate(conn: asyncpg.Connection, a: uuid.UUID, b: uuid.UUID, now: datetime) -> None:
    first, second = sorted((a, b))
    await conn.execute(
        """insert into merge_candidates (customer_a, customer_b, reason, detected_at)
           values ($1, $2, 'phone and email of one contact belong to two customers', $3) on conflict do nothing""",
        first, second, now)

