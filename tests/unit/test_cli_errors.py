"""Bad input and broken servers: one clear sentence on stderr, a non-zero exit, nothing lost."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from longwrite.agent.jobs import JobStore
from tests.unit.openai_stub import OpenAIStub
from tests.unit.scripted import prose


def run_cli(*args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 60):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LONGWRITE_")}
    environment.update({"LONGWRITE_HOME": str(home), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "longwrite.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        stdin=subprocess.DEVNULL,  # never a terminal: a command that would ask a question refuses instead
    )


def assert_clear_error(result, fragment: str, code: int | None = None) -> None:
    assert result.returncode != 0
    if code is not None:
        assert result.returncode == code
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert fragment in result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["write", ""], "instruction is empty"),
        (["write", "   \n "], "instruction is empty"),
        (["write", "Write about tea.", "--words", "0"], "positive number"),
        (["write", "Write about tea.", "--words", "-5"], "positive number"),
        (["write", "Write about tea.", "--words", "10000000"], "above the cap of 100,000"),
        (["write", "Write a 10000000-word saga."], "above the cap"),
        (["write", "--resume"], "--resume needs --job"),
        (["write", "Write about tea.", "--mode", "model", "--job", "x"], "--mode agent"),
        (["write", "Write about tea.", "--hold-length"], "Add --mode model, or drop --hold-length"),
        (["write", "Write about tea.", "-o", "/no/such/folder/out.md"], "does not exist"),
    ],
)
def test_bad_input_is_refused_before_any_model_starts(tmp_path, args, fragment):
    assert_clear_error(run_cli(*args, home=tmp_path), fragment, code=2)


def test_invalid_plan_file(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text("{oops")
    assert_clear_error(run_cli("write", "Write about tea.", "--plan-file", str(plan), home=tmp_path), "not valid JSON")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_nothing_listening_at_the_base_url(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    result = run_cli("write", "Write a 600-word note.", "--base-url", url, home=tmp_path)
    assert_clear_error(result, "Nothing answers at", code=3)


class _Broken(BaseHTTPRequestHandler):
    """A server that lists a model, then answers chat requests with an error or garbage."""

    mode = "500"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(200, json.dumps({"object": "list", "data": [{"id": "broken", "object": "model"}]}).encode())

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.mode == "500":
            self._send(500, b'{"error": {"message": "boom"}}')
        else:
            self._send(200, b"<html>this is not json</html>", "text/html")


@pytest.fixture(params=["500", "garbage"])
def broken_server(request):
    handler = type("Handler", (_Broken,), {"mode": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield request.param, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_a_broken_server_gets_a_clear_error_and_the_job_is_kept(tmp_path, broken_server):
    mode, url = broken_server
    result = run_cli(
        "write", "Write a 600-word note on tea.", "--base-url", url, "--job", "broken-job", home=tmp_path,
        env={"LONGWRITE_MAX_RETRIES": "1", "LONGWRITE_BASE_URL": url},
    )  # fmt: skip
    fragment = "answered HTTP 500" if mode == "500" else "not an OpenAI-compatible API"
    assert_clear_error(result, fragment, code=3)
    assert "--job broken-job --resume" in result.stderr


def test_resume_of_an_unknown_job(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    # the job check comes before any model call, so no server is needed for this error...
    with JobStore(tmp_path / "jobs.sqlite"):
        pass
    result = run_cli("write", "--job", "nope", "--resume", "--base-url", url, "--model", "m", home=tmp_path)
    assert_clear_error(result, "no job 'nope'", code=2)


@pytest.mark.parametrize(
    ("server", "mode"), [("me", "model"), ("me", "agent"), ("llamacpp", "model"), ("vllm", "model")]
)
def test_a_prompt_longer_than_the_servers_context_is_reported_as_that(tmp_path, server, mode):
    """Each server refuses in its own way (llama-cpp-python with an empty stream); the user reads
    the prompt's size and the context's, not a dropped connection."""
    instruction = "Write a 300-word note on tea, drawing on these notes: " + prose(2400, seed="notes")
    with OpenAIStub(owned_by=server, context_tokens=2000) as stub:
        result = run_cli("write", instruction, "--mode", mode, "--base-url", stub.url, "--model", "m", home=tmp_path)
    assert result.returncode == 3, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert re.search(r"refused the prompt as too long: the prompt needs 2,4\d\d tokens", error), error
    assert "the model's context is 2,000" in error and "LONGWRITE_CONTEXT_TOKENS" in error
    assert "no chat content" not in result.stderr
