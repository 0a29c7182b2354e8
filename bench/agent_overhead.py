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
from dataclasses import dataclass
from pathlib import Path

import openai

from agent.jobs import JobStore, new_job_id, run_job
from agent.state import AgentContext
from longwrite.settings import Settings
from longwrite.text import count_words
from model.embedded import EmbeddedServer

TOPICS = ["the history of lighthouses", "how bridges are built", "the science of bread"]


def raw_decode_rate(endpoint, words: int, topic: str) -> tuple[float, float]:
    """(words/s, tokens/s) of one plain streamed answer (llama.cpp streams a token per chunk)."""
    client = openai.OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key)
    started = time.monotonic()
    stream = client.chat.completions.create(
        model=endpoint.model,
        messages=[{"role": "user", "content": f"Write a {words}-word article about {topic}."}],
        max_tokens=int(words * 1.5),
        temperature=0.5,
        stream=True,
    )
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    seconds = time.monotonic() - started
    return count_words("".join(pieces)) / seconds, sum(1 for piece in pieces if piece) / seconds


@dataclass(frozen=True)
class AgentRun:
    kept_rate: float  # document words per wall second
    generated_rate: float  # words the section calls generated per wall second
    length_score: float
    planning_share: float  # wall time spent in plan and extend calls
    sections_share: float  # wall time spent in section calls
    section_token_rate: float  # completion tokens per second of section calls
    calls: int  # section calls


def agent_run(endpoint, settings: Settings, store: JobStore, words: int, topic: str) -> AgentRun:
    ctx = AgentContext.for_endpoint(endpoint, settings)
    started = time.monotonic()
    result = run_job(store, ctx, new_job_id(), instruction=f"Write a {words}-word article about {topic}.", target=words)
    wall = time.monotonic() - started
    state = store.values(result.job)
    sections = state["sections"]
    section_seconds = sum(s["seconds"] for s in sections)
    return AgentRun(
        kept_rate=result.words / wall,
        generated_rate=state["usage"]["generated_words"] / wall,
        length_score=result.length_score,
        planning_share=(state["seconds"] - section_seconds) / wall,
        sections_share=section_seconds / wall,
        section_token_rate=sum(s["completion_tokens"] for s in sections) / section_seconds,
        calls=sum(s["calls"] for s in sections),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        with EmbeddedServer(settings) as endpoint, JobStore(settings.jobs_db) as store:
            raw: list[tuple[float, float]] = []
            runs: list[AgentRun] = []
            for run in range(args.runs):
                topic = TOPICS[run % len(TOPICS)]
                raw.append(raw_decode_rate(endpoint, args.words, topic))
                runs.append(agent_run(endpoint, settings, store, args.words, topic))
                print(
                    f"run {run + 1}: raw {raw[-1][0]:.1f} words/s ({raw[-1][1]:.1f} tokens/s); "
                    f"agent kept {runs[-1].kept_rate:.1f}, generated {runs[-1].generated_rate:.1f} words/s "
                    f"(S_l {runs[-1].length_score:.0f}); time in planning {runs[-1].planning_share:.0%}, "
                    f"in {runs[-1].calls} section calls {runs[-1].sections_share:.0%} "
                    f"at {runs[-1].section_token_rate:.1f} tokens/s"
                )
    raw_words = statistics.median(rate for rate, _ in raw)
    raw_tokens = statistics.median(rate for _, rate in raw)

    def median(field: str) -> float:
        return statistics.median(getattr(run, field) for run in runs)

    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n"
        f"median raw decode {raw_words:.1f} words/s ({raw_tokens:.1f} tokens/s); median agent "
        f"{median('kept_rate'):.1f} words/s kept, {median('generated_rate'):.1f} generated\n"
        f"ratio kept/raw {median('kept_rate') / raw_words:.2f}; "
        f"ratio generated/raw {median('generated_rate') / raw_words:.2f}; "
        f"median S_l {median('length_score'):.1f} ({args.runs} runs, {args.words} words)\n"
        f"median time in planning {median('planning_share'):.0%}, in section calls {median('sections_share'):.0%}; "
        f"section decode {median('section_token_rate'):.1f} tokens/s vs raw {raw_tokens:.1f}"
    )


if __name__ == "__main__":
    main()
