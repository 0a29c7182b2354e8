"""Reports regenerated from a run's files: report.md with its plots, and side-by-side comparisons."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from longwrite.eval.data import RANGES, range_of
from longwrite.eval.judge import DIMENSIONS
from longwrite.eval.predict import writer_name
from longwrite.eval.scores import intervals_overlap, row_quality


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else str(value)


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def scatter(runs: list[tuple[str, list[dict[str, Any]]]], path: Path, title: str) -> None:
    """Required vs output length (log-log) with the y = x line, one colour per run."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6, 5))
    everything = [max(p["length"], 1) for _, preds in runs for p in preds]
    everything += [max(p["response_length"], 1) for _, preds in runs for p in preds]
    low, high = min(everything) / 1.5, max(everything) * 1.5
    axes.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1, label="output = required")
    for name, preds in runs:
        axes.scatter([p["length"] for p in preds], [max(p["response_length"], 1) for p in preds], label=name, s=22)
    axes.set(
        xscale="log",
        yscale="log",
        xlim=(low, high),
        ylim=(low, high),
        title=title,
        xlabel="required length (words)",
        ylabel="output length (words)",
    )
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def range_bars(runs: list[tuple[str, dict[str, Any]]], path: Path) -> None:
    """S_l per required-length range, a bar per run."""
    plt = pyplot()
    labels = [label for label, _ in RANGES]
    figure, axes = plt.subplots(figsize=(6.5, 4))
    width = 0.8 / max(len(runs), 1)
    for k, (name, scores) in enumerate(runs):
        values = [scores["S_l_by_range"][label]["S_l"] or 0 for label in labels]
        axes.bar([i + k * width for i in range(len(labels))], values, width=width, label=name)
    axes.set_xticks([i + width * (len(runs) - 1) / 2 for i in range(len(labels))], labels)
    axes.set(ylim=(0, 100), ylabel="S_l", title="Length score by required length")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def longbench_report(
    out: Path,
    manifest: dict[str, Any],
    scores: dict[str, Any],
    preds: list[dict],
    judgements: list[dict[str, Any]] | None = None,
) -> Path:
    """DIR/report.md, DIR/scatter.png and DIR/ranges.png for one LongBench-Write run."""
    scatter([(manifest["mode"], preds)], out / "scatter.png", f"LongBench-Write, {writer_name(manifest)}")
    range_bars([(manifest["mode"], scores)], out / "ranges.png")
    judged = "S_q" in scores
    parts = [
        f"# LongBench-Write: {writer_name(manifest)}",
        f"- command: `{manifest['command']}`\n- data: `{manifest['data']}` (sha256 {manifest['data_sha256'][:12]})"
        f"\n- writer: {manifest['backend']}\n- rows: {scores['rows']}\n- report made: "
        f"{datetime.now(UTC).isoformat(timespec='seconds')} (run started {manifest['created']})",
        "## Overall",
        table(
            ["S_l", "S_l 95% interval", "rows", "S_q", "S", "judged", "judge failures"],
            [
                [
                    scores["S_l"],
                    interval_text(scores.get("S_l_interval")),
                    scores["rows"],
                    scores.get("S_q"),
                    scores.get("S"),
                    scores.get("judged"),
                    scores.get("judge_failures"),
                ]
            ],
        ),
        "## S_l by required length",
        table(["range", "rows", "S_l"], [[k, v["count"], v["S_l"]] for k, v in scores["S_l_by_range"].items()]),
        "## S_l by language",
        table(["language", "rows", "S_l"], [[k, v["count"], v["S_l"]] for k, v in scores["S_l_by_language"].items()]),
    ]
    if judged:
        note = (
            f"{scores['judged']} of {scores['rows']} answers were judged; {scores['judge_failures']} judgements "
            f"were unparseable after retries and are left out (not scored as anything)."
        )
        parts += [
            "## S_q by dimension (0-100)",
            judge_note(scores),
            note,
            table(list(DIMENSIONS), [[scores["S_q_by_dimension"][d] for d in DIMENSIONS]]),
        ]
    health, time = scores["health"], scores["time"]
    parts += [
        "## Text health (mean over answers)",
        table(
            ["rep-4", "distinct-4", "longest repeated line run", "empty answers"],
            [[health["rep_4"], health["distinct_4"], health["longest_line_run"], health["empty_answers"]]],
        ),
        "## Time",
        table(
            ["seconds", "words written", "words/s", "paths"],
            [[time["seconds"], time["words"], time["words_per_second"], json.dumps(scores["paths"])]],
        ),
        "## Answers",
        _answers_table(preds, judgements if judged else None, scores.get("judge", {}).get("left_out_words", {})),
        "![required vs output length](scatter.png)\n\n![S_l by range](ranges.png)",
    ]
    path = out / "report.md"
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def judge_note(scores: dict[str, Any]) -> str:
    """Who judged, with which prompt, what the judge saw, and whether S_q compares with published figures."""
    judge = scores.get("judge")
    if not judge or not judge["models"]:
        return "No answer has a judgement yet."
    lines = [f"- judge: {', '.join(judge['labels'])}", f"- prompt: {'; '.join(judge['prompts'])}"]
    if judge["reference_judge"]:
        lines.append(f"- GPT-4o is the benchmark's reference judge (the published figures used {judge['reference']})")
    else:
        lines.append(
            f"- **not the benchmark's reference judge** (GPT-4o, {judge['reference']} in the paper): this S_q is not "
            "comparable with published S_q figures"
        )
    cut = judge["left_out_words"]
    lines.append(
        f"- {len(cut)} of {scores['rows']} answers were shown to the judge as their beginning and end, the middle "
        'left out (see "judge saw" under Answers)'
        if cut
        else "- every answer was shown to the judge whole"
    )
    return "\n".join(lines)


def _answers_table(
    preds: list[dict[str, Any]], judgements: list[dict[str, Any]] | None, left_out_words: dict[str, int]
) -> str:
    """Every answer; with judgements, its S_q and how much of it the judge saw."""
    header = ["row", "range", "required", "output", "S_l", "rep-4", "seconds", "path"]
    rows = [
        [
            p["index"],
            range_of(p["length"]),
            p["length"],
            p["response_length"],
            p["length_score"],
            p["rep_4"],
            p["seconds"],
            p["path"],
        ]
        for p in preds
    ]
    if judgements is None:
        return table(header, rows)
    by_index = {j["index"]: j for j in judgements}
    for row, pred in zip(rows, preds, strict=True):
        judgement = by_index.get(pred["index"])
        if judgement is None:
            row += [None, "not judged"]
            continue
        quality = round(row_quality(judgement["scores"]), 2) if judgement["scores"] else None
        left_out = left_out_words.get(str(pred["index"]), 0)
        saw = f"all but {left_out:,} words (the middle)" if left_out else "whole answer"
        row += [quality, saw if judgement["scores"] else f"{saw}; judgement failed"]
    return table([*header, "S_q", "judge saw"], rows)


def compare_report(runs: list[tuple[str, dict[str, Any], dict[str, Any], list[dict]]], out: Path, command: str) -> Path:
    """DIR/compare.md, DIR/scatter.png, DIR/ranges.png: several runs side by side."""
    out.mkdir(parents=True, exist_ok=True)
    names = [name for name, *_ in runs]
    scatter(
        [(name, preds) for name, _m, _s, preds in runs], out / "scatter.png", "LongBench-Write: " + " vs ".join(names)
    )
    range_bars([(name, scores) for name, _m, scores, _p in runs], out / "ranges.png")
    labels = [label for label, _ in RANGES]
    rows = []
    for name, manifest, scores, _preds in runs:
        rows.append(
            [
                name,
                manifest["backend"],
                scores["rows"],
                scores["S_l"],
                interval_text(scores.get("S_l_interval")),
                scores.get("S_q"),
                scores.get("S"),
                *(scores["S_l_by_range"][label]["S_l"] for label in labels),
                scores["health"]["rep_4"],
                scores["time"]["words_per_second"],
            ]
        )
    parts = [
        "# LongBench-Write comparison",
        f"- command: `{command}`\n- made: {datetime.now(UTC).isoformat(timespec='seconds')}",
        table(
            [
                "run",
                "writer",
                "rows",
                "S_l",
                "S_l 95% interval",
                "S_q",
                "S",
                *(f"S_l {label}" for label in labels),
                "rep-4",
                "words/s",
            ],
            rows,
        ),
        *_overlaps(runs),
        *_model_alone(runs),
        *_compare_judges(runs),
        "Each run's own report (with the exact command that made it) is in its folder:",
        "\n".join(f"- {name}: `{manifest['command']}`" for name, manifest, _s, _p in runs),
        "![required vs output length](scatter.png)\n\n![S_l by range](ranges.png)",
    ]
    path = out / "compare.md"
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def interval_text(interval: list[float] | None) -> str:
    """ "55.0-69.3", or "-" for a run scored before intervals (rescore it) or of one row."""
    return f"{interval[0]}-{interval[1]}" if interval else "-"


def _overlaps(runs: list[tuple[str, dict[str, Any], dict[str, Any], list[dict]]]) -> list[str]:
    """For each pair of runs: are their S_l intervals apart (the difference is more than the noise)?"""
    lines = []
    for i, (first, _m, first_scores, _p) in enumerate(runs):
        for second, _m2, second_scores, _p2 in runs[i + 1 :]:
            overlap = intervals_overlap(first_scores.get("S_l_interval"), second_scores.get("S_l_interval"))
            if overlap is None:
                continue
            verdict = (
                "overlap: at this size the two are not told apart"
                if overlap
                else "do not overlap: the difference is more than the rows' spread"
            )
            lines.append(f"- S_l of {first} and {second}: the 95% intervals {verdict}.")
    return ["\n".join(lines)] if lines else []


def _model_alone(runs: list[tuple[str, dict[str, Any], dict[str, Any], list[dict]]]) -> list[str]:
    """For each auto run: the answers the model finished alone, and its words/s beside agent mode's."""
    agent = next((scores for _n, manifest, scores, _p in runs if manifest["mode"] == "agent"), None)
    lines = []
    for name, manifest, scores, _preds in runs:
        if manifest["mode"] != "auto":
            continue
        alone, rows = scores["paths"].get("model", 0), scores["rows"]
        pace = f"{scores['time']['words_per_second']} words/s"
        if agent is not None:
            pace += f" against agent mode's {agent['time']['words_per_second']}"
        share = f"{alone / max(rows, 1):.0%}"
        lines.append(f"- {name}: the model finished {alone} of {rows} answers alone ({share}); {pace}.")
    return ["\n".join(lines)] if lines else []


def _compare_judges(runs: list[tuple[str, dict[str, Any], dict[str, Any], list[dict]]]) -> list[str]:
    """A line per judged run naming its judge and prompt, and saying when its S_q is not comparable
    with published figures (S_q from different judges or prompts is not comparable either)."""
    lines = []
    for name, _manifest, scores, _preds in runs:
        judge = scores.get("judge")
        if not judge or not judge["models"]:
            continue
        verdict = (
            "GPT-4o, the benchmark's judge"
            if judge["reference_judge"]
            else "not the benchmark's judge (GPT-4o), so not comparable with published S_q"
        )
        lines.append(f"- {name}: {', '.join(judge['labels'])}, {verdict}; prompt: {'; '.join(judge['prompts'])}")
    return ["S_q judges:\n\n" + "\n".join(lines)] if lines else []
