"""SFT throughput and peak memory: a recipe run several times in one process, median reported.

Usage: python bench/train_throughput.py [--config training/recipes/smollm2-135m-cpu.yaml]
       [--data tests/data/synth_small.jsonl] [--steps 4] [--runs 3] [--device cpu|cuda]

Tokens/s = the tokens TRL counted over the wall seconds of `trainer.train` (model loading and
tokenisation excluded). Peak memory: CUDA's max allocated per run on a GPU; the process's peak
resident set size on CPU (it only grows, so it is the peak over all runs).
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import torch

from training.recipe import SftRecipe, load_recipe
from training.sft import run_sft


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, default=Path("training/recipes/smollm2-135m-cpu.yaml"))
    parser.add_argument("--data", default="tests/data/synth_small.jsonl")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    rates, cuda_peaks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            overrides = ["--data", args.data, "--output_dir", f"{tmp}/run{run}", "--max_steps", str(args.steps),
                         "--device", args.device, "--save_steps", str(args.steps)]  # fmt: skip
            recipe = load_recipe(SftRecipe, args.config, overrides)
            if args.device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            summary = run_sft(recipe, str(args.config))
            rates.append(summary.tokens / summary.seconds)
            if args.device == "cuda":
                cuda_peaks.append(torch.cuda.max_memory_allocated() / 2**30)
            print(f"run {run + 1}: {summary.line()}", file=sys.stderr)
    print(f"command: python {' '.join(sys.argv)}")
    gpu = f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else ""
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, "
          f"device {args.device}{gpu}")  # fmt: skip
    print(f"steps per run: {args.steps}, runs: {args.runs}")
    print(f"tokens/s: median {statistics.median(rates):,.0f} (runs: {', '.join(f'{r:,.0f}' for r in rates)})")
    if cuda_peaks:
        print(f"peak CUDA memory: {max(cuda_peaks):.2f} GiB")
    print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
