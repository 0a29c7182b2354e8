"""End-to-end writes on the real embedded model (short targets, so CI stays fast)."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from longwrite.agent.jobs import JobStore
from longwrite.core.text import count_words
from tests.integration.conftest import clean_env, embedded_env, start_cli
from tests.unit.scripted import prose

pytestmark = pytest.mark.integration


def _summary(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_the_installed_llama_cpp_leaves_amx_out():
    # Built with AMX, llama.cpp dies on its first answer on machines that list AMX but fault on
    # its tile registers; pyproject.toml's config-settings-package builds it without.
    import llama_cpp

    features = llama_cpp.llama_print_system_info().decode()
    assert "AMX_INT8 = 1" not in features, (
        "llama-cpp-python was built with AMX; reinstall it from the lock: "
        ".venv/bin/uv sync --frozen --extra all --extra dev --reinstall-package llama-cpp-python"
    )


def test_write_on_the_embedded_default_starts_and_stops_its_own_server(tmp_path):
    env = clean_env(tmp_path)
    out = tmp_path / "note.md"
    result = subprocess.run(
        [sys.executable, "-m", "longwrite.cli", "write", "Write a 150-word thank-you note to a librarian.",
         "-o", str(out), "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = _summary(result.stdout)
    assert summary["backend"].startswith("embedded SmolLM2")
    assert summary["target"] == 150 and summary["plan_source"] == "single"
    assert summary["words"] == count_words(out.read_text()) > 0
    assert summary["length_score"] >= 70
    assert summary["rep_4"] < 0.25
    (log,) = (tmp_path / "logs").glob("embedded-*.log")
    port = int(re.search(r"embedded-(\d+)\.log", log.name).group(1))
    with socket.socket() as sock:  # the server is gone once the command has returned
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_agent_lands_near_the_target_without_loops(embedded, tmp_path):
    out = tmp_path / "doc.md"
    result = subprocess.run(
        [sys.executable, "-m", "longwrite.cli", "write", "Write a 600-word article about the history of tea.",
         "-o", str(out), "--json"],
        capture_output=True, text=True, env=embedded_env(embedded, tmp_path), timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = _summary(result.stdout)
    document = out.read_text()
    assert summary["sections"] >= 2 and summary["plan_source"] in ("model", "fallback")
    # a 135M model varies from run to run; these bounds still fail for an agent that ignores length
    assert summary["length_score"] >= 60, summary
    assert summary["rep_4"] < 0.3, summary
    headings = re.findall(r"^## (.+)$", document, flags=re.MULTILINE)
    assert len(headings) == summary["sections"]
    assert re.search(r"section \d+/\d+: \d+ words - [\d,]+/600 words - [\d.]+ words/s", result.stderr)


def test_model_mode_is_one_plain_call(embedded, tmp_path):
    env = embedded_env(embedded, tmp_path, LONGWRITE_CONTEXT_TOKENS="768")  # a short cap keeps it quick
    result = subprocess.run(
        [sys.executable, "-m", "longwrite.cli", "write", "Write a 300-word poem about rain.", "--mode", "model",
         "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = _summary(result.stdout)
    assert summary["mode"] == "model" and summary["job"] is None
    assert summary["words"] > 0


def _wait_for_sections(process: subprocess.Popen[str], count: int, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if sum(line.startswith("section ") for line in lines) >= count:
            return lines
    raise AssertionError(f"did not see {count} finished sections: {''.join(lines)}")


def test_sigkill_mid_run_then_resume_keeps_sections_and_writes_none_twice(embedded, tmp_path):
    env = embedded_env(embedded, tmp_path)
    job = "killed-job"
    process = start_cli("write", "Write a 1500-word guide to growing tomatoes.", "--job", job, env=env)
    _wait_for_sections(process, 1, timeout=600)
    # the progress line is printed as the section ends; its checkpoint lands a moment later
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with JobStore(tmp_path / "jobs.sqlite") as store:
            if store.values(job).get("sections"):
                break
        time.sleep(0.05)
    process.kill()  # SIGKILL: no handler runs
    process.wait(timeout=30)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        saved = store.values(job)
    before = saved["sections"]
    assert 1 <= len(before) < len(saved["plan"])  # killed mid-run
    resumed = subprocess.run(
        [sys.executable, "-m", "longwrite.cli", "write", "--job", job, "--resume", "--json"],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    with JobStore(tmp_path / "jobs.sqlite") as store:
        after = store.values(job)
    assert [s["text"] for s in after["sections"][: len(before)]] == [s["text"] for s in before]
    assert [s["index"] for s in after["sections"]] == list(range(len(after["plan"])))
    document = resumed.stdout
    for section in before:
        assert document.count(section["text"]) == 1
    headings = re.findall(r"^## (.+)$", document, flags=re.MULTILINE)
    assert len(headings) == len(set(headings)) == len(after["plan"])


def test_ctrl_c_leaves_a_resumable_job_and_stops_the_embedded_server(tmp_path):
    env = clean_env(tmp_path)
    process = start_cli("write", "Write a 1000-word essay about bridges.", "--job", "stopped", env=env)
    _wait_for_sections(process, 1, timeout=600)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert "longwrite write --job stopped --resume" in stderr
    with JobStore(tmp_path / "jobs.sqlite") as store:
        assert len(store.values("stopped")["sections"]) >= 1
    (log,) = (tmp_path / "logs").glob("embedded-*.log")
    port = int(re.search(r"embedded-(\d+)\.log", log.name).group(1))
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_a_prompt_over_the_servers_context_is_reported_with_both_sizes(embedded, tmp_path):
    """The embedded server (llama-cpp-python) answers a streamed too-long prompt with an empty
    stream; the user still reads the prompt's size and the model's context, with what to do."""
    instruction = "Write a 300-word note on tea, drawing on these notes: " + prose(3000, seed="notes")
    env = embedded_env(embedded, tmp_path, LONGWRITE_CONTEXT_TOKENS="32768", LONGWRITE_MAX_INSTRUCTION_CHARS="200000")
    result = subprocess.run(
        [sys.executable, "-m", "longwrite.cli", "write", instruction, "--mode", "model"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert re.search(r"refused the prompt as too long: the prompt needs \d{1,2},\d{3} tokens", error), error
    assert f"the model's context is {embedded.context_tokens:,}" in error
    assert "no chat content" not in result.stderr
