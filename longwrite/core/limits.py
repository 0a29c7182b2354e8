"""Checks every front end applies to a writing request before any model starts."""

from __future__ import annotations

from typing import Literal

from longwrite.core.errors import InputError, TooLargeError
from longwrite.core.settings import Settings
from longwrite.core.text import required_length, stated_length

TargetFrom = Literal["request", "instruction", "plan"]


def check_valid_text(text: str, what: str) -> None:
    """InputError when `text` holds a lone surrogate (e.g. "\\ud800"): JSON and Python strings can
    carry one, but it is not text that any store, server or answer can encode. `what` starts the message."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InputError(
            f"{what} has a character that is not valid text at position {error.start} "
            f"({text[error.start]!r}, a lone surrogate); remove it or send the text as UTF-8."
        ) from error


def check_instruction(instruction: str | None, settings: Settings, example: str) -> str:
    """The instruction without surrounding space; refuses an empty or oversized one.

    `example` shows the caller's own way of asking (a command line, a JSON body).
    """
    text = (instruction or "").strip()
    if not text:
        raise InputError(f"The instruction is empty; say what to write, e.g. {example}.")
    check_valid_text(text, "The instruction")
    if len(text) > settings.max_instruction_chars:
        raise TooLargeError(
            f"The instruction has {len(text):,} characters, over the limit of "
            f"{settings.max_instruction_chars:,}; shorten it or raise LONGWRITE_MAX_INSTRUCTION_CHARS."
        )
    return text


def target_length(instruction: str, words: int | None, where: str, settings: Settings) -> int | None:
    """The target: `words` when given (named `where` in errors), else the length the instruction
    states; None when neither gives one, and the agent's plan sizes the document (each section
    as long as the task needs, at most settings.max_planned_words in all)."""
    if words is not None:
        return check_target(words, where, settings)
    stated = stated_length(instruction)
    if stated.words is not None:
        return check_target(stated.words, f"The length the instruction asks for, {stated.describe()},", settings)
    return None


def target_from(instruction: str, target: int | None) -> TargetFrom:
    """Where a target came from: "plan" (None: the plan sizes it), "instruction" (the length it
    states) or "request" (a number given beside it: --words, target_words, the page's box)."""
    if target is None:
        return "plan"
    return "instruction" if required_length(instruction) == target else "request"


def target_note(instruction: str, target: int | None, settings: Settings) -> str:
    """Where a target came from, for people: "2,000 words (5 x 400, from '五篇 … 400字')"."""
    source = target_from(instruction, target)
    if source == "plan":
        return f"no length stated: the plan sizes it (at most {settings.max_planned_words:,} words)"
    if source == "instruction":
        return stated_length(instruction).describe()
    return f"{target:,} words (asked for beside the instruction)"


def check_target(words: int, where: str, settings: Settings) -> int:
    if words <= 0:
        raise InputError(f"{where} is {words}; give a positive number of words.")
    if words > settings.max_target_words:
        # a number of 30 digits is not worth echoing (and a page may have passed it through a float)
        said = f"{words:,} words" if words < 10**12 else f"a number of {len(str(int(words)))} digits"
        raise InputError(
            f"{where} is {said}, above the cap of {settings.max_target_words:,}; "
            "ask for less, or raise LONGWRITE_MAX_TARGET_WORDS."
        )
    return words
