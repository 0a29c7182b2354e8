"""`longwrite serve`, `ui` and `serve-model`: the API and web writer, and model servers."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from typer.core import TyperCommand

from longwrite.cli.app import app
from longwrite.cli.options import (
    ApiKey,
    BaseUrl,
    ModelId,
    settings_from,
)


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

    from longwrite.ui.server import serve as run_server

    settings = settings_from(base_url, model)
    server_key = api_key or (settings.api_key.get_secret_value() if settings.api_key else None)
    # LONGWRITE_API_KEY guards this server; the backend gets its own key
    backend_key = backend_api_key or (settings.backend_api_key.get_secret_value() if settings.backend_api_key else None)
    settings = settings.model_copy(update={"api_key": SecretStr(backend_key) if backend_key else None})
    run_server(settings, host, port, server_key)


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
    from longwrite.ui.server import serve as run_server

    run_server(settings_from(base_url, model, api_key), host, port, None, api_routes=False)


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
    from longwrite.cli.serve_model import run_serve_model
    from longwrite.model.engines import ModelServerSpec

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
    raise typer.Exit(code)


def _loras(values: list[str]) -> tuple[tuple[str, str], ...]:
    from longwrite.core.errors import InputError

    pairs = []
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise InputError(f"--lora {value} is not NAME=PATH; e.g. --lora longwriter=./adapter.")
        pairs.append((name.strip(), path.strip()))
    return tuple(pairs)
