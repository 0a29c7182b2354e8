"""One resumable batch runner, for eval's answers and synth's rows.

A batch is a list of items, each written once into an append-only JSONL file keyed by one field;
a rerun skips the keys already there. Each item's document is a job in a SQLite job store (keyed
by the item), so a kill loses at most the section in progress: the rerun resumes that document
from its last checkpoint. Items run `concurrency` at a time on threads; the first exception a
worker lets out stops the batch (items not yet started are dropped) and is raised.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from longwrite.agent.jobs import JobStore
from longwrite.agent.runner import WriteRequest, Written, write
from longwrite.agent.state import AgentContext
from longwrite.core.jsonl import read_jsonl

Item = TypeVar("Item")


def finished_keys(path: Path, key: str) -> dict[Any, dict[str, Any]]:
    """The records of an append-only result file, by key (a rerun skips these)."""
    return {record[key]: record for record in read_jsonl(path)}


def progress_bar(total: int, done: int, label: str, unit: str, show: bool) -> tqdm:
    return tqdm(total=total, initial=done, desc=label, unit=unit, disable=not show, file=sys.stderr)


def run_batch(items: Sequence[Item], work: Callable[[Item], None], concurrency: int) -> None:
    """Call `work` on every item, `concurrency` at a time; the first exception stops the batch."""
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [pool.submit(work, item) for item in items]
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failure = next((future.exception() for future in finished if future.exception()), None)
        if failure is not None:
            for future in futures:
                future.cancel()
    if failure is not None:
        raise failure


def write_item(ctx: AgentContext, store: JobStore, request: WriteRequest) -> Written:
    """One item's document; in agent mode a job of `store` (request.job_id), resumed from its
    checkpoint when a run before this one was stopped in the middle of it."""
    if request.job_id is not None and store.values(request.job_id):
        request = dataclasses.replace(request, resume=True)
    return write(ctx, request, store)
