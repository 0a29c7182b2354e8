"""How long `make setup` takes in a fresh clone: cold (an empty uv cache: every package downloaded,
llama-cpp-python compiled) and warm (a second fresh clone on the cache the first one filled: the
built llama-cpp-python wheel and every download reused).

    python bench/fresh_setup.py [--runs-warm 3]

Clones HEAD of this repository (commit first: what is not committed is not measured) into
temporary folders, with a uv cache of its own, and prints one line per run and the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fresh_setup(where: Path, cache: Path) -> float:
    """Seconds for `make setup` in a new clone of HEAD at `where`."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(where)], check=True)
    env = {**os.environ, "UV_CACHE_DIR": str(cache)}
    started = time.monotonic()
    subprocess.run(["make", "setup"], cwd=where, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-warm", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="longwrite-setup-") as tmp:
        cache = Path(tmp) / "uv-cache"
        cold = fresh_setup(Path(tmp) / "cold", cache)
        print(f"cold (empty uv cache): {cold:.0f} s", flush=True)
        warm = []
        for run in range(args.runs_warm):
            warm.append(fresh_setup(Path(tmp) / f"warm{run}", cache))
            print(f"warm run {run + 1}: {warm[-1]:.0f} s", flush=True)
    print(f"make setup in a fresh clone: cold {cold:.0f} s, warm median {statistics.median(warm):.0f} s "
          f"({cold / statistics.median(warm):.1f}x faster)")  # fmt: skip


if __name__ == "__main__":
    main()
