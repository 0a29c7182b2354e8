"""The job store's size and history: each section stored once, versions kept, old stores read."""

from __future__ import annotations

import sqlite3

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from longwrite.agent.events import document_of
from longwrite.agent.jobs import JobStore, run_job
from longwrite.core.errors import StorageError
from tests.unit.scripted import prose
from tests.unit.test_agent_scripted import Script, _context, _parts_outline, _requested_words

SECTIONS = 30


class ManySections(Script):
    """A plan of SECTIONS parts, each written in full in one answer."""

    def __call__(self, messages, options) -> str:
        last = messages[-1].content
        if "Make an outline" in last:
            return _parts_outline(SECTIONS)
        self.sections_started += 1
        if self.crash_on_section == self.sections_started:
            raise ConnectionError("server went away")
        return prose(_requested_words(last), seed=f"m{self.salt}{self.sections_started}k")


def _long_job(store: JobStore, job_id: str, script: Script) -> None:
    run_job(store, _context(script)[0], job_id, instruction="Write a long guide to lighthouses.", target=SECTIONS * 400)


def _store_bytes(db) -> int:
    return sum(path.stat().st_size for path in db.parent.glob(db.name + "*"))  # with -wal and -shm


def test_a_long_job_stores_each_section_once_so_its_store_stays_within_three_times_its_document(tmp_path):
    db = tmp_path / "jobs.sqlite"
    with JobStore(db) as store:
        _long_job(store, "long", ManySections())
        values = store.values("long")
        checkpoints = store.connection.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
    document = document_of(values).encode("utf-8")
    assert len(values["sections"]) >= SECTIONS
    assert checkpoints <= 3  # the newest, its parent and the finished version: not one per step
    # SqliteSaver alone kept every step, each with every section written so far: 41x here
    assert _store_bytes(db) <= 3 * len(document), (_store_bytes(db), len(document))


def test_a_finished_job_is_a_version_that_loads_whole(tmp_path):
    db = tmp_path / "jobs.sqlite"
    with JobStore(db) as store:
        _long_job(store, "long", ManySections())
        finished = store.values("long")
        [(checkpoint_id, change)] = store.connection.execute(
            "SELECT checkpoint_id, change FROM versions WHERE thread_id = 'long'"
        ).fetchall()
        config = {"configurable": {"thread_id": "long", "checkpoint_ns": "", "checkpoint_id": checkpoint_id}}
        version = store.saver.get_tuple(config).checkpoint["channel_values"]
    assert change == "written"
    assert document_of(version) == document_of(finished)
    assert [s["text"] for s in version["sections"]] == [s["text"] for s in finished["sections"]]


def test_a_job_killed_mid_write_resumes_with_every_section_once(tmp_path):
    db = tmp_path / "jobs.sqlite"
    with JobStore(db) as store, pytest.raises(ConnectionError):
        _long_job(store, "killed", ManySections(crash_on_section=12))
    with JobStore(db) as store:
        saved = store.values("killed")["sections"]
        run_job(store, _context(ManySections(salt="r"))[0], "killed", resume=True)
        final = store.values("killed")
    assert len(saved) == 11
    assert [s["text"] for s in final["sections"][:11]] == [s["text"] for s in saved]
    assert [s["index"] for s in final["sections"]] == list(range(len(final["sections"])))
    assert all(document_of(final).count(s["text"]) == 1 for s in final["sections"])


def test_a_job_saved_by_the_earlier_store_resumes(tmp_path):
    """Stores written before texts were kept once hold whole strings in every checkpoint."""
    db = tmp_path / "jobs.sqlite"
    with JobStore(db) as store, pytest.raises(ConnectionError):
        store.saver = SqliteSaver(store.connection)  # the store as it was
        _long_job(store, "old", ManySections(crash_on_section=5))
    with JobStore(db) as store:
        saved = store.values("old")["sections"]
        run_job(store, _context(ManySections(salt="r"))[0], "old", resume=True)
        final = store.values("old")
    assert len(saved) == 4 and final["status"] == "done"
    assert [s["text"] for s in final["sections"][:4]] == [s["text"] for s in saved]


def test_a_lost_text_is_named_instead_of_read_as_empty(tmp_path):
    db = tmp_path / "jobs.sqlite"
    with JobStore(db) as store:
        _long_job(store, "long", ManySections())
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM texts WHERE rowid IN (SELECT rowid FROM texts LIMIT 1)")
    with JobStore(db) as store, pytest.raises(StorageError, match="lost 1 stored texts of job long"):
        store.values("long")


def test_the_answers_that_wrote_a_section_cost_a_fraction_of_a_second_copy_and_load_exactly(tmp_path):
    """A section's turns repeat its text (heading in front, the model's own spacing): they are
    compressed against it, not stored as a second copy."""
    text = prose(400, seed="base")
    said = "## Keepers and their lamps\n\n" + text.replace(". ", ".  ", 3)  # spacing the document tidied
    section = {"index": 0, "title": "Keepers", "text": text, "turns": [{"ask": "", "said": said}]}
    db = tmp_path / "jobs.sqlite"
    with JobStore(db) as store:
        compact = store.saver._store_texts("job", {"sections": [section]})
        bodies = dict(store.connection.execute("SELECT key, body FROM texts").fetchall())
        assert store.saver._load_texts("job", compact) == {"sections": [section]}
    turn_ref = compact["sections"][0]["turns"][0]["said"]
    text_ref = compact["sections"][0]["text"]
    assert len(bodies) == 2
    # stored on its own, the answer's body was as large as the text's (1.0); against the text, 0.13
    assert len(bodies[turn_ref["$longwrite_text"]]) < 0.2 * len(bodies[text_ref["$longwrite_text"]])
