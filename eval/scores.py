"""LongBench-Write scores from predictions and judgements: S_l, S_q, S and text health."""

from __future__ import annotations

import statistics
from typing import Any

from eval.data import RANGES, range_of
from eval.judge import DIMENSIONS


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def _group(preds: list[dict[str, Any]], key) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[float]] = {}
    for pred in preds:
        groups.setdefault(key(pred), []).append(pred["length_score"])
    return {name: {"S_l": _mean(values), "count": len(values)} for name, values in groups.items()}


def quality_score(judged: list[dict[str, float]]) -> dict[str, Any]:
    """S_q: each dimension's mean (1-5) mapped to 0-100 as (mean - 1) * 25; overall = their mean."""
    if not judged:
        return {"S_q": None, "by_dimension": {d: None for d in DIMENSIONS}}
    by_dimension = {d: round((statistics.fmean(s[d] for s in judged) - 1) * 25, 2) for d in DIMENSIONS}
    return {"S_q": round(statistics.fmean(by_dimension.values()), 2), "by_dimension": by_dimension}


def score_run(preds: list[dict[str, Any]], judgements: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """scores.json: S_l overall / per range / per language, S_q over judged rows only (failures
    counted, never filled in), S = mean of S_l and S_q when both exist, health, time."""
    by_range = _group(preds, lambda p: range_of(p["length"]))
    ordered = {label: by_range.get(label, {"S_l": None, "count": 0}) for label, _ in RANGES}
    s_l = _mean([p["length_score"] for p in preds])
    scores: dict[str, Any] = {
        "rows": len(preds),
        "S_l": s_l,
        "S_l_by_range": ordered,
        "S_l_by_language": _group(preds, lambda p: p["language"]),
        "health": {
            "rep_4": _mean([p["rep_4"] for p in preds]),
            "distinct_4": _mean([p["distinct_4"] for p in preds]),
            "longest_line_run": max((p["longest_line_run"] for p in preds), default=0),
            "empty_answers": sum(1 for p in preds if not p["response"].strip()),
        },
        "time": {
            "seconds": round(sum(p["seconds"] for p in preds), 1),
            "words": sum(p["response_length"] for p in preds),
        },
    }
    scores["time"]["words_per_second"] = round(scores["time"]["words"] / max(scores["time"]["seconds"], 1e-9), 2)
    paths: dict[str, int] = {}
    for pred in preds:
        paths[pred["path"]] = paths.get(pred["path"], 0) + 1
    scores["paths"] = paths
    if judgements is not None:
        wanted = {p["index"] for p in preds}
        mine = [j for j in judgements if j["index"] in wanted]
        judged = [j["scores"] for j in mine if j["scores"]]
        quality = quality_score(judged)
        scores.update(
            S_q=quality["S_q"],
            S_q_by_dimension=quality["by_dimension"],
            judged=len(judged),
            judge_failures=len(mine) - len(judged),
            not_judged=len(wanted) - len(mine),
        )
        scores["S"] = round((s_l + quality["S_q"]) / 2, 2) if s_l is not None and quality["S_q"] is not None else None
    return scores
