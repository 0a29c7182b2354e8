"""The training stages of `longwrite pipeline`: sft, anneal, pairs and dpo. Each restarts from
its last checkpoint; anneal and dpo go on from the model of the stage before them (its adapter, or
its whole checkpoint after full fine-tuning)."""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path
from typing import Any

from longwrite.core.errors import InputError
from longwrite.core.jsonl import read_jsonl
from longwrite.core.text import count_words
from longwrite.training.pipeline import StageRun
from longwrite.training.pipeline_io import (
    ANNEAL_ROWS,
    CPU_TRAIN_TOKENS_PER_S,
    CPU_TRAIN_TOKENS_PER_S_FP32,
    CURATED,
    GPU_TRAIN_TOKENS_PER_S,
    MIXED,
    MODEL_DIR,
    MODEL_WORDS_PER_S,
    PAIRS,
    TOKENS_PER_WORD,
    needs,
)
from longwrite.training.pipeline_recipe import ANNEAL_MIN_WORDS
from longwrite.training.rows import answer_words, write_rows
from longwrite.training.stage_serving import serving

# What dpo takes from the sft section when its own does not say: the same base model, and the same
# form (an adapter stays an adapter, so the export can serve it with llama.cpp). Anneal takes every
# sft key its own section leaves out: it is SFT again, on other rows (lengths, precision and
# sequence settings included, or its longest rows would meet the trainer's default max_length).
SAME_AS_SFT = ("model_name_or_path", "model_revision", "embedded_model", "gguf_file", "merge_lora")


def _section(run: StageRun, name: str) -> dict[str, Any]:
    """The training keys stage `name` runs with: its own section over what it takes from sft's."""
    own = dict(run.settings(name))
    if name == "sft":
        return own
    sft = run.settings("sft")
    taken = dict(sft) if name == "anneal" else {key: sft[key] for key in SAME_AS_SFT if key in sft}
    return taken | own


def _train_config(run: StageRun, name: str, data: Path, start: dict[str, Any], dpo: bool) -> Any:
    """The training config of stage `name`; `start` (from `_going_on_from`) says which model it trains on."""
    from longwrite.training.train_config import train_config

    values = _section(run, name)
    values.pop(ANNEAL_MIN_WORDS, None)  # the pipeline's own key: it chose the rows
    for key in ("data", "output_dir", "resume_from_checkpoint", "init_adapter"):
        if key in values:
            raise InputError(f"{run.recipe.path}: section {name} sets {key}; the pipeline sets it (drop the key).")
    if run.recipe.device == "cpu":
        values.setdefault("device", "cpu")
    if "model_name_or_path" in start:  # a whole checkpoint replaces the base model it came from
        values.pop("gguf_file", None)
    values |= start | {"data": str(data), "output_dir": str(run.folder / MODEL_DIR)}
    if _last_checkpoint(run.folder / MODEL_DIR):
        values["resume_from_checkpoint"] = "latest"
    return train_config("dpo" if dpo else "sft", values, [], f"{run.recipe.path} section {name}")


def _last_checkpoint(folder: Path) -> str | None:
    if not folder.is_dir():
        return None
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(folder))


def _train(run: StageRun, name: str, data: Path, start: dict[str, Any], dpo: bool = False) -> dict[str, Any]:
    config = _train_config(run, name, data, start, dpo)
    resumed = _last_checkpoint(run.folder / MODEL_DIR) if config.trainer.resume_from_checkpoint else None
    from longwrite.training.trainer import run_training

    with contextlib.redirect_stdout(sys.stderr):
        summary = run_training(config, overwrite=True)
    _drop_checkpoints(run.folder / MODEL_DIR)
    return {
        "steps": summary.steps,
        "samples": summary.samples,
        "tokens": summary.tokens,
        "seconds": round(summary.seconds, 1),
        "first_loss": summary.first_loss,
        "final_loss": summary.final_loss,
        "dropped_overlong": summary.dropped_overlong,
        "resumed_from": Path(resumed).name if resumed else None,
    }


def _drop_checkpoints(folder: Path) -> None:
    """The finished model is saved; its intermediate checkpoints (optimizer states) only took space."""
    for checkpoint in folder.glob("checkpoint-*"):
        shutil.rmtree(checkpoint)


def run_sft_stage(run: StageRun) -> dict[str, Any]:
    return _train(run, "sft", needs(run, "mix", MIXED), {})


def run_anneal(run: StageRun) -> dict[str, Any]:
    """Minimum Tuning's setup 5: the SFT model trained a little more on the curated long rows only
    (with `min_words`, only those at least that long)."""
    min_words = int(run.settings("anneal").get(ANNEAL_MIN_WORDS, 0))
    rows = [row for row in read_jsonl(needs(run, "curate", CURATED)) if answer_words(row) >= min_words]
    if not rows:
        raise InputError(
            f"No curated row has {min_words} words or more; lower anneal.{ANNEAL_MIN_WORDS} in {run.recipe.path}."
        )
    data = run.folder / ANNEAL_ROWS
    write_rows(data, rows)
    return _train(run, "anneal", data, _going_on_from(run, "sft")) | {"rows": len(rows), "min_words": min_words}


def run_pairs(run: StageRun) -> dict[str, Any]:
    from longwrite.training.pairs import make_pairs
    from longwrite.training.recipe import PairsRecipe, build, parse_recipe

    with serving(run, trained=True, upto=("anneal", "sft")) as settings:
        values = dict(run.settings("pairs")) | {
            "data": str(needs(run, "curate", CURATED)),
            "output": str(run.folder / PAIRS),
        }
        values |= {"base_url": settings.base_url, "model": settings.model} if settings.base_url else {}
        source = f"{run.recipe.path} section pairs"
        recipe = build(PairsRecipe, parse_recipe([PairsRecipe], values, [], source), source)
        return make_pairs(recipe, settings)


def run_dpo_stage(run: StageRun) -> dict[str, Any]:
    source = "anneal" if run.recipe.section("anneal") is not None else "sft"
    return _train(run, "dpo", needs(run, "pairs", PAIRS), _going_on_from(run, source), dpo=True)


def _going_on_from(run: StageRun, stage: str) -> dict[str, Any]:
    """Training keys that make a stage go on from `stage`'s model: its LoRA adapter on the same
    base, or (after full fine-tuning) its whole checkpoint as the model."""
    folder = needs(run, stage, MODEL_DIR)
    if (folder / "adapter_config.json").is_file():
        return {"init_adapter": str(folder)}
    return {"model_name_or_path": str(folder), "embedded_model": False}


def estimate_training(run: StageRun, name: str, data_stage: str, data_file: str) -> float:
    min_words = int(run.settings(name).get(ANNEAL_MIN_WORDS, 0))
    words = [answer_words(row) for row in read_jsonl(run.of(data_stage) / data_file)]
    return _training_seconds(run, name, sum(count for count in words if count >= min_words))


def _training_seconds(run: StageRun, name: str, words: float) -> float:
    section = _section(run, name)
    epochs = float(section.get("num_train_epochs", 1.0))
    cpu_rate = CPU_TRAIN_TOKENS_PER_S if section.get("bf16") else CPU_TRAIN_TOKENS_PER_S_FP32
    rate = GPU_TRAIN_TOKENS_PER_S if run.recipe.device == "cuda" else cpu_rate
    return words * TOKENS_PER_WORD * epochs / rate


def _pair_prompts(run: StageRun) -> list[dict[str, Any]]:
    return read_jsonl(run.of("curate") / CURATED)[: run.settings("pairs").get("limit")]


def estimate_pairs(run: StageRun) -> float:
    """As if every answer reached its target: the time for a model that follows lengths."""
    done = {row["id"] for row in read_jsonl(run.folder / PAIRS)}
    done |= {row["id"] for row in read_jsonl(run.folder / f"{PAIRS}.skipped.jsonl")}
    samples = int(run.settings("pairs").get("samples_per_prompt", 4))
    words = sum(row["length"] * samples for row in _pair_prompts(run) if row["id"] not in done)
    return words / MODEL_WORDS_PER_S


def estimate_dpo(run: StageRun) -> float:
    """Chosen and rejected answers each pass through the policy, and again through the reference."""
    pairs = read_jsonl(run.of("pairs") / PAIRS)
    if pairs:
        words = sum(count_words(pair[side][-1]["content"]) for pair in pairs for side in ("chosen", "rejected"))
    else:  # before the pairs stage: two answers of about the target each
        words = sum(2 * row["length"] for row in _pair_prompts(run))
    return 1.5 * _training_seconds(run, "dpo", words)
