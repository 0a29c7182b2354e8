"""`longwrite synth` with real processes: killed midway and run again, every id exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from longwrite.core.text import count_words
from tests.integration.conftest import embedded_env, free_port

pytestmark = pytest.mark.integration
TOPICS = ["tea", "rivers", "clouds", "bridges", "bees", "lighthouses"]


def _synth(source, out, *extra: str) -> list[str]:
    return [sys.executable, "-m", "longwrite.cli", "synth", str(source), "-o", str(out), *extra]


def test_killed_synth_writes_every_id_exactly_once(embedded, tmp_path):
    source = tmp_path / "instructions.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": f"doc-{t}", "prompt": f"Write a 450-word article about {t}."}) + "\n" for t in TOPICS
        ),
        encoding="utf-8",
    )
    out = tmp_path / "synth.jsonl"
    env = embedded_env(embedded, tmp_path)
    process = subprocess.Popen(
        _synth(source, out, "--concurrency", "2"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 2):
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    before = out.read_text().splitlines()
    assert 2 <= len(before) < len(TOPICS), "kill the run while it is still writing"

    result = subprocess.run(
        _synth(source, out, "--concurrency", "2"), env=env, capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[: len(before)] == before  # rows written before the kill are untouched
    rows = [json.loads(line) for line in lines]  # every line parses
    assert sorted(row["id"] for row in rows) == sorted(f"doc-{t}" for t in TOPICS)  # each id exactly once
    for row in rows:
        user, assistant = row["messages"]
        assert user["role"] == "user" and row["id"].removeprefix("doc-") in user["content"]
        assert row["response_length"] == count_words(assistant["content"]) > 0
        assert row["length"] == 450 and row["plan"] and row["backend"]
    assert json.loads(result.stdout.strip().splitlines()[-1])["already_done"] == len(before)


def test_an_endpoint_that_is_down_from_the_start(tmp_path):
    source = tmp_path / "instructions.jsonl"
    source.write_text(json.dumps({"prompt": "Write a note."}) + "\n", encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = subprocess.run(
        _synth(source, tmp_path / "out.jsonl", "--base-url", url), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 3 and "None of the --base-url endpoints answers" in result.stderr
    assert not (tmp_path / "out.jsonl").exists()
