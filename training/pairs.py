"""`longwrite train pairs`: preference pairs for DPO, sampled from a model (usually the SFT one).

For each instruction the endpoint answers k times at the recipe's temperature, each answer capped
at a multiple of the target so a looping model cannot run to its context. Every answer is scored:
the length score S_l (0-100) scaled by the share of fresh text (1 - rep-4), averaged with the
judge's quality score (0-100) when a judge is configured. The best answer is chosen and the
worst rejected; a pair whose margin is below `min_margin` teaches nothing and is skipped.
Rows are appended as they are made, so a stopped run resumes where it was.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from longwrite.agent.budget import PRIOR_TOKENS_PER_WORD
from longwrite.agent.direct import write_direct
from longwrite.agent.state import AgentContext
from longwrite.core.errors import GenerationError, InputError
from longwrite.core.jsonl import JsonlAppender, read_jsonl
from longwrite.core.settings import Settings
from longwrite.core.text import count_words, detect_language, length_score, repetition
from longwrite.model.client import Endpoint, backend_errors
from longwrite.model.embedded import endpoint_for
from longwrite.training.recipe import PairsRecipe
from longwrite.training.synth import Instruction, read_instructions

Judge = Callable[[str, str], float | None]  # (instruction, answer) -> quality 0..100, None when unjudged


@dataclass(frozen=True)
class Scored:
    text: str
    words: int
    length_score: float
    rep4: float
    quality: float | None
    score: float


def score_answer(instruction: str, target: int, text: str, judge: Judge | None) -> Scored:
    words = count_words(text)
    s_l = length_score(target, words)
    rep4 = repetition(text).rep_n
    quality = judge(instruction, text) if judge else None
    score = s_l * (1.0 - rep4)
    if quality is not None:
        score = (score + quality) / 2
    return Scored(text, words, round(s_l, 2), round(rep4, 4), quality, round(score, 2))


def pair_row(row: Instruction, answers: list[Scored], min_margin: float) -> dict[str, Any] | None:
    """The DPO row for one instruction (best against worst), or None when they are too close."""
    ranked = sorted(answers, key=lambda answer: answer.score, reverse=True)
    chosen, rejected = ranked[0], ranked[-1]
    if chosen.score - rejected.score < min_margin:
        return None
    return {
        "id": row.id,
        "prompt": [{"role": "user", "content": row.prompt}],
        "chosen": [{"role": "assistant", "content": chosen.text}],
        "rejected": [{"role": "assistant", "content": rejected.text}],
        "length": row.target,
        "chosen_score": chosen.score,
        "rejected_score": rejected.score,
        "scores": [{k: v for k, v in vars(a).items() if k != "text"} for a in answers],
    }


def make_pairs(recipe: PairsRecipe, settings: Settings, judge: Judge | None = None) -> dict[str, int]:
    """Write the pairs not yet in the output file; counts of what happened."""
    output = Path(recipe.output)
    if not output.parent.is_dir():
        raise InputError(f"The folder {output.parent} for output does not exist; create it first.")
    rows = read_instructions(Path(recipe.data), settings)[: recipe.limit]
    skipped_path = output.with_name(output.name + ".skipped.jsonl")
    done = {row["id"] for row in read_jsonl(output)} | {row["id"] for row in read_jsonl(skipped_path)}
    todo = [row for row in rows if row.id not in done]
    counts = {"instructions": len(rows), "already_done": len(rows) - len(todo), "pairs": 0, "too_close": 0}
    spec = recipe.endpoint
    settings = settings.model_copy(
        update={"base_url": spec.base_url, "model": spec.model, "temperature": recipe.temperature}
    )
    pairs_out, skipped_out = JsonlAppender(output), JsonlAppender(skipped_path)
    with endpoint_for(settings) as endpoint:
        ctx = AgentContext.for_endpoint(endpoint, settings)
        for row in tqdm(todo, desc="pairs", unit="prompt", file=sys.stderr):
            answers = [_sample(ctx, endpoint, row, recipe, judge) for _ in range(recipe.samples_per_prompt)]
            pair = pair_row(row, answers, recipe.min_margin)
            if pair is None:
                skipped_out.append({"id": row.id, "reason": "too close", "scores": [a.score for a in answers]})
                counts["too_close"] += 1
            else:
                pairs_out.append(pair)
                counts["pairs"] += 1
    return counts


def _sample(
    ctx: AgentContext, endpoint: Endpoint, row: Instruction, recipe: PairsRecipe, judge: Judge | None
) -> Scored:
    tokens_per_word = PRIOR_TOKENS_PER_WORD[detect_language(row.prompt)]
    cap = max(16, math.ceil(row.target * tokens_per_word * recipe.max_tokens_factor))
    try:
        with backend_errors(endpoint):
            text = write_direct(ctx, row.prompt, max_tokens=cap).document
    except GenerationError:
        text = ""  # an empty answer is a legitimate rejected sample
    return score_answer(row.prompt, row.target, text, judge)
