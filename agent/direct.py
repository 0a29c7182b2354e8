"""Model mode: the instruction sent straight to the endpoint in one call (the baseline)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.messages import HumanMessage

from longwrite.agent.context import SAFETY_TOKENS, estimate_tokens
from longwrite.agent.generate import RateFloor, generate
from longwrite.agent.state import AgentContext
from longwrite.core.errors import GenerationError

# The server tokenizer may count more tokens than cl100k_base; leave room for that.
PROMPT_ESTIMATE_MARGIN = 1.5


@dataclass(frozen=True)
class DirectResult:
    document: str
    finish_reason: str | None
    completion_tokens: int
    seconds: float


def write_direct(
    ctx: AgentContext,
    instruction: str,
    on_token: Callable[[str], None] | None = None,
    max_tokens: int | None = None,
) -> DirectResult:
    """One call, no plan, no length control: as much as the model writes, up to its context
    (or up to `max_tokens`, when the caller caps it, or for `answer_time_limit_s` when set)."""
    messages = [HumanMessage(instruction)]
    prompt_tokens = int(estimate_tokens(messages) * PROMPT_ESTIMATE_MARGIN)
    room = ctx.endpoint.context_tokens - prompt_tokens - SAFETY_TOKENS
    max_tokens = room if max_tokens is None else min(room, max_tokens)
    if max_tokens < 16:
        raise GenerationError(
            f"The instruction alone fills the model's {ctx.endpoint.context_tokens}-token context; shorten it."
        )
    limit = ctx.settings.answer_time_limit_s
    generation = generate(
        ctx.make_model(),
        messages,
        max_tokens=max_tokens,
        on_token=on_token,
        max_tokens_field=ctx.settings.max_tokens_field,
        floor=RateFloor.from_settings(ctx.settings),
        deadline=None if limit is None else time.monotonic() + limit,
    )
    if not generation.text.strip():
        raise GenerationError("The model returned an empty answer; try again, or check the model with --base-url.")
    return DirectResult(
        document=generation.text.strip() + "\n",
        finish_reason=generation.finish_reason,
        completion_tokens=generation.completion_tokens,
        seconds=generation.seconds,
    )
