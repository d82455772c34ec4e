"""Taking in contacts: resolve who it is, keep the card current, emit contact-received.

Used by ``POST /v1/contacts``, ``POST /v1/contacts/batch`` (and so ``crm
import``) and the call-center feed; all of them end in ``_receive``, which takes
a batch (one contact is a batch of one): one lookup of what the registry knows
of all the rows, the rows applied in order in memory (domain.contact_batch),
then a fixed number of statements whatever the batch's size.
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import asyncpg

from shared.access import Action, check_role, own_consultant_id
from shared.auth import Principal
from shared.errors import DomainError, DomainValidationError, FieldError, Forbidden, dotted_loc, field_path
from shared.events.enums import Role
from shared.events.envelope import new_event
from shared.runtime.db import Write, plan_for_this_batch, write_together
from shared.runtime.store import seal

from . import registry
from .domain.contact_batch import BatchPlan, PlannedContact, RegistryView, RepeatedRow, plan_batch, referrer_key
from .domain.contacts import ContactIn, taken_over_from_history, to_contact_received
from .registry import SERVICE
from .schemas import ContactAccepted

T, U = TypeVar("T"), TypeVar("U")


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


def import_dedup_key(contact: ContactIn) -> str | None:
    """Rows of an import are unique by (batch, row): a re-run creates nothing twice."""
    if contact.import_batch and contact.source_row:
        return f"import:{contact.import_batch}:{contact.source_row}"
    return None


async def receive_contact(conn: asyncpg.Connection, contact: ContactIn, now: datetime, actor: Actor,
                          dedup_key: str | None = None) -> ContactAccepted:
    """Store one contact and its `contact-received` event in the caller's transaction (a batch of one:
    a broken rule raises its own error)."""
    try:
        [accepted] = await _receive(conn, [(contact, dedup_key or import_dedup_key(contact))], now, actor)
    except BatchRejected as exc:
        raise exc.problems[0][1] from None
    return accepted


async def receive_batch(conn: asyncpg.Connection, contacts: list[ContactIn], now: datetime,
                        actor: Actor, historical_before: datetime | None = None) -> list[ContactAccepted]:
    """All rows or none: every row is tried so that every rejected row is reported (BatchRejected),
    then the caller's transaction rolls back. Rows apply in order, each seeing the customers the rows
    before it created (domain.contact_batch), with a fixed number of statements for the batch.
    Contacts dated before `historical_before`'s day are history (`contact-received`'s `historical`)."""
    await plan_for_this_batch(conn)
    return await _receive(conn, [(c, import_dedup_key(c)) for c in contacts], now, actor, historical_before)


async def _receive(conn: asyncpg.Connection, rows: list[tuple[ContactIn, str | None]], now: datetime,
                   actor: Actor, historical_before: datetime | None = None) -> list[ContactAccepted]:
    # the keys' locks serialise two requests on the same identities, and two copies of one import row;
    # then one read of all the batch needs (it starts after the locks, so it sees their holders' commits)
    await registry.lock_keys(conn, [str(k) for contact, _ in rows for k in contact.identity_keys()])
    facts = await _facts(conn, [contact for contact, _ in rows], [key for _, key in rows if key])
    seen = {key: ContactAccepted(contact_id=contact_id, customer_id=customer_id, is_new_customer=False,
                                 duplicate=True) for key, (contact_id, customer_id) in facts.received.items()}
    fresh = [(index, contact, key) for index, (contact, key) in enumerate(rows) if key not in seen]
    view = RegistryView(owners=facts.owners, cards=facts.cards, live_ids=facts.live_ids, roster=facts.roster)
    plan = plan_batch([(contact, key) for _, contact, key in fresh], now, view)
    if plan.problems:
        raise BatchRejected([(fresh[i][0], exc) for i, exc in plan.problems])
    await _store(conn, plan, now, actor, historical_before)
    accepted = iter(_accepted(row) for row in plan.rows)
    return [seen[key] if key in seen else next(accepted) for _, key in rows]


async def _facts(conn: asyncpg.Connection, contacts: list[ContactIn], dedup_keys: list[str]) -> registry.BatchFacts:
    """What the registry knows of the rows' identities, referrers and consultants, and which rows
    were received before: one statement. Rows received before are looked up with the others (their
    owners, cards and roster entries are the registry's truth as well, and go unused)."""
    keys = {k for contact in contacts for k in contact.identity_keys()}
    return await registry.batch_facts(
        conn, keys, {k for c in contacts if (k := referrer_key(c))},
        [c.referrer_customer_id for c in contacts if c.referrer_customer_id],
        [c.consultant_id for c in contacts if c.consultant_id], dedup_keys)


async def _store(conn: asyncpg.Connection, plan: BatchPlan, now: datetime, actor: Actor,
                 historical_before: datetime | None = None) -> None:
    """Write what the plan decided: customers, history, keys, merge candidates and contacts in one
    statement (meanwhile the key vault seals the events), then the events in another."""
    planned = [row for row in plan.rows if isinstance(row, PlannedContact)]
    if not planned:
        return
    outbox: registry.Outbox = []
    for p in planned:
        stream = registry.customer_stream(p.customer_id)
        if not p.is_new_customer and p.card_changes:
            outbox.append((stream, registry.card_updated(p.customer_id, p.card_changes, now)))
        payload = to_contact_received(p.contact, contact_id=p.contact_id, is_new_customer=p.is_new_customer,
                                      referrer_customer_id=p.referrer_id,
                                      historical=taken_over_from_history(p.occurred_at, historical_before))
        outbox.append((stream, new_event(payload, customer_id=p.customer_id, producer=SERVICE,
                                         occurred_at=p.occurred_at, correlation_id=actor.correlation_id, now=now)))
    # the key vault (its own database) seals the events while intake's database writes the registry
    sealed, _ = await _both(seal([e for _, e in outbox]), write_together(conn, [
        registry.creating(plan.created, now),
        registry.storing_cards(plan.updated, now),
        registry.recording_changes([(p.customer_id, c) for p in planned for c in p.card_changes], actor.subject),
        registry.claiming_keys([(k, p.customer_id) for p in planned for k in p.keys_to_claim], now),
        _flagging_merge_candidates([(p.customer_id, p.merge_candidate) for p in planned if p.merge_candidate], now),
        _inserting_contacts(planned)]))
    await registry.flush(conn, [(stream, e) for (stream, _), e in zip(outbox, sealed, strict=True)])


async def _both(first: Awaitable[T], second: Awaitable[U]) -> tuple[T, U]:
    """Both results; if either fails, its error once both are done (neither is left running while
    the caller's transaction rolls back)."""
    a, b = await asyncio.gather(first, second, return_exceptions=True)
    for result in (a, b):
        if isinstance(result, BaseException):
            raise result
    return a, b


def _inserting_contacts(planned: list[PlannedContact]) -> Write:
    return Write(
        """insert into contacts (contact_id, customer_id, channel, occurred_at, consultant_id, campaign, details,
                                 dedup_key)
           select i, c, ch, o, cs, ca, d::jsonb, k
           from unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[],
                       $8::text[]) as u(i, c, ch, o, cs, ca, d, k)""",
        ([p.contact_id for p in planned], [p.customer_id for p in planned],
         [p.contact.channel.value for p in planned], [p.occurred_at for p in planned],
         [p.contact.consultant_id for p in planned], [p.contact.campaign for p in planned],
         [p.contact.model_dump_json(exclude_none=True) for p in planned], [p.dedup_key for p in planned]))


def _accepted(row: PlannedContact | RepeatedRow) -> ContactAccepted:
    if isinstance(row, RepeatedRow):  # as a re-sent row: the first copy's contact
        return ContactAccepted(contact_id=row.original.contact_id, customer_id=row.original.customer_id,
                               is_new_customer=False, duplicate=True)
    return ContactAccepted(contact_id=row.contact_id, customer_id=row.customer_id,
                           is_new_customer=row.is_new_customer,
                           matched_by=row.matched_by.value if row.matched_by else None)


class BatchRejected(DomainValidationError):
    """Rows of a batch broke rules; each named ``contacts.N.field``."""

    def __init__(self, problems: list[tuple[int, DomainError]]) -> None:
        super().__init__(f"{len(problems)} rows rejected", field="contacts")
        self.problems = problems

    def field_errors(self) -> list[FieldError]:
        return [FieldError(field=field_path(["body", "contacts", index, *dotted_loc("body", exc.field)[1:]]),
                           message=exc.message) for index, exc in self.problems]


def _flagging_merge_candidates(pairs: list[tuple[uuid.UUID, uuid.UUID]], now: datetime) -> Write | None:
    if not pairs:
        return None
    ordered = [sorted(pair) for pair in pairs]
    return Write(
        """insert into merge_candidates (customer_a, customer_b, reason, detected_at)
           select a, b, 'phone and email of one contact belong to two customers', $3
           from unnest($1::uuid[], $2::uuid[]) as u(a, b) on conflict do nothing""",
        ([a for a, _ in ordered], [b for _, b in ordered], now))
