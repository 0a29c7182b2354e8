"""A tiny OpenAI-compatible backend for tests with real processes and no model.

It lists one model, answers an outline request (a JSON schema in `response_format`) with a
valid outline of the asked number of sections, and writes distinct prose for everything else,
streamed a word at a time at `word_delay_s`. `start_delay_s` holds each chat answer back before
its first byte (a server reading a long prompt); `stall_after_words` stops an answer in the middle
and keeps the connection open (a server that hangs); `slow_outlines=False` sends outlines at once
(a trickling server that still gets to its sections).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.unit.scripted import prose

MODEL = "stub"


class StubBackend:
    """Start with `with StubBackend(...) as stub:`; its base URL is `stub.url`."""

    def __init__(
        self,
        word_delay_s: float = 0.0,
        start_delay_s: float = 0.0,
        stall_after_words: int | None = None,
        slow_outlines: bool = True,
    ) -> None:
        self.word_delay_s = word_delay_s
        self.slow_outlines = slow_outlines  # False: outlines come at once, only prose at word_delay_s
        self.start_delay_s = start_delay_s
        self.stall_after_words = stall_after_words
        self.chat_requests = 0
        self.model_lists = 0  # GET /models requests
        self.released = threading.Event()  # set on stop: frees answers held by a stall
        self._answers = itertools.count()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="stub-backend", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> StubBackend:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def answer(self, body: dict[str, Any]) -> str:
        """The whole text of the answer to chat request `body`."""
        response_format = body.get("response_format") or {}
        if response_format.get("type") == "json_schema":
            schema = response_format["json_schema"]["schema"]
            count = schema["properties"]["sections"]["minItems"]
            fields = schema["properties"]["sections"]["items"]["properties"]
            covers = {"covers": "what this part covers"} if "covers" in fields else {}
            sections = [{"heading": f"Part {_letters(i)}", **covers} for i in range(count)]
            return json.dumps({"title": "A stub document", "sections": sections})
        words = max(1, min(int(body.get("max_tokens") or 200) * 2 // 3, 400))
        return prose(words, seed=f"w{next(self._answers)}")


def _letters(number: int) -> str:
    return "".join("abcdefghij"[int(digit)] for digit in str(number))  # headings differ in words, not digits


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _handler(stub: StubBackend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            send_json(self, status, payload)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                stub.model_lists += 1
                self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "stub"}]})
            else:
                self._json(404, {"error": {"message": "no such route"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            stub.chat_requests += 1
            text = stub.answer(body)
            if stub.start_delay_s:
                time.sleep(stub.start_delay_s)
            try:
                if body.get("stream"):
                    outline = (body.get("response_format") or {}).get("type") == "json_schema"
                    self._stream(text, stub.word_delay_s if stub.slow_outlines or not outline else 0.0)
                else:
                    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    self._json(200, {"id": "stub", "object": "chat.completion", "model": MODEL, "choices": [choice]})
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client went away

        def _stream(self, text: str, word_delay_s: float) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()  # HTTP/1.0: the answer ends when the connection closes
            self._event({"role": "assistant", "content": ""})
            for i, word in enumerate(text.split(" ")):
                if stub.stall_after_words is not None and i == stub.stall_after_words:
                    stub.released.wait()  # a hung server: the connection stays open, nothing comes
                    return
                self._event({"content": word if i == 0 else " " + word})
                if word_delay_s:
                    time.sleep(word_delay_s)
            self._event({}, finish_reason="stop")
            self.wfile.write(b"data: [DONE]\n\n")

        def _event(self, delta: dict[str, Any], finish_reason: str | None = None) -> None:
            chunk = {"id": "stub", "object": "chat.completion.chunk", "created": 0, "model": MODEL,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}  # fmt: skip
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

    return Handler
