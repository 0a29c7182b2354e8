"""Ctrl-C stops a write within seconds, whatever the model server does.

Python raises KeyboardInterrupt only in the main thread, and LangGraph's executor then joins the
worker thread, which may sit in a network read for as long as the server keeps the answer open
(a server that sends a token every few seconds holds it for minutes). So Ctrl-C also sets the
run's cancel flag (the agent stops at its next token) and, should the worker still not be done
after a short grace, ends the process the way a kill would: every finished section is already a
committed checkpoint, so the job resumes as after any crash, and the embedded server dies with
its parent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)

INTERRUPT_GRACE_S = 1.5  # how long the run gets to stop by itself after Ctrl-C
INTERRUPTED_EXIT_CODE = 130  # what shells report for a command ended by SIGINT


@contextlib.contextmanager
def interrupt_stops_within(cancel: threading.Event, note: Callable[[], str]) -> Iterator[None]:
    """Inside, Ctrl-C sets `cancel`, raises KeyboardInterrupt, and exits the process with `note()`
    logged if the block has not ended INTERRUPT_GRACE_S later."""
    deadline: list[threading.Timer] = []

    def forced_exit() -> None:
        with contextlib.suppress(Exception):  # the note is a courtesy: the exit must happen
            log.warning(note())
        logging.shutdown()
        os._exit(INTERRUPTED_EXIT_CODE)

    def interrupted(_signum: int, _frame: object) -> None:
        cancel.set()
        if not deadline:
            deadline.append(threading.Timer(INTERRUPT_GRACE_S, forced_exit))
            deadline[0].daemon = True
            deadline[0].start()
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        for timer in deadline:
            timer.cancel()
