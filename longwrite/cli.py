"""The `longwrite` command. Each subcommand imports its subsystem only when it runs."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup

from longwrite.cli_options import (
    INPUT_FORMS,
    ApiKey,
    BaseUrl,
    HfDataset,
    ModelId,
    PushToHub,
    SaveToDisk,
    fail,
    one_source,
)
from longwrite.cli_pipeline import epilog as pipeline_epilog
from longwrite.cli_pipeline import pipeline
from longwrite.cli_train import train_app
from longwrite.errors import LongwriteError
from longwrite.settings import settings_from


class _App(typer.Typer):
    """The app; an error a user can act on that escapes a command (a bad LONGWRITE_* value read
    before a command's own error handling) is still one line and its exit code."""

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return super().__call__(*args, **kwargs)
        except LongwriteError as error:
            typer.echo(f"error: {error}", err=True)
            sys.exit(error.exit_code)


app = _App(
    help="Ultra-long writing with LLMs: plan, write, synthesise data, train and evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"longwrite {version('longwrite')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("longwrite (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="also debug messages, with time and source")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only warnings and errors")] = False,
) -> None:
    """Ultra-long writing with LLMs: plan, write, synthesise data, train and evaluate.

    Messages go to stderr; LONGWRITE_LOG_LEVEL (DEBUG, INFO, WARNING, ERROR) sets how many when
    neither -v nor -q is given.
    """
    from longwrite.logs import configure, level_for

    try:
        configure(level_for(verbose, quiet))
    except LongwriteError as error:
        fail(error)


class Mode(StrEnum):
    agent = "agent"
    model = "model"
    auto = "auto"


@app.command(
    epilog=(
        'Examples:\n\n  longwrite write "Write a 10000-word guide to personal finance." -o guide.md --json\n\n'
        '  longwrite write "Write a 3000-word history of tea." --plan-only -o plan.json\n\n'
        '  longwrite write "Write a 3000-word history of tea." --plan-file plan.json\n\n'
        "  longwrite write --job 20261121-101500-a1b2c3 --resume\n\n"
        '  longwrite write "Write a 5000-word report on urban trees." --mode auto --base-url http://localhost:8000/v1\n\n'
        '  longwrite write "Write a 2000-word essay on rivers." --base-url http://localhost:8000/v1'
    )
)
def write(
    instruction: Annotated[str | None, typer.Argument(help="what to write; the length is read from it")] = None,
    words: Annotated[int | None, typer.Option("--words", help="target length (overrides the instruction)")] = None,
    mode: Annotated[
        Mode,
        typer.Option("--mode", help="agent: plan and write; model: one call; auto: the model, then the agent if short"),
    ] = Mode.agent,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write the markdown here")] = None,
    job: Annotated[str | None, typer.Option("--job", help="job id (new, or one to resume)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the job given by --job")] = False,
    plan_only: Annotated[bool, typer.Option("--plan-only", help="make the plan, print it as JSON, stop")] = False,
    plan_file: Annotated[Path | None, typer.Option("--plan-file", help="use this plan (JSON from --plan-only)")] = None,
    json_summary: Annotated[bool, typer.Option("--json", help="print a JSON summary as the last stdout line")] = False,
    base_url: BaseUrl = None,
    model: ModelId = None,
    api_key: ApiKey = None,
) -> None:
    """Write one document. Progress goes to stderr; the markdown to stdout or -o FILE.

    With no --words, the length comes from the instruction ("a 5000-word ...", "三千字", "five entries
    of 400 words each"); where it states none, the plan sizes the document (at most
    LONGWRITE_MAX_PLANNED_WORDS). Targets above 100,000 words are refused (LONGWRITE_MAX_TARGET_WORDS).
    """
    from longwrite.commands.write import WriteRequest, run

    request = WriteRequest(
        instruction=instruction,
        words=words,
        mode=mode.value,
        output=output,
        job=job,
        resume=resume,
        plan_only=plan_only,
        plan_file=plan_file,
        json_summary=json_summary,
    )
    try:
        code = run(request, settings_from(base_url, model, api_key))
    except LongwriteError as error:
        fail(error)
    raise typer.Exit(code)


@app.command(
    epilog=(
        "Examples:\n\n  longwrite serve\n\n  longwrite serve --port 8080 --api-key s3cret\n\n"
        "  longwrite serve --base-url http://localhost:8001/v1 --model my-longwriter\n\n"
        "Then: openai.OpenAI(base_url='http://127.0.0.1:8000/v1', api_key='s3cret').chat.completions.create("
        "model='agentwrite', messages=[...])"
    )
)
def serve(
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on", min=1, max=65535)] = 8000,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="key clients must send (Bearer); else LONGWRITE_API_KEY")
    ] = None,
    base_url: BaseUrl = None,
    model: ModelId = None,
    backend_api_key: Annotated[
        str | None, typer.Option("--backend-api-key", help="key for the backend; else LONGWRITE_BACKEND_API_KEY")
    ] = None,
) -> None:
    """Serve the OpenAI-compatible API (the agent is the model `agentwrite`; `auto` tries the
    served model first) and the write-jobs API, on the embedded model unless --base-url is set.

    Up to LONGWRITE_MAX_CONCURRENT_WRITES (2) writes run at once; more get HTTP 429.
    """
    from pydantic import SecretStr

    from ui.server import serve as run_server

    settings = settings_from(base_url, model)
    server_key = api_key or (settings.api_key.get_secret_value() if settings.api_key else None)
    # LONGWRITE_API_KEY guards this server; the backend gets its own key
    backend_key = backend_api_key or (settings.backend_api_key.get_secret_value() if settings.backend_api_key else None)
    settings = settings.model_copy(update={"api_key": SecretStr(backend_key) if backend_key else None})
    try:
        run_server(settings, host, port, server_key)
    except LongwriteError as error:
        fail(error)


@app.command(epilog="Examples:\n\n  longwrite ui\n\n  longwrite ui --port 7860 --base-url http://localhost:8001/v1")
def ui(
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on", min=1, max=65535)] = 7860,
    base_url: BaseUrl = None,
    model: ModelId = None,
    api_key: ApiKey = None,
) -> None:
    """The web writer alone (plan, write with live counters, resume, compare); `longwrite serve`
    also serves it, at / beside the API."""
    from ui.server import serve as run_server

    try:
        run_server(settings_from(base_url, model, api_key), host, port, None, api_routes=False)
    except LongwriteError as error:
        fail(error)


class EngineName(StrEnum):
    vllm = "vllm"
    llamacpp = "llamacpp"
    transformers = "transformers"


ENGINE_ARGS = "engine_args"


class _EngineFlagsCommand(TyperCommand):
    """A command whose words after the first `--` are kept whole for the engine it starts.

    Taken off before parsing, so an unknown flag before `--` is still refused, and a stray word
    is not silently handed to the engine.
    """

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if "--" in args:
            cut = args.index("--")
            args, ctx.meta[ENGINE_ARGS] = args[:cut], args[cut + 1 :]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx):  # type: ignore[no-untyped-def]
        return [*super().collect_usage_pieces(ctx), "[-- ENGINE FLAGS...]"]


@app.command(
    "serve-model",
    cls=_EngineFlagsCommand,
    epilog=(
        "Examples:\n\n  longwrite serve-model --engine vllm --model ./longwriter-8b --context-tokens 32768\n\n"
        "  longwrite serve-model --engine vllm --model Qwen/Qwen2.5-7B-Instruct --lora longwriter=./adapter\n\n"
        "  longwrite serve-model --engine llamacpp --model ./model.gguf --port 8001\n\n"
        "  longwrite serve-model --engine llamacpp --model ./model.gguf --lora longwrite=./adapter.gguf\n\n"
        "  longwrite serve-model --engine transformers --model ./checkpoint --device cpu\n\n"
        "  longwrite serve-model --engine vllm --model Qwen/Qwen2.5-72B-Instruct -- --tensor-parallel-size 4 "
        "--gpu-memory-utilization 0.85 --quantization fp8\n\n"
        'Then: longwrite write --mode model --base-url http://127.0.0.1:8001/v1 --model NAME "..."'
    ),
)
def serve_model(
    ctx: typer.Context,  # the flags after -- are in ctx.meta (see _EngineFlagsCommand)
    engine: Annotated[EngineName, typer.Option("--engine", help="vllm (GPU), llamacpp (GGUF, CPU), transformers")],
    model: Annotated[str, typer.Option("--model", help="checkpoint folder, GGUF file, or Hugging Face id")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8001,
    context_tokens: Annotated[
        int | None, typer.Option("--context-tokens", min=512, help="max model length (vllm 32768, llamacpp 16384)")
    ] = None,
    served_model_name: Annotated[str | None, typer.Option("--served-model-name", help="id clients use")] = None,
    lora: Annotated[
        list[str] | None, typer.Option("--lora", help="NAME=PATH adapter (vllm: repeatable; llamacpp: one GGUF LoRA)")
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="llama.cpp threads")] = None,
    continuous_batching: Annotated[
        bool, typer.Option("--continuous-batching", help="transformers serve: batch requests together")
    ] = False,
    device: Annotated[str | None, typer.Option("--device", help="transformers serve: cpu, cuda:0, auto")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the server command and stop")] = False,
) -> None:
    """Start a model server with settings fit for long outputs, and keep it up until Ctrl-C.

    Everything after `--` goes to the engine's own command as it is, after longwrite's flags: one given again wins.
    """
    from longwrite.commands.serve_model import run_serve_model
    from model.engines import ModelServerSpec

    try:
        spec = ModelServerSpec(
            engine=engine.value,
            model=model,
            host=host,
            port=port,
            context_tokens=context_tokens,
            served_name=served_model_name,
            loras=_loras(lora or []),
            threads=threads,
            continuous_batching=continuous_batching,
            device=device,
            engine_args=tuple(ctx.meta.get(ENGINE_ARGS, ())),
        )
        code = run_serve_model(spec, settings_from(), dry_run)
    except LongwriteError as error:
        fail(error)
    raise typer.Exit(code)


def _loras(values: list[str]) -> tuple[tuple[str, str], ...]:
    from longwrite.errors import InputError

    pairs = []
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise InputError(f"--lora {value} is not NAME=PATH; e.g. --lora longwriter=./adapter.")
        pairs.append((name.strip(), path.strip()))
    return tuple(pairs)


eval_app = typer.Typer(
    help="Evaluation: LongBench-Write (S_l, S_q), LongWrite-Ruler, comparisons.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")


class EvalMode(StrEnum):
    agent = "agent"
    model = "model"
    auto = "auto"


class Language(StrEnum):
    en = "en"
    zh = "zh"


class BadLine(StrEnum):
    stop = "stop"
    skip = "skip"


DataFile = Annotated[Path, typer.Option("--data", help="benchmark .jsonl (rows with prompt, type, length)")]
OutDir = Annotated[Path, typer.Option("--out", help="result folder (a rerun resumes it)")]
EvalModeOption = Annotated[EvalMode, typer.Option("--mode", help="agent, model (one call) or auto")]
Concurrency = Annotated[int, typer.Option("--concurrency", min=1, help="answers written at once")]
OnBadLine = Annotated[BadLine, typer.Option("--on-bad-line", help="a bad JSONL line: stop, or skip it")]
Temperature = Annotated[float, typer.Option("--temperature", min=0.0, max=2.0, help="sampling (LongBench: 0.5)")]


@eval_app.command(
    "longbench-write",
    epilog=(
        "Examples:\n\n  longwrite eval longbench-write --data longbench_write_en.jsonl --stratify 4 --lang en "
        "--mode agent --out runs/agent\n\n  longwrite eval longbench-write --data longbench_write.jsonl --mode model "
        "--out runs/model --base-url http://localhost:8001/v1 --judge-base-url https://api.openai.com/v1 "
        "--judge-model gpt-4o --judge-api-key sk-..."
    ),
)
def eval_longbench_write(
    data: DataFile,
    out: OutDir,
    mode: EvalModeOption = EvalMode.agent,
    lang: Annotated[Language | None, typer.Option("--lang", help="only rows in this language")] = None,
    stratify: Annotated[int | None, typer.Option("--stratify", min=1, help="N rows per length range")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="at most N rows")] = None,
    concurrency: Concurrency = 1,
    on_bad_line: OnBadLine = BadLine.stop,
    temperature: Temperature = 0.5,
    base_url: BaseUrl = None,
    model: ModelId = None,
    api_key: ApiKey = None,
    judge_base_url: Annotated[str | None, typer.Option("--judge-base-url", help="the judge's endpoint")] = None,
    judge_model: Annotated[str | None, typer.Option("--judge-model")] = None,
    judge_api_key: Annotated[str | None, typer.Option("--judge-api-key")] = None,
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
    from eval.longbench_write import LongBenchRequest, run_longbench

    try:
        if judge_embedded and judge_base_url:
            raise LongwriteError("Give --judge-base-url or --judge-embedded, not both.")
        settings = settings_from(base_url, model, api_key).model_copy(update={"temperature": temperature})
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
            mode=mode.value,
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
    except LongwriteError as error:
        fail(error)
    typer.echo(f"S_l {scores['S_l']}  S_q {scores.get('S_q', '-')}  S {scores.get('S', '-')}  -> {out}/report.md")


@eval_app.command(
    "ruler",
    epilog="Example:\n\n  longwrite eval ruler --data longwrite_ruler.jsonl --lengths 1000,2000,5000 --per-length 2 "
    "--out runs/ruler",
)
def eval_ruler(
    data: DataFile,
    out: OutDir,
    mode: EvalModeOption = EvalMode.agent,
    lengths: Annotated[str | None, typer.Option("--lengths", help="required lengths to run, e.g. 1000,2000")] = None,
    per_length: Annotated[int | None, typer.Option("--per-length", min=1, help="instructions per length")] = None,
    lang: Annotated[Language | None, typer.Option("--lang", help="only rows in this language")] = None,
    concurrency: Concurrency = 1,
    on_bad_line: OnBadLine = BadLine.stop,
    temperature: Temperature = 0.5,
    base_url: BaseUrl = None,
    model: ModelId = None,
    api_key: ApiKey = None,
) -> None:
    """LongWrite-Ruler: the longest output the writer reaches per required length, with a plot."""
    from eval.ruler import RulerRequest, run_ruler
    from longwrite.errors import InputError

    try:
        try:
            wanted = tuple(int(n) for n in lengths.split(",")) if lengths else ()
        except ValueError as error:
            raise InputError(f"--lengths {lengths} is not a list of numbers like 1000,2000,5000.") from error
        settings = settings_from(base_url, model, api_key).model_copy(update={"temperature": temperature})
        request = RulerRequest(
            data=data,
            out=out,
            mode=mode.value,
            lengths=wanted,
            per_length=per_length,
            lang=lang.value if lang else None,
            concurrency=concurrency,
            on_bad_line=on_bad_line.value,
        )
        scores = run_ruler(request, settings)
    except LongwriteError as error:
        fail(error)
    typer.echo(f"longest output {scores['longest_output']:,} words -> {out}/report.md")


@eval_app.command("compare", epilog="Example:\n\n  longwrite eval compare runs/agent runs/model --out runs/compare")
def eval_compare(
    runs: Annotated[list[Path], typer.Argument(help="finished LongBench-Write result folders")],
    out: OutDir,
) -> None:
    """Put LongBench-Write runs side by side: one table, one scatter, one bar chart."""
    from eval.longbench_write import load_run
    from eval.report import compare_report

    try:
        loaded = [(folder.name, *load_run(folder)) for folder in runs]
        path = compare_report(loaded, out, " ".join(["longwrite", *sys.argv[1:]]))
    except LongwriteError as error:
        fail(error)
    typer.echo(f"-> {path}")


@eval_app.command("rescore", epilog="Example:\n\n  longwrite eval rescore runs/agent runs/model")
def eval_rescore(
    runs: Annotated[list[Path], typer.Argument(help="finished LongBench-Write result folders")],
) -> None:
    """Score and report LongBench-Write runs again from their answers and judgements; no model runs."""
    from eval.longbench_write import rescore_run

    try:
        for folder in runs:
            scores = rescore_run(folder)
            typer.echo(
                f"S_l {scores['S_l']}  S_q {scores.get('S_q', '-')}  S {scores.get('S', '-')}  -> {folder}/report.md"
            )
    except LongwriteError as error:
        fail(error)


@app.command(
    epilog=(
        "Examples:\n\n  longwrite synth instructions.jsonl -o synth.jsonl --concurrency 2\n\n"
        "  longwrite synth instructions.jsonl -o synth.jsonl --concurrency 16 --base-url http://gpu1:8000/v1 "
        "--base-url http://gpu2:8000/v1 --model Qwen/Qwen2.5-7B-Instruct\n\n"
        "  longwrite synth hf:THUDM/LongWriter-6k --limit 100 -o synth.jsonl --push-to-hub me/longwrite-synth"
    )
)
def synth(
    output: Annotated[Path, typer.Option("-o", "--output", help="SFT rows are appended here")],
    source: Annotated[
        Path | None,
        typer.Argument(help=f'instructions: rows {{"prompt", optional "id", "length"}} ({INPUT_FORMS})'),
    ] = None,
    hf_dataset: HfDataset = None,
    save_to_disk: SaveToDisk = None,
    push_to_hub: PushToHub = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="documents written at once")] = 1,
    base_urls: Annotated[
        list[str] | None, typer.Option("--base-url", help="endpoint (repeat for round robin); unset = embedded")
    ] = None,
    model: ModelId = None,
    api_key: ApiKey = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="write at most N documents")] = None,
    shuffle: Annotated[bool, typer.Option("--shuffle", help="write in a random order (see --seed)")] = False,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    retry_errors: Annotated[bool, typer.Option("--retry-errors", help="retry the rows in OUT.errors.jsonl")] = False,
) -> None:
    """Batch AgentWrite synthesis of long-output SFT data; rerun the same command to resume."""
    from training.datasets_io import check_outputs, publish_file
    from training.synth import SynthRequest, synthesize

    try:
        source = one_source(source, hf_dataset)
        check_outputs(save_to_disk, push_to_hub)  # before a run that may take days
    except LongwriteError as error:
        fail(error)
    request = SynthRequest(
        source=source,
        output=output,
        concurrency=concurrency,
        base_urls=tuple(base_urls or ()),
        limit=limit,
        shuffle=shuffle,
        seed=seed,
        retry_errors=retry_errors,
    )
    try:
        summary = synthesize(request, settings_from(None, model, api_key))
        if published := publish_file(output, save_to_disk, push_to_hub):
            summary["published"] = published  # stdout stays one JSON object
    except LongwriteError as error:
        fail(error)
    typer.echo(json.dumps(summary))


class _CurateGroup(TyperGroup):
    """`longwrite curate IN -o OUT` filters; `longwrite curate mix ...` mixes."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["filter", *args]
        return super().parse_args(ctx, args)


curate_app = typer.Typer(
    cls=_CurateGroup,
    help="`longwrite curate IN -o OUT [--min-length-score 80] [--report DIR]` keeps rows whose answer follows the "
    "length its instruction states; `longwrite curate mix` mixes them with general data.",
    no_args_is_help=True,
)
app.add_typer(curate_app, name="curate")
app.add_typer(train_app, name="train")
app.command("pipeline", epilog=pipeline_epilog)(pipeline)
Output = Annotated[Path, typer.Option("-o", "--output", help="where to write the rows (JSONL)")]


@curate_app.command(
    "filter",
    hidden=True,
    epilog="Example:\n\n  longwrite curate synth.jsonl -o curated.jsonl --min-length-score 80 --report curation/",
)
def curate_filter(
    output: Output,
    source: Annotated[Path | None, typer.Argument(help=f"rows: {INPUT_FORMS}")] = None,
    hf_dataset: HfDataset = None,
    save_to_disk: SaveToDisk = None,
    push_to_hub: PushToHub = None,
    min_length_score: Annotated[float, typer.Option("--min-length-score", min=0, max=100)] = 80.0,
    report: Annotated[Path | None, typer.Option("--report", help="folder for report.md and plots")] = None,
) -> None:
    """Keep rows whose answer follows the one length their instruction states (length score >=
    --min-length-score); drop refusals, loops and duplicate prompts."""
    from training.curate import curate, write_report
    from training.datasets_io import check_outputs, publish_rows
    from training.rows import read_rows, write_rows

    try:
        source = one_source(source, hf_dataset)
        check_outputs(save_to_disk, push_to_hub)
        result = curate(read_rows(source), min_length_score)
        write_rows(output, result.kept)
        if report:
            write_report(result, report, str(source))
        published = publish_rows(result.kept, save_to_disk, push_to_hub)
    except LongwriteError as error:
        fail(error)
    dropped = ", ".join(f"{reason} {count}" for reason, count in sorted(result.dropped.items())) or "none"
    typer.echo(f"kept {len(result.kept)} of {len(result.decisions)} rows -> {output} (dropped: {dropped})")
    for line in published:
        typer.echo(line)


@curate_app.command(
    "mix",
    epilog="Example:\n\n  longwrite curate mix --long curated.jsonl --general chat.jsonl "
    "--ratio 20 --seed 1 -o mixed.jsonl\n\n"
    "  longwrite curate mix --long curated.jsonl --general hf:HuggingFaceTB/smoltalk/all:train -o mixed.jsonl "
    "--save-to-disk mixed-ds --push-to-hub me/longwrite-mixed",
)
def curate_mix(
    long: Annotated[Path, typer.Option("--long", help=f"long-output rows: {INPUT_FORMS}")],
    general: Annotated[
        Path, typer.Option("--general", help="general chat rows (same messages format and input forms)")
    ],
    output: Output,
    save_to_disk: SaveToDisk = None,
    push_to_hub: PushToHub = None,
    ratio: Annotated[int, typer.Option("--ratio", help="general rows per long row (Minimum Tuning: 20)")] = 20,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    allow_repeat: Annotated[bool, typer.Option("--allow-repeat", help="reuse general rows if too few")] = False,
) -> None:
    """Mix every long-output row with RATIO general rows, shuffled."""
    from training.datasets_io import check_outputs, publish_rows
    from training.mix import mix
    from training.rows import read_rows, write_rows

    try:
        check_outputs(save_to_disk, push_to_hub)
        result = mix(read_rows(long), read_rows(general), ratio, seed, allow_repeat)
        write_rows(output, result.rows)
        published = publish_rows(result.rows, save_to_disk, push_to_hub)
    except LongwriteError as error:
        fail(error)
    repeated = f" ({result.repeated_general} general rows used twice)" if result.repeated_general else ""
    typer.echo(f"{result.long} long + {result.general} general = {len(result.rows)} rows{repeated} -> {output}")
    for line in published:
        typer.echo(line)


@app.command(epilog="Example:\n\n  longwrite count essay.md")
def count(file: Annotated[Path, typer.Argument(help="a text file, or - for stdin")]) -> None:
    """Print a text's length: LongBench-Write words, jieba words, cl100k tokens, characters."""
    from longwrite.commands.count import count_report

    try:
        text = sys.stdin.read() if str(file) == "-" else _read_text(file)
    except LongwriteError as error:
        fail(error)
    typer.echo(count_report(text))


def _read_text(path: Path) -> str:
    from longwrite.errors import InputError

    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InputError(f"{path} does not exist.") from error
    except IsADirectoryError as error:
        raise InputError(f"{path} is a directory; give a text file.") from error
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is not UTF-8 text.") from error
    except OSError as error:
        raise InputError(f"{path} cannot be read ({error.strerror}).") from error


def main() -> None:
    app()


if __name__ == "__main__":
    main()
