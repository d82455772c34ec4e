"""The grading service: prospect intent grades and customer value."""
from shared.app import ConsumerSpec, ServiceSpec, create_app
from shared.events import topics

from .handlers import on_contact_received
from .router import router

SPEC = ServiceSpec(
    name="grading", title="CRM grading", routers=[router],
    consumers=[ConsumerSpec("grading", {topics.CONTACT_RECEIVED: on_contact_received})],
)


def build_app():
    return create_app(SPEC)
