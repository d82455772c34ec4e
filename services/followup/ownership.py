"""The customer's owner (客户归属): decided here, and only here, for the whole system (domain §8).

The rules are pure (domain.assignment: `owner_on_contact`, `owner_when_needed`); this module
applies a decision: the prospect row, the shared `customer_owners` row that access reads in
this service, the customer's pending work and open complaint cases (they go with the
customer), and a `customer-assigned` event through which every other service learns it, all
in the caller's transaction.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from shared.events.contract import CustomerAssigned
from shared.events.envelope import Envelope
from shared.runtime import ownership as shared_ownership
from shared.runtime import vault as vaults

from . import complaint_store, prospects, task_store
from .domain import ComplaintStatus, NoConsultantAvailable, OwnerBasis, Ownership, least_loaded, reassign_customer
from .prospects import Prospect

OPEN_CASES = (ComplaintStatus.FILED, ComplaintStatus.ACKNOWLEDGED)


def stream(customer_id: uuid.UUID) -> str:
    return f"owner-{customer_id}"


async def active_member(conn: asyncpg.Connection, consultant_id: str | None) -> str | None:
    """The consultant if they are an active roster member, else None: an unknown or inactive
    consultant named on an event is not an owner (and never joins the roster by being named)."""
    if consultant_id and await shared_ownership.consultant_status(conn, consultant_id):
        return consultant_id
    return None


_ROSTER = """select c.consultant_id, c.team, coalesce(l.pending, 0) as n from consultant_teams c
              left join owner_load l on l.owner_id = c.consultant_id
              where c.active and c.consultant_id is distinct from $1"""


async def least_loaded_member(conn: asyncpg.Connection, team: str | None = None,
                              exclude: str | None = None) -> str | None:
    """The active consultant (of `team`, when it has active members) with the least pending work."""
    rows = await conn.fetch(_ROSTER, exclude)
    members = ([r for r in rows if r["team"] == team] if team else []) or rows
    return least_loaded_of({r["consultant_id"]: r["n"] for r in members})


async def active_loads(conn: asyncpg.Connection) -> dict[str, int]:
    """Every active consultant with their pending work: the roster as a batch of decisions reads it
    once (each decision's new work is added to it as it goes)."""
    return {r["consultant_id"]: r["n"] for r in await conn.fetch(_ROSTER, None)}


def least_loaded_of(loads: dict[str, int]) -> str | None:
    """The least loaded of these consultants; None when there is none."""
    try:
        return least_loaded(loads, loads)
    except NoConsultantAvailable:
        return None


def chosen(decision: Ownership, least_loaded_member: str | None) -> Ownership | None:
    """A rule's decision made concrete: its consultant, else the least loaded (basis `load` unless the
    rule said otherwise); None when nobody can be had (an empty roster: the customer stays unowned,
    its work waits unassigned)."""
    owner = decision.owner_id or least_loaded_member
    return None if owner is None else Ownership(owner, decision.basis or OwnerBasis.LOAD)


def moves(p: Prospect, choice: Ownership) -> bool:
    """Does giving the customer to `choice` change anything (`change_owner` does nothing otherwise)?"""
    return (choice.owner_id, choice.basis) != (p.owner_id, p.owner_basis)


def assignment(previous: str | None, choice: Ownership, note: str | None = None,
               by: str | None = None) -> CustomerAssigned:
    """What every service learns of an owner decided here (`customer-assigned`)."""
    return CustomerAssigned(owner_id=choice.owner_id, previous_owner_id=previous, basis=choice.basis.value,
                            assignment_note=note, assigned_by=by)


async def settle(conn: asyncpg.Connection, p: Prospect, decision: Ownership | None, now: datetime,
                 causation: Envelope | None = None) -> Prospect:
    """Apply a rule's decision (None: keep; no owner in it: the least loaded, if anybody)."""
    if decision is None:
        return p
    choice = chosen(decision, None if decision.owner_id else await least_loaded_member(conn))
    if choice is None:
        return p
    return (await change_owner(conn, p, choice.owner_id, choice.basis, now, causation))[0]


async def change_owner(conn: asyncpg.Connection, p: Prospect, owner_id: str, basis: OwnerBasis, now: datetime,
                       causation: Envelope | None = None, *, reason: str | None = None,
                       by: str | None = None) -> tuple[Prospect, list[uuid.UUID], list[uuid.UUID]]:
    """Give the customer to `owner_id`: its pending work and open complaint cases follow, and every
    service learns it. Returns the prospect and the ids of the tasks and cases that moved."""
    choice = Ownership(owner_id, basis)
    if not moves(p, choice):
        return p, [], []
    customer_id, previous = p.customer_id, p.owner_id
    updated = await prospects.update(conn, customer_id, owner_id=owner_id, owner_basis=basis.value)
    await shared_ownership.set_owner(conn, customer_id, owner_id, basis.value, now)
    note = None if reason is None or await vaults.erased_now(customer_id) else reason  # nothing sealed for the erased
    event = assignment(previous, choice, note, by)
    await task_store.emit(conn, stream(customer_id), event, customer_id=customer_id, now=now, causation=causation)
    pending = await task_store.of_customer(conn, customer_id)
    tasks = await task_store.record_changes(conn, reassign_customer(pending, customer_id, owner_id), now, causation)
    cases = []
    for case in await complaint_store.of_customer(conn, customer_id):
        if case.status in OPEN_CASES and case.owner_id != owner_id:
            await complaint_store.record(conn, case.model_copy(update={"owner_id": owner_id}), now,
                                         causation=causation)
            cases.append(case.complaint_id)
    return updated, [t.task_id for t in tasks], cases


async def publish_missing(conn: asyncpg.Connection, now: datetime, limit: int = 500) -> int:
    """Owners decided before `customer-assigned` existed reach the other services (start-up, in
    batches: returns how many were published; 0 when none is left)."""
    rows = await conn.fetch(
        """select p.customer_id, p.owner_id, coalesce(p.owner_basis, 'named') as basis from prospects p
           where p.owner_id is not null and p.merged_into is null
             and not exists (select 1 from customer_owners o where o.customer_id = p.customer_id)
           order by p.customer_id limit $1 for update of p skip locked""", limit)
    for r in rows:
        await shared_ownership.set_owner(conn, r["customer_id"], r["owner_id"], r["basis"], now)
        await task_store.emit(conn, stream(r["customer_id"]),
                              CustomerAssigned(owner_id=r["owner_id"], basis=r["basis"]),
                              customer_id=r["customer_id"], now=now)
    return len(rows)
