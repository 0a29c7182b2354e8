"""docs/ARCHITECTURE.md names real files: every repository path it puts in backticks exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "ARCHITECTURE.md"
# the folders that hold what the project tracks (runs/ and .venv are made at run time)
TRACKED_ROOTS = ("longwrite", "agent", "model", "ui", "eval", "training", "tests", "bench", "docs", "tools", ".ci")
TOP_FILES = ("pyproject.toml", "uv.lock", "langgraph.json", "Makefile", "Dockerfile", "compose.yaml", "README.md")


def named_paths(text: str) -> list[str]:
    """Backticked tokens that are repository paths: `agent/graph.py`, `agent/jobs.py:run_job`,
    `training/recipes/*.yaml`, `ui/`; a function after a colon or a call's brackets is dropped."""
    paths = []
    for token in re.findall(r"`([^`\s]+)`", text):
        path = re.split(r"[:(]", token, maxsplit=1)[0].rstrip(".,")
        first = path.split("/", 1)[0]
        if ("/" in path and first in TRACKED_ROOTS) or path in TOP_FILES:
            paths.append(path)
    return paths


def test_the_page_names_paths_and_the_reader_finds_them():
    text = PAGE.read_text(encoding="utf-8")
    paths = named_paths(text)
    assert len(paths) > 30  # a page that named nothing would pass the check below
    missing = sorted({path for path in paths if not any(ROOT.glob(path.rstrip("/")))})
    assert missing == [], "docs/ARCHITECTURE.md names paths that do not exist"


def test_the_reader_of_paths_sees_a_wrong_one():
    assert named_paths("`agent/jobs.py:run_job` and `training/recipes/*.yaml`, not `x = y`") == [
        "agent/jobs.py",
        "training/recipes/*.yaml",
    ]
    assert not any(ROOT.glob("agent/no_such_module.py"))
