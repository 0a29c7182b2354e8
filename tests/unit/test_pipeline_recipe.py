"""The pipeline recipe's keys: each declared once, with its help, listed by `longwrite pipeline --help`;
the sections that talk to a model hand the stages one EndpointSpec, its URL cleaned."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pytest
from typer.testing import CliRunner

from longwrite.cli import app
from longwrite.core.endpoint_spec import EndpointSpec
from longwrite.core.errors import InputError
from longwrite.core.settings import Settings
from longwrite.training.pipeline import StageRun
from longwrite.training.pipeline_io import GENERAL_PROMPTS, LONG
from longwrite.training.pipeline_recipe import (
    ANNEAL_MIN_WORDS,
    PAIRS_SET_BY_THE_PIPELINE,
    STAGE_SECTIONS,
    TOP_LEVEL,
    AnnealKeys,
    TopLevelKeys,
    load_pipeline_recipe,
)
from longwrite.training.recipe import PairsRecipe, default_of

MINIMAL = "run_dir: {run_dir}\nsft:\n  embedded_model: true\n"
# every section of keys the pipeline declares itself (sft and dpo are `longwrite train`'s, listed by its --help)
KEY_SECTIONS: dict[str, type] = {"top level": TopLevelKeys, **STAGE_SECTIONS, "anneal": AnnealKeys}


def _recipe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text.format(run_dir=tmp_path / "run"), encoding="utf-8")
    return path


def _declared_keys() -> list[tuple[str, dataclasses.Field]]:
    keys = [(section, item) for section, kind in KEY_SECTIONS.items() for item in dataclasses.fields(kind)]
    pairs = [item for item in dataclasses.fields(PairsRecipe) if item.name not in PAIRS_SET_BY_THE_PIPELINE]
    return keys + [("pairs", item) for item in pairs]


@functools.cache
def _pipeline_help() -> str:
    result = CliRunner().invoke(app, ["pipeline", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # Rich wraps lines: compare the words in order


@pytest.mark.parametrize(("section", "item"), _declared_keys(), ids=lambda value: getattr(value, "name", value))
def test_every_recipe_key_is_listed_by_pipeline_help_with_its_help_and_default(section, item):
    text = item.metadata.get("help", "")
    assert text.strip(), f"{section}.{item.name} has no help text: declare it with help_field"
    line = f"{item.name} (default {default_of(item)}): {text}"
    assert " ".join(line.split()) in _pipeline_help()


def test_pipeline_help_lists_the_sections_in_the_pipelines_order():
    shown = _pipeline_help()
    sections = ["Top level", "instructions", "synth", "curate", "general", "mix", "sft (required)"]
    sections += ["anneal (optional)", "pairs (optional)", "dpo (optional)", "export", "eval"]
    places = [shown.find(f" {section}: ") for section in sections]
    assert -1 not in places and places == sorted(places)


def test_the_declared_top_level_keys_are_the_ones_read():
    assert TOP_LEVEL == ("run_dir", "results_dir", "report_dir", "device", "reuse")
    assert ANNEAL_MIN_WORDS in {item.name for item in dataclasses.fields(AnnealKeys)}


def test_a_misspelt_top_level_key_names_the_nearest_one(tmp_path):
    with pytest.raises(InputError, match=r"unknown stage or key 'run_dri' \(did you mean run_dir\?\)"):
        load_pipeline_recipe(_recipe(tmp_path, MINIMAL + "run_dri: somewhere\n"))


def test_list_defaults_are_not_shared_between_recipes(tmp_path):
    first = load_pipeline_recipe(_recipe(tmp_path, MINIMAL))
    first.section("eval").ruler_lengths.append(9000)
    first.section("synth").base_urls.append("http://elsewhere/v1")
    second = load_pipeline_recipe(_recipe(tmp_path, MINIMAL))
    assert second.section("eval").ruler_lengths == [1000, 2000, 5000] and second.section("synth").base_urls == []


# ---------------------------------------------------------------- endpoints


ENDPOINTS = (
    "synth:\n  base_urls: [http://127.0.0.1:8000/v1/, 'http://127.0.0.1:8001/v1/ ']\n  model: writer\n"
    "general:\n  base_url: http://127.0.0.1:8000/v1/\n  model: base\n"
    "eval:\n  judge_base_url: https://judge.example/v1/\n  judge_model: judge\n"
)


def test_a_section_endpoint_is_an_endpoint_spec_with_its_url_cleaned(tmp_path):
    recipe = load_pipeline_recipe(_recipe(tmp_path, MINIMAL + ENDPOINTS))
    assert recipe.section("general").endpoint == EndpointSpec(base_url="http://127.0.0.1:8000/v1", model="base")
    assert recipe.section("synth").endpoints == [
        EndpointSpec(base_url="http://127.0.0.1:8000/v1", model="writer"),
        EndpointSpec(base_url="http://127.0.0.1:8001/v1", model="writer"),
    ]
    assert recipe.section("eval").judge == EndpointSpec(base_url="https://judge.example/v1", model="judge")


def test_an_unset_endpoint_is_the_embedded_default(tmp_path):
    recipe = load_pipeline_recipe(_recipe(tmp_path, MINIMAL))
    general = recipe.section("general").endpoint
    assert general.base_url is None and general.embedded
    assert [spec.base_url for spec in recipe.section("synth").endpoints] == [None]
    assert recipe.section("eval").judge is None  # no judge: S_l only


def test_the_pairs_recipe_endpoint_is_an_endpoint_spec():
    recipe = PairsRecipe(data="in.jsonl", output="out.jsonl", base_url="http://127.0.0.1:8001/v1/", model="sft")
    assert recipe.endpoint == EndpointSpec(base_url="http://127.0.0.1:8001/v1", model="sft")
    unset = PairsRecipe(data="in.jsonl", output="out.jsonl").endpoint
    assert unset.base_url is None and unset.embedded


class _Reached(Exception):
    """Raised by a stand-in where the stage would start talking to the model."""


def _finished(run_dir: Path, stage: str, files: dict[str, str]) -> None:
    folder = run_dir / stage
    folder.mkdir(parents=True)
    (folder / "stage.json").write_text('{"finished": true, "summary": {}}', encoding="utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _capture(seen: list, *values):
    seen.extend(values)
    raise _Reached


def test_the_stages_talk_to_the_sections_endpoints(tmp_path, monkeypatch):
    from longwrite.eval import longbench_write
    from longwrite.model import embedded
    from longwrite.training import synth
    from longwrite.training.stages_data import run_general, run_synth
    from longwrite.training.stages_eval import _longbench

    recipe = load_pipeline_recipe(_recipe(tmp_path, MINIMAL + ENDPOINTS))
    row = '{"id": "a", "prompt": "Write 500 words.", "length": 500}\n'
    _finished(recipe.run_dir, "instructions", {LONG: row, GENERAL_PROMPTS: row})
    seen: list = []
    monkeypatch.setattr(synth, "synthesize", lambda request, settings: _capture(seen, request, settings))
    monkeypatch.setattr(embedded, "endpoint_for", lambda settings: _capture(seen, settings))
    monkeypatch.setattr(longbench_write, "run_longbench", lambda request, settings: _capture(seen, request))
    for stage, work in (("synth", run_synth), ("general", run_general)):
        (recipe.run_dir / stage).mkdir()
        with pytest.raises(_Reached):
            work(StageRun(recipe, recipe.run_dir / stage))
    with pytest.raises(_Reached):
        _longbench(StageRun(recipe, recipe.run_dir / "eval-base"), Settings(), "model", tmp_path / "out")
    synth_request, synth_settings, general_settings, longbench_request = seen
    assert synth_request.base_urls == ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8001/v1")
    assert synth_settings.model == "writer"
    assert (general_settings.base_url, general_settings.model) == ("http://127.0.0.1:8000/v1", "base")
    assert (longbench_request.judge.base_url, longbench_request.judge.model) == ("https://judge.example/v1", "judge")


def test_make_pairs_talks_to_the_recipes_endpoint(tmp_path, monkeypatch):
    from longwrite.training import pairs

    seen: list = []
    monkeypatch.setattr(pairs, "read_instructions", lambda path, settings: [])
    monkeypatch.setattr(pairs, "endpoint_for", lambda settings: _capture(seen, settings))
    recipe = PairsRecipe(data="in.jsonl", output=str(tmp_path / "pairs.jsonl"), base_url="http://h:1/v1/", model="m")
    with pytest.raises(_Reached):
        pairs.make_pairs(recipe, Settings())
    assert (seen[0].base_url, seen[0].model, seen[0].temperature) == ("http://h:1/v1", "m", recipe.temperature)
