"""Prompt-read and decode speed of the embedded llama.cpp server under different server flags.

Usage: python bench/llamacpp_flags.py [--runs 5] [--decode-tokens 1500]

One server per flag set, all started at once; each run sends the same requests to every server
in turn (only one decodes at a time), so machine noise falls on all flag sets alike:

- prompt read: tokens/s of a fresh ~1,000-word prompt (max_tokens=1, so the time is the prompt's);
- decode by position: one answer held to `--decode-tokens` tokens (min_tokens), its streamed
  tokens timed and binned by position in the answer: the agent decodes late in its context, a
  plain answer near the start.

Prints medians per flag set and the ratio of each to the first (the flags longwrite uses).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import openai

from longwrite.core.settings import Settings
from longwrite.model.embedded import MODEL_ALIAS, gguf_path
from longwrite.model.engines import llamacpp_command
from longwrite.model.process import ServerProcess, free_port

# extra flags on top of llamacpp_command's; the first set is the baseline of the ratios
FLAG_SETS: dict[str, list[str]] = {
    "longwrite's flags": [],
    "flash_attn": ["--flash_attn", "True"],
    # llama.cpp quantizes the V cache only with flash attention
    "flash_attn + kv cache q8_0": ["--flash_attn", "True", "--type_k", "8", "--type_v", "8"],
}
FILLER = (
    "Lighthouses stood on rocky coasts and guided ships through storms and fog for centuries. "
    "Their keepers trimmed wicks, wound clockwork and logged every passing vessel. "
)
PROMPT_WORDS = 1000
BIN_TOKENS = 300


def _prompt(words: int, salt: int) -> list[dict[str, str]]:
    body = (FILLER * (words // len(FILLER.split()) + 1)).split()[:words]
    return [{"role": "user", "content": f"Note {salt}. " + " ".join(body) + "\nContinue the story."}]


def prompt_read(client: openai.OpenAI, salt: int) -> float:
    started = time.monotonic()
    reply = client.chat.completions.create(
        model=MODEL_ALIAS, messages=_prompt(PROMPT_WORDS, salt), max_tokens=1, temperature=0.5
    )
    return reply.usage.prompt_tokens / (time.monotonic() - started)


def decode_by_position(client: openai.OpenAI, tokens: int, salt: int) -> dict[int, float]:
    """tokens/s per BIN_TOKENS-token stretch of one held answer, keyed by the stretch's start."""
    stream = client.chat.completions.create(
        model=MODEL_ALIAS,
        messages=[{"role": "user", "content": "Write a 1000-word article about the history of lighthouses."}],
        max_tokens=tokens,
        temperature=0.5,
        seed=salt,
        stream=True,
        extra_body={"min_tokens": tokens},
    )
    stamps = [time.monotonic() for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
    rates = {}
    for start in range(0, len(stamps) - 1, BIN_TOKENS):
        stretch = stamps[start : start + BIN_TOKENS + 1]
        if len(stretch) > BIN_TOKENS // 2:
            rates[start] = (len(stretch) - 1) / (stretch[-1] - stretch[0])
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--decode-tokens", type=int, default=1500)
    args = parser.parse_args()
    settings = Settings()
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in FLAG_SETS}
    with tempfile.TemporaryDirectory() as logs, contextlib.ExitStack() as servers:
        clients: dict[str, openai.OpenAI] = {}
        for index, (name, flags) in enumerate(FLAG_SETS.items()):
            port = free_port()
            command = llamacpp_command(
                str(gguf_path()), MODEL_ALIAS, "127.0.0.1", port, settings.embedded_context_tokens, None
            )
            server = ServerProcess(
                name=name,
                command=command + flags,
                ready_url=f"http://127.0.0.1:{port}/v1/models",
                log_path=Path(logs) / f"server-{index}.log",
                start_timeout_s=120,
                timeout_hint="",
            )
            server.start()
            servers.callback(server.stop)
            clients[name] = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="not-needed")
        for run in range(args.runs):
            for name, client in clients.items():
                figures = samples[name]
                figures.setdefault("prompt read", []).append(prompt_read(client, salt=run))
                for start, rate in decode_by_position(client, args.decode_tokens, salt=run).items():
                    figures.setdefault(f"decode {start}-{start + BIN_TOKENS}", []).append(rate)
            print(f"run {run + 1} of {args.runs} done", flush=True)
    results = {
        name: {figure: statistics.median(values) for figure, values in figures.items()}
        for name, figures in samples.items()
    }
    base = next(iter(results.values()))
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"median of {args.runs}; tokens/s (ratio to the first row); decode stretches by position in the answer")
    for name, figures in results.items():
        shared = [(figure, value) for figure, value in figures.items() if figure in base]
        cells = ", ".join(f"{figure} {value:.0f} ({value / base[figure]:.2f})" for figure, value in shared)
        print(f"{name}: {cells}")


if __name__ == "__main__":
    main()
