"""`longwrite train dpo`: preference optimisation on `train pairs` rows with TRL's DPOTrainer.

The reference model is a frozen copy of the starting model (TRL makes it; with LoRA the adapter
is switched off instead, so no second copy is held).
"""

from __future__ import annotations

from pathlib import Path

from training.examples import chat_token_counter, dpo_examples, fit_to_length
from training.recipe import DpoRecipe
from training.rows import read_rows
from training.runs import (
    TrainSummary,
    check_counts,
    common_arguments,
    load_base,
    lora_config,
    prepare_output,
    train_and_save,
    training_device,
)


def run_dpo(recipe: DpoRecipe, source: str, overwrite: bool = False) -> TrainSummary:
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    device = training_device(recipe, source)
    examples = dpo_examples(read_rows(Path(recipe.data)), recipe.data)
    out, resume = prepare_output(recipe, overwrite)
    model, tokenizer = load_base(recipe, device)
    prepared = fit_to_length(examples, chat_token_counter(tokenizer), recipe.max_length, recipe.overlong)
    check_counts(prepared, recipe.max_length)
    config = DPOConfig(
        **common_arguments(recipe, out, device),
        beta=recipe.beta,
        loss_type=[recipe.loss_type],
        dataset_num_proc=1,
    )
    trainer = DPOTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(prepared.examples),
        processing_class=tokenizer,
        peft_config=lora_config(recipe),
    )
    return train_and_save(trainer, recipe, out, resume, prepared)
