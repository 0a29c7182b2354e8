"""Benchmark rows (LongBench-Write, LongWrite-Ruler): loading with clear errors, and selection."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from longwrite.core.errors import InputError
from longwrite.core.jsonl import json_lines
from longwrite.core.text import Language, detect_language

OnBadLine = Literal["stop", "skip"]

# LongBench-Write reports S_l per required-length range; the last one takes every row from 4,000 up.
RANGES: tuple[tuple[str, int], ...] = (("[0,500)", 500), ("[500,2k)", 2_000), ("[2k,4k)", 4_000), ("[4k,20k)", 10**9))


def range_of(length: int) -> str:
    return next(label for label, upper in RANGES if length < upper)


@dataclass(frozen=True)
class BenchRow:
    index: int  # the row's position in the file (0-based): the key every result is stored under
    prompt: str
    type: str
    length: int  # required length, in LongBench-Write words (CJK characters + English words)
    language: Language

    @property
    def range(self) -> str:
        return range_of(self.length)


def load_rows(path: Path, on_bad_line: OnBadLine = "stop") -> tuple[list[BenchRow], list[str]]:
    """The rows of a benchmark JSONL file and the problems skipped (always empty with "stop")."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as error:
        raise InputError(f"{path} does not exist; give the benchmark's .jsonl file.") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path} cannot be read as UTF-8 text ({error}).") from error
    rows: list[BenchRow] = []
    problems: list[str] = []
    for number, data in json_lines(lines):
        try:
            rows.append(_row(data, index=number - 1))
        except ValueError as problem:
            where = f"{path}:{number}: {problem}"
            if on_bad_line == "stop":
                raise InputError(f"{where}; fix the line, or pass --on-bad-line skip to leave it out.") from problem
            problems.append(where)
    if not rows:
        raise InputError(f"{path} has no usable rows.")
    return rows, problems


def _row(data: Any, index: int) -> BenchRow:
    if isinstance(data, ValueError):
        raise data
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    prompt, length = data.get("prompt"), data.get("length")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError('no "prompt" text')
    if length is None:
        raise ValueError('no "length"')
    if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
        raise ValueError(f'"length" must be a positive whole number, not {json.dumps(length)}')
    return BenchRow(
        index=index,
        prompt=prompt,
        type=str(data.get("type", "")),
        length=length,
        language=detect_language(prompt),
    )


def select(
    rows: list[BenchRow], *, lang: Language | None = None, stratify: int | None = None, limit: int | None = None
) -> list[BenchRow]:
    """Rows filtered by language, then `stratify` per length range (spread over the range's
    lengths and balanced by language), then the first `limit`; always in file order."""
    chosen = [row for row in rows if lang is None or row.language == lang]
    if stratify is not None:
        picked: list[BenchRow] = []
        for label, _upper in RANGES:
            in_range = [row for row in chosen if row.range == label]
            languages = sorted({row.language for row in in_range})
            for position, language in enumerate(languages):
                share = stratify // len(languages) + (1 if position < stratify % len(languages) else 0)
                group = sorted((row for row in in_range if row.language == language), key=lambda r: (r.length, r.index))
                picked += _spread(group, share)
        chosen = sorted(picked, key=lambda row: row.index)
    return chosen[:limit] if limit is not None else chosen


def _spread(group: list[BenchRow], count: int) -> list[BenchRow]:
    """`count` rows evenly spaced through `group` (sorted by length): short, long and between."""
    if count >= len(group):
        return group
    if count == 1:
        return [group[len(group) // 2]]
    return [group[round(i * (len(group) - 1) / (count - 1))] for i in range(count)]


def digest(path: Path) -> str:
    """A dataset's identity, so one output folder never mixes two datasets."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
