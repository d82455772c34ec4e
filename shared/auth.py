"""Bearer-token auth with roles (HS256 JWT; the secret comes from the environment)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .access import Action, roles_for
from .events.enums import Role

ISSUER = "crm"
ALGORITHM = "HS256"
_bearer = HTTPBearer(auto_error=False, description="JWT minted by `crm token --role ROLE`")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a person (consultant, manager, ops) or a company system."""

    subject: str
    role: Role
    consultant_id: str | None = None
    team: str | None = None

    @property
    def is_person(self) -> bool:
        return self.role is not Role.INTEGRATION


def mint_token(
    secret: str, role: Role, *, subject: str | None = None, consultant_id: str | None = None,
    team: str | None = None, ttl_seconds: int = 12 * 3600, now: float | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": ISSUER, "sub": subject or consultant_id or role.value, "role": role.value,
        "iat": issued, "exp": issued + ttl_seconds,
    }
    if consultant_id:
        claims["consultant_id"] = consultant_id
    if team:
        claims["team"] = team
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> Principal:
    """Raises jwt.PyJWTError or ValueError on anything not minted by us."""
    claims = jwt.decode(
        token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "role"]},
    )
    return Principal(
        subject=str(claims["sub"]), role=Role(claims["role"]),
        consultant_id=claims.get("consultant_id"), team=claims.get("team"),
    )


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer token")
    secret = request.app.state.settings.auth_secret.get_secret_value()
    try:
        return decode_token(secret, credentials.credentials)
    except (jwt.PyJWTError, ValueError):
        raise _unauthorized("invalid or expired token") from None


def require(*roles: Role) -> Callable[..., Principal]:
    """Dependency: the caller must hold one of `roles`."""

    async def check(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"role {principal.role.value} may not do this")
        return principal

    return check


def require_action(action: Action) -> Callable[..., Principal]:
    """Dependency: the caller's role may take `action` in some relation (shared.access.POLICY);
    the route's use case then checks the relation to the customer."""
    return require(*roles_for(action))
