"""The analytics service: projections, reports and dashboards."""
from shared.app import ConsumerSpec, ServiceSpec, create_app
from shared.events.topics import CONSULTANT_UPDATED, CUSTOMER_ASSIGNED, CUSTOMER_TOPICS
from shared.runtime import ownership

from .dashboard import router as dashboard_router
from .handlers import log_and_refresh, record_assignment, record_event
from .replay import rebuild_if_empty
from .reports_router import router as reports_router
from .router import router


async def _rebuild_if_empty(app) -> None:
    await rebuild_if_empty(app.state.pool)


SPEC = ServiceSpec(
    name="analytics", title="CRM analytics", routers=[router, reports_router, dashboard_router],
    consumers=[ConsumerSpec("analytics", {**{t: record_event for t in CUSTOMER_TOPICS},
                                          CONSULTANT_UPDATED: ownership.record_consultant,
                                          CUSTOMER_ASSIGNED: record_assignment},
                            after_batch=log_and_refresh)],
    on_startup=[_rebuild_if_empty],
)


def build_app():
    return create_app(SPEC)
