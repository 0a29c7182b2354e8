"""The degeneration guard: find where a section starts looping, so the loop can be cut.

Small models fall into loops: a sentence comes back word for word, a paragraph repeats, a
list item recurs. The guard marks the first place where the text repeats itself (or what the
document already says) and the writer keeps only what comes before it, then regenerates the
rest with repetition penalties.
"""

from __future__ import annotations

import re

from longwrite.core.text import Language, tokens_for_repetition

# A sentence this long (in words / CJK characters) that appears twice is a repeat, not a phrase.
MIN_SENTENCE_TOKENS = 6
# A run of this many tokens copied from earlier text (or the prompt), even inside an otherwise
# new sentence, makes the sentence a repeat. In English 8 words: a copy that long is the
# document saying the same thing again (replayed on a 100,000-word book by
# bench/repetition_sources.py: rep-4 0.084 -> 0.066 for 5% of the words; 12 words let almost
# all copies through, shorter runs start to catch the subject's own name). A CJK token is one
# character, so runs there are longer.
COPY_TOKENS: dict[Language, int] = {"en": 8, "zh": 12}
# Short lines ("- Safety", "Yes.") may repeat a little; the third copy is a loop.
SHORT_LINE_COPIES = 3
# Only the end of the earlier text is compared: loops copy recent text, and it keeps this cheap.
EARLIER_TOKENS = 4_000
# This many repeated sentences in a row while streaming means a loop: stop generating.
LOOPING_TAIL_SENTENCES = 2
# A sentence still unfinished after this many words (CJK characters) has run on: small models
# drift into punctuation-free streams of words that never end a sentence, and all of it is
# dropped as an unfinished sentence at max_tokens (a 230-word one seen in bench/agent_waste.py).
# Generated prose rarely runs past 60 words between stops; a line break ends a list item.
RUN_ON_TOKENS: dict[Language, int] = {"en": 80, "zh": 200}

_SENTENCE = re.compile(r"[^\n.!?。！？]+(?:[.!?。！？…]+[\"'”’)）]*)?")
_STOP_OR_LINE_END = re.compile(r"[.!?。！？…\n]")


def _key(tokens: list[str]) -> str:
    return " ".join(tokens)


class LoopGuard:
    """Checks new text against itself and against the document written so far."""

    def __init__(self, earlier: str = "", prompt: str = "", language: Language = "en") -> None:
        """`earlier`: the document so far (its end is compared); `prompt`: what the model was
        told, whose sentences small models like to echo back into the text."""
        self._copy = copy = COPY_TOKENS[language]
        self._run_on = RUN_ON_TOKENS[language]
        self._earlier_ngrams: set[tuple[str, ...]] = set()
        self._earlier_sentences: set[str] = set()
        for source in (earlier[-EARLIER_TOKENS * 8 :], prompt):
            tokens = tokens_for_repetition(source)[-EARLIER_TOKENS:]
            self._earlier_ngrams |= {tuple(tokens[i : i + copy]) for i in range(len(tokens) - copy + 1)}
            self._earlier_sentences |= {
                _key(sentence)
                for match in _SENTENCE.finditer(source)
                if len(sentence := tokens_for_repetition(match.group(0))) >= MIN_SENTENCE_TOKENS
            }

    def scan(self, text: str) -> list[tuple[int, int, bool]]:
        """Each sentence of `text` as (start, end, repeats_earlier_text)."""
        sentence_seen = set(self._earlier_sentences)
        short_copies: dict[str, int] = {}
        ngram_seen = set(self._earlier_ngrams)
        copy = self._copy
        window: list[str] = []
        spans = []
        for match in _SENTENCE.finditer(text):
            tokens = tokens_for_repetition(match.group(0))
            if not tokens:
                continue
            key = _key(tokens)
            repeated = False
            if len(tokens) >= MIN_SENTENCE_TOKENS:
                repeated = key in sentence_seen
                sentence_seen.add(key)
            elif len(tokens) >= 2:
                short_copies[key] = short_copies.get(key, 0) + 1
                repeated = short_copies[key] >= SHORT_LINE_COPIES
            # n-grams that end inside this sentence
            window.extend(tokens)
            for i in range(max(0, len(window) - len(tokens) - copy + 1), len(window) - copy + 1):
                gram = tuple(window[i : i + copy])
                repeated = repeated or gram in ngram_seen
                ngram_seen.add(gram)
            spans.append((match.start(), match.end(), repeated))
        return spans

    def find(self, text: str) -> int | None:
        """Where the first repeated sentence of `text` starts, or None when it never repeats itself."""
        return next((start for start, _end, repeated in self.scan(text) if repeated), None)

    def has_loop(self, text: str) -> bool:
        """True when repeated sentences come LOOPING_TAIL_SENTENCES in a row anywhere in the text
        (a lone repeat, with new text on both sides of it, is an echo, not a loop)."""
        run = 0
        for _start, _end, repeated in self.scan(text):
            run = run + 1 if repeated else 0
            if run >= LOOPING_TAIL_SENTENCES:
                return True
        return False

    def should_stop(self, text: str) -> bool:
        """True when a streaming answer went wrong: it loops, or its last sentence ran on."""
        return self.runs_on(text) or self.is_looping(text)

    def runs_on(self, text: str) -> bool:
        """True when the text's unfinished last sentence is over RUN_ON_TOKENS long."""
        return self._run_on_start(text) is not None

    def drop_run_on(self, text: str) -> str:
        """The text without an unfinished last sentence that ran on (unchanged when none did)."""
        start = self._run_on_start(text)
        return text if start is None else text[:start].rstrip()

    def _run_on_start(self, text: str) -> int | None:
        """Where a last sentence that ran on starts, or None."""
        offset = max(0, len(text) - self._run_on * 12)  # enough characters for that many English words
        ends = list(_STOP_OR_LINE_END.finditer(text, offset))
        start = ends[-1].end() if ends else offset
        if len(tokens_for_repetition(text[start:])) <= self._run_on:
            return None
        return start if ends else _last_stop(text[:offset])

    def is_looping(self, text: str) -> bool:
        """True when the text has fallen into a loop: its last complete sentences all repeat."""
        spans = self.scan(text)
        complete = spans[:-1]  # the last one may still be streaming
        tail = complete[-LOOPING_TAIL_SENTENCES:]
        return len(tail) == LOOPING_TAIL_SENTENCES and all(repeated for _s, _e, repeated in tail)


def _last_stop(text: str) -> int:
    """Just after the last sentence or line end of `text` (0 when it has none)."""
    ends = list(_STOP_OR_LINE_END.finditer(text))
    return ends[-1].end() if ends else 0


def cut_loop(text: str, guard: LoopGuard) -> tuple[str, int]:
    """The text without its repeated sentences, and how many were removed.

    Removing (rather than truncating at the first repeat) keeps the new material a small
    model often writes after echoing an earlier sentence.
    """
    pieces = []
    position = removed = 0
    for start, end, repeated in guard.scan(text):
        if repeated:
            pieces.append(text[position:start])
            position = end
            removed += 1
    pieces.append(text[position:])
    kept = "".join(pieces)
    kept = re.sub(r"[ \t]*\n[ \t]*", "\n", re.sub(r"[ \t]{2,}", " ", kept))
    kept = re.sub(r"\n{3,}", "\n\n", kept)
    return kept.strip(), removed
