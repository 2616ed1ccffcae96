"""Step 2, the builtin route: the prepared notebook as pandoc Markdown; pandoc (pypandoc-binary) writes
self-contained HTML and a DOCX styled by a reference document; pandoc writes Typst with
``render/resources/report.typst`` and the ``typst`` package compiles the A4 PDF with the CJK fonts of
``mplfonts`` embedded.
"""
from __future__ import annotations

import base64
import datetime as dt
import shutil
import subprocess
from pathlib import Path

from yibao.escape import html as escape_html, markdown_text
from yibao.fsutil import atomic_path, stable_zip
from yibao.render import docx_finish, webfonts
from yibao.render.prepare import RESOURCES, RenderError

SHORT_TABLE_ROWS = 18  # PDF: tables up to this many rows (and no long text) are never split across pages
SHORT_CELL_WIDTH = 48  # … where no cell is wider than this (display width, CJK = 2)


# ---- 2. the builtin route: Markdown → pandoc → HTML / DOCX / Typst → PDF -----------------------

def _raw(fmt: str, text: str) -> str:
    return f"\n```{{={fmt}}}\n{text}\n```\n"


def _note_block(note: str, fmt: str) -> str:
    """A table or figure note ('注：…', '资料来源：…') in small type, not indented."""
    if fmt == "typst":
        return (_raw("typst", "#block(above: 0.5em, below: 1em)[#set text(size: 8.5pt, fill: rgb(\"#444444\")); "
                              "#set par(first-line-indent: 0pt)")
                + f"\n{note}\n" + _raw("typst", "]"))
    if fmt == "docx":
        return f'\n::: {{custom-style="Table Note"}}\n{note}\n:::\n'
    return f"\n::: {{.note}}\n{note}\n:::\n"


def _callout_block(meta: dict, markdown: str, fmt: str) -> str:
    kind, title, body = meta.get("callout", "note"), meta.get("title", "说明"), meta.get("body", "")
    if fmt == "html":
        return f"\n::: {{.callout .callout-{kind}}}\n**{markdown_text(title)}：** {body}\n:::\n"
    if fmt == "docx":
        return f'\n::: {{custom-style="Callout"}}\n**{markdown_text(title)}：** {body}\n:::\n'
    return "\n" + markdown + "\n"


def _short_table(table_md: str) -> bool:
    """A table that surely fits on one page: few rows and no long text cells (a long message wraps
    over many lines, so a short list of findings can still be taller than a page)."""
    from yibao.publications.display import _display_width
    lines = table_md.splitlines()
    if len(lines) > SHORT_TABLE_ROWS + 2:
        return False
    cells = [c for line in lines for c in line.strip().strip("|").split("|")]
    return max((_display_width(c.strip()) for c in cells), default=0) <= SHORT_CELL_WIDTH


WIDE_TABLE_NEED = 120   # display units a table needs (see wide_table) above which it gets a landscape page
LANDSCAPE_START, LANDSCAPE_END = "YibaoLandscapeStart", "YibaoLandscapeEnd"  # DOCX markers (docx_finish)


def wide_table(table_md: str) -> bool:
    """A table too wide for an A4 portrait page (about 100 display units at the table type size): nine or
    more columns whose widest cells (headers counted up to 12 units, as they wrap; cells up to 30) need
    more than WIDE_TABLE_NEED units. It is set on a landscape page in DOCX and PDF."""
    from yibao.publications.display import _display_width
    rows = [line.strip().strip("|").split("|") for line in table_md.strip().splitlines()]
    if len(rows) < 2 or len(rows[0]) < 9:
        return False
    need = 0
    for j, head in enumerate(rows[0]):
        cells = [_display_width(r[j].strip()) for r in rows[2:] if j < len(r)]
        need += max([min(_display_width(head.strip()), 12)] + [min(c, 30) for c in cells]) + 2
    return need > WIDE_TABLE_NEED


def landscape(block: str, fmt: str) -> str:
    """``block`` (a table with its caption and note) on landscape pages: a Typst ``page(flipped: true)``,
    or DOCX marker paragraphs that :mod:`yibao.render.docx_finish` turns into section breaks."""
    if fmt == "typst":
        return _raw("typst", "#page(flipped: true)[") + block + _raw("typst", "]")
    if fmt == "docx":
        marker = '<w:p><w:pPr><w:pStyle w:val="{}"/></w:pPr></w:p>'
        return _raw("openxml", marker.format(LANDSCAPE_START)) + block + _raw("openxml", marker.format(LANDSCAPE_END))
    return block


def to_markdown(nb, fmt: str, assets: Path) -> str:
    """The prepared notebook as one pandoc Markdown document for ``fmt`` (html, docx, typst).
    Images are written to ``assets`` and referenced relative to its parent directory."""
    assets.mkdir(parents=True, exist_ok=True)
    parts: list[str] = []
    n_img = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source.strip() + "\n")
            continue
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            data = out.get("data", {})
            meta = (out.get("metadata") or {}).get("yibao") or {}
            kind = meta.get("kind")
            if kind in ("meta", "figure-caption"):
                continue
            if kind == "table" and meta.get("table"):
                block = f"\n{meta['table']}\n\n: {markdown_text(meta['caption'])}\n"
                if fmt == "typst" and _short_table(meta["table"]):
                    # a short table stays on one page with its caption; long ones break, header repeated
                    block = _raw("typst", "#block(breakable: false, width: 100%)[") + block + _raw("typst", "]")
                if meta.get("note"):
                    block += _note_block(meta["note"], fmt)
                if wide_table(meta["table"]):
                    block = landscape(block, fmt)
                parts.append(block)
            elif "image/png" in data:
                n_img += 1
                png = data["image/png"]
                png = png if isinstance(png, str) else "".join(png)
                name = f"fig-{n_img:03d}.png"
                (assets / name).write_bytes(base64.b64decode(png))
                caption = meta.get("caption") or ""
                width = meta.get("width_pct") or 100
                rel = f"{assets.name}/{name}"
                if caption:
                    parts.append(f"\n![{markdown_text(caption)}]({rel}){{width={width}%}}\n")
                else:  # an image without a caption stays an inline image (no figure)
                    parts.append(f"\n![]({rel}){{width={width}%}}\\\n")
                if meta.get("note"):
                    parts.append(_note_block(meta["note"], fmt))
            elif kind == "callout":
                parts.append(_callout_block(meta, data.get("text/markdown", ""), fmt))
            elif "text/markdown" in data:
                md = data["text/markdown"]
                md = md if isinstance(md, str) else "".join(md)
                if md.strip():
                    parts.append("\n" + md.strip() + "\n")
    return "\n".join(parts).strip() + "\n"


def _pandoc_path() -> str:
    try:
        import pypandoc
        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as exc:  # pragma: no cover - pypandoc-binary is a dependency
        path = shutil.which("pandoc")
        if path:
            return path
        raise RenderError("找不到 pandoc：请安装 pypandoc-binary（make venv 会安装）") from exc


def _pandoc(args: list[str], cwd: Path) -> None:
    proc = subprocess.run([_pandoc_path(), *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"pandoc 失败（{' '.join(args[:1])}）：{proc.stderr.strip()[:800]}")


def _yaml_meta(meta: dict, fmt: str) -> dict:
    """pandoc reads metadata values as Markdown: every value (names from data among them) is escaped."""
    md = markdown_text
    m = {
        "title": md(meta["title"]),
        "lang": "zh-CN",
        "toc-title": "目录",
        "date": md(meta["date_label"]),
        "confidentiality": md(meta["confidentiality"]),
    }
    if meta.get("subtitle"):
        m["subtitle"] = md(meta["subtitle"])
    if meta.get("issuer"):
        m["author"] = [md(meta["issuer"])]
    m["pagetitle"] = md(meta["title"] + (f" · {meta['subtitle']}" if meta.get("subtitle") else ""))
    return m


def _write_meta(path: Path, meta: dict, fmt: str) -> Path:
    import yaml
    path.write_text(yaml.safe_dump(_yaml_meta(meta, fmt), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def render_html(nb, meta: dict, work: Path, target: Path) -> None:
    md = to_markdown(nb, "html", work / "assets-html")
    (work / "html.md").write_text(md, encoding="utf-8")
    _write_meta(work / "html.yaml", meta, "html")
    (work / "banner.html").write_text(
        f'<div class="confidential">{escape_html(meta["confidentiality"])}</div>\n', encoding="utf-8")
    shutil.copy(RESOURCES / "report.css", work / "report.css")
    _pandoc(["html.md", "-f", "markdown-smart", "-t", "html5", "-s", "--embed-resources", "--toc",
             "--toc-depth=2", "--css", "report.css", "--metadata-file", "html.yaml",
             "--include-before-body", "banner.html", "--resource-path", str(work), "-o", "out.html"], work)
    page = webfonts.embed((work / "out.html").read_text(encoding="utf-8"))
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")


def reference_docx(path: Path, meta: dict) -> Path:
    """The DOCX reference document: pandoc's default styles restyled for a Chinese report (宋体/黑体/
    楷体 East-Asian fonts, A4 margins, three-line tables, captions, notes, callouts), with the
    confidentiality line in the header and '— N —' page numbers in the footer."""
    from docx import Document
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    default = path.with_suffix(".default.docx")
    _pandoc(["-o", str(default), "--print-default-data-file", "reference.docx"], path.parent)
    doc = Document(str(default))

    def fonts(style, east: str, latin: str = "Times New Roman", size: float | None = None,
              bold: bool | None = None, color: str | None = "000000"):
        f = style.font
        f.name = latin
        rpr = style.element.get_or_add_rPr()
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is None:
            rfonts = OxmlElement("w:rFonts")
            rpr.insert(0, rfonts)
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            if rfonts.get(qn(attr)) is not None:
                del rfonts.attrib[qn(attr)]
        rfonts.set(qn("w:ascii"), latin)
        rfonts.set(qn("w:hAnsi"), latin)
        rfonts.set(qn("w:eastAsia"), east)
        if size:
            f.size = Pt(size)
        if bold is not None:
            f.bold = bold
        if color:
            f.color.rgb = RGBColor.from_string(color)

    styles = doc.styles

    def style(name: str, kind=WD_STYLE_TYPE.PARAGRAPH, base: str | None = "Normal"):
        try:
            return styles[name]
        except KeyError:
            s = styles.add_style(name, kind)
            if base:
                s.base_style = styles[base]
            return s

    normal = styles["Normal"]
    fonts(normal, "宋体", size=12)
    normal.paragraph_format.line_spacing = 1.35
    normal.paragraph_format.space_after = Pt(4)
    for name in ("Body Text", "First Paragraph"):
        s = style(name)
        fonts(s, "宋体", size=12)
        s.paragraph_format.first_line_indent = Pt(24)  # two characters
        s.paragraph_format.space_before = Pt(0)
        s.paragraph_format.space_after = Pt(4)
    compact = style("Compact")  # table cells: 小五
    fonts(compact, "宋体", size=9)
    compact.paragraph_format.first_line_indent = Pt(0)
    compact.paragraph_format.line_spacing = 1.1
    compact.paragraph_format.space_after = Pt(0)
    title = style("Title")
    fonts(title, "黑体", "Arial", size=24, bold=False)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_before = Pt(150)
    title.paragraph_format.space_after = Pt(18)
    sub = style("Subtitle")
    fonts(sub, "楷体", size=16, bold=False)
    sub.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub.paragraph_format.space_before = Pt(12)
    sub.paragraph_format.space_after = Pt(200)
    # pandoc's Subtitle, Author and Date are based on Title: give each its own spacing, or they inherit
    # the title's 150 pt and the title page spills onto a second page
    for name, size, before in (("Author", 15, 0), ("Date", 14, 8)):
        s = style(name)
        fonts(s, "宋体", size=size)
        s.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        s.paragraph_format.space_before = Pt(before)
        s.paragraph_format.space_after = Pt(0)
    for level, (east, size) in enumerate((("黑体", 16), ("楷体", 14), ("黑体", 12), ("宋体", 12)), start=1):
        s = style(f"Heading {level}")
        fonts(s, east, "Arial", size=size, bold=level in (2,))
        s.paragraph_format.space_before = Pt(14 if level == 1 else 8)
        s.paragraph_format.space_after = Pt(6)
        s.paragraph_format.keep_with_next = True
        s.paragraph_format.first_line_indent = Pt(0)
    toc_h = style("TOC Heading", base="Heading 1")
    fonts(toc_h, "黑体", "Arial", size=16)
    toc_h.paragraph_format.page_break_before = True
    toc_h.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for name in ("Table Caption", "Image Caption"):
        s = style(name)
        fonts(s, "黑体", "Arial", size=10.5, bold=False)
        s.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        s.paragraph_format.first_line_indent = Pt(0)
        s.paragraph_format.space_before = Pt(6)
        s.paragraph_format.space_after = Pt(4)
        s.paragraph_format.keep_with_next = name == "Table Caption"
        s.font.italic = False
    cf = style("Captioned Figure")
    cf.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    cf.paragraph_format.keep_with_next = True
    cf.paragraph_format.first_line_indent = Pt(0)
    note = style("Table Note")
    fonts(note, "宋体", size=9, color="444444")
    note.paragraph_format.first_line_indent = Pt(0)
    note.paragraph_format.space_after = Pt(8)
    note.paragraph_format.line_spacing = 1.15
    callout = style("Callout")
    fonts(callout, "楷体", size=12)
    callout.paragraph_format.first_line_indent = Pt(0)
    callout.paragraph_format.left_indent = Cm(0.6)
    callout.paragraph_format.right_indent = Cm(0.6)
    _border(callout.element.get_or_add_pPr(), "left", sz=18, color="2B5C8A")
    _shade(callout.element.get_or_add_pPr(), "F1F5F9")
    block = style("Block Text")
    fonts(block, "楷体", size=12)
    block.paragraph_format.first_line_indent = Pt(0)
    for name in ("Hyperlink",):
        try:
            styles[name].font.color.rgb = RGBColor.from_string("2B5C8A")
        except KeyError:
            pass

    for level, (east, indent) in enumerate((("黑体", 0), ("宋体", 24)), start=1):
        s = style(f"TOC {level}")  # the table of contents' entries (render/docx_finish.py fills them)
        fonts(s, east, size=12)
        s.paragraph_format.first_line_indent = Pt(0)
        s.paragraph_format.left_indent = Pt(indent)
        s.paragraph_format.space_before = Pt(6 if level == 1 else 0)
        s.paragraph_format.space_after = Pt(2)
    _language(doc, "zh-CN")

    try:
        table = styles["Table"]
        _three_line_table(table.element)
    except KeyError:  # pragma: no cover - pandoc's reference.docx has it
        pass

    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.top_margin, sec.bottom_margin = Cm(2.8), Cm(2.5)
    sec.left_margin, sec.right_margin = Cm(2.7), Cm(2.5)
    sec.header_distance, sec.footer_distance = Cm(1.5), Cm(1.5)
    sec.different_first_page_header_footer = True  # the title page has no header and no number
    header = sec.header
    hp = header.paragraphs[0] if header.paragraphs else header.add_paragraph()
    hp.text = ""
    run = hp.add_run(f"{meta['title']}　｜　{meta['confidentiality']}")
    run.font.size = Pt(9)
    run.font.color.rgb = RGBColor.from_string("555555")
    hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _border(hp._p.get_or_add_pPr(), "bottom", sz=4, color="888888")
    footer = sec.footer
    fp = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
    fp.text = ""
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fp.add_run("— ")
    _page_field(fp)
    fp.add_run(" —")
    for r in fp.runs:
        r.font.size = Pt(10.5)
    doc.save(str(path))
    default.unlink(missing_ok=True)
    return path


def _language(doc, lang: str) -> None:
    """The document's default language (docDefaults): ``lang`` for Latin and East Asian text."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    rpr = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    el = rpr.find(qn("w:lang"))
    if el is None:
        el = OxmlElement("w:lang")
        rpr.append(el)
    el.set(qn("w:val"), lang)
    el.set(qn("w:eastAsia"), lang)
    el.set(qn("w:bidi"), "ar-SA")


def _border(ppr, side: str, sz: int, color: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    pbdr = ppr.find(qn("w:pBdr"))
    if pbdr is None:
        pbdr = OxmlElement("w:pBdr")
        ppr.append(pbdr)
    el = OxmlElement(f"w:{side}")
    el.set(qn("w:val"), "single")
    el.set(qn("w:sz"), str(sz))
    el.set(qn("w:space"), "4")
    el.set(qn("w:color"), color)
    pbdr.append(el)


def _shade(ppr, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    ppr.append(shd)


def _page_field(paragraph) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = paragraph.add_run()
        if kind:
            fc = OxmlElement("w:fldChar")
            fc.set(qn("w:fldCharType"), kind)
            run._r.append(fc)
        elif text.strip() == "PAGE":
            it = OxmlElement("w:instrText")
            it.set(qn("xml:space"), "preserve")
            it.text = text
            run._r.append(it)
        else:
            run.text = text


def _three_line_table(style_el) -> None:
    """三线表: a thick rule above and below the table, a thin one under the header row; full width."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def rule(parent, side, sz, color="000000"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "single" if sz else "nil")
        if sz:
            el.set(qn("w:sz"), str(sz))
            el.set(qn("w:space"), "0")
            el.set(qn("w:color"), color)
        parent.append(el)

    tblpr = style_el.find(qn("w:tblPr"))
    if tblpr is None:
        tblpr = OxmlElement("w:tblPr")
        style_el.append(tblpr)
    for old in tblpr.findall(qn("w:tblBorders")):
        tblpr.remove(old)
    borders = OxmlElement("w:tblBorders")
    rule(borders, "top", 12)
    rule(borders, "left", 0)
    rule(borders, "bottom", 12)
    rule(borders, "right", 0)
    rule(borders, "insideH", 2, "BFBFBF")
    rule(borders, "insideV", 0)
    tblpr.append(borders)
    cell_mar = OxmlElement("w:tblCellMar")
    for side, w in (("left", 80), ("right", 80)):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(w))
        el.set(qn("w:type"), "dxa")
        cell_mar.append(el)
    tblpr.append(cell_mar)
    for old in style_el.findall(qn("w:tblStylePr")):
        if old.get(qn("w:type")) == "firstRow":
            style_el.remove(old)
    first = OxmlElement("w:tblStylePr")
    first.set(qn("w:type"), "firstRow")
    rpr = OxmlElement("w:rPr")
    rfonts = OxmlElement("w:rFonts")
    rfonts.set(qn("w:eastAsia"), "黑体")
    rpr.append(rfonts)
    first.append(rpr)
    tcpr = OxmlElement("w:tcPr")
    tcb = OxmlElement("w:tcBorders")
    rule(tcb, "top", 12)
    rule(tcb, "bottom", 6)
    tcpr.append(tcb)
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), "EEF2F6")
    tcpr.append(shd)
    first.append(tcpr)
    style_el.append(first)


def render_docx(nb, meta: dict, work: Path, target: Path) -> None:
    md = to_markdown(nb, "docx", work / "assets-docx")
    # the table of contents gets its own page (TOC Heading starts a page); the body starts on the next
    md = _raw("openxml", '<w:p><w:r><w:br w:type="page"/></w:r></w:p>') + "\n" + md
    (work / "docx.md").write_text(md, encoding="utf-8")
    _write_meta(work / "docx.yaml", meta, "docx")
    ref = reference_docx(work / "reference.docx", meta)
    _pandoc(["docx.md", "-f", "markdown-smart", "-t", "docx", "--toc", "--toc-depth=2",
             "--reference-doc", str(ref), "--metadata-file", "docx.yaml", "--resource-path", str(work),
             "-o", "out.docx"], work)
    # reproducible: the zip's member dates and the document's created/modified stamps are the release date
    data = stable_zip(docx_finish.finish((work / "out.docx").read_bytes(), meta), _release_date(meta))
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def _release_date(meta: dict) -> str:
    """The document's date (the release date, ``YYYY-MM-DD``) — what every embedded timestamp is set to."""
    text = str(meta.get("date") or "")[:10]
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return "2000-01-01"


def _typst_fonts(work: Path) -> Path:
    """A directory with just the two CJK fonts (links to the mplfonts files)."""
    from yibao.publications.charts import font_files
    d = work / "fonts"
    d.mkdir(exist_ok=True)
    for f in font_files():
        link = d / f.name
        if not link.exists():
            try:
                link.symlink_to(f)
            except OSError:
                shutil.copy(f, link)
    return d


_FONT_SET: dict = {}  # the process's typst.Fonts, by the font files it holds


def _typst_font_set():
    """The CJK fonts (and Typst's embedded ones) as one ``typst.Fonts``, searched and loaded once per process
    and shared by every PDF it compiles — a ``--jobs`` worker builds dozens of 定向推送 packages, and each
    compilation used to search and load the two CJK fonts (37 MB) again. None when the ``typst`` package
    predates ``typst.Fonts`` (< 0.14): the caller then passes the font directory to each compilation."""
    import atexit
    import tempfile

    import typst
    if not hasattr(typst, "Fonts"):
        return None
    from yibao.publications.charts import font_files
    key = tuple(str(f) for f in font_files())
    if key not in _FONT_SET:
        # a directory of this process's own, for the life of the process (Typst reads the files lazily)
        d = _typst_fonts(Path(tempfile.mkdtemp(prefix="yibao-typst-fonts-")))
        atexit.register(shutil.rmtree, d.parent, True)
        _FONT_SET.clear()
        _FONT_SET[key] = typst.Fonts(include_system_fonts=False, include_embedded_fonts=True, font_paths=[str(d)])
    return _FONT_SET[key]


def render_pdf(nb, meta: dict, work: Path, target: Path) -> None:
    import typst

    md = to_markdown(nb, "typst", work / "assets-pdf")
    (work / "pdf.md").write_text(md, encoding="utf-8")
    _write_meta(work / "pdf.yaml", meta, "typst")
    shutil.copy(RESOURCES / "report.typst", work / "report.typst")
    shutil.copy(RESOURCES / "yibao.typ", work / "yibao.typ")
    _pandoc(["pdf.md", "-f", "markdown-smart", "-t", "typst", "-s", "--template", "report.typst",
             "--toc", "--toc-depth=2", "--metadata-file", "pdf.yaml", "-o", "report.typ"], work)
    try:
        # reproducible: the PDF's creation date is the release date, not the clock
        y, m, d = (int(x) for x in _release_date(meta).split("-"))
        when = dt.datetime(y, m, d, tzinfo=dt.timezone.utc)
        font_set = _typst_font_set()
        if font_set is not None:  # the process's fonts, loaded once (same bytes as loading them each time)
            typst.Compiler(root=str(work), font_paths=font_set).compile(
                input=str(work / "report.typ"), output=str(work / "out.pdf"), timestamp=when)
        else:
            typst.compile(str(work / "report.typ"), output=str(work / "out.pdf"), root=str(work),
                          font_paths=[str(_typst_fonts(work))], ignore_system_fonts=True, timestamp=when)
    except Exception as exc:  # typst reports source errors as one exception
        raise RenderError(f"Typst 排版失败：{str(exc)[:800]}") from exc
    with atomic_path(target) as tmp:
        shutil.copy(work / "out.pdf", tmp)
