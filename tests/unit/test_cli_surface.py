"""The CLI as a user meets it: --version, a bad LONGWRITE_* value in one line, `write --mode
auto`, and every example in a --help text or the README accepted by the parser."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from longwrite.cli import app
from tests.unit.cli_parse import parse_cli
from tests.unit.openai_stub import OpenAIStub
from tests.unit.scripted import prose

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LONGWRITE_")}
    environment.update({"LONGWRITE_HOME": str(home), **(env or {})})
    return subprocess.run([sys.executable, "-m", "longwrite.cli", *args], capture_output=True, text=True,
                          env=environment, timeout=120)  # fmt: skip


def test_version_comes_from_the_package_metadata():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"longwrite {version('longwrite')}"


@pytest.mark.parametrize(
    ("variable", "value", "takes"),
    [
        ("LONGWRITE_TEMPERATURE", "abc", "a number >= 0.0 and <= 2.0"),
        ("LONGWRITE_MAX_RETRIES", "99", "a whole number >= 0 and <= 10"),
        ("LONGWRITE_STRUCTURED_OUTPUT", "xml", "one of json_schema, llamacpp, off"),
    ],
)
def test_a_bad_environment_value_is_one_line_naming_it(tmp_path, variable, value, takes):
    result = run_cli("write", "x", home=tmp_path, env={variable: value})
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {variable}='{value}' is not valid: it takes {takes}."


def test_a_bad_environment_value_is_one_line_outside_a_commands_own_checks_too(tmp_path):
    result = run_cli("serve", home=tmp_path, env={"LONGWRITE_TEMPERATURE": "abc"})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: LONGWRITE_TEMPERATURE='abc'")


def test_help_still_works_with_a_bad_environment_value():
    result = CliRunner().invoke(app, ["write", "--help"], env={"LONGWRITE_TEMPERATURE": "abc"})
    assert result.exit_code == 0 and "--mode" in result.stdout


def test_write_mode_auto_keeps_a_good_model_answer(tmp_path):
    answer = prose(300, seed="tea")
    with OpenAIStub(owned_by="vllm", answer=answer) as stub:
        result = run_cli("write", "Write a 300-word note on tea.", "--mode", "auto", "--json",
                         "--base-url", stub.url, "--model", "m", home=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["mode"], summary["path"], summary["target"]) == ("auto", "model", 300)
    assert summary["words"] >= 240 and "written by: model" in result.stderr
    assert len(stub.chats) == 1 and stub.chats[0]["messages"][-1]["content"] == "Write a 300-word note on tea."


def test_write_mode_auto_has_no_saved_job(tmp_path):
    result = run_cli("write", "Write about tea.", "--mode", "auto", "--plan-only", home=tmp_path)
    assert result.returncode == 2 and "--mode auto writes with no saved job" in result.stderr


# ---- every example a user is shown parses


def _commands(command: typer.main.TyperCommand | TyperGroup, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def _help_examples() -> list[tuple[str, str]]:
    """(where, command line) for each `longwrite ...` line in an epilog (Examples:, Then:)."""
    examples = []
    for path, command in _commands(typer.main.get_command(app)):
        for line in (command.epilog or "").splitlines():
            match = re.match(r"\s*(?:Then:\s*)?(longwrite\s.*)$", line)
            if match:
                examples.append((" ".join(["longwrite", *path, "--help"]), match.group(1)))
    return examples


def _readme_examples() -> list[tuple[str, str]]:
    """(where, command line) for each command in a bash block that runs longwrite (directly, after
    environment assignments, or as `... -m longwrite.cli` under accelerate)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    examples = []
    for block in re.findall(r"```(?:bash|sh|shell|console)\n(.*?)```", text, re.DOTALL):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            words = shlex.split(line.lstrip("$ "), comments=True)
            while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
                words.pop(0)
            if words[:1] == ["longwrite"]:
                examples.append(("README.md", shlex.join(words)))
            elif "longwrite.cli" in words and words[words.index("longwrite.cli") - 1] == "-m":
                examples.append(("README.md", shlex.join(["longwrite", *words[words.index("longwrite.cli") + 1 :]])))
    return examples


EXAMPLES = _help_examples() + _readme_examples()


def test_examples_were_found():
    where = {place for place, _line in EXAMPLES}
    assert "README.md" in where and "longwrite write --help" in where and "longwrite serve-model --help" in where
    assert len(EXAMPLES) > 30


@pytest.mark.parametrize(("where", "line"), EXAMPLES, ids=[f"{w}: {line[:60]}" for w, line in EXAMPLES])
def test_every_example_parses(where, line):
    words = shlex.split(line)
    assert words[0] == "longwrite"
    try:
        parse_cli(words[1:])
    except typer.Exit as finished:  # an example that asks for --help
        assert finished.exit_code == 0
    except typer.TyperException as error:
        pytest.fail(f"{where}: `{line}` is refused: {error}")


@pytest.mark.parametrize(("where", "line"), EXAMPLES, ids=[f"{w}: {line[:60]}" for w, line in EXAMPLES])
def test_every_shipped_file_an_example_names_exists(where, line):
    # recipes and accelerate configs ship with longwrite: an example that names one must name a real one
    shipped = [word for word in shlex.split(line) if re.match(r"training/(recipes|accelerate)/", word)]
    for path in shipped:
        assert (ROOT / path).is_file(), f"{where}: `{line}` names {path}, which does not exist"


def test_every_help_text_shows_all_its_words():
    """Rich reads `[word]` as markup and drops it: a help text must not lose words that way."""
    for path, command in _commands(typer.main.get_command(app)):
        if not command.help or command.hidden:
            continue
        result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, path
        shown = set(re.findall(r"[\w-]+", result.stdout))
        missing = set(re.findall(r"[\w-]+", command.help)) - shown
        assert not missing, f"longwrite {' '.join(path)} --help drops {sorted(missing)}"
