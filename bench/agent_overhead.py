"""Agent words/s divided by the raw decode words/s of the same embedded server, side by side.

Usage: python bench/agent_overhead.py [--words 1000] [--runs 3]

Each run does one plain streamed call (the raw decode rate: words it wrote / seconds) and one
full agent job (document words / wall seconds, planning and every re-prompt included), on the
same llama.cpp server, alternating so machine noise hits both. Prints medians and two ratios:

- kept: document words/s over raw words/s, the figure a user feels;
- generated: words the agent's section calls generated (before loop cuts and trims) per wall
  second, over raw words/s: what re-prompting itself costs (prompt reads, plan calls), apart
  from the text the guard throws away.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import openai

from agent.jobs import JobStore, new_job_id, run_job
from agent.state import AgentContext
from longwrite.settings import Settings
from longwrite.text import count_words
from model.embedded import EmbeddedServer

TOPICS = ["the history of lighthouses", "how bridges are built", "the science of bread"]


def raw_decode_rate(endpoint, words: int, topic: str) -> float:
    client = openai.OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key)
    started = time.monotonic()
    stream = client.chat.completions.create(
        model=endpoint.model,
        messages=[{"role": "user", "content": f"Write a {words}-word article about {topic}."}],
        max_tokens=int(words * 1.5),
        temperature=0.5,
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    return count_words(text) / (time.monotonic() - started)


def agent_rates(endpoint, settings: Settings, store: JobStore, words: int, topic: str) -> tuple[float, float, float]:
    """(document words/s, generated words/s, length score) of one agent job."""
    ctx = AgentContext.for_endpoint(endpoint, settings)
    started = time.monotonic()
    result = run_job(store, ctx, new_job_id(), instruction=f"Write a {words}-word article about {topic}.", target=words)
    seconds = time.monotonic() - started
    generated = store.values(result.job)["usage"]["generated_words"]
    return result.words / seconds, generated / seconds, result.length_score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        with EmbeddedServer(settings) as endpoint, JobStore(settings.jobs_db) as store:
            raw, kept, generated, scores = [], [], [], []
            for run in range(args.runs):
                topic = TOPICS[run % len(TOPICS)]
                raw.append(raw_decode_rate(endpoint, args.words, topic))
                kept_rate, generated_rate, score = agent_rates(endpoint, settings, store, args.words, topic)
                kept.append(kept_rate)
                generated.append(generated_rate)
                scores.append(score)
                print(
                    f"run {run + 1}: raw {raw[-1]:.1f} words/s; agent kept {kept_rate:.1f}, "
                    f"generated {generated_rate:.1f} words/s (S_l {score:.0f})"
                )
    raw_median = statistics.median(raw)
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n"
        f"median raw decode {raw_median:.1f} words/s; median agent {statistics.median(kept):.1f} words/s kept, "
        f"{statistics.median(generated):.1f} generated\n"
        f"ratio kept/raw {statistics.median(kept) / raw_median:.2f}; "
        f"ratio generated/raw {statistics.median(generated) / raw_median:.2f}; "
        f"median S_l {statistics.median(scores):.1f} ({args.runs} runs, {args.words} words)"
    )


if __name__ == "__main__":
    main()
