"""One way to run a write off the caller's thread: its own daemon thread, its outcome a Future.

Writes take minutes, so each gets its own thread rather than a shared pool: the event loop's
small default pool, which /health and the other routes must never wait behind, or Gradio's.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


def start_worker(work: Callable[[], T], name: str) -> Future[T]:
    """Start `work` in a new daemon thread; the Future holds its result or the error it raised."""
    outcome: Future[T] = Future()
    outcome.set_running_or_notify_cancel()

    def body() -> None:
        try:
            outcome.set_result(work())
        except BaseException as error:  # handed to whoever waits on the Future, which decides
            outcome.set_exception(error)

    threading.Thread(target=body, name=name, daemon=True).start()
    return outcome


def in_thread(work: Callable[[], T], name: str) -> asyncio.Future[T]:
    """start_worker for a coroutine: the future resolves on the running event loop."""
    return asyncio.wrap_future(start_worker(work, name))
