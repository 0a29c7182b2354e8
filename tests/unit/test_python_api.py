"""The Python API against a stub OpenAI-compatible server (tests/stub_backend.py, no model): what
the README's example does, events as they happen, async forms, and a write stopped midway that
resumes."""

from __future__ import annotations

import asyncio

import pytest

import longwrite
from longwrite.core.errors import InputError
from longwrite.core.settings import Settings
from longwrite.core.text import count_words
from tests.stub_backend import MODEL, StubBackend


@pytest.fixture
def stub(tmp_path, monkeypatch):
    monkeypatch.setenv("LONGWRITE_HOME", str(tmp_path))
    with StubBackend() as backend:
        yield {"base_url": backend.url, "model": MODEL}


def test_plan_then_write_the_plan(stub):
    draft = longwrite.plan("Write a 1200-word guide to composting.", **stub)
    assert draft.status == "planned" and draft.sections == 0 and sum(s["words"] for s in draft.plan) == 1200
    done = longwrite.write(job=draft.job, resume=True, **stub)
    assert done.status == "done" and [s["title"] for s in done.plan] == [s["title"] for s in draft.plan]
    assert 1000 <= count_words(done.document) <= 1400 and done.length_score > 80


def test_events_arrive_as_they_happen_and_end_with_the_result(stub):
    seen = list(longwrite.events("Write a 900-word essay on rivers.", **stub))
    kinds = [event["event"] for event in seen]
    assert kinds[0] == "plan" and "section_finished" in kinds and kinds[-1] == "finished"
    result = seen[-1]["result"]
    assert result.status == "done" and result.words == count_words(result.document)


def test_a_reader_that_stops_early_stops_the_write_and_the_job_resumes(stub):
    stream = longwrite.events("Write a 1500-word essay on bridges.", **stub)
    job = None
    for event in stream:
        if event["event"] == "section_finished":
            break
    stream.close()
    # the job is in the store, stopped after its first sections; resuming writes the rest
    from longwrite.agent.jobs import JobStore

    with JobStore(Settings().jobs_db) as store:
        [job] = [row[0] for row in store.saver.conn.execute("SELECT DISTINCT thread_id FROM checkpoints")]
        stopped = store.values(job)
    assert stopped.get("status") != "done" and 1 <= len(stopped["sections"]) < len(stopped["plan"])
    finished = longwrite.write(job=job, resume=True, **stub)
    assert finished.status == "done" and finished.plan[0]["title"] == stopped["plan"][0]["title"]


def test_the_async_forms(stub):
    async def both():
        draft = await longwrite.aplan("Write a 600-word note on tea.", **stub)
        done = await longwrite.awrite(job=draft.job, resume=True, **stub)
        kinds = [event["event"] async for event in longwrite.aevents("Write a 600-word note on ink.", **stub)]
        return done, kinds

    done, kinds = asyncio.run(both())
    assert done.status == "done" and kinds[-1] == "finished"


def test_bad_calls_say_what_to_do(stub):
    with pytest.raises(InputError, match="needs job="):
        longwrite.write(resume=True, **stub)
    with pytest.raises(InputError, match="either settings or base_url"):
        longwrite.write("Write a note.", settings=Settings(), **stub)
    with pytest.raises(InputError, match="empty"):
        longwrite.write("   ", **stub)
    with pytest.raises(AttributeError):
        longwrite.nothing_here  # noqa: B018
