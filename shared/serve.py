"""Entry point used by `python -m services.<name>`."""
import uvicorn
from fastapi import FastAPI


def serve(app: FastAPI) -> None:
    settings = app.state.settings
    uvicorn.run(app, host=settings.http_host, port=settings.port, log_level="warning",
                access_log=False, timeout_graceful_shutdown=5)
