"""The HTTP middleware every service runs, outermost first:

- `ObserveRequests`: the request id (shared.request_context) made current, bound into every
  log line and echoed as `X-Request-ID`; one access-log line per request (method, route
  template, status, duration — no query values, no bodies, nothing personal); the request
  counter and latency histogram; and the last word on a bug: a 500 problem, never a reset
  connection.
- `BodyLimit`: a body over `CRM_MAX_BODY_BYTES` is a 413 problem, whether its length is
  declared or it comes chunked.
"""
from __future__ import annotations

import time

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import request_context
from .logging import get_logger
from .metrics import HTTP_LATENCY, HTTP_REQUESTS
from .problems import problem_response

log = get_logger("crm.http")
UNMATCHED = "unmatched"  # the route label of a path no route has (never the raw path: unbounded)


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED


class ObserveRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = request_context.accepted_request_id(Headers(scope=scope).get(request_context.HEADER))
        scope.setdefault("state", {})["request_id"] = rid
        token = request_context.begin(rid)
        status, started, start = 500, False, time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                MutableHeaders(scope=message)[request_context.HEADER] = rid
            await send(message)

        try:
            with structlog.contextvars.bound_contextvars(request_id=rid):
                try:
                    await self.app(scope, receive, send_with_id)
                except Exception:  # noqa: BLE001 - a bug: answered 500, logged without its message
                    log.error("unhandled_error", method=scope["method"], route=route_template(scope), exc_info=True)
                    if not started:
                        await problem_response(500, scope["path"], request_id=rid)(scope, receive, send_with_id)
                    status = 500
                self._record(scope, status, time.perf_counter() - start)
        finally:
            request_context.end(token)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float) -> None:
        method, route = scope["method"], route_template(scope)
        HTTP_REQUESTS.labels(method, route, str(status)).inc()
        HTTP_LATENCY.labels(method, route, str(status)).observe(seconds)
        log.info("http_request", method=method, route=route, status=status, duration_ms=round(seconds * 1000, 1))


class BodyLimit:
    """A declared length over the limit is refused from the header (the server holds the body to
    its declared length); a body without one (chunked) is read here first, counting bytes: past
    the limit the answer is 413 at once, within it the app gets the body as usual."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.limit:
                return await self._too_large(scope, "header.content-length")(scope, receive, send)
            return await self.app(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending the whole body
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await self._too_large(scope, "body")(scope, receive, send)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        return await self.app(scope, replay, send)

    def _too_large(self, scope: Scope, field: str):
        return problem_response(413, scope["path"], detail=f"The body is larger than {self.limit} bytes.",
                                errors=[{"field": field, "message": f"larger than {self.limit} bytes"}])
