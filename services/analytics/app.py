"""The analytics service: projections, reports and dashboards."""
import gc

from shared.app import ConsumerSpec, ServiceSpec, create_app
from shared.events.topics import CONSULTANT_UPDATED, CUSTOMER_ASSIGNED, CUSTOMER_TOPICS
from shared.runtime import ownership

from .dashboard import router as dashboard_router
from .folding import Folder, read_fold_gauges
from .handlers import log_and_mark, record_event
from .replay import rebuild_if_empty
from .reports_router import router as reports_router
from .router import router


async def _rebuild_if_empty(app) -> None:
    await rebuild_if_empty(app.state.pool, app.state.settings.database_url, app.state.settings.vault_url)


async def _freeze_startup_objects(app) -> None:
    """Everything built up to here (modules, routes, models) lives as long as the process: moved out of
    the collector's reach, so that a full collection while reports run walks only what they made (full
    collections of 25-115 ms were seen in this process; one during reports holds every answer, /health's too)."""
    gc.collect()
    gc.freeze()


async def fold_marked(app) -> None:
    """Folds the customers the consumer marked (folding.py), for the life of the process."""
    await Folder(app.state.pool, app.state.settings.database_url).run()


SPEC = ServiceSpec(
    name="analytics", title="CRM analytics", routers=[router, reports_router, dashboard_router],
    consumers=[ConsumerSpec("analytics", {**{t: record_event for t in CUSTOMER_TOPICS},
                                          CONSULTANT_UPDATED: ownership.record_consultant,
                                          CUSTOMER_ASSIGNED: ownership.record_assignment},
                            after_batch=log_and_mark)],
    on_startup=[_rebuild_if_empty, _freeze_startup_objects],
    loops=[fold_marked],
    gauges=[read_fold_gauges],
)


def build_app():
    return create_app(SPEC)
