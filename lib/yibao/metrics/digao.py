"""digao.xlsx — the 数据底稿 workbook as working-group members circulate it.

Three sheets:

``数据底稿``  the region, in the seed table's layout (序号, 项目, 指标, 频次, 来源, 公式, 口径, 备注), then
             the period's value (headed e.g. “2026年第三季度”), 同比 and 环比, then 单位, the 同期 and 上期
             values the changes are computed from, 状态 and the system's 计算口径. 同比/环比 are growth
             rates in % for amounts, counts and indices, and changes in 百分点 for indicators that are
             themselves percentages; 累计 items get 同比 only (Jan→本期 against Jan→上期 is no 环比);
             no growth rate is given against a base that is zero or negative (结余 may be negative).
``医疗机构``  every per-institution indicator: institutions as rows (全统筹区 first, then hospitals by
             level and code) with name, level and DRG/DIP flag; indicators as columns. ``<5`` marks a
             value not published (status ``suppressed``: fewer than 5 cases, computed on a withheld value, or
             withheld beside a lone one so the region value gives neither back — metrics/suppression.py);
             ``—`` not applicable.
``说明``      status legend, the publication-frequency rule, suppression, sources.

Every sheet starts with a title row (region and period) and the confidentiality line
数据仅限本统筹地区定点医药机构内部使用，不得对外传播; headers are frozen, numbers carry Excel formats
(#,##0.00 for 元; percentages and growth rates stored as fractions with a % format, so formulas on
them are right; changes of percentage indicators in 个百分点). Every sheet prints A4 landscape, one page
wide, its header row repeated, with an autofilter on the table. The file is byte-identical for identical inputs (fixed document
properties and zip timestamps).
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from yibao.metrics import catalogue
from yibao.metrics.indicators import change_words
from yibao.data.contract import LEVEL_ORDER
from yibao.escape import xlsx_workbook
from yibao.fsutil import atomic_path, stable_zip
from yibao.data.periods import Period

CONFIDENTIALITY = "数据仅限本统筹地区定点医药机构内部使用，不得对外传播"
STATUS_CELL = {"suppressed": catalogue.SUPPRESSED_MARK, "not_applicable": "—", "missing_input": "缺少输入"}
STATUS_ZH = {"ok": "正常", "suppressed": "不予公布", "not_applicable": "不适用", "missing_input": "缺少输入"}
_FIXED_TIME = dt.datetime(2000, 1, 1)

_TITLE = Font(name="宋体", size=14, bold=True)
_BOLD = Font(name="宋体", size=10, bold=True)
_BODY = Font(name="宋体", size=10)
_RED = Font(name="宋体", size=10, bold=True, color="C00000")
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_CAT_FILL = PatternFill("solid", fgColor="F2F2F2")
_THIN = Side(style="thin", color="999999")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def number_format(ind: catalogue.Indicator) -> str:
    """The Excel format of an indicator's values; percentages are stored as fractions (0.0519 → 5.19%)."""
    if ind.unit == "%":
        return "0." + "0" * ind.decimals + "%" if ind.decimals else "0%"
    if ind.unit == "元":
        return "#,##0.00"
    if ind.kind == "count":
        return "#,##0"
    return "0." + "0" * ind.decimals if ind.decimals else "0"


def change_format(kind: str) -> str:
    """同比/环比: percentage points as numbers of points; growth rates as fractions with a % format."""
    if kind == "pp":
        return '+0.00"个百分点";-0.00"个百分点";0.00"个百分点"'
    return "+0.00%;-0.00%;0.00%"


def cell_value(ind: catalogue.Indicator, value) -> float:
    """An indicator's value as the workbook stores it: a percentage as a fraction (5.19 % → 0.0519), so
    that formulas on it are right; everything else as it is."""
    v = float(value)
    return v / 100.0 if ind.unit == "%" else v


def change_value(kind: str, value) -> float:
    """同比/环比 as stored: growth rates as fractions (+5.19 % → 0.0519), percentage points as they are."""
    v = float(value)
    return v if kind == "pp" else v / 100.0


def _display_width(text: str) -> int:
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def print_setup(ws, header_row: int, ncols: int, last_row: int, title: str) -> None:
    """Ready to print and to filter: A4 landscape, fitted to one page wide, the header row repeated on
    every page, page numbers in the footer, the sheet title in the header, an autofilter over the
    table (header row to last row)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_options.horizontalCentered = True
    ws.oddHeader.center.text = title.replace("&", "&&")
    ws.oddHeader.center.size = 9
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.center.size = 9
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(ncols)}{max(last_row, header_row + 1)}"


def header_height(headers: list[str], widths: list[float], points: float = 10) -> float:
    """A header row tall enough for its longest wrapped header (Excel widths are in '0' characters;
    a CJK character of the 10 pt header takes about two)."""
    lines = 1
    for h, w in zip(headers, widths):
        per_line = max(2.0, w - 1.5)
        for part in str(h).split("\n"):
            lines = max(lines, -(-_display_width(part) // int(per_line)))
    return round(lines * points * 1.35 + 6, 1)


def _title(ws, ncols: int, title: str, subtitle: str) -> None:
    ws.cell(1, 1, title).font = _TITLE
    ws.cell(2, 1, subtitle).font = _BODY
    ws.cell(3, 1, CONFIDENTIALITY).font = _RED
    for r in (1, 2, 3):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
    ws.row_dimensions[1].height = 24


def _header(ws, row: int, headers: list[str], widths: list[float]) -> None:
    for j, h in enumerate(headers, 1):
        c = ws.cell(row, j, h)
        c.font, c.fill, c.alignment, c.border = _BOLD, _HEAD_FILL, _CENTER, _BOX
    ws.row_dimensions[row].height = header_height(headers, widths)


def _widths(ws, widths: list[float]) -> None:
    for j, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(j)].width = w


def region_sheet(wb: Workbook, cmp: pd.DataFrame, info: dict, period: Period) -> None:
    ws = wb.active
    ws.title = "数据底稿"
    prev, yoy = period.previous(), period.year_ago()
    headers = ["序号", "项目", "指标", "频次", "来源", "公式", "口径", "备注", period.label, "同比", "环比", "单位",
               f"同期（{yoy.label}）", f"上期（{prev.label}）", "状态", "计算口径说明"]
    name = str(info.get("poolarea_name") or info.get("poolarea_no") or "")
    _title(ws, len(headers), f"{name}医保数据工作组数据底稿（{period.label}）",
           f"统筹区编号：{info.get('poolarea_no', '')}　付费方式：{info.get('pay_method') or '—'}　"
           f"累计数：{period.range_label}　当期数：{period.label}　金额单位：元　"
           f"同比/环比：金额、人次、指数为增长率，百分比指标为百分点变化")
    widths = [6, 12, 24, 7, 14, 26, 7, 22, 16, 11, 11, 7, 16, 16, 9, 40]
    _header(ws, 4, headers, widths)
    reg = cmp[cmp["fixmedins_code"].fillna("") == ""].set_index("indicator_id")
    row = 5
    for ind in catalogue.ordered():
        r = reg.loc[ind.id] if ind.id in reg.index else None
        st = "not_applicable" if r is None else str(r["status"])
        vals = [int(ind.id) if ind.id.isdigit() else ind.id, ind.category, ind.name, ind.frequency, ind.source, ind.formula, ind.scope, ind.note]
        for j, v in enumerate(vals, 1):
            c = ws.cell(row, j, v)
            c.font, c.alignment, c.border = (_BOLD if ind.is_heading else _BODY), _WRAP, _BOX
        # value
        c = ws.cell(row, 9)
        if ind.is_heading:
            c.value = None
        elif st == "ok":
            c.value = cell_value(ind, r["value"])
            c.number_format = number_format(ind)
        else:
            c.value = STATUS_CELL.get(st, st)
            c.alignment = Alignment(horizontal="center")
        # 同比 / 环比
        for col, key in ((10, "yoy"), (11, "mom")):
            cc = ws.cell(row, col)
            v = None if r is None else r[key]
            base_key, base_st = ("yoy_value", "yoy_status") if key == "yoy" else ("prev_value", "prev_status")
            words = ("" if r is None or st != "ok" or r[base_st] != "ok" or ind.id not in catalogue.BALANCE_IDS
                     else change_words(ind, r["value"], r[base_key], "同比" if key == "yoy" else "环比")[2:])
            if words and (float(r["value"]) < 0 or float(r[base_key]) < 0):
                cc.value = words  # a deficit's change in words, as the report writes it
                cc.alignment = Alignment(horizontal="center")
            elif v is not None and not pd.isna(v):
                cc.value = change_value(ind.change_kind, v)
                cc.number_format = change_format(ind.change_kind)
            elif not ind.is_heading:
                cc.value = "—"
                cc.alignment = Alignment(horizontal="center")
        ws.cell(row, 12, ind.unit or None)
        for col, key, skey in ((13, "yoy_value", "yoy_status"), (14, "prev_value", "prev_status")):
            cc = ws.cell(row, col)
            if r is not None and r[skey] == "ok" and not pd.isna(r[key]):
                cc.value = cell_value(ind, r[key])
                cc.number_format = number_format(ind)
        ws.cell(row, 15, "" if ind.is_heading else STATUS_ZH.get(st, st))
        ws.cell(row, 16, ind.caliber).alignment = _WRAP
        for j in range(9, 17):
            ws.cell(row, j).border = _BOX
            if ws.cell(row, j).font != _BOLD:
                ws.cell(row, j).font = _BODY
        if ind.is_heading:
            for j in range(1, 17):
                ws.cell(row, j).fill = _CAT_FILL
        row += 1
    ws.cell(row + 1, 1, "注：1. “—”表示不适用（建议公开频次与本期不符、标题行或无可比数据）；“缺少输入”表示数据集缺少该指标所需的可选数据。"
                        "2. 机构层面指标见“医疗机构”表；x_开头的指标为本系统增加的分析指标。3. 累计数为当年1月至本期末合计，当期数为本期合计；"
                        "住院率（指标42）为本期数，未年化。").font = _BODY
    ws.merge_cells(start_row=row + 1, start_column=1, end_row=row + 1, end_column=len(headers))
    ws.cell(row + 1, 1).alignment = _WRAP
    ws.row_dimensions[row + 1].height = 45
    ws.freeze_panes = "D5"
    _widths(ws, widths)
    print_setup(ws, 4, len(headers), row - 1, f"{name}数据底稿（{period.label}）")


def _level_rank(lv: str) -> int:
    return LEVEL_ORDER.index(lv) if lv in LEVEL_ORDER else len(LEVEL_ORDER)


def institution_sheet(wb: Workbook, cmp: pd.DataFrame, info: dict, period: Period, inst: pd.DataFrame) -> None:
    ws = wb.create_sheet("医疗机构")
    inds = [catalogue.get(i) for i in catalogue.ids(per_institution=True)]
    headers = ["机构编码", "机构名称", "医院等级", "开展DRG/DIP付费"] + [
        f"{i.id} {i.display_label}" + (f"（{i.unit}）" if i.unit else "") for i in inds]
    name = str(info.get("poolarea_name") or info.get("poolarea_no") or "")
    _title(ws, len(headers), f"{name}定点医疗机构数据底稿指标（{period.label}）",
           "每家定点医疗机构一行，首行为全统筹区；“<5”表示不予公布：该值所依据的病例数少于5例，或由不予公布的数值计算，"
           "或为防止由统筹地区值反推而一并不予公布；“—”表示不适用；"
           "时间/费用消耗指数统筹地区整体为1。")
    widths = [15, 26, 9, 9] + [11] * len(inds)
    _header(ws, 4, headers, widths)
    hosp = inst[inst["fixmedins_type"] == "1"].copy()
    hosp["_rank"] = hosp["lv_group"].map(_level_rank)
    hosp = hosp.sort_values(["_rank", "fixmedins_code"], kind="stable")
    look = {(r.indicator_id, r.fixmedins_code or ""): r for r in cmp.itertuples(index=False)}
    rows = [("", "全统筹区", "", "")] + [
        (r.fixmedins_code, r.fixmedins_name, r.lv_group, "是" if str(r.drg_dip_flag) == "1" else "否")
        for r in hosp.itertuples(index=False)]
    for i, (code, nm, lv, flag) in enumerate(rows, 5):
        for j, v in enumerate((code, nm, lv, flag), 1):
            c = ws.cell(i, j, v or None)
            c.font, c.border = (_BOLD if not code else _BODY), _BOX
        for j, ind in enumerate(inds, 5):
            r = look.get((ind.id, code))
            c = ws.cell(i, j)
            c.border, c.font = _BOX, _BODY
            if r is None:
                c.value = "—"
            elif r.status == "ok":
                c.value = cell_value(ind, r.value)
                c.number_format = number_format(ind)
            else:
                c.value = STATUS_CELL.get(r.status, r.status)
            if not isinstance(c.value, float):
                c.alignment = Alignment(horizontal="center")
    ws.freeze_panes = "C5"
    _widths(ws, widths)
    print_setup(ws, 4, len(headers), 4 + len(rows), f"{name}定点医疗机构数据底稿指标（{period.label}）")


def notes_sheet(wb: Workbook, info: dict, period: Period) -> None:
    ws = wb.create_sheet("说明")
    name = str(info.get("poolarea_name") or info.get("poolarea_no") or "")
    _title(ws, 3, f"{name}数据底稿说明（{period.label}）", "状态、频次规则、小样本处理和数据来源")
    rows = [
        ("状态", "正常", "按口径计算的数值。"),
        ("状态", "不予公布（<5）", "机构层面比率、均值的分母不足5例，或计数、金额所依据的病例为1–4例，不公布数值（统筹地区值不受影响）；"
                              "由不予公布的数值计算的比率、次均费用、增长率同样不予公布；某项可加总指标（特例单议申请和通过病例数、"
                              "住院总费用、门诊人次、出院人次）仅一家机构不予公布时，另将数值最小的一家一并不予公布，使统筹地区值减去"
                              "已公布机构之和不能反推其数值。"),
        ("状态", "不适用（—）", "指标建议公开频次与本期不符、标题行（16、19）、未开展DRG/DIP付费的机构（30）、DIP地区的CMI，"
                          "或分母为0无可计算数据。"),
        ("状态", "缺少输入", "数据集缺少所需的可选数据：月度结算拨付（14）、下一年度预算（24–27）、特例单议（33–35）、"
                        "本期基金报表或参保人数月份、12个月基金报表（48、49）。"),
        ("频次规则", "月", "每期发布。"),
        ("频次规则", "季度、半年、年（累计数或期末数）", "本期最后一个月是该频次周期末（季度：3/6/9/12月；半年：6/12月；年：12月）时发布："
                                       "14、18、21、22、23、24–27、46、47。"),
        ("频次规则", "半年（当期数）", "特例单议（33–35）和住院率（42）在季度、半年、年度期间发布（季发布），按整个期间计算；月推送不发布。"),
        ("同比/环比", "计算方法", "金额、人次、指数：（本期/比较期−1）×100%；百分比指标：本期−比较期（百分点）；"
                             "累计数只比同比；比较期数值为0或负数时不计算增长率。"),
        ("口径", "结算归属", "结算按结算时间归属期间；退费结算及其原结算均不计；本地参保人指参保地与就医地相同。"),
        ("口径", "门诊类/住院类", "门诊类：医疗类别11、14、51；住院类：医疗类别以2开头及52；定点药店购药（41）两者均不计。"),
        ("来源", "医保基金报表", "指标1–10、12、15–23、48、49。"),
        ("来源", "统筹地区结算数据", "指标11、13、36–42、45；月度结算拨付（14）；总额预算（24–27）。"),
        ("来源", "医保信息平台", "结算清单与分组结果（28–32、43、44、CMI）；特例单议（33–35）；定点机构与参保人数（46、47）。"),
        ("知悉范围", "保密", CONFIDENTIALITY + "。本工作簿不含任何参保人个人信息。"),
    ]
    _header(ws, 4, ["类别", "项目", "说明"], [12, 28, 100])
    for i, r in enumerate(rows, 5):
        for j, v in enumerate(r, 1):
            c = ws.cell(i, j, v)
            c.font, c.alignment, c.border = _BODY, _WRAP, _BOX
    _widths(ws, [12, 28, 100])
    print_setup(ws, 4, 3, 4 + len(rows), f"{name}数据底稿说明（{period.label}）")


def _stable_zip(data: bytes) -> bytes:
    """Rewrite an xlsx (zip) with fixed timestamps so identical content gives identical bytes."""
    return stable_zip(data, "2000-01-01")


def workbook_bytes(cmp: pd.DataFrame, info: dict, period, inst: pd.DataFrame) -> bytes:
    """The workbook as bytes. ``cmp`` is :func:`yibao.metrics.indicators.compare`'s result, ``inst`` the
    region's institutions (:func:`yibao.metrics.indicators.institutions`)."""
    p = Period.parse(period)
    wb = Workbook()
    region_sheet(wb, cmp, info, p)
    institution_sheet(wb, cmp, info, p, inst)
    notes_sheet(wb, info, p)
    wb.properties.creator = "yibao"
    wb.properties.title = f"{info.get('poolarea_name', '')}数据底稿{p.label}"
    wb.properties.created = wb.properties.modified = _FIXED_TIME
    wb.properties.lastModifiedBy = "yibao"
    xlsx_workbook(wb)  # names and codes from data stay text (never a formula)
    buf = io.BytesIO()
    wb.save(buf)
    return _stable_zip(buf.getvalue())


def write_workbook(path, cmp: pd.DataFrame, info: dict, period, inst: pd.DataFrame) -> Path:
    """Write digao.xlsx atomically."""
    data = workbook_bytes(cmp, info, period, inst)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def build(wh, region: str, period, out_path) -> Path:
    """Convenience: compute and write the workbook for a region and period."""
    from yibao.metrics import indicators
    p = Period.parse(period)
    cmp = indicators.compare(wh, region, p)
    return write_workbook(out_path, cmp, wh.region(str(region)), p, indicators.institutions(wh, region, p))
