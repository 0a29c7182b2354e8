"""What the pipeline's stages share: the names of the files they pass on, rough rates for
estimates, the one way a stage finds another's output, and the base model's settings."""

from __future__ import annotations

from pathlib import Path

from longwrite.core.errors import InputError
from longwrite.core.settings import Settings
from longwrite.training.pipeline import StageRun, stage_summary

# Rough rates for estimates on this kind of machine (2 CPU cores, the embedded model); a stage
# that has already done part of its work measures its own rate instead.
AGENT_WORDS_PER_S = 35.0
MODEL_WORDS_PER_S = 45.0
CPU_TRAIN_TOKENS_PER_S = 70.0  # LoRA with bf16 autocast, docs/BENCHMARKS.md
CPU_TRAIN_TOKENS_PER_S_FP32 = 52.0  # LoRA or full fine-tuning in float32, the same
GPU_TRAIN_TOKENS_PER_S = 20_000.0
TOKENS_PER_WORD = 1.35

LONG = "long.jsonl"
GENERAL_PROMPTS = "general.jsonl"
SYNTH_INPUT = "input.jsonl"
SYNTH_OUTPUT = "synth.jsonl"
CURATED = "curated.jsonl"
GENERAL_ROWS = "general.jsonl"
MIXED = "mixed.jsonl"
ANNEAL_ROWS = "anneal.jsonl"
ADAPTER_GGUF = "adapter.gguf"
MODEL_GGUF = "model.gguf"  # a fully fine-tuned embedded model, whole
MODEL_DIR = "model"
PAIRS = "pairs.jsonl"


def base_settings() -> Settings:
    """The embedded model with no adapter: the base the recipe trains from."""
    return Settings(base_url=None, model=None, api_key=None, embedded_adapter="none", embedded_model_file=None)


def trained_model(recipe_run: StageRun) -> Path:
    """The folder of the last training stage the recipe has (dpo, else anneal, else sft)."""
    for name in ("dpo", "anneal", "sft"):
        if recipe_run.recipe.section(name) is not None:
            return needs(recipe_run, name, MODEL_DIR)
    raise InputError("The recipe has no training stage.")


def needs(run: StageRun, stage: str, name: str) -> Path:
    """The output `name` of `stage`, or InputError saying which stage makes it."""
    path = run.of(stage) / name
    finished = stage_summary(run.recipe.run_dir, stage) is not None
    if finished and not path.exists():  # a model folder is not kept in git: a fresh clone lacks it
        raise InputError(
            f"{path} is missing although stage {stage} finished (trained models are not kept in git, "
            f"nor copied from a reused run); run the pipeline with --from {stage} to make it again."
        )
    if not finished:
        raise InputError(
            f"{path} is missing: stage {stage} makes it and has not finished; run the pipeline "
            f"with --from {stage} (or without --from)."
        )
    return path
