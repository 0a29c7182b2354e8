"""The length-following filter of "Minimum Tuning": keep the rows whose answer is as long as
their instruction asks (one stated length, length score >= 80), without refusals, loops or
duplicate prompts; and a report of what was dropped and why."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from longwrite.core.text import LOOP_REP_4, count_words, length_score, longest_line_run, repetition, required_length
from longwrite.training.rows import turns

Reason = Literal["malformed", "no_length", "refusal", "degenerate", "length", "duplicate"]
REASONS: tuple[Reason, ...] = ("malformed", "no_length", "refusal", "degenerate", "length", "duplicate")
DEFAULT_MIN_LENGTH_SCORE = 80.0  # Minimum Tuning's threshold
MAX_LINE_RUN = 4  # the same line more than this many times in a row

_REFUSAL = re.compile(
    r"^\W*(?:i'?m sorry|i am sorry|sorry,? but|i can(?:no|')t|i cannot|i am unable|i'm unable|as an ai|"
    r"抱歉|对不起|很抱歉|我无法|我不能|作为一个?(?:ai|人工智能))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Decision:
    keep: bool
    reason: Reason | None
    required: int | None
    actual: int
    score: float


def judge_row(row: dict[str, Any], min_length_score: float = DEFAULT_MIN_LENGTH_SCORE) -> Decision:
    """Keep or drop one row (duplicates are decided across rows by `curate`)."""
    pair = turns(row)
    if pair is None:
        return Decision(False, "malformed", None, 0, 0.0)
    instruction, answer = pair
    required = required_length(instruction)
    actual = count_words(answer)
    if required is None:
        return Decision(False, "no_length", None, actual, 0.0)
    score = length_score(required, actual)
    if _REFUSAL.search(answer[:200]):
        return Decision(False, "refusal", required, actual, score)
    if repetition(answer).rep_n > LOOP_REP_4 or longest_line_run(answer) > MAX_LINE_RUN:
        return Decision(False, "degenerate", required, actual, score)
    if score < min_length_score:
        return Decision(False, "length", required, actual, score)
    return Decision(True, None, required, actual, score)


def prompt_key(text: str) -> str:
    """Prompts that differ only in case, spacing or punctuation are the same prompt."""
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


@dataclass
class CurationResult:
    kept: list[dict[str, Any]]
    decisions: list[Decision]  # one per input row, in input order
    dropped: Counter[str]


def curate(rows: list[dict[str, Any]], min_length_score: float = DEFAULT_MIN_LENGTH_SCORE) -> CurationResult:
    """The rows to keep (in input order, with length fields filled in) and why the rest went."""
    decisions = [judge_row(row, min_length_score) for row in rows]
    best: dict[str, int] = {}  # prompt key -> index of the best-scoring kept row
    for i, (row, decision) in enumerate(zip(rows, decisions, strict=True)):
        if not decision.keep:
            continue
        key = prompt_key(turns(row)[0])
        if key not in best or decision.score > decisions[best[key]].score:
            if key in best:
                decisions[best[key]] = _as_duplicate(decisions[best[key]])
            best[key] = i
        else:
            decisions[i] = _as_duplicate(decision)
    kept = [
        row | {"length": d.required, "response_length": d.actual, "length_score": round(d.score, 2)}
        for row, d in zip(rows, decisions, strict=True)
        if d.keep
    ]
    dropped = Counter(d.reason for d in decisions if not d.keep)
    return CurationResult(kept, decisions, dropped)


def _as_duplicate(decision: Decision) -> Decision:
    return Decision(False, "duplicate", decision.required, decision.actual, decision.score)


def write_report(result: CurationResult, folder: Path, source: str) -> Path:
    """folder/report.md, counts.json, scatter.png (required vs actual, before and after) and
    lengths.png (answer length histograms)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    counts = {"rows": len(result.decisions), "kept": len(result.kept)} | {r: result.dropped.get(r, 0) for r in REASONS}
    (folder / "counts.json").write_text(json.dumps(counts, indent=2) + "\n", encoding="utf-8")
    measured = [d for d in result.decisions if d.required]
    figure, axes = plt.subplots(figsize=(6, 5))
    for label, group in (("before", measured), ("kept", [d for d in measured if d.keep])):
        axes.scatter([d.required for d in group], [max(d.actual, 1) for d in group], s=14, label=label)
    axes.set(
        xscale="log",
        yscale="log",
        xlabel="required length (words)",
        ylabel="answer length (words)",
        title="Length following, before and after curation",
    )
    axes.legend()
    figure.tight_layout()
    figure.savefig(folder / "scatter.png", dpi=110)
    plt.close(figure)
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.hist(
        [[max(d.actual, 1) for d in result.decisions], [d.actual for d in result.decisions if d.keep]],
        bins=20,
        label=["before", "kept"],
    )
    axes.set(xlabel="answer length (words)", ylabel="rows", title="Answer lengths")
    axes.legend()
    figure.tight_layout()
    figure.savefig(folder / "lengths.png", dpi=110)
    plt.close(figure)
    lines = [
        f"# Curation of {source}",
        "",
        "| rows | kept | " + " | ".join(REASONS) + " |",
        "|" + "---|" * (2 + len(REASONS)),
        "| " + " | ".join(str(counts[k]) for k in ["rows", "kept", *REASONS]) + " |",
        "",
        "![required vs answer length](scatter.png)",
        "",
        "![answer lengths](lengths.png)",
        "",
    ]
    path = folder / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
