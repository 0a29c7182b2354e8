"""Plan parsing, validation, renormalisation and the fallback outline."""

from __future__ import annotations

import json

import pytest

from longwrite.agent.plan import (
    build_plan,
    fallback_plan,
    outline_schema,
    parse_outline,
    topic_of,
)
from longwrite.agent.plan_file import plan_to_json
from longwrite.agent.prompts import CHINESE, ENGLISH
from longwrite.cli.plan_files import load_plan_file
from longwrite.core.errors import InputError

MESSY = """Sure! Here is the outline you asked for.
Title: A History of Lighthouses
1. Ancient beacons: Fires on hills guided early sailors. (300 words)
2) **Medieval towers** - Monks kept lights burning (about 500 words)
Section 3: The age of engineering | Smeaton and the Fresnel lens | 700 words
- Keepers and their lives: the daily routine
### Automation
1. Ancient beacons: the same section again
I hope this helps!"""


def test_parse_outline_tolerates_numbering_styles_markdown_and_chatter():
    outline = parse_outline(MESSY)
    assert outline.title == "A History of Lighthouses"
    titles = [s["title"] for s in outline.sections]
    assert titles == ["Ancient beacons", "Medieval towers", "The age of engineering", "Keepers and their lives",
                      "Automation"]  # fmt: skip
    assert outline.sections[0]["points"] == "Fires on hills guided early sailors."
    assert [s["words"] for s in outline.sections] == [300, 500, 700, 0, 0]


def test_parse_outline_turns_a_sentence_into_point_and_short_heading():
    outline = parse_outline(
        "Section 1: The history of lighthouses is a tale of perseverance, innovation, and dedication that began early."
    )
    section = outline.sections[0]
    assert len(section["title"].split()) <= 10
    assert "perseverance" in section["points"]


def test_parse_outline_reads_chinese():
    outline = parse_outline(
        "标题：灯塔的历史\n第一部分：古代的灯塔\n二、近代的灯塔：技术的进步\n3. 守塔人的生活（500字）"
    )
    assert outline.title == "灯塔的历史"
    assert [s["title"] for s in outline.sections] == ["古代的灯塔", "近代的灯塔", "守塔人的生活"]
    assert outline.sections[2]["words"] == 500


def test_parse_outline_reads_a_json_outline_and_cleans_what_small_models_put_in_it():
    answer = json.dumps(
        {
            "title": "Title: Bridge Building",
            "sections": [
                {"heading": "Section 1. Why bridges stand", "covers": "Loads and arches."},
                {"heading": "Section 2", "covers": "Steel and stone."},
                {"heading": "第三部分：材料", "covers": ""},
                {"heading": "4. Why bridges stand", "covers": "the same heading again"},
                {"heading": "Section 5", "covers": "]["},
                {"heading": "Who builds them", "covers": "{"},
                "not an object",
            ],
        }
    )
    outline = parse_outline(answer)
    assert outline.title == "Bridge Building"
    sections = [(s["title"], s["points"]) for s in outline.sections]
    assert sections == [
        ("Why bridges stand", "Loads and arches."),
        ("Steel and stone", ""),  # a heading that is only a number: made from what it covers
        ("材料", ""),
        ("Who builds them", ""),  # covers with no words in it are dropped
    ]
    # raw newlines inside strings, as small models write them, still parse
    raw_newlines = '{"sections": [{"heading": "1. Early days", "covers": "\n\n"}]}'
    assert [s["title"] for s in parse_outline(raw_newlines).sections] == ["Early days"]
    # JSON that is not an outline is read as lines (and yields nothing here)
    assert parse_outline('{"verdict": "fine"}').sections == []


def test_outline_schema_asks_for_exactly_the_planned_count():
    schema = outline_schema(5)
    assert schema["properties"]["sections"]["minItems"] == schema["properties"]["sections"]["maxItems"] == 5
    assert schema["required"] == ["title", "sections"]
    assert "title" not in outline_schema(3, with_title=False)["properties"]


def test_build_plan_renormalises_budgets_to_the_target():
    plan = build_plan(parse_outline(MESSY), 2000, 200, 1000, ENGLISH)
    assert plan is not None
    assert sum(s["words"] for s in plan) == 2000
    assert all(200 <= s["words"] <= 1000 for s in plan)


def test_build_plan_merges_when_sections_would_be_too_small():
    plan = build_plan(parse_outline(MESSY), 600, 200, 1000, ENGLISH)
    assert plan is not None and len(plan) == 3
    assert sum(s["words"] for s in plan) == 600


def test_build_plan_rejects_too_few_sections_until_the_last_try_then_splits():
    outline = parse_outline("1. Beacons: fire\n2. Towers: stone")
    assert build_plan(outline, 5000, 200, 1000, ENGLISH) is None
    plan = build_plan(outline, 5000, 200, 1000, ENGLISH, accept_few=True)
    assert plan is not None and 5 <= len(plan) <= 25
    assert all(200 <= s["words"] <= 1000 for s in plan)
    assert sum(s["words"] for s in plan) == 5000
    assert any(s["title"].startswith("Beacons: ") for s in plan)  # a new angle on a planned topic


def test_build_plan_rejects_an_outline_with_one_section_for_a_long_target():
    assert build_plan(parse_outline("1. Everything: all of it"), 3000, 200, 1000, ENGLISH, accept_few=True) is None
    assert build_plan(parse_outline("no outline here at all"), 3000, 200, 1000, ENGLISH) is None


@pytest.mark.parametrize("target", [400, 2000, 10000, 20000])
def test_fallback_plan_is_valid_for_any_target(target):
    plan = fallback_plan("Write a history of lighthouses.", target, 200, 1000, 400, ENGLISH)
    assert sum(s["words"] for s in plan) == target
    assert all(200 <= s["words"] <= 1000 for s in plan)
    assert len({s["title"] for s in plan}) == len(plan)
    assert plan[0]["title"] == "Introduction" and plan[-1]["title"] == "Conclusion"


def test_fallback_plan_in_chinese():
    plan = fallback_plan("写一篇关于灯塔历史的文章", 3000, 200, 1000, 500, CHINESE)
    assert plan[0]["title"] == "引言"
    assert "灯塔" in plan[0]["points"]


def test_topic_of_strips_the_request():
    assert topic_of("Write a 2000-word article about the history of lighthouses.") == "the history of lighthouses"
    assert topic_of("写一篇关于灯塔的文章") == "关于灯塔的文章"


def test_plan_file_round_trip(tmp_path):
    plan = fallback_plan("Write about tea.", 2000, 200, 1000, 500, ENGLISH)
    path = tmp_path / "plan.json"
    path.write_text(plan_to_json("Tea", plan, 2000))
    title, loaded = load_plan_file(path, None)
    assert title == "Tea" and loaded == plan
    _, scaled = load_plan_file(path, 4000)
    assert sum(s["words"] for s in scaled) == 4000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"sections": []}', 'non-empty "sections"'),
        ('{"sections": [{"points": "x", "words": 10}]}', "Section 1 of the plan file .* has no title"),
        ('{"sections": [{"title": "A", "words": 0}]}', "positive whole number"),
        ('{"sections": [{"title": "A", "words": -3}]}', "positive whole number"),
        ('{"sections": [{"title": "A", "words": "many"}]}', "positive whole number"),
        ('{"sections": [{"title": "A"}]}', "pass --words"),
    ],
)
def test_invalid_plan_files_get_a_clear_error(tmp_path, content, message):
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_plan_file(path, None)


def test_missing_plan_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_plan_file(tmp_path / "nope.json", None)
    assert json.loads(plan_to_json("T", [], 1))["target_words"] == 1


def test_a_two_section_outline_can_grow_to_a_very_long_target():
    plan = build_plan(parse_outline("1. Beacons: fire\n2. Towers: stone"), 20_000, 200, 1000, ENGLISH, accept_few=True)
    assert plan is not None and len(plan) >= 20
    assert len({s["title"] for s in plan}) == len(plan)
    assert sum(s["words"] for s in plan) == 20_000
