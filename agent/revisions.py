"""After the first draft: one section written again, words added after the end, and the
document's versions, each of which can be restored.

Every change runs through the job store like a write (agent.jobs.change_job): a rewrite or an
extension killed part-way resumes with `run_job(..., resume=True)`, and each one that finishes is a
version (agent.compact_saver keeps those checkpoints). Restoring a version makes its state the
job's current one, as a new version, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langgraph.types import Overwrite

from longwrite.agent.events import document_of
from longwrite.agent.graph import build_graph
from longwrite.agent.jobs import JobResult, JobStore, _config, change_job
from longwrite.agent.state import AgentContext, Revision, WriteState
from longwrite.agent.status import DONE
from longwrite.core.errors import InputError, storage_errors
from longwrite.core.text import count_words

MIN_WORDS = 20  # a rewrite's budget, or an extension, below this is not a section


@dataclass(frozen=True)
class Version:
    id: str
    created_at: float
    words: int
    change: str  # "written", "plan edited", "section 2 rewritten", "extended by 400 words", "restored ..."


def revise_section(
    store: JobStore,
    ctx: AgentContext,
    job_id: str,
    number: int,
    note: str = "",
    words: int | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> JobResult:
    """Write section `number` (from 1) of finished job `job_id` again, with the person's `note` and,
    if given, a new budget of `words`; every other section stays byte for byte as it was."""

    def update(values: WriteState) -> dict[str, Any]:
        return {"revision": checked_revision(values, job_id, number, note, words, ctx.settings.max_target_words)}

    return change_job(store, ctx, job_id, update, on_event)


def checked_revision(
    values: WriteState, job_id: str, number: int, note: str, words: int | None, most_words: int
) -> Revision:
    """The rewrite of section `number` (from 1) that job `job_id` (its state `values`) is asked
    for; InputError for a section it does not have or a length out of range."""
    count = len(values.get("sections", []))
    if not 1 <= number <= count:
        raise InputError(f"Job '{job_id}' has sections 1 to {count}; choose one of them.")
    if words is None:
        words = values["plan"][number - 1]["words"]
    else:
        checked_words(words, most_words, "The new length")
    return Revision(index=number - 1, note=note.strip(), words=words)


def extend_job(
    store: JobStore,
    ctx: AgentContext,
    job_id: str,
    words: int,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> JobResult:
    """Add about `words` words after the end of finished job `job_id`: new sections are planned
    after the existing ones and written; the earlier text is untouched."""

    def update(values: WriteState) -> dict[str, Any]:
        return {"growth": checked_extension(values, words, ctx.settings.max_target_words)}

    return change_job(store, ctx, job_id, update, on_event)


def checked_extension(values: WriteState, words: int, most_words: int) -> int:
    """`words` if the document (its state `values`) can grow by that much and stay within
    `most_words`; InputError else."""
    room = most_words - values.get("target_words", 0)
    if room < MIN_WORDS:
        raise InputError(f"The document is already {values.get('target_words', 0):,} words, the most a job may "
                         f"have ({most_words:,}); start a new document instead.")  # fmt: skip
    return checked_words(words, room, "The words to add")


def versions(store: JobStore, job_id: str) -> list[Version]:
    """The job's versions, oldest first."""
    with storage_errors(f"job {job_id}"):
        rows = store.saver.versions(job_id)
        if not rows and not store.values(job_id):
            raise InputError(f"There is no job '{job_id}' in {store.path}.")
        return [
            Version(id, at, count_words(document_of(version_values(store, job_id, id))), change)
            for id, at, change in rows
        ]


def restore(store: JobStore, job_id: str, version: str) -> WriteState:
    """Make `version`'s document the job's current one, as a new version (the versions after it
    stay); the job's state after it."""
    with storage_errors(f"job {job_id}"), store.holding(job_id):
        values = version_values(store, job_id, version)
        graph = build_graph(store.saver)
        config = _config(job_id)
        if graph.get_state(config).next:
            raise InputError(f"Job '{job_id}' is being changed; wait for it to finish, then restore a version.")
        restored = {key: values[key] for key in _RESTORED if key in values}
        restored.update(sections=Overwrite(values.get("sections", [])), status=DONE, change=f"restored {version}")
        graph.update_state(config, restored, as_node="finalize")
        return graph.get_state(config).values


# what a version's state sets again; the rest (usage, seconds) keeps counting
_RESTORED = ("title", "plan", "chapters", "outline", "target_words", "document", "window_start", "closing_draft")


def version_values(store: JobStore, job_id: str, version: str) -> WriteState:
    """The state version `version` of the job holds; InputError when it has no such version."""
    values = store.saver.version_values(job_id, version)
    if values is None:
        raise InputError(f"Job '{job_id}' has no version '{version}'; list its versions to choose one.")
    return values  # type: ignore[return-value]


def checked_words(words: int, most: int, what: str) -> int:
    """`words` if it is a length a rewrite or an extension can have; InputError naming `what` else."""
    if not MIN_WORDS <= words <= most:
        raise InputError(f"{what} must be {MIN_WORDS} to {most:,} words, not {words:,}.")
    return words
