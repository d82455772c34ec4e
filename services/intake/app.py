"""The intake service: the front door for every contact."""
from shared.app import ServiceSpec, create_app

from .callcenter_feed import consumer_spec
from .router import contract, router
from .staff_feed import consumer_spec as staff_consumer_spec


def build_app():
    spec = ServiceSpec(name="intake", title="CRM intake", routers=[router, contract])
    app = create_app(spec)
    spec.consumers += [consumer_spec(app.state.clock), staff_consumer_spec()]
    return app
