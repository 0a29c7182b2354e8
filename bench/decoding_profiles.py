"""Repetition penalties for a one-call answer held to its length, measured on the embedded model.

Usage: python bench/decoding_profiles.py [--words 1000,2000] [--topics 2]

Each profile (repeat, frequency and presence penalty, sent from the first token with a floor on
the answer's length) writes the same prompts through `write_direct(hold_to=N)`, the path of
`--mode model --hold-length`. Printed per profile, medians over its answers:

- kept: words the loop guard keeps (the answer ends where a loop began), and the length score;
- cut: how many answers the guard cut;
- rep-4: of the kept text (a loop the guard missed shows here);
- odd: the share of kept words that are not words of prose (run-together strings of 19+
  characters, capitals runs of 5+, letters of another script), the gibberish that strong
  penalties push a small model into instead of a loop.

The profiles alternate prompt by prompt so that machine noise hits all of them.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
from pathlib import Path

from longwrite.agent.direct import write_direct
from longwrite.agent.state import AgentContext
from longwrite.core.settings import Settings
from longwrite.core.text import count_words, length_score, odd_word_share, repetition
from longwrite.model.embedded import EmbeddedServer

TOPICS = ["the history of lighthouses", "how bridges are built", "the science of bread", "keeping bees"]
# name: (repeat, frequency, presence)
PROFILES = {
    "strong (today's)": (1.25, 0.6, 0.4),
    "repeat only 1.15": (1.15, 0.0, 0.0),
    "mild 1.1/0.3/0.2": (1.1, 0.3, 0.2),
    "light 1.05/0.2/0.1": (1.05, 0.2, 0.1),
}


def measure(endpoint, home: str, instruction: str, target: int, penalties: tuple[float, float, float]) -> dict:
    """One held answer under one profile, scored."""
    repeat, frequency, presence = penalties
    settings = Settings(home=Path(home), loop_repeat_penalty=repeat, loop_frequency_penalty=frequency,
                        loop_presence_penalty=presence)  # fmt: skip
    answer = write_direct(AgentContext.for_endpoint(endpoint, settings), instruction, hold_to=target)
    words = count_words(answer.document)
    return {"words": words, "score": length_score(target, words), "cut": answer.loop_cut,
            "rep4": repetition(answer.document).rep_n, "odd": odd_word_share(answer.document)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--words", default="1000,2000")
    parser.add_argument("--topics", type=int, default=2)
    args = parser.parse_args()
    targets = [int(w) for w in args.words.split(",")]
    results: dict[str, list[dict]] = {name: [] for name in PROFILES}
    with tempfile.TemporaryDirectory() as home, EmbeddedServer(Settings(home=Path(home))) as endpoint:
        for target in targets:
            for topic in TOPICS[: args.topics]:
                instruction = f"Write a {target}-word article about {topic}."
                for name, penalties in PROFILES.items():
                    row = measure(endpoint, home, instruction, target, penalties)
                    results[name].append(row)
                    print(f"{target} {topic!r} {name}: {row['words']} words, cut {row['cut']}", flush=True)
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; targets {targets}")
    print("| profile (repeat/frequency/presence) | kept words | length score | cut | rep-4 | odd words |")
    print("|---|---|---|---|---|---|")
    for name, rows in results.items():
        median = {key: statistics.median(row[key] for row in rows) for key in ("words", "score", "rep4", "odd")}
        cut = sum(bool(row["cut"]) for row in rows)
        print(f"| {name} | {median['words']:.0f} | {median['score']:.1f} | {cut} of {len(rows)} | "
              f"{median['rep4']:.3f} | {median['odd']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
