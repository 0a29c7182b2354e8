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
from longwrite.agent.state import AgentContext, Section
from longwrite.agent.status import CANCELLED, DONE, INTERRUPTED, PLANNED, RESUMABLE, RUNNING
from longwrite.agent.threads import start_worker
from longwrite.core.errors import Cancelled, InputError, LongwriteError
from longwrite.core.modes import Mode
from longwrite.core.text import count_words, detect_language, length_score, repetition, required_length
from longwrite.model.client import backend_errors
from longwrite.ui.errors import ApiError
from longwrite.ui.job_manager import JobManager
from longwrite.ui.page_words import in_page_words
from longwrite.ui.service import WriteService

POLL_S = 0.5
PAGE_EXAMPLE = "'Write a 3000-word guide to growing tomatoes'"
PLAN_COLUMNS = ["section", "main point", "words"]
NEW_SECTION_WORDS = 300  # an added section's budget when the table has none to copy


@dataclass(frozen=True)
class Progress:
    """One refresh of the page while a document is being written."""

    text: str
    counters: str
    status: str  # running, done, error, cancelled, interrupted
    words: int
    error: str | None = None
    title: str = ""
    plan: tuple[tuple[str, str, int], ...] = ()  # the plan being written, budgets as the agent adjusts them
    sections_done: int = 0
    revising: int | None = None  # the section (from 1) being written again
    job_id: str = ""  # "" for a one-call write (nothing saved)

    def rows(self) -> list[list[Any]]:
        return [list(row) for row in self.plan]


class PlanOutdated(InputError):
    """Write was pressed after the instruction, length or endpoint changed since Plan: the table
    belongs to the old request, and only the writer can say whether to keep it."""


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

    def target_for(self, instruction: str) -> str:
        """The length box for an instruction: the length it asks for, or empty where it states
        none (the plan sizes the document)."""
        asked = required_length(instruction or "")
        return "" if asked is None else str(asked)

    def plan(
        self, instruction: str, target: float | str | None, base_url: str = "", model: str = ""
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
        target: float | str | None,
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
            if not self.jobs.asked_for(planned, text, words, endpoint):
                # the table was planned (and maybe edited) for another request: writing it, or
                # planning afresh over it, would both be a guess
                raise PlanOutdated(
                    "The instruction, length or endpoint changed after Plan. Keep your plan to write it "
                    "for the request as it is now, or plan again."
                )
            if self.jobs.describe(planned)["status"] == PLANNED:  # else written or stopped meanwhile
                return self.jobs.resume(planned, plan=plan, title=title or None)["id"]
        if plan:  # a table written as it stands: its total is the length
            words = sum(section["words"] for section in plan)
        job = self.jobs.create(text, words, plan=plan, title=title or None, endpoint=endpoint)
        return job["id"]

    def follow(self, job_id: str) -> Iterator[Progress]:
        """Refreshes until the job stops: the text so far (finished sections and the one arriving)."""
        job_id = (job_id or "").strip()
        if not job_id:
            raise InputError("There is no job to follow; press Write first, or paste a job id.")
        pace = _Pace()
        while True:
            job = self.jobs.describe(job_id)
            live = self.jobs.live_text(job_id) if job["status"] == RUNNING else ""
            text = _with_live_text(job, live)
            words = count_words(text)
            yield progress_of(job, text, words, pace.rate(words))
            if job["status"] != RUNNING:
                return
            time.sleep(POLL_S)

    def stop(self, job_id: str) -> None:
        """Pause the job: the text written so far stays (the section in progress too), and Resume
        continues it from there."""
        self.jobs.cancel(job_id.strip())

    def opened(self, job_id: str) -> dict[str, Any] | None:
        """The job a reloaded page was showing (None when it is gone)."""
        job_id = (job_id or "").strip()
        if not job_id:
            return None
        try:
            return self.jobs.describe(job_id)
        except ApiError:
            return None

    # ------------------------------------------------------------------ after the first draft

    def documents(self) -> list[dict[str, Any]]:
        """Every document in the job store, the most recently changed first."""
        return self.jobs.recent(DOCUMENTS_LISTED)

    def rewrite(self, job_id: str, number: int | None, note: str, words: float | str | None) -> str:
        """Start writing section `number` (from 1) of the finished document again; the job's id."""
        if not number:
            raise InputError("Choose the section to rewrite first.")
        length = whole_number(words)
        if words not in (None, "") and length is None:
            raise InputError(f"The new length {words} is not a whole number; type one, or clear it.")
        return self.jobs.rewrite(_job_id(job_id), int(number), note or "", length)["id"]

    def extend(self, job_id: str, words: float | str | None) -> str:
        """Start adding `words` words after the end of the finished document; the job's id."""
        length = whole_number(words)
        if length is None:
            raise InputError("Type how many words to add, as a whole number.")
        return self.jobs.extend(_job_id(job_id), length)["id"]

    def versions(self, job_id: str) -> list[dict[str, Any]]:
        return self.jobs.versions(_job_id(job_id))

    def restore(self, job_id: str, version: str | None) -> dict[str, Any]:
        if not version:
            raise InputError("Choose the version to restore first.")
        return self.jobs.restore(_job_id(job_id), version)

    def delete(self, job_id: str) -> None:
        self.jobs.delete(_job_id(job_id))

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
        target: float | str | None,
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
        ctx = self.service.context(endpoint=endpoint)
        work = _writing(ctx, WriteRequest(text, words, mode, hold_length=hold_length), arrived, result)
        with self._slot():
            yield from _stream_while(work, arrived, words, instruction)
        final = result["written"].document
        yield Progress(final, counters_for(words, count_words(final), instruction, done=True), DONE, count_words(final))

    def compare(
        self, instruction: str, target: float | str | None, base_url: str = "", model: str = ""
    ) -> Iterator[tuple[str, str, Written | None]]:
        """The agent's answer, then the model's on the same endpoint, streamed: (writer, text so
        far, None) while each writes, then (writer, text, its scores) when it ends."""
        text, words = self._check(instruction, target)
        endpoint = self.service.endpoint_for(base_url, model)
        with self._slot():
            ctx = self.service.context(endpoint=endpoint)
            started, arrived, finished = time.monotonic(), [], {}
            work = _writing(ctx, WriteRequest(text, words, "agent"), arrived, finished)
            for _ in _stream_while(work, arrived, words, instruction):
                yield "agent", "".join(arrived), None
            agent = finished["written"]
            yield "agent", agent.document, _written("agent", agent.document, agent.target, started)
            # with no length stated, both are scored by the agent's plan
            started, arrived = time.monotonic(), []
            work = _writing(ctx, WriteRequest(text, agent.target, "model"), arrived, finished)
            for _ in _stream_while(work, arrived, agent.target, instruction):
                yield "model", "".join(arrived), None
            document = finished["written"].document
            yield "model", document, _written("model", document, agent.target, started)

    def _check(self, instruction: str, target: float | str | None) -> tuple[str, int | None]:
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


DOCUMENTS_LISTED = 500  # the Documents tab's list: the newest this many


def _job_id(job_id: str) -> str:
    job_id = (job_id or "").strip()
    if not job_id:
        raise InputError("Open a document first (the Documents tab lists them).")
    return job_id


def _with_live_text(job: dict[str, Any], live: str) -> str:
    """The job's text with the part arriving now: in place of the section being rewritten, else
    after the finished sections."""
    if not live:
        return job["text"]
    number = job.get("revising")
    if number and number <= len(job["sections"]):
        old = job["sections"][number - 1]["text"]
        if old and old in job["text"]:
            return job["text"].replace(old, live, 1)
    return job["text"] + ("\n\n" if job["text"] else "") + live


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


def plan_total(rows: list[list[Any]] | None, target: float | str | None) -> str:
    """The line under the table: its total against the length asked, or which budget to fix."""
    filled = [row for row in rows or [] if _filled(row)]
    for number, row in enumerate(filled, start=1):
        budget = row[2] if len(row) > 2 else None
        if budget in (None, "") or whole_number(budget) is None or whole_number(budget) <= 0:
            shown = "no words" if budget in (None, "") else f"{budget!r} words"
            return f"**Section {number} has {shown}**: type a whole number of words for it (e.g. 300)."
    if not filled:
        return ""
    total = sum(whole_number(row[2]) or 0 for row in filled)
    asked = whole_number(target)
    note = f" of {asked:,} asked" if asked else ", sized by the plan (no length stated)"
    return f"Plan total: **{total:,} words**{note} in {len(filled)} sections (the document is written to the total)."


def new_row(rows: list[list[Any]] | None) -> list[Any]:
    """A section added at the end of the table, with the budget of a typical section so far."""
    budgets = [whole_number(row[2]) for row in rows or [] if _filled(row) and len(row) > 2]
    usable = [budget for budget in budgets if budget and budget > 0]
    return ["New section", "", round(sum(usable) / len(usable)) if usable else NEW_SECTION_WORDS]


def progress_of(job: dict[str, Any], text: str, words: int, rate: float = 0.0) -> Progress:
    """The page's view of a job: its text, counters, status, and the plan as it is being written."""
    plan = tuple((s["title"], s["points"], s["words"]) for s in job["plan"])
    return Progress(text, counters(job, words, rate), job["status"], words, job["error"], job["title"], plan,
                    job["progress"]["sections_done"], job.get("revising"), job["id"])  # fmt: skip


def status_words(progress: Progress) -> str:
    """The status line in a writer's words: what is happening and what the buttons can do now."""
    done, total = progress.sections_done, len(progress.plan)
    if progress.status == RUNNING and progress.revising:
        return f"**Rewriting** section {progress.revising} of {total}"
    if progress.status == RUNNING:
        return f"**Writing** section {min(done + 1, total)} of {total}" if total else "**Planning** the document"
    if progress.status == DONE:
        return "**Done.** Download it below, or copy it from the text."
    if progress.status == PLANNED:
        return "**Planned.** Edit the plan if you like, then press Write."
    if progress.status == CANCELLED:
        where = f"in section {done + 1} of {total}" if done < total else "after the last section"
        return f"**Paused** {where} ({progress.words:,} words kept). Resume continues from there."
    if progress.status == INTERRUPTED and progress.revising:
        return f"**Interrupted** while rewriting section {progress.revising}. Resume finishes the rewrite."
    if progress.status == INTERRUPTED:
        return f"**Interrupted**: the server stopped at section {done + 1}. Resume continues from there."
    return f"**Stopped by an error**: {in_page_words(progress.error or 'unknown error')} Resume tries again."


def counters(job: dict[str, Any], words: int, rate: float) -> str:
    progress = job["progress"]
    total, done = progress["sections_total"], progress["sections_done"]
    if job["status"] == RUNNING:
        number = job.get("revising") or min(done + 1, total)
        section = f"{'rewriting ' if job.get('revising') else ''}section {number} of {total}"
    else:
        section = f"{done} of {total} sections"
    return counters_for(
        job["target_words"],
        words,
        job["instruction"],
        rate=rate,
        section=section,
        done=job["status"] != RUNNING,
        planned=job.get("target_from") == "plan",
        scored=job["status"] == DONE,  # a paused or failed document is not scored against its length yet
    )


def counters_for(
    target: int | None,
    words: int,
    instruction: str,
    *,
    rate: float = 0.0,
    section: str = "",
    done: bool = False,
    planned: bool = False,
    scored: bool = True,
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
    elif target and scored:
        parts.append(f"length score {length_score(target, words):.1f}")
    return " · ".join(parts)


class _Pace:
    """Words per second since the text began to grow: planning and a resumed job's earlier text
    are left out, so the ETA is not inflated by time in which no text could arrive."""

    def __init__(self) -> None:
        self.start: tuple[float, int] | None = None

    def rate(self, words: int) -> float:
        now = time.monotonic()
        if self.start is None:
            self.start = (now, words)
            return 0.0
        since, first = self.start
        if words == first:  # nothing new yet: the clock starts with the first new text
            self.start = (now, words)
            return 0.0
        return (words - first) / max(now - since, 1e-9)


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


def _writing(
    ctx: AgentContext, request: WriteRequest, arrived: list[str], result: dict[str, Any]
) -> Callable[[], None]:
    """The work of one streamed write: its text arrives in `arrived`, the outcome in result["written"]."""

    def work() -> None:
        with backend_errors(ctx.endpoint):
            result["written"] = write(ctx, request, on_event=_token_sink(arrived), on_token=arrived.append)

    return work


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
