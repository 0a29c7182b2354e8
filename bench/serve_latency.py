"""Latency of `longwrite serve`: time to first streamed token for agentwrite, and the overhead
of a direct-model call through our API against the same call sent to the backend itself.

Usage: python bench/serve_latency.py [--runs 5]

Starts one embedded llama.cpp server and `longwrite serve` in front of it. Proxy overhead: the
same short, seeded, non-streamed call (64 tokens) to the backend and through the API,
alternating, --runs times each; the ratio of medians. TTFT: streamed agentwrite requests for a
600-word note; first byte (the role chunk), first content (the title, once the plan is made)
and first section text, medians of --runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from longwrite.core.settings import Settings
from longwrite.model.embedded import EmbeddedServer
from tests.integration.conftest import ServeProcess, embedded_env

DIRECT_PROMPT = [{"role": "user", "content": "Name three rivers in Europe."}]


def timed_direct(client: openai.OpenAI, model: str) -> float:
    started = time.monotonic()
    client.chat.completions.create(model=model, messages=DIRECT_PROMPT, max_tokens=64, temperature=0, seed=7)
    return time.monotonic() - started


def agent_first_tokens(client: openai.OpenAI, run: int) -> tuple[float, float, float]:
    started = time.monotonic()
    stream = client.chat.completions.create(
        model="agentwrite",
        messages=[{"role": "user", "content": f"Write a 600-word note about harbours (draft {run})."}],
        stream=True,
    )
    first_byte = first_content = first_section = None
    for chunk in stream:
        now = time.monotonic() - started
        first_byte = first_byte or now
        content = chunk.choices[0].delta.content if chunk.choices else None
        if content:
            first_content = first_content or now
            if "## " in content and first_section is None:
                first_section = now
    return first_byte, first_content, first_section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home, EmbeddedServer(Settings(home=Path(home))) as endpoint:
        server = ServeProcess(embedded_env(endpoint, Path(home)))
        try:
            backend = openai.OpenAI(base_url=endpoint.base_url, api_key="none")
            api = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none")
            timed_direct(api, endpoint.model)  # warm-up: connection pools, the model list
            direct, proxied = [], []
            for _ in range(args.runs):
                direct.append(timed_direct(backend, endpoint.model))
                proxied.append(timed_direct(api, endpoint.model))
            firsts = [agent_first_tokens(api, run) for run in range(args.runs)]
        finally:
            server.stop()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    d, p = statistics.median(direct), statistics.median(proxied)
    print(f"direct-model call, median of {args.runs}: backend {d * 1000:.0f} ms, through the API {p * 1000:.0f} ms, "
          f"ratio {p / d:.3f} (overhead {(p - d) * 1000:.0f} ms)")  # fmt: skip
    for name, index in (("first byte", 0), ("first content (title)", 1), ("first section text", 2)):
        values = [f[index] for f in firsts if f[index] is not None]
        print(f"agentwrite {name}: median {statistics.median(values):.2f} s over {len(values)} runs")


if __name__ == "__main__":
    main()
