"""Writing the answers of a benchmark run: one per row, appended to DIR/preds.jsonl as each
finishes, keyed by the row's index, so a run resumes and never pairs an answer with the wrong
prompt, whatever order concurrent writes finish in."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from longwrite.agent.batch import finished_keys, progress_bar, run_batch, write_item
from longwrite.agent.jobs import JobStore
from longwrite.agent.runner import WriteRequest, Written
from longwrite.agent.state import AgentContext
from longwrite.core.errors import BackendError, GenerationError, InputError
from longwrite.core.jsonl import JsonlAppender
from longwrite.core.modes import Mode
from longwrite.core.settings import Settings
from longwrite.core.text import count_words, length_score, repetition
from longwrite.eval.data import BenchRow, digest
from longwrite.model.client import Endpoint, backend_errors

PREDICTIONS = "preds.jsonl"
CHECKPOINTS = "checkpoints.sqlite"  # agent-mode answers in progress (git-ignored)
MANIFEST = "run.json"


@dataclass(frozen=True)
class RunManifest:
    """What a result folder holds: which benchmark, file, rows and writer. Checked on resume."""

    kind: str  # "longbench-write" or "ruler"
    data: str
    data_sha256: str
    mode: Mode
    backend: str
    rows: list[int]
    command: str
    created: str
    hold_length: bool = False  # model mode held to the stated length (agent/direct.py)


def open_run(
    out: Path, kind: str, data: Path, mode: Mode, backend: str, rows: list[BenchRow], hold_length: bool = False
) -> RunManifest:
    """Create the result folder, or check that the run already in it is this same run."""
    manifest = RunManifest(
        kind=kind,
        data=str(data),
        data_sha256=digest(data),
        mode=mode,
        backend=backend,
        rows=[row.index for row in rows],
        command=" ".join(["longwrite", *sys.argv[1:]]) if sys.argv else "",
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        hold_length=hold_length,
    )
    path = out / MANIFEST
    if path.exists():
        existing = json.loads(path.read_text(encoding="utf-8"))
        checks = {"kind": "benchmark", "data_sha256": "dataset", "mode": "mode", "rows": "row selection",
                  "hold_length": "--hold-length"}  # fmt: skip
        existing.setdefault("hold_length", False)  # runs made before --hold-length were plain
        for field, what in checks.items():
            if existing.get(field) != getattr(manifest, field):
                held = existing.get("data") if field == "data_sha256" else existing.get(field)
                raise InputError(
                    f"{out} holds a run with a different {what} ({held}); choose another -o/--output folder "
                    "(runs are never mixed)."
                )
        return RunManifest(**existing)
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(manifest), indent=2) + "\n", encoding="utf-8")
    return manifest


def write_answer(ctx: AgentContext, store: JobStore, request: WriteRequest) -> tuple[Written, str | None]:
    """One row's answer and a note; an agent or auto answer is a job of `store`, so a killed run
    resumes the row in progress from its last section. The note says when a model-mode answer was
    cut at the answer time limit (it is scored on what it wrote)."""
    written = write_item(ctx, store, request)
    limit = ctx.settings.answer_time_limit_s
    return written, f"cut at the answer time limit ({limit:g} s)" if written.cut_at_time_limit else None


def writer_name(manifest: dict[str, Any]) -> str:
    """How reports name a run's writer: "agent mode", "model mode held to length", ..."""
    return f"{manifest['mode']} mode" + (" held to length" if manifest.get("hold_length") else "")


def request_for(row: BenchRow, mode: Mode, hold_length: bool) -> WriteRequest:
    """The row's write: its required length is the target; one call has nothing to resume."""
    job_id = None if mode == "model" else f"row-{row.index}"
    return WriteRequest(row.prompt, row.length, mode, job_id=job_id, hold_length=hold_length)


def prediction(
    row: BenchRow, mode: Mode, answer: str, path: str, seconds: float, error: str | None, loop_cut: bool = False
) -> dict:
    words = count_words(answer)
    health = repetition(answer)
    return {
        "index": row.index,
        "prompt": row.prompt,
        "type": row.type,
        "length": row.length,
        "language": row.language,
        "mode": mode,
        "path": path,
        "response": answer,
        "response_length": words,
        "length_score": round(length_score(row.length, words), 2),
        "rep_4": round(health.rep_n, 4),
        "distinct_4": round(health.distinct_n, 4),
        "longest_line_run": health.longest_line_run,
        "seconds": round(seconds, 2),
        "error": error,
        "loop_cut": loop_cut,  # held to length: the guard stopped a loop and the answer ends where it began
    }


def run_predictions(
    out: Path,
    rows: list[BenchRow],
    mode: Mode,
    make_context: Callable[[], AgentContext],
    concurrency: int = 1,
    show_progress: bool = True,
    translate_errors: Callable[[], AbstractContextManager[None]] = nullcontext,
    hold_length: bool = False,
) -> list[dict[str, Any]]:
    """Write every row not yet in DIR/preds.jsonl; all predictions for `rows`, in row order.

    A row whose model returns nothing is recorded with an empty answer (its length score is 0:
    that is the model's result). A backend failure (as `translate_errors` turns client errors
    into BackendError) stops the run; rerunning resumes it.
    """
    out.mkdir(parents=True, exist_ok=True)
    done = finished_keys(out / PREDICTIONS, "index")
    todo = [row for row in rows if row.index not in done]
    appender = JsonlAppender(out / PREDICTIONS)
    bar = progress_bar(len(rows), len(rows) - len(todo), f"{mode} answers", "row", show_progress)

    def one(row: BenchRow, store: JobStore) -> None:
        started = time.monotonic()
        try:
            with translate_errors():
                written, error = write_answer(make_context(), store, request_for(row, mode, hold_length))
            answer, path, loop_cut = written.document, written.path, written.loop_cut
        except GenerationError as failure:
            answer, path, error, loop_cut = "", mode, str(failure), False
        record = prediction(row, mode, answer, path, time.monotonic() - started, error, loop_cut)
        appender.append(record)
        done[row.index] = record
        bar.update(1)

    try:
        with JobStore(out / CHECKPOINTS) as store:
            run_batch(todo, lambda row: one(row, store), concurrency)
    except BackendError as failure:
        raise BackendError(
            f"{failure} {len(done)} of {len(rows)} answers are saved; rerun the same command to resume."
        ) from failure
    finally:
        bar.close()
    return [done[row.index] for row in rows]


def answer_rows(
    endpoint: Endpoint,
    settings: Settings,
    out: Path,
    kind: str,
    data: Path,
    mode: Mode,
    rows: list[BenchRow],
    concurrency: int = 1,
    show_progress: bool = True,
    hold_length: bool = False,
) -> tuple[RunManifest, list[dict[str, Any]]]:
    """Open (or check) the run folder, then write every row's answer on `endpoint`."""
    manifest = open_run(out, kind, data, mode, endpoint.backend, rows, hold_length)
    preds = run_predictions(
        out,
        rows,
        mode,
        lambda: AgentContext.for_endpoint(endpoint, settings),
        concurrency,
        show_progress,
        translate_errors=lambda: backend_errors(endpoint),
        hold_length=hold_length,
    )
    return manifest, preds
