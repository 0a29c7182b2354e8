"""A model server as a child process: started on loopback, waited for, always stopped.

The embedded default and `longwrite serve-model` both run servers this way. The child gets its
own process group (a terminal's Ctrl-C reaches only the parent, which stops it cleanly) and,
on Linux, is sent SIGTERM if the parent dies without stopping it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from longwrite.core.errors import BackendError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Runs in the child before exec: ask Linux to SIGTERM it when the parent dies."""
    os.setsid()
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class ServerProcess:
    """Runs `command`, logs it to `log_path`, and waits until `ready_url` answers 200."""

    def __init__(
        self,
        name: str,
        command: list[str],
        ready_url: str,
        log_path: Path,
        start_timeout_s: float,
        timeout_hint: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.command = command
        self.ready_url = ready_url
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.timeout_hint = timeout_hint  # what to do when it is slow to start
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(self.env or {})},
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BackendError(
                    f"The {self.name} exited at start-up (code {self.process.returncode}): "
                    f"{self.log_tail()}; see {self.log_path}."
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.ready_url, timeout=2.0).status_code == 200:
                    return
            time.sleep(0.2)
        raise BackendError(
            f"The {self.name} was not ready after {self.start_timeout_s:.0f} s; see {self.log_path}, "
            f"or {self.timeout_hint}."
        )

    def log_tail(self, lines: int = 3) -> str:
        if not self.log_path.exists():
            return "no log"
        tail = self.log_path.read_text(errors="replace").strip().splitlines()[-lines:]
        return " / ".join(tail) or "empty log"

    def wait(self) -> int:
        """Block until the server exits on its own; its exit code."""
        assert self.process is not None
        return self.process.wait()

    def stop(self) -> None:
        """Terminate the server (and wait for it); safe to call twice."""
        process, self.process = self.process, None
        if process is not None:
            terminate(process, grace_s=10)


def terminate(process: subprocess.Popen, grace_s: float) -> None:
    """SIGTERM, then SIGKILL if the process has not exited `grace_s` seconds later."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
