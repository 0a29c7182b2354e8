"""One ASGI app for `longwrite serve`: the API at /v1 and the web writer (Gradio) at /."""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from longwrite.agent.jobs import JobStore
from longwrite.core.extras import installed
from longwrite.core.settings import Settings
from longwrite.model.client import Endpoint
from longwrite.ui.api import create_api
from longwrite.ui.endpoints import LOOPBACK, EndpointAllowList
from longwrite.ui.job_manager import JobManager
from longwrite.ui.proxy import BackendProxy
from longwrite.ui.service import WriteService

LOGIN_MESSAGE = "Type any name (it is not checked) and this server's API key as the password."

log = logging.getLogger(__name__)


def create_app(
    endpoint: Endpoint,
    settings: Settings,
    api_key: str | None = None,
    api_routes: bool = True,
    page: bool = True,
    allowed: EndpointAllowList | None = None,
) -> FastAPI:
    """The app for a backend that is already up (the caller starts and stops it): the API at /v1
    and the web writer at /; `allowed`: the other endpoints the page may write on (default: those
    of a server on loopback)."""
    allowed = allowed or EndpointAllowList.from_setting(settings.allowed_endpoints, LOOPBACK)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = WriteService(endpoint, settings, allowed)
        proxy = BackendProxy(endpoint, settings)
        with JobStore(settings.jobs_db) as store:
            jobs = JobManager(service, store)
            app.state.service, app.state.jobs, app.state.proxy = service, jobs, proxy
            try:
                yield
            finally:
                jobs.shutdown()
                await proxy.close()

    app = create_api(lifespan, api_key, settings.max_request_bytes, api_routes)
    if not page:
        return app
    if not installed("web"):
        # the API works without the page; say once how to get it rather than refusing to serve
        log.warning("The web writer needs longwrite's 'web' extra: pip install 'longwrite[web]'; serving the API only.")
        return app
    import gradio as gr

    from longwrite.ui.web import PAGE_STYLE, build_page
    from longwrite.ui.writer import Writer

    writer = Writer(service=lambda: app.state.service, jobs=lambda: app.state.jobs)
    downloads = settings.home / "downloads"
    blocks = build_page(writer, downloads, backend=lambda: endpoint.backend, others=allowed.describe)
    blocks.queue(default_concurrency_limit=None)  # writes are limited by the write slots, shared with the API
    # with a key, the page asks for it too (any user name): it can start writes like the API
    auth = (lambda _user, password: hmac.compare_digest(password.encode(), api_key.encode())) if api_key else None
    return gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        allowed_paths=[str(downloads)],
        ssr_mode=False,
        footer_links=[],
        auth=auth,
        auth_message=LOGIN_MESSAGE,
        **PAGE_STYLE,
    )


SHUTDOWN_GRACE_S = 3
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this long
MAX_CONNECTIONS = 1_000  # beyond this uvicorn answers 503 at once instead of holding the connection


def serve(settings: Settings, host: str, port: int, api_key: str | None, api_routes: bool = True) -> None:
    """Start the backend (the embedded model unless a base URL is set), then the app, until stopped."""
    import uvicorn

    from longwrite.model.embedded import endpoint_for

    allowed = EndpointAllowList.from_setting(settings.allowed_endpoints, host)  # a bad list fails before any model
    with endpoint_for(settings) as endpoint:
        where = f"API at http://{host}:{port}/v1, " if api_routes else ""
        print(f"longwrite: backend {endpoint.backend}; {where}writer at http://{host}:{port}/", flush=True)
        uvicorn.run(
            create_app(endpoint, settings, api_key, api_routes, allowed=allowed),
            host=host,
            port=port,
            log_level="info",
            # on SIGTERM, requests still open after this long are cancelled: a chat write in flight
            # stops (its job stays resumable) instead of holding the shutdown for minutes
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            timeout_keep_alive=KEEP_ALIVE_S,
            limit_concurrency=MAX_CONNECTIONS,
        )
