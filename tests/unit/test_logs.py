"""Messages go through logging: -q keeps warnings only, -v adds debug lines with their source, and
LONGWRITE_LOG_LEVEL sets the level (a bad value is one line, exit 2)."""

from __future__ import annotations

import logging

from typer.testing import CliRunner

from longwrite.cli import app
from longwrite.core.logs import configure, level_for


def _said(capsys, level: int) -> str:
    configure(level)
    logging.getLogger("longwrite.training.pipeline").info("[pipeline] synth: 3 of 96 documents")
    logging.getLogger("longwrite.eval.ruler").warning("skipped line 7: not JSON")
    logging.getLogger("longwrite.agent.graph").debug("outline call took 2.1 s")
    return capsys.readouterr().err


def test_the_default_shows_progress_and_warnings_as_bare_lines(capsys, monkeypatch):
    monkeypatch.delenv("LONGWRITE_LOG_LEVEL", raising=False)
    said = _said(capsys, level_for(verbose=False, quiet=False))
    assert said.splitlines() == ["[pipeline] synth: 3 of 96 documents", "skipped line 7: not JSON"]


def test_quiet_keeps_warnings_and_verbose_adds_debug_with_its_source(capsys):
    assert _said(capsys, level_for(verbose=False, quiet=True)).splitlines() == ["skipped line 7: not JSON"]
    verbose = _said(capsys, level_for(verbose=True, quiet=False)).splitlines()
    assert len(verbose) == 3 and "DEBUG longwrite.agent.graph: outline call took 2.1 s" in verbose[2]


def test_the_environment_sets_the_level(capsys, monkeypatch):
    monkeypatch.setenv("LONGWRITE_LOG_LEVEL", "warning")
    assert _said(capsys, level_for(verbose=False, quiet=False)).splitlines() == ["skipped line 7: not JSON"]


def test_a_bad_level_is_one_line_and_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("LONGWRITE_LOG_LEVEL", "loud")
    (tmp_path / "a.txt").write_text("one two three", encoding="utf-8")
    result = CliRunner().invoke(app, ["count", str(tmp_path / "a.txt")])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: LONGWRITE_LOG_LEVEL='LOUD' is not a level; it takes one of DEBUG, INFO, WARNING, ERROR."
    )
    both = CliRunner().invoke(app, ["-v", "-q", "count", str(tmp_path / "a.txt")])
    assert both.exit_code == 2 and "contradict" in both.output
