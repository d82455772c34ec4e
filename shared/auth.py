"""Bearer-token auth with roles (HS256 JWT; the secret comes from the environment)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .access import Action, roles_for
from .errors import Forbidden, Unauthorized
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
    """Raises jwt.PyJWTError or ValueError on anything not minted by us, wrongly typed claims
    included (a validly signed token whose `role` is a list is still not ours).

    A token verified once is remembered until it expires (a client sends the same token with every
    request, and verifying it was a twentieth of a request's CPU); refusals are never remembered."""
    principal, expires = _verified(secret, token)
    if time.time() >= expires:  # what PyJWT checks, with no leeway either
        raise jwt.ExpiredSignatureError("Signature has expired")
    return principal


@lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> tuple[Principal, float]:
    claims = jwt.decode(
        token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "role"]},
    )
    texts = {name: claims.get(name) for name in ("sub", "role", "consultant_id", "team")}
    if not all(value is None or (isinstance(value, str) and 0 < len(value) <= 200) for value in texts.values()):
        raise ValueError("a claim is not a short text")
    return Principal(subject=claims["sub"], role=Role(claims["role"]),
                     consultant_id=texts["consultant_id"], team=texts["team"]), float(claims["exp"])


# The analytics dashboard's browser session (services/analytics/dashboard.py signs in): the same
# bearer token, kept in an HttpOnly, SameSite=Strict cookie whose path is the dashboard's, so a
# browser sends it to the dashboard's own paths only and never to /v1.
SESSION_COOKIE = "crm_dashboard_session"
SESSION_PATH = "/dashboard"
SESSION_READS = "/dashboard/api/"  # the dashboard's report and 360 reads: the only routes the cookie opens


def session_token(request: Request) -> str | None:
    """The session cookie's token when this request may be authenticated by it: a GET of one of
    the dashboard's reads, sent by the dashboard's own pages. CSRF: the cookie is SameSite=Strict
    (another site's page cannot make the browser send it) and it opens reads only (GET, no change
    of state but the audit of a full read); a same-site page of another origin (another port of
    the same host) is refused by its Sec-Fetch-Site. Everything else needs the Authorization header."""
    if request.method != "GET" or not request.url.path.startswith(SESSION_READS):
        return None
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return None
    return request.cookies.get(SESSION_COOKIE) or None


def _unauthorized(detail: str) -> Unauthorized:
    return Unauthorized(detail, field="Authorization", location="header")


async def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        token = credentials.credentials
    elif (token := session_token(request)) is None:
        raise _unauthorized("missing bearer token")
    secret = request.app.state.settings.auth_secret.get_secret_value()
    try:
        return decode_token(secret, token)
    except (jwt.PyJWTError, ValueError, TypeError):
        raise _unauthorized("invalid or expired token") from None


def require(*roles: Role) -> Callable[..., Principal]:
    """Dependency: the caller must hold one of `roles`."""

    async def check(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role.value} may not do this")
        return principal

    return check


def require_action(action: Action) -> Callable[..., Principal]:
    """Dependency: the caller's role may take `action` in some relation (shared.access.POLICY);
    the route's use case then checks the relation to the customer."""
    return require(*roles_for(action))
