"""The pipeline's last two stages: ship the trained adapter (only when it beats the base model in
every length range), and write the before/after report from the run's own files, after publishing
what a reader needs of them to the recipe's results_dir (git keeps that folder, not the run's)."""

from __future__ import annotations

import json
import shutil
import statistics
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from longwrite.core.errors import InputError
from longwrite.core.jsonl import read_jsonl
from longwrite.core.text import LOOP_REP_4
from longwrite.eval.data import RANGES
from longwrite.eval.report import pyplot, scatter, table
from longwrite.eval.ruler import ruler_scores
from longwrite.training.pipeline import RUN_FILE, STAGE_FILE, StageRun, stage_seconds, stage_summary
from longwrite.training.pipeline_io import ADAPTER_GGUF, MODEL_GGUF
from longwrite.training.pipeline_recipe import PipelineRecipe

BASE_MODEL = "eval-base/longbench-model"
TRAINED = {
    "model": "eval-trained/longbench-model",
    "agent": "eval-agent/longbench-agent",
    "auto": "eval-agent/longbench-auto",
}
RULERS = {"base": "eval-base/ruler-model", "trained": "eval-trained/ruler-model"}


def _scores(run_dir: Path, folder: str) -> dict[str, Any] | None:
    path = run_dir / folder / "scores.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _preds(run_dir: Path, folder: str) -> list[dict[str, Any]]:
    return sorted(read_jsonl(run_dir / folder / "preds.jsonl"), key=lambda p: p["index"])


def _ruler(run_dir: Path, folder: str) -> dict[str, Any] | None:
    """Ruler scores computed from the answers (not read from ruler.json), so figures added to the
    scoring later also cover runs evaluated before them."""
    path = run_dir / folder / "preds.jsonl"
    return ruler_scores(read_jsonl(path)) if path.is_file() else None


def beats_base_everywhere(run_dir: Path) -> tuple[bool, str]:
    """(whether the trained model's S_l beats the base's in every length range, the reason if not)."""
    base, trained = _scores(run_dir, BASE_MODEL), _scores(run_dir, TRAINED["model"])
    if base is None or trained is None:
        return False, "the model-mode evaluations of the base and the trained model are not both there"
    worse = [
        label
        for label, _ in RANGES
        if (trained["S_l_by_range"][label]["S_l"] or 0) <= (base["S_l_by_range"][label]["S_l"] or 0)
    ]
    if worse:
        return False, f"the trained model does not beat the base model in {', '.join(worse)}"
    return True, ""


def ship(run: StageRun, summary_of: Callable[[Path, str], dict[str, Any] | None]) -> dict[str, Any]:
    """Copy the adapter and its model card to export.ship_dir when the trained model earned it."""
    target = run.settings("export").ship_dir
    adapter = run.of("export") / ADAPTER_GGUF
    if (run.of("export") / MODEL_GGUF).is_file():
        return {"shipped": False, "why": "the export is a whole fine-tuned model, too large for git: only a LoRA ships"}
    if not target or not adapter.is_file():
        return {"shipped": False, "why": "no ship_dir in the recipe, or no GGUF adapter was exported"}
    better, why = beats_base_everywhere(run.recipe.run_dir)
    card = model_card(run, summary_of)
    (run.folder / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    if not better:
        return {"shipped": False, "why": why}
    from longwrite.model.embedded import SHIPPED_ADAPTER

    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(adapter, folder / SHIPPED_ADAPTER.name)
    (folder / "README.md").write_text(card, encoding="utf-8")
    return {
        "shipped": True,
        "to": str(folder / SHIPPED_ADAPTER.name),
        "megabytes": round(adapter.stat().st_size / 2**20, 2),
    }


def model_card(run: StageRun, summary_of: Callable[[Path, str], dict[str, Any] | None]) -> str:
    run_dir = run.recipe.run_dir
    sft = run.recipe.section("sft") or {}
    synth, curate, mix = (summary_of(run_dir, name) or {} for name in ("synth", "curate", "mix"))
    lines = [
        "# smollm2-135m-longwrite: a long-output LoRA for SmolLM2-135M-Instruct",
        "",
        "A LoRA adapter (GGUF, for llama.cpp) that `longwrite pipeline` trained so that the embedded",
        "model follows the length an instruction asks for and writes long answers in one call, as",
        "LongWriter (Bai et al., 2024) and Minimum Tuning (2024) did for 7-9B models. The embedded",
        "default puts it on the base GGUF for `--mode model` and `auto`; `LONGWRITE_EMBEDDED_ADAPTER=none`",
        "(or `--model base`) asks the untrained model.",
        "",
        "## Data",
        f"- {synth.get('documents', '?')} documents written by the AgentWrite agent on the base model "
        f"({synth.get('words', '?'):,} words) from the instruction set made by `training/instructions.py`"
        if isinstance(synth.get("words"), int)
        else "- synthesis: see the run folder",
        f"- kept by the length-following filter: {curate.get('kept', '?')} of {curate.get('of', '?')}",
        f"- mixed with {mix.get('general', '?')} of the base model's own short answers to general requests "
        f"({mix.get('rows', '?')} rows)",
        "",
        "## Training",
        f"- recipe: `{run.recipe.path}` (section sft: LoRA r={sft.get('lora_r')}, alpha={sft.get('lora_alpha')}, "
        f"modules {', '.join(sft.get('lora_target_modules', []))}, lr {sft.get('learning_rate')}, "
        f"{sft.get('num_train_epochs', 1)} epochs, max_length {sft.get('max_length')})",
        *_later_training_lines(run),
        "",
        "## Figures (LongBench-Write, stratified English subset, model mode)",
        "",
        _before_after_table(run_dir),
        "",
        "## Reproduce",
        "",
        f"    longwrite pipeline {run.recipe.path}",
        "",
    ]
    return "\n".join(lines)


def _later_training_lines(run: StageRun) -> list[str]:
    """What the anneal and DPO stages added on top of the SFT model, when the recipe has them."""
    lines = []
    for name in ("anneal", "dpo"):
        section = run.recipe.section(name)
        if section is None:
            continue
        keys = ", ".join(f"{key} {value}" for key, value in section.items())
        lines.append(f"- then section {name}: {keys}")
    return lines


_TABLE_HEADER = [
    "writer",
    "S_l",
    *[label for label, _ in RANGES],
    "S_q",
    "rep-4",
    "loops",
    "words/s",
    "longest Ruler output",
    "longest not looping",
]


def _row(
    name: str, scores: dict[str, Any] | None, preds: list[dict[str, Any]], ruler: dict[str, Any] | None
) -> list[Any]:
    if scores is None:
        return [name, *["-"] * (len(_TABLE_HEADER) - 1)]
    ranges = [scores["S_l_by_range"][label]["S_l"] for label, _ in RANGES]
    rep = statistics.fmean(p["rep_4"] for p in preds) if preds else None
    # S_l scores a loop that runs to the asked length like writing: the count keeps that visible.
    loops = sum(1 for p in preds if p["rep_4"] > LOOP_REP_4)
    return [
        name,
        scores["S_l"],
        *ranges,
        scores.get("S_q"),
        round(rep, 3) if rep is not None else None,
        f"{loops} of {len(preds)}",
        scores["time"]["words_per_second"],
        ruler["longest_output"] if ruler else None,
        ruler["longest_not_looping"] if ruler else None,
    ]


def _before_after_table(run_dir: Path) -> str:
    header = _TABLE_HEADER
    base_ruler, trained_ruler = (_ruler(run_dir, RULERS[k]) for k in ("base", "trained"))
    rows = [_row("base, model mode", _scores(run_dir, BASE_MODEL), _preds(run_dir, BASE_MODEL), base_ruler)]
    for mode, folder in TRAINED.items():
        scores = _scores(run_dir, folder)
        if scores is not None:
            ruler = trained_ruler if mode == "model" else None
            rows.append(_row(f"trained, {mode} mode", scores, _preds(run_dir, folder), ruler))
    return table(header, rows)


REPORT_STAGE = "report"
# What a reader of a run needs, published to results_dir: the markers, the evaluations with their
# answers (the report computes figures from them), the curation report and the model card. Not the
# rows the stages pass on to each other (instructions, synthesised, curated, general, mixed, anneal
# and pair rows: megabytes no reader needs), nor models, GGUF files, job stores or temporary files.
EVAL_STAGE_PREFIX = "eval-"
EVAL_READER_SUFFIXES = (".json", ".md", ".png")
EVAL_ANSWERS = ("preds.jsonl", "judgements.jsonl")
READER_FOLDERS = (("curate", "report"),)
READER_FILES = (("ship", "MODEL_CARD.md"),)


def is_reader_file(relative: Path) -> bool:
    """Whether the run's file at `relative` (to the run folder) is published."""
    parts = relative.parts
    if parts == (RUN_FILE,):
        return True
    if len(parts) == 2 and parts[1] == STAGE_FILE:
        # the report stage's marker says "unfinished" while it publishes: it would mislead a reader
        return parts[0] != REPORT_STAGE
    if parts[0].startswith(EVAL_STAGE_PREFIX):
        return relative.suffix in EVAL_READER_SUFFIXES or relative.name in EVAL_ANSWERS
    return parts[:2] in READER_FOLDERS or parts in READER_FILES


def reader_files(run_dir: Path) -> list[Path]:
    """The run's files a reader needs, relative to the run folder."""
    found = (path.relative_to(run_dir) for path in run_dir.rglob("*") if path.is_file())
    return sorted(relative for relative in found if is_reader_file(relative))


def publish(run_dir: Path, results_dir: Path) -> list[Path]:
    """Replace results_dir with a copy of the run's reader files. The copy is made in a sibling
    folder and renamed into place, so a crash leaves the old folder or the new one, never half of one."""
    _check_replaceable(results_dir)
    staging, retired = _sibling(results_dir, "publishing"), _sibling(results_dir, "replaced")
    for leftover in (staging, retired):  # from a publication a crash cut short
        if leftover.exists():
            shutil.rmtree(leftover)
    files = reader_files(run_dir)
    staging.mkdir(parents=True)
    for relative in files:
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(run_dir / relative, staging / relative)
    if results_dir.exists():
        results_dir.rename(retired)
    staging.rename(results_dir)
    if retired.exists():
        shutil.rmtree(retired)
    return files


def _sibling(folder: Path, purpose: str) -> Path:
    # hidden, so that the lever table never reads it as a run
    return folder.with_name(f".{folder.name}.{purpose}")


def _check_replaceable(results_dir: Path) -> None:
    """results_dir is replaced whole: refuse a folder that holds anything but a published run."""
    if not results_dir.exists() or (results_dir / RUN_FILE).is_file():
        return
    if results_dir.is_dir() and not any(results_dir.iterdir()):
        return
    raise InputError(
        f"results_dir {results_dir} holds files that are not a published pipeline run, and publishing replaces "
        "the folder whole; set results_dir to a folder of its own (the shipped recipes use docs/results/<run name>)."
    )


def write_report(
    run: StageRun, stage_names: Sequence[str], source: Path | None = None, report_only: bool = False
) -> dict[str, Any]:
    """The replication report; `stage_names` in the pipeline's order, for the time per stage.
    Every figure is read from `source`: the run folder, or the run's files published from it."""
    run_dir = source or run.recipe.run_dir
    out = run.recipe.report_dir or run.folder
    out.mkdir(parents=True, exist_ok=True)
    before, after = _preds(run_dir, BASE_MODEL), _preds(run_dir, TRAINED["model"])
    scatter([("base", before), ("trained", after)], out / "scatter.png", "Required vs output length, model mode")
    _ruler_plot(run_dir, out / "ruler.png")
    sections = [
        "# Replication: LongWriter in miniature on the embedded model",
        "",
        _made_by(run.recipe, run_dir, report_only),
        "",
        "## Before and after",
        "",
        "LongBench-Write, the stratified English subset (4 prompts per length range, 16 rows). S_q is shown "
        "only when the recipe names a judge.",
        "",
        _before_after_table(run_dir),
        "",
        "![required vs output length, before and after](scatter.png)",
        "",
        _ruler_section(run_dir),
        "",
        _auto_section(run_dir),
        "",
        _stage_times(run_dir, stage_names),
        "",
        _levers(run_dir),
        "",
        "## Commands",
        "",
        *_commands(run.recipe),
        "",
    ]
    (out / "report.md").write_text("\n".join(sections), encoding="utf-8")
    return {"report": str(out / "report.md")}


def _made_by(recipe: PipelineRecipe, source: Path, report_only: bool) -> str:
    command = f"longwrite pipeline {recipe.path}" + (" --report-only" if report_only else "")
    made = f"Made by `{command}` on {datetime.now(UTC):%Y-%m-%d}; "
    if source == recipe.run_dir:
        read_from = f"every figure is read from the run folder `{source}`"
        return f"{made}{read_from}, and running the command again regenerates this page."
    return (
        f"{made}every figure is read from `{source}`, the part of the run folder `{recipe.run_dir}` that the "
        "pipeline publishes for readers (git keeps it, not the run folder), so "
        f"`longwrite pipeline {recipe.path} --report-only` regenerates this page in a fresh clone."
    )


def _commands(recipe: PipelineRecipe) -> list[str]:
    commands = [("", "the whole run, resumable"), (" --dry-run", "the plan and what is done")]
    if recipe.results_dir is not None:
        commands.append((" --report-only", f"this page again, from {recipe.results_dir} alone"))
    width = max(len(flag) for flag, _ in commands) + 4
    return [f"    longwrite pipeline {recipe.path}{flag:{width}s}# {what}" for flag, what in commands]


def write_published_report(recipe: PipelineRecipe, stage_names: Sequence[str]) -> dict[str, Any]:
    """`--report-only`: the report from the run's published files alone (a fresh clone has no run folder)."""
    results = recipe.results_dir
    if results is None:
        raise InputError(
            f"{recipe.path} has no results_dir, so no run of it was published to make the report from; add "
            "results_dir: docs/results/<run name> to the recipe and run `longwrite pipeline "
            f"{recipe.path} --from report` where its run folder ({recipe.run_dir}) is."
        )
    if not (results / RUN_FILE).is_file():
        raise InputError(
            f"{results} (the recipe's results_dir) holds no published run; run `longwrite pipeline {recipe.path}` "
            f"(or with --from report, where its run folder {recipe.run_dir} has finished) to publish it there."
        )
    return write_report(StageRun(recipe, results / REPORT_STAGE), stage_names, results, report_only=True)


def _ruler_section(run_dir: Path) -> str:
    base, trained = _ruler(run_dir, RULERS["base"]), _ruler(run_dir, RULERS["trained"])
    if base is None or trained is None:
        return "## LongWrite-Ruler\n\nNot evaluated."
    rows = []
    for length in sorted(set(base["by_length"]) | set(trained["by_length"]), key=int):
        b, t = base["by_length"].get(length, {}), trained["by_length"].get(length, {})
        rows.append(
            [
                int(length),
                b.get("longest"),
                t.get("longest"),
                _ratio(t.get("longest"), b.get("longest")),
                b.get("longest_not_looping"),
                t.get("longest_not_looping"),
                _ratio(t.get("longest_not_looping"), b.get("longest_not_looping")),
                b.get("S_l"),
                t.get("S_l"),
            ]
        )
    header = [
        "required",
        "longest (base)",
        "longest (trained)",
        "trained / base",
        "not looping (base)",
        "not looping (trained)",
        "trained / base, not looping",
        "S_l (base)",
        "S_l (trained)",
    ]
    note = (
        f"An answer whose seq-rep-4 is above {LOOP_REP_4} is a loop: a small model that falls into one "
        "can run on to the token limit, so the plain longest output can be a loop's length. The "
        "columns 'not looping' leave loops out."
    )
    return "\n".join(
        ["## LongWrite-Ruler (model mode, English)", "", table(header, rows), "", note, "", "![ruler](ruler.png)"]
    )


def _ratio(trained: int | None, base: int | None) -> float | None:
    return round(trained / base, 2) if trained is not None and base else None


def _ruler_plot(run_dir: Path, path: Path) -> None:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6, 4))
    for name, folder in RULERS.items():
        scores = _ruler(run_dir, folder)
        if scores is None:
            continue
        lengths = sorted(scores["by_length"], key=int)
        xs = [int(n) for n in lengths]
        line = axes.plot(xs, [scores["by_length"][n]["longest_not_looping"] for n in lengths], marker="o", label=name)
        axes.plot(
            xs,
            [scores["by_length"][n]["longest"] for n in lengths],
            marker="x",
            linestyle=":",
            color=line[0].get_color(),
            label=f"{name}, loops included",
        )
        top = max(int(n) for n in lengths)
        axes.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1)
    axes.set(xlabel="required length (words)", ylabel="longest output (words)", title="LongWrite-Ruler, model mode")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _auto_section(run_dir: Path) -> str:
    auto, agent = _scores(run_dir, TRAINED["auto"]), _scores(run_dir, TRAINED["agent"])
    if auto is None:
        return (
            "## auto\n\nNot evaluated yet: the eval-agent stage (agent mode with the trained model as its "
            "backend, and auto) has not finished; run the pipeline on to it and the report follows."
        )
    preds = _preds(run_dir, TRAINED["auto"])
    alone = sum(1 for p in preds if p.get("path") == "model")
    rows = [["auto", auto["S_l"], auto["time"]["words_per_second"], f"{alone} of {len(preds)}"]]
    if agent is not None:
        rows.append(["agent", agent["S_l"], agent["time"]["words_per_second"], "-"])
    return "\n".join(
        [
            "## auto: the trained model first, the agent as fallback",
            "",
            table(["mode", "S_l", "words/s", "answers the model finished alone"], rows),
            "",
            f"Paths taken: {json.dumps(auto.get('paths', {}))}.",
        ]
    )


def _stage_times(run_dir: Path, stage_names: Sequence[str]) -> str:
    rows = [[name, stage_seconds(run_dir, name)] for name in stage_names]
    rows = [[name, round(seconds / 60, 1)] for name, seconds in rows if seconds is not None]
    return "\n".join(["## Time per stage (minutes)", "", table(["stage", "minutes"], rows)])


def _runs_beside(run_dir: Path) -> list[Path]:
    """The run folders (or published runs) beside this one, itself included: those with a pipeline.json."""
    return sorted(
        other for other in run_dir.parent.iterdir() if not other.name.startswith(".") and (other / RUN_FILE).is_file()
    )


def _levers(run_dir: Path) -> str:
    """Every finished run beside this one (other recipes: the levers tried), with its training
    settings and the trained model's figures in model mode, under the base model's."""
    base = _scores(run_dir, BASE_MODEL)
    rows = [
        [
            "base (untrained)",
            "-",
            "-",
            "-",
            *_row("", base, _preds(run_dir, BASE_MODEL), _ruler(run_dir, RULERS["base"]))[1:],
        ]
    ]
    for other in _runs_beside(run_dir):
        scores = _scores(other, TRAINED["model"])
        recipe = other / RUN_FILE
        if scores is None:
            continue
        trained = _row("", scores, _preds(other, TRAINED["model"]), _ruler(other, RULERS["trained"]))
        last = next((stage_summary(other, name) for name in ("dpo", "anneal", "sft") if stage_summary(other, name)), {})
        recipe_name = json.loads(recipe.read_text(encoding="utf-8"))["recipe"]
        rows.append([other.name, f"`{recipe_name}`", last.get("steps"), last.get("final_loss"), *trained[1:]])
    header = ["run", "recipe", "steps (last stage)", "final loss", *_TABLE_HEADER[1:]]
    return "\n".join(
        [
            "## Levers tried (each a run of its own recipe; the recipe's comments say what it changed)",
            "",
            table(header, rows),
        ]
    )
