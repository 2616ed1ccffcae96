"""Findings rules comparing a hospital with its peers (or its own past): OPIP_RATIO_LOW, OUT_OF_CATALOG_HIGH,
CASE_GROWTH_HIGH, BASE_GROUP_TERTIARY and COST_DEVIATION. Shared context and thresholds: :mod:`yibao.findings.rules`.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from yibao import fmt
from yibao.findings.rules import (
    T,
    Ctx,
    _capped,
    _catalog_table,
    _f,
    _hosp_frame,
    finding,
    mlist,
    peer_compare,
)
from yibao.findings.stats import two_proportion_z, members, peer_label, robust_compare


def opip_ratio_low(ctx: Ctx) -> list[dict]:
    """门诊住院人次比 (indicator 40: local patients' outpatient settlements / inpatient settlements) far
    below same-level peers (handbook 附录3 3(1), 六(三) 6)."""
    t = T["OPIP_RATIO_LOW"]
    df = ctx.df(f"""SELECT fixmedins_code,
                           sum(CASE WHEN cls = '门诊类' THEN n ELSE 0 END) AS op,
                           sum(CASE WHEN cls = '住院类' THEN n ELSE 0 END) AS ip
                    FROM {ctx.hm} WHERE is_local AND month IN {mlist(ctx.cur)} GROUP BY 1""")
    df = _hosp_frame(ctx, df)
    df = df[(df["ip"] >= t["min_ip"]) & (df["op"] >= t["min_op"])].copy()
    df["ratio"] = df["op"] / df["ip"]
    df = peer_compare(ctx, df, "ratio", direction="low", scale="log", floor_abs=t["floor_log"],
                      min_peers=t["min_peers"])
    out = []
    for r in df.itertuples():
        sev = _capped(t["grade"].severity(r.z, r.rel, r.ip, t["min_ip"]), r.special_note)
        if not sev:
            continue
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}门诊住院人次比为{_f(r.ratio)}"
               f"（门诊{fmt.count(r.op)}人次、出院{fmt.count(r.ip)}人次），{r.peer_text}中位数为"
               f"{_f(r.median)}，明显偏低{r.special_note}，请核查是否存在诱导住院（“拉人头”住院）情况并书面说明。")
        out.append(finding(ctx, "OPIP_RATIO_LOW", r.fixmedins_code, "", "门诊住院人次比", r.ratio, r.median, sev,
                           msg, peer_group=r.peer_text, volume=r.ip, z=r.z,
                           annotation="专科医院" if r.special_note else ""))
    return out


def out_of_catalog_high(ctx: Ctx) -> list[dict]:
    """医保外费用占比 (indicator 45: Σ fulamt_ownpay_amt / Σ medfee_sumamt of local patients' outpatient and
    inpatient settlements) far above same-level peers; specialty hospitals compared with their own kind
    or annotated (handbook 六(三) 复核, 附录3 3(2))."""
    t = T["OUT_OF_CATALOG_HIGH"]
    df = ctx.df(f"""SELECT fixmedins_code, sum(n) AS n, sum(medfee) AS medfee, sum(fulamt) AS fulamt
                    FROM {ctx.hm} WHERE is_local AND cls IN ('门诊类', '住院类') AND month IN {mlist(ctx.cur)}
                    GROUP BY 1""")
    df = _hosp_frame(ctx, df)
    df = df[(df["n"] >= t["min_setl"]) & (df["medfee"] > 0)].copy()
    df["share"] = df["fulamt"] / df["medfee"] * 100
    df = peer_compare(ctx, df, "share", direction="high", floor_abs=t["floor_abs"], floor_rel=t["floor_rel"],
                      min_peers=t["min_peers"], min_special_peers=t["min_special_peers"])
    out = []
    for r in df.itertuples():
        sev = _capped(t["grade"].severity(r.z, r.rel, r.n, t["min_setl"]), r.special_note)
        if not sev:
            continue
        shifted = (r.share - r.median) / 100 * r.medfee  # cost borne by patients above the peers' share
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}医保外费用占比为{fmt.pct(r.share)}，"
               f"{r.peer_text}中位数为{fmt.pct(r.median)}，明显偏高{r.special_note}；按中位数估算，患者多负担目录外费用"
               f"约{fmt.money(shifted)}，请排查是否存在开具目录外药品耗材等"
               f"将应由医保支付的费用转由患者自费的情况并书面说明。")
        row = finding(ctx, "OUT_OF_CATALOG_HIGH", r.fixmedins_code, "", "医保外费用占比(%)", r.share, r.median,
                      sev, msg, peer_group=r.peer_text, volume=r.n, z=r.z,
                      annotation="专科医院" if r.special_note else "")
        row["impact"] = round(shifted)
        out.append(row)
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
    peers, 同比 and 环比, guarded against small bases (handbook 附录3 3(3), 底稿 备注(2))."""
    t = T["CASE_GROWTH_HIGH"]
    bases = [("同比", ctx.yago), ("环比", ctx.prev)]
    parts = [f"sum(CASE WHEN month IN {mlist(ctx.cur)} THEN n ELSE 0 END) AS cur"]
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
        for r in el.itertuples():
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
        extra = "".join(f"，{fmt.change(r.cur, i[4], i[0])}（{peer_label(i[1].peer_group)}混合增长率"
                        f"{fmt.signed_pct(i[1].mixed)}）" for i in other)
        nc = _new_campus(ctx, code)
        note, ann = "", ""
        if nc is not None:
            sev = "low"
            ann = "新院区"
            note = (f"；该机构于{nc.year}年{nc.month}月开始定点（新院区），开业初期病例快速增长属正常现象，"
                    f"已降低提示级别")
        msg = (f"{ctx.period.label}{ctx.name(code)}出院{fmt.count(r.cur)}人次，{fmt.change(r.cur, base, basis)}"
               f"（{peer_label(r.peer_group)}混合增长率{fmt.signed_pct(r.mixed)}）{extra}，"
               f"超出同级平均增速约{fmt.count(excess)}人次{note}，请核查是否存在通过不正当手段诱导参保人住院的情况"
               f"并书面说明。")
        out.append(finding(ctx, "CASE_GROWTH_HIGH", code, "", f"出院人次{basis}增长率(%)", r.growth, r.mixed, sev,
                           msg, peer_group=r.peer_group, volume=r.cur, z=r.z, annotation=ann))
    return out


def base_group_tertiary(ctx: Ctx) -> list[dict]:
    """三级 hospitals treating 基层病组 cases: share of their grouped cases in the catalogue's base groups
    (base_group = 1) far above other 三级 hospitals (handbook 附录3 3(4), 附录2 (三) 1)."""
    t = T["BASE_GROUP_TERTIARY"]
    cat = _catalog_table(ctx)
    if cat is None:
        return []
    df = ctx.df(f"""SELECT i.fixmedins_code, count(*) AS grouped,
                           sum(CASE WHEN c.base_group = '1' THEN 1 ELSE 0 END) AS base
                    FROM {ctx.ip} i LEFT JOIN {cat} c ON c.code = i.grp
                    WHERE i.month IN {mlist(ctx.cur)} AND i.grp_stas = '1' AND i.grp IS NOT NULL GROUP BY 1""")
    df = _hosp_frame(ctx, df)
    allh = df.copy()
    df = df[(df["lv_group"] == "三级") & (df["grouped"] >= t["min_grouped"])].copy()
    if df.empty:
        return []
    df["share"] = df["base"] / df["grouped"] * 100
    if len(df) < t["min_peers"]:  # too few 三级 peers (county-level pooling): the region's all-level share instead
        return _base_group_few_peers(ctx, df, allh, t)
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
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}（三级）收治基层病组病例{fmt.count(r.base)}例，"
               f"占入组病例的{fmt.pct(r.share)}，三级医院中位数为{fmt.pct(r.median)}，明显偏高，不符合三级医院功能"
               f"定位和分级诊疗要求，请核查收治的合理性并书面说明。")
        out.append(finding(ctx, "BASE_GROUP_TERTIARY", r.fixmedins_code, "", "基层病组病例占比(%)", r.share,
                           r.median, sev, msg, peer_group="三级", volume=r.base, z=r.z))
    return out


def _base_group_few_peers(ctx: Ctx, df: pd.DataFrame, allh: pd.DataFrame, t: dict) -> list[dict]:
    """BASE_GROUP_TERTIARY where fewer than ``min_peers`` 三级 hospitals exist: the yardstick is the share of
    基层病组 among all the region's other hospitals' grouped cases (a 三级 hospital should treat fewer of them
    than the region as a whole), tested with a two-proportion z; said so in the message."""
    out = []
    for r in df.itertuples():
        rest = allh[allh["fixmedins_code"] != r.fixmedins_code]
        k0, n0 = float(rest["base"].sum()), float(rest["grouped"].sum())
        if n0 <= 0 or r.base < t["min_base_cases"]:
            continue
        ref = k0 / n0 * 100
        z = two_proportion_z(r.base, r.grouped, k0, n0)
        if r.share < ref * t["min_ratio"] or r.share - ref < t["floor_abs"]:
            continue
        sev = t["grade"].severity(z, (r.share - ref) / 100, r.grouped, t["min_grouped"])
        if not sev:
            continue
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}（三级）收治基层病组病例{fmt.count(r.base)}例，"
               f"占入组病例的{fmt.pct(r.share)}；本统筹区三级医院不足{t['min_peers']}家，无法与同级比较，以全统筹区其他"
               f"医院基层病组病例占比{fmt.pct(ref)}为参照，明显偏高，不符合三级医院功能定位和分级诊疗要求，请核查收治的"
               f"合理性并书面说明。")
        out.append(finding(ctx, "BASE_GROUP_TERTIARY", r.fixmedins_code, "", "基层病组病例占比(%)", r.share, ref,
                           sev, msg, peer_group="全统筹区其他医院", volume=r.base, z=z))
    return out


def cost_deviation(ctx: Ctx) -> list[dict]:
    """次均费用 of the region's 10 most common groups (grouped cases of the period) far from same-level
    peers' median in the same group (handbook 附录2 (三) 2, 附录3 3(5)).

    Deviation d = ln(hospital mean) − ln(peer median of hospital means) in the group. Its spread is
    sqrt(τ² + se²): se = the sampling error of the hospital's mean (sd of ln cost of the group's cases in
    the region / √n) and τ = the between-hospital spread of d pooled over all ten groups (robust MAD
    minus sampling noise, floored) — pooled because a single group has too few peers to estimate it."""
    t = T["COST_DEVIATION"]
    df = ctx.df(f"""WITH g AS (SELECT grp FROM {ctx.ip}
                                WHERE month IN {mlist(ctx.cur)} AND grp_stas = '1' AND grp IS NOT NULL
                                GROUP BY grp ORDER BY count(*) DESC, grp LIMIT {int(t['top_groups'])})
                    SELECT i.grp, i.fixmedins_code, count(*) AS n, avg(i.medfee_sumamt) AS cost, any_value(s.sd_log) AS sd_log
                    FROM {ctx.ip} i JOIN g USING (grp)
                    JOIN (SELECT grp, stddev_samp(ln(greatest(medfee_sumamt, 1))) AS sd_log FROM {ctx.ip}
                          WHERE month IN {mlist(ctx.cur)} AND grp_stas = '1' GROUP BY grp) s USING (grp)
                    WHERE i.month IN {mlist(ctx.cur)} AND i.grp_stas = '1' GROUP BY 1, 2""")
    df = _hosp_frame(ctx, df)
    df = df[(df["n"] >= t["min_peer_cases"]) & (df["cost"] > 0)].copy()
    if df.empty:
        return []
    df["se"] = df["sd_log"].fillna(0.0) / np.sqrt(df["n"])  # sampling error of ln(mean cost)
    parts = []
    for grp, sub in df.groupby("grp", sort=True):
        parts.append(robust_compare(sub, "cost", direction="high", scale="log", floor_abs=t["floor_log"],
                                    min_peers=t["min_peers"]))
    df = pd.concat(parts)
    df = df[df["peer_n"] >= t["min_peers"]].copy()
    if df.empty:
        return []
    df["d"] = np.log(df["cost"]) - np.log(df["median"])
    mad = float(np.median(np.abs(df["d"] - np.median(df["d"])))) * 1.4826
    tau = max(float(np.sqrt(max(mad ** 2 - float(np.median(df["se"] ** 2)), 0.0))), t["floor_log"])
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
        if high:
            tail = (f"高出{fmt.pct(rel * 100, 1)}，按中位数估算本期多发生医疗费用约{fmt.money(excess)}，"
                    f"请对照临床路径分析费用偏高原因、控制不合理费用并书面说明。")
        else:
            sev = "low"
            tail = f"低{fmt.pct(rel * 100, 1)}，请核查是否存在治疗不足或高套低编（费用与病组不符）的情况。"
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}{label}病组次均费用为{fmt.money(r.cost)}"
               f"（{fmt.count(r.n)}例），{peer_label(r.peer_group)}同病组次均费用中位数为{fmt.money(r.median)}，{tail}")
        row = finding(ctx, "COST_DEVIATION", r.fixmedins_code, r.grp, "病组次均费用(元)", r.cost, r.median, sev,
                      msg, peer_group=peer_label(r.peer_group), volume=r.n, z=r.zz,
                      annotation="" if high else "偏低")
        row["impact"] = round(excess) if excess is not None else None
        out.append(row)
    return out
