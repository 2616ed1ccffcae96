"""What the quarterly notebook puts on the 发布会 deck (handbook 四(二), 六; docs/render.md, "The deck").

The deck is made by the renderer from the SAME executed notebook as the report: the sections emit, beside
their report content, ``Report.deck`` outputs with no visible text (so the notebook reads as the report in
JupyterLab) and mark their main charts with ``Report.figure(…, slide=…)``. This module holds the key figures
of 钱 / 效 / 错 — region-level values of ``indicators.csv`` formatted as the report writes them — and the
shape of the other parts:

* ``key``: ``{"group": "钱", "title": …, "figures": [{"indicator", "label", "value", "note"}]}``
* ``explain``: ``{"due": "2026年12月1日", "to": "东岚市医疗保障局", "rows": [{"name", "topics", "count"}]}``
* ``next``: ``{"items": [{"title": "意见反馈", "text": …, "date": …}]}``
"""
from __future__ import annotations

from yibao import fmt
from yibao.publications.context import Context

# (group, slide title, [(indicator id, label, how the value is written)])
KEY_FIGURES = (
    ("钱", "钱：基金收支", (
        ("1", "医保基金收入", "money"), ("8", "医保基金支出", "money"), ("15", "基金当期结余", "balance"))),
    ("效", "效：支付方式改革运行成效", (
        ("28", "结算清单上传率", "pct"), ("29", "结算清单质控通过率", "pct"), ("30", "DRG/DIP结算人次占比", "pct"),
        ("x_cmi", "病例组合指数（CMI）", "ratio"))),
    ("错", "错：重点关注指标", (
        ("40", "门诊住院人次比", "ratio"), ("45", "医保外费用占比", "pct"), ("41", "出院人次增长率", "pct"))),
)


def written(value, how: str) -> str:
    """A key figure as the report writes it (fmt), '—' when not available."""
    if value is None:
        return fmt.DASH
    return {"money": fmt.money, "balance": fmt.balance, "pct": fmt.pct,
            "ratio": lambda v: fmt.ratio(v, 2)}[how](value)


def key_figures(ctx: Context) -> list[dict]:
    """The three groups of key figures (钱 / 效 / 错) for the deck; figures the period does not have are left out."""
    groups = []
    for group, title, items in KEY_FIGURES:
        figs = []
        for iid, label, how in items:
            v = ctx.value(iid)
            if v is None:
                continue
            note = ctx.change(iid, "同比") if iid != "x_cmi" else "区域整体"
            if how == "money":
                note = f"{ctx.period.range_label}累计，{note}"
            figs.append({"indicator": iid, "label": label, "value": written(v, how), "note": note})
        if figs:
            groups.append({"group": group, "title": title, "figures": figs})
    return groups


def emit_key_figures(ctx: Context, rep) -> None:
    """One ``key`` deck output per group (钱 / 效 / 错), and the count of 问题线索 with the 错 group."""
    groups = key_figures(ctx)
    f = ctx.findings
    if f is not None:
        hm = f[f["severity"].isin(["high", "medium"])] if not f.empty else f
        for g in groups:
            if g["group"] == "错":
                g["figures"].append({"indicator": "", "label": "需重点核查的问题线索",
                                     "value": f"{len(hm)}条",
                                     "note": f"涉及{hm['fixmedins_code'].nunique() if len(hm) else 0}家机构"})
    for g in groups:
        rep.deck("key", **g)
