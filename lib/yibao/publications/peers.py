"""Section 三 (一)–(三) of the quarterly report: a key indicator compared within hospital level (handbook 附录3
3(1)–(3)), with the comparison groups' medians as the findings engine used them — benchmarks.csv, the one source
of every peer median a publication prints (issue 13, Must 1: one hospital had two medians, 10.8 and 10.7)."""
from __future__ import annotations

import pandas as pd

from yibao import fmt
from yibao.data.contract import LEVEL_ORDER
from yibao.publications.context import Context


def _float(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _charts():
    from yibao.publications import charts
    charts.setup()
    return charts


PEER_INDICATORS = {  # indicator: (name, findings rule, direction, why, how its values and medians are written)
    40: ("门诊住院人次比", "OPIP_RATIO_LOW", "low",
         "即每1个出院人次对应的门诊人次数，指标值越小，提示门诊收住院率越高，可能存在“拉人头”住院",
         lambda x: fmt.ratio(x, 1)),
    45: ("医保外费用占比", "OUT_OF_CATALOG_HIGH", "high",
         "偏高提示可能将目录内费用转为患者自付，加重群众负担", fmt.pct),
    41: ("出院人次环比增长率", "CASE_GROWTH_HIGH", "high",
         "增幅远超同级平均水平且无新增床位、优势学科的，需排查是否存在诱导住院", fmt.signed_pct),
}


def peer_benchmarks(ctx: Context, rule: str) -> pd.DataFrame:
    """The comparison groups the findings rule used (benchmarks.csv): the one source of the peer medians."""
    b = ctx.benchmarks
    if b is None or b.empty:
        return pd.DataFrame(columns=["rule_id", "basis", "peer_group", "levels", "n", "stat", "value", "min", "max"])
    b = b[b["rule_id"] == rule].copy()
    b["basis"] = b["basis"].fillna("").astype(str)
    order = {k: i for i, k in enumerate(LEVEL_ORDER)}
    b["_o"] = b["levels"].fillna("").astype(str).map(lambda s: min((order.get(x, 9) for x in s.split("、")), default=9))
    return b.sort_values(["basis", "_o", "peer_group"], kind="mergesort").drop(columns="_o")


def peer_indicator(ctx: Context, rep, iid: int) -> None:
    """One key indicator compared within hospital level: the comparison groups' medians as the findings
    engine used them (benchmarks.csv, the one source: a named hospital's median is the one its group shows),
    a box/strip plot by level, the named outliers."""
    name, rule, _, why, f = PEER_INDICATORS[iid]
    d = ctx.per_hospital(iid).dropna(subset=["value"])
    if d.empty:
        rep.md(f"{ctx.label}{name}数据不足，暂不比较。")
        return
    bm = peer_benchmarks(ctx, rule)
    named = ctx.findings[ctx.findings["rule_id"] == rule] if not ctx.findings.empty else ctx.findings
    named_hi = named[named["severity"].isin(["high", "medium"])] if not named.empty else named
    fv = (lambda x: fmt.pct(x, 1)) if iid == 41 else f  # a growth rate of one hospital, as the message gives it
    groups = "；".join(f"{r.peer_group}{_basis(r.basis)}{r.stat}{f(_float(r.value))}（{int(r.n)}家"
                      + (f"，{fv(_float(r.min))}～{fv(_float(r.max))}" if iid != 41 else "") + "）"
                      for r in bm.itertuples())
    covered = {x for s_ in bm["levels"].fillna("").astype(str) for x in s_.split("、") if x}
    rest = [lv for lv in LEVEL_ORDER if lv in set(d["lv_group"]) and lv not in covered]
    text = (f"{ctx.label}全区域{name}为{_region_value(ctx, iid, f)}（{why}）。"
            + (f"与问题警示同一口径（只比较达到最小样本量的医院，专科医院与同类机构比较），{groups}。" if groups else "")
            + (f"{'、'.join(rest)}医院达到样本量要求的不足，不作同级比较，点名时以问题警示清单注明的参照为准。"
               if rest and groups else ""))
    if len(named_hi):
        text += "偏离同级水平明显、予以点名提示的机构：" + "；".join(_named(r, f) for r in named_hi.itertuples()) \
            + "（判定依据见问题警示清单）。"
    else:
        text += "各级别机构未见明显偏离同级水平的情况。"
    rep.md(text)
    if not bm.empty:
        rep.table(pd.DataFrame({
            "比较组": [f"{r.peer_group}{_basis(r.basis)}" for r in bm.itertuples()],
            "参与比较机构数": bm["n"].map(fmt.count).values,
            ("混合增长率" if iid == 41 else "中位数"): bm["value"].map(lambda x: f(_float(x))).values,
            "最低": bm["min"].map(lambda x: fv(_float(x))).values, "最高": bm["max"].map(lambda x: fv(_float(x))).values,
        }), f"{ctx.label}{name}同级比较基准", note="与问题警示清单判定所用的比较组、中位数相同；最低、最高为参与比较机构的值。")
    charts = _charts()
    flagged = set(named_hi["fixmedins_name"]) if len(named_hi) else set()
    unit = ctx.unit(iid)
    fig = charts.box_by_level(d, "lv_group", "value", label_col="fixmedins_name", highlight=flagged,
                              ylabel=f"{name}{'（%）' if unit == '%' else ''}")
    rep.figure(fig, f"{ctx.label}各级别医疗机构{name}分布", note="红色为偏离同级水平或点名提示的机构。",
               slide=f"错：{name}（分级别）")


def _basis(basis: str) -> str:
    return basis if basis in ("同比", "环比") else ""


def _region_value(ctx: Context, iid: int, f) -> str:
    v = ctx.value(iid)
    return fmt.pct(v, 1) if iid == 41 else f(v)


def _named(r, f) -> str:
    """'某医院（2.1，判定所用的同级（二级）医院中位数9.6）' — the finding's own value and benchmark, in the words of
    the comparison group it used (a yardstick when the level had too few peers)."""
    group = str(getattr(r, "peer_group", "") or "")
    metric = str(r.metric)
    if r.rule_id == "CASE_GROWTH_HIGH":
        basis = "同比" if "同比" in metric else "环比"
        return (f"{r.fixmedins_name}（{basis}增长{fmt.pct(_float(r.value), 1)}，判定所用的{group}{basis}混合增长率"
                f"{fmt.signed_pct(_float(r.benchmark))}）")
    if group.startswith(("全统筹区其他", "本院去年同期", "省级参考值")):
        return f"{r.fixmedins_name}（{f(_float(r.value))}，本级别可比医院不足，判定以{group}{f(_float(r.benchmark))}为参照）"
    return f"{r.fixmedins_name}（{f(_float(r.value))}，判定所用的{group}中位数{f(_float(r.benchmark))}）"
