"""Building the write prompt and keeping it inside the endpoint's context window.

Layout (prefix-stable, so llama.cpp and vLLM reuse their cache from one call to the next):

    system | user: head + step(w) | assistant: section w | user: step(w+1) | ... | user: step(i)

where w is `window_start`, the first finished section still in the prompt, and "section w" is
its exchanges as they happened (one answer, or answers with the requests to continue between
them), each answer as the model wrote it up to where the kept text ends. Each new section or
continuation only appends turns, so the server reads just the new request. When the prompt
would no longer fit, w jumps forward far enough to free about half of the room: such slides are
rare and large, because every slide makes the server read the whole prompt again. (A model that
loops also makes w jump, to the looping section: see agent.section.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from longwrite.agent.prompts import PromptSet
from longwrite.agent.state import Section, SectionResult, Turn
from longwrite.core.text import count_tokens

MESSAGE_OVERHEAD_TOKENS = 8  # role markers and separators of one chat turn
SAFETY_TOKENS = 64
# After a slide, the kept sections fill at most this share of the room for history.
REFILL_SHARE = 0.5


@dataclass(frozen=True)
class Step:
    """What the current call asks for."""

    index: int  # the section being written
    words: int  # its budget (or, when continuing, the words still missing)
    turns: tuple[Turn, ...] = ()  # its exchanges so far, when continuing


def outline_text(plan: list[Section], prompts: PromptSet) -> str:
    return prompts.outline_separator.join(
        prompts.outline_line.format(number=n, title=s["title"], points=s["points"] or "").rstrip(" :：")
        for n, s in enumerate(plan, start=1)
    )


def step_text(plan: list[Section], index: int, prompts: PromptSet, closing: int | None) -> str:
    """The request to write section `index`; `closing` is the document's last section (None while
    chapters are still to plan: see agent.chapters.is_closing)."""
    section = plan[index]
    text = prompts.step.format(
        number=index + 1,
        title=section["title"],
        points=_sentence(section["points"]),
        words=section["words"],
    )
    if index == 0:
        text += prompts.first_step_note
    if index == closing and len(plan) > 1:
        text += prompts.last_step_note
    return text


def _sentence(points: str) -> str:
    points = points.strip()
    return points if not points or points[-1] in ".!?。！？" else points + "."


def head_text(instruction: str, title: str, outline: str, prompts: PromptSet) -> str:
    return prompts.head.format(instruction=instruction.strip(), title=title, outline=outline)


def section_messages(
    *,
    instruction: str,
    title: str,
    outline: str,
    plan: list[Section],
    written: list[list[Turn]],
    window_start: int,
    step: Step,
    prompts: PromptSet,
    closing: int | None,
    request: str | None = None,
) -> list[BaseMessage]:
    """The chat turns for writing (or continuing) section `step.index`; with `request`, that
    request is asked in place of the step (same conversation, so the server's cache holds).

    `outline` is the outline as planned (outline_text), kept fixed for the whole job (for a plan
    made in chapters, for the whole chapter); `written` holds the exchanges of each finished
    section (see section_turns); `closing` is the document's last section, if planned yet.
    """
    first = head_text(instruction, title, outline, prompts)
    if window_start > 0:
        first += "\n\n" + prompts.window_note.format(omitted=window_start)
    messages: list[BaseMessage] = [SystemMessage(prompts.system)]
    for index in range(window_start, step.index):
        user = step_text(plan, index, prompts, closing)
        messages.append(HumanMessage(f"{first}\n\n{user}" if index == window_start else user))
        messages += _replay(written[index])
    current = step_text(plan, step.index, prompts, closing) if request is None else request
    messages.append(HumanMessage(f"{first}\n\n{current}" if step.index == window_start else current))
    if step.turns:
        messages += _replay(step.turns)
        section = plan[step.index]
        messages.append(HumanMessage(prompts.continue_step.format(title=section["title"], words=step.words)))
    return messages


def single_messages(instruction: str, words: int, turns: tuple[Turn, ...], prompts: PromptSet) -> list[BaseMessage]:
    """The one-call path for short targets (and its continuation, after `turns`)."""
    messages: list[BaseMessage] = [
        SystemMessage(prompts.system),
        HumanMessage(prompts.single.format(instruction=instruction.strip(), words=words)),
    ]
    if turns:
        messages += [*_replay(turns), HumanMessage(prompts.single_continue.format(words=words))]
    return messages


def section_turns(result: SectionResult) -> list[Turn]:
    """The exchanges a finished section shows in later prompts (for a job saved before they were
    kept: its text as one answer)."""
    return result.get("turns") or [Turn(ask="", said=result["text"])]


def _replay(turns: Sequence[Turn]) -> list[BaseMessage]:
    """A section's exchanges after its step: each request (but the step itself) and its answer."""
    messages: list[BaseMessage] = []
    for turn in turns:
        if turn["ask"]:
            messages.append(HumanMessage(turn["ask"]))
        messages.append(AIMessage(turn["said"]))
    return messages


def estimate_tokens(messages: list[BaseMessage]) -> int:
    """cl100k_base tokens of a chat prompt (the caller scales this to the server's tokenizer)."""
    return sum(count_tokens(str(m.content)) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def choose_window(
    *,
    build: Callable[[int], list[BaseMessage]],  # window_start -> messages
    current_start: int,
    index: int,
    room: int,
    ratio: float,
    reread: bool = False,
) -> int | None:
    """The window start to use for section `index`: the current one while the prompt fits.

    `room` is the context left for the prompt once the answer's max_tokens is reserved;
    `ratio` converts cl100k tokens into the server's tokens. `reread`: the server reads this
    prompt in full whatever the window (its head changed: a new chapter's outline), so the window
    slides now to where a slide would take it, if it is past that: the calls after it then
    append to the cache instead of one of them sliding and making the server read it all again.
    Returns None when even a prompt with no earlier section does not fit (the head alone is too
    big for this context).
    """
    if not reread and ratio * estimate_tokens(build(current_start)) <= room:
        return current_start
    limit = _refill_limit(build, index, room, ratio)
    first = max(current_start, 0) + (0 if reread else 1)
    for start in range(first, index + 1):
        if ratio * estimate_tokens(build(start)) <= limit:
            return start
    return None


def _refill_limit(build: Callable[[int], list[BaseMessage]], index: int, room: int, ratio: float) -> float:
    """After a slide, history gets about half the room left beside the head and the step."""
    bare = ratio * estimate_tokens(build(index))
    if bare > room:
        return -1.0  # nothing fits
    return bare + REFILL_SHARE * (room - bare)
