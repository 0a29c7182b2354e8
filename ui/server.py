"""One ASGI app for `longwrite serve`: the API (and, from its own issue, the web UI at /)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from agent.jobs import JobStore
from longwrite.settings import Settings
from model.client import Endpoint
from ui.api import create_api
from ui.jobs import JobManager
from ui.proxy import BackendProxy
from ui.service import WriteService


def create_app(endpoint: Endpoint, settings: Settings, api_key: str | None = None) -> FastAPI:
    """The app for a backend that is already up (the caller starts and stops it)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = WriteService(endpoint, settings)
        proxy = BackendProxy(endpoint, settings)
        with JobStore(settings.jobs_db) as store:
            jobs = JobManager(service, store)
            app.state.service, app.state.jobs, app.state.proxy = service, jobs, proxy
            try:
                yield
            finally:
                jobs.shutdown()
                await proxy.close()

    app = create_api(lifespan, api_key, settings.max_request_bytes)

    @app.get("/", include_in_schema=False)
    async def root() -> dict[str, Any]:
        return {
            "name": "longwrite",
            "api": "/v1 (OpenAI-compatible: /v1/chat/completions, /v1/models; jobs: /v1/writes)",
            "docs": "/docs",
            "health": "/health",
        }

    return app


def serve(settings: Settings, host: str, port: int, api_key: str | None) -> None:
    """Start the backend (the embedded model unless a base URL is set), then the app, until stopped."""
    import uvicorn

    from model.embedded import endpoint_for

    with endpoint_for(settings) as endpoint:
        print(f"longwrite serve: backend {endpoint.backend}; API at http://{host}:{port}/v1", flush=True)
        uvicorn.run(create_app(endpoint, settings, api_key), host=host, port=port, log_level="info")
