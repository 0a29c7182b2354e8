"""`longwrite train dpo`: preference optimisation on `train pairs` rows with TRL's DPOTrainer.

The reference model is a frozen copy of the starting model (TRL makes it; with LoRA the adapter
is switched off instead, so no second copy is held).
"""

from __future__ import annotations

from longwrite.extras import require
from training.examples import dpo_examples
from training.runs import TrainSummary, lora_config, prepare_run, train_and_save
from training.train_config import TrainConfig


def run_dpo(config: TrainConfig, overwrite: bool = False) -> TrainSummary:
    require("train", "Training (longwrite train dpo)")
    from datasets import Dataset
    from trl import DPOTrainer

    run = prepare_run(config, overwrite, dpo_examples)
    trainer = DPOTrainer(
        model=run.model,
        args=config.trainer,
        train_dataset=Dataset.from_list(run.prepared.examples),
        processing_class=run.tokenizer,
        peft_config=lora_config(config),
    )
    return train_and_save(trainer, config, run)
