"""`longwrite eval`: LongBench-Write, LongWrite-Ruler, comparisons and rescoring."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from longwrite.cli.app import app
from longwrite.cli.options import ApiKey, BaseUrl, ModeChoice, ModelId, endpoint_options, settings_from
from longwrite.core.errors import InputError, LongwriteError

if TYPE_CHECKING:
    from longwrite.core.settings import Settings

eval_app = typer.Typer(
    help="Evaluation: LongBench-Write (S_l, S_q), LongWrite-Ruler, comparisons.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")


class Language(StrEnum):
    en = "en"
    zh = "zh"


class BadLine(StrEnum):
    stop = "stop"
    skip = "skip"


JudgeBaseUrl, JudgeModel, JudgeApiKey = endpoint_options("judge", "the judge's", "no judge (S_l only)")
DataFile = Annotated[Path, typer.Option("--data", help="benchmark .jsonl (rows with prompt, type, length)")]
# -o/--output names what a command writes, as everywhere in the CLI (here a folder); --out is
# the name the result folders' recorded commands use
OutDir = Annotated[Path, typer.Option("-o", "--output", "--out", help="result folder (a rerun resumes it)")]
EvalModeOption = Annotated[ModeChoice, typer.Option("--mode", help="agent, model (one call) or auto")]
LangOption = Annotated[Language | None, typer.Option("--lang", help="only rows in this language")]
Concurrency = Annotated[int, typer.Option("--concurrency", min=1, help="answers written at once")]
HoldLength = Annotated[
    bool, typer.Option("--hold-length", help="model mode: each answer's one call held to the row's required length")
]
OnBadLine = Annotated[BadLine, typer.Option("--on-bad-line", help="a bad JSONL line: stop, or skip it")]
Temperature = Annotated[
    float | None,
    typer.Option(
        "--temperature", min=0.0, max=2.0, help="sampling (default LONGWRITE_TEMPERATURE, else 0.5 as LongBench)"
    ),
]


@eval_app.command(
    "longbench-write",
    epilog=(
        "Examples:\n\n  longwrite eval longbench-write --data longbench_write_en.jsonl --stratify 4 --lang en "
        "--mode agent -o runs/agent\n\n  longwrite eval longbench-write --data longbench_write.jsonl --mode model "
        "-o runs/model --base-url http://localhost:8001/v1 --judge-base-url https://api.openai.com/v1 "
        "--judge-model gpt-4o --judge-api-key sk-..."
    ),
)
def eval_longbench_write(
    data: DataFile,
    out: OutDir,
    mode: EvalModeOption = ModeChoice.agent,
    lang: LangOption = None,
    stratify: Annotated[int | None, typer.Option("--stratify", min=1, help="N rows per length range")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="at most N rows")] = None,
    concurrency: Concurrency = 1,
    hold_length: HoldLength = False,
    on_bad_line: OnBadLine = BadLine.stop,
    temperature: Temperature = None,
    base_url: BaseUrl = None,
    model: ModelId = None,
    api_key: ApiKey = None,
    judge_base_url: JudgeBaseUrl = None,
    judge_model: JudgeModel = None,
    judge_api_key: JudgeApiKey = None,
    judge_embedded: Annotated[
        bool, typer.Option("--judge-embedded", help="use the embedded model as a (weak) stand-in judge")
    ] = False,
    judge_prompt: Annotated[
        Path | None,
        typer.Option(
            "--judge-prompt",
            help="judge prompt with $INST$ and $RESPONSE$ (default: judge.txt beside --data, the benchmark's own; "
            "else longwrite's own)",
        ),
    ] = None,
    judge_context_tokens: Annotated[
        int | None,
        typer.Option(
            "--judge-context-tokens",
            min=2048,
            help="the --judge-base-url judge's context window; longer answers are shown as their beginning and end "
            "(default LONGWRITE_CONTEXT_TOKENS or 32768)",
        ),
    ] = None,
) -> None:
    """LongBench-Write: write every answer, judge it (S_q) when a judge is given, score and report.

    Answers go to OUT/preds.jsonl as they finish (a rerun resumes); OUT/scores.json and
    OUT/report.md (with plots) are regenerated at the end.
    """
    from longwrite.eval.longbench_write import LongBenchRequest, run_longbench

    if judge_embedded and judge_base_url:
        raise LongwriteError("Give --judge-base-url or --judge-embedded, not both.")
    settings = _writer_settings(base_url, model, api_key, temperature)
    judge = None
    if judge_base_url:
        judge = settings_from(judge_base_url, judge_model, judge_api_key)
        if judge_context_tokens:
            judge = judge.model_copy(update={"context_tokens": judge_context_tokens})
    elif judge_embedded:  # the embedded default, whatever LONGWRITE_BASE_URL says
        judge = settings_from().model_copy(update={"base_url": None, "model": None, "api_key": None})
    request = LongBenchRequest(
        data=data,
        out=out,
        mode=_held_mode(mode, hold_length),
        hold_length=hold_length,
        lang=lang.value if lang else None,
        stratify=stratify,
        limit=limit,
        concurrency=concurrency,
        on_bad_line=on_bad_line.value,
        judge=judge,
        judge_with_writer=judge_embedded and not settings.base_url,  # one embedded server does both
        judge_prompt=judge_prompt,
    )
    scores = run_longbench(request, settings)
    typer.echo(f"S_l {scores['S_l']}  S_q {scores.get('S_q', '-')}  S {scores.get('S', '-')}  -> {out}/report.md")


@eval_app.command(
    "ruler",
    epilog="Example:\n\n  longwrite eval ruler --data longwrite_ruler.jsonl --lengths 1000,2000,5000 --per-length 2 "
    "-o runs/ruler",
)
def eval_ruler(
    data: DataFile,
    out: OutDir,
    mode: EvalModeOption = ModeChoice.agent,
    lengths: Annotated[str | None, typer.Option("--lengths", help="required lengths to run, e.g. 1000,2000")] = None,
    per_length: Annotated[int | None, typer.Option("--per-length", min=1, help="instructions per length")] = None,
    lang: LangOption = None,
    concurrency: Concurrency = 1,
    hold_length: HoldLength = False,
    on_bad_line: OnBadLine = BadLine.stop,
    temperature: Temperature = None,
    base_url: BaseUrl = None,
    model: ModelId = None,
    api_key: ApiKey = None,
) -> None:
    """LongWrite-Ruler: the longest output the writer reaches per required length, with a plot."""
    from longwrite.eval.ruler import RulerRequest, run_ruler

    try:
        wanted = tuple(int(n) for n in lengths.split(",")) if lengths else ()
    except ValueError as error:
        raise InputError(f"--lengths {lengths} is not a list of numbers like 1000,2000,5000.") from error
    settings = _writer_settings(base_url, model, api_key, temperature)
    request = RulerRequest(
        data=data,
        out=out,
        mode=_held_mode(mode, hold_length),
        hold_length=hold_length,
        lengths=wanted,
        per_length=per_length,
        lang=lang.value if lang else None,
        concurrency=concurrency,
        on_bad_line=on_bad_line.value,
    )
    scores = run_ruler(request, settings)
    typer.echo(f"longest output {scores['longest_output']:,} words -> {out}/report.md")


@eval_app.command("compare", epilog="Example:\n\n  longwrite eval compare runs/agent runs/model -o runs/compare")
def eval_compare(
    runs: Annotated[list[Path], typer.Argument(help="finished LongBench-Write result folders")],
    out: OutDir,
) -> None:
    """Put LongBench-Write runs side by side: one table, one scatter, one bar chart."""
    from longwrite.eval.longbench_write import load_run
    from longwrite.eval.report import compare_report

    loaded = [(folder.name, *load_run(folder)) for folder in runs]
    path = compare_report(loaded, out, " ".join(["longwrite", *sys.argv[1:]]))
    typer.echo(f"-> {path}")


@eval_app.command("rescore", epilog="Example:\n\n  longwrite eval rescore runs/agent runs/model")
def eval_rescore(
    runs: Annotated[list[Path], typer.Argument(help="finished LongBench-Write result folders")],
) -> None:
    """Score and report LongBench-Write runs again from their answers and judgements; no model runs."""
    from longwrite.eval.longbench_write import rescore_run

    for folder in runs:
        scores = rescore_run(folder)
        typer.echo(
            f"S_l {scores['S_l']}  S_q {scores.get('S_q', '-')}  S {scores.get('S', '-')}  -> {folder}/report.md"
        )


def _held_mode(mode: ModeChoice, hold_length: bool) -> str:
    """The mode, refused with --hold-length unless it is model mode (before anything starts)."""
    if hold_length and mode.value != "model":
        raise InputError(f"--hold-length holds model mode's one call; --mode {mode.value} controls the length itself.")
    return mode.value


def _writer_settings(
    base_url: str | None, model: str | None, api_key: str | None, temperature: float | None
) -> Settings:
    """The writer's settings: --temperature when given, else LONGWRITE_TEMPERATURE (whose default is
    LongBench's 0.5), never a default of this command's own that would hide the variable."""
    settings = settings_from(base_url, model, api_key)
    return settings if temperature is None else settings.model_copy(update={"temperature": temperature})
