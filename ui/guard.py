"""The first thing every HTTP request meets: the API key (before any body is read) and the body
limit, counted as the bytes arrive, whatever the framing (Content-Length or chunked).

A plain ASGI middleware rather than a route dependency: a dependency runs only after FastAPI has
read and parsed the whole body, so a client without a key could still make the server hold a
300 MB chunked body in memory.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from longwrite.ui.schemas import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KEYED_PREFIX = "/v1/"  # the API routes; the page under / has its own login
KEYED_PATHS = ("/openapi.json", "/docs", "/redoc")  # the API's description is behind the key too


def _framing_refusal(scope: Scope) -> tuple[int, dict[str, Any]] | None:
    """400 for a body framed two ways: RFC 9112 makes Content-Length with Transfer-Encoding an
    error a server must not pass on (behind a proxy that reads the other framing, it smuggles a
    second request)."""
    names = {name.lower() for name, _value in scope["headers"]}
    if b"content-length" in names and b"transfer-encoding" in names:
        message = "The request has both Content-Length and Transfer-Encoding; send only one of them."
        return 400, error_body(message, "invalid_request_error", "ambiguous_framing")
    return None


class RequestGuard:
    def __init__(self, app: ASGIApp, api_key: str | None, max_request_bytes: int) -> None:
        self.app = app
        self.api_key = api_key
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _framing_refusal(scope) or self._key_refusal(scope) or self._declared_size_refusal(scope)
        if refusal is not None:
            await _respond(send, *refusal)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        body = await self._read_body(receive)
        if body is None:
            await _respond(send, *self._too_large())
            return
        await self.app(scope, _replay(body, receive), send)

    def _key_refusal(self, scope: Scope) -> tuple[int, dict[str, Any]] | None:
        path = scope["path"]
        if not self.api_key or not (path.startswith(KEYED_PREFIX) or path.startswith(KEYED_PATHS)):
            return None
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            message = "This server needs an API key: send the header 'Authorization: Bearer <key>'."
            return 401, error_body(message, "authentication_error", "missing_api_key")
        if not hmac.compare_digest(token.strip().encode(), self.api_key.encode()):
            message = "The API key is wrong; use the key the server was started with (--api-key)."
            return 401, error_body(message, "authentication_error", "invalid_api_key")
        return None

    def _declared_size_refusal(self, scope: Scope) -> tuple[int, dict[str, Any]] | None:
        for name, value in scope["headers"]:
            if name.lower() == b"content-length" and value.isdigit() and int(value) > self.max_request_bytes:
                return self._too_large(int(value))
        return None

    def _too_large(self, size: int | None = None) -> tuple[int, dict[str, Any]]:
        what = f"has {size:,} bytes" if size is not None else "is larger than the limit"
        message = (
            f"The request body {what}, over the limit of {self.max_request_bytes:,} bytes; send a shorter instruction."
        )
        return 413, error_body(message, "invalid_request_error", "too_large")

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it passes the limit (the rest is never read)."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_request_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that hands the app the body already read, then the client's later messages."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect, when the client goes away

    return replayed


async def _respond(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))  # the unread rest of the body cannot be skipped over
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
