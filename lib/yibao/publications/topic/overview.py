"""Sections 1–2 — 概况 and 服务量与费用: the topic's volume, cost and composition over the periods.
"""
from __future__ import annotations


import numpy as np
import pandas as pd

from yibao import fmt
from yibao.data import reference
from yibao.data.contract import FEE_COMPONENTS
from yibao.publications.topic.codes import FEE_LABELS
from yibao.publications.topic.prose import _charts, _chg, _move, _yuan
from yibao.publications.topic.study import Study


# ---- sections: the notebook calls these in order ------------------------------------------------------

def overview(ctx, rep, st: Study) -> None:
    """Opening: what is studied, which cases, which periods, who leads; the report title."""
    t = st.topic
    try:
        rep.meta(title=f"{st.region_name}{t.title}专题分析报告", subtitle=st.period.label)
    except AttributeError:
        pass
    comp = "、".join(p.label for p in st.periods[:-1])
    if t.kind == "adrg":
        scope = (f"按DRG分组结果入组{t.code}（{t.name}，属{t.mdc}{_mdc_name(t.mdc)}）各细分组的住院病例")
    elif t.kind == "chapter":
        scope = f"主要诊断编码在{t.code_range}范围内（ICD-10{t.title}）的住院病例"
    else:
        scope = f"主要诊断编码属于ICD-10医保版2.0{t.unit}{t.code}“{t.name}”的住院病例"
    lead = f"本专题由{st.lead}牵头承办" + (f"，{st.authors}执笔" if st.authors else "") + "。" if st.lead else (
        f"执笔：{st.authors}。" if st.authors else "")
    rep.md(
        f"根据《医保数据发布简明工作手册》专题分析要求，本报告分析{st.region_name}{st.period.label}{t.title}"
        f"病例的结算量、费用、费用构成和{t.child_unit(st.pay_method)}结构，并与{comp}比较，向定点医疗机构提供"
        f"资源消耗中位数、标杆值和排名信息，对数据波动异常的机构提出核实要求。{lead}")
    rep.md(f"分析对象为{st.region_name}定点医疗机构{scope}：结算时间在期间内、结算未被冲销且已上传医保结算清单；"
           f"费用为医疗费总额，费用构成取自结算清单。机构次均费用仅对病例数不少于{st.min_cases}例的机构计算和排名，"
           f"机构层面病例数少于{st.suppress}例的显示为“<{st.suppress}”。")
    last = st.wh.months()[-1:] or [""]
    if last[0] and last[0] < st.period.last_month:
        rep.callout(f"数据截至{last[0][:4]}年{int(last[0][5:])}月，{st.period.label}的数据不完整，"
                    f"与对比期间的比较仅供参考。", kind="warning")
    if st.empty:
        rep.callout(f"{st.period.label}{st.region_name}没有{t.title}的病例，本专题暂无可分析的数据。"
                    f"可用 `yibao topics` 查看本地区结算量较大的候选专题。", kind="warning")


def _mdc_name(mdc: str) -> str:
    m = reference.mdc().set_index("mdc_code")["mdc_name"]
    return str(m.get(mdc, ""))


def volume_cost(ctx, rep, st: Study) -> None:
    """结算量、总额、次均费用、费用构成及年度间变化 (a table by period and a chart)."""
    if st.empty:
        return
    s = st.summary
    cur, base, first = st.row(st.period), st.row(st.base), st.row(st.first)
    basis = st.basis(st.period, st.base) if st.base else ""
    text = (f"{st.period.label}，{st.region_name}{st.topic.title}结算{fmt.count(cur['cases'])}例"
            f"（{_chg(cur['cases'], base['cases'], basis) if base is not None else '无对比期'}），"
            f"医疗费用总额{fmt.money(cur['medfee'])}（{_chg(cur['medfee'], base['medfee'], basis) if base is not None else ''}），"
            f"次均费用{_yuan(cur['avg_cost'])}（{_chg(cur['avg_cost'], base['avg_cost'], basis) if base is not None else ''}），"
            f"病例费用中位数{_yuan(cur['case_median'])}；平均住院日{fmt.num(cur['avg_los'], 1)}天，"
            f"统筹基金支付{fmt.money(cur['hifp_pay'])}，占医疗费用的{fmt.pct(cur['fund_share'], 1)}。"
            f"共有{int(cur['hospitals'])}家定点医疗机构收治该病种病例。")
    if first is not None and len(st.periods) > 2 and first["cases"]:
        text += (f"与{st.first.label}相比，病例数{_move(cur['cases'], first['cases'])}，"
                 f"次均费用{_move(cur['avg_cost'], first['avg_cost'])}。")
    rep.md(text)
    # cost composition
    if cur["fee_total"] > 0:
        shares = {f: cur[f + "_share"] for f in FEE_COMPONENTS}
        top = sorted(shares, key=lambda f: -(shares[f] if not np.isnan(shares[f]) else -1))[:3]
        txt = "费用构成中，" + "、".join(f"{FEE_LABELS[f]}占{fmt.pct(shares[f], 1)}" for f in top)
        if base is not None and base["fee_total"] > 0:
            moves = {f: cur[f + "_share"] - base[f + "_share"] for f in FEE_COMPONENTS}
            big = max(moves, key=lambda f: abs(moves[f]) if not np.isnan(moves[f]) else -1)
            if not np.isnan(moves[big]) and abs(moves[big]) >= 0.5:
                txt += (f"；变化最大的是{FEE_LABELS[big]}占比，{_chg(cur[big + '_share'], base[big + '_share'], basis, True)}")
        rep.md(txt + "。")
    cols = {st.short(p): p for p in st.periods}
    srow = s.set_index("period")
    lines = [("病例数（例）", "cases", fmt.count), ("医疗费用总额（万元）", "medfee", fmt.wan),
             ("次均费用（元）", "avg_cost", fmt.num), ("病例费用中位数（元）", "case_median", fmt.num),
             ("平均住院日（天）", "avg_los", lambda x: fmt.num(x, 1)),
             ("统筹基金支付（万元）", "hifp_pay", fmt.wan), ("统筹基金支付占比", "fund_share", lambda x: fmt.pct(x, 1)),
             ("收治机构数（家）", "hospitals", fmt.count)]
    lines += [(f"{FEE_LABELS[f]}占比", f + "_share", lambda x: fmt.pct(x, 1)) for f in FEE_COMPONENTS]
    tab = {"项目": [lab for lab, _, _ in lines]}
    for lab, p in cols.items():
        tab[lab] = [f(srow.loc[p.code, k]) for _, k, f in lines]
    if st.base is not None:
        tab[f"{st.period.year}年{basis}" if basis in ("同比", "环比") else "变化"] = [
            (fmt.signed_pct(fmt.growth_pct(srow.loc[st.period.code, k], srow.loc[st.base.code, k]))
             if not k.endswith("share") else
             _pp(srow.loc[st.period.code, k], srow.loc[st.base.code, k])) for _, k, _ in lines]
    rep.table(pd.DataFrame(tab), f"{st.region_name}{st.topic.title}结算量、费用和费用构成（{st.season or '全年'}）",
              note="费用构成占比按结算清单费用明细计算；病例费用中位数为全部病例医疗费用的中位数。"
                   "变化一列中，金额和例数为增长率，占比为百分点。")
    _volume_chart(rep, st)


def _pp(cur, base) -> str:
    if cur is None or base is None or np.isnan(cur) or np.isnan(base):
        return fmt.DASH
    return f"{fmt.signed(cur - base)}个百分点"


def _volume_chart(rep, st: Study) -> None:
    plt = _charts()
    from yibao.publications import charts
    s = st.summary
    fig, ax = plt.subplots(figsize=(charts.TEXT_WIDTH_IN, 3.2))
    x = np.arange(len(s))
    ax.bar(x, s["cases"].astype(float), width=0.5, color=charts.MUTED, label="病例数（例，左轴）")
    ax.set_ylabel("病例数（例）")
    ax.set_xticks(x)
    ax.set_xticklabels([st.short(p) for p in st.periods])
    ax2 = ax.twinx()
    ax2.plot(x, s["avg_cost"].astype(float), marker="o", color=charts.PALETTE[0], label="次均费用（元，右轴）")
    ax2.grid(False)
    ax2.set_ylabel("次均费用（元）")
    vals = s["avg_cost"].astype(float)
    ax2.set_ylim(0, (np.nanmax(vals.values) if vals.notna().any() else 1) * 1.3)
    for xi, v in zip(x, vals):
        if not np.isnan(v):
            ax2.annotate(fmt.num(v), (xi, v), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7.5)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, borderaxespad=0.2)
    rep.figure(fig, f"{st.topic.title}病例数和次均费用（{st.season or '全年'}）")
