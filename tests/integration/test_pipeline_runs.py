"""`longwrite pipeline` with a tiny recipe and real processes: killed (SIGKILL) during synthesis
and again during training, it finishes on the next run without redoing finished work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import clean_env

pytest.importorskip("trl")
pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data"

TINY_RECIPE = """
run_dir: {run_dir}
results_dir: {run_dir}-published/run
report_dir: {run_dir}/report-out
device: cpu
instructions:
  file: {data}/train_instructions.jsonl
  general_count: 4
synth:
  limit: 3
general:
  max_tokens: 600
mix:
  ratio: 1
  allow_repeat: true
sft:
  embedded_model: true
  max_length: 1024
  packing: false
  use_peft: true
  lora_r: 4
  lora_alpha: 8
  merge_lora: false
  learning_rate: 1.0e-4
  lr_scheduler_type: constant
  max_steps: 2
  save_steps: 1
  save_total_limit: 2
export:
  gguf_lora: true
eval:
  longbench_data: {data}/small_bench.jsonl
  lang: null
  stratify: null
  limit: 2
  ruler_data: {data}/small_ruler.jsonl
  ruler_lengths: [150, 300]
  ruler_lang: en
  trained_modes: [model]
"""


def _command(recipe: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "longwrite.cli", "pipeline", str(recipe), *extra]


def _env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path / "home")


def _kill_when(process: subprocess.Popen, ready, what: str, timeout_s: float = 900) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert process.poll() is None, f"the pipeline ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout_s} s"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # the whole group: the pipeline and its llama.cpp server
    process.wait(timeout=30)


def test_a_killed_pipeline_finishes_without_redoing_finished_work(tmp_path):
    run_dir = tmp_path / "run"
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(TINY_RECIPE.format(run_dir=run_dir, data=DATA), encoding="utf-8")
    env = _env(tmp_path)
    synth_rows = run_dir / "synth" / "synth.jsonl"

    def launch() -> subprocess.Popen:
        return subprocess.Popen(
            _command(recipe), env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )

    first = launch()
    _kill_when(first, lambda: synth_rows.exists() and len(synth_rows.read_text().splitlines()) >= 1, "a synth row")
    written_before = synth_rows.read_text().splitlines()
    assert 1 <= len(written_before) < 3, "kill the run while it is still synthesising"
    instructions_marker = (run_dir / "instructions" / "stage.json").read_text()

    second = launch()
    checkpoints = run_dir / "sft" / "model"
    _kill_when(second, lambda: any(checkpoints.glob("checkpoint-1/trainer_state.json")), "a training checkpoint")
    synthesised = synth_rows.read_text().splitlines()
    assert synthesised[: len(written_before)] == written_before  # earlier rows untouched
    assert len(synthesised) == 3 and len({json.loads(line)["id"] for line in synthesised}) == 3

    third = subprocess.run(_command(recipe), env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert third.returncode == 0, third.stderr[-3000:]
    assert "instructions: finished earlier, skipped" in third.stderr
    assert "synth: finished earlier, skipped" in third.stderr
    assert (run_dir / "instructions" / "stage.json").read_text() == instructions_marker
    assert synth_rows.read_text().splitlines() == synthesised  # nothing synthesised twice
    sft = json.loads((run_dir / "sft" / "stage.json").read_text())
    assert sft["finished"] and sft["summary"]["steps"] == 2 and sft["summary"]["resumed_from"] == "checkpoint-1"
    assert (run_dir / "export" / "adapter.gguf").stat().st_size > 0
    for stage in ("eval-base", "eval-trained", "eval-agent", "report"):
        assert json.loads((run_dir / stage / "stage.json").read_text())["finished"]
    report = (run_dir / "report-out" / "report.md").read_text()
    assert "base, model mode" in report and "trained, model mode" in report
    published = tmp_path / "run-published" / "run"  # what a reader needs of the run; the report read it there
    assert f"every figure is read from `{published}`" in report
    assert (published / "eval-trained" / "longbench-model" / "preds.jsonl").is_file()
    assert (published / "sft" / "stage.json").is_file() and not (published / "synth" / "synth.jsonl").exists()
    assert not (published / "sft" / "model").exists() and not (published / "export" / "adapter.gguf").exists()

    again = subprocess.run(_command(recipe, "--dry-run"), env=env, cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout.count(" done ") >= 11  # every stage is finished


PREFERENCE_SECTIONS = """
anneal:
  max_length: 1024
  learning_rate: 1.0e-4
  max_steps: 1
pairs:
  samples_per_prompt: 2
  temperature: 1.0
  max_tokens_factor: 1.0
  min_margin: 0.0
  limit: 2
dpo:
  max_length: 512
  beta: 0.1
  learning_rate: 1.0e-4
  max_steps: 1
"""


def test_anneal_pairs_and_dpo_feed_the_exported_adapter(tmp_path):
    """Minimum Tuning's anneal, then pairs sampled from the annealed model and a DPO step on them:
    the adapter exported for serving is the DPO one."""
    run_dir = tmp_path / "run"
    recipe = tmp_path / "preference.yaml"
    recipe.write_text(TINY_RECIPE.format(run_dir=run_dir, data=DATA) + PREFERENCE_SECTIONS, encoding="utf-8")
    done = subprocess.run(_command(recipe, "--until", "export"), env=_env(tmp_path), cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summaries = {
        stage: json.loads((run_dir / stage / "stage.json").read_text())["summary"]
        for stage in ("anneal", "pairs", "dpo", "export")
    }
    assert summaries["anneal"]["steps"] == 1 and summaries["dpo"]["steps"] == 1
    pairs = [json.loads(line) for line in (run_dir / "pairs" / "pairs.jsonl").read_text().splitlines()]
    assert summaries["pairs"]["pairs"] == len(pairs) == 2
    assert all(pair["chosen_score"] >= pair["rejected_score"] for pair in pairs)
    assert Path(summaries["export"]["model"]) == run_dir / "dpo" / "model"
    assert (run_dir / "export" / "adapter.gguf").stat().st_size > 0
