"""Append-only result files: a failed append (disk full, no permission) damages nothing."""

from __future__ import annotations

import errno
import os
import pathlib

import pytest

from longwrite.core.errors import InputError
from longwrite.core.jsonl import JsonlAppender, json_lines, read_jsonl, write_atomically


def test_a_full_disk_leaves_the_rows_already_written_intact(tmp_path, monkeypatch):
    path = tmp_path / "out.jsonl"
    appender = JsonlAppender(path)
    appender.append({"id": "a", "text": "first"})
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)  # the line reached the file, then the disk filled up
    with pytest.raises(InputError, match=r"No space left on device.*intact.*run again to resume"):
        appender.append({"id": "b", "text": "second"})
    assert path.read_bytes() == before  # the half-done append is cut away
    monkeypatch.undo()
    appender.append({"id": "c", "text": "third"})
    assert [row["id"] for row in read_jsonl(path)] == ["a", "c"]


def test_a_permission_error_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "out.jsonl"
    real_open = pathlib.Path.open

    def refuse(self, mode="r", *args, **kwargs):
        if self == path and "a" in mode:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", refuse)
    with pytest.raises(InputError, match=rf"Could not append to {path} \(Permission denied\)"):
        JsonlAppender(path).append({"id": "a"})


def test_a_line_cut_off_by_a_crash_does_not_swallow_the_next_row(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "te', encoding="utf-8")  # killed mid-write
    JsonlAppender(path).append({"id": "c"})
    assert [row["id"] for row in read_jsonl(path)] == ["a", "c"]


def test_one_line_reader_numbers_lines_skips_blank_ones_and_says_why_a_line_is_bad():
    read = list(json_lines(['{"a": 1}', "", "  ", "{cut", "[2]"]))
    assert [number for number, _ in read] == [1, 4, 5]
    assert read[0][1] == {"a": 1} and read[2][1] == [2]
    assert isinstance(read[1][1], ValueError) and "not valid JSON" in str(read[1][1])


def test_an_atomic_write_that_fails_keeps_the_old_file_and_leaves_no_partial(tmp_path, monkeypatch):
    path = tmp_path / "report.md"
    write_atomically(path, lambda handle: handle.write("first"))

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(path, lambda handle: handle.write("second, half written"))
    assert path.read_text() == "first" and [p.name for p in tmp_path.iterdir()] == ["report.md"]
