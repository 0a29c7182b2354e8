"""`longwrite train dpo`: preference optimisation on `train pairs` rows with TRL's DPOTrainer.

The reference model is a frozen copy of the starting model (TRL makes it; with LoRA the adapter
is switched off instead, so no second copy is held).
"""

from __future__ import annotations

from longwrite.extras import require
from training.examples import dpo_examples
from training.recipe import DpoRecipe
from training.runs import TrainSummary, common_arguments, lora_config, prepare_run, train_and_save


def run_dpo(recipe: DpoRecipe, source: str, overwrite: bool = False) -> TrainSummary:
    require("train", "Training (longwrite train dpo)")
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    run = prepare_run(recipe, source, overwrite, dpo_examples)
    config = DPOConfig(
        **common_arguments(recipe, run.out, run.device),
        beta=recipe.beta,
        loss_type=[recipe.loss_type],
        dataset_num_proc=1,
    )
    trainer = DPOTrainer(
        model=run.model,
        args=config,
        train_dataset=Dataset.from_list(run.prepared.examples),
        processing_class=run.tokenizer,
        peft_config=lora_config(recipe),
    )
    return train_and_save(trainer, recipe, run.out, run.resume, run.prepared)
