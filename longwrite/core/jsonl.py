"""JSON Lines: the one reader of lines, append-only result files for long batch runs (eval answers,
synthesised data), and the one atomic writer of a whole file.

Each result row is appended with one write, flushed and fsynced, so a process killed at any moment
leaves whole lines behind (at worst one cut-off last line, which readers ignore).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from longwrite.core.errors import InputError


def json_lines(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """(line number from 1, the parsed value) of each non-blank line; a line that is not JSON gives
    a ValueError in place of its value, saying why, for the caller to raise, report or skip."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            yield number, ValueError(f"not valid JSON ({error.msg} at column {error.colno})")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a results file; a last line cut off by a crash is ignored."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    # only a line the crash interrupted can be partial
    return [row for _number, row in json_lines(lines) if not isinstance(row, ValueError)]


def write_atomically(path: Path, write: Callable[[TextIO], None]) -> None:
    """Write `path` through a temporary sibling renamed over it, so a reader (or a crash) sees the
    old file or the new one, never half of one. OSError on failure, with nothing left behind."""
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


class JsonlAppender:
    """Appends one JSON object per line, flushed and synced, from any thread.

    A failed append (disk full, permissions) is undone by cutting the file back to its size
    before it, so the rows already there stay whole and the next run appends cleanly.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, row: dict[str, Any]) -> None:
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            size = self.path.stat().st_size if self.path.exists() else 0
            try:
                with self.path.open("a", encoding="utf-8") as handle:
                    if size and not self._ends_with_newline(size):
                        line = "\n" + line  # a line cut off by a crash stays on its own line
                    handle.write(line)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as error:
                self._cut_back(size)
                raise InputError(
                    f"Could not append to {self.path} ({error.strerror}); the rows already there are intact, "
                    "free space or fix permissions and run again to resume."
                ) from error

    def _ends_with_newline(self, size: int) -> bool:
        with self.path.open("rb") as handle:
            handle.seek(size - 1)
            return handle.read(1) == b"\n"

    def _cut_back(self, size: int) -> None:
        with contextlib.suppress(OSError):
            if self.path.exists() and self.path.stat().st_size > size:
                os.truncate(self.path, size)
