"""Throughput, store size and memory of `longwrite write` from 1,000 to 100,000 words.

Usage: python bench/book_length.py [--words 1000 10000 30000 100000] [--kill-at 50000] [--keep DIR]

Each length is one `longwrite write ... --json` on the embedded default, as a user runs it (its
own server, its own LONGWRITE_HOME, so the job store holds that job alone). Prints one row per
length: words written, length score, rep-4, wall seconds, words/s (document words over the wall
time of the run, planning included), the job store's size against the document's, and the peak
RSS of the CLI process and of its model server (VmHWM, read every second).

With --kill-at N, the run of the largest length is killed with SIGKILL once its progress passes
N words, then resumed with --job ID --resume; the row then sums both runs' wall time, and the
script checks that the finished job has every planned section exactly once (indices 0..n-1,
each section's text once in the document).

Run it alone: a second llama.cpp workload on two cores slows both several times over.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from longwrite.agent.jobs import JobStore

TOPICS = {
    1_000: "Write a 1000-word guide to keeping bees in a city garden.",
    10_000: "Write a 10000-word guide to the history and craft of bookbinding.",
    30_000: "Write a 30000-word field guide to the birds, trees and insects of a temperate forest, season by season.",
    100_000: "Write a 100000-word history of the printing press, from woodblocks to digital type, in many chapters.",
}
PROGRESS = re.compile(r"- ([\d,]+)/[\d,]+ words")


@dataclass
class Run:
    words: int = 0
    length_score: float = 0.0
    rep_4: float = 0.0
    seconds: float = 0.0
    store_bytes: int = 0
    document_bytes: int = 0
    cli_peak_mb: float = 0.0
    server_peak_mb: float = 0.0
    killed_at: int | None = None
    sections_once: bool | None = None


def peak_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def write(
    instruction: str, home: Path, out: Path, run: Run, extra: list[str], kill_at: int | None = None
) -> str | None:
    """One CLI run; returns its job id when it was killed at `kill_at` words."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGWRITE_")} | {"LONGWRITE_HOME": str(home)}
    command = [sys.executable, "-m", "longwrite.cli", "write", *([instruction] if instruction else []), *extra]
    command += ["-o", str(out), "--json"]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    job: list[str] = []
    killed = threading.Event()

    def watch_progress() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            sys.stderr.write(line)
            if not job and (found := re.match(r"job (\S+) on", line)):
                job.append(found.group(1))
            progress = PROGRESS.search(line)
            if kill_at and progress and int(progress.group(1).replace(",", "")) >= kill_at and not killed.is_set():
                killed.set()
                run.killed_at = int(progress.group(1).replace(",", ""))
                for pid in [process.pid, *children(process.pid)]:
                    os.kill(pid, signal.SIGKILL)  # the CLI and its server, as a power cut would

    watcher = threading.Thread(target=watch_progress, daemon=True)
    watcher.start()
    while process.poll() is None:
        run.cli_peak_mb = max(run.cli_peak_mb, peak_mb(process.pid))
        for child in children(process.pid):
            run.server_peak_mb = max(run.server_peak_mb, peak_mb(child))
        time.sleep(1)
    stdout = process.stdout.read() if process.stdout else ""
    watcher.join(timeout=5)
    run.seconds += time.monotonic() - started
    if killed.is_set():
        return job[0] if job else None
    if process.returncode != 0:
        raise SystemExit(f"longwrite write failed ({process.returncode})")
    summary = json.loads(stdout.strip().splitlines()[-1])
    run.words, run.length_score, run.rep_4 = summary["words"], summary["length_score"], summary["rep_4"]
    return None


def each_section_once(home: Path, document: str) -> bool:
    """Every planned section of the one job in `home`'s store written once, in order."""
    with JobStore(home / "jobs.sqlite") as store:
        [job] = [row[0] for row in store.connection.execute("SELECT DISTINCT thread_id FROM checkpoints")]
        values = store.values(job)
    indices = [s["index"] for s in values["sections"]]
    return indices == list(range(len(values["plan"]))) and all(
        document.count(s["text"]) == 1 for s in values["sections"]
    )


def measure(words: int, kill_at: int | None, keep: Path | None = None) -> Run:
    run = Run()
    with tempfile.TemporaryDirectory() as folder:
        home, out = Path(folder) / "home", Path(folder) / "doc.md"
        job = write(TOPICS[words], home, out, run, [], kill_at)
        if kill_at:
            if job is None:
                raise SystemExit(f"the run ended before {kill_at} words; nothing was killed")
            write("", home, out, run, ["--job", job, "--resume"])
            run.sections_once = each_section_once(home, out.read_text())
        run.document_bytes = len(out.read_bytes())
        run.store_bytes = sum(p.stat().st_size for p in home.glob("jobs.sqlite*"))
        if keep is not None:  # the document and its store, to look into afterwards (rep-4, the plan)
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out, keep / f"document-{words}.md")
            shutil.copyfile(home / "jobs.sqlite", keep / f"jobs-{words}.sqlite")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, nargs="+", default=sorted(TOPICS), choices=sorted(TOPICS))
    parser.add_argument("--kill-at", type=int, default=None, help="SIGKILL the largest run past this many words")
    parser.add_argument("--keep", type=Path, default=None, help="copy each document and its job store here")
    args = parser.parse_args()
    rows = []
    for words in args.words:
        kill_at = args.kill_at if words == max(args.words) else None
        run = measure(words, kill_at, args.keep)
        rows.append((words, run))
        print(f"{words}: {run}", file=sys.stderr, flush=True)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| asked | written | S_l | rep-4 | wall s | words/s | store / document | CLI peak MB | server peak MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for words, run in rows:
        rate = run.words / run.seconds if run.seconds else 0.0
        ratio = run.store_bytes / run.document_bytes if run.document_bytes else 0.0
        killed = f" (SIGKILL at {run.killed_at:,}, resumed)" if run.killed_at else ""
        print(
            f"| {words:,}{killed} | {run.words:,} | {run.length_score:.1f} | {run.rep_4:.3f} | {run.seconds:.0f} | "
            f"{rate:.2f} | {run.store_bytes / 1024:.0f} KB / {run.document_bytes / 1024:.0f} KB = {ratio:.2f}x | "
            f"{run.cli_peak_mb:.0f} | {run.server_peak_mb:.0f} |"
        )
    base = dict(rows).get(10_000)
    for words, run in rows:
        if base and words > 10_000 and base.seconds and run.seconds:
            share = (run.words / run.seconds) / (base.words / base.seconds)
            print(f"\nwords/s at {words:,} over words/s at 10,000: {share:.2f}")
        if run.sections_once is not None:
            print(f"\n{words:,} after SIGKILL and resume: every section once, in order: {run.sections_once}")


if __name__ == "__main__":
    main()
