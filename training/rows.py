"""SFT rows in the LongWriter-6k shape ({"messages": [user, assistant], ...metadata}): reading
them from JSONL, Parquet, a Hugging Face dataset folder or Hub id, and writing them exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from longwrite.core.errors import InputError
from longwrite.core.extras import require
from longwrite.core.jsonl import json_lines, write_atomically
from longwrite.core.text import count_words
from longwrite.training.datasets_io import hub_source, publish_rows, read_folder, read_hub


def read_rows(source: str | Path) -> list[dict[str, Any]]:
    """Rows, each with its 1-based `_line`, from a .jsonl or .parquet file, a dataset folder (saved
    with save_to_disk, or of data files), or a Hub dataset `hf:OWNER/NAME[/CONFIG][:SPLIT]`."""
    hub = hub_source(source)
    if hub is not None:
        return _numbered(read_hub(hub))
    path = Path(source)
    if path.is_dir():
        return _numbered(read_folder(path))
    if not path.exists():
        raise InputError(f"{path} does not exist.")
    if path.suffix == ".parquet":
        return _parquet(path)
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, row in json_lines(handle):
            if isinstance(row, ValueError):
                raise InputError(f"{path}:{number}: {row}; fix or remove the line.") from row
            if not isinstance(row, dict):
                raise InputError(f"{path}:{number}: not a JSON object.")
            rows.append(row | {"_line": number})
    if not rows:
        raise InputError(f"{path} is empty; give a file with one JSON row per line.")
    return rows


def _parquet(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        require("train", "Reading Parquet")
        raise  # installed but broken: let its own error show
    return _numbered(parquet.read_table(path).to_pylist())


def _numbered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with `_line`, its 1-based position, so errors can name the row."""
    return [row | {"_line": n} for n, row in enumerate(rows, start=1)]


def turns(row: dict[str, Any]) -> tuple[str, str] | None:
    """(the last user message, the assistant answer after it), or None when the row has neither."""
    messages = row.get("messages")
    if not isinstance(messages, list):
        return None
    user = answer = None
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return None
        if message.get("role") == "user":
            user, answer = message["content"], None
        elif message.get("role") == "assistant" and user is not None:
            answer = message["content"]
    return (user, answer) if user is not None and answer is not None else None


def answer_words(row: dict[str, Any]) -> int:
    """Words in the row's answer (0 when it has none)."""
    found = turns(row)
    return count_words(found[1]) if found else 0


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows to `path` atomically (a temporary file renamed over it); the count written."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"The folder {parent} does not exist; create it first.")
    count = 0

    def write(handle: TextIO) -> None:
        nonlocal count
        for row in rows:
            clean = {k: v for k, v in row.items() if not k.startswith("_")}
            handle.write(json.dumps(clean, ensure_ascii=False) + "\n")
            count += 1

    try:
        write_atomically(path, write)
    except OSError as error:
        raise InputError(f"Could not write {path} ({error.strerror}); nothing there was changed.") from error
    return count


def publish_file(path: Path, save_to_disk: Path | None, push_to_hub: str | None) -> list[str]:
    """publish_rows for the rows of a JSONL file (e.g. synth's output, written row by row)."""
    if save_to_disk is None and push_to_hub is None:
        return []
    return publish_rows(read_rows(path) if path.is_file() and path.stat().st_size else [], save_to_disk, push_to_hub)
