"""Synthesis input checks and endpoint rotation (the real runs are in tests/integration)."""

from __future__ import annotations

import json

import pytest

from longwrite.errors import InputError
from longwrite.settings import Settings
from model.client import Endpoint
from training.synth import FAILURES_BEFORE_REST, EndpointPool, SynthRequest, read_instructions, synthesize

SETTINGS = Settings(home="/nonexistent")


def _file(tmp_path, *lines: str):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_instructions_get_ids_targets_and_duplicates_merged(tmp_path):
    rows = read_instructions(
        _file(
            tmp_path,
            json.dumps({"prompt": "Write a 3000-word guide to tea."}),
            json.dumps({"id": "b", "prompt": "Write about rivers.", "length": 1200}),
            json.dumps({"id": "b", "prompt": "Write about rivers.", "length": 1200}),  # the same row again
            json.dumps({"prompt": "Write about clouds."}),
        ),
        SETTINGS,
    )
    assert [row.target for row in rows] == [3000, 1200, 2000]  # from the text, the field, the default
    assert rows[1].id == "b" and len(rows[0].id) == 16 and rows[0].id != rows[2].id


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"prompt": "a"}', "{broken"], "in.jsonl:2: not valid JSON"),
        (['{"id": "x"}'], 'in.jsonl:1: the row has no "prompt"'),
        (['{"prompt": "   "}'], 'no "prompt"'),
        (['{"id": "x", "prompt": "a"}', '{"id": "x", "prompt": "b"}'], "in.jsonl:2: id x was used on line 1"),
        (['{"prompt": "a", "length": "900"}'], "whole number"),
        (['{"prompt": "a", "length": -4}'], "positive"),
        ([""], "no instructions"),
    ],
)
def test_bad_instruction_files(tmp_path, lines, message):
    with pytest.raises(InputError, match=message):
        read_instructions(_file(tmp_path, *lines), SETTINGS)


def test_output_in_a_missing_folder_is_refused_before_any_model_starts(tmp_path):
    source = _file(tmp_path, '{"prompt": "Write a note."}')
    with pytest.raises(InputError, match="does not exist"):
        synthesize(SynthRequest(source=source, output=tmp_path / "no" / "out.jsonl"), SETTINGS)


def test_endpoints_that_keep_failing_rest():
    endpoints = [Endpoint(base_url=f"http://host{i}/v1", model="m") for i in range(3)]
    pool = EndpointPool(endpoints)
    assert [pool.take() for _ in range(4)] == [0, 1, 2, 0]
    for _ in range(FAILURES_BEFORE_REST):
        pool.failed(1)
    assert [pool.take() for _ in range(4)] == [2, 0, 2, 0]  # host1 rests
    pool.succeeded(0)
    single = EndpointPool(endpoints[:1])
    for _ in range(FAILURES_BEFORE_REST):
        single.failed(0)
    assert single.take() == 0  # with nothing else to use, the resting one is still used
