"""Who may see a customer's personal data unmasked (客户信息的保密性): one rule for every service.

- A manager whose token names a team sees the customers owned by that team's
  consultants; a manager without a team (head of sales) sees every customer.
- A consultant sees their own customers.
- Ops and company systems see masked data.
Pure: the caller looks up who owns the customer and that owner's team.
"""
from __future__ import annotations

from .auth import Principal
from .events.enums import Role


def own_consultant_id(principal: Principal) -> str:
    """The consultant a person's token speaks for (its consultant_id, else its subject)."""
    return principal.consultant_id or principal.subject


def in_reach(principal: Principal, owner_team: str | None) -> bool:
    """Is a customer (or a consultant) of `owner_team` within this manager's reach?"""
    return principal.role is Role.MANAGER and (principal.team is None or principal.team == owner_team)


def sees_personal_data(principal: Principal, owner_id: str | None, owner_team: str | None) -> bool:
    if principal.role is Role.MANAGER:
        return in_reach(principal, owner_team)
    if principal.role is Role.CONSULTANT:
        return owner_id is not None and owner_id == own_consultant_id(principal)
    return False
