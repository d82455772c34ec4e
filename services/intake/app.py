"""The intake service: the front door for every contact."""
from shared.app import ServiceSpec, create_app

from .router import router

SPEC = ServiceSpec(name="intake", title="CRM intake", routers=[router])


def build_app():
    return create_app(SPEC)
