"""Requests for a model the backend serves go straight to it, streamed through unchanged."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import Response
from fastapi.responses import StreamingResponse

from longwrite.core.settings import Settings
from longwrite.model.client import Endpoint, redacted_url
from longwrite.ui.errors import ApiError
from longwrite.ui.schemas import error_body

MODELS_MAX_AGE_S = 30.0  # how long the backend's model list is reused
# How long /health without the key reuses the backend's state: anyone may call it, and each
# fresh answer costs the backend a request.
HEALTH_MAX_AGE_S = 5.0


class BackendProxy:
    def __init__(self, endpoint: Endpoint, settings: Settings) -> None:
        self.endpoint = endpoint
        self.client = httpx.AsyncClient(
            base_url=endpoint.base_url + "/",
            headers={"Authorization": f"Bearer {endpoint.api_key}"},
            timeout=httpx.Timeout(settings.request_timeout_s, connect=settings.connect_timeout_s),
        )
        self._models: tuple[float, list[str]] | None = None
        self._health: tuple[float, bool] | None = None  # when the backend was last probed, and up or not
        self._health_lock = asyncio.Lock()  # one probe at a time: a burst of /health shares it

    async def close(self) -> None:
        await self.client.aclose()

    def _down(self, error: Exception) -> ApiError:
        return ApiError(
            503,
            f"The model backend at {redacted_url(self.endpoint.base_url)} is not answering ({type(error).__name__}); "
            "check that it is running, then retry.",
            kind="backend_error",
            code="backend_unavailable",
        )

    async def models(self, timeout_s: float | None = None, fresh: bool = False) -> list[str]:
        """The model ids the backend serves; ApiError 503 when it is down.

        The list is reused for a short while (every proxied chat checks it); `fresh` asks the
        backend now, as a health probe must.
        """
        cached = self._models and time.monotonic() - self._models[0] < MODELS_MAX_AGE_S
        if self._models and cached and not fresh:
            return self._models[1]
        try:
            response = await self.client.get("models", timeout=timeout_s or httpx.USE_CLIENT_DEFAULT)
            response.raise_for_status()
            ids = [entry["id"] for entry in response.json()["data"]]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            self._models = None  # a backend that is down must not look up from the cache
            raise self._down(error) from error
        ids = ids if self.endpoint.model in ids else [self.endpoint.model, *ids]
        self._models = (time.monotonic(), ids)
        return ids

    async def is_up(self, timeout_s: float, max_age_s: float) -> bool:
        """Whether the backend lists its models, asked at most once per `max_age_s` however many
        callers ask at once (0: ask now)."""
        async with self._health_lock:
            if self._health and time.monotonic() - self._health[0] < max_age_s:
                return self._health[1]
            try:
                await self.models(timeout_s=timeout_s, fresh=True)
                up = True
            except ApiError:
                up = False
            self._health = (time.monotonic(), up)
            return up

    async def chat(self, body: dict[str, Any], stream: bool) -> Response:
        """Forward one chat request; the backend's status and body come back as they are."""
        request = self.client.build_request("POST", "chat/completions", json=body)
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as error:
            raise self._down(error) from error
        if response.status_code != 200 or not stream:
            content = await response.aread()
            await response.aclose()
            return Response(content, status_code=response.status_code, media_type=response.headers.get("content-type"))
        return StreamingResponse(self._relay(response), media_type="text/event-stream")

    async def _relay(self, response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        except httpx.HTTPError as error:
            failure = self._down(error)
            yield f"data: {json.dumps(error_body(failure.message, failure.kind, failure.code))}\n\n".encode()
        finally:
            await response.aclose()
