"""`longwrite train`: recipes, data checks and real TRL steps on a tiny random Llama (no download)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from longwrite.cli import app
from longwrite.core.errors import InputError
from longwrite.training.examples import fit_to_length, sft_examples
from longwrite.training.pairs import pair_row, score_answer
from longwrite.training.recipe import PairsRecipe, load_recipe, recipe_file_values
from longwrite.training.synth import Instruction
from longwrite.training.train_config import TrainConfig, load_train_config, train_config, train_namespace
from tests.unit.tiny_model import conversation, save_tiny_checkpoint, sentence

torch = pytest.importorskip("torch")
RECIPES = Path(__file__).parents[2] / "training" / "recipes"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "model")


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def sft_recipe(tiny: Path, data: Path, out: Path, **overrides) -> TrainConfig:
    values = dict(model_name_or_path=str(tiny), data=str(data), output_dir=str(out), device="cpu", max_length=256,
                  packing=False, learning_rate=0.5, lr_scheduler_type="constant", max_steps=1,
                  per_device_train_batch_size=2, optim="sgd", max_grad_norm=0.0, save_steps=1,
                  logging_steps=1)  # fmt: skip
    return train_config("sft", values | overrides, [], "test")


def weights(folder: Path) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder)
    return {name: p.detach().clone() for name, p in model.named_parameters()}


# ---------------------------------------------------------------- the loss is a mean over tokens


def expected_update(tiny: Path, rows: list[dict], lr: float, per_token: bool) -> dict[str, torch.Tensor]:
    """-lr * gradient of the batch loss, computed by hand: per-token mean or per-sample mean."""
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny)
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    sums, counts = [], []
    for row in rows:
        prompt = tokenizer.apply_chat_template(row["messages"][:1], add_generation_prompt=True, return_dict=True)
        full = tokenizer.apply_chat_template(row["messages"], return_dict=True)
        ids = full["input_ids"]
        labels = torch.tensor([-100] * len(prompt["input_ids"]) + ids[len(prompt["input_ids"]) :])
        logits = model(input_ids=torch.tensor([ids])).logits[0, :-1]
        sums.append(F.cross_entropy(logits, labels[1:], ignore_index=-100, reduction="sum"))
        counts.append(int((labels[1:] != -100).sum()))
    loss = sum(sums) / sum(counts) if per_token else sum(s / c for s, c in zip(sums, counts, strict=True)) / len(rows)
    loss.backward()
    return {name: -lr * p.grad for name, p in model.named_parameters()}


@pytest.mark.parametrize(("batch", "accumulation"), [(2, 1), (1, 2)])
def test_a_long_and_a_short_answer_weigh_per_token_not_per_sample(tiny, tmp_path, batch, accumulation):
    from longwrite.training.trainer import run_training

    rows = [conversation(4, 60, seed=1), conversation(4, 3, seed=7)]  # 60 answer words against 3
    data = write_rows(tmp_path / "rows.jsonl", rows)
    recipe = sft_recipe(tiny, data, tmp_path / "out", per_device_train_batch_size=batch,
                        gradient_accumulation_steps=accumulation)  # fmt: skip
    summary = run_training(recipe)
    before, after = weights(tiny), weights(tmp_path / "out")
    actual = {name: after[name] - before[name] for name in before}
    assert summary.steps == 1 and any(delta.abs().max() > 0 for delta in actual.values())  # the step changed weights
    per_token = expected_update(tiny, rows, recipe.trainer.learning_rate, per_token=True)
    per_sample = expected_update(tiny, rows, recipe.trainer.learning_rate, per_token=False)
    flat = torch.cat([actual[n].flatten() for n in sorted(actual)])
    token_flat = torch.cat([per_token[n].flatten() for n in sorted(actual)])
    sample_flat = torch.cat([per_sample[n].flatten() for n in sorted(actual)])
    assert torch.allclose(flat, token_flat, atol=1e-5, rtol=1e-3)
    assert (flat - sample_flat).abs().max() > 100 * (flat - token_flat).abs().max()


# ---------------------------------------------------------------- what a run leaves behind


def test_sft_saves_a_checkpoint_that_loads_with_its_chat_template(tiny, tmp_path):
    from transformers import AutoTokenizer

    from longwrite.training.trainer import run_training

    data = write_rows(tmp_path / "rows.jsonl", [conversation(4, 20, seed=s) for s in range(4)])
    summary = run_training(
        sft_recipe(tiny, data, tmp_path / "out", max_steps=2, learning_rate=1e-3, optim="adamw_torch")
    )
    out = tmp_path / "out"
    assert summary.steps == 2 and summary.tokens > 0 and summary.final_loss is not None
    assert "trained 2 steps on 4 samples" in summary.line() and str(out) in summary.line()
    state = json.loads((out / "trainer_state.json").read_text())
    assert [entry["step"] for entry in state["log_history"] if "loss" in entry] == [1, 2]
    assert AutoTokenizer.from_pretrained(out).chat_template is not None
    changed = [name for name, w in weights(out).items() if not torch.equal(w, weights(tiny)[name])]
    assert changed


def test_a_folder_that_holds_another_run_is_refused_unless_overwrite(tiny, tmp_path):
    from longwrite.training.trainer import run_training

    data = write_rows(tmp_path / "rows.jsonl", [conversation(4, 10, seed=s) for s in range(2)])
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("someone else's run")
    with pytest.raises(InputError, match=r"already holds another run.*--overwrite"):
        run_training(sft_recipe(tiny, data, out))
    assert (out / "notes.txt").exists()  # nothing is lost by the refusal
    run_training(sft_recipe(tiny, data, out), overwrite=True)
    assert not (out / "notes.txt").exists() and (out / "model.safetensors").exists()


def test_resume_latest_continues_from_the_last_checkpoint(tiny, tmp_path):
    from longwrite.training.trainer import run_training

    data = write_rows(tmp_path / "rows.jsonl", [conversation(4, 10, seed=s) for s in range(4)])
    out = tmp_path / "out"
    run_training(sft_recipe(tiny, data, out, max_steps=1, per_device_train_batch_size=1))
    assert (out / "checkpoint-1").is_dir()
    summary = run_training(sft_recipe(tiny, data, out, max_steps=3, per_device_train_batch_size=1,
                                 resume_from_checkpoint="latest"))  # fmt: skip
    assert summary.steps == 3
    state = json.loads((out / "trainer_state.json").read_text())
    assert [entry["step"] for entry in state["log_history"] if "loss" in entry] == [1, 2, 3]


def test_lora_is_merged_into_a_plain_checkpoint(tiny, tmp_path):
    from longwrite.training.trainer import run_training

    data = write_rows(tmp_path / "rows.jsonl", [conversation(4, 20, seed=s) for s in range(2)])
    out = tmp_path / "out"
    run_training(
        sft_recipe(tiny, data, out, use_peft=True, lora_r=4, lora_alpha=8, learning_rate=1e-2, optim="adamw_torch")
    )
    assert not (out / "adapter_config.json").exists()
    after, before = weights(out), weights(tiny)
    assert set(after) == set(before)  # no lora_A/lora_B left: it loads as the base architecture
    assert not torch.equal(after["model.layers.0.self_attn.q_proj.weight"],
                           before["model.layers.0.self_attn.q_proj.weight"])  # fmt: skip
    assert torch.equal(after["model.layers.0.mlp.up_proj.weight"], before["model.layers.0.mlp.up_proj.weight"])


def test_dpo_steps_move_the_policy(tiny, tmp_path):
    from longwrite.training.trainer import run_training

    rows = []
    for seed in range(2):
        chat = conversation(4, 12, seed=seed)["messages"]
        rows.append({"prompt": chat[:1], "chosen": chat[1:], "rejected": [conversation(1, 3, seed=seed + 50)
                     ["messages"][1]]})  # fmt: skip
    data = write_rows(tmp_path / "pairs.jsonl", rows)
    recipe = train_config("dpo", dict(model_name_or_path=str(tiny), data=str(data), output_dir=str(tmp_path / "out"),
                          device="cpu", max_length=128, max_steps=2, per_device_train_batch_size=2,
                          learning_rate=1e-2, lr_scheduler_type="constant", logging_steps=1), [], "test")  # fmt: skip
    summary = run_training(recipe)
    assert summary.steps == 2 and summary.final_loss is not None
    changed = [name for name, w in weights(tmp_path / "out").items() if not torch.equal(w, weights(tiny)[name])]
    assert changed


# ---------------------------------------------------------------- bad input


def test_an_unknown_recipe_key_is_named_with_a_suggestion(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("data: a.jsonl\noutput_dir: out\nmodel_name_or_path: m\nlearning_rte: 1.0e-5\n")
    with pytest.raises(InputError, match=r"Unknown recipe key 'learning_rte'.*did you mean learning_rate"):
        load_train_config("sft", recipe, [])
    with pytest.raises(
        InputError, match=r"Unknown recipe key 'learning_rte' \(given as --learning_rte\).*did you mean learning_rate"
    ):
        load_train_config("sft", None, ["--data", "a.jsonl", "--learning_rte", "1"])


@pytest.mark.parametrize(
    ("yaml_line", "override", "message"),
    [
        ("max_length: long", [], r"--max_length.*: invalid int value: 'long'"),
        ("packing: 3", [], r"--packing: Truthy value expected: got 3"),
        ("", ["--overlong", "cut"], r"--overlong: invalid choice: 'cut'"),
        ("lora_r: [8, 16]", [], r"'lora_r' .* takes one value"),
        ("", ["--max_steps"], r"--max_steps.*: expected one argument"),
        ("", ["--model", "m"], r"--model is now --model_name_or_path"),
        ("learning_rate: 0", [], r"learning_rate must be above 0"),
    ],
)
def test_a_value_of_the_wrong_type_is_named(tmp_path, yaml_line, override, message):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"data: a.jsonl\noutput_dir: out\nmodel_name_or_path: m\n{yaml_line}\n")
    with pytest.raises(InputError, match=message):
        load_train_config("sft", recipe, override)


def test_overrides_win_over_the_file_and_numbers_read_naturally(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("data: a.jsonl\noutput_dir: out\nmodel_name_or_path: m\nlearning_rate: 1e-5\nmax_steps: 5\n")
    loaded = load_train_config("sft", recipe, ["--max_steps", "7", "--packing=false", "--lora-r", "8"])
    assert (loaded.trainer.learning_rate, loaded.trainer.max_steps, loaded.trainer.packing) == (1e-5, 7, False)
    assert loaded.model.lora_r == 8 and loaded.model.model_name_or_path == "m"


def test_trl_options_work_under_their_trl_names(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("data: a.jsonl\noutput_dir: out\nmodel_name_or_path: m\nreport_to: [tensorboard]\n")
    loaded = load_train_config("sft", recipe, ["--eval_strategy", "steps", "--push_to_hub", "true",
                                               "--gradient_checkpointing", "true", "--dtype", "bfloat16"])  # fmt: skip
    assert loaded.trainer.report_to == ["tensorboard"] and loaded.trainer.eval_strategy == "steps"
    assert loaded.trainer.push_to_hub and loaded.trainer.gradient_checkpointing
    assert loaded.model.dtype == "bfloat16" and loaded.trainer.completion_only_loss  # longwrite's default kept


def test_keys_of_earlier_recipes_still_work_with_a_notice(tmp_path, caplog, monkeypatch):
    # a CLI test before this one may have configured our loggers to stop at stderr (longwrite.core.logs)
    monkeypatch.setattr(logging.getLogger("longwrite"), "propagate", True)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("data: a.jsonl\noutput_dir: out\nmodel: m\nwarmup_ratio: 0.05\nlora_r: 8\n")
    loaded = load_train_config("sft", recipe, [])
    assert loaded.model.model_name_or_path == "m" and loaded.model.use_peft and loaded.model.lora_r == 8
    assert loaded.trainer.warmup_steps == 0.05
    notices = [record.getMessage() for record in caplog.records]
    assert any("'model' is now 'model_name_or_path'" in notice for notice in notices)
    assert any("use_peft" in notice for notice in notices)


@pytest.mark.parametrize("path", sorted(p for p in RECIPES.glob("*.yaml") if not p.name.startswith("pipeline-")),
                         ids=lambda p: p.name)  # fmt: skip
def test_every_shipped_recipe_loads(path):  # pipeline recipes: tests/unit/test_pipeline.py
    if "pairs" in path.name:
        assert load_recipe(PairsRecipe, path, []).data
        return
    kind = "dpo" if "dpo" in path.name else "sft"  # parsed, not built: GPU recipes read fine on a CPU
    assert train_namespace(kind, recipe_file_values(path), [], str(path)).data


def test_rows_that_are_not_conversations_are_refused_with_their_lines():
    rows = [conversation(3, 5, seed=1) | {"_line": 1},
            {"text": "plain text", "_line": 2},
            {"messages": [{"role": "user", "content": "Write"}], "_line": 3},
            {"messages": [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "x"}],
             "_line": 4}]  # fmt: skip
    with pytest.raises(InputError) as caught:
        sft_examples(rows, "data.jsonl")
    message = str(caught.value)
    assert "3 of 4 rows" in message and "line 2: no messages list" in message
    assert "line 3: no assistant turn" in message and "line 4: an assistant turn before any user turn" in message


def test_samples_over_max_length_are_dropped_and_counted_or_kept_to_truncate():
    examples = [{"prompt": [], "completion": [], "size": size} for size in (10, 300, 40, 900)]
    dropped = fit_to_length(examples, lambda e: e["size"], max_length=256, overlong="drop")
    assert [e["size"] for e in dropped.examples] == [10, 40] and dropped.dropped_overlong == 2
    assert dropped.longest_tokens == 900
    kept = fit_to_length(examples, lambda e: e["size"], max_length=256, overlong="truncate")
    assert len(kept.examples) == 4 and kept.truncated == 2 and kept.dropped_overlong == 0
    with pytest.raises(InputError, match="All 2 samples are longer than max_length 5"):
        fit_to_length(examples[:2], lambda e: e["size"], max_length=5, overlong="drop")


def test_a_gpu_recipe_on_a_machine_without_one_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    data = write_rows(tmp_path / "rows.jsonl", [conversation(3, 5, seed=1)])
    result = CliRunner().invoke(app, ["train", "sft", "--config", str(RECIPES / "qwen2.5-7b-instruct-setup4.yaml"),
                                      "--data", str(data), "--output_dir", str(tmp_path / "out")])  # fmt: skip
    assert result.exit_code == 2
    assert "needs a CUDA GPU (device: cuda)" in result.output and "smollm2-135m-cpu.yaml" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_the_cli_names_a_bad_key_without_a_traceback(tmp_path):
    result = CliRunner().invoke(app, ["train", "sft", "--config", str(RECIPES / "smollm2-135m-cpu.yaml"),
                                      "--max_lenght", "512"])  # fmt: skip
    assert result.exit_code == 2 and "'max_lenght'" in result.output and "max_length" in result.output


# ---------------------------------------------------------------- preference pairs


def test_pairs_choose_the_best_answer_and_reject_the_worst():
    row = Instruction("r1", "Write a 100-word note about rivers.", 100)
    good = score_answer(row.prompt, 100, sentence(100, seed=3), None)
    short = score_answer(row.prompt, 100, "Rivers flow to the sea.", None)
    loop = score_answer(row.prompt, 100, "the river runs " * 34, None)
    assert good.score > 90 and short.score < 10 and loop.score < 10  # a loop of the right length still loses
    pair = pair_row(row, [short, good, loop], min_margin=5)
    assert pair["chosen"][0]["content"] == good.text and pair["rejected"][0]["content"] in (short.text, loop.text)
    assert pair["prompt"] == [{"role": "user", "content": row.prompt}] and pair["chosen_score"] == good.score
    assert pair_row(row, [good, good], min_margin=5) is None  # nothing to learn from a tie


def test_a_judge_score_counts_half():
    judged = score_answer("Write 10 words.", 10, "one two three four five six seven eight nine ten", lambda p, a: 20.0)
    assert judged.length_score == 100 and judged.quality == 20 and judged.score == 60


def test_the_trainer_config_exists_before_the_model_is_created(tiny, tmp_path, monkeypatch):
    """DeepSpeed ZeRO-3 shards weights as they load only when the TrainingArguments came first."""
    import transformers
    from trl import SFTConfig

    order: list[str] = []
    config_init, model_load = SFTConfig.__post_init__, transformers.AutoModelForCausalLM.from_pretrained

    def config_made(self):
        order.append("config")
        config_init(self)

    def model_made(*args, **kwargs):
        order.append("model")
        return model_load(*args, **kwargs)

    monkeypatch.setattr(SFTConfig, "__post_init__", config_made)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", model_made)
    data = write_rows(tmp_path / "rows.jsonl", [conversation(4, 10, seed=s) for s in range(2)])
    result = CliRunner().invoke(app, ["train", "sft", "--data", str(data), "--model_name_or_path", str(tiny),
                                      "--output_dir", str(tmp_path / "out"), "--device", "cpu", "--max_steps", "1",
                                      "--max_length", "256"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "config" in order and "model" in order and order.index("config") < order.index("model")
