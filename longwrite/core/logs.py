"""Where longwrite's messages go: the `logging` module, configured once per command.

What a user reads while a command runs (the job id, the length, a skipped row, a stage that
starts) is logged at INFO under the "longwrite" logger and shown on stderr as the bare message;
-v adds DEBUG lines with their time and source, -q keeps warnings and errors only.
LONGWRITE_LOG_LEVEL (DEBUG, INFO, WARNING, ERROR) sets the level when neither flag is given.
"""

from __future__ import annotations

import logging
import os
import sys

from longwrite.core.errors import InputError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_LEVEL_VARIABLE = "LONGWRITE_LOG_LEVEL"


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the message (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # not setStream, which flushes the old stream first (maybe closed)
        super().emit(record)


def level_for(verbose: bool, quiet: bool) -> int:
    if verbose and quiet:
        raise InputError("-v and -q contradict each other; give one of them.")
    if verbose:
        return logging.DEBUG
    if quiet:
        return logging.WARNING
    name = os.environ.get(LOG_LEVEL_VARIABLE, "INFO").strip().upper() or "INFO"
    if name not in LEVELS:
        raise InputError(f"{LOG_LEVEL_VARIABLE}={name!r} is not a level; it takes one of {', '.join(LEVELS)}.")
    return getattr(logging, name)


def configure(level: int) -> None:
    """Send the "longwrite" loggers (and warnings of the libraries, at DEBUG everything) to stderr."""
    verbose = level <= logging.DEBUG
    handler = _CurrentStderr(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s" if verbose else "%(message)s")
    )
    logger = logging.getLogger("longwrite")  # every module of ours logs under longwrite.
    logger.handlers = [handler]
    logger.setLevel(level)
    logger.propagate = False
    logging.getLogger().setLevel(logging.DEBUG if verbose else logging.WARNING)
