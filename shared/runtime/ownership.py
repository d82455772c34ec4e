"""Who owns each customer and which team each consultant is in, as every service keeps them.

Follow-up decides both (its roster and its assignment, domain §8) and publishes them as
`consultant-updated` and `customer-assigned`; the other services project them here
(`HANDLERS`), and follow-up writes the same rows in the transaction that decides them. Every
access decision (shared.access) reads these rows and nothing else.

Precedence is the order of application, never a date inside an event: one consultant's
events (keyed by the consultant's stream id) and one customer's share a partition, so they
arrive in the order follow-up decided them, and the inbox drops a redelivered one. An event
dated in the future therefore cannot outrank a later real one; only the services may write
these topics in production (deploy/README.md, Kafka ACLs).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import asyncpg

from ..access import Action, Owner, Relation, check, relation_of, own_consultant_id
from ..auth import Principal
from ..events.contract import ConsultantUpdated, CustomerAssigned
from ..events.enums import Role
from ..events.topics import CONSULTANT_UPDATED, CUSTOMER_ASSIGNED
from .consumer import BatchHandler, Handler, Inbound


async def set_consultant(conn: asyncpg.Connection, consultant_id: str, team: str | None, active: bool,
                         at: datetime) -> None:
    await set_consultants(conn, [(consultant_id, team, active, at)])


async def set_consultants(conn: asyncpg.Connection, changes: list[tuple[str, str | None, bool, datetime]]) -> None:
    """Roster entries (consultant, team, active, changed at) in one statement; each consultant once."""
    if changes:
        await conn.execute(
            """insert into consultant_teams (consultant_id, team, active, changed_at)
               select * from unnest($1::text[], $2::text[], $3::bool[], $4::timestamptz[])
               on conflict (consultant_id) do update set team = excluded.team, active = excluded.active,
                   changed_at = excluded.changed_at""",
            *(list(column) for column in zip(*changes, strict=True)))


async def set_owner(conn: asyncpg.Connection, customer_id: uuid.UUID, owner_id: str | None, basis: str,
                    at: datetime) -> None:
    await set_owners(conn, [(customer_id, owner_id, basis)], at)


async def set_owners(conn: asyncpg.Connection, owners: list[tuple[uuid.UUID, str | None, str]],
                     at: datetime | list[datetime]) -> None:
    """`set_owner` for many customers (customer id, owner, basis) in one statement, all at `at` or
    each at its own; each customer once (a customer's later decision in a batch replaces its
    earlier one before this)."""
    if owners:
        await conn.execute(
            """insert into customer_owners (customer_id, owner_id, basis, assigned_at)
               select * from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
               on conflict (customer_id) do update set owner_id = excluded.owner_id, basis = excluded.basis,
                   assigned_at = excluded.assigned_at""",
            [c for c, _, _ in owners], [o for _, o, _ in owners], [b for _, _, b in owners],
            at if isinstance(at, list) else [at] * len(owners))


async def record_consultants(conn: asyncpg.Connection, inbounds: list[Inbound]) -> None:
    """A batch's `consultant-updated` in one statement: each consultant's last change wins (they
    arrive in the order follow-up decided them)."""
    last: dict[str, tuple[ConsultantUpdated, datetime]] = {}
    for inbound in inbounds:
        change: ConsultantUpdated = inbound.payload  # type: ignore[assignment]
        last[change.consultant_id] = (change, inbound.envelope.occurred_at)
    await set_consultants(conn, [(c, change.team, change.active, at) for c, (change, at) in last.items()])


async def record_assignments(conn: asyncpg.Connection, inbounds: list[Inbound]) -> None:
    """A batch's `customer-assigned` in one statement: each customer's last decision wins (one
    customer's events share a partition, so they arrive in the order follow-up decided them)."""
    last: dict[uuid.UUID, tuple[CustomerAssigned, datetime]] = {}
    for inbound in inbounds:
        last[inbound.envelope.customer_id] = (inbound.payload, inbound.envelope.occurred_at)  # type: ignore[assignment]
    await set_owners(conn, [(c, a.owner_id, a.basis) for c, (a, _) in last.items()], [at for _, at in last.values()])


record_consultant = BatchHandler(record_consultants)
record_assignment = BatchHandler(record_assignments)
HANDLERS: dict[str, Handler] = {CONSULTANT_UPDATED: record_consultant, CUSTOMER_ASSIGNED: record_assignment}


async def owner_of(conn: asyncpg.Connection, customer_id: uuid.UUID) -> Owner:
    row = await conn.fetchrow(
        """select o.owner_id, t.team from customer_owners o
           left join consultant_teams t on t.consultant_id = o.owner_id where o.customer_id = $1""", customer_id)
    return Owner(None) if row is None else Owner(row["owner_id"], row["team"])


async def owners_of(conn: asyncpg.Connection, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, Owner]:
    rows = await conn.fetch(
        """select o.customer_id, o.owner_id, t.team from customer_owners o
           left join consultant_teams t on t.consultant_id = o.owner_id where o.customer_id = any($1)""",
        customer_ids)
    found = {r["customer_id"]: Owner(r["owner_id"], r["team"]) for r in rows}
    return {cid: found.get(cid, Owner(None)) for cid in customer_ids}


async def team_of(conn: asyncpg.Connection, consultant_id: str | None) -> str | None:
    if not consultant_id:
        return None
    return await conn.fetchval("select team from consultant_teams where consultant_id = $1", consultant_id)


async def consultant_status(conn: asyncpg.Connection, consultant_id: str) -> bool | None:
    """True: an active roster member; False: on the roster but inactive; None: not on the roster."""
    return await conn.fetchval("select active from consultant_teams where consultant_id = $1", consultant_id)


async def team_members(conn: asyncpg.Connection, team: str) -> list[str]:
    return [r[0] for r in await conn.fetch("select consultant_id from consultant_teams where team = $1", team)]


async def relation_to(conn: asyncpg.Connection, principal: Principal, owner: Owner) -> Relation:
    """The caller's relation to something `owner` owns (a customer, a task, a case)."""
    own_team = await team_of(conn, own_consultant_id(principal)) if principal.role is Role.CONSULTANT else None
    return relation_of(principal, owner, own_team)


async def relation(conn: asyncpg.Connection, principal: Principal, customer_id: uuid.UUID) -> Relation:
    return await relation_to(conn, principal, await owner_of(conn, customer_id))


async def authorize(conn: asyncpg.Connection, principal: Principal, action: Action, customer_id: uuid.UUID, *,
                    field: str = "customer_id", location: str = "path") -> Relation:
    """Check the policy for `action` on the customer; returns the relation (403 when refused)."""
    found = await relation(conn, principal, customer_id)
    check(principal, action, found, field=field, location=location)
    return found


async def relations(conn: asyncpg.Connection, principal: Principal,
                    customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, Relation]:
    """`relation` of several customers in two statements at most (a batch checks each row with
    `check` against it, as `authorize` does one)."""
    owners = await owners_of(conn, sorted(set(customer_ids)))
    own_team = await team_of(conn, own_consultant_id(principal)) if principal.role is Role.CONSULTANT else None
    return {customer_id: relation_of(principal, owner, own_team) for customer_id, owner in owners.items()}


async def consultant_statuses(conn: asyncpg.Connection, consultant_ids: Iterable[str]) -> dict[str, bool]:
    """`consultant_status` of several at once: id -> active (absent: not on the roster)."""
    wanted = sorted(set(consultant_ids))
    if not wanted:
        return {}
    rows = await conn.fetch("select consultant_id, active from consultant_teams where consultant_id = any($1)",
                            wanted)
    return {r["consultant_id"]: r["active"] for r in rows}
