"""`model: agentwrite` and `model: auto` chat completions: the agent writes, the API streams.

Streams carry finished sections, not raw tokens (see agent.document.MarkdownStream), so the
streamed text is exactly the final document.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from longwrite.agent.events import MarkdownStream
from longwrite.agent.jobs import new_job_id
from longwrite.agent.threads import in_thread
from longwrite.core.errors import Cancelled, LongwriteError
from longwrite.ui.errors import from_product_error
from longwrite.ui.job_manager import JobManager
from longwrite.ui.schemas import (
    AGENT_MODEL,
    ChatCompletionRequest,
    chunk_body,
    completion_body,
    completion_id,
    error_body,
)
from longwrite.ui.service import ChatOutcome, WriteService

log = logging.getLogger("longwrite.api")
INTERNAL_ERROR = "The server failed with an internal error; see its log."
KEEPALIVE_S = 10.0  # an SSE comment this often keeps proxies from closing a quiet stream
JOB_HEADER = "X-Longwrite-Job"  # the job an agentwrite answer is kept as
DISCONNECT_POLL_S = 1.0  # how often a non-streamed write checks that its client is still there


def sse_data(payload: dict[str, Any] | str) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


async def agent_chat(
    service: WriteService, jobs: JobManager, body: ChatCompletionRequest, request: Request
) -> JSONResponse | StreamingResponse:
    instruction, target = service.check(body.instruction(), body.target_words)
    service.take_slot()
    cancel = threading.Event()
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue[str] = asyncio.Queue()
    markdown = MarkdownStream()

    def on_event(event: dict[str, Any]) -> None:  # runs in the writer thread
        piece = markdown.feed(event)
        if piece and body.stream:
            with contextlib.suppress(RuntimeError):  # the loop is gone: the server is stopping
                loop.call_soon_threadsafe(pieces.put_nowait, piece)

    # An agentwrite answer is kept as a job, its id known before the first byte so that a client
    # that loses the answer can resume it (X-Longwrite-Job; GET /v1/writes lists jobs too).
    job_id = new_job_id()
    headers = {JOB_HEADER: job_id} if body.model == AGENT_MODEL else {}
    keep_as_job = functools.partial(jobs.write_attached, job_id)

    def work() -> ChatOutcome:
        try:
            return service.write_chat(body.model, instruction, target, on_event, cancel, keep_as_job, body.hold_length)
        finally:
            service.slots.release()

    outcome = in_thread(work, name="chat-write")
    if not body.stream:
        try:
            result = await _while_connected(outcome, request, cancel)
        except asyncio.CancelledError:  # the server is stopping (SIGTERM): an answer, not a traceback
            cancel.set()
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            return JSONResponse(error_body(_shutdown_message(job_id, body.model), "server_error", "shutting_down"),
                                status_code=503, headers=headers)  # fmt: skip
        except LongwriteError as error:
            raise from_product_error(error) from error
        return JSONResponse(
            completion_body(completion_id(), body.model, result.document, result.usage, result.info), headers=headers
        )
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return StreamingResponse(
        _stream(body.model, pieces, outcome, cancel, include_usage), media_type="text/event-stream", headers=headers
    )


def _shutdown_message(job_id: str, model: str) -> str:
    kept = f" The write is kept as job {job_id}: resume it with POST /v1/writes/{job_id}/resume." if (
        model == AGENT_MODEL) else ""  # fmt: skip
    return f"The server is shutting down; retry once it is back.{kept}"


async def _while_connected(outcome: asyncio.Future[ChatOutcome], request: Request, cancel: threading.Event) -> Any:
    """The finished write, or Cancelled once the client has gone away: a client that timed out
    (and perhaps retried) must not keep a write slot busy for an answer nobody will read."""
    while True:
        done, _ = await asyncio.wait({outcome}, timeout=DISCONNECT_POLL_S)
        if done:
            return outcome.result()
        if await request.is_disconnected():
            cancel.set()  # the writer stops at its next event and frees its slot; finished work stays
            raise Cancelled("The client went away; the write was stopped.")


async def _stream(
    model: str,
    pieces: asyncio.Queue[str],
    outcome: asyncio.Future[ChatOutcome],
    cancel: threading.Event,
    include_usage: bool,
) -> AsyncIterator[bytes]:
    completion = completion_id()
    try:
        yield sse_data(chunk_body(completion, model, {"role": "assistant", "content": ""}))
        while not (outcome.done() and pieces.empty()):
            getter = asyncio.ensure_future(pieces.get())
            done, _ = await asyncio.wait({getter, outcome}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield sse_data(chunk_body(completion, model, {"content": getter.result()}))
                continue
            getter.cancel()
            if not done:
                yield b": keep-alive\n\n"
        try:
            result = outcome.result()
        except LongwriteError as error:
            failure = from_product_error(error)
            yield sse_data(error_body(failure.message, failure.kind, failure.code))
            return
        except Exception:  # a bug: logged with its traceback, sent without it
            log.exception("chat write failed")
            yield sse_data(error_body(INTERNAL_ERROR, "server_error"))
            return
        yield sse_data(chunk_body(completion, model, {}, finish_reason="stop", info=result.info))
        if include_usage:
            yield sse_data(chunk_body(completion, model, None, usage=result.usage))
        yield sse_data("[DONE]")
    finally:
        cancel.set()  # the client went away (or all is sent): stop the writer at its next event
