"""How long a model call waits, and for what: a dead or silent server fails in seconds, a slow
one gets minutes, and a stream that stops in the middle fails after a set silence.

One read timeout cannot say all of that. The wait for an answer to start covers the server
queueing the request and reading the prompt (llama.cpp's server, in many versions, sends no
byte, not even the response headers, until then: minutes for a long prompt on a CPU), so it
must be long; but a listener that accepts connections and never answers would then hold every
call for as long. So each model call first asks the server for anything at all (a plain GET of
the base URL: any HTTP status will do, and llama-cpp-python answers it while its model is busy,
unlike its /models), with a short wait; then it waits long for the answer to start; then, once
the answer streams, only the gap between chunks counts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import openai

from longwrite.core.settings import Settings
from longwrite.model.sdk_http import sdk_http


@dataclass(frozen=True)
class Waits:
    """The four waits of a model call, in seconds (see Settings for what each covers)."""

    connect: float
    first_byte: float
    answer_start: float
    stall: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Waits:
        return cls(
            connect=settings.connect_timeout_s,
            first_byte=settings.first_byte_timeout_s,
            answer_start=settings.request_timeout_s,
            stall=settings.stall_timeout_s,
        )

    def client_timeout(self) -> openai.Timeout:
        """The timeout a model call is sent with, as the SDK's own type (its HTTP library refuses
        another's); WatchedTransport shortens the read once the answer starts."""
        return openai.Timeout(self.answer_start, connect=self.connect)

    def probe_timeout(self) -> openai.Timeout:
        return openai.Timeout(self.first_byte, connect=self.connect)


class ModelWaitTimeout(sdk_http.ReadTimeout):
    """A read timeout that knows which wait ran out; the openai client retries it as any timeout."""

    advice = ""  # what to do, the end of that sentence

    def __init__(self, seconds: float) -> None:
        super().__init__(f"nothing from the server in {seconds:g} s")
        self.seconds = seconds

    def explain(self, where: str) -> str:
        """What happened, as the start of one sentence about the server at `where`."""
        raise NotImplementedError


class SilentServer(ModelWaitTimeout):
    advice = "check that it is running and not stuck (LONGWRITE_FIRST_BYTE_TIMEOUT_S sets this wait)."

    def explain(self, where: str) -> str:
        return f"The model server at {where} accepted the connection but answered nothing in {self.seconds:g} s"


class AnswerNotStarted(ModelWaitTimeout):
    advice = "it may be busy, or slow to read a long prompt: raise LONGWRITE_REQUEST_TIMEOUT_S."

    def explain(self, where: str) -> str:
        return f"The model server at {where} answers but did not start its answer in {self.seconds:g} s"


class AnswerStalled(ModelWaitTimeout):
    advice = "check its log (LONGWRITE_STALL_TIMEOUT_S sets this wait)."

    def explain(self, where: str) -> str:
        return f"The model server at {where} sent nothing for {self.seconds:g} s in the middle of an answer"


def wait_that_ran_out(error: BaseException) -> ModelWaitTimeout | None:
    """The ModelWaitTimeout behind `error` (the openai and langchain errors wrap it), if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ModelWaitTimeout):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


class _StallWatchedStream(sdk_http.SyncByteStream):
    """A response body whose failures are the SDK's own errors: a read timeout is an
    APITimeoutError caused by AnswerStalled, any other transport failure an APIConnectionError.

    A streamed answer is read by whoever iterates it, outside the SDK's request handling, and
    openai versions differ in whether they wrap what the body raises there; raising the SDK's
    types here means every caller catches one kind of error, whatever the version.
    """

    def __init__(self, stream: sdk_http.SyncByteStream, stall_s: float, request: sdk_http.Request) -> None:
        self.stream = stream
        self.stall_s = stall_s
        self.request = request

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.stream
        except sdk_http.ReadTimeout as error:
            stalled = AnswerStalled(self.stall_s)
            stalled.__cause__ = error
            raise openai.APITimeoutError(request=self.request) from stalled
        except sdk_http.TransportError as error:
            raise openai.APIConnectionError(request=self.request) from error

    def close(self) -> None:
        self.stream.close()


class WatchedTransport(sdk_http.HTTPTransport):
    """The SDK HTTP library's transport with the waits of a model call (see the module's docstring)."""

    def __init__(self, probe_url: str, waits: Waits) -> None:
        super().__init__()
        self.probe_url = probe_url
        self.waits = waits

    def handle_request(self, request: sdk_http.Request) -> sdk_http.Response:
        if request.method == "POST":  # a model call; GETs (the model list) are quick requests themselves
            self.probe()
        try:
            response = super().handle_request(request)
        except sdk_http.ReadTimeout as error:
            if isinstance(error, ModelWaitTimeout):
                raise
            raise AnswerNotStarted(_read_timeout(request, self.waits.answer_start)) from error
        # The answer has started: from here only the gap between chunks counts. httpcore reads
        # the body's read timeout from the request's extensions when the body is first read,
        # which is after this returns.
        timeouts = request.extensions.get("timeout")
        if isinstance(timeouts, dict):
            request.extensions["timeout"] = {**timeouts, "read": self.waits.stall}
        assert isinstance(response.stream, sdk_http.SyncByteStream)
        return sdk_http.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_StallWatchedStream(response.stream, self.waits.stall, request),
            extensions=response.extensions,
        )

    def probe(self) -> None:
        """SilentServer unless the server answers a plain GET of the base URL (any status) in time."""
        probe = sdk_http.Request("GET", self.probe_url, extensions={"timeout": self.waits.probe_timeout().as_dict()})
        try:
            response = super().handle_request(probe)
        except sdk_http.ReadTimeout as error:
            raise SilentServer(self.waits.first_byte) from error
        try:
            response.read()
        finally:
            response.close()


def _read_timeout(request: sdk_http.Request, default: float) -> float:
    timeouts = request.extensions.get("timeout")
    read = timeouts.get("read") if isinstance(timeouts, dict) else None
    return float(read) if read else default


def check_answers(base_url: str, waits: Waits) -> None:
    """Raise SilentServer if the server at `base_url` accepts connections but answers nothing in time."""
    with WatchedTransport(base_url, waits) as transport:
        transport.probe()


_HTTP_CLIENTS: dict[tuple[str, Waits], sdk_http.Client] = {}
_HTTP_CLIENTS_LOCK = threading.Lock()


def http_client(base_url: str, waits: Waits) -> sdk_http.Client:
    """One pooled HTTP client per endpoint and waits, shared by every chat model built for it.

    Without it, each ChatOpenAI builds its own client (langchain caches clients only for a
    plain-number timeout): a new TLS context and a new connection for every call, and memory
    that a long-running server never gets back.
    """
    key = (base_url, waits)
    with _HTTP_CLIENTS_LOCK:
        client = _HTTP_CLIENTS.get(key)
        if client is None or client.is_closed:
            transport = WatchedTransport(base_url, waits)
            client = _HTTP_CLIENTS[key] = sdk_http.Client(timeout=waits.client_timeout(), transport=transport)
        return client
