"""Synthesis input checks and endpoint rotation (the real runs are in tests/integration)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from longwrite.core.errors import InputError
from longwrite.core.settings import Settings
from longwrite.model.client import Endpoint
from longwrite.training.synth import FAILURES_BEFORE_REST, EndpointPool, SynthRequest, read_instructions, synthesize

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
        ([""], "in.jsonl is empty"),
        (["[1, 2]"], "in.jsonl:1: not a JSON object"),
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


def test_instructions_from_parquet_and_a_saved_dataset_of_sft_rows(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = [
        {"messages": [{"role": "user", "content": "Write a 900-word essay on salt."},
                      {"role": "assistant", "content": "Salt ..."}]},
        {"messages": [{"role": "user", "content": "Write about maps."}, {"role": "assistant", "content": "Maps"}]},
    ]  # fmt: skip
    data = datasets.Dataset.from_list(rows)
    data.to_parquet(str(tmp_path / "rows.parquet"))
    data.save_to_disk(str(tmp_path / "saved"))
    for source in (tmp_path / "rows.parquet", tmp_path / "saved"):
        instructions = read_instructions(source, SETTINGS)
        assert [(row.prompt, row.target) for row in instructions] == [
            ("Write a 900-word essay on salt.", 900), ("Write about maps.", 2000)]  # fmt: skip


def test_cli_hf_dataset_feeds_curate_and_bad_inputs_are_named(tmp_path):
    datasets = pytest.importorskip("datasets")
    from typer.testing import CliRunner

    from longwrite.cli import app

    synthesised = Path(__file__).parents[1] / "data" / "synth_small.jsonl"
    rows = [json.loads(line) for line in synthesised.read_text().splitlines()]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))
    result = CliRunner().invoke(
        app, ["curate", "--hf-dataset", str(tmp_path / "saved"), "-o", str(tmp_path / "c.jsonl")]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"kept {len(rows)} of {len(rows)} rows")
    not_folder = CliRunner().invoke(app, ["synth", "--hf-dataset", str(synthesised), "-o", str(tmp_path / "s.jsonl")])
    assert not_folder.exit_code == 2 and "is not a folder" in not_folder.output and "save_to_disk" in not_folder.output
    both = CliRunner().invoke(app, ["synth", str(synthesised), "--hf-dataset", str(tmp_path / "saved"), "-o", "x"])
    assert both.exit_code == 2 and "Give one input" in both.output
