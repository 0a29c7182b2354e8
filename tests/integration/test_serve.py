"""`longwrite serve` as a real process, used by the official openai client and langchain-openai."""

from __future__ import annotations

import json
import re
import signal
import time

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI

from longwrite.core.settings import Settings
from longwrite.core.text import count_words, length_score
from longwrite.model.embedded import EmbeddedServer
from tests.integration.conftest import ServeProcess, clean_env, embedded_env

pytestmark = pytest.mark.integration
KEY = "integration-key"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`longwrite serve` on the true embedded default (it starts and stops its own llama.cpp)."""
    home = tmp_path_factory.mktemp("serve-home")
    env = clean_env(home)
    server = ServeProcess(env, api_key=KEY)
    yield server
    server.stop()


def test_openai_client_streams_an_agentwrite_answer(served):
    client = openai.OpenAI(base_url=f"{served.url}/v1", api_key=KEY)
    assert {"agentwrite", "auto", "smollm2-135m-instruct"} <= {m.id for m in client.models.list()}
    stream = client.chat.completions.create(
        model="agentwrite",
        messages=[{"role": "user", "content": "Write a 600-word article about the history of tea."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, info, usage = [], None, None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.choices and chunk.choices[0].finish_reason == "stop":
            info = chunk.model_extra["longwrite"]
        usage = chunk.usage or usage
    text = "".join(pieces)
    assert info["path"] == "agent" and info["words"] == count_words(text)
    assert length_score(600, count_words(text)) >= 80
    assert usage.completion_tokens > 400


def test_non_streamed_answer_langchain_and_proxy(served):
    client = openai.OpenAI(base_url=f"{served.url}/v1", api_key=KEY)
    answer = client.chat.completions.create(
        model="agentwrite",
        messages=[{"role": "user", "content": "Write a short thank-you note to a librarian."}],
        extra_body={"target_words": 120},
    )
    content = answer.choices[0].message.content
    assert answer.model_extra["longwrite"]["target_words"] == 120 and length_score(120, count_words(content)) >= 50
    assert answer.usage.total_tokens > answer.usage.prompt_tokens

    chat = ChatOpenAI(base_url=f"{served.url}/v1", api_key=KEY, model="agentwrite", extra_body={"target_words": 100})
    reply = chat.invoke("Write a short note about rain.")
    assert count_words(reply.content) > 40

    direct = client.chat.completions.create(
        model="smollm2-135m-instruct", messages=[{"role": "user", "content": "Say hello."}], max_tokens=16
    )
    assert direct.choices[0].message.content.strip()

    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{served.url}/v1", api_key="wrong").models.list()
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "Hi"}])


def _wait(server: ServeProcess, job_id: str, until, timeout_s: float = 900.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = httpx.get(f"{server.url}/v1/writes/{job_id}", headers=server.headers, timeout=30).json()
        if until(job):
            return job
        time.sleep(1.0)
    raise AssertionError(f"job {job_id} did not get there: {job['status']} {job['progress']}")


def _sections(text: str) -> list[str]:
    return [part for part in text.split("\n## ")[1:]]


def test_job_survives_a_killed_server_and_resumes(embedded, tmp_path):
    env = embedded_env(embedded, tmp_path)
    server = ServeProcess(env)
    started = httpx.post(f"{server.url}/v1/writes", json={"instruction": "Write a 3000-word guide to keeping bees."})
    assert started.status_code == 202
    job_id = started.json()["id"]
    _wait(server, job_id, lambda job: job["progress"]["sections_done"] >= 2)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)

    server = ServeProcess(env, port=server.port)
    try:
        job = httpx.get(f"{server.url}/v1/writes/{job_id}").json()
        assert job["status"] == "interrupted"
        before = _sections(job["text"])
        assert len(before) >= 2
        assert httpx.post(f"{server.url}/v1/writes/{job_id}/resume").status_code == 202
        job = _wait(server, job_id, lambda job: job["status"] != "running")
        assert job["status"] == "done", job["error"]
        after = _sections(job["text"])
        assert after[: len(before)] == before  # the sections written before the kill are unchanged
        headings = [section.split("\n", 1)[0] for section in after]
        assert len(headings) == len(set(headings)) == job["progress"]["sections_total"]  # none written twice
        assert job["progress"]["length_score"] >= 80
        events = httpx.get(f"{server.url}/v1/writes/{job_id}/events", timeout=30).text
        assert events.count("event: section_finished") == len(after) and "event: done" in events
    finally:
        server.stop()


def test_backend_stopped_mid_run(tmp_path):
    backend = EmbeddedServer(Settings(home=tmp_path))
    endpoint = backend.start()
    env = embedded_env(endpoint, tmp_path)
    server = ServeProcess(env)
    try:
        job_id = httpx.post(
            f"{server.url}/v1/writes", json={"instruction": "Write a 2000-word essay on rivers."}
        ).json()["id"]
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)
        stream = client.chat.completions.create(
            model="agentwrite", messages=[{"role": "user", "content": "Write an 800-word essay on clouds."}],
            stream=True,
        )  # fmt: skip
        _wait(server, job_id, lambda job: job["progress"]["sections_done"] >= 1)
        backend.stop()
        with pytest.raises(
            openai.APIError, match=r"could not be reached|answered HTTP|stopped or dropped the connection"
        ):
            for _chunk in stream:
                pass
        job = _wait(server, job_id, lambda job: job["status"] != "running", timeout_s=120)
        # Stopping the server either refuses the next request or cuts the answer being streamed.
        assert job["status"] == "error"
        assert re.search(r"could not be reached|stopped or dropped the connection", job["error"])
        events = httpx.get(f"{server.url}/v1/writes/{job_id}/events", timeout=30).text
        last = events.strip().split("\n\n")[-1]
        assert last.startswith("event: error") and json.loads(last.split("data: ", 1)[1])["message"]
        assert httpx.post(f"{server.url}/v1/writes/{job_id}/resume").status_code == 202  # still resumable
        health = httpx.get(f"{server.url}/health").json()
        assert health["backend_up"] is False
    finally:
        server.stop()
        backend.stop()
