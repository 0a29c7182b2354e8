"""`longwrite eval longbench-write`: answers, judgements, scores and the report of one run."""

from __future__ import annotations

import json
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from longwrite.core.errors import InputError
from longwrite.core.jsonl import JsonlAppender, read_jsonl
from longwrite.core.modes import Mode
from longwrite.core.settings import Settings
from longwrite.core.text import Language
from longwrite.eval.data import OnBadLine, load_rows, select
from longwrite.eval.judge import JudgePrompt, describe_prompt, judge_answer, judge_prompt_for, judgement_format
from longwrite.eval.predict import MANIFEST, PREDICTIONS, answer_rows
from longwrite.eval.report import longbench_report
from longwrite.eval.scores import score_run
from longwrite.model.client import Endpoint, backend_errors, chat_model
from longwrite.model.embedded import endpoint_for

log = logging.getLogger(__name__)

JUDGEMENTS = "judgements.jsonl"
SCORES = "scores.json"


@dataclass(frozen=True)
class LongBenchRequest:
    data: Path
    out: Path
    mode: Mode
    lang: Language | None = None
    stratify: int | None = None
    limit: int | None = None
    concurrency: int = 1
    hold_length: bool = False  # model mode held to the stated length
    on_bad_line: OnBadLine = "stop"
    judge: Settings | None = None  # the judge's endpoint settings; None = no S_q
    judge_with_writer: bool = False  # the writer's endpoint judges too (e.g. the embedded model)
    judge_prompt: Path | None = None  # None: judge.txt beside the data file, else longwrite's own
    progress: bool = True


def run_longbench(request: LongBenchRequest, settings: Settings) -> dict[str, Any]:
    """Write (or resume) every selected answer, judge them if asked, score, and report."""
    if request.concurrency < 1:
        raise InputError(f"--concurrency is {request.concurrency}; give 1 or more.")
    rows, problems = load_rows(request.data, request.on_bad_line)
    for problem in problems:
        log.warning("skipped %s", problem)
    selected = select(rows, lang=request.lang, stratify=request.stratify, limit=request.limit)
    if not selected:
        raise InputError("No rows match --lang/--stratify/--limit; loosen the selection.")
    judging = request.judge_with_writer or request.judge is not None
    prompt = judge_prompt_for(request.data, request.judge_prompt) if judging else None
    if prompt:  # before hours of writing: the judge's model is known once its endpoint is up
        _check_same_judge(request.out / JUDGEMENTS, prompt)
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
            request.hold_length,
        )
        judgements = None
        if prompt and request.judge_with_writer:
            judgements = _judge_all(request, endpoint, settings, preds, prompt)
        elif prompt and request.judge is not None:
            with endpoint_for(request.judge) as judge_endpoint:
                judgements = _judge_all(request, judge_endpoint, request.judge, preds, prompt)
    return _score_and_report(request.out, asdict(manifest), preds, judgements)


def _judge_all(
    request: LongBenchRequest,
    endpoint: Endpoint,
    settings: Settings,
    preds: list[dict[str, Any]],
    prompt: JudgePrompt,
) -> list[dict[str, Any]]:
    """Judge every answer not judged yet (DIR/judgements.jsonl, keyed by row index)."""
    store = request.out / JUDGEMENTS
    _check_same_judge(store, prompt, endpoint)
    done = {j["index"]: j for j in read_jsonl(store)}
    todo = [p for p in preds if p["index"] not in done]
    appender = JsonlAppender(store)
    model = chat_model(endpoint, settings)
    response_format = judgement_format(endpoint)
    bar = tqdm(
        total=len(preds),
        initial=len(preds) - len(todo),
        desc="judging",
        unit="row",
        disable=not request.progress,
        file=sys.stderr,
    )

    def one(pred: dict[str, Any]) -> None:
        judgement = judge_answer(
            model,
            pred["prompt"],
            pred["response"],
            response_format=response_format,
            prompt=prompt,
            context_tokens=endpoint.context_tokens,
        )
        record = {
            "index": pred["index"],
            "judge": endpoint.backend,
            "judge_model": endpoint.model,
            "prompt": prompt.name,
            "prompt_sha256": prompt.sha256,
            "scores": judgement.scores,
            "attempts": judgement.attempts,
            "left_out_words": judgement.left_out_words,
            "raw": judgement.raw,
        }
        appender.append(record)
        done[pred["index"]] = record
        bar.update(1)

    with backend_errors(endpoint), ThreadPoolExecutor(max_workers=request.concurrency) as pool:
        for future in [pool.submit(one, p) for p in todo]:
            future.result()
    bar.close()
    return [done[p["index"]] for p in preds]


def _check_same_judge(store: Path, prompt: JudgePrompt, endpoint: Endpoint | None = None) -> None:
    """Refuse to add judgements to ones made with another prompt or (given `endpoint`) by another
    judge model: S_q over a mix of them would compare with nothing."""
    for record in read_jsonl(store):
        same_model = endpoint is None or record.get("judge_model") == endpoint.model
        if record.get("prompt_sha256") != prompt.sha256 or not same_model:
            held = describe_prompt(record.get("prompt"), record.get("prompt_sha256"))
            judge = f" by {endpoint.backend}" if endpoint else ""
            raise InputError(
                f"{store} holds judgements by {record['judge']} with {held}; this run would judge with "
                f"{describe_prompt(prompt.name, prompt.sha256)}{judge}. S_q never mixes judges or prompts: move "
                "that file away to judge again, or choose another -o/--output folder."
            )


def _score_and_report(
    out: Path, manifest: dict[str, Any], preds: list[dict[str, Any]], judgements: list[dict[str, Any]] | None
) -> dict[str, Any]:
    if judgements is None and (out / JUDGEMENTS).exists():
        judgements = read_jsonl(out / JUDGEMENTS)  # judged earlier: keep S_q in the scores
    scores = score_run(preds, judgements)
    (out / SCORES).write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    longbench_report(out, manifest, scores, preds, judgements)
    return scores


def rescore_run(folder: Path) -> dict[str, Any]:
    """Score and report a finished run again from its files alone (answers and judgements as
    they are; no model is started), e.g. after the scoring or the report changed."""
    manifest, preds = _read_run(folder)
    missing = sorted(set(manifest["rows"]) - {p["index"] for p in preds})
    if missing:
        raise InputError(
            f"{folder} has no answer for {len(missing)} of its rows; rerun its command to finish it: "
            f"{manifest['command']}"
        )
    return _score_and_report(folder, manifest, preds, None)


def _read_run(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(manifest, the predictions of its rows in row order) of a run folder."""
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise InputError(f"{folder} is not an eval run (no {MANIFEST}); run the eval first.")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("kind") != "longbench-write":
        raise InputError(f"{folder} holds a {manifest.get('kind')} run, not a LongBench-Write one.")
    wanted = set(manifest["rows"])
    preds = [p for p in read_jsonl(folder / PREDICTIONS) if p["index"] in wanted]
    return manifest, sorted(preds, key=lambda p: p["index"])


def load_run(folder: Path) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(manifest, scores, predictions) of a finished run folder."""
    scores_path = folder / SCORES
    if not scores_path.exists():
        raise InputError(f"{folder} is not a finished eval run (no {SCORES}); run the eval first.")
    manifest, preds = _read_run(folder)
    return manifest, json.loads(scores_path.read_text(encoding="utf-8")), preds
