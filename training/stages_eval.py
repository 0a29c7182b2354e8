"""The export and evaluation stages of `longwrite pipeline`: the adapter as a GGUF for llama.cpp,
LongBench-Write and LongWrite-Ruler for the base and the trained model, agent and auto mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from longwrite.core.settings import Settings
from longwrite.training.pipeline import StageRun
from longwrite.training.pipeline_io import MODEL_WORDS_PER_S, trained_model
from longwrite.training.stage_serving import serving, to_gguf


def run_export(run: StageRun) -> dict[str, Any]:
    model_dir = trained_model(run)
    adapter = (model_dir / "adapter_config.json").is_file()
    if not adapter and run.settings("eval").serve != "embedded":
        return {"model": str(model_dir), "form": "merged checkpoint (served by vLLM or transformers serve)"}
    if adapter and not run.settings("export").gguf_lora:
        return {"model": str(model_dir), "form": "PEFT adapter"}
    out = Path(next(iter(to_gguf(model_dir, run.folder).values())))
    form = "GGUF LoRA adapter" if adapter else "GGUF model (float16)"
    return {"model": str(model_dir), "form": form, "file": str(out), "megabytes": _mb(out)}


def _mb(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 2)


def _longbench(run: StageRun, settings: Settings, mode: str, out: Path) -> dict[str, Any]:
    from longwrite.eval.longbench_write import LongBenchRequest, run_longbench

    section = run.settings("eval")
    judge_spec = section.judge
    judge = Settings(base_url=judge_spec.base_url, model=judge_spec.model) if judge_spec else None
    request = LongBenchRequest(
        data=Path(section.longbench_data),
        out=out,
        mode=mode,
        lang=section.lang,
        stratify=section.stratify,
        limit=section.limit,
        judge=judge,
    )
    scores = run_longbench(request, settings)
    return {"S_l": scores["S_l"], "S_q": scores.get("S_q"), "by_range": scores.get("S_l_by_range")}


def _ruler(run: StageRun, settings: Settings, out: Path) -> dict[str, Any]:
    from longwrite.eval.ruler import RulerRequest, run_ruler

    section = run.settings("eval")
    request = RulerRequest(
        data=Path(section.ruler_data),
        out=out,
        mode="model",
        lengths=tuple(section.ruler_lengths),
        per_length=section.ruler_per_length,
        lang=section.ruler_lang,
    )
    scores = run_ruler(request, settings)
    return {"longest_output": scores["longest_output"], "longest_not_looping": scores["longest_not_looping"]}


def run_eval_base(run: StageRun) -> dict[str, Any]:
    with serving(run, trained=False) as settings:
        return {
            "longbench-model": _longbench(run, settings, "model", run.folder / "longbench-model"),
            "ruler-model": _ruler(run, settings, run.folder / "ruler-model"),
        }


def run_eval_trained(run: StageRun) -> dict[str, Any]:
    """The trained model's own one-call answers and its Ruler: they decide whether training worked
    (and whether the adapter ships), so they come before the slower agent and auto runs."""
    with serving(run, trained=True) as settings:
        return {
            "longbench-model": _longbench(run, settings, "model", run.folder / "longbench-model"),
            "ruler-model": _ruler(run, settings, run.folder / "ruler-model"),
        }


def agent_modes(run: StageRun) -> list[str]:
    return [mode for mode in run.settings("eval").trained_modes if mode != "model"]


def run_eval_agent(run: StageRun) -> dict[str, Any]:
    """Agent and auto mode with the trained model as the backend (auto: the model first)."""
    modes = agent_modes(run)
    if not modes:
        return {"modes": []}
    with serving(run, trained=True) as settings:
        return {
            f"longbench-{mode}": _longbench(run, settings, mode, run.folder / f"longbench-{mode}") for mode in modes
        }


def estimate_eval(run: StageRun, modes: list[str], ruler: bool = True) -> float:
    from longwrite.eval.data import load_rows, select
    from longwrite.eval.ruler import pick

    section = run.settings("eval")
    rows, _ = load_rows(Path(section.longbench_data), "skip")
    chosen = select(rows, lang=section.lang, stratify=section.stratify, limit=section.limit)
    words = sum(min(row.length, 6000) for row in chosen) * len(modes)
    if ruler:
        ruler_rows = [
            row
            for row in load_rows(Path(section.ruler_data), "skip")[0]
            if section.ruler_lang is None or row.language == section.ruler_lang
        ]
        words += sum(row.length for row in pick(ruler_rows, tuple(section.ruler_lengths), section.ruler_per_length))
    return words / MODEL_WORDS_PER_S
