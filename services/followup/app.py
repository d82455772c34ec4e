"""The follow-up service: work items, deals, losses, complaint handling."""
from shared.app import ConsumerSpec, ServiceSpec, create_app
from shared.events import topics

from .handlers import on_prospect_graded
from .router import router

SPEC = ServiceSpec(
    name="followup", title="CRM follow-up", routers=[router],
    consumers=[ConsumerSpec("followup", {topics.PROSPECT_GRADED: on_prospect_graded})],
)


def build_app():
    return create_app(SPEC)
