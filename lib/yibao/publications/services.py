"""Items the quarterly report must carry besides the 底稿 (issue 13, Must 5; Fujian rules 第十一条, handbook
附录2): 入院 and 出院 人次, 异地就医 expenditure, the common 清单质控 problems. Each function returns the
figures; :mod:`yibao.publications.quarterly` words them.
"""
from __future__ import annotations

import pandas as pd

from yibao import fmt
from yibao.metrics import analysis
from yibao.publications.context import Context


def admissions(ctx: Context) -> int:
    """入院人次: local patients' inpatient settlements (netted) at the region's institutions whose admission
    date (begndate) falls in the period — the admissions of the period already settled by the data's date
    (:func:`yibao.metrics.analysis.admissions`, read from the job's aggregates when there)."""
    v = analysis.admissions(ctx.wh, ctx.region, ctx.period.code)["admissions"].iloc[0]
    return int(0 if pd.isna(v) else v)


def remote_care(ctx: Context) -> dict:
    """异地就医 of the period (统筹基金支付, settlements, netted): the region's insured treated at other regions'
    institutions of the dataset (out), and other regions' insured treated here (in)."""
    r = analysis.remote_care(ctx.wh, ctx.region, ctx.period.code).iloc[0]
    return {"out_n": int(r["out_n"]), "out_pay": float(r["out_pay"]),
            "in_n": int(r["in_n"]), "in_pay": float(r["in_pay"])}


def remote_care_text(ctx: Context) -> str:
    r = remote_care(ctx)
    return (f"异地就医方面，{ctx.label}本地参保人在数据覆盖的其他统筹地区就医结算{fmt.count(r['out_n'])}人次，"
            f"统筹基金支付{fmt.money(r['out_pay'])}；外地参保人在本地定点医药机构就医结算{fmt.count(r['in_n'])}人次，"
            f"统筹基金支付{fmt.money(r['in_pay'])}（由参保地基金支付）。")


def qc_problems(ctx: Context, top: int = 5) -> pd.DataFrame:
    """The period's most frequent 清单质控 problems (the monthly push's count, over the quarter's months)."""
    return analysis.qc_problems(ctx.wh, ctx.region, ctx.period.code).head(top)


def qc_problems_section(ctx: Context, rep) -> None:
    q = qc_problems(ctx)
    if q.empty:
        rep.md(f"{ctx.label}结算清单质控未发现问题记录。")
        return
    rep.md(f"{ctx.label}结算清单质控中最常见的问题是" + "、".join(
        f"“{r.problem}”（{fmt.count(r.lists)}份清单）" for r in q.head(3).itertuples())
        + "，请各机构对照整改。")
    rep.table(pd.DataFrame({"质控问题": q["problem"].values, "出现次数": q["occurrences"].map(fmt.count).values,
                            "涉及清单数": q["lists"].map(fmt.count).values,
                            "涉及机构数": q["institutions"].map(fmt.count).values,
                            "占未通过清单比例": q["share"].map(lambda x: fmt.pct(x, 1)).values}),
              f"{ctx.label}结算清单常见质控问题", note="一份清单可有多个质控问题；比例以质控未通过的清单为分母。")
