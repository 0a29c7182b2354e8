"""Synthesis throughput on the embedded server: `longwrite synth` at concurrency 1 and 2, beside
a single `longwrite write`, in one run.

Usage: python bench/synth_throughput.py [--docs 4] [--words 450]

One embedded llama.cpp server serves everything (through LONGWRITE_BASE_URL, configured as the
embedded default). Words/s = document words over wall seconds of each command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from longwrite.core.settings import Settings
from longwrite.core.text import count_words
from longwrite.model.embedded import EmbeddedServer
from tests.integration.conftest import embedded_env

TOPICS = ["tea", "rivers", "clouds", "bridges", "bees", "lighthouses", "salt", "maps"]


def run_synth(home: Path, env: dict[str, str], docs: int, words: int, concurrency: int) -> tuple[int, float]:
    source = home / f"in-{concurrency}.jsonl"
    source.write_text(
        "".join(
            json.dumps({"prompt": f"Write a {words}-word article about {t} (c{concurrency})."}) + "\n"
            for t in TOPICS[:docs]
        ),
        encoding="utf-8",
    )
    out = home / f"out-{concurrency}.jsonl"
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "longwrite.cli",
            "synth",
            str(source),
            "-o",
            str(out),
            "--concurrency",
            str(concurrency),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    seconds = time.monotonic() - started
    written = sum(json.loads(line)["response_length"] for line in out.read_text().splitlines())
    return written, seconds


def run_write(home: Path, env: dict[str, str], words: int) -> tuple[int, float]:
    out = home / "single.md"
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "longwrite.cli", "write", f"Write a {words}-word article about glass.", "-o", str(out)],
        env=env,
        check=True,
        capture_output=True,
    )
    return count_words(out.read_text()), time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=4)
    parser.add_argument("--words", type=int, default=450)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, EmbeddedServer(Settings(home=Path(folder))) as endpoint:
        home = Path(folder)
        env = embedded_env(endpoint, home)
        results = {"single write": run_write(home, env, args.words)}
        for concurrency in (1, 2):
            results[f"synth, concurrency {concurrency}"] = run_synth(home, env, args.docs, args.words, concurrency)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{args.docs} documents of {args.words} words per synth run")
    base = results["single write"][0] / results["single write"][1]
    for name, (words, seconds) in results.items():
        rate = words / seconds
        print(f"{name}: {words} words in {seconds:.1f} s = {rate:.1f} words/s ({rate / base:.2f}x the single write)")


if __name__ == "__main__":
    main()
