"""Prompt-read and decode speed of the embedded llama.cpp server under different server flags.

Usage: python bench/llamacpp_flags.py [--runs 3] [--context-words 3000]

For each flag set, one embedded server is started and measured at a short and a long position
in the context (the agent decodes late in a long prompt; a plain answer decodes near its start):

- prompt read: tokens/s of a fresh prompt (max_tokens=1, so the time is the prompt's);
- decode: tokens/s of an answer whose prompt is already cached, first token to last.

Prints medians per flag set and the ratio of each to the first (the server's defaults).
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

from longwrite.settings import Settings
from model.embedded import MODEL_ALIAS, gguf_path
from model.engines import llamacpp_command
from model.process import ServerProcess, free_port

FLAG_SETS: dict[str, list[str]] = {
    "llama-cpp-python defaults": [],
    "logits_all off": ["--logits_all", "False"],
    "logits_all off + flash_attn": ["--logits_all", "False", "--flash_attn", "True"],
}
FILLER = (
    "Lighthouses stood on rocky coasts and guided ships through storms and fog for centuries. "
    "Their keepers trimmed wicks, wound clockwork and logged every passing vessel. "
)
DECODE_TOKENS = 200


def _prompt(words: int, salt: int) -> list[dict[str, str]]:
    body = (FILLER * (words // len(FILLER.split()) + 1)).split()[:words]
    return [{"role": "user", "content": f"Note {salt}. " + " ".join(body) + "\nContinue the story."}]


def measure(client: openai.OpenAI, model: str, words: int, salt: int) -> tuple[float, float]:
    """(prompt tokens/s, decode tokens/s) at a prompt of about `words` words."""
    messages = _prompt(words, salt)
    started = time.monotonic()
    first = client.chat.completions.create(model=model, messages=messages, max_tokens=1, temperature=0.5)
    prompt_rate = first.usage.prompt_tokens / (time.monotonic() - started)
    stream = client.chat.completions.create(
        model=model, messages=messages, max_tokens=DECODE_TOKENS, temperature=0.5, stream=True, seed=salt
    )
    tokens, first_at = 0, None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            tokens += 1
            first_at = first_at or time.monotonic()
    decode_rate = (tokens - 1) / (time.monotonic() - first_at) if tokens > 1 and first_at else 0.0
    return prompt_rate, decode_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--context-words", type=int, default=3000, help="the long position, in prompt words")
    args = parser.parse_args()
    settings = Settings()
    results: dict[str, dict[str, float]] = {}
    for name, flags in FLAG_SETS.items():
        port = free_port()
        command = llamacpp_command(
            str(gguf_path()), MODEL_ALIAS, "127.0.0.1", port, settings.embedded_context_tokens, None
        )
        with tempfile.TemporaryDirectory() as logs:
            server = ServerProcess(
                name=name,
                command=command + flags,
                ready_url=f"http://127.0.0.1:{port}/v1/models",
                log_path=Path(logs) / "server.log",
                start_timeout_s=120,
                timeout_hint="",
            )
            server.start()
            try:
                client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="not-needed")
                samples: dict[str, list[float]] = {}
                for run in range(args.runs):
                    for label, words in (("short", 100), ("long", args.context_words)):
                        prompt_rate, decode_rate = measure(client, MODEL_ALIAS, words, salt=run)
                        samples.setdefault(f"prompt read, {label}", []).append(prompt_rate)
                        samples.setdefault(f"decode, {label}", []).append(decode_rate)
            finally:
                server.stop()
        results[name] = {figure: statistics.median(values) for figure, values in samples.items()}
        print(name, {figure: round(value, 1) for figure, value in results[name].items()}, flush=True)
    base = next(iter(results.values()))
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"median of {args.runs}; long = a {args.context_words}-word prompt; tokens/s (ratio to the first row)")
    for name, figures in results.items():
        cells = ", ".join(f"{figure} {value:.0f} ({value / base[figure]:.2f})" for figure, value in figures.items())
        print(f"{name}: {cells}")


if __name__ == "__main__":
    main()
