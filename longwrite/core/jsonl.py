"""Append-only JSONL result files shared by long batch runs (eval answers, synthesised data).

Each row is appended with one write, flushed and fsynced, so a process killed at any moment
leaves whole lines behind (at worst one cut-off last line, which readers ignore).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from longwrite.core.errors import InputError


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a results file; a last line cut off by a crash is ignored."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # only a line the crash interrupted can be partial
    return rows


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
