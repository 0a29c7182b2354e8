"""Write jobs for long runs: started, watched, cancelled and resumed over HTTP.

A job lives in the job store (agent.jobs.JobStore): its text in the checkpoints, its last run in
the store's records (agent.job_records). This module runs each job in its own thread and keeps
its live events for the clients that follow it. A job that was running when the server died is
marked interrupted at the next start and resumes from its last finished section.

A job may stop after its plan (create(plan_only=True)): it is then "planned", holds no write
slot, and resume() writes it, with an edited plan and title where given (agent.jobs.revise_plan
puts them into the job's checkpoint), as the same job.

A finished job can be changed (agent.revisions): one section written again, words added after
the end, an earlier version restored. A rewrite or an extension runs as the job's next run, in a
slot like a write, with its events on the same route; one stopped part-way resumes like a write.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from longwrite.agent import revisions
from longwrite.agent.chapters import expected_sections
from longwrite.agent.events import (
    EVENT_DONE,
    EVENT_SECTION_FINISHED,
    EVENT_SECTION_STARTED,
    EVENT_TOKEN,
    document_of,
    history,
    status_event,
)
from longwrite.agent.jobs import JobResult, JobStore, new_job_id, revise_plan
from longwrite.agent.library import JobSummary, delete_job, job_summaries, job_summary
from longwrite.agent.runner import WriteRequest, write
from longwrite.agent.state import AgentContext, Section
from longwrite.agent.status import CANCELLED, DONE, ERROR, PLANNED, RESUMABLE, RUNNING
from longwrite.agent.threads import start_worker
from longwrite.core.errors import Cancelled, LongwriteError, StorageError
from longwrite.core.limits import check_target, target_from
from longwrite.core.text import count_words, length_score
from longwrite.model.client import Endpoint, backend_errors
from longwrite.ui.errors import ApiError
from longwrite.ui.service import WriteService

log = logging.getLogger("longwrite.jobs")

EVENT_POLL_S = 0.2
# What a job's thread runs: (the agent's context, where its events go) -> its result
Task = Callable[[AgentContext, Callable[[dict[str, Any]], None]], Any]


@dataclass
class JobRun:
    """A job while a thread runs it: the events so far (tokens left out), the text of the section
    being written (for pages that show it arriving) and its stop switch."""

    events: list[dict[str, Any]] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)  # set once its status is recorded
    live_text: str = ""

    def record(self, event: dict[str, Any]) -> None:
        if event.get("event") == EVENT_TOKEN:
            self.live_text += event.get("text", "")
            return
        if event.get("event") in (EVENT_SECTION_STARTED, EVENT_SECTION_FINISHED):
            self.live_text = ""
        self.events.append(event)


class JobManager:
    def __init__(self, service: WriteService, store: JobStore) -> None:
        self.service = service
        self.store = store
        self.records = store.records
        self._runs: dict[str, JobRun] = {}
        # A status the store could not take (a full disk): (status, error), written when it can be.
        self._unsaved: dict[str, tuple[str, str | None]] = {}
        self.records.interrupt_running()  # what was running when the last server stopped did not finish

    # ------------------------------------------------------------------ commands

    def create(
        self,
        instruction: str | None,
        target_words: int | None,
        plan: list[Section] | None = None,
        title: str | None = None,
        endpoint: Endpoint | None = None,
        plan_only: bool = False,
    ) -> dict[str, Any]:
        """Start a job; with `plan` (edited in the web page) the agent writes that plan as it is,
        and with `endpoint` (named in the page) it writes on that endpoint, resumes included.
        With `plan_only` it stops after planning, as a planned job that resume() writes."""
        text, target = self.service.check(instruction, target_words)
        if plan:
            target = self._plan_total(plan)
        own = endpoint is None or endpoint == self.service.endpoint
        self.service.take_slot()
        job_id = new_job_id()
        with self._slot_freed_on_failure():
            self.records.add(job_id, text, target, None if own else endpoint.base_url, None if own else endpoint.model)
            self._start(
                job_id, resume=False, instruction=text, target=target, plan=plan, title=title, plan_only=plan_only
            )
        return self.describe(job_id)

    @contextlib.contextmanager
    def _slot_freed_on_failure(self) -> Iterator[None]:
        """A slot taken for a job that then fails to start goes back at once (the thread frees it otherwise)."""
        try:
            yield
        except BaseException:
            self.service.slots.release()
            raise

    def resume(self, job_id: str, plan: list[Section] | None = None, title: str | None = None) -> dict[str, Any]:
        """Write a planned job, or continue an interrupted, failed or cancelled one; `plan` and
        `title` (a planned job only) replace the ones it planned, and its target becomes the plan's total."""
        row = self._row(job_id)
        if job_id in self._unsaved:  # _row could not write its status either: the store is still full
            raise _storage_error(job_id, "its last status could not be saved")
        if row["status"] not in RESUMABLE:
            what = "is still running" if row["status"] == RUNNING else "has already finished"
            raise ApiError(
                409,
                f"Job {job_id} {what}; only a planned, interrupted, failed or cancelled job can be resumed.",
                code="not_resumable",
            )
        if (plan or title) and row["status"] != PLANNED:
            raise ApiError(
                409,
                f"Job {job_id} is {row['status']}; only a planned job's plan and title can be "
                "changed. Resume it without them.",
                code="not_planned",
            )
        if plan:
            self._plan_total(plan)  # over the cap: refused before anything changes
        self.service.take_slot()
        with self._slot_freed_on_failure():
            self._claim(job_id, row["status"])
            try:
                if plan or title:
                    values = revise_plan(self.store, job_id, plan, title)
                    if plan and row["target_words"]:  # 0 stays: the instruction states no length
                        self.records.set_target(job_id, values["target_words"])
            except BaseException:
                self.records.set_status(job_id, row["status"], row["error"])  # as it was: still planned
                raise
            self._start(
                job_id,
                resume=bool(self.store.values(job_id)),
                instruction=row["instruction"],
                target=row["target_words"] or None,
            )
        return self.describe(job_id)

    def rewrite(self, job_id: str, number: int, note: str = "", words: int | None = None) -> dict[str, Any]:
        """Write section `number` (from 1) of a finished job again, as the job's next run."""
        row, values = self._finished_values(job_id)
        most = self.service.settings.max_target_words
        revisions.checked_revision(values, job_id, number, note, words, most)  # refused before anything starts

        def change(ctx: AgentContext, on_event: Callable[[dict[str, Any]], None]) -> Any:
            return revisions.revise_section(self.store, ctx, job_id, number, note, words, on_event=on_event)

        return self._start_change(job_id, row["status"], change)

    def extend(self, job_id: str, words: int) -> dict[str, Any]:
        """Add about `words` words after the end of a finished job, as the job's next run."""
        row, values = self._finished_values(job_id)
        revisions.checked_extension(values, words, self.service.settings.max_target_words)

        def change(ctx: AgentContext, on_event: Callable[[dict[str, Any]], None]) -> Any:
            return revisions.extend_job(self.store, ctx, job_id, words, on_event=on_event)

        return self._start_change(job_id, row["status"], change)

    def versions(self, job_id: str) -> list[dict[str, Any]]:
        """The job's versions, oldest first."""
        self._row(job_id)
        return [
            {"id": v.id, "created_at": v.created_at, "words": v.words, "change": v.change}
            for v in revisions.versions(self.store, job_id)
        ]

    def restore(self, job_id: str, version: str) -> dict[str, Any]:
        """Make an earlier version the job's document, as a new version (no model call: it is done
        when this returns)."""
        row, _ = self._finished_values(job_id)
        self._claim(job_id, row["status"])  # no change starts while it is restored
        try:
            revisions.restore(self.store, job_id, version)
        finally:
            self._save_status(job_id, DONE, None)
        return self.describe(job_id)

    def delete(self, job_id: str) -> dict[str, Any]:
        """Delete a job that is not running, with its versions."""
        row = self._row(job_id)
        if self._running(job_id):
            raise ApiError(409, f"Job {job_id} is {row['status']}; cancel it first, then delete it.", code="job_busy")
        delete_job(self.store, job_id)
        self._unsaved.pop(job_id, None)
        return {"id": job_id, "object": "write", "deleted": True}

    def wait(self, job_id: str, timeout_s: float | None = None) -> dict[str, Any]:
        """The job once its run has ended (or after `timeout_s`), as describe() shows it."""
        run = self._runs.get(job_id)
        if run is not None:
            run.ended.wait(timeout_s)
        return self.describe(job_id)

    def asked_for(self, job_id: str, instruction: str, target_words: int | None, endpoint: Endpoint) -> bool:
        """Whether job `job_id` was started for this instruction, stated length and endpoint."""
        row = self._row(job_id)
        own = endpoint == self.service.endpoint
        where = (None, None) if own else (endpoint.base_url, endpoint.model)
        return (row["instruction"], row["target_words"] or None, (row["base_url"], row["model"])) == (
            instruction,
            target_words,
            where,
        )

    def cancel(self, job_id: str) -> dict[str, Any]:
        row = self._row(job_id)
        if row["status"] in (DONE, CANCELLED):
            raise ApiError(
                409, f"Job {job_id} is already {row['status']}; there is nothing to cancel.", code="not_cancellable"
            )
        run = self._runs.get(job_id)
        if run is not None:
            run.cancel.set()  # the thread stops at its next event and records the status
        else:
            self._save_status(job_id, CANCELLED, None)
        return self.describe(job_id) | {"status": CANCELLED}

    def shutdown(self) -> None:
        """Stop every running job; each stays resumable (marked interrupted)."""
        for run in list(self._runs.values()):
            run.cancel.set()
        self.records.interrupt_running()

    # ------------------------------------------------------------------ queries

    def describe(self, job_id: str) -> dict[str, Any]:
        """Status, plan, progress and the text of the finished sections."""
        row = self._row(job_id)
        values = self.store.values(job_id)
        plan, chapters = values.get("plan", []), values.get("chapters", [])
        sections = values.get("sections", [])
        text = document_of(values) if sections or values.get("paused_draft") else ""
        words = count_words(text)
        # 0 in the table: the instruction states no length, and the plan sets it (None until then)
        target = values.get("target_words") or row["target_words"] or None
        return {
            "id": job_id,
            "object": "write",
            "status": row["status"],
            "instruction": row["instruction"],
            "target_words": target,
            "target_from": values.get("target_from") or target_from(row["instruction"], row["target_words"] or None),
            "title": values.get("title", ""),
            "plan": plan,  # in a plan made in chapters: the sections of the chapters planned so far
            "chapters": chapters,
            "progress": {
                "sections_done": len(sections),
                "sections_total": expected_sections(plan, chapters),
                "words": words,
                "target_words": target,
                "length_score": round(length_score(target, words), 2) if words and target else 0.0,
            },
            "sections": [
                {"title": section["title"], "words": section["words"], "text": section["text"]} for section in sections
            ],
            # the section being written again (from 1), while a rewrite runs or waits to resume
            "revising": values["revision"]["index"] + 1 if values.get("revision") else None,
            "text": text,
            "error": row["error"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """Every job in the store (the CLI's too), the most recently changed first, without its
        text (GET /v1/writes/ID has it)."""
        return [self._listed(summary) for summary in job_summaries(self.store)[:limit]]

    def _listed(self, summary: JobSummary) -> dict[str, Any]:
        fields = {
            key: getattr(summary, key)
            for key in ("status", "instruction", "error", "title", "words", "target_words", "change", "created_at",
                        "updated_at")
        }  # fmt: skip
        return {"id": summary.id, "object": "write"} | fields | self._unsaved_fields(summary.id)

    async def follow(self, job_id: str) -> AsyncIterator[dict[str, Any]]:
        """The job's events: what happened so far, then live ones until it stops."""
        row = self._row(job_id)
        run = self._runs.get(job_id)
        if run is None:
            for event in history(self.store.values(job_id)):
                yield event
            if row["status"] != DONE:  # a finished job's history ends with its done event
                yield status_event(row["status"], row["error"])
            return
        sent = 0
        while True:
            while sent < len(run.events):
                yield run.events[sent]
                sent += 1
            if run.ended.is_set():
                return
            await asyncio.sleep(EVENT_POLL_S)

    # ------------------------------------------------------------------ internals

    def _row(self, job_id: str) -> sqlite3.Row | dict[str, Any]:
        row = self.records.get(job_id) or self._adopted(job_id)
        if row is None:
            raise ApiError(
                404, f"There is no write job '{job_id}'; GET /v1/writes lists the jobs.", code="job_not_found"
            )
        unsaved = self._unsaved.get(job_id)
        if unsaved is None or job_id in self._runs:
            return row
        if self._save_status(job_id, *unsaved):  # the store has room again
            return self.records.get(job_id) or row
        return dict(zip(row.keys(), row, strict=True)) | {"status": unsaved[0], "error": unsaved[1]}

    def _adopted(self, job_id: str) -> sqlite3.Row | dict[str, Any] | None:
        """The run record of a job the CLI or the Python API wrote (checkpoints only), made now so
        that the server can resume, change and follow it like its own; None when there is no such job."""
        values = self.store.values(job_id)
        if not values:
            return None
        status = job_summary(self.store, job_id).status
        if status == RUNNING:  # another process writes it: shown as that, recorded once it has stopped
            now = time.time()
            return {"id": job_id, "instruction": values.get("instruction", ""), "status": RUNNING, "error": None,
                    "target_words": values.get("target_words") or 0, "created_at": now, "updated_at": now,
                    "base_url": None, "model": None}  # fmt: skip
        with contextlib.suppress(sqlite3.IntegrityError):  # another request adopted it first
            self.records.add(job_id, values.get("instruction", ""), values.get("target_words"))
            self.records.set_status(job_id, status)
        return self.records.get(job_id)

    def _unsaved_fields(self, job_id: str) -> dict[str, Any]:
        unsaved = self._unsaved.get(job_id)
        return {"status": unsaved[0], "error": unsaved[1]} if unsaved and job_id not in self._runs else {}

    def _save_status(self, job_id: str, status: str, error: str | None) -> bool:
        """Record a job's status; when the store cannot take it (a full disk), keep it here and say
        so, so the job still reads as ended, and write it at the next chance. Never raises."""
        try:
            self.records.set_status(job_id, status, error)
        except (StorageError, sqlite3.Error) as failure:  # a full disk, or a store closed under a thread
            if job_id not in self._unsaved:
                log.error("job %s: could not save its status %r (%s); kept in memory until it can be", job_id,
                          status, failure)  # fmt: skip
            self._unsaved[job_id] = (status, error)
            return False
        self._unsaved.pop(job_id, None)
        return True

    def _endpoint(self, job_id: str) -> Endpoint:
        row = self._row(job_id)
        return self.service.endpoint_for(row["base_url"], row["model"])

    def _claim(self, job_id: str, status: str) -> None:
        """Mark the job running if it is still `status`: of two resumes at once, one starts it."""
        try:
            claimed = self.records.claim(job_id, status)
        except (StorageError, sqlite3.Error) as error:
            raise _storage_error(job_id, str(error.__cause__ or error)) from error
        if not claimed:
            raise ApiError(
                409,
                f"Job {job_id} was started or changed by another request meanwhile; wait for it to finish.",
                code="not_resumable",
            )

    def _plan_total(self, plan: list[Section]) -> int:
        """The words of an edited plan, the job's target; InputError above the cap."""
        return check_target(sum(section["words"] for section in plan), "The plan's total", self.service.settings)

    def live_text(self, job_id: str) -> str:
        """The part of the section being written that has arrived so far ("" when none is)."""
        run = self._runs.get(job_id)
        return run.live_text if run else ""

    def _start(
        self,
        job_id: str,
        *,
        resume: bool,
        instruction: str,
        target: int,
        plan: list[Section] | None = None,
        title: str | None = None,
        plan_only: bool = False,
    ) -> None:
        def task(ctx: AgentContext, on_event: Callable[[dict[str, Any]], None]) -> Any:
            request = (
                WriteRequest("", job_id=job_id, resume=True, plan_only=plan_only)
                if resume
                else WriteRequest(instruction, target, job_id=job_id, plan=plan, title=title, plan_only=plan_only)
            )
            return write(ctx, request, self.store, on_event=on_event)

        self._run_in_thread(job_id, task, continues=resume, succeeded=PLANNED if plan_only else DONE)

    def _start_change(self, job_id: str, status: str, change: Task) -> dict[str, Any]:
        """Run `change(ctx, on_event)` on finished job `job_id`, found `status`, as its next run, in
        a write slot (of two changes asked at once, the one that claims the job first runs)."""
        self.service.take_slot()
        with self._slot_freed_on_failure():
            self._claim(job_id, status)
            self._run_in_thread(job_id, change, continues=True, succeeded=DONE)
        return self.describe(job_id)

    def _finished_values(self, job_id: str) -> tuple[Any, Any]:
        """(run record, state) of job `job_id` if it is finished and not running (what a change starts from)."""
        row = self._row(job_id)
        if self._running(job_id) or row["status"] == RUNNING:
            raise ApiError(
                409, f"Job {job_id} is being written; wait for it to finish (or cancel it), then change it.",
                code="job_busy",
            )  # fmt: skip
        values = self.store.values(job_id)
        if values.get("status") != DONE:
            raise ApiError(
                409, f"Job {job_id} is not finished ({row['status']}); resume it to its end first "
                f"(POST /v1/writes/{job_id}/resume), then change it.", code="not_finished",
            )  # fmt: skip
        return row, values

    def _running(self, job_id: str) -> bool:
        """Whether a thread of this server runs the job and has not recorded its end yet."""
        run = self._runs.get(job_id)
        return run is not None and not run.ended.is_set()

    def _run_in_thread(
        self,
        job_id: str,
        task: Task,
        *,
        continues: bool,
        succeeded: str,
    ) -> None:
        """Run `task(ctx, on_event)` for the job in its own thread, which records how it ended; the
        events of a job that `continues` start with its history."""
        # a change of a finished job goes on from it: its old done event is not this run's end
        earlier = [event for event in history(self.store.values(job_id)) if event["event"] != EVENT_DONE]
        run = JobRun(events=earlier if continues else [])
        self._runs[job_id] = run
        start_worker(functools.partial(self._work, job_id, run, task, succeeded), f"write-{job_id}")

    def _work(
        self,
        job_id: str,
        run: JobRun,
        task: Task,
        succeeded: str,
    ) -> None:
        # The status records a failure (this thread has no one to tell). The slot goes back before the
        # status is written: a client that sees the job end may start another at once.
        recorded = self._outcome_recorded(job_id, run, first=self.service.slots.release, succeeded=succeeded)
        with contextlib.suppress(Exception), recorded:
            endpoint = self._endpoint(job_id)
            with backend_errors(endpoint):
                task(self.service.context(run.cancel, endpoint), run.record)

    def write_attached(
        self,
        job_id: str,
        instruction: str,
        target: int | None,
        on_event: Callable[[dict[str, Any]], None],
        cancel: threading.Event,
    ) -> JobResult:
        """A chat write, run in the calling thread but kept as job `job_id` like /v1/writes ones:
        when the client goes away or the server stops, its finished sections stay and the job
        resumes (POST /v1/writes/ID/resume). The caller holds the write slot."""
        self.records.add(job_id, instruction, target)
        run = JobRun(cancel=cancel)
        self._runs[job_id] = run

        def record(event: dict[str, Any]) -> None:
            run.record(event)
            on_event(event)

        request = WriteRequest(instruction, target, job_id=job_id)
        with self._outcome_recorded(job_id, run), backend_errors(self.service.endpoint):
            written = write(self.service.context(cancel), request, self.store, on_event=record)
        return written.job

    @contextlib.contextmanager
    def _outcome_recorded(
        self, job_id: str, run: JobRun, first: Callable[[], None] = lambda: None, succeeded: str = DONE
    ) -> Iterator[None]:
        """The job's status once its run ends, however it ends (the error is re-raised): `succeeded`
        when it ran to its end; `first` runs before the status is written."""
        status, error = succeeded, None
        try:
            yield
        except Cancelled:
            status = CANCELLED
            raise
        except StorageError as failure:
            status, error = ERROR, f"{failure} Free space, then resume it: POST /v1/writes/{job_id}/resume."
            raise
        except LongwriteError as failure:
            status, error = ERROR, str(failure)
            raise
        except Exception:  # a bug: logged with its traceback, reported without it
            log.exception("job %s failed", job_id)
            status, error = ERROR, "The job failed with an internal error; see the server log, then resume it."
            raise
        finally:
            first()
            self._save_status(job_id, status, error)
            if status != DONE:
                run.events.append(status_event(status, error))
            run.ended.set()
            if self._runs.get(job_id) is run:  # a run started since (a change asked once this one was done) stays
                del self._runs[job_id]


def _storage_error(job_id: str, why: str) -> ApiError:
    return ApiError(
        503, f"Could not save job {job_id} ({why}); free space on the server, then resume it again.",
        kind="server_error", code="storage_error",
    )  # fmt: skip
