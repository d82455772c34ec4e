"""Build one service's FastAPI app: routers plus the runtime every service runs
(migrations, pool, outbox relay, consumers, periodic jobs, health, metrics)."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

import asyncpg
import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from .clock import Clock
from .diagnostics import install_task_dump
from .errors import DomainError, NotFound
from .events.topics import ALL_TOPICS
from .logging import configure_logging, get_logger
from .metrics import DEAD_LETTERS_STORED, RELAY_BACKLOG
from .observe import BodyLimit, ObserveRequests, route_template
from .problems import PROBLEMS, TYPE_PREFIX, document_problems, problem_response, schema_errors
from .runtime import kafka
from .runtime import vault as vaults
from .runtime.consumer import AfterBatch, Decoder, EventConsumer, Handler
from .runtime.db import UNAVAILABLE, VAULT, create_pool, keep_session, migrate
from .runtime.relay import PENDING_COUNT, OutboxRelay
from .runtime.supervise import keep_running, watch
from .settings import Settings

log = get_logger(__name__)
API_DESCRIPTION = """Errors are RFC 9457 problems (`application/problem+json`): `type`, `title`, `status`,
`detail`, `instance`, `request_id` and, for 422, `errors: [{field, message}]`, where `field` is the JSON
path of the input at fault (`party_size`, `contacts[3].phone`, `query.to`). Every response carries
`X-Request-ID` (yours if you sent a plausible one). See docs/api.md."""
Periodic = Callable[[FastAPI], Awaitable[None]]
GaugeReader = Callable[[asyncpg.Connection], Awaitable[None]]
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"


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
    loops: list[Periodic] = field(default_factory=list)  # background loops that run for the process's life
    gauges: list[GaugeReader] = field(default_factory=list)  # business gauges, read when /metrics is scraped
    # Nothing takes session state (session advisory lock, LISTEN, SET) on the service's pooled
    # connections: release them without asyncpg's reset query (shared.runtime.db.keep_session).
    pool_keeps_session: bool = False


def create_app(spec: ServiceSpec, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(service=spec.name)
    app = FastAPI(title=spec.title, version="1.0.0", lifespan=_lifespan(spec, settings),
                  docs_url=None, redoc_url=None, description=API_DESCRIPTION)
    app.state.settings, app.state.spec, app.state.clock = settings, spec, Clock(settings.clock_offset_file)
    app.state.consumers, app.state.relay, app.state.tasks, app.state.vault = [], None, [], None
    for router in spec.routers:
        app.include_router(router)
    _add_operational_routes(app)
    _add_problem_types(app)
    _add_docs(app)
    _add_error_handlers(app)
    _add_middleware(app)
    document_problems(app)
    return app


def _lifespan(spec: ServiceSpec, settings: Settings):
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_logging(spec.name, settings.log_level, levels=settings.log_levels)
        install_task_dump()
        if len(settings.auth_secret.get_secret_value()) < 32:
            raise RuntimeError("CRM_AUTH_SECRET must be set to at least 32 characters")
        await migrate(settings.database_url, spec.name)
        await migrate(settings.vault_url, VAULT)
        app.state.pool = await create_pool(settings.database_url,
                                           reset=keep_session if spec.pool_keeps_session else None)
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
            app.state.stopping = True
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
    for loop in spec.loops:
        tasks.append(asyncio.create_task(loop(app), name=f"loop-{loop.__name__}"))
    for interval, job in spec.periodic:
        tasks.append(asyncio.create_task(_every(interval, job, app), name=f"periodic-{job.__name__}"))
    app.state.stopping = False
    app.state.tasks = [watch(task, lambda: app.state.stopping) for task in tasks]


async def _every(interval: float, job: Periodic, app: FastAPI) -> None:
    """A periodic job; a failed run is logged and retried at the next interval."""
    await keep_running(lambda: job(app), "periodic_job_failed", pause=interval, job=job.__name__)


def _add_operational_routes(app: FastAPI) -> None:
    @app.get("/health", tags=["operations"])
    async def health() -> dict:
        """Liveness: the process answers."""
        return {"status": "ok", "service": app.state.spec.name}

    @app.get("/ready", tags=["operations"])
    async def ready() -> JSONResponse:
        """Readiness: the database and the key vault answer, every consumer has its partitions and
        no background loop (relay, consumers, the folder, periodic jobs) has ended."""
        checks = {"database": False, "vault": False, "relay": app.state.relay is not None,
                  "consumers": all(c.assigned for c in app.state.consumers),
                  "background": not any(task.done() for task in app.state.tasks)}
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
        await _read_gauges(app)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _read_gauges(app: FastAPI) -> None:
    """The gauges kept in the database, read at scrape time; a slow or absent database leaves
    their last values (the scrape itself must not fail)."""
    pool = getattr(app.state, "pool", None)
    if pool is None:
        return
    try:
        async with asyncio.timeout(2), pool.acquire(timeout=1) as conn:
            for read in (_read_runtime_gauges, *app.state.spec.gauges):
                await read(conn)
    except Exception as exc:  # noqa: BLE001 - reported, the metrics still answer
        log.warning("gauges_unread", error_type=type(exc).__name__)


async def _read_runtime_gauges(conn: asyncpg.Connection) -> None:
    RELAY_BACKLOG.set(await conn.fetchval(PENDING_COUNT))
    for row in await conn.fetch("select consumer, count(*) as n from inbox where outcome = 'dead-letter' "
                                "group by consumer"):
        DEAD_LETTERS_STORED.labels(row["consumer"]).set(row["n"])


def _add_error_handlers(app: FastAPI) -> None:
    """Every error becomes one problem (shared.problems); none echoes what the client sent."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Not logged: the access log has the status; the body and the rejected values go nowhere.
        return problem_response(422, request.url.path, errors=schema_errors(exc.errors()))

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(exc.status_code, request.url.path, kind=exc.kind, detail=exc.message,
                                errors=exc.field_errors(), headers=exc.headers())

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own (404 for a path no route has, 405): its detail is the status phrase.
        own = isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase
        return problem_response(exc.status_code, request.url.path, detail=exc.detail if own else None,
                                headers=exc.headers)

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The database is restarting or gone: nothing was committed; the client may retry.
        log.warning("dependency_unavailable", route=route_template(request.scope), error_type=type(exc).__name__)
        return problem_response(503, request.url.path, headers={"Retry-After": "1"})

    for error in UNAVAILABLE:
        app.add_exception_handler(error, unavailable)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Only reached if ObserveRequests itself failed; it answers every other bug.
        log.error("unhandled_error", route=route_template(request.scope), error_type=type(exc).__name__)
        return problem_response(500, request.url.path)


def _add_problem_types(app: FastAPI) -> None:
    @app.get(TYPE_PREFIX + "{kind}", include_in_schema=False)
    async def problem_type(kind: str) -> dict:
        """What a problem `type` means."""
        known = PROBLEMS.get(kind)
        if known is None:
            raise NotFound("no such problem type", field="kind", location="path")
        return {"type": TYPE_PREFIX + kind, "title": known.title, "status": known.status,
                "description": known.description}


def _add_docs(app: FastAPI) -> None:
    """Swagger UI and ReDoc from this service's own files (fastapi-offline ships them): the docs
    load without the internet."""
    assets = "/docs-assets"
    app.mount(assets, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js", swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png", swagger_ui_parameters={"validatorUrl": None})

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{title} - ReDoc",
                              redoc_js_url=f"{assets}/redoc.standalone.js",
                              redoc_favicon_url=f"{assets}/favicon.png", with_google_fonts=False)


def _add_middleware(app: FastAPI) -> None:
    app.add_middleware(BodyLimit, limit=app.state.settings.max_body_bytes)
    app.add_middleware(ObserveRequests)  # added last: the outermost, it sees every answer
