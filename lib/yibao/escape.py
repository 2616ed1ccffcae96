"""Escaping by format: every string that comes from data is hostile until escaped for where it lands.

One layer, used by every writer (docs/security.md, "Escaping"):

* :func:`markdown_text` — a value as literal Markdown text (table cells, captions, YAML metadata that
  pandoc reads as Markdown). Every character pandoc could read as markup is backslash-escaped, so a
  hospital named ``<script>alert(1)</script> *a* $b$ @c #d`` is text in HTML, DOCX and the Typst PDF
  (pandoc's writers then escape it for their own format).
* :func:`markdown_prose` — prose written by the section functions, which interpolate names, codes and
  free text from data into sentences. Prose keeps exactly the markup the sections write — strong text
  marked with :func:`strong` and the block markers at the start of a line (``#`` headings, ``-`` / ``1.``
  list items, ``>`` quotes) — and escapes every other markup character, wherever it came from: raw HTML,
  ``*`` / ``**`` / ``_`` / ``__`` emphasis, ``~`` / ``~~``, math ``$``, citations ``@``, code spans,
  links, footnotes, subscripts. :func:`strong` marks with a token drawn at random when the process starts
  (letters and digits, which no escaping touches), so no string from data can open or close strong text:
  a hospital named ``A**B**C __d__ ~~e~~`` reads exactly so in HTML, DOCX and PDF.
* :func:`html` — text in HTML we write ourselves (banners, templates).
* :func:`typst` — text inside Typst markup we write ourselves.
* :func:`xlsx_workbook` — every cell of an openpyxl workbook stays text: a string beginning with
  ``= + - @`` is stored as a string (never a formula) and marked with Excel's quote prefix, so editing the
  cell in Excel does not turn it into one either.

pandoc escapes for DOCX and Typst on its own once the Markdown is literal; these functions are what
stands between data and pandoc's Markdown reader.
"""
from __future__ import annotations

import re
import secrets

__all__ = ["markdown_text", "markdown_inline", "markdown_prose", "strong", "plain", "html", "typst",
           "xlsx_workbook", "FORMULA_START"]

# Every ASCII punctuation character may be backslash-escaped in pandoc Markdown; these are the ones
# that can start markup (raw HTML, emphasis, math, citations, code, links, footnotes, sub/superscript,
# tables, headings, entities, line blocks, smart quotes and dashes).
_MD_ACTIVE = set("\\`*_{}[]()<>#+-.!|$@~^&=:'\"")
_LINE_BLOCK = re.compile(r"^(\s{0,3})(#{1,6} |[-*+] |\d{1,3}[.)] |> ?)")
FORMULA_START = ("=", "+", "-", "@")
# strong text in prose: opened and closed by tokens no data can know (drawn once per process)
_TOKEN = secrets.token_hex(8)
_STRONG_OPEN, _STRONG_CLOSE = f"Ystrong{_TOKEN}O", f"Ystrong{_TOKEN}C"
_STRONG_ANY = re.compile(f"{_STRONG_OPEN}|{_STRONG_CLOSE}")


def strong(text) -> str:
    """``text`` as strong (bold) in section prose: what :func:`markdown_prose` writes as ``**text**``. The
    only way prose gets strong text — ``**`` typed in a sentence or coming from data stays literal."""
    return f"{_STRONG_OPEN}{text}{_STRONG_CLOSE}"


def plain(text) -> str:
    """Prose as plain text: the :func:`strong` marks dropped (for places that are not Markdown)."""
    return _STRONG_ANY.sub("", str(text))


def _flatten(s) -> str:
    """One line: data never starts a new Markdown block (a newline then ``# x`` would be a heading)."""
    return plain(s).replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")


def markdown_text(value) -> str:
    """``value`` as literal inline Markdown text: every markup character escaped, newlines flattened."""
    return "".join("\\" + ch if ch in _MD_ACTIVE else ch for ch in _flatten(value))


_INLINE_ACTIVE = set("\\`*_[]<>|$~^#@&")


def markdown_inline(value) -> str:
    """``value`` as literal text in the middle of a line of a Markdown file people also read raw (a table
    cell of review.md or roster.md): the characters that are markup inside a line are escaped, ``.``, ``-``
    and brackets stay readable."""
    return "".join("\\" + ch if ch in _INLINE_ACTIVE else ch for ch in _flatten(value))


def _escape_inline(text: str) -> str:
    """Prose inline text: every markup character escaped, then the :func:`strong` marks become ``**``."""
    out = "".join("\\" + ch if ch in _MD_ACTIVE and ch not in ".-+!=:'\"()" else ch for ch in text)
    return out.replace(_STRONG_OPEN, "**").replace(_STRONG_CLOSE, "**")


def markdown_prose(text: str) -> str:
    """Section prose as Markdown: block markers at line starts and :func:`strong` text are kept, every other
    markup character (from the sentence or from data inside it, ``**`` included) is escaped."""
    lines = []
    for line in str(text).split("\n"):
        m = _LINE_BLOCK.match(line)
        if m:
            lines.append(m.group(0) + _escape_inline(line[m.end():]))
        else:
            lines.append(_escape_inline(line))
    return "\n".join(lines)


def html(value) -> str:
    """``value`` as HTML text (also safe inside a double- or single-quoted attribute)."""
    return (plain(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#x27;"))


_TYPST_ACTIVE = set("\\#$*_`<>@=-+/~[]{}\"'")


def typst(value) -> str:
    """``value`` as literal Typst markup text."""
    return "".join("\\" + ch if ch in _TYPST_ACTIVE else ch for ch in _flatten(value))


def xlsx_workbook(wb) -> None:
    """Make every string cell of an openpyxl workbook text: no formula from data, ever.

    openpyxl stores a string beginning with ``=`` as a formula; this turns such cells back into strings and
    gives every string beginning with ``= + - @`` Excel's quote prefix (the cell shows the text and stays
    text when edited). Call it just before saving."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                v = cell.value
                if not isinstance(v, str):
                    continue
                if cell.data_type == "f":
                    cell.data_type = "s"
                if v.startswith(FORMULA_START):
                    cell.quotePrefix = True
