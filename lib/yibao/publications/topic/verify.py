"""Section 5 — 核实: the hospitals asked to verify their coding and costs, and why.
"""
from __future__ import annotations


import pandas as pd

from yibao.escape import strong
from yibao import fmt
from yibao.publications.topic.prose import child_changes
from yibao.publications.topic.study import Study


def verification_section(ctx, rep, st: Study) -> None:
    """The upcoding signal of the findings engine and the hospitals asked to verify (核实)."""
    if st.empty:
        return
    sig = st.signal
    kind = "高套病组" if st.topic.kind == "adrg" else "高靠诊断"
    if st.findings_error:
        rep.md(f"本期问题线索清单未能生成（{st.findings_error}），以下仅依据本专题的数据比对。")
    elif len(sig):
        rep.md(f"医保部门问题线索清单中，涉及{st.topic.title}的疑似{kind}线索{len(sig)}条，涉及"
               f"{sig['fixmedins_code'].nunique()}家机构：" + "；".join(
                   f"{r.fixmedins_name}（{r.message}）" for r in sig.itertuples()) + "。")
    else:
        rep.md(f"医保部门问题线索清单中没有涉及{st.topic.title}的疑似{kind}线索。")
    v = st.verify
    crit = (f"核实标准：与{st.base.label if st.base else '上年同期'}相比（两期病例数均不少于{st.min_cases}例），"
            f"高费用{st.topic.child_unit(st.pay_method)}占比提高超过{fmt.num(st.share_pp, 0)}个百分点"
            f"（或较{st.first.label}提高超过{fmt.num(st.share_pp, 0)}个百分点）、次均费用变化超过{fmt.num(st.cost_pct, 0)}%、"
            f"病例数变化超过{fmt.num(st.volume_pct, 0)}%，或问题线索清单提示疑似{kind}。")
    if v.empty:
        rep.md(f"按上述标准，{st.period.label}没有数据波动异常、需要核实的机构。{crit}")
        return
    rep.md(f"按下列标准，{st.period.label}有{len(v)}家机构{st.topic.title}数据波动异常，请以适当方式沟通核实，"
           f"或由相关机构提交分析报告。{crit}")
    cnt = st.cells.groupby(["fixmedins_code", "child", "period"])["cases"].sum()
    told = v[v["reasons"].map(lambda rs: any("占比" in x or "问题线索" in x for x in rs))].head(5)
    for r in told.itertuples():
        if r.fixmedins_code not in cnt.index.get_level_values(0):
            continue
        hc = cnt.loc[r.fixmedins_code]
        parts = []
        if st.base is not None:
            ch = child_changes(st, hc, st.base, st.period, hospital=True)
            if ch:
                parts.append(f"与{st.base.label}相比，{ch}")
        if len(st.periods) > 2:
            ch = child_changes(st, hc, st.first, st.period, hospital=True)
            if ch:
                parts.append(f"与{st.first.label}相比，{ch}")
        head = f"{strong(str(r.fixmedins_name))}：{'；'.join(r.reasons)}。"
        rep.md(head + ("。".join(parts) + "。" if parts else "") + f"请说明：{r.explain}。")
    # a change computed on a count shown as "<5" is suppressed too (else the reader computes the count)
    hidden = [any(0 < n < st.suppress for n in (a, b)) for a, b in zip(v["cases"].fillna(0), v["base_cases"].fillna(0))]
    t = pd.DataFrame({
        "机构名称": v["fixmedins_name"], "级别": v["lv_group"],
        "本期病例": v["cases"].map(st.count), "同期病例": v["base_cases"].map(st.count),
        "病例数变化": [f"<{st.suppress}" if h else fmt.signed_pct(x) for h, x in zip(hidden, v["volume_change"])],
        "次均费用变化": v["cost_change"].map(fmt.signed_pct),
        "高费用占比（本期）": v["high_share"].map(lambda x: fmt.pct(x, 1)),
        "占比变化（百分点）": v["share_change"].map(lambda x: fmt.DASH if pd.isna(x) else fmt.signed(x)),
        "问题线索": v["signal"].map(_signal_words),
        "需说明事项": v["explain"],
    })
    rep.table(t, f"{st.period.label}{st.topic.title}需核实的机构",
              note=f"同期为上一对比期间（默认上年同期）；病例数少于{st.suppress}例的显示为“<{st.suppress}”，由其计算的变化率同样不予公布；"
                   "数据比对结果不等同于违规认定，请相关机构据实说明。")


def _signal_words(ids: str) -> str:
    """The rule ids of a hospital's findings as readers' words ('UPCODING_DRG' → '疑似高套病组'), '—' for none."""
    from yibao.findings.engine import RULES
    names = [RULES[i].name.split("（")[0] if i in RULES else i for i in str(ids or "").split(",") if i]
    return "、".join(names) or fmt.DASH
