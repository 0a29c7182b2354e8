"""The HTTP API against a scripted chat model: OpenAI shapes, streaming, jobs, bad input, keys."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from longwrite.core.settings import Settings
from longwrite.core.text import count_words
from longwrite.model.client import Endpoint
from longwrite.ui.errors import ApiError
from longwrite.ui.proxy import BackendProxy
from longwrite.ui.server import create_app
from longwrite.ui.service import WriteService
from tests.unit.scripted import ScriptedChatModel, connection_lost, prose, scripted_context

KEY = "test-key-123"
AUTH = {"Authorization": f"Bearer {KEY}"}
BACKEND_MODEL = "backend-model"


class Script:
    """A model that plans two sections, writes each to its budget, and answers a bare instruction
    (the model-first call) with `direct_words` words."""

    def __init__(self, direct_words: int = 60, fail_on_section: int | None = None) -> None:
        self.direct_words = direct_words
        self.fail_on_section = fail_on_section
        self.sections = 0
        self.calls = 0

    def __call__(self, messages, options) -> str:
        last = messages[-1].content
        if "Make an outline" in last:
            return "Title: Tea\n1. Origins: where tea began\n2. Trade: how tea spread"
        if "Write the" in last:
            self.sections += 1
            if self.fail_on_section == self.sections:
                raise connection_lost()  # the backend went away mid-run
        words = int(options.get("extra_body", {}).get("max_tokens", 100))
        if len(messages) == 1:  # the instruction alone: the model-first attempt
            return prose(self.direct_words, seed="d")
        self.calls += 1
        return prose(max(10, int(words / 1.3)), seed=f"c{self.calls}")  # new words in every call


@pytest.fixture
def make_client(tmp_path, monkeypatch):
    clients = []

    def make(script: Script | None = None, api_key: str | None = KEY, **settings_overrides) -> TestClient:
        settings = Settings(home=tmp_path, **settings_overrides)
        script = script or Script()

        def context(self, cancel=None, endpoint=None):
            return scripted_context(settings=settings, make_model=lambda: ScriptedChatModel(reply=script),
                                section_words=250, cancel=cancel)  # fmt: skip

        async def models(self, timeout_s=None, fresh=False):
            return [BACKEND_MODEL]

        monkeypatch.setattr(WriteService, "context", context)
        monkeypatch.setattr(BackendProxy, "models", models)
        endpoint = Endpoint(base_url="http://127.0.0.1:9/v1", model=BACKEND_MODEL, label="scripted")
        client = TestClient(create_app(endpoint, settings, api_key), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def chat(client: TestClient, body: dict, headers: dict | None = None):
    return client.post("/v1/chat/completions", json=body, headers=AUTH if headers is None else headers)


def ask(content: str, **extra) -> dict:
    return {"model": "agentwrite", "messages": [{"role": "user", "content": content}], **extra}


def sse_payloads(text: str) -> list:
    return [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]


def wait_for(client: TestClient, job_id: str, seconds: float = 30.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(f"/v1/writes/{job_id}", headers=AUTH).json()
        if job["status"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still running")


def assert_error(response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "code"}
    assert "Traceback" not in response.text and "/ui/" not in response.text
    for word in words:
        assert word in error["message"], error["message"]


# ---------------------------------------------------------------- answers


def test_agentwrite_answer_has_openai_shape_and_lands_on_target(make_client):
    client = make_client()
    response = chat(client, ask("Write a 600-word article about tea."))
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == "agentwrite"
    content = body["choices"][0]["message"]["content"]
    assert body["choices"][0]["finish_reason"] == "stop"
    assert 540 <= count_words(content) <= 660
    assert content.startswith("# Tea\n\n## Origins")
    usage = body["usage"]
    assert (
        usage["completion_tokens"] > 500
        and usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    )
    assert body["longwrite"]["path"] == "agent" and body["longwrite"]["target_words"] == 600


def test_an_agentwrite_answer_is_kept_as_a_job_the_client_can_find(make_client):
    client = make_client()
    response = chat(client, ask("Write a 600-word article about tea."))
    job = response.headers["x-longwrite-job"]
    assert response.json()["longwrite"]["job"] == job
    kept = client.get(f"/v1/writes/{job}", headers=AUTH).json()
    assert kept["status"] == "done" and kept["text"] == response.json()["choices"][0]["message"]["content"]
    listed = client.get("/v1/writes", headers=AUTH).json()["data"]
    assert [entry["id"] for entry in listed] == [job] and listed[0]["status"] == "done"
    streamed = chat(client, ask("Write a 600-word article about tea.", stream=True))
    assert streamed.headers["x-longwrite-job"] not in (None, job)
    assert client.get("/v1/writes", headers=AUTH).json()["data"][0]["id"] == streamed.headers["x-longwrite-job"]


def test_stream_sends_openai_chunks_that_add_up_to_the_document(make_client):
    client = make_client()
    request = ask("Write about tea.", target_words=500, stream=True, stream_options={"include_usage": True})
    response = chat(client, request)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    payloads = sse_payloads(response.text)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and chunks[-2]["longwrite"]["path"] == "agent"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    streamed = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert streamed.startswith("# Tea\n\n## Origins\n\n") and streamed.endswith("\n")
    assert 450 <= count_words(streamed) <= 550
    # the same text the non-streamed answer would have: section by section, headings included
    assert streamed.count("## ") == 2


def test_auto_keeps_a_good_model_answer(make_client):
    client = make_client(Script(direct_words=500))
    body = chat(client, {**ask("Write a 500-word note on tea."), "model": "auto"}).json()
    assert body["longwrite"]["path"] == "model" and body["model"] == "auto"
    assert 450 <= count_words(body["choices"][0]["message"]["content"]) <= 550


def test_auto_continues_a_short_model_answer_with_the_agent(make_client):
    client = make_client(Script(direct_words=120))
    body = chat(client, {**ask("Write a 900-word essay on tea."), "model": "auto"}).json()
    info = body["longwrite"]
    assert info["path"] == "model+agent" and "120 of 900 words" in info["reason"]
    content = body["choices"][0]["message"]["content"]
    opening = prose(120, seed="d")
    assert opening[:200] in content  # the model's text is kept as the opening
    assert content.index(opening[:200]) < content.index("## Origins")
    assert info["length_score"] >= 80


def test_a_backend_model_held_to_length_is_one_call_written_here_and_streamed(make_client):
    client = make_client(Script(direct_words=2000))  # left alone, the model runs far past the 300 asked
    request = {**ask("Write a 300-word note on tea."), "model": BACKEND_MODEL, "hold_length": True}
    body = chat(client, request).json()
    assert body["model"] == BACKEND_MODEL and body["longwrite"]["path"] == "model"
    written = body["choices"][0]["message"]["content"]
    assert 250 <= count_words(written) <= 300 * 1.45 * 1.5  # capped from the target (a token a word here)
    streamed = chat(client, {**request, "stream": True})
    chunks = [json.loads(p) for p in sse_payloads(streamed.text)[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert count_words(text) == count_words(written)  # the answer arrives whole, as a one-section document
    refused = chat(client, {**ask("Write a 300-word note on tea."), "hold_length": True})
    assert_error(refused, 400, "hold_length", "agentwrite controls the length itself")


def test_models_lists_the_agent_auto_and_backend(make_client):
    client = make_client()
    ids = [m["id"] for m in client.get("/v1/models", headers=AUTH).json()["data"]]
    assert ids == ["agentwrite", "auto", BACKEND_MODEL]
    assert client.get("/health", headers=AUTH).json()["max_concurrent_writes"] == 2


def test_a_backend_that_stops_is_reported_down_at_once(tmp_path):
    """The model list is cached for proxied chats, but health must never answer from the cache."""
    backend = {"up": True}

    def answer(request: httpx.Request) -> httpx.Response:
        if not backend["up"]:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"data": [{"id": BACKEND_MODEL}]})

    endpoint = Endpoint(base_url="http://127.0.0.1:9/v1", model=BACKEND_MODEL, label="mocked")
    proxy = BackendProxy(endpoint, Settings(home=tmp_path))
    proxy.client = httpx.AsyncClient(base_url=endpoint.base_url + "/", transport=httpx.MockTransport(answer))

    async def probe() -> tuple[list[str], bool]:
        listed = await proxy.models()
        backend["up"] = False
        try:
            await proxy.models(fresh=True)
        except ApiError as error:
            return listed, error.status == 503
        return listed, False

    listed, reported_down = asyncio.run(probe())
    assert listed == [BACKEND_MODEL] and reported_down
    with pytest.raises(ApiError):  # nor does a down backend leave a stale list for the chats
        asyncio.run(proxy.models())


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"model": "agentwrite"}, 400, ["messages", "missing"]),
        ({"model": "agentwrite", "messages": []}, 400, ["messages"]),
        (ask(""), 400, ["empty"]),
        (ask("   "), 400, ["empty"]),
        ({"model": "agentwrite", "messages": [{"role": "system", "content": "Be brief."}]}, 400, ["empty"]),
        ({"model": "agentwrite", "messages": [{"role": "user"}]}, 400, ["empty"]),
        ({**ask("Write."), "model": "gpt-9"}, 404, ["gpt-9", "/v1/models"]),
        (ask("Write.", target_words=-5), 400, ["target_words", "positive"]),
        (ask("Write.", target_words=0), 400, ["target_words", "positive"]),
        (ask("Write.", target_words=12.5), 400, ["target_words", "whole number"]),
        (ask("Write.", target_words="900"), 400, ["target_words", "whole number"]),
        (ask("Write.", target_words=10**9), 400, ["cap", "100,000"]),
        (ask("Write a 50000000-word saga."), 400, ["cap"]),
        (ask("Write.", stream="yes"), 400, ["stream", "true or false"]),
        (ask("x" * 60_000), 413, ["60,000 characters"]),
    ],
)
def test_bad_chat_requests_get_a_clear_4xx(make_client, body, status, words):
    assert_error(chat(make_client(), body), status, *words)


def test_body_that_is_not_json(make_client):
    response = make_client().post("/v1/chat/completions", content=b"{not json", headers=AUTH)
    assert_error(response, 400, "not valid JSON")


def test_oversized_body_is_refused_before_parsing(make_client):
    client = make_client(max_request_bytes=1_000)
    assert_error(chat(client, ask("y" * 5_000)), 413, "bytes")


def test_keys(make_client):
    client = make_client()
    assert_error(chat(client, ask("Write."), headers={}), 401, "Authorization: Bearer")
    assert_error(chat(client, ask("Write."), headers={"Authorization": "Bearer nope"}), 401, "wrong")
    assert_error(client.get("/v1/models"), 401)
    assert client.get("/health").status_code == 200  # health is open, for load balancers
    assert client.head("/health").status_code == 200
    assert set(client.get("/health").json()) == {"status", "backend_up"}  # the details need the key
    assert "backend" in client.get("/health", headers=AUTH).json()


def test_a_chunked_body_over_the_limit_is_refused_and_the_key_comes_first(make_client):
    client = make_client(max_request_bytes=1_000)

    def body():  # no Content-Length: the body is sent chunked
        yield from (b"x" * 100 for _ in range(100))

    assert_error(client.post("/v1/chat/completions", content=body(), headers=AUTH), 413, "over the limit")
    assert_error(client.post("/v1/chat/completions", content=body()), 401, "Authorization: Bearer")


def test_no_url_credentials_appear_in_what_the_server_says():
    from longwrite.model.client import Endpoint

    endpoint = Endpoint(base_url="http://user:secret@backend.example:8001/v1", model="m")
    assert "secret" not in endpoint.backend and "user" not in endpoint.backend
    assert endpoint.backend == "m at http://***@backend.example:8001/v1"


def test_no_key_configured_lets_everyone_in(make_client):
    client = make_client(api_key=None)
    assert client.get("/v1/models").status_code == 200


def test_full_server_answers_429_with_retry_after(make_client):
    client = make_client(max_concurrent_writes=1)
    service = client.app.state.service
    service.take_slot()  # a write is running
    try:
        response = chat(client, ask("Write about tea.", target_words=300))
        assert_error(response, 429, "retry")
        assert int(response.headers["Retry-After"]) > 0
        assert_error(client.post("/v1/writes", json={"instruction": "Write."}, headers=AUTH), 429)
    finally:
        service.slots.release()
    assert chat(client, ask("Write about tea.", target_words=300)).status_code == 200


# ---------------------------------------------------------------- jobs


def test_job_runs_reports_progress_and_events(make_client):
    client = make_client()
    started = client.post("/v1/writes", json={"instruction": "Write a 700-word essay on tea."}, headers=AUTH)
    assert started.status_code == 202
    job_id = started.json()["id"]
    job = wait_for(client, job_id)
    assert job["status"] == "done" and job["target_words"] == 700
    assert job["progress"]["sections_done"] == job["progress"]["sections_total"] == 2
    assert job["progress"]["length_score"] >= 90 and job["text"].startswith("# Tea")
    events = client.get(f"/v1/writes/{job_id}/events", headers=AUTH).text
    names = [line.split(": ", 1)[1] for line in events.splitlines() if line.startswith("event: ")]
    assert names == ["plan", "section_finished", "section_finished", "done"]
    assert_error(client.post(f"/v1/writes/{job_id}/resume", headers=AUTH), 409, "already finished")
    assert_error(client.delete(f"/v1/writes/{job_id}", headers=AUTH), 409, "already done")


def test_backend_failure_mid_job_leaves_it_resumable(make_client):
    client = make_client(Script(fail_on_section=2))
    job_id = client.post("/v1/writes", json={"instruction": "Write a 700-word essay on tea."}, headers=AUTH).json()[
        "id"
    ]
    job = wait_for(client, job_id)
    assert job["status"] == "error" and "could not be reached" in job["error"]
    assert job["progress"]["sections_done"] == 1
    first_section = job["text"]
    events = client.get(f"/v1/writes/{job_id}/events", headers=AUTH).text
    assert "event: error" in events
    assert client.post(f"/v1/writes/{job_id}/resume", headers=AUTH).status_code == 202
    job = wait_for(client, job_id)
    assert job["status"] == "done" and job["text"].startswith(first_section.rstrip())
    assert job["text"].count("## Origins") == 1


def test_backend_failure_mid_stream_sends_an_error_event(make_client):
    client = make_client(Script(fail_on_section=2))
    response = chat(client, ask("Write a 700-word essay on tea.", stream=True))
    payloads = sse_payloads(response.text)
    assert "[DONE]" not in payloads
    error = json.loads(payloads[-1])["error"]
    assert error["type"] == "backend_error" and "could not be reached" in error["message"]


def test_cancel_then_cancel_again_then_resume(make_client):
    client = make_client()
    job_id = client.post("/v1/writes", json={"instruction": "Write a 3000-word essay on tea."}, headers=AUTH).json()[
        "id"
    ]
    assert client.delete(f"/v1/writes/{job_id}", headers=AUTH).json()["status"] == "cancelled"
    job = wait_for(client, job_id)
    assert job["status"] == "cancelled"
    assert_error(client.delete(f"/v1/writes/{job_id}", headers=AUTH), 409, "already cancelled")
    assert client.post(f"/v1/writes/{job_id}/resume", headers=AUTH).status_code == 202
    assert wait_for(client, job_id)["status"] == "done"


def test_a_plan_only_job_waits_planned_then_writes_the_edited_plan_as_the_same_job(make_client):
    client = make_client()
    started = client.post("/v1/writes", json={"instruction": "Write a 700-word essay on tea.", "plan_only": True},
                          headers=AUTH)  # fmt: skip
    assert started.status_code == 202
    job_id = started.json()["id"]
    job = wait_for(client, job_id)
    assert job["status"] == "planned" and [s["title"] for s in job["plan"]] == ["Origins", "Trade"]
    assert job["text"] == "" and client.get("/health", headers=AUTH).json()["writes_running"] == 0
    events = client.get(f"/v1/writes/{job_id}/events", headers=AUTH).text
    assert [line[7:] for line in events.splitlines() if line.startswith("event: ")] == ["plan", "planned"]
    assert_error(client.post(f"/v1/writes/{job_id}/resume", json={"plan": [{"title": "Roots", "words": 0}]},
                             headers=AUTH), 400, "plan", "positive")  # fmt: skip
    assert wait_for(client, job_id)["status"] == "planned"  # a refused edit leaves it as it was

    plan = [{"title": "Roots", "points": "where tea began", "words": 300}, {"title": "Routes", "words": 300},
            {"title": "Rituals", "points": "how tea is drunk", "words": 200}]  # fmt: skip
    resumed = client.post(f"/v1/writes/{job_id}/resume", json={"plan": plan, "title": "Tea, Retold"}, headers=AUTH)
    assert resumed.status_code == 202 and resumed.json()["id"] == job_id
    job = wait_for(client, job_id)
    assert job["status"] == "done" and job["target_words"] == 800 and job["text"].startswith("# Tea, Retold")
    assert [line for line in job["text"].splitlines() if line.startswith("## ")] == ["## Roots", "## Routes",
                                                                                     "## Rituals"]  # fmt: skip
    again = client.post(f"/v1/writes/{job_id}/resume", json={"title": "Too late"}, headers=AUTH)
    assert_error(again, 409, "already finished")


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/v1/writes/nope"), ("get", "/v1/writes/nope/events"), ("post", "/v1/writes/nope/resume"),
     ("delete", "/v1/writes/nope")],
)  # fmt: skip
def test_unknown_job_is_404(make_client, method, path):
    assert_error(getattr(make_client(), method)(path, headers=AUTH), 404, "nope")


@pytest.mark.parametrize(
    ("body", "words"),
    [({}, ["instruction", "missing"]), ({"instruction": ""}, ["empty"]),
     ({"instruction": "Write.", "target_words": -1}, ["positive"])],
)  # fmt: skip
def test_bad_job_requests(make_client, body, words):
    assert_error(make_client().post("/v1/writes", json=body, headers=AUTH), 400, *words)


def test_a_v1_route_asked_with_another_method_gets_405_with_allow(make_client):
    client = make_client()
    response = client.request("PUT", "/v1/models", headers=AUTH)
    assert response.status_code == 405 and response.headers["allow"] == "GET"
    options = client.options("/v1/chat/completions", headers=AUTH)
    assert options.status_code == 405 and options.headers["allow"] == "POST"
    assert client.head("/v1/writes/abc", headers=AUTH).status_code == 405
    assert_error(client.get("/v1/nothing-here", headers=AUTH), 404, "no such route")


@pytest.mark.parametrize("path", ["/v1/writes", "/v1/chat/completions"])
def test_text_that_is_not_valid_unicode_is_refused_before_a_slot_is_taken(make_client, path):
    client = make_client()
    body = {"instruction": "Write about \ud800 tea."} if path == "/v1/writes" else ask("Write about \ud800 tea.")
    raw = json.dumps(body)  # keeps the lone surrogate as the escape \\ud800, as a client would send it
    response = client.post(path, content=raw, headers=AUTH | {"content-type": "application/json"})
    assert_error(response, 400, "not valid text")
    assert client.get("/health", headers=AUTH).json()["writes_running"] == 0


def test_a_job_that_fails_to_start_frees_its_slot(make_client, monkeypatch):
    from longwrite.ui.job_manager import JobManager

    client = make_client(max_concurrent_writes=1)

    def broken_start(self, *args, **kwargs):
        raise RuntimeError("thread could not start")

    monkeypatch.setattr(JobManager, "_start", broken_start)
    assert client.post("/v1/writes", json={"instruction": "Write a 300-word note."}, headers=AUTH).status_code == 500
    assert client.get("/health", headers=AUTH).json()["writes_running"] == 0


def test_with_no_length_stated_the_plan_sizes_the_answer_and_says_so(make_client):
    client = make_client()  # the script's outline gives no sizes: each section gets section_words (250)
    info = chat(client, ask("Write about tea.")).json()["longwrite"]
    assert (info["target_words"], info["target_from"]) == (500, "plan")  # two planned sections, not 2,000
    assert chat(client, ask("Write a 600-word article about tea.")).json()["longwrite"]["target_from"] == "instruction"
    assert chat(client, ask("Write about tea.", target_words=300)).json()["longwrite"]["target_from"] == "request"
    started = client.post("/v1/writes", json={"instruction": "Write about tea."}, headers=AUTH)
    job = wait_for(client, started.json()["id"])
    assert (job["status"], job["target_words"], job["target_from"]) == ("done", 500, "plan")
