"""What notebooks call to put report content on the page (DESIGN.md, "Choices").

Every call emits IPython display data, so the same executed notebook reads well in JupyterLab and
renders through both engines (``yibao.render``: Quarto, or pandoc + Typst)::

    from yibao.display import Report
    rep = Report()
    rep.md("本季度统筹基金收入……")                        # prose (Markdown)
    rep.table(df, "基金收入情况", note="资料来源：……")     # 表1 + a real table + 注：……
    rep.figure(fig, "近24个月基金支出趋势")                # 图1 + the chart as PNG
    rep.callout("居民医保按年缴费，收入集中在一季度。")   # a boxed remark

Tables and prose are ``text/markdown`` outputs (pandoc and Quarto both turn them into real tables in
HTML, DOCX and PDF). The cells are shown exactly as the caller formatted them (use :mod:`yibao.fmt`);
this module only escapes Markdown, right-aligns numeric-looking columns and picks relative column
widths so that wide tables wrap inside the page.

Each output also carries ``metadata["yibao"]`` (kind, number, caption, note, the bare table …):
``yibao.render`` uses it to turn the JupyterLab-friendly form (bold caption line above the table)
into real captions in every format, numbered 表1, 表2 …, 图1 … in the order the notebook emits them.
"""
from __future__ import annotations

import base64
import inspect
import io
import math
import re
import struct
import unicodedata
from typing import Any, Mapping, Sequence

from yibao.escape import markdown_inline, markdown_prose

__all__ = ["Report", "markdown_table", "escape_cell", "is_numeric_text", "CALLOUT_TITLES"]

# Relative column widths are written into the table (pandoc's pipe-table rule: when a line is longer
# than ``--columns``, the dashes of the separator line give the relative widths and cells wrap).
WIDE_TABLE = 64          # display width (CJK = 2) above which a table takes the full text width
TABLE_TEXT_UNITS = 100   # display units across the A4 portrait text width at the table type size
SHORT_TEXT = 10          # text cells up to this display width (级别 基层/无等级, 超支31.74) never wrap
_PANDOC_COLUMNS = 72     # pandoc's default --columns
FIGURE_DPI = 200
TEXT_WIDTH_IN = 6.3      # A4 text width of the PDF/DOCX layouts (16 cm)

CALLOUT_TITLES = {"note": "说明", "tip": "提示", "warning": "注意", "important": "重要", "caution": "提醒"}

_NUMERIC = re.compile(
    r"^[+\-−±]?\s*[¥￥]?\s*(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?"
    r"\s*(%|‰|‱|pp|个百分点|百分点|倍|元|万元|亿元|万|亿|天|日|人次|人|个|张|家|例|次|岁|分|点)?$"
)
_MISSING = {"", "—", "–", "-", "--", "——", "…", "NA", "N/A", "nan", "NaN", "None", "*", "＊", "/", "－"}
# a withheld count ("<5", publications/disclosure.py) stands in a numeric column: it neither makes the column
# text (left-aligned, its header given a text column's share of the width) nor counts as a number
_WITHHELD = re.compile(r"^[<＜]\s*\d+$")


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def is_numeric_text(text: Any) -> bool:
    """True for cells that read as numbers: '1,234.56', '12.30%', '-3.1', '+2.5个百分点', '1.02倍'."""
    s = str(text).strip()
    if not s or s in _MISSING:
        return False
    return bool(_NUMERIC.match(s)) and any(ch.isdigit() for ch in s)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        import pandas as pd
        if value is pd.NA or value is pd.NaT:
            return True
    except Exception:  # pragma: no cover - pandas is a dependency
        pass
    return False


def escape_cell(value: Any) -> str:
    """A value as literal Markdown text for a pipe-table cell or a caption (missing values show as '—');
    :func:`yibao.escape.markdown_inline`."""
    if _is_missing(value):
        return "—"
    return markdown_inline(str(value).strip())


def _escape_prose(text: str) -> str:
    """Prose keeps ``**strong**`` and its block markers; every other markup character — including any in
    the names, codes and free text the sentence interpolates — is escaped (:func:`yibao.escape.markdown_prose`)."""
    return closable_bold(markdown_prose(text))


_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


def _punct(ch: str) -> bool:
    """CommonMark's Unicode punctuation (general categories P and S)."""
    return unicodedata.category(ch)[0] in "PS"


def _flank_ok(ch: str) -> bool:
    """A neighbour that lets a ``**`` next to punctuation open or close: none, whitespace or punctuation."""
    return not ch or ch.isspace() or _punct(ch)


def closable_bold(text: str) -> str:
    """``**…**`` runs that CommonMark (JupyterLab, markdown-it) would leave as literal asterisks, rewritten
    so they close: a run ending in punctuation and followed by a letter or CJK character
    (``**数据安全。**报告…``) gets that punctuation after it (``**数据安全**。报告…``); one starting with
    punctuation after such a character (``的**（注）**``) gets it before. pandoc reads both forms alike."""
    def fix(m: re.Match) -> str:
        inner = m.group(1)
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        lead = trail = ""
        if not _flank_ok(after):
            while inner and _punct(inner[-1]) and not inner.endswith("\\" + inner[-1]):
                trail = inner[-1] + trail
                inner = inner[:-1]
        if not _flank_ok(before):
            while inner and _punct(inner[0]) and inner[0] != "\\":
                lead += inner[0]
                inner = inner[1:]
        if not inner.strip() or inner != inner.strip():
            return m.group(0)
        return f"{lead}**{inner}**{trail}"
    return _BOLD.sub(fix, text)


def _norm_align(align, columns: Sequence[str], numeric: Sequence[bool]) -> list[str]:
    auto = ["right" if n else "left" for n in numeric]
    if align is None:
        return auto
    names = {"l": "left", "r": "right", "c": "center", "left": "left", "right": "right", "center": "center",
             "centre": "center", "d": "default", "default": "default"}
    if isinstance(align, Mapping):
        out = list(auto)
        for key, val in align.items():
            idx = key if isinstance(key, int) else list(columns).index(str(key))
            out[idx] = names[str(val).lower()]
        return out
    if isinstance(align, str) and len(align) == len(columns) and all(c in "lrcd" for c in align.lower()):
        return [names[c] for c in align.lower()]
    if isinstance(align, str):
        return [names[align.lower()]] * len(columns)
    seq = list(align)
    if len(seq) != len(columns):
        raise ValueError(f"align has {len(seq)} entries for {len(columns)} columns")
    return [names[str(a).lower()] for a in seq]


def _cell_need(width: int) -> float:
    """Display units a cell of ``width`` needs to stay on one line in Word, LibreOffice and Typst: a quarter
    more for wider Latin fallback fonts, and 4 for the cell margins."""
    return width * 1.25 + 4


def markdown_table(df, index: bool = False, align=None) -> tuple[str, list[str]]:
    """A pandas DataFrame as a pandoc/CommonMark pipe table; returns (markdown, alignments).

    Cells are printed as given (``str``), escaped; numeric-looking columns are right-aligned.
    Wide tables get relative column widths (from the cell lengths) so that they span the text width
    and wrap instead of running off the page.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(df)
    if index:
        df = df.reset_index()
    if isinstance(df.columns, pd.MultiIndex):
        cols = [" / ".join(str(p) for p in c if str(p) and not str(p).startswith("Unnamed")) for c in df.columns]
    else:
        cols = [str(c) for c in df.columns]
    if not cols:
        raise ValueError("table has no columns")
    rows = [[escape_cell(v) for v in rec] for rec in df.itertuples(index=False, name=None)]
    raw = [[("" if _is_missing(v) else str(v).strip()) for v in rec] for rec in df.itertuples(index=False, name=None)]
    numeric = []
    for j in range(len(cols)):
        vals = [r[j] for r in raw if r[j] not in _MISSING and not _WITHHELD.match(r[j])]
        numeric.append(bool(vals) and all(is_numeric_text(v) for v in vals))
    aligns = _norm_align(align, cols, numeric)
    head = [escape_cell(c) for c in cols]

    # natural widths: the longest cell; a header may wrap onto two lines
    widths = []
    for j, h in enumerate(head):
        cell_w = max([_display_width(r[j]) for r in rows] or [1])
        head_w = _display_width(h)
        widths.append(max(4, min(44, max(cell_w, min(head_w, max(8, (head_w + 1) // 2))))))
    total = sum(widths) + 3 * len(widths) + 1
    wide = total > WIDE_TABLE
    if wide:
        # Numbers and short headers / short cells (级别, 比较级别) must never wrap: such a column first
        # gets what it needs at the table type size — its width plus cell margins (_cell_need), for
        # Word's and LibreOffice's wider cell margins and Latin fallback fonts (a DOCX
        # opened in LibreOffice broke "1,369.70" after "1,369.7") — and text columns (names) share the
        # rest of the ~100 units an A4 portrait text width holds, and wrap. Where the needs alone exceed
        # the page, every column is scaled from its width plus padding.
        page = TABLE_TEXT_UNITS
        unbreakable = [all(v.isascii() and " " not in v for v in (r[j] for r in raw) if v) for j in range(len(cols))]
        need = []
        for j, (w, num) in enumerate(zip(widths, numeric)):
            head_w = _display_width(head[j])
            short_head = _cell_need(head_w) if head_w <= 8 else 0
            if num:
                need.append(max(_cell_need(w), short_head))
            else:  # codes (J18.9-0001) have no break point: like short text, they need their width
                need.append(max(6, short_head, _cell_need(w) if w <= SHORT_TEXT or unbreakable[j] else 0))
        free = [j for j, (w, num) in enumerate(zip(widths, numeric))
                if not num and w > SHORT_TEXT and not unbreakable[j]]
        if sum(need) <= page and free:
            extra = page - sum(need)
            weight = sum(widths[j] for j in free)
            share = [n + (extra * widths[j] / weight if j in free else 0) for j, n in enumerate(need)]
        elif sum(need) <= page:
            share = [n * page / sum(need) for n in need]
        else:
            # short text (级别: 基层/无等级) keeps the padding of numbers: only long text (names) wraps
            share = [w + (7 if num or unbreakable[j] or w <= SHORT_TEXT else 3)
                     for j, (w, num) in enumerate(zip(widths, numeric))]
        budget = 120
        dashes = [max(3, round(budget * x / sum(share))) for x in share]
        if sum(dashes) + 3 * len(dashes) + 1 <= _PANDOC_COLUMNS:  # make sure pandoc sees a wide table
            dashes = [d + (_PANDOC_COLUMNS // len(dashes)) for d in dashes]
    else:
        dashes = [max(3, w) for w in widths]
    # a narrow table must not trip pandoc's "line longer than --columns" rule by accident: then the
    # dashes (proportional to the natural widths) still give sensible relative widths.

    def sep(a: str, n: int) -> str:
        n = max(n, 3)
        if a == "left":
            return ":" + "-" * (n - 1)
        if a == "right":
            return "-" * (n - 1) + ":"
        if a == "center":
            return ":" + "-" * (n - 2) + ":"
        return "-" * n

    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(sep(a, d) for a, d in zip(aligns, dashes)) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(c if c else " " for c in r) + " |")
    return "\n".join(lines), aligns


def _png_size(data: bytes) -> tuple[int, int, float | None]:
    """(width px, height px, dpi or None) of a PNG."""
    w, h = struct.unpack(">II", data[16:24])
    dpi = None
    pos = 8
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        if ctype == b"pHYs" and length >= 9:
            ppux, _ppuy, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            if unit == 1 and ppux:
                dpi = ppux * 0.0254
            break
        if ctype == b"IDAT":
            break
        pos += 12 + length
    return w, h, dpi


def _clean(text: str) -> str:
    return inspect.cleandoc(str(text)).strip()


class Report:
    """Per-notebook report content with its own numbering of tables (表N) and figures (图N).

    ``rep.table`` and ``rep.figure`` return the number they used, so prose can refer to it
    (``f"见表{n}"``).
    """

    def __init__(self) -> None:
        self.n_table = 0
        self.n_figure = 0
        self.items: list[dict] = []

    # -- emitting -------------------------------------------------------------------------------
    @staticmethod
    def _emit(data: dict, meta: dict, extra_metadata: dict | None = None) -> None:
        from IPython.display import display

        metadata = {"yibao": meta}
        if extra_metadata:
            metadata.update(extra_metadata)
        display(data, raw=True, metadata=metadata)

    # -- API ------------------------------------------------------------------------------------
    def md(self, text: str) -> None:
        """Prose, headings, lists (Markdown) as a ``text/markdown`` output."""
        body = _escape_prose(_clean(text))
        self.items.append({"kind": "md", "markdown": body})
        self._emit({"text/markdown": body, "text/plain": body}, {"kind": "md"})

    def table(self, df, caption: str, note: str | None = None, index: bool = False, align=None) -> int:
        """'表N caption' + a Markdown pipe table (+ '注：note'); returns N.

        ``df`` holds display strings (format numbers with :mod:`yibao.fmt` first); ``align`` is
        None (numeric-looking columns right, others left), 'lrr…', a list of left/right/center
        or a {column: align} dict.
        """
        self.n_table += 1
        n = self.n_table
        label = f"表{n} {_clean(caption)}"
        table_md, aligns = markdown_table(df, index=index, align=align)
        note_md = _note(note)
        lab_md = f"**{escape_cell(label)}**\n\n{table_md}\n" + (f"\n{note_md}\n" if note_md else "")
        meta = {"kind": "table", "number": n, "caption": label, "table": table_md,
                "note": note_md or None, "align": aligns}
        self.items.append(dict(meta, markdown=lab_md))
        self._emit({"text/markdown": lab_md, "text/plain": label}, meta)
        return n

    def figure(self, fig, caption: str, note: str | None = None, dpi: int = FIGURE_DPI,
               slide: str | None = None) -> int:
        """'图N caption' + the matplotlib figure as a PNG (dpi 200), then the figure is closed; returns N.
        ``slide``: the figure also goes on the 发布会 deck, on a slide with this (short) title."""
        import matplotlib.pyplot as plt

        self.n_figure += 1
        n = self.n_figure
        label = f"图{n} {_clean(caption)}"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
        plt.close(fig)
        png = buf.getvalue()
        w, h, real_dpi = _png_size(png)
        width_in = w / (real_dpi or dpi)
        width_pct = int(min(100, round(100 * width_in / TEXT_WIDTH_IN)))
        note_md = _note(note)
        meta = {"kind": "figure", "number": n, "caption": label, "note": note_md or None,
                "width_pct": width_pct}
        if slide:
            meta["slide"] = _clean(slide)
        self.items.append(dict(meta, png=len(png)))
        b64 = base64.b64encode(png).decode("ascii")
        # the image (JupyterLab shows it at a screen size), then its caption line
        self._emit({"image/png": b64, "text/plain": f"<{label}>"}, meta,
                   {"image/png": {"width": min(w, int(width_in * 110))}})
        cap_md = f"**{escape_cell(label)}**" + (f"\n\n{note_md}" if note_md else "")
        self._emit({"text/markdown": cap_md, "text/plain": label}, {"kind": "figure-caption", "number": n})
        return n

    def callout(self, text: str, kind: str = "note", title: str | None = None) -> None:
        """A boxed remark (kind: note, tip, warning, important, caution)."""
        if kind not in CALLOUT_TITLES:
            raise ValueError(f"callout kind must be one of {sorted(CALLOUT_TITLES)}")
        title = title or CALLOUT_TITLES[kind]
        body = _escape_prose(_clean(text))
        quoted = "\n".join("> " + line if line else ">" for line in f"**{title}：** {body}".splitlines())
        meta = {"kind": "callout", "callout": kind, "title": title, "body": body}
        self.items.append(dict(meta))
        self._emit({"text/markdown": quoted, "text/plain": body}, meta)

    def deck(self, part: str, **data: Any) -> None:
        """Content for the 发布会 deck (``yibao render --to pptx``), not for the report: an output with no
        visible text whose metadata carries ``part`` (``key``: a group of key figures, ``explain``: the
        named institutions, ``next``: 下一步) and its data (plain strings; the renderer escapes them)."""
        self.items.append({"kind": "deck", "part": part})
        self._emit({"text/markdown": "", "text/plain": ""}, {"kind": "deck", "part": part, "data": data})

    def meta(self, **fields: Any) -> None:
        """Report metadata from inside the notebook (title, subtitle, region_name, period_label,
        issuer, date, confidentiality, kind). Keys set in ``nb.metadata["yibao"]`` (the batch) win."""
        clean = {k: ("" if v is None else str(v)) for k, v in fields.items()}
        self._emit({"text/markdown": "", "text/plain": ""}, {"kind": "meta", "meta": clean})


def _note(note: str | None) -> str:
    if not note:
        return ""
    text = _escape_prose(_clean(note))
    if not text.startswith(("注：", "注:", "资料来源", "数据来源", "说明：")):
        text = "注：" + text
    return text

