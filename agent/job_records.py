"""The run record of each job (the write_jobs table, beside the checkpoints in the job store).

The checkpoints say what a job's document is; a run record says what became of its last run, for
the server's job API (the words of both are agent/status.py's). It also keeps what the checkpoints
do not: the instruction as asked, the endpoint a page user named, times and the error shown.
JobStore owns it (JobStore.records).
"""

from __future__ import annotations

import sqlite3
import threading
import time

from longwrite.agent.status import INTERRUPTED, RUNNING, RunStatus
from longwrite.core.errors import storage_errors

_SCHEMA = """
CREATE TABLE IF NOT EXISTS write_jobs (
    id TEXT PRIMARY KEY,
    instruction TEXT NOT NULL,
    target_words INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
)
"""
# columns added after the first release; NULL = the server's own backend
_ADDED_COLUMNS = {"base_url": "TEXT", "model": "TEXT"}
LISTED = ("status", "instruction", "error", "created_at", "updated_at")  # what a job list shows


class JobRecords:
    """The write_jobs table through one autocommit connection that JobStore opens (threads share
    it under a lock)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute(_SCHEMA)
            present = {row["name"] for row in self._db.execute("PRAGMA table_info(write_jobs)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in present:
                    self._db.execute(f"ALTER TABLE write_jobs ADD COLUMN {column} {kind}")

    def add(
        self,
        job_id: str,
        instruction: str,
        target_words: int | None,
        base_url: str | None = None,
        model: str | None = None,
    ) -> None:
        """A new record, running; target 0 where the instruction states no length and the plan sets it."""
        now = time.time()
        with self._lock, storage_errors(f"job {job_id}"):
            self._db.execute(
                "INSERT INTO write_jobs (id, instruction, target_words, status, created_at, updated_at, base_url, "
                "model) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, instruction, target_words or 0, RUNNING, now, now, base_url, model),
            )

    def get(self, job_id: str) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute("SELECT * FROM write_jobs WHERE id = ?", (job_id,)).fetchone()

    def recent(self, limit: int) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(
                f"SELECT id, {', '.join(LISTED)} FROM write_jobs ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()

    def set_status(self, job_id: str, status: RunStatus, error: str | None = None) -> None:
        self._update(job_id, "status = ?, error = ?", (status, error))

    def set_target(self, job_id: str, target_words: int) -> None:
        self._update(job_id, "target_words = ?", (target_words,))

    def claim(self, job_id: str, expected: str) -> bool:
        """Mark the job running if it is still `expected`; False when another request was first."""
        with self._lock, storage_errors(f"job {job_id}'s status"):
            return bool(
                self._db.execute(
                    "UPDATE write_jobs SET status = ?, error = NULL, updated_at = ? WHERE id = ? AND status = ?",
                    (RUNNING, time.time(), job_id, expected),
                ).rowcount
            )

    def delete(self, job_id: str) -> None:
        with self._lock, storage_errors(f"job {job_id}'s record"):
            self._db.execute("DELETE FROM write_jobs WHERE id = ?", (job_id,))

    def interrupt_running(self) -> None:
        """Whatever is marked running did not finish: the server that ran it stopped."""
        with self._lock, storage_errors("the jobs' statuses"):
            self._db.execute(
                "UPDATE write_jobs SET status = ?, updated_at = ? WHERE status = ?", (INTERRUPTED, time.time(), RUNNING)
            )

    def _update(self, job_id: str, assignments: str, values: tuple[object, ...]) -> None:
        with self._lock, storage_errors(f"job {job_id}'s record"):
            self._db.execute(
                f"UPDATE write_jobs SET {assignments}, updated_at = ? WHERE id = ?", (*values, time.time(), job_id)
            )

    def close(self) -> None:
        self._db.close()
