"""Model mode: the instruction sent straight to the endpoint in one call.

Plain, it is the benchmark's baseline: as much as the model writes. Held to a length (`hold_to`),
the same one call gets a floor on its length (`min_tokens`, where the server takes it) and a cap
from the target and a tokens-per-word ratio, mild repetition penalties from the first token, a
stop at the first sentence end past the target, and the agent's streaming loop guard, which stops
a loop as it starts; the answer is what the guard keeps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage

from longwrite.agent import budget
from longwrite.agent.context import SAFETY_TOKENS, estimate_tokens
from longwrite.agent.generate import TIME_LIMIT, Generation, RateFloor, generate
from longwrite.agent.guard import LoopGuard, cut_loop
from longwrite.agent.section import call_options
from longwrite.agent.state import AgentContext
from longwrite.core.errors import GenerationError
from longwrite.core.text import count_words, detect_language

# The server tokenizer may count more tokens than cl100k_base; leave room for that.
PROMPT_ESTIMATE_MARGIN = 1.5
ANSWER_HEADROOM = 1.5  # an answer held to a length may run this far past it before max_tokens stops it


@dataclass(frozen=True)
class DirectResult:
    document: str
    finish_reason: str | None
    completion_tokens: int
    seconds: float
    loop_cut: bool = False  # held to a length: the guard stopped a loop, and the answer ends where it began


def write_direct(
    ctx: AgentContext,
    instruction: str,
    on_token: Callable[[str], None] | None = None,
    max_tokens: int | None = None,
    hold_to: int | None = None,
) -> DirectResult:
    """One call, no plan: as much as the model writes, up to its context (or up to `max_tokens`,
    when the caller caps it, or for `answer_time_limit_s` when set); with `hold_to`, held to that
    many words (see the module's docstring)."""
    messages = [HumanMessage(instruction)]
    prompt_tokens = int(estimate_tokens(messages) * PROMPT_ESTIMATE_MARGIN)
    room = ctx.endpoint.context_tokens - prompt_tokens - SAFETY_TOKENS
    max_tokens = room if max_tokens is None else min(room, max_tokens)
    options: dict[str, Any] = {}
    guard = long_enough = None
    if hold_to is not None:
        language = detect_language(instruction)
        ratio = budget.tokens_per_word(budget.empty_usage(), language)
        max_tokens = min(max_tokens, math.ceil(hold_to * ratio * ANSWER_HEADROOM))
        options = call_options(ctx, penalties="held", min_tokens=budget.min_tokens_for(hold_to, ratio, max_tokens))
        guard = LoopGuard(prompt=instruction, language=language)

        def long_enough(text: str) -> bool:
            # stopped at the first sentence end past the length asked for, as a section is: the
            # floor keeps the model writing, and nothing stops it from overshooting otherwise
            return budget.ends_sentence(text) and count_words(text) >= hold_to

    if max_tokens < 16:
        raise GenerationError(
            f"The instruction alone fills the model's {ctx.endpoint.context_tokens}-token context; shorten it."
        )
    limit = ctx.settings.answer_time_limit_s

    def arrived(piece: str) -> None:
        ctx.raise_if_cancelled()  # within one token of a stop (Ctrl-C, a client that left)
        if on_token is not None:
            on_token(piece)

    generation = generate(
        ctx.make_model(),
        messages,
        max_tokens=max_tokens,
        options=options,
        on_token=arrived,
        # a loop, not a sentence that runs on: one call has no next call to write the words again
        should_stop=guard.is_looping if guard else None,
        finished=long_enough,
        max_tokens_field=ctx.settings.max_tokens_field,
        floor=RateFloor.from_settings(ctx.settings),
        deadline=None if limit is None else time.monotonic() + limit,
    )
    text, loop_cut = generation.text, False
    if guard is not None:
        text, loop_cut = _kept_by_the_guard(generation, guard)
    if not text.strip():
        raise GenerationError("The model returned an empty answer; try again, or check the model with --base-url.")
    return DirectResult(
        document=text.strip() + "\n",
        finish_reason=generation.finish_reason,
        completion_tokens=generation.completion_tokens,
        seconds=generation.seconds,
        loop_cut=loop_cut,
    )


def _kept_by_the_guard(generation: Generation, guard: LoopGuard) -> tuple[str, bool]:
    """A held answer as the guard keeps it: a stopped or cut-off answer loses its unfinished last
    sentence, and a loop is cut where it began; whether the answer looped (a lone repeated
    sentence is removed too, but an answer that went on past it stands)."""
    text = generation.text
    if generation.stopped_early or generation.finish_reason in ("length", TIME_LIMIT):
        text = budget.drop_unfinished_sentence(text)
    looped = generation.stopped_early or guard.has_loop(text)
    text, _repeats = cut_loop(text, guard)
    return text, looped
