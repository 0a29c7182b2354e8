"""The shared text rules: counting, required length, length score, repetition, language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from longwrite.core.text import (
    count_tokens,
    count_words,
    detect_language,
    length_score,
    longest_line_run,
    repetition,
    required_length,
)

BENCHMARKS = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"


# ---------------------------------------------------------------- counting


def test_count_words_follows_longbench_write_convention_on_mixed_text():
    # 3 English words + 4 CJK characters; digits and punctuation do not count
    assert count_words("The lighthouse keeper, 1848: 灯塔看守。") == 3 + 4
    # upstream quirks kept on purpose: "don't" is two words, "GPT4" none
    assert count_words("don't GPT4 stop") == 3


def test_count_words_jieba_counts_chinese_words_not_characters():
    text = "我们今天去北京看灯塔。"
    assert count_words(text) == 10  # characters
    assert 3 <= count_words(text, unit="jieba") < count_words(text)


def test_count_tokens_uses_cl100k_base():
    assert count_tokens("hello world") == 2
    assert count_words("hello world", unit="tokens") == 2


def test_count_words_rejects_unknown_unit():
    with pytest.raises(ValueError, match="unknown unit"):
        count_words("x", unit="lines")  # type: ignore[arg-type]


def test_detect_language():
    assert detect_language("写一篇1000字的中国旅游指南") == "zh"
    assert detect_language("Write a 1000-word China travel guide") == "en"
    assert detect_language("写一篇关于ChatGPT的文章") == "zh"


# ---------------------------------------------------------------- length score


@pytest.mark.parametrize(
    ("required", "actual", "expected"),
    [
        (1000, 1000, 100.0),
        (1000, 1300, 90.0),  # 30% over costs 10 points
        (1000, 4000, 0.0),
        (1200, 1000, 90.0),  # 20% under costs 10 points
        (1000, 0, 0.0),
    ],
)
def test_length_score(required, actual, expected):
    assert length_score(required, actual) == pytest.approx(expected)


def test_length_score_rejects_non_positive_requirement():
    with pytest.raises(ValueError):
        length_score(0, 10)


# ---------------------------------------------------------------- repetition


def test_repetition_of_fresh_and_looping_text():
    fresh = "The keeper climbed the tower at dusk and lit the lamp before the storm arrived."
    loop = "the light shines on the sea " * 20
    assert repetition(fresh).rep_n == 0.0
    assert repetition(fresh).distinct_n == 1.0
    assert repetition(loop).rep_n > 0.8
    assert repetition(loop, n=2).n == 2


def test_longest_line_run_ignores_case_and_blank_lines():
    assert longest_line_run("a\nB\nb\n\nb\nc") == 3
    assert longest_line_run("") == 0


# ---------------------------------------------------------------- required length


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Write a 10000-word guide to personal finance", 10000),
        ("Write a 10,000 words essay", 10000),
        ("Write about 5k words on rivers", 5000),
        ("Describe it in 800 words or so", 800),
        ("The content should be no less than 200 words.", 200),
        ("at least 2000 words about tea", 2000),
        ("write it in approximately 150 words", 150),
        ("Write a two thousand word story", 2000),
        ("word count: 1,500", 1500),
        ("写一篇3000字的文章", 3000),
        ("写一篇三千字的散文", 3000),
        ("写一万字的小说", 10000),
        ("写一篇2万字的报告", 20000),
        ("写1.5万字", 15000),
        ("五百字左右的介绍", 500),
        ("写一篇两千五百字的文章", 2500),
        ("1万5千字的长文", 15000),
        ("字数不少于800", 800),
        ("对于雷锋精神的推文，200字以内", 200),
        ("3000多字的游记", 3000),
    ],
)
def test_required_length_reads_stated_lengths(instruction, expected):
    assert required_length(instruction) == expected


@pytest.mark.parametrize(
    "instruction",
    ["Write an essay about lighthouses", "写一篇文章", "Write about a 10-minute walk.", ""],
)
def test_required_length_is_none_when_nothing_is_stated(instruction):
    assert required_length(instruction) is None


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Write 300-500 words about tea", 500),  # a range: its upper bound, as LongBench-Write labels it
        ("between 300 and 500 words", 500),
        ("字数要求100至200字", 200),
        ("Write a 500-word essay and a 1000-word summary", 1500),  # listed parts add up
    ],
)
def test_ranges_and_listed_lengths_read_as_one_length(instruction, expected):
    assert required_length(instruction) == expected


_CN_DIGITS = "零一二三四五六七八九"


def _to_chinese(n: int) -> str:
    """Plain Chinese numerals for 1..99999 (the written form, e.g. 三千零五)."""
    units = [(10000, "万"), (1000, "千"), (100, "百"), (10, "十")]
    out, zero_pending, started = "", False, False
    for value, name in units:
        digit = (n // value) % 10 if value < 10000 else n // 10000
        if digit:
            if zero_pending:
                out += "零"
            out += _CN_DIGITS[digit] + name
            zero_pending, started = False, True
        elif started:
            zero_pending = True
    if n % 10:
        out += ("零" if zero_pending else "") + _CN_DIGITS[n % 10]
    return out


@given(st.integers(min_value=2, max_value=99_999))
def test_required_length_reads_any_english_number(n):
    assert required_length(f"Write a {n}-word article about the sea.") == n
    assert required_length(f"Please write {n:,} words on tea.") == n
    assert required_length(f"An essay of about {n} words, please.") == n


@given(st.integers(min_value=2, max_value=99_999))
def test_required_length_reads_any_chinese_number(n):
    assert required_length(f"写一篇{n}字的文章") == n
    assert required_length(f"写一篇{_to_chinese(n)}字的文章") == n


@given(st.integers(min_value=1, max_value=99), st.integers(min_value=1, max_value=9))
def test_required_length_reads_wan_with_decimals(whole, tenth):
    assert required_length(f"写{whole}.{tenth}万字的报告") == whole * 10000 + tenth * 1000


@given(st.integers(min_value=2, max_value=9_999), st.integers(min_value=2, max_value=9_999))
def test_two_listed_lengths_add_up(a, b):
    # the same number said twice is one request, said of the same text
    expected = a + b if a != b else a
    assert required_length(f"Write a {a}-word essay, then a {b}-word summary.") == expected


def test_required_length_agrees_with_longbench_write_labels():
    path = BENCHMARKS / "longbench_write.jsonl"
    if not path.exists():
        pytest.skip("shared benchmarks not present")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = [(required_length(r["prompt"]), r["length"]) for r in rows]
    answered = [(got, want) for got, want in found if got is not None]
    agree = sum(got == want for got, want in answered)
    assert len(answered) >= 0.75 * len(rows)  # most prompts state one unambiguous length
    assert agree >= 0.9 * len(answered)
