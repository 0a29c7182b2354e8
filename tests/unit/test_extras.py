"""Optional parts: a missing extra is named in one line with the command that installs it, and the
recipes that ship with the package are found by name."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from longwrite.core import extras
from longwrite.core.errors import InputError
from longwrite.training.train_config import load_train_config


def _without(monkeypatch, *absent: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        extras.importlib.util, "find_spec", lambda name, *a, **k: None if name in absent else real(name, *a, **k)
    )


def test_a_missing_extra_names_itself_and_the_install_command(monkeypatch):
    _without(monkeypatch, "gradio", "docx")
    assert not extras.installed("web")
    with pytest.raises(extras.MissingExtra) as raised:
        extras.require("web", "The web writer")
    message = str(raised.value)
    assert message == (
        "The web writer needs longwrite's 'web' extra (gradio, docx not installed): pip install 'longwrite[web]'."
    )
    assert raised.value.exit_code == 2 and "\n" not in message


def test_the_embedded_default_says_which_extra_it_needs(monkeypatch, tmp_path):
    from longwrite.core.settings import Settings
    from longwrite.model.embedded import EmbeddedServer

    _without(monkeypatch, "llama_cpp")
    with pytest.raises(extras.MissingExtra, match=r"pip install 'longwrite\[embedded\]'; or give --base-url"):
        EmbeddedServer(Settings(home=tmp_path)).start()


def test_an_installed_extra_passes(monkeypatch):
    _without(monkeypatch)
    extras.require("train", "Training")  # this environment has the train extra (make installs all)


def test_a_shipped_recipe_is_found_by_name_and_a_wrong_name_lists_them():
    assert load_train_config("sft", Path("smollm2-135m-cpu"), ["--max_steps", "2"]).trainer.max_steps == 2
    assert load_train_config("sft", Path("smollm2-135m-cpu.yaml"), []).ours.embedded_model is True
    with pytest.raises(InputError, match=r"shipped recipe \(.*smollm2-135m-cpu"):
        load_train_config("sft", Path("smollm2-135m"), [])
