"""The written document as files to take away: Markdown as it is, and Word (.docx) read with a
real Markdown parser (markdown-it-py, CommonMark plus tables), so headings stay Word headings
(the navigation pane and a table of contents work) and lists, emphasis, tables and code survive."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docx.document import Document
    from docx.text.paragraph import Paragraph
    from markdown_it.token import Token

CODE_FONT = "Courier New"
CODE_STYLE = "Code"  # a paragraph style added to the document for code blocks
MAX_LIST_DEPTH = 3  # Word's default template has List Bullet / List Number 1-3
ALIGNMENTS = {"left": "LEFT", "center": "CENTER", "right": "RIGHT"}


def file_stem(title: str) -> str:
    """A safe file name from the document's title (letters, digits, CJK, dashes)."""
    stem = re.sub(r"[^\w\u4e00-\u9fff]+", "-", title).strip("-").lower()
    return stem[:60] or "document"


def write_markdown(text: str, folder: Path, stem: str) -> Path:
    path = folder / f"{stem}.md"
    path.write_text(text, encoding="utf-8")
    return path


def write_docx(text: str, folder: Path, stem: str) -> Path:
    """# is the Title and ## to ###### Headings 1-5; lists, bold/italic, tables and code are kept."""
    from docx import Document as new_document
    from markdown_it import MarkdownIt

    document = new_document()
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(text)
    _DocxBuilder(document).add(tokens)
    path = folder / f"{stem}.docx"
    document.save(str(path))
    return path


@dataclass
class _List:
    ordered: bool
    start: int = 1
    num_id: int | None = None  # ordered lists get their own numbering, so each starts again at `start`


@dataclass
class _Table:
    rows: list[list[tuple[Token | None, str | None, bool]]] = field(default_factory=list)  # (inline, align, header)


class _DocxBuilder:
    """Walks markdown-it's block tokens and adds the matching Word paragraphs and tables."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.lists: list[_List] = []
        self.quotes = 0
        self.item_started = False  # the next paragraph is a list item's first: it carries the marker
        self.paragraph: Paragraph | None = None
        self.table: _Table | None = None
        self.cell: tuple[str | None, bool] | None = None  # (alignment, header) of the cell being read

    def add(self, tokens: list[Token]) -> None:
        for token in tokens:
            handler = getattr(self, f"_{token.type}", None)
            if handler:
                handler(token)

    # ---- blocks
    def _heading_open(self, token: Token) -> None:
        level = int(token.tag[1])
        self.paragraph = self.document.add_heading("", level=0 if level == 1 else level - 1)

    def _paragraph_open(self, _token: Token) -> None:
        if self.table is not None:
            return
        style = self._paragraph_style()
        self.paragraph = self.document.add_paragraph(style=style)
        current = self.lists[-1] if self.lists else None
        if current and current.ordered and style and style.startswith("List Number"):
            if current.num_id is None:
                current.num_id = _restarted_numbering(self.document, style, current.start)
            _number_with(self.paragraph, current.num_id)

    def _paragraph_close(self, _token: Token) -> None:
        self.paragraph = None

    _heading_close = _paragraph_close

    def _inline(self, token: Token) -> None:
        if self.table is not None and self.cell is not None:
            self.table.rows[-1].append((token, *self.cell))
        elif self.paragraph is not None:
            _add_inline(self.paragraph, token.children or [])

    def _fence(self, token: Token) -> None:
        # one paragraph with line breaks, so the block keeps together and its blank lines stay
        paragraph = self.document.add_paragraph(style=self._code_style())
        lines = token.content.rstrip("\n").split("\n")
        for number, line in enumerate(lines):
            run = paragraph.add_run(line)
            if number < len(lines) - 1:
                run.add_break()

    _code_block = _fence

    def _html_block(self, token: Token) -> None:
        self.document.add_paragraph(token.content.strip(), style=self._paragraph_style())

    def _hr(self, _token: Token) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH

        self.document.add_paragraph("* * *").alignment = WD_ALIGN_PARAGRAPH.CENTER

    def _blockquote_open(self, _token: Token) -> None:
        self.quotes += 1

    def _blockquote_close(self, _token: Token) -> None:
        self.quotes -= 1

    # ---- lists
    def _bullet_list_open(self, _token: Token) -> None:
        self.lists.append(_List(ordered=False))

    def _ordered_list_open(self, token: Token) -> None:
        self.lists.append(_List(ordered=True, start=int(token.attrs.get("start", 1))))

    def _bullet_list_close(self, _token: Token) -> None:
        self.lists.pop()

    _ordered_list_close = _bullet_list_close

    def _list_item_open(self, _token: Token) -> None:
        self.item_started = True

    def _paragraph_style(self) -> str | None:
        if not self.lists:
            return "Quote" if self.quotes else None
        depth = min(len(self.lists), MAX_LIST_DEPTH)
        suffix = f" {depth}" if depth > 1 else ""
        if not self.item_started:  # a later paragraph of the same item: indented, no marker
            return f"List Continue{suffix}"
        self.item_started = False
        return f"List Number{suffix}" if self.lists[-1].ordered else f"List Bullet{suffix}"

    # ---- tables
    def _table_open(self, _token: Token) -> None:
        self.table = _Table()

    def _tr_open(self, _token: Token) -> None:
        assert self.table is not None
        self.table.rows.append([])

    def _th_open(self, token: Token) -> None:
        self.cell = (_alignment(token), True)

    def _td_open(self, token: Token) -> None:
        self.cell = (_alignment(token), False)

    def _th_close(self, _token: Token) -> None:
        self.cell = None

    _td_close = _th_close

    def _table_close(self, _token: Token) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH

        assert self.table is not None
        rows, self.table = self.table.rows, None
        columns = max((len(row) for row in rows), default=0)
        if not columns:
            return
        table = self.document.add_table(rows=len(rows), cols=columns)
        table.style = "Table Grid"
        for row, cells in zip(table.rows, rows, strict=True):
            for cell, (inline, align, header) in zip(row.cells, cells, strict=False):
                paragraph = cell.paragraphs[0]
                if inline is not None:
                    _add_inline(paragraph, inline.children or [], bold=header)
                if align:
                    paragraph.alignment = getattr(WD_ALIGN_PARAGRAPH, ALIGNMENTS[align])

    def _code_style(self) -> str:
        from docx.enum.style import WD_STYLE_TYPE
        from docx.shared import Pt

        styles = self.document.styles
        if CODE_STYLE not in [style.name for style in styles]:
            style = styles.add_style(CODE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
            style.base_style = styles["Normal"]
            style.font.name = CODE_FONT
            style.font.size = Pt(9.5)
            style.paragraph_format.space_after = Pt(6)
        return CODE_STYLE


def _add_inline(paragraph: Paragraph, children: list[Token], bold: bool = False) -> None:
    """Runs for one inline token's children, with bold, italic, strikethrough and code kept."""
    writer = _InlineWriter(paragraph, bold)
    for child in children:
        writer.add(child)


class _InlineWriter:
    """Walks one inline token's children: marks switch on and off, text becomes runs."""

    MARKS = ("strong", "em", "s")

    def __init__(self, paragraph: Paragraph, bold: bool) -> None:
        self.paragraph = paragraph
        self.bold = bold  # a table header's cells are bold throughout
        self.marks = {"strong": bold, "em": False, "s": False}
        self.href: str | None = None
        self.link_text: list[str] = []

    def add(self, child: Token) -> None:
        kind = child.type
        mark, _, edge = kind.rpartition("_")
        if mark in self.MARKS and edge in ("open", "close"):
            self.marks[mark] = edge == "open" or (mark == "strong" and self.bold)
            return
        handler = getattr(self, f"_{kind}", None)
        if handler:
            handler(child)

    def run(self, text: str, code: bool = False) -> None:
        if not text:
            return
        added = self.paragraph.add_run(text)
        added.bold = self.marks["strong"] or None
        added.italic = self.marks["em"] or None
        added.font.strike = self.marks["s"] or None
        if code:
            added.font.name = CODE_FONT
        if self.href is not None:
            self.link_text.append(text)

    def _text(self, child: Token) -> None:
        self.run(child.content)

    _html_inline = _text

    def _code_inline(self, child: Token) -> None:
        self.run(child.content, code=True)

    def _softbreak(self, _child: Token) -> None:
        self.run(" ")

    def _hardbreak(self, _child: Token) -> None:
        self.paragraph.add_run().add_break()

    def _link_open(self, child: Token) -> None:
        self.href, self.link_text = str(child.attrs.get("href", "")), []

    def _link_close(self, _child: Token) -> None:
        target, self.href = self.href, None
        if target and target != "".join(self.link_text):  # keep where the link went: print has no clicks
            self.run(f" ({target})")

    def _image(self, child: Token) -> None:
        self.run(child.content or str(child.attrs.get("alt", "")))


def _alignment(token: Token) -> str | None:
    match = re.search(r"text-align:\s*(left|center|right)", str(token.attrs.get("style", "")))
    return match.group(1) if match else None


def _restarted_numbering(document: Document, style_name: str, start: int) -> int:
    """A new Word numbering instance for `style_name`'s list that starts at `start`.

    Every paragraph styled List Number shares one numbering, so without this a document's
    second numbered list would go on from where its first ended.
    """
    numbering = document.part.numbering_part.element
    style_num = document.styles[style_name].element.pPr.numPr.numId.val
    abstract = next(num.abstractNumId.val for num in numbering.num_lst if num.numId == style_num)
    num = numbering.add_num(abstract)
    num.add_lvlOverride(ilvl=0).add_startOverride(start)
    return num.numId


def _number_with(paragraph: Paragraph, num_id: int) -> None:
    number = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    number.get_or_add_ilvl().val = 0
    number.get_or_add_numId().val = num_id
