"""The CJK fonts a self-contained HTML page needs, embedded in it: the page's characters are collected
from its text, the two fonts of the house style (Noto Sans / Serif CJK SC, from ``mplfonts``) are cut
down to exactly those characters with fontTools, and the subsets go into the page as WOFF ``@font-face``
rules (base64 ``data:`` URLs) named ``Yibao Sans`` and ``Yibao Serif``, which ``report.css`` puts first
in its font lists. A reader without any Chinese font sees the same glyphs as one with them.

Used by both routes (``render/builtin.py`` and ``render/quarto.py``) on the finished HTML.
"""
from __future__ import annotations

import base64
import html as htmllib
import io
import re

FAMILIES = ("Yibao Sans", "Yibao Serif")  # in the order of charts.font_files(): sans, serif
MARKER = "yibao-webfonts"


def page_characters(page: str) -> set[str]:
    """Every character a reader can see on the page: the text between tags (scripts, styles and
    ``data:`` URLs left out, entities decoded), attribute text shown by browsers (title, alt) and the
    strings of CSS ``content:`` rules."""
    body = re.sub(r"<(script|style)\b[^>]*>.*?</\1\s*>", " ", page, flags=re.S | re.I)
    body = re.sub(r"<!--.*?-->", " ", body, flags=re.S)
    shown = re.findall(r'\s(?:title|alt|aria-label|placeholder)="([^"]*)"', body)
    text = re.sub(r"<[^>]+>", " ", body)
    css = " ".join(re.findall(r"""content:\s*["']([^"']*)["']""", page))
    chars = set(htmllib.unescape(text + " " + " ".join(shown)) + css)
    return {c for c in chars if c.isprintable() and not c.isspace()}


SANS_ELEMENTS = re.compile(
    r"<(h[1-6]|caption|figcaption|th|strong|b|nav|header)\b[^>]*>(.*?)</\1\s*>"
    r"|<(?:div|p|span)\b[^>]*class=\"[^\"]*(?:confidential|title|subtitle|callout)[^\"]*\"[^>]*>(.*?)</(?:div|p|span)>",
    flags=re.S | re.I)


def sans_characters(page: str) -> set[str]:
    """The characters of the elements report.css sets in the sans font (headings, captions, table heads,
    bold text, the table of contents, the title block, the banner). Any character missed here is still
    drawn: the sans lists end with the serif subset, which holds every character of the page."""
    body = re.sub(r"<(script|style)\b[^>]*>.*?</\1\s*>", " ", page, flags=re.S | re.I)
    parts = [m.group(2) or m.group(3) or "" for m in SANS_ELEMENTS.finditer(body)]
    css = " ".join(re.findall(r"""content:\s*["']([^"']*)["']""", page))
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", " ".join(parts))) + css
    return {c for c in text if c.isprintable() and not c.isspace()}


def subset_woff(font_path, chars: set[str]) -> bytes:
    """``font_path`` cut down to ``chars`` (plus the space), as WOFF (zlib; no brotli needed)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    opts = subset.Options()
    opts.flavor = "woff"
    opts.layout_features = []        # horizontal text only: the OpenType features cost time and bytes
    opts.notdef_outline = True
    opts.hinting = False
    font = TTFont(str(font_path), lazy=True, recalcTimestamp=False)  # the source font's date: same bytes each run
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=sorted({ord(c) for c in chars} | {0x20, 0x3000}))
    sub.subset(font)
    buf = io.BytesIO()
    font.flavor = "woff"
    font.save(buf)
    return buf.getvalue()


def font_face_css(chars: set[str], sans: set[str]) -> str:
    """Two ``@font-face`` rules: Yibao Sans with ``sans`` characters, Yibao Serif with all ``chars``."""
    from yibao.publications.charts import font_files

    rules = []
    for family, path, need in zip(FAMILIES, font_files(), (sans, chars)):
        data = base64.b64encode(subset_woff(path, need)).decode("ascii")
        rules.append(f'@font-face {{ font-family: "{family}"; font-style: normal; font-weight: 400 700; '
                     f'font-display: block; src: url(data:font/woff;base64,{data}) format("woff"); }}')
    return "\n".join(rules)


def embed(page: str) -> str:
    """The page with the CJK font subsets it needs in a ``<style id="yibao-webfonts">`` at the end of
    ``<head>`` (replacing one from an earlier call)."""
    page = re.sub(rf'<style id="{MARKER}">.*?</style>\s*', "", page, flags=re.S)
    style = f'<style id="{MARKER}">\n{font_face_css(page_characters(page), sans_characters(page))}\n</style>\n'
    if re.search(r"</head\s*>", page, flags=re.I):
        return re.sub(r"</head\s*>", lambda m: style + m.group(0), page, count=1, flags=re.I)
    return style + page
