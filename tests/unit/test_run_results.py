"""Pipeline runs live in the git-ignored runs/; what a reader needs of each is published to its
recipe's results_dir (docs/results/<run>), and the replication report regenerates from that alone."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from longwrite.cli import app
from longwrite.core.errors import InputError
from longwrite.training.pipeline_recipe import load_pipeline_recipe
from longwrite.training.pipeline_report import publish

ROOT = Path(__file__).parents[2]
RECIPES = ROOT / "training" / "recipes"
RESULTS = ROOT / "docs" / "results"
REPLICATION = RESULTS / "replication" / "report.md"
REPLICATION_RECIPE = RECIPES / "pipeline-smollm2-cpu-long-only-anneal.yaml"
MINIMAL = "sft:\n  embedded_model: true\n"

# A run folder as the stages leave it: what a reader needs, and what stays in the run folder.
READER_FILES = [
    "pipeline.json",
    "instructions/stage.json",
    "synth/stage.json",
    "curate/stage.json",
    "curate/report/report.md",
    "curate/report/counts.json",
    "curate/report/lengths.png",
    "sft/stage.json",
    "export/stage.json",
    "eval-base/stage.json",
    "eval-base/longbench-model/preds.jsonl",
    "eval-base/longbench-model/judgements.jsonl",
    "eval-base/longbench-model/scores.json",
    "eval-base/longbench-model/run.json",
    "eval-base/longbench-model/report.md",
    "eval-base/longbench-model/scatter.png",
    "eval-base/ruler-model/ruler.json",
    "eval-base/ruler-model/preds.jsonl",
    "ship/stage.json",
    "ship/MODEL_CARD.md",
]
DATA_FILES = [
    "instructions/long.jsonl",
    "instructions/general.jsonl",
    "synth/input.jsonl",
    "synth/synth.jsonl",
    "synth/checkpoints.sqlite",
    "curate/curated.jsonl",
    "general/general.jsonl",
    "general/rejected.jsonl",
    "mix/mixed.jsonl",
    "sft/model/adapter_config.json",
    "sft/model/adapter_model.safetensors",
    "sft/model/checkpoint-2/trainer_state.json",
    "anneal/anneal.jsonl",
    "pairs/pairs.jsonl",
    "pairs/pairs.jsonl.skipped.jsonl",
    "export/adapter.gguf",
    "eval-base/longbench-model/checkpoints.sqlite",
    "eval-base/longbench-model/scores.json.tmp",
    "report/stage.json",  # says "unfinished" while the report stage publishes
]


def _fake_run(run_dir: Path) -> None:
    for name in READER_FILES + DATA_FILES:
        path = run_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{name}\n", encoding="utf-8")


def _files(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def _git(*args: str) -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_no_run_data_is_tracked_under_training_and_no_recipe_names_it():
    # a deletion not yet staged is already gone from the tree: only files still there count
    tracked = set(_git("ls-files", "training/runs")) - set(_git("ls-files", "--deleted", "training/runs"))
    assert sorted(tracked) == []
    run_folder = re.compile(r"training/runs(?!\.py)")  # training/runs.py is a module, not run data
    naming = [path.name for path in sorted(RECIPES.glob("*.yaml")) if run_folder.search(path.read_text("utf-8"))]
    assert naming == []


def test_publishing_copies_what_a_reader_needs_and_not_the_data(tmp_path):
    run_dir, results = tmp_path / "runs" / "lever", tmp_path / "results" / "lever"
    _fake_run(run_dir)
    published = publish(run_dir, results)
    assert _files(results) == set(READER_FILES) == {path.as_posix() for path in published}
    assert (results / "ship" / "MODEL_CARD.md").read_text(encoding="utf-8") == "ship/MODEL_CARD.md\n"
    assert _files(run_dir) == set(READER_FILES + DATA_FILES)  # the run folder keeps everything
    assert sorted(path.name for path in results.parent.iterdir()) == ["lever"]  # no staging folder left


def test_publishing_replaces_the_published_run_and_a_crash_leaves_the_old_one_whole(tmp_path, monkeypatch):
    run_dir, results = tmp_path / "runs" / "lever", tmp_path / "results" / "lever"
    _fake_run(run_dir)
    publish(run_dir, results)
    (results / "eval-old").mkdir()
    (results / "eval-old" / "scores.json").write_text("{}", encoding="utf-8")  # from an earlier run
    before = _files(results)

    copied: list[Path] = []

    def copy_then_crash(source: Path, target: Path) -> None:
        if len(copied) == 3:
            raise OSError("No space left on device")
        copied.append(Path(shutil.copyfile(source, target)))

    monkeypatch.setattr(shutil, "copy2", copy_then_crash)
    with pytest.raises(OSError, match="No space left"):
        publish(run_dir, results)
    assert _files(results) == before  # the published run is the old one, whole
    monkeypatch.undo()

    publish(run_dir, results)  # the next publication clears the crash's half copy and replaces the old one
    assert _files(results) == set(READER_FILES)
    assert sorted(path.name for path in results.parent.iterdir()) == ["lever"]


def test_publishing_refuses_a_folder_that_is_not_a_published_run(tmp_path):
    run_dir, results = tmp_path / "runs" / "lever", tmp_path / "results"
    _fake_run(run_dir)
    (results / "other-eval").mkdir(parents=True)
    (results / "README.md").write_text("# Results\n", encoding="utf-8")
    with pytest.raises(InputError, match="holds files that are not a published pipeline run"):
        publish(run_dir, results)
    assert _files(results) == {"README.md"}


def test_a_recipe_without_run_dir_runs_in_runs_under_its_own_name(tmp_path):
    path = tmp_path / "pipeline-smollm2-lever.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    recipe = load_pipeline_recipe(path)
    assert recipe.run_dir == Path("runs") / "smollm2-lever"
    assert recipe.results_dir is None  # nothing is published unless the recipe says where


def test_a_results_dir_that_overlaps_the_run_folder_is_refused(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(f"run_dir: {tmp_path / 'run'}\nresults_dir: {tmp_path / 'run' / 'results'}\n{MINIMAL}")
    with pytest.raises(InputError, match=r"results_dir .* overlaps run_dir"):
        load_pipeline_recipe(path)


def test_the_shipped_cpu_recipes_run_in_runs_and_publish_to_docs_results():
    for path in sorted(RECIPES.glob("pipeline-smollm2-cpu*.yaml")):
        recipe = load_pipeline_recipe(path)
        name = path.stem.removeprefix("pipeline-")
        assert (recipe.run_dir, recipe.results_dir) == (Path("runs") / name, Path("docs/results") / name)
        assert all(other.parent == Path("runs") for other in recipe.reuse)


def _tables(report: str) -> dict[str, list[str]]:
    """Each section's table rows, by the section's heading."""
    tables: dict[str, list[str]] = {}
    heading = ""
    for line in report.splitlines():
        if line.startswith("## "):
            heading = line
        elif line.startswith("|"):
            tables.setdefault(heading, []).append(line)
    return tables


def test_report_only_regenerates_the_committed_report_from_the_published_runs(tmp_path):
    results = tmp_path / "results"
    published = sorted(folder for folder in RESULTS.iterdir() if (folder / "pipeline.json").is_file())
    assert len(published) >= 8
    for folder in published:
        shutil.copytree(folder, results / folder.name)
    recipe = tmp_path / REPLICATION_RECIPE.name
    text = REPLICATION_RECIPE.read_text(encoding="utf-8")
    text = text.replace("results_dir: docs/results/", f"results_dir: {results}/")
    recipe.write_text(text.replace("report_dir: docs/results/replication", f"report_dir: {tmp_path / 'report'}"))

    result = CliRunner().invoke(app, ["pipeline", str(recipe), "--report-only"])
    assert result.exit_code == 0, result.output
    made = _tables((tmp_path / "report" / "report.md").read_text(encoding="utf-8"))
    committed = _tables(REPLICATION.read_text(encoding="utf-8"))
    before_after = "## Before and after"
    levers = next(heading for heading in committed if heading.startswith("## Levers tried"))
    assert len(committed[before_after]) >= 4 and len(committed[levers]) >= 10  # base, 8 runs, header lines
    assert made[before_after] == committed[before_after]
    assert made[levers] == committed[levers]
    assert made == committed  # Ruler, auto and the time per stage too
    assert (tmp_path / "report" / "scatter.png").is_file() and (tmp_path / "report" / "ruler.png").is_file()


def test_report_only_without_a_results_dir_says_what_to_do(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"run_dir: {tmp_path / 'run'}\n{MINIMAL}", encoding="utf-8")
    result = CliRunner().invoke(app, ["pipeline", str(recipe), "--report-only"])
    assert result.exit_code == 2
    assert "has no results_dir" in result.output and "--from report" in result.output

    missing = tmp_path / "results" / "run"
    recipe.write_text(f"run_dir: {tmp_path / 'run'}\nresults_dir: {missing}\n{MINIMAL}", encoding="utf-8")
    result = CliRunner().invoke(app, ["pipeline", str(recipe), "--report-only"])
    assert result.exit_code == 2
    assert f"{missing} (the recipe's results_dir) holds no published run" in " ".join(result.output.split())
    assert not missing.exists()


def test_report_only_runs_no_stage_so_it_refuses_the_options_that_choose_them(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"run_dir: {tmp_path / 'run'}\nresults_dir: {tmp_path / 'results'}\n{MINIMAL}")
    result = CliRunner().invoke(app, ["pipeline", str(recipe), "--report-only", "--from", "report"])
    assert result.exit_code == 2 and "drop --from" in result.output


def test_the_published_runs_hold_no_data_rows():
    data_names = {Path(name).name for name in DATA_FILES} - {"stage.json"}
    for folder in sorted(RESULTS.iterdir()):
        if (folder / "pipeline.json").is_file():
            assert not {path.name for path in folder.rglob("*")} & data_names, folder.name
            assert json.loads((folder / "pipeline.json").read_text(encoding="utf-8"))["recipe"]
