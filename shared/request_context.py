"""The request id: taken from the client's `X-Request-ID` when it is a plausible one (1 to 128
visible ASCII characters), else made (uuid4 hex). It is echoed on every response, sits in
every log line written while the request runs (structlog contextvars), and becomes the
correlation id of the events the request causes (`correlation_id`)."""
from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
_PLAUSIBLE = re.compile(r"[\x21-\x7e]{1,128}")
# Fixed for ever: the same client request id always maps to the same correlation id.
_NAMESPACE = uuid.UUID("6c1a0b52-3f0e-4c59-9a43-2f1f0b6f9d21")
_REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def accepted_request_id(sent: str | None) -> str:
    """The client's id if plausible, else a new one."""
    if sent is not None and _PLAUSIBLE.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The id of the request being served; outside any request, a new one (an error rendered
    before the middleware ran still carries an id)."""
    return _REQUEST_ID.get() or uuid.uuid4().hex


def begin(request_id: str):
    """Make `request_id` current; returns the token `end` takes."""
    return _REQUEST_ID.set(request_id)


def end(token) -> None:
    _REQUEST_ID.reset(token)


def correlation_id() -> uuid.UUID | None:
    """The correlation id of events caused by the current request: the request id itself when
    it is a UUID (in any spelling), else a UUID derived from it (version 5); None outside a request."""
    rid = _REQUEST_ID.get()
    if rid is None:
        return None
    try:
        return uuid.UUID(rid)
    except ValueError:
        return uuid.uuid5(_NAMESPACE, rid)
