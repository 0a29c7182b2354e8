"""Writing one section under closed-loop length control and the degeneration guard."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage

from longwrite.agent import budget, events
from longwrite.agent.chapters import chapter_outline, is_closing, pending_chapters
from longwrite.agent.context import (
    SAFETY_TOKENS,
    Step,
    choose_window,
    estimate_tokens,
    outline_text,
    section_messages,
    section_turns,
    single_messages,
)
from longwrite.agent.document import demote_headings, drop_empty_lines, join_continuation, shown_answer, strip_heading
from longwrite.agent.generate import Generation, RateFloor, generate
from longwrite.agent.guard import LoopGuard, cut_loop
from longwrite.agent.prompts import PromptSet, prompts_for
from longwrite.agent.state import AgentContext, PausedDraft, SectionPaused, SectionResult, Turn, Usage, WriteState
from longwrite.core.errors import Cancelled, GenerationError
from longwrite.core.text import count_words

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


# Which repetition penalties a call sends: a section's first call ("section": the settings', else
# the server's measured profile, else none), its continuations and the rest of a section whose
# loop was cut ("loop"), or model mode's one call held to a length ("held", agent.direct).
PenaltyProfile = Literal["section", "loop", "held"]


def first_set(*values: float | None) -> float | None:
    """The first value that is set (None: none is)."""
    return next((value for value in values if value is not None), None)


def call_options(ctx: AgentContext, *, penalties: PenaltyProfile, min_tokens: int) -> dict[str, Any]:
    """Sampling options of one section call, in the server's own dialect.

    Penalties push a model out of a loop (or keep it from one); `min_tokens` (where the server
    takes it) keeps the model from ending the section long before its budget.
    """
    settings = ctx.settings
    if penalties == "loop":
        frequency, presence, repeat = (
            settings.loop_frequency_penalty,
            settings.loop_presence_penalty,
            settings.loop_repeat_penalty,
        )
    elif penalties == "held":
        frequency, presence, repeat = (
            settings.held_frequency_penalty,
            settings.held_presence_penalty,
            settings.held_repeat_penalty,
        )
    else:  # what the settings give, else this server's measured profile, else nothing
        profile = ctx.endpoint.first_call_penalties or (None, None, None)
        frequency, presence, repeat = (
            first_set(settings.section_frequency_penalty, profile[0]),
            first_set(settings.section_presence_penalty, profile[1]),
            first_set(settings.section_repeat_penalty, profile[2]),
        )
    options: dict[str, Any] = {}
    extra_body: dict[str, Any] = {}
    if frequency is not None:
        options["frequency_penalty"] = frequency
    if presence is not None:
        options["presence_penalty"] = presence
    if repeat is not None and ctx.endpoint.repeat_penalty_param:
        extra_body[ctx.endpoint.repeat_penalty_param] = repeat
    if ctx.endpoint.min_tokens_param and min_tokens > 0:
        extra_body[ctx.endpoint.min_tokens_param] = min_tokens
    if extra_body:
        options["extra_body"] = extra_body
    return options


def write_section(ctx: AgentContext, state: WriteState, emit: Callable[[dict[str, Any]], None]) -> SectionOutcome:
    """Write section len(state.sections) until it reaches its budget (within the call cap)."""
    writer = _SectionWriter(ctx, state, emit)
    try:
        while writer.calls < ctx.settings.section_calls:
            need = writer.words_needed()
            if need == 0:
                break
            messages, max_tokens, guard = writer.request(need)
            generation = writer.call(messages, max_tokens, guard, need)
            writer.judge(generation, messages, guard)
            if writer.leaves_short():
                break
            writer.refresh_if_stalled()
    except Cancelled as stop:  # Stop pauses: what the section had is kept for the resume
        raise SectionPaused(str(stop), writer.paused_draft()) from None
    return writer.outcome()


class _SectionWriter:
    """One section's calls: each asks for what is still missing (request), calls the model
    (call), keeps what is usable of the answer (judge), until the budget is met, the call cap
    is reached, or the section stalls (leaves_short); outcome() is the finished section."""

    def __init__(self, ctx: AgentContext, state: WriteState, emit: Callable[[dict[str, Any]], None]) -> None:
        self.ctx, self.state, self.emit = ctx, state, emit
        self.prompts = prompts_for(state["language"])
        self.plan = state["plan"]
        earlier = state.get("sections", [])
        self.index = len(earlier)
        self.budget_words = self.plan[self.index]["words"]
        self.single = state["plan_source"] == "single"
        self.chapters = state.get("chapters") or []
        self.last = is_closing(self.plan, self.chapters, self.index)
        self.compact_outline = False  # the chapter list left out: the context is too small for it
        self.bodies = [s["text"] for s in earlier]
        self.written = [section_turns(s) for s in earlier]
        self.usage = Usage(**state["usage"])
        self.window = state.get("window_start", 0)
        self.model = ctx.make_model()
        self.body = _draft(state, self.index)
        self.turns = [Turn(ask="", said=self.body)] if self.body else []
        self.calls = self.continuations = self.loops_cut = self.stalls = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.seconds = 0.0
        self.use_penalties = False
        # the answer arriving now and the guard that checks it: what a stop keeps of it
        self.arriving: list[str] = []
        self.guard: LoopGuard | None = None

    def words_needed(self) -> int:
        """Words still to ask for (0: the section is long enough; a later one takes the rest)."""
        if not self.body:
            return self.budget_words
        enough = budget.SHORT_FRACTION if self.last else budget.LATER_SECTIONS_TAKE_OVER
        return budget.words_still_needed(count_words(self.body), self.budget_words, enough)

    def request(self, need: int) -> tuple[list[BaseMessage], int, LoopGuard]:
        """The prompt for `need` more words inside the context window, its max_tokens, and the loop
        guard that checks the answer against all earlier text."""
        settings, language = self.ctx.settings, self.state["language"]
        step = Step(index=self.index, words=need, turns=tuple(self.turns))
        ratio = budget.tokens_per_word(self.usage, language)
        ceiling = int(settings.max_section_words * MAX_TOKENS_HEADROOM * ratio)
        max_tokens = budget.max_tokens_for(need, ratio, ceiling=ceiling)
        room = self.ctx.endpoint.context_tokens - max_tokens - SAFETY_TOKENS
        build = functools.partial(self._messages, step)
        chosen = choose_window(
            build=build,
            current_start=self.window,
            index=self.index,
            room=room,
            ratio=budget.prompt_token_ratio(self.usage),
            reread=self._starts_chapter() and not self.turns,
        )
        if chosen is None and self.chapters and not self.compact_outline:
            self.compact_outline = True  # a book's chapter list did not fit: the current chapter's parts only
            return self.request(need)
        if chosen is None:
            raise GenerationError(
                f"The request and its plan alone do not fit the model's {self.ctx.endpoint.context_tokens}-token "
                "context; shorten the instruction, use fewer sections, or use a model with a longer context."
            )
        self.window = chosen
        messages = build(self.window)
        # the prompts' own sentences count as earlier text: echoing them is a repeat too
        instructions = "\n".join(str(m.content) for m in messages if not isinstance(m, AIMessage))
        return messages, max_tokens, LoopGuard("\n\n".join(self.bodies), prompt=instructions, language=language)

    def _starts_chapter(self) -> bool:
        """Whether this section is the first of a chapter after another (the prompts' outline,
        and so their head, changes here)."""
        if not self.chapters or self.index == 0:
            return False
        return self.plan[self.index].get("chapter") != self.plan[self.index - 1].get("chapter")

    def _messages(self, step: Step, start: int) -> list[BaseMessage]:
        state = self.state
        if self.single:
            return single_messages(state["instruction"], step.words, step.turns, self.prompts)
        return section_messages(
            instruction=state["instruction"],
            title=state["title"],
            outline=planned_outline(state, self.prompts, self.index, compact=self.compact_outline),
            plan=self.plan,
            written=self.written,
            window_start=start,
            step=step,
            prompts=self.prompts,
            closing=len(self.plan) - 1 if not pending_chapters(self.plan, self.chapters) else None,
            request=self._revision_request(),
        )

    def _revision_request(self) -> str | None:
        """The request for a section written again (agent.revise), in place of its step."""
        revision = self.state.get("revision")
        if not revision or revision["index"] != self.index:
            return None
        prompts = self.prompts
        note = prompts.revise_note.format(note=revision["note"].strip()) if revision["note"].strip() else ""
        start = revision.get("next", "")
        return prompts.revise_step.format(
            title=self.plan[self.index]["title"],
            number=self.index + 1,
            words=revision["words"],  # as first asked, so a continuation's prompt extends this one
            note=note,
            next=prompts.revise_next.format(start=start) if start else "",
        )

    def call(self, messages: list[BaseMessage], max_tokens: int, guard: LoopGuard, need: int) -> Generation:
        """One model call, stopped early when it loops or has written enough."""
        prefix = self.body
        ratio = budget.tokens_per_word(self.usage, self.state["language"])

        def looping(text: str) -> bool:
            return guard.should_stop(join_continuation(prefix, text))

        def long_enough(text: str) -> bool:
            # the answer is stopped at the first sentence end past what was asked: the rest
            # would be trimmed, or cut off unfinished at max_tokens
            return budget.ends_sentence(text) and count_words(text) >= need

        penalties: PenaltyProfile = "loop" if self.use_penalties or self.body else "section"
        options = call_options(self.ctx, penalties=penalties, min_tokens=budget.min_tokens_for(need, ratio, max_tokens))
        self.arriving, self.guard = [], guard

        def arrived(piece: str) -> None:
            self.emit(events.token(self.index, piece))  # raises Cancelled once the run is stopped
            self.arriving.append(piece)  # only what was shown: a stop keeps what the user saw

        generation = generate(
            self.model,
            messages,
            max_tokens=max_tokens,
            options=options,
            on_token=arrived,
            should_stop=looping,
            finished=long_enough,
            max_tokens_field=self.ctx.settings.max_tokens_field,
            floor=RateFloor.from_settings(self.ctx.settings),
        )
        self.arriving = []
        self.calls += 1
        self.seconds += generation.seconds
        self.completion_tokens += generation.completion_tokens
        self.prompt_tokens += generation.prompt_tokens or 0
        self.usage = _add_usage(self.usage, generation, messages)
        return generation

    def judge(self, generation: Generation, messages: list[BaseMessage], guard: LoopGuard) -> None:
        """Keep the usable, non-repeating part of the answer; note a loop or a stall."""
        body = self.body
        usable = guard.drop_run_on(_usable_text(generation, first=not body, under_heading=not self.single))
        kept, repeats = cut_loop(join_continuation(body, usable), guard)
        ask = str(messages[-1].content) if self.turns else ""
        self.turns = _with_answer(self.turns, body, kept, generation.text, ask=ask)
        if repeats:
            self.loops_cut += 1
            self.use_penalties = True  # the rest is rewritten with repetition penalties
            # A model that copies what the prompt shows it goes on copying: the rest of this
            # section, and the sections after it, are written without the earlier sections in
            # the prompt (a window slide; the guard still checks against them). Measured in
            # docs/BENCHMARKS.md ("Agent overhead").
            self.window = self.index
        if count_words(kept) - count_words(body) >= MIN_PROGRESS_WORDS or (kept and not body):
            self.continuations += 1 if body else 0
            self.stalls = 0
        else:
            self.stalls += 1
        self.body = kept

    def paused_draft(self) -> PausedDraft:
        """The section's text at a stop: what it had kept, and the usable part of the answer that
        was arriving (its unfinished last sentence and any loop left out)."""
        kept = self.body
        if self.arriving and self.guard is not None:
            partial = Generation(text="".join(self.arriving), finish_reason="length", prompt_tokens=None,
                                 completion_tokens=len(self.arriving), seconds=0.0)  # fmt: skip
            usable = _usable_text(partial, first=not kept, under_heading=not self.single)
            kept, _ = cut_loop(join_continuation(kept, usable), self.guard)
        return PausedDraft(index=self.index, text=kept)

    def leaves_short(self) -> bool:
        """A section with text that stalls is left short; the last one has no later ones to take
        its missing words, so it keeps trying."""
        return bool(self.body) and self.stalls >= STALLS_BEFORE_LEAVING_SHORT and not self.last

    def refresh_if_stalled(self) -> None:
        """After calls in a row without progress, the next is asked without the earlier sections
        (as after a loop: nothing left in the prompt to copy)."""
        if self.stalls >= STALLS_BEFORE_FRESH_CONTEXT:
            self.window = self.index

    def outcome(self) -> SectionOutcome:
        if not self.body.strip():
            raise GenerationError(
                f"The model returned no usable text for section {self.index + 1} after {self.calls} calls "
                "(empty or looping answers); try again, or use a stronger model with --base-url."
            )
        body, trimmed = budget.trim_to_budget(self.body, self.budget_words, last=self.last)
        turns = [Turn(ask="", said=body)] if trimmed else self.turns  # a cut end matches no answer
        result = SectionResult(
            index=self.index,
            title=self.plan[self.index]["title"],
            text=body,
            words=count_words(body),
            budget=self.budget_words,
            calls=self.calls,
            continuations=self.continuations,
            loops_cut=self.loops_cut,
            trimmed=trimmed,
            turns=turns,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            seconds=round(self.seconds, 3),
        )
        return SectionOutcome(result=result, usage=self.usage, window_start=self.window)


def planned_outline(state: WriteState, prompts: PromptSet, index: int, compact: bool = False) -> str:
    """The outline the write prompts show while section `index` is written: in a plan made in
    chapters, the chapter list and that section's chapter (see agent.chapters); else the plan
    as first made (jobs saved before it was kept: the current plan's)."""
    chapters = state.get("chapters")
    if chapters:
        index = min(index, len(state["plan"]) - 1)  # a request for sections after the last
        return chapter_outline(state["plan"], chapters, index, prompts, compact)
    return state.get("outline") or outline_text(state["plan"], prompts)


def _draft(state: WriteState, index: int) -> str:
    """Text a section starts from: what it had when a run was stopped in it, the served model's
    opening (section 1, model-first fallback), or the earlier draft of a closing that was moved
    back to the end when sections were added."""
    paused = state.get("paused_draft")
    if paused and paused["index"] == index:
        return paused["text"]
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


def _usable_text(generation: Generation, first: bool, under_heading: bool) -> str:
    text = drop_empty_lines(generation.text)
    if first:
        text = strip_heading(text)
    if under_heading:
        text = demote_headings(text)
    if generation.finish_reason == "length" or generation.stopped_early:  # cut off, or stopped going wrong
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
