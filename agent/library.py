"""The documents in a job store, as a library: every job, newest first, whoever wrote it (the
CLI, the API, the page), and deleting one.

A job the server ran has a run record (agent.job_records) that says how its last run ended; a
job the CLI or the Python API wrote has only its checkpoints, so its status is read from them:
done or planned as the document says, running while a live process holds it, else stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from longwrite.agent.events import document_of
from longwrite.agent.jobs import JobStore
from longwrite.agent.status import DONE, INTERRUPTED, PLANNED, RUNNING, WRITTEN
from longwrite.core.errors import InputError, storage_errors
from longwrite.core.text import count_words


@dataclass(frozen=True)
class JobSummary:
    id: str
    title: str
    instruction: str
    status: str  # a run status (agent.status): running, done, planned, error, cancelled, interrupted
    error: str | None  # why its last run (on the server) failed
    words: int
    target_words: int | None
    change: str  # the last change to the document ("written", "section 2 rewritten", ...), "" while unfinished
    created_at: float  # seconds since the epoch
    updated_at: float


def job_summaries(store: JobStore) -> list[JobSummary]:
    """Every job in the store, the most recently changed first."""
    with storage_errors("the job list"):
        # a job the server started has a record from the start; one the CLI wrote has checkpoints only
        with store.saver.cursor(transaction=False) as cursor:  # the saver's lock: server threads write through it
            rows = cursor.execute(
                "SELECT DISTINCT thread_id FROM checkpoints WHERE checkpoint_ns = '' UNION SELECT id FROM write_jobs"
            ).fetchall()
        summaries = [_summary(store, job_id) for (job_id,) in rows]
    return sorted(summaries, key=lambda s: s.updated_at, reverse=True)


def job_summary(store: JobStore, job_id: str) -> JobSummary:
    """One job's summary; InputError when the store has no such job."""
    with storage_errors(f"job {job_id}"):
        if not store.values(job_id) and store.records.get(job_id) is None:
            raise InputError(f"There is no job '{job_id}' in {store.path}; `longwrite jobs list` lists them.")
        return _summary(store, job_id)


def delete_job(store: JobStore, job_id: str) -> None:
    """Delete the job, its versions and its run record; refused while a process writes it."""
    with storage_errors(f"job {job_id}"):
        if not store.values(job_id) and store.records.get(job_id) is None:
            raise InputError(f"There is no job '{job_id}' in {store.path}; `longwrite jobs list` lists them.")
        with store.holding(job_id):  # InputError while another live process writes it
            store.saver.delete_thread(job_id)
            store.records.delete(job_id)


def _summary(store: JobStore, job_id: str) -> JobSummary:
    values = store.values(job_id)
    record = store.records.get(job_id)
    first, last = _checkpoint_times(store, job_id)
    words = count_words(document_of(values)) if values.get("sections") or values.get("paused_draft") else 0
    finished = values.get("status") == DONE
    return JobSummary(
        id=job_id,
        title=values.get("title", ""),
        instruction=record["instruction"] if record else values.get("instruction", ""),
        status=_status(store, job_id, values.get("status"), record["status"] if record else None),
        error=record["error"] if record else None,
        words=words,
        target_words=values.get("target_words") or (record["target_words"] if record else None) or None,
        change=(values.get("change") or WRITTEN) if finished else "",
        created_at=record["created_at"] if record else first,
        updated_at=max(last, record["updated_at"] if record else 0.0),
    )


def _checkpoint_times(store: JobStore, job_id: str) -> tuple[float, float]:
    """When the job's oldest and newest checkpoints kept were saved (0 for a job with none); read
    from the checkpoints as stored, without loading their texts."""
    query = "SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' ORDER BY checkpoint_id"
    with store.saver.cursor(transaction=False) as cursor:
        first = cursor.execute(f"{query} LIMIT 1", (job_id,)).fetchone()
        last = cursor.execute(f"{query} DESC LIMIT 1", (job_id,)).fetchone()
    if first is None or last is None:
        return 0.0, 0.0
    oldest, newest = (store.saver.serde.loads_typed((kind, blob))["ts"] for kind, blob in (first, last))
    return _timestamp(oldest), _timestamp(newest)


def _status(store: JobStore, job_id: str, document: str | None, recorded: str | None) -> str:
    if recorded is not None and not (recorded == RUNNING and not store.is_held(job_id)):
        return recorded
    if store.is_held(job_id):
        return RUNNING
    if document in (DONE, PLANNED):
        return document
    return INTERRUPTED  # stopped part-way: a resume continues it


def _timestamp(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0
