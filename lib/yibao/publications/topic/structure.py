"""Section 4 — 病种结构变迁: how cases move between the topic's groups, region-wide and by hospital.
"""
from __future__ import annotations


import pandas as pd

from yibao import fmt
from yibao.data import reference
from yibao.publications import disclosure
from yibao.publications.topic.codes import COMPLICATION, MAX_CHILDREN
from yibao.publications.topic.overview import _pp
from yibao.publications.topic.prose import _bad, _charts, _chg, _child_label, _yuan, child_changes
from yibao.publications.topic.study import Study


def structure_section(ctx, rep, st: Study) -> None:
    """Structure: the children (DRG subgroups by complication level / subcategories / DIP groups /
    categories) — counts, shares, average cost and their change; hospitals × children."""
    if st.empty:
        return
    t = st.topic
    unit = t.child_unit(st.pay_method)
    s = st.struct
    cnt = s.set_index(["child", "period"])["cases"]
    children = s[s["period"] == st.period.code].sort_values("cases", ascending=False)["child"].tolist()
    if len(children) <= 1 and len(s["child"].unique()) <= 1:
        only = s["child"].iloc[0] if len(s) else t.code
        rep.md(f"{t.title}的病例全部属于{_child_label(st, only)}，没有可比较的{unit}结构。")
        return
    national = [c for c in reference.drg()["drg_code"] if c.startswith(t.code)] if t.kind == "adrg" else []
    intro = {"adrg": (f"CHS-DRG 2.0中{t.code}细分为{'、'.join(national)}，" if national else "")
                     + f"本地区{t.code}病例分布在{len(s['child'].unique())}个DRG细分组（编码末位1为伴严重合并症或并发症、"
                     f"3为伴一般合并症或并发症、5为不伴合并症或并发症、9为不区分），细分组间支付标准差异较大",
             "category": f"{t.code}类目下按主要诊断的亚目（第4位编码）分为{len(s['child'].unique())}个诊断亚目",
             "subcategory": f"{t.code}亚目下的病例分属{len(s['child'].unique())}个{unit}",
             "chapter": f"{t.title}下的病例分属{len(s['child'].unique())}个诊断类目"}[t.kind]
    high = [c for c in children if c in st.high] or sorted(st.high)
    if t.kind == "adrg" and high:
        level = COMPLICATION.get(high[0][-1], "")
        gap = ""
        std = st.child_pay_std
        low = [c for c in sorted(s["child"].unique()) if c not in st.high and std.get(c) and not _bad(std.get(c))]
        if std.get(high[0]) and low:
            lo = min(low, key=lambda c: std[c])
            gap = (f"，{high[0]}支付标准{_yuan(std[high[0]])}，比{lo}（{_yuan(std[lo])}）"
                   f"高{_yuan(std[high[0]] - std[lo])}")
        rule = f"其中{'、'.join(high)}为{level}的细分组（下称“高费用细分组”）{gap}"
    else:
        rule = (f"按各{unit}在对比期间的平均费用，高于{t.ref}整体平均水平的为“高费用{unit}”"
                f"（{'、'.join(high) if high else '无'}）")
    rep.md(f"{intro}。{rule}。在病种付费下，支付标准较低的病例占比减少、支付标准较高的病例占比上升，"
           f"可能提示“高编高靠”。")
    texts = []
    if st.base is not None:
        ch = child_changes(st, cnt, st.base, st.period)
        if ch:
            texts.append(f"与{st.base.label}相比，{ch}。")
    if len(st.periods) > 2:
        ch = child_changes(st, cnt, st.first, st.period)
        if ch:
            texts.append(f"与{st.first.label}相比，{ch}。")
    hs = s[s["high"]].groupby("period")["share"].sum()
    if high and st.base is not None:
        texts.append(f"全区域高费用{unit}病例占比{st.period.label}为{fmt.pct(hs.get(st.period.code), 1)}，"
                     f"{_chg(hs.get(st.period.code), hs.get(st.base.code), st.basis(st.period, st.base), True)}。")
    if texts:
        rep.md("".join(texts))
    # region table
    shown = children[:MAX_CHILDREN] if t.kind == "chapter" else sorted(s["child"].unique())
    table = _structure_table(st, s, shown)
    rep.table(table, f"{st.region_name}{t.title}{unit}结构（{st.season or '全年'}）",
              note=f"占比为该{unit}病例数占{t.ref}病例数的比例；次均费用在病例数少于{st.min_cases}例时不计算；"
                   f"变化为{st.period.year}年与上一对比期间相比（例数为增长率，占比为百分点）。"
                   + ("支付标准取自本地区分组目录。" if st.child_pay_std else "")
                   + (f"仅列{st.period.label}病例数最多的{MAX_CHILDREN}个类目。" if t.kind == "chapter" else ""))
    _structure_chart(rep, st, shown)
    _hospital_structure_table(rep, st, children)


def _structure_table(st: Study, s: pd.DataFrame, shown: list[str]) -> pd.DataFrame:
    rows = []
    for c in shown:
        d = s[s["child"] == c].set_index("period")
        r = {st.topic.child_unit(st.pay_method): c, "名称": st.child_names.get(c, "")}
        if st.topic.kind == "adrg":
            r["合并症或并发症"] = COMPLICATION.get(c[-1], "—") if len(c) == 4 else "—"
        if st.child_pay_std:
            r["支付标准（元）"] = fmt.num(st.child_pay_std.get(c))
        for p in st.periods:
            r[f"{st.short(p)}例数"] = fmt.count(d.loc[p.code, "cases"]) if p.code in d.index else "0"
        for p in st.periods:
            r[f"{st.short(p)}占比"] = fmt.pct(d.loc[p.code, "share"], 1) if p.code in d.index else fmt.DASH
        r[f"{st.short(st.period)}次均费用（元）"] = fmt.num(d.loc[st.period.code, "avg_cost"])
        if st.base is not None:
            r["例数变化"] = fmt.signed_pct(fmt.growth_pct(d.loc[st.period.code, "cases"], d.loc[st.base.code, "cases"]))
            r["占比变化"] = _pp(d.loc[st.period.code, "share"], d.loc[st.base.code, "share"])
        r["高费用"] = "是" if c in st.high else ""
        rows.append(r)
    return pd.DataFrame(rows)


def _structure_chart(rep, st: Study, shown: list[str]) -> None:
    _charts()
    from yibao.publications import charts
    s = st.struct
    top = shown[:7] if len(shown) > 8 else shown
    rows = []
    for p in st.periods:
        d = s[s["period"] == p.code].set_index("child")["cases"]
        row = {"期间": st.short(p)}
        row.update({c: float(d.get(c, 0) or 0) for c in top})
        rest = float(d.sum()) - sum(row[c] for c in top)
        if len(s["child"].unique()) > len(top):
            row["其他"] = max(rest, 0.0)
        rows.append(row)
    df = pd.DataFrame(rows)
    parts = [c for c in df.columns if c != "期间"]
    fig = charts.stacked_share(df, "期间", parts, labels={c: c + ("*" if c in st.high else "") for c in parts})
    rep.figure(fig, f"{st.topic.title}{st.topic.child_unit(st.pay_method)}构成变化",
               note="按病例数计算的构成；带*的为高费用细分组（见附“统计口径”）。")


def _hospital_structure_table(rep, st: Study, children: list[str]) -> None:
    c = st.cells
    cur = c[c["period"] == st.period.code]
    if cur.empty:
        return
    cols = children[:6]
    piv = cur.pivot_table(index="fixmedins_code", columns="child", values="cases", aggfunc="sum", fill_value=0)
    hs = st.hstruct.set_index(["fixmedins_code", "period"])
    h = st.hosp.set_index("fixmedins_code")
    order = h.sort_values(["cases"], ascending=False).index
    rows, raw = [], []
    for code in order:
        if code not in piv.index:
            continue
        r = {"机构名称": h.loc[code, "fixmedins_name"], "级别": h.loc[code, "lv_group"],
             "病例数": st.count(h.loc[code, "cases"])}
        v = {"病例数": h.loc[code, "cases"]}
        for ch in cols:
            r[ch] = st.count(piv.loc[code].get(ch, 0))
            v[ch] = piv.loc[code].get(ch, 0)
        if len(children) > len(cols):
            v["其他"] = piv.loc[code, [x for x in piv.columns if x not in cols]].sum()
            r["其他"] = st.count(v["其他"])
        raw.append(v)
        if st.high:
            for p, lab in ((st.base, "同期"), (st.period, "本期")):
                if p is None:
                    continue
                key = (code, p.code)
                ok = key in hs.index and hs.loc[key, "cases"] >= st.min_cases
                r[f"高费用占比（{st.short(p)}）"] = fmt.pct(hs.loc[key, "high_share"], 1) if ok else fmt.DASH
        rows.append(r)
    t = pd.DataFrame(rows)
    parts = [c for c in cols + ["其他"] if c in t.columns]
    counts = {c: [v.get(c, 0) for v in raw] for c in ["病例数"] + parts}
    # a row's 病例数 is the sum of its parts, and the region's count of each part is in the structure table above:
    # a lone "<5" in a row or a column would be given back by subtraction (disclosure.protect)
    t = disclosure.protect(t, counts, {"病例数": [c for c in t.columns if c.startswith("高费用占比")]},
                           row_total=("病例数", parts))
    rep.table(t, f"{st.period.label}各机构{st.topic.title}{st.topic.child_unit(st.pay_method)}病例数",
              note=f"{disclosure.NOTE}；高费用占比仅对该期病例数不少于{st.min_cases}例的机构计算。")
