"""The long-output adapter the project ships loads offline on the embedded model; `--model base`
(with no endpoint) still asks the untrained model."""

from __future__ import annotations

import os

import openai
import pytest

from longwrite.cli_options import settings_from
from longwrite.settings import Settings
from model.embedded import ADAPTED_ALIAS, MODEL_ALIAS, SHIPPED_ADAPTER, EmbeddedServer

pytestmark = pytest.mark.integration


def test_the_adapter_is_shipped_small_with_its_model_card():
    assert SHIPPED_ADAPTER.is_file() and SHIPPED_ADAPTER.stat().st_size <= 25 * 2**20
    card = (SHIPPED_ADAPTER.parent / "README.md").read_text(encoding="utf-8")
    assert "longwrite pipeline training/recipes/pipeline-smollm2-cpu.yaml" in card


@pytest.mark.parametrize(("model", "alias"), [(None, ADAPTED_ALIAS), ("base", MODEL_ALIAS)])
def test_the_embedded_model_answers_with_and_without_the_adapter(tmp_path, monkeypatch, model, alias):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for key in [k for k in os.environ if k.startswith("LONGWRITE_")]:
        monkeypatch.delenv(key)
    settings = settings_from(model=model).model_copy(update={"home": tmp_path})
    assert isinstance(settings, Settings)
    with EmbeddedServer(settings) as endpoint:
        assert endpoint.model == alias
        client = openai.OpenAI(base_url=endpoint.base_url, api_key="none")
        answer = client.chat.completions.create(
            model=endpoint.model, messages=[{"role": "user", "content": "Say hello."}], max_tokens=16
        )
        assert answer.choices[0].message.content.strip()
