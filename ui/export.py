"""The written document as files to take away: Markdown as it is, and Word (.docx) with its
headings kept as Word headings (so the navigation pane and a table of contents work)."""

from __future__ import annotations

import re
from pathlib import Path

HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")


def file_stem(title: str) -> str:
    """A safe file name from the document's title (letters, digits, CJK, dashes)."""
    stem = re.sub(r"[^\w\u4e00-\u9fff]+", "-", title).strip("-").lower()
    return stem[:60] or "document"


def write_markdown(text: str, folder: Path, stem: str) -> Path:
    path = folder / f"{stem}.md"
    path.write_text(text, encoding="utf-8")
    return path


def write_docx(text: str, folder: Path, stem: str) -> Path:
    """Headings (# to ######) become Word headings 1-6 (# the title); blank lines split paragraphs."""
    from docx import Document

    document = Document()
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            document.add_paragraph(" ".join(line.strip() for line in paragraph))
            paragraph.clear()

    for line in text.splitlines():
        heading = HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            document.add_heading(heading.group(2), level=0 if level == 1 else level - 1)
        elif not line.strip():
            flush()
        else:
            paragraph.append(line)
    flush()
    path = folder / f"{stem}.docx"
    document.save(str(path))
    return path
