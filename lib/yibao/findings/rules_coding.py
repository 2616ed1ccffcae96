"""Findings rules on coding structure shifts: UPCODING_DRG (高套病组) and UPCODING_ICD (高靠诊断), with the
structure-shift test they share. Shared context and thresholds: :mod:`yibao.findings.rules`.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from yibao import fmt
from yibao.findings.rules import T, Ctx, finding, mlist
from yibao.findings.stats import two_proportion_z
from yibao.data.reference import adrg as ref_adrg, icd_names
from yibao.data.warehouse import lit


def _shift(hi1: float, n1: float, hi0: float, n0: float, rhi1: float, rn1: float, rhi0: float, rn0: float,
           t: dict) -> dict | None:
    """The structure-shift test shared by UPCODING_DRG and UPCODING_ICD: the hospital's share of the
    "higher" cases now (hi1/n1) against a year earlier (hi0/n0), and against the change at the region's
    other hospitals (rhi/rn). None when a threshold is not met."""
    if n1 < t["min_cur"] or n0 < t["min_base"]:
        return None
    p1, p0 = hi1 / n1 * 100, hi0 / n0 * 100
    shift = p1 - p0
    if shift < t["min_shift"]:
        return None
    z = two_proportion_z(hi1, n1, hi0, n0)
    if z < t["min_z"]:
        return None
    rshift = (rhi1 / rn1 - rhi0 / rn0) * 100 if rn1 > 0 and rn0 > 0 else 0.0
    if shift - rshift < t["min_excess_shift"]:
        return None
    sev = "high" if shift >= t["high_shift"] and z >= t["high_z"] else "medium"
    return dict(p1=p1, p0=p0, shift=shift, z=z, rshift=rshift, sev=sev, n1=n1, n0=n0)


@lru_cache(maxsize=1)
def _adrg_names() -> dict:
    a = ref_adrg()
    return dict(zip(a["adrg_code"], a["adrg_name"]))


def _tagged_counts(ctx: Ctx, key_sql: str, where: str, tags: list[tuple[str, list[str]]]) -> pd.DataFrame:
    """Cases per institution × key × period tag (all the region's institutions)."""
    case = " ".join(f"WHEN month IN {mlist(m)} THEN {lit(tag)}" for tag, m in tags)
    months = [m for _, ms in tags for m in ms]
    return ctx.df(f"""SELECT fixmedins_code, {key_sql} AS k, CASE {case} END AS tag, count(*) AS n
                      FROM {ctx.ip} WHERE {where} AND month IN {mlist(months)} GROUP BY ALL""")


def _upcoding_impact(cat: pd.DataFrame, codes: list[str], j: int, cur, best: dict) -> tuple[float | None, str]:
    """Estimated extra fund payment of an upcoding lead: the cases above last year's share of the higher
    subgroups (n × (p1 − p0)) paid at the higher subgroups' standard instead of the lower ones' (both
    averaged over this period's cases, catalogue pay_std). (None, '') without standards."""
    if "pay_std" not in cat:
        return None, ""
    std = pd.to_numeric(cat.set_index("code")["pay_std"], errors="coerce").reindex(codes).to_numpy(float)
    n_hi, n_lo = cur[:j], cur[j:]
    if np.isnan(std).any() or n_hi.sum() <= 0:
        return None, ""
    hi_std = float((n_hi * std[:j]).sum() / n_hi.sum())
    lo_std = float((n_lo * std[j:]).sum() / n_lo.sum()) if n_lo.sum() > 0 else float(std[j:].mean())
    excess = best["n1"] * (best["p1"] - best["p0"]) / 100
    if excess <= 0 or hi_std <= lo_std:
        return None, ""
    impact = excess * (hi_std - lo_std)
    return round(impact), (f"；按去年同期占比计，约{fmt.count(excess)}例多进入较高权重细分组，按细分组支付标准差额"
                           f"（{fmt.money(hi_std - lo_std)}/例）估算多支付医保基金约{fmt.money(impact)}")


def upcoding_drg(ctx: Ctx) -> list[dict]:
    """高套病组 in DRG regions: within an ADRG, the hospital's share of the higher-weight subgroups rising
    against the same period a year earlier while the lower-weight subgroups' cases fall (handbook 附录3
    3(6) EJ1 example). Subgroups are ordered by catalogue weight; both cuts are tested (伴严重 vs the rest,
    伴严重+伴一般 vs 不伴) and the stronger one is reported."""
    t = T["UPCODING_DRG"]
    if ctx.pay_method != "DRG" or ctx.catalog is None or ctx.catalog.empty or not ctx.months_in(ctx.yago.months):
        return []
    cat = ctx.catalog.dropna(subset=["weight"]).copy()
    cat["parent"] = cat["parent"].fillna(cat["code"].str[:3])
    cat = cat[cat.groupby("parent")["code"].transform("count") >= 2]
    if cat.empty:
        return []
    counts = _tagged_counts(ctx, "grp", "grp_stas = '1' AND grp IS NOT NULL",
                            [("cur", ctx.cur), ("base", ctx.yago.months)])
    counts = counts.merge(cat[["code", "parent", "weight"]], left_on="k", right_on="code")
    if counts.empty:
        return []
    piv = counts.pivot_table(index=["parent", "fixmedins_code"], columns=["tag", "code"], values="n",
                             aggfunc="sum", fill_value=0)
    out = []
    for adrg, sub in piv.groupby(level="parent", sort=True):
        codes = cat[cat["parent"] == adrg].sort_values(["weight", "code"], ascending=[False, True])["code"].tolist()
        cur = sub.reindex(columns=pd.MultiIndex.from_product([["cur"], codes]), fill_value=0).to_numpy(float)
        base = sub.reindex(columns=pd.MultiIndex.from_product([["base"], codes]), fill_value=0).to_numpy(float)
        tot_c, tot_b = cur.sum(axis=0), base.sum(axis=0)
        for i, code in enumerate(sub.index.get_level_values("fixmedins_code")):
            if code not in ctx.hosp.index:
                continue
            best = None
            for j in range(1, len(codes)):
                hi1, n1, hi0, n0 = cur[i, :j].sum(), cur[i].sum(), base[i, :j].sum(), base[i].sum()
                lo1, lo0 = n1 - hi1, n0 - hi0
                hg, lg = fmt.growth_pct(hi1, hi0), fmt.growth_pct(lo1, lo0)
                if hg is None or hg < t["min_hi_growth"] or lg is None or lg > t["max_lo_growth"]:
                    continue
                r = _shift(hi1, n1, hi0, n0, tot_c[:j].sum() - hi1, tot_c.sum() - n1, tot_b[:j].sum() - hi0,
                           tot_b.sum() - n0, t)
                if r and (best is None or r["z"] > best["z"]):
                    best = dict(r, j=j, hi1=hi1, hi0=hi0, lo1=lo1, lo0=lo0)
            if best is None:
                continue
            j = best["j"]
            nm = _adrg_names().get(adrg, "")
            label = f"{adrg}（{nm}）" if nm else adrg
            hi_txt, lo_txt = "、".join(codes[:j]), "、".join(codes[j:])
            impact, impact_txt = _upcoding_impact(cat, codes, j, cur[i], best)
            msg = (f"{ctx.period.label}{ctx.name(code)}{label}中较高权重细分组（{hi_txt}）病例占比为{fmt.pct(best['p1'], 1)}，"
                   f"去年同期为{fmt.pct(best['p0'], 1)}，其中较高权重细分组病例数{fmt.change(best['hi1'], best['hi0'], '同比')}、"
                   f"较低权重细分组（{lo_txt}）病例数{fmt.change(best['lo1'], best['lo0'], '同比')}（全统筹区其他医院同期"
                   f"占比变化{fmt.num(best['rshift'], 1)}个百分点），提示可能存在高套病组{impact_txt}，请核查病案首页合并症、并发症"
                   f"填写和编码的真实性并书面说明。")
            out.append(finding(ctx, "UPCODING_DRG", code, adrg, "较高权重细分组占比(%)", best["p1"], best["p0"],
                               best["sev"], msg, impact=impact, peer_group="本院去年同期", volume=best["n1"],
                               z=best["z"]))
    return out


def upcoding_icd(ctx: Ctx) -> list[dict]:
    """高靠诊断: within an ICD-10 category (3 characters of the settlement list's main diagnosis), the
    share of specified subcategories rising against the same period a year earlier at the expense of
    the unspecified subcategory (.9 未特指) (handbook 附录3 3(6) I63 example)."""
    t = T["UPCODING_ICD"]
    if not ctx.has_list or not ctx.months_in(ctx.yago.months):
        return []
    valid = "diag3 IS NOT NULL AND length(diag) >= 5 AND substr(diag, 4, 1) = '.'"
    y2 = ctx.y2ago.months if ctx.months_in(ctx.y2ago.months) else []
    tags = [("cur", ctx.cur), ("base", ctx.yago.months)] + ([("y2", y2)] if y2 else [])
    case = " ".join(f"WHEN month IN {mlist(m)} THEN {lit(tag)}" for tag, m in tags)
    months = mlist([m for _, ms in tags for m in ms])
    agg = ctx.df(f"""SELECT fixmedins_code, diag3 AS k,
                            sum(CASE WHEN month IN {mlist(ctx.cur)} THEN 1 ELSE 0 END) AS n_cur,
                            sum(CASE WHEN month IN {mlist(ctx.cur)} AND substr(diag, 5, 1) <> '9' THEN 1 ELSE 0 END)
                                AS hi_cur,
                            sum(CASE WHEN month IN {mlist(ctx.yago.months)} THEN 1 ELSE 0 END) AS n_base,
                            sum(CASE WHEN month IN {mlist(ctx.yago.months)} AND substr(diag, 5, 1) <> '9' THEN 1 ELSE 0
                                END) AS hi_base
                     FROM {ctx.ip} WHERE {valid} AND month IN {months} GROUP BY ALL ORDER BY 1, 2""")
    if agg.empty:
        return []
    reg = agg.groupby("k")[["n_cur", "hi_cur", "n_base", "hi_base"]].sum()
    cand = []
    for r in agg.itertuples():
        if r.fixmedins_code not in ctx.hosp.index or r.n_base <= 0:
            continue
        if (r.n_base - r.hi_base) / r.n_base * 100 < t["min_unspec_base"]:
            continue  # hardly any unspecified cases a year earlier: nothing to shift from
        g = reg.loc[r.k]
        res = _shift(r.hi_cur, r.n_cur, r.hi_base, r.n_base, g.hi_cur - r.hi_cur, g.n_cur - r.n_cur,
                     g.hi_base - r.hi_base, g.n_base - r.n_base, t)
        if res is not None:
            cand.append((r, res))
    if not cand:
        return []
    # detail (subcategory shares, region mean costs, two years back) for the candidates only
    cats = sorted({r.k for r, _ in cand})
    sub_df = ctx.df(f"""SELECT fixmedins_code, diag3 AS k, substr(diag, 1, 5) AS s, CASE {case} END AS tag,
                               count(*) AS n, sum(medfee_sumamt) AS fee, sum(fund) AS fund
                        FROM {ctx.ip} WHERE {valid} AND month IN {months} AND diag3 IN {mlist(cats)}
                        GROUP BY ALL""")
    reg = sub_df[sub_df["tag"] != "y2"].groupby("s")[["n", "fee", "fund"]].sum()
    reg_cost = (reg["fee"] / reg["n"]).to_dict()
    reg_fund = (reg["fund"] / reg["n"]).to_dict()  # the region's mean fund payment per case of a subcategory
    out = []
    for r, res in cand:
        d = sub_df[(sub_df["fixmedins_code"] == r.fixmedins_code) & (sub_df["k"] == r.k)]
        sh = {tag: d[d["tag"] == tag].groupby("s")["n"].sum() / max(d.loc[d["tag"] == tag, "n"].sum(), 1) * 100
              for tag in ("cur", "base", "y2")}
        rising = sorted(((s_, float(sh["base"].get(s_, 0.0)), float(sh["cur"].get(s_, 0.0)))
                         for s_ in set(sh["cur"].index) | set(sh["base"].index) if not s_.endswith(".9")),
                        key=lambda x: (-(x[2] - x[1]), x[0]))
        rising = [x for x in rising if x[2] - x[1] >= 2.0]
        unspec_cost = reg_cost.get(f"{r.k}.9")
        impact, itxt = _icd_impact(res, rising, reg_fund.get(f"{r.k}.9"), reg_fund)
        note, ann = "", ""
        if rising and unspec_cost:
            w = sum(b - a for _, a, b in rising)
            avg = sum((b - a) * reg_cost.get(s_, unspec_cost) for s_, a, b in rising) / w
            if avg <= unspec_cost * 1.02:
                note, ann = "（增长亚目的平均费用并不高于未特指亚目，也可能是编码更加准确）", "编码细化"
                res["sev"] = "medium"
        two = ""
        y2n = d.loc[d["tag"] == "y2", "n"].sum()
        if y2 and y2n >= t["min_base"]:
            two = f"（两年前为{fmt.pct(100 - sh['y2'].get(f'{r.k}.9', 0.0), 1)}）"
        nm = icd_names().get(r.k, "")
        label = f"{r.k}（{nm}）" if nm else r.k
        rise_txt = "、".join(f"{s_}（{fmt.pct(a, 1)}→{fmt.pct(b, 1)}）" for s_, a, b in rising[:3])
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}{label}类目下特指亚目病例占比为{fmt.pct(res['p1'], 1)}，"
               f"去年同期为{fmt.pct(res['p0'], 1)}{two}，" + (f"其中{rise_txt}增长明显，" if rise_txt else "")
               + f"而{r.k}.9（未特指）占比由{fmt.pct(100 - res['p0'], 1)}降至{fmt.pct(100 - res['p1'], 1)}"
               f"（全统筹区其他医院同期变化{fmt.num(res['rshift'], 1)}个百分点）{note}，提示可能存在高靠诊断{itxt}，"
               f"请核查主要诊断的临床依据并书面说明。")
        out.append(finding(ctx, "UPCODING_ICD", r.fixmedins_code, r.k, "特指亚目病例占比(%)", res["p1"], res["p0"],
                           res["sev"], msg, impact=impact, peer_group="本院去年同期", volume=res["n1"], z=res["z"],
                           annotation=ann))
    return out


def _icd_impact(res: dict, rising: list, unspec_fund, reg_fund: dict) -> tuple[float | None, str]:
    """Estimated extra fund payment of a 高靠诊断 lead: the cases above last year's share of the specified
    subcategories (n × (p1 − p0)) paid at the region's mean fund payment of the subcategories that grew
    (weighted by their rise) instead of the unspecified one's. (None, '') when those are not costlier."""
    if not rising or unspec_fund is None or not np.isfinite(unspec_fund):
        return None, ""
    w = sum(b - a for _, a, b in rising)
    hi = sum((b - a) * reg_fund.get(s_, unspec_fund) for s_, a, b in rising) / w
    gap = hi - unspec_fund
    excess = res["n1"] * (res["p1"] - res["p0"]) / 100
    if gap <= 0 or excess <= 0:
        return None, ""
    impact = excess * gap
    return impact, (f"；按去年同期占比计，约{fmt.count(excess)}例多编入特指亚目，按特指与未特指亚目例均统筹基金支付之差"
                    f"（{fmt.money(gap)}/例）估算多支付医保基金约{fmt.money(impact)}")
