"""The `longwrite` command. Each subcommand imports its subsystem only when it runs."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from longwrite.errors import LongwriteError

app = typer.Typer(
    help="Ultra-long writing with LLMs: plan, write, synthesise data, train and evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Mode(StrEnum):
    agent = "agent"
    model = "model"


BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="OpenAI-compatible endpoint (e.g. http://localhost:8000/v1); unset = embedded model"
    ),
]
ModelId = Annotated[str | None, typer.Option("--model", help="model id at the endpoint")]
ApiKey = Annotated[str | None, typer.Option("--api-key", help="API key for the endpoint")]


def _settings(base_url: str | None = None, model: str | None = None, api_key: str | None = None):
    from longwrite.settings import Settings

    overrides = {k: v for k, v in {"base_url": base_url, "model": model, "api_key": api_key}.items() if v}
    return Settings(**overrides)


def _fail(error: LongwriteError) -> None:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(error.exit_code)


@app.command(
    epilog=(
        'Examples:\n\n  longwrite write "Write a 10000-word guide to personal finance." -o guide.md --json\n\n'
        '  longwrite write "Write a 3000-word history of tea." --plan-only -o plan.json\n\n'
        '  longwrite write "Write a 3000-word history of tea." --plan-file plan.json\n\n'
        "  longwrite write --job 20261121-101500-a1b2c3 --resume\n\n"
        '  longwrite write "Write a 2000-word essay on rivers." --base-url http://localhost:8000/v1'
    )
)
def write(
    instruction: Annotated[str | None, typer.Argument(help="what to write; the length is read from it")] = None,
    words: Annotated[int | None, typer.Option("--words", help="target length (overrides the instruction)")] = None,
    mode: Annotated[Mode, typer.Option("--mode", help="agent: plan and write; model: one call")] = Mode.agent,
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

    With no --words, the length comes from the instruction ("a 5000-word ...", "三千字"), else 2,000
    words. Targets above 100,000 words are refused (LONGWRITE_MAX_TARGET_WORDS).
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
        code = run(request, _settings(base_url, model, api_key))
    except LongwriteError as error:
        _fail(error)
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

    settings = _settings(base_url, model)
    server_key = api_key or (settings.api_key.get_secret_value() if settings.api_key else None)
    # LONGWRITE_API_KEY guards this server; the backend gets its own key
    backend_key = backend_api_key or (settings.backend_api_key.get_secret_value() if settings.backend_api_key else None)
    settings = settings.model_copy(update={"api_key": SecretStr(backend_key) if backend_key else None})
    try:
        run_server(settings, host, port, server_key)
    except LongwriteError as error:
        _fail(error)


class EngineName(StrEnum):
    vllm = "vllm"
    llamacpp = "llamacpp"
    transformers = "transformers"


@app.command(
    "serve-model",
    epilog=(
        "Examples:\n\n  longwrite serve-model --engine vllm --model ./longwriter-8b --context-tokens 32768\n\n"
        "  longwrite serve-model --engine vllm --model Qwen/Qwen2.5-7B-Instruct --lora longwriter=./adapter\n\n"
        "  longwrite serve-model --engine llamacpp --model ./model.gguf --port 8001\n\n"
        "  longwrite serve-model --engine transformers --model ./checkpoint --device cpu\n\n"
        'Then: longwrite write --mode model --base-url http://127.0.0.1:8001/v1 --model NAME "..."'
    ),
)
def serve_model(
    engine: Annotated[EngineName, typer.Option("--engine", help="vllm (GPU), llamacpp (GGUF, CPU), transformers")],
    model: Annotated[str, typer.Option("--model", help="checkpoint folder, GGUF file, or Hugging Face id")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8001,
    context_tokens: Annotated[
        int | None, typer.Option("--context-tokens", min=512, help="max model length (vllm 32768, llamacpp 16384)")
    ] = None,
    served_model_name: Annotated[str | None, typer.Option("--served-model-name", help="id clients use")] = None,
    lora: Annotated[
        list[str] | None, typer.Option("--lora", help="NAME=PATH adapter to serve (vllm; repeatable)")
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="llama.cpp threads")] = None,
    continuous_batching: Annotated[
        bool, typer.Option("--continuous-batching", help="transformers serve: batch requests together")
    ] = False,
    device: Annotated[str | None, typer.Option("--device", help="transformers serve: cpu, cuda:0, auto")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the server command and stop")] = False,
) -> None:
    """Start a model server with settings fit for long outputs, and keep it up until Ctrl-C."""
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
        )
        code = run_serve_model(spec, _settings(), dry_run)
    except LongwriteError as error:
        _fail(error)
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


@app.command(epilog="Example:\n\n  longwrite count essay.md")
def count(file: Annotated[Path, typer.Argument(help="a text file, or - for stdin")]) -> None:
    """Print a text's length: LongBench-Write words, jieba words, cl100k tokens, characters."""
    from longwrite.commands.count import count_report

    try:
        text = sys.stdin.read() if str(file) == "-" else _read_text(file)
    except LongwriteError as error:
        _fail(error)
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
