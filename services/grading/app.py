"""The grading service: prospect intent grades and customer value."""
from __future__ import annotations

from fastapi import FastAPI

from shared.app import ConsumerSpec, ServiceSpec, create_app
from shared.business_time import business_day
from shared.runtime import ownership

from .handlers import GradingHandlers
from .policy_source import load_policy, register_policy
from .router import router
from .values import Valuation

REVALUE_EVERY_SECONDS = 60.0
LOCK_TIMEOUT = "2s"


def build_app() -> FastAPI:
    policy = load_policy()
    valuation = Valuation(policy)
    clock_ref: dict = {}
    grading = GradingHandlers(policy, valuation, lambda: business_day(clock_ref["clock"].now()))

    async def start(app: FastAPI) -> None:
        async with app.state.pool.acquire() as conn:
            await register_policy(conn, policy)
            await valuation.ensure_loaded(conn)

    async def revalue_due(app: FastAPI) -> None:
        """Time alone moves lifecycle (decline) and size: re-value customers not valued today;
        then reconcile the in-memory ranking with the database (other replicas, rollbacks)."""
        for job in (valuation.revalue_due, valuation.reconcile):
            async with app.state.pool.acquire() as conn, conn.transaction():
                # A consumer batch may hold these rows while it waits for the ranking this job holds:
                # give up (and retry next interval) rather than wait forever.
                await conn.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
                await job(conn, grading.today())

    batched = grading.consumer_spec()
    spec = ServiceSpec(
        name="grading", title="CRM grading", routers=[router],
        consumers=[ConsumerSpec("grading", {**batched["handlers"], **ownership.HANDLERS},
                                after_batch=batched["after_batch"])],
        periodic=[(REVALUE_EVERY_SECONDS, revalue_due)],
        on_startup=[start],
        pool_keeps_session=True,  # transaction-scoped locks and settings only (`set local`, xact locks)
    )
    app = create_app(spec)
    clock_ref["clock"] = app.state.clock
    app.state.grading = grading
    return app
