"""The team roster (销售顾问) and who gets new work.

Consultants come from two places: every consultant named on a contact or a
grade joins the roster on first sight (source `seen`), and a manager keeps
the roster with `POST /v1/consultants` (add, rename, move team, deactivate).
Inactive consultants get no new work. New work goes to the consultant named
at intake, else the customer's owner, else the least-loaded active member
(pending tasks; ties by id); with an empty roster it waits as `unassigned`.
"""
from __future__ import annotations

from datetime import datetime

import asyncpg

from shared.events.contract.followup import ConsultantUpdated, consultant_stream_id
from shared.events.envelope import new_event
from shared.runtime.store import append

from .domain import NoConsultantAvailable, choose_owner

UNASSIGNED = "unassigned"


async def note_seen(conn: asyncpg.Connection, consultant_id: str | None) -> None:
    if consultant_id:
        await conn.execute("insert into consultants (consultant_id, source) values ($1, 'seen') on conflict do nothing",
                           consultant_id)


async def upsert(conn: asyncpg.Connection, consultant_id: str, name: str | None, team: str | None,
                 active: bool, now: datetime) -> dict:
    """Add or change a member; other services learn the member's team from `consultant-updated`."""
    row = await conn.fetchrow(
        """insert into consultants (consultant_id, name, team, active, source) values ($1, $2, $3, $4, 'roster')
           on conflict (consultant_id) do update set name = coalesce(excluded.name, consultants.name),
               team = coalesce(excluded.team, consultants.team), active = excluded.active, source = 'roster'
           returning consultant_id, name, team, active, source""", consultant_id, name, team, active)
    change = ConsultantUpdated(consultant_id=consultant_id, team=row["team"], active=row["active"])
    await append(conn, f"consultant-{consultant_id}",
                 [new_event(change, customer_id=consultant_stream_id(consultant_id), producer="followup",
                            occurred_at=now, now=now)])
    return dict(row)


async def members(conn: asyncpg.Connection) -> list[dict]:
    rows = await conn.fetch(
        """select c.consultant_id, c.name, c.team, c.active, c.source,
                  count(t.task_id) filter (where t.status in ('open', 'overdue')) as pending,
                  count(t.task_id) filter (where t.status = 'overdue') as overdue
           from consultants c left join tasks t on t.owner_id = c.consultant_id
           group by c.consultant_id order by c.consultant_id""")
    return [dict(r) for r in rows]


async def team_of(conn: asyncpg.Connection, consultant_id: str | None) -> str | None:
    """The consultant's team on the roster (this service owns it; others keep a copy)."""
    if not consultant_id:
        return None
    return await conn.fetchval("select team from consultants where consultant_id = $1", consultant_id)


async def is_active(conn: asyncpg.Connection, consultant_id: str) -> bool:
    return bool(await conn.fetchval("select active from consultants where consultant_id = $1", consultant_id))


async def loads(conn: asyncpg.Connection) -> tuple[list[str], dict[str, int]]:
    """Active members and their pending work (kept by a trigger in `owner_load`)."""
    rows = await conn.fetch("""select c.consultant_id, coalesce(l.pending, 0) as n from consultants c
                               left join owner_load l on l.owner_id = c.consultant_id where c.active""")
    return [r["consultant_id"] for r in rows], {r["consultant_id"]: r["n"] for r in rows}


async def assign(conn: asyncpg.Connection, named: str | None, owner: str | None = None) -> str:
    """The named consultant, else the current owner, else the least loaded; `unassigned` with nobody."""
    preferred = named or (owner if owner and owner != UNASSIGNED else None)
    if preferred:
        return preferred
    team, load = await loads(conn)
    try:
        return choose_owner(None, team, load)
    except NoConsultantAvailable:
        return UNASSIGNED
