"""The second hardening pass: what a hostile client, a full disk, a trickling backend and Ctrl-C
broke, each as real processes (`longwrite serve` / `longwrite write`) on a stub backend
(tests/stub_backend.py, no model). Each test failed before its fix; run with `-s` for the figures
docs/SECURITY.md quotes.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import clean_env, start_cli
from tests.integration.test_hardening import AUTH, KEY, Served, chat, run_write, wait_until
from tests.stub_backend import MODEL, StubBackend


def backend_env(home: Path, stub: StubBackend, **extra: str) -> dict[str, str]:
    return clean_env(home, LONGWRITE_BASE_URL=stub.url, LONGWRITE_MODEL=MODEL, **extra)


def raw_post(port: int, path: str, body: bytes, headers: str = "", key: bool = True) -> tuple[int, dict]:
    """POST `body` as it is (a lone surrogate as the JSON escape \\ud800, say); the status and JSON answer."""
    auth = f"Authorization: Bearer {KEY}\r\n" if key else ""
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{auth}{headers}"
        f"Connection: close\r\n"
    )
    if "Transfer-Encoding" not in headers:
        request += f"Content-Length: {len(body)}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request.encode() + b"\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, {"raw": payload.decode("utf-8", "replace")}


# ---------------------------------------------------------------- 1. an auto chat whose client leaves


@pytest.mark.parametrize("stream", [False, True])
def test_an_auto_chat_frees_its_slot_when_its_client_leaves(tmp_path, capsys, stream):
    with StubBackend(word_delay_s=0.1) as stub:  # 10 words/s: a 600-word answer takes a minute
        server = Served(tmp_path, env=backend_env(tmp_path, stub))
        try:
            body = {"model": "auto", "messages": [{"role": "user", "content": "Write a 600-word note on owls."}],
                    "stream": stream}  # fmt: skip
            request = {"json": body, "headers": AUTH, "timeout": httpx.Timeout(3.0, connect=5.0)}
            with (
                pytest.raises(httpx.ReadTimeout),
                httpx.stream("POST", f"{server.url}/v1/chat/completions", **request) as answer,
            ):
                for _ in answer.iter_bytes():
                    pass
            left = time.monotonic()
            freed = wait_until(lambda: server.health()["writes_running"] == 0, 20, "the auto slot freed", 0.1)
        finally:
            server.stop()
    with capsys.disabled():
        print(f"\nauto chat (stream={stream}) whose client left after 3 s: slot free {freed:.1f} s later")
    assert time.monotonic() - left < 20


# ---------------------------------------------------------------- 2. a full disk under serve


@pytest.fixture
def small_disk(tmp_path):
    """A 400 KB tmpfs (root only: skipped elsewhere); resize(kb) gives it room again."""
    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs",
                                                        str(mount)], capture_output=True).returncode != 0:  # fmt: skip
        pytest.skip("mounting a small tmpfs needs root")

    def resize(kb: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={kb}k", str(mount)], check=True)

    try:
        yield mount, resize
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(folder: Path) -> Path:
    """Write a file into `folder` until its disk is full; the file, to delete for room again."""
    filler = folder / "filler"
    with contextlib.suppress(OSError), filler.open("wb", buffering=0) as out:
        while True:
            out.write(b"x" * 4096)
    return filler


def test_a_full_disk_under_serve_ends_the_job_as_an_error_that_resumes(tmp_path, small_disk, capsys):
    home, resize = small_disk
    resize(4000)  # room for the job to start; the test fills the rest once it writes
    with StubBackend(word_delay_s=0.004) as stub:
        server = Served(tmp_path, env=backend_env(home, stub))  # its log outside the small disk
        try:
            job = httpx.post(f"{server.url}/v1/writes", json={"instruction": "Write a 6000-word history of salt."},
                             headers=AUTH, timeout=10).json()["id"]  # fmt: skip
            describe = f"{server.url}/v1/writes/{job}"
            wait_until(lambda: httpx.get(describe, headers=AUTH).json()["progress"]["sections_done"] >= 1, 60, "one")
            filler = fill(home)  # not a byte left: the next checkpoint and the job's status both fail to save
            ended = wait_until(lambda: httpx.get(describe, headers=AUTH).json()["status"] != "running", 60, "ended")
            stopped = httpx.get(describe, headers=AUTH).json()
            assert stopped["status"] == "error" and f"/v1/writes/{job}/resume" in stopped["error"], stopped["error"]
            assert server.health()["writes_running"] == 0
            with httpx.stream("GET", f"{describe}/events", headers=AUTH, timeout=10) as events:  # the stream ends
                kinds = [line for line in events.iter_lines() if line.startswith("event: ")]
            assert kinds[-1] == "event: error"
            still_full = httpx.post(f"{describe}/resume", headers=AUTH, timeout=10)
            assert still_full.status_code == 503 and "free space" in still_full.json()["error"]["message"]
            filler.unlink()  # room again: the job resumes where it stopped, with no restart
            resumed = httpx.post(f"{describe}/resume", headers=AUTH, timeout=10)
            assert resumed.status_code == 202, resumed.text
            wait_until(lambda: httpx.get(describe, headers=AUTH).json()["status"] == "done", 120, "the job done")
            done = httpx.get(describe, headers=AUTH).json()
        finally:
            server.stop()
    assert done["progress"]["sections_done"] == done["progress"]["sections_total"]
    with capsys.disabled():
        print(f"\nfull disk under serve: the job ended as an error {ended:.1f} s after the disk filled, at "
              f"{stopped['progress']['words']:,} words; resumed once there was room, to "
              f"{done['progress']['words']:,} of {done['target_words']:,}")  # fmt: skip


# ---------------------------------------------------------------- 3. lone surrogates on a pass-through chat


def test_a_lone_surrogate_on_a_pass_through_chat_is_a_400(tmp_path):
    with StubBackend() as stub:
        server = Served(tmp_path, env=backend_env(tmp_path, stub))
        try:
            bodies = [
                b'{"model": "stub", "messages": [{"role": "user", "content": "hi \\ud800"}]}',
                b'{"model": "stub", "stream": true, "messages": [{"role": "user", "content": "hi \\ud800"}]}',
                b'{"model": "stub", "stop": "\\ud800", "messages": [{"role": "user", "content": "hi"}]}',
                b'{"model": "\\ud800", "messages": [{"role": "user", "content": "hi"}]}',
            ]
            answers = [raw_post(server.port, "/v1/chat/completions", body) for body in bodies]
            fine = raw_post(server.port, "/v1/chat/completions", b'{"model": "stub", "messages": '
                            b'[{"role": "user", "content": "hi"}]}')  # fmt: skip
        finally:
            server.stop()
    for status, answer in answers:
        assert status == 400 and "not valid text" in answer["error"]["message"], answer
    assert fine[0] == 200


# ---------------------------------------------------------------- 4. a plan file with a surrogate


def test_a_plan_file_with_a_lone_surrogate_is_one_line_and_exit_2(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text('{"title": "Tea", "sections": [{"title": "Leaves \\ud800", "words": 300}]}', encoding="utf-8")
    with StubBackend() as stub:
        result, _ = run_write("Write about tea.", "--plan-file", str(plan), "--base-url", stub.url, home=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "not valid text" in result.stderr and str(plan) in result.stderr


# ---------------------------------------------------------------- 5. Ctrl-C


@pytest.mark.parametrize("word_delay_s", [0.1, 5.0])
def test_ctrl_c_stops_a_write_within_2_s_and_the_job_resumes(tmp_path, capsys, word_delay_s):
    with StubBackend(word_delay_s=word_delay_s, slow_outlines=False) as stub:
        env = backend_env(tmp_path, stub)
        process = start_cli("write", "Write a 900-word essay on owls.", "--job", "owls", env=env)
        wait_until(lambda: stub.chat_requests >= 2, 30, "a section streaming")  # the outline, then a section
        time.sleep(1.5)
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        finally:
            process.kill()
        stopped_after = time.monotonic() - interrupted
        stderr = process.stderr.read()
    assert process.returncode == 130, stderr[-2000:]
    assert "longwrite write --job owls --resume" in stderr and "Traceback" not in stderr
    with StubBackend() as fast:
        result, _ = run_write("--job", "owls", "--resume", "--base-url", fast.url, "--json", home=tmp_path)
    assert result.returncode == 0 and json.loads(result.stdout.splitlines()[-1])["status"] == "done", result.stderr
    with capsys.disabled():
        print(f"\nCtrl-C with a backend at one word per {word_delay_s:g} s: exited in {stopped_after:.1f} s")
    assert stopped_after < 2.5


# ---------------------------------------------------------------- 6. a trickling backend in agent mode


def test_a_trickling_backend_fails_the_write_with_its_rate_and_the_resume_command(tmp_path, capsys):
    with StubBackend(word_delay_s=5.0, slow_outlines=False) as stub:
        result, seconds = run_write(
            "Write a 900-word essay on owls.", "--job", "trickle", home=tmp_path,
            env={"LONGWRITE_BASE_URL": stub.url, "LONGWRITE_MODEL": MODEL, "LONGWRITE_RATE_WINDOW_S": "12",
                 "LONGWRITE_MIN_TOKENS_PER_S": "0.5"},  # 2-3 tokens in any 12 s: under the floor at once
        )  # fmt: skip
    line = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 3 and line.startswith("error: "), result.stderr[-2000:]
    assert "tokens/s" in line and "LONGWRITE_MIN_TOKENS_PER_S" in line and "--job trickle --resume" in line
    with capsys.disabled():
        print(f"\nbackend at a token per 5 s, floor 0.5 over 12 s: exit 3 after {seconds:.0f} s: {line}")
    assert seconds < 60


# ---------------------------------------------------------------- 7. two framings of one body


def test_a_body_with_content_length_and_chunked_framing_is_a_400(tmp_path):
    with StubBackend() as stub:
        server = Served(tmp_path, env=backend_env(tmp_path, stub))
        try:
            body = b'{"instruction": "Write a 300-word note on tea."}'
            chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
            both = f"Content-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\n"
            status, answer = raw_post(server.port, "/v1/writes", chunked, headers=both)
            running = server.health()["writes_running"]
        finally:
            server.stop()
    assert status == 400 and running == 0, answer


# ---------------------------------------------------------------- 8. /health without the key


def test_health_without_the_key_does_not_multiply_backend_calls(tmp_path, capsys):
    with StubBackend() as stub:
        server = Served(tmp_path, env=backend_env(tmp_path, stub))
        try:
            before = stub.model_lists
            started = time.monotonic()

            def flood() -> None:
                with httpx.Client(timeout=30) as client:
                    for _ in range(30):
                        assert client.get(f"{server.url}/health").json()["backend_up"] is True

            clients = [threading.Thread(target=flood) for _ in range(10)]
            for client in clients:
                client.start()
            for client in clients:
                client.join()
            seconds = time.monotonic() - started
            calls = stub.model_lists - before
            keyed_before = stub.model_lists
            server.health()  # with the key: asked now
            keyed = stub.model_lists - keyed_before
        finally:
            server.stop()
    with capsys.disabled():
        print(f"\n300 /health without the key in {seconds:.1f} s: {calls} backend /models calls")
    assert calls <= seconds / 5 + 2 and keyed == 1


# ---------------------------------------------------------------- 9. the smaller ones


def test_the_api_description_needs_the_key_and_odd_bodies_get_precise_messages(tmp_path):
    with StubBackend() as stub:
        server = Served(tmp_path, env=backend_env(tmp_path, stub))
        try:
            described = {path: httpx.get(f"{server.url}{path}", timeout=10).status_code
                         for path in ("/openapi.json", "/docs", "/redoc")}  # fmt: skip
            keyed = httpx.get(f"{server.url}/openapi.json", headers=AUTH, timeout=10).status_code
            huge = raw_post(
                server.port,
                "/v1/writes",
                b'{"instruction": "Write a note.", "target_words": 100000000000000000000000000000001}',
            )
            role = raw_post(
                server.port,
                "/v1/chat/completions",
                b'{"model": "agentwrite", "messages": [{"role": "bogus", "content": "Write."}]}',
            )
        finally:
            server.stop()
    assert described == {"/openapi.json": 401, "/docs": 401, "/redoc": 401} and keyed == 200
    assert huge[0] == 400 and "33 digits" in huge[1]["error"]["message"], huge
    assert role[0] == 400 and "role" in role[1]["error"]["message"] and '"user"' in role[1]["error"]["message"]


def test_sigterm_during_a_chat_logs_no_traceback(tmp_path):
    with StubBackend(word_delay_s=0.05) as stub:
        server = Served(tmp_path, env=backend_env(tmp_path, stub))
        client = threading.Thread(target=_post_ignoring_errors, args=(
            f"{server.url}/v1/chat/completions", chat("Write a 2000-word essay on tea.")))  # fmt: skip
        client.start()
        wait_until(lambda: server.health()["writes_running"] == 1, 20, "the chat write running")
        server.stop()
        client.join(timeout=60)
    log = server.log.read_text()
    assert "Traceback" not in log and "CancelledError" not in log, log[-3000:]


def _post_ignoring_errors(url: str, body: dict) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server goes away mid-answer, as it should
        httpx.post(url, json=body, headers=AUTH, timeout=60)


def test_output_on_a_full_disk_is_exit_5_with_no_partial_file(tmp_path, small_disk):
    disk, _resize = small_disk
    out = disk / "essay.md"
    (disk / "filler").write_bytes(b"x" * (400 * 1024 - 8192))  # a few KB left: less than the document
    with StubBackend() as stub:
        result, _ = run_write("Write a 3000-word essay on tea.", "--base-url", stub.url, "-o", str(out),
                              home=tmp_path)  # fmt: skip
    assert result.returncode == 5, result.stderr[-2000:]
    assert not out.exists() and not (disk / "essay.md.partial").exists()
    assert len(result.stdout.split()) > 2000  # the text is not lost: it went to stdout
