"""`longwrite synth`: AgentWrite over a file of instructions, producing long-output SFT rows.

Built to run for days: every finished row is appended once (one fsynced write), a rerun skips
the ids already written and resumes unfinished documents from their agent checkpoints (so a
kill loses at most the section in progress), failures go to OUT.errors.jsonl with the reason,
and several endpoints share the work round robin (one that keeps failing rests a while). The
batch itself (skip what is written, one job per row, threads) is agent/batch.py, shared with eval.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from longwrite.agent.batch import finished_keys, progress_bar, run_batch, write_item
from longwrite.agent.jobs import JobStore
from longwrite.agent.runner import WriteRequest
from longwrite.agent.state import AgentContext
from longwrite.core.endpoint_spec import EndpointSpec
from longwrite.core.errors import BackendError, GenerationError, InputError
from longwrite.core.jsonl import JsonlAppender
from longwrite.core.limits import check_instruction, target_length
from longwrite.core.settings import Settings
from longwrite.model.client import Endpoint, backend_errors, redacted_url
from longwrite.model.embedded import endpoint_for
from longwrite.training.rows import read_rows

log = logging.getLogger(__name__)

FAILURES_BEFORE_REST = 3  # failures in a row before an endpoint is left alone for a while
REST_S = 60.0


@dataclass(frozen=True)
class Instruction:
    id: str
    prompt: str
    target: int


@dataclass(frozen=True)
class SynthRequest:
    source: Path
    output: Path
    concurrency: int = 1
    base_urls: tuple[str, ...] = ()  # none: the embedded default
    limit: int | None = None
    shuffle: bool = False
    seed: int = 0
    retry_errors: bool = False
    progress: bool = True

    @property
    def errors_path(self) -> Path:
        return self.output.with_name(self.output.name + ".errors.jsonl")

    @property
    def checkpoints_path(self) -> Path:
        return self.output.with_name(self.output.name + ".checkpoints.sqlite")


def read_instructions(path: Path, settings: Settings) -> list[Instruction]:
    """Rows {"prompt", optional "id", optional "length"}, from JSONL, Parquet or a saved dataset.

    A row with `messages` instead of `prompt` (an SFT row, e.g. LongWriter-6k) gives its last
    user turn. An id defaults to a hash of the prompt; the same row twice is written once.
    """
    seen: dict[str, tuple[str, int]] = {}
    rows: list[Instruction] = []
    for data in read_rows(path):
        number = data["_line"]
        where = f"{path}:{number}"
        prompt = data.get("prompt")
        if prompt is None:
            prompt = _last_user_turn(data)
        if not isinstance(prompt, str) or not prompt.strip():
            raise InputError(f'{where}: the row has no "prompt" text.')
        prompt = check_instruction(prompt, settings, example='{"prompt": "Write a 3000-word guide to ..."}')
        row_id = str(data.get("id") or hashlib.sha256(prompt.encode()).hexdigest()[:16])
        if row_id in seen:
            if seen[row_id][0] != prompt:
                raise InputError(f"{where}: id {row_id} was used on line {seen[row_id][1]} for another prompt.")
            continue  # the same row twice: written once
        length = data.get("length")
        if length is not None and (isinstance(length, bool) or not isinstance(length, int)):
            raise InputError(f'{where}: "length" must be a whole number of words, not {json.dumps(length)}.')
        seen[row_id] = (prompt, number)
        # a training row records the length it was written to: with none stated, the default
        target = target_length(prompt, length, f'{where}: "length"', settings) or settings.default_target_words
        rows.append(Instruction(row_id, prompt, target))
    if not rows:
        raise InputError(f"{path} has no instructions.")
    return rows


def _last_user_turn(row: dict[str, Any]) -> str | None:
    """The last user message of a row's `messages`, if it has one."""
    messages = row.get("messages")
    if not isinstance(messages, list):
        return None
    users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return users[-1] if users and isinstance(users[-1], str) else None


class EndpointPool:
    """Round robin over endpoints; one that fails FAILURES_BEFORE_REST times in a row rests REST_S."""

    def __init__(self, endpoints: list[Endpoint]) -> None:
        self.endpoints = endpoints
        self._next = 0
        self._failures = [0] * len(endpoints)
        self._resting_until = [0.0] * len(endpoints)
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            now = time.monotonic()
            for step in range(len(self.endpoints)):
                index = (self._next + step) % len(self.endpoints)
                if self._resting_until[index] <= now:
                    self._next = index + 1
                    return index
            return min(range(len(self.endpoints)), key=lambda i: self._resting_until[i])

    def succeeded(self, index: int) -> None:
        with self._lock:
            self._failures[index] = 0

    def failed(self, index: int) -> None:
        with self._lock:
            self._failures[index] += 1
            if self._failures[index] >= FAILURES_BEFORE_REST:
                self._resting_until[index] = time.monotonic() + REST_S
                self._failures[index] = 0


@contextlib.contextmanager
def _endpoints(request: SynthRequest, settings: Settings) -> Iterator[list[Endpoint]]:
    """The --base-url endpoints (else LONGWRITE_BASE_URL, else the embedded default); one that does
    not answer is left out with a warning."""
    urls = request.base_urls or ((settings.base_url,) if settings.base_url else ())
    specs = [EndpointSpec(base_url=url, model=settings.model, api_key=settings.api_key) for url in urls]
    with contextlib.ExitStack() as opened:
        endpoints = []
        for spec in specs or [EndpointSpec()]:
            try:
                endpoints.append(opened.enter_context(endpoint_for(settings, spec)))
            except BackendError as error:
                if spec.embedded:  # the only endpoint: its own error says what went wrong
                    raise
                log.warning("skipping %s: %s", redacted_url(spec.base_url or ""), error)
        if not endpoints:
            raise BackendError("None of the --base-url endpoints answers; start a server or fix the URLs.")
        yield endpoints


def synthesize(request: SynthRequest, settings: Settings) -> dict[str, Any]:
    """Write every instruction not yet in OUT; a summary of the run."""
    if request.concurrency < 1:
        raise InputError(f"--concurrency is {request.concurrency}; give 1 or more.")
    parent = request.output.parent if str(request.output.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"The folder {parent} for -o does not exist; create it first.")
    rows = read_instructions(request.source, settings)
    done = finished_keys(request.output, "id")
    failed = {} if request.retry_errors else finished_keys(request.errors_path, "id")
    todo = [row for row in rows if row.id not in done and row.id not in failed]
    if request.shuffle:
        random.Random(request.seed).shuffle(todo)
    todo = todo[: request.limit] if request.limit is not None else todo
    summary = {"rows": len(rows), "already_done": len(done), "skipped_errors": len(failed), "written": 0, "failed": 0}
    if not todo:
        return summary
    with _endpoints(request, settings) as endpoints, JobStore(request.checkpoints_path) as store:
        writer = _Writer(request, settings, EndpointPool(endpoints), store, len(todo))
        try:
            run_batch(todo, writer.write, request.concurrency)
        finally:
            writer.bar.close()
    return summary | {"written": writer.written, "failed": writer.failed, "words": writer.words}


class _Writer:
    def __init__(self, request: SynthRequest, settings: Settings, pool: EndpointPool, store: JobStore, total: int):
        self.request, self.settings, self.pool, self.store = request, settings, pool, store
        self.rows_out = JsonlAppender(request.output)
        self.errors_out = JsonlAppender(request.errors_path)
        self.started = time.monotonic()
        self.written = self.failed = self.words = 0
        self.bar = progress_bar(total, 0, "synth", "doc", request.progress)

    def write(self, row: Instruction) -> None:
        """Write one document (trying each endpoint once on backend failures) and record it."""
        job_id = f"synth-{row.id}"
        error: str | None = None
        for _attempt in range(len(self.pool.endpoints)):
            index = self.pool.take()
            endpoint = self.pool.endpoints[index]
            try:
                with backend_errors(endpoint):
                    ctx = AgentContext.for_endpoint(endpoint, self.settings)
                    written = write_item(ctx, self.store, WriteRequest(row.prompt, row.target, job_id=job_id))
                    result = written.job
            except BackendError as failure:
                self.pool.failed(index)
                error = str(failure)
                continue
            except (GenerationError, InputError) as failure:
                error = str(failure)
                break
            self.pool.succeeded(index)
            self.rows_out.append(_sft_row(row, result, endpoint))
            self.written += 1
            self.words += result.words
            self._tick()
            return
        self.errors_out.append({"id": row.id, "prompt": row.prompt, "error": error})
        self.failed += 1
        self._tick()

    def _tick(self) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        self.bar.set_postfix(docs_s=f"{self.written / elapsed:.3f}", words_s=f"{self.words / elapsed:.1f}")
        self.bar.update(1)


def _sft_row(row: Instruction, result: Any, endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": row.id,
        "messages": [{"role": "user", "content": row.prompt}, {"role": "assistant", "content": result.document}],
        "length": row.target,
        "response_length": result.words,
        "length_score": round(result.length_score, 2),
        "plan": [dict(section) for section in result.plan],
        "sections": result.sections,
        "backend": endpoint.backend,
        "seconds": round(result.model_seconds, 2),
    }
