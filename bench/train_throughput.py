"""SFT throughput and peak memory: a recipe run several times in one process, median reported;
with --variant, several settings measured in turn (round robin), so machine noise falls on all.

Usage: python bench/train_throughput.py [--config training/recipes/smollm2-135m-cpu.yaml]
       [--data tests/data/synth_small.jsonl] [--steps 4] [--runs 3] [--device cpu|cuda]
       [--variant NAME="--key value --key value" ...]

Tokens/s = the tokens TRL counted over the wall seconds of `trainer.train` (model loading and
tokenisation excluded). Peak memory: CUDA's max allocated per run on a GPU; the process's peak
resident set size on CPU (it only grows, so it is the peak over all runs).
"""

from __future__ import annotations

import argparse
import platform
import resource
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import torch

from longwrite.training.train_config import load_train_config
from longwrite.training.trainer import run_training


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, default=Path("training/recipes/smollm2-135m-cpu.yaml"))
    parser.add_argument("--data", default="tests/data/synth_small.jsonl")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--variant", action="append", default=[], help='NAME="--key value ..." (repeatable)')
    args = parser.parse_args()
    variants = dict(_variant(text) for text in args.variant) or {"recipe": []}
    rates: dict[str, list[float]] = {name: [] for name in variants}
    cuda_peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for name, extra in variants.items():
                steps = str(args.steps)
                overrides = ["--data", args.data, "--output_dir", f"{tmp}/{name}-{run}", "--max_steps", steps,
                             "--device", args.device, "--save_steps", steps, *extra]  # fmt: skip
                config = load_train_config("sft", args.config, overrides)
                if args.device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                summary = run_training(config)
                rates[name].append(summary.tokens / summary.seconds)
                if args.device == "cuda":
                    cuda_peaks.append(torch.cuda.max_memory_allocated() / 2**30)
                print(f"run {run + 1} {name}: {summary.line()}", file=sys.stderr)
    print(f"command: python {shlex.join(sys.argv)}")
    gpu = f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else ""
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, "
          f"device {args.device}{gpu}")  # fmt: skip
    print(f"steps per run: {args.steps}, runs: {args.runs}")
    first = next(iter(rates))
    for name, values in rates.items():
        ratio = statistics.median(values) / statistics.median(rates[first])
        print(f"{name}: tokens/s median {statistics.median(values):,.0f} ({ratio:.2f}x {first}; runs: "
              f"{', '.join(f'{r:,.0f}' for r in values)})")  # fmt: skip
    if cuda_peaks:
        print(f"peak CUDA memory: {max(cuda_peaks):.2f} GiB")
    print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


def _variant(text: str) -> tuple[str, list[str]]:
    name, sep, overrides = text.partition("=")
    if not sep or not name:
        raise SystemExit(f'--variant {text!r} is not NAME="--key value ..."')
    return name, shlex.split(overrides)


if __name__ == "__main__":
    main()
