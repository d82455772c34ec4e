"""The intake service: the front door for every contact."""
from shared.app import ServiceSpec, create_app

from .callcenter_feed import consumer_spec
from .router import contract, router
from .staff_feed import consumer_spec as staff_consumer_spec


def build_app():
    # intake's pool: no session-level lock, LISTEN or SET (the relay listens on its own connection)
    spec = ServiceSpec(name="intake", title="CRM intake", routers=[router, contract], pool_keeps_session=True)
    app = create_app(spec)
    spec.consumers += [consumer_spec(app.state.clock), staff_consumer_spec()]
    return app
