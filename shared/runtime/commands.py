"""Running an HTTP command: one transaction, retries of what a second try can fix, and
`Idempotency-Key` (a retried POST returns the first result and creates nothing).

Retried (a bounded number of times, with jitter, the whole transaction again): an optimistic
concurrency conflict, a serialisation failure and a deadlock. PostgreSQL breaks a deadlock by
failing one of the transactions; that loser rolls back whole, so running it again is safe, and
the client never sees the 500 a lock cycle would otherwise become.

The key is claimed inside the command's own transaction, so the stored answer
commits or rolls back together with the write it describes.
"""
from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
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
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(RETRIED), stop=stop_after_attempt(4),
        wait=wait_random(0.005, 0.05), reraise=True,
    ):
        with attempt:
            async with pool.acquire() as conn, conn.transaction():
                if key is not None:
                    replay = await _claim(conn, principal, key, request, body_hash)
                    if replay is not None:
                        return replay
                status, body = await work(conn)
                content = jsonable_encoder(body)
                if key is not None:
                    await conn.execute(
                        "update idempotency_keys set status_code = $3, response = $4 "
                        "where principal = $1 and key = $2",
                        principal.subject, key, status, JSONResponse(content).body.decode(),
                    )
            return JSONResponse(content, status_code=status)
    raise AssertionError("unreachable")


async def _claim(conn: asyncpg.Connection, principal: Principal, key: str, request: Request,
                 body_hash: str) -> JSONResponse | None:
    claimed = await conn.fetchval(
        """insert into idempotency_keys (principal, key, method, path, request_hash)
           values ($1, $2, $3, $4, $5) on conflict do nothing returning true""",
        principal.subject, key, request.method, request.url.path, body_hash,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        "select method, path, request_hash, status_code, response "
        "from idempotency_keys where principal = $1 and key = $2", principal.subject, key,
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
