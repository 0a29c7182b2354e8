"""What the chat model factory hands to the OpenAI SDK is the SDK's own kind: a release of its HTTP
library that refuses another library's objects (httpx2 2.17 refused httpx's Timeout, and every
model call failed) must fail these tests, not a user. Real calls to a loopback stub."""

from __future__ import annotations

import importlib

import openai
import pytest
from langchain_core.messages import HumanMessage

from longwrite.core.errors import BackendError
from longwrite.core.settings import Settings
from longwrite.model.client import Endpoint, backend_errors, chat_model
from longwrite.model.sdk_http import sdk_http
from tests.stub_backend import MODEL, StubBackend

# every wait set, each to its own value
WAITS = {
    "connect_timeout_s": 3.0,
    "first_byte_timeout_s": 2.0,
    "request_timeout_s": 5.0,
    "stall_timeout_s": 1.0,
    "max_retries": 0,
}


def test_the_sdk_gets_its_own_timeout_and_client_types():
    model = chat_model(Endpoint(base_url="http://127.0.0.1:9/v1", model=MODEL), Settings(**WAITS))
    assert isinstance(model.request_timeout, openai.Timeout)
    assert (model.request_timeout.connect, model.request_timeout.read) == (3.0, 5.0)
    assert isinstance(model.http_client, sdk_http.Client)
    if sdk_http.__name__ != "httpx":  # httpx may be installed beside the SDK's library: none of it goes in
        httpx = importlib.import_module("httpx")
        assert not isinstance(model.request_timeout, httpx.Timeout)
        assert not isinstance(model.http_client, httpx.Client)


def test_a_call_with_every_wait_set_streams_its_answer():
    with StubBackend() as stub:
        endpoint = Endpoint(base_url=stub.url, model=MODEL)
        with backend_errors(endpoint):
            text = "".join(str(c.content) for c in chat_model(endpoint, Settings(**WAITS)).stream([HumanMessage("Hi")]))
            answer = chat_model(endpoint, Settings(**WAITS)).invoke([HumanMessage("Hi")])
    assert len(text.split()) > 20 and len(str(answer.content).split()) > 20


def test_a_call_that_times_out_is_one_clear_error():
    with StubBackend(start_delay_s=8) as stub:
        endpoint = Endpoint(base_url=stub.url, model=MODEL)
        with pytest.raises(BackendError, match="did not start its answer in 5 s") as raised, backend_errors(endpoint):
            chat_model(endpoint, Settings(**WAITS)).invoke([HumanMessage("Hi")])
    assert isinstance(raised.value.__cause__, openai.APITimeoutError)  # the SDK's type, not its library's
