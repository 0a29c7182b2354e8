"""Where the words an agent job decodes and does not keep go, by cause.

Usage: python bench/agent_waste.py [--words 1000] [--runs 3]

Runs agent jobs on the embedded server (the topics of bench/agent_overhead.py) and, for every
section call, sorts the words it generated into what the document kept and what was lost:

- usable: the answer's heading and, when it was cut off or stopped, its unfinished last sentence;
- run-on: an unfinished last sentence the guard stopped as running on (no sentence end in 80 words);
- loop stop: the repeated sentences of an answer the guard stopped as looping;
- repeats: repeated sentences removed from an answer that was not stopped (an echo of an
  earlier sentence, of the prompt, or an 8-word copy);
- trimmed: what a section wrote past its budget and lost at the end;
- rewritten: text a later cut reached back into (a section's exchanges replaced by one).

The counts come from wrapping the section writer's own steps (generate, the usable part, the
loop cut, the trim), so they are what the product did, not a replay. Prints the shares of the
generated words, per job and over all jobs.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
from pathlib import Path

from agent_overhead import TOPICS  # bench/ is on the path when run as a script: the same jobs

from longwrite.agent import section
from longwrite.agent.jobs import JobStore, new_job_id, run_job
from longwrite.agent.state import AgentContext
from longwrite.core.settings import Settings
from longwrite.core.text import count_words
from longwrite.model.embedded import EmbeddedServer

CAUSES = ("kept", "usable", "run-on", "loop stop", "repeats", "trimmed", "rewritten")


class WasteLedger:
    """Wraps the section writer's steps and counts the words each step drops."""

    def __init__(self) -> None:
        self.words: collections.Counter[str] = collections.Counter()
        self._stopped = False

    def install(self) -> None:
        generate, usable, cut = section.generate, section._usable_text, section.cut_loop
        trim, drop_run_on = section.budget.trim_to_budget, section.LoopGuard.drop_run_on
        ledger = self

        def counted_generate(*args, **kwargs):
            generation = generate(*args, **kwargs)
            ledger.words["generated"] += count_words(generation.text)
            ledger._stopped = generation.stopped_early
            return generation

        def counted_usable(generation, first, under_heading):
            text = usable(generation, first=first, under_heading=under_heading)
            ledger.words["usable"] += count_words(generation.text) - count_words(text)
            return text

        def counted_cut(text, guard):
            kept, removed = cut(text, guard)
            lost = count_words(text) - count_words(kept)
            ledger.words["loop stop" if ledger._stopped else "repeats"] += lost
            return kept, removed

        def counted_drop_run_on(guard, text):
            kept = drop_run_on(guard, text)
            ledger.words["run-on"] += count_words(text) - count_words(kept)
            return kept

        def counted_trim(text, words, last=False):
            body, trimmed = trim(text, words, last=last)
            ledger.words["trimmed"] += count_words(text) - count_words(body)
            return body, trimmed

        # agent jobs trim only in the section writer (model_first's trim is not on this path)
        section.generate, section._usable_text, section.cut_loop = counted_generate, counted_usable, counted_cut
        section.budget.trim_to_budget = counted_trim
        section.LoopGuard.drop_run_on = counted_drop_run_on

    def take(self) -> collections.Counter[str]:
        taken, self.words = self.words, collections.Counter()
        return taken


def shares(words: collections.Counter[str], kept: int) -> str:
    generated = words["generated"]
    words["kept"] = kept
    counted = sum(words[cause] for cause in CAUSES[1:])
    words["rewritten"] = max(0, generated - kept - counted)
    return ", ".join(f"{cause} {words[cause] / generated:.0%}" for cause in CAUSES) + f" of {generated} generated"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ledger = WasteLedger()
    ledger.install()
    total: collections.Counter[str] = collections.Counter()
    total_kept = 0
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        with EmbeddedServer(settings) as endpoint, JobStore(settings.jobs_db) as store:
            ctx = AgentContext.for_endpoint(endpoint, settings)
            for run in range(args.runs):
                topic = TOPICS[run % len(TOPICS)]
                instruction = f"Write a {args.words}-word article about {topic}."
                result = run_job(store, ctx, new_job_id(), instruction=instruction, target=args.words)
                words = ledger.take()
                kept = sum(count_words(s["text"]) for s in store.values(result.job)["sections"])
                total.update(words)
                total_kept += kept
                print(f"run {run + 1} ({topic}, S_l {result.length_score:.1f}): {shares(words, kept)}")
    print(f"all runs: {shares(total, total_kept)}")


if __name__ == "__main__":
    main()
