"""LongBench-Write scores from predictions and judgements: S_l, S_q, S and text health.

Means are taken as upstream takes them: over unrounded per-row values (S_l from each row's
required and output length, not the rounded `length_score` stored for display), rounded once
when shown. Rounding rows first moves a range's mean by up to 0.01.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from typing import Any

from longwrite.core.text import length_score
from longwrite.eval.data import RANGES, range_of
from longwrite.eval.judge import DIMENSIONS, REFERENCE_JUDGE, describe_prompt, is_reference_judge, legacy_left_out_words


def _rounded_mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0  # the same rows give the same interval on every rerun


def bootstrap_interval(values: list[float], level: float = 0.95) -> list[float] | None:
    """The `level` percentile-bootstrap interval of the mean of `values` (resampled rows, a fixed
    seed), rounded as the means are; None with fewer than two values. A 16-row run of the same
    model moves by 10+ S_l between reruns: the interval says how far apart two runs must be."""
    if len(values) < 2:
        return None
    rng = random.Random(BOOTSTRAP_SEED)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(BOOTSTRAP_RESAMPLES))
    tail = (1 - level) / 2
    low, high = means[int(tail * (len(means) - 1))], means[int((1 - tail) * (len(means) - 1))]
    return [round(low, 2), round(high, 2)]


def intervals_overlap(first: list[float] | None, second: list[float] | None) -> bool | None:
    """Whether two intervals share a value (None when either is missing): if they do, the runs are
    not told apart at this size."""
    if first is None or second is None:
        return None
    return first[0] <= second[1] and second[0] <= first[1]


def row_length_score(pred: dict[str, Any]) -> float:
    """A row's S_l, unrounded (the stored `length_score` is rounded for display)."""
    return length_score(pred["length"], pred["response_length"])


def _group(preds: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[float]] = {}
    for pred in preds:
        groups.setdefault(key(pred), []).append(row_length_score(pred))
    return {name: {"S_l": _rounded_mean(values), "count": len(values)} for name, values in groups.items()}


def _quality(judged: list[dict[str, float]]) -> dict[str, float]:
    """Each dimension's mean grade (1-5) mapped to 0-100 as (mean - 1) * 25, unrounded."""
    return {d: (statistics.fmean(s[d] for s in judged) - 1) * 25 for d in DIMENSIONS}


def row_quality(scores: dict[str, float]) -> float:
    """One judged answer's S_q (0-100), unrounded: its six grades as a run of one."""
    return statistics.fmean(_quality([scores]).values())


def quality_score(judged: list[dict[str, float]]) -> dict[str, Any]:
    """S_q: each dimension's mean (1-5) mapped to 0-100 as (mean - 1) * 25; overall = their mean,
    taken over the unrounded dimension scores and rounded once."""
    if not judged:
        return {"S_q": None, "by_dimension": {d: None for d in DIMENSIONS}}
    by_dimension = _quality(judged)
    return {
        "S_q": round(statistics.fmean(by_dimension.values()), 2),
        "by_dimension": {d: round(value, 2) for d, value in by_dimension.items()},
    }


def judge_summary(judgements: list[dict[str, Any]], preds: list[dict[str, Any]]) -> dict[str, Any]:
    """Who judged, with which prompt, and which answers the judge saw only in part."""
    responses = {p["index"]: p["response"] for p in preds}
    labels = sorted({j.get("judge") or "an unnamed judge" for j in judgements})
    models = sorted({j.get("judge_model") or j.get("judge") or "an unnamed judge" for j in judgements})
    prompts = sorted({describe_prompt(j.get("prompt"), j.get("prompt_sha256")) for j in judgements})
    cut = {}
    for j in judgements:
        # judgements from before the cut was recorded were cut by the first prompt's rule
        left_out = j["left_out_words"] if "prompt_sha256" in j else legacy_left_out_words(responses[j["index"]])
        if left_out:
            cut[str(j["index"])] = left_out
    return {
        "models": models,
        "labels": labels,
        "reference_judge": bool(models) and all(is_reference_judge(m) for m in models),
        "reference": REFERENCE_JUDGE,
        "prompts": prompts,
        "left_out_words": cut,
    }


def score_run(preds: list[dict[str, Any]], judgements: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """scores.json: S_l overall / per range / per language, S_q over judged rows only (failures
    counted, never filled in), S = mean of S_l and S_q when both exist, health, time."""
    by_range = _group(preds, lambda p: range_of(p["length"]))
    ordered = {label: by_range.get(label, {"S_l": None, "count": 0}) for label, _ in RANGES}
    row_scores = [row_length_score(p) for p in preds]
    scores: dict[str, Any] = {
        "rows": len(preds),
        "S_l": _rounded_mean(row_scores),
        "S_l_interval": bootstrap_interval(row_scores),  # 95%, percentile bootstrap over the rows
        "S_l_by_range": ordered,
        "S_l_by_language": _group(preds, lambda p: p["language"]),
        "health": {
            "rep_4": _rounded_mean([p["rep_4"] for p in preds]),
            "distinct_4": _rounded_mean([p["distinct_4"] for p in preds]),
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
            judge=judge_summary(mine, preds),
        )
        s_q = statistics.fmean(_quality(judged).values()) if judged else None
        s_l = statistics.fmean(row_scores) if row_scores else None
        scores["S"] = round((s_l + s_q) / 2, 2) if s_l is not None and s_q is not None else None
    return scores
