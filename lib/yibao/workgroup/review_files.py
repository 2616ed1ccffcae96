"""The files of the 审议 record (:mod:`yibao.workgroup.review`): ``review.md``, ``review.xlsx`` and
``review.docx`` from the checks, the record's header and the sign-off table; and the :class:`Check` row they hold.
"""
from __future__ import annotations

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


def write_xlsx(path: Path, info: dict, checks: list[Check], signoff: pd.DataFrame, files: list[dict],
               corrections: list[dict] | None = None) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    wb = Workbook()
    ws = wb.active
    ws.title = "审议记录"
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    bold = Font(bold=True)
    fill = {PASS: "E2EFDA", FAIL: "F8CBAD", NOTE: "FFF2CC", SKIP: "EDEDED"}
    ws.append(["数据发布工作组审议记录"])
    ws["A1"].font = Font(bold=True, size=14)
    for k, v in info.items():
        ws.append([k, v])
        ws.cell(ws.max_row, 1).font = bold
    ws.append([])
    ws.append(["一、自动检查（准确性、完整性、合规性）"])
    ws.cell(ws.max_row, 1).font = bold
    cf = checks_frame(checks)
    ws.append(list(cf.columns))
    for c in ws[ws.max_row]:
        c.font, c.border = bold, box
    for row in cf.itertuples(index=False):
        ws.append(list(row))
        for c in ws[ws.max_row]:
            c.border, c.alignment = box, wrap
        ws.cell(ws.max_row, 4).fill = PatternFill("solid", fgColor=fill.get(row[3], "FFFFFF"))
    if corrections:
        ws.append([])
        ws.append(["修改意见与复审"])
        ws.cell(ws.max_row, 1).font = bold
        cols = list(corrections[0])
        ws.append(cols)
        for c in ws[ws.max_row]:
            c.font, c.border = bold, box
        for row in corrections:
            ws.append([row[k] for k in cols])
            for c in ws[ws.max_row]:
                c.border, c.alignment = box, wrap
    ws.append([])
    ws.append(["二、成员审议意见与签字确认"])
    ws.cell(ws.max_row, 1).font = bold
    ws.append(list(signoff.columns))
    for c in ws[ws.max_row]:
        c.font, c.border = bold, box
    for row in signoff.itertuples(index=False):
        ws.append(list(row))
        ws.row_dimensions[ws.max_row].height = 30
        for c in ws[ws.max_row]:
            c.border, c.alignment = box, wrap
    for col, w in zip("ABCDEFG", (16, 22, 34, 12, 60, 14, 12)):
        ws.column_dimensions[col].width = w
    ws2 = wb.create_sheet("文件清单")
    ws2.append(["文件", "SHA-256"])
    for f in files:
        ws2.append([f["文件"], f["SHA-256"]])
    ws2.column_dimensions["A"].width = 32
    ws2.column_dimensions["B"].width = 70
    xlsx_workbook(wb)  # names and notes from data stay text (never a formula)
    with atomic_path(path) as tmp:
        wb.save(str(tmp))
    return path


def write_docx(path: Path, info: dict, checks: list[Check], signoff: pd.DataFrame, files: list[dict] | None = None,
               corrections: list[dict] | None = None) -> Path:
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    d = docx.Document()
    sec = d.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Cm(29.7), Cm(21.0)
    for m in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(sec, m, Cm(1.8))
    st = d.styles["Normal"]
    st.font.name = "SimSun"
    st.font.size = Pt(10.5)
    st.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    for s in ("Title", "Heading 1", "Heading 2"):
        d.styles[s].font.name = "SimHei"
        d.styles[s].element.rPr.rFonts.set(qn("w:eastAsia"), "黑体")
    d.add_heading("数据发布工作组审议记录", level=0)
    for k, v in info.items():
        para = d.add_paragraph()
        para.add_run(f"{k}：").bold = True
        para.add_run(str(v))

    def table(df: pd.DataFrame, widths=None):
        t = d.add_table(rows=1, cols=len(df.columns))
        t.style = "Table Grid"
        for i, c in enumerate(df.columns):
            t.rows[0].cells[i].text = str(c)
            for r in t.rows[0].cells[i].paragraphs[0].runs:
                r.bold = True
        for row in df.itertuples(index=False):
            cells = t.add_row().cells
            for i, v in enumerate(row):
                cells[i].text = str(v)
        if widths:
            for row in t.rows:
                for i, w in enumerate(widths):
                    row.cells[i].width = Cm(w)
        return t

    d.add_heading("一、自动检查", level=1)
    table(checks_frame(checks), widths=(1.6, 1.2, 6.0, 2.2, 15.0))
    d.add_heading("二、成员审议意见与签字确认", level=1)
    d.add_paragraph("审议内容：准确性（交叉核对关键指标）、完整性（重要内容、字段是否缺失）、合规性（是否有数据未完成脱敏等"
                    "不合规情形）。请成员逐项审阅后填写意见并签字。")
    if corrections:
        d.add_heading("修改意见与复审", level=2)
        table(pd.DataFrame(corrections))
    t = table(signoff, widths=(1.2, 3.0, 5.5, 4.5, 6.8, 3.0, 2.2))
    for row in t.rows[1:]:
        row.height = Cm(1.0)
    if files is not None:
        d.add_heading("三、审议文件清单（签字所指的版本）", level=1)
        d.add_paragraph(f"版本标识：{info.get('版本标识', '')}。成员签字确认的是下列文件的这一版本；任何文件改动后 SHA-256 "
                        "随之改变，须重新审议。")
        table(files_frame(files), widths=(1.2, 8.0, 16.0))
    with atomic_path(path) as tmp:
        d.save(str(tmp))
    return path
