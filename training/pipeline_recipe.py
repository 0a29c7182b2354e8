"""`longwrite pipeline` recipes: one YAML file, one section per stage.

The top level names the run folder, the results folder, the report folder and the device; each
stage has a section of its own (`sft`, `anneal` and `dpo` take the keys of `longwrite train`). A
section left out of the recipe skips an optional stage. Unknown stages and keys are refused with
their name, before anything runs.

- `run_dir`: where the stages write everything they make (data, models, evaluations). Left out,
  it is `runs/<the recipe file's name without .yaml and a leading "pipeline-">`, which git ignores:
  `training/recipes/pipeline-smollm2-cpu.yaml` runs in `runs/smollm2-cpu`.
- `results_dir`: where the report stage publishes what a reader of the run needs (markers,
  evaluations with their answers, reports and plots, the curation report, the model card; not the
  data rows nor the models), replacing what was there; the report is written from it, and
  `longwrite pipeline RECIPE --report-only` writes it again from it alone (a fresh clone has no
  run folder). Left out, nothing is published and the report reads the run folder.
- `report_dir`: where the report goes; left out, into the report stage's folder (of the published
  run when there is one).
- `reuse`: other run folders whose finished stages this run copies when their settings and inputs
  are the same.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from longwrite.core.errors import InputError
from longwrite.training.recipe import build, find_recipe, parse_recipe, read_yaml


@dataclass
class InstructionsStage:
    """Where the long-output instructions come from: made from the shipped pieces, or a file."""

    seed: int = 0
    count: int = 480  # long instructions made (the whole set; synth.limit takes a subset)
    general_count: int = 85  # short general requests with no stated length
    file: str | None = None  # your own instructions instead: rows {"prompt", optional "length"}


@dataclass
class SynthStage:
    """AgentWrite over the instructions (`longwrite synth`)."""

    limit: int | None = None  # the first N instructions (a CPU's time budget); null = all
    base_urls: list[str] = field(default_factory=list)  # empty: the embedded default
    model: str | None = None
    concurrency: int = 1


@dataclass
class CurateStage:
    min_length_score: float = 80.0  # Minimum Tuning's length-following filter


@dataclass
class GeneralStage:
    """The base model's own short answers to the general requests (the general data)."""

    max_tokens: int = 700
    base_url: str | None = None  # unset: the embedded model without any adapter
    model: str | None = None


@dataclass
class MixStage:
    ratio: int = 20  # general rows per long row (Minimum Tuning: 1:20)
    seed: int = 0
    allow_repeat: bool = False
    long_limit: int | None = None  # N of the curated rows, spread over their lengths (the data-size lever)


@dataclass
class ExportStage:
    gguf_lora: bool = True  # write the LoRA as a llama.cpp adapter (the embedded model's form)
    ship_dir: str | None = None  # also copy the adapter and its model card here


@dataclass
class EvalStage:
    """Before/after evaluation: the base model and the trained one."""

    longbench_data: str = "../shared/benchmarks/longbench_write_en.jsonl"
    lang: str | None = "en"
    stratify: int | None = 4
    limit: int | None = None  # at most N LongBench-Write rows (a smoke test)
    ruler_data: str = "../shared/benchmarks/longwrite_ruler.jsonl"
    ruler_lengths: list[int] = field(default_factory=lambda: [1000, 2000, 5000])
    ruler_per_length: int | None = None  # instructions per required length (after ruler_lang); null = all
    ruler_lang: str | None = "en"
    trained_modes: list[str] = field(default_factory=lambda: ["model", "agent", "auto"])
    serve: Literal["embedded", "vllm", "transformers"] = "embedded"  # how base and trained models are served
    judge_base_url: str | None = None  # S_q needs a judge; unset: S_l only
    judge_model: str | None = None

    def __post_init__(self) -> None:
        if not self.ruler_lengths or any(length < 1 for length in self.ruler_lengths):
            raise InputError(
                f"eval.ruler_lengths must be a list of positive numbers of words, got {self.ruler_lengths}."
            )
        unknown = [mode for mode in self.trained_modes if mode not in ("model", "agent", "auto")]
        if unknown:
            raise InputError(f"eval.trained_modes has {unknown}; the modes are model, agent and auto.")
        for key in ("lang", "ruler_lang"):
            if getattr(self, key) not in (None, "en", "zh"):
                raise InputError(f"eval.{key} must be en, zh or null, got {getattr(self, key)!r}.")


STAGE_SECTIONS: dict[str, type] = {
    "instructions": InstructionsStage,
    "synth": SynthStage,
    "curate": CurateStage,
    "general": GeneralStage,
    "mix": MixStage,
    "export": ExportStage,
    "eval": EvalStage,
}
TRAIN_SECTIONS = ("sft", "anneal", "pairs", "dpo")  # checked by training.recipe's own dataclasses
TOP_LEVEL = ("run_dir", "results_dir", "report_dir", "device", "reuse")
RUNS_ROOT = Path("runs")  # where a recipe that names no run_dir runs (git-ignored)


@dataclass
class PipelineRecipe:
    path: Path
    run_dir: Path
    results_dir: Path | None  # what a reader needs of the run, published by the report stage
    report_dir: Path | None
    device: Literal["cpu", "cuda"]
    # other runs whose finished stages this one copies where their settings and inputs are the same
    # (a lever that changes only training reuses the data and the base model's evaluation)
    reuse: tuple[Path, ...]
    sections: dict[str, Any]  # stage name -> its dataclass (train sections: the raw mapping)
    written: dict[str, Any]  # stage name -> the section as written in the YAML file

    def fingerprint(self) -> str:
        """A hash of everything that decides what the run makes (not where it goes)."""
        return digest_of(self.written)

    def section_fingerprint(self, name: str) -> str:
        """A hash of one section as written: a default changed in code does not redo finished work."""
        return digest_of(self.written.get(name) or {})

    def section(self, name: str) -> Any:
        return self.sections.get(name)


def load_pipeline_recipe(path: Path) -> PipelineRecipe:
    """The recipe in `path` (or the shipped recipe of that name), every section checked; InputError
    naming an unknown stage or key."""
    path = find_recipe(path)
    values = read_yaml(path)
    known = [*TOP_LEVEL, *STAGE_SECTIONS, *TRAIN_SECTIONS]
    for key in values:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            stages = ", ".join(known[len(TOP_LEVEL) :])
            raise InputError(f"{path}: unknown stage or key {key!r}{hint}; the stages are {stages}.")
    device = values.get("device", "cpu")
    if device not in ("cpu", "cuda"):
        raise InputError(f"{path}: device must be cpu or cuda, got {device!r}.")
    if "sft" not in values:
        raise InputError(f"{path}: the recipe has no sft section; the pipeline trains with it.")
    sections: dict[str, Any] = {}
    for name, kind in STAGE_SECTIONS.items():
        sections[name] = _section(path, name, kind, values.get(name) or {})
    for name in TRAIN_SECTIONS:
        if values.get(name) is not None:
            sections[name] = _train_section(path, name, values[name])
    run_dir = _folder(path, values, "run_dir") or default_run_dir(path)
    results_dir = _folder(path, values, "results_dir")
    if results_dir is not None:
        _check_apart(path, run_dir, results_dir)
    reuse = _reuse_dirs(path, values.get("reuse"))
    return PipelineRecipe(
        path=path,
        run_dir=run_dir,
        results_dir=results_dir,
        report_dir=_folder(path, values, "report_dir"),
        device=device,
        reuse=reuse,
        sections=sections,
        written={name: values[name] for name in [*STAGE_SECTIONS, *TRAIN_SECTIONS] if values.get(name) is not None},
    )


def default_run_dir(recipe: Path) -> Path:
    """runs/<the recipe's name without a leading "pipeline-">: one run folder per recipe."""
    return RUNS_ROOT / recipe.stem.removeprefix("pipeline-")


def _folder(path: Path, values: dict[str, Any], key: str) -> Path | None:
    raw = values.get(key)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise InputError(f"{path}: {key} must be a folder (a path), not {raw!r}.")
    return Path(raw)


def _check_apart(path: Path, run_dir: Path, results_dir: Path) -> None:
    """Publishing replaces results_dir with a copy of part of the run folder: the two must not overlap,
    or the run's data and models would be replaced by that copy."""
    run, results = run_dir.resolve(), results_dir.resolve()
    if run == results or run in results.parents or results in run.parents:
        raise InputError(
            f"{path}: results_dir {results_dir} overlaps run_dir {run_dir}; publishing replaces results_dir, so "
            "give it a folder of its own outside the run folder (the shipped recipes use docs/results/<run name>)."
        )


def _reuse_dirs(path: Path, raw: Any) -> tuple[Path, ...]:
    """The `reuse` key: one run folder or a list of them."""
    folders = [raw] if isinstance(raw, str) else raw or []
    if not isinstance(folders, list) or not all(isinstance(item, str) for item in folders):
        raise InputError(f"{path}: reuse must be a run folder or a list of them, not {raw!r}.")
    return tuple(Path(item) for item in folders)


def _section(path: Path, name: str, kind: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise InputError(f"{path}: section {name} must be a mapping of keys to values, not {raw!r}.")
    source = f"{path} section {name}"
    return build(kind, parse_recipe([kind], raw, [], source), source)


def _train_section(path: Path, name: str, raw: Any) -> dict[str, Any]:
    """A training section as written (the pipeline fills in data and output folders), checked
    now against `longwrite train`'s own keys so a typo stops the run before it starts."""
    if not isinstance(raw, dict):
        raise InputError(f"{path}: section {name} must be a mapping of keys to values.")
    source = f"{path} section {name}"
    if name == "pairs":
        from longwrite.training.recipe import PairsRecipe

        build(PairsRecipe, parse_recipe([PairsRecipe], {"data": "-", "output": "-"} | raw, [], source), source)
    else:
        from longwrite.training.train_config import train_namespace

        train_keys = dict(raw)
        if name == "anneal":
            _check_min_words(source, train_keys.pop(ANNEAL_MIN_WORDS, 0))
        train_namespace("dpo" if name == "dpo" else "sft", train_keys, [], source)
    return dict(raw)


# the anneal section's one key of its own: train only on the curated rows at least this long
ANNEAL_MIN_WORDS = "min_words"


def _check_min_words(source: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{source}: {ANNEAL_MIN_WORDS} is {value!r}; give a whole number of words (0: every row).")


def digest_of(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]
