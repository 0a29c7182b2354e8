"""`longwrite jobs ...`: the documents in the job store, and the changes to a finished one, with
`write`'s progress lines and exit codes (a change that stops part-way resumes with
`longwrite write --job ID --resume`, like a write)."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from longwrite.cli.interrupt import INTERRUPTED_EXIT_CODE, interrupt_stops_within
from longwrite.cli.write_run import (
    Progress,
    check_output,
    emit_document,
    summary_of,
)
from longwrite.core.errors import Cancelled, InputError, LongwriteError, StorageError
from longwrite.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """A rewrite of one section (`section` set) or an extension by `words` words."""

    job: str
    section: int | None = None
    note: str = ""
    words: int | None = None

    def describe(self) -> str:
        if self.section is None:
            return f"extend by {self.words:,} words"
        return f"rewrite section {self.section}" + (f" ({self.note.strip()})" if self.note.strip() else "")

    def to_finish(self) -> str:
        """What a change stopped part-way says: the document keeps what it had, and how to finish it."""
        what = f"the rewrite of section {self.section}" if self.section else "the extension"
        return f"{what} is saved as far as it got; finish it with: longwrite write --job {self.job} --resume"


def list_command(settings: Settings, as_json: bool) -> None:
    from longwrite.agent.jobs import JobStore
    from longwrite.agent.library import job_summaries

    with JobStore(settings.jobs_db) as store:
        summaries = job_summaries(store)
    if as_json:
        print(json.dumps([asdict(summary) for summary in summaries], ensure_ascii=False))
        return
    if not summaries:
        print(f'No documents yet in {settings.jobs_db}; write one with: longwrite write "Write a ..."')
        return
    rows = [
        (s.id, s.status, _length(s.words, s.target_words), s.change or "-", _when(s.updated_at),
         s.title or s.instruction)
        for s in summaries
    ]  # fmt: skip
    _table(("id", "status", "words", "last change", "changed", "title"), rows)


def show_command(settings: Settings, job: str, output: Path | None, as_json: bool) -> None:
    from longwrite.agent.events import document_of
    from longwrite.agent.jobs import JobStore
    from longwrite.agent.library import job_summary

    if output is not None:
        check_output(output)
    with JobStore(settings.jobs_db) as store:
        summary = job_summary(store, job)
        values = store.values(job)
    sections = [{"number": n, "title": s["title"], "words": s["words"]} for n, s in enumerate(values["sections"], 1)]
    if output is not None:
        emit_document(document_of(values), output)
    if as_json:
        print(json.dumps(asdict(summary) | {"sections": sections}, ensure_ascii=False))
        return
    print(f"{summary.title or summary.instruction}\n")
    print(f"  job          {summary.id}")
    print(f"  status       {summary.status}" + (f" ({summary.error})" if summary.error else ""))
    print(f"  words        {_length(summary.words, summary.target_words)}")
    print(f"  last change  {summary.change or '-'} ({_when(summary.updated_at)})\n")
    if sections:
        _table(("#", "words", "section"), [(s["number"], s["words"], s["title"]) for s in sections])


def change_command(settings: Settings, change: Change, output: Path | None, json_summary: bool) -> int:
    """Rewrite or extend; returns the exit code."""
    if output is not None:
        check_output(output)
    from longwrite.agent import revisions
    from longwrite.agent.jobs import JobStore
    from longwrite.agent.state import AgentContext
    from longwrite.model.client import backend_errors
    from longwrite.model.embedded import endpoint_for

    with JobStore(settings.jobs_db) as store:
        _check_change(store, change, settings)  # before any model starts
    cancel = threading.Event()
    stopping = interrupt_stops_within(cancel, lambda: f"Stopped; {change.to_finish()}")
    with stopping, endpoint_for(settings) as endpoint:
        ctx = AgentContext.for_endpoint(endpoint, settings, cancel)
        with JobStore(settings.jobs_db) as store:
            log.info("job %s on %s: %s", change.job, endpoint.backend, change.describe())
            try:
                with _failures_say_how_to_finish(change, settings), backend_errors(endpoint), Progress() as on:
                    if change.section is None:
                        result = revisions.extend_job(store, ctx, change.job, change.words or 0, on_event=on)
                    else:
                        result = revisions.revise_section(
                            store, ctx, change.job, change.section, change.note, change.words, on_event=on
                        )
            except (KeyboardInterrupt, Cancelled):
                log.warning(f"Stopped; {change.to_finish()}")
                return INTERRUPTED_EXIT_CODE
            change_label = store.values(change.job).get("change", "")
    emit_document(result.document, output)
    log.info("%s: %s words (job %s)", change_label, f"{result.words:,}", change.job)
    if json_summary:
        summary = summary_of(result.document, result.target, result.seconds, backend=endpoint.backend, mode="agent")
        summary.update(job=result.job, status=result.status, sections=result.sections, change=change_label)
        print(json.dumps(summary))
    return 0


def versions_command(settings: Settings, job: str, as_json: bool) -> None:
    from longwrite.agent.jobs import JobStore
    from longwrite.agent.revisions import versions

    with JobStore(settings.jobs_db) as store:
        found = versions(store, job)
    if as_json:
        print(json.dumps([asdict(version) for version in found]))
        return
    if not found:
        print(f"Job {job} has no versions yet: a version is kept each time it finishes.")
        return
    _table(("version", "saved", "words", "change"), [(v.id, _when(v.created_at), v.words, v.change) for v in found])


def restore_command(settings: Settings, job: str, version: str, output: Path | None) -> None:
    from longwrite.agent.events import document_of
    from longwrite.agent.jobs import JobStore
    from longwrite.agent.revisions import restore

    if output is not None:
        check_output(output)
    with JobStore(settings.jobs_db) as store:
        values = restore(store, job, version)
    if output is not None:
        emit_document(document_of(values), output)
    log.info("job %s is version %s again (kept as a new version; `longwrite jobs versions %s` lists them)", job,
             version, job)  # fmt: skip


def delete_command(settings: Settings, job: str, yes: bool) -> None:
    from longwrite.agent.jobs import JobStore
    from longwrite.agent.library import delete_job, job_summary

    with JobStore(settings.jobs_db) as store:
        summary = job_summary(store, job)
        if not yes:
            if not sys.stdin.isatty():
                raise InputError(f"Deleting job {job} cannot be undone; add --yes to delete it without being asked.")
            name = summary.title or summary.instruction
            typer.confirm(f"Delete '{name}' ({summary.words:,} words) and all its versions?", abort=True)
        delete_job(store, job)
    log.info("deleted job %s", job)


def _check_change(store: Any, change: Change, settings: Settings) -> None:
    from longwrite.agent import revisions
    from longwrite.agent.library import job_summary
    from longwrite.agent.status import DONE, RUNNING

    summary = job_summary(store, change.job)
    values = store.values(change.job)
    if summary.status == RUNNING:
        raise InputError(f"Job '{change.job}' is being written by another process; wait for it to finish, then "
                         "change it.")  # fmt: skip
    if values.get("status") != DONE:
        raise InputError(
            f"Job '{change.job}' is {summary.status}, not finished; resume it to the end first "
            f"(longwrite write --job {change.job} --resume), then change it."
        )
    most = settings.max_target_words
    if change.section is None:
        revisions.checked_extension(values, change.words or 0, most)
    else:
        revisions.checked_revision(values, change.job, change.section, change.note, change.words, most)


@contextlib.contextmanager
def _failures_say_how_to_finish(change: Change, settings: Settings) -> Iterator[None]:
    """A change that fails once it has started (the model server, the disk) is saved as far as it
    got: the error says how to finish it. A refusal (InputError) is only that."""
    try:
        yield
    except InputError:
        raise
    except StorageError as error:
        where = f"The job store is {settings.jobs_db}: free space, then"
        raise StorageError(f"{error} {where} {change.to_finish()}") from error
    except LongwriteError as error:
        note = change.to_finish()
        raise type(error)(f"{error} {note[0].upper()}{note[1:]}") from error


def _length(words: int, target: int | None) -> str:
    return f"{words:,}/{target:,}" if target else f"{words:,}"


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M") if seconds else "-"


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    cells = [header, *[tuple(str(cell) for cell in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header) - 1)]
    for row in cells:
        print("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]))
