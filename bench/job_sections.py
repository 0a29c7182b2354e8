"""What a job's sections cost: calls, cut loops, words and decode rate, from its store.

Usage: python bench/job_sections.py JOBS.sqlite [--sections N] [--start K] [--step S]

Sums over the job's sections K to N (from the first, to the last by default), to compare two
runs of the same request, or two stretches of one run, over the same sections: words kept,
model calls, loops cut, continuations, completion tokens, the seconds of the section calls, the
rate those give (completion tokens per second of section calls: decoding plus the prompt reads
of each call) and the completion tokens per kept word (what was decoded and not kept raises
it). With --step S, one line per S sections.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from longwrite.agent.jobs import JobStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("store", type=Path)
    parser.add_argument("--sections", type=int, default=None)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--step", type=int, default=None)
    args = parser.parse_args()
    with sqlite3.connect(f"file:{args.store}?mode=ro", uri=True) as connection:
        jobs = [row[0] for row in connection.execute("SELECT DISTINCT thread_id FROM checkpoints")]
    with JobStore(args.store) as store:
        for job in jobs:
            sections = store.values(job).get("sections", [])
            end = len(sections) if args.sections is None else min(args.sections, len(sections))
            step = args.step or max(end - args.start, 1)
            for first in range(args.start, end, step):
                print(f"{job} {summary(sections[first : min(first + step, end)], first)}")


def summary(sections: list[dict], first: int) -> str:
    total = {key: sum(s[key] for s in sections) for key in
             ("words", "calls", "loops_cut", "continuations", "completion_tokens", "seconds")}  # fmt: skip
    rate = total["completion_tokens"] / total["seconds"] if total["seconds"] else 0.0
    per_word = total["completion_tokens"] / total["words"] if total["words"] else 0.0
    return (
        f"sections {first + 1}-{first + len(sections)}: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in total.items())
        + f", {rate:.1f} completion tokens/s of section calls, {per_word:.2f} completion tokens per kept word"
    )


if __name__ == "__main__":
    main()
