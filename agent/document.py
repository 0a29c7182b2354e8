"""Putting the document together from its sections, and tidying what the model returns."""

from __future__ import annotations

import re

from longwrite.agent.state import Section, SectionResult

_LEADING_HEADING = re.compile(
    r"^\s*(?:#{1,6}[^\n]*|\*\*[^\n*]{1,120}\*\*:?|(?:section|part)\s+\d+[^\n]{0,120}|第[^\n]{1,6}部分[^\n]{0,60})\s*\n+",
    re.IGNORECASE,
)


MAX_TITLE_LINE_WORDS = 12
_HAS_WORD = re.compile(r"[A-Za-z\u4e00-\u9fff]{2,}|[\u4e00-\u9fff]")


PART_SEPARATOR = "\n\n"


def section_part(heading: str, text: str, single: bool) -> str:
    """One section as markdown: the text alone for a one-section answer, else under its heading."""
    return text.strip() if single else f"## {heading}\n\n{text.strip()}"


def assemble(title: str, plan: list[Section], sections: list[SectionResult], single: bool) -> str:
    """The markdown document: a title, then each section under its heading (or one answer)."""
    if single:
        return section_part("", sections[0]["text"], single) + "\n" if sections else ""
    parts = [f"# {title}"] if title else []
    for result in sections:
        heading = plan[result["index"]]["title"] if result["index"] < len(plan) else result["title"]
        parts.append(section_part(heading, result["text"], single))
    return PART_SEPARATOR.join(parts) + "\n"


def strip_heading(text: str) -> str:
    """Drop headings a model puts before a section body; the document adds its own.

    A heading is a markdown heading, a bold line, "Section 2 ...", or a short first line that
    does not end like a sentence (a title repeated as plain text).
    """
    previous = None
    while previous != text:
        previous, text = text, _LEADING_HEADING.sub("", text.lstrip(), count=1)
        first, newline, rest = text.partition("\n")
        if newline and _looks_like_title(first):
            text = rest
    return text.lstrip()


_TOP_HEADING = re.compile(r"^#{1,2}(?=[ \t])", re.MULTILINE)


def demote_headings(text: str) -> str:
    """A section's own `#` and `##` headings as `###`: the document's title and its plan's
    sections keep the top two levels, so its outline is the plan."""
    return _TOP_HEADING.sub("###", text)


def shown_answer(answer: str, kept: str) -> str:
    """How the conversation shows an answer of which `kept` went into the document.

    The answer as the model wrote it, up to where `kept` ends, when the two differ only by a
    heading in front: the server then finds the answer in its cache on the next call instead
    of reading it again (on a CPU that costs about a third of the time it took to write).
    Otherwise (sentences cut out of its middle) `kept` alone. Spacing the loop cut tidied up
    does not count as a difference.
    """
    words = kept.split()
    match = re.search(r"\s+".join(map(re.escape, words)), answer) if words else None
    if match is None:
        return kept
    before = answer[: match.start()]
    if before.strip() and strip_heading(before + kept) != kept:
        return kept  # what went before the kept text was more than a heading
    return answer[: match.end()]


def _looks_like_title(line: str) -> bool:
    line = line.strip().strip("*_<>\"'“”")
    words = len(line.split())
    return 0 < words <= MAX_TITLE_LINE_WORDS and line[-1:] not in ".!?。！？…,，;；" and len(line) < 100


def join_continuation(body: str, addition: str) -> str:
    """Append a continuation: a new paragraph after a finished sentence, else the same one."""
    addition = addition.strip()
    if not body.strip():
        return addition
    if not addition:
        return body
    body = body.rstrip()
    separator = "\n\n" if body[-1] in ".!?。！？…\"'”’)）" else " "
    return body + separator + addition


def drop_empty_lines(text: str) -> str:
    """Remove lines with no words at all ("2.", "---", "* *") that small models emit in loops."""
    kept = [line for line in text.split("\n") if not line.strip() or _HAS_WORD.search(line)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept))
