"""What the web writer does, apart from its widgets: plan, write as a job, follow it with
counters, stop and resume, write in model mode, compare agent and model. Plain Python, so the
logic is tested without a browser; ui/web.py lays it out in Gradio.

The page drives the same WriteService and JobManager as the API: its jobs are ordinary write
jobs (listed, followed and resumed through /v1/writes too) and take the same write slots. Plan
makes a job that stops after its plan ("planned"); Write puts the edited table into that job's
checkpoint and writes it, so the plan the page shows is the one the job writes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from longwrite.agent.events import EVENT_TOKEN
from longwrite.agent.plan_rules import checked_plan, whole_number
from longwrite.agent.runner import WriteRequest, write
from longwrite.agent.state import Section
from longwrite.agent.status import CANCELLED, DONE, PLANNED, RESUMABLE, RUNNING
from longwrite.agent.threads import start_worker
from longwrite.core.errors import Cancelled, InputError, LongwriteError
from longwrite.core.modes import Mode
from longwrite.core.text import count_words, detect_language, length_score, repetition, required_length
from longwrite.model.client import backend_errors
from longwrite.ui.job_manager import JobManager
from longwrite.ui.service import WriteService

POLL_S = 0.5
PAGE_EXAMPLE = "'Write a 3000-word guide to growing tomatoes'"
PLAN_COLUMNS = ["section", "main point", "words"]


@dataclass(frozen=True)
class Progress:
    """One refresh of the page while a document is being written."""

    text: str
    counters: str
    status: str  # running, done, error, cancelled, interrupted
    words: int
    error: str | None = None


@dataclass(frozen=True)
class Written:
    """One finished answer on the Compare tab."""

    writer: str
    text: str
    required: int
    words: int
    length_score: float
    rep4: float
    seconds: float

    def summary(self) -> str:
        return (
            f"**{self.writer}**: {self.words:,} of {self.required:,} words, length score "
            f"{self.length_score:.1f}, rep-4 {self.rep4:.3f}, {self.seconds:.0f} s"
        )


class Writer:
    def __init__(self, service: Callable[[], WriteService], jobs: Callable[[], JobManager]) -> None:
        # callables: the app builds the service and the job manager when it starts
        self._service, self._jobs = service, jobs

    @property
    def service(self) -> WriteService:
        return self._service()

    @property
    def jobs(self) -> JobManager:
        return self._jobs()

    # ------------------------------------------------------------------ plan

    def target_for(self, instruction: str) -> int | None:
        """The length the instruction asks for; None (the box left empty) where it states none,
        so the plan sizes the document."""
        return required_length(instruction or "")

    def plan(
        self, instruction: str, target: float | None, base_url: str = "", model: str = ""
    ) -> tuple[str, list[list[Any]], str]:
        """(title, table rows, job id) of a fresh plan, made as a job that waits, planned, for Write."""
        text, words = self._check(instruction, target)
        endpoint = self.service.endpoint_for(base_url, model)
        # the job's thread plans (holding a write slot until the plan is made); the page waits for it
        job = self.jobs.wait(self.jobs.create(text, words, endpoint=endpoint, plan_only=True)["id"])
        if job["status"] == CANCELLED:
            raise Cancelled("Planning was stopped (the server is shutting down); press Plan again.")
        if job["status"] != PLANNED:
            raise LongwriteError(job["error"] or f"Planning ended as {job['status']}; press Plan again.")
        return job["title"], [[s["title"], s["points"], s["words"]] for s in job["plan"]], job["id"]

    # ------------------------------------------------------------------ agent jobs

    def start(
        self,
        instruction: str,
        target: float | None,
        rows: list[list[Any]] | None,
        title: str,
        base_url: str = "",
        model: str = "",
        planned: str = "",
    ) -> str:
        """Write the job `planned` (Plan's) with the edited plan and title, or start a new job (with
        the table's plan when there is one); the job's id."""
        text, words = self._check(instruction, target)
        plan = plan_from_rows(rows) if rows and any(_filled(row) for row in rows) else None
        endpoint = self.service.endpoint_for(base_url, model)
        if planned:
            if self.jobs.asked_for(planned, text, words, endpoint):
                if self.jobs.describe(planned)["status"] == PLANNED:  # else written or stopped meanwhile
                    return self.jobs.resume(planned, plan=plan, title=title or None)["id"]
            else:
                # The instruction, length or endpoint changed since Plan: the table and title belong
                # to the old request, and writing them would answer it instead. The simple safe
                # choice is a new job that the agent plans for the request as it is now; the
                # planned job stays as it was (resumable through /v1/writes).
                plan, title = None, ""
        job = self.jobs.create(text, words, plan=plan, title=title or None, endpoint=endpoint)
        return job["id"]

    def follow(self, job_id: str) -> Iterator[Progress]:
        """Refreshes until the job stops: the text so far (finished sections and the one arriving)."""
        job_id = (job_id or "").strip()
        if not job_id:
            raise InputError("There is no job to follow; press Write first, or paste a job id.")
        started, first_words = time.monotonic(), None
        while True:
            job = self.jobs.describe(job_id)
            live = self.jobs.live_text(job_id) if job["status"] == RUNNING else ""
            text = job["text"] + (("\n\n" if job["text"] else "") + live if live else "")
            words = count_words(text)
            first_words = words if first_words is None else first_words
            rate = (words - first_words) / max(time.monotonic() - started, 1e-9)
            yield Progress(text, counters(job, words, rate), job["status"], words, job["error"])
            if job["status"] != RUNNING:
                return
            time.sleep(POLL_S)

    def stop(self, job_id: str) -> str:
        job = self.jobs.cancel(job_id.strip())
        return f"Job {job['id']} stopped after {job['progress']['sections_done']} sections; Resume continues it."

    def resume(self, job_id: str) -> str:
        """Reattach to a running job, write a planned one as planned, or restart an interrupted,
        failed or stopped one."""
        job = self.jobs.describe(job_id.strip())
        if job["status"] in RESUMABLE:
            self.jobs.resume(job["id"])
        return job["id"]

    # ------------------------------------------------------------------ one-call modes

    def write_inline(
        self,
        instruction: str,
        target: float | None,
        mode: Mode,
        base_url: str = "",
        model: str = "",
        hold_length: bool = False,
    ) -> Iterator[Progress]:
        """Model mode (one call, held to the length when asked) or auto (the model first, the agent
        if it falls short), streamed."""
        text, words = self._check(instruction, target)
        if mode != "model":  # nothing plans auto's first answer: with no length stated it is judged by the default
            words = words or self.service.settings.default_target_words
        endpoint = self.service.endpoint_for(base_url, model)
        arrived: list[str] = []
        result: dict[str, Any] = {}

        def work() -> None:
            ctx = self.service.context(endpoint=endpoint)
            request = WriteRequest(text, words, mode, hold_length=hold_length)
            with backend_errors(endpoint):
                result["text"] = write(ctx, request, on_event=_token_sink(arrived), on_token=arrived.append).document

        with self._slot():
            yield from _stream_while(work, arrived, words, instruction)
        final = result.get("text", "")
        yield Progress(final, counters_for(words, count_words(final), instruction, done=True), DONE, count_words(final))

    def compare(self, instruction: str, target: float | None, base_url: str = "", model: str = "") -> Iterator[Written]:
        """The agent's answer, then the model's, each with its scores."""
        text, words = self._check(instruction, target)
        endpoint = self.service.endpoint_for(base_url, model)
        with self._slot(), backend_errors(endpoint):
            ctx = self.service.context(endpoint=endpoint)
            started = time.monotonic()
            agent = write(ctx, WriteRequest(text, words, "agent"))
            yield _written("agent", agent.document, agent.target, started)
            started = time.monotonic()  # with no length stated, both are scored by the agent's plan
            yield _written(
                "model", write(ctx, WriteRequest(text, agent.target, "model")).document, agent.target, started
            )

    def _check(self, instruction: str, target: float | None) -> tuple[str, int | None]:
        """The instruction and its target; an empty or zero target means the instruction's own
        (None where it states none: the plan sizes the document)."""
        words = whole_number(target)
        if target not in (None, "") and words is None:
            raise InputError(f"The target length {target} is not a whole number; type one, or clear it.")
        return self.service.check(instruction, words or None, example=PAGE_EXAMPLE, target_name="The target length")

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        self.service.take_slot()
        try:
            yield
        finally:
            self.service.slots.release()


# ---------------------------------------------------------------- helpers


def plan_from_rows(rows: list[list[Any]]) -> list[Section]:
    """The edited table as a plan (empty rows left out); InputError naming the row to fix."""
    filled = [
        dict(zip(("title", "points", "words"), [*list(row), "", "", None][:3], strict=True))
        for row in rows
        if _filled(row)
    ]
    if not filled:
        raise InputError("The plan is empty; press Plan, or clear the table to let the agent plan.")
    return checked_plan(filled, "the plan")


def plan_total(rows: list[list[Any]] | None, target: float | None) -> str:
    budgets = [whole_number(row[2]) or 0 for row in rows or [] if _filled(row) and len(row) > 2]
    if not budgets:
        return ""
    total = sum(budgets)
    note = f" of {int(target):,} asked" if target else ", sized by the plan (no length stated)"
    return f"Plan total: **{total:,} words**{note} in {len(budgets)} sections (the document is written to the total)."


def counters(job: dict[str, Any], words: int, rate: float) -> str:
    progress = job["progress"]
    total, done = progress["sections_total"], progress["sections_done"]
    section = (
        f"section {min(done + 1, total)} of {total}" if job["status"] == RUNNING else f"{done} of {total} sections"
    )
    return counters_for(
        job["target_words"],
        words,
        job["instruction"],
        rate=rate,
        section=section,
        done=job["status"] != RUNNING,
        job=job["id"],
        planned=job.get("target_from") == "plan",
    )


def counters_for(
    target: int | None,
    words: int,
    instruction: str,
    *,
    rate: float = 0.0,
    section: str = "",
    done: bool = False,
    job: str = "",
    planned: bool = False,
) -> str:
    """The counters line; `target` None while the plan has not sized it yet, `planned` once it has."""
    unit = "characters" if detect_language(instruction) == "zh" else "words"
    if target is None:
        parts = [f"**{words:,}** {unit} (no length stated)"]
    else:
        parts = [f"**{words:,}** of {target:,} {unit}" + (" (sized by the plan)" if planned else "")]
    if section:
        parts.append(section)
    if not done:
        parts.append(f"{rate:.1f} {unit}/s")
        left = max((target or 0) - words, 0)
        parts.append(f"ETA {left / rate:.0f} s" if rate > 0 and target else "ETA -")
    elif not words:
        parts.append("no text")
    elif target:
        parts.append(f"length score {length_score(target, words):.1f}")
    if job:
        parts.append(f"job `{job}`")
    return " · ".join(parts)


def _stream_while(
    work: Callable[[], None], arrived: list[str], target: int | None, instruction: str
) -> Iterator[Progress]:
    """Run `work` in a thread, yielding the text that has arrived until it ends (its error re-raised)."""
    started = time.monotonic()
    outcome = start_worker(work, "web-write")
    while not outcome.done():
        concurrent.futures.wait([outcome], timeout=POLL_S)
        text = "".join(arrived)
        words = count_words(text)
        rate = words / max(time.monotonic() - started, 1e-9)
        yield Progress(text, counters_for(target, words, instruction, rate=rate), RUNNING, words)
    outcome.result()  # its error, if it raised one, is raised here in the page's thread


def _token_sink(arrived: list[str]) -> Callable[[dict[str, Any]], None]:
    def sink(event: dict[str, Any]) -> None:
        if event.get("event") == EVENT_TOKEN:
            arrived.append(event.get("text", ""))

    return sink


def _written(writer: str, text: str, required: int, started: float) -> Written:
    words = count_words(text)
    return Written(
        writer,
        text,
        required,
        words,
        round(length_score(required, words), 2),
        round(repetition(text).rep_n, 4),
        time.monotonic() - started,
    )


def _filled(row: list[Any]) -> bool:
    return any(str(cell).strip() for cell in row if cell is not None)
