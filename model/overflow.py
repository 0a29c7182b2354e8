"""A server's refusal of a prompt longer than its model's context, in every dialect we meet.

Servers say it differently: vLLM, OpenAI and llama-cpp-python answer HTTP 400 with "This model's
maximum context length is M tokens. However, you requested N tokens (P in the messages, ...)";
llama.cpp's own server answers 400 with `n_prompt_tokens` and `n_ctx` beside "exceeds the available
context size". llama-cpp-python refuses a *streamed* request only after its stream has begun, so
the client sees an empty answer; agent.generate then asks again without streaming to learn why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import openai

from longwrite.core.errors import PromptTooLong

_CONTEXT = re.compile(r"(?:maximum context length is|context window of|n_ctx\D{0,4})\s*(\d+)", re.IGNORECASE)
_PROMPT = re.compile(
    r"(\d+) in the messages|messages resulted in (\d+) tokens|Requested tokens \((\d+)\)|n_prompt_tokens\D{0,4}(\d+)",
    re.IGNORECASE,
)
_ANSWER = re.compile(r"(\d+) in the completion", re.IGNORECASE)
_SAYS_TOO_LONG = re.compile(
    r"maximum context length|exceeds? (?:the )?(?:available )?context|context_length_exceeded|context window",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Overflow:
    prompt_tokens: int | None  # the prompt as the server counted it, where it said
    context_tokens: int | None  # the model's context, where it said
    answer_tokens: int | None = None  # the room asked for the answer (max_tokens), where it said


def overflow_of(error: openai.APIStatusError) -> Overflow | None:
    """What the server said when `error` is its refusal of a too-long prompt, else None."""
    said = f"{error} {_body_text(error.body)}"
    if not _SAYS_TOO_LONG.search(said):
        return None
    context = _CONTEXT.search(said)
    prompt = _PROMPT.search(said)
    prompt_tokens = next((int(group) for group in prompt.groups() if group), None) if prompt else None
    answer = _ANSWER.search(said)
    return Overflow(prompt_tokens, int(context.group(1)) if context else None, int(answer.group(1)) if answer else None)


def _body_text(body: Any) -> str:
    """llama.cpp puts the counts in fields of its error body, not in the message."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return " ".join(f"{key} {value}" for key, value in inner.items())
    return ""


def prompt_too_long(overflow: Overflow, where: str) -> PromptTooLong:
    """The error a user sees: how long the prompt was, what the model holds, what to do."""
    answer = f" and {overflow.answer_tokens:,} more for the answer" if overflow.answer_tokens else ""
    if overflow.prompt_tokens and overflow.context_tokens:
        sizes = (
            f"the prompt needs {overflow.prompt_tokens:,} tokens{answer}; "
            f"the model's context is {overflow.context_tokens:,}"
        )
    elif overflow.context_tokens:
        sizes = f"it and its answer need more than the model's context of {overflow.context_tokens:,} tokens"
    else:
        sizes = "it and its answer need more tokens than the model's context holds"
    return PromptTooLong(
        f"The server at {where} refused the prompt as too long: {sizes}. Start the server with a "
        "larger context, or set "
        "LONGWRITE_CONTEXT_TOKENS to the context it has, so that prompts are cut to fit."
    )
