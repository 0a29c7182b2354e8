"""`write --plan-only`, then `write --job ID --resume --plan-file EDITED`: the edited plan goes into
the same job (through the graph's own state) and is the plan written, budgets included."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from longwrite.cli import app
from tests.stub_backend import MODEL, StubBackend


def test_an_edited_plan_file_is_written_into_the_planned_job(tmp_path, monkeypatch):
    monkeypatch.setenv("LONGWRITE_HOME", str(tmp_path))
    runner = CliRunner()
    with StubBackend() as stub:
        endpoint = ["--base-url", stub.url, "--model", MODEL]
        planned = runner.invoke(app, ["write", "Write a 1200-word guide to composting.", "--plan-only", "--job",
                                      "compost", "-o", str(tmp_path / "plan.json"), *endpoint])  # fmt: skip
        assert planned.exit_code == 0, planned.output
        plan = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
        plan["sections"] = [
            {"title": "Why compost at all", "points": "", "words": 150},
            {"title": "Greens and browns", "points": "", "words": 350},
            {"title": "When it smells", "points": "", "words": 200},
        ]
        (tmp_path / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        edited = ["--plan-file", str(tmp_path / "plan.json"), "-o", str(tmp_path / "guide.md")]
        written = runner.invoke(app, ["write", "--job", "compost", "--resume", *edited, "--json", *endpoint])
        assert written.exit_code == 0, written.output
    document = (tmp_path / "guide.md").read_text(encoding="utf-8")
    assert re.findall(r"^## (.+)$", document, re.M) == ["Why compost at all", "Greens and browns", "When it smells"]
    bodies = [len(part.split()) for part in re.split(r"^## .+$", document, flags=re.M)[1:]]
    for words, budget in zip(bodies, (150, 350, 200), strict=True):  # the edited budgets are what was written
        assert 0.7 * budget <= words <= 1.3 * budget, bodies
    summary = json.loads(written.output.strip().splitlines()[-1])
    assert summary["job"] == "compost" and summary["target"] == 700


def test_words_cannot_change_a_resumed_job(tmp_path, monkeypatch):
    monkeypatch.setenv("LONGWRITE_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["write", "--job", "x", "--resume", "--words", "900"])
    assert result.exit_code == 2 and "drop --words" in result.output
