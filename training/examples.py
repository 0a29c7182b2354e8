"""Training examples in the shapes TRL takes, made from our rows, with bad rows refused clearly.

SFT rows (`{"messages": [...]}`) become conversational prompt-completion examples: the prompt is
every turn before the last assistant answer, the completion is that answer. TRL then puts the
loss on the completion tokens only, whatever the chat template (no template markers needed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from longwrite.core.errors import InputError

ROLES = {"system", "user", "assistant"}
SHOWN_LINES = 3  # bad lines named in an error


@dataclass(frozen=True)
class Prepared:
    examples: list[dict[str, Any]]
    dropped_overlong: int
    truncated: int
    longest_tokens: int


def sft_examples(rows: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """Prompt-completion examples; InputError naming the lines that are not conversations."""
    examples, bad = [], []
    for row in rows:
        problem = _conversation_problem(row.get("messages"))
        if problem:
            bad.append((row.get("_line", "?"), problem))
            continue
        messages = row["messages"]
        last_answer = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        examples.append({"prompt": messages[:last_answer], "completion": [messages[last_answer]]})
    _refuse_bad(bad, len(rows), source, 'rows like {"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}')
    return examples


def dpo_examples(rows: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """Conversational preference examples (prompt, chosen, rejected) from `train pairs` rows."""
    examples, bad = [], []
    for row in rows:
        problem = _preference_problem(row)
        if problem:
            bad.append((row.get("_line", "?"), problem))
            continue
        examples.append({key: row[key] for key in ("prompt", "chosen", "rejected")})
    _refuse_bad(bad, len(rows), source, "rows made by `longwrite train pairs` (prompt, chosen, rejected)")
    return examples


def _conversation_problem(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "no messages list"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return "a message without a system/user/assistant role"
        if not isinstance(message.get("content"), str):
            return "a message whose content is not text"
    roles = [m["role"] for m in messages]
    if "assistant" not in roles:
        return "no assistant turn to learn from"
    if "user" not in roles[: roles.index("assistant")]:
        return "an assistant turn before any user turn"
    if not messages[max(i for i, r in enumerate(roles) if r == "assistant")]["content"].strip():
        return "an empty assistant turn"
    return None


def _preference_problem(row: dict[str, Any]) -> str | None:
    for key in ("prompt", "chosen", "rejected"):
        if key not in row:
            return f"no {key!r} field"
    problem = _conversation_problem(row["prompt"] + row["chosen"]) if isinstance(row["prompt"], list) else None
    if problem or not isinstance(row["prompt"], list):
        return problem or "a prompt that is not a list of messages"
    for key in ("chosen", "rejected"):
        answer = row[key]
        if not (
            isinstance(answer, list)
            and len(answer) == 1
            and isinstance(answer[0], dict)
            and answer[0].get("role") == "assistant"
            and isinstance(answer[0].get("content"), str)
        ):
            return f"{key!r} is not one assistant message"
    return None


def _refuse_bad(bad: list[tuple[Any, str]], total: int, source: str, expected: str) -> None:
    if not bad:
        return
    shown = "; ".join(f"line {line}: {problem}" for line, problem in bad[:SHOWN_LINES])
    more = f" (and {len(bad) - SHOWN_LINES} more)" if len(bad) > SHOWN_LINES else ""
    raise InputError(
        f"{source}: {len(bad)} of {total} rows cannot be trained on ({shown}{more}); the file must hold {expected}. "
        "Fix or remove those rows (longwrite curate drops them)."
    )


def fit_to_length(
    examples: list[dict[str, Any]],
    count_tokens: Callable[[dict[str, Any]], int],
    max_length: int,
    overlong: Literal["drop", "truncate"],
) -> Prepared:
    """Drop (or keep, for TRL to truncate) the examples longer than `max_length` tokens; counted."""
    kept, dropped, truncated, longest = [], 0, 0, 0
    for example in examples:
        tokens = count_tokens(example)
        longest = max(longest, tokens)
        if tokens > max_length and overlong == "drop":
            dropped += 1
            continue
        truncated += tokens > max_length
        kept.append(example)
    if not kept:
        raise InputError(
            f"All {len(examples)} samples are longer than max_length {max_length} tokens (the longest has {longest}); "
            "raise max_length or set overlong: truncate."
        )
    return Prepared(kept, dropped, truncated, longest)


def chat_token_counter(tokenizer: Any) -> Callable[[dict[str, Any]], int]:
    """Counts an example's tokens as the trainer will see them (chat template applied, longest answer)."""

    def count(example: dict[str, Any]) -> int:
        answers = [example[k] for k in ("completion", "chosen", "rejected") if k in example]
        return max(
            len(_ids(tokenizer.apply_chat_template(example["prompt"] + answer, tokenize=True))) for answer in answers
        )

    return count


def _ids(encoded: Any) -> list[int]:
    """apply_chat_template returns ids or, in newer transformers, a BatchEncoding holding them."""
    return encoded["input_ids"] if isinstance(encoded, dict) or hasattr(encoded, "keys") else encoded
