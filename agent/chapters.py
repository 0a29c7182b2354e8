"""Plans made in chapters, for documents too long for one outline.

A plan of more than MAX_FLAT_SECTIONS sections is made in two levels: the chapters first, in one
outline call (a list of chapters, whatever the length), then each chapter's sections when the
writing reaches it (agent.graph.chapter_node), asked with the chapter list and the parts of the
chapter before, and sized by the model's pace so far. Budgets sum to the target at both levels:
after each section, the rest of the current chapter and the chapters not yet planned share what
is left (budget.rebalance_with_chapters).

The write prompts show the chapter list and the current chapter's parts only, so they stay
bounded whatever the length: a 377-section outline (a 100,000-word request on the embedded model)
filled an 8,192-token context by itself. The head changes once per chapter; the server reads the
prompt again then, and reuses its cache for every other call of the chapter.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

from longwrite.agent.prompts import PromptSet
from longwrite.agent.state import Chapter, Section

MAX_FLAT_SECTIONS = 40  # more sections than this: plan in chapters
SECTIONS_PER_CHAPTER = 10
MIN_SECTIONS_PER_CHAPTER = 2
MAX_SECTIONS_PER_CHAPTER = 2 * SECTIONS_PER_CHAPTER
LISTED_TITLE_WORDS = 8  # a chapter's title in the list the prompts show is cut to this many words


def planned_in_chapters(sections: int) -> bool:
    """Whether a document of `sections` sections is planned in chapters."""
    return sections > MAX_FLAT_SECTIONS


def chapter_count(sections: int) -> int:
    return math.ceil(sections / SECTIONS_PER_CHAPTER)


def next_chapter(plan: list[Section]) -> int:
    """The first chapter whose sections are not planned yet."""
    return 1 + max((s.get("chapter", -1) for s in plan), default=-1)


def pending_chapters(plan: list[Section], chapters: list[Chapter]) -> list[Chapter]:
    """The chapters whose sections are not planned yet (none for a plan of sections alone)."""
    return chapters[next_chapter(plan) :] if chapters else []


def is_closing(plan: list[Section], chapters: list[Chapter], index: int) -> bool:
    """Whether section `index` is the document's last: the last planned, with no chapter to come."""
    return index == len(plan) - 1 and not pending_chapters(plan, chapters)


def sections_for(chapter_words: int, pace_words: int) -> int:
    """How many sections a chapter of `chapter_words` gets, at `pace_words` a section."""
    wanted = round(chapter_words / max(pace_words, 1))
    return min(MAX_SECTIONS_PER_CHAPTER, max(MIN_SECTIONS_PER_CHAPTER, wanted))


def expected_sections(plan: list[Section], chapters: list[Chapter]) -> int:
    """The sections the document will have: those planned, and an estimate for the chapters not
    planned yet at the planned sections' typical budget (what progress counters show)."""
    pending = pending_chapters(plan, chapters)
    if not pending:
        return len(plan)
    typical = statistics.median(s["words"] for s in plan) if plan else 1
    return len(plan) + sum(sections_for(c["words"], int(typical)) for c in pending)


def chapter_list(chapters: list[Chapter], prompts: PromptSet) -> str:
    """Every chapter's number and title (cut to LISTED_TITLE_WORDS words), as the prompts show them."""
    return prompts.outline_separator.join(
        prompts.chapter_line.format(number=n, title=_short(c["title"])) for n, c in enumerate(chapters, start=1)
    )


def chapter_outline(plan: list[Section], chapters: list[Chapter], index: int, prompts: PromptSet, compact: bool) -> str:
    """The outline the write prompts show while section `index` is written: the chapter list and
    the parts of its chapter; `compact` leaves the list out (a context too small even for it)."""
    number = plan[index].get("chapter", 0)
    parts = prompts.outline_separator.join(s["title"] for s in plan if s.get("chapter") == number)
    listed = "" if compact else chapter_list(chapters, prompts)
    return prompts.chapter_outline.format(
        chapters=listed, number=number + 1, title=chapters[number]["title"], sections=parts
    ).lstrip(". 。")


def chapter_request(
    instruction: str, plan: list[Section], chapters: list[Chapter], number: int, words: int, sections: int,
    prompts: PromptSet,
) -> Callable[[str], str]:  # fmt: skip
    """The request for chapter `number`'s outline of `sections` sections (given what each section
    should have, as outline_call asks), with the parts of the chapter before it, so that it
    follows what was written."""
    chapter = chapters[number]
    earlier = ""
    if number > 0:
        before = prompts.outline_separator.join(s["title"] for s in plan if s.get("chapter") == number - 1)
        earlier = prompts.chapter_earlier.format(number=number, sections=before) if before else ""
    points = prompts.chapter_points.format(points=chapter["points"]) if chapter["points"] else ""

    def request(parts: str) -> str:
        return prompts.plan_chapter.format(
            instruction=instruction.strip(),
            chapters=chapter_list(chapters, prompts),
            earlier=earlier,
            number=number + 1,
            title=chapter["title"],
            points=points,
            target=words,
            sections=sections,
            parts=parts,
        )

    return request


def _short(title: str) -> str:
    words = title.split()
    return title if len(words) <= LISTED_TITLE_WORDS else " ".join(words[:LISTED_TITLE_WORDS]) + " ..."
