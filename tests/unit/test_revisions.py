"""After the first draft: a section written again, words added, versions and their restore."""

from __future__ import annotations

import re

import pytest

from longwrite.agent.events import document_of
from longwrite.agent.jobs import JobStore, run_job
from longwrite.agent.revisions import extend_job, restore, revise_section, versions
from longwrite.core.errors import InputError
from longwrite.core.settings import Settings
from longwrite.core.text import count_words
from tests.unit.scripted import ScriptedChatModel, prose, scripted_context


class Writer:
    """A three-part outline, sections written in full; a rewrite answers with new text."""

    def __init__(self, crash_on_rewrite: bool = False) -> None:
        self.rewrites: list[str] = []  # the requests to write a section again
        self.calls = 0
        self.crash_on_rewrite = crash_on_rewrite

    def __call__(self, messages, options) -> str:
        last = messages[-1].content
        self.calls += 1
        if "Make an outline" in last:
            return "Title: Tea\n1. Origins: where tea began\n2. Trade: how tea spread\n3. Today: tea now"
        if "Give" in last and "more sections" in last:  # an extension's outline
            return "1. Tea and health: what is known\n2. Tea ceremonies: across the world"
        if " again, in about" in last:
            self.rewrites.append(last)
            if self.crash_on_rewrite:
                self.crash_on_rewrite = False
                raise ConnectionError("server went away")
        words = int(re.search(r"about (\d+)(?: more)? words", last).group(1))
        return prose(words, seed=f"w{self.calls}k")


def _context(writer: Writer):
    model = ScriptedChatModel(reply=writer)
    return scripted_context(Settings(home="/nonexistent"), lambda: model, section_words=400)


@pytest.fixture
def finished(tmp_path):
    """A finished 1,200-word job "tea" in its store."""
    store = JobStore(tmp_path / "jobs.sqlite")
    run_job(store, _context(Writer()), "tea", instruction="Write a 1200-word history of tea.", target=1200)
    yield store
    store.close()


def test_a_rewritten_section_changes_alone_and_lands_near_its_budget(finished):
    before = finished.values("tea")
    writer = Writer()
    result = revise_section(finished, _context(writer), "tea", 2, note="more concrete dates")
    after = finished.values("tea")
    old, new = before["sections"], after["sections"]
    assert [s["text"] for s in new[:1] + new[2:]] == [s["text"] for s in old[:1] + old[2:]]  # byte for byte
    assert new[1]["text"] != old[1]["text"]
    budget = before["plan"][1]["words"]
    assert 0.8 * budget <= count_words(new[1]["text"]) <= 1.2 * budget
    [request] = writer.rewrites
    assert "more concrete dates" in request and " ".join(old[2]["text"].split()[:10]) in request
    assert result.status == "done" and result.document == document_of(after) and new[1]["text"] in result.document
    assert [v.change for v in versions(finished, "tea")] == ["written", "section 2 rewritten"]


def test_restoring_the_first_version_gives_back_its_text_exactly_as_a_new_version(finished):
    original = document_of(finished.values("tea"))
    revise_section(finished, _context(Writer()), "tea", 1, words=300)
    first, revised = versions(finished, "tea")
    assert document_of(finished.values("tea")) != original and revised.words != first.words
    restore(finished, "tea", first.id)
    assert document_of(finished.values("tea")) == original
    listed = versions(finished, "tea")
    assert len(listed) == 3 and listed[-1].change == f"restored {first.id}" and listed[-1].words == first.words


def test_extending_adds_words_after_the_end_and_keeps_every_earlier_section(finished):
    before = finished.values("tea")
    result = extend_job(finished, _context(Writer()), "tea", 400)
    after = finished.values("tea")
    assert [s["text"] for s in after["sections"][: len(before["sections"])]] == [s["text"] for s in before["sections"]]
    assert result.words - count_words(document_of(before)) >= 300
    assert after["target_words"] == 1600 and versions(finished, "tea")[-1].change == "extended by 400 words"


def test_a_rewrite_killed_part_way_resumes_to_one_complete_rewrite(finished):
    before = finished.values("tea")
    with pytest.raises(ConnectionError):
        revise_section(finished, _context(Writer(crash_on_rewrite=True)), "tea", 2, note="shorter")
    run_job(finished, _context(Writer()), "tea", resume=True)
    after = finished.values("tea")
    assert [s["index"] for s in after["sections"]] == [0, 1, 2]
    assert after["sections"][1]["text"] != before["sections"][1]["text"]
    assert [s["text"] for s in after["sections"][::2]] == [s["text"] for s in before["sections"][::2]]
    assert after["status"] == "done" and all(document_of(after).count(s["text"]) == 1 for s in after["sections"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda store, ctx: revise_section(store, ctx, "tea", 4), "has sections 1 to 3"),
        (lambda store, ctx: revise_section(store, ctx, "tea", 0), "has sections 1 to 3"),
        (lambda store, ctx: revise_section(store, ctx, "tea", 1, words=5), "The new length must be 20 to"),
        (lambda store, ctx: extend_job(store, ctx, "tea", 10**7), "not 10,000,000"),
        (lambda store, ctx: revise_section(store, ctx, "nope", 1), "There is no job 'nope'"),
        (lambda store, ctx: restore(store, "tea", "not-a-version"), "has no version 'not-a-version'"),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(finished, change, message):
    before = document_of(finished.values("tea"))
    with pytest.raises(InputError, match=message):
        change(finished, _context(Writer()))
    assert document_of(finished.values("tea")) == before and len(versions(finished, "tea")) == 1


def test_an_unfinished_job_is_not_rewritten(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite") as store:
        run_job(store, _context(Writer()), "planned", instruction="Write about tea.", target=1200, plan_only=True)
        with pytest.raises(InputError, match="is not finished; resume it to the end first"):
            revise_section(store, _context(Writer()), "planned", 1)
