"""The analytics service: projections, reports and dashboards."""
from shared.app import ConsumerSpec, ServiceSpec, create_app
from shared.events.topics import DEAD_LETTERS, EVENT_TOPICS

from .handlers import record_event
from .router import router

SPEC = ServiceSpec(
    name="analytics", title="CRM analytics", routers=[router],
    consumers=[ConsumerSpec("analytics", {t: record_event for t in EVENT_TOPICS if t != DEAD_LETTERS})],
)


def build_app():
    return create_app(SPEC)
