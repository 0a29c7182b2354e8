"""The synthesis instruction set, made reproducibly from the pieces in `instruction_pieces.py`.

`long_instructions(seed, count)` gives writing instructions across genres with target lengths
drawn log-uniformly between MIN_WORDS and MAX_WORDS, each length stated in one of the many ways
people state it; `general_instructions(seed, count)` gives short requests that state no length.
The same seed always gives the same rows, so a pipeline run can be made again exactly.
"""

from __future__ import annotations

import hashlib
import math
import random
from pathlib import Path
from typing import Any

from longwrite.core.errors import InputError
from longwrite.core.text import required_length
from longwrite.training import instruction_pieces as pieces
from longwrite.training.rows import read_rows

MIN_WORDS = 150
MAX_WORDS = 5000
_SPELLED_UNITS = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def long_instructions(seed: int, count: int) -> list[dict[str, Any]]:
    """`count` distinct writing instructions, each {"id", "prompt", "length", "genre"}."""
    rng = random.Random(seed)
    requests = _all_requests()
    if count > len(requests):
        raise InputError(f"At most {len(requests)} distinct instructions can be made; asked for {count}.")
    rng.shuffle(requests)
    rows = []
    for genre, template, fill in requests[:count]:
        length = _log_uniform_length(rng)
        prompt = _phrase(template, fill, length, rng)
        rows.append({"id": _row_id(prompt), "prompt": prompt, "length": length, "genre": genre})
    return rows


def general_instructions(seed: int, count: int) -> list[dict[str, Any]]:
    """`count` distinct short requests with no stated length, each {"id", "prompt"}."""
    rng = random.Random(seed)
    prompts = []
    for template in pieces.GENERAL_TEMPLATES:
        slot = template[template.index("{") + 1 : template.index("}")]
        prompts += [template.format(**{slot: value}) for value in pieces.GENERAL_FILL[slot]]
    if count > len(prompts):
        raise InputError(f"At most {len(prompts)} general requests can be made; asked for {count}.")
    rng.shuffle(prompts)
    return [{"id": _row_id(prompt), "prompt": prompt} for prompt in prompts[:count]]


def check_long_instructions(path: Path, min_words: int = 50, max_words: int = 20000) -> list[dict[str, Any]]:
    """Rows of an instruction file that each state one length within range; InputError naming the line."""
    rows = read_rows(path)
    for row in rows:
        where = f"{path}:{row['_line']}"
        prompt = row.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise InputError(f'{where}: the row has no "prompt" text.')
        stated = row.get("length", required_length(prompt))
        if stated is None:
            raise InputError(
                f'{where}: the instruction states no length; add one ("a 1500-word ...") or a "length" field.'
            )
        if isinstance(stated, bool) or not isinstance(stated, int) or not min_words <= stated <= max_words:
            raise InputError(f"{where}: length {stated!r} is outside {min_words}..{max_words} words.")
    return rows


def _all_requests() -> list[tuple[str, str, dict[str, str]]]:
    """Every (genre, template, fill) combination, in a fixed order."""
    requests = []
    for genre, templates in pieces.NONFICTION_TEMPLATES.items():
        for index, subject in enumerate(pieces.SUBJECTS):
            requests.append((genre, templates[index % len(templates)], {"subject": subject}))
    for genre, templates in pieces.FICTION_TEMPLATES.items():
        for index, (noun, clause) in enumerate(pieces.PREMISES):
            requests.append((genre, templates[index % len(templates)], {"premise": noun, "premise_clause": clause}))
    for genre, templates in pieces.OCCASION_TEMPLATES.items():
        for index, (letter, speech) in enumerate(pieces.OCCASIONS):
            requests.append((genre, templates[index % len(templates)], {"occasion": letter, "occasion_speech": speech}))
    return requests


def _log_uniform_length(rng: random.Random) -> int:
    """A length drawn log-uniformly, rounded as people round (to 50 below 1,000, else to 100)."""
    raw = math.exp(rng.uniform(math.log(MIN_WORDS), math.log(MAX_WORDS)))
    step = 50 if raw < 1000 else 100
    return max(MIN_WORDS, min(MAX_WORDS, round(raw / step) * step))


def _phrase(template: str, fill: dict[str, str], length: int, rng: random.Random) -> str:
    """The template filled, with the length stated in front of the genre or after the request."""
    values = _number_forms(length)
    if rng.random() < 0.5:
        forms = [form for form in pieces.LENGTH_FORMS if _fits(form, values)]
        return template.format(length=rng.choice(forms).format(**values), **fill)
    forms = [form for form in pieces.TRAILING_FORMS if _fits(form, values)]
    head = template.format(length="{article}", **fill)
    following = head.split("{article}", 1)[1].lstrip()
    article = "an" if following[:1].lower() in "aeiou" else "a"
    return head.replace("{article}", article) + rng.choice(forms).format(**values)


def _fits(form: str, values: dict[str, str]) -> bool:
    return ("{k}" not in form or bool(values["k"])) and ("{spelled}" not in form or bool(values["spelled"]))


def _number_forms(length: int) -> dict[str, str]:
    """The ways this number can be written: digits, with commas, in thousands (k), spelled out."""
    k = f"{length / 1000:g}" if length >= 1000 and length % 500 == 0 else ""
    return {"n": str(length), "n_commas": f"{length:,}", "k": k, "spelled": _spelled(length)}


def _spelled(length: int) -> str:
    """ "three hundred", "two thousand"; empty for numbers people rarely spell out."""
    if length < 1000 and length % 100 == 0:
        return f"{_SPELLED_UNITS[length // 100]} hundred"
    if length % 1000 == 0 and length // 1000 < 10:
        return f"{_SPELLED_UNITS[length // 1000]} thousand"
    return ""


def _row_id(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()[:12]
