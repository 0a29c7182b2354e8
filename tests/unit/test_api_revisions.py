"""The revisions over HTTP: sections in the job, rewrite one, extend, versions, restore, delete,
and the documents list, which holds the CLI's jobs too."""

from __future__ import annotations

import threading

import pytest

from longwrite.agent.jobs import JobStore, run_job
from longwrite.core.settings import Settings
from longwrite.core.text import count_words
from tests.unit.test_api import AUTH, assert_error, make_client, wait_for  # noqa: F401 (make_client: a fixture)
from tests.unit.test_revisions import Writer, _context


def _finished_job(client) -> dict:
    started = client.post("/v1/writes", json={"instruction": "Write a 1200-word history of tea."}, headers=AUTH)
    assert started.status_code == 202
    job = wait_for(client, started.json()["id"])
    assert job["status"] == "done", job
    return job


def test_a_finished_job_shows_its_sections_and_a_rewrite_changes_one_alone(make_client):  # noqa: F811 (the fixture imported above)
    client = make_client(Writer())
    job = _finished_job(client)
    sections = job["sections"]
    assert [s["title"] for s in sections] == ["Origins", "Trade", "Today"]
    assert all(s["text"] in job["text"] and s["words"] == count_words(s["text"]) for s in sections)

    started = client.post(f"/v1/writes/{job['id']}/sections/2/rewrite", json={"note": "more dates"}, headers=AUTH)
    assert started.status_code == 202 and started.json()["status"] == "running"
    rewritten = wait_for(client, job["id"])
    assert rewritten["status"] == "done"
    after = rewritten["sections"]
    assert [after[0]["text"], after[2]["text"]] == [sections[0]["text"], sections[2]["text"]]
    assert after[1]["text"] != sections[1]["text"]
    events = client.get(f"/v1/writes/{job['id']}/events", headers=AUTH).text
    assert "event: section_finished" in events and "event: done" in events

    versions = client.get(f"/v1/writes/{job['id']}/versions", headers=AUTH).json()["data"]
    assert [v["change"] for v in versions] == ["written", "section 2 rewritten"]
    assert set(versions[0]) == {"id", "created_at", "words", "change"}
    restored = client.post(f"/v1/writes/{job['id']}/versions/{versions[0]['id']}/restore", headers=AUTH)
    assert restored.status_code == 202
    assert restored.json()["text"] == job["text"] and restored.json()["status"] == "done"
    assert len(client.get(f"/v1/writes/{job['id']}/versions", headers=AUTH).json()["data"]) == 3


def test_extend_adds_words_after_the_end_and_keeps_every_section(make_client):  # noqa: F811 (the fixture imported above)
    client = make_client(Writer())
    job = _finished_job(client)
    assert client.post(f"/v1/writes/{job['id']}/extend", json={"words": 400}, headers=AUTH).status_code == 202
    grown = wait_for(client, job["id"])
    assert grown["status"] == "done"
    assert [s["text"] for s in grown["sections"][:3]] == [s["text"] for s in job["sections"]]
    assert count_words(grown["text"]) >= count_words(job["text"]) + 300


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("sections/0/rewrite", {}, 400, ["sections 1 to 3"]),
        ("sections/4/rewrite", {"note": "x"}, 400, ["sections 1 to 3"]),
        ("sections/2/rewrite", {"words": 5}, 400, ["The new length must be 20 to 100,000 words, not 5"]),
        ("sections/2/rewrite", {"words": "many"}, 400, ["words"]),
        ("extend", {}, 400, ["words", "missing"]),
        ("extend", {"words": 10_000_000}, 400, ["The words to add must be 20 to", "not 10,000,000"]),
        ("versions/nope/restore", None, 400, ["no version 'nope'"]),
    ],
)
def test_bad_changes_are_refused_with_nothing_changed(make_client, path, body, status, words):  # noqa: F811 (the fixture imported above)
    client = make_client(Writer())
    job = _finished_job(client)
    assert_error(client.post(f"/v1/writes/{job['id']}/{path}", json=body, headers=AUTH), status, *words)
    again = client.get(f"/v1/writes/{job['id']}", headers=AUTH).json()
    assert again["status"] == "done" and again["text"] == job["text"]
    assert len(client.get(f"/v1/writes/{job['id']}/versions", headers=AUTH).json()["data"]) == 1


def test_a_job_being_written_cannot_be_changed_or_deleted(make_client):  # noqa: F811 (the fixture imported above)
    writer = HeldWriter()
    client = make_client(writer)
    started = client.post("/v1/writes", json={"instruction": "Write a 1200-word history of tea."}, headers=AUTH)
    job_id = started.json()["id"]
    assert_error(client.post(f"/v1/writes/{job_id}/sections/1/rewrite", headers=AUTH), 409, "being written")
    assert_error(client.delete(f"/v1/writes/{job_id}?purge=true", headers=AUTH), 409, "cancel it first")
    client.delete(f"/v1/writes/{job_id}", headers=AUTH)  # cancel: it stops at its next token
    writer.gate.set()
    stopped = wait_for(client, job_id)
    assert stopped["status"] == "cancelled"
    assert_error(client.post(f"/v1/writes/{job_id}/extend", json={"words": 400}, headers=AUTH), 409, "not finished")


class HeldWriter(Writer):
    """Writer whose answers wait until `gate` is set: the job stays running meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def __call__(self, messages, options) -> str:
        assert self.gate.wait(30), "the test never opened the gate"
        return super().__call__(messages, options)


def test_the_documents_list_holds_the_clis_jobs_and_the_api_changes_them(make_client, tmp_path):  # noqa: F811 (the fixture imported above)
    client = make_client(Writer())
    with JobStore(Settings(home=tmp_path).jobs_db) as store:  # a job the CLI wrote: checkpoints, no record
        run_job(store, _context(Writer()), "cli-tea", instruction="Write a 1200-word history of tea.", target=1200)
    served = _finished_job(client)
    listed = client.get("/v1/writes", headers=AUTH).json()["data"]
    assert [row["id"] for row in listed] == [served["id"], "cli-tea"]  # the newest change first
    cli = listed[1]
    assert cli["status"] == "done" and cli["title"] == "Tea" and cli["change"] == "written"
    assert cli["words"] >= 1000 and cli["target_words"] == 1200
    assert client.post("/v1/writes/cli-tea/sections/1/rewrite", headers=AUTH).status_code == 202
    assert wait_for(client, "cli-tea")["status"] == "done"
    assert client.get("/v1/writes", headers=AUTH).json()["data"][0]["change"] == "section 1 rewritten"

    deleted = client.delete("/v1/writes/cli-tea?purge=true", headers=AUTH)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert_error(client.get("/v1/writes/cli-tea", headers=AUTH), 404, "cli-tea")
    assert [row["id"] for row in client.get("/v1/writes", headers=AUTH).json()["data"]] == [served["id"]]
