"""The HTTP API: OpenAI-compatible chat completions (the agent is the model `agentwrite`),
model listing, health, and write jobs. Routes stay thin; the work lives in the agent."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from longwrite.agent.state import Section
from longwrite.core.errors import LongwriteError
from longwrite.core.limits import check_valid_text
from longwrite.ui.chat import INTERNAL_ERROR, agent_chat
from longwrite.ui.errors import ApiError, from_product_error
from longwrite.ui.guard import RequestGuard
from longwrite.ui.job_manager import JobManager
from longwrite.ui.proxy import HEALTH_MAX_AGE_S, BackendProxy
from longwrite.ui.schemas import (
    AGENT_MODEL,
    AUTO_MODEL,
    OWN_MODELS,
    ChatCompletionRequest,
    ExtendRequest,
    ResumeRequest,
    RewriteRequest,
    WriteJobRequest,
    error_body,
    model_entry,
)
from longwrite.ui.service import WriteService

log = logging.getLogger("longwrite.api")
HEALTH_PROBE_S = 2.0


def create_api(lifespan: Any, api_key: str | None, max_request_bytes: int, api_routes: bool = True) -> FastAPI:
    """The app; `lifespan` puts a WriteService, a JobManager and a BackendProxy on app.state.

    Without `api_routes` (`longwrite ui`) it answers /health only, for the web page to sit on.
    """
    app = FastAPI(title="longwrite", version="0.1.0", lifespan=lifespan)
    app.state.api_key = api_key
    _install_error_handlers(app)
    app.add_middleware(RequestGuard, api_key=api_key, max_request_bytes=max_request_bytes)
    app.include_router(health_routes)
    if api_routes:
        app.include_router(openai_routes)
        app.include_router(write_routes)
        _install_method_fallback(app, [*openai_routes.routes, *write_routes.routes])
    return app


health_routes = APIRouter()
openai_routes = APIRouter(prefix="/v1")
write_routes = APIRouter(prefix="/v1/writes")


@health_routes.api_route("/health", methods=["GET", "HEAD"])
async def health(request: Request) -> dict[str, Any]:
    """Up or down for anyone (load balancers); what the backend is, and the writes, only with the key."""
    service: WriteService = request.app.state.service
    keyed = _has_key(request)
    # Only a caller with the server's key makes it ask the backend now; anyone else gets an answer
    # a few seconds old, so a flood of /health is not a flood on the backend.
    max_age_s = 0.0 if keyed and request.app.state.api_key else HEALTH_MAX_AGE_S
    backend_up = await request.app.state.proxy.is_up(HEALTH_PROBE_S, max_age_s)
    status = {"status": "ok", "backend_up": backend_up}
    if not keyed:
        return status
    return status | {
        "backend": service.endpoint.backend,
        "writes_running": service.slots.in_use,
        "max_concurrent_writes": service.slots.limit,
    }


@openai_routes.get("/models")
async def list_models(request: Request) -> dict[str, Any]:
    data = [model_entry(AGENT_MODEL, "longwrite"), model_entry(AUTO_MODEL, "longwrite")]
    with contextlib.suppress(ApiError):  # a backend that is down leaves the agent models; /health says why
        data += [model_entry(m, "backend") for m in await request.app.state.proxy.models()]
    return {"object": "list", "data": data}


@openai_routes.post("/chat/completions")
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
    _check_text(body)
    if body.model in OWN_MODELS and body.hold_length:
        raise ApiError(400, f"hold_length holds a backend model's one call; {body.model} controls the length itself.")
    if body.model in OWN_MODELS:
        return await agent_chat(request.app.state.service, request.app.state.jobs, body, request)
    proxy: BackendProxy = request.app.state.proxy
    if body.model not in await proxy.models():
        message = (
            f"The model '{body.model}' does not exist here; GET /v1/models lists the models "
            f"({AGENT_MODEL}, {AUTO_MODEL} and the backend's)."
        )
        raise ApiError(404, message, code="model_not_found")
    if body.hold_length:  # written here, held to the length, rather than passed through
        return await agent_chat(request.app.state.service, request.app.state.jobs, body, request)
    return await proxy.chat(body.model_dump(exclude_none=True, exclude={"target_words", "hold_length"}), body.stream)


@write_routes.post("", status_code=202)
async def start_write(body: WriteJobRequest, request: Request) -> dict[str, Any]:
    return _jobs(request).create(body.instruction, body.target_words, plan_only=body.plan_only)


@write_routes.get("")
async def list_writes(request: Request, limit: int = 50) -> dict[str, Any]:
    return {"object": "list", "data": _jobs(request).recent(max(1, min(limit, 1000)))}


@write_routes.get("/{job_id}")
async def get_write(job_id: str, request: Request) -> dict[str, Any]:
    return _jobs(request).describe(job_id)


@write_routes.get("/{job_id}/events")
async def write_events(job_id: str, request: Request) -> StreamingResponse:
    jobs = _jobs(request)
    jobs.describe(job_id)  # 404 before the stream starts

    async def events() -> AsyncIterator[bytes]:
        async for event in jobs.follow(job_id):
            yield f"event: {event['event']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n".encode()

    return StreamingResponse(events(), media_type="text/event-stream")


@write_routes.post("/{job_id}/resume", status_code=202)
async def resume_write(job_id: str, request: Request, body: ResumeRequest | None = None) -> dict[str, Any]:
    plan = [Section(**section.model_dump()) for section in body.plan] if body and body.plan else None
    return _jobs(request).resume(job_id, plan=plan, title=body.title if body else None)


@write_routes.delete("/{job_id}")
async def cancel_write(job_id: str, request: Request, purge: bool = False) -> dict[str, Any]:
    """Cancel a running job; with ?purge=true, delete a job that is not running, versions and all."""
    jobs = _jobs(request)
    return jobs.delete(job_id) if purge else jobs.cancel(job_id)


@write_routes.post("/{job_id}/sections/{number}/rewrite", status_code=202)
async def rewrite_section(
    job_id: str, number: int, request: Request, body: RewriteRequest | None = None
) -> dict[str, Any]:
    body = body or RewriteRequest()
    return _jobs(request).rewrite(job_id, number, body.note, body.words)


@write_routes.post("/{job_id}/extend", status_code=202)
async def extend_write(job_id: str, body: ExtendRequest, request: Request) -> dict[str, Any]:
    return _jobs(request).extend(job_id, body.words)


@write_routes.get("/{job_id}/versions")
async def list_versions(job_id: str, request: Request) -> dict[str, Any]:
    return {"object": "list", "data": _jobs(request).versions(job_id)}


@write_routes.post("/{job_id}/versions/{version}/restore", status_code=202)
async def restore_version(job_id: str, version: str, request: Request) -> dict[str, Any]:
    return _jobs(request).restore(job_id, version)


def _install_method_fallback(app: FastAPI, routes: list[BaseRoute]) -> None:
    """A /v1 path asked with a method it does not take gets 405 with Allow (not the page's 404)."""
    api_routes = [route for route in routes if isinstance(route, APIRoute)]

    @app.api_route("/v1/{rest:path}", methods=["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"])
    async def other_methods(request: Request) -> Response:
        allowed = sorted(
            {
                method
                for route in api_routes
                if route.path_regex.match(request.url.path)
                for method in route.methods or ()
            }
        )
        if not allowed:
            raise ApiError(404, "There is no such route; the API is under /v1 (see /docs).")
        # OPTIONS too: the API answers no CORS preflight, and a 405 with Allow says what the path takes
        raise ApiError(405, f"{request.url.path} takes {', '.join(allowed)}.", headers={"Allow": ", ".join(allowed)})


def _check_text(body: ChatCompletionRequest) -> None:
    """400 for a lone surrogate anywhere in a chat request (the model's name included): neither the
    backend's request nor our answer could be encoded with it."""
    check_valid_text(json.dumps(body.model_dump(), ensure_ascii=False), "The request")


def _jobs(request: Request) -> JobManager:
    return request.app.state.jobs


def _has_key(request: Request) -> bool:
    """Whether the request carries the server's key (always, on a server started without one)."""
    expected: str | None = request.app.state.api_key
    if not expected:
        return True
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())


def _error(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(error.message, error.kind, error.code), status_code=error.status, headers=error.headers
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return _error(error)

    @app.exception_handler(LongwriteError)
    async def product_error(_request: Request, error: LongwriteError) -> JSONResponse:
        return _error(from_product_error(error))

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request: Request, error: RequestValidationError) -> JSONResponse:
        return _error(ApiError(400, validation_message(error.errors()), code="invalid_body"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = (
            "There is no such route; the API is under /v1 (see /docs)."
            if error.status_code == 404
            else str(error.detail)
        )
        return _error(ApiError(error.status_code, message))

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, error: Exception) -> JSONResponse:
        log.exception("request failed", exc_info=error)
        return _error(ApiError(500, INTERNAL_ERROR, kind="server_error"))


_FIELD_HINTS = {
    "stream": "must be true or false",
    "target_words": "must be a whole number of words, e.g. 3000",
    "messages": 'must be a non-empty list of {"role": ..., "content": ...} objects',
    "model": f'must name a model, e.g. "{AGENT_MODEL}"',
    "instruction": "must be a string saying what to write",
    "plan": 'must be a non-empty list of {"title": ..., "points": ..., "words": ...} sections, each with a '
    "title and a positive whole number of words",
    "plan_only": "must be true or false",
}


# fields inside a list item, named by their own name (messages.0.role)
_LEAF_HINTS = {
    "role": 'must be one of "system", "user", "assistant", "tool" or "developer"',
}


def validation_message(errors: list[dict[str, Any]] | Any) -> str:
    """One sentence for the first problem in a request body."""
    first = next(iter(errors), {})
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    unparsed = not location and isinstance(first.get("input"), bytes | str)  # sent without a JSON content type
    if first.get("type") == "json_invalid" or unparsed:
        return (
            "The request body is not valid JSON; send a JSON object with Content-Type: application/json, "
            'e.g. {"model": "agentwrite", "messages": [...]}.'
        )
    if not location:
        return 'The request body must be a JSON object, e.g. {"model": "agentwrite", "messages": [...]}.'
    field = location[0]
    where = ".".join(location)
    if first.get("type") == "missing":
        return f"The field {where} is missing; add it to the request body."
    hint = _LEAF_HINTS.get(location[-1]) or _FIELD_HINTS.get(field, first.get("msg", "is not valid"))
    return f"The field {where} {hint} (got {json.dumps(first.get('input'), default=repr)[:80]})."
