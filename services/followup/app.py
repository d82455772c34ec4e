"""The follow-up service: work items, deals, losses, complaint handling."""
from __future__ import annotations

from fastapi import FastAPI

from shared.app import ConsumerSpec, ServiceSpec, create_app

from .complaint_routes import router as complaint_router
from .deal_routes import router as deal_router
from .domain import DEFAULT_POLICY
from .handlers import FollowUpHandlers
from .jobs import check_overdue, read_task_gauges, schedule_care
from .loss_routes import router as loss_router
from .ownership import publish_missing
from .task_routes import router as task_router
from .team_routes import router as team_router

OVERDUE_CHECK_SECONDS = 2.0
CARE_CHECK_SECONDS = 300.0


async def publish_owners(app: FastAPI) -> None:
    """Owners decided before they were published reach every service (a no-op once done)."""
    while True:
        async with app.state.pool.acquire() as conn, conn.transaction():
            if not await publish_missing(conn, app.state.clock.now()):
                return


def build_app() -> FastAPI:
    policy = DEFAULT_POLICY
    clock_ref: dict = {}
    handlers = FollowUpHandlers(policy, lambda: clock_ref["clock"].now())
    spec = ServiceSpec(
        name="followup", title="CRM follow-up",
        routers=[task_router, deal_router, loss_router, team_router, complaint_router],
        consumers=[ConsumerSpec("followup", **handlers.consumer_spec())],
        periodic=[(OVERDUE_CHECK_SECONDS, check_overdue), (CARE_CHECK_SECONDS, schedule_care)],
        on_startup=[publish_owners],
        gauges=[read_task_gauges],
        pool_keeps_session=True,  # transaction-scoped locks and settings only (`set local`, xact locks)
    )
    app = create_app(spec)
    clock_ref["clock"] = app.state.clock
    app.state.followup_policy = policy
    return app
