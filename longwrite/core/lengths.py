"""The length an instruction asks for: stated, a range, parts that multiply or add, other units.

`required_length` gives the number (None when the instruction states none) for `write`, the API,
the web page and `curate`; `stated_length` says how it was found, so a front end can show
"2,000 words (5 x 400, from '五篇 … 400字')". Lengths are in the LongBench-Write unit (English
words plus CJK characters, see longwrite.core.text.count_words), and they read back the benchmark's own
labels: a range is its upper bound, "two parts of 1,000 each" is 2,000, and a 50-page novel is
10,000 words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from longwrite.core.numbers import (
    EN_COUNT_WORD,
    EN_DIGITS,
    EN_NUM,
    EN_NUMBER_WORD,
    ZH_COUNT_NUM,
    ZH_NOT_ORDINAL,
    ZH_NUM,
    parse_number,
)

How = Literal["stated", "range", "parts", "unit", "none"]
Qualifier = Literal["min", "max", ""]

# ---- what a page, a spoken minute and a paragraph are worth (in the LongBench-Write unit)

# LongBench-Write labels its "50-page novel" 10,000 words: 200 a page, about a paperback's page.
WORDS_PER_PAGE = 200
# A printed Chinese page holds 400 (a 20x20 manuscript sheet) to 700 characters (a book page).
ZH_CHARS_PER_PAGE = 500
# Speechwriters plan 120-150 words a minute; read aloud with pauses a speech sits at the low end.
WORDS_PER_SPOKEN_MINUTE = 130
# Chinese speech guides plan about 200 characters a minute (news readers reach 250-300).
ZH_CHARS_PER_SPOKEN_MINUTE = 200
# A paragraph of an essay or an article runs 100-150 words; an answer asking for "three
# paragraphs" wants short ones.
WORDS_PER_PARAGRAPH = 100
# A Chinese paragraph (段) of an essay or an article runs 150-200 characters.
ZH_CHARS_PER_PARAGRAPH = 150
# A count of parts ("five entries") above this is not a count of parts that each get a length.
MAX_PARTS = 100
# How far from "each 400 words" its count of parts may stand (characters): the same request.
COUNT_REACH_BEFORE = 200
COUNT_REACH_AFTER = 60


@dataclass(frozen=True)
class StatedLength:
    """How long an instruction asks the text to be, and where it says so.

    words: the length (None when nothing states one). how: "stated" (one number), "range" (its
    upper bound), "parts" (a count of parts times each one's length, or listed parts added up),
    "unit" (pages, spoken minutes or paragraphs converted), "none". source: the instruction's
    own words it was read from ("" when none). reckoning: how the number was reached ("5 x 400",
    "500 + 800", "upper bound of 300-400", "50 pages x 200 words"; "" for a plain number).
    """

    words: int | None
    how: How
    source: str = ""
    reckoning: str = ""

    def describe(self) -> str:
        """For people: "2,000 words (5 x 400, from '五篇 … 400字')" or "no length stated"."""
        if self.words is None:
            return "no length stated"
        detail = f"{self.reckoning}, " if self.reckoning else ""
        return f"{self.words:,} words ({detail}from '{self.source}')"


NO_LENGTH = StatedLength(words=None, how="none")


def required_length(instruction: str) -> int | None:
    """The length an instruction asks for, or None when it states none (see `stated_length`)."""
    return stated_length(instruction).words


def stated_length(instruction: str) -> StatedLength:
    """The length an instruction asks for and how it was found.

    Understands "10000-word", "10,000 words", "about 5k words", "at least 2000 words", "word
    count: 1500", "3000字", "三千字", "1.5万字", "五百字左右", "字数不少于800"; ranges ("300-500 words",
    "between 800 and 1,000 words", "100至200字": the upper bound, as LongBench-Write labels
    them); parts ("five entries of 400 words each", "分两部分写，各写1000字": count times length;
    "a 500-word summary and then an 800-word analysis": listed lengths add up, a length named as
    the total wins, the same number said twice counts once); and, only where no word count is
    given, pages, spoken minutes (in a speech, a talk, a script) and paragraphs, converted by the
    constants above. "About", "at least", "at most" and the like qualify a number without
    changing it; "at least 800 ... at most 1,000 words" is a range.
    """
    mentions = _word_mentions(instruction)
    if mentions:
        return _combine(mentions)
    return _from_units(instruction)


# ---------------------------------------------------------------- word counts

_EN_UNIT = r"(?:words?)\b"
_EN_RANGE = re.compile(
    rf"(?P<a>{EN_NUM})\s*\+?\s*(?:-|–|—|~|to|and|or)\s*(?P<b>{EN_NUM})\s*\+?[\s-]*{_EN_UNIT}",
    re.IGNORECASE,
)
_EN_SINGLE = re.compile(rf"(?P<a>{EN_NUM})\s*\+?[\s-]*{_EN_UNIT}", re.IGNORECASE)
_EN_COUNT_FIRST = re.compile(
    rf"\bword\s*(?:count|limit|length)\b[^\d\n]{{0,25}}?(?P<a>{EN_DIGITS})\s*[kK]?(?!\w|\.\d)"
    rf"(?:\s*(?:-|–|—|~|to)\s*(?P<b>{EN_DIGITS})\s*[kK]?(?!\w|\.\d))?",
    re.IGNORECASE,
)
_ZH_UNIT = r"(?:多|余|来)?\s*个?\s*(?:汉字|中文字|字|词)"
_ZH_RANGE = re.compile(rf"(?P<a>{ZH_NUM})\s*(?:个?字)?\s*(?:至|到|-|–|—|~|～|或)\s*(?P<b>{ZH_NUM})\s*{_ZH_UNIT}")
_ZH_SINGLE = re.compile(rf"(?P<a>{ZH_NUM})\s*{_ZH_UNIT}")
_ZH_COUNT_FIRST = re.compile(
    rf"字数[^\d零〇一二两三四五六七八九十百千万\n]{{0,8}}?(?P<a>{ZH_NUM})"
    rf"(?:\s*(?:至|到|-|–|—|~|～)\s*(?P<b>{ZH_NUM}))?"
)
# Ranges first: a single inside a range ("500 words" in "300-500 words") is part of it.
_WORD_PATTERNS = (_EN_RANGE, _ZH_RANGE, _ZH_COUNT_FIRST, _EN_COUNT_FIRST, _EN_SINGLE, _ZH_SINGLE)

# Where a clause starts: what sits before a number within its clause qualifies that number.
_CLAUSE_BREAK = re.compile(r"[.;:!?\n,，。；：！？、（）()【】\[\]]")
_EN_AT_LEAST = re.compile(
    r"\b(?:at\s+least|no\s+(?:less|fewer)\s+than|not\s+(?:less|fewer)\s+than|minimum(?:\s+of)?|"
    r"(?<!no )(?<!not )more\s+than|over|upwards\s+of)\s*$",
    re.IGNORECASE,
)
_EN_AT_MOST = re.compile(
    r"\b(?:at\s+most|no\s+more\s+than|not\s+more\s+than|up\s+to|under|less\s+than|fewer\s+than|within|"
    r"maximum(?:\s+of)?|not\s+(?:to\s+)?exceed(?:ing)?)\s*$",
    re.IGNORECASE,
)
_EN_AFTER_MIN = re.compile(r"^\s*(?:or\s+more|minimum|at\s+least)\b", re.IGNORECASE)
_EN_AFTER_MAX = re.compile(r"^\s*(?:or\s+(?:less|fewer)|max(?:imum)?|at\s+most)\b", re.IGNORECASE)
_ZH_AT_LEAST = re.compile(r"(?:不少于|不低于|不下于|至少|最少|最低|(?<!不)超过|大于)\s*$")
_ZH_AT_MOST = re.compile(r"(?:不超过|不多于|不高于|最多|至多|(?<!不)少于|小于)\s*$")
_ZH_AFTER_MIN = re.compile(r"^\s*(?:以上|起)")
_ZH_AFTER_MAX = re.compile(r"^\s*(?:以内|以下|之内|内)")
_EN_TOTAL = re.compile(r"\b(?:in\s+total|total(?:ling|ing)?|altogether|overall|in\s+all|combined)\b", re.IGNORECASE)
_ZH_TOTAL = re.compile(r"全文|总共|一共|共计|总计|合计|总字数|总长|共\s*$")

# Per-part lengths: "each about 400 words", "400 words each", "每篇400字", "各写1000字".
_EN_EACH_BEFORE = re.compile(r"\b(?:each|every|per)\b", re.IGNORECASE)
_EN_EACH_AFTER = re.compile(
    r"^\s*(?:each|apiece|a\s+piece|per\s+[a-z]+|for\s+(?:each|every)\s+[a-z]+|in\s+each\s+[a-z]+)\b", re.IGNORECASE
)
# 各 alone distributes ("各写1000字"); in 各种, 各地, 各位 ... it means "all kinds of", "everyone".
_ZH_EACH = re.compile(r"(?:每|各(?![种类地位样式界方项行国族自]))(?:一)?(?:个)?(?P<measure>部分|[\u4e00-\u9fff])?")
# Counts of parts: "five diary entries", "3-part series", "10 questions", "五篇", "分两部分", "20次课".
_EN_COUNT = re.compile(
    rf"(?<![\w.,-])(?P<n>\d{{1,3}}|\b(?:{EN_COUNT_WORD})\b)(?P<rest>(?:[\s-]+[A-Za-z]+){{1,3}})", re.IGNORECASE
)
_EN_PART_NOUN = re.compile(
    r"^(?:part|section|chapter|episode|entry|entrie|article|essay|poem|post|stor(?:y|ie)|letter|question|"
    r"paragraph|day|scene|act|verse|stanza|lesson|page|item|tip|step|point|review|speeche?|message|email|"
    r"response|answer|description|example|idea|slide|tweet|caption|note|summar(?:y|ie)|profile|version|"
    r"dialogue|conversation|character|product|place|reason|way|installment|instalment)s?$",
    re.IGNORECASE,
)
_EN_DIRECT_COUNT = re.compile(rf"(?<![\w.,-])(?P<n>\d{{1,2}}|\b(?:{EN_COUNT_WORD})\b)\s+$", re.IGNORECASE)
_EN_WORD_ADJECTIVE = re.compile(r"[\d,.]+\s*[kK]?[\s-]+word\b", re.IGNORECASE)
_EN_PARTS_OF = re.compile(
    rf"(?<![\w.,-])(?P<n>\d{{1,2}}|\b(?:{EN_COUNT_WORD})\b)(?:[\s-]+[A-Za-z]+){{0,2}}?[\s-]+(?P<noun>[A-Za-z]+)"
    r"\s+of\s+(?:about\s+|around\s+|roughly\s+|approximately\s+|at\s+least\s+|up\s+to\s+|~\s*)?$",
    re.IGNORECASE,
)
_ZH_MEASURES = "部分|篇|章|节|段|首|封|则|条|天|期|集|幕|道|份|组|回|讲|课|场|题|部|个"
_ZH_DIRECT_COUNT = re.compile(rf"{ZH_NOT_ORDINAL}(?P<n>{ZH_COUNT_NUM})\s*(?:个)?(?:{_ZH_MEASURES})\s*$")
_ZH_COUNT = re.compile(rf"{ZH_NOT_ORDINAL}(?P<n>{ZH_COUNT_NUM})\s*(?:个|次)?(?P<measure>{_ZH_MEASURES})")


@dataclass(frozen=True)
class _Mention:
    """One word count in an instruction."""

    start: int
    end: int
    words: int  # the number (a range's upper bound; a part count times its length)
    how: How
    qualifier: Qualifier
    total: bool  # named as the whole text's length ("2000 words in total", "全文3000字")
    source: str
    reckoning: str


def _word_mentions(text: str) -> list[_Mention]:
    mentions: list[_Mention] = []
    for pattern in _WORD_PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() < m.end and m.start < match.end() for m in mentions):
                continue  # inside a range already read, or the same words read by another pattern
            mention = _mention(text, match)
            if mention is not None:
                mentions.append(mention)
    return sorted(mentions, key=lambda m: m.start)


def _mention(text: str, match: re.Match[str]) -> _Mention | None:
    low = parse_number(match["a"])
    high = parse_number(match["b"]) if match.groupdict().get("b") else None
    if not low:
        return None
    chinese = match.re in (_ZH_RANGE, _ZH_SINGLE, _ZH_COUNT_FIRST)
    before = _clause_before(text, match.start("a"))
    after = text[match.end() : match.end() + 20]
    total = bool(_ZH_TOTAL.search(before) if chinese else _EN_TOTAL.search(before + " " + _clause_after(after)))
    phrase = match.group(0).strip(" ,，.")
    if high:
        low, high = min(low, high), max(low, high)
        return _Mention(match.start(), match.end(), high, "range", "", total, phrase, f"upper bound of {low}-{high}")
    qualifier = _qualifier(before, after, chinese)
    parts = _part_count(text, match, before, after, chinese)
    if parts is not None:
        count, count_phrase, count_start = parts
        start = min(count_start, match.start())
        source = f"{count_phrase} … {phrase}" if count_start < match.start() else f"{phrase} … {count_phrase}"
        return _Mention(start, match.end(), count * low, "parts", qualifier, total, source, f"{count} x {low}")
    return _Mention(match.start(), match.end(), low, "stated", qualifier, total, phrase, "")


def _clause_before(text: str, start: int, limit: int = 40) -> str:
    window = text[max(0, start - limit) : start]
    breaks = list(_CLAUSE_BREAK.finditer(window))
    return window[breaks[-1].end() :] if breaks else window


def _clause_after(after: str) -> str:
    found = _CLAUSE_BREAK.search(after)
    return after[: found.start()] if found else after


def _qualifier(before: str, after: str, chinese: bool) -> Qualifier:
    if chinese:
        at_least = _ZH_AT_LEAST.search(before) or _ZH_AFTER_MIN.match(after)
        at_most = _ZH_AT_MOST.search(before) or _ZH_AFTER_MAX.match(after)
    else:
        at_least = _EN_AT_LEAST.search(before) or _EN_AFTER_MIN.match(after)
        at_most = _EN_AT_MOST.search(before) or _EN_AFTER_MAX.match(after)
    return "min" if at_least and not at_most else "max" if at_most and not at_least else ""


def _part_count(text: str, match: re.Match[str], before: str, after: str, chinese: bool) -> tuple[int, str, int] | None:
    """(count, its words, where they start) when the length is each part's and the parts are
    counted: "five entries, each about 400 words", "three 300-word poems", "five entries of 400
    words", "五篇…每篇400字", "三篇800字的文章"."""
    clause_start = match.start("a") - len(before)
    if chinese:
        each = [*_ZH_EACH.finditer(before)]  # the last 每/各 of the clause governs the number
        if each:
            return _nearest_count(text, match, _ZH_COUNT, each[-1]["measure"])
        direct = _ZH_DIRECT_COUNT.search(before)
        return _count_of(direct, clause_start + direct.start()) if direct else None
    direct = _EN_DIRECT_COUNT.search(before)
    if direct and _EN_WORD_ADJECTIVE.match(match.group(0)):  # "three 300-word poems"
        return _count_of(direct, clause_start + direct.start())
    parts_of = _EN_PARTS_OF.search(before)  # "five diary entries of about 400 words"
    if parts_of and _counts_parts(" " + parts_of["noun"]):
        return _count_of(parts_of, clause_start + parts_of.start())
    if _EN_EACH_BEFORE.search(before) or _EN_EACH_AFTER.match(after):
        return _nearest_count(text, match, _EN_COUNT, None)
    return None


def _counts_parts(rest: str) -> bool:
    """Whether the words after a number name what it counts: "3-part", "five diary entries" (not
    "10-minute speech", where the number measures the minute)."""
    if rest.startswith("-"):
        return bool(_EN_PART_NOUN.match(re.split(r"[\s-]+", rest.lstrip("-"))[0]))
    return any(_EN_PART_NOUN.match(word) and word.lower().endswith("s") for word in re.split(r"[\s-]+", rest))


def _count_of(found: re.Match[str], start: int) -> tuple[int, str, int] | None:
    count = parse_number(found["n"])
    if count is None or not 2 <= count <= MAX_PARTS:
        return None
    return count, found.group(0).strip(), start


def _nearest_count(
    text: str, match: re.Match[str], pattern: re.Pattern[str], measure: str | None
) -> tuple[int, str, int] | None:
    """The count of parts nearest before the length (else just after it); in Chinese one with
    the measure word of its 每/各 ("五篇" for "每篇") comes first."""
    before: list[tuple[tuple[int, str, int], str | None]] = []
    after: list[tuple[int, str, int]] = []
    for found in pattern.finditer(text, max(0, match.start() - COUNT_REACH_BEFORE), match.end() + COUNT_REACH_AFTER):
        if pattern is _EN_COUNT and not _counts_parts(found["rest"]):
            continue
        count = _count_of(found, found.start())
        if count is None or match.start() <= found.start() < match.end():
            continue
        if found.start() < match.start():
            before.append((count, found.groupdict().get("measure")))
        else:
            after.append(count)
    same_measure = [count for count, its_measure in before if measure and its_measure == measure]
    if same_measure:
        return same_measure[-1]
    if before:
        return before[-1][0]
    return after[0] if after else None


def _combine(mentions: list[_Mention]) -> StatedLength:
    """One length from every word count an instruction gives."""
    totals = {m.words: m for m in mentions if m.total}
    if len(totals) == 1:
        (chosen,) = totals.values()
        return StatedLength(chosen.words, chosen.how, chosen.source, chosen.reckoning)
    distinct: dict[int, _Mention] = {}
    for mention in mentions:
        distinct.setdefault(mention.words, mention)  # the same number said twice is one request
    listed = list(distinct.values())
    if len(listed) == 1:
        only = listed[0]
        return StatedLength(only.words, only.how, only.source, only.reckoning)
    floors = [m for m in listed if m.qualifier == "min"]
    ceilings = [m for m in listed if m.qualifier == "max"]
    if len(listed) == 2 and len(floors) == 1 and len(ceilings) == 1 and floors[0].words < ceilings[0].words:
        low, high = floors[0], ceilings[0]
        return StatedLength(
            high.words, "range", f"{low.source} … {high.source}", f"upper bound of {low.words}-{high.words}"
        )
    return StatedLength(
        sum(m.words for m in listed),
        "parts",
        " … ".join(m.source for m in listed),
        " + ".join(m.reckoning if m.how == "parts" else str(m.words) for m in listed),
    )


# ---------------------------------------------------------------- other units

_EN_UNIT_NUM = rf"(?:{EN_DIGITS}|\b(?:{EN_NUMBER_WORD})\b(?:[\s-]+(?:and[\s-]+)?(?:{EN_NUMBER_WORD})\b)*)"
_SPOKEN = re.compile(
    r"\b(?:speech|talk|presentation|toast|eulogy|sermon|lecture|address|keynote|pitch|podcast|monologue|"
    r"script|broadcast|video|radio|read\s+aloud|spoken|TED)\b|演讲|发言|讲话|致辞|讲稿|稿|脚本|口播|朗读|播客|视频|"
    r"主持|串词|台词|宣讲|汇报|路演|广播",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Unit:
    name: str  # as the reckoning shows it: "page", "spoken minute", "paragraph"
    english: re.Pattern[str]
    chinese: re.Pattern[str]
    words: int  # per unit, English
    zh_words: int  # per unit, Chinese
    spoken: bool = False  # counts only in something spoken (a "10-minute walk" is no length)


# In priority order: minutes and pages measure a length; paragraphs only shape it.
_UNITS = (
    _Unit(
        "spoken minute",
        re.compile(rf"(?P<n>{_EN_UNIT_NUM})[\s-]*(?:minutes?|mins?)\b", re.IGNORECASE),
        re.compile(rf"(?P<n>{ZH_NUM})\s*(?:分钟|分鐘)"),
        WORDS_PER_SPOKEN_MINUTE,
        ZH_CHARS_PER_SPOKEN_MINUTE,
        spoken=True,
    ),
    _Unit(
        "page",
        re.compile(
            rf"(?P<n>{_EN_UNIT_NUM})[\s-]*(?:single[\s-]+)?pages?\b(?![\s-]*(?:turner|views?)\b)", re.IGNORECASE
        ),
        re.compile(rf"{ZH_NOT_ORDINAL}(?P<n>{ZH_NUM})\s*(?:个)?页(?![面码])"),
        WORDS_PER_PAGE,
        ZH_CHARS_PER_PAGE,
    ),
    _Unit(
        "paragraph",
        re.compile(
            rf"(?P<n>{_EN_UNIT_NUM})[\s-]*(?:short[\s-]+|single[\s-]+)?paragraphs?\b(?![\s-]*by\b)", re.IGNORECASE
        ),
        re.compile(
            rf"{ZH_NOT_ORDINAL}(?P<n>{ZH_NUM})\s*(?:个)?(?:自然段|段落|段话)|分\s*(?P<m>{ZH_NUM})\s*段"
            rf"|{ZH_NOT_ORDINAL}(?P<k>{ZH_NUM})\s*段(?=[，。、；,.;！!？?\s]|$)"
        ),
        WORDS_PER_PARAGRAPH,
        ZH_CHARS_PER_PARAGRAPH,
    ),
)


def _from_units(text: str) -> StatedLength:
    """A length given in pages, spoken minutes or paragraphs (the first kind found, in that order)."""
    for unit in _UNITS:
        if unit.spoken and not _SPOKEN.search(text):
            continue
        found: dict[tuple[int, int], tuple[str, int]] = {}  # (count, per unit) -> phrase, first seen
        for pattern, per_unit in ((unit.english, unit.words), (unit.chinese, unit.zh_words)):
            for match in pattern.finditer(text):
                raw = next(g for g in (match.groupdict().get(k) for k in ("n", "m", "k")) if g)
                count = parse_number(raw, smallest=1)
                if count:
                    found.setdefault((count, per_unit), (match.group(0).strip(" ,，."), match.start()))
        if found:
            listed = sorted(found.items(), key=lambda item: item[1][1])
            words = sum(count * per_unit for (count, per_unit), _ in listed)
            reckoning = " + ".join(
                f"{count} {unit.name}{'s' * (count != 1)} x {per_unit} words" for (count, per_unit), _ in listed
            )
            return StatedLength(words, "unit", " … ".join(phrase for _, (phrase, _) in listed), reckoning)
    return NO_LENGTH
