"""Rendering through a real Quarto in tests, and comparing it with the builtin route section by section.

Quarto is found on PATH, else in the offline kit (``bash ../shared/tools/quarto/install.sh ~/.cache/quarto-kit``,
which ``.ci/run`` installs; ``YIBAO_QUARTO_KIT`` names another place). Without either the tests skip with
that reason — and fail when ``CI`` is set, so CI never passes by skipping them.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import readback

KIT = Path(os.environ.get("YIBAO_QUARTO_KIT", "~/.cache/quarto-kit")).expanduser()
INSTALL = "bash ../shared/tools/quarto/install.sh ~/.cache/quarto-kit"


def quarto_env() -> dict[str, str] | None:
    """Environment variables that put a real Quarto on PATH ({} when it already is); None when absent."""
    if shutil.which("quarto"):
        return {}
    if (KIT / "bin" / "quarto").exists():
        return {"PATH": f"{KIT / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                "TYPST_FONT_PATHS": str(KIT / "fonts"), "QUARTO_PYTHON": str(KIT / "py" / "bin" / "python"),
                "XDG_CACHE_HOME": str(KIT / "cache")}
    return None


def require_quarto() -> dict[str, str]:
    env = quarto_env()
    if env is None:
        reason = f"Quarto is not installed (no quarto on PATH, no kit in {KIT}): {INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(f"CI: {reason}")
        pytest.skip(reason)
    return env


@contextlib.contextmanager
def quarto_on_path():
    env = require_quarto()
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        yield


def render_with_quarto(ipynb: Path, out: Path, formats=("html", "docx", "pdf")) -> dict[str, Path]:
    from yibao.render import engine as render
    with quarto_on_path():
        return render.render(ipynb, formats=formats, engine="quarto", out_dir=out)


# ---- what a reader sees, compared ----------------------------------------------------------------------

NUMBER = re.compile(r"[-+−]?\d[\d,]*(?:\.\d+)?%?")


def headings(ipynb: Path) -> list[str]:
    """The report's headings in order, from the executed notebook (Markdown cells and outputs)."""
    import nbformat
    nb = nbformat.read(str(ipynb), as_version=4)
    out = []
    for c in nb.cells:
        sources = [c.source] if c.cell_type == "markdown" else [
            "".join(o.get("data", {}).get("text/markdown", "")) for o in c.get("outputs", [])
            if ((o.get("metadata") or {}).get("yibao") or {}).get("kind") == "md"]
        for s in sources:
            # as printed: Markdown backslash escapes (\\_ for a literal _) removed
            out += [re.sub(r"\\(.)", r"\1", m.group(1).strip()) for m in re.finditer(r"^#{1,3}\s+(.+)$", s, flags=re.M)]
    return out


def tables(ipynb: Path) -> list[dict]:
    """The tables an executed notebook printed (``Report.table`` outputs: caption, table, note)."""
    import nbformat
    nb = nbformat.read(str(ipynb), as_version=4)
    return [y for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            for y in [(o.get("metadata") or {}).get("yibao") or {}] if y.get("kind") == "table" and y.get("table")]


def table_headers(ipynb: Path) -> list[str]:
    """The header row of every table of the report, flattened (a PDF repeats it on each page a table
    spans, and the two engines break pages at different rows)."""
    out = []
    for y in tables(ipynb):
        row = y["table"].splitlines()[0]
        out.append(readback.flat("".join(h.strip().replace("\\|", "|") for h in row.strip().strip("|").split("|"))))
    return sorted(set(out), key=len, reverse=True)


def sections(text: str, heads: list[str]) -> dict[str, str]:
    """The body split at the headings (the table of contents before the first heading's last
    occurrence is left out); whitespace removed."""
    flat = readback.flat(text)
    flat_heads = [readback.flat(h) for h in heads]
    pos = flat.rfind(flat_heads[0])
    assert pos >= 0, f"heading {heads[0]!r} not found"
    out, starts = {}, []
    for h in flat_heads:
        i = flat.find(h, pos)
        assert i >= 0, f"heading {h!r} missing or out of order"
        starts.append(i)
        pos = i + len(h)
    for k, (h, i) in enumerate(zip(heads, starts)):
        end = starts[k + 1] if k + 1 < len(starts) else len(flat)
        out[h] = flat[i + len(readback.flat(h)):end]
    return out


def numbers(s: str) -> Counter:
    return Counter(n.replace("−", "-").lstrip("+") for n in NUMBER.findall(s))


def compare_sections(a: str, b: str, heads: list[str], headers: list[str] = ()) -> list[str]:
    """Differences between two renderings' sections: the numbers each section prints (table header
    rows left out: a PDF repeats them where a table breaks across pages)."""
    sa, sb = sections(a, heads), sections(b, heads)
    diffs = []
    for h in heads:
        x, y = sa[h], sb[h]
        for row in headers:
            x, y = x.replace(row, ""), y.replace(row, "")
        na, nb = numbers(x), numbers(y)
        if na != nb:
            diffs.append(f"{h}: only builtin {dict(na - nb)}, only quarto {dict(nb - na)}")
    return diffs


def pdf_page_count(path: Path) -> int:
    from pypdf import PdfReader
    return len(PdfReader(str(path)).pages)


def image_count(path: Path) -> int:
    """Charts in a rendered file: <img> in HTML, media in DOCX, image XObjects in PDF."""
    if path.suffix == ".html":
        return len(re.findall(r"<img\b", path.read_text(encoding="utf-8")))
    if path.suffix == ".docx":
        import zipfile
        return sum(1 for n in zipfile.ZipFile(path).namelist() if n.startswith("word/media/"))
    from pypdf import PdfReader
    return sum(len(p.images) for p in PdfReader(str(path)).pages)


def check_quarto_renders(ipynb: Path, builtin_dir: Path | None, out: Path,
                         formats=("html", "docx", "pdf")) -> dict[str, Path]:
    """Render an executed publication through Quarto to every format and read the files back: each has
    the notebook's headings in order, the title and the release date written in Chinese; where the
    builtin route rendered the same notebook (``builtin_dir``), every section prints the same numbers."""
    import nbformat

    from yibao.render.prepare import document_meta
    done = render_with_quarto(ipynb, out, formats)
    meta = document_meta(nbformat.read(str(ipynb), as_version=4))
    heads = headings(ipynb)
    assert heads, f"{ipynb}: no headings"
    for fmt, path in done.items():
        text = reader_text(path)
        assert readback.flat(meta["title"]) in readback.flat(text), f"{path}: title"
        assert readback.flat(meta["date_label"]) in readback.flat(text), f"{path}: date"
        assert "Invalid Date" not in text
        sections(text, heads)  # every heading, in order
        other = (builtin_dir / path.name) if builtin_dir else None
        if other is not None and other.exists():
            base = reader_text(other)
            diffs = compare_sections(base, text, heads, table_headers(ipynb))
            assert not diffs, f"{path.name}: " + "\n".join(diffs)
    return done


def reader_text(path: Path) -> str:
    """A rendered file's text in reading order (DOCX: paragraphs and tables as they come in the body)."""
    return docx_body_text(path) if path.suffix == ".docx" else readback.text(path)


def docx_body_text(path: Path) -> str:
    """A DOCX file's text in reading order: paragraphs and table cells as they come in the body."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    d = docx.Document(str(path))
    parts = []
    for el in d.element.body.iterchildren():
        if el.tag.endswith("}p"):
            parts.append(Paragraph(el, d).text)
        elif el.tag.endswith("}tbl"):
            parts += [c.text for row in Table(el, d).rows for c in row.cells]
    return "\n".join(parts)


def fits_on_a_portrait_page(table_md: str) -> bool:
    """Whether a table can keep every number and every short header (≤ 4 characters) on one line at the
    table type size on A4 portrait: each such column needs its width plus cell margins (a quarter more
    + 4 display units, CJK = 2), each other column at least 6; the text width holds about 100 units. Tables
    with more columns than that (10 columns of amounts) wrap their numbers in any renderer."""
    from yibao.publications.display import _display_width
    lines = table_md.splitlines()
    cols = [[c.strip() for c in line.strip().strip("|").split("|")] for line in [lines[0], *lines[2:]]]
    need = 0.0
    for j in range(len(cols[0])):
        cells = [r[j] for r in cols[1:] if j < len(r)]
        w = max([_display_width(c) for c in cells] or [0])
        head = _display_width(cols[0][j])
        numeric = bool(cells) and all(NUMBER.fullmatch(c) or c in ("—", "-", "") for c in cells)
        short_head = head * 1.25 + 4 if head <= 8 else 0
        if numeric:
            need += max(w * 1.25 + 4, short_head)
        else:  # text wraps, but a short header or short cells (级别) must not
            need += max(6, short_head, w * 1.25 + 4 if w <= 8 else 0)
    return need <= 100
