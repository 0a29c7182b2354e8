"""`longwrite eval ruler`: LongWrite-Ruler, the longest output a writer reaches per required length."""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from longwrite.core.errors import InputError
from longwrite.core.modes import Mode
from longwrite.core.settings import Settings
from longwrite.core.text import LOOP_REP_4, Language
from longwrite.eval.data import BenchRow, OnBadLine, load_rows
from longwrite.eval.predict import answer_rows, writer_name
from longwrite.eval.report import pyplot, table
from longwrite.eval.scores import row_length_score
from longwrite.model.embedded import endpoint_for

log = logging.getLogger(__name__)

RULER_SCORES = "ruler.json"


@dataclass(frozen=True)
class RulerRequest:
    data: Path
    out: Path
    mode: Mode
    lengths: tuple[int, ...] = ()  # required lengths to run; () = all
    per_length: int | None = None  # instructions per required length; None = all
    lang: Language | None = None  # only rows in this language; None = all
    concurrency: int = 1
    hold_length: bool = False  # model mode held to the stated length
    on_bad_line: OnBadLine = "stop"
    progress: bool = True


def pick(rows: list[BenchRow], lengths: tuple[int, ...], per_length: int | None) -> list[BenchRow]:
    """Rows of the wanted lengths, the first `per_length` instructions of each, in file order."""
    available = sorted({row.length for row in rows})
    missing = [length for length in lengths if length not in available]
    if missing:
        raise InputError(f"--lengths {missing} are not in the file, which has {available}.")
    chosen, taken = [], {}
    for row in rows:
        if lengths and row.length not in lengths:
            continue
        if per_length is not None and taken.get(row.length, 0) >= per_length:
            continue
        taken[row.length] = taken.get(row.length, 0) + 1
        chosen.append(row)
    return chosen


def ruler_scores(preds: list[dict[str, Any]]) -> dict[str, Any]:
    by_length: dict[int, list[dict[str, Any]]] = {}
    for pred in preds:
        by_length.setdefault(pred["length"], []).append(pred)
    table = {
        str(length): {
            "rows": len(group),
            "longest": max(p["response_length"] for p in group),
            "longest_not_looping": _longest_not_looping(group),
            "median": statistics.median(p["response_length"] for p in group),
            "S_l": round(statistics.fmean(row_length_score(p) for p in group), 2),  # rounded once
        }
        for length, group in sorted(by_length.items())
    }
    return {
        "longest_output": max((p["response_length"] for p in preds), default=0),
        "longest_not_looping": _longest_not_looping(preds),
        "by_length": table,
    }


def _longest_not_looping(preds: list[dict[str, Any]]) -> int:
    """The longest output that is writing rather than a loop: a small model that falls into a loop
    can run to the token limit, which makes the plain longest output say nothing about its length."""
    return max((p["response_length"] for p in preds if p.get("rep_4", 0.0) <= LOOP_REP_4), default=0)


def run_ruler(request: RulerRequest, settings: Settings) -> dict[str, Any]:
    rows, problems = load_rows(request.data, request.on_bad_line)
    for problem in problems:
        log.warning("skipped %s", problem)
    if request.lang:
        rows = [row for row in rows if row.language == request.lang]
    selected = pick(rows, request.lengths, request.per_length)
    with endpoint_for(settings) as endpoint:
        manifest, preds = answer_rows(
            endpoint,
            settings,
            request.out,
            "ruler",
            request.data,
            request.mode,
            selected,
            request.concurrency,
            request.progress,
            request.hold_length,
        )
    scores = ruler_scores(preds)
    (request.out / RULER_SCORES).write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    ruler_report(request.out, asdict(manifest), scores, preds)
    return scores


def ruler_report(out: Path, manifest: dict[str, Any], scores: dict[str, Any], preds: list[dict[str, Any]]) -> None:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6, 5))
    lengths = sorted({p["length"] for p in preds})
    low, high = min(lengths) / 1.5, max(max(lengths), scores["longest_output"]) * 1.5
    axes.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1, label="output = required")
    axes.scatter([p["length"] for p in preds], [max(p["response_length"], 1) for p in preds], s=22, label="answers")
    axes.plot(lengths, [scores["by_length"][str(n)]["longest"] for n in lengths], marker="o", label="longest")
    axes.set(
        xscale="log",
        yscale="log",
        xlim=(low, high),
        ylim=(low, high),
        title=f"LongWrite-Ruler, {writer_name(manifest)}",
        xlabel="required length (words)",
        ylabel="output length (words)",
    )
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "ruler.png", dpi=110)
    plt.close(figure)
    rows = [
        [n, v["rows"], v["longest"], v.get("longest_not_looping"), v["median"], v["S_l"]]
        for n, v in scores["by_length"].items()
    ]
    header = ["required length", "rows", "longest output", "longest not looping", "median output", "S_l"]
    text = "\n\n".join(
        [
            f"# LongWrite-Ruler: {writer_name(manifest)}",
            f"- command: `{manifest['command']}`\n- data: `{manifest['data']}`\n- writer: {manifest['backend']}",
            f"Longest output: {scores['longest_output']:,} words; longest that is not a loop "
            f"(seq-rep-4 at most {LOOP_REP_4}): {scores['longest_not_looping']:,} words.",
            table(header, rows),
            "![required vs output length](ruler.png)",
        ]
    )
    (out / "report.md").write_text(text + "\n", encoding="utf-8")
