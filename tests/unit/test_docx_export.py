"""The .docx download keeps what the Markdown says: headings, bullet and numbered lists (each
numbered list counting from its own start), bold and italic, tables and code."""

from __future__ import annotations

import pytest

docx = pytest.importorskip("docx")
pytest.importorskip("markdown_it")

from longwrite.ui.export import CODE_FONT, CODE_STYLE, write_docx  # noqa: E402

MARKDOWN = """# Tea

## Brewing

Tea is **strong** and *subtle*, brewed with `water`.
It cools.

1. Boil the water
2. Warm the **pot**
   - a nested point

   A second paragraph of this step.
3. Pour

Between the lists.

4. Steep
5. Serve

- green
- black

| Kind | Minutes |
|:-----|--------:|
| Green | **2** |
| Black | 4 |

```python
def brew():
    return "tea"
```

> A quote with *feeling*.
"""


@pytest.fixture(scope="module")
def document(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docx")
    return docx.Document(str(write_docx(MARKDOWN, folder, "tea")))


def _paragraphs(document) -> list[tuple[str, str]]:
    return [(paragraph.style.name, paragraph.text) for paragraph in document.paragraphs]


def _num_id(paragraph) -> int | None:
    properties = paragraph._p.pPr
    return properties.numPr.numId.val if properties is not None and properties.numPr is not None else None


def test_headings_and_paragraphs(document):
    shown = _paragraphs(document)
    assert shown[:3] == [("Title", "Tea"), ("Heading 1", "Brewing"),
                         ("Normal", "Tea is strong and subtle, brewed with water. It cools.")]  # fmt: skip


def test_lists_keep_their_styles_and_nesting(document):
    shown = _paragraphs(document)
    assert ("List Number", "Boil the water") in shown and ("List Number", "Pour") in shown
    assert ("List Bullet 2", "a nested point") in shown
    assert ("List Continue", "A second paragraph of this step.") in shown
    assert [text for style, text in shown if style == "List Bullet"] == ["green", "black"]


def test_each_numbered_list_counts_from_its_own_start(document):
    numbered = [p for p in document.paragraphs if p.style.name == "List Number"]
    first, second = {_num_id(p) for p in numbered[:3]}, {_num_id(p) for p in numbered[3:]}
    assert len(first) == len(second) == 1 and first != second  # two lists, two numberings
    numbering = document.part.numbering_part.element
    starts = {num.numId: num.lvlOverride_lst[0].startOverride.val for num in numbering.num_lst if num.lvlOverride_lst}
    assert starts[first.pop()] == 1 and starts[second.pop()] == 4  # "4. Steep" starts at 4


def test_bold_and_italic_runs(document):
    runs = [run for paragraph in document.paragraphs for run in paragraph.runs]
    assert [run.text for run in runs if run.bold] == ["strong", "pot"]
    assert [run.text for run in runs if run.italic] == ["subtle", "feeling"]
    assert [run.text for run in runs if run.font.name == CODE_FONT] == ["water"]


def test_a_table_with_its_cells_header_and_alignment(document):
    (table,) = document.tables
    assert [[cell.text for cell in row.cells] for row in table.rows] == [
        ["Kind", "Minutes"], ["Green", "2"], ["Black", "4"],
    ]  # fmt: skip
    header = [run.bold for cell in table.rows[0].cells for run in cell.paragraphs[0].runs]
    assert header == [True, True]
    assert table.rows[1].cells[1].paragraphs[0].runs[0].bold  # **2**
    assert table.rows[1].cells[1].paragraphs[0].alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.RIGHT


def test_a_code_block_keeps_its_lines_in_a_monospace_style(document):
    (code,) = [p for p in document.paragraphs if p.style.name == CODE_STYLE]
    assert code.text == 'def brew():\n    return "tea"'  # line breaks and indentation kept
    assert code.style.font.name == CODE_FONT


def test_a_quote(document):
    assert ("Quote", "A quote with feeling.") in _paragraphs(document)
