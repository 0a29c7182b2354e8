"""One streamed model call: text, finish reason and usage, with tokens forwarded as they come."""

from __future__ import annotations

import contextlib
import random
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from longwrite.core.errors import BackendError
from longwrite.core.settings import Settings
from longwrite.model.overflow import overflow_of

# How often (in streamed chunks) the loop check runs while a section streams.
LOOP_CHECK_EVERY = 16
TIME_LIMIT = "time_limit"  # the finish reason of an answer cut at its deadline


class Pace:
    """Tokens per second over the last `window_s` seconds, from the times they arrived."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()

    def add(self, now: float) -> None:
        self._times.append(now)

    def rate(self, now: float) -> float:
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()
        return len(self._times) / self.window_s

    def __bool__(self) -> bool:
        return bool(self._times)


class RateFloor:
    """The slowest pace a streamed answer may keep: fewer than `tokens_per_s` chunks over the last
    `window_s` seconds fails the call. The stall wait catches a server that sends nothing; this
    catches one that sends a token every few seconds, which would otherwise hold a call for hours.
    """

    def __init__(self, tokens_per_s: float, window_s: float) -> None:
        self.tokens_per_s = tokens_per_s
        self.pace = Pace(window_s)
        self._started: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RateFloor:
        return cls(settings.min_tokens_per_s, settings.rate_window_s)

    def tick(self, now: float) -> None:
        """Count one chunk arriving at `now`; BackendError when the pace over the window is too slow."""
        if self.tokens_per_s <= 0:
            return
        if self._started is None:
            self._started = now  # the wait for the first text is the answer-start wait's, not ours
        self.pace.add(now)
        if now - self._started < self.pace.window_s:
            return
        rate = self.pace.rate(now)
        if rate < self.tokens_per_s:
            raise BackendError(
                f"The model server is sending {rate:.2f} tokens/s, below the floor of {self.tokens_per_s:g} "
                "(LONGWRITE_MIN_TOKENS_PER_S); check its load and log."
            )


@dataclass(frozen=True)
class Generation:
    text: str
    # "stop", "length", TIME_LIMIT, or None when we stopped it for a loop ("stop" too when `finished` said so)
    finish_reason: str | None
    prompt_tokens: int | None  # None when the server does not report usage while streaming
    completion_tokens: int
    seconds: float
    stopped_early: bool = False


@contextlib.contextmanager
def _no_chunks_is_a_backend_error(
    model: BaseChatModel, messages: list[BaseMessage], request: dict[str, Any]
) -> Iterator[None]:
    try:
        yield
    except ValueError as error:
        if "No generation chunks" not in str(error):
            raise
        _raise_if_refused_as_too_long(model, messages, request)
        raise BackendError(
            "The model server ended its answer with no chat content: it stopped or dropped the connection "
            "mid-answer, or it is not an OpenAI-compatible API (check that --base-url points at its /v1)."
        ) from error


def _raise_if_refused_as_too_long(model: BaseChatModel, messages: list[BaseMessage], request: dict[str, Any]) -> None:
    """Ask once more without streaming: a server that refuses a too-long prompt only after its
    stream began (llama-cpp-python) says so in a plain answer, and the caller's backend_errors
    turns that into PromptTooLong. Such a server refuses before it decodes, so this costs little."""
    try:
        model.invoke(messages, **request)
    except openai.APIStatusError as error:
        if overflow_of(error) is not None:
            raise
    except Exception:
        return


def generate(
    model: BaseChatModel,
    messages: list[BaseMessage],
    *,
    max_tokens: int,
    options: dict[str, Any] | None = None,
    on_token: Callable[[str], None] | None = None,
    should_stop: Callable[[str], bool] | None = None,
    finished: Callable[[str], bool] | None = None,
    max_tokens_field: str = "max_tokens",
    deadline: float | None = None,
    floor: RateFloor | None = None,
) -> Generation:
    """Stream one answer; stop early when `should_stop(text so far)` says the text went wrong
    (checked every LOOP_CHECK_EVERY chunks), when `finished(text so far)` says it is complete
    (checked after every chunk, so it must be cheap), or at `deadline` (a time.monotonic() value:
    the answer so far is kept, finish reason TIME_LIMIT); `floor` fails a server that trickles.

    Servers that send no usage while streaming (llama.cpp) send one token per chunk, so the
    chunk count stands in for completion tokens there.
    """
    started = time.monotonic()
    pieces: list[str] = []
    chunks = 0
    finish_reason = None
    prompt_tokens = completion_tokens = None
    stopped_early = False
    request = dict(options or {})
    # Sent as "max_tokens" in the body: langchain renames the keyword to max_completion_tokens,
    # which llama.cpp and older servers ignore (and then write until the context is full).
    request["extra_body"] = {**request.get("extra_body", {}), max_tokens_field: max_tokens}
    # A fresh seed per call: llama.cpp otherwise reuses one fixed seed, so a retry of the same
    # prompt would return the very same (looping) answer.
    request.setdefault("seed", random.randrange(2**31))
    stream = model.stream(messages, **request)
    # closing drops the HTTP stream
    with contextlib.closing(stream), _no_chunks_is_a_backend_error(model, messages, request):
        for chunk in stream:
            content = chunk.content if isinstance(chunk.content, str) else ""
            if content and floor is not None:  # text only: a server may send empty chunks while it reads the prompt
                floor.tick(time.monotonic())
            if content:
                pieces.append(content)
                chunks += 1
                if on_token:
                    on_token(content)
            metadata = chunk.response_metadata or {}
            finish_reason = metadata.get("finish_reason") or finish_reason
            if chunk.usage_metadata:
                prompt_tokens = chunk.usage_metadata.get("input_tokens") or prompt_tokens
                completion_tokens = chunk.usage_metadata.get("output_tokens") or completion_tokens
            if should_stop and content and chunks % LOOP_CHECK_EVERY == 0 and should_stop("".join(pieces)):
                stopped_early = True
                finish_reason = None
                break
            if finished and content and finished("".join(pieces)):
                finish_reason = "stop"
                break
            if deadline is not None and time.monotonic() > deadline:
                finish_reason = TIME_LIMIT
                break
    return Generation(
        text="".join(pieces),
        finish_reason=finish_reason,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens if completion_tokens is not None else chunks,
        seconds=time.monotonic() - started,
        stopped_early=stopped_early,
    )
