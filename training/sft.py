"""`longwrite train sft`: supervised fine-tuning on long-output conversations with TRL's SFTTrainer.

Loss on the assistant answer only (prompt-completion examples), averaged over every target
token of the optimiser step (see training/runs.py), packing into max_length sequences.
"""

from __future__ import annotations

from pathlib import Path

from training.examples import chat_token_counter, fit_to_length, sft_examples
from training.recipe import SftRecipe
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


def run_sft(recipe: SftRecipe, source: str, overwrite: bool = False) -> TrainSummary:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    device = training_device(recipe, source)
    examples = sft_examples(read_rows(Path(recipe.data)), recipe.data)  # bad data fails before the model loads
    out, resume = prepare_output(recipe, overwrite)
    model, tokenizer = load_base(recipe, device)
    prepared = fit_to_length(examples, chat_token_counter(tokenizer), recipe.max_length, recipe.overlong)
    check_counts(prepared, recipe.max_length)
    config = SFTConfig(
        **common_arguments(recipe, out, device),
        packing=recipe.packing,
        completion_only_loss=True,  # the loss falls on the answer, never on the instruction
        dataset_num_proc=1,
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(prepared.examples),
        processing_class=tokenizer,
        peft_config=lora_config(recipe),
    )
    return train_and_save(trainer, recipe, out, resume, prepared)
