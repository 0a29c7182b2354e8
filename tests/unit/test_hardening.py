"""The waits of a model call against a silent, a stalling and a slow server (a stub backend in
this process); the CLI's waiting note; the page's endpoint allow-list."""

from __future__ import annotations

import io
import re
import socket
import threading
import time

import pytest
from langchain_core.messages import HumanMessage

from longwrite.cli import write_run as write_command
from longwrite.core.errors import BackendError, InputError
from longwrite.core.settings import Settings
from longwrite.model.client import Endpoint, backend_errors, chat_model, resolve_endpoint
from longwrite.ui.endpoints import EndpointAllowList, is_loopback
from longwrite.ui.service import WriteService
from tests.stub_backend import MODEL, StubBackend

# short waits so each case takes seconds; one retry, as a real call has two
WAITS = {"first_byte_timeout_s": 1.0, "request_timeout_s": 4.0, "stall_timeout_s": 1.0, "max_retries": 1}


@pytest.fixture
def silent_listener():
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def _answer(url: str) -> tuple[str, float]:
    """The streamed answer of one model call at `url`, and how long it took."""
    endpoint = Endpoint(base_url=url, model=MODEL)
    model = chat_model(endpoint, Settings(**WAITS))
    started = time.monotonic()
    with backend_errors(endpoint):
        text = "".join(str(chunk.content) for chunk in model.stream([HumanMessage("Write about tea.")]))
    return text, time.monotonic() - started


def test_a_server_that_accepts_and_never_answers_fails_in_seconds(silent_listener):
    started = time.monotonic()
    with pytest.raises(BackendError, match="accepted the connection but answered nothing in 1 s"):
        _answer(silent_listener)
    assert time.monotonic() - started < 6  # two tries of 1 s and a backoff, not the 4 s answer wait


def test_the_model_list_at_a_silent_server_fails_in_seconds(silent_listener):
    started = time.monotonic()
    with pytest.raises(BackendError, match="answered nothing in 1 s"):
        resolve_endpoint(Settings(base_url=silent_listener, **WAITS))
    assert time.monotonic() - started < 3


def test_an_answer_that_stops_in_the_middle_fails_after_the_stall_wait():
    with StubBackend(stall_after_words=5) as stub, pytest.raises(BackendError, match="in the middle of an answer"):
        _answer(stub.url)


def test_a_server_slow_to_start_its_answer_is_waited_for():
    """Reading a long prompt before the first byte (llama.cpp, Ollama) is not a silent server."""
    with StubBackend(start_delay_s=2.5) as stub:
        text, seconds = _answer(stub.url)
    assert len(text.split()) > 50 and seconds >= 2.5  # longer than the 1 s first-byte wait


def test_the_cli_says_it_is_waiting_for_the_model(monkeypatch):
    monkeypatch.setattr(write_command, "WAIT_NOTE_AFTER_S", 1.0)
    stream = io.StringIO()
    with write_command.Progress(stream):
        time.sleep(2.5)
    assert "waiting for the model (" in stream.getvalue()
    quiet = io.StringIO()
    with write_command.Progress(quiet) as progress:
        for _ in range(5):
            progress({"event": "token"})  # the model is talking: nothing to say
            time.sleep(0.4)
    assert quiet.getvalue() == ""


def test_the_cli_says_how_slowly_a_trickling_model_sends(monkeypatch):
    monkeypatch.setattr(write_command, "SLOW_WINDOW_S", 1.0)
    monkeypatch.setattr(write_command, "WAIT_NOTE_EVERY_S", 1.0)
    stream = io.StringIO()
    with write_command.Progress(stream) as progress:
        for _ in range(8):
            progress({"event": "token"})  # two a second: above the floor of one
            time.sleep(0.5)
    assert "the model is sending" not in stream.getvalue()
    monkeypatch.setattr(write_command, "SLOW_TOKENS_PER_S", 5.0)  # now two a second is slow
    slow = io.StringIO()
    with write_command.Progress(slow) as progress:
        for _ in range(8):
            progress({"event": "token"})
            time.sleep(0.5)
    assert re.search(r"the model is sending [1-3]\.00 tokens/s", slow.getvalue()), slow.getvalue()


# ---------------------------------------------------------------- the page's endpoint allow-list


@pytest.mark.parametrize(
    ("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False),
                           ("::", False), ("192.168.1.5", False), ("example.org", False)],
)  # fmt: skip
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://models.example:9000/v1", True),  # a host entry: any scheme and port
        ("https://api.example.org/v1", True),
        ("https://api.example.org/v1/", True),
        ("https://api.example.org/v1beta", False),  # prefixes match whole path segments
        ("http://api.example.org/v1", False),  # a URL entry keeps its scheme
        ("https://api.example.org:8443/v1", False),  # and its port
        ("https://api.example.org.evil.test/v1", False),
        ("http://models.example@evil.test/v1", False),  # user info is not the host
        ("http://10.0.0.5:8001/v1", True),
        ("http://10.0.0.5:8002/v1", False),
        ("http://169.254.169.254/latest", False),
        ("http://10.0.0.5:x/v1", False),
    ],
)
def test_the_allow_list_matches_hosts_and_url_prefixes(url, allowed):
    listed = EndpointAllowList.from_setting("models.example, https://api.example.org/v1, 10.0.0.5:8001", "0.0.0.0")
    assert listed.allows(url) is allowed


def test_the_allow_list_default_depends_on_where_the_server_listens():
    assert EndpointAllowList.from_setting(None, "127.0.0.1").allows("http://169.254.169.254/v1")
    assert not EndpointAllowList.from_setting(None, "0.0.0.0").allows("http://127.0.0.1:9/v1")
    assert not EndpointAllowList.from_setting("", "0.0.0.0").allows("http://127.0.0.1:9/v1")
    assert EndpointAllowList.from_setting("*", "0.0.0.0").allows("http://anything.test/v1")
    assert not EndpointAllowList.from_setting("none", "127.0.0.1").allows("http://127.0.0.1:9/v1")  # behind a proxy
    assert "writes only with its own model" in EndpointAllowList.from_setting(None, "0.0.0.0").describe()


@pytest.mark.parametrize("setting", ["http://", "ftp://files.example", "host:port"])
def test_a_bad_allow_list_is_refused(setting):
    with pytest.raises(InputError, match="LONGWRITE_ALLOWED_ENDPOINTS"):
        EndpointAllowList.from_setting(setting, "0.0.0.0")


def test_a_page_endpoint_outside_the_list_is_refused_before_any_request(tmp_path):
    with StubBackend() as stub:
        own = Endpoint(base_url="http://127.0.0.1:9/v1", model="own")
        settings = Settings(home=tmp_path)
        public = WriteService(own, settings, EndpointAllowList.from_setting(None, "0.0.0.0"))
        with pytest.raises(InputError, match="LONGWRITE_ALLOWED_ENDPOINTS"):
            public.endpoint_for(stub.url, None)
        assert stub.chat_requests == 0
        assert public.endpoint_for("", None) is own  # its own backend is always allowed
        listed = WriteService(own, settings, EndpointAllowList.from_setting(f"127.0.0.1:{stub.port}", "0.0.0.0"))
        assert listed.endpoint_for(stub.url, None).model == MODEL
        on_loopback = WriteService(own, settings)  # the default: a server on loopback allows any
        assert on_loopback.endpoint_for(stub.url, None).model == MODEL


def test_each_finished_section_says_how_long_the_rest_will_take(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(write_command.time, "monotonic", lambda: now[0])
    stream = io.StringIO()
    progress = write_command.Progress(stream)  # started at 0 s
    now[0] = 100.0
    progress({"event": "section_finished", "index": 0, "total": 3, "words": 500, "document_words": 500,
              "target": 1500})  # fmt: skip
    now[0] = 200.0
    progress({"event": "section_finished", "index": 2, "total": 3, "words": 1000, "document_words": 1500,
              "target": 1500})  # fmt: skip
    first, last = stream.getvalue().splitlines()
    assert first == "section 1/3: 500 words - 500/1,500 words - 5.0 words/s - about 3 min left"  # 1,000 at 5/s
    assert last == "section 3/3: 1000 words - 1,500/1,500 words - 7.5 words/s"


def test_a_resumed_job_counts_its_pace_from_the_words_this_run_wrote(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(write_command.time, "monotonic", lambda: now[0])
    stream = io.StringIO()
    progress = write_command.Progress(stream)
    now[0] = 100.0  # 50,000 words were written before the resume; this run wrote 500 of them
    progress({"event": "section_finished", "index": 199, "total": 400, "words": 500, "document_words": 50_500,
              "target": 100_000})  # fmt: skip
    assert "50,500/100,000 words - 5.0 words/s - about 2.8 h left" in stream.getvalue()
