"""Closed-loop length control: budgets, token limits, and cutting text to length.

The loop: a section is written with max_tokens sized from its budget and a tokens-per-word
ratio learned from the server's usage figures; its words are counted; a short section is
continued, a long one is cut back at a sentence end; then the remaining sections' budgets are
rescaled so the whole document lands on the target.
"""

from __future__ import annotations

import math
import re

from longwrite.agent.state import Chapter, Section, Usage
from longwrite.core.text import Language, count_words

# A section within this share of its budget is done; below it, it is continued.
SHORT_FRACTION = 0.92
# ... unless sections follow it: then it is continued only below this share, and the sections
# after it take the missing words. A model's first answer in a section is its best; asked to
# continue, a small one tends to start the section over, and the guard throws the copy away.
LATER_SECTIONS_TAKE_OVER = 0.6
# Above this share of its budget, a section is cut back (to at most TRIM_TO of it).
LONG_FRACTION = 1.10
TRIM_TO = 1.03
# ... unless sections follow it: they take the surplus (rebalancing shrinks their budgets), and
# cutting would throw away text already paid for. Only beyond this share is it cut back (to it).
LATER_SECTIONS_ABSORB = 1.5
# Continuing costs a call: not worth it for fewer words than this; later sections absorb them.
MIN_CONTINUATION_WORDS = 25
# max_tokens = budget * tokens-per-word * this, so a section can finish its last sentence (the
# writer stops the answer at the first sentence end past the budget: see ends_sentence).
TOKEN_SLACK = 1.15
# Where the server takes a floor on the answer's length, the model may not end before this share
# of the words it was asked for (so a section that ends there is already long enough).
MIN_TOKENS_SHARE = 0.95
# Before any usage is seen. English prose is about 1.3-1.5 tokens a word in common
# tokenizers; a Chinese character is about one token in Chinese-aware tokenizers.
PRIOR_TOKENS_PER_WORD: dict[Language, float] = {"en": 1.45, "zh": 1.3}
PRIOR_WEIGHT_WORDS = 150  # how many words the prior counts for against observed usage
# The server's tokenizer is not cl100k_base; until usage says otherwise, assume it is coarser.
PRIOR_PROMPT_RATIO = 1.25
# A rebalanced budget never drops below this share of what the plan gave the section.
REBALANCE_FLOOR = 0.3

_SENTENCE_END = re.compile(r"[.!?。！？…][\"'”’)）*]*(?=\s|$)|[。！？]")
_ENDS_SENTENCE = re.compile(r"[.!?。！？…][\"'”’)）*]*$")


def empty_usage() -> Usage:
    return Usage(completion_tokens=0, generated_words=0, prompt_tokens=0, estimated_prompt_tokens=0)


def renormalise(weights: list[float], total: int) -> list[int]:
    """Whole-number budgets in proportion to `weights` that add up to exactly `total`."""
    if not weights:
        return []
    weight_sum = sum(weights)
    if weight_sum <= 0:
        weights, weight_sum = [1.0] * len(weights), float(len(weights))
    exact = [total * w / weight_sum for w in weights]
    budgets = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - budgets[i], reverse=True)
    for i in by_remainder[: total - sum(budgets)]:
        budgets[i] += 1
    return budgets


def rebalance(plan: list[Section], start: int, words_left: int, planned: list[int] | None = None) -> list[Section]:
    """Rescale the budgets of plan[start:] so they add up to `words_left`.

    Each keeps its share of the remaining plan, but never drops below REBALANCE_FLOOR of its
    `planned` budget (a document that overshot early ends a little long rather than with
    sections of a dozen words).
    """
    rest = plan[start:]
    if not rest:
        return plan
    planned = planned or [s["words"] for s in rest]
    budgets = renormalise([s["words"] for s in rest], max(words_left, 0))
    budgets = [max(b, math.ceil(REBALANCE_FLOOR * p), 1) for b, p in zip(budgets, planned, strict=True)]
    rebalanced = [Section(**{**s, "words": b}) for s, b in zip(rest, budgets, strict=True)]  # type: ignore[typeddict-item]
    return [*plan[:start], *rebalanced]


def rebalance_with_chapters(
    plan: list[Section], start: int, chapters: list[Chapter], first_pending: int, words_left: int
) -> tuple[list[Section], list[Chapter]]:
    """rebalance() for a plan made in chapters: plan[start:] (the rest of the current chapter)
    and chapters[first_pending:] (those not planned yet) share `words_left` in proportion to
    their budgets, so the document's budgets still add up to its target."""
    pending = chapters[first_pending:]
    as_sections = [Section(title=c["title"], points=c["points"], words=c["words"]) for c in pending]
    joined = rebalance([*plan, *as_sections], start, words_left)
    rebalanced = [Chapter(**{**c, "words": s["words"]}) for c, s in zip(pending, joined[len(plan) :], strict=True)]  # type: ignore[typeddict-item]
    return joined[: len(plan)], [*chapters[:first_pending], *rebalanced]


def tokens_per_word(usage: Usage, language: Language) -> float:
    """Completion tokens per counted word, from the server's usage with a prior for the start."""
    prior = PRIOR_TOKENS_PER_WORD[language]
    tokens = usage["completion_tokens"] + prior * PRIOR_WEIGHT_WORDS
    return tokens / (usage["generated_words"] + PRIOR_WEIGHT_WORDS)


def prompt_token_ratio(usage: Usage) -> float:
    """Server prompt tokens per cl100k_base token, learned from usage (never below 1.0 + margin)."""
    if usage["estimated_prompt_tokens"] < 200 or usage["prompt_tokens"] <= 0:
        return PRIOR_PROMPT_RATIO
    return max(1.05, usage["prompt_tokens"] / usage["estimated_prompt_tokens"] * 1.05)


def max_tokens_for(words: int, ratio: float, ceiling: int) -> int:
    """The max_tokens that lets a section reach `words` and finish its sentence, capped."""
    return max(16, min(ceiling, math.ceil(words * ratio * TOKEN_SLACK) + 16))


def min_tokens_for(words: int, ratio: float, max_tokens: int) -> int:
    """The floor on an answer's length (EOS barred below it) for a section that needs `words`.

    Small models end a section after 100-200 words whatever they were asked; each early end
    costs a continuation call, and continuations are where they repeat themselves.
    """
    return max(0, min(math.floor(words * ratio * MIN_TOKENS_SHARE), max_tokens - 16))


def words_still_needed(words: int, budget: int, enough: float = SHORT_FRACTION) -> int:
    """How many more words a section needs, or 0 if it is long enough to stop (`enough` of its
    budget: SHORT_FRACTION, or LATER_SECTIONS_TAKE_OVER where later sections can take the rest)."""
    if words >= enough * budget:
        return 0
    missing = budget - words
    return missing if missing >= MIN_CONTINUATION_WORDS else 0


def ends_sentence(text: str) -> bool:
    """True when `text` (an answer still streaming) stops just after a sentence end, not a number
    like "1." or "3.5" that may go on."""
    tail = text.rstrip()
    return bool(_ENDS_SENTENCE.search(tail)) and not re.search(r"\d[.]$", tail)


def drop_unfinished_sentence(text: str) -> str:
    """Cut a text that hit max_tokens back to its last complete sentence (or keep it whole)."""
    ends = _sentence_ends(text)
    return text[: ends[-1]].rstrip() if ends else text.rstrip()


def _sentence_ends(text: str) -> list[int]:
    """Character offsets just after each sentence end (punctuation plus closing quotes)."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    for match in re.finditer(r"\S\n\s*\n", text):  # a paragraph end also ends a sentence
        ends.append(match.start() + 1)
    return sorted(set(ends))


def trim_to_budget(text: str, budget: int, last: bool = True) -> tuple[str, bool]:
    """Cut a section that is over LONG_FRACTION of its budget back to a sentence end (for one
    that is not `last`: over LATER_SECTIONS_ABSORB, back to that).

    Keeps the longest prefix that ends a sentence and stays within TRIM_TO of the budget;
    returns the text unchanged (and False) when it is not too long or no sentence end fits.
    """
    too_long, limit = (LONG_FRACTION, TRIM_TO) if last else (LATER_SECTIONS_ABSORB, LATER_SECTIONS_ABSORB)
    if count_words(text) <= too_long * budget:
        return text, False
    limit *= budget
    best = 0
    for end in _sentence_ends(text):
        if count_words(text[:end]) > limit:
            break
        best = end
    if best == 0 or count_words(text[:best]) < SHORT_FRACTION * budget * 0.8:
        return text, False
    return text[:best].rstrip(), True
