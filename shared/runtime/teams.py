"""Which team each consultant is in, as every service learns it from `consultant-updated`
(follow-up owns the roster). The latest change by occurred_at wins, so redelivery or
out-of-order arrival leaves the same answer."""
from __future__ import annotations

import asyncpg

from ..events.contract import ConsultantUpdated
from .consumer import Inbound


async def record_consultant(conn: asyncpg.Connection, inbound: Inbound) -> None:
    change: ConsultantUpdated = inbound.payload  # type: ignore[assignment]
    await conn.execute(
        """insert into consultant_teams (consultant_id, team, active, changed_at) values ($1, $2, $3, $4)
           on conflict (consultant_id) do update set team = excluded.team, active = excluded.active,
               changed_at = excluded.changed_at
           where consultant_teams.changed_at <= excluded.changed_at""",
        change.consultant_id, change.team, change.active, inbound.envelope.occurred_at)


async def team_of(conn: asyncpg.Connection, consultant_id: str | None) -> str | None:
    if not consultant_id:
        return None
    return await conn.fetchval("select team from consultant_teams where consultant_id = $1", consultant_id)
