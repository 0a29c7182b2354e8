"""A scripted chat model for unit tests: answers come from a function of the prompt."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from longwrite.agent.state import AgentContext
from longwrite.core.settings import Settings
from longwrite.model.client import Endpoint


class ScriptedChatModel(BaseChatModel):
    """Streams `reply(messages, kwargs)` word by word, honouring max_tokens (1 token = 1 word).

    Every call is recorded in `calls` as (messages, request options).
    """

    reply: Callable[[list[BaseMessage], dict[str, Any]], str]
    calls: list[tuple[list[BaseMessage], dict[str, Any]]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _limit(self, kwargs: dict[str, Any]) -> int:
        return int(kwargs.get("extra_body", {}).get("max_tokens", 10**9))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        self.calls.append((messages, kwargs))
        words = self.reply(messages, kwargs).split(" ")
        limit = self._limit(kwargs)
        for i, word in enumerate(words[:limit]):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word if i == 0 else " " + word))
        reason = "length" if len(words) > limit else "stop"
        yield ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata={"finish_reason": reason}))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(chunk.message.content for chunk in self._stream(messages, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def _letters(number: int) -> str:
    """A number spelled in letters (counted as one word, unlike digits)."""
    return "".join("abcdefghij"[int(d)] for d in str(number))


def prose(words: int, seed: str = "a") -> str:
    """`words` words of non-repeating prose: sentences of eight distinct words."""
    seed = "".join(_letters(int(c)) if c.isdigit() else c for c in seed)  # digits are not words
    sentences = []
    count = 0
    n = 0
    while count < words:
        size = min(8, words - count)
        sentence = " ".join(f"{seed}{_letters(n)}x{_letters(k)}" for k in range(size))
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
        count += size
        n += 1
    return " ".join(sentences)


# A scripted endpoint as the agent sees it: a small context, no JSON schema (the scripted model
# answers plain text), and the section size a test asks for.
SCRIPTED_ENDPOINT = Endpoint(base_url="http://scripted.invalid/v1", model="scripted", context_tokens=8_192,
                             structured_output="off", label="scripted")  # fmt: skip


def scripted_context(
    settings: Settings, make_model: Callable[[], BaseChatModel], section_words: int = 500, cancel: Any = None,
    **endpoint: Any,
) -> AgentContext:  # fmt: skip
    """An AgentContext on the scripted endpoint; `endpoint` overrides its fields."""
    described = dataclasses.replace(SCRIPTED_ENDPOINT, section_words=section_words, **endpoint)
    return AgentContext(settings=settings, endpoint=described, make_model=make_model, cancel=cancel)


def with_endpoint(ctx: AgentContext, **fields: Any) -> AgentContext:
    """`ctx` with some of its endpoint's fields changed (the endpoint itself is frozen)."""
    ctx.endpoint = dataclasses.replace(ctx.endpoint, **fields)
    return ctx


def connection_lost() -> openai.APIConnectionError:
    """The error the openai client raises when the backend goes away mid-answer (with a request:
    newer clients read its headers)."""
    return openai.APIConnectionError(request=httpx.Request("POST", "http://scripted.invalid/v1/chat/completions"))
