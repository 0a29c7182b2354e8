"""A tiny OpenAI-compatible server on loopback for tests: it lists one model as owned by whatever
server it plays (vLLM says "vllm", llama.cpp "llamacpp") and streams one fixed answer."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.stub_backend import send_json


class OpenAIStub:
    """Use as a context manager; `url` is its /v1 base URL, `gets` and `chats` what it was asked."""

    def __init__(
        self, owned_by: str = "vllm", answer: str = "Hello.", model: str = "m", context_tokens: int | None = None
    ) -> None:
        self.owned_by, self.answer, self.model = owned_by, answer, model
        self.context_tokens = context_tokens  # refuse longer prompts (a word is a token here) as its server does
        self.gets: list[str] = []
        self.chats: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def listings(self) -> int:
        """How often it was asked for its /v1/models list."""
        return sum(path.rstrip("/").endswith("/models") for path in self.gets)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> OpenAIStub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                stub.gets.append(self.path)
                if self.path.rstrip("/").endswith("/models"):
                    entry = {"id": stub.model, "object": "model", "created": 0, "owned_by": stub.owned_by}
                    self._send(200, {"object": "list", "data": [entry]})
                else:  # /health and the like
                    self._send(200, {"status": "ok"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                stub.chats.append(body)
                if stub.context_tokens is not None and self._refused_as_too_long(body):
                    return
                if not body.get("stream"):
                    choice = {"index": 0, "message": {"role": "assistant", "content": stub.answer},
                              "finish_reason": "stop"}  # fmt: skip
                    self._send(200, {"id": "c", "object": "chat.completion", "created": 0, "model": stub.model,
                                     "choices": [choice]})  # fmt: skip
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()  # HTTP/1.0: the stream ends when the connection closes
                words = stub.answer.split(" ")
                pieces = [" ".join(words[i : i + 4]) + " " for i in range(0, len(words), 4)]
                for piece in pieces:
                    self._event({"content": piece}, None)
                self._event({}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")

            def _refused_as_too_long(self, body: dict[str, Any]) -> bool:
                """Refuse a prompt over the context in the words of the server it plays."""
                prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
                answer = int(body.get("max_tokens") or 16)
                context = stub.context_tokens or 0
                if prompt + answer <= context:
                    return False
                if stub.owned_by == "me" and body.get("stream"):  # llama-cpp-python: an empty stream
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    return True
                if stub.owned_by == "llamacpp":
                    error = {"code": 400, "message": "the request exceeds the available context size, try "
                             "increasing it", "type": "exceed_context_size_error", "n_prompt_tokens": prompt,
                             "n_ctx": context}  # fmt: skip
                else:  # vLLM and llama-cpp-python's plain answer
                    error = {"message": f"This model's maximum context length is {context} tokens. However, you "
                             f"requested {prompt + answer} tokens ({prompt} in the messages, {answer} in the "
                             "completion). Please reduce the length of the messages or completion.",
                             "type": "BadRequestError", "code": 400}  # fmt: skip
                self._send(400, {"error": error})
                return True

            def _event(self, delta: dict[str, Any], finish_reason: str | None) -> None:
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": stub.model,
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}  # fmt: skip
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                send_json(self, status, payload)

        return Handler
