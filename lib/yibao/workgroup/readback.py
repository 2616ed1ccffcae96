"""Reading the outputs of a publication directory for the 审议 record (:mod:`yibao.workgroup.review`):
the text, headings and tables of HTML, the text of DOCX / PDF / executed notebooks, the cells of CSV / XLSX.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

SCANNED_SUFFIXES = (".html", ".htm", ".docx", ".pdf", ".pptx", ".csv", ".xlsx", ".ipynb", ".md", ".txt", ".json")


@dataclass
class ScannedFile:
    path: Path
    text: str  # the readable text (no images)
    cells: list[str] = field(default_factory=list)  # csv/xlsx cells (for numeric-aware scans)


# ---- reading outputs --------------------------------------------------------------------------

class _HTMLText(HTMLParser):
    """Text, headings and tables of an HTML file (script/style and inline images skipped)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.headings: list[tuple[int, str]] = []
        self.tables: list[list[list[str]]] = []
        self._skip = 0
        self._h: tuple[int, list[str]] | None = None
        self._tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "svg"):
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._h = (int(tag[1]), [])
        elif tag == "table":
            self._tables.append([])
        elif tag == "tr" and self._tables:
            self._tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("br", "p", "div", "li"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "svg"):
            self._skip = max(0, self._skip - 1)
        elif re.fullmatch(r"h[1-6]", tag) and self._h:
            self.headings.append((self._h[0], "".join(self._h[1]).strip()))
            self._h = None
        elif tag == "table" and self._tables:
            self.tables.append(self._tables.pop())
        elif tag in ("td", "th") and self._cell is not None:
            if self._tables and self._tables[-1]:
                self._tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        self.parts.append(" " if tag in ("td", "th") else "")

    def handle_data(self, data):
        if self._skip:
            return
        self.parts.append(data)
        if self._h is not None:
            self._h[1].append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def parse_html(path: Path) -> _HTMLText:
    p = _HTMLText()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    p.close()
    return p


def pptx_text(path: Path) -> str:
    """The text of every slide of a deck (the 发布会 pptx), one line per paragraph, slides in order."""
    import zipfile
    from xml.etree import ElementTree as ET
    a = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
    with zipfile.ZipFile(path) as z:
        names = sorted((n for n in z.namelist() if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)),
                       key=lambda n: int(re.sub(r"\D", "", n)))
        lines = []
        for n in names:
            root = ET.fromstring(z.read(n))
            lines += ["".join(t.text or "" for t in para.iter(f"{a}t")) for para in root.iter(f"{a}p")]
    return "\n".join(lines)


def docx_text(path: Path) -> str:
    import docx
    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts.append(" ".join(c.text for c in row.cells))
    for s in d.sections:
        for part in (s.header, s.footer):
            parts += [p.text for p in part.paragraphs]
    return "\n".join(parts)


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader
    r = PdfReader(str(path))
    return "\n".join((pg.extract_text() or "") for pg in r.pages)


def notebook_text(path: Path) -> tuple[str, list[str]]:
    """(all readable text of an executed notebook, its error outputs)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    parts, errors = [], []
    for c in nb.get("cells", []):
        src = c.get("source", "")
        parts.append("".join(src) if isinstance(src, list) else src)
        for o in c.get("outputs", []) or []:
            if o.get("output_type") == "error":
                errors.append(f"{o.get('ename')}: {o.get('evalue')}")
            if o.get("output_type") == "stream":
                t = o.get("text", "")
                parts.append("".join(t) if isinstance(t, list) else t)
            for mime, v in (o.get("data") or {}).items():
                if mime.startswith("text/") or mime == "application/json":
                    parts.append("".join(v) if isinstance(v, list) else (v if isinstance(v, str) else json.dumps(v)))
    text = "\n".join(parts)
    return re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", " ", text), errors


def _csv_cells(path: Path) -> list[str]:
    from yibao.data.load import detect_encoding
    df = pd.read_csv(path, dtype=str, encoding=detect_encoding(path), keep_default_na=False, header=None)
    return [str(v) for v in df.to_numpy().ravel() if str(v) != ""]


def _xlsx_cells(path: Path) -> list[str]:
    from openpyxl import load_workbook
    wb = load_workbook(str(path), read_only=True, data_only=True)
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            out += [str(v) for v in row if v is not None and str(v) != ""]
    wb.close()
    return out


def read_output(path: Path) -> ScannedFile:
    s = path.suffix.lower()
    if s in (".html", ".htm"):
        text = parse_html(path).text
        return ScannedFile(path, re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", " ", text))
    if s == ".docx":
        return ScannedFile(path, docx_text(path))
    if s == ".pdf":
        return ScannedFile(path, pdf_text(path))
    if s == ".pptx":
        return ScannedFile(path, pptx_text(path))
    if s == ".csv":
        cells = _csv_cells(path)
        return ScannedFile(path, "\n".join(cells), cells)
    if s == ".xlsx":
        cells = _xlsx_cells(path)
        return ScannedFile(path, "\n".join(cells), cells)
    if s == ".ipynb":
        return ScannedFile(path, notebook_text(path)[0])
    return ScannedFile(path, path.read_text(encoding="utf-8", errors="replace"))


def output_files(pub_dir: Path) -> list[Path]:
    """Every output file of a publication directory that is scanned (review records excluded)."""
    return sorted(p for p in Path(pub_dir).iterdir()
                  if p.is_file() and not p.name.startswith((".", "review")) and p.suffix.lower() in SCANNED_SUFFIXES)
