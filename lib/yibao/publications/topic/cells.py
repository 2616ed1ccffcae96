"""A study's data: the SQL that counts cases per hospital × group × period, and the small tables derived
from it (period summaries, hospital tables, 标杆值, structure by group).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from yibao.data.contract import FEE_COMPONENTS, LEVEL_ORDER
from yibao.errors import YibaoError
from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse, lit
from yibao.publications.topic.codes import MIN_CASES, Topic, UPCODING_RULES


# ---- SQL building blocks ------------------------------------------------------------------------------

_DX = "replace(upper(trim(l.main_diag_code)), '.', '')"   # I63.300 → I63300


def _predicate(topic: Topic) -> str:
    """SQL predicate on setl_list_net ``l`` selecting the topic's cases."""
    if topic.kind == "adrg":
        return f"upper(substr(trim(l.drg_code), 1, 3)) = {lit(topic.code)}"
    if topic.kind == "category":
        return f"substr({_DX}, 1, 3) = {lit(topic.code)}"
    if topic.kind == "subcategory":
        return f"upper(substr({_DX}, 1, 4)) = {lit(topic.code.replace('.', '').upper())}"
    lo, hi = topic.code_range.split("-")
    return f"substr({_DX}, 1, 3) BETWEEN {lit(lo)} AND {lit(hi)}"


def _child_expr(topic: Topic, pay_method: str) -> str:
    if topic.kind == "adrg":
        return "upper(trim(l.drg_code))"
    if topic.kind == "category":
        return (f"CASE WHEN length({_DX}) >= 4 THEN substr({_DX}, 1, 3) || '.' || lower(substr({_DX}, 4, 1)) "
                f"ELSE substr({_DX}, 1, 3) END")
    if topic.kind == "subcategory":
        col = "drg_code" if pay_method == "DRG" else "dip_code"
        return f"coalesce(nullif(upper(trim(l.{col})), ''), '未入组')"
    return f"substr({_DX}, 1, 3)"


def _period_case(periods: list[Period]) -> str:
    whens = " ".join(f"WHEN l.month IN ({', '.join(lit(m) for m in p.months)}) THEN {lit(p.code)}"
                     for p in periods)
    return f"CASE {whens} END"


def _all_months(periods: list[Period]) -> str:
    return ", ".join(lit(m) for p in periods for m in p.months)


def comparison_periods(period, compare=None) -> list[Period]:
    """The study period and its comparison periods, oldest first, study period last.

    Default: the same period of the two previous years (2026Q3 → 2024Q3, 2025Q3, 2026Q3)."""
    p = Period.parse(period)
    if compare:
        if isinstance(compare, str):
            compare = [c for c in re.split(r"[,\s]+", compare) if c]
        others = {Period.parse(c) for c in compare} - {p}
    else:
        others = {p.year_ago(), p.year_ago().year_ago()}
    out = sorted(others, key=lambda x: (x.start, x.length)) + [p]
    for a in out[:-1]:
        if not (a.end <= p.start or a.start >= p.end):
            raise YibaoError(f"compare_periods: 对比期间 {a.code} 与研究期间 {p.code} 重叠")
    return out


def cells(wh: Warehouse, region: str, topic: Topic, periods: list[Period], pay_method: str) -> pd.DataFrame:
    """The topic's cases by period × hospital × child (DRG subgroup / subcategory / DIP group / category).

    Columns: period, fixmedins_code, child, cases, medfee, fee_* (8 components), fee_total (their sum),
    days (Σ ipt_days), n_days (cases with ipt_days), hifp_pay, psn_cash_pay. Small: one row per cell."""
    fees = ", ".join(f"SUM(coalesce(l.{f}, 0)) AS {f}" for f in FEE_COMPONENTS)
    fee_total = " + ".join(f"coalesce(l.{f}, 0)" for f in FEE_COMPONENTS)
    return wh.df(f"""
        SELECT {_period_case(periods)} AS period, l.fixmedins_code, {_child_expr(topic, pay_method)} AS child,
               COUNT(*) AS cases, SUM(l.medfee_sumamt) AS medfee, {fees},
               SUM({fee_total}) AS fee_total,
               SUM(l.ipt_days) AS days, COUNT(l.ipt_days) AS n_days,
               SUM(l.hifp_pay) AS hifp_pay, SUM(l.psn_cash_pay) AS psn_cash_pay
        FROM setl_list_net l
        WHERE l.poolarea_no = ? AND l.month IN ({_all_months(periods)}) AND {_predicate(topic)}
        GROUP BY ALL ORDER BY 1, 2, 3""", [str(region)])


def case_medians(wh: Warehouse, region: str, topic: Topic, periods: list[Period]) -> pd.Series:
    """Median cost of a case (病例费用中位数) per period."""
    df = wh.df(f"""
        SELECT {_period_case(periods)} AS period, quantile_cont(l.medfee_sumamt, 0.5) AS median
        FROM setl_list_net l
        WHERE l.poolarea_no = ? AND l.month IN ({_all_months(periods)}) AND {_predicate(topic)}
        GROUP BY 1""", [str(region)])
    return df.set_index("period")["median"]


# ---- derived tables (pandas on small results) ---------------------------------------------------------

_SUMS = ["cases", "medfee", *FEE_COMPONENTS, "fee_total", "days", "n_days", "hifp_pay", "psn_cash_pay"]


def _finish(df: pd.DataFrame, min_cases: int = 1) -> pd.DataFrame:
    """Averages and shares of summed cells; averages are NaN below ``min_cases``."""
    df = df.copy()
    ok = df["cases"] >= max(1, min_cases)
    df["avg_cost"] = (df["medfee"] / df["cases"]).where(ok)
    df["avg_los"] = (df["days"] / df["n_days"].replace(0, np.nan)).where(ok)
    df["fund_share"] = df["hifp_pay"] / df["medfee"].replace(0, np.nan) * 100
    for f in FEE_COMPONENTS:
        df[f + "_share"] = df[f] / df["fee_total"].replace(0, np.nan) * 100
    return df


def summary_by_period(c: pd.DataFrame, periods: list[Period], medians: pd.Series | None = None) -> pd.DataFrame:
    """Region totals per period: cases, medfee, avg_cost, avg_los, hifp_pay, fund_share, fee shares,
    hospitals (with cases), case_median. One row per period (oldest first), zeros where no cases."""
    g = c.groupby("period")[_SUMS].sum() if len(c) else pd.DataFrame(columns=_SUMS)
    g = g.reindex([p.code for p in periods]).fillna(0)
    g["hospitals"] = c.groupby("period")["fixmedins_code"].nunique().reindex(g.index).fillna(0) if len(c) else 0
    out = _finish(g.rename_axis("period").reset_index())
    out["case_median"] = out["period"].map(medians) if medians is not None else np.nan
    return out


def hospital_table(c: pd.DataFrame, hospitals: pd.DataFrame, period: Period, min_cases: int = MIN_CASES,
                   base: Period | None = None) -> pd.DataFrame:
    """Per hospital in ``period``: cases, avg_cost, avg_los, eligible (≥ min_cases), rank (1 = highest
    average cost among the eligible), ratio to the median / benchmark / its level's median; with
    ``base`` also base_cases and base_avg_cost. Only hospitals of the region (``hospitals``)."""
    cur = c[c["period"] == period.code].groupby("fixmedins_code")[_SUMS].sum()
    df = _finish(cur.reset_index(), min_cases)
    h = hospitals[["fixmedins_code", "fixmedins_name", "lv_group"]]
    df = h.merge(df, on="fixmedins_code", how="inner")
    df["eligible"] = df["cases"] >= min_cases
    if base is not None:
        b = _finish(c[c["period"] == base.code].groupby("fixmedins_code")[_SUMS].sum().reset_index(), min_cases)
        df = df.merge(b[["fixmedins_code", "cases", "avg_cost"]].rename(
            columns={"cases": "base_cases", "avg_cost": "base_avg_cost"}), on="fixmedins_code", how="left")
        df["base_cases"] = df["base_cases"].fillna(0)
    bm = benchmark(df, min_cases)
    df["vs_median"] = df["avg_cost"] / bm["median"] if bm["median"] else np.nan
    df["vs_benchmark"] = df["avg_cost"] / bm["benchmark"] if bm["benchmark"] else np.nan
    el = df[df["eligible"]]
    lv_med = el.groupby("lv_group")["avg_cost"].median()
    df["level_median"] = df["lv_group"].map(lv_med)
    df["vs_level"] = df["avg_cost"] / df["level_median"]
    df["rank"] = df["avg_cost"].where(df["eligible"]).rank(ascending=False, method="min")
    return df.sort_values(["rank", "fixmedins_code"], na_position="last").reset_index(drop=True)


def benchmark(hosp: pd.DataFrame, min_cases: int = MIN_CASES) -> dict:
    """资源消耗中位数 and 标杆值 of hospital average costs (hospitals with ≥ min_cases cases).

    median = median of the hospital averages; benchmark = their 25th percentile (linear interpolation);
    also the same two for the average length of stay, and n (hospitals counted)."""
    el = hosp[hosp["cases"] >= min_cases]
    costs = el["avg_cost"].dropna().astype(float).values
    los = el["avg_los"].dropna().astype(float).values
    return {
        "n": int(len(costs)),
        "median": float(np.median(costs)) if len(costs) else None,
        "benchmark": float(np.percentile(costs, 25)) if len(costs) else None,
        "min": float(costs.min()) if len(costs) else None,
        "max": float(costs.max()) if len(costs) else None,
        "los_median": float(np.median(los)) if len(los) else None,
        "los_benchmark": float(np.percentile(los, 25)) if len(los) else None,
    }


def level_comparison(hosp: pd.DataFrame, min_cases: int = MIN_CASES) -> pd.DataFrame:
    """Same-level comparison (同级比较): per level group hospitals, eligible hospitals, cases, pooled
    average cost, median / min / max of the eligible hospitals' averages."""
    rows = []
    for lv in LEVEL_ORDER:
        d = hosp[hosp["lv_group"] == lv]
        if d.empty:
            continue
        el = d[d["cases"] >= min_cases]["avg_cost"].dropna()
        rows.append({"level": lv, "hospitals": len(d), "eligible": len(el), "cases": d["cases"].sum(),
                     "avg_cost": d["medfee"].sum() / d["cases"].sum() if d["cases"].sum() else np.nan,
                     "median": el.median() if len(el) else np.nan, "min": el.min() if len(el) else np.nan,
                     "max": el.max() if len(el) else np.nan})
    return pd.DataFrame(rows)


def high_children(c: pd.DataFrame, adrg: bool = False) -> set:
    """The high-cost children of a topic.

    ADRG: the DRG subgroups of the most severe complication level present — ``…1`` 伴严重合并症或并发症,
    or ``…3`` where the ADRG has no ``…1`` (severity upcoding moves cases up this ladder; handbook 附录3 (6)
    EJ1). ICD topics: the children whose average cost over all compared periods exceeds the topic's."""
    children = sorted(c["child"].unique()) if len(c) else []
    if len(children) < 2:
        return set()
    if adrg:
        for level in ("1", "3"):
            sev = {x for x in children if len(x) == 4 and x[-1] == level}
            if sev and len(sev) < len(children):
                return sev
        return set()
    pooled = c.groupby("child")[["cases", "medfee"]].sum()
    overall = pooled["medfee"].sum() / pooled["cases"].sum()
    child_avg = pooled["medfee"] / pooled["cases"]
    return set(child_avg[child_avg > overall].index)


def structure(c: pd.DataFrame, periods: list[Period], names: dict | None = None, pay_std: dict | None = None,
              min_cases: int = MIN_CASES, adrg: bool = False) -> pd.DataFrame:
    """Children × periods at region level: cases, share (%), avg_cost (NaN below min_cases); long form
    with columns child, name, period, cases, share, avg_cost, high (a high-cost child, see
    :func:`high_children`), pooled_avg_cost, pay_std."""
    if c.empty:
        return pd.DataFrame(columns=["child", "name", "period", "cases", "share", "avg_cost", "high", "pay_std"])
    g = c.groupby(["child", "period"])[["cases", "medfee"]].sum().reset_index()
    full = pd.MultiIndex.from_product([sorted(g["child"].unique()), [p.code for p in periods]],
                                      names=["child", "period"])
    g = g.set_index(["child", "period"]).reindex(full, fill_value=0).reset_index()
    tot = g.groupby("period")["cases"].transform("sum")
    g["share"] = g["cases"] / tot.replace(0, np.nan) * 100
    g["avg_cost"] = (g["medfee"] / g["cases"].replace(0, np.nan)).where(g["cases"] >= min_cases)
    pooled = c.groupby("child")[["cases", "medfee"]].sum()
    child_avg = pooled["medfee"] / pooled["cases"]
    g["high"] = g["child"].isin(high_children(c, adrg))
    g["pooled_avg_cost"] = g["child"].map(child_avg)
    g["name"] = g["child"].map(names or {}).fillna("")
    g["pay_std"] = g["child"].map(pay_std or {})
    return g


def hospital_structure(c: pd.DataFrame, high: set, periods: list[Period]) -> pd.DataFrame:
    """Per hospital and period: cases and the cases / share (%) of the high-cost children."""
    if c.empty:
        return pd.DataFrame(columns=["fixmedins_code", "period", "cases", "high_cases", "high_share"])
    d = c.assign(high_cases=np.where(c["child"].isin(high), c["cases"], 0))
    g = d.groupby(["fixmedins_code", "period"])[["cases", "high_cases"]].sum().reset_index()
    g["high_share"] = g["high_cases"] / g["cases"].replace(0, np.nan) * 100
    return g


def upcoding_signal(findings: pd.DataFrame | None, topic: Topic) -> pd.DataFrame:
    """The findings engine's UPCODING_DRG / UPCODING_ICD rows whose subject lies in the topic
    (ADRG: subject starts with the ADRG; category / subcategory: subject starts with the code or is
    its category; chapter: subject's category in the chapter's range)."""
    cols = ["rule_id", "fixmedins_code", "fixmedins_name", "subject", "metric", "value", "benchmark",
            "severity", "message"]
    if findings is None or len(findings) == 0 or "rule_id" not in findings:
        return pd.DataFrame(columns=cols)
    f = findings[findings["rule_id"].isin(UPCODING_RULES)].copy()
    subj = f["subject"].fillna("").astype(str).str.upper().str.strip()
    if topic.kind == "adrg":
        m = subj.str.startswith(topic.code)
    elif topic.kind == "category":
        m = subj.str.replace(".", "", regex=False).str.startswith(topic.code)
    elif topic.kind == "subcategory":
        nodot = subj.str.replace(".", "", regex=False)
        m = nodot.str.startswith(topic.code.replace(".", "").upper()) | (subj == topic.code[:3])
    else:
        lo, hi = topic.code_range.split("-")
        cat = subj.str.replace(".", "", regex=False).str[:3]
        m = (cat >= lo) & (cat <= hi) & subj.str.match(r"^[A-Z]\d\d")
    return f[m].reset_index(drop=True)
