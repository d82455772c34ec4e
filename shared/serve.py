"""Entry point used by `python -m services.<name>`."""
import uvicorn
from fastapi import FastAPI

from .logging import configure_logging


def serve(app: FastAPI) -> None:
    settings = app.state.settings
    # JSON lines from the first one on: uvicorn's own loggers go through the root (log_config=None:
    # uvicorn installs no plain-text handlers of its own); the access log is ObserveRequests'.
    configure_logging(settings.service, settings.log_level)
    uvicorn.run(app, host=settings.http_host, port=settings.port, log_level="warning", log_config=None,
                access_log=False, timeout_graceful_shutdown=5,
                # longer than a load balancer's idle timeout, so the server never closes a
                # kept-alive connection just as a client sends on it
                timeout_keep_alive=75)
