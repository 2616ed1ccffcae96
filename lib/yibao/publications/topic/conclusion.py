"""Sections 6–7 — 结论与建议 and the 口径 appendix.
"""
from __future__ import annotations


import numpy as np

from yibao.escape import strong
from yibao import fmt
from yibao.publications.topic.prose import _chg, _yuan
from yibao.publications.topic.study import Study


def conclusion(ctx, rep, st: Study) -> None:
    """A short conclusion generated from the numbers."""
    if st.empty:
        rep.md(f"{st.period.label}{st.region_name}无{st.topic.title}病例，建议结合 `yibao topics` 的候选排序另选专题。")
        return
    cur, base = st.row(st.period), st.row(st.base)
    basis = st.basis(st.period, st.base) if st.base else ""
    items = []
    if base is not None:
        items.append(f"{strong('规模和费用。')}{st.topic.title}病例数{_chg(cur['cases'], base['cases'], basis)}，"
                     f"次均费用{_chg(cur['avg_cost'], base['avg_cost'], basis)}，医疗费用总额"
                     f"{_chg(cur['medfee'], base['medfee'], basis)}。"
                     + ("病例数和次均费用同时上升，费用总额增长较快，需关注。" if
                        (fmt.growth_pct(cur['cases'], base['cases']) or 0) > 0 and
                        (fmt.growth_pct(cur['avg_cost'], base['avg_cost']) or 0) > 0 else ""))
    bm = st.bench
    if bm["n"] >= 2:
        items.append(f"{strong('机构差异。')}资源消耗中位数{_yuan(bm['median'])}，标杆值{_yuan(bm['benchmark'])}，"
                     f"机构间次均费用最高是最低的{fmt.ratio(bm['max'] / bm['min'], 1)}倍。"
                     "次均费用高于中位数的机构请对标标杆值，优化诊疗路径，控制不合理费用。")
    s = st.struct
    if st.high and st.base is not None and len(s):
        hs = s[s["high"]].groupby("period")["share"].sum()
        d = hs.get(st.period.code, np.nan) - hs.get(st.base.code, np.nan)
        unit = st.topic.child_unit(st.pay_method)
        if not np.isnan(d):
            hint = ("支付标准较高的病例占比上升，需关注是否存在“高编高靠”。" if d >= st.share_pp / 2 else
                    "结构总体稳定。" if abs(d) < st.share_pp / 2 else "高费用病例占比下降。")
            items.append(f"{strong('病种结构。')}全区域高费用{unit}病例占比{fmt.pct(hs.get(st.period.code), 1)}，"
                         f"{_chg(hs.get(st.period.code), hs.get(st.base.code), basis, True)}，{hint}")
    v = st.verify
    if len(v):
        items.append(f"{strong('需核实机构。')}{len(v)}家机构数据波动异常（{'、'.join(v['fixmedins_name'].head(6))}"
                     f"{'等' if len(v) > 6 else ''}），请相关机构对照本报告所列事项自查并提交说明；"
                     f"医保部门将结合病历抽查核实{'是否存在高套病组' if st.topic.kind == 'adrg' else '是否存在高靠诊断'}。")
    else:
        items.append((strong("需核实机构。") + "本期未发现需要核实的机构。"))
    for i, text in enumerate(items, 1):
        rep.md(f"{i}. {text}")


def definitions(ctx, rep, st: Study) -> None:
    """口径说明 appendix."""
    rep.md(
        f"1. {strong('病例。')}{st.region_name}定点医疗机构已上传医保结算清单、结算未被冲销的住院病例，按结算时间归属期间；"
        + ("ADRG专题按DRG编码前三位归类。" if st.topic.kind == "adrg" else "ICD专题按主要诊断编码（ICD-10医保版2.0）归类。")
        + f"\n2. {strong('次均费用、病例费用中位数。')}医疗费用总额÷病例数；病例费用中位数为全部病例医疗费用的中位数。"
        f"机构次均费用仅对病例数不少于{st.min_cases}例的机构计算。"
        f"\n3. {strong('资源消耗中位数。')}参与比较机构（病例数不少于{st.min_cases}例）次均费用的中位数。"
        f"\n4. {strong('标杆值。')}参与比较机构次均费用的第25百分位数（线性插值），即四分之一的机构达到或优于的水平；平均住院日同理。"
        + ("\n5. " + strong("高费用细分组。") + "ADRG下合并症或并发症最严重的细分组（末位1伴严重合并症或并发症；"
           "没有1组的ADRG取3组）。" if st.topic.kind == "adrg" else
           f"\n5. {strong('高费用' + str(st.topic.child_unit(st.pay_method)) + '。')}对比期间合计平均费用高于该专题整体平均费用的"
           f"{st.topic.child_unit(st.pay_method)}。")
        + f"\n6. {strong('核实标准。')}两期病例数均不少于{st.min_cases}例时，高费用占比提高超过{fmt.num(st.share_pp, 0)}个百分点、"
        f"次均费用变化超过{fmt.num(st.cost_pct, 0)}%、病例数变化超过{fmt.num(st.volume_pct, 0)}%，或问题线索清单"
        f"提示该专题的疑似高套病组或高靠诊断。"
        f"\n7. {strong('数据安全。')}报告不含参保人个人信息；机构层面病例数少于{st.suppress}例的显示为“<{st.suppress}”。"
        f"数据仅限{st.region_name}定点医药机构内部使用，不得对外传播。")
