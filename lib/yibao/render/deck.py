"""The 发布会 deck (``--to pptx``): slides for the face-to-face release (handbook 四(二), 六) from the SAME
executed notebook as the report — never re-executed.

What goes on the slides is what the notebook's sections emitted for it (:mod:`yibao.publications.deck`):
``Report.deck`` outputs (key figures of 钱 / 效 / 错, the named institutions, 下一步) and the figures marked
``slide=…``. They become one pandoc Markdown slide show (:func:`deck_markdown`), written to PPTX by pandoc
with a reference deck (builtin route) or by Quarto's ``pptx`` format (Quarto route), then finished the same
way for both (:func:`finish`): the confidentiality line and slide number on every slide, key figures as large
numbers, table type sizes and column widths, East Asian font and language zh-CN on every run, document
properties, reproducible zip.
"""
from __future__ import annotations

import base64
import subprocess
import unicodedata
from pathlib import Path

from yibao.escape import markdown_text
from yibao.fsutil import atomic_path, stable_zip
from yibao.render.prepare import RenderError

# Fonts: the East Asian face Windows' PowerPoint and WPS have (微软雅黑), with GB2312 charset and panose so that
# an Office without it substitutes a Chinese sans face (黑体), and language zh-CN so that LibreOffice's
# fontconfig fallback picks Noto Sans CJK SC (not JP); Latin text in Arial.
EA_FONT = "微软雅黑"
EA_FALLBACKS = ("微软雅黑", "黑体", "Noto Sans CJK SC")  # documented order (docs/render.md)
EA_PANOSE, EA_CHARSET, EA_PITCH = "020B0503020204020204", "-122", "34"
LATIN_FONT = "Arial"
LANG = "zh-CN"

# Geometry of pandoc's 16:9 reference deck (10 in × 5.625 in), in inches
SLIDE_W, SLIDE_H = 10.0, 5.625
BODY_TOP, BODY_BOTTOM = 1.2, 5.0          # the content placeholder
BODY_W = 9.0
FOOTER_TOP, FOOTER_H = 5.18, 0.3          # the confidentiality line
TABLE_PT, KEY_PT, KEY_LABEL_PT, KEY_NOTE_PT = 12, 30, 14, 11
EXPLAIN_COLS = (2.6, 5.5, 0.9)            # 机构名称 | 需说明事项 | 线索条数 (inches, sum = BODY_W)
BULLET_PT = 16
TITLE_PT = 28
LINE_HEIGHT = 1.45                        # Noto Sans CJK / 微软雅黑 line height, in em


# ---- 1. what the notebook emitted for the deck ----------------------------------------------------------

def deck_content(nb) -> dict:
    """The deck parts of an executed notebook: ``key`` (list of groups), ``explain`` and ``next`` (dicts
    or None), ``figures`` (slide title, caption, note, PNG bytes) in notebook order."""
    out = {"key": [], "explain": None, "next": None, "figures": []}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            y = (o.get("metadata") or {}).get("yibao") or {}
            if y.get("kind") == "deck":
                data = y.get("data") or {}
                if y.get("part") == "key":
                    out["key"].append(data)
                elif y.get("part") in ("explain", "next"):
                    out[y["part"]] = data
            elif y.get("kind") == "figure" and y.get("slide") and "image/png" in (o.get("data") or {}):
                png = o["data"]["image/png"]
                png = png if isinstance(png, str) else "".join(png)
                out["figures"].append({"title": y["slide"], "caption": y.get("caption") or "",
                                       "note": y.get("note") or "", "png": base64.b64decode(png)})
    if not out["key"] and not out["figures"]:
        raise RenderError("该笔记本没有发布会幻灯片内容（Report.deck / Report.figure(slide=…)）：目前季发布（quarterly）提供 pptx")
    return out


# ---- 2. the slide show as pandoc Markdown ---------------------------------------------------------------

def _width(text: str) -> float:
    """Display width in em (CJK and full-width = 1, other characters ≈ 0.62 — bold digits, and the space
    LibreOffice and Office put between CJK and Latin characters)."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.62 for ch in str(text))


def text_lines(text: str, width_in: float, pt: float) -> int:
    """Lines a text needs in a box ``width_in`` wide at ``pt`` (CJK glyphs are 1 em wide)."""
    per_line = max(1.0, width_in * 72 / pt)
    return max(1, int(-(-_width(text) // per_line)))


def _row_height(cells: list[str], widths=EXPLAIN_COLS, pt: float = TABLE_PT) -> float:
    """Height (in) of a table row: the tallest cell, each cell's text inside its margins (0.1 in a side)."""
    lines = max(text_lines(c, w - 0.2, pt) for c, w in zip(cells, widths))
    return lines * pt * LINE_HEIGHT / 72 + 0.14


def _cell(text) -> str:
    return markdown_text(text) if str(text).strip() else " "


def _slide(title: str, body: str) -> str:
    return f"## {markdown_text(title)}\n\n{body.strip()}\n"


def _key_slide(group: dict) -> str:
    figs = group.get("figures") or []
    head = "| " + " | ".join(_cell(f["label"]) for f in figs) + " |"
    sep = "|" + "|".join(":---:" for _ in figs) + "|"
    vals = "| " + " | ".join(_cell(f["value"]) for f in figs) + " |"
    notes = "| " + " | ".join(_cell(f.get("note") or "") for f in figs) + " |"
    return _slide(group["title"], "\n".join([head, sep, vals, notes]))


def _figure_slide(fig: dict, name: str) -> str:
    return _slide(fig["title"], f"![]({name})")


def _explain_slides(ex: dict) -> list[str]:
    """The named institutions and what each must explain, by the deadline; as many slides as the rows need."""
    header = ["机构名称", "需说明事项", "线索条数"]
    rows = [[r["name"], "；".join(r.get("topics") or []), str(r.get("count", ""))] for r in ex.get("rows") or []]
    title = f"请以下机构于{ex['due']}前提交书面说明"
    room = BODY_BOTTOM - BODY_TOP - _row_height(header) - 0.1
    chunks, cur, used = [], [], 0.0
    for r in rows:
        h = _row_height(r)
        if cur and used + h > room:
            chunks.append(cur)
            cur, used = [], 0.0
        cur.append(r)
        used += h
    if cur:
        chunks.append(cur)
    out = []
    for i, chunk in enumerate(chunks):
        lines = ["| " + " | ".join(header) + " |", "|:---|:---|---:|"]
        lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in chunk]
        t = title + (f"（续{i}）" if i else "")
        out.append(_slide(t, "\n".join(lines)))
    return out


def _next_slides(nx: dict) -> list[str]:
    """下一步 with dates: a numbered list, split over slides when it would run below the body."""
    items = []
    for it in nx.get("items") or []:
        head = markdown_text(it.get("title") or "")
        date = markdown_text(it.get("date") or "")
        lead = (f"**{head}**" + (f"（{date}）" if date else "") + "：") if head else (f"（{date}）" if date else "")
        items.append((lead + markdown_text(it.get("text") or ""),
                      _width((it.get("title") or "") + (it.get("date") or "") + (it.get("text") or "")) + 4))
    room = BODY_BOTTOM - BODY_TOP - 0.1
    chunks, cur, used = [], [], 0.0
    for md, w in items:
        h = text_lines("字" * int(w + 0.5), BODY_W - 0.6, BULLET_PT) * BULLET_PT * LINE_HEIGHT / 72 + 0.12
        if cur and used + h > room:
            chunks.append(cur)
            cur, used = [], 0.0
        cur.append(md)
        used += h
    if cur:
        chunks.append(cur)
    out, n = [], 1
    for i, chunk in enumerate(chunks):
        body = "\n".join(f"{n + j}. {md}" for j, md in enumerate(chunk))
        n += len(chunk)
        out.append(_slide("下一步工作安排" + (f"（续{i}）" if i else ""), body))
    return out


def deck_markdown(content: dict, assets: Path) -> str:
    """The deck as pandoc Markdown slides (slide level 2), figures written to ``assets``: per group of key
    figures (钱 / 效 / 错) its slide, then the charts whose slide title starts with the group ('钱：…'); the
    charts of no group; the named institutions; 下一步."""
    assets.mkdir(parents=True, exist_ok=True)
    figs = list(content["figures"])
    names = {}
    for i, f in enumerate(figs, start=1):
        name = f"slide-fig-{i:02d}.png"
        (assets / name).write_bytes(f["png"])
        names[id(f)] = f"{assets.name}/{name}"
    slides = []
    used = set()
    for g in content["key"]:
        slides.append(_key_slide(g))
        for f in figs:
            if id(f) not in used and str(f["title"]).startswith(f"{g['group']}："):
                slides.append(_figure_slide(f, names[id(f)]))
                used.add(id(f))
    slides += [_figure_slide(f, names[id(f)]) for f in figs if id(f) not in used]
    if content.get("explain") and content["explain"].get("rows"):
        slides += _explain_slides(content["explain"])
    if content.get("next"):
        slides += _next_slides(content["next"])
    return "\n".join(slides)


def deck_meta(meta: dict) -> dict:
    """The title slide (pandoc / Quarto front matter, Markdown-escaped): title, region and period, the working
    group, the release date."""
    md = markdown_text
    period = meta.get("period_label") or meta.get("subtitle") or ""
    region = meta.get("region_name") or ""
    sub = "　".join(x for x in (f"{region}{period}" if region and region not in str(period) else period,
                                "面对面数据发布") if x)
    m = {"title": md(meta["title"]), "subtitle": md(sub), "lang": LANG, "date": md(meta["date_label"])}
    if meta.get("issuer"):
        m["author"] = [md(meta["issuer"])]
    return m


# ---- 3. the reference deck -----------------------------------------------------------------------------

def _pandoc_path() -> str:
    from yibao.render.builtin import _pandoc_path as path
    return path()


def reference_pptx(path: Path) -> Path:
    """pandoc's default reference deck (16:9) restyled for a Chinese deck: 微软雅黑 / Arial in the theme
    (with a Hans script font), master text styles in zh-CN with sizes that fit, a dark-blue title, the body
    placeholder ending above the confidentiality line."""
    from pptx import Presentation
    from pptx.enum.shapes import PP_PLACEHOLDER
    from pptx.enum.text import PP_ALIGN
    from pptx.oxml.ns import qn
    from pptx.util import Inches

    default = path.with_suffix(".default.pptx")
    proc = subprocess.run([_pandoc_path(), "-o", str(default), "--print-default-data-file", "reference.pptx"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"pandoc 无法给出默认的 reference.pptx：{proc.stderr.strip()[:400]}")
    prs = Presentation(str(default))
    master = prs.slide_master
    # theme fonts: every East Asian run without its own font uses 微软雅黑
    theme_part = next(p for p in master.part.package.iter_parts() if p.partname.endswith("/theme1.xml"))
    from lxml import etree
    theme = etree.fromstring(theme_part.blob)
    for kind in ("majorFont", "minorFont"):
        font = theme.find(f".//{qn('a:' + kind)}")
        if font is None:
            continue
        font.find(qn("a:latin")).set("typeface", LATIN_FONT)
        ea = font.find(qn("a:ea"))
        for k, v in (("typeface", EA_FONT), ("panose", EA_PANOSE), ("charset", EA_CHARSET),
                     ("pitchFamily", EA_PITCH)):
            ea.set(k, v)
        for f in font.findall(qn("a:font")):
            if f.get("script") in ("Hans", "Hant"):
                font.remove(f)
        hans = etree.SubElement(font, qn("a:font"))
        hans.set("script", "Hans")
        hans.set("typeface", EA_FONT)
    theme_part._blob = etree.tostring(theme, xml_declaration=True, encoding="UTF-8", standalone=True)
    # master text styles: language, sizes, colour
    tx = master.element.find(qn("p:txStyles"))
    sizes = {"p:titleStyle": [28], "p:bodyStyle": [BULLET_PT, 14, 13, 12, 12], "p:otherStyle": [TABLE_PT]}
    for tag, pts in sizes.items():
        st = tx.find(qn(tag))
        for lvl in range(1, 10):
            ppr = st.find(qn(f"a:lvl{lvl}pPr"))
            if ppr is None:
                continue
            d = ppr.find(qn("a:defRPr"))
            if d is None:
                d = etree.SubElement(ppr, qn("a:defRPr"))
            d.set("lang", LANG)
            d.set("altLang", "en-US")
            d.set("sz", str(int(pts[min(lvl - 1, len(pts) - 1)] * 100)))
    # text without a language of its own (typed into the deck in PowerPoint or WPS) is Chinese too: the default
    # paragraph styles of the master and of the presentation (pandoc's say en-US)
    for d in [*tx.iter(qn("a:defRPr")), *prs.element.find(qn("p:defaultTextStyle")).iter(qn("a:defRPr"))]:
        d.set("lang", LANG)
    # the title and body boxes (every edge set: a placeholder given only its top would get zero width)
    title_box = (Inches((SLIDE_W - BODY_W) / 2), Inches(0.2), Inches(BODY_W), Inches(0.85))
    body_box = (Inches((SLIDE_W - BODY_W) / 2), Inches(BODY_TOP), Inches(BODY_W), Inches(BODY_BOTTOM - BODY_TOP))
    boxes = [(sh, title_box if sh.name.startswith("Title") else body_box) for sh in master.placeholders
             if sh.name.startswith(("Title", "Text"))]
    for layout in prs.slide_layouts:
        if layout.name == "Title and Content":
            boxes += [(sh, title_box if sh.name.startswith("Title") else body_box) for sh in layout.placeholders
                      if sh.name.startswith(("Title", "Content"))]
    for sh, (left, top, width, height) in boxes:
        sh.left, sh.top, sh.width, sh.height = left, top, width, height
    for layout in prs.slide_layouts:  # no footer / slide-number placeholders: finish() writes the foot
        for sh in list(layout.placeholders):
            kind = sh.placeholder_format.type
            if layout.name == "Title Slide" and kind == PP_PLACEHOLDER.DATE:  # the release date, under the group
                sh.left, sh.top, sh.width, sh.height = Inches(1.5), Inches(4.3), Inches(SLIDE_W - 3.0), Inches(0.4)
                for p in sh.text_frame.paragraphs:
                    p.alignment = PP_ALIGN.CENTER
                _center_placeholder(sh)
            elif kind in (PP_PLACEHOLDER.DATE, PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.SLIDE_NUMBER):
                sh.element.getparent().remove(sh.element)
    title_rpr = tx.find(qn("p:titleStyle")).find(qn("a:lvl1pPr")).find(qn("a:defRPr"))
    title_rpr.set("b", "1")
    fill = title_rpr.find(qn("a:solidFill"))
    if fill is not None:
        title_rpr.remove(fill)
    fill = etree.SubElement(title_rpr, qn("a:solidFill"))
    etree.SubElement(fill, qn("a:srgbClr")).set("val", "1F3A5F")
    title_rpr.insert(0, fill)
    prs.save(str(path))
    default.unlink(missing_ok=True)
    return path


def _center_placeholder(sh) -> None:
    """Centre a placeholder's text and give it 14 pt grey (the title slide's date)."""
    from lxml import etree
    from pptx.oxml.ns import qn
    body = sh.element.find(qn("p:txBody"))
    lst = body.find(qn("a:lstStyle"))
    if lst is None:
        lst = etree.SubElement(body, qn("a:lstStyle"))
        body.insert(1, lst)
    for old in list(lst):
        lst.remove(old)
    lvl = etree.SubElement(lst, qn("a:lvl1pPr"), algn="ctr")
    d = etree.SubElement(lvl, qn("a:defRPr"), sz="1400", lang=LANG)
    fill = etree.SubElement(d, qn("a:solidFill"))
    etree.SubElement(fill, qn("a:srgbClr"), val="555555")


# ---- 4. finishing: the same for pandoc's and Quarto's deck ----------------------------------------------

def _set_run_fonts(rpr, size_pt: float | None = None) -> None:
    from pptx.oxml.ns import qn
    from lxml import etree
    rpr.set("lang", LANG)
    rpr.set("altLang", "en-US")
    if size_pt:
        rpr.set("sz", str(int(size_pt * 100)))
    for tag in ("a:latin", "a:ea"):
        old = rpr.find(qn(tag))
        if old is not None:
            rpr.remove(old)
    # schema order: ln, fill, effect, highlight, uLnTx, uLn, uFillTx, uFill, latin, ea, cs, sym, hlinkClick…
    after = [qn(t) for t in ("a:cs", "a:sym", "a:hlinkClick", "a:hlinkMouseOver", "a:rtl", "a:extLst")]
    pos = next((i for i, ch in enumerate(rpr) if ch.tag in after), len(rpr))
    latin = etree.Element(qn("a:latin"), typeface=LATIN_FONT)
    ea = etree.Element(qn("a:ea"), typeface=EA_FONT, panose=EA_PANOSE, pitchFamily=EA_PITCH, charset=EA_CHARSET)
    rpr.insert(pos, ea)
    rpr.insert(pos, latin)


def _paragraph_runs(tf):
    for p in tf.paragraphs:
        for r in p.runs:
            yield p, r


def key_number_pt(values: list[str], col_w: float) -> float:
    """The size of the large numbers: KEY_PT, smaller where the longest would not fit its column on one line."""
    widest = max((_width(v) for v in values), default=1.0)
    return max(14.0, min(float(KEY_PT), (col_w - 0.4) * 72 / max(widest, 1.0)))


def _style_table(tbl, key: bool) -> None:
    from pptx.dml.color import RGBColor
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
    from pptx.util import Inches, Pt
    ncols = len(tbl.columns)
    big = key_number_pt([c.text_frame.text for c in tbl.rows[1].cells], BODY_W / ncols) if key and len(tbl.rows) > 1 \
        else KEY_PT
    if key:
        for c in tbl.columns:
            c.width = Inches(BODY_W / ncols)
    elif ncols == len(EXPLAIN_COLS):
        for c, w in zip(tbl.columns, EXPLAIN_COLS):
            c.width = Inches(w)
    for i, row in enumerate(tbl.rows):
        for cell in row.cells:
            if key:
                cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            cell.margin_left = cell.margin_right = Inches(0.1)
            cell.margin_top = cell.margin_bottom = Inches(0.04)
            for p, r in _paragraph_runs(cell.text_frame):
                if key:
                    p.alignment = PP_ALIGN.CENTER
                    size = (KEY_LABEL_PT, big, KEY_NOTE_PT)[min(i, 2)]
                    r.font.bold = i == 1
                    if i == 1:
                        r.font.color.rgb = RGBColor(0xB0, 0x1E, 0x2D)
                    elif i == 2:
                        r.font.color.rgb = RGBColor(0x44, 0x44, 0x44)
                else:
                    size = TABLE_PT
                    r.font.bold = i == 0
                r.font.size = Pt(size)
                _set_run_fonts(r._r.get_or_add_rPr(), size)
        if key:
            row.height = Inches((0.45, 0.9, 0.6)[min(i, 2)])
        else:
            row.height = Inches(0.3)


def finish(path: Path, meta: dict, key_titles: set[str]) -> None:
    """Finish a deck written by pandoc or Quarto in place: the confidentiality line (内部资料 · 知悉范围) and
    'n / N' at the foot of every slide; key-figure tables as large numbers; table sizes and column widths;
    fonts and language zh-CN on every run; title, author and language in the document properties."""
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
    from pptx.shapes.picture import Picture
    from pptx.util import Inches, Pt

    prs = Presentation(str(path))
    line = confidentiality_line(meta)
    total = len(prs.slides)
    for n, slide in enumerate(prs.slides, start=1):
        title = slide.shapes.title.text_frame.text.strip() if slide.shapes.title is not None else ""
        if title and n > 1:  # a slide title stays on one line
            size = title_pt(title)
            for _, r in _paragraph_runs(slide.shapes.title.text_frame):
                r.font.size = Pt(size)
        for sh in list(slide.shapes):
            if sh.has_text_frame:
                for _, r in _paragraph_runs(sh.text_frame):
                    _set_run_fonts(r._r.get_or_add_rPr())
            if getattr(sh, "has_table", False) and sh.has_table:
                _style_table(sh.table, title in key_titles)
                if title in key_titles:
                    sh.left, sh.width = Inches((SLIDE_W - BODY_W) / 2), Inches(BODY_W)
                    sh.top = Inches(BODY_TOP + 0.5)
            if isinstance(sh, Picture):  # a chart: inside the body area
                _fit_picture(sh)
        box = slide.shapes.add_textbox(Inches(0.5), Inches(FOOTER_TOP), Inches(SLIDE_W - 1.0), Inches(FOOTER_H))
        tf = box.text_frame
        tf.word_wrap = True
        tf.vertical_anchor = MSO_ANCHOR.MIDDLE
        tf.margin_top = tf.margin_bottom = 0
        p = tf.paragraphs[0]
        p.alignment = PP_ALIGN.LEFT
        r = p.add_run()
        r.text = f"{line}　　{n} / {total}"
        r.font.size = Pt(9)
        r.font.color.rgb = RGBColor(0x66, 0x66, 0x66)
        _set_run_fonts(r._r.get_or_add_rPr(), 9)
        box.name = "yibao-confidentiality"
    cp = prs.core_properties
    cp.title = meta["title"]
    cp.author = meta.get("issuer") or ""
    cp.last_modified_by = meta.get("issuer") or ""
    cp.language = LANG
    cp.subject = "面对面数据发布"
    prs.save(str(path))


def _fit_picture(pic) -> None:
    """A chart keeps its aspect ratio inside the body area (below the title, above the confidentiality line)."""
    from pptx.util import Emu, Inches
    top, bottom = Inches(BODY_TOP), Inches(BODY_BOTTOM)
    max_w, max_h = Inches(BODY_W), bottom - top
    w, h = pic.width, pic.height
    scale = min(max_w / w, max_h / h, 1.0) if w and h else 1.0
    if scale < 1.0 or pic.top < top or pic.top + h > bottom:
        w, h = Emu(int(w * scale)), Emu(int(h * scale))
        pic.width, pic.height = w, h
        pic.top = Emu(int(top + (max_h - h) / 2))
        pic.left = Emu(int((Inches(SLIDE_W) - w) / 2))


def title_pt(title: str) -> float:
    """A slide title's size: 28 pt, smaller when it would not fit the slide's width on one line."""
    return max(16.0, min(float(TITLE_PT), (BODY_W - 0.6) * 72 * 0.85 / max(_width(title), 1.0)))


def confidentiality_line(meta: dict) -> str:
    """The line every slide carries: 内部资料 and the publication's 知悉范围 (the same wording as the report)."""
    conf = str(meta.get("confidentiality") or "").strip().rstrip("。")
    return f"内部资料　知悉范围：{conf}"


def key_titles(content: dict) -> set[str]:
    return {str(g["title"]) for g in content["key"]}


# ---- 5. the builtin route -------------------------------------------------------------------------------

def render_pptx(raw_nb, meta: dict, work: Path, target: Path) -> None:
    """pandoc's pptx writer with the reference deck, then :func:`finish`; written atomically."""
    import yaml
    content = deck_content(raw_nb)
    (work / "deck.md").write_text(deck_markdown(content, work / "assets-deck"), encoding="utf-8")
    (work / "deck.yaml").write_text(yaml.safe_dump(deck_meta(meta), allow_unicode=True, sort_keys=False),
                                    encoding="utf-8")
    ref = reference_pptx(work / "reference.pptx")
    proc = subprocess.run([_pandoc_path(), "deck.md", "-f", "markdown-smart", "-t", "pptx", "--slide-level=2",
                           "--reference-doc", str(ref), "--metadata-file", "deck.yaml", "--resource-path", str(work),
                           "-o", "out.pptx"], cwd=work, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"pandoc 失败（pptx）：{proc.stderr.strip()[:800]}")
    finish(work / "out.pptx", meta, key_titles(content))
    write_stable(work / "out.pptx", meta, target)


def write_stable(produced: Path, meta: dict, target: Path) -> None:
    from yibao.render.builtin import _release_date
    data = stable_zip(produced.read_bytes(), _release_date(meta))
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
