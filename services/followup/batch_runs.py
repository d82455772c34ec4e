"""A consumer batch's runs of contacts and of grades applied set-based, with the rules and the
results of `on_contact` and `on_graded` one message at a time (and the pure rules of a contact).

A run reads the state of all its customers and the roster's load in one go (a fixed number of
statements), decides each message in the run's order in memory (the least-loaded choice sees
the work decided before it, as it would in the database), and writes prospects, owners, tasks
and events with one statement each. A message whose rules need more than that state (a merged
id, a second message of one customer in the run, an owner change that would move pending work
or open cases, a grade whose cadence would move) is applied by its handler in its place, after
what precedes it is written.
"""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from shared.events.contract import ContactReceived, ProspectGraded
from shared.events.enums import Channel, IntentGrade
from shared.events.envelope import Envelope
from shared.runtime import ownership as shared_ownership
from shared.runtime.consumer import Inbound
from shared.runtime.store import append_many, meanwhile

from . import ownership, roster, task_store
from .domain import (
    FollowUpPolicy,
    FollowUpTask,
    Ownership,
    TaskKind,
    first_contact_task,
    owner_on_contact,
    permitted,
    service_call_task,
    task_id_for,
    task_scheduled,
)
from .ownership import OPEN_CASES
from .prospects import ACTIVE, Prospect, from_row


def contact_fields(p: Prospect, occurred_at: datetime, historical: bool = False) -> dict:
    """What a contact changes on the prospect: contacted (work starts with a live contact, not with one
    taken over from history: domain §8); a closed prospect that comes back (a contact after it was
    closed) is a prospect again."""
    fields: dict = {} if historical else {"contacted": True}
    if p.status != ACTIVE and (p.status_at is None or occurred_at > p.status_at):
        fields.update(status=ACTIVE, status_at=occurred_at)
    return fields


def contact_work(contact: ContactReceived, envelope: Envelope, customer_id: uuid.UUID, owner: str,
                 marketing_allowed: bool, now: datetime, policy: FollowUpPolicy) -> list[FollowUpTask]:
    """The work a contact makes, as consent permits: a service visit's call (售后3日DC) and a first
    contact (one per contact id), for the customer's owner; none for a contact taken over from an
    earlier system (no work for the past, domain §8)."""
    work: list[FollowUpTask] = []
    if contact.historical:
        return work
    if contact.channel == Channel.SERVICE_STATION:
        work.append(service_call_task(customer_id=customer_id, visit_id=contact.contact_id, owner_id=owner,
                                      visited_at=envelope.occurred_at, now=now, policy=policy,
                                      cause_id=envelope.event_id))
    if contact.channel != Channel.SERVICE_STATION or shows_intent(contact):
        work.append(first_contact_task(customer_id=customer_id, contact_id=contact.contact_id,
                                       channel=contact.channel, owner_id=owner, received_at=envelope.occurred_at,
                                       now=now, policy=policy, grade=contact.initial_grade,
                                       cause_id=envelope.event_id))
    return permitted(work, marketing_allowed)


def shows_intent(contact: ContactReceived) -> bool:
    """A service-station visitor who also asked about buying is a prospect too."""
    return bool(contact.purchase_timeframe or contact.product_interest or contact.initial_grade)


def cadence_waits(grade: IntentGrade, pending_kinds: set[str]) -> bool:
    """Nothing to reconcile after a contact when the first contact is the next follow-up (the rule of
    `cadence_work.reconcile`: the cadence starts when it is done), unless grade O or delivery work
    asks for more: then `reconcile` decides."""
    return (grade != IntentGrade.O and TaskKind.FIRST_CONTACT.value in pending_kinds
            and TaskKind.DELIVERY.value not in pending_kinds)


@dataclass(frozen=True)
class _Customer:
    prospect: Prospect
    merged: bool
    pending_kinds: frozenset[str]
    open_cases: bool
    known_tasks: frozenset[uuid.UUID]


@dataclass(frozen=True)
class _Decision:
    inbound: Inbound
    before: Prospect
    after: Prospect
    assigned: Ownership | None
    tasks: list[FollowUpTask]


_KINDS = {False: (TaskKind.FIRST_CONTACT,), True: (TaskKind.FIRST_CONTACT, TaskKind.SERVICE_3DAY_CALL)}
_STATE = """
select p.*,
       array(select t.kind from tasks t where t.customer_id = p.customer_id
             and t.status in ('open', 'overdue')) as pending_kinds,
       exists(select 1 from complaint_cases c where c.customer_id = p.customer_id
              and c.status = any($3::text[])) as open_cases,
       array(select t.task_id from tasks t where t.customer_id = p.customer_id
             and t.task_id = any($2::uuid[])) as known_tasks
from prospects p where p.customer_id = any($1::uuid[]) order by p.customer_id for update of p"""

_UPDATE = """
update prospects p set owner_id = u.owner_id, owner_basis = u.owner_basis, contacted = u.contacted,
       status = u.status, status_at = u.status_at, updated_at = now()
from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bool[])
     as u(customer_id, owner_id, owner_basis, status, status_at, contacted)
where p.customer_id = u.customer_id"""


def _candidates(contacts: list[Inbound]) -> list[uuid.UUID]:
    """The ids of the tasks these contacts can make (to know which exist already)."""
    return [task_id_for(c.envelope.customer_id, kind, str(c.payload.contact_id)) for c in contacts
            for kind in _KINDS[c.payload.channel == Channel.SERVICE_STATION]]


async def _state(conn: asyncpg.Connection, run: list[Inbound],
                 candidates: list[uuid.UUID] = ()) -> dict[uuid.UUID, _Customer]:
    """Every customer of the run, locked in id order (created empty if new, as `prospects.load` does),
    with what its rules may need: its pending work's kinds, open cases, which `candidates` it has."""
    ids = sorted({i.envelope.customer_id for i in run})
    await conn.execute("insert into prospects (customer_id) select * from unnest($1::uuid[]) on conflict do nothing",
                       ids)
    rows = await conn.fetch(_STATE, ids, list(candidates), [s.value for s in OPEN_CASES])
    return {r["customer_id"]: _Customer(from_row(r), r["merged_into"] is not None, frozenset(r["pending_kinds"]),
                                        r["open_cases"], frozenset(r["known_tasks"])) for r in rows}


def _decide(inbound: Inbound, c: _Customer, loads: dict[str, int], now: datetime,
            policy: FollowUpPolicy) -> _Decision | None:
    """`on_contact`'s decision from the loaded state, or None when it needs `on_contact` itself."""
    contact: ContactReceived = inbound.payload  # type: ignore[assignment]
    envelope, p = inbound.envelope, c.prospect
    if c.merged:
        return None
    named = contact.consultant_id if contact.consultant_id in loads else None  # an active roster member
    decision = owner_on_contact(p.ownership, named, contact.is_new_customer)
    choice = None if decision is None else ownership.chosen(
        decision, None if decision.owner_id else ownership.least_loaded_of(loads))
    assigned = choice if choice is not None and ownership.moves(p, choice) else None
    if assigned is not None and (c.pending_kinds or c.open_cases):
        return None  # the customer's work and cases move with it: change_owner
    owner = {} if assigned is None else {"owner_id": assigned.owner_id, "owner_basis": assigned.basis}
    after = replace(p, **owner, **contact_fields(p, envelope.occurred_at, contact.historical))
    tasks: list[FollowUpTask] = []
    if after.status == ACTIVE:
        work = contact_work(contact, envelope, p.customer_id, after.owner_id or roster.UNASSIGNED,
                            after.marketing_allowed, now, policy)
        tasks = [t for t in work if t.task_id not in c.known_tasks]
        if after.contacted and after.grade is not None and not cadence_waits(
                after.grade, c.pending_kinds | {t.kind.value for t in tasks}):
            return None
    return _Decision(inbound, p, after, assigned, tasks)


async def apply_contacts(conn: asyncpg.Connection, contacts: list[Inbound], policy: FollowUpPolicy,
                         now: datetime, one_by_one: Callable[[Inbound], Awaitable[None]]) -> None:
    """Apply a run of contacts in order: set-based, except the contacts that need more than the loaded
    state, which `one_by_one` (`on_contact`) applies after what precedes them is written."""
    state = await _state(conn, contacts, _candidates(contacts))
    loads = await ownership.active_loads(conn)
    decisions: list[_Decision] = []
    seen: set[uuid.UUID] = set()  # customers whose loaded state is no longer what the database holds
    for i, inbound in enumerate(contacts):
        customer_id = inbound.envelope.customer_id
        decided = None if customer_id in seen else _decide(inbound, state[customer_id], loads, now, policy)
        seen.add(customer_id)
        if decided is not None:
            decisions.append(decided)
            for task in decided.tasks:  # the owner_load trigger will count them: so do the next decisions
                if task.owner_id in loads:
                    loads[task.owner_id] += 1
            continue
        await _write(conn, decisions, now)
        decisions = []
        await one_by_one(inbound)
        if state[customer_id].merged and i + 1 < len(contacts):  # its survivor may be any customer: read again
            state, seen = await _state(conn, contacts[i + 1:], _candidates(contacts[i + 1:])), set()
        loads = await ownership.active_loads(conn)
    await _write(conn, decisions, now)


async def _write(conn: asyncpg.Connection, decisions: list[_Decision], now: datetime) -> None:
    if not decisions:
        return
    after = [d.after for d in decisions]
    await conn.execute(_UPDATE, [p.customer_id for p in after], [p.owner_id for p in after],
                       [p.owner_basis.value if p.owner_basis else None for p in after], [p.status for p in after],
                       [p.status_at for p in after], [p.contacted for p in after])
    await shared_ownership.set_owners(conn, [(d.after.customer_id, d.assigned.owner_id, d.assigned.basis.value)
                                             for d in decisions if d.assigned], now)
    # The events are built while the database stores the tasks, one for each task in case it is new
    # (the decisions left out the tasks known already; one created meanwhile loses its event below).
    created, events = await meanwhile(task_store.insert_new(conn, [t for d in decisions for t in d.tasks]),
                                      lambda: _events(decisions, now))
    await append_many(conn, [(stream, e) for stream, e, task_id in events if task_id is None or task_id in created])


def _events(decisions: list[_Decision], now: datetime) -> list[tuple[str, Envelope, uuid.UUID | None]]:
    """The events of these decisions in the order `on_contact` would append them, contact by contact:
    (stream, event, the task it schedules, if it schedules one)."""
    events: list[tuple[str, Envelope, uuid.UUID | None]] = []
    for d in decisions:
        customer_id, causation = d.after.customer_id, d.inbound.envelope
        if d.assigned:
            events.append((ownership.stream(customer_id), task_store.outgoing(
                ownership.assignment(d.before.owner_id, d.assigned), customer_id=customer_id, now=now,
                causation=causation), None))
        events += [(f"task-{t.task_id}", task_store.outgoing(task_scheduled(t), customer_id=customer_id, now=now,
                                                              causation=causation), t.task_id)
                   for t in d.tasks]
    return events


def _grade_decided(inbound: Inbound, c: _Customer) -> Prospect | None:
    """`on_graded`'s decision from the loaded state: the prospect with its new grade when its cadence
    stays as it is (not contacted yet, or the first contact still the next follow-up); None when
    `on_graded` itself must move the cadence."""
    graded: ProspectGraded = inbound.payload  # type: ignore[assignment]
    if c.merged:
        return None
    after = replace(c.prospect, grade=graded.grade)
    return after if not after.contacted or cadence_waits(after.grade, c.pending_kinds) else None


_GRADES = """
update prospects p set grade = u.grade, updated_at = now()
from unnest($1::uuid[], $2::text[]) as u(customer_id, grade) where p.customer_id = u.customer_id"""


async def apply_grades(conn: asyncpg.Connection, grades: list[Inbound],
                       one_by_one: Callable[[Inbound], Awaitable[None]]) -> None:
    """Apply a run of `prospect-graded` in order: the grades that leave the cadence as it is in one
    statement, the others by `one_by_one` (`on_graded`) in their place."""
    state = await _state(conn, grades)
    decided: dict[uuid.UUID, Prospect] = {}

    async def write() -> None:
        if decided:
            await conn.execute(_GRADES, list(decided), [p.grade.value for p in decided.values()])
            decided.clear()

    seen: set[uuid.UUID] = set()
    for i, inbound in enumerate(grades):
        customer_id = inbound.envelope.customer_id
        after = None if customer_id in seen else _grade_decided(inbound, state[customer_id])
        seen.add(customer_id)
        if after is not None:
            decided[customer_id] = after
            continue
        await write()
        await one_by_one(inbound)
        if state[customer_id].merged and i + 1 < len(grades):  # its survivor may be any customer: read again
            state, seen = await _state(conn, grades[i + 1:]), set()
    await write()
