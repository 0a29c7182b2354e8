"""The embedded model with and without longwrite's long-output adapter: the adapter loads offline
once it is shipped, and `--model base` (with no endpoint) always asks the untrained model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import openai
import pytest

from longwrite.core.settings import settings_from
from longwrite.model.embedded import ADAPTED_ALIAS, MODEL_ALIAS, SHIPPED_ADAPTER, EmbeddedServer

pytestmark = pytest.mark.integration
RUNS = Path(__file__).parents[2] / "docs" / "results"  # the published runs


def _recipes_that_shipped() -> list[str]:
    """The recipes of the published runs whose ship stage copied their adapter into the package."""
    recipes = []
    for marker in sorted(RUNS.glob("*/ship/stage.json")):
        if json.loads(marker.read_text(encoding="utf-8"))["summary"].get("shipped"):
            run = json.loads((marker.parents[1] / "pipeline.json").read_text(encoding="utf-8"))
            recipes.append(run["recipe"])
    return recipes


def test_what_the_pipeline_shipped_is_in_the_package_small_and_with_its_card():
    shipped_by = _recipes_that_shipped()
    assert SHIPPED_ADAPTER.is_file() == bool(shipped_by)
    if SHIPPED_ADAPTER.is_file():
        assert SHIPPED_ADAPTER.stat().st_size <= 25 * 2**20
        card = (SHIPPED_ADAPTER.parent / "README.md").read_text(encoding="utf-8")
        assert any(f"longwrite pipeline {recipe}\n" in card for recipe in shipped_by)


@pytest.mark.parametrize("model", [None, "base"])
def test_the_embedded_model_answers_offline_with_the_adapter_it_is_given(tmp_path, monkeypatch, model):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for key in [k for k in os.environ if k.startswith("LONGWRITE_")]:
        monkeypatch.delenv(key)
    settings = settings_from(model=model).model_copy(update={"home": tmp_path})
    expected = ADAPTED_ALIAS if model is None and SHIPPED_ADAPTER.is_file() else MODEL_ALIAS
    with EmbeddedServer(settings) as endpoint:
        assert endpoint.model == expected
        client = openai.OpenAI(base_url=endpoint.base_url, api_key="none")
        answer = client.chat.completions.create(
            model=endpoint.model, messages=[{"role": "user", "content": "Say hello."}], max_tokens=16
        )
        assert answer.choices[0].message.content.strip()
