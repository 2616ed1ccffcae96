"""Section 3 — 医院比较: hospitals against the 标杆值 and the median, within their level.
"""
from __future__ import annotations

import pandas as pd

from yibao.escape import strong
from yibao import fmt
from yibao.data.contract import LEVEL_ORDER
from yibao.publications.topic.cells import level_comparison
from yibao.publications.topic.prose import _charts, _yuan
from yibao.publications.topic.study import Study


def hospital_comparison(ctx, rep, st: Study) -> None:
    """资源消耗中位数、标杆值、前十位/后十位、同级比较."""
    if st.empty:
        return
    h, bm = st.hosp, st.bench
    n_all, n_el = len(h), bm["n"]
    if n_el == 0:
        rep.md(f"{st.period.label}收治{st.topic.title}病例的{n_all}家机构病例数均少于{st.min_cases}例，"
               f"不计算机构次均费用和排名。")
        return
    el = h[h["eligible"]]
    ratio = bm["max"] / bm["min"] if bm["min"] else None
    above = el[el["avg_cost"] > bm["median"] * 1.5]
    rep.md(
        f"{st.period.label}，收治{st.topic.title}病例的定点医疗机构{n_all}家，其中病例数不少于{st.min_cases}例的"
        f"{n_el}家参与比较。各机构次均费用的{strong('资源消耗中位数为' + str(_yuan(bm['median'])))}，"
        f"{strong('标杆值为' + str(_yuan(bm['benchmark'])))}（参与比较机构次均费用的第25百分位数，即四分之一的机构达到或优于该水平）；"
        f"机构次均费用最高{_yuan(bm['max'])}、最低{_yuan(bm['min'])}"
        + (f"，最高是最低的{fmt.ratio(ratio, 1)}倍" if ratio else "") + "。"
        + (f"平均住院日的机构中位数为{fmt.num(bm['los_median'], 1)}天、标杆值{fmt.num(bm['los_benchmark'], 1)}天。"
           if bm["los_median"] is not None else "")
        + ("参与比较的机构不足3家，中位数和标杆值仅供参考。" if n_el < 3 else "")
        + (f"次均费用超过中位数50%以上的机构{len(above)}家：{'、'.join(above['fixmedins_name'].head(5))}"
           f"{'等' if len(above) > 5 else ''}。" if len(above) else "没有机构次均费用超过中位数50%以上。"))
    _hospital_chart(rep, st)
    n = st.top_n

    def table(d: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            "级别": d["lv_group"], "同级排名": d["level_rank"].map(lambda x: fmt.count(x)), "机构名称": d["fixmedins_name"],
            "病例数": d["cases"].map(st.count), "次均费用（元）": d["avg_cost"].map(fmt.num),
            "与中位数比": d["vs_median"].map(fmt.ratio), "与标杆值比": d["vs_benchmark"].map(fmt.ratio),
            "与同级中位数比": d["vs_level"].map(fmt.ratio),
            "平均住院日": d["avg_los"].map(lambda x: fmt.num(x, 1)),
            "次均费用同比": [fmt.signed_pct(fmt.growth_pct(a, b)) for a, b in zip(d["avg_cost"], d["base_avg_cost"])]
            if "base_avg_cost" in d else fmt.DASH,
        })
    # hospitals are ranked within their level only (a township clinic is never ranked against a tertiary hospital)
    order = {k: i for i, k in enumerate(LEVEL_ORDER)}
    el = el.assign(_o=el["lv_group"].map(order).fillna(len(order)))
    el["level_rank"] = el.groupby("lv_group")["avg_cost"].rank(ascending=False, method="min")
    el = el.sort_values(["_o", "level_rank", "fixmedins_code"], kind="mergesort")
    shown = pd.concat([g.head(n) for _, g in el.groupby("_o", sort=True)])
    note = (f"同一级别内按次均费用由高到低排名，仅含病例数不少于{st.min_cases}例的机构"
            + (f"，每个级别列出次均费用最高的{n}家" if len(shown) < len(el) else "")
            + "；与中位数比、与标杆值比＝机构次均费用÷资源消耗中位数（标杆值）；同级中位数为同一级别参与比较机构次均费用的中位数。")
    rep.table(table(shown), f"{st.period.label}{st.topic.title}各机构次均费用同级排名", note=note)
    lv = level_comparison(h, st.min_cases)
    if len(lv):
        parts = [f"{r.level}机构{r.eligible}家参与比较，中位数{_yuan(r.median)}"
                 + (f"（{_yuan(r.min)}～{_yuan(r.max)}）" if r.eligible > 1 else "")
                 for r in lv.itertuples() if r.eligible]
        if parts:
            rep.md("同级比较：" + "；".join(parts) + "。同级机构间次均费用相差较大的，提示诊疗路径和管理水平存在差异，"
                   "请对标同级标杆机构查找原因。")
        t = pd.DataFrame({"机构级别": lv["level"], "收治机构数": lv["hospitals"].map(fmt.count),
                          "参与比较机构数": lv["eligible"].map(fmt.count), "病例数": lv["cases"].map(fmt.count),
                          "次均费用（元）": lv["avg_cost"].map(fmt.num), "机构中位数（元）": lv["median"].map(fmt.num),
                          "机构最低（元）": lv["min"].map(fmt.num), "机构最高（元）": lv["max"].map(fmt.num)})
        rep.table(t, f"{st.period.label}{st.topic.title}同级机构比较",
                  note="次均费用为该级别全部病例合计；机构中位数、最低、最高仅含参与比较的机构。")
    small = n_all - n_el
    if small:
        rep.md(f"另有{small}家机构病例数少于{st.min_cases}例，未参与比较。")


def _hospital_chart(rep, st: Study) -> None:
    el = st.hosp[st.hosp["eligible"]]
    if len(el) < 2:
        return
    _charts()
    from yibao.publications import charts
    d = pd.DataFrame({"机构": [n if len(n) <= 12 else n[:12] + "…" for n in el["fixmedins_name"]],
                      "次均费用": el["avg_cost"].astype(float).values})
    flagged = set(st.verify["fixmedins_name"]) if len(st.verify) else set()
    hl = [n if len(n) <= 12 else n[:12] + "…" for n in flagged]
    fig = charts.bar(d, "机构", "次均费用", fmt=lambda v: fmt.num(v), highlight=hl, xlabel="次均费用（元）",
                     ref=st.bench["median"], ref_label="资源消耗中位数")
    ax = fig.axes[0]
    ax.axvline(st.bench["benchmark"], color=charts.PALETTE[2], linestyle=":", linewidth=1.2)
    # above the bars, left of its line (the median's label is right of the median's line, and the
    # benchmark is never above the median), not down on the x axis among the tick labels
    ax.text(st.bench["benchmark"], len(el) - 0.45, f"标杆值 {fmt.num(st.bench['benchmark'])} ", fontsize=7.5,
            color=charts.PALETTE[2], va="bottom", ha="right")
    rep.figure(fig, f"{st.period.label}{st.topic.title}各机构次均费用",
               note=f"仅含病例数不少于{st.min_cases}例的机构；虚线为资源消耗中位数，点线为标杆值；红色为需核实的机构。")
