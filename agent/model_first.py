"""The model-first fallback (`auto`): the served model answers first, held to the target (model
mode's --hold-length); when its answer fails, loops or falls short, the agent continues from the
usable part of it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import openai

from longwrite.agent import budget, events
from longwrite.agent.direct import write_direct
from longwrite.agent.document import drop_empty_lines, strip_heading
from longwrite.agent.jobs import JobResult
from longwrite.agent.plan import default_title
from longwrite.agent.state import AgentContext, Section
from longwrite.core.errors import Cancelled, GenerationError, LongwriteError
from longwrite.core.text import count_words, detect_language, length_score

ACCEPT_SCORE = 80  # the length score an answer needs to stand on its own
MIN_OPENING_WORDS = 50  # a shorter remnant is not worth continuing from: the agent starts afresh

WritePath = Literal["model", "model+agent", "agent"]


@dataclass(frozen=True)
class ModelAttempt:
    text: str  # the usable part: heading, loops and an unfinished last sentence removed, trimmed
    path: WritePath  # what produces the document from here
    reason: str  # why the agent takes over ("" when the answer stands)
    seconds: float


@dataclass(frozen=True)
class AutoResult:
    document: str
    path: WritePath
    reason: str
    words: int
    target: int
    length_score: float


def attempt_model(ctx: AgentContext, instruction: str, target: int) -> ModelAttempt:
    """Send the instruction to the served model in one call held to the target (model mode's
    --hold-length: a floor on its length, penalties from the first token, the loop guard) and judge
    the answer."""
    started = time.monotonic()
    try:
        direct = write_direct(ctx, instruction, hold_to=target)  # stops within a token of a cancel
    except Cancelled:
        raise  # the client left: the slot goes back now, not when the model ends its answer
    except GenerationError:  # nothing left once the guard cut the loop, or nothing at all
        return ModelAttempt("", "agent", "the answer was empty, or all of it a loop", time.monotonic() - started)
    except (openai.OpenAIError, LongwriteError) as error:
        return ModelAttempt("", "agent", f"the model call failed ({type(error).__name__})", time.monotonic() - started)
    text, _trimmed = budget.trim_to_budget(strip_heading(drop_empty_lines(direct.document)), target)
    words = count_words(text)
    score = length_score(target, words)
    seconds = time.monotonic() - started
    if score >= ACCEPT_SCORE and not direct.loop_cut:
        return ModelAttempt(text, "model", "", seconds)
    reason = (
        "the answer looped"
        if direct.loop_cut
        else f"the answer had {words} of {target} words (length score {score:.0f})"
    )
    if words < MIN_OPENING_WORDS:
        return ModelAttempt("", "agent", reason, seconds)
    return ModelAttempt(text, "model+agent", reason, seconds)


def report_one_call(
    emit: Callable[[dict[str, Any]], None], instruction: str, text: str, target: int, seconds: float
) -> None:
    """The events of an answer written in one call, as a one-section plan, so that a front end
    renders it as it renders the agent's."""
    title = default_title(instruction, detect_language(instruction))
    words = count_words(text)
    emit(events.plan_event(title, [Section(title=title, points="", words=target)], "single", target))
    emit(events.section_finished(0, 1, title, words, words, target, text, seconds))
    emit(events.done(words, target))


def write_auto(
    ctx: AgentContext,
    instruction: str,
    target: int,
    continue_with: Callable[[str], JobResult],
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> AutoResult:
    """The served model first; the agent continues its usable part when it falls short.

    Events are the agent's own; an answer that stands is reported as a one-section plan, so a
    front end renders both paths the same way. `continue_with(opening)` runs the agent from the
    model's usable text (the runner's agent: a saved job, or in memory).
    """
    emit = on_event or (lambda _event: None)
    attempt = attempt_model(ctx, instruction, target)
    if attempt.path == "model":
        report_one_call(emit, instruction, attempt.text, target, attempt.seconds)
        document = attempt.text.strip() + "\n"
    else:
        document = continue_with(attempt.text).document
    words = count_words(document)
    return AutoResult(document, attempt.path, attempt.reason, words, target, length_score(target, words))
