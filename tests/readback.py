"""Read rendered publications back as text, the way a reader sees them (tests assert on this text).

``text(path)`` for .html (markup, styles and inlined images removed, entities decoded), .docx (paragraphs,
table cells, header and footer), .pdf (page by page, the running header and '— N —' page numbers left out
so that a sentence running across pages stays whole), .xlsx (every cell) and anything else as UTF-8.
``pdf_pages(path)`` gives each PDF page's raw text; ``flat(s)`` removes all whitespace.
"""
from __future__ import annotations

import html as htmllib
import re
from pathlib import Path


def flat(s: str) -> str:
    return re.sub(r"\s+", "", s)


def pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader
    return [p.extract_text() or "" for p in PdfReader(str(path)).pages]


def text(path: Path) -> str:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".html":
        h = path.read_text(encoding="utf-8")
        h = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", h, flags=re.S)
        h = re.sub(r'src="data:[^"]+"', "", h)
        return htmllib.unescape(re.sub(r"<[^>]+>", " ", h))
    if suffix == ".docx":
        import docx
        d = docx.Document(str(path))
        parts = [p.text for p in d.paragraphs]
        for t in d.tables:
            for row in t.rows:
                parts += [c.text for c in row.cells]
        for s in d.sections:
            parts += [p.text for p in s.header.paragraphs] + [p.text for p in s.footer.paragraphs]
        return "\n".join(parts)
    if suffix == ".pdf":
        pages = [p.splitlines() for p in pdf_pages(path)]
        firsts = [p[0] for p in pages if p]
        header = {h for h in firsts if firsts.count(h) >= 2}
        return "\n".join(line for p in pages for line in p
                         if line not in header and not re.fullmatch(r"\s*—\s*\d+\s*—\s*", line))
    if suffix == ".xlsx":
        import openpyxl
        wb = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
        return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)
    return path.read_text(encoding="utf-8", errors="replace")
