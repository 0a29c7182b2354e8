"""How long `longwrite --help` and `longwrite write --help` take to start, for one or more source trees.

Usage: python bench/cli_startup.py [--runs 15] [SOURCE_DIR ...]

Each source tree (default: this checkout) is run as `python -m longwrite.cli ...` with PYTHONPATH
set to it, alternating between trees so machine noise hits them alike. Give a checkout of an
older commit beside this one (git worktree add OLD COMMIT) to compare before and after. Prints
the median and the spread of wall seconds per tree and command, and the ratio to the first tree.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (("--help",), ("write", "--help"))


def started_in(source: Path, args: tuple[str, ...]) -> float:
    env = {**os.environ, "PYTHONPATH": str(source)}
    begun = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "longwrite.cli", *args],
        env=env,
        cwd=source,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - begun


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("sources", nargs="*", type=Path, default=[Path(__file__).resolve().parents[1]])
    options = parser.parse_args()
    times: dict[tuple[Path, tuple[str, ...]], list[float]] = {}
    for source in options.sources:  # one warm-up each: the first import compiles the bytecode
        for args in COMMANDS:
            started_in(source, args)
    for _ in range(options.runs):
        for source in options.sources:
            for args in COMMANDS:
                times.setdefault((source, args), []).append(started_in(source, args))
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores; python {platform.python_version()}")
    for args in COMMANDS:
        first = statistics.median(times[(options.sources[0], args)])
        for source in options.sources:
            runs = times[(source, args)]
            median = statistics.median(runs)
            print(
                f"longwrite {' '.join(args):14s} {source.name:12s} median {median:.3f} s "
                f"(min {min(runs):.3f}, max {max(runs):.3f}; x{median / first:.2f} of the first)"
            )


if __name__ == "__main__":
    main()
