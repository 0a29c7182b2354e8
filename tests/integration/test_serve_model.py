"""`longwrite serve-model` starts real servers that `longwrite write --mode model` can use."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx
import pytest

from longwrite.model.embedded import gguf_path
from tests.integration.conftest import clean_env, free_port, interruptible

pytestmark = pytest.mark.integration


def _serve_model(tmp_path, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = clean_env(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "longwrite.cli", "serve-model", *args, "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=interruptible,
    )  # fmt: skip
    return process, port


def _wait_ready(process: subprocess.Popen[str], timeout_s: float = 300.0) -> str:
    """The 'ready:' line serve-model prints once its server answers."""
    deadline = time.monotonic() + timeout_s
    lines = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            raise AssertionError("serve-model exited: " + "".join(lines))
        lines.append(line)
        if line.startswith("ready:"):
            return line
    raise AssertionError("serve-model was not ready: " + "".join(lines))


def _write_model_mode(tmp_path, port: int, model: str) -> dict:
    env = clean_env(tmp_path, LONGWRITE_CONTEXT_TOKENS="1024")  # a short answer keeps CPU time low
    result = subprocess.run(
        [sys.executable, "-m", "longwrite.cli", "write", "Write two sentences about tea.", "--mode", "model",
         "--base-url", f"http://127.0.0.1:{port}/v1", "--model", model, "--json"],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _stop(process: subprocess.Popen[str], port: int) -> None:
    process.send_signal(signal.SIGINT)  # Ctrl-C: serve-model stops its server and exits
    assert process.wait(timeout=60) == 130
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)


def test_llamacpp_engine_serves_a_gguf_for_model_mode(tmp_path):
    process, port = _serve_model(tmp_path, "--engine", "llamacpp", "--model", str(gguf_path()),
                                 "--served-model-name", "tiny", "--context-tokens", "4096")  # fmt: skip
    try:
        assert "serves 'tiny'" in _wait_ready(process)
        summary = _write_model_mode(tmp_path, port, "tiny")
        assert summary["mode"] == "model" and summary["words"] > 0
        assert f"127.0.0.1:{port}" in summary["backend"]
        _stop(process, port)
    finally:
        process.kill()


def test_transformers_engine_serves_a_local_checkpoint(tmp_path_factory, tmp_path):
    pytest.importorskip("transformers")
    from longwrite.model.checkpoints import export_checkpoint

    checkpoint = export_checkpoint(gguf_path(), tmp_path_factory.mktemp("checkpoint") / "smollm2")
    process, port = _serve_model(tmp_path, "--engine", "transformers", "--model", str(checkpoint), "--device", "cpu")
    try:
        _wait_ready(process)
        summary = _write_model_mode(tmp_path, port, str(checkpoint))
        assert summary["mode"] == "model" and summary["words"] > 0
        _stop(process, port)
    finally:
        process.kill()
