"""The web writer's logic without a browser: plan tables, targets, counters, downloads, and a
job started from an edited plan against a scripted model."""

from __future__ import annotations

import tempfile
import threading

import pytest

from longwrite.agent.jobs import JobStore
from longwrite.core.errors import InputError
from longwrite.core.settings import Settings
from longwrite.core.text import count_words
from longwrite.model.client import Endpoint
from longwrite.ui.export import file_stem, write_docx, write_markdown
from longwrite.ui.job_manager import JobManager
from longwrite.ui.page_words import in_page_words
from longwrite.ui.service import WriteService
from longwrite.ui.writer import (
    PlanOutdated,
    Writer,
    counters_for,
    new_row,
    plan_from_rows,
    plan_total,
    status_words,
)
from tests.unit.scripted import ScriptedChatModel, prose, scripted_context


def test_an_edited_plan_table_becomes_the_plan_and_bad_rows_are_named():
    plan = plan_from_rows([["Origins", "where it began", 300], ["", "", None], ["Trade", "", "250"]])
    assert [(s["title"], s["words"]) for s in plan] == [("Origins", 300), ("Trade", 250)]  # blank rows skipped
    with pytest.raises(InputError, match="Section 2 of the plan has no title"):
        plan_from_rows([["Origins", "", 300], ["", "a point", 200]])
    with pytest.raises(InputError, match="Section 1 of the plan has 'many' words"):
        plan_from_rows([["Origins", "", "many"]])
    with pytest.raises(InputError, match="Section 1 of the plan has -5 words"):
        plan_from_rows([["Origins", "", -5]])
    assert plan_total([["A", "", 300], ["B", "", 400]], 600).startswith("Plan total: **700 words** of 600 asked")
    assert "sized by the plan" in plan_total([["A", "", 300], ["B", "", 400]], None)


def test_counters_say_words_or_characters_section_rate_and_eta():
    running = counters_for(600, 150, "Write a 600-word essay.", rate=10.0, section="section 2 of 4")
    assert running == "**150** of 600 words · section 2 of 4 · 10.0 words/s · ETA 45 s"
    chinese = counters_for(800, 800, "写一篇800字的文章", done=True)
    assert chinese == "**800** of 800 characters · length score 100.0"
    planned = counters_for(1200, 1200, "Write about tea.", done=True, planned=True)
    assert planned == "**1,200** of 1,200 words (sized by the plan) · length score 100.0"
    assert counters_for(None, 0, "Write about tea.").startswith("**0** words (no length stated)")


def test_downloads_keep_the_headings(tmp_path):
    from docx import Document

    text = "# Tea\n\n## Origins\n\nTea began in China.\nIt spread.\n\n## Trade\n\nShips carried it.\n"
    stem = file_stem("Tea: a History!")
    assert stem == "tea-a-history"
    assert write_markdown(text, tmp_path, stem).read_text() == text
    document = Document(str(write_docx(text, tmp_path, stem)))
    shown = [(p.style.name, p.text) for p in document.paragraphs]
    assert shown == [("Title", "Tea"), ("Heading 1", "Origins"), ("Normal", "Tea began in China. It spread."),
                     ("Heading 1", "Trade"), ("Normal", "Ships carried it.")]  # fmt: skip


@pytest.fixture
def writer(tmp_path, monkeypatch):
    settings = Settings(home=tmp_path)
    calls = {"n": 0}
    gate = threading.Event()  # cleared, it holds the model's next answer (to see a job while it runs)
    gate.set()

    def reply(messages, options):
        assert gate.wait(30), "the test never opened the gate"
        calls["n"] += 1
        budget = int(options.get("extra_body", {}).get("max_tokens", 100))
        return prose(max(10, int(budget / 1.3)), seed=f"w{calls['n']}")

    used = []

    def context(self, cancel=None, endpoint=None):
        used.append(endpoint or self.endpoint)  # which endpoint each write went to
        return scripted_context(settings=settings, make_model=lambda: ScriptedChatModel(reply=reply), section_words=250,
                            cancel=cancel)  # fmt: skip

    monkeypatch.setattr(WriteService, "context", context)
    service = WriteService(Endpoint(base_url="http://127.0.0.1:9/v1", model="m", label="scripted"), settings)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        jobs = JobManager(service, store)
        page = Writer(service=lambda: service, jobs=lambda: jobs)
        page.used_endpoints = used
        page.gate = gate
        yield page
        jobs.shutdown()


def test_a_job_from_an_edited_plan_is_written_to_its_budgets_and_followed_to_the_end(writer):
    rows = [["Origins", "where tea began", 300], ["Trade", "how it spread", 200]]
    job_id = writer.start("Write a 400-word history of tea.", 400, rows, "A History of Tea")
    readings = list(writer.follow(job_id))
    final = readings[-1]
    assert final.status == "done" and final.text.startswith("# A History of Tea")
    assert "## Origins" in final.text and "## Trade" in final.text
    assert final.words == count_words(final.text) and abs(final.words - 500) <= 50  # the table's total, not 400
    assert "of 500 words · 2 of 2 sections · length score" in final.counters
    assert writer.service.slots.in_use == 0


def test_plan_then_write_writes_the_edited_plan_into_the_planned_job(writer, monkeypatch):
    def no_temporary_folders(*args, **kwargs):
        raise AssertionError("planning used a temporary folder")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", no_temporary_folders)
    monkeypatch.setattr(tempfile, "mkdtemp", no_temporary_folders)
    instruction = "Write a 600-word history of tea."
    title, rows, planned = writer.plan(instruction, 600)
    assert title and rows and all(len(row) == 3 for row in rows)
    job = writer.jobs.describe(planned)
    assert job["status"] == "planned" and job["progress"]["sections_done"] == 0 and job["text"] == ""
    assert [[s["title"], s["points"], s["words"]] for s in job["plan"]] == rows  # the table is the job's plan
    assert writer.service.slots.in_use == 0  # a planned job holds no write slot

    edited = [["Origins", "where tea began", 300], ["Trade", "how it spread", 250], ["", "", None]]
    writer.gate.clear()  # hold the first section, to see the job running
    job_id = writer.start(instruction, 600, edited, "A History of Tea", planned=planned)
    assert job_id == planned
    running = writer.jobs.describe(job_id)
    assert running["status"] == "running" and running["target_words"] == 550  # the edited budgets' total
    assert writer.service.slots.in_use == 1
    writer.gate.set()
    final = list(writer.follow(job_id))[-1]
    assert final.status == "done" and final.text.startswith("# A History of Tea")
    job = writer.jobs.describe(job_id)
    assert job["status"] == "done" and [s["title"] for s in job["plan"]] == ["Origins", "Trade"]
    assert job["title"] == "A History of Tea" and job["progress"]["sections_done"] == 2
    headings = [line for line in job["text"].splitlines() if line.startswith("## ")]
    assert headings == ["## Origins", "## Trade"]  # exactly the edited sections, each once
    assert "of 550 words" in final.counters and abs(final.words - 550) <= 55
    assert [row["id"] for row in writer.jobs.recent(10)] == [planned]  # one job: planned, then written
    assert writer.service.slots.in_use == 0


def test_write_after_the_request_changed_asks_before_it_drops_or_writes_the_edited_plan(writer):
    _, _, planned = writer.plan("Write a 600-word history of tea.", 600)
    edited = [["Origins", "where tea began", 300], ["Trade", "how it spread", 350]]
    with pytest.raises(PlanOutdated, match="Keep your plan to write it for the request as it is now, or plan again"):
        writer.start("Write a 600-word history of coffee.", 600, edited, "A History of Tea", planned=planned)
    assert [row["id"] for row in writer.jobs.recent(10)] == [planned]  # nothing started, nothing thrown away
    # kept: the table as it stands, for the request as it is now; its total is the length
    kept = writer.start("Write a 600-word history of coffee.", 600, edited, "A History of Tea")
    final = list(writer.follow(kept))[-1]
    job = writer.jobs.describe(kept)
    assert final.status == "done" and job["instruction"] == "Write a 600-word history of coffee."
    assert [s["title"] for s in job["plan"]] == ["Origins", "Trade"] and job["title"] == "A History of Tea"
    assert job["target_words"] == 650 and final.rows()[0][:2] == ["Origins", "where tea began"]
    assert writer.jobs.describe(planned)["status"] == "planned"  # left as it was, still resumable
    # the same request with an unedited table writes the planned job as planned
    again, rows, planned = writer.plan("Write a 600-word history of tea.", 600)
    assert writer.start("Write a 600-word history of tea.", 600, rows, again, planned=planned) == planned
    assert list(writer.follow(planned))[-1].status == "done"
    assert [[s["title"], s["points"]] for s in writer.jobs.describe(planned)["plan"]] == [r[:2] for r in rows]


def test_stop_pauses_a_job_and_resume_continues_the_section_it_was_in(writer):
    rows = [["Origins", "", 200], ["Trade", "", 200]]
    writer.gate.clear()
    job_id = writer.start("Write a 400-word history of tea.", 400, rows, "Tea")
    following = writer.follow(job_id)
    assert next(following).status == "running"
    writer.stop(job_id)
    writer.gate.set()
    paused = list(following)[-1]
    assert paused.status == "cancelled" and status_words(paused).startswith("**Paused** in section 1 of 2")
    assert "Resume continues from there" in status_words(paused)
    writer.resume(job_id)
    done = list(writer.follow(job_id))[-1]
    assert done.status == "done" and done.text.startswith(paused.text.rstrip())  # nothing shown is lost
    assert status_words(done).startswith("**Done.**")


def test_errors_are_told_in_the_pages_words():
    assert in_page_words("Nothing answers at http://x:9/v1; start the server there or fix --base-url.") == (
        "Nothing answers at http://x:9/v1; start that server, or correct the Base URL under Endpoint."
    )
    assert in_page_words("There is no write job 'x'; GET /v1/writes lists the jobs.") == "There is no document 'x'."
    assert "--" not in in_page_words("The server at x serves a, b; pass --model to choose one.")


def test_the_table_refuses_a_budget_that_is_not_a_number_and_adds_rows_with_a_budget():
    assert plan_total([["A", "", 300], ["B", "", "abc"]], 600) == (
        "**Section 2 has 'abc' words**: type a whole number of words for it (e.g. 300)."
    )
    assert plan_total([["A", "", 300], ["B", "", None]], 600).startswith("**Section 2 has no words**")
    assert new_row([["A", "", 300], ["B", "", 500]]) == ["New section", "", 400]
    assert new_row([]) == ["New section", "", 300]


def test_page_inputs_are_checked_in_the_page_terms(writer):
    with pytest.raises(InputError, match=r"The instruction is empty; say what to write, e\.g\. 'Write a 3000-word"):
        writer.start("  ", None, [], "")
    with pytest.raises(InputError, match="The target length is -5"):
        writer.start("Write about tea.", -5, [], "")
    with pytest.raises(InputError, match="not a whole number"):
        writer.start("Write about tea.", 12.5, [], "")
    with pytest.raises(InputError, match="no job to follow"):
        next(writer.follow(""))
    # no length stated: the box is left empty and the plan sizes the document (not a 2,000 default)
    assert writer.target_for("Write a 1200-word essay.") == "1200" and writer.target_for("Write.") == ""
    with pytest.raises(InputError, match="The target length abc is not a whole number"):
        writer.start("Write about tea.", "abc", [], "")


def test_the_page_sits_at_root_beside_the_api_and_alone_for_longwrite_ui(tmp_path):
    from fastapi.testclient import TestClient

    from longwrite.ui.server import create_app

    endpoint = Endpoint(base_url="http://127.0.0.1:9/v1", model="m", label="scripted")
    with TestClient(create_app(endpoint, Settings(home=tmp_path))) as both:
        assert "<html" in both.get("/").text.lower()
        assert both.get("/v1/models").status_code in (200, 503)  # the API is there (its backend is not)
    with TestClient(create_app(endpoint, Settings(home=tmp_path), api_routes=False)) as page_only:
        assert "<html" in page_only.get("/").text.lower()
        assert page_only.get("/health").json()["status"] == "ok"
        assert page_only.post("/v1/chat/completions", json={}).status_code in (404, 405)


def test_a_page_can_name_another_endpoint_and_its_jobs_keep_it(writer):
    from longwrite.core.errors import BackendError

    with pytest.raises(InputError, match="must start with http:// or https://"):
        writer.start("Write about tea.", 300, [], "", "localhost:8001", "")
    with pytest.raises(BackendError, match=r"Nothing answers at http://127\.0\.0\.1:9/v1"):
        writer.start("Write about tea.", 300, [], "", "http://127.0.0.1:9/v1/", "")  # asked for its model
    job_id = writer.start("Write about tea.", 300, [], "", "http://127.0.0.1:9/v1", "named-model")
    assert list(writer.follow(job_id))[-1].status == "done"
    assert (writer.used_endpoints[-1].base_url, writer.used_endpoints[-1].model) == ("http://127.0.0.1:9/v1",
                                                                                   "named-model")  # fmt: skip
    row = writer.jobs._row(job_id)
    assert (row["base_url"], row["model"]) == ("http://127.0.0.1:9/v1", "named-model")  # a resume goes there too


def test_with_an_api_key_the_page_asks_for_it_too(tmp_path):
    from fastapi.testclient import TestClient

    from longwrite.ui.server import create_app

    endpoint = Endpoint(base_url="http://127.0.0.1:9/v1", model="m", label="scripted")
    with TestClient(create_app(endpoint, Settings(home=tmp_path), api_key="k-123")) as client:
        assert client.get("/config").status_code == 401  # the page's app config stays behind the login
        assert client.post("/login", data={"username": "me", "password": "wrong"}).status_code == 400
        assert client.post("/login", data={"username": "me", "password": "k-123"}).status_code == 200
        assert client.get("/config").status_code == 200


def test_the_pages_model_mode_can_hold_the_one_call_to_the_length(writer):
    instruction = "Write a 300-word note about tea."
    held = list(writer.write_inline(instruction, None, "model", hold_length=True))[-1]
    plain = list(writer.write_inline(instruction, None, "model"))[-1]
    assert held.status == plain.status == "done"
    # held: capped from the 300 words asked (and a floor where the server takes one); plain: the context
    assert 200 <= held.words <= 300 * 1.45 * 1.5 < plain.words  # (the scripted model: a token a word)


def test_a_rewrite_from_the_page_shows_its_text_in_place_and_says_what_it_does(writer):
    rows = [["Origins", "where tea began", 300], ["Trade", "how it spread", 200], ["Today", "", 200]]
    job_id = writer.start("Write a 700-word history of tea.", 700, rows, "Tea")
    first = list(writer.follow(job_id))[-1]
    assert first.status == "done" and first.job_id == job_id
    old = writer.jobs.describe(job_id)["sections"]

    writer.gate.clear()  # hold the rewrite's answer: the page sees it running
    assert writer.rewrite(job_id, 2, "more dates", "") == job_id
    running = next(p for p in writer.follow(job_id) if p.revising)  # once its thread has put the rewrite in
    assert running.status == "running" and running.revising == 2
    assert status_words(running) == "**Rewriting** section 2 of 3"
    assert "rewriting section 2 of 3" in running.counters
    writer.gate.set()
    final = list(writer.follow(job_id))[-1]
    new = writer.jobs.describe(job_id)["sections"]
    assert final.status == "done" and final.revising is None
    assert [new[0]["text"], new[2]["text"]] == [old[0]["text"], old[2]["text"]] and new[1]["text"] != old[1]["text"]
    assert [v["change"] for v in writer.versions(job_id)] == ["written", "section 2 rewritten"]

    restored = writer.restore(job_id, writer.versions(job_id)[0]["id"])
    assert restored["text"] == first.text
    assert [d["id"] for d in writer.documents()] == [job_id]
    with pytest.raises(InputError, match="Choose the section"):
        writer.rewrite(job_id, None, "", "")
    with pytest.raises(InputError, match="not a whole number"):
        writer.rewrite(job_id, 1, "", "lots")
    with pytest.raises(InputError, match="how many words to add"):
        writer.extend(job_id, "")
    writer.delete(job_id)
    assert writer.documents() == []


def test_the_live_text_of_a_rewrite_replaces_its_section_and_new_text_goes_after_the_end():
    from longwrite.ui.writer import _with_live_text

    job = {"text": "# T\n\n## A\n\nOld a.\n\n## B\n\nOld b.", "revising": 1,
           "sections": [{"text": "Old a."}, {"text": "Old b."}]}  # fmt: skip
    assert _with_live_text(job, "New a so far") == "# T\n\n## A\n\nNew a so far\n\n## B\n\nOld b."
    assert _with_live_text(job | {"revising": None}, "More") == job["text"] + "\n\nMore"
    assert _with_live_text(job, "") == job["text"]
