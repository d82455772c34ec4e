"""A batch of deals or payments (up to 1,000, history taken over from an earlier system) applied
set-based: the rules and the results of `deals.record_deal`/`record_payment` row by row, in a
fixed number of statements whatever the batch's size.

Deals: the batch reads what its rules need in one go (survivors of merges, the caller's relation
to each customer, the roster, each customer's prospect row and pending work, locked in customer
order: the lock order every writer of follow-up keeps), checks every row, decides each deal in
the rows' order (customer, close day, row) in memory, each customer's decision seeing the work
its earlier deals in the batch left, and writes deals, tasks, prospects, owners and events with
one statement each. A deal that would give an unowned customer an owner while the customer has
pending work or open cases (they move with it: `ownership.change_owner`) is applied by
`deals.apply_deal` in its place, after what precedes it is written, with the customer's later rows.

Payments: a deal's payments apply in the order given, each checked against the balance the
earlier ones left; a refused row leaves nothing behind and the batch records nothing.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from shared.access import Action, check
from shared.auth import Principal
from shared.business_time import business_day, business_instant, is_history
from shared.errors import DomainError, NotFound
from shared.events.envelope import Envelope
from shared.runtime import ownership as shared_ownership
from shared.runtime.db import plan_for_this_batch
from shared.runtime.store import append_many

from . import deal_store, merging, ownership, task_store
from .deals import (
    Checked,
    DealRejected,
    PaymentRejected,
    Recorded,
    Roster,
    RowsRejected,
    apply_deal,
    checked_deal,
    in_row,
    row_of,
)
from .domain import (
    FollowUpPolicy,
    FollowUpTask,
    Ownership,
    deal_call_task,
    deal_work,
    delivery_tasks,
    owner_when_needed,
    task_scheduled,
)
from .domain.payments import balance_of, payment_problems, payment_recorded
from .ownership import OPEN_CASES
from .prospects import CUSTOMER, Prospect, from_row
from .schemas import NewDeal, NewPayment, PaymentEntry

_TASK_ORDER = lambda t: (t.due_at, t.task_id)  # noqa: E731  the order `task_store.of_customer` reads them in


@dataclass
class _Customer:
    """What a customer's deals decide on: its prospect row, its pending work (in `_TASK_ORDER`),
    whether it has open complaint cases; `one_by_one` once its deals need `apply_deal`."""

    prospect: Prospect
    pending: list[FollowUpTask]
    open_cases: bool
    one_by_one: bool = False
    assigned: Ownership | None = None


_STATE = """
select p.*, exists(select 1 from complaint_cases c where c.customer_id = p.customer_id
                   and c.status = any($2::text[])) as open_cases
from prospects p where p.customer_id = any($1::uuid[]) order by p.customer_id for update of p"""
_PENDING = """
select customer_id, data::text as data from tasks where customer_id = any($1::uuid[]) and status in ('open', 'overdue')
order by customer_id, due_at, task_id for update"""
_UPDATE = """
update prospects p set owner_id = u.owner_id, owner_basis = u.owner_basis, status = $4, status_at = $5,
       updated_at = now()
from unnest($1::uuid[], $2::text[], $3::text[]) as u(customer_id, owner_id, owner_basis)
where p.customer_id = u.customer_id"""


async def _state(conn: asyncpg.Connection, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, _Customer]:
    """Every customer of the batch, locked in id order (created empty if new, as `prospects.load` does),
    with its pending work (locked too) and whether it has open cases."""
    ids = sorted(set(customer_ids))
    await conn.execute("insert into prospects (customer_id) select * from unnest($1::uuid[]) on conflict do nothing",
                       ids)
    rows = await conn.fetch(_STATE, ids, [s.value for s in OPEN_CASES])
    pending: dict[uuid.UUID, list[FollowUpTask]] = {i: [] for i in ids}
    for r in await conn.fetch(_PENDING, ids):
        pending[r["customer_id"]].append(FollowUpTask.model_validate_json(r["data"]))
    return {r["customer_id"]: _Customer(from_row(r), pending[r["customer_id"]], r["open_cases"]) for r in rows}


async def _checked(conn: asyncpg.Connection, principal: Principal, bodies: list[NewDeal], order: list[int],
                   now: datetime) -> tuple[dict[int, Checked], dict[uuid.UUID, _Customer]]:
    """Every row checked (`deals._check`'s rules, with what they read read once); raises naming
    every broken rule at once (a refusal other than 422 at once, naming its row)."""
    survivors = await merging.survivors_of(conn, [b.customer_id for b in bodies])
    relations = await shared_ownership.relations(conn, principal, list(survivors.values()))
    state = await _state(conn, list(survivors.values()))
    roster = Roster(conn)
    await roster.read([*(b.consultant_id for b in bodies), *(c.prospect.owner_id for c in state.values()),
                       principal.consultant_id or principal.subject])
    checked, problems = {}, []
    for i in order:
        body = bodies[i]
        customer_id = survivors[body.customer_id]
        try:
            check(principal, Action.RECORD_DEAL, relations[customer_id], location="body")
            checked[i] = await checked_deal(principal, body, customer_id, state[customer_id].prospect.owner_id,
                                            roster, now)
        except RowsRejected as exc:
            problems += in_row(f"deals.{i}", exc).problems
        except DomainError as exc:
            if exc.status_code != 422:
                raise in_row(f"deals.{i}", exc) from None
            problems.append((f"deals.{i}.{exc.field or 'customer_id'}", exc.message))
    if problems:
        raise DealRejected(sorted(problems, key=lambda p: row_of(p[0])))
    return checked, state


@dataclass
class _Writes:
    """What the decided deals write, in the order `deals.apply_deal` would write it."""

    deals: list[Checked]
    changed: list[FollowUpTask]
    created: list[FollowUpTask]
    events: list[tuple[str, Envelope]]


def _decide(c: Checked, customer: _Customer, known: set[uuid.UUID], historical: bool, now: datetime,
            policy: FollowUpPolicy, writes: _Writes) -> Recorded:
    """`deals.apply_deal` on the customer's state in memory: the state moves on, the writes grow."""
    body, deal, customer_id, consultant = c.body, c.deal, c.customer_id, c.consultant
    decision = owner_when_needed(customer.prospect.ownership, consultant)
    choice = None if decision is None else ownership.chosen(decision, None)
    if choice is not None and ownership.moves(customer.prospect, choice):
        before = customer.prospect.owner_id
        customer.prospect = replace(customer.prospect, owner_id=choice.owner_id, owner_basis=choice.basis)
        customer.assigned = choice
        writes.events.append((ownership.stream(customer_id), task_store.outgoing(
            ownership.assignment(before, choice), customer_id=customer_id, now=now)))
    writes.deals.append(c)
    closed_at = business_instant(deal.closed_on, now)
    event = task_store.outgoing(deal, customer_id=customer_id, now=now, occurred_at=closed_at)
    writes.events.append((f"deal-{deal.deal_id}", event))
    pending = customer.pending
    steps, follow = deal_work(deal, customer_id=customer_id, open_tasks=pending, delivered_at=body.delivered_at,
                              now=now, policy=policy, cause_id=event.event_id, historical=historical)
    for change in follow.cancel:  # `task_store.record_changes`
        if change.changed:
            writes.changed.append(change.task)
            writes.events.append((f"task-{change.task.task_id}", task_store.outgoing(
                task_store.event_of(change.task), customer_id=customer_id, now=now, causation=event,
                occurred_at=change.task.completed_at)))
    created = []
    for task in [*steps, *([follow.call] if follow.call else [])]:  # `task_store.schedule`
        if task.task_id in known:
            continue
        known.add(task.task_id)
        created.append(task)
        writes.events.append((f"task-{task.task_id}", task_store.outgoing(
            task_scheduled(task), customer_id=customer_id, now=now, causation=event)))
    writes.created += created
    gone = {ch.task.task_id for ch in follow.cancel if not ch.task.is_pending}
    customer.pending = sorted([*(t for t in pending if t.task_id not in gone), *(t for t in created if t.is_pending)],
                              key=_TASK_ORDER)
    return Recorded(deal, customer_id, historical, follow.call.task_id if follow.call else None, created,
                    [ch.task.task_id for ch in follow.cancel])


async def _write(conn: asyncpg.Connection, writes: _Writes, customers: list[_Customer], now: datetime) -> None:
    if not writes.deals:
        return
    await deal_store.insert_many(conn, [(c.deal, c.customer_id) for c in writes.deals], now)
    # owners in one order, as the owner_load trigger counts them: two batches never wait on each other's owner
    await task_store.save_many(conn, sorted(writes.changed, key=lambda t: (t.owner_id, t.task_id)))
    await task_store.insert_new(conn, writes.created)
    after = [c.prospect for c in customers]
    await conn.execute(_UPDATE, [p.customer_id for p in after], [p.owner_id for p in after],
                       [p.owner_basis.value if p.owner_basis else None for p in after], CUSTOMER, now)
    await shared_ownership.set_owners(conn, [(c.prospect.customer_id, c.assigned.owner_id, c.assigned.basis.value)
                                             for c in customers if c.assigned], now)
    await append_many(conn, writes.events)


def _candidates(checked: list[Checked], historical: dict[uuid.UUID, bool], now: datetime,
                policy: FollowUpPolicy) -> list[uuid.UUID]:
    """The ids of the tasks these deals can create (to know which exist already, as `schedule` asks)."""
    out = []
    for c in checked:
        if historical[c.deal.deal_id]:
            continue
        if c.body.delivered_at is None:
            out += [t.task_id for t in delivery_tasks(customer_id=c.customer_id, owner_id=c.consultant,
                                                      ordered_at=now, now=now, policy=policy)]
        out.append(deal_call_task(customer_id=c.customer_id, deal_id=c.deal.deal_id, owner_id=c.consultant,
                                  delivered_at=now, now=now, policy=policy).task_id)
    return out


async def record_deals(conn: asyncpg.Connection, principal: Principal, bodies: list[NewDeal], *,
                       historical_before: datetime, now: datetime, policy: FollowUpPolicy) -> list[Recorded]:
    """A batch of deals, all or nothing; the results in the order of the rows."""
    await plan_for_this_batch(conn)
    order = sorted(range(len(bodies)), key=lambda i: (bodies[i].customer_id, bodies[i].closed_on, i))
    checked, state = await _checked(conn, principal, bodies, order, now)
    historical = {c.deal.deal_id: is_history(c.deal.closed_on, historical_before) for c in checked.values()}
    candidates = _candidates(list(checked.values()), historical, now, policy)
    known = await task_store.exists(conn, candidates) if candidates else set()
    results: dict[int, Recorded] = {}
    writes, decided = _Writes([], [], [], []), {}
    for i in order:
        c = checked[i]
        customer = state[c.customer_id]
        if not customer.one_by_one and customer.prospect.owner_id is None and (customer.pending or customer.open_cases):
            customer.one_by_one = True  # its work and cases move with its new owner: `change_owner`
        if customer.one_by_one:
            await _write(conn, writes, list(decided.values()), now)
            writes, decided = _Writes([], [], [], []), {}
            results[i] = await apply_deal(conn, c, historical=historical[c.deal.deal_id], now=now, policy=policy)
            continue
        decided[c.customer_id] = customer
        results[i] = _decide(c, customer, known, historical[c.deal.deal_id], now, policy, writes)
    await _write(conn, writes, list(decided.values()), now)
    return [results[i] for i in range(len(bodies))]


# --- payments -------------------------------------------------------------------------------------

_DEALS = """
select deal_id, customer_id, amount, deposit, closed_on, coalesce(payment_due_on, closed_on) as due_on
from deals where deal_id = any($1::uuid[]) order by deal_id for update"""


async def record_payments(conn: asyncpg.Connection, principal: Principal, entries: list[PaymentEntry], *,
                          now: datetime) -> list[dict]:
    """A batch of payments, all or nothing; a deal's payments are applied in the order given (each
    reduces the balance the next is checked against), deals in ascending id (the lock order)."""
    await plan_for_this_batch(conn)
    order = sorted(range(len(entries)), key=lambda i: (entries[i].deal_id, i))
    deals = {r["deal_id"]: r for r in await conn.fetch(_DEALS, sorted({e.deal_id for e in entries}))}
    survivors = await merging.survivors_of(conn, [d["customer_id"] for d in deals.values()])
    relations = await shared_ownership.relations(conn, principal, list(survivors.values()))
    paid: dict[uuid.UUID, list] = {d: [] for d in deals}
    for r in await conn.fetch("select deal_id, amount from payments where deal_id = any($1::uuid[])", list(deals)):
        paid[r["deal_id"]].append(r["amount"])
    today = business_day(now)
    results, problems, rows, events = {}, [], [], []
    for i in order:
        entry = entries[i]
        try:
            deal = deals.get(entry.deal_id)
            if deal is None:
                raise NotFound(f"deal {entry.deal_id} not found", field="deal_id", location="body")
            customer_id = survivors[deal["customer_id"]]
            check(principal, Action.RECORD_PAYMENT, relations[customer_id], field="deal_id", location="body")
            balance = balance_of(deal["amount"], deal["deposit"], paid[entry.deal_id])
            refused = payment_problems(amount=entry.amount, paid_on=entry.paid_on, balance=balance,
                                       closed_on=deal["closed_on"], today=today)
            if refused:
                raise PaymentRejected(refused)
        except RowsRejected as exc:
            problems += in_row(f"payments.{i}", exc).problems
            continue
        except DomainError as exc:
            if exc.status_code not in (404, 422):
                raise in_row(f"payments.{i}", exc) from None
            problems.append((f"payments.{i}.{exc.field or 'deal_id'}", exc.message))
            continue
        payload = payment_recorded(deal_id=entry.deal_id, amount=entry.amount, paid_on=entry.paid_on,
                                   due_on=deal["due_on"], balance=balance)
        paid[entry.deal_id].append(entry.amount)
        body = NewPayment(amount=entry.amount, paid_on=entry.paid_on, note=entry.note)
        payment_id = uuid.uuid4()
        rows.append((payment_id, entry.deal_id, body, payload.balance_after))
        paid_at = business_instant(entry.paid_on, now)
        events.append((f"deal-{entry.deal_id}", task_store.outgoing(payload, customer_id=customer_id, now=now,
                                                                   occurred_at=paid_at)))
        results[i] = {"payment_id": payment_id, "customer_id": customer_id, "note": entry.note,
                      **payload.model_dump(mode="json")}
    if problems:
        raise PaymentRejected(sorted(problems, key=lambda p: row_of(p[0])))
    await deal_store.insert_payments(conn, rows, principal.subject, now)
    await append_many(conn, events)
    return [results[i] for i in range(len(entries))]
