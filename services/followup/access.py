"""Who may do what: a consultant sees and works only their own tasks and customers."""
from __future__ import annotations

import uuid

import asyncpg
from fastapi import HTTPException, Request, status

from shared.auth import Principal
from shared.events.enums import Role

from .domain import DEFAULT_POLICY, FollowUpPolicy


def me(principal: Principal) -> str:
    """The consultant id work is owned by (the token's consultant_id, else its subject)."""
    return principal.consultant_id or principal.subject


def forbid(what: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=f"a consultant may only {what} their own")


def check_owner(principal: Principal, owner_id: str, what: str = "work tasks") -> None:
    if principal.role is Role.CONSULTANT and owner_id != me(principal):
        raise forbid(what)


async def check_customer(conn: asyncpg.Connection, principal: Principal, customer_id: uuid.UUID) -> None:
    """A consultant acts on a customer they own or have pending work for."""
    if principal.role is not Role.CONSULTANT:
        return
    mine = await conn.fetchval(
        """select true from prospects where customer_id = $1 and owner_id = $2
           union all select true from tasks where customer_id = $1 and owner_id = $2
                                            and status in ('open', 'overdue') limit 1""",
        customer_id, me(principal))
    if not mine:
        raise forbid("act on customers that are")


def policy_of(request: Request) -> FollowUpPolicy:
    return getattr(request.app.state, "followup_policy", DEFAULT_POLICY)
