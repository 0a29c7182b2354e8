"""`longwrite count`: a text's length in every unit longwrite knows."""

from __future__ import annotations

from longwrite.text import count_tokens, count_words, detect_language


def count_report(text: str) -> str:
    """Aligned lines: words (LongBench-Write), jieba words, cl100k tokens, characters, language."""
    rows = [
        ("words", count_words(text)),
        ("jieba_words", count_words(text, unit="jieba")),
        ("tokens_cl100k", count_tokens(text)),
        ("characters", len(text)),
    ]
    lines = [f"{name:<14} {value:>10,}" for name, value in rows]
    lines.append(f"{'language':<14} {detect_language(text):>10}")
    return "\n".join(lines)
