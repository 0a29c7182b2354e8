"""Launchers for the servers that host a long-output model: vLLM (GPU), llama.cpp (GGUF on CPU)
and `transformers serve` (any Hugging Face checkpoint), with settings fit for long outputs."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from longwrite.core.errors import BackendError, InputError
from longwrite.core.extras import require
from longwrite.core.settings import Settings
from longwrite.model.process import ServerProcess

Engine = Literal["vllm", "llamacpp", "transformers"]
ENGINES: tuple[Engine, ...] = ("vllm", "llamacpp", "transformers")

# A 10,000-word answer is about 14,000 tokens; with the prompt and headroom, 32k fits LongWriter's
# longest outputs. llama.cpp on a CPU gets less by default, since its KV cache is in RAM.
DEFAULT_CONTEXT_TOKENS: dict[Engine, int] = {"vllm": 32_768, "llamacpp": 16_384}
# llama.cpp applies repetition penalties over this many recent tokens (its default, 64, is
# shorter than a paragraph, so a small model happily repeats whole paragraphs).
PENALTY_WINDOW_TOKENS = 256


@dataclass(frozen=True)
class ModelServerSpec:
    """What to serve and how; `command()` is the exact command line."""

    engine: Engine
    model: str  # a local path (GGUF file for llama.cpp) or a Hugging Face id
    host: str = "127.0.0.1"
    port: int = 8001
    context_tokens: int | None = None
    served_name: str | None = None
    loras: tuple[tuple[str, str], ...] = ()  # (name, path) adapters: vLLM any, llama.cpp one GGUF file
    threads: int | None = None  # llama.cpp decode threads
    continuous_batching: bool = False  # transformers serve only
    device: str | None = None  # transformers serve: cpu, cuda:0, auto
    # the engine's own flags, given after `--` (vLLM's --tensor-parallel-size, --quantization, ...);
    # they come last, so where one repeats a flag set above, the engine's parser keeps the user's
    engine_args: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The model id clients send (`--model` for `longwrite write`)."""
        if self.engine == "transformers":
            return self.model  # transformers serve answers only to the id it was started with
        if self.served_name:
            return self.served_name
        return Path(self.model).stem if self.engine == "llamacpp" else self.model

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def ready_url(self) -> str:
        # transformers serve lists models from the hub cache, so its /health is the readiness check
        return (
            self.base_url.removesuffix("/v1") + "/health"
            if self.engine == "transformers"
            else f"{self.base_url}/models"
        )

    @property
    def context(self) -> int | None:
        return self.context_tokens or DEFAULT_CONTEXT_TOKENS.get(self.engine)

    def command(self) -> list[str]:
        if self.engine == "vllm":
            command = self._vllm()
        elif self.engine == "llamacpp":
            adapter = self.loras[0][1] if self.loras else None
            command = llamacpp_command(
                self.model, self.name, self.host, self.port, self.context or 0, self.threads, adapter
            )
        else:
            command = self._transformers()
        return [*command, *self.engine_args]

    def _vllm(self) -> list[str]:
        command = [
            "vllm",
            "serve",
            self.model,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--served-model-name",
            self.name,
            "--max-model-len",
            str(self.context),
            # the checkpoint's generation_config.json would otherwise change sampling silently
            "--generation-config",
            "vllm",
        ]
        if self.loras:
            command += ["--enable-lora", "--lora-modules", *(f"{name}={path}" for name, path in self.loras)]
        return command

    def _transformers(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "transformers.cli.transformers",
            "serve",
            self.model,
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        if self.device:
            command += ["--device", self.device]
        if self.continuous_batching:
            command.append("--continuous-batching")
        return command


def llamacpp_command(
    gguf: str, alias: str, host: str, port: int, context_tokens: int, threads: int | None, lora: str | None = None
) -> list[str]:
    """llama-cpp-python's OpenAI server for one GGUF file (with a GGUF LoRA adapter on top, if given)."""
    adapter = ["--lora_path", lora] if lora else []
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        gguf,
        "--model_alias",
        alias,
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        str(context_tokens),
        "--last_n_tokens_size",
        str(PENALTY_WINDOW_TOKENS),
        # by default a new request cuts off the one streaming; a server with several clients must not
        "--interrupt_requests",
        "False",
        # llama.cpp decodes on half the cores by default; a machine serving one model wants all
        "--n_threads",
        str(threads or _cpu_count()),
        # the server keeps every position's logits by default (n_ctx x vocabulary floats, 1.6 GB at
        # 8k for SmolLM2) though only logprobs need them: off, prompts read and decode 12-22% faster
        # (bench/llamacpp_flags.py)
        "--logits_all",
        "False",
        *adapter,
    ]


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 1


# Engine flags longwrite sets from its own options and then relies on (it waits on that address,
# and tells clients that model name): after `--` they would leave it waiting on the wrong port.
OWN_FLAGS: dict[Engine, dict[str, str]] = {
    "vllm": {"--host": "--host", "--port": "--port", "--served-model-name": "--served-model-name"},
    "llamacpp": {"--host": "--host", "--port": "--port", "--model_alias": "--served-model-name", "--model": "--model"},
    "transformers": {"--host": "--host", "--port": "--port"},
}


def check_spec(spec: ModelServerSpec) -> None:
    """Refuse, with what to do instead, a spec this machine cannot run."""
    for word in spec.engine_args:
        flag = word.split("=", 1)[0]
        if flag in OWN_FLAGS[spec.engine]:
            raise InputError(
                f"{flag} after -- would bypass longwrite, which waits on the server it starts; "
                f"give {OWN_FLAGS[spec.engine][flag]} before -- instead."
            )
    if spec.loras and spec.engine == "transformers":
        raise InputError("--lora adapters are served by vllm and llamacpp; merge the adapter for transformers serve.")
    if len(spec.loras) > 1 and spec.engine == "llamacpp":
        raise InputError("--engine llamacpp serves one --lora adapter (a GGUF LoRA file) on its model.")
    if spec.loras and spec.engine == "llamacpp" and not Path(spec.loras[0][1]).is_file():
        raise InputError(
            f"--lora {spec.loras[0][1]} is not a file; give a GGUF LoRA adapter (longwrite pipeline's "
            "export stage writes one)."
        )
    if spec.served_name and spec.engine == "transformers":
        raise InputError("transformers serve answers to the model path or id itself; drop --served-model-name.")
    if spec.engine == "vllm":
        _check_vllm()
    elif spec.engine == "llamacpp":
        _check_gguf(spec.model)
    else:
        _check_transformers(spec.model)


def _check_vllm() -> None:
    require("gpu", "--engine vllm", "run it on a GPU machine, or use --engine llamacpp or transformers on a CPU")
    if shutil.which("nvidia-smi") is None and not Path("/dev/nvidia0").exists():
        raise BackendError(
            "vLLM needs an NVIDIA GPU and none was found; use --engine llamacpp (GGUF) or --engine transformers."
        )


def _check_gguf(model: str) -> None:
    path = Path(model)
    if not path.is_file():
        raise InputError(f"--model {model} is not a file; --engine llamacpp serves one GGUF file.")
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise InputError(
                f"--model {model} is not a GGUF file; convert the checkpoint to GGUF, or use --engine transformers."
            )
    require("embedded", "--engine llamacpp")


def _check_transformers(model: str) -> None:
    require("train", "--engine transformers")
    looks_local = model.startswith((".", "/", "~")) or Path(model).exists()
    if looks_local and not (Path(model).expanduser() / "config.json").is_file():
        raise InputError(
            f"--model {model} is not a Hugging Face checkpoint folder (no config.json); give a folder saved "
            "with save_pretrained, or a model id."
        )


def start(spec: ModelServerSpec, settings: Settings) -> ServerProcess:
    """Start the server and wait until it answers; the caller stops it."""
    check_spec(spec)
    server = ServerProcess(
        name=f"{spec.engine} server",
        command=spec.command(),
        ready_url=spec.ready_url,
        log_path=settings.logs_dir / f"{spec.engine}-{spec.port}.log",
        start_timeout_s=settings.engine_start_timeout_s,
        timeout_hint="raise LONGWRITE_ENGINE_START_TIMEOUT_S (large models take minutes to load)",
    )
    server.start()
    return server
