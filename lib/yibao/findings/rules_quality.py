"""Findings rules on settlement-list quality (QC_PASS_LOW, UPLOAD_LOW) and the efficiency indices (43/44) of
the commendation list. Shared context and thresholds: :mod:`yibao.findings.rules`.
"""
from __future__ import annotations

import pandas as pd

from yibao import fmt
from yibao.findings import yardstick
from yibao.findings.rules import T, Ctx, Spec, _hosp_frame, finding, history, mlist
from yibao.findings.stats import binomial_band_p, robust_compare


def _region_rate_rule(ctx: Ctx, rule_id: str, counts, num: str, den: str, min_den: int,
                      metric: str, text) -> list[dict]:
    """A rate far below the region's hospitals' median (all levels: the handbook compares these indicators
    with the region). With fewer than ``min_peers`` qualifying hospitals in the region, the yardstick (a
    provincial reference, else the hospital's own rate a year earlier). Either way the hospital's count must
    also lie outside the binomial band around the benchmark, so a small hospital's noise is not flagged."""
    t = T[rule_id]
    df = _hosp_frame(ctx, counts(ctx, ctx.cur))
    df = df[df[den] >= min_den].copy()
    if df.empty:
        return []
    df["rate"] = df[num] / df[den] * 100
    df["all"] = "全统筹区"
    df = robust_compare(df, "rate", direction="low", floor_abs=t["floor_abs"], floor_rel=t["floor_rel"],
                        group_col="all")
    df["peer_text"] = "全统筹区医院"
    df["few"] = len(df) < t["min_peers"]
    df["whole_region"] = True
    spec = Spec(rule_id, num, den, bad_high=False, order=t["yardsticks"],
                hist=history(ctx, counts, num, den, d_min=(den, min_den)))
    df = yardstick.apply(ctx, df, spec, "low", t["min_peers"])
    out = []
    for r in df.itertuples():
        sev = t["grade"].severity(r.z, r.rel, getattr(r, den), min_den)
        if not sev:
            continue
        # binomial band: a small hospital's few failed lists are noise, not a low rate
        if binomial_band_p(getattr(r, num), getattr(r, den), r.median) > t["max_binom_p"]:
            continue
        out.append(finding(ctx, rule_id, r.fixmedins_code, "", metric, r.rate, r.median, sev,
                           text(r, yardstick.bench_text(r, fmt.pct)), peer_group=r.peer_text,
                           volume=getattr(r, den), z=r.z))
    return out


def _qc_counts(ctx: Ctx, months: list[str]) -> pd.DataFrame:
    return ctx.df(f"""SELECT fixmedins_code, sum(CASE WHEN listed THEN 1 ELSE 0 END) AS uploaded,
                           sum(CASE WHEN listed AND qc_stas = '1' THEN 1 ELSE 0 END) AS passed
                    FROM {ctx.ip} WHERE month IN {mlist(months)} GROUP BY 1""")


def _upload_counts(ctx: Ctx, months: list[str]) -> pd.DataFrame:
    return ctx.df(f"""SELECT fixmedins_code, count(*) AS ip, sum(CASE WHEN listed THEN 1 ELSE 0 END) AS uploaded
                    FROM {ctx.ip} WHERE month IN {mlist(months)} GROUP BY 1""")


def qc_pass_low(ctx: Ctx) -> list[dict]:
    """医保结算清单质控通过率 (indicator 29: qc_stas = 1 / uploaded lists) far below the region's hospitals."""
    if not ctx.has_list:
        return []
    return _region_rate_rule(ctx, "QC_PASS_LOW", _qc_counts, "passed", "uploaded", T["QC_PASS_LOW"]["min_uploaded"],
                             "结算清单质控通过率(%)", lambda r, bench: (
        f"{ctx.period.label}{ctx.name(r.fixmedins_code)}医保结算清单质控通过率为{fmt.pct(r.rate)}（已上传"
        f"{fmt.count(r.uploaded)}份），{bench}，明显偏低，请加强病案首页和结算清单"
        f"填报质量管理，逐条整改质控问题。"))


def upload_low(ctx: Ctx) -> list[dict]:
    """医保结算清单上传率 (indicator 28: uploaded lists / inpatient settlements) far below the region's hospitals."""
    return _region_rate_rule(ctx, "UPLOAD_LOW", _upload_counts, "uploaded", "ip", T["UPLOAD_LOW"]["min_ip"],
                             "结算清单上传率(%)", lambda r, bench: (
        f"{ctx.period.label}{ctx.name(r.fixmedins_code)}医保结算清单上传率为{fmt.pct(r.rate)}（出院{fmt.count(r.ip)}"
        f"人次，上传{fmt.count(r.uploaded)}份），{bench}，明显偏低，请按规定及时、"
        f"完整上传医保结算清单。"))


# ---- efficiency (indicators 43/44) for the commendation list -------------------------------------------
def efficiency(ctx: Ctx) -> pd.DataFrame:
    """时间消耗指数 (43) and 费用消耗指数 (44) per hospital over its grouped cases of the period."""
    df = ctx.df(f"""
        WITH g AS (SELECT fixmedins_code, grp, ipt_days, medfee_sumamt FROM {ctx.ip}
                   WHERE month IN {mlist(ctx.cur)} AND grp_stas = '1' AND grp IS NOT NULL),
             r AS (SELECT grp, avg(ipt_days) AS rd, avg(medfee_sumamt) AS rf FROM g GROUP BY grp),
             h AS (SELECT fixmedins_code, grp, count(*) AS n, avg(ipt_days) AS hd, avg(medfee_sumamt) AS hf
                   FROM g GROUP BY 1, 2)
        SELECT fixmedins_code, sum(n) AS grouped,
               sum(CASE WHEN rd > 0 THEN hd / rd * n END) / sum(CASE WHEN rd > 0 THEN n END) AS time_index,
               sum(CASE WHEN rf > 0 THEN hf / rf * n END) / sum(CASE WHEN rf > 0 THEN n END) AS cost_index
        FROM h JOIN r USING (grp) GROUP BY 1""")
    return _hosp_frame(ctx, df)
