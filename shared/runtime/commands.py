"""Running an HTTP command: one transaction, retries of what a second try can fix, and
`Idempotency-Key` (a retried POST returns the first result and creates nothing).

Retried (a bounded number of times, with jitter, the whole transaction again): an optimistic
concurrency conflict, a serialisation failure and a deadlock. PostgreSQL breaks a deadlock by
failing one of the transactions; that loser rolls back whole, so running it again is safe, and
the client never sees the 500 a lock cycle would otherwise become.

The key is claimed inside the command's own transaction, so the stored answer
commits or rolls back together with the write it describes.

A key is scoped to the caller (the token's subject) and the endpoint (method and route template,
e.g. `POST /v1/tasks/{task_id}/complete`): the same key on another endpoint, or from another
caller, is an independent request. On the same endpoint it must be the same request (same path,
same body): anything else is a 422 naming `Idempotency-Key`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random,
)

from ..auth import Principal
from ..errors import ConcurrencyConflict, DomainValidationError

RETRIED = (ConcurrencyConflict, asyncpg.SerializationError, asyncpg.DeadlockDetectedError)
Work = Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]]


async def idempotency_key(
    key: str | None = Header(default=None, alias="Idempotency-Key", min_length=1, max_length=200,
                             description="Retry-safe POST: the same key returns the first result"),
) -> str | None:
    return key


async def run_command(request: Request, principal: Principal, key: str | None, work: Work) -> JSONResponse:
    """Run `work` (returns status code and body) exactly once per idempotency key."""
    pool: asyncpg.Pool = request.app.state.pool
    body_hash = hashlib.sha256(await request.body()).hexdigest()
    where = endpoint(request)
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(RETRIED), stop=stop_after_attempt(4),
        wait=wait_random(0.005, 0.05), reraise=True,
    ):
        with attempt:
            async with pool.acquire() as conn, conn.transaction():
                if key is not None:
                    replay = await _claim(conn, principal, where, key, request, body_hash)
                    if replay is not None:
                        return replay
                status, body = await work(conn)
                response = JSONResponse(_plain(body), status_code=status)
                if key is not None:
                    await conn.execute(
                        "update idempotency_keys set status_code = $4, response = $5 "
                        "where principal = $1 and endpoint = $2 and key = $3",
                        principal.subject, where, key, status, response.body.decode(),
                    )
            return response
    raise AssertionError("unreachable")


def _plain(body: Any) -> Any:
    """The body as JSON values. A model dumps itself in one call (pydantic-core): what jsonable_encoder
    gives for it, without its walk over every value of the dump (a batch's 1,000 results)."""
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", by_alias=True)
    return jsonable_encoder(body)


def endpoint(request: Request) -> str:
    """The endpoint a request was routed to: its method and route template."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


async def _claim(conn: asyncpg.Connection, principal: Principal, where: str, key: str, request: Request,
                 body_hash: str) -> JSONResponse | None:
    claimed = await conn.fetchval(
        """insert into idempotency_keys (principal, endpoint, key, method, path, request_hash)
           values ($1, $2, $3, $4, $5, $6) on conflict do nothing returning true""",
        principal.subject, where, key, request.method, request.url.path, body_hash,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        "select method, path, request_hash, status_code, response "
        "from idempotency_keys where principal = $1 and endpoint = $2 and key = $3", principal.subject, where, key,
    )
    if (row["method"], row["path"], row["request_hash"]) != (request.method, request.url.path, body_hash):
        raise DomainValidationError("Idempotency-Key was already used for a different request",
                                    field="Idempotency-Key", location="header")
    return JSONResponse(content=None, status_code=row["status_code"]) if row["response"] is None else \
        _stored(row["status_code"], row["response"])


def _stored(status: int, body: str) -> JSONResponse:
    response = JSONResponse(content=None, status_code=status)
    response.body = body.encode()
    response.headers["content-length"] = str(len(response.body))
    response.headers["Idempotent-Replay"] = "true"
    return response
