"""After the first draft, on the embedded model: a section written again, versions, restore,
extend (the CLI), and a server killed mid-rewrite that resumes it (`longwrite serve`)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx
import pytest

from longwrite.agent.events import document_of
from longwrite.agent.jobs import JobStore
from longwrite.core.settings import Settings
from longwrite.core.text import count_words
from tests.integration.conftest import ServeProcess, embedded_env

pytestmark = pytest.mark.integration
INSTRUCTION = "Write a 1200-word history of tea, from China to the tea shops of today."


def _cli(*args: str, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "longwrite.cli", *args], capture_output=True, text=True, env=env,
                            timeout=timeout)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _state(home) -> dict:
    with JobStore(Settings(home=home).jobs_db) as store:
        return store.values("tea")


def test_rewrite_versions_restore_and_extend_on_the_embedded_default(embedded, tmp_path):
    env = embedded_env(embedded, tmp_path)
    _cli("write", INSTRUCTION, "--job", "tea", "-o", str(tmp_path / "first.md"), env=env)
    first = _state(tmp_path)
    old = first["sections"]
    assert len(old) >= 2  # the model plans 2 to 5 sections for 1,200 words; "3 onwards" may be none

    revised = _cli("jobs", "revise", "tea", "--section", "2", "--note", "more concrete dates and names", "--json",
                   env=env)  # fmt: skip
    summary = json.loads(revised.stdout.splitlines()[-1])
    assert summary["change"] == "section 2 rewritten" and summary["status"] == "done"
    new = _state(tmp_path)["sections"]
    assert len(new) == len(old)
    assert [s["text"] for s in new[:1] + new[2:]] == [s["text"] for s in old[:1] + old[2:]]  # byte for byte
    assert new[1]["text"] != old[1]["text"]
    budget = first["plan"][1]["words"]
    assert 0.8 * budget <= count_words(new[1]["text"]) <= 1.2 * budget, (count_words(new[1]["text"]), budget)

    versions = json.loads(_cli("jobs", "versions", "tea", "--json", env=env).stdout)
    assert len(versions) >= 2 and versions[0]["change"] == "written"
    _cli("jobs", "restore", "tea", versions[0]["id"], env=env)
    assert document_of(_state(tmp_path)) == (tmp_path / "first.md").read_text()

    before = _state(tmp_path)
    _cli("jobs", "extend", "tea", "--words", "400", "-o", str(tmp_path / "longer.md"), env=env)
    after = _state(tmp_path)
    assert [s["text"] for s in after["sections"][: len(before["sections"])]] == [s["text"] for s in before["sections"]]
    added = count_words(document_of(after)) - count_words(document_of(before))
    assert added >= 300, added
    assert (tmp_path / "longer.md").read_text() == document_of(after)


def test_a_server_killed_mid_rewrite_resumes_it_to_one_complete_rewrite(embedded, tmp_path):
    env = embedded_env(embedded, tmp_path)
    server = ServeProcess(env)
    try:
        job_id = httpx.post(f"{server.url}/v1/writes", json={"instruction": INSTRUCTION}).json()["id"]
        written = _wait(server, job_id)
        assert written["status"] == "done", written["error"]
        started = httpx.post(f"{server.url}/v1/writes/{job_id}/sections/2/rewrite", json={"note": "for children"})
        assert started.status_code == 202
        time.sleep(3)  # the rewrite is under way (a section takes 10 s or more here)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
    except BaseException:
        server.stop()
        raise

    server = ServeProcess(env, port=server.port)
    try:
        job = httpx.get(f"{server.url}/v1/writes/{job_id}").json()
        assert job["status"] == "interrupted"
        assert httpx.post(f"{server.url}/v1/writes/{job_id}/resume").status_code == 202
        job = _wait(server, job_id)
        assert job["status"] == "done", job["error"]
        old, new = written["sections"], job["sections"]
        assert len(new) == len(old)  # no section lost or written twice
        assert [s["text"] for s in new[:1] + new[2:]] == [s["text"] for s in old[:1] + old[2:]]
        assert new[1]["text"] != old[1]["text"] and job["text"].count(new[1]["text"]) == 1
        changes = [v["change"] for v in httpx.get(f"{server.url}/v1/writes/{job_id}/versions").json()["data"]]
        assert changes == ["written", "section 2 rewritten"]
    finally:
        server.stop()


def _wait(server: ServeProcess, job_id: str, timeout_s: float = 900.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = httpx.get(f"{server.url}/v1/writes/{job_id}", timeout=30).json()
        if job["status"] != "running":
            return job
        time.sleep(1.0)
    raise AssertionError(f"job {job_id} still running after {timeout_s:.0f} s")
