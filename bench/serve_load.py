"""A bounded load test of `longwrite serve` on loopback.

Usage: python bench/serve_load.py [--requests 20] [--cap 2] [--words 150] [--retry-s 0]

Starts `longwrite serve` (embedded backend) with LONGWRITE_MAX_CONCURRENT_WRITES=--cap, fires
--requests agentwrite requests at once, polls /health every 0.5 s throughout, and reads the
server's resident memory (the API process, without the llama.cpp child) before, at the peak
and after. Every request must end in a 200 or a 429, and none may hang.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.conftest import ServeProcess

REQUEST_TIMEOUT_S = 600.0


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def one_request(client: httpx.AsyncClient, url: str, words: int, n: int, retry_s: float) -> tuple[int, float]:
    """One client; with retry_s > 0 it tries again that long after each 429 until it is served."""
    started = time.monotonic()
    body = {
        "model": "agentwrite",
        "messages": [{"role": "user", "content": f"Write a short note (number {n}) about the sea."}],
        "target_words": words,
    }
    while True:
        response = await client.post(f"{url}/v1/chat/completions", json=body, timeout=REQUEST_TIMEOUT_S)
        if response.status_code != 429 or retry_s <= 0:
            return response.status_code, time.monotonic() - started
        await asyncio.sleep(retry_s)


async def watch_health(client: httpx.AsyncClient, url: str, stop: asyncio.Event, pid: int) -> tuple[list, float]:
    latencies, peak = [], 0.0
    while not stop.is_set():
        started = time.monotonic()
        response = await client.get(f"{url}/health", timeout=10)
        response.raise_for_status()
        latencies.append(time.monotonic() - started)
        peak = max(peak, rss_mib(pid))
        await asyncio.sleep(0.5)
    return latencies, peak


async def load(url: str, requests: int, words: int, pid: int, retry_s: float) -> dict:
    async with httpx.AsyncClient() as client:
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_health(client, url, stop, pid))
        started = time.monotonic()
        results = await asyncio.gather(*(one_request(client, url, words, n, retry_s) for n in range(requests)))
        wall = time.monotonic() - started
        stop.set()
        health, peak = await watcher
    codes = [code for code, _ in results]
    return {
        "codes": {code: codes.count(code) for code in sorted(set(codes))},
        "ok_seconds": [round(s, 1) for code, s in results if code == 200],
        "refused_seconds_max": max((s for code, s in results if code == 429), default=0.0),
        "wall": wall,
        "health_median_ms": statistics.median(health) * 1000,
        "health_max_ms": max(health) * 1000,
        "health_checks": len(health),
        "peak_mib": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--cap", type=int, default=2)
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--retry-s", type=float, default=0.0, help="retry a 429 after this long (0: no retry)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LONGWRITE_")}
        env.update(LONGWRITE_HOME=home, LONGWRITE_MAX_CONCURRENT_WRITES=str(args.cap))
        server = ServeProcess(env)
        try:
            pid = server.process.pid
            httpx.post(
                f"{server.url}/v1/chat/completions",
                timeout=REQUEST_TIMEOUT_S,
                json={
                    "model": "agentwrite",
                    "messages": [{"role": "user", "content": "Write a note."}],
                    "target_words": 40,
                },
            )  # fmt: skip  (warm-up: the first request loads the tokenizer and the graph)
            before = rss_mib(pid)
            figures = asyncio.run(load(server.url, args.requests, args.words, pid, args.retry_s))
            time.sleep(2)
            after = rss_mib(pid)
        finally:
            server.stop()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    retry = f", clients retry a 429 after {args.retry_s:g} s" if args.retry_s else ""
    print(f"{args.requests} concurrent agentwrite requests ({args.words} words), cap {args.cap}{retry}")
    print(f"status codes: {figures['codes']} (anything else, or a hang, is a failure)")
    print(f"successful requests took {figures['ok_seconds']} s; 429s came back within "
          f"{figures['refused_seconds_max'] * 1000:.0f} ms")  # fmt: skip
    print(f"wall time {figures['wall']:.1f} s; /health answered {figures['health_checks']} times, "
          f"median {figures['health_median_ms']:.0f} ms, max {figures['health_max_ms']:.0f} ms")  # fmt: skip
    print(f"API process RSS: {before:.0f} MiB before, {figures['peak_mib']:.0f} MiB peak, {after:.0f} MiB after")
    ok = set(figures["codes"]) <= {200, 429}
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
