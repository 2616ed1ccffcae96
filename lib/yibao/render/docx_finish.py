"""The DOCX as the readers' programs open it, after pandoc (both routes, ``render/builtin.py`` and
``render/quarto.py``):

* the table of contents is written out: pandoc writes an empty ``TOC`` field that only Word fills (after
  "update fields"), so LibreOffice, WPS and any PDF conversion showed a blank page. Each level-1/2
  heading gets a ``_Toc`` bookmark, and the contents page lists the headings, each a link to its bookmark
  followed by a ``PAGEREF`` field. The list is not wrapped in a ``TOC`` field: LibreOffice shows a TOC
  field's stored text as it is, but computes a free ``PAGEREF`` as it lays the pages out, so its pages
  (and a PDF converted by it) are right. The stored numbers are an estimate from the text's length;
  ``w:updateFields`` makes Word refresh every field when the document is opened;
* the font table names each Chinese font with its fallbacks (``w:altName``: 宋体 → SimSun, Noto Serif CJK
  SC, Source Han Serif SC; 黑体 → SimHei, Noto Sans CJK SC, Source Han Sans SC; 楷体 → KaiTi, STKaiti,
  Noto Serif CJK SC) and the GB2312 character set; the document language is zh-CN (LibreOffice then
  substitutes 宋体 with the serif SC face and 黑体 with the sans one);
* the core properties say who wrote it (the issuing working group) in which language.
"""
from __future__ import annotations

import io
import zipfile

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}
TEXT_WIDTH_TWIPS = 8950          # A4 portrait text width of the reference document (15.8 cm)
PAGE_HEIGHT_PT = 692             # its text height (29.7 cm less 2.8 + 2.5 cm margins)
LINE_UNITS = 72                  # display width (CJK = 2) of a body line at 12 pt
TOC_LEVELS = {"Heading1": 1, "Heading2": 2}
#: the East Asian fonts of the reference document and what a reader's machine may have instead
FONT_FALLBACKS = {
    "宋体": ("SimSun;Noto Serif CJK SC;Source Han Serif SC", "roman"),
    "黑体": ("SimHei;Noto Sans CJK SC;Source Han Sans SC", "swiss"),
    "楷体": ("KaiTi;STKaiti;Noto Serif CJK SC", "roman"),
}


def _q(tag: str) -> str:
    p, t = tag.split(":")
    return f"{{{W}}}{t}" if p == "w" else tag


def _el(tag: str, **attrs):
    from lxml import etree
    e = etree.Element(_q(tag))
    for k, v in attrs.items():
        e.set(_q("w:" + k), str(v))
    return e


def _sub(parent, tag: str, **attrs):
    e = _el(tag, **attrs)
    parent.append(e)
    return e


def _width(text: str) -> int:
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _para_text(p) -> str:
    return "".join(t.text or "" for t in p.iter(_q("w:t")))


def _style(p) -> str:
    s = p.find("w:pPr/w:pStyle", NS)
    return s.get(_q("w:val")) if s is not None else ""


def _estimate_pages(body, toc_entries: int) -> dict[int, int]:
    """{id(heading paragraph): estimated page} from the text's length: the title page, the contents,
    then the body; headings of level 1 and explicit page breaks as they fall."""
    pages: dict[int, int] = {}
    page = 2 + max(0, (toc_entries * 22 + 60) // PAGE_HEIGHT_PT)  # contents pages
    used = PAGE_HEIGHT_PT  # the page break after the contents
    started = False
    for el in body:
        if el.tag == _q("w:sdt"):
            started = True
            continue
        if not started:
            continue
        h = 0.0
        if el.tag == _q("w:p"):
            if el.find(".//w:br[@w:type='page']", NS) is not None:
                used = PAGE_HEIGHT_PT
                continue
            st = _style(el)
            text = _para_text(el)
            lines = max(1, -(-_width(text) // LINE_UNITS)) if text else 1
            h = lines * (24 if st.startswith("Heading") else 20) + (20 if st.startswith("Heading") else 4)
            for ext in el.iter("{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}extent"):
                h += int(ext.get("cy", 0)) / 12700 + 10
            if st in TOC_LEVELS:
                if used + h > PAGE_HEIGHT_PT:
                    page, used = page + 1, 0
                pages[id(el)] = page
        elif el.tag == _q("w:tbl"):
            for row in el.findall("w:tr", NS):
                cells = row.findall("w:tc", NS)
                share = max(1, 2 * LINE_UNITS // max(1, len(cells)))  # 9 pt type: about twice as many units
                lines = max([1] + [-(-_width(_para_text(c)) // share) for c in cells])
                h += lines * 12 + 5
            h += 30
        while used + h > PAGE_HEIGHT_PT:
            h -= PAGE_HEIGHT_PT - used
            page, used = page + 1, 0
        used += h
    return pages


def _run(parent, *, text: str | None = None, fld: str | None = None, instr: str | None = None,
         tab: bool = False, dirty: bool = False):
    r = _sub(parent, "w:r")
    if fld:
        f = _sub(r, "w:fldChar", fldCharType=fld)
        if dirty:
            f.set(_q("w:dirty"), "true")
    if instr is not None:
        it = _sub(r, "w:instrText")
        it.text = instr
        it.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    if tab:
        _sub(r, "w:tab")
    if text is not None:
        t = _sub(r, "w:t")
        t.text = text
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    return r


def _break_before_body(sdt) -> None:
    """The body starts on a new page through its first paragraph's ``pageBreakBefore`` rather than a
    paragraph holding a page break: when the contents fill their page, that paragraph would fall onto
    the next page and push the body one page further, leaving a blank page."""
    nxt = sdt.getnext()
    if nxt is None or nxt.tag != _q("w:p") or _para_text(nxt).strip():
        return
    brs = nxt.findall(".//w:br", NS)
    if len(brs) != 1 or brs[0].get(_q("w:type")) != "page":
        return
    body_p = nxt.getnext()
    while body_p is not None and body_p.tag in (_q("w:bookmarkStart"), _q("w:bookmarkEnd")):
        body_p = body_p.getnext()  # pandoc puts a heading's bookmark before its paragraph
    if body_p is None or body_p.tag != _q("w:p"):
        return
    nxt.getparent().remove(nxt)
    ppr = body_p.find("w:pPr", NS)
    if ppr is None:
        ppr = _el("w:pPr")
        body_p.insert(0, ppr)
    pos = 0
    for i, child in enumerate(ppr):
        if etree_local(child) in ("pStyle", "keepNext", "keepLines"):
            pos = i + 1
    ppr.insert(pos, _el("w:pageBreakBefore"))


def etree_local(el) -> str:
    return el.tag.rsplit("}", 1)[-1]


def fill_toc(doc_xml: bytes) -> bytes:
    """document.xml with the TOC field's result filled in (see the module docstring)."""
    from lxml import etree

    root = etree.fromstring(doc_xml)
    body = root.find("w:body", NS)
    sdt = next((s for s in body.findall("w:sdt", NS)
                if s.find(".//w:docPartGallery[@w:val='Table of Contents']", NS) is not None), None)
    if sdt is None:
        return doc_xml
    content = sdt.find("w:sdtContent", NS)
    field_p = next((p for p in content.findall("w:p", NS) if p.find(".//w:instrText", NS) is not None), None)
    if field_p is None:
        return doc_xml
    headings = [p for p in body.findall("w:p", NS) if _style(p) in TOC_LEVELS and _para_text(p).strip()]
    if not headings:
        return doc_xml
    pages = _estimate_pages(body, len(headings))
    ids = [int(b.get(_q("w:id"))) for b in root.iter(_q("w:bookmarkStart")) if (b.get(_q("w:id")) or "").isdigit()]
    next_id = max(ids, default=0) + 1
    entries = []
    for i, h in enumerate(headings, start=1):
        name = f"_Toc{900000000 + i}"
        ppr = h.find("w:pPr", NS)
        start = _el("w:bookmarkStart", id=next_id, name=name)
        (ppr.addnext(start) if ppr is not None else h.insert(0, start))
        _sub(h, "w:bookmarkEnd", id=next_id)
        next_id += 1
        level = TOC_LEVELS[_style(h)]
        p = _el("w:p")
        ppr = _sub(p, "w:pPr")
        _sub(ppr, "w:pStyle", val=f"TOC{level}")
        tabs = _sub(ppr, "w:tabs")
        _sub(tabs, "w:tab", val="right", leader="dot", pos=TEXT_WIDTH_TWIPS)
        link = _sub(p, "w:hyperlink", anchor=name, history="1")
        _run(link, text=_para_text(h).strip())
        _run(link, tab=True)
        _run(link, fld="begin")
        _run(link, instr=f" PAGEREF {name} \\h ")
        _run(link, fld="separate")
        _run(link, text=str(pages.get(id(h), 3)))
        _run(link, fld="end")
        entries.append(p)
    for p in entries:
        field_p.addprevious(p)
    content.remove(field_p)
    _break_before_body(sdt)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def font_table(xml: bytes) -> bytes:
    """fontTable.xml with 宋体, 黑体 and 楷体 declared with their fallbacks (replacing earlier entries)."""
    from lxml import etree

    root = etree.fromstring(xml)
    for f in list(root.findall("w:font", NS)):
        if f.get(_q("w:name")) in FONT_FALLBACKS:
            root.remove(f)
    for name, (alt, family) in FONT_FALLBACKS.items():
        f = _sub(root, "w:font", name=name)
        _sub(f, "w:altName", val=alt)
        _sub(f, "w:charset", val="86")
        _sub(f, "w:family", val=family)
        _sub(f, "w:pitch", val="variable")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


#: the elements CT_Settings puts after updateFields (Word refuses a settings part out of order)
_AFTER_UPDATE_FIELDS = {"hdrShapeDefaults", "footnotePr", "endnotePr", "compat", "docVars", "rsids", "mathPr",
                        "attachedSchema", "themeFontLang", "clrSchemeMapping", "doNotIncludeSubdocsInStats",
                        "doNotAutoCompressPictures", "forceUpgrade", "captions", "readModeInkLockDown",
                        "smartTagType", "schemaLibrary", "shapeDefaults", "doNotEmbedSmartTags",
                        "decimalSymbol", "listSeparator"}


def update_fields(xml: bytes) -> bytes:
    """settings.xml with ``<w:updateFields w:val="true"/>`` (Word refreshes fields when it opens the file)."""
    from lxml import etree

    root = etree.fromstring(xml)
    if root.find("w:updateFields", NS) is None:
        el = _el("w:updateFields", val="true")
        later = next((c for c in root if etree.QName(c).localname in _AFTER_UPDATE_FIELDS), None)
        (later.addprevious(el) if later is not None else root.append(el))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def core_properties(xml: bytes, meta: dict) -> bytes:
    """docProps/core.xml: creator = the issuing working group, language zh-CN (pandoc leaves it unset)."""
    from lxml import etree

    dc = "http://purl.org/dc/elements/1.1/"
    cp = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
    root = etree.fromstring(xml)
    author = meta.get("issuer") or (f"{meta['region_name']}医保数据工作组" if meta.get("region_name") else "")
    for tag, value in ((f"{{{dc}}}creator", author), (f"{{{dc}}}language", "zh-CN"),
                       (f"{{{cp}}}lastModifiedBy", author)):
        if not value:
            continue
        el = root.find(tag)
        if el is None:
            el = etree.SubElement(root, tag)
        el.text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def landscape_sections(doc_xml: bytes, start: str = "YibaoLandscapeStart", end: str = "YibaoLandscapeEnd") -> bytes:
    """document.xml with each span between a ``start`` and an ``end`` marker paragraph (a wide table, put
    there by ``render/builtin.landscape``) in a landscape section of its own: the start marker becomes the
    paragraph that ends the portrait section before it, the end marker the one that ends the landscape
    section. Every section repeats the document's header and footer references; only the first keeps the
    title page's different first page."""
    import copy

    from lxml import etree

    root = etree.fromstring(doc_xml)
    body = root.find("w:body", NS)
    final = body.find("w:sectPr", NS)
    markers = [p for p in body.iter(_q("w:p")) if _style(p) in (start, end)]
    if final is None or not markers:
        return doc_xml

    def section(orientation: str, first: bool):
        sp = copy.deepcopy(final)
        if not first:
            for t in sp.findall("w:titlePg", NS):
                sp.remove(t)
        size = sp.find("w:pgSz", NS)
        if size is not None:
            w, h = int(size.get(_q("w:w"))), int(size.get(_q("w:h")))
            if orientation == "landscape":
                size.set(_q("w:w"), str(max(w, h)))
                size.set(_q("w:h"), str(min(w, h)))
                size.set(_q("w:orient"), "landscape")
            else:
                size.attrib.pop(_q("w:orient"), None)
        return sp

    first = True
    for p in markers:
        kind = "portrait" if _style(p) == start else "landscape"
        for child in list(p):
            p.remove(child)
        ppr = _sub(p, "w:pPr")
        ppr.append(section(kind, first))
        first = False
    for t in final.findall("w:titlePg", NS):  # the last section starts after a landscape one
        final.remove(t)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def finish(data: bytes, meta: dict, refresh_fields: bool = True) -> bytes:
    """A pandoc DOCX (bytes) with the table of contents filled, the font fallbacks and the core
    properties set; every other member unchanged."""
    if not zipfile.is_zipfile(io.BytesIO(data)):  # not a DOCX (a converter's stand-in): nothing to finish
        return data
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename == "word/document.xml":
                blob = landscape_sections(fill_toc(blob))
            elif info.filename == "word/fontTable.xml":
                blob = font_table(blob)
            elif info.filename == "word/settings.xml" and refresh_fields:
                blob = update_fields(blob)
            elif info.filename == "docProps/core.xml":
                blob = core_properties(blob, meta)
            dst.writestr(info, blob)
    return out.getvalue()

