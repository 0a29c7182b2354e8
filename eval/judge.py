"""The quality judge of LongBench-Write (S_q): any chat endpoint grades an answer 1-5 on six
dimensions, as JSON with an analysis first; the answer is parsed tolerantly and retried a bounded
number of times. A judgement that never parses is recorded as failed, never filled in with a score.

The prompt is the benchmark's own `judge.txt` where the user has it (it sits beside the data
upstream), else longwrite's own; both take the instruction and the response in the same two
placeholders and ask for the same JSON keys, so one schema and one parser serve both.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from longwrite.agent.budget import PRIOR_PROMPT_RATIO
from longwrite.agent.context import SAFETY_TOKENS, estimate_tokens
from longwrite.core.errors import InputError
from longwrite.core.text import count_words
from longwrite.model.client import REMOTE_CONTEXT_TOKENS, Endpoint, json_schema_format, refused_response_format

DIMENSIONS = ("relevance", "accuracy", "coherence", "clarity", "breadth_and_depth", "reading_experience")
# The keys judge.txt asks for (and upstream reads), in its order; scores are stored under DIMENSIONS.
ANALYSIS_KEY = "Analysis"
DIMENSION_KEYS: dict[str, str] = {
    "relevance": "Relevance",
    "accuracy": "Accuracy",
    "coherence": "Coherence",
    "clarity": "Clarity",
    "breadth_and_depth": "Breadth and Depth",
    "reading_experience": "Reading Experience",
}
JUDGE_ATTEMPTS = 3
JUDGE_MAX_TOKENS = 1_024  # LongBench-Write's allowance: the analysis is written before the grades
# A small model held to a grammar can write its analysis until the token limit and never reach
# the grades; about 250 tokens of analysis leaves room for them (llama.cpp grammars only: OpenAI's
# strict schemas take no string length). llama.cpp expands a string's maxLength into nested rules
# and refuses the grammar above about 1,000 (1,500 fails), and then the server goes down.
ANALYSIS_MAX_CHARS = 1_000

INSTRUCTION_SLOT = "$INST$"
RESPONSE_SLOT = "$RESPONSE$"
UPSTREAM_PROMPT_FILE = "judge.txt"  # its name in LongBench-Write's folder, beside the data
UPSTREAM_PROMPT_SHA256 = "2c423ce88a0eb6a61482f427997a3c03c4bc11fe861102895dcac45926ae1d57"
# The judge behind the published S_q figures; S_q is only comparable with them under it.
REFERENCE_JUDGE = "gpt-4o-2024-05-13"
# Judgements stored before the prompt was recorded were all made with longwrite's first prompt.
LEGACY_PROMPT = (
    "longwrite's first prompt (not the benchmark's; answers over 2,500 words were shown as their "
    "first and last 1,250 words, line breaks lost; 200 tokens to answer)"
)
LEGACY_SHOWN_WORDS = 2_500

OWN_PROMPT = """You are grading a piece of writing produced for the request below. Grade strictly.

<Request>

$INST$

</Request>

<Writing>

$RESPONSE$

</Writing>

Grade the writing from 1 (very poor) to 5 (excellent) on six points:
Relevance: does it do what the request asks?
Accuracy: are its facts and claims right?
Coherence: does it hang together from start to end?
Clarity: is it easy to follow, with enough detail?
Breadth and Depth: does it cover the subject fully and in depth?
Reading Experience: is it pleasant to read, free of repetition and padding?
Leave its length out of the grades.

First write a short analysis, then the grades. Answer with only this JSON object, each grade one
whole number from 1 to 5:
{"Analysis": "<your analysis>", "Relevance": <1-5>, "Accuracy": <1-5>, "Coherence": <1-5>,
"Clarity": <1-5>, "Breadth and Depth": <1-5>, "Reading Experience": <1-5>}"""

# What a judgement must look like: the analysis, then every dimension as a whole grade from 1 to
# 5. Sent as the request's response_format where the server can constrain its answer to it.
JUDGEMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        ANALYSIS_KEY: {"type": "string"},
        **{key: {"type": "integer", "enum": [1, 2, 3, 4, 5]} for key in DIMENSION_KEYS.values()},
    },
    "required": [ANALYSIS_KEY, *DIMENSION_KEYS.values()],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class JudgePrompt:
    """A judge prompt template with LongBench-Write's two placeholders, and the file it came from."""

    name: str
    template: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.template.encode("utf-8")).hexdigest()

    def fill(self, instruction: str, response: str) -> str:
        """The template with the instruction and the response in place, as upstream fills it
        (plain replacement, the instruction first, nothing stripped)."""
        return self.template.replace(INSTRUCTION_SLOT, instruction).replace(RESPONSE_SLOT, response)


LONGWRITE_PROMPT = JudgePrompt("longwrite's own prompt", OWN_PROMPT)


def load_judge_prompt(path: Path) -> JudgePrompt:
    """A judge prompt file; refused unless it has both placeholders."""
    try:
        template = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InputError(f"{path} does not exist; give a judge prompt such as the benchmark's judge.txt.") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path} cannot be read as UTF-8 text ({error}).") from error
    missing = [slot for slot in (INSTRUCTION_SLOT, RESPONSE_SLOT) if slot not in template]
    if missing:
        raise InputError(
            f"{path} has no {' or '.join(missing)}; a judge prompt marks where the instruction ({INSTRUCTION_SLOT}) "
            f"and the response ({RESPONSE_SLOT}) go."
        )
    return JudgePrompt(path.name, template)


def judge_prompt_for(data: Path, explicit: Path | None = None) -> JudgePrompt:
    """The prompt to judge with: `explicit`, else judge.txt beside the data file, else longwrite's own."""
    if explicit is not None:
        return load_judge_prompt(explicit)
    beside = data.parent / UPSTREAM_PROMPT_FILE
    return load_judge_prompt(beside) if beside.is_file() else LONGWRITE_PROMPT


def describe_prompt(name: str | None, sha256: str | None) -> str:
    """How a report names the prompt behind a judgement (None, None: a judgement from before
    prompts were recorded)."""
    if sha256 is None:
        return LEGACY_PROMPT
    if sha256 == UPSTREAM_PROMPT_SHA256:
        return f"the benchmark's own {UPSTREAM_PROMPT_FILE}"
    if sha256 == LONGWRITE_PROMPT.sha256:
        return "longwrite's own prompt (not the benchmark's)"
    return f"{name} (sha256 {sha256[:12]}; not the benchmark's {UPSTREAM_PROMPT_FILE})"


def is_reference_judge(model: str) -> bool:
    """True for GPT-4o, the benchmark's judge (any snapshot: the alias or a dated one)."""
    return re.fullmatch(r"gpt-4o(-\d{4}-\d{2}-\d{2})?", model.strip().lower()) is not None


def judgement_format(endpoint: Endpoint) -> dict[str, Any] | None:
    """The response_format that holds this endpoint's judge to JUDGEMENT_SCHEMA, if it can."""
    schema = JUDGEMENT_SCHEMA
    if endpoint.structured_output == "llamacpp":
        analysis = {"type": "string", "maxLength": ANALYSIS_MAX_CHARS}
        schema = {**schema, "properties": {**schema["properties"], ANALYSIS_KEY: analysis}}
    return json_schema_format(endpoint.structured_output, "judgement", schema)


_NUMBER_AFTER_KEY = r'["\']?{key}["\']?\s*[:=]\s*["\']?(\d+(?:\.\d+)?)'
# What a cut may split a response at: a CJK character or a run of other non-space characters, so
# the kept beginning and end keep their words whole and their line breaks.
_PIECE = re.compile(r"[\u4e00-\u9fff]|[^\s\u4e00-\u9fff]+")


@dataclass(frozen=True)
class Judgement:
    scores: dict[str, float] | None  # None when no attempt gave a usable answer
    attempts: int
    raw: str  # the judge's last answer, kept for inspection
    left_out_words: int = 0  # words cut from the middle of the response to fit the judge's context


@dataclass(frozen=True)
class JudgeRequest:
    text: str | None  # None: not even the prompt without the response fits the judge's context
    left_out_words: int


def judge_request(prompt: JudgePrompt, instruction: str, response: str, context_tokens: int) -> JudgeRequest:
    """The filled prompt with the whole response where the judge's context holds it and its
    JUDGE_MAX_TOKENS answer; else the response's beginning and end, as much as fits, with the
    middle left out and its length said in its place."""
    room = context_tokens - JUDGE_MAX_TOKENS - SAFETY_TOKENS

    def fits(text: str) -> bool:
        # counted in cl100k tokens, scaled for a server tokenizer that may be coarser
        return estimate_tokens([HumanMessage(text)]) * PRIOR_PROMPT_RATIO <= room

    whole = prompt.fill(instruction, response)
    if fits(whole):
        return JudgeRequest(whole, 0)
    spans = [match.span() for match in _PIECE.finditer(response)]

    def cut(keep: int) -> tuple[str, int]:
        head_end = spans[keep - 1][1] if keep else 0
        tail_start = spans[len(spans) - keep][0] if keep else len(response)
        left_out = count_words(response[head_end:tail_start])
        marker = f"\n\n[... {left_out:,} words left out here ...]\n\n"
        return prompt.fill(instruction, response[:head_end] + marker + response[tail_start:]), left_out

    low, high = -1, (len(spans) - 1) // 2  # the most pieces kept at each end that fits: in (low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if fits(cut(middle)[0]):
            low = middle
        else:
            high = middle - 1
    if low < 0:
        return JudgeRequest(None, count_words(response))
    return JudgeRequest(*cut(low))


def legacy_left_out_words(response: str) -> int:
    """The words longwrite's first prompt left out of `response` (its middle, past 2,500 words)."""
    words = response.split()
    if count_words(response) <= LEGACY_SHOWN_WORDS or len(words) <= LEGACY_SHOWN_WORDS:
        return 0
    half = LEGACY_SHOWN_WORDS // 2
    return count_words(" ".join(words[half:-half]))


def parse_judgement(text: str) -> dict[str, float] | None:
    """The six scores from a judge's answer: a JSON object (possibly inside prose or a code
    fence, line breaks in its strings allowed), else "key: number" pairs. None unless all six
    are present and within 1-5."""
    candidates = [{_key(k): v for k, v in data.items()} for data in _json_objects(text)]
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


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object that starts at a "{" in `text`. Decoded from each brace rather than
    matched by a pattern: an analysis may hold braces and quotes of its own."""
    decoder = json.JSONDecoder(strict=False)  # upstream drops raw line breaks; this reads them
    objects = []
    for match in re.finditer(r"\{", text):
        try:
            data, _end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            objects.append(data)
    return objects


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
    instruction: str,
    answer: str,
    attempts: int = JUDGE_ATTEMPTS,
    response_format: dict[str, Any] | None = None,
    *,
    prompt: JudgePrompt = LONGWRITE_PROMPT,
    context_tokens: int = REMOTE_CONTEXT_TOKENS,
) -> Judgement:
    """Ask the judge up to `attempts` times for a parsable judgement of `answer`.

    `response_format` (see judgement_format) constrains the answer to JUDGEMENT_SCHEMA; a server
    that refuses it is asked again without it. The whole answer is sent where `context_tokens`
    holds it (see judge_request).
    """
    request = judge_request(prompt, instruction, answer, context_tokens)
    if request.text is None:
        raw = f"not judged: the prompt does not fit the judge's {context_tokens:,}-token context"
        return Judgement(None, 0, raw, request.left_out_words)
    raw = ""
    attempt = 0
    while attempt < attempts:
        body: dict[str, Any] = {"max_tokens": JUDGE_MAX_TOKENS}
        if response_format:
            body["response_format"] = response_format
        try:
            reply = model.invoke([HumanMessage(request.text)], extra_body=body)
        except openai.APIStatusError as error:
            if not response_format or not refused_response_format(error):
                raise
            response_format = None  # this server takes no schema: the prompt alone asks for JSON
            continue
        attempt += 1
        raw = reply.content if isinstance(reply.content, str) else str(reply.content)
        scores = parse_judgement(raw)
        if scores:
            return Judgement(scores, attempt, raw, request.left_out_words)
    return Judgement(None, attempts, raw, request.left_out_words)
