"""The one write runner: each mode from one entry, a saved job only when asked, bad requests refused."""

from __future__ import annotations

import threading

import pytest

from longwrite.agent.jobs import JobStore
from longwrite.agent.runner import WriteRequest, write
from longwrite.cli.options import ModeChoice
from longwrite.core.errors import Cancelled, InputError
from longwrite.core.modes import MODES
from longwrite.core.settings import Settings
from tests.unit.scripted import ScriptedChatModel, prose, scripted_context

INSTRUCTION = "Write a 300-word note about tea."


def _context(words: int = 300):
    model = ScriptedChatModel(reply=lambda messages, options: prose(words, seed=f"r{len(model.calls)}"))
    return scripted_context(Settings(home="/nonexistent"), make_model=lambda: model), model


def test_model_mode_is_one_call_scored_against_the_default_when_no_length_is_given():
    ctx, model = _context(150)
    written = write(ctx, WriteRequest("Write about tea.", None, "model"))
    assert len(model.calls) == 1 and written.path == "model" and written.job is None
    assert written.words == 150 and written.target == ctx.settings.default_target_words


def test_agent_mode_with_a_job_id_is_a_saved_job_and_without_one_nothing_is_kept(tmp_path):
    ctx, _model = _context()
    with JobStore(tmp_path / "jobs.sqlite") as store:
        saved = write(ctx, WriteRequest(INSTRUCTION, 300, job_id="tea"), store)
        in_memory = write(ctx, WriteRequest(INSTRUCTION, 300), store)
        assert store.values("tea")["status"] == "done"
        assert in_memory.job is not None and not store.values(in_memory.job.job)
    assert saved.path == "agent" and saved.job is not None and saved.job.job == "tea"
    assert saved.document.strip() and 270 <= saved.words <= 330


def test_auto_keeps_a_model_answer_that_meets_the_length():
    ctx, model = _context(300)
    written = write(ctx, WriteRequest(INSTRUCTION, 300, "auto"))
    assert written.path == "model" and written.reason == "" and len(model.calls) == 1


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"mode": "essay"}, "not one of agent, model, auto"),
        ({"mode": "model", "job_id": "x"}, "In model mode there is no job id: that is for agent mode"),
        ({"mode": "auto", "plan_only": True, "job_id": "x"}, "In auto mode there is no plan-only stop"),
        ({"resume": True}, "need a job id"),
    ],
)
def test_requests_that_cannot_run_are_refused_before_any_call(request_fields, message):
    with pytest.raises(InputError, match=message):
        WriteRequest(INSTRUCTION, 300, **request_fields)


def test_every_front_end_offers_the_same_modes():
    from longwrite.ui.web import MODE_CHOICES

    assert [choice.value for choice in ModeChoice] == list(MODES) == ["agent", "model", "auto"]
    assert [mode for _label, mode in MODE_CHOICES] == list(MODES)


def test_auto_with_a_job_id_saves_the_agents_part_with_the_models_answer_as_its_opening(tmp_path):
    # the model stops at 120 of 300 words: the agent continues its usable part as a saved job
    ctx, model = _context(120)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        written = write(ctx, WriteRequest(INSTRUCTION, 300, "auto", job_id="row-1"), store)
        saved = store.values("row-1")
        calls = len(model.calls)
        again = write(ctx, WriteRequest(INSTRUCTION, 300, "auto", job_id="row-1"), store)
    assert written.path == "model+agent" and saved["status"] == "done" and saved["opening"]
    assert written.document.startswith(saved["opening"].split(".")[0])
    # a second run of the same job resumes it (finished: nothing to write), never asking the model again
    assert len(model.calls) == calls and again.document == written.document and again.path == "model+agent"


def _held_context(reply):
    model = ScriptedChatModel(reply=reply)
    ctx = scripted_context(Settings(home="/nonexistent"), make_model=lambda: model,
                           min_tokens_param="min_tokens", repeat_penalty_param="repeat_penalty")  # fmt: skip
    return ctx, model


def test_model_mode_held_to_length_sends_a_floor_a_cap_and_penalties_from_the_first_token():
    ctx, model = _held_context(lambda messages, options: prose(1000, seed="h"))
    held = write(ctx, WriteRequest("Write a 400-word note about tea.", 400, "model", hold_length=True))
    plain = write(ctx, WriteRequest("Write a 400-word note about tea.", 400, "model"))
    (_, held_options), (_, plain_options) = model.calls
    body = held_options["extra_body"]
    assert 0.9 * 400 <= body["min_tokens"] <= body["max_tokens"] <= 400 * 1.45 * 1.5 + 1
    assert held_options["frequency_penalty"] > 0 and held_options["presence_penalty"] > 0 and body["repeat_penalty"] > 1
    assert body["max_tokens"] < 1000 and not held.loop_cut  # capped near the target, not the context
    # the 1,000-word answer is stopped at the first sentence end past the 400 words asked for
    assert 400 <= held.words <= 430 and held.document.rstrip().endswith(".")
    # plain model mode stays the benchmark's baseline: nothing but a cap from the context
    assert set(plain_options["extra_body"]) == {"max_tokens"} and "frequency_penalty" not in plain_options
    assert plain.words == 1000


def test_a_held_answer_that_loops_ends_where_its_loop_began():
    fresh = prose(120, seed="s")
    loop = " ".join(["The tea was poured into the old blue cup by the window again."] * 40)
    ctx, _model = _held_context(lambda messages, options: f"{fresh} {loop}")
    held = write(ctx, WriteRequest("Write a 600-word note about tea.", 600, "model", hold_length=True))
    assert held.loop_cut
    assert held.document.count("The tea was poured") <= 1 and fresh.split(".")[0] in held.document


def test_auto_keeps_a_held_answer_that_echoed_one_sentence_and_went_on():
    # one earlier sentence comes back once, inside a 450-word answer: the guard removes it, the
    # answer is not a loop, and it stands without the agent
    echo = "The tea was poured into the old blue cup by the window."
    ctx, model = _held_context(lambda messages, options: f"{echo} {prose(200, 'e')} {echo} {prose(250, 'f')}")
    written = write(ctx, WriteRequest("Write a 400-word note about tea.", 400, "auto"))
    assert written.path == "model" and len(model.calls) == 1
    assert written.document.count("old blue cup") == 1 and 360 <= written.words <= 430


RUN_ON = " ".join(f"drift{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(300))


def test_a_held_answer_goes_on_past_a_sentence_that_runs_on():
    # unlike a section's call, one call has no next call to write the words again
    ctx, _model = _held_context(lambda messages, options: f"{prose(150, 'g')} {RUN_ON}. {prose(400, 'h')}")
    held = write(ctx, WriteRequest("Write a 600-word note about tea.", 600, "model", hold_length=True))
    assert not held.loop_cut and 600 <= held.words <= 630


def test_an_agent_section_that_runs_on_keeps_what_came_before_and_writes_on():
    run_on = " ".join(RUN_ON.split()[:150])  # ended at last, within the call's max_tokens
    replies = iter([f"{prose(80, 'k')} {run_on}. {prose(100, 'n')}"])
    model = ScriptedChatModel(reply=lambda messages, options: next(replies, prose(200, f"m{len(model.calls)}")))
    ctx = scripted_context(Settings(home="/nonexistent"), make_model=lambda: model)
    written = write(ctx, WriteRequest("Write a 200-word note about tea.", 200))
    assert "drift" not in written.document and prose(80, "k").split(".")[0] in written.document
    assert len(model.calls) >= 2 and 180 <= written.words <= 230


def test_holding_the_length_of_one_call_is_for_model_mode():
    with pytest.raises(InputError, match="is for model mode; agent mode controls it itself"):
        WriteRequest(INSTRUCTION, 300, "agent", hold_length=True)


def test_a_one_call_answer_stops_within_a_token_of_a_stop():
    stop = threading.Event()
    model = ScriptedChatModel(reply=lambda messages, options: prose(500, seed="c"))
    ctx = scripted_context(Settings(home="/nonexistent"), make_model=lambda: model, cancel=stop)
    stop.set()  # a client that left, or Ctrl-C
    for request in (WriteRequest(INSTRUCTION, 300, "model"), WriteRequest(INSTRUCTION, 300, "model", hold_length=True)):
        with pytest.raises(Cancelled):
            write(ctx, request)
