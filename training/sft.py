"""`longwrite train sft`: supervised fine-tuning on long-output conversations with TRL's SFTTrainer.

Loss on the assistant answer only (prompt-completion examples, completion_only_loss), averaged
over every target token of the optimiser step (see training/runs.py), packing into max_length
sequences unless the recipe turns it off.
"""

from __future__ import annotations

from longwrite.extras import require
from training.examples import sft_examples
from training.runs import TrainSummary, lora_config, prepare_run, train_and_save
from training.train_config import TrainConfig


def run_sft(config: TrainConfig, overwrite: bool = False) -> TrainSummary:
    require("train", "Training (longwrite train sft)")
    from datasets import Dataset
    from trl import SFTTrainer

    run = prepare_run(config, overwrite, sft_examples)
    trainer = SFTTrainer(
        model=run.model,
        args=config.trainer,
        train_dataset=Dataset.from_list(run.prepared.examples),
        processing_class=run.tokenizer,
        peft_config=lora_config(config),
    )
    return train_and_save(trainer, config, run)
