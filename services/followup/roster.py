"""The team roster (销售顾问): who the consultants are, in which team, taking new work or not.

A consultant exists when a manager (or the roster feed) registers them with
`POST /v1/consultants`; being named on a contact, a deal or a grade makes nobody a
consultant (domain §8). Inactive consultants get no new work; a consultant can be removed
(a wrong entry): their pending work and customers are handed over first. Every change is
published as `consultant-updated` and kept in the shared `consultant_teams` rows that
access reads in every service.
"""
from __future__ import annotations

from datetime import datetime

import asyncpg

from shared.events.contract.followup import ConsultantUpdated, consultant_stream_id
from shared.events.envelope import new_event
from shared.runtime import ownership as shared_ownership
from shared.runtime.store import append

UNASSIGNED = "unassigned"  # the owner of work nobody can take yet (an empty roster)


async def _publish(conn: asyncpg.Connection, consultant_id: str, team: str | None, active: bool,
                   now: datetime) -> None:
    await shared_ownership.set_consultant(conn, consultant_id, team, active, now)
    change = ConsultantUpdated(consultant_id=consultant_id, team=team, active=active)
    await append(conn, f"consultant-{consultant_id}",
                 [new_event(change, customer_id=consultant_stream_id(consultant_id), producer="followup",
                            occurred_at=now, now=now)])


async def upsert(conn: asyncpg.Connection, consultant_id: str, name: str | None, team: str | None,
                 active: bool, now: datetime) -> dict:
    """Add or change a member; other services learn the member's team from `consultant-updated`."""
    row = await conn.fetchrow(
        """insert into consultants (consultant_id, name, team, active, source) values ($1, $2, $3, $4, 'roster')
           on conflict (consultant_id) do update set name = coalesce(excluded.name, consultants.name),
               team = coalesce(excluded.team, consultants.team), active = excluded.active, source = 'roster'
           returning consultant_id, name, team, active, source""", consultant_id, name, team, active)
    await _publish(conn, consultant_id, row["team"], row["active"], now)
    return dict(row)


async def remove(conn: asyncpg.Connection, consultant_id: str, now: datetime) -> None:
    """Take a member off the roster (after their work was handed over); published as inactive."""
    await conn.execute("delete from consultants where consultant_id = $1", consultant_id)
    await _publish(conn, consultant_id, None, False, now)


async def get(conn: asyncpg.Connection, consultant_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("select consultant_id, name, team, active, source from consultants "
                               "where consultant_id = $1 for update", consultant_id)


async def members(conn: asyncpg.Connection, team: str | None = None, *, after: str | None = None,
                  limit: int | None = None) -> list[dict]:
    """The roster (one team's when given) with each member's pending and overdue work, by consultant id,
    after the id `after` (None: from the start); `limit` rows at most (None: all). `source` is
    `seen` for ids that joined by being named before the roster was explicit: check and remove."""
    rows = await conn.fetch(
        """select c.consultant_id, c.name, c.team, c.active, c.source,
                  count(t.task_id) filter (where t.status in ('open', 'overdue')) as pending,
                  count(t.task_id) filter (where t.status = 'overdue') as overdue
           from consultants c left join tasks t on t.owner_id = c.consultant_id
           where ($1::text is null or c.team = $1) and ($2::text is null or c.consultant_id > $2)
           group by c.consultant_id order by c.consultant_id limit $3""", team, after, limit)
    return [dict(r) for r in rows]
