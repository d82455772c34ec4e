"""Build one service's FastAPI app: routers plus the runtime every service runs
(migrations, pool, outbox relay, consumers, periodic jobs, health, metrics)."""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .clock import Clock
from .errors import DomainError
from .events.topics import ALL_TOPICS
from .logging import configure_logging, get_logger
from .metrics import HTTP_LATENCY
from .runtime import kafka
from .runtime import vault as vaults
from .runtime.consumer import AfterBatch, Decoder, EventConsumer, Handler
from .runtime.db import UNAVAILABLE, VAULT, create_pool, migrate
from .runtime.relay import OutboxRelay
from .settings import Settings

log = get_logger(__name__)
Periodic = Callable[[FastAPI], Awaitable[None]]


@dataclass
class ConsumerSpec:
    group: str
    handlers: dict[str, Handler]
    decoders: dict[str, Decoder] = field(default_factory=dict)
    after_batch: AfterBatch | None = None


@dataclass
class ServiceSpec:
    name: str
    title: str
    routers: list[APIRouter]
    consumers: list[ConsumerSpec] = field(default_factory=list)
    periodic: list[tuple[float, Periodic]] = field(default_factory=list)
    on_startup: list[Periodic] = field(default_factory=list)


def create_app(spec: ServiceSpec, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(service=spec.name)
    app = FastAPI(title=spec.title, version="1.0.0", lifespan=_lifespan(spec, settings))
    app.state.settings, app.state.spec, app.state.clock = settings, spec, Clock(settings.clock_offset_file)
    app.state.consumers, app.state.relay, app.state.tasks, app.state.vault = [], None, [], None
    for router in spec.routers:
        app.include_router(router)
    _add_operational_routes(app)
    _add_error_handlers(app)
    _add_metrics_middleware(app)
    return app


def _lifespan(spec: ServiceSpec, settings: Settings):
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_logging(spec.name, settings.log_level)
        if len(settings.auth_secret.get_secret_value()) < 32:
            raise RuntimeError("CRM_AUTH_SECRET must be set to at least 32 characters")
        await migrate(settings.database_url, spec.name)
        await migrate(settings.vault_url, VAULT)
        app.state.pool = await create_pool(settings.database_url)
        app.state.vault = await vaults.Vault.open(settings.vault_url)
        vaults.install(app.state.vault)  # store.append seals with it, consumers and projections open with it
        await _ensure_topics(settings)
        _start_background(app, spec, settings)
        for hook in spec.on_startup:
            await hook(app)
        log.info("service_started", port=settings.port)
        try:
            yield
        finally:
            for task in app.state.tasks:
                task.cancel()
            await asyncio.gather(*app.state.tasks, return_exceptions=True)
            await app.state.pool.close()
            vaults.install(None)
            await app.state.vault.close()

    return lifespan


async def _ensure_topics(settings: Settings) -> None:
    try:
        await asyncio.wait_for(
            kafka.ensure_topics(settings.kafka_bootstrap, ALL_TOPICS, settings.topic_partitions,
                                settings.topic_replication), 20)
    except Exception as exc:  # noqa: BLE001 - the relay retries when the broker is back
        log.warning("ensure_topics_failed", error=repr(exc))


def _start_background(app: FastAPI, spec: ServiceSpec, settings: Settings) -> None:
    relay = OutboxRelay(
        app.state.pool, settings.database_url, settings.kafka_bootstrap, spec.name, ALL_TOPICS,
        settings.topic_partitions, settings.relay_batch, settings.relay_poll_seconds,
        settings.broker_check_seconds,
    )
    app.state.relay = relay
    tasks = [asyncio.create_task(relay.run(), name="relay")]
    for c in spec.consumers:
        consumer = EventConsumer(c.group, spec.name, app.state.pool, settings.kafka_bootstrap,
                                 c.handlers, c.decoders, settings.consumer_batch, c.after_batch,
                                 vault=app.state.vault)
        app.state.consumers.append(consumer)
        tasks.append(asyncio.create_task(consumer.run(), name=f"consumer-{c.group}"))
    for interval, job in spec.periodic:
        tasks.append(asyncio.create_task(_every(interval, job, app), name=f"periodic-{job.__name__}"))
    app.state.tasks = tasks


async def _every(interval: float, job: Periodic, app: FastAPI) -> None:
    while True:
        try:
            await job(app)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed run is retried next interval
            log.warning("periodic_job_failed", job=job.__name__, error=repr(exc))
        await asyncio.sleep(interval)


def _add_operational_routes(app: FastAPI) -> None:
    @app.get("/health", tags=["operations"])
    async def health() -> dict:
        """Liveness: the process answers."""
        return {"status": "ok", "service": app.state.spec.name}

    @app.get("/ready", tags=["operations"])
    async def ready() -> JSONResponse:
        """Readiness: the database and the key vault answer and every consumer has its partitions."""
        checks = {"database": False, "vault": False, "relay": app.state.relay is not None,
                  "consumers": all(c.assigned for c in app.state.consumers)}
        try:
            async with app.state.pool.acquire(timeout=2) as conn:
                checks["database"] = await conn.fetchval("select true")
        except Exception:  # noqa: BLE001 - reported as not ready
            pass
        with contextlib.suppress(Exception):  # reported as not ready
            checks["vault"] = await app.state.vault.ping()
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _safe_text(value: object, limit: int) -> str:
    """Text that always encodes as JSON (a lone surrogate becomes U+FFFD), at most `limit` characters."""
    text = (value if isinstance(value, str) else str(value))[:limit]
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def validation_detail(errors: object) -> list[dict]:
    """The 422 body's `detail` for schema errors: where (`loc`) and what (`msg`, `type`) of each,
    never the rejected input (FastAPI echoes it by default; a NaN or a lone surrogate cannot
    even be encoded as JSON, and it may be somebody's name)."""
    out = []
    for err in errors if isinstance(errors, list | tuple) else ():
        err = err if isinstance(err, dict) else {}
        loc = [p if isinstance(p, int) and not isinstance(p, bool) else _safe_text(p, 100)
               for p in err.get("loc", ())]
        out.append({"loc": loc, "msg": _safe_text(err.get("msg", "invalid"), 300),
                    "type": _safe_text(err.get("type", "invalid"), 60)})
    return out


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Not logged: the access log has the status; the body and the rejected values go nowhere.
        return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=422)

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status_code, headers=exc.headers())

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The database is restarting or gone: nothing was committed; the client may retry.
        log.warning("dependency_unavailable", path=request.url.path, error_type=type(exc).__name__)
        return JSONResponse({"detail": [{"loc": [], "msg": "temporarily unavailable, retry", "type": "unavailable"}]},
                            status_code=503, headers={"Retry-After": "1"})

    for error in UNAVAILABLE:
        app.add_exception_handler(error, unavailable)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug: logged with its type only (the message may carry personal data), never echoed.
        log.error("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
        return JSONResponse({"detail": [{"loc": [], "msg": "internal error", "type": "internal"}]},
                            status_code=500)


class _BodyLimit:
    """A body without Content-Length (chunked) is read here first, counting bytes: past the
    limit the answer is 413 at once, within it the app gets the body as usual. (A declared
    length is checked from the header in `observe`, and the server holds the body to it.)"""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or any(k == b"content-length" for k, _ in scope["headers"]):
            return await self.app(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending the whole body
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await _too_large(self.limit, ["body"])(scope, receive, send)
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        return await self.app(scope, replay, send)


def _too_large(limit: int, where: list[str]) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": where, "msg": f"body larger than {limit} bytes", "type": "too_large"}]},
                        status_code=413)


def _add_metrics_middleware(app: FastAPI) -> None:
    limit = app.state.settings.max_body_bytes
    app.add_middleware(_BodyLimit, limit=limit)

    @app.middleware("http")
    async def observe(request: Request, call_next):
        declared = request.headers.get("content-length")
        if declared and (not declared.isdigit() or int(declared) > limit):
            return _too_large(limit, ["header", "content-length"])
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        HTTP_LATENCY.labels(request.method, getattr(route, "path", "unmatched"), str(response.status_code)) \
            .observe(time.perf_counter() - start)
        return response
