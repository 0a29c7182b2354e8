"""`longwrite eval longbench-write`: answers, judgements, scores and the report of one run."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.data import OnBadLine, load_rows, select
from eval.judge import judge_answer, judgement_format
from eval.predict import MANIFEST, PREDICTIONS, WriteMode, answer_rows
from eval.report import longbench_report
from eval.scores import score_run
from longwrite.errors import InputError
from longwrite.jsonl import JsonlAppender, read_jsonl
from longwrite.settings import Settings
from longwrite.text import Language
from model.client import Endpoint, backend_errors, chat_model
from model.embedded import endpoint_for

JUDGEMENTS = "judgements.jsonl"
SCORES = "scores.json"


@dataclass(frozen=True)
class LongBenchRequest:
    data: Path
    out: Path
    mode: WriteMode
    lang: Language | None = None
    stratify: int | None = None
    limit: int | None = None
    concurrency: int = 1
    on_bad_line: OnBadLine = "stop"
    judge: Settings | None = None  # the judge's endpoint settings; None = no S_q
    judge_with_writer: bool = False  # the writer's endpoint judges too (e.g. the embedded model)
    progress: bool = True


def run_longbench(request: LongBenchRequest, settings: Settings) -> dict[str, Any]:
    """Write (or resume) every selected answer, judge them if asked, score, and report."""
    if request.concurrency < 1:
        raise InputError(f"--concurrency is {request.concurrency}; give 1 or more.")
    rows, problems = load_rows(request.data, request.on_bad_line)
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)
    selected = select(rows, lang=request.lang, stratify=request.stratify, limit=request.limit)
    if not selected:
        raise InputError("No rows match --lang/--stratify/--limit; loosen the selection.")
    with endpoint_for(settings) as endpoint:
        manifest, preds = answer_rows(
            endpoint,
            settings,
            request.out,
            "longbench-write",
            request.data,
            request.mode,
            selected,
            request.concurrency,
            request.progress,
        )
        judgements = None
        if request.judge_with_writer:
            judgements = _judge_all(request, endpoint, settings, preds)
        elif request.judge is not None:
            with endpoint_for(request.judge) as judge_endpoint:
                judgements = _judge_all(request, judge_endpoint, request.judge, preds)
    return _score_and_report(request.out, asdict(manifest), preds, judgements)


def _judge_all(
    request: LongBenchRequest, endpoint: Endpoint, settings: Settings, preds: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Judge every answer not judged yet (DIR/judgements.jsonl, keyed by row index)."""
    store = request.out / JUDGEMENTS
    done = {j["index"]: j for j in read_jsonl(store)}
    todo = [p for p in preds if p["index"] not in done]
    appender = JsonlAppender(store)
    model = chat_model(endpoint, settings)
    response_format = judgement_format(endpoint)
    bar = tqdm(total=len(preds), initial=len(preds) - len(todo), desc="judging", unit="row",
               disable=not request.progress, file=sys.stderr)  # fmt: skip

    def one(pred: dict[str, Any]) -> None:
        judgement = judge_answer(model, pred["prompt"], pred["response"], response_format=response_format)
        record = {"index": pred["index"], "judge": endpoint.backend, "scores": judgement.scores,
                  "attempts": judgement.attempts, "raw": judgement.raw}  # fmt: skip
        appender.append(record)
        done[pred["index"]] = record
        bar.update(1)

    with backend_errors(endpoint), ThreadPoolExecutor(max_workers=request.concurrency) as pool:
        for future in [pool.submit(one, p) for p in todo]:
            future.result()
    bar.close()
    return [done[p["index"]] for p in preds]


def _score_and_report(
    out: Path, manifest: dict[str, Any], preds: list[dict[str, Any]], judgements: list[dict[str, Any]] | None
) -> dict[str, Any]:
    if judgements is None and (out / JUDGEMENTS).exists():
        judgements = read_jsonl(out / JUDGEMENTS)  # judged earlier: keep S_q in the scores
    scores = score_run(preds, judgements)
    (out / SCORES).write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    longbench_report(out, manifest, scores, preds)
    return scores


def load_run(folder: Path) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(manifest, scores, predictions) of a finished run folder."""
    manifest_path, scores_path = folder / MANIFEST, folder / SCORES
    if not manifest_path.exists() or not scores_path.exists():
        raise InputError(f"{folder} is not a finished eval run (no {MANIFEST} or {SCORES}); run the eval first.")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    wanted = set(manifest["rows"])
    preds = [p for p in read_jsonl(folder / PREDICTIONS) if p["index"] in wanted]
    return manifest, json.loads(scores_path.read_text(encoding="utf-8")), sorted(preds, key=lambda p: p["index"])
