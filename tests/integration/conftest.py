"""A real embedded llama.cpp server (SmolLM2-135M-Instruct) shared by the integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from longwrite.core.settings import Settings
from longwrite.model.embedded import EMBEDDED_SECTION_WORDS, EmbeddedServer
from longwrite.model.process import terminate

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def embedded(tmp_path_factory):
    """One server for the session; CLI runs reach it through LONGWRITE_BASE_URL."""
    home = tmp_path_factory.mktemp("embedded-home")
    with EmbeddedServer(Settings(home=home)) as endpoint:
        yield endpoint


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any LONGWRITE_ setting of the shell, its home in `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGWRITE_")}
    return env | {"LONGWRITE_HOME": str(home)} | extra


def embedded_env(endpoint, home: Path, **extra: str) -> dict[str, str]:
    """Environment for a CLI run against the shared server, configured as the embedded default is."""
    env = {
        **os.environ,
        "LONGWRITE_HOME": str(home),
        "LONGWRITE_BASE_URL": endpoint.base_url,
        "LONGWRITE_MODEL": endpoint.model,
        "LONGWRITE_CONTEXT_TOKENS": str(endpoint.context_tokens),
        "LONGWRITE_REPEAT_PENALTY_PARAM": "repeat_penalty",
        "LONGWRITE_MIN_TOKENS_PARAM": "min_tokens",
        "LONGWRITE_STRUCTURED_OUTPUT": "llamacpp",
        "LONGWRITE_SECTION_WORDS": str(EMBEDDED_SECTION_WORDS),
    }
    env.update(extra)
    return env


def interruptible() -> None:
    """Runs in a test's child before exec: Ctrl-C (SIGINT) acts as in a terminal, even when the test
    run itself was started in the background, where the shell leaves SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "longwrite.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=interruptible,
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServeProcess:
    """`longwrite serve` as a real child process on a free loopback port."""

    def __init__(self, env: dict[str, str], api_key: str | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = api_key
        args = ["serve", "--port", str(self.port)] + (["--api-key", api_key] if api_key else [])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "longwrite.cli", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        wait_healthy(self.process, self.url, 180.0, lambda: self.process.stderr.read())

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def stop(self) -> None:
        stop_process(self.process)


def wait_healthy(process: subprocess.Popen, url: str, timeout_s: float, output: Callable[[], str]) -> None:
    """Poll `url`/health until it answers 200; fail with the process's `output()` if it exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"longwrite serve exited: {output()}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("longwrite serve was not ready in time")


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, and SIGKILL if the process has not exited 30 s later."""
    terminate(process, grace_s=30)
