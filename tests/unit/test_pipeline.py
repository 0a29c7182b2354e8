"""`longwrite pipeline`: recipes checked before anything runs, stages skipped when finished with
the same settings, redone when changed, and refused when their input is missing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from longwrite.cli import app
from longwrite.core.errors import InputError
from longwrite.training.pipeline import Pipeline, Stage, StageRun
from longwrite.training.pipeline_recipe import load_pipeline_recipe

RECIPES = Path(__file__).parents[2] / "training" / "recipes"
MINIMAL = "run_dir: {run_dir}\nsft:\n  embedded_model: true\n"


def _recipe(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text.format(run_dir=tmp_path / "run"), encoding="utf-8")
    return path


def _counting_stages(calls: list[str]) -> list[Stage]:
    """Three stages whose work is to record that they ran and write one file."""

    def work(name: str):
        def run(stage_run: StageRun) -> dict:
            calls.append(name)
            (stage_run.folder / "out.txt").write_text(name, encoding="utf-8")
            return {"ran": name}

        return run

    return [
        Stage("instructions", "instructions", (), work("instructions"), lambda run: 1.0),
        Stage("synth", "synth", ("instructions",), work("synth"), lambda run: 60.0),
        Stage("curate", "curate", ("synth",), work("curate"), lambda run: 2.0),
    ]


@pytest.mark.parametrize("path", sorted(RECIPES.glob("pipeline-*.yaml")), ids=lambda p: p.name)
def test_every_shipped_pipeline_recipe_loads(path):
    assert load_pipeline_recipe(path).section("sft")


def test_the_shipped_recipes_load():
    cpu = load_pipeline_recipe(RECIPES / "pipeline-smollm2-cpu.yaml")
    gpu = load_pipeline_recipe(RECIPES / "pipeline-qwen2.5-7b-gpu.yaml")
    assert cpu.device == "cpu" and gpu.device == "cuda"
    assert cpu.section("synth").limit and gpu.section("synth").limit is None  # the GPU recipe writes them all
    assert gpu.section("synth").base_urls


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (MINIMAL + "distill:\n  steps: 3\n", "unknown stage or key 'distill'"),
        (MINIMAL + "synth:\n  limt: 3\n", "section synth (did you mean limit?)"),
        (
            MINIMAL + "curate:\n  min_length_score: high\n",
            "section curate: argument --min_length_score/--min-length-score: invalid float value: 'high'",
        ),
        ("run_dir: {run_dir}\n", "has no sft section"),
        (MINIMAL + "device: tpu\n", "device must be cpu or cuda"),
    ],
)
def test_a_bad_recipe_is_refused_with_the_key_named(tmp_path, text, fragment):
    with pytest.raises(InputError, match=None) as caught:
        load_pipeline_recipe(_recipe(tmp_path, text))
    assert fragment in str(caught.value)


def test_finished_stages_are_skipped_and_changed_ones_redone(tmp_path):
    calls: list[str] = []
    path = _recipe(tmp_path, MINIMAL + "synth:\n  limit: 3\n")
    Pipeline(load_pipeline_recipe(path), _counting_stages(calls)).run()
    assert calls == ["instructions", "synth", "curate"]
    Pipeline(load_pipeline_recipe(path), _counting_stages(calls)).run()
    assert calls == ["instructions", "synth", "curate"]  # all finished: nothing runs again

    path.write_text(MINIMAL.format(run_dir=tmp_path / "run") + "synth:\n  limit: 4\n", encoding="utf-8")
    changed = Pipeline(load_pipeline_recipe(path), _counting_stages(calls))
    with pytest.raises(InputError, match="holds a run of another recipe"):
        changed.run()  # another recipe's run folder is refused...
    changed.run(overwrite=True)  # ...unless asked: only synth and what reads it are redone
    assert calls[3:] == ["synth", "curate"]


def test_a_lever_reuses_the_finished_stages_whose_settings_and_inputs_are_the_same(tmp_path):
    calls: list[str] = []
    first = _recipe(tmp_path, MINIMAL + "synth:\n  limit: 3\n")
    Pipeline(load_pipeline_recipe(first), _counting_stages(calls)).run()
    lever = tmp_path / "lever.yaml"
    lever.write_text(f"run_dir: {tmp_path / 'lever'}\nreuse: {tmp_path / 'run'}\nsft:\n  embedded_model: true\n"
                     "synth:\n  limit: 3\ncurate:\n  min_length_score: 90\n", encoding="utf-8")  # fmt: skip
    Pipeline(load_pipeline_recipe(lever), _counting_stages(calls)).run()
    assert calls[3:] == ["curate"]  # instructions and synth were copied; curate's settings differ
    assert (tmp_path / "lever" / "synth" / "out.txt").read_text(encoding="utf-8") == "synth"


def test_a_levers_plan_estimates_stages_from_the_inputs_it_will_reuse(tmp_path):
    calls: list[str] = []
    first = _recipe(tmp_path, MINIMAL + "synth:\n  limit: 3\n")
    Pipeline(load_pipeline_recipe(first), _counting_stages(calls)).run()

    def curate_estimate(stage_run: StageRun) -> float:  # as the real ones do: from the input's rows
        return 7.0 * len((stage_run.of("synth") / "out.txt").read_text(encoding="utf-8"))

    stages = _counting_stages(calls)
    stages[2] = Stage("curate", "curate", ("synth",), stages[2].run, curate_estimate)
    lever = tmp_path / "lever.yaml"
    lever.write_text(f"run_dir: {tmp_path / 'lever'}\nreuse: {tmp_path / 'run'}\nsft:\n  embedded_model: true\n"
                     "synth:\n  limit: 3\ncurate:\n  min_length_score: 90\n", encoding="utf-8")  # fmt: skip
    plan = Pipeline(load_pipeline_recipe(lever), stages).describe()
    assert "reuse run" in plan and not (tmp_path / "lever").exists()  # nothing copied yet
    assert re.search(r"curate +to run +35 s", plan), plan  # 7 s a character of synth's "synth"


def test_the_plan_keeps_its_columns_when_a_reused_run_has_a_long_name(tmp_path):
    long_name = "smollm2-cpu-long-only-with-a-longer-name"
    first = tmp_path / "first.yaml"
    first.write_text(f"run_dir: {tmp_path / long_name}\nsft:\n  embedded_model: true\n", encoding="utf-8")
    Pipeline(load_pipeline_recipe(first), _counting_stages([])).run(until="synth")
    lever = tmp_path / "lever.yaml"
    lever.write_text(f"run_dir: {tmp_path / 'lever'}\nreuse: {tmp_path / long_name}\nsft:\n  embedded_model: true\n",
                     encoding="utf-8")  # fmt: skip

    lines = Pipeline(load_pipeline_recipe(lever), _counting_stages([])).describe().splitlines()[1:-1]
    assert f"reuse {long_name}" in lines[0]
    folders = {line.index(str(tmp_path / "lever")) for line in lines}
    assert len(folders) == 1, lines  # each stage's folder starts in the same column


def test_a_lever_trains_again_when_the_reused_run_has_no_model(tmp_path):
    calls: list[str] = []
    first = _recipe(tmp_path, MINIMAL + "synth:\n  limit: 3\n")
    Pipeline(load_pipeline_recipe(first), _counting_stages(calls)).run()
    (tmp_path / "run" / "synth" / "out.txt").unlink()  # as a model folder is missing from a clone

    stages = _counting_stages(calls)
    stages[1] = Stage("synth", "synth", ("instructions",), stages[1].run, lambda run: 1.0, untracked_output="out.txt")
    lever = tmp_path / "lever.yaml"
    lever.write_text(f"run_dir: {tmp_path / 'lever'}\nreuse: {tmp_path / 'run'}\nsft:\n  embedded_model: true\n"
                     "synth:\n  limit: 3\n", encoding="utf-8")  # fmt: skip
    Pipeline(load_pipeline_recipe(lever), stages).run()
    assert calls[3:] == ["synth"]  # instructions reused; synth made again; curate (same inputs) reused


def test_from_and_until_choose_the_stages(tmp_path):
    calls: list[str] = []
    recipe = load_pipeline_recipe(_recipe(tmp_path, MINIMAL))
    Pipeline(recipe, _counting_stages(calls)).run(until="synth")
    assert calls == ["instructions", "synth"]
    Pipeline(recipe, _counting_stages(calls)).run(start="synth")
    assert calls[2:] == ["synth", "curate"]  # --from runs its stage again
    with pytest.raises(InputError, match="Unknown stage 'sythn'"):
        Pipeline(recipe, _counting_stages(calls)).run(start="sythn")


def test_the_report_stage_runs_every_time_and_the_others_once(tmp_path):
    calls: list[str] = []

    def report(stage_run: StageRun) -> dict:
        calls.append("report")
        return {}

    recipe = load_pipeline_recipe(_recipe(tmp_path, MINIMAL))
    stages = [*_counting_stages(calls), Stage("report", None, ("curate",), report, lambda run: 1.0, always=True)]
    Pipeline(recipe, stages).run()
    Pipeline(recipe, stages).run()
    assert calls == ["instructions", "synth", "curate", "report", "report"]
    assert " report        redo" in Pipeline(recipe, stages).describe()


def test_a_stage_whose_input_is_missing_names_the_stage_that_makes_it(tmp_path):
    recipe = load_pipeline_recipe(_recipe(tmp_path, MINIMAL))
    with pytest.raises(InputError, match=r"Stage synth reads the output of stage instructions .* --from instructions"):
        Pipeline(recipe, _counting_stages([])).run(start="synth")
    from longwrite.training.stages_data import run_curate

    (tmp_path / "run" / "curate").mkdir(parents=True)
    with pytest.raises(InputError, match=r"synth\.jsonl is missing: stage synth makes it"):
        run_curate(StageRun(recipe, tmp_path / "run" / "curate"))
    # a finished stage whose output is gone (a trained model, on a fresh clone) says how to remake it
    (tmp_path / "run" / "synth").mkdir()
    (tmp_path / "run" / "synth" / "stage.json").write_text('{"finished": true, "summary": {}}', encoding="utf-8")
    with pytest.raises(InputError, match=r"synth\.jsonl is missing although stage synth finished .* --from synth"):
        run_curate(StageRun(recipe, tmp_path / "run" / "curate"))


def test_a_killed_stage_runs_again_and_keeps_its_time(tmp_path):
    calls: list[str] = []
    recipe = load_pipeline_recipe(_recipe(tmp_path, MINIMAL))
    stages = _counting_stages(calls)
    Pipeline(recipe, stages).run(until="instructions")
    marker = tmp_path / "run" / "synth"
    marker.mkdir()
    fingerprint = next(i.fingerprint for i in Pipeline(recipe, stages).plan() if i.stage.name == "synth")
    (marker / "stage.json").write_text(json.dumps({"fingerprint": fingerprint, "finished": False}))
    assert "partial" in Pipeline(recipe, stages).describe()
    Pipeline(recipe, stages).run()
    assert calls == ["instructions", "synth", "curate"]


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path):
    path = _recipe(tmp_path, MINIMAL)
    result = CliRunner().invoke(app, ["pipeline", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "synth" in result.output and "estimated time to finish" in result.output
    assert not (tmp_path / "run").exists()


def test_a_gpu_recipe_on_a_machine_without_one_stops_before_anything_starts(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    path = _recipe(tmp_path, MINIMAL + "device: cuda\n")
    result = CliRunner().invoke(app, ["pipeline", str(path)])
    assert result.exit_code == 2 and "no CUDA GPU" in result.output
    assert not (tmp_path / "run").exists()


def test_a_training_section_is_checked_with_the_train_command_keys(tmp_path):
    path = _recipe(tmp_path, "run_dir: {run_dir}\nsft:\n  embedded_model: true\n  lora_alhpa: 8\n")
    with pytest.raises(
        InputError, match=r"Unknown recipe key 'lora_alhpa' in .*section sft \(did you mean lora_alpha\?\)"
    ):
        load_pipeline_recipe(path)


@pytest.mark.parametrize("value", ["1500", -1, True])
def test_an_anneal_min_words_that_is_not_a_count_of_words_is_refused(tmp_path, value):
    path = _recipe(tmp_path, MINIMAL + f"anneal:\n  min_words: {json.dumps(value)}\n  learning_rate: 1.0e-4\n")
    with pytest.raises(InputError, match=r"section anneal: min_words is .*; give a whole number of words"):
        load_pipeline_recipe(path)


def test_anneal_trains_on_the_curated_rows_of_at_least_min_words(tmp_path, monkeypatch):
    from longwrite.training import stages_train

    recipe = load_pipeline_recipe(_recipe(tmp_path, MINIMAL + "anneal:\n  min_words: 5\n"))
    for stage in ("curate", "sft"):
        (tmp_path / "run" / stage / "model").mkdir(parents=True)
        (tmp_path / "run" / stage / "stage.json").write_text('{"finished": true, "summary": {}}', encoding="utf-8")
    (tmp_path / "run" / "sft" / "model" / "adapter_config.json").write_text("{}", encoding="utf-8")
    answers = ["one two three", "one two three four five", "one two three four five six seven"]
    rows = [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": a}]} for a in answers]
    (tmp_path / "run" / "curate" / "curated.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    trained_on: list[list[str]] = []
    monkeypatch.setattr(  # the rows it would train on, without training
        stages_train, "_train", lambda run, name, data, start: trained_on.append(
            [row["messages"][-1]["content"] for row in map(json.loads, data.read_text().splitlines())]) or {},
    )  # fmt: skip
    anneal = StageRun(recipe, tmp_path / "run" / "anneal")
    anneal.folder.mkdir()
    assert stages_train.run_anneal(anneal) == {"rows": 2, "min_words": 5}
    assert trained_on == [answers[1:]]

    recipe = load_pipeline_recipe(_recipe(tmp_path, MINIMAL + "anneal:\n  min_words: 50\n"))
    with pytest.raises(InputError, match=r"No curated row has 50 words or more; lower anneal\.min_words"):
        stages_train.run_anneal(StageRun(recipe, anneal.folder))


def _eval_folder(
    folder: Path, by_range: list[float], outputs: list[int], words_per_s: float, rep_4: tuple[float, ...] = (0.05,) * 4
) -> None:
    from longwrite.eval.data import RANGES

    folder.mkdir(parents=True)
    required = [100, 800, 3000, 8000]
    preds = [
        {"index": i, "length": required[i], "response_length": outputs[i], "rep_4": rep_4[i], "path": "model"}
        for i in range(4)
    ]
    (folder / "preds.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds), encoding="utf-8")
    ranges = {label: {"S_l": value, "count": 1} for (label, _), value in zip(RANGES, by_range, strict=True)}
    scores = {"S_l": sum(by_range) / 4, "time": {"words_per_second": words_per_s}, "S_l_by_range": ranges}
    (folder / "scores.json").write_text(json.dumps(scores), encoding="utf-8")


def _ruler_folder(folder: Path, answers: dict[int, list[tuple[int, float]]]) -> None:
    """Ruler answers as (words, rep-4) per required length."""
    folder.mkdir(parents=True)
    preds = [
        {"length": n, "response_length": words, "rep_4": rep_4, "length_score": 50.0}
        for n, group in answers.items()
        for words, rep_4 in group
    ]
    (folder / "preds.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds), encoding="utf-8")


@pytest.mark.parametrize(("trained_ranges", "ships"), [([70, 80, 75, 60], True), ([50, 80, 75, 60], False)])
def test_the_adapter_ships_only_when_it_beats_the_base_in_every_range(tmp_path, trained_ranges, ships):
    from longwrite.training.pipeline import stage_summary
    from longwrite.training.pipeline_report import ship, write_report
    from longwrite.training.pipeline_stages import stages

    path = _recipe(tmp_path, MINIMAL + "export:\n  ship_dir: {run_dir}/shipped\n")
    recipe = load_pipeline_recipe(path)
    run_dir = recipe.run_dir
    _eval_folder(run_dir / "eval-base" / "longbench-model", [56, 33, 18, 4], [300, 400, 200, 400], 30.0)
    # The trained model's 5,000-word answer is a loop (rep-4 0.9): the tables count it.
    loop = (0.0, 0.0, 0.0, 0.9)
    _eval_folder(run_dir / "eval-trained" / "longbench-model", trained_ranges, [110, 790, 2900, 5000], 40.0, loop)
    # The base model's longest answer at 5,000 is a loop (rep-4 0.9); the report reads both figures.
    _ruler_folder(run_dir / "eval-base" / "ruler-model", {1000: [(500, 0.0)], 5000: [(600, 0.02), (5500, 0.9)]})
    _ruler_folder(run_dir / "eval-trained" / "ruler-model", {1000: [(1000, 0.0)], 5000: [(4800, 0.05)]})
    (run_dir / "export").mkdir()
    (run_dir / "export" / "adapter.gguf").write_bytes(b"GGUF")
    (run_dir / "ship").mkdir()

    result = ship(StageRun(recipe, run_dir / "ship"), stage_summary)
    assert result["shipped"] is ships
    assert (run_dir / "shipped" / "smollm2-135m-longwrite.lora.gguf").is_file() is ships
    if not ships:
        assert "[0,500)" in result["why"]
    # A lever tried before: another recipe's run beside this one, its DPO stage the last it trained.
    lever = run_dir.parent / "lever"
    _eval_folder(lever / "eval-trained" / "longbench-model", [40, 20, 10, 0], [150, 300, 400, 500], 35.0)
    (lever / "pipeline.json").write_text(json.dumps({"recipe": "lever.yaml"}), encoding="utf-8")
    for stage, steps in (("sft", 96), ("dpo", 48)):
        (lever / stage).mkdir()
        marker = {"finished": True, "summary": {"steps": steps, "final_loss": 0.5}}
        (lever / stage / "stage.json").write_text(json.dumps(marker), encoding="utf-8")
    (run_dir / "report").mkdir()
    write_report(StageRun(recipe, run_dir / "report"), [stage.name for stage in stages()])
    report = (run_dir / "report" / "report.md").read_text(encoding="utf-8")
    assert "| base, model mode | 27.75 | 56 | 33 | 18 | 4 | - | 0.05 | 0 of 4 |" in report
    trained_row = next(line for line in report.splitlines() if line.startswith("| trained, model mode |"))
    assert "| 1 of 4 |" in trained_row
    assert "| base (untrained) | - | - | - | 27.75 | 56 | 33 | 18 | 4 |" in report
    assert "| lever | `lever.yaml` | 48 | 0.50 | 17.50 | 40 | 20 | 10 | 0 |" in report
    # Ruler at 5,000: longest before/after and their ratio, then the same leaving loops out
    assert "| 5,000 | 5,500 | 4,800 | 0.87 | 600 | 4,800 | 8.00 |" in report
    assert (run_dir / "report" / "scatter.png").is_file() and (run_dir / "report" / "ruler.png").is_file()


def test_pairs_and_dpo_have_time_estimates(tmp_path):
    from longwrite.training.pipeline_io import MODEL_WORDS_PER_S
    from longwrite.training.stages_train import estimate_dpo, estimate_pairs

    path = _recipe(tmp_path, MINIMAL + "pairs:\n  samples_per_prompt: 3\n  limit: 2\ndpo:\n  beta: 0.1\n")
    recipe = load_pipeline_recipe(path)
    curate = recipe.run_dir / "curate"
    curate.mkdir(parents=True)
    rows = [{"id": f"r{i}", "length": length} for i, length in enumerate((300, 1200, 5000))]
    (curate / "curated.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    pairs = StageRun(recipe, recipe.run_dir / "pairs")
    assert estimate_pairs(pairs) == pytest.approx((300 + 1200) * 3 / MODEL_WORDS_PER_S)
    before = estimate_dpo(StageRun(recipe, recipe.run_dir / "dpo"))
    pairs.folder.mkdir()
    answer = [{"role": "assistant", "content": "word " * 150}]
    pair = {"id": "r0", "chosen": answer, "rejected": answer}
    (pairs.folder / "pairs.jsonl").write_text(json.dumps(pair) + "\n", encoding="utf-8")
    assert estimate_pairs(pairs) == pytest.approx(1200 * 3 / MODEL_WORDS_PER_S)  # r0 is done
    assert 0 < estimate_dpo(StageRun(recipe, recipe.run_dir / "dpo")) == pytest.approx(before * 300 / 3000)


def test_anneal_trains_with_the_sft_settings_its_section_leaves_out_and_dpo_does_not(tmp_path):
    from longwrite.training.stages_train import _section

    sft = "  max_length: 7800\n  overlong: drop\n  learning_rate: 1.0e-3\n"
    anneal = "anneal:\n  min_words: 2000\n  learning_rate: 5.0e-4\n"
    dpo = "pairs:\n  samples_per_prompt: 2\ndpo:\n  beta: 0.1\n"
    recipe = load_pipeline_recipe(_recipe(tmp_path, MINIMAL + sft + anneal + dpo))

    annealing = _section(StageRun(recipe, tmp_path / "run" / "anneal"), "anneal")
    assert annealing["max_length"] == 7800 and annealing["overlong"] == "drop"  # its long rows are kept
    assert annealing["learning_rate"] == 5.0e-4  # its own key wins
    preferring = _section(StageRun(recipe, tmp_path / "run" / "dpo"), "dpo")
    assert preferring["embedded_model"] is True and "max_length" not in preferring


@pytest.mark.parametrize("full", [True, False], ids=["full fine-tuning", "LoRA"])
def test_anneal_goes_on_from_the_sft_model_in_its_form(tmp_path, full):
    from longwrite.training.stages_train import _going_on_from, _train_config

    sft = "  use_peft: false\n" if full else "  use_peft: true\n  merge_lora: false\n"
    recipe = load_pipeline_recipe(_recipe(tmp_path, MINIMAL + sft + "anneal:\n  learning_rate: 1.0e-5\n"))
    model = tmp_path / "run" / "sft" / "model"
    model.mkdir(parents=True)
    (model / ("config.json" if full else "adapter_config.json")).write_text("{}", encoding="utf-8")
    (tmp_path / "run" / "sft" / "stage.json").write_text('{"finished": true, "summary": {}}', encoding="utf-8")
    run = StageRun(recipe, tmp_path / "run" / "anneal")

    config = _train_config(run, "anneal", tmp_path / "curated.jsonl", _going_on_from(run, "sft"), dpo=False)
    if full:  # the fine-tuned checkpoint is the model now, not the embedded one it came from
        assert (config.model.model_name_or_path, config.ours.embedded_model) == (str(model), False)
        assert not config.uses_lora
    else:  # the same embedded base, with the SFT adapter to go on training
        assert config.ours.embedded_model and config.ours.init_adapter == str(model)
