"""Who may do what: a consultant sees and works only their own tasks and customers; a
manager whose token names a team, only their team's (shared.access has the rule)."""
from __future__ import annotations

import uuid

import asyncpg
from fastapi import HTTPException, Request, status

from shared.access import in_reach, own_consultant_id
from shared.auth import Principal
from shared.events.enums import Role

from . import roster
from .domain import DEFAULT_POLICY, FollowUpPolicy


def me(principal: Principal) -> str:
    """The consultant id work is owned by (the token's consultant_id, else its subject)."""
    return own_consultant_id(principal)


def forbid(what: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=f"a consultant may only {what} their own")


def forbid_team(what: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=f"a team manager may only {what} of their team")


def is_team_manager(principal: Principal) -> bool:
    return principal.role is Role.MANAGER and principal.team is not None


async def team_members(conn: asyncpg.Connection, principal: Principal) -> list[str] | None:
    """The consultants a team manager reaches; None for everyone else (no team filter)."""
    if not is_team_manager(principal):
        return None
    return [r[0] for r in await conn.fetch("select consultant_id from consultants where team = $1", principal.team)]


async def check_owner(conn: asyncpg.Connection, principal: Principal, owner_id: str,
                      what: str = "work tasks") -> None:
    if principal.role is Role.CONSULTANT and owner_id != me(principal):
        raise forbid(what)
    if is_team_manager(principal) and not in_reach(principal, await roster.team_of(conn, owner_id)):
        raise forbid_team(what)


async def check_customer(conn: asyncpg.Connection, principal: Principal, customer_id: uuid.UUID) -> None:
    """A consultant acts on a customer they own or have pending work for; a team manager on a
    customer owned by (or with pending work for) a member of their team."""
    if principal.role is Role.CONSULTANT:
        mine = await conn.fetchval(
            """select true from prospects where customer_id = $1 and owner_id = $2
               union all select true from tasks where customer_id = $1 and owner_id = $2
                                                and status in ('open', 'overdue') limit 1""",
            customer_id, me(principal))
        if not mine:
            raise forbid("act on customers that are")
    elif is_team_manager(principal):
        known, ours = await conn.fetchrow(
            """select exists (select 1 from prospects where customer_id = $1),
                      exists (select 1 from consultants c where c.team = $2 and c.consultant_id in (
                          select owner_id from prospects where customer_id = $1
                          union all select owner_id from tasks
                                    where customer_id = $1 and status in ('open', 'overdue')))""",
            customer_id, principal.team)
        if known and not ours:
            raise forbid_team("act on customers")


def policy_of(request: Request) -> FollowUpPolicy:
    return getattr(request.app.state, "followup_policy", DEFAULT_POLICY)
