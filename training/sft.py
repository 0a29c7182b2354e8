"""`longwrite train sft`: supervised fine-tuning on long-output conversations with TRL's SFTTrainer.

Loss on the assistant answer only (prompt-completion examples), averaged over every target
token of the optimiser step (see training/runs.py), packing into max_length sequences.
"""

from __future__ import annotations

from longwrite.extras import require
from training.examples import sft_examples
from training.recipe import SftRecipe
from training.runs import TrainSummary, common_arguments, lora_config, prepare_run, train_and_save


def run_sft(recipe: SftRecipe, source: str, overwrite: bool = False) -> TrainSummary:
    require("train", "Training (longwrite train sft)")
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    run = prepare_run(recipe, source, overwrite, sft_examples)
    config = SFTConfig(
        **common_arguments(recipe, run.out, run.device),
        packing=recipe.packing,
        completion_only_loss=True,  # the loss falls on the answer, never on the instruction
        dataset_num_proc=1,
    )
    trainer = SFTTrainer(
        model=run.model,
        args=config,
        train_dataset=Dataset.from_list(run.prepared.examples),
        processing_class=run.tokenizer,
        peft_config=lora_config(recipe),
    )
    return train_and_save(trainer, recipe, run.out, run.resume, run.prepared)
