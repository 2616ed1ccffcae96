"""Findings rules comparing a hospital with its peers (or its own past): OPIP_RATIO_LOW, OUT_OF_CATALOG_HIGH,
CASE_GROWTH_HIGH, BASE_GROUP_TERTIARY and COST_DEVIATION. Shared context and thresholds: :mod:`yibao.findings.rules`.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from yibao import fmt
from yibao.findings import yardstick
from yibao.findings.rules import (
    T,
    Ctx,
    Spec,
    history,
    impact_txt,
    _capped,
    _catalog_table,
    _f,
    _hosp_frame,
    finding,
    mlist,
    peer_compare,
    record_benchmarks,
)
from yibao.findings.stats import members, peer_label, robust_compare


def _opip_counts(ctx: Ctx, months: list[str]) -> pd.DataFrame:
    return ctx.df(f"""SELECT fixmedins_code,
                           sum(CASE WHEN cls = '门诊类' THEN n ELSE 0 END) AS op,
                           sum(CASE WHEN cls = '住院类' THEN n ELSE 0 END) AS ip,
                           sum(CASE WHEN cls = '住院类' THEN fund ELSE 0 END) AS ip_fund
                    FROM {ctx.hm} WHERE is_local AND month IN {mlist(months)} GROUP BY 1""")


def _ratio(p: float) -> float:
    return (1 - p) / p if p > 0 else float("inf")


def opip_ratio_low(ctx: Ctx) -> list[dict]:
    """门诊住院人次比 (indicator 40: local patients' outpatient settlements / inpatient settlements) far
    below same-level peers (handbook 附录3 3(1), 六(三) 6). Few peers: the yardstick (history first)."""
    t = T["OPIP_RATIO_LOW"]
    df = _hosp_frame(ctx, _opip_counts(ctx, ctx.cur))
    df = df[(df["ip"] >= t["min_ip"]) & (df["op"] >= t["min_op"])].copy()
    df["ratio"] = df["op"] / df["ip"]
    df["enc"] = df["op"] + df["ip"]
    spec = Spec("OPIP_RATIO_LOW", "ip", "enc", bad_high=True, order=t["yardsticks"],
                hist=history(ctx, _opip_counts, "ip", lambda d: d["op"] + d["ip"], d_min=("ip", t["min_ip"])),
                value=_ratio, prop=lambda r: 1 / (1 + r))
    df = peer_compare(ctx, df, "ratio", direction="low", scale="log", floor_abs=t["floor_log"],
                      min_peers=t["min_peers"], spec=spec)
    out = []
    for r in df.itertuples():
        sev = _capped(t["grade"].severity(r.z, r.rel, r.ip, t["min_ip"]), r.special_note)
        if not sev:
            continue
        excess = r.ip - r.op / r.median if r.median > 0 else 0.0  # discharges beyond the yardstick's ratio
        impact = excess * r.ip_fund / r.ip if excess > 0 else None
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}门诊住院人次比为{_f(r.ratio)}"
               f"（门诊{fmt.count(r.op)}人次、出院{fmt.count(r.ip)}人次），{yardstick.bench_text(r, _f)}，"
               f"明显偏低{r.special_note}{impact_txt(impact, f'按参照比值估算多出住院约{fmt.count(excess)}人次')}，"
               f"请核查是否存在诱导住院（“拉人头”住院）情况并书面说明。")
        out.append(finding(ctx, "OPIP_RATIO_LOW", r.fixmedins_code, "", "门诊住院人次比", r.ratio, r.median, sev,
                           msg, impact=impact, peer_group=r.peer_text, volume=r.ip, z=r.z,
                           annotation="专科医院" if r.special_note else ""))
    return out


def _oc_counts(ctx: Ctx, months: list[str]) -> pd.DataFrame:
    df = ctx.df(f"""SELECT fixmedins_code, sum(n) AS n, sum(medfee) AS medfee, sum(fulamt) AS fulamt
                    FROM {ctx.hm} WHERE is_local AND cls IN ('门诊类', '住院类') AND month IN {mlist(months)}
                    GROUP BY 1""")
    # the share as a proportion of the settlements (pseudo-counts for the yardstick's binomial test)
    df["k_oc"] = (df["fulamt"] / df["medfee"].where(df["medfee"] > 0)).fillna(0.0) * df["n"]
    return df


def out_of_catalog_high(ctx: Ctx) -> list[dict]:
    """医保外费用占比 (indicator 45: Σ fulamt_ownpay_amt / Σ medfee_sumamt of local patients' outpatient and
    inpatient settlements) far above same-level peers; specialty hospitals compared with their own kind
    or annotated (handbook 六(三) 复核, 附录3 3(2)). Few peers: the yardstick (history first)."""
    t = T["OUT_OF_CATALOG_HIGH"]
    df = _hosp_frame(ctx, _oc_counts(ctx, ctx.cur))
    df = df[(df["n"] >= t["min_setl"]) & (df["medfee"] > 0)].copy()
    df["share"] = df["fulamt"] / df["medfee"] * 100
    spec = Spec("OUT_OF_CATALOG_HIGH", "k_oc", "n", bad_high=True, order=t["yardsticks"],
                hist=history(ctx, _oc_counts, "k_oc", "n", d_min=("n", t["min_setl"])))
    df = peer_compare(ctx, df, "share", direction="high", floor_abs=t["floor_abs"], floor_rel=t["floor_rel"],
                      min_peers=t["min_peers"], min_special_peers=t["min_special_peers"], spec=spec)
    out = []
    for r in df.itertuples():
        sev = _capped(t["grade"].severity(r.z, r.rel, r.n, t["min_setl"]), r.special_note)
        if not sev:
            continue
        shifted = (r.share - r.median) / 100 * r.medfee  # cost borne by patients above the yardstick's share
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}医保外费用占比为{fmt.pct(r.share)}，"
               f"{yardstick.bench_text(r, fmt.pct)}，明显偏高{r.special_note}；按参照值估算，患者多负担目录外费用"
               f"约{fmt.money(shifted)}，请排查是否存在开具目录外药品耗材等"
               f"将应由医保支付的费用转由患者自费的情况并书面说明。")
        out.append(finding(ctx, "OUT_OF_CATALOG_HIGH", r.fixmedins_code, "", "医保外费用占比(%)", r.share, r.median,
                           sev, msg, impact=shifted, peer_group=r.peer_text, volume=r.n, z=r.z,
                           annotation="专科医院" if r.special_note else ""))
    return out


def _new_campus(ctx: Ctx, code: str) -> date | None:
    t = T["CASE_GROWTH_HIGH"]
    try:
        d = ctx.hosp.at[code, "begn_date"]
    except KeyError:
        return None
    if d is None or (isinstance(d, float) and np.isnan(d)) or pd.isna(d):
        return None
    d = pd.Timestamp(d).date()
    end = ctx.period.end
    months = (end.year - d.year) * 12 + (end.month - d.month)
    return d if months <= t["new_campus_months"] else None


def case_growth_high(ctx: Ctx) -> list[dict]:
    """出院人次 (local patients' inpatient settlements, indicators 39/41) growing far faster than same-level
    peers, 同比 and 环比, guarded against small bases (handbook 附录3 3(3), 底稿 备注(2)). A level with fewer
    than ``min_peers`` qualifying hospitals is measured against a provincial reference growth (params) or the
    混合增长率 of all the region's other hospitals, with a Poisson z (the growth is already the hospital's own
    history)."""
    t = T["CASE_GROWTH_HIGH"]
    bases = [("同比", ctx.yago), ("环比", ctx.prev)]
    parts = [f"sum(CASE WHEN month IN {mlist(ctx.cur)} THEN n ELSE 0 END) AS cur",
             f"sum(CASE WHEN month IN {mlist(ctx.cur)} THEN fund ELSE 0 END) AS cur_fund"]
    for i, (_, bp) in enumerate(bases):
        parts.append(f"sum(CASE WHEN month IN {mlist(bp.months)} THEN n ELSE 0 END) AS b{i}")
    df = ctx.df(f"SELECT fixmedins_code, {', '.join(parts)} FROM {ctx.hm} WHERE is_local AND cls = '住院类' "
                f"GROUP BY 1")
    df = _hosp_frame(ctx, df)
    cand: dict[str, list] = {}
    for i, (basis, bp) in enumerate(bases):
        if not ctx.months_in(bp.months):
            continue
        b = f"b{i}"
        el = df[(df[b] >= t["min_base"]) & (df["cur"] >= t["min_cur"])].copy()
        if el.empty:
            continue
        el["growth"] = (el["cur"] / el[b] - 1) * 100
        el = robust_compare(el, "growth", direction="high", floor_abs=t["floor_abs"], min_peers=t["min_peers"])
        # 混合增长率 of the comparison group: Σ current / Σ base − 1 (case-weighted)
        mixed = {}
        for g in el["peer_group"].unique():
            mem = members(el, g, "lv_group", False)
            mixed[g] = (mem["cur"].sum() / mem[b].sum() - 1) * 100
        el["mixed"] = el["peer_group"].map(mixed)
        el["label"] = el["peer_group"].map(peer_label)
        record_benchmarks(ctx, "CASE_GROWTH_HIGH", el.assign(peer_text=el["label"]), "growth", "lv_group", False,
                          "混合增长率", basis=basis, value_col="mixed")
        el["few_note"] = ""
        for j, r in el[el["few"].astype(bool)].iterrows():
            _growth_yardstick(ctx, el, j, r, b, t)
        for r in el.itertuples():
            if not np.isfinite(r.mixed):
                continue
            excess = r.cur - getattr(r, b) * (1 + r.mixed / 100)
            rel = (r.growth - r.mixed) / 100  # excess cases per base case
            if excess < t["min_excess"] or (r.growth < 2 * max(r.mixed, 10.0) and r.growth < r.mixed + 30):
                continue
            sev = t["grade"].severity(r.z, rel, r.cur, t["min_cur"])
            if sev:
                cand.setdefault(r.fixmedins_code, []).append((basis, r, sev, excess, getattr(r, b)))
    out = []
    rank = {"high": 0, "medium": 1, "low": 2}
    for code, items in sorted(cand.items()):
        items.sort(key=lambda x: (rank[x[2]], x[0] != "同比"))
        basis, r, sev, excess, base = items[0]
        if len(items) > 1 and all(rank[i[2]] <= 1 for i in items):
            sev = "high" if r.cur >= t["grade"].high_volume_factor * t["min_cur"] else sev
        other = [i for i in items[1:]]
        extra = "".join(f"，{fmt.change(r.cur, i[4], i[0])}（{i[1].label}混合增长率"
                        f"{fmt.signed_pct(i[1].mixed)}）" for i in other)
        nc = _new_campus(ctx, code)
        note, ann = "", ""
        if nc is not None:
            sev = "low"
            ann = "新院区"
            note = (f"；该机构于{nc.year}年{nc.month}月开始定点（新院区），开业初期病例快速增长属正常现象，"
                    f"已降低提示级别")
        impact = excess * r.cur_fund / r.cur if r.cur > 0 else None
        few = f"{r.few_note}，以" if r.few_note else ""
        msg = (f"{ctx.period.label}{ctx.name(code)}出院{fmt.count(r.cur)}人次，{fmt.change(r.cur, base, basis)}"
               f"（{few}{r.label}混合增长率{fmt.signed_pct(r.mixed)}{'为参照' if few else ''}）{extra}，"
               f"超出{'参照' if few else '同级平均'}增速约{fmt.count(excess)}人次"
               f"{impact_txt(impact, '按该院次均住院统筹基金支付估算')}{note}，"
               f"请核查是否存在通过不正当手段诱导参保人住院的情况并书面说明。")
        out.append(finding(ctx, "CASE_GROWTH_HIGH", code, "", f"出院人次{basis}增长率(%)", r.growth, r.mixed, sev,
                           msg, impact=impact, peer_group=r.label, volume=r.cur, z=r.z, annotation=ann))
    return out


def _growth_yardstick(ctx: Ctx, el: pd.DataFrame, j, r, b: str, t: dict) -> None:
    """CASE_GROWTH_HIGH for a hospital whose level has too few peers: the provincial reference growth of its
    level (params) or the 混合增长率 of the region's other hospitals; Poisson z of the current discharges
    against base × (1 + yardstick)."""
    level = str(r["lv_group"])
    el.at[j, "few_note"] = yardstick.few_note(level, t["min_peers"])
    g0, label = None, ""
    for kind in t["yardsticks"]:
        if kind == "reference":
            g0 = ctx.references.value("CASE_GROWTH_HIGH", level)
            label = yardstick.label("reference", ctx.references)
        elif kind == "region":
            rest = el[el["fixmedins_code"] != r["fixmedins_code"]]
            g0 = (rest["cur"].sum() / rest[b].sum() - 1) * 100 if rest[b].sum() > 0 else None
            label = yardstick.label("region", ctx.references)
        if g0 is not None:
            break
    if g0 is None:
        el.loc[j, ["z", "rel", "diff"]] = 0.0
        el.at[j, "mixed"] = np.nan
        return
    expected = float(r[b]) * (1 + g0 / 100)
    el.at[j, "mixed"] = g0
    el.at[j, "label"] = label
    el.at[j, "z"] = (float(r["cur"]) - expected) / np.sqrt(expected) if expected > 0 else 0.0


def _base_counts(ctx: Ctx, cat: str, months: list[str]) -> pd.DataFrame:
    return ctx.df(f"""SELECT i.fixmedins_code, count(*) AS grouped,
                           sum(CASE WHEN c.base_group = '1' THEN 1 ELSE 0 END) AS base
                    FROM {ctx.ip} i LEFT JOIN {cat} c ON c.code = i.grp
                    WHERE i.month IN {mlist(months)} AND i.grp_stas = '1' AND i.grp IS NOT NULL GROUP BY 1""")


def _base_gaps(ctx: Ctx, cat: str) -> dict:
    """Per 三级 hospital: the mean gap, over its base-group cases of the period, between its fund payment per
    case of the group and the mean fund payment per case of the same group at the region's non-tertiary
    hospitals (what the case would have cost the fund there); groups without non-tertiary cases left out."""
    df = ctx.df(f"""SELECT i.fixmedins_code, i.grp, count(*) AS n, avg(i.fund) AS fund
                    FROM {ctx.ip} i JOIN {cat} c ON c.code = i.grp
                    WHERE i.month IN {mlist(ctx.cur)} AND i.grp_stas = '1' AND c.base_group = '1' GROUP BY 1, 2""")
    df = _hosp_frame(ctx, df)
    low = df[df["lv_group"] != "三级"]
    low = (low["fund"] * low["n"]).groupby(low["grp"]).sum() / low.groupby("grp")["n"].sum()
    out = {}
    for code, g in df[df["lv_group"] == "三级"].groupby("fixmedins_code"):
        g = g[g["grp"].isin(low.index)]
        if g["n"].sum() > 0:
            out[code] = float((g["n"] * (g["fund"] - g["grp"].map(low))).sum() / g["n"].sum())
    return out


def base_group_tertiary(ctx: Ctx) -> list[dict]:
    """三级 hospitals treating 基层病组 cases: share of their grouped cases in the catalogue's base groups
    (base_group = 1) far above other 三级 hospitals (handbook 附录3 3(4), 附录2 (三) 1)."""
    t = T["BASE_GROUP_TERTIARY"]
    cat = _catalog_table(ctx)
    if cat is None:
        return []
    allh = _hosp_frame(ctx, _base_counts(ctx, cat, ctx.cur))
    df = allh[(allh["lv_group"] == "三级") & (allh["grouped"] >= t["min_grouped"])].copy()
    if df.empty:
        return []
    df["share"] = df["base"] / df["grouped"] * 100
    df["gap"] = df["fixmedins_code"].map(_base_gaps(ctx, cat))
    if len(df) < t["min_peers"]:  # too few 三级 peers (county-level pooling): the rule's yardstick instead
        hist = None
        if "history" in t["yardsticks"] and ctx.months_in(ctx.yago.months):
            h = _base_counts(ctx, cat, ctx.yago.months)
            h = h[h["grouped"] >= t["min_grouped"]]
            hist = pd.DataFrame({"fixmedins_code": h["fixmedins_code"], "k": h["base"], "n": h["grouped"]})
        return _base_group_few_peers(ctx, df, allh, t, hist)
    df["grp3"] = "三级"
    df = robust_compare(df, "share", direction="high", floor_abs=t["floor_abs"], floor_rel=t["floor_rel"],
                        group_col="grp3")
    out = []
    for r in df.itertuples():
        if r.peer_n < t["min_peers"] or r.base < t["min_base_cases"] or r.rel < t["min_ratio"] - 1:
            continue
        sev = t["grade"].severity(r.z, r.diff / 100, r.grouped, t["min_grouped"])
        if not sev:
            continue
        impact, itxt = _base_impact(r, r.median)
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}（三级）收治基层病组病例{fmt.count(r.base)}例，"
               f"占入组病例的{fmt.pct(r.share)}，三级医院中位数为{fmt.pct(r.median)}，明显偏高{itxt}，不符合三级医院功能"
               f"定位和分级诊疗要求，请核查收治的合理性并书面说明。")
        out.append(finding(ctx, "BASE_GROUP_TERTIARY", r.fixmedins_code, "", "基层病组病例占比(%)", r.share,
                           r.median, sev, msg, impact=impact, peer_group="三级", volume=r.base, z=r.z))
    return out


def _base_impact(r, ref: float) -> tuple[float | None, str]:
    """Base-group cases above the yardstick's share, each costing the fund the hospital's payment per case
    above the non-tertiary hospitals' in the same group (``r.gap``, :func:`_base_gaps`); no amount when the
    hospital's cases are not dearer."""
    gap = getattr(r, "gap", None)
    excess = r.base - r.grouped * ref / 100
    if gap is None or not np.isfinite(gap) or excess <= 0 or gap <= 0:
        return None, ""
    impact = excess * gap
    return impact, impact_txt(impact, f"按参照占比估算多收治约{fmt.count(excess)}例，按同病组该院比非三级医院例均"
                                      f"多支付{fmt.money(gap)}计", "医保基金多支付")


def _base_group_few_peers(ctx: Ctx, df: pd.DataFrame, allh: pd.DataFrame, t: dict,
                          hist: pd.DataFrame | None = None) -> list[dict]:
    """BASE_GROUP_TERTIARY where fewer than ``min_peers`` 三级 hospitals exist: the yardstick, in the order of
    ``t['yardsticks']`` — a provincial reference share for 三级 hospitals (params), the share of 基层病组 among
    all the region's other hospitals' grouped cases (a 三级 hospital should treat fewer of them than the
    region as a whole), or the hospital's own share a year earlier — tested with a binomial / two-proportion
    z; said so in the message."""
    out = []
    refs = getattr(ctx, "references", None) or yardstick.References()
    spec = Spec("BASE_GROUP_TERTIARY", "base", "grouped", bad_high=True, order=t["yardsticks"], hist=hist)
    for r in df.itertuples():
        if r.base < t["min_base_cases"]:
            continue
        rest = allh[allh["fixmedins_code"] != r.fixmedins_code]
        m = yardstick.measure(ctx, spec, r, rest, "high")
        if m is None:
            continue
        ref, z = m["bench"], m["z"]
        if r.share < ref * t["min_ratio"] or r.share - ref < t["floor_abs"]:
            continue
        sev = t["grade"].severity(z, (r.share - ref) / 100, r.grouped, t["min_grouped"])
        if not sev:
            continue
        what = {"region": "全统筹区其他医院基层病组病例占比", "history": "本院去年同期基层病组病例占比",
                "reference": f"{yardstick.label('reference', refs)}"}[m["kind"]]
        impact, itxt = _base_impact(r, ref)
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}（三级）收治基层病组病例{fmt.count(r.base)}例，"
               f"占入组病例的{fmt.pct(r.share)}；本统筹区三级医院不足{t['min_peers']}家，无法与同级比较，以{what}"
               f"{fmt.pct(ref)}为参照，明显偏高{itxt}，不符合三级医院功能定位和分级诊疗要求，请核查收治的合理性并书面说明。")
        out.append(finding(ctx, "BASE_GROUP_TERTIARY", r.fixmedins_code, "", "基层病组病例占比(%)", r.share, ref,
                           sev, msg, impact=impact, peer_group=m["peer_text"], volume=r.base, z=z))
    return out


def cost_deviation(ctx: Ctx) -> list[dict]:
    """次均费用 of the region's 10 most common groups (grouped cases of the period) far from same-level
    peers' median in the same group (handbook 附录2 (三) 2, 附录3 3(5)).

    Deviation d = ln(hospital mean) − ln(peer median of hospital means) in the group. Its spread is
    sqrt(τ² + se²): se = the sampling error of the hospital's mean (sd of ln cost of the group's cases in
    the region / √n) and τ = the between-hospital spread of d pooled over all ten groups (robust MAD
    minus sampling noise, floored) — pooled because a single group has too few peers to estimate it.
    A hospital whose level has fewer than ``min_peers`` hospitals with the group is measured against the
    group's 支付标准 in the region's catalogue (the reference), else the pooled mean cost of the region's
    other hospitals in the group."""
    t = T["COST_DEVIATION"]
    df = ctx.df(f"""WITH g AS (SELECT grp FROM {ctx.ip}
                                WHERE month IN {mlist(ctx.cur)} AND grp_stas = '1' AND grp IS NOT NULL
                                GROUP BY grp ORDER BY count(*) DESC, grp LIMIT {int(t['top_groups'])})
                    SELECT i.grp, i.fixmedins_code, count(*) AS n, avg(i.medfee_sumamt) AS cost,
                           sum(i.medfee_sumamt) AS fee, sum(i.fund) AS fund, any_value(s.sd_log) AS sd_log
                    FROM {ctx.ip} i JOIN g USING (grp)
                    JOIN (SELECT grp, stddev_samp(ln(greatest(medfee_sumamt, 1))) AS sd_log FROM {ctx.ip}
                          WHERE month IN {mlist(ctx.cur)} AND grp_stas = '1' GROUP BY grp) s USING (grp)
                    WHERE i.month IN {mlist(ctx.cur)} AND i.grp_stas = '1' GROUP BY 1, 2""")
    df = _hosp_frame(ctx, df)
    df = df[(df["n"] >= t["min_peer_cases"]) & (df["cost"] > 0)].copy()
    if df.empty:
        return []
    df["se"] = df["sd_log"].fillna(0.0) / np.sqrt(df["n"])  # sampling error of ln(mean cost)
    std = {} if ctx.catalog is None or "pay_std" not in ctx.catalog else \
        dict(zip(ctx.catalog["code"], pd.to_numeric(ctx.catalog["pay_std"], errors="coerce")))
    parts = []
    for grp, sub in df.groupby("grp", sort=True):
        sub = robust_compare(sub, "cost", direction="high", scale="log", floor_abs=t["floor_log"],
                             min_peers=t["min_peers"])
        sub["label"] = sub["peer_group"].map(peer_label)
        sub["few_note"] = ""
        for j, r in sub[sub["few"].astype(bool)].iterrows():  # too few peers of its level: the yardstick
            sub.at[j, "few_note"] = yardstick.few_note(str(r["lv_group"]), t["min_peers"],
                                                       what=f"该病组病例不少于{t['min_peer_cases']}例的")
            ref, label = None, ""
            for kind in t["yardsticks"]:
                if kind == "reference" and np.isfinite(std.get(grp, np.nan)) and std.get(grp, 0) > 0:
                    ref, label = float(std[grp]), "本统筹区该病组支付标准"
                elif kind == "region":
                    rest = sub[sub["fixmedins_code"] != r["fixmedins_code"]]
                    if rest["n"].sum() > 0:
                        ref, label = float(rest["fee"].sum() / rest["n"].sum()), "全统筹区其他医院同病组次均费用"
                if ref is not None:
                    break
            sub.at[j, "median"] = ref if ref is not None else np.nan
            sub.at[j, "label"] = label
            sub.at[j, "peer_n"] = t["min_peers"] if ref is not None else 0
        parts.append(sub)
    df = pd.concat(parts)
    df = df[(df["peer_n"] >= t["min_peers"]) & df["median"].notna()].copy()
    if df.empty:
        return []
    df["d"] = np.log(df["cost"]) - np.log(df["median"])
    peers_d = df.loc[~df["few"].astype(bool), "d"]
    peers_se = df.loc[~df["few"].astype(bool), "se"]
    if len(peers_d) >= 3:
        mad = float(np.median(np.abs(peers_d - np.median(peers_d)))) * 1.4826
        tau = max(float(np.sqrt(max(mad ** 2 - float(np.median(peers_se ** 2)), 0.0))), t["floor_log"])
    else:
        tau = t["floor_log"]
    df["zz"] = df["d"] / np.sqrt(tau ** 2 + df["se"] ** 2)
    names = {} if ctx.catalog is None else dict(zip(ctx.catalog["code"], ctx.catalog["name"]))
    out = []
    for r in df.sort_values(["grp", "fixmedins_code"]).itertuples():
        if r.n < t["min_cases"]:
            continue
        high = r.d > 0
        rel = np.exp(r.d) - 1 if high else 1 - np.exp(r.d)
        sev = t["grade"].severity(abs(r.zz), rel, r.n, t["min_cases"])
        if not sev:
            continue
        gname = names.get(r.grp, "")
        label = f"{r.grp}（{gname}）" if gname else r.grp
        excess = (r.cost - r.median) * r.n if high else None
        share = r.fund / r.fee if r.fee > 0 else 0.0
        impact = excess * share if high else None
        if high:
            tail = (f"高出{fmt.pct(rel * 100, 1)}，按参照值估算本期多发生医疗费用约{fmt.money(excess)}"
                    f"{impact_txt(impact, f'按该院该病组统筹基金支付比例（{fmt.pct(share * 100, 1)}）计')}，"
                    f"请对照临床路径分析费用偏高原因、控制不合理费用并书面说明。")
        else:
            sev = "low"
            tail = f"低{fmt.pct(rel * 100, 1)}，请核查是否存在治疗不足或高套低编（费用与病组不符）的情况。"
        bench = (f"{r.few_note}，以{r.label}{fmt.money(r.median)}为参照，" if r.few_note
                 else f"{r.label}同病组次均费用中位数为{fmt.money(r.median)}，")
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}{label}病组次均费用为{fmt.money(r.cost)}"
               f"（{fmt.count(r.n)}例），{bench}{tail}")
        out.append(finding(ctx, "COST_DEVIATION", r.fixmedins_code, r.grp, "病组次均费用(元)", r.cost, r.median, sev,
                           msg, impact=impact, peer_group=r.label, volume=r.n, z=r.zz,
                           annotation="" if high else "偏低"))
    return out
