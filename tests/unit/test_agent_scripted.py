"""The whole graph against a scripted chat model: plan, length control, loops, resume."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from typing import Any

import httpx
import openai
import pytest

from longwrite.agent.events import document_of
from longwrite.agent.jobs import JobStore, run_job
from longwrite.agent.section import STALLS_BEFORE_LEAVING_SHORT
from longwrite.agent.state import AgentContext, Section
from longwrite.core.errors import Cancelled, InputError, StorageError
from longwrite.core.settings import Settings
from longwrite.core.text import count_words
from tests.unit.scripted import ScriptedChatModel, prose, scripted_context, with_endpoint

ECHO = "The keeper climbed the long stair to the lamp room every single evening."


def _requested_words(text: str) -> int:
    match = re.search(r"about (\d+)(?: more)? words", text)
    return int(match.group(1)) if match else 100


def _parts_outline(count: int) -> str:
    """An outline as lines: "Title: Lighthouses", then Part 1 ... Part `count`."""
    return "Title: Lighthouses\n" + "\n".join(f"{n}. Part {n}: about topic {n}" for n in range(1, count + 1))


class Script:
    """Answers like a small model: a bad outline first, short sections, an echo loop."""

    def __init__(self, crash_on_section: int | None = None, salt: str = "") -> None:
        self.outlines = 0
        self.sections_started = 0
        self.crash_on_section = crash_on_section
        self.salt = salt  # a resumed run's text must not repeat the first run's

    def __call__(self, messages, options) -> str:
        last = messages[-1].content
        if "Make an outline" in last:
            self.outlines += 1
            if self.outlines == 1:
                return "I would love to help you with that request!"
            return _parts_outline(5)
        words = _requested_words(last)
        if "Write the" in last:
            self.sections_started += 1
            if self.crash_on_section == self.sections_started:
                raise ConnectionError("server went away")
            if self.sections_started == 2:  # echo section 1, then loop, then some new text
                return f"{ECHO} {ECHO} {ECHO} " + prose(words // 3, seed="echo")
            return prose(int(words * 0.6), seed=f"q{self.salt}{self.sections_started}x")
        return prose(words, seed=f"c{self.salt}{len(messages)}y{self.sections_started}z")  # a continuation


def _context(script: Script) -> tuple[AgentContext, ScriptedChatModel]:
    model = ScriptedChatModel(reply=script)
    settings = Settings(home="/nonexistent")  # never written: the tests pass their own store
    return scripted_context(settings=settings, make_model=lambda: model, section_words=400), model


def test_agent_recovers_from_a_bad_plan_and_lands_on_the_target(tmp_path):
    script = Script()
    ctx, model = _context(script)
    events = []
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "job-1", instruction="Write a 2000-word piece on lighthouses.", target=2000,
                         on_event=events.append)  # fmt: skip
    assert result.status == "done"
    assert result.plan_source == "model" and script.outlines == 2
    assert 0.9 * 2000 <= result.words <= 1.1 * 2000
    assert result.document.startswith("# Lighthouses\n\n## Part 1\n\n")
    assert result.document.count(ECHO) <= 1  # the echo loop was cut
    kinds = [e["event"] for e in events]
    assert kinds[0] == "plan" and kinds[-1] == "done"
    assert kinds.count("section_finished") == len(result.plan)
    # every call carried max_tokens; the calls after the loop carried repetition penalties
    assert all("max_tokens" in options["extra_body"] for _, options in model.calls)
    assert any("frequency_penalty" in options for _, options in model.calls)


def _first_calls_and_continuations(model: ScriptedChatModel) -> tuple[list[dict], list[dict]]:
    """The options of each section's first call, and of the calls that continue a section."""
    firsts, continuations = [], []
    for messages, options in model.calls:
        last = messages[-1].content
        if last.startswith("Write the"):
            firsts.append(options)
        elif last.startswith("Write one more paragraph"):
            continuations.append(options)
    return firsts, continuations


SECTION_SETTINGS = {"section_frequency_penalty": 0.2, "section_presence_penalty": 0.1, "section_repeat_penalty": 1.05}


@pytest.mark.parametrize(
    ("settings_profile", "server_profile", "sent"),
    [
        ({}, None, None),  # nothing anywhere: none sent, the server's defaults apply
        ({}, (0.5, 0.3, 1.2), (0.5, 0.3, 1.2)),  # the server's measured profile (the embedded one)
        (SECTION_SETTINGS, (0.5, 0.3, 1.2), (0.2, 0.1, 1.05)),  # the settings win
    ],
)
def test_a_sections_first_call_sends_the_section_penalties_and_its_continuations_the_loop_ones(
    tmp_path, settings_profile, server_profile, sent
):
    settings = Settings(home="/nonexistent", **settings_profile)
    model = ScriptedChatModel(reply=Script())
    ctx = scripted_context(settings, make_model=lambda: model, section_words=400, repeat_penalty_param="repeat_penalty",
                           first_call_penalties=server_profile)  # fmt: skip
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "job-1", instruction="Write a 2000-word piece on lighthouses.", target=2000)
    assert result.status == "done"
    firsts, continuations = _first_calls_and_continuations(model)
    assert len(firsts) >= 5 and continuations
    for options in firsts:
        if sent is None:
            assert "frequency_penalty" not in options and "presence_penalty" not in options
            assert "repeat_penalty" not in options["extra_body"]
        else:
            assert (
                options["frequency_penalty"],
                options["presence_penalty"],
                options["extra_body"]["repeat_penalty"],
            ) == sent
    # continuations, and the rest of a section whose loop was cut, get the loop profile
    for options in continuations:
        assert (options["frequency_penalty"], options["presence_penalty"]) == (0.6, 0.4)
        assert options["extra_body"]["repeat_penalty"] == 1.25


def test_short_sections_are_continued_and_the_rest_rebalanced(tmp_path):
    script = Script()
    ctx, model = _context(script)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        run_job(store, ctx, "job-2", instruction="Write about lighthouses.", target=2000)
        values = store.values("job-2")
    continued = [s for s in values["sections"] if s["continuations"] > 0]
    assert continued, "a section written at 60% of its budget should have been continued"
    budgets = [s["budget"] for s in values["sections"]]
    assert len(set(budgets)) > 1  # budgets moved after measuring each section
    prompts = [messages[-1].content for messages, _ in model.calls]
    assert any(p.startswith("Write one more paragraph") for p in prompts)


def test_after_a_loop_the_earlier_sections_leave_the_prompt(tmp_path):
    """A model that copies what it is shown goes on copying: once a loop is cut, the rest is
    written from the request, the outline and the text from the looping section on."""
    script = Script()
    ctx, model = _context(script)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        run_job(store, ctx, "job-slide", instruction="Write about lighthouses.", target=2000)
        values = store.values("job-slide")
    section_one = values["sections"][0]["text"]
    looped = next(i for i, (m, _) in enumerate(model.calls) if m[-1].content.startswith('Write the "Part 2"'))
    assert section_one in " ".join(str(m.content) for m in model.calls[looped][0])  # shown before the loop
    after = [messages for messages, _ in model.calls[looped + 1 :]]
    assert after and values["sections"][1]["loops_cut"] >= 1
    for messages in after:
        assert section_one not in " ".join(str(m.content) for m in messages)
        assert re.search(r"Parts 1 to \d+ are already written", messages[1].content)


def test_a_crashed_job_resumes_after_its_last_finished_section(tmp_path):
    db = tmp_path / "jobs.sqlite"
    crashing = Script(crash_on_section=3)
    ctx, _ = _context(crashing)
    with JobStore(db) as store:
        with pytest.raises(ConnectionError):
            run_job(store, ctx, "job-3", instruction="Write about lighthouses.", target=2000)
        saved = store.values("job-3")["sections"]
    assert len(saved) == 2
    ctx, _ = _context(Script())
    with JobStore(db) as store:
        result = run_job(store, ctx, "job-3", resume=True)
        final = store.values("job-3")["sections"]
    assert result.status == "done"
    assert [s["text"] for s in final[:2]] == [s["text"] for s in saved]  # unchanged
    assert [s["index"] for s in final] == list(range(len(final)))  # none twice
    for section in saved:
        assert result.document.count(section["text"]) == 1


def test_short_targets_skip_planning(tmp_path):
    script = Script()
    ctx, _model = _context(script)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "job-4", instruction="Write a 150-word thank-you note.", target=150)
    assert result.plan_source == "single" and script.outlines == 0
    assert not result.document.startswith("#")
    assert 0.9 * 150 <= count_words(result.document) <= 1.1 * 150


def test_a_model_that_returns_nothing_fails_clearly(tmp_path):
    from longwrite.core.errors import GenerationError

    model = ScriptedChatModel(reply=lambda messages, options: "")
    ctx = scripted_context(settings=Settings(home="/nonexistent"), make_model=lambda: model)
    with JobStore(tmp_path / "jobs.sqlite") as store, pytest.raises(GenerationError, match="no usable text"):
        run_job(store, ctx, "job-5", instruction="Write a 150-word note.", target=150)


def test_job_ids_are_checked(tmp_path):
    from longwrite.core.errors import InputError

    ctx, _ = _context(Script())
    with JobStore(tmp_path / "jobs.sqlite") as store:
        with pytest.raises(InputError, match="no job 'missing'"):
            run_job(store, ctx, "missing", resume=True)
        run_job(store, ctx, "job-6", instruction="Write a 150-word note.", target=150)
        with pytest.raises(InputError, match="already exists"):
            run_job(store, ctx, "job-6", instruction="Write a 150-word note.", target=150)


class StingyScript(Script):
    """A model that writes a third of what each section asks for, and never more."""

    def __call__(self, messages, options) -> str:
        last = messages[-1].content
        if "more sections" in last:
            return "1. Savings habits: small steps that add up\n2. Savings habits: a duplicate title"
        if "Make an outline" in last:
            return "Title: Money\n" + "\n".join(f"{n}. Topic {n}: about money {n}" for n in range(1, 5))
        if "Write one more paragraph" in last:
            return ""
        self.sections_started += 1
        return prose(_requested_words(last) // 3, seed=f"s{self.sections_started}t")


def test_sections_are_added_when_the_model_writes_far_below_its_budgets(tmp_path):
    script = StingyScript()
    ctx, model = _context(script)
    with_endpoint(ctx, section_words=300)
    events = []
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "job-7", instruction="Write about money.", target=4000, on_event=events.append)
        values = store.values("job-7")
    assert values["extensions"] >= 1
    titles = [s["title"] for s in result.plan]
    assert "Savings habits" in titles and titles.count("Savings habits") == 1
    assert titles[-1] == "Topic 4"  # the closing section stays last
    assert any(e["event"] == "plan" and e["source"] == "extended" for e in events)
    assert len(result.plan) > 4
    # more sections are asked for at the end of the write conversation (the server's cache holds)
    asked = [messages for messages, _ in model.calls if "more sections" in messages[-1].content]
    assert asked and all(messages[1].content.startswith("Request: Write about money.") for messages in asked)
    # without extensions this model would reach about a third of the target
    assert result.words > 0.5 * 4000


class ShortClosingScript(Script):
    """Writes every section in full, except the closing, which stops after a few sentences."""

    def __call__(self, messages, options) -> str:
        last = messages[-1].content
        if "more sections" in last:
            return "1. Fog signals: how ships were warned"
        if "Make an outline" in last:
            return "Title: Lights\n1. Origins: early fires\n2. Lenses: the Fresnel lens\n3. Closing: what remains"
        self.sections_started += 1
        if '"Closing"' in last:  # 40 words, then nothing more
            return prose(40, seed=f"end{self.sections_started}v") if "Write the" in last else ""
        return prose(_requested_words(last), seed=f"s{self.sections_started}t")


def test_a_closing_that_ends_short_is_written_again_after_added_sections(tmp_path):
    from longwrite.agent.events import MarkdownStream

    ctx, _ = _context(ShortClosingScript())
    stream = MarkdownStream()
    streamed = []
    events = []

    def on_event(event):
        events.append(event)
        streamed.append(stream.feed(event))

    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "job-8", instruction="Write about lighthouses.", target=1200, on_event=on_event)
        values = store.values("job-8")
    titles = [s["title"] for s in result.plan]
    assert titles[-1] == "Closing" and "Fog signals" in titles  # added before the closing
    assert result.document.count("## Closing") == 1 and result.document.rstrip().split("## ")[-1].startswith("Closing")
    first_draft = next(e["text"] for e in events if e["event"] == "section_finished" and e["title"] == "Closing")
    assert values["sections"][-1]["text"].startswith(first_draft[:100])  # rewritten from its draft
    assert [s["index"] for s in values["sections"]] == list(range(len(result.plan)))
    assert result.words >= 0.9 * 1200
    assert "".join(streamed) == result.document  # a stream never shows the dropped closing


class EchoingContinuationScript(Script):
    """Writes each section at half its budget, then, asked to continue, writes it again verbatim."""

    def __call__(self, messages, options) -> str:
        last = messages[-1].content
        if "Make an outline" in last:
            return "Title: Bridges\n" + "\n".join(f"{n}. Span {n}: how span {n} is built" for n in range(1, 5))
        if "more sections" in last:
            return "\n".join(f"{n}. Cable {n}: the cables of span {n}" for n in range(1, 4))
        if "Write the" in last:
            self.sections_started += 1
            return prose(_requested_words(last) // 2, seed=f"b{self.sections_started}r")
        return str(messages[-2].content)  # a continuation: the partial section again


def test_a_section_whose_continuations_only_repeat_it_is_left_short(tmp_path):
    script = EchoingContinuationScript()
    ctx, _ = _context(script)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "job-echo", instruction="Write about bridges.", target=2000)
        values = store.values("job-echo")
    # one first call and two continuations that add nothing, not the whole call budget (the
    # closing keeps trying: no section comes after it)
    assert all(s["calls"] <= 1 + STALLS_BEFORE_LEAVING_SHORT for s in values["sections"][:-1])
    # the words the stalled sections left out were written by later and added sections
    assert values["extensions"] >= 1 and 0.9 * 2000 <= result.words <= 1.1 * 2000


def test_a_single_section_keeps_trying_after_stalled_continuations(tmp_path):
    """A short target is one section: nothing after it could take its missing words."""
    replies = iter([prose(40, seed="one"), "", "", prose(80, seed="two")])

    def reply(messages, options) -> str:
        return next(replies, "") or (str(messages[-2].content) if len(messages) > 2 else "")

    model = ScriptedChatModel(reply=reply)
    ctx = scripted_context(settings=Settings(home="/nonexistent"), make_model=lambda: model, section_words=400)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "job-short", instruction="Write a 120-word note.", target=120)
    assert result.plan_source == "single" and len(model.calls) == 4
    assert result.words >= 0.9 * 120


class EarlyEnder(Script):
    """A small model: ends every answer after 40% of the words asked for, unless the server holds
    it to min_tokens (1 token = 1 word here); its outline comes as JSON when a schema is sent."""

    def __init__(self, refuse_schema: tuple[int, str] | None = None) -> None:
        super().__init__()
        self.refuse_schema = refuse_schema  # (HTTP status, message) of the refusal

    def __call__(self, messages, options) -> str:
        last = messages[-1].content
        extra = options.get("extra_body", {})
        if "Make an outline" in last:
            self.outlines += 1
            response_format = extra.get("response_format", {})
            schema = response_format.get("schema") or response_format.get("json_schema", {}).get("schema")
            if schema and self.refuse_schema:
                status, message = self.refuse_schema
                response = httpx.Response(status, request=httpx.Request("POST", "http://model.test/v1"))
                raise openai.APIStatusError(message, response=response, body=None)
            if schema:
                count = schema["properties"]["sections"]["maxItems"]
                fields = schema["properties"]["sections"]["items"]["properties"]
                sections = [{"heading": f"Section {n}. Part {n}", "covers": f"topic {n}"} for n in range(1, count + 1)]
                sections = [{key: value for key, value in s.items() if key in fields} for s in sections]
                return json.dumps({"title": "Title: Lighthouses", "sections": sections})
            return _parts_outline(3)
        self.sections_started += 1
        words = max(int(0.4 * _requested_words(last)), extra.get("min_tokens", 0))
        return prose(words, seed=f"e{self.sections_started}x")


def test_where_the_server_takes_min_tokens_each_section_is_written_in_one_call(tmp_path):
    floored, floored_model = _context(EarlyEnder())
    with_endpoint(floored, min_tokens_param="min_tokens")
    plain, plain_model = _context(EarlyEnder())
    with JobStore(tmp_path / "jobs.sqlite") as store:
        held = run_job(store, floored, "floored", instruction="Write about lighthouses.", target=1200)
        held_sections = store.values("floored")["sections"]
        free = run_job(store, plain, "plain", instruction="Write about lighthouses.", target=1200)
    assert held.length_score >= 90 and free.length_score >= 90
    assert [s["calls"] for s in held_sections] == [1] * len(held_sections)
    for _messages, options in floored_model.calls[1:]:  # the section calls, after the outline
        floor, limit = options["extra_body"]["min_tokens"], options["extra_body"]["max_tokens"]
        assert 0.75 * limit <= floor < limit
    # without the floor the same model needs continuations, and no server is sent the field
    assert len(plain_model.calls) > len(floored_model.calls)
    assert not any("min_tokens" in options.get("extra_body", {}) for _, options in plain_model.calls)


class LongWinded(Script):
    """Writes three times the words it is asked for."""

    def __call__(self, messages, options) -> str:
        last = messages[-1].content
        if "Make an outline" in last:
            return _parts_outline(4)
        self.sections_started += 1
        return prose(3 * _requested_words(last), seed=f"w{self.sections_started}x")


def test_an_answer_is_stopped_at_the_first_sentence_end_past_its_budget(tmp_path):
    ctx, _ = _context(LongWinded())
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "job-long", instruction="Write about lighthouses.", target=1600)
        sections = store.values("job-long")["sections"]
    assert result.length_score >= 95
    for section in sections:  # one call each, ended within a sentence (8 words) past the budget
        assert section["calls"] == 1 and not section["trimmed"]
        assert section["budget"] <= section["words"] < section["budget"] + 8
        assert section["text"].endswith(".")


class HeadingWriter(Script):
    """Puts a title line before each section, writes sections at 60% of their budget (so they are
    continued), and remembers every answer as it wrote it."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[str] = []

    def __call__(self, messages, options) -> str:
        last = messages[-1].content
        if "Make an outline" in last:
            return _parts_outline(4)
        if "more sections" in last:
            return "\n".join(f"{n}. Lamp {n}: the lamps of tower {n}" for n in range(1, 3))
        words = _requested_words(last)
        if "Write the" in last:
            self.sections_started += 1
            answer = f"Keeper Notes\n\n{prose(int(words * 0.6), seed=f'h{self.sections_started}x')}"
        else:
            answer = prose(words, seed=f"k{len(messages)}y{self.sections_started}z")
        self.answers.append(answer)
        return answer


def test_each_write_prompt_extends_the_last_one_as_the_server_saw_it(tmp_path):
    """Every section call re-sends the previous call's prompt unchanged, followed by its answer as
    the model wrote it (the title line the document drops included), so the server's cache of both
    stays valid and only the new request is read."""
    script = HeadingWriter()
    ctx, model = _context(script)
    with_endpoint(ctx, context_tokens=100_000)  # room for all of it: a window slide changes the prompt by design
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "job-prefix", instruction="Write about lighthouses.", target=1600)
        values = store.values("job-prefix")
    assert "Keeper Notes" not in result.document
    assert any(s["calls"] > 1 for s in values["sections"])  # continuations are covered too
    planning = ("Make an outline", "more sections")
    writes = [m for m, _ in model.calls if not any(ask in m[-1].content for ask in planning)]
    assert len(writes) == len(script.answers) >= 5
    for earlier, later, answer in zip(writes, writes[1:], script.answers, strict=False):
        assert later[: len(earlier)] == earlier
        shown = later[len(earlier)].content
        assert shown.startswith("Keeper Notes") or "Keeper Notes" not in answer
        assert answer.startswith(shown) and len(shown) > 0.9 * len(answer)


def test_the_outline_is_held_to_a_schema_where_the_server_takes_one(tmp_path):
    script = EarlyEnder()
    ctx, model = _context(script)
    with_endpoint(ctx, structured_output="llamacpp")
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "json-plan", instruction="Write about lighthouses.", target=1200)
        attempts = store.values("json-plan")["plan_attempts"]
    assert script.outlines == 1 and attempts == 1
    assert result.document.startswith("# Lighthouses\n\n## Part 1\n\n")  # "Title:", "Section 1." cleaned
    first_prompt, first_options = model.calls[0]
    assert first_prompt[-1].content.endswith("Answer in JSON.")
    assert first_options["extra_body"]["response_format"]["type"] == "json_object"


def test_an_endpoint_whose_outline_sentences_are_noise_is_asked_for_headings_only(tmp_path):
    ctx, model = _context(EarlyEnder())
    with_endpoint(ctx, structured_output="llamacpp", outline_points=False)
    refused, refused_model = _context(EarlyEnder(refuse_schema=(400, "Unrecognized request argument")))
    with_endpoint(refused, structured_output="json_schema", outline_points=False)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "headings", instruction="Write about lighthouses.", target=1200)
        run_job(store, refused, "refused", instruction="Write about lighthouses.", target=1200)
    prompt, options = model.calls[0]
    schema = options["extra_body"]["response_format"]["schema"]
    assert list(schema["properties"]["sections"]["items"]["properties"]) == ["heading"]
    assert "each with a short heading" in prompt[-1].content and "sentence" not in prompt[-1].content
    assert [s["title"] for s in result.plan][:2] == ["Part 1", "Part 2"] and result.length_score >= 90
    # asked for lines after a refusal, a server gets the sentence back (lines parse either way)
    assert "one sentence on what it covers" in refused_model.calls[1][0][-1].content


@pytest.mark.parametrize(
    "refusal",
    [
        (400, "Unrecognized request argument: response_format"),  # OpenAI, vLLM
        (500, "1 validation error: ('body', 'response_format', 'type')"),  # llama-cpp-python, other dialect
    ],
)
def test_a_server_that_refuses_the_outline_schema_is_asked_for_lines(tmp_path, refusal):
    script = EarlyEnder(refuse_schema=refusal)
    ctx, model = _context(script)
    with_endpoint(ctx, structured_output="json_schema")
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "lines-plan", instruction="Write about lighthouses.", target=1200)
    assert script.outlines == 2  # the refused call, then the outline as lines
    assert not any("response_format" in options["extra_body"] for _, options in model.calls[1:])
    titles = [s["title"] for s in result.plan]  # the outline's sections (and any added ones between)
    assert result.plan_source == "model" and titles[:2] == ["Part 1", "Part 2"] and titles[-1] == "Part 3"


def _fail_checkpoint_write(saver, fail_at: int) -> list[int]:
    """Make the `fail_at`-th checkpoint write of `saver` raise as a full disk does; counts the writes."""
    writes = [0]

    def counted(method):
        def call(*args, **kwargs):
            writes[0] += 1
            if writes[0] == fail_at:
                raise sqlite3.OperationalError("database or disk is full")
            return method(*args, **kwargs)

        return call

    saver.put = counted(saver.put)
    saver.put_writes = counted(saver.put_writes)
    return writes


def _count_checkpoint_writes(tmp_path) -> int:
    with JobStore(tmp_path / "count.sqlite") as store:
        writes = _fail_checkpoint_write(store.saver, fail_at=0)
        run_job(store, _context(Script())[0], "count", instruction="Write about lighthouses.", target=2000)
    return writes[0]


def test_a_failed_checkpoint_write_never_leaves_a_job_that_resumes_short(tmp_path):
    """Whichever checkpoint write fails (a full disk), the resumed job writes its whole plan."""
    writes = _count_checkpoint_writes(tmp_path)
    assert writes > 10
    for fail_at in range(1, writes + 1):
        db = tmp_path / f"jobs-{fail_at}.sqlite"
        with JobStore(db) as store:
            _fail_checkpoint_write(store.saver, fail_at)
            with pytest.raises(StorageError) as failed:  # the store's own error, caused by SQLite's
                run_job(store, _context(Script())[0], "job", instruction="Write about lighthouses.", target=2000)
            assert isinstance(failed.value.__cause__, sqlite3.OperationalError)
        with JobStore(db) as store:
            if not store.values("job"):
                continue  # nothing was saved: there is no job to resume (the CLI says so)
            result = run_job(store, _context(Script(salt="r"))[0], "job", resume=True)
            values = store.values("job")
        assert result.status == "done", fail_at
        assert len(values["sections"]) == len(values["plan"]), fail_at  # the whole plan is written
        assert [s["index"] for s in values["sections"]] == list(range(len(values["plan"]))), fail_at
        assert 0.9 * 2000 <= result.words <= 1.1 * 2000, (fail_at, result.words)


def test_a_job_is_written_by_one_process_at_a_time(tmp_path):
    db = tmp_path / "jobs.sqlite"
    with JobStore(db) as store:
        ctx = _context(Script())[0]
        run_job(store, ctx, "held", instruction="Write about lighthouses.", target=600, plan_only=True)
        holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            with store._lock_connection() as locks:  # another live process holds the job
                locks.execute("INSERT INTO job_holders VALUES ('held', ?, ?, 0)", (holder.pid, socket.gethostname()))
            with pytest.raises(InputError, match=rf"being written by process {holder.pid}"):
                run_job(store, _context(Script())[0], "held", resume=True)
        finally:
            holder.kill()
            holder.wait()
        result = run_job(store, _context(Script())[0], "held", resume=True)  # a dead holder does not block
        assert result.status == "done"
        with store._lock_connection() as locks:
            assert locks.execute("SELECT COUNT(*) FROM job_holders").fetchone()[0] == 0  # released


def test_headings_a_model_writes_inside_a_section_sit_below_the_plans(tmp_path):
    def reply(messages, options) -> str:
        last = messages[-1].content
        if "Make an outline" in last:
            return _parts_outline(3)
        words = _requested_words(last)
        half = prose(words // 2, seed=f"a{len(model.calls)}")
        return f"{half}\n\n## Question {len(model.calls)}\n\n# Answer\n\n" + prose(
            words // 2, seed=f"b{len(model.calls)}"
        )

    model = ScriptedChatModel(reply=reply)
    ctx = scripted_context(settings=Settings(home="/nonexistent"), make_model=lambda: model, section_words=400)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "job-h", instruction="Write a 1200-word piece on lighthouses.", target=1200)
    top = re.findall(r"^#{1,2} (.+)$", result.document, flags=re.MULTILINE)
    assert top == ["Lighthouses", *[section["title"] for section in result.plan]]  # the outline is the plan
    assert "### Question" in result.document and "### Answer" in result.document  # kept, one level down


class StoppingModel(ScriptedChatModel):
    """Sets `stop` (the page's Stop) after `words` words of its call number `call` have streamed."""

    stop: Any = None
    call: int = 0
    words: int = 0

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        for number, chunk in enumerate(super()._stream(messages, stop, run_manager, **kwargs)):
            if len(self.calls) == self.call and number == self.words:
                self.stop.set()
            yield chunk


def test_a_stop_mid_section_keeps_its_text_and_the_resume_continues_it(tmp_path):
    """Stop pauses: the section in progress keeps what had arrived (to its last full sentence),
    the job shows it, and the resume writes on from it: no word lost, none written twice."""
    plan = [Section(title=f"Part {n}", points="", words=200) for n in (1, 2, 3)]
    stop = threading.Event()

    def reply(messages, options) -> str:
        return prose(_requested_words(messages[-1].content), seed=f"p{len(model.calls)}")

    # part 1 is one call; 61 words of part 2's first call are shown: seven sentences and five words
    model = StoppingModel(reply=reply, stop=stop, call=2, words=61)
    ctx = scripted_context(Settings(home="/nonexistent"), make_model=lambda: model, cancel=stop)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        with pytest.raises(Cancelled):
            run_job(store, ctx, "paused", instruction="Write about tea.", target=600, plan=plan)
        values = store.values("paused")
        assert len(values["sections"]) == 1 and values["sections"][0]["calls"] == 1
        draft = values["paused_draft"]
        assert draft["index"] == 1 and count_words(draft["text"]) == 56  # the unfinished sentence left out
        assert draft["text"] == " ".join(prose(200, seed="p2").split()[:56])  # part 2's answer, as shown
        shown = document_of(values)
        assert values["sections"][0]["text"] in shown and shown.rstrip().endswith(draft["text"])

        stop.clear()
        result = run_job(store, ctx, "paused", resume=True)
        finished = store.values("paused")
    part_2 = finished["sections"][1]["text"]
    assert result.status == "done" and finished["paused_draft"] is None
    assert part_2.startswith(draft["text"]) and count_words(part_2) >= 180
    assert result.document.count(draft["text"]) == 1
