"""Errors a user can act on. Each message is one sentence that says what to do."""

from __future__ import annotations

import contextlib
import errno
import sqlite3
from collections.abc import Iterator


class LongwriteError(Exception):
    """Base class: the message is shown to the user as it is, with no traceback."""

    exit_code = 1


class InputError(LongwriteError):
    """The user's input cannot be used (instruction, length, plan file, job id)."""

    exit_code = 2


class BackendError(LongwriteError):
    """The model endpoint is unreachable, failing or answering something unusable."""

    exit_code = 3


class PromptTooLong(BackendError):
    """The server refused a prompt (with room for its answer) as longer than its model's context."""


class GenerationError(LongwriteError):
    """The model answered, but not with text the agent can use (empty, endless loops)."""

    exit_code = 4


class StorageError(LongwriteError):
    """The job store could not be written (a full disk, a read-only folder); nothing finished is lost."""

    exit_code = 5


# the job store cannot be written: a full disk or quota, a read-only or forbidden folder
STORAGE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES)


@contextlib.contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Inside a store: a failure to write it (is_storage_failure) becomes the project's StorageError,
    "Could not save WHAT (why); what was finished is kept.", so no caller sees SQLite's or the OS's."""
    try:
        yield
    except (sqlite3.Error, OSError) as error:
        if not is_storage_failure(error):
            raise
        raise StorageError(f"Could not save {what} ({error}); what was finished is kept.") from error


def is_storage_failure(error: BaseException) -> bool:
    """Whether `error` says the job store cannot be written (SQLite's "database or disk is full",
    "attempt to write a readonly database", or an OSError of STORAGE_ERRNOS)."""
    if isinstance(error, sqlite3.OperationalError):
        return True
    return isinstance(error, OSError) and error.errno in STORAGE_ERRNOS


class TooLargeError(InputError):
    """The input is over a documented size cap (HTTP 413)."""


class Cancelled(LongwriteError):
    """The write was stopped on request (a cancelled job, a client that went away)."""

    exit_code = 130
