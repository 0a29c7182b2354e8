"""What a job's sections cost: calls, cut loops, words and decode rate, from its store.

Usage: python bench/job_sections.py JOBS.sqlite [--sections N]

Sums over the job's first N sections (all by default), to compare two runs of the same request
over the same stretch: words kept, model calls, loops cut, continuations, completion tokens,
the seconds of the section calls, and the rate those give (completion tokens per second of
section calls: decoding plus the prompt reads of each call).
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
    args = parser.parse_args()
    with sqlite3.connect(f"file:{args.store}?mode=ro", uri=True) as connection:
        jobs = [row[0] for row in connection.execute("SELECT DISTINCT thread_id FROM checkpoints")]
    with JobStore(args.store) as store:
        for job in jobs:
            sections = store.values(job).get("sections", [])[: args.sections]
            total = {key: sum(s[key] for s in sections) for key in
                     ("words", "calls", "loops_cut", "continuations", "completion_tokens", "seconds")}  # fmt: skip
            rate = total["completion_tokens"] / total["seconds"] if total["seconds"] else 0.0
            print(f"{job}: {len(sections)} sections, " + ", ".join(f"{k} {v:,.0f}" for k, v in total.items())
                  + f", {rate:.1f} completion tokens/s of section calls")  # fmt: skip


if __name__ == "__main__":
    main()
