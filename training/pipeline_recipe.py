"""`longwrite pipeline` recipes: one YAML file, one section per stage.

The top level names the run folder, the results folder, the report folder and the device; each
stage has a section of its own (`sft`, `anneal` and `dpo` take the keys of `longwrite train`). A
section left out of the recipe skips an optional stage. Unknown stages and keys are refused with
their name, before anything runs.

Every key is a field of one of the dataclasses below, its help text in the field's metadata
(`help_field`, as for `longwrite train`'s own keys): the sections are parsed by the same typed
parser as the training recipes, and `longwrite pipeline --help` lists the keys from these fields.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from longwrite.core.errors import InputError
from longwrite.training.recipe import (
    PairsRecipe,
    build,
    describe,
    endpoint_spec,
    find_recipe,
    help_field,
    parse_recipe,
    read_yaml,
)

if TYPE_CHECKING:
    from longwrite.core.endpoint_spec import EndpointSpec


@dataclass
class TopLevelKeys:
    """The run as a whole: where it writes and publishes, the device, the runs it may copy from."""

    # Declared here for their names, defaults and help; load_pipeline_recipe reads them by hand, since they sit
    # beside the sections (an unknown key may be a misspelt stage) and a bad one is told what it must be.

    run_dir: str | None = help_field(
        "where the stages write everything they make (data, models, evaluations); left out: "
        "runs/<the recipe file's name without .yaml and a leading pipeline->, which git ignores",
        None,
    )
    results_dir: str | None = help_field(
        "where the report stage publishes what a reader of the run needs (markers, evaluations with their "
        "answers, reports and plots, the curation report, the model card; not the data rows nor the models), "
        "replacing what was there; the report is written from it, and --report-only writes it again from it "
        "alone; left out: nothing is published and the report reads the run folder",
        None,
    )
    report_dir: str | None = help_field(
        "where the report goes; left out: the report stage's folder (of the published run when there is one)", None
    )
    device: Literal["cpu", "cuda"] = help_field(
        "cpu, or cuda: a GPU recipe, refused before any stage starts on a machine without a CUDA GPU", "cpu"
    )
    reuse: list[str] = help_field(
        "other run folders (one or a list) whose finished stages this run copies where their settings and inputs "
        "are the same: a lever that changes only training reuses the data and the base model's evaluation",
        [],
    )


@dataclass
class InstructionsStage:
    """Where the long-output instructions come from: made from the shipped pieces, or a file."""

    seed: int = help_field("random seed for making the instructions", 0)
    count: int = help_field("long instructions made (the whole set; synth.limit takes a subset)", 480)
    general_count: int = help_field("short general requests with no stated length", 85)
    file: str | None = help_field(
        'your own instructions instead: rows {"prompt", optional "length"} (JSONL, Parquet, a dataset folder)', None
    )


@dataclass
class SynthStage:
    """AgentWrite over the instructions (`longwrite synth`): the long-output data."""

    limit: int | None = help_field("the first N instructions (a CPU's time budget); null = all", None)
    base_urls: list[str] = help_field(
        "OpenAI-compatible endpoints that write, all serving `model`, shared between the concurrent "
        "writes; empty: the embedded default",
        [],
    )
    model: str | None = help_field("the model id at base_urls", None)
    concurrency: int = help_field("documents written at once", 1)

    @property
    def endpoints(self) -> list[EndpointSpec]:
        """One endpoint per base URL, each serving `model`; none given: the embedded default alone."""
        return [endpoint_spec(url, self.model) for url in self.base_urls or [None]]


@dataclass
class CurateStage:
    """Minimum Tuning's length-following filter over the synthesised rows (refusals, loops and repeated prompts
    are dropped too)."""

    min_length_score: float = help_field("keep a row only when its length score S_l reaches this (0-100)", 80.0)


@dataclass
class GeneralStage:
    """The base model's own short answers to the general requests (the general data)."""

    max_tokens: int = help_field("cap on each answer; cut-off answers are left out", 700)
    base_url: str | None = help_field("the endpoint that answers; unset: the embedded model without any adapter", None)
    model: str | None = help_field("the model id at base_url", None)

    @property
    def endpoint(self) -> EndpointSpec:
        """The endpoint that answers: base_url and model as one description."""
        return endpoint_spec(self.base_url, self.model)


@dataclass
class MixStage:
    """The training rows: the curated long rows mixed with the general ones."""

    ratio: int = help_field("general rows per long row (Minimum Tuning: 1:20); 0: long rows only", 20)
    seed: int = help_field("random seed for picking and shuffling the rows", 0)
    allow_repeat: bool = help_field("use a general row more than once when there are too few", False)
    long_limit: int | None = help_field(
        "N of the curated rows, spread over their lengths (the data-size lever); null = all", None
    )


@dataclass
class ExportStage:
    """The trained model in the form that serves it, and where it ships when it beats the base model."""

    gguf_lora: bool = help_field("write the LoRA as a llama.cpp adapter (the embedded model's form)", True)
    ship_dir: str | None = help_field(
        "also copy the adapter and its model card here when the trained model beats the base one", None
    )


@dataclass
class EvalStage:
    """Before/after evaluation: the base model and the trained one."""

    longbench_data: str = help_field("the LongBench-Write rows", "../shared/benchmarks/longbench_write_en.jsonl")
    lang: str | None = help_field("LongBench-Write rows of this language: en, zh or null (both)", "en")
    stratify: int | None = help_field("at most N rows per required-length range; null = all", 4)
    limit: int | None = help_field("at most N LongBench-Write rows (a smoke test)", None)
    ruler_data: str = help_field("the LongWrite-Ruler rows", "../shared/benchmarks/longwrite_ruler.jsonl")
    ruler_lengths: list[int] = help_field("the required lengths Ruler asks for, in words", [1000, 2000, 5000])
    ruler_per_length: int | None = help_field("instructions per required length (after ruler_lang); null = all", None)
    ruler_lang: str | None = help_field("Ruler instructions of this language: en, zh or null (both)", "en")
    trained_modes: list[str] = help_field(
        "how the trained model is measured: model (one call), agent, auto", ["model", "agent", "auto"]
    )
    serve: Literal["embedded", "vllm", "transformers"] = help_field(
        "how base and trained models are served: embedded (llama.cpp), vllm or transformers", "embedded"
    )
    judge_base_url: str | None = help_field(
        "the judge's endpoint: the quality score S_q needs one (key: LONGWRITE_API_KEY); unset: S_l only", None
    )
    judge_model: str | None = help_field("the judge's model id at judge_base_url", None)

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

    @property
    def judge(self) -> EndpointSpec | None:
        """The judge's endpoint; None when judge_base_url is unset (no S_q)."""
        spec = endpoint_spec(self.judge_base_url, self.judge_model)
        return None if spec.embedded else spec


@dataclass
class AnnealKeys:
    """The anneal section's one key of its own, beside `longwrite train sft`'s (checked by hand: a
    quoted number or true must be refused, which the typed parser would read as a count)."""

    min_words: int = help_field("train only on the curated rows at least this long, in words (0: every row)", 0)


ANNEAL_MIN_WORDS = "min_words"  # AnnealKeys' field, by name: the training stages drop it before training


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
TOP_LEVEL = tuple(item.name for item in dataclasses.fields(TopLevelKeys))
# the pairs keys the pipeline sets itself: the curated rows in, its own folder out
PAIRS_SET_BY_THE_PIPELINE = ("data", "output")
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
    device = values.get("device", TopLevelKeys.device)
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
        set_later = dict.fromkeys(PAIRS_SET_BY_THE_PIPELINE, "-")
        build(PairsRecipe, parse_recipe([PairsRecipe], set_later | raw, [], source), source)
    else:
        from longwrite.training.train_config import train_namespace

        train_keys = dict(raw)
        if name == "anneal":
            _check_min_words(source, train_keys.pop(ANNEAL_MIN_WORDS, AnnealKeys.min_words))
        train_namespace("dpo" if name == "dpo" else "sft", train_keys, [], source)
    return dict(raw)


def _check_min_words(source: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{source}: {ANNEAL_MIN_WORDS} is {value!r}; give a whole number of words (0: every row).")


def digest_of(value: Any) -> str:
    import hashlib  # here: every `longwrite` command imports this module for pipeline --help's key list

    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- --help


def recipe_keys_help() -> str:
    """Every recipe key with its default and help, section by section in the pipeline's order, for
    `longwrite pipeline --help`: made from the dataclasses, so a new key is listed where it is declared."""
    data_stages = ("instructions", "synth", "curate", "general", "mix")
    parts = [
        "Recipe keys, by section (a section left out skips an optional stage; unknown keys are refused):",
        _keys_of("Top level", TopLevelKeys),
        *(_keys_of(name, STAGE_SECTIONS[name]) for name in data_stages),
        "sft (required): the keys of `longwrite train sft` (its --help lists them): TRL's SFTConfig and "
        "ModelConfig under their TRL names, and longwrite's own; the pipeline sets data and output_dir.",
        _keys_of(
            "anneal (optional)",
            AnnealKeys,
            "SFT again on the curated long rows only, from the sft model: the keys of `longwrite train sft`, "
            "each one it leaves out taken from sft, and its own",
        ),
        _keys_of(
            "pairs (optional)",
            PairsRecipe,
            "preference pairs sampled from the trained model, the keys of `longwrite train pairs` but "
            f"{' and '.join(PAIRS_SET_BY_THE_PIPELINE)}, which the pipeline sets",
            omit=PAIRS_SET_BY_THE_PIPELINE,
        ),
        "dpo (optional): the keys of `longwrite train dpo` (its --help lists them); it goes on from the anneal "
        "or sft model and takes sft's base model and form where its own section does not say.",
        *(_keys_of(name, STAGE_SECTIONS[name]) for name in ("export", "eval")),
    ]
    return "\n\n".join(parts)


def _keys_of(title: str, kind: type, about: str | None = None, omit: tuple[str, ...] = ()) -> str:
    """One section's keys under a line saying what the section is (its dataclass's docstring)."""
    about = about or (kind.__doc__ or "").strip().splitlines()[0].rstrip(".")
    return f"{title}: {about}.\n\n{describe(kind, omit=omit)}"
