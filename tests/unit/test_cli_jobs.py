"""`longwrite jobs`: the documents in the store, their versions, restore and delete, and changes
refused before any model starts (the changes themselves on the embedded model: tests/integration)."""

from __future__ import annotations

import json

import pytest

from longwrite.agent.events import document_of
from longwrite.agent.jobs import JobStore, run_job
from longwrite.agent.revisions import revise_section
from longwrite.core.settings import Settings
from tests.unit.test_cli_errors import assert_clear_error, run_cli
from tests.unit.test_revisions import Writer, _context


@pytest.fixture
def home(tmp_path):
    """A job store with a finished job "tea" whose section 2 was rewritten (two versions)."""
    with JobStore(Settings(home=tmp_path).jobs_db) as store:
        run_job(store, _context(Writer()), "tea", instruction="Write a 1200-word history of tea.", target=1200)
        revise_section(store, _context(Writer()), "tea", 2, note="more dates")
    return tmp_path


def _document(home) -> str:
    with JobStore(Settings(home=home).jobs_db) as store:
        return document_of(store.values("tea"))


def test_list_and_show_say_what_each_document_is(home):
    listed = run_cli("jobs", "list", home=home)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split()[:3] == ["id", "status", "words"]
    assert row.startswith("tea") and "done" in row and "/1,200" in row and "section 2 rewritten" in row
    assert row.endswith("Tea")
    [entry] = json.loads(run_cli("jobs", "list", "--json", home=home).stdout)
    assert entry["id"] == "tea" and entry["status"] == "done" and entry["change"] == "section 2 rewritten"

    shown = run_cli("jobs", "show", "tea", "-o", str(home / "tea.md"), home=home)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "Tea" and any(line.split()[:1] == ["2"] and "Trade" in line for line in lines)
    assert (home / "tea.md").read_text() == _document(home)


def test_versions_then_restore_gives_back_the_first_text_exactly(home):
    with JobStore(Settings(home=home).jobs_db) as store:
        first_id = store.saver.versions("tea")[0][0]
        first_text = document_of(store.saver.version_values("tea", first_id))
    versions = json.loads(run_cli("jobs", "versions", "tea", "--json", home=home).stdout)
    assert [v["change"] for v in versions] == ["written", "section 2 rewritten"] and versions[0]["id"] == first_id
    table = run_cli("jobs", "versions", "tea", home=home).stdout
    assert first_id in table and "section 2 rewritten" in table

    restored = run_cli("jobs", "restore", "tea", first_id, "-o", str(home / "first.md"), home=home)
    assert restored.returncode == 0, restored.stderr
    assert _document(home) == first_text == (home / "first.md").read_text()
    after = json.loads(run_cli("jobs", "versions", "tea", "--json", home=home).stdout)
    assert [v["change"] for v in after][-1] == f"restored {first_id}"


def test_delete_asks_first_and_then_the_job_is_gone(home):
    refused = run_cli("jobs", "delete", "tea", home=home)  # not a terminal: no question can be asked
    assert_clear_error(refused, "add --yes", code=2)
    assert _document(home)
    deleted = run_cli("jobs", "delete", "tea", "--yes", home=home)
    assert deleted.returncode == 0, deleted.stderr
    assert "No documents yet" in run_cli("jobs", "list", home=home).stdout
    assert_clear_error(run_cli("jobs", "show", "tea", home=home), "no job 'tea'", code=2)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["jobs", "revise", "tea", "--section", "9"], "sections 1 to 3"),
        (["jobs", "revise", "tea", "--section", "2", "--words", "3"], "must be 20 to 100,000 words, not 3"),
        (["jobs", "extend", "tea", "--words", "0"], "words, not 0"),
        (["jobs", "revise", "nope", "--section", "1"], "no job 'nope'"),
        (["jobs", "restore", "tea", "nope"], "no version 'nope'"),
        (["jobs", "versions", "nope"], "no job 'nope'"),
    ],
)
def test_bad_changes_are_refused_before_any_model_starts_and_change_nothing(home, args, fragment):
    before = _document(home)
    assert_clear_error(run_cli(*args, home=home, timeout=30), fragment, code=2)
    assert _document(home) == before
