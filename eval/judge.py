"""The quality judge of LongBench-Write (S_q): any chat endpoint scores an answer 1-5 on six
dimensions, as strict JSON; the answer is parsed tolerantly and retried a bounded number of
times. A judgement that never parses is recorded as failed, never filled in with a score."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from longwrite.text import count_words
from model.client import Endpoint, json_schema_format, refused_response_format

DIMENSIONS = ("relevance", "accuracy", "coherence", "clarity", "breadth_and_depth", "reading_experience")
JUDGE_ATTEMPTS = 3
JUDGE_MAX_TOKENS = 200
# Answers longer than this many words are shown to the judge as their beginning and end.
SHOWN_WORDS = 2_500

JUDGE_PROMPT = """You are grading a piece of writing produced for the request below.

Request:
{prompt}

Writing:
{answer}

Grade the writing from 1 (very poor) to 5 (excellent) on each of these six points:
relevance (does it do what the request asks), accuracy (are its facts and claims right),
coherence (does it hang together from start to end), clarity (is it easy to follow),
breadth_and_depth (does it cover the subject fully and in detail), reading_experience (is it
pleasant to read, free of repetition and padding).

Answer with only this JSON object and nothing else:
{{"relevance": 0, "accuracy": 0, "coherence": 0, "clarity": 0, "breadth_and_depth": 0, "reading_experience": 0}}"""

# What a judgement must look like: every dimension, a whole grade from 1 to 5. Sent as the
# request's response_format where the server can constrain its answer to it.
JUDGEMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {dimension: {"type": "integer", "enum": [1, 2, 3, 4, 5]} for dimension in DIMENSIONS},
    "required": list(DIMENSIONS),
    "additionalProperties": False,
}


def judgement_format(endpoint: Endpoint) -> dict[str, Any] | None:
    """The response_format that holds this endpoint's judge to JUDGEMENT_SCHEMA, if it can."""
    return json_schema_format(endpoint.structured_output, "judgement", JUDGEMENT_SCHEMA)


_NUMBER_AFTER_KEY = r'["\']?{key}["\']?\s*[:=]\s*["\']?(\d+(?:\.\d+)?)'


@dataclass(frozen=True)
class Judgement:
    scores: dict[str, float] | None  # None when no attempt gave a usable answer
    attempts: int
    raw: str  # the judge's last answer, kept for inspection


def shown_answer(answer: str, limit: int = SHOWN_WORDS) -> str:
    """The answer, or its beginning and end with the middle left out, so it fits the judge."""
    words = answer.split()
    if count_words(answer) <= limit or len(words) <= limit:
        return answer
    half = limit // 2
    omitted = len(words) - 2 * half
    return " ".join(words[:half]) + f"\n\n[... {omitted} words left out ...]\n\n" + " ".join(words[-half:])


def parse_judgement(text: str) -> dict[str, float] | None:
    """The six scores from a judge's answer: a JSON object (possibly inside prose or a code
    fence), else "key: number" pairs. None unless all six are present and within 1-5."""
    candidates: list[dict[str, Any]] = []
    for match in re.finditer(r"\{[^{}]*\}", text, flags=re.DOTALL):
        try:
            data = json.loads(match.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            candidates.append({_key(k): v for k, v in data.items()})
    pairs = {}
    for dimension in DIMENSIONS:
        pattern = _NUMBER_AFTER_KEY.format(key=dimension.replace("_", r"[ _]"))
        found = re.search(pattern, text, flags=re.IGNORECASE)
        if found:
            pairs[dimension] = found.group(1)
    candidates.append(pairs)
    for candidate in candidates:
        scores = _valid(candidate)
        if scores:
            return scores
    return None


def _key(key: object) -> str:
    return re.sub(r"[\s-]+", "_", str(key).strip().lower())


def _valid(candidate: dict[str, Any]) -> dict[str, float] | None:
    scores = {}
    for dimension in DIMENSIONS:
        value = candidate.get(dimension)
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if isinstance(value, bool) or not 1 <= number <= 5:
            return None
        scores[dimension] = number
    return scores


def judge_answer(
    model: BaseChatModel,
    prompt: str,
    answer: str,
    attempts: int = JUDGE_ATTEMPTS,
    response_format: dict[str, Any] | None = None,
) -> Judgement:
    """Ask the judge up to `attempts` times for a parsable judgement.

    `response_format` (see model.client.json_schema_format) constrains the answer to
    JUDGEMENT_SCHEMA; a server that refuses it is asked again without it.
    """
    request = JUDGE_PROMPT.format(prompt=prompt.strip(), answer=shown_answer(answer).strip() or "(empty)")
    raw = ""
    attempt = 0
    while attempt < attempts:
        body: dict[str, Any] = {"max_tokens": JUDGE_MAX_TOKENS}
        if response_format:
            body["response_format"] = response_format
        try:
            reply = model.invoke([HumanMessage(request)], extra_body=body)
        except openai.APIStatusError as error:
            if not response_format or not refused_response_format(error):
                raise
            response_format = None  # this server takes no schema: the prompt alone asks for JSON
            continue
        attempt += 1
        raw = reply.content if isinstance(reply.content, str) else str(reply.content)
        scores = parse_judgement(raw)
        if scores:
            return Judgement(scores, attempt, raw)
    return Judgement(None, attempts, raw)
