"""The files of the 审议 record (:mod:`yibao.workgroup.review`): ``review.md``, ``review.xlsx`` and
``review.docx`` from the checks, the record's header and the sign-off table; and the :class:`Check` row they hold.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from yibao.escape import markdown_inline, xlsx_workbook
from yibao.fsutil import atomic_path

PASS, FAIL, NOTE, SKIP = "通过", "不通过", "提示", "未执行"
CATEGORIES = ("准确性", "完整性", "合规性")


@dataclass
class Check:
    category: str
    id: str
    item: str
    result: str
    detail: str = ""


def checks_frame(checks: list[Check]) -> pd.DataFrame:
    return pd.DataFrame([{"类别": c.category, "编号": c.id, "检查项": c.item, "自动检查结果": c.result,
                          "说明": c.detail} for c in checks])


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(markdown_inline(v) or " " for v in row) + " |")
    return "\n".join(lines)


def files_frame(files: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"序号": str(i), "文件": f["文件"], "SHA-256": f["SHA-256"]}
                         for i, f in enumerate(files, start=1)], columns=["序号", "文件", "SHA-256"])


def markdown(info: dict, checks: list[Check], signoff: pd.DataFrame, files: list[dict] | None = None,
             corrections: list[dict] | None = None) -> str:
    lines = ["# 数据发布工作组审议记录", ""]
    lines += [f"- **{k}**：{markdown_inline(v)}" for k, v in info.items()]
    for cat in CATEGORIES:
        lines += ["", f"## {cat}", "", _md_table(checks_frame([c for c in checks if c.category == cat])
                                                  .drop(columns=["类别"]))]
    if corrections:
        lines += ["", "## 修改意见与复审", "", _md_table(pd.DataFrame(corrections))]
    lines += ["", "## 成员审议意见与签字确认", "", _md_table(signoff)]
    if files is not None:
        lines += ["", "## 审议文件清单（签字所指的版本）", "", _md_table(files_frame(files))]
    return "\n".join(lines) + "\n"


def _number(v):
    """序号 as a number (sorts 1, 2, …, 10); anything else unchanged."""
    return int(v) if isinstance(v, str) and v.isdigit() else v


#: column widths of the 审议记录 sheet (Excel units): 类别/序号, 编号/姓名, 检查项/单位, 结果/职务, 说明/意见, 签字, 日期
SHEET_WIDTHS = (12, 14, 30, 16, 60, 12, 12)


def write_xlsx(path: Path, info: dict, checks: list[Check], signoff: pd.DataFrame, files: list[dict],
               corrections: list[dict] | None = None) -> Path:
    """review.xlsx: sheet 审议记录 (the record's header, the checks, corrections, the sign-off table) and
    sheet 文件清单; each prints A4 landscape one page wide with its table's header row repeated, headers
    tall enough for their wrapped text, an autofilter on the checks (and on the file list), numeric 序号."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    from yibao.metrics.digao import header_height, print_setup

    wb = Workbook()
    ws = wb.active
    ws.title = "审议记录"
    ncols = len(SHEET_WIDTHS)
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    head_al = Alignment(wrap_text=True, vertical="center", horizontal="center")
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    fill = {PASS: "E2EFDA", FAIL: "F8CBAD", NOTE: "FFF2CC", SKIP: "EDEDED"}

    def header_row(cols: list[str]) -> int:
        ws.append(cols)
        r = ws.max_row
        for c in ws[r][:len(cols)]:
            c.font, c.border, c.alignment, c.fill = bold, box, head_al, head_fill
        ws.row_dimensions[r].height = header_height(cols, list(SHEET_WIDTHS))
        return r

    ws.append(["数据发布工作组审议记录"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    for k, v in info.items():
        ws.append([k, v])
        r = ws.max_row
        ws.cell(r, 1).font = bold
        ws.cell(r, 2).alignment = wrap
        ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=ncols)
    ws.append([])
    ws.append(["一、自动检查（准确性、完整性、合规性）"])
    ws.cell(ws.max_row, 1).font = bold
    cf = checks_frame(checks)
    first = header_row(list(cf.columns))
    for row in cf.itertuples(index=False):
        ws.append(list(row))
        for c in ws[ws.max_row][:len(cf.columns)]:
            c.border, c.alignment = box, wrap
        ws.cell(ws.max_row, 4).fill = PatternFill("solid", fgColor=fill.get(row[3], "FFFFFF"))
    print_setup(ws, first, len(cf.columns), ws.max_row, f"数据发布工作组审议记录　{info.get('报告', '')}")
    if corrections:
        ws.append([])
        ws.append(["修改意见与复审"])
        ws.cell(ws.max_row, 1).font = bold
        cols = list(corrections[0])
        header_row(cols)
        for row in corrections:
            ws.append([_number(row[k]) for k in cols])
            for c in ws[ws.max_row][:len(cols)]:
                c.border, c.alignment = box, wrap
    ws.append([])
    ws.append(["二、成员审议意见与签字确认"])
    ws.cell(ws.max_row, 1).font = bold
    header_row(list(signoff.columns))
    for row in signoff.itertuples(index=False):
        ws.append([_number(v) for v in row])
        ws.row_dimensions[ws.max_row].height = 30
        for c in ws[ws.max_row][:len(signoff.columns)]:
            c.border, c.alignment = box, wrap
    for j, w in enumerate(SHEET_WIDTHS, 1):
        ws.column_dimensions[chr(64 + j)].width = w
    ws2 = wb.create_sheet("文件清单")
    ws2.append(["序号", "文件", "SHA-256"])
    for c in ws2[1]:
        c.font, c.border, c.alignment, c.fill = bold, box, head_al, head_fill
    for i, f in enumerate(files, start=1):
        ws2.append([i, f["文件"], f["SHA-256"]])
    for col, w in zip("ABC", (8, 32, 70)):
        ws2.column_dimensions[col].width = w
    print_setup(ws2, 1, 3, ws2.max_row, f"审议文件清单　{info.get('报告', '')}")
    xlsx_workbook(wb)  # names and notes from data stay text (never a formula)
    with atomic_path(path) as tmp:
        wb.save(str(tmp))
    return path


def _group(info: dict) -> str:
    """The working group that keeps the record (the DOCX's author): '东岚市医保数据工作组'."""
    region = str(info.get("统筹地区") or "").split("（")[0].strip()
    return f"{region}医保数据工作组" if region else "医保数据工作组"


def _docx_field(paragraph, code: str) -> None:
    """A field (PAGE, NUMPAGES) with a cached result of 1."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    for kind in ("begin", "instr", "separate", "text", "end"):
        run = paragraph.add_run()
        if kind == "instr":
            it = OxmlElement("w:instrText")
            it.set(qn("xml:space"), "preserve")
            it.text = f" {code} "
            run._r.append(it)
        elif kind == "text":
            run.text = "1"
        else:
            fc = OxmlElement("w:fldChar")
            fc.set(qn("w:fldCharType"), kind)
            run._r.append(fc)


def _docx_fonts(style, east: str, latin: str) -> None:
    from docx.oxml.ns import qn
    style.font.name = latin
    rfonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:eastAsia"), east)


#: column widths (cm) of the record's tables on a landscape A4 page (26.1 cm between the margins)
CHECK_WIDTHS = (1.6, 1.3, 6.2, 2.2, 14.8)
SIGNOFF_WIDTHS = (1.2, 2.6, 5.2, 4.0, 8.1, 3.0, 2.0)
FILES_WIDTHS = (1.2, 8.4, 16.5)


def write_docx(path: Path, info: dict, checks: list[Check], signoff: pd.DataFrame, files: list[dict] | None = None,
               corrections: list[dict] | None = None) -> Path:
    """review.docx: landscape A4; 宋体/黑体 with their fallbacks and the zh-CN language (as the
    publications, :mod:`yibao.render.docx_finish`); the record's name in the header and '第 N 页 共 M 页'
    in the footer; the working group as author; tables with fixed column widths, the header row repeated
    on every page and rows that never split; the sign-off table kept on one page."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    from yibao.render import docx_finish

    d = docx.Document()
    sec = d.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Cm(29.7), Cm(21.0)
    for m in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(sec, m, Cm(1.8))
    sec.header_distance, sec.footer_distance = Cm(0.9), Cm(0.9)
    styles = d.styles
    _docx_fonts(styles["Normal"], "宋体", "Times New Roman")
    styles["Normal"].font.size = Pt(10.5)
    for s in ("Title", "Heading 1", "Heading 2"):
        _docx_fonts(styles[s], "黑体", "Arial")
        styles[s].font.color.rgb = RGBColor(0, 0, 0)
    styles["Title"].font.size = Pt(20)
    rpr = styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "zh-CN")
    lang.set(qn("w:eastAsia"), "zh-CN")
    lang.set(qn("w:bidi"), "ar-SA")
    d.core_properties.author = d.core_properties.last_modified_by = _group(info)
    d.core_properties.title = f"数据发布工作组审议记录：{info.get('报告', '')}"
    d.core_properties.language = "zh-CN"
    d.core_properties.comments = ""

    hp = sec.header.paragraphs[0]
    hp.text = f"数据发布工作组审议记录　｜　{info.get('报告', '')}"
    hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fp = sec.footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fp.add_run("第 ")
    _docx_field(fp, "PAGE")
    fp.add_run(" 页　共 ")
    _docx_field(fp, "NUMPAGES")
    fp.add_run(" 页")
    for para in (hp, fp):
        for r in para.runs:
            r.font.size = Pt(9)

    d.add_heading("数据发布工作组审议记录", level=0)
    for k, v in info.items():
        para = d.add_paragraph()
        para.add_run(f"{k}：").bold = True
        para.add_run(str(v))

    def table(df: pd.DataFrame, widths=None, keep_together: bool = False):
        widths = widths or [26.1 / max(1, len(df.columns))] * len(df.columns)
        t = d.add_table(rows=1, cols=len(df.columns))
        t.style = "Table Grid"
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        tblpr = t._tbl.tblPr
        layout = OxmlElement("w:tblLayout")
        layout.set(qn("w:type"), "fixed")
        tblpr.append(layout)
        for col, w in zip(t._tbl.tblGrid.findall(qn("w:gridCol")), widths):
            col.set(qn("w:w"), str(int(w * 567)))
        for i, c in enumerate(df.columns):
            t.rows[0].cells[i].text = str(c)
            for r in t.rows[0].cells[i].paragraphs[0].runs:
                r.bold = True
        for row in df.itertuples(index=False):
            cells = t.add_row().cells
            for i, v in enumerate(row):
                cells[i].text = str(v)
        for n, row in enumerate(t.rows):
            trpr = row._tr.get_or_add_trPr()
            trpr.append(OxmlElement("w:cantSplit"))
            if n == 0:
                trpr.append(OxmlElement("w:tblHeader"))  # repeated at the top of every page
            for i, w in enumerate(widths):
                row.cells[i].width = Cm(w)
                for para in row.cells[i].paragraphs:
                    para.paragraph_format.space_after = Pt(0)
                    if keep_together and n < len(t.rows) - 1:
                        para.paragraph_format.keep_with_next = True
        return t

    d.add_heading("一、自动检查", level=1)
    table(checks_frame(checks), widths=CHECK_WIDTHS)
    h = d.add_heading("二、成员审议意见与签字确认", level=1)
    h.paragraph_format.page_break_before = True  # the sign-off part starts a page and stays on it
    intro = d.add_paragraph("审议内容：准确性（交叉核对关键指标）、完整性（重要内容、字段是否缺失）、合规性（是否有数据未完成脱敏等"
                            "不合规情形）。请成员逐项审阅后填写意见并签字。")
    intro.paragraph_format.keep_with_next = True
    if corrections:
        d.add_heading("修改意见与复审", level=2)
        table(pd.DataFrame(corrections))
    t = table(signoff, widths=SIGNOFF_WIDTHS, keep_together=True)
    for row in t.rows[1:]:
        row.height = Cm(0.8)  # room to sign; 16 members and the heading fit one landscape page
    if files is not None:
        d.add_heading("三、审议文件清单（签字所指的版本）", level=1)
        d.add_paragraph(f"版本标识：{info.get('版本标识', '')}。成员签字确认的是下列文件的这一版本；任何文件改动后 SHA-256 "
                        "随之改变，须重新审议。")
        table(files_frame(files), widths=FILES_WIDTHS)
    buf = io.BytesIO()
    d.save(buf)
    data = docx_finish.finish(buf.getvalue(), {"issuer": _group(info)}, refresh_fields=False)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path
