"""Running the graph as a job: SQLite checkpoints keyed by job id, new runs and resumes."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from longwrite.agent.chapters import pending_chapters
from longwrite.agent.compact_saver import CompactSqliteSaver
from longwrite.agent.context import outline_text
from longwrite.agent.events import document_of
from longwrite.agent.graph import build_graph
from longwrite.agent.job_records import JobRecords
from longwrite.agent.plan_rules import checked_plan
from longwrite.agent.prompts import prompts_for
from longwrite.agent.state import AgentContext, Section, SectionPaused, WriteState
from longwrite.agent.status import DONE, PLAN_EDITED, PLANNED, WRITING
from longwrite.core.errors import GenerationError, InputError, storage_errors
from longwrite.core.text import count_words, length_score, repetition


@dataclass(frozen=True)
class JobResult:
    """What a finished (or plan-only) job produced."""

    job: str
    status: str
    title: str
    plan: list[Section]
    plan_source: str
    document: str
    words: int
    target: int
    target_from: str  # "plan" where the plan sized the target (the request stated none), else ""
    length_score: float
    sections: int
    rep_4: float
    seconds: float  # wall time of this run
    model_seconds: float  # model time over all runs of the job


def new_job_id() -> str:
    """A sortable, readable id: the start time plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class JobStore:
    """The SQLite file that holds every job: its checkpoints (the document), which process is
    writing it (job_holders), and the record of its last run (records: write_jobs)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.connection = sqlite3.connect(str(path), check_same_thread=False)
        self.saver = CompactSqliteSaver(self.connection)
        self.saver.setup()
        # each job's last run, for the server's job API; autocommit, shared by the server's threads
        self.records = JobRecords(sqlite3.connect(str(path), check_same_thread=False, isolation_level=None))
        with self._lock_connection() as locks:
            locks.execute(
                "CREATE TABLE IF NOT EXISTS job_holders (job_id TEXT PRIMARY KEY, pid INTEGER NOT NULL, "
                "host TEXT NOT NULL, since REAL NOT NULL)"
            )

    def _lock_connection(self) -> contextlib.closing[sqlite3.Connection]:
        # its own connection in autocommit mode, so BEGIN IMMEDIATE serialises the holders across
        # processes without touching the checkpointer's transactions
        return contextlib.closing(sqlite3.connect(str(self.path), timeout=30, isolation_level=None))

    @contextlib.contextmanager
    def holding(self, job_id: str) -> Iterator[None]:
        """Hold `job_id` for this process while the block runs; InputError if another live process holds it.

        A holder that is gone (its process ended, even by SIGKILL) does not block: its row is
        taken over. Holders on other machines sharing the file are trusted to be alive.
        """
        host, pid = socket.gethostname(), os.getpid()
        with self._lock_connection() as locks:
            locks.execute("BEGIN IMMEDIATE")
            try:
                row = locks.execute("SELECT pid, host, since FROM job_holders WHERE job_id = ?", (job_id,)).fetchone()
                if row is not None and row[0] != pid and (row[1] != host or _process_alive(row[0])):
                    since = datetime.fromtimestamp(row[2], UTC).strftime("%H:%M:%S UTC")
                    raise InputError(
                        f"Job '{job_id}' is being written by process {row[0]} on {row[1]} (since {since}); "
                        "wait for it to finish, or stop it and resume the job then."
                    )
                locks.execute(
                    "INSERT OR REPLACE INTO job_holders VALUES (?, ?, ?, ?)", (job_id, pid, host, time.time())
                )
                locks.execute("COMMIT")
            except BaseException:
                locks.execute("ROLLBACK")
                raise
        try:
            yield
        finally:
            with self._lock_connection() as locks:
                locks.execute("DELETE FROM job_holders WHERE job_id = ? AND pid = ?", (job_id, pid))

    def is_held(self, job_id: str) -> bool:
        """Whether a live process (this one included) holds `job_id`: it is being written."""
        with self._lock_connection() as locks:
            row = locks.execute("SELECT pid, host FROM job_holders WHERE job_id = ?", (job_id,)).fetchone()
        return row is not None and (row[1] != socket.gethostname() or _process_alive(row[0]))

    def close(self) -> None:
        self.records.close()
        self.connection.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def values(self, job_id: str) -> WriteState:
        """The job's latest saved state ({} when there is no such job)."""
        snapshot = build_graph(self.saver).get_state(_config(job_id))
        return snapshot.values or {}


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but alive
    return True


def _config(job_id: str, max_steps: int = 1_000) -> dict[str, Any]:
    return {"configurable": {"thread_id": job_id}, "recursion_limit": max_steps}


def run_job(
    store: JobStore,
    ctx: AgentContext,
    job_id: str,
    *,
    instruction: str | None = None,
    target: int | None = None,
    plan: list[Section] | None = None,
    title: str | None = None,
    opening: str = "",
    resume: bool = False,
    plan_only: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> JobResult:
    """Start job `job_id` (or resume it) and stream its events to `on_event` until it stops.

    With no `target` (the request states no length) the plan sizes the document.
    """
    with storage_errors(f"job {job_id}"), store.holding(job_id):
        return _run_held_job(store, ctx, job_id, instruction, target, plan, title, opening, resume, plan_only, on_event)


def _run_held_job(
    store: JobStore,
    ctx: AgentContext,
    job_id: str,
    instruction: str | None,
    target: int | None,
    plan: list[Section] | None,
    title: str | None,
    opening: str,
    resume: bool,
    plan_only: bool,
    on_event: Callable[[dict[str, Any]], None] | None,
) -> JobResult:
    started = time.monotonic()
    graph = build_graph(store.saver, review_plan=plan_only)
    max_steps = ctx.settings.max_target_words // ctx.settings.min_section_words + 10
    config = _config(job_id, max_steps)
    existing = graph.get_state(config)
    if resume and not existing.values:
        raise InputError(f"There is no job '{job_id}' in {store.path}; start it without --resume.")
    if not resume and existing.values:
        raise InputError(f"Job '{job_id}' already exists; add --resume to continue it, or choose another --job.")
    graph_input = None if resume else _new_job_input(instruction, target, plan, title, opening)
    run_from = config
    if resume and not existing.next and existing.values.get("status") != DONE:
        graph_input, run_from = _resumable_point(graph, config, existing.values)
    if graph.get_state(run_from).next or graph_input is not None:  # a finished job has nothing left to run
        try:
            _stream(graph, graph_input, run_from, ctx, on_event)
        except SectionPaused as paused:
            _keep_paused_draft(graph, config, paused)
            raise
    values = graph.get_state(config).values
    if not plan_only and values.get("status") != DONE:
        written, planned = len(values.get("sections", [])), len(values.get("plan", []))
        raise GenerationError(f"Job '{job_id}' stopped with {written} of {planned} planned sections written.")
    return job_result(job_id, values, time.monotonic() - started)


def change_job(
    store: JobStore,
    ctx: AgentContext,
    job_id: str,
    check: Callable[[WriteState], dict[str, Any]],
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> JobResult:
    """Change finished job `job_id` and run the change to its end (agent.revisions): `check(values)`
    refuses what cannot be done (InputError) or gives the update, put in as if the write node had
    made it, so the graph goes on to the node it routes to (revise, grow). A change killed part-way
    resumes like any write."""
    with storage_errors(f"job {job_id}"), store.holding(job_id):
        graph = build_graph(store.saver)
        config = _config(job_id)
        snapshot = graph.get_state(config)
        if not snapshot.values:
            raise InputError(f"There is no job '{job_id}' in {store.path}.")
        if snapshot.values.get("status") != DONE or snapshot.next:
            raise InputError(
                f"Job '{job_id}' is not finished; resume it to the end first (longwrite write --job {job_id} --resume)."
            )
        graph.update_state(config, check(snapshot.values) | {"status": WRITING}, as_node="write")
        return _run_held_job(store, ctx, job_id, None, None, None, None, "", True, False, on_event)


def _keep_paused_draft(graph: Any, config: dict[str, Any], paused: SectionPaused) -> None:
    """Save the stopped section's text as a checkpoint after the last finished step, so the
    job's next step is still that section and a resume starts it from this text."""
    if not paused.draft["text"].strip():
        return
    graph.update_state(config, {"paused_draft": paused.draft})  # as the node that wrote last


def revise_plan(
    store: JobStore, job_id: str, plan: list[Section] | None = None, title: str | None = None
) -> WriteState:
    """Put an edited plan and title into a planned job (one run with plan_only) before it is
    resumed; the target becomes the plan's total. The job's state after the edit.

    The edit is a checkpoint written as if the plan node had made it, so the resumed run goes on
    to `write` with it, exactly as with the plan the model made.
    """
    with storage_errors(f"job {job_id}'s plan"), store.holding(job_id):
        graph = build_graph(store.saver)
        config = _config(job_id)
        snapshot = graph.get_state(config)
        values = snapshot.values
        if not values:
            raise InputError(f"There is no job '{job_id}' to take an edited plan; plan it first.")
        if values.get("status") != PLANNED or values.get("sections") or snapshot.next != ("write",):
            raise InputError(
                f"Job '{job_id}' is past its plan; only a planned job that has not started writing "
                "can take an edited plan."
            )
        update: dict[str, Any] = {}
        if title and title != values.get("title"):
            update["title"] = title
        if plan and plan != values["plan"]:
            plan = checked_plan(plan, "the plan")
            # a one-section plan of a short target stays one untitled block; any other edited plan is
            # written as given, like a plan handed to a new job
            single = values.get("plan_source") == "single" and len(plan) == 1
            # in a plan made in chapters the table holds the first chapter; the rest keep their budgets
            later = sum(chapter["words"] for chapter in pending_chapters(values["plan"], values.get("chapters") or []))
            if values.get("chapters"):
                plan = [Section(**{**section, "chapter": 0}) for section in plan]  # type: ignore[typeddict-item]
            update.update(
                plan=plan,
                target_words=sum(section["words"] for section in plan) + later,
                outline=outline_text(plan, prompts_for(values["language"])),
                plan_source="single" if single else "file",
            )
        if update:
            graph.update_state(config, update | {"change": PLAN_EDITED}, as_node="plan")
        return graph.get_state(config).values


def _resumable_point(
    graph: Any, config: dict[str, Any], values: WriteState
) -> tuple[WriteState | None, dict[str, Any]]:
    """(input, config) to resume a job whose last checkpoint write failed (a full disk, say).

    Such a job's newest checkpoint is not finished and has no next step, so a plain resume
    would find nothing to run and end with a short document. It resumes instead from the newest
    checkpoint that has a next step (the step whose save failed runs again); a job with none
    starts again from its instruction.
    """
    for snapshot in graph.get_state_history(config):
        if snapshot.next:
            return None, snapshot.config | {"recursion_limit": config["recursion_limit"]}
    return _graph_input(values["instruction"], values.get("target_words")), config


def _new_job_input(
    instruction: str | None, target: int | None, plan: list[Section] | None, title: str | None, opening: str
) -> WriteState:
    """A new job's input: its instruction, and the plan, title and opening a caller hands in."""
    if instruction is None:
        raise InputError("A new job needs an instruction.")
    graph_input = _graph_input(instruction, target)
    given = {"plan": plan, "title": title, "opening": opening}
    graph_input.update({key: value for key, value in given.items() if value})  # type: ignore[typeddict-item]
    return graph_input


def _graph_input(instruction: str, target: int | None) -> WriteState:
    """A new job's state; without a target the plan sizes the document."""
    state = WriteState(instruction=instruction, sections=[])
    if target is not None:
        state["target_words"] = target
    return state


def write_once(
    ctx: AgentContext,
    instruction: str,
    target: int | None,
    *,
    opening: str = "",
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> JobResult:
    """Write one document with no saved job (checkpoints in memory, gone when it returns); with no
    `target` the plan sizes it."""
    started = time.monotonic()
    graph = build_graph(InMemorySaver())
    job_id = new_job_id()
    config = _config(job_id, ctx.settings.max_target_words // ctx.settings.min_section_words + 10)
    graph_input = _graph_input(instruction, target)
    if opening:
        graph_input["opening"] = opening
    _stream(graph, graph_input, config, ctx, on_event)
    return job_result(job_id, graph.get_state(config).values, time.monotonic() - started)


def _stream(
    graph: Any,
    graph_input: WriteState | None,
    config: dict[str, Any],
    ctx: AgentContext,
    on_event: Callable[[dict[str, Any]], None] | None,
) -> None:
    # the context is JSON (GraphContext); the chat model and the stop switch travel in the config
    config = {**config, "configurable": {**config["configurable"], **ctx.configurable()}}
    stream = graph.stream(graph_input, config, context=ctx.graph_context(), stream_mode=["custom"], durability="sync")
    for mode, event in stream:
        if mode == "custom" and on_event:
            on_event(event)


def job_result(job_id: str, values: WriteState, seconds: float) -> JobResult:
    target = values["target_words"]
    document = document_of(values)
    words = count_words(document)
    return JobResult(
        job=job_id,
        status=values.get("status", PLANNED),
        title=values.get("title", ""),
        plan=values.get("plan", []),
        plan_source=values.get("plan_source", ""),
        document=document,
        words=words,
        target=target,
        target_from=values.get("target_from", ""),
        length_score=length_score(target, words),
        sections=len(values.get("sections", [])),
        rep_4=repetition(document).rep_n,
        seconds=seconds,
        model_seconds=values.get("seconds", 0.0),
    )
