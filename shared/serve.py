"""Entry point used by `python -m services.<name>`."""
import uvicorn
from fastapi import FastAPI


def serve(app: FastAPI) -> None:
    settings = app.state.settings
    uvicorn.run(app, host=settings.http_host, port=settings.port, log_level="warning",
                access_log=False, timeout_graceful_shutdown=5,
                # longer than a load balancer's idle timeout, so the server never closes a
                # kept-alive connection just as a client sends on it
                timeout_keep_alive=75)
