"""`longwrite eval` on the real embedded model: a run killed with SIGKILL resumes without
touching finished answers, and the embedded model works as a stand-in judge."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from longwrite.core.jsonl import read_jsonl
from longwrite.eval.judge import DIMENSIONS
from tests.integration.conftest import embedded_env

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data" / "small_bench.jsonl"


def _eval(out: Path, env: dict[str, str], *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "longwrite.cli",
        "eval",
        "longbench-write",
        "--data",
        str(DATA),
        "--mode",
        "agent",
        "-o",
        str(out),
        *extra,
    ]


def test_killed_eval_resumes_and_is_judged(embedded, tmp_path):
    env = embedded_env(embedded, tmp_path)
    out = tmp_path / "run"
    process = subprocess.Popen(_eval(out, env), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(read_jsonl(out / "preds.jsonl")) < 1:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    finished = read_jsonl(out / "preds.jsonl")
    assert 1 <= len(finished) < 4, "kill the run while it is still writing"

    result = subprocess.run(_eval(out, env, "--judge-embedded"), env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    preds = read_jsonl(out / "preds.jsonl")
    assert preds[: len(finished)] == finished  # the answers written before the kill are untouched
    prompts = [json.loads(line)["prompt"] for line in DATA.read_text().splitlines()]
    assert sorted(p["index"] for p in preds) == [0, 1, 2, 3]  # none written twice
    assert all(p["prompt"] == prompts[p["index"]] for p in preds)
    scores = json.loads((out / "scores.json").read_text())
    assert scores["rows"] == 4 and scores["S_l"] > 50
    # held to the judgement schema, even the 135M model's judgements all parse (weak as they are)
    assert scores["judged"] == 4 and scores["judge_failures"] == 0
    assert 0 <= scores["S_q"] <= 100 and set(scores["S_q_by_dimension"]) == set(DIMENSIONS)
    report = (out / "report.md").read_text()
    assert "unparseable" in report and (out / "scatter.png").exists()
