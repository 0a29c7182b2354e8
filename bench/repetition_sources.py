"""Where the rep-4 of a long document comes from, and what the loop guard's copy rule would cut.

Usage: python bench/repetition_sources.py DOCUMENT.md [--copy 12 10 8 6] [--words N]

For a document written by the agent (`bench/book_length.py --keep DIR` keeps them), prints:

- rep-4 (the share of 4-word sequences that occur earlier in the document), split by how far
  back the earlier copy is (in words), by the kind of line (heading, list item, prose), and by
  the length of the copied run it belongs to (a lone 4-word phrase, or part of a longer copy);
- the sequences repeated most;
- a replay of the guard: each section (a `## ` part) cut as the agent's guard would cut it
  against the sections kept before it, with a sentence that copies N words of earlier text
  counted as a repeat, for each N of --copy: the rep-4 left and the share of words cut (the
  agent would write that share again, so it is also what the rule costs).

With --words N only the document's first N words are read (to compare a run stopped part-way
with another at the same length).
"""

from __future__ import annotations

import argparse
import itertools
import re
from collections import Counter
from pathlib import Path

from longwrite.agent import guard
from longwrite.core.text import repetition, tokens_for_repetition

DISTANCES = [(1_000, "under 1,000"), (4_000, "1,000-4,000"), (20_000, "4,000-20,000"), (None, "20,000 or more")]
# a run of k repeated 4-word sequences is a copy of k + 3 words
RUNS = [(2, "4 words (a phrase)"), (5, "5-7 words"), (9, "8-11 words"), (None, "12 or more")]
_LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s")


def line_kind(line: str) -> str:
    if line.lstrip().startswith("#"):
        return "heading"
    return "list item" if _LIST_ITEM.match(line) else "prose"


def bucket(value: int, limits: list[tuple[int | None, str]]) -> str:
    return next(name for limit, name in limits if limit is None or value < limit)


def sources(text: str) -> None:
    """rep-4 split by distance, line kind and copied-run length; the most repeated sequences."""
    tokens, kinds = [], []
    for line in text.splitlines():
        words = tokens_for_repetition(line)
        tokens += words
        kinds += [line_kind(line)] * len(words)
    total = max(len(tokens) - 3, 1)
    last_seen: dict[tuple[str, ...], int] = {}
    repeated = [False] * total
    by_distance: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    counts: Counter[tuple[str, ...]] = Counter()
    for i in range(len(tokens) - 3):
        gram = tuple(tokens[i : i + 4])
        counts[gram] += 1
        if gram in last_seen:
            repeated[i] = True
            by_distance[bucket(i - last_seen[gram], DISTANCES)] += 1
            by_kind[kinds[i]] += 1
        last_seen[gram] = i
    by_run: Counter[str] = Counter()
    run = 0
    for flag in [*repeated, False]:
        if flag:
            run += 1
        elif run:
            by_run[bucket(run, RUNS)] += run
            run = 0
    print(f"rep-4 {sum(repeated) / total:.4f} over {total:,} 4-word sequences")
    for title, counter, names in (
        ("earlier copy this many words back", by_distance, [name for _, name in DISTANCES]),
        ("line kind", by_kind, ["prose", "list item", "heading"]),
        ("length of the copied run", by_run, [name for _, name in RUNS]),
    ):
        print(f"\n| {title} | share of all 4-word sequences |\n|---|---:|")
        for name in names:
            print(f"| {name} | {counter[name] / total:.4f} |")
    print("\nrepeated most: " + "; ".join(f'"{" ".join(g)}" {c}' for g, c in counts.most_common(15)))


def replay(text: str, copy: int) -> tuple[float, float]:
    """rep-4 of the document and the share of its words cut, had the guard counted a copy of
    `copy` words as a repeat."""
    guard.COPY_TOKENS["en"] = copy  # the replay's own rule; the process writes nothing
    kept_sections: list[str] = []
    cut_words = 0
    for part in re.split(r"\n(?=## )", text):
        heading, _, body = part.partition("\n")
        kept, _removed = guard.cut_loop(body, guard.LoopGuard("\n\n".join(kept_sections)))
        cut_words += len(tokens_for_repetition(body)) - len(tokens_for_repetition(kept))
        kept_sections.append(f"{heading}\n{kept}")
    return repetition("\n".join(kept_sections)).rep_n, cut_words / max(len(tokens_for_repetition(text)), 1)


def first_words(text: str, count: int | None) -> str:
    """`text` up to the end of its `count`-th whitespace-separated word (all of it for None)."""
    if count is None:
        return text
    ends = [match.end() for match in itertools.islice(re.finditer(r"\S+", text), count)]
    return text[: ends[-1]] if ends else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("document", type=Path)
    parser.add_argument("--copy", type=int, nargs="+", default=[12, 10, 8, 6])
    parser.add_argument("--words", type=int, default=None, help="read only the first N words")
    args = parser.parse_args()
    text = first_words(args.document.read_text(encoding="utf-8"), args.words)
    print(f"{args.document.name}: {len(text.split()):,} words")
    sources(text)
    print("\n| guard counts a copy of | rep-4 left | words cut |\n|---:|---:|---:|")
    for copy in args.copy:
        rep, cut = replay(text, copy)
        print(f"| {copy} words | {rep:.4f} | {cut:.3f} |")


if __name__ == "__main__":
    main()
