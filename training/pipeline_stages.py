"""The work of each `longwrite pipeline` stage, and a rough estimate of how long it takes.

Every stage reads only the folders of the stages before it and writes only its own folder;
the long ones (synthesis, general answers, training, evaluation) resume where they stopped.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from longwrite.errors import InputError
from longwrite.jsonl import JsonlAppender, read_jsonl
from longwrite.settings import Settings
from longwrite.text import count_words, repetition
from training.pipeline import Stage, StageRun, stage_summary

# Rough rates for estimates on this kind of machine (2 CPU cores, the embedded model); a stage
# that has already done part of its work measures its own rate instead.
AGENT_WORDS_PER_S = 35.0
MODEL_WORDS_PER_S = 45.0
CPU_TRAIN_TOKENS_PER_S = 70.0  # LoRA with bf16 autocast, docs/BENCHMARKS.md
GPU_TRAIN_TOKENS_PER_S = 20_000.0
TOKENS_PER_WORD = 1.35
GENERAL_MAX_REP_4 = 0.2  # a general answer that repeats itself more is not kept as training data

LONG = "long.jsonl"
GENERAL_PROMPTS = "general.jsonl"
SYNTH_INPUT = "input.jsonl"
SYNTH_OUTPUT = "synth.jsonl"
CURATED = "curated.jsonl"
GENERAL_ROWS = "general.jsonl"
MIXED = "mixed.jsonl"
ADAPTER_GGUF = "adapter.gguf"
MODEL_DIR = "model"
PAIRS = "pairs.jsonl"
# What the stages after sft take from its section when their own does not say: the same base model,
# and the same form (an adapter stays an adapter, so the export can serve it with llama.cpp).
SAME_AS_SFT = ("model_name_or_path", "model_revision", "embedded_model", "gguf_file", "merge_lora")


def _base_settings() -> Settings:
    """The embedded model with no adapter: the base the recipe trains from."""
    return Settings(base_url=None, model=None, api_key=None, embedded_adapter="none")


# ------------------------------------------------------------ instructions


def run_instructions(run: StageRun) -> dict[str, Any]:
    from training.instructions import check_long_instructions, general_instructions, long_instructions
    from training.rows import write_rows

    section = run.settings("instructions")
    if section.file:
        rows = [{k: v for k, v in row.items() if k != "_line"} for row in check_long_instructions(Path(section.file))]
    else:
        rows = long_instructions(section.seed, section.count)
    write_rows(run.folder / LONG, rows)
    write_rows(run.folder / GENERAL_PROMPTS, general_instructions(section.seed, section.general_count))
    return {"long": len(rows), "general": section.general_count}


# ------------------------------------------------------------ synth


def _synth_rows(run: StageRun) -> list[dict[str, Any]]:
    rows = read_jsonl(_needs(run, "instructions", LONG))
    limit = run.settings("synth").limit
    return rows[:limit] if limit else rows


def run_synth(run: StageRun) -> dict[str, Any]:
    from training.rows import write_rows
    from training.synth import SynthRequest, synthesize

    section = run.settings("synth")
    source = run.folder / SYNTH_INPUT
    write_rows(source, _synth_rows(run))
    settings = _base_settings().model_copy(update={"model": section.model})
    request = SynthRequest(
        source=source,
        output=run.folder / SYNTH_OUTPUT,
        concurrency=section.concurrency,
        base_urls=tuple(section.base_urls),
    )
    synthesize(request, settings)
    written = read_jsonl(run.folder / SYNTH_OUTPUT)
    return {
        "documents": len(written),
        "failed": len(read_jsonl(request.errors_path)),
        "words": sum(row["response_length"] for row in written),
    }


def estimate_synth(run: StageRun) -> float:
    written = read_jsonl(run.folder / SYNTH_OUTPUT)
    done = {row["id"] for row in written}
    if (run.of("instructions") / LONG).is_file():
        todo = sum(row["length"] for row in _synth_rows(run) if row["id"] not in done)
    else:  # before the instructions stage: the instructions it will make
        from training.instructions import long_instructions

        section = run.settings("instructions")
        planned = [] if section.file else long_instructions(section.seed, section.count)
        todo = sum(row["length"] for row in planned[: run.settings("synth").limit or None])
    seconds = sum(row.get("seconds", 0.0) for row in written)
    rate = sum(row["response_length"] for row in written) / seconds if seconds > 60 else AGENT_WORDS_PER_S
    return todo / rate


# ------------------------------------------------------------ curate, general, mix


def run_curate(run: StageRun) -> dict[str, Any]:
    from training.curate import curate, write_report
    from training.rows import read_rows, write_rows

    source = _needs(run, "synth", SYNTH_OUTPUT)
    result = curate(read_rows(source), run.settings("curate").min_length_score)
    if not result.kept:
        raise InputError(f"Curation kept none of the {len(result.decisions)} synthesised rows; see {run.folder}.")
    write_rows(run.folder / CURATED, result.kept)
    write_report(result, run.folder / "report", str(source))
    return {"kept": len(result.kept), "of": len(result.decisions), "dropped": dict(result.dropped)}


def run_general(run: StageRun) -> dict[str, Any]:
    """The base model's own answers to the general requests; looping or cut-off answers are left out."""
    from agent.direct import write_direct
    from agent.state import AgentContext
    from model.client import backend_errors
    from model.embedded import endpoint_for

    section = run.settings("general")
    prompts = read_jsonl(_needs(run, "instructions", GENERAL_PROMPTS))
    out = run.folder / GENERAL_ROWS
    rejected_path = run.folder / "rejected.jsonl"
    done = {row["id"] for row in read_jsonl(out)} | {row["id"] for row in read_jsonl(rejected_path)}
    settings = _base_settings().model_copy(update={"base_url": section.base_url, "model": section.model})
    out.touch()  # the stage's output exists even when every answer is left out
    kept, rejected = JsonlAppender(out), JsonlAppender(rejected_path)
    with endpoint_for(settings) as endpoint, backend_errors(endpoint):
        context = AgentContext.for_endpoint(endpoint, settings)
        for row in tqdm(
            [row for row in prompts if row["id"] not in done], desc="general", unit="answer", file=sys.stderr
        ):
            answer = write_direct(context, row["prompt"], max_tokens=section.max_tokens)
            words = count_words(answer.document)
            rep_4 = repetition(answer.document).rep_n
            record = {
                "id": row["id"],
                "messages": [
                    {"role": "user", "content": row["prompt"]},
                    {"role": "assistant", "content": answer.document},
                ],
                "response_length": words,
                "rep_4": round(rep_4, 4),
                "finish_reason": answer.finish_reason,
            }
            if answer.finish_reason == "length" or rep_4 > GENERAL_MAX_REP_4:
                rejected.append(record)
            else:
                kept.append(record)
    rows = read_jsonl(out)
    return {
        "kept": len(rows),
        "rejected": len(read_jsonl(rejected_path)),
        "median_words": sorted(r["response_length"] for r in rows)[len(rows) // 2] if rows else 0,
    }


def estimate_general(run: StageRun) -> float:
    prompts = len(read_jsonl(run.of("instructions") / GENERAL_PROMPTS)) or run.settings("instructions").general_count
    done = len(read_jsonl(run.folder / GENERAL_ROWS)) + len(read_jsonl(run.folder / "rejected.jsonl"))
    return max(0, prompts - done) * 250 / MODEL_WORDS_PER_S


def run_mix(run: StageRun) -> dict[str, Any]:
    from training.mix import mix
    from training.rows import read_rows, write_rows

    section = run.settings("mix")
    general = _needs(run, "general", GENERAL_ROWS)
    general_rows = read_rows(general) if section.ratio and general.stat().st_size else []
    if section.ratio and not general_rows:
        raise InputError(
            f"The general stage kept none of its answers ({general.parent}/rejected.jsonl has them); raise "
            "general.max_tokens and run with --from general, or set mix.ratio to 0."
        )
    result = mix(
        read_rows(_needs(run, "curate", CURATED)), general_rows, section.ratio, section.seed, section.allow_repeat
    )
    write_rows(run.folder / MIXED, result.rows)
    return {"long": result.long, "general": result.general, "rows": len(result.rows)}


# ------------------------------------------------------------ training


def _train_config(run: StageRun, name: str, data: Path, init_adapter: Path | None, dpo: bool) -> Any:
    from training.train_config import train_config

    values = dict(run.settings(name))
    for key in ("data", "output_dir", "resume_from_checkpoint", "init_adapter"):
        if key in values:
            raise InputError(f"{run.recipe.path}: section {name} sets {key}; the pipeline sets it (drop the key).")
    if run.recipe.device == "cpu":
        values.setdefault("device", "cpu")
    if name != "sft":  # anneal and dpo go on training the SFT model: its base and its form unless set
        sft = run.settings("sft")
        values |= {key: sft[key] for key in SAME_AS_SFT if key in sft and key not in values}
    values |= {"data": str(data), "output_dir": str(run.folder / MODEL_DIR)}
    if init_adapter is not None:
        values["init_adapter"] = str(init_adapter)
    if _last_checkpoint(run.folder / MODEL_DIR):
        values["resume_from_checkpoint"] = "latest"
    return train_config("dpo" if dpo else "sft", values, [], f"{run.recipe.path} section {name}")


def _last_checkpoint(folder: Path) -> str | None:
    if not folder.is_dir():
        return None
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(folder))


def _train(run: StageRun, name: str, data: Path, init_adapter: Path | None, dpo: bool = False) -> dict[str, Any]:
    config = _train_config(run, name, data, init_adapter, dpo)
    resumed = _last_checkpoint(run.folder / MODEL_DIR) if config.trainer.resume_from_checkpoint else None
    from training.trainer import run_training

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


def trained_model(recipe_run: StageRun) -> Path:
    """The folder of the last training stage the recipe has (dpo, else anneal, else sft)."""
    for name in ("dpo", "anneal", "sft"):
        if recipe_run.recipe.section(name) is not None:
            return _needs(recipe_run, name, MODEL_DIR)
    raise InputError("The recipe has no training stage.")


def run_sft_stage(run: StageRun) -> dict[str, Any]:
    return _train(run, "sft", _needs(run, "mix", MIXED), None)


def run_anneal(run: StageRun) -> dict[str, Any]:
    """Minimum Tuning's setup 5: the SFT model trained a little more on the curated long rows only."""
    return _train(run, "anneal", _needs(run, "curate", CURATED), _adapter_of(run, "sft"))


def run_pairs(run: StageRun) -> dict[str, Any]:
    from training.pairs import make_pairs
    from training.recipe import PairsRecipe, build, parse_recipe

    with _serving(run, trained=True, upto=("anneal", "sft")) as settings:
        values = dict(run.settings("pairs")) | {
            "data": str(_needs(run, "curate", CURATED)),
            "output": str(run.folder / PAIRS),
        }
        values |= {"base_url": settings.base_url, "model": settings.model} if settings.base_url else {}
        source = f"{run.recipe.path} section pairs"
        recipe = build(PairsRecipe, parse_recipe([PairsRecipe], values, [], source), source)
        return make_pairs(recipe, settings)


def run_dpo_stage(run: StageRun) -> dict[str, Any]:
    source = "anneal" if run.recipe.section("anneal") is not None else "sft"
    return _train(run, "dpo", _needs(run, "pairs", PAIRS), _adapter_of(run, source), dpo=True)


def _adapter_of(run: StageRun, stage: str) -> Path | None:
    folder = _needs(run, stage, MODEL_DIR)
    return folder if (folder / "adapter_config.json").is_file() else None


def estimate_training(run: StageRun, name: str, data_stage: str, data_file: str) -> float:
    rows = read_jsonl(run.of(data_stage) / data_file)
    return _training_seconds(run, name, sum(count_words(row["messages"][-1]["content"]) for row in rows))


def _training_seconds(run: StageRun, name: str, words: float) -> float:
    epochs = float(run.settings(name).get("num_train_epochs", 1.0))
    rate = GPU_TRAIN_TOKENS_PER_S if run.recipe.device == "cuda" else CPU_TRAIN_TOKENS_PER_S
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


# ------------------------------------------------------------ export


def run_export(run: StageRun) -> dict[str, Any]:
    from training.export import lora_to_gguf

    model_dir = trained_model(run)
    section = run.settings("export")
    if not (model_dir / "adapter_config.json").is_file():
        return {"model": str(model_dir), "form": "merged checkpoint (served by vLLM or transformers serve)"}
    if not section.gguf_lora:
        return {"model": str(model_dir), "form": "PEFT adapter"}
    config = json.loads((model_dir / "adapter_config.json").read_text(encoding="utf-8"))
    heads, kv_heads = _head_counts(config)
    out = lora_to_gguf(model_dir, run.folder / ADAPTER_GGUF, heads, kv_heads)
    return {
        "model": str(model_dir),
        "form": "GGUF LoRA adapter",
        "file": str(out),
        "megabytes": round(out.stat().st_size / 2**20, 2),
    }


def _head_counts(adapter_config: dict[str, Any]) -> tuple[int, int]:
    """Attention heads of the adapter's base model (the embedded model's, read from its GGUF)."""
    base = adapter_config.get("base_model_name_or_path") or ""
    from transformers import AutoConfig

    if base and Path(base, "config.json").is_file():
        config = AutoConfig.from_pretrained(base)
    else:
        from model.embedded import gguf_path

        gguf = gguf_path()
        config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    return config.num_attention_heads, config.num_key_value_heads


# ------------------------------------------------------------ serving the base and the trained model


@contextlib.contextmanager
def _serving(run: StageRun, trained: bool, upto: tuple[str, ...] = ()) -> Iterator[Settings]:
    """Settings that reach the base model or the trained one, for the block's duration.

    On the embedded default the trained model is the base GGUF with the exported adapter on
    top; on vLLM or transformers serve a server is started for the block.
    """
    section = run.settings("eval")
    if section.serve == "embedded":
        adapter = "none"
        if trained:
            adapter = str(_needs(run, "export", ADAPTER_GGUF)) if not upto else _gguf_for(run, upto)
        yield _base_settings().model_copy(update={"embedded_adapter": adapter})
        return
    from model.engines import ModelServerSpec, check_spec, start

    sft = run.settings("sft")
    model = str(trained_model(run)) if trained else str(sft.get("model_name_or_path") or sft.get("model"))
    spec = ModelServerSpec(engine=section.serve, model=model, port=_free_port())
    check_spec(spec)
    server = start(spec, Settings())
    try:
        yield Settings(base_url=spec.base_url, model=spec.name)
    finally:
        server.stop()


def _gguf_for(run: StageRun, stages: tuple[str, ...]) -> str:
    """A GGUF adapter of the newest of `stages` (for sampling pairs before the export stage)."""
    from training.export import lora_to_gguf

    for name in stages:
        if run.recipe.section(name) is not None:
            folder = _needs(run, name, MODEL_DIR)
            config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
            return str(lora_to_gguf(folder, run.folder / f"{name}.gguf", *_head_counts(config)))
    raise InputError("No trained adapter to sample from.")


def _free_port() -> int:
    from model.process import free_port

    return free_port()


def _needs(run: StageRun, stage: str, name: str) -> Path:
    """The output `name` of `stage`, or InputError saying which stage makes it."""
    path = run.of(stage) / name
    finished = stage_summary(run.recipe.run_dir, stage) is not None
    if not finished or not path.exists():
        raise InputError(
            f"{path} is missing: stage {stage} makes it and has not finished; run the pipeline "
            f"with --from {stage} (or without --from)."
        )
    return path


# ------------------------------------------------------------ evaluation


def _longbench(run: StageRun, settings: Settings, mode: str, out: Path) -> dict[str, Any]:
    from eval.longbench_write import LongBenchRequest, run_longbench

    section = run.settings("eval")
    judge = Settings(base_url=section.judge_base_url, model=section.judge_model) if section.judge_base_url else None
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
    from eval.ruler import RulerRequest, run_ruler

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
    with _serving(run, trained=False) as settings:
        return {
            "longbench-model": _longbench(run, settings, "model", run.folder / "longbench-model"),
            "ruler-model": _ruler(run, settings, run.folder / "ruler-model"),
        }


def run_eval_trained(run: StageRun) -> dict[str, Any]:
    """The trained model's own one-call answers and its Ruler: they decide whether training worked
    (and whether the adapter ships), so they come before the slower agent and auto runs."""
    with _serving(run, trained=True) as settings:
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
    with _serving(run, trained=True) as settings:
        return {
            f"longbench-{mode}": _longbench(run, settings, mode, run.folder / f"longbench-{mode}") for mode in modes
        }


def estimate_eval(run: StageRun, modes: list[str], ruler: bool = True) -> float:
    from eval.data import load_rows, select
    from eval.ruler import pick

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


# ------------------------------------------------------------ the stages, in order


def stages() -> list[Stage]:
    return [
        Stage("instructions", "instructions", (), run_instructions, lambda run: 1.0),
        Stage("synth", "synth", ("instructions",), run_synth, estimate_synth),
        Stage("curate", "curate", ("synth",), run_curate, lambda run: 5.0),
        Stage("general", "general", ("instructions",), run_general, estimate_general),
        Stage("mix", "mix", ("curate", "general"), run_mix, lambda run: 1.0),
        Stage("sft", "sft", ("mix",), run_sft_stage, lambda run: estimate_training(run, "sft", "mix", MIXED)),
        Stage(
            "anneal",
            "anneal",
            ("sft", "curate"),
            run_anneal,
            lambda run: estimate_training(run, "anneal", "curate", CURATED),
            optional=True,
        ),
        Stage("pairs", "pairs", ("sft", "anneal", "curate"), run_pairs, estimate_pairs, optional=True),
        Stage("dpo", "dpo", ("pairs", "sft", "anneal"), run_dpo_stage, estimate_dpo, optional=True),
        Stage("export", "export", ("sft", "anneal", "dpo"), run_export, lambda run: 30.0),
        Stage("eval-base", "eval", (), run_eval_base, lambda run: estimate_eval(run, ["model"])),
        Stage("eval-trained", "eval", ("export",), run_eval_trained, lambda run: estimate_eval(run, ["model"])),
        Stage("ship", "export", ("eval-trained", "eval-base"), run_ship, lambda run: 1.0),
        Stage(
            "eval-agent",
            "eval",
            ("export",),
            run_eval_agent,
            lambda run: estimate_eval(run, agent_modes(run), ruler=False),
        ),
        Stage("report", None, ("eval-trained", "eval-agent", "eval-base", "ship"), run_report, lambda run: 10.0),
    ]


def run_ship(run: StageRun) -> dict[str, Any]:
    from training.pipeline_report import ship

    return ship(run, stage_summary)


def run_report(run: StageRun) -> dict[str, Any]:
    from training.pipeline_report import write_report

    return write_report(run)
