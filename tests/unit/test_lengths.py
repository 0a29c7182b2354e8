"""The length a user asks for: stated, a range, parts, other units, or none (then the plan sizes it)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from longwrite.agent.jobs import JobStore, run_job, write_once
from longwrite.agent.plan import outline_schema, parse_outline, sized_outline
from longwrite.agent.plan_file import plan_to_json
from longwrite.agent.state import AgentContext
from longwrite.cli.write_run import Progress, WriteCommand, check_request
from longwrite.core.lengths import (
    WORDS_PER_PAGE,
    WORDS_PER_PARAGRAPH,
    WORDS_PER_SPOKEN_MINUTE,
    ZH_CHARS_PER_PAGE,
    ZH_CHARS_PER_PARAGRAPH,
    ZH_CHARS_PER_SPOKEN_MINUTE,
    StatedLength,
    required_length,
    stated_length,
)
from longwrite.core.limits import target_from, target_length, target_note
from longwrite.core.settings import Settings
from tests.unit.scripted import ScriptedChatModel, prose, scripted_context, with_endpoint

BENCHMARKS = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"

# LongBench-Write rows (0-based line numbers of longbench_write.jsonl) whose instruction states no
# length: the benchmark's label is its authors' guess, which no reading of the text can recover.
NO_STATED_LENGTH = {
    13: "Write a list of 15 emojis relating to various emotions, and for each emoji-emotion",
    41: "把上面的内容写成一篇知乎文章",
    50: "出10道关于新民主主义革命的单选题",
}


# ---------------------------------------------------------------- reading the instruction


@pytest.mark.parametrize(
    ("instruction", "words", "how"),
    [
        ("Write a 3000-word essay on tea.", 3000, "stated"),
        ("写一篇三千字的文章", 3000, "stated"),
        # ranges: the upper bound, as LongBench-Write labels them
        ("字数要求100至200字。", 200, "range"),
        ("生成小红书自媒体风格文章，300到400字", 400, "range"),
        ("Write 300-400 words on tea.", 400, "range"),
        ("Write between 800 and 1,000 words about maps.", 1000, "range"),
        ("Word count: 1500-2000", 2000, "range"),
        ("Write at least 800 words and no more than 1,000 words.", 1000, "range"),
        ("字数不少于八百字，不超过一千字", 1000, "range"),
        # counts of parts multiply
        ("分两部分写，各写1000字", 2000, "parts"),
        ("创作五篇日记。在日本行程5天，每天一篇。每篇400字左右。", 2000, "parts"),
        ("写三篇800字的文章", 2400, "parts"),
        ("Write five diary entries, each about 400 words.", 2000, "parts"),
        ("Write five diary entries of about 400 words.", 2000, "parts"),
        ("Write 3 poems of 200 words each.", 600, "parts"),
        ("Write three 300-word poems.", 900, "parts"),
        ("A 3-part series with 800 words per part.", 2400, "parts"),
        # listed parts add up; a length named as the total wins; the same number twice is one
        ("Write a 500-word summary and then an 800-word analysis.", 1300, "parts"),
        ("先写500字的摘要，再写800字的分析", 1300, "parts"),
        ("Write 5 sections of 400 words each, 2000 words in total.", 2000, "stated"),
        ("全文3000字，每部分500字", 3000, "stated"),
        ("Write a 2000-word essay. It must be 2000 words long.", 2000, "stated"),
        # other units, only where no word count is given
        ("Write a 50-page novel about a man's quest.", 50 * WORDS_PER_PAGE, "unit"),
        ("Write a one-page cover letter.", WORDS_PER_PAGE, "unit"),
        ("写一篇五页的报告", 5 * ZH_CHARS_PER_PAGE, "unit"),
        ("Write a 10-minute speech for my sister's wedding.", 10 * WORDS_PER_SPOKEN_MINUTE, "unit"),
        ("写一篇三分钟的演讲稿", 3 * ZH_CHARS_PER_SPOKEN_MINUTE, "unit"),
        ("Write three paragraphs about tea.", 3 * WORDS_PER_PARAGRAPH, "unit"),
        ("Answer in a single paragraph.", WORDS_PER_PARAGRAPH, "unit"),
        ("请分三段介绍茶。", 3 * ZH_CHARS_PER_PARAGRAPH, "unit"),
        ("写五段话介绍茶", 5 * ZH_CHARS_PER_PARAGRAPH, "unit"),
        ("A 10-minute speech of about 1,500 words.", 1500, "stated"),  # words win over units
    ],
)
def test_every_way_of_asking_reads_back(instruction, words, how):
    found = stated_length(instruction)
    assert (found.words, found.how) == (words, how), found
    assert required_length(instruction) == words
    assert found.source and all(piece in instruction for piece in found.source.split(" … "))


@pytest.mark.parametrize(
    "instruction",
    [
        "write a list of 15 emojis with meanings",
        "Write a Zhihu-style answer about bird's nest soup.",
        "把上面的内容写成一篇知乎文章，口气像写日常一样。",
        "出10道关于新民主主义革命的单选题",
        "Write a story about a 10-minute walk.",  # minutes count only in something spoken
        "Write a 5-minute read on tea.",
        "第三章写得更生动一些",  # an ordinal, not a count
        "Write a web page about tea.",
        "",
    ],
)
def test_no_length_is_reported_as_none(instruction):
    assert stated_length(instruction) == StatedLength(words=None, how="none")
    assert required_length(instruction) is None


def test_how_a_length_was_found_reads_well():
    assert stated_length("创作五篇日记，每篇400字左右").describe() == "2,000 words (5 x 400, from '五篇 … 400字')"
    assert stated_length("Write a 50-page novel.").describe() == "10,000 words (50 pages x 200 words, from '50-page')"
    assert stated_length("Write a 3000-word essay.").describe() == "3,000 words (from '3000-word')"
    assert stated_length("Write about tea.").describe() == "no length stated"


def _benchmark_rows() -> list[dict]:
    path = BENCHMARKS / "longbench_write.jsonl"
    if not path.exists():
        pytest.skip("shared benchmarks not present")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_longbench_write_length_that_is_stated_is_read_exactly():
    rows = _benchmark_rows()
    assert len(rows) == 120
    for number, row in enumerate(rows):
        found = stated_length(row["prompt"])
        if number in NO_STATED_LENGTH:
            assert NO_STATED_LENGTH[number] in row["prompt"]
            assert found.how == "none" and found.words is None, (number, found)
        else:
            assert found.words == row["length"], (number, found, row["prompt"][:200])


# ---------------------------------------------------------------- the target and where it came from


def test_a_target_comes_from_the_request_the_instruction_or_the_plan():
    settings = Settings(home="/nonexistent")
    assert target_length("Write a 900-word essay.", 1200, "--words", settings) == 1200
    assert target_length("五篇日记，每篇400字", None, "--words", settings) == 2000
    assert target_length("Write about tea.", None, "--words", settings) is None  # not the 2,000 default
    assert target_from("Write a 900-word essay.", 1200) == "request"
    assert target_from("Write a 900-word essay.", 900) == "instruction"
    assert target_from("Write about tea.", None) == "plan"
    assert target_note("Write about tea.", None, settings) == (
        f"no length stated: the plan sizes it (at most {settings.max_planned_words:,} words)"
    )
    assert target_note("Write three 300-word poems.", 900, settings) == "900 words (3 x 300, from 'three … 300-word')"


# ---------------------------------------------------------------- the plan sizes what no one stated


def test_the_model_sizes_the_sections_and_the_cap_holds():
    outline = parse_outline(
        json.dumps({"title": "Tea", "sections": [{"heading": "Origins", "covers": "Where tea began.", "words": 300},
                                                 {"heading": "Brewing", "covers": "How to brew it well.", "words": 50},
                                                 {"heading": "Kinds", "covers": "Green, black and oolong."}]})
    )  # fmt: skip
    sized, target = sized_outline(outline, min_words=200, max_words=1000, section_words=250, cap=4000)
    assert [s["words"] for s in sized.sections] == [300, 200, 250] and target == 750  # held to the bounds
    assert sized_outline(outline, 200, 1000, 250, cap=600)[1] == 600
    schema = outline_schema(12, fewest=2, words=(200, 1000))
    sections = schema["properties"]["sections"]
    assert (sections["minItems"], sections["maxItems"]) == (2, 12)
    assert sections["items"]["properties"]["words"] == {"type": "integer", "minimum": 200, "maximum": 1000}
    assert "words" not in outline_schema(5)["properties"]["sections"]["items"]["properties"]
    assert json.loads(plan_to_json("Tea", [], 750, "plan"))["target_from"] == "plan"


class SizingPlanner:
    """Plans with its own section sizes (JSON under a schema, else lines ending "(N words)"), then
    writes each section to the length its step asks for."""

    def __init__(self, sizes: list[int]) -> None:
        self.sizes = sizes
        self.plan_prompts: list[str] = []

    def __call__(self, messages, options) -> str:
        last = messages[-1].content
        if "Make an outline" in last:
            self.plan_prompts.append(last)
            if "response_format" in options.get("extra_body", {}):
                sections = [{"heading": f"Part {n}", "covers": f"Topic number {n} in depth.", "words": size}
                            for n, size in enumerate(self.sizes, start=1)]  # fmt: skip
                return json.dumps({"title": "Tea", "sections": sections})
            lines = [f"{n}. Part {n}: topic number {n} in depth ({size} words)" for n, size in enumerate(self.sizes, 1)]
            return "Title: Tea\n" + "\n".join(lines)
        match = re.search(r"about (\d+)(?: more)? words", last)
        return prose(int(match.group(1)) if match else 100, seed=f"s{len(messages)}")


def _sizing_context(planner: SizingPlanner, structured_output: str = "off") -> tuple[AgentContext, ScriptedChatModel]:
    model = ScriptedChatModel(reply=planner)
    ctx = scripted_context(settings=Settings(home="/nonexistent"), make_model=lambda: model, section_words=400)
    with_endpoint(ctx, structured_output=structured_output)
    return ctx, model


@pytest.mark.parametrize("structured_output", ["off", "llamacpp"])
def test_with_no_stated_length_the_plan_section_sizes_are_the_target(tmp_path, structured_output):
    planner = SizingPlanner([300, 500, 400])
    ctx, model = _sizing_context(planner, structured_output)
    events: list[dict] = []
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "sized", instruction="Write a guide to brewing tea.", target=None,
                         on_event=events.append)  # fmt: skip
    assert result.target == 1200 != ctx.settings.default_target_words  # the plan's sizes, not the default
    plan_event = next(e for e in events if e["event"] == "plan")
    assert [s["words"] for s in plan_event["plan"]] == [300, 500, 400]  # as planned (writing rebalances them)
    assert plan_event["target"] == 1200 and plan_event["target_from"] == "plan" == result.target_from
    assert next(e for e in events if e["event"] == "done")["target"] == 1200
    assert "does not say how long" in planner.plan_prompts[0]
    assert (
        "(2 to 12)" in planner.plan_prompts[0]
        and f"under {ctx.settings.max_planned_words} words" in planner.plan_prompts[0]
    )
    if structured_output == "off":
        assert "(300 words)" in planner.plan_prompts[0]  # lines: asked to end with their length
    else:
        schema = model.calls[0][1]["extra_body"]["response_format"]["schema"]
        assert "words" in schema["properties"]["sections"]["items"]["properties"]
    assert 0.9 * 1200 <= result.words <= 1.1 * 1200


def test_a_plan_sized_beyond_the_cap_is_held_to_it(tmp_path):
    planner = SizingPlanner([1000] * 6)
    ctx, _model = _sizing_context(planner)
    ctx.settings = Settings(home="/nonexistent", max_planned_words=2400)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "capped", instruction="Write about tea.", target=None, plan_only=True)
    assert result.target == 2400 == sum(s["words"] for s in result.plan)


def test_a_stated_length_is_planned_as_before(tmp_path):
    planner = SizingPlanner([300, 500, 400])
    ctx, _model = _sizing_context(planner)
    events: list[dict] = []
    result = write_once(ctx, "Write a 2000-word guide to brewing tea.", 2000, on_event=events.append)
    planned = next(e for e in events if e["event"] == "plan")
    assert result.target == 2000 == planned["target"] == sum(s["words"] for s in planned["plan"])
    assert result.target_from == planned["target_from"] == ""
    assert "about 2000 words" in planner.plan_prompts[0] and "does not say" not in planner.plan_prompts[0]


def test_with_no_usable_plan_the_fallback_outline_takes_the_default(tmp_path):
    model = ScriptedChatModel(reply=lambda messages, options: (
        "I cannot" if "Make an outline" in messages[-1].content else prose(150, seed=f"f{len(messages)}")))  # fmt: skip
    ctx = scripted_context(settings=Settings(home="/nonexistent"), make_model=lambda: model, section_words=400)
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result = run_job(store, ctx, "fallback", instruction="Write about tea.", target=None, plan_only=True)
    assert result.plan_source == "fallback" and result.target == ctx.settings.default_target_words


def test_the_cli_leaves_an_unstated_length_to_the_plan_and_says_so():
    settings = Settings(home="/nonexistent")
    request = WriteCommand(instruction="Write about tea.", words=None, mode="agent", output=None, job=None,
                           resume=False, plan_only=True, plan_file=None, json_summary=False)  # fmt: skip
    assert check_request(request, settings) is None  # the plan sizes it, not the 2,000 default
    stream = io.StringIO()
    Progress(stream)({"event": "plan", "plan": [{"title": "A", "points": "", "words": 700}] * 2, "source": "model",
                      "title": "Tea", "target": 1400, "target_from": "plan"})  # fmt: skip
    assert stream.getvalue() == "plan (model): 2 sections - Tea - 1,400 words, sized by the plan\n"
