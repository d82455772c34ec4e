"""Follow-up's use of the one access policy (shared.access): the relation to a customer comes
from its owner, the relation to a task or a complaint case from the item's owner; lists are
cut to what the caller may see (a consultant their own work, a team manager their team's)."""
from __future__ import annotations

import uuid

import asyncpg
from fastapi import Request

from shared.access import Action, Owner, Relation, check, own_consultant_id, relation_of, sees_personal_data
from shared.auth import Principal
from shared.events.enums import Role
from shared.runtime import ownership

from .domain import DEFAULT_POLICY, FollowUpPolicy
from .roster import UNASSIGNED


def me(principal: Principal) -> str:
    """The consultant id work is owned by (the token's consultant_id, else its subject)."""
    return own_consultant_id(principal)


def by(principal: Principal) -> str:
    """Who did it, as kept on records: a consultant's id, else the token's subject."""
    return me(principal) if principal.role is Role.CONSULTANT else principal.subject


async def authorize_item(conn: asyncpg.Connection, principal: Principal, action: Action, owner_id: str, *,
                         field: str, location: str = "path") -> Relation:
    """The policy on a work item (task, complaint case), by the relation to the item's owner."""
    owner = Owner(None) if owner_id == UNASSIGNED else Owner(owner_id, await ownership.team_of(conn, owner_id))
    relation = await ownership.relation_to(conn, principal, owner)
    check(principal, action, relation, field=field, location=location)
    return relation


async def personal_visible(conn: asyncpg.Connection, principal: Principal,
                           customer_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Of these customers, those whose personal data the caller may see unmasked."""
    if not customer_ids or principal.role not in (Role.CONSULTANT, Role.MANAGER):
        return set()
    own_team = await ownership.team_of(conn, me(principal)) if principal.role is Role.CONSULTANT else None
    owners = await ownership.owners_of(conn, sorted(customer_ids))
    return {cid for cid, owner in owners.items() if sees_personal_data(principal, relation_of(principal, owner, own_team))}


async def visible_owners(conn: asyncpg.Connection, principal: Principal) -> list[str] | None:
    """The owners whose work a list may show the caller; None: everybody's (ops, head of sales)."""
    if principal.role is Role.CONSULTANT:
        return [me(principal)]
    if principal.role is Role.MANAGER and principal.team is not None:
        return [*await ownership.team_members(conn, principal.team), UNASSIGNED]
    return None


def policy_of(request: Request) -> FollowUpPolicy:
    return getattr(request.app.state, "followup_policy", DEFAULT_POLICY)
