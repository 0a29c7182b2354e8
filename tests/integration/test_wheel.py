"""The package as a user installs it: the wheel, without extras, in a fresh venv outside the tree.

The base install (agent, CLI, API) must run on its own, find shipped recipes by name, and say which
extra to install for what it lacks; and it must write against an OpenAI-compatible server that
runs elsewhere (here the embedded server, started from the project's own environment).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from longwrite.settings import Settings
from model.embedded import EmbeddedServer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base_install(tmp_path_factory) -> Path:
    """bin/ of a fresh venv with the wheel installed and no extras."""
    where = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(where), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(where.glob("longwrite-*.whl"))
    venv.create(where / "venv", with_pip=True)
    bin_dir = where / "venv" / "bin"
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True, timeout=900
    )
    assert install.returncode == 0, install.stderr[-2000:]
    return bin_dir


def _run(bin_dir: Path, *args: str, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # outside the tree, so nothing is imported from the checkout; a home of its own
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGWRITE_") and k != "PYTHONPATH"}
    env["LONGWRITE_HOME"] = str(home)
    return subprocess.run(
        [str(bin_dir / "longwrite"), *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        cwd=home,
        timeout=600,
    )


def test_the_base_install_runs_and_names_the_extras_it_lacks(base_install, tmp_path):
    check = subprocess.run(
        [str(base_install / "python"), "-c", "import importlib.util as u; print([m for m in "
         "('llama_cpp', 'gradio', 'torch', 'trl') if u.find_spec(m)])"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert check.stdout.strip() == "[]", "the base install must not pull llama.cpp, Gradio or torch"

    version = _run(base_install, "--version", home=tmp_path)
    assert version.returncode == 0 and version.stdout.strip().endswith("0.1.0"), version.stderr

    counted = _run(base_install, "count", "-", home=tmp_path, stdin="One two three four five.")
    assert counted.returncode == 0 and "5" in counted.stdout, counted.stderr

    helped = _run(base_install, "train", "sft", "--help", home=tmp_path)
    assert helped.returncode == 0 and "max_length" in helped.stdout, helped.stderr

    no_endpoint = _run(base_install, "write", "Write a 200-word note about tea.", home=tmp_path)
    assert no_endpoint.returncode == 2
    assert "pip install 'longwrite[embedded]'" in no_endpoint.stderr
    assert len(no_endpoint.stderr.strip().splitlines()) == 1, no_endpoint.stderr

    training = _run(base_install, "train", "sft", "--config", "smollm2-135m-cpu", "--max_steps", "1", home=tmp_path)
    assert training.returncode == 2 and "pip install 'longwrite[train]'" in training.stderr, training.stderr


def test_the_base_install_writes_against_a_server_elsewhere(base_install, tmp_path):
    with EmbeddedServer(Settings(home=tmp_path / "server")) as endpoint:
        done = _run(
            base_install,
            "write",
            "Write a 150-word note about tea.",
            "--base-url",
            endpoint.base_url,
            "--model",
            endpoint.model,
            "-o",
            "tea.md",
            home=tmp_path,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert len((tmp_path / "tea.md").read_text(encoding="utf-8").split()) > 50
