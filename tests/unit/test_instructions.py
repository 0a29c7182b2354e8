"""The synthesis instruction set: size, genres, lengths, the ways lengths are stated, and no
overlap with the benchmarks it is measured on."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from longwrite.core.errors import InputError
from longwrite.core.text import required_length
from longwrite.training.instructions import (
    MAX_WORDS,
    MIN_WORDS,
    check_long_instructions,
    general_instructions,
    long_instructions,
)

BENCHMARKS = Path(__file__).parents[3] / "shared" / "benchmarks"
SHIPPED_COUNT = 480  # what the recipes make


def _eight_grams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + 8]) for i in range(len(words) - 7)}


def test_the_set_is_reproducible_and_large_enough():
    rows = long_instructions(0, SHIPPED_COUNT)
    assert rows == long_instructions(0, SHIPPED_COUNT)  # the same seed, the same rows
    assert rows != long_instructions(1, SHIPPED_COUNT)
    assert len({row["prompt"] for row in rows}) == SHIPPED_COUNT >= 400
    genres = Counter(row["genre"] for row in rows)
    assert len(genres) >= 20 and {"story", "essay", "guide", "report", "letter", "speech", "review", "manual",
                                  "blog post"} <= set(genres)  # fmt: skip


def test_every_instruction_states_its_length_and_the_lengths_spread_log_uniformly():
    rows = long_instructions(0, SHIPPED_COUNT)
    for row in rows:
        assert required_length(row["prompt"]) == row["length"], row["prompt"]
        assert MIN_WORDS <= row["length"] <= MAX_WORDS
    # log-uniform: each of four equal slices of log(length) holds about a quarter of the rows
    edges = [math.exp(math.log(MIN_WORDS) + k * (math.log(MAX_WORDS) - math.log(MIN_WORDS)) / 4) for k in range(5)]
    quarters = Counter(sum(row["length"] > edge for edge in edges[1:4]) for row in rows)
    assert all(0.18 * len(rows) <= quarters[k] <= 0.32 * len(rows) for k in range(4)), quarters


def test_lengths_are_stated_the_many_ways_people_state_them():
    prompts = [row["prompt"] for row in long_instructions(0, SHIPPED_COUNT)]
    ways = {
        "digits before the genre": r"\b\d+-word\b",
        "thousands separator": r"\d,\d{3}",
        "thousands as k": r"\d(?:\.\d)?k\b",
        "spelled out": r"\b(?:hundred|thousand)\b",
        "after the request": r"\. (?:It|Aim|Keep|Word|Use|The|Please|Length)",
        "word count label": r"Word count: \d",
        "approximately": r"\b(?:about|around|roughly|approximately|or so)\b",
    }
    for name, pattern in ways.items():  # "2.5k" fits only multiples of 500: rarer than the rest
        assert sum(bool(re.search(pattern, p)) for p in prompts) >= 5, name


def test_general_requests_state_no_length():
    rows = general_instructions(0, 110)
    assert len({row["prompt"] for row in rows}) == 110
    assert all(required_length(row["prompt"]) is None for row in rows)


@pytest.mark.skipif(not BENCHMARKS.is_dir(), reason="the benchmark files are not beside the repository")
def test_no_instruction_shares_an_eight_gram_with_a_benchmark_prompt():
    benchmark = set()
    for name in ("longbench_write.jsonl", "longbench_write_en.jsonl", "longwrite_ruler.jsonl"):
        for line in (BENCHMARKS / name).read_text(encoding="utf-8").splitlines():
            benchmark |= _eight_grams(json.loads(line)["prompt"])
    everything = long_instructions(0, 1600) + general_instructions(0, 110)  # every combination there is
    overlapping = [row["prompt"] for row in everything if _eight_grams(row["prompt"]) & benchmark]
    assert not overlapping


def test_an_instruction_file_with_a_row_without_a_length_is_named_by_line(tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [{"prompt": "Write a 900-word essay on maps."}, {"prompt": "Write an essay on maps."}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    with pytest.raises(InputError, match=r"mine.jsonl:2: the instruction states no length"):
        check_long_instructions(path)


def test_an_instruction_file_with_a_length_out_of_range_is_named_by_line(tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [{"prompt": "Write a 900-word essay on maps."}, {"prompt": "Write a long essay.", "length": 250000}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    with pytest.raises(InputError, match=r"mine.jsonl:2: length 250000 is outside"):
        check_long_instructions(path)
