"""Repetition penalties on a section's first call, in agent mode, measured on the embedded model.

Usage: python bench/section_penalties.py [--words 3000] [--topics 2] [--profiles none,mild,loop]

A section's first call writes most of its text; without penalties the 135M model repeats its own
phrases inside a section (the guard cuts repeated sentences and 12-word runs, not a recurring
4-word phrase), and rep-4 of a long document grows from those. Each profile (frequency, presence
and repeat penalty on every section's first call; continuations keep the loop profile) writes
the same agent jobs on one embedded server, profiles alternating job by job so that machine noise
hits all of them. Printed per profile, medians over its jobs:

- words/s: the document's words over the job's wall time;
- S_l: the length score; rep-4 of the document, split into repeats whose earlier copy is under
  1,000 words back ("near": a section repeating itself) and further ("far");
- odd: the share of words that are not words of prose (what strong penalties push a small
  model into instead of a loop).

Run it alone: a second llama.cpp workload on two cores slows both several times over.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from longwrite.agent.jobs import JobStore, new_job_id, run_job
from longwrite.agent.state import AgentContext
from longwrite.core.settings import Settings
from longwrite.core.text import odd_word_share, repetition, tokens_for_repetition
from longwrite.model.embedded import EmbeddedServer

TOPICS = [
    "the history of bookbinding",
    "how lighthouses were built and kept",
    "the science of bread",
    "the printing press",
]
# name: (frequency, presence, repeat) on each section's first call; None sends nothing
PROFILES: dict[str, tuple[float | None, float | None, float | None]] = {
    "none": (None, None, None),
    "light": (0.2, 0.1, 1.1),
    "mild": (0.3, 0.2, 1.1),
    "loop": (0.6, 0.4, 1.25),
}
NEAR_WORDS = 1_000


def repeat_split(text: str, n: int = 4) -> tuple[float, float]:
    """Shares of the n-grams of `text` that repeat one under NEAR_WORDS back, and one further back."""
    tokens = tokens_for_repetition(text)
    last_seen: dict[tuple[str, ...], int] = {}
    near = far = 0
    for i in range(len(tokens) - n + 1):
        gram = tuple(tokens[i : i + n])
        if gram in last_seen:
            near, far = (near + 1, far) if i - last_seen[gram] < NEAR_WORDS else (near, far + 1)
        last_seen[gram] = i
    total = max(len(tokens) - n + 1, 1)
    return near / total, far / total


def job(endpoint, home: Path, store: JobStore, instruction: str, target: int, profile: tuple) -> dict:
    frequency, presence, repeat = profile
    settings = Settings(home=home, section_frequency_penalty=frequency, section_presence_penalty=presence,
                        section_repeat_penalty=repeat)  # fmt: skip
    started = time.monotonic()
    result = run_job(store, AgentContext.for_endpoint(endpoint, settings), new_job_id(), instruction=instruction,
                     target=target)  # fmt: skip
    wall = time.monotonic() - started
    near, far = repeat_split(result.document)
    return {"rate": result.words / wall, "score": result.length_score, "rep4": repetition(result.document).rep_n,
            "near": near, "far": far, "odd": odd_word_share(result.document)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--words", type=int, default=3000)
    parser.add_argument("--topics", type=int, default=2)
    parser.add_argument("--profiles", default="none,mild,loop", help=f"of {', '.join(PROFILES)}")
    args = parser.parse_args()
    names = args.profiles.split(",")
    unknown = [name for name in names if name not in PROFILES]
    if unknown:
        parser.error(f"unknown profile {unknown[0]!r}; choose from {', '.join(PROFILES)}")
    rows: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        with EmbeddedServer(Settings(home=home)) as endpoint, JobStore(home / "jobs.sqlite") as store:
            for topic in TOPICS[: args.topics]:
                instruction = f"Write a {args.words}-word guide to {topic}."
                for name in names:
                    row = job(endpoint, home, store, instruction, args.words, PROFILES[name])
                    rows[name].append(row)
                    print(f"{topic!r} {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{args.words} words, {args.topics} topics")  # fmt: skip
    print("| profile (frequency/presence/repeat) | words/s | S_l | rep-4 | near | far | odd words |")
    print("|---|---|---|---|---|---|---|")
    for name, results in rows.items():
        median = {key: statistics.median(r[key] for r in results) for key in results[0]}
        values = "/".join("-" if v is None else f"{v:g}" for v in PROFILES[name])
        print(f"| {name} ({values}) | {median['rate']:.1f} | {median['score']:.1f} | {median['rep4']:.3f} | "
              f"{median['near']:.3f} | {median['far']:.3f} | {median['odd']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
