"""A real embedded llama.cpp server (SmolLM2-135M-Instruct) shared by the integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from longwrite.settings import Settings
from model.embedded import EMBEDDED_SECTION_WORDS, EmbeddedServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def embedded(tmp_path_factory):
    """One server for the session; CLI runs reach it through LONGWRITE_BASE_URL."""
    home = tmp_path_factory.mktemp("embedded-home")
    with EmbeddedServer(Settings(home=home)) as endpoint:
        yield endpoint


def embedded_env(endpoint, home: Path, **extra: str) -> dict[str, str]:
    """Environment for a CLI run against the shared server, configured as the embedded default is."""
    env = {
        **os.environ,
        "LONGWRITE_HOME": str(home),
        "LONGWRITE_BASE_URL": endpoint.base_url,
        "LONGWRITE_MODEL": endpoint.model,
        "LONGWRITE_CONTEXT_TOKENS": str(endpoint.context_tokens),
        "LONGWRITE_REPEAT_PENALTY_PARAM": "repeat_penalty",
        "LONGWRITE_SECTION_WORDS": str(EMBEDDED_SECTION_WORDS),
    }
    env.update(extra)
    return env


def start_cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "longwrite.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
