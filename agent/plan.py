"""Turning a model's outline (often messy) into a valid plan, and the fallback outline."""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from longwrite.agent.budget import renormalise
from longwrite.agent.prompts import PromptSet
from longwrite.agent.state import Section
from longwrite.core.text import Language, detect_language

# A named numbering: "Section 2", "Part 3", "第三部分" (with its separator, if any)
_NAMED_NUMBER = (
    r"(?:(?:section|part|paragraph|chapter)\s*\d+|第[\d一二三四五六七八九十]{1,3}\s*[部分节章段]+)\s*[:.)\-–—：、]?"
)
# A numbered or bulleted outline line: "1. Title: point", "Section 2 - Title", "第三部分：标题"...
_ITEM = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:\*\*)?\s*"
    rf"(?:{_NAMED_NUMBER}|\d{{1,2}}\s*[.)、:：]|[-*•]\s|[一二三四五六七八九十]{{1,3}}\s*、)"
    r"\s*(?P<body>.+?)\s*$",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^\s*#{1,6}\s+(?P<body>.+?)\s*$")
# The numbering a model puts inside a heading: "Section 2. Costs", "2. Costs" -> "Costs"
_NUMBERED_HEADING = re.compile(rf"^\s*(?:{_NAMED_NUMBER}|\d{{1,2}}\s*[.)、:：](?!\d))\s*", re.IGNORECASE)
# Text with at least two words (or CJK characters): "{", "][" or "\n\n" say nothing.
_SAYS_SOMETHING = re.compile(r"[A-Za-z]{2,}\W+[A-Za-z]{2,}|[\u4e00-\u9fff]{2,}")
_TITLE = re.compile(
    r"^\s*(?:\*\*)?\s*(?:title|标题|题目)\s*(?:\*\*)?\s*[:：]\s*(?P<title>.+?)\s*$|^\s*<<(?P<angled>.+?)>>\s*$",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[(（\[]?\s*(?:about|approx\.?|约)?\s*(\d[\d,]*)\s*(?:words?|字)\s*[)）\]]?", re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?::|：|\s[-–—]\s|\|)\s*")
_PLACEHOLDER = re.compile(r"^<.*>$|^(?:title|heading|section title|标题|小标题)$", re.IGNORECASE)
_INSTRUCTION_VERB = re.compile(
    r"^(?:please\s+)?(?:write|compose|create|draft|generate|produce)\s+(?:me\s+)?"
    r"(?:an?\s+|the\s+)?(?:[\w,.~-]+[\s-]+words?\s+)?"
    r"(?:(?:short|long|detailed|brief|comprehensive|blog|news|research|opinion|personal)\s+)*"
    r"(?:article|essay|story|post|guide|report|paper|piece|novel|speech|letter|blog|review|text)?"
    r"\s*(?:about|on|of|for|describing|explaining|that explains)?\s*",
    re.IGNORECASE,
)
_ZH_INSTRUCTION_VERB = re.compile(r"^(?:请|帮我|请你)?(?:写|创作|撰写)(?:一篇|一部|一份|一首|一个)?")

MAX_TITLE_CHARS = 120
MAX_TITLE_WORDS = 10
MAX_TITLE_CJK_CHARS = 20
MAX_POINTS_CHARS = 400
# Lengths an outline held to a schema may not exceed: one heading and one sentence each, short
# enough that the whole outline fits the plan call's max_tokens (a cut-off JSON does not parse).
SCHEMA_HEADING_CHARS = 60
SCHEMA_COVERS_CHARS = 100


# The closing section's share of an even split (see even_weights).
CLOSING_WEIGHT = 0.6


@dataclass(frozen=True)
class ParsedOutline:
    title: str | None
    sections: list[Section]  # budgets are 0 where the model gave none


def section_count_bounds(target: int, min_words: int, max_words: int) -> tuple[int, int]:
    """The fewest and most sections that keep every budget within [min_words, max_words]."""
    fewest = max(1, math.ceil(target / max_words))
    most = max(fewest, target // min_words)
    return fewest, most


def suggested_sections(target: int, min_words: int, max_words: int, section_words: int) -> int:
    """How many sections to ask for: about `section_words` each, within the bounds."""
    fewest, most = section_count_bounds(target, min_words, max_words)
    # rounded up: a small model falls short more often on one long section than on two short ones
    return min(most, max(fewest, math.ceil(target / section_words), 2))


def outline_schema(
    sections: int,
    with_title: bool = True,
    with_points: bool = True,
    fewest: int | None = None,
    words: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The JSON schema an outline is held to where the server can constrain its answer: exactly
    `sections` sections (`fewest` to `sections` where given), so a small model's outline parses on
    the first call; each a heading, (`with_points`) what it covers and (`words`, a (least, most)
    pair, when the model sizes the sections) how many words it needs."""
    fields: dict[str, Any] = {"heading": {"type": "string", "maxLength": SCHEMA_HEADING_CHARS}}
    if with_points:
        fields["covers"] = {"type": "string", "maxLength": SCHEMA_COVERS_CHARS}
    if words:
        fields["words"] = {"type": "integer", "minimum": words[0], "maximum": words[1]}
    section = {"type": "object", "properties": fields, "required": list(fields), "additionalProperties": False}
    least = sections if fewest is None else fewest
    properties: dict[str, Any] = {
        "sections": {"type": "array", "items": section, "minItems": least, "maxItems": sections}
    }
    if with_title:
        properties = {"title": {"type": "string", "maxLength": MAX_TITLE_CHARS}, **properties}
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def parse_outline(answer: str) -> ParsedOutline:
    """Read sections from a model's outline (JSON, or lines in any numbering style, markdown and
    chatter tolerated)."""
    parsed = _parse_json_outline(answer)
    return parsed if parsed is not None else _parse_line_outline(answer)


def _parse_line_outline(answer: str) -> ParsedOutline:
    title = None
    sections: list[Section] = []
    for line in answer.splitlines():
        if not line.strip():
            continue
        title_match = _TITLE.match(line)
        if title_match and title is None and not sections:
            title = _clean(title_match["title"] or title_match["angled"])
            continue
        match = _ITEM.match(line) or _HEADING.match(line)
        if match:
            sections.append(_section_from(match["body"]))
    return ParsedOutline(title=title or None, sections=_unique(sections))


def _parse_json_outline(answer: str) -> ParsedOutline | None:
    """An outline answered as {"title": ..., "sections": [{"heading": ..., "covers": ...}]}."""
    try:
        data = json.loads(answer, strict=False)  # small models put raw newlines inside strings
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        return None
    title = data.get("title") if isinstance(data.get("title"), str) else ""
    title_match = _TITLE.match(title)  # small models write "Title: ..." inside the value too
    title = _clean(title_match["title"] or title_match["angled"]) if title_match else _clean(title)
    sections = [_section_from_item(item) for item in data["sections"] if isinstance(item, dict)]
    return ParsedOutline(title=title or None, sections=_unique(sections))


def _section_from_item(item: dict[str, Any]) -> Section:
    """One section of a JSON outline; a heading that is only a number ("Section 2") is made from
    what the section covers."""
    heading = item.get("heading") if isinstance(item.get("heading"), str) else ""
    heading = _clean(_NUMBERED_HEADING.sub("", heading))
    covers = item.get("covers") if isinstance(item.get("covers"), str) else ""
    covers = covers.strip() if _SAYS_SOMETHING.search(covers) else ""
    if heading:
        section = _section_from(f"{heading}: {covers}" if covers else heading)
    else:
        section = _section_from(covers.rstrip(".。"))
    words = item.get("words")  # asked for where the model sizes the sections (see outline_schema)
    if isinstance(words, int) and not isinstance(words, bool) and words > 0:
        section = Section(title=section["title"], points=section["points"], words=words)
    return section


def _unique(sections: list[Section]) -> list[Section]:
    """Sections with a heading, each heading once."""
    seen: set[str] = set()
    unique = []
    for section in sections:
        key = _title_key(section["title"])
        if section["title"] and key not in seen:
            seen.add(key)
            unique.append(section)
    return unique


def _section_from(body: str) -> Section:
    words = 0
    count = _WORDS.search(body)
    if count:
        words = int(count.group(1).replace(",", ""))
        body = (body[: count.start()] + body[count.end() :]).strip(" -–—,;|")
    body = body.replace("**", "").strip()
    parts = _SPLIT.split(body, maxsplit=1)
    title = _clean(parts[0])
    points = _clean(parts[1]) if len(parts) > 1 else ""
    if _too_long_for_heading(title):  # a sentence, not a heading: keep it as the point
        points = _clean(body)
        title = _short_heading(title)
    if _PLACEHOLDER.match(title) or not re.search(r"[A-Za-z\u4e00-\u9fff]", title):
        title = ""
    return Section(title=title[:MAX_TITLE_CHARS], points=points[:MAX_POINTS_CHARS], words=words)


def _too_long_for_heading(title: str) -> bool:
    return len(title.split()) > MAX_TITLE_WORDS or (len(title) > MAX_TITLE_CHARS // 2 and " " not in title)


def _short_heading(sentence: str) -> str:
    """The first clause of a sentence, cut to a heading's length."""
    clause = re.split(r"[,;.:!?，；。：！？—]", sentence, maxsplit=1)[0]
    words = clause.split()
    if len(words) > 1:
        return " ".join(words[:MAX_TITLE_WORDS]).rstrip(",;")
    return clause[:MAX_TITLE_CJK_CHARS]


def _clean(text: str) -> str:
    return text.strip().strip("\"'“”*#<>").strip()


def sized_outline(
    outline: ParsedOutline, min_words: int, max_words: int, section_words: int, cap: int
) -> tuple[ParsedOutline, int]:
    """(outline, target) for a request that states no length: the model's section budgets, each
    held to [min_words, max_words] (`section_words` where it gave none), and their sum, at most
    `cap` (build_plan then scales the budgets to it)."""

    def held(words: int) -> int:
        return min(max(words, min_words), max_words) if words else section_words

    sections = [Section(title=s["title"], points=s["points"], words=held(s["words"])) for s in outline.sections]
    sections = [s for s in sections if s["title"]]
    return ParsedOutline(title=outline.title, sections=sections), min(sum(s["words"] for s in sections), cap)


def build_plan(
    outline: ParsedOutline,
    target: int,
    min_words: int,
    max_words: int,
    prompts: PromptSet,
    accept_few: bool = False,
) -> list[Section] | None:
    """A valid plan from a parsed outline, or None if the outline is unusable.

    Budgets the model gave are kept in proportion (unless absurd) and renormalised to the
    target; too many sections are merged, and (only when `accept_few`, the last try) too few are
    split, so that every budget lands within [min_words, max_words].
    """
    sections = [s for s in outline.sections if s["title"]]
    fewest, most = section_count_bounds(target, min_words, max_words)
    if most >= 2:
        fewest = max(fewest, 2)  # a planned document has at least two sections when it can
    if not sections or (len(sections) < 2 <= fewest):
        return None
    if len(sections) < fewest and not accept_few:
        return None
    budgets = [s["words"] for s in sections]
    if not all(b > 0 for b in budgets) or max(budgets) > 10 * min(budgets):
        budgets = even_weights(len(sections), target, min_words)  # missing or absurd counts: split evenly
    sections = with_budgets(sections, renormalise(budgets, target))
    while len(sections) > most:
        sections = _merge_smallest_pair(sections)
    while len(sections) < most and (len(sections) < fewest or max(s["words"] for s in sections) > max_words):
        sections = _split_largest(sections, prompts)
    return with_budgets(sections, renormalise([s["words"] for s in sections], target))


def _merge_smallest_pair(sections: list[Section]) -> list[Section]:
    pairs = range(len(sections) - 1)
    i = min(pairs, key=lambda k: sections[k]["words"] + sections[k + 1]["words"])
    first, second = sections[i], sections[i + 1]
    merged = Section(
        title=first["title"],
        points=" ".join(p for p in (first["points"], second["title"] + ".", second["points"]) if p),
        words=first["words"] + second["words"],
    )
    return [*sections[:i], merged, *sections[i + 2 :]]


def _split_largest(sections: list[Section], prompts: PromptSet) -> list[Section]:
    i = max(range(len(sections)), key=lambda k: sections[k]["words"])
    section = sections[i]
    first_half = section["words"] // 2
    (second,) = angle_sections(sections, [section], 1, prompts)
    first = Section(title=section["title"], points=section["points"], words=first_half)
    second = Section(title=second["title"], points=second["points"], words=section["words"] - first_half)
    return [*sections[:i], first, second, *sections[i + 1 :]]


def angle_sections(plan: list[Section], bases: list[Section], count: int, prompts: PromptSet) -> list[Section]:
    """`count` new sections that revisit the topics of `bases` from angles the plan lacks yet."""
    taken = {_title_key(s["title"]) for s in plan}
    new: list[Section] = []
    round_number = 1
    while bases and len(new) < count:
        for angle, base in itertools.product(prompts.angles, bases):
            title = prompts.angle_title.format(title=base["title"], angle=angle)
            title += f" ({round_number})" if round_number > 1 else ""
            if len(new) < count and _title_key(title) not in taken:
                taken.add(_title_key(title))
                points = prompts.angle_points.format(points=base["points"], angle=angle).strip()
                new.append(Section(title=title, points=points, words=0))
        round_number += 1
    return new


def even_weights(count: int, target: int, min_words: int) -> list[float]:
    """Equal shares, except a smaller one (never below `min_words`) for the closing section.

    Closings are short by nature (a model summing up soon repeats itself, and the loop guard
    cuts the repeats), so a closing planned as long as the others tends to end short and take
    the whole document below its target.
    """
    weights = [1.0] * count
    if count >= 2 and target > min_words:
        # the closing gets target * w / (count - 1 + w) words; keep that at min_words or more
        lowest = min_words * (count - 1) / (target - min_words)
        weights[-1] = min(1.0, max(CLOSING_WEIGHT, lowest))
    return weights


def with_budgets(sections: list[Section], budgets: list[int]) -> list[Section]:
    return [Section(**{**s, "words": b}) for s, b in zip(sections, budgets, strict=True)]  # type: ignore[typeddict-item]


def fallback_plan(
    instruction: str, target: int, min_words: int, max_words: int, section_words: int, prompts: PromptSet
) -> list[Section]:
    """A deterministic outline for when the model cannot produce a usable one."""
    count = suggested_sections(target, min_words, max_words, section_words)
    topic = topic_of(instruction)
    names = list(prompts.fallback_titles)
    middle = names[1:-1]
    chosen = [names[0]]
    for k in range(count - 2):
        base = middle[k % len(middle)]
        chosen.append(base if k < len(middle) else f"{base} ({k // len(middle) + 1})")
    chosen.append(names[-1])
    chosen = chosen[:count] if count >= 2 else [names[0]]
    sections = [Section(title=t, points=prompts.fallback_points.format(title=t, topic=topic), words=1) for t in chosen]
    return with_budgets(sections, renormalise(even_weights(len(sections), target, min_words), target))


def extension_sections(plan: list[Section], answer: str, count: int, prompts: PromptSet) -> list[Section]:
    """`count` new sections: those the model proposed that the plan lacks, then new angles on
    the planned topics (the closing section excluded)."""
    taken = {_title_key(s["title"]) for s in plan}
    new: list[Section] = []
    for section in parse_outline(answer).sections:
        if len(new) < count and _title_key(section["title"]) not in taken:
            taken.add(_title_key(section["title"]))
            new.append(Section(title=section["title"], points=section["points"], words=0))
    separator = prompts.angle_title.format(title="", angle="")
    bases = [s for s in plan[:-1] if separator not in s["title"]] or plan[:1]
    return new + angle_sections(plan + new, bases, count - len(new), prompts)


def with_new_headings(plan: list[Section], sections: list[Section], base: Section, prompts: PromptSet) -> list[Section]:
    """`sections` (a chapter's, budgets kept) with each heading the plan already has replaced by
    a new angle on `base` (the chapter): a small model asked for a chapter's parts often repeats
    the headings of the chapters before, and the same heading leads it to the same text."""
    taken = {_title_key(s["title"]) for s in plan}
    fresh: list[Section] = []
    for section in sections:
        if _title_key(section["title"]) in taken:
            [angle] = angle_sections([*plan, *fresh, *sections], [base], 1, prompts)
            section = Section(**{**section, "title": angle["title"], "points": angle["points"]})  # type: ignore[typeddict-item]
        taken.add(_title_key(section["title"]))
        fresh.append(section)
    return fresh


def _title_key(title: str) -> str:
    return re.sub(r"\W+", " ", title.lower()).strip()


def topic_of(instruction: str) -> str:
    """The subject of an instruction, for titles and fallback outlines: the request minus its verb."""
    first_line = instruction.strip().splitlines()[0] if instruction.strip() else ""
    if detect_language(first_line) == "zh":
        topic = _ZH_INSTRUCTION_VERB.sub("", first_line).strip("。！？ ")
    else:
        topic = _INSTRUCTION_VERB.sub("", first_line).strip(" .!?")
    return (topic or first_line)[:MAX_TITLE_CHARS]


def default_title(instruction: str, language: Language) -> str:
    topic = topic_of(instruction)
    return topic[:1].upper() + topic[1:] if language == "en" else topic
