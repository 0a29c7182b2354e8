"""What a hostile client, a backend that stops answering and a shutdown do to `longwrite serve`
and `longwrite write`, as real processes on a stub backend (tests/stub_backend.py, no model).

The figures docs/SECURITY.md quotes come from these tests; run them with `-s` to see them.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import clean_env, free_port, stop_process, wait_healthy
from tests.stub_backend import MODEL, StubBackend

KEY = "hardening-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
MB = 1024 * 1024


class Served:
    """`longwrite serve --api-key KEY` as a child process, its stdout and stderr in one log file."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / f"serve-{self.port}.log"
        command = [sys.executable, "-m", "longwrite.cli", "serve", "--port", str(self.port), "--api-key", KEY, *args]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env or clean_env(home))
        wait_healthy(self.process, self.url, 120.0, self.log.read_text)

    def health(self) -> dict:
        return httpx.get(f"{self.url}/health", headers=AUTH, timeout=10).json()

    def rss_mb(self, field: str = "VmRSS") -> float:
        """The server process's resident memory (VmRSS), or its peak so far (VmHWM), in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
        raise AssertionError(f"no {field} for the server")

    def stop(self) -> float:
        """SIGTERM, then the seconds until the process has exited."""
        started = time.monotonic()
        stop_process(self.process)
        return time.monotonic() - started


def wait_until(check, timeout_s: float, what: str, every_s: float = 0.1) -> float:
    """Poll `check()` until it is true; the seconds that took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        time.sleep(every_s)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def chat(text: str, stream: bool = False) -> dict:
    return {"model": "agentwrite", "messages": [{"role": "user", "content": text}], "stream": stream}


# ---------------------------------------------------------------- a body that never ends


def send_chunked(port: int, headers: dict[str, str], total: int, piece: int = 64 * 1024) -> tuple[int | None, int]:
    """POST a `total`-byte chat body with Transfer-Encoding: chunked, stopping as soon as the server
    answers or closes; the status it answered and the body bytes sent by then (some of them only
    into the kernel's socket buffers, not read by the server)."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: chunked\r\n{head}\r\n"
    ).encode()
    body = b'{"model": "agentwrite", "messages": [{"role": "user", "content": "' + b"x" * piece
    frame = f"{len(body):x}\r\n".encode() + body + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        sock.setblocking(False)
        pending = frame
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break
            if not writable:
                raise AssertionError("the server neither read the body nor answered for 30 s")
            try:
                pending = pending[sock.send(pending) :]
            except (BrokenPipeError, ConnectionResetError):
                break
            if not pending:
                sent += len(body)
                pending = frame
        sock.setblocking(True)
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            return None, sent
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None
    return status, sent


def test_a_300_mb_chunked_body_is_refused_early_and_memory_stays_flat(tmp_path, capsys):
    with StubBackend() as stub:
        server = Served(tmp_path, env=clean_env(tmp_path, LONGWRITE_BASE_URL=stub.url, LONGWRITE_MODEL=MODEL))
        try:
            assert server.health()["status"] == "ok"  # warm: the routes and the backend check have run once
            before = server.rss_mb()
            results = {
                "no key": send_chunked(server.port, {}, 300 * MB),
                "wrong key": send_chunked(server.port, {"Authorization": "Bearer wrong"}, 300 * MB),
                "key": send_chunked(server.port, AUTH, 300 * MB),
            }
            after, peak = server.rss_mb(), server.rss_mb("VmHWM")
        finally:
            server.stop()
    assert results["no key"][0] == 401 and results["wrong key"][0] == 401  # the key comes before the body
    assert results["key"][0] == 413
    for _status, sent in results.values():
        assert sent < 16 * MB  # the 1 MB limit, plus what the socket buffers took
    assert peak - before < 50 and after - before < 50
    with capsys.disabled():
        sent = ", ".join(f"{name}: {status} after {sent / MB:.1f} MiB sent" for name, (status, sent) in results.items())
        print(f"\n300 MiB chunked body: {sent}; server RSS {before:.0f} -> {after:.0f} MiB (peak {peak:.0f} MiB)")


# ---------------------------------------------------------------- credentials in the backend URL


@pytest.fixture(scope="module")
def credentialed(tmp_path_factory):
    """A server whose --base-url carries a user name and password."""
    home = tmp_path_factory.mktemp("credentials")
    with StubBackend() as stub:
        url = f"http://lwuser:lwsecret@127.0.0.1:{stub.port}/v1"
        server = Served(home, "--base-url", url, "--model", MODEL)
        yield server
        server.stop()


def test_no_response_or_log_line_shows_the_backend_credentials(credentialed):
    server = credentialed
    open_health = httpx.get(f"{server.url}/health", timeout=10)
    assert set(open_health.json()) == {"status", "backend_up"} and "127.0.0.1" not in open_health.text
    answers = [open_health, httpx.get(f"{server.url}/health", headers=AUTH, timeout=10)]
    assert "***@127.0.0.1" in answers[-1].json()["backend"]
    answers.append(httpx.post(f"{server.url}/v1/chat/completions", json=chat("Write a 300-word note on tea."),
                              headers=AUTH, timeout=60))  # fmt: skip
    assert answers[-1].status_code == 200
    answers.append(httpx.post(f"{server.url}/v1/writes", json={"instruction": "Write a 300-word note on tea."},
                              headers=AUTH, timeout=10))  # fmt: skip
    job = answers[-1].json()["id"]
    wait_until(lambda: httpx.get(f"{server.url}/v1/writes/{job}", headers=AUTH).json()["status"] == "done", 60, "job")
    answers += [
        httpx.get(f"{server.url}/v1/writes/{job}", headers=AUTH, timeout=10),
        httpx.get(f"{server.url}/v1/writes/{job}/events", headers=AUTH, timeout=10),
        httpx.get(f"{server.url}/v1/models", headers=AUTH, timeout=10),
        httpx.post(f"{server.url}/v1/chat/completions", json=chat("x") | {"model": "nope"}, headers=AUTH, timeout=10),
        httpx.get(f"{server.url}/v1/models", timeout=10),  # 401
        httpx.get(f"{server.url}/", timeout=10),  # the page (its login)
    ]
    for answer in answers:
        text = answer.text + json.dumps(dict(answer.headers))
        assert "lwsecret" not in text and "lwuser" not in text, answer.request.url
    log = server.log.read_text()
    assert "***@127.0.0.1" in log  # the startup line names the backend
    assert "lwsecret" not in log and "lwuser" not in log


def test_head_and_options(credentialed):
    server = credentialed
    assert httpx.head(f"{server.url}/health", timeout=10).status_code == 200  # a HEAD health check works
    head = httpx.head(f"{server.url}/v1/chat/completions", headers=AUTH, timeout=10)
    assert head.status_code == 405 and head.headers["allow"] == "POST"
    options = httpx.options(f"{server.url}/v1/chat/completions", headers=AUTH, timeout=10)
    assert options.status_code == 405 and options.headers["allow"] == "POST"
    assert httpx.request("DELETE", f"{server.url}/v1/models", headers=AUTH, timeout=10).status_code == 405


# ---------------------------------------------------------------- clients that leave, and SIGTERM


def test_non_streamed_chats_whose_clients_leave_free_their_slots(tmp_path, capsys):
    # 0.05 s a word: a section takes about 20 s, far longer than the clients wait
    with StubBackend(word_delay_s=0.05) as stub:
        server = Served(tmp_path, env=clean_env(tmp_path, LONGWRITE_BASE_URL=stub.url, LONGWRITE_MODEL=MODEL))
        try:
            gave_up: list[float] = []

            def impatient_client() -> None:
                with pytest.raises(httpx.ReadTimeout):
                    httpx.post(f"{server.url}/v1/chat/completions", json=chat("Write a 2000-word essay on tea."),
                               headers=AUTH, timeout=httpx.Timeout(4.5, connect=5.0))  # fmt: skip
                gave_up.append(time.monotonic())

            clients = [threading.Thread(target=impatient_client) for _ in range(2)]
            for client in clients:
                client.start()
            wait_until(lambda: server.health()["writes_running"] == 2, 10, "both writes running")
            for client in clients:
                client.join()
            assert len(gave_up) == 2
            wait_until(lambda: server.health()["writes_running"] == 0, 30, "slots freed", every_s=0.05)
            freed_after = time.monotonic() - max(gave_up)
            new = [httpx.post(f"{server.url}/v1/writes", json={"instruction": "Write a 600-word note."},
                              headers=AUTH, timeout=10) for _ in range(2)]  # fmt: skip
            assert [answer.status_code for answer in new] == [202, 202]
            # the abandoned answers were kept as jobs, stopped, and resume
            for answer in new:
                httpx.delete(f"{server.url}/v1/writes/{answer.json()['id']}", headers=AUTH, timeout=10)
            wait_until(lambda: server.health()["writes_running"] == 0, 30, "new writes cancelled")
            jobs = httpx.get(f"{server.url}/v1/writes", headers=AUTH, timeout=10).json()["data"]
            abandoned = [job for job in jobs if job["instruction"] == "Write a 2000-word essay on tea."]
            assert [job["status"] for job in abandoned] == ["cancelled", "cancelled"]
            resumed = httpx.post(f"{server.url}/v1/writes/{abandoned[0]['id']}/resume", headers=AUTH, timeout=10)
            assert resumed.status_code == 202 and resumed.json()["status"] == "running"
        finally:
            server.stop()
    assert freed_after < 5
    with capsys.disabled():
        print(f"\ntwo non-streamed chats whose clients left: both slots free {freed_after:.1f} s later")


def test_sigterm_with_writes_in_flight_exits_in_seconds_and_the_job_resumes(tmp_path, capsys):
    with StubBackend(word_delay_s=0.01) as stub:
        env = clean_env(tmp_path, LONGWRITE_BASE_URL=stub.url, LONGWRITE_MODEL=MODEL)
        server = Served(tmp_path, env=env)
        job = httpx.post(f"{server.url}/v1/writes", json={"instruction": "Write a 2000-word essay on rivers."},
                         headers=AUTH, timeout=10).json()["id"]  # fmt: skip
        streamed: list[str] = []

        def streaming_client() -> None:
            body = chat("Write a 2000-word essay on clouds.", stream=True)
            request = {"json": body, "headers": AUTH, "timeout": 60}
            try:
                with httpx.stream("POST", f"{server.url}/v1/chat/completions", **request) as answer:
                    streamed.extend(answer.iter_lines())
            except httpx.HTTPError:
                pass  # the server went away mid-answer, as it should

        client = threading.Thread(target=streaming_client)
        client.start()
        describe = f"{server.url}/v1/writes/{job}"
        wait_until(lambda: server.health()["writes_running"] == 2, 20, "both writes running")
        wait_until(lambda: httpx.get(describe, headers=AUTH).json()["progress"]["sections_done"] >= 1, 60, "a section")
        exited_after = server.stop()
        client.join(timeout=30)
        assert exited_after < 5, server.log.read_text()[-2000:]

        again = Served(tmp_path, env=env)
        try:
            assert httpx.get(describe.replace(server.url, again.url), headers=AUTH).json()["status"] == "interrupted"
            chat_job = [job for job in httpx.get(f"{again.url}/v1/writes", headers=AUTH).json()["data"]
                        if job["instruction"] == "Write a 2000-word essay on clouds."]  # fmt: skip
            assert len(chat_job) == 1 and chat_job[0]["status"] in ("interrupted", "cancelled")
            kept = [job, chat_job[0]["id"]]
            for job_id in kept:
                resumed = httpx.post(f"{again.url}/v1/writes/{job_id}/resume", headers=AUTH, timeout=10)
                assert resumed.status_code == 202
            done = wait_until(
                lambda: all(httpx.get(f"{again.url}/v1/writes/{j}", headers=AUTH).json()["status"] == "done"
                            for j in kept), 180, "done")  # fmt: skip
            final = [httpx.get(f"{again.url}/v1/writes/{j}", headers=AUTH).json() for j in kept]
        finally:
            again.stop()
    for job_state in final:  # the /v1/writes job and the streamed chat's job, both written to the end
        assert job_state["progress"]["sections_done"] == job_state["progress"]["sections_total"]
    with capsys.disabled():
        print(f"\nSIGTERM with a streamed chat write and a job in flight: exited in {exited_after:.1f} s; "
              f"the job resumed and finished in {done:.0f} s")  # fmt: skip


# ---------------------------------------------------------------- a backend that stops answering


def run_write(*args: str, home: Path, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "longwrite.cli", "write", *args],
        capture_output=True, text=True, env=clean_env(home, **(env or {})), timeout=180,
    )  # fmt: skip
    return result, time.monotonic() - started


def assert_one_error_line(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 3 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line
    return line


def test_write_at_a_silent_listener_fails_within_a_minute(tmp_path, capsys):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # connections are accepted by the kernel and never answered
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    try:
        result, seconds = run_write("Write a 600-word note on tea.", "--base-url", url, "--model", "m",
                                    "--job", "silent", home=tmp_path)  # fmt: skip
    finally:
        listener.close()
    line = assert_one_error_line(result, "answered nothing in 10 s", "longwrite write --job silent --resume")
    assert "waiting for the model (" in result.stderr
    assert seconds < 60
    with capsys.disabled():
        print(f"\nsilent listener, default settings: exit {result.returncode} after {seconds:.0f} s: {line}")


def test_write_at_a_backend_that_stops_mid_answer_fails_after_the_stall_wait(tmp_path):
    with StubBackend(stall_after_words=30) as stub:
        result, seconds = run_write("Write a 600-word note on tea.", "--base-url", stub.url, "--job", "stalled",
                                    home=tmp_path, env={"LONGWRITE_STALL_TIMEOUT_S": "3"})  # fmt: skip
    assert_one_error_line(result, "sent nothing for 3 s in the middle of an answer", "--job stalled --resume")
    assert seconds < 40


def test_write_waits_for_a_backend_slow_to_start_each_answer(tmp_path):
    """A server reading a long prompt sends nothing for longer than the first-byte wait: no false timeout."""
    with StubBackend(start_delay_s=2) as stub:
        result, _ = run_write("Write a 600-word note on tea.", "--base-url", stub.url, "--json", home=tmp_path,
                              env={"LONGWRITE_FIRST_BYTE_TIMEOUT_S": "1"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["status"] == "done"


def test_a_bad_endpoint_allow_list_stops_serve_before_any_model_starts(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "longwrite.cli", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60,
        env=clean_env(tmp_path, LONGWRITE_ALLOWED_ENDPOINTS="ftp://files.example"),
    )  # fmt: skip
    assert result.returncode == 2 and "LONGWRITE_ALLOWED_ENDPOINTS" in result.stderr
    assert "Traceback" not in result.stderr
