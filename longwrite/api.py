"""longwrite from Python: plan and write documents, wait for them or watch them being written.

    from longwrite import plan, write

    draft = plan("Write a 3000-word guide to composting.")        # the outline, kept as a job
    done = write(job=draft.job, resume=True)                      # writes that plan
    print(done.document, done.words, done.length_score)

Every function takes the endpoint the way the CLI does (`base_url`, `model`, `api_key`; none = the
embedded default) or a whole `Settings`. A write is a job in the job store (LONGWRITE_HOME), so
one that stops (an error, a cancelled task, a consumer that stops reading `events`) resumes with
`write(job=..., resume=True)`. The async forms run the same work in a thread; cancelling their
task stops the write at its next token.

After the first draft:

    revise(done.job, section=2, note="more concrete dates")   # section 2 written again, the rest kept
    extend(done.job, words=1000)                               # new sections after the end
    for v in versions(done.job): print(v.id, v.change, v.words)
    restore(done.job, versions(done.job)[0].id)                # the first draft again, as a new version
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from longwrite.agent import library, revisions, runner
from longwrite.agent.events import finished
from longwrite.agent.jobs import JobResult, JobStore, job_result, new_job_id
from longwrite.agent.library import JobSummary
from longwrite.agent.revisions import Version
from longwrite.agent.state import AgentContext
from longwrite.agent.threads import start_worker
from longwrite.core.errors import InputError
from longwrite.core.limits import check_instruction, target_length
from longwrite.core.settings import Settings, settings_from
from longwrite.model.client import backend_errors
from longwrite.model.embedded import endpoint_for

Event = dict[str, Any]


def write(
    instruction: str | None = None,
    *,
    words: int | None = None,
    job: str | None = None,
    resume: bool = False,
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    settings: Settings | None = None,
    on_event: Callable[[Event], None] | None = None,
    cancel: threading.Event | None = None,
) -> JobResult:
    """Write the document `instruction` asks for (or, with `resume`, finish job `job`).

    `words` sets the length; without it the length the instruction states, and with none stated
    the plan sizes the document. `on_event` gets the agent's events as they happen (plan,
    section_started, token, section_finished, done); setting `cancel` stops the write.
    """
    return _run(instruction, words, job, resume, False, _settings(settings, base_url, model, api_key), on_event, cancel)


def plan(
    instruction: str,
    *,
    words: int | None = None,
    job: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    settings: Settings | None = None,
) -> JobResult:
    """Plan the document only: `result.plan` holds its sections with their word budgets, and
    `write(job=result.job, resume=True)` writes it."""
    return _run(instruction, words, job, False, True, _settings(settings, base_url, model, api_key), None, None)


async def awrite(instruction: str | None = None, **options: Any) -> JobResult:
    """write() without blocking the event loop; cancelling the task stops the write."""
    cancel = threading.Event()
    try:
        return await asyncio.to_thread(write, instruction, cancel=cancel, **options)
    except asyncio.CancelledError:
        cancel.set()
        raise


async def aplan(instruction: str, **options: Any) -> JobResult:
    """plan() without blocking the event loop."""
    return await asyncio.to_thread(plan, instruction, **options)


def events(instruction: str | None = None, **options: Any) -> Iterator[Event]:
    """The events of a write as they happen, then {"event": "finished", "result": JobResult}.

    Stopping the iteration early (break, close) stops the write; its finished sections stay in
    its job. An error of the write is raised here, after the events before it.
    """
    cancel = threading.Event()
    pipe: queue.Queue[Any] = queue.Queue()
    ended = object()  # put after the write's last event, once its outcome is known

    outcome = start_worker(
        lambda: write(instruction, on_event=pipe.put, cancel=cancel, **options), name="longwrite-events"
    )
    outcome.add_done_callback(lambda _: pipe.put(ended))
    try:
        while (item := pipe.get()) is not ended:
            yield item
        yield finished(outcome.result())  # raises the write's error, after the events before it
    finally:
        cancel.set()  # a reader that stopped early stops the write too (at its next token)...
        concurrent.futures.wait([outcome])  # ...and once this returns, its finished sections are saved


async def aevents(instruction: str | None = None, **options: Any) -> AsyncIterator[Event]:
    """events() for async code."""
    stream = events(instruction, **options)
    try:
        while True:
            item = await asyncio.to_thread(next, stream, None)
            if item is None:
                return
            yield item
    finally:
        stream.close()


def revise(
    job: str,
    *,
    section: int,
    note: str = "",
    words: int | None = None,
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    settings: Settings | None = None,
    on_event: Callable[[Event], None] | None = None,
    cancel: threading.Event | None = None,
) -> JobResult:
    """Write section `section` (from 1) of finished job `job` again, told `note` and, with
    `words`, a new length; every other section stays as it was. Stopped part-way, it finishes
    with write(job=job, resume=True)."""

    def change(store: JobStore, context: AgentContext) -> JobResult:
        return revisions.revise_section(store, context, job, section, note, words, on_event=on_event)

    return _change(change, _settings(settings, base_url, model, api_key), cancel)


def extend(
    job: str,
    *,
    words: int,
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    settings: Settings | None = None,
    on_event: Callable[[Event], None] | None = None,
    cancel: threading.Event | None = None,
) -> JobResult:
    """Add about `words` words after the end of finished job `job`: new sections, planned after the
    last one and written; the earlier text stays as it was."""

    def change(store: JobStore, context: AgentContext) -> JobResult:
        return revisions.extend_job(store, context, job, words, on_event=on_event)

    return _change(change, _settings(settings, base_url, model, api_key), cancel)


def versions(job: str, *, settings: Settings | None = None) -> list[Version]:
    """The versions of job `job` (each finished write, rewrite, extension, restore), oldest first."""
    with JobStore(_settings(settings, None, None, None).jobs_db) as store:
        return revisions.versions(store, job)


def restore(job: str, version: str, *, settings: Settings | None = None) -> JobResult:
    """Make version `version` of job `job` its document again, as a new version (nothing is lost)."""
    with JobStore(_settings(settings, None, None, None).jobs_db) as store:
        return job_result(job, revisions.restore(store, job, version), 0.0)


def jobs(*, settings: Settings | None = None) -> list[JobSummary]:
    """Every document in the job store, the most recently changed first."""
    with JobStore(_settings(settings, None, None, None).jobs_db) as store:
        return library.job_summaries(store)


def delete(job: str, *, settings: Settings | None = None) -> None:
    """Delete job `job` with its versions (refused while a process writes it)."""
    with JobStore(_settings(settings, None, None, None).jobs_db) as store:
        library.delete_job(store, job)


def _change(
    change: Callable[[JobStore, AgentContext], JobResult], settings: Settings, cancel: threading.Event | None
) -> JobResult:
    with endpoint_for(settings) as endpoint, JobStore(settings.jobs_db) as store, backend_errors(endpoint):
        return change(store, AgentContext.for_endpoint(endpoint, settings, cancel))


def _settings(settings: Settings | None, base_url: str | None, model: str | None, api_key: str | None) -> Settings:
    if settings is not None and (base_url or model or api_key):
        raise InputError("Give either settings or base_url/model/api_key, not both.")
    return settings or settings_from(base_url, model, api_key)


def _run(
    instruction: str | None,
    words: int | None,
    job: str | None,
    resume: bool,
    plan_only: bool,
    settings: Settings,
    on_event: Callable[[Event], None] | None,
    cancel: threading.Event | None,
) -> JobResult:
    if resume:
        if not job:
            raise InputError("resume=True needs job=: the id of the job to finish.")
        text, target = None, None
    else:
        text = check_instruction(instruction, settings, example='write("Write a 3000-word guide to ...")')
        target = target_length(text, words, "words", settings)
    with endpoint_for(settings) as endpoint, JobStore(settings.jobs_db) as store, backend_errors(endpoint):
        context = AgentContext.for_endpoint(endpoint, settings, cancel)
        job_id = job or new_job_id()
        request = runner.WriteRequest(text or "", target, job_id=job_id, resume=resume, plan_only=plan_only)
        return runner.write(context, request, store, on_event=on_event).job
