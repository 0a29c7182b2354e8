"""The package as a user installs it: the wheel, without extras, in a fresh venv outside the tree.

The base install (agent, CLI, API) must run on its own, find shipped recipes by name, and say which
extra to install for what it lacks; and it must write against an OpenAI-compatible server that
runs elsewhere (here the embedded server, started from the project's own environment). Its only
top-level package is `longwrite`, so a user's own model.py or eval.py shadows nothing of ours.
It installs the lock's versions, as `make setup` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from longwrite.core.settings import Settings
from longwrite.model.embedded import EmbeddedServer

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
    venv.create(where / "venv")
    bin_dir = where / "venv" / "bin"
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    assert uv, "uv is in the dev extra: run make setup"
    constraints = where / "constraints.txt"
    exported = subprocess.run(
        [uv, "export", "--frozen", "--no-hashes", "--no-emit-project", "--no-emit-package", "torch",
         "--extra", "all", "--extra", "dev", "-o", str(constraints)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr[-2000:]
    install = subprocess.run(
        [uv, "pip", "install", "--python", str(bin_dir / "python"), "-q", str(wheel), "-c", str(constraints)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    return bin_dir


def test_the_wheel_installs_one_top_level_package(base_install):
    wheel = next(base_install.parents[1].glob("longwrite-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {top for top in tops if not top.endswith((".dist-info", ".data"))} == {"longwrite"}


def test_a_users_own_modules_shadow_nothing(base_install, tmp_path):
    """A folder of ML code often holds model.py or eval.py; longwrite must run from it."""
    for name in ("model", "eval", "ui", "agent", "training"):
        (tmp_path / f"{name}.py").write_text(f"raise SystemExit('the user's {name}.py was imported')\n")
    helped = _run(base_install, "write", "--help", home=tmp_path)
    assert helped.returncode == 0 and "instruction" in helped.stdout, helped.stderr
    imported = subprocess.run(
        [str(base_install / "python"), "-c", "import longwrite, longwrite.cli, longwrite.model.client, "
         "longwrite.ui.api, longwrite.eval.report, longwrite.training.synth, longwrite.agent.graph; print('ok')"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert imported.stdout.strip() == "ok", imported.stderr[-2000:]


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
