"""A killed `longwrite eval` in agent mode resumes like synth: finished rows are not redone, and the
row that was being written continues from its last finished section (real processes, a stub
server streaming slowly enough to kill the run in the middle of a document)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from longwrite.agent.jobs import JobStore
from longwrite.core.jsonl import read_jsonl
from tests.stub_backend import MODEL, StubBackend

pytestmark = pytest.mark.integration
ROWS = [
    {"prompt": "Write a 300-word note on keeping bees in a small garden.", "type": "Hobby", "length": 300},
    {"prompt": "Write a 1500-word report on the history of canal locks.", "type": "Report", "length": 1500},
]


def _eval(data: Path, out: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "longwrite.cli", "eval", "longbench-write", "--data", str(data), "--mode", "agent",
            "-o", str(out), "--base-url", url, "--model", MODEL]  # fmt: skip


def _first_section_text(out: Path, job_id: str) -> str | None:
    if not (out / "checkpoints.sqlite").exists():
        return None
    with JobStore(out / "checkpoints.sqlite") as store:
        sections = store.values(job_id).get("sections") or []
    return sections[0]["text"] if sections else None


def test_killed_eval_keeps_finished_rows_and_the_sections_of_the_row_in_progress(tmp_path):
    data = tmp_path / "bench.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in ROWS), encoding="utf-8")
    out = tmp_path / "run"
    with StubBackend(word_delay_s=0.004, slow_outlines=False) as stub:
        process = subprocess.Popen(_eval(data, out, stub.url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        kept = None
        while time.monotonic() < deadline and kept is None and process.poll() is None:
            time.sleep(0.2)
            kept = _first_section_text(out, "row-1") if read_jsonl(out / "preds.jsonl") else None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        finished = read_jsonl(out / "preds.jsonl")
        assert kept and [row["index"] for row in finished] == [0], "kill the run inside the second row"

        result = subprocess.run(_eval(data, out, stub.url), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    preds = read_jsonl(out / "preds.jsonl")
    assert preds[0] == finished[0]  # the finished row is untouched, and not written again
    assert [row["index"] for row in preds] == [0, 1]
    assert kept in preds[1]["response"]  # the section written before the kill is in the answer, as it was
    assert preds[1]["response_length"] > 1000
