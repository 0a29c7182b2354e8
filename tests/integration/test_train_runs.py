"""`longwrite train` on the real embedded model (SmolLM2-135M-Instruct from its GGUF), on CPU:
SFT on data `longwrite synth` made, the checkpoint served by `serve-model`, then pairs and DPO."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import clean_env
from tests.integration.test_serve_model import _serve_model, _stop, _wait_ready, _write_model_mode

pytest.importorskip("trl")
pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]
SYNTH_ROWS = ROOT / "tests" / "data" / "synth_small.jsonl"  # made by `longwrite synth` on the embedded model
INSTRUCTIONS = ROOT / "tests" / "data" / "train_instructions.jsonl"  # the instructions it was made from


def _train(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(tmp_path / "home")
    return subprocess.run(
        [sys.executable, "-m", "longwrite.cli", "train", *args],
        capture_output=True, text=True, env=env, timeout=900, cwd=ROOT,
    )  # fmt: skip


@pytest.fixture(scope="module")
def sft_checkpoint(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("sft")
    out = tmp / "sft-smollm2"
    result = _train(tmp, "sft", "--config", "training/recipes/smollm2-135m-cpu.yaml",
                    "--data", str(SYNTH_ROWS), "--output_dir", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("trained 6 steps on 6 samples") and str(out) in result.stdout
    return out


def test_sft_lowers_the_loss_and_the_checkpoint_generates(sft_checkpoint):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    state = json.loads((sft_checkpoint / "trainer_state.json").read_text())
    losses = [entry["loss"] for entry in state["log_history"] if "loss" in entry]
    assert len(losses) == 6 and sum(losses[-2:]) < sum(losses[:2])  # it learns the synthesised answers
    tokenizer = AutoTokenizer.from_pretrained(sft_checkpoint)
    model = AutoModelForCausalLM.from_pretrained(sft_checkpoint)
    chat = [{"role": "user", "content": "Write a short note about tea."}]
    inputs = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    output = model.generate(**inputs, max_new_tokens=30, do_sample=False)
    text = tokenizer.decode(output[0][inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert len(text.split()) >= 10


def test_the_trained_checkpoint_serves_for_model_mode(sft_checkpoint, tmp_path):
    process, port = _serve_model(tmp_path, "--engine", "transformers", "--model", str(sft_checkpoint),
                                 "--device", "cpu")  # fmt: skip
    try:
        _wait_ready(process)
        summary = _write_model_mode(tmp_path, port, str(sft_checkpoint))
        assert summary["mode"] == "model" and summary["words"] > 0
        _stop(process, port)
    finally:
        process.kill()


def test_pairs_then_dpo_run_real_steps(sft_checkpoint, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs_args = ["pairs", "--config", "training/recipes/smollm2-135m-pairs-cpu.yaml", "--data", str(INSTRUCTIONS),
                  "--output", str(pairs), "--limit", "2", "--min_margin", "0"]  # fmt: skip
    result = _train(tmp_path, *pairs_args)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["pairs"] == 2
    rows = [json.loads(line) for line in pairs.read_text().splitlines()]
    assert all(row["chosen_score"] >= row["rejected_score"] and len(row["scores"]) == 2 for row in rows)

    rerun = _train(tmp_path, *pairs_args)
    assert json.loads(rerun.stdout.strip().splitlines()[-1])["already_done"] == 2  # resumes, never redoes

    out = tmp_path / "dpo-smollm2"
    result = _train(tmp_path, "dpo", "--config", "training/recipes/smollm2-135m-dpo-cpu.yaml",
                    "--model_name_or_path", str(sft_checkpoint), "--data", str(pairs), "--output_dir", str(out),
                    "--max_steps", "2")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("trained 2 steps on 2 samples")
    state = json.loads((out / "trainer_state.json").read_text())
    assert [entry["step"] for entry in state["log_history"] if "loss" in entry] == [1, 2]
    assert (out / "model.safetensors").exists() and (out / "chat_template.jinja").exists()
