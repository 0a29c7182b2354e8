"""Curation decisions on a table of English and Chinese cases, duplicates, mixing, file handling."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from longwrite.core.errors import InputError
from longwrite.training.curate import curate, judge_row, write_report
from longwrite.training.mix import mix
from longwrite.training.rows import read_rows, write_rows
from tests.unit.scripted import prose


def row(prompt: str, answer: str, **extra) -> dict:
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}], **extra}


def zh(chars: int, seed: int = 0) -> str:
    """`chars` CJK characters of non-repeating text: sentences of 15 characters drawn at random."""
    rng = random.Random(seed)
    sentences = []
    for start in range(0, chars, 15):
        sentences.append("".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(min(15, chars - start))) + "。")
    return "".join(sentences)


CASES = [
    # (prompt, answer, keep, reason)
    ("Write a 1000-word essay on rivers.", prose(1000), True, None),
    ("Write a 1,000 word essay on rivers.", prose(950), True, None),
    ("Write about 2k words on bridges.", prose(2100), True, None),
    ("Write a 1000-word essay on rivers.", prose(500), False, "length"),  # score 50
    ("Write a 1000-word essay on rivers.", prose(2200), False, "length"),  # score 60
    ("Write an essay on rivers.", prose(900), False, "no_length"),
    # "500 or 800 words" reads as a range (its upper bound, see longwrite.core.lengths); no number states none
    ("Write some words on rivers, as many as you like.", prose(600), False, "no_length"),
    ("Write a 300-word story.", "I'm sorry, but I can't write that story. " + prose(290), False, "refusal"),
    ("Write a 300-word story.", ("The cat sat on the mat. " * 60).strip(), False, "degenerate"),
    ("写一篇一千字的文章，介绍茶的历史。", zh(1000), True, None),
    ("请写2万字的小说。", zh(20000), True, None),
    ("写一篇约1.5万字的报告。", zh(9000), False, "length"),
    ("写一篇五百字左右的短文。", zh(520), True, None),
    ("写一篇三千字的文章。", "抱歉，我无法完成这个请求。" + zh(3000), False, "refusal"),
]


@pytest.mark.parametrize(("prompt", "answer", "keep", "reason"), CASES)
def test_curation_decisions(prompt, answer, keep, reason):
    decision = judge_row(row(prompt, answer))
    assert (decision.keep, decision.reason) == (keep, reason), decision


def test_malformed_rows_are_dropped():
    assert judge_row({"messages": [{"role": "user", "content": "Write 100 words."}]}).reason == "malformed"
    assert judge_row({"prompt": "no messages"}).reason == "malformed"


def test_duplicate_prompts_keep_the_better_scoring_row(tmp_path):
    rows = [
        row("Write a 500-word note on tea.", prose(420, seed="a")),
        row("write a 500 word note on TEA!", prose(500, seed="b")),  # the same prompt, better length
        row("Write a 500-word note on coffee.", prose(500, seed="c")),
    ]
    result = curate(rows)
    assert [r["messages"][1]["content"] for r in result.kept] == [
        rows[1]["messages"][1]["content"],
        rows[2]["messages"][1]["content"],
    ]
    assert result.dropped == {"duplicate": 1}
    assert result.kept[0]["length"] == 500 and result.kept[0]["response_length"] == 500
    report = write_report(result, tmp_path / "report", "rows.jsonl").read_text()
    assert "| 3 | 2 |" in report and (tmp_path / "report" / "scatter.png").stat().st_size > 1000
    assert json.loads((tmp_path / "report" / "counts.json").read_text())["duplicate"] == 1


def test_mix_ratio_shuffle_and_refusal():
    long_rows = [row(f"long {i}", "x") for i in range(3)]
    general = [row(f"general {i}", "y") for i in range(70)]
    mixed = mix(long_rows, general, ratio=20, seed=1)
    assert (mixed.long, mixed.general, len(mixed.rows)) == (3, 60, 63)
    assert mixed.rows != [*long_rows, *general[:60]]  # shuffled
    assert mix(long_rows, general, ratio=20, seed=1).rows == mixed.rows  # the seed makes it repeatable
    with pytest.raises(InputError, match="needs 90 general rows"):
        mix(long_rows, general, ratio=30, seed=1)
    repeated = mix(long_rows, general, ratio=30, seed=1, allow_repeat=True)
    assert repeated.general == 90 and repeated.repeated_general == 20


def test_long_limit_keeps_the_spread_of_lengths():
    # 12 answers of 100 to 1,200 words, given shortest last: a third of them keeps short and long ones
    long_rows = [row(f"write {100 * n} words", "word " * (100 * n)) for n in range(12, 0, -1)]
    general = [row(f"general {i}", "y") for i in range(10)]
    smaller = mix(long_rows, general, ratio=2, seed=0, long_limit=4)
    assert (smaller.long, smaller.general) == (4, 8)
    prompts = [r["messages"][0]["content"] for r in smaller.rows]
    kept = sorted(int(prompt.split()[1]) for prompt in prompts if prompt.endswith("words"))
    assert kept == [200, 500, 800, 1100]  # the middle of each quarter: neither only short nor only long
    assert mix(long_rows, general, ratio=0, seed=0, long_limit=50).long == 12  # more than there are: all
    with pytest.raises(InputError, match="--long-limit is 0"):
        mix(long_rows, general, ratio=0, seed=0, long_limit=0)


def test_reading_jsonl_parquet_and_saved_datasets(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(row("a", "b")) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:2: not valid JSON"):
        read_rows(bad)
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_rows(tmp_path / "empty.jsonl")
    datasets = pytest.importorskip("datasets")
    data = datasets.Dataset.from_list([row("Write a 100-word note.", prose(100))])
    data.to_parquet(str(tmp_path / "rows.parquet"))
    data.save_to_disk(str(tmp_path / "saved"))
    assert read_rows(tmp_path / "rows.parquet")[0]["messages"][0]["content"] == "Write a 100-word note."
    assert judge_row(read_rows(tmp_path / "saved")[0]).keep


def test_writing_into_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        write_rows(tmp_path / "nope" / "out.jsonl", [row("a", "b")])


def test_cli_curate_and_mix(tmp_path):
    source = tmp_path / "synth.jsonl"
    source.write_text("".join(json.dumps(row(p, a)) + "\n" for p, a, _k, _r in CASES), encoding="utf-8")
    general = tmp_path / "general.jsonl"
    general.write_text("".join(json.dumps(row(f"Hi {i}", "Hello.")) + "\n" for i in range(200)), encoding="utf-8")
    run = [sys.executable, "-m", "longwrite.cli", "curate"]
    result = subprocess.run(
        [*run, str(source), "-o", str(tmp_path / "kept.jsonl"), "--report", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    kept = read_rows(tmp_path / "kept.jsonl")
    assert len(kept) == sum(1 for *_x, keep, _r in CASES if keep) and "kept 6 of 14" in result.stdout
    result = subprocess.run(
        [
            *run,
            "mix",
            "--long",
            str(tmp_path / "kept.jsonl"),
            "--general",
            str(general),
            "--ratio",
            "20",
            "--seed",
            "3",
            "-o",
            str(tmp_path / "mixed.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "6 long + 120 general = 126 rows" in result.stdout and len(read_rows(tmp_path / "mixed.jsonl")) == 126
    result = subprocess.run(
        [*run, str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "x.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "does not exist" in result.stderr
