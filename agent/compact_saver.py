"""The job store's checkpointer: SQLite checkpoints whose total size grows with the document,
not with its square.

LangGraph's SqliteSaver writes every channel into every checkpoint and keeps them all, so a job
of N sections stored its first section N times (a 30,000-word job: 117 times its document).
Two changes make the store linear:

- **Long strings are stored once.** A section's text, the answers that wrote it, the outline:
  every string of at least TEXT_MIN_CHARS in a checkpoint or a pending write is kept,
  compressed, in the `texts` table under its hash; the checkpoint holds `{REF: hash}`. A string
  that appears in a hundred checkpoints is stored once. The answers that wrote a section are
  its text again (with its heading, as the model spaced it), so the strings nested in a dict
  beside a long `text` are compressed with that text as zlib's preset dictionary
  (`{REF: hash, BASE: hash of the text}`): they then cost a few bytes, not a second copy.
- **The document is not stored**: it is its sections assembled (agent.events.document_of).
- **Old checkpoints are dropped.** Once a newer checkpoint is saved, those older than its parent
  are deleted, with their pending writes, unless they are versions (a finished document, after
  each write, rewrite, extension or restore; a plan a person edited). Resuming needs only the newest
  checkpoint and its parent (agent.jobs._resumable_point); the versions are what a user can go
  back to.

Resume stays exactly-once: the newest checkpoint and its pending writes are LangGraph's own, and
a string's row is written before the checkpoint that refers to it, in the same thread.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

from longwrite.agent.status import DONE, PLAN_EDITED, WRITTEN
from longwrite.core.errors import StorageError

REF = "$longwrite_text"  # the key of a stored string's reference (no state field has this name)
BASE = "$longwrite_base"  # beside REF: the stored text it was compressed against
BASE_FIELD = "text"  # a dict's long string of this name is the base of the strings nested beside it
TEXT_MIN_CHARS = 256  # shorter strings stay inline: a reference would not be much smaller
# The write-ahead log is cut back to this size after each of SQLite's checkpoints, so a server
# that keeps the store open does not hold the largest transaction's size on disk for ever.
WAL_LIMIT_BYTES = 1 << 20

# Channels not stored: the finished document is its sections put together, which
# agent.events.document_of does whenever it is asked for (a stored copy was a third of a long job's store)
DERIVED = frozenset({"document"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS texts (
    thread_id TEXT NOT NULL,
    key TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (thread_id, key)
);
CREATE TABLE IF NOT EXISTS versions (
    thread_id TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    change TEXT NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_id)
);
"""


def version_change(checkpoint: Checkpoint, metadata: CheckpointMetadata) -> str | None:
    """Why this checkpoint is a version a user may return to (a finished document, labelled by
    its last change; a plan a person edited), or None for a step in between."""
    values = checkpoint["channel_values"]
    if values.get("status") == DONE:
        return values.get("change") or WRITTEN
    if metadata.get("source") == "update" and values.get("change") == PLAN_EDITED:
        return PLAN_EDITED
    return None


class CompactSqliteSaver(SqliteSaver):
    """SqliteSaver that stores each long string once and keeps only the checkpoints resume and
    versions need (see the module's docstring)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)
        # (job, key) of the strings this process knows are stored, so a step does not compress the
        # whole document again only to find every string already there
        self._stored_keys: set[tuple[str, str]] = set()

    def setup(self) -> None:
        if self.is_setup:
            return
        # pages freed by dropped checkpoints go back to the file system (incremental_vacuum after
        # each drop) instead of staying in the file; SQLite takes this only before the first table
        self.conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        super().setup()
        self.conn.executescript(_SCHEMA)
        self.conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
        self.conn.commit()

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread_id = str(config["configurable"]["thread_id"])
        values = {**checkpoint["channel_values"], **dict.fromkeys(DERIVED & checkpoint["channel_values"].keys(), "")}
        compact = {**checkpoint, "channel_values": self._store_texts(thread_id, values)}
        saved = super().put(config, compact, metadata, new_versions)  # type: ignore[arg-type]
        change = version_change(checkpoint, metadata)
        if change is not None:
            with self.cursor() as cur:
                cur.execute(
                    "INSERT OR REPLACE INTO versions VALUES (?, ?, ?, ?)",
                    (thread_id, checkpoint["id"], time.time(), change),
                )
        parent_id = config["configurable"].get("checkpoint_id")
        if parent_id:
            self._drop_older_than(thread_id, config["configurable"].get("checkpoint_ns", ""), parent_id)
        return saved

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        thread_id = str(config["configurable"]["thread_id"])
        compact = [
            (channel, self._store_texts(thread_id, "" if channel in DERIVED else value)) for channel, value in writes
        ]
        super().put_writes(config, compact, task_id, task_path)

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        found = super().get_tuple(config)
        return None if found is None else self._with_texts(found)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        # read them all first: the base class holds its lock while it yields, and loading the
        # texts needs the connection (a pruned history is short)
        found = [*super().list(config, filter=filter, before=before, limit=limit)]
        for item in found:
            yield self._with_texts(item)

    def versions(self, thread_id: str) -> list[tuple[str, float, str]]:
        """(checkpoint id, created_at, change) of each version of the thread, oldest first."""
        with self.cursor(transaction=False) as cur:
            return cur.execute(
                "SELECT checkpoint_id, created_at, change FROM versions WHERE thread_id = ? ORDER BY checkpoint_id",
                (str(thread_id),),
            ).fetchall()

    def version_values(self, thread_id: str, checkpoint_id: str) -> dict[str, Any] | None:
        """The state a version holds (None when the thread has no such version)."""
        if checkpoint_id not in {row[0] for row in self.versions(thread_id)}:
            return None
        found = self.get_tuple(
            {"configurable": {"thread_id": str(thread_id), "checkpoint_ns": "", "checkpoint_id": checkpoint_id}}
        )
        return None if found is None else found.checkpoint["channel_values"]

    def delete_thread(self, thread_id: str) -> None:
        super().delete_thread(thread_id)
        with self.cursor() as cur:
            cur.execute("DELETE FROM texts WHERE thread_id = ?", (str(thread_id),))
            cur.execute("DELETE FROM versions WHERE thread_id = ?", (str(thread_id),))
        self._stored_keys = {key for key in self._stored_keys if key[0] != str(thread_id)}

    def _store_texts(self, thread_id: str, value: Any) -> Any:
        """`value` with each long string replaced by its reference, the strings saved first."""
        found: dict[str, tuple[str, str | None]] = {}
        compact = _referenced(value, found, base=None)
        new = [(key, text, base) for key, (text, base) in found.items() if (thread_id, key) not in self._stored_keys]
        if new:
            with self.cursor() as cur:
                cur.executemany(
                    "INSERT OR IGNORE INTO texts VALUES (?, ?, ?)",
                    [(thread_id, key, _compressed(text, base)) for key, text, base in new],
                )
            self._stored_keys.update((thread_id, key) for key, _, _ in new)
        return compact

    def _with_texts(self, found: CheckpointTuple) -> CheckpointTuple:
        thread_id = str(found.config["configurable"]["thread_id"])
        values = self._load_texts(thread_id, found.checkpoint["channel_values"])
        writes = [(task, channel, self._load_texts(thread_id, value)) for task, channel, value in found.pending_writes]
        checkpoint = {**found.checkpoint, "channel_values": values}
        return found._replace(checkpoint=checkpoint, pending_writes=writes)  # type: ignore[arg-type]

    def _load_texts(self, thread_id: str, value: Any) -> Any:
        marks = [*_reference_marks(value)]
        bases = {mark[REF]: mark[BASE] for mark in marks if BASE in mark}  # key -> its base's key
        keys = {mark[REF] for mark in marks} | set(bases.values())
        if not keys:
            return value
        placeholders = ",".join("?" * len(keys))
        with self.cursor(transaction=False) as cur:
            rows = cur.execute(
                f"SELECT key, body FROM texts WHERE thread_id = ? AND key IN ({placeholders})", (thread_id, *keys)
            ).fetchall()
        bodies = dict(rows)
        texts = {key: zlib.decompress(body).decode("utf-8") for key, body in bodies.items() if key not in bases}
        for key, base in bases.items():
            if key in bodies and base in texts:
                texts[key] = _decompressed(bodies[key], texts[base])
        missing = keys - texts.keys()
        if missing:
            raise StorageError(
                f"The job store has lost {len(missing)} stored texts of job {thread_id} (the file was "
                "changed outside longwrite); restore it from a copy, or start the job again."
            )
        return _dereferenced(value, texts)

    def _drop_older_than(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> None:
        """Delete the thread's checkpoints (and their pending writes) older than `checkpoint_id`,
        except its versions."""
        kept = "SELECT checkpoint_id FROM versions WHERE thread_id = ?"
        with self.cursor() as cur:
            for table in ("writes", "checkpoints"):
                cur.execute(
                    f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id < ? "
                    f"AND checkpoint_id NOT IN ({kept})",
                    (thread_id, checkpoint_ns, checkpoint_id, thread_id),
                )
            cur.execute("PRAGMA incremental_vacuum").fetchall()  # each row it steps frees a page


def _text_key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _referenced(value: Any, found: dict[str, tuple[str, str | None]], base: tuple[str, str] | None) -> Any:
    """`value` with its long strings replaced by references; `found` gets key -> (string, the
    string it is compressed against or None); `base` is (key, text) of the enclosing dict's text."""
    if isinstance(value, str):
        if len(value) < TEXT_MIN_CHARS:
            return value
        key = _text_key(value)
        if base is None or base[0] == key:
            found[key] = (value, None)
            return {REF: key}
        # the key names the base too: the same string compressed against another text is another body
        key = _text_key(f"{value}\0{base[0]}")
        found[key] = (value, base[1])
        return {REF: key, BASE: base[0]}
    if isinstance(value, dict):
        own = value.get(BASE_FIELD)
        if isinstance(own, str) and len(own) >= TEXT_MIN_CHARS:
            base = (_text_key(own), own)
        return {name: _referenced(item, found, None if name == BASE_FIELD else base) for name, item in value.items()}
    if isinstance(value, list):
        return [_referenced(item, found, base) for item in value]
    return value


def _compressed(text: str, base: str | None) -> bytes:
    if base is None:
        return zlib.compress(text.encode("utf-8"))
    packer = zlib.compressobj(zdict=base.encode("utf-8"))
    return packer.compress(text.encode("utf-8")) + packer.flush()


def _decompressed(body: bytes, base: str) -> str:
    unpacker = zlib.decompressobj(zdict=base.encode("utf-8"))
    return (unpacker.decompress(body) + unpacker.flush()).decode("utf-8")


def _reference_marks(value: Any) -> Iterator[dict[str, str]]:
    """Each reference in `value` ({REF: key} or {REF: key, BASE: key})."""
    if isinstance(value, dict):
        if _is_reference(value):
            yield value
            return
        for item in value.values():
            yield from _reference_marks(item)
    elif isinstance(value, list):
        for item in value:
            yield from _reference_marks(item)


def _dereferenced(value: Any, texts: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if _is_reference(value):
            return texts[value[REF]]
        return {name: _dereferenced(item, texts) for name, item in value.items()}
    if isinstance(value, list):
        return [_dereferenced(item, texts) for item in value]
    return value


def _is_reference(value: dict[str, Any]) -> bool:
    if not isinstance(value.get(REF), str):
        return False
    return len(value) == 1 or (len(value) == 2 and isinstance(value.get(BASE), str))
