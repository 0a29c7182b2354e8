"""Writing one section under closed-loop length control and the degeneration guard."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agent import budget, events
from agent.context import (
    SAFETY_TOKENS,
    Step,
    choose_window,
    estimate_tokens,
    outline_text,
    section_messages,
    section_turns,
    single_messages,
)
from agent.document import drop_empty_lines, join_continuation, shown_answer, strip_heading
from agent.generate import Generation, generate
from agent.guard import LoopGuard, cut_loop
from agent.prompts import PromptSet, prompts_for
from agent.state import AgentContext, SectionResult, Turn, Usage, WriteState
from longwrite.errors import GenerationError
from longwrite.text import count_words

# The longest section a single call may be asked for, as a share above max_section_words.
MAX_TOKENS_HEADROOM = 1.3
# A call that adds fewer new words than this (after the loop cut) made no progress.
MIN_PROGRESS_WORDS = 10
# Calls in a row without progress before the prompt is rebuilt without the earlier sections
# (a section that has no text yet) or the section is left short (one that has some, unless it
# is the last): a small model asked to continue often writes its partial text again word for
# word, call after call, and the guard throws every copy away. The missing words go to the
# sections after it, which write fresh text from their first call (and the plan grows when the
# document runs short).
STALLS_BEFORE_FRESH_CONTEXT = 2
STALLS_BEFORE_LEAVING_SHORT = 2


@dataclass
class SectionOutcome:
    result: SectionResult
    usage: Usage
    window_start: int


def call_options(ctx: AgentContext, *, penalties: bool, min_tokens: int) -> dict[str, Any]:
    """Sampling options of one section call, in the server's own dialect.

    Penalties push a model out of a loop; `min_tokens` (where the server takes it) keeps the
    model from ending the section long before its budget.
    """
    settings = ctx.settings
    options: dict[str, Any] = {}
    extra_body: dict[str, Any] = {}
    if penalties:
        options["frequency_penalty"] = settings.loop_frequency_penalty
        options["presence_penalty"] = settings.loop_presence_penalty
        if ctx.endpoint.repeat_penalty_param:
            extra_body[ctx.endpoint.repeat_penalty_param] = settings.loop_repeat_penalty
    if ctx.endpoint.min_tokens_param and min_tokens > 0:
        extra_body[ctx.endpoint.min_tokens_param] = min_tokens
    if extra_body:
        options["extra_body"] = extra_body
    return options


def write_section(ctx: AgentContext, state: WriteState, emit: Callable[[dict[str, Any]], None]) -> SectionOutcome:
    """Write section len(state.sections) until it reaches its budget (within the call cap)."""
    settings = ctx.settings
    language = state["language"]
    prompts = prompts_for(language)
    plan = state["plan"]
    index = len(state.get("sections", []))
    budget_words = plan[index]["words"]
    single = state["plan_source"] == "single"
    earlier = state.get("sections", [])
    bodies = [s["text"] for s in earlier]
    written = [section_turns(s) for s in earlier]
    usage = Usage(**state["usage"])
    window = state.get("window_start", 0)
    model = ctx.make_model()

    body = _draft(state, index)
    turns = [Turn(ask="", said=body)] if body else []
    last = index == len(plan) - 1
    enough = budget.SHORT_FRACTION if last else budget.LATER_SECTIONS_TAKE_OVER
    calls = continuations = loops_cut = stalls = 0
    prompt_tokens = completion_tokens = 0
    seconds = 0.0
    use_penalties = False
    while calls < settings.section_calls:
        need = budget_words if not body else budget.words_still_needed(count_words(body), budget_words, enough)
        if need == 0:
            break
        step = Step(index=index, words=need, turns=tuple(turns))
        ratio = budget.tokens_per_word(usage, language)
        max_tokens = budget.max_tokens_for(
            need, ratio, ceiling=int(settings.max_section_words * MAX_TOKENS_HEADROOM * ratio)
        )

        def build(start: int, step: Step = step) -> list[BaseMessage]:
            if single:
                return single_messages(state["instruction"], step.words, step.turns, prompts)
            return section_messages(
                instruction=state["instruction"],
                title=state["title"],
                outline=planned_outline(state, prompts),
                plan=plan,
                written=written,
                window_start=start,
                step=step,
                prompts=prompts,
            )

        prompt_ratio = budget.prompt_token_ratio(usage)
        room = ctx.endpoint.context_tokens - max_tokens - SAFETY_TOKENS
        chosen = choose_window(build=build, current_start=window, index=index, room=room, ratio=prompt_ratio)
        if chosen is None:
            raise GenerationError(
                f"The request and its plan alone do not fit the model's {ctx.endpoint.context_tokens}-token "
                "context; shorten the instruction, use fewer sections, or use a model with a longer context."
            )
        window = chosen
        messages = build(window)
        prefix = body
        # the prompts' own sentences count as earlier text: echoing them is a repeat too
        instructions = "\n".join(str(m.content) for m in messages if not isinstance(m, AIMessage))
        guard = LoopGuard("\n\n".join(bodies), prompt=instructions)

        def looping(text: str, prefix: str = prefix, guard: LoopGuard = guard) -> bool:
            return guard.is_looping(join_continuation(prefix, text))

        def long_enough(text: str, need: int = need) -> bool:
            # the answer is stopped at the first sentence end past what was asked: the rest
            # would be trimmed, or cut off unfinished at max_tokens
            return budget.ends_sentence(text) and count_words(text) >= need

        generation = generate(
            model,
            messages,
            max_tokens=max_tokens,
            options=call_options(
                ctx, penalties=use_penalties or bool(body), min_tokens=budget.min_tokens_for(need, ratio, max_tokens)
            ),
            on_token=lambda piece: emit(events.token(index, piece)),
            should_stop=looping,
            finished=long_enough,
            max_tokens_field=ctx.settings.max_tokens_field,
        )
        calls += 1
        seconds += generation.seconds
        completion_tokens += generation.completion_tokens
        prompt_tokens += generation.prompt_tokens or 0
        usage = _add_usage(usage, generation, messages)

        kept, repeats = cut_loop(join_continuation(body, _usable_text(generation, first=not body)), guard)
        turns = _with_answer(turns, body, kept, generation.text, ask=str(messages[-1].content) if turns else "")
        if repeats:
            loops_cut += 1
            use_penalties = True  # the rest is rewritten with repetition penalties
            # A model that copies what the prompt shows it goes on copying: the rest of this
            # section, and the sections after it, are written without the earlier sections in
            # the prompt (a window slide; the guard still checks against them). Measured in
            # docs/BENCHMARKS.md ("Agent overhead").
            window = index
        if count_words(kept) - count_words(body) >= MIN_PROGRESS_WORDS or (kept and not body):
            continuations += 1 if body else 0
            stalls = 0
        else:
            stalls += 1
        body = kept
        if body and stalls >= STALLS_BEFORE_LEAVING_SHORT and not last:
            break  # (the last section has no later ones to take its missing words: it keeps trying)
        if stalls >= STALLS_BEFORE_FRESH_CONTEXT:
            window = index  # (as after a loop: nothing left in the prompt to copy)

    if not body.strip():
        raise GenerationError(
            f"The model returned no usable text for section {index + 1} after {calls} calls "
            "(empty or looping answers); try again, or use a stronger model with --base-url."
        )
    body, trimmed = budget.trim_to_budget(body, budget_words, last=last)
    if trimmed:
        turns = [Turn(ask="", said=body)]  # its cut end no longer matches any answer
    result = SectionResult(
        index=index,
        title=plan[index]["title"],
        text=body,
        words=count_words(body),
        budget=budget_words,
        calls=calls,
        continuations=continuations,
        loops_cut=loops_cut,
        trimmed=trimmed,
        turns=turns,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        seconds=round(seconds, 3),
    )
    return SectionOutcome(result=result, usage=usage, window_start=window)


def planned_outline(state: WriteState, prompts: PromptSet) -> str:
    """The outline the write prompts show (jobs saved before it was kept: the current plan's)."""
    return state.get("outline") or outline_text(state["plan"], prompts)


def _draft(state: WriteState, index: int) -> str:
    """Text a section starts from: the served model's opening (section 1, model-first fallback)
    or the earlier draft of a closing that was moved back to the end when sections were added."""
    if index == 0 and state.get("opening"):
        return state["opening"]
    if index == len(state["plan"]) - 1:
        return state.get("closing_draft", "")
    return ""


def _with_answer(turns: list[Turn], body: str, kept: str, answer: str, ask: str) -> list[Turn]:
    """The section's exchanges once `answer` (to `ask`) took its text from `body` to `kept`."""
    if not kept.startswith(body):  # the loop cut reached into earlier text: one answer shows it all
        return [Turn(ask="", said=kept)] if kept else []
    addition = kept[len(body) :].strip()
    if not addition:  # nothing new: the exchange is left out, as if never asked
        return turns
    return [*turns, Turn(ask=ask, said=shown_answer(answer, addition))]


def _usable_text(generation: Generation, first: bool) -> str:
    text = drop_empty_lines(generation.text)
    if first:
        text = strip_heading(text)
    if generation.finish_reason == "length":
        text = budget.drop_unfinished_sentence(text)
    return text.strip()


def _add_usage(usage: Usage, generation: Generation, messages: list[BaseMessage]) -> Usage:
    updated = Usage(**usage)
    updated["completion_tokens"] += generation.completion_tokens
    updated["generated_words"] += count_words(generation.text)
    if generation.prompt_tokens:
        updated["prompt_tokens"] += generation.prompt_tokens
        updated["estimated_prompt_tokens"] += estimate_tokens(messages)
    return updated
