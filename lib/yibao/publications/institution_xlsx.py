"""疑点明细: the verification workbook of one institution, written and read back.

:func:`write` makes ``<code>_疑点明细_<period>.xlsx`` from the hospital's bundle: sheet 填报说明 (what to do,
by when), 疑点汇总 (one row per finding) and 疑点明细 (one row per case behind a finding: 结算ID, 就诊ID,
dates, group and diagnosis codes, amounts, the rule in words and why the case is listed), each with the
two columns the hospital fills in, 核实结果 (a list: 属实 / 部分属实 / 不属实) and 说明. A hidden sheet
``_yibao`` records the institution and the period so that :func:`read` (``yibao feedback import``) knows
whose answers it reads. Every text cell goes through :func:`yibao.escape.xlsx_workbook` (a cell from data
beginning with ``= + - @`` stays text). No person identifier is in the bundle, hence none here.
"""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from yibao import fmt
from yibao.errors import YibaoError

ANSWERS = ("属实", "部分属实", "不属实")
SUMMARY_SHEET, CASES_SHEET, META_SHEET, README_SHEET = "疑点汇总", "疑点明细", "_yibao", "填报说明"
SUMMARY_HEAD = ["序号", "问题线索", "关注等级", "线索说明", "疑点病例数", "核实结果", "说明"]
CASES_HEAD = ["序号", "问题线索", "结算ID", "就诊ID", "入院日期", "出院日期", "结算时间", "病组", "主要诊断",
              "住院天数", "医疗费用（元）", "统筹基金支付（元）", "全自费金额（元）", "支付标准（元）", "列入原因",
              "核实结果", "说明"]
SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}


def file_name(code: str, period: str) -> str:
    return f"{code}_疑点明细_{period}.xlsx"


def _d(x) -> str:
    if x is None or (isinstance(x, float) and pd.isna(x)) or str(x) in ("", "NaT", "nan"):
        return ""
    return str(x)[:10]


def _t(x) -> str:
    if x is None or (isinstance(x, float) and pd.isna(x)) or str(x) in ("", "NaT", "nan"):
        return ""
    return str(x)[:16]


def _n(x):
    return None if x is None or pd.isna(x) else round(float(x), 2)


def _style_column(ws, col: int, **style) -> None:
    """Rows 2… of column ``col`` get the same style (openpyxl cell attributes: alignment, fill,
    number_format): set on the first cell, its style record copied to the others. Assigning a style object
    cell by cell hashes it for every cell — most of the time a workbook of a few hundred cases took."""
    from copy import copy
    if ws.max_row < 2:
        return
    first = ws.cell(2, col)
    for k, v in style.items():
        setattr(first, k, v)
    for (c,) in ws.iter_rows(min_row=3, max_row=ws.max_row, min_col=col, max_col=col):
        c._style = copy(first._style)


def _printable(ws, head: list[str], wrap) -> None:
    """Long text columns wrap (rows as high as their longest wrapped cell); the sheet prints landscape, all
    columns on one page width, header repeated."""
    import math
    import unicodedata
    lines: dict[int, int] = {}
    for k, h in enumerate(head, 1):
        if h not in wrap:
            continue
        width = max((ws.column_dimensions[ws.cell(1, k).column_letter].width or 10) - 1, 1)
        for (c,) in ws.iter_rows(min_row=2, min_col=k, max_col=k):
            if c.value is None or c.value == "":
                continue
            w = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in str(c.value))
            lines[c.row] = max(lines.get(c.row, 1), math.ceil(w / width))
    for row, n in lines.items():
        if n > 1:  # spreadsheet programs do not grow rows written by openpyxl: give them their height
            ws.row_dimensions[row].height = 15 * n
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "1:1"


def write(ctx, path) -> Path:
    """The workbook of an :class:`~yibao.publications.institution.InstitutionContext`, written atomically."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    from yibao.escape import xlsx_workbook
    from yibao.findings.cases import NO_CASES
    from yibao.fsutil import atomic_path, stable_zip
    from yibao.publications.institution import _findings
    info = ctx.info
    f = _findings(ctx)
    cases = ctx.table("cases")
    wb = Workbook()
    ws = wb.active
    ws.title = README_SHEET
    lines = [f"{info['fixmedins_name']}{info['period_label']}疑点明细",
             f"发布单位：{info['region_name']}医保数据工作组；发布日期：{fmt.date_zh(info['release_date'])}",
             f"请于{fmt.date_zh(info['explain_due'])}前，在“{SUMMARY_SHEET}”和“{CASES_SHEET}”两张表的“核实结果”列选择"
             f"{'、'.join(ANSWERS)}，并在“说明”列写明依据，随书面说明一并报送。",
             "“序号”与定向推送报告中问题线索的序号一致；不涉及具体病例的线索，请在汇总表中填写。",
             "本表不含参保人身份信息，仅供本院核实使用，不得外传。"]
    for k, line in enumerate(lines, 1):
        ws.cell(k, 1, line).alignment = Alignment(wrap_text=True, vertical="top")
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 110
    fill = PatternFill("solid", fgColor="FFF2CC")
    head_font = Font(bold=True)
    wrap_top = Alignment(wrap_text=True, vertical="top")
    dv_all = []

    def sheet(title, head, rows, widths, wrap=()):
        s = wb.create_sheet(title)
        s.append(head)
        for c in s[1]:
            c.font = head_font
            c.alignment = Alignment(wrap_text=True, vertical="center")
        for r in rows:
            s.append(r)
        for k, w in enumerate(widths, 1):
            s.column_dimensions[s.cell(1, k).column_letter].width = w
        n = len(head)
        res, note = s.cell(1, n - 1).column_letter, s.cell(1, n).column_letter
        last = max(s.max_row, 2)
        for k, h in enumerate(head, 1):  # the two columns to fill in are shaded; long text wraps
            style = {"fill": fill} if k >= n - 1 else {}
            if h in wrap:
                style["alignment"] = wrap_top
            if style:
                _style_column(s, k, **style)
        dv = DataValidation(type="list", formula1='"' + ",".join(ANSWERS) + '"', allow_blank=True,
                            showErrorMessage=True, errorTitle="核实结果", error="请选择：" + "、".join(ANSWERS))
        dv.add(f"{res}2:{res}{last}")
        s.add_data_validation(dv)
        dv_all.append(dv)
        s.freeze_panes = "C2"
        s.auto_filter.ref = f"A1:{note}{last}"
        _printable(s, head, wrap)
        return s

    srows = []
    for k, r in enumerate(f.itertuples(index=False), 1):
        n = "" if pd.isna(r.n_cases) else int(r.n_cases)
        srows.append([k, str(r.rule_name), SEVERITY_ZH.get(r.severity, r.severity), str(r.message)
                      + ("" if n != "" else NO_CASES.get(r.rule_id, "")), n, None, None])
    sheet(SUMMARY_SHEET, SUMMARY_HEAD, srows, [6, 22, 8, 80, 10, 12, 36], wrap=("问题线索", "线索说明", "说明"))
    crows = []
    number = {(r.rule_id, "" if pd.isna(r.subject) else str(r.subject)): k for k, r in enumerate(f.itertuples(index=False), 1)}
    names = {(r.rule_id, "" if pd.isna(r.subject) else str(r.subject)): str(r.rule_name) for r in f.itertuples(index=False)}
    if not cases.empty:
        from yibao.findings.cases import CASE_COLUMNS
        cases = cases.reindex(columns=list(dict.fromkeys(list(cases.columns) + CASE_COLUMNS)))
        cases["subject"] = cases["subject"].fillna("").astype(str)
        cases["_k"] = [number.get((a, b), 0) for a, b in zip(cases["rule_id"], cases["subject"])]
        for r in cases.sort_values(["_k"], kind="mergesort").itertuples(index=False):
            key = (r.rule_id, r.subject)
            crows.append([number.get(key, 0), names.get(key, ""), str(r.setl_id), "" if pd.isna(r.mdtrt_id) else str(r.mdtrt_id),
                          _d(r.begndate), _d(r.enddate), _t(r.setl_time),
                          "" if pd.isna(r.grp_code) else str(r.grp_code),
                          "" if pd.isna(r.main_diag_code) else str(r.main_diag_code),
                          None if pd.isna(r.ipt_days) else int(r.ipt_days), _n(r.medfee_sumamt), _n(r.hifp_pay),
                          _n(r.fulamt_ownpay_amt), _n(r.pay_std), str(r.reason), None, None])
    cs = sheet(CASES_SHEET, CASES_HEAD, crows, [6, 18, 26, 26, 11, 11, 16, 8, 12, 8, 12, 12, 12, 12, 46, 10, 30],
               wrap=("问题线索", "列入原因", "说明"))
    for k in range(11, 15):  # the amounts
        _style_column(cs, k, number_format="#,##0.00")
    meta = wb.create_sheet(META_SHEET)
    for k, v in (("fixmedins_code", info["fixmedins_code"]), ("region", info["region"]), ("period", info["period"]),
                 ("period_label", info["period_label"]), ("release_date", info["release_date"])):
        meta.append([k, v])
    meta.sheet_state = "hidden"
    xlsx_workbook(wb)
    buf = io.BytesIO()
    wb.save(buf)
    path = Path(path)
    with atomic_path(path) as tmp:  # dated the release date: the same package gives the same bytes
        tmp.write_bytes(stable_zip(buf.getvalue(), info["release_date"]))
    return path


def read(path) -> dict:
    """The answers of a returned workbook: {meta, findings: [{序号, 问题线索, 核实结果, 说明, cases: [...]}]}.
    A workbook that is not a 疑点明细 (missing sheet or column) is refused naming the file, sheet and column."""
    from openpyxl import load_workbook
    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001
        raise YibaoError(f"{path}: 不是可读的 xlsx 文件（{exc}）(rule: 疑点明细 workbook)") from None
    for name in (SUMMARY_SHEET, CASES_SHEET, META_SHEET):
        if name not in wb.sheetnames:
            raise YibaoError(f"{path} · 工作表 {name} · 缺少该工作表 (rule: 疑点明细 workbook made by yibao run --kind institution)")
    meta = {str(r[0]): str(r[1]) for r in wb[META_SHEET].iter_rows(values_only=True) if r and r[0]}
    for k in ("fixmedins_code", "period"):
        if not meta.get(k):
            raise YibaoError(f"{path} · 工作表 {META_SHEET} · 缺少 {k} (rule: 疑点明细 workbook)")

    def rows(name, head):
        it = wb[name].iter_rows(values_only=True)
        first = [str(c or "").strip() for c in next(it, [])]
        col = {}
        for h in ("序号", "问题线索", "核实结果", "说明") + (("结算ID",) if name == CASES_SHEET else ()):
            if h not in first:
                raise YibaoError(f"{path} · 工作表 {name} · 缺少列 {h} (rule: 疑点明细 columns)")
            col[h] = first.index(h)
        out = []
        for k, r in enumerate(it, 2):
            if r is None or all(c is None for c in r):
                continue
            d = {h: (None if r[i] is None else str(r[i]).strip()) for h, i in col.items() if i < len(r)}
            ans = d.get("核实结果") or ""
            if ans.startswith("'"):
                ans = ans[1:]
            if ans and ans not in ANSWERS:
                raise YibaoError(f"{path} · 工作表 {name} · 第{k}行 · 核实结果 {ans!r} 应为 {'、'.join(ANSWERS)} 之一 "
                                 f"(rule: 核实结果 from the list)")
            d["核实结果"] = ans
            d["row"] = k
            out.append(d)
        return out

    summary = rows(SUMMARY_SHEET, SUMMARY_HEAD)
    cases = rows(CASES_SHEET, CASES_HEAD)
    findings = []
    for s in summary:
        mine = [c for c in cases if str(c.get("序号")) == str(s.get("序号"))]
        findings.append(dict(s, cases=mine))
    wb.close()
    return {"meta": meta, "findings": findings}


__all__ = ["ANSWERS", "CASES_HEAD", "SUMMARY_HEAD", "file_name", "read", "write"]
