"""`longwrite train sft|dpo`: one run of TRL's SFTTrainer or DPOTrainer from a TrainConfig.

SFT puts the loss on the assistant answer only (prompt-completion examples with
completion_only_loss), averaged over every target token of the optimiser step (training/runs.py).
DPO's reference model is a frozen copy of the starting model (TRL makes it; with LoRA the adapter
is switched off instead, so no second copy is held).
"""

from __future__ import annotations

from longwrite.core.extras import require
from longwrite.training.examples import dpo_examples, sft_examples
from longwrite.training.runs import TrainSummary, lora_config, prepare_run, train_and_save
from longwrite.training.train_config import TrainConfig


def run_training(config: TrainConfig, overwrite: bool = False) -> TrainSummary:
    require("train", f"Training (longwrite train {config.kind})")
    from datasets import Dataset
    from trl import DPOTrainer, SFTTrainer

    trainer_kind, make_examples = (SFTTrainer, sft_examples) if config.kind == "sft" else (DPOTrainer, dpo_examples)
    run = prepare_run(config, overwrite, make_examples)
    trainer = trainer_kind(
        model=run.model,
        args=config.trainer,
        train_dataset=Dataset.from_list(run.prepared.examples),
        processing_class=run.tokenizer,
        peft_config=lora_config(config),
    )
    return train_and_save(trainer, config, run)
