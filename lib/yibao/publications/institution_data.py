"""The data of the per-institution publication (定向推送), computed once per region and period.

:func:`build_bundles` reads the region's 数据底稿 and findings (the files ``yibao run`` already wrote, or
computes them), runs the region-level queries once — 12-month series of every hospital, its DRG/DIP
groups, budgets, settlement claims, the cases behind every finding, the feedback — and then writes one
**bundle** directory per hospital holding only that hospital's rows plus what may be said of its peers:
the median, 标杆值 and size of its level, the region's value and its rank. Nothing else of another
institution (code, name, case) is ever written into a bundle: the 知悉范围 of the package holds by
construction, since the notebook of a hospital opens its own bundle and nothing else.

Bundle files (all UTF-8): ``info.json``, ``digao.csv``, ``trend.csv``, ``groups.csv``, ``budget.json``,
``claims.csv``, ``findings.csv``, ``cases.csv``, ``feedback.csv``.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse, lit
from yibao.fsutil import write_text

#: indicators where a lower value is better (标杆值 = the level's 25th percentile) and where a higher one is
#: (75th percentile); the others (volumes, neutral shares) get no 标杆值
LOWER_BETTER = {"37", "43", "44", "45", "32", "35", "x_ipt_days_avg"}
HIGHER_BETTER = {"28", "29", "31", "40"}
#: the key figures of the first page, in order
KEY_IDS = ["39", "38", "36", "37", "x_cmi", "44", "43", "x_ipt_days_avg", "45", "28", "29"]
TREND_MONTHS = 12
FILES = ("info.json", "digao.csv", "trend.csv", "groups.csv", "budget.json", "claims.csv", "findings.csv",
         "cases.csv", "feedback.csv")


def _csv(df: pd.DataFrame, path: Path) -> None:
    write_text(path, df.to_csv(index=False))


def read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame()
    try:
        return pd.read_csv(path, dtype={"fixmedins_code": str, "indicator_id": str, "setl_id": str, "mdtrt_id": str,
                                        "grp": str, "grp_code": str, "subject": str, "main_diag_code": str,
                                        "month": str}, keep_default_na=True, encoding="utf-8")
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


# ---- region-level pieces (computed once) -------------------------------------------------------------------

def digao_table(ind: pd.DataFrame, ind_prev: pd.DataFrame | None, hosp: pd.DataFrame) -> pd.DataFrame:
    """Per hospital and per-institution indicator: value, status, 上期 value, its level's median, 标杆值 and
    number of hospitals with a value, the region value, the rank within the level (1 = highest value)."""
    from yibao.metrics import catalogue
    ids = [i for i in catalogue.ids(per_institution=True) if catalogue.get(i).kind != "heading"]
    d = ind[ind["indicator_id"].astype(str).isin(ids)].copy()
    d["indicator_id"] = d["indicator_id"].astype(str)
    d["value"] = pd.to_numeric(d["value"], errors="coerce")
    region = d[d["fixmedins_code"].fillna("").astype(str) == ""].set_index("indicator_id")
    inst = d[d["fixmedins_code"].fillna("").astype(str) != ""].copy()
    inst["fixmedins_code"] = inst["fixmedins_code"].astype(str)
    inst = inst[inst["fixmedins_code"].isin(hosp["fixmedins_code"])]
    inst["lv_group"] = inst["fixmedins_code"].map(hosp.set_index("fixmedins_code")["lv_group"])
    ok = inst["value"].where(inst["status"] == "ok")
    inst["v_ok"] = ok
    g = inst.groupby(["indicator_id", "lv_group"])["v_ok"]
    inst["level_n"] = g.transform("count")
    inst["level_median"] = g.transform("median")
    q25, q75 = g.transform(lambda s: s.quantile(0.25)), g.transform(lambda s: s.quantile(0.75))
    inst["benchmark"] = np.where(inst["indicator_id"].isin(LOWER_BETTER), q25,
                                 np.where(inst["indicator_id"].isin(HIGHER_BETTER), q75, np.nan))
    inst["rank"] = g.rank(ascending=False, method="min")
    inst["region_value"] = inst["indicator_id"].map(region["value"]) if not region.empty else np.nan
    if ind_prev is not None and not ind_prev.empty:
        prev = ind_prev[ind_prev["fixmedins_code"].fillna("").astype(str) != ""].copy()
        prev = prev[prev["status"] == "ok"]
        prev["key"] = prev["indicator_id"].astype(str) + "|" + prev["fixmedins_code"].astype(str)
        inst["prev_value"] = (inst["indicator_id"] + "|" + inst["fixmedins_code"]).map(
            prev.set_index("key")["value"].astype(float))
    else:
        inst["prev_value"] = np.nan
    inst["name"] = inst["indicator_id"].map(lambda i: catalogue.get(i).name)
    inst["unit"] = inst["indicator_id"].map(lambda i: catalogue.get(i).unit)
    inst["order"] = inst["indicator_id"].map(lambda i: catalogue.sort_key(i))
    inst = inst.sort_values(["fixmedins_code", "order"])
    return inst[["fixmedins_code", "indicator_id", "name", "unit", "value", "status", "prev_value", "level_median",
                 "benchmark", "level_n", "rank", "region_value"]]


def trend_table(wh: Warehouse, region: str, period: Period) -> pd.DataFrame:
    """Every hospital's 12 months ending with the period: outpatient and inpatient cases of local patients,
    medical costs, fund payments, average inpatient cost; plus the region's average inpatient cost."""
    months = period.trailing_months(TREND_MONTHS) if period.kind == "month" else \
        Period.parse(period.months[-1]).trailing_months(TREND_MONTHS)
    m = "(" + ", ".join(lit(x) for x in months) + ")"
    df = wh.df(f"""
        SELECT fixmedins_code, month,
               count(*) FILTER (WHERE is_op AND is_local) AS op_cases,
               count(*) FILTER (WHERE is_ip AND is_local) AS ip_cases,
               sum(medfee_sumamt) FILTER (WHERE is_ip AND is_local) AS ip_cost,
               sum(medfee_sumamt) AS medfee, sum(hifp_pay) AS hifp_pay
        FROM setl_net WHERE poolarea_no = {lit(region)} AND month IN {m} GROUP BY 1, 2""")
    df["avg_ip_cost"] = df["ip_cost"] / df["ip_cases"].where(df["ip_cases"] > 0)
    reg = df.groupby("month")[["ip_cost", "ip_cases"]].sum()
    df["region_avg_ip_cost"] = df["month"].map(reg["ip_cost"] / reg["ip_cases"].where(reg["ip_cases"] > 0))
    return df.drop(columns=["ip_cost"]).sort_values(["fixmedins_code", "month"])


def groups_table(wh: Warehouse, region: str, period: Period, pay_method: str) -> pd.DataFrame:
    """Per hospital and DRG/DIP group (grouped cases of the period): cases, mean weight (CMI of the group),
    mean cost and days, the group's 支付标准, cost and time indices against the region's mean of the group."""
    if not wh.has("setl_list"):
        return pd.DataFrame()
    col = "drg_code" if pay_method == "DRG" else "dip_code"
    cat = "drg_catalog" if pay_method == "DRG" else "dip_catalog"
    name = "drg_name" if pay_method == "DRG" else "dip_name"
    std = (f"(SELECT {col} AS grp, any_value({name}) AS grp_name, avg(pay_std) AS cat_pay_std FROM {cat} "
           f"WHERE poolarea_no = {lit(region)} GROUP BY 1)" if wh.has(cat) else
           "(SELECT NULL AS grp, NULL AS grp_name, NULL AS cat_pay_std WHERE FALSE)")
    m = "(" + ", ".join(lit(x) for x in period.months) + ")"
    return wh.df(f"""
        WITH c AS (SELECT l.{col} AS grp, l.fixmedins_code, l.medfee_sumamt, l.weight, l.pay_std, l.ipt_days
                   FROM setl_list_net l WHERE l.poolarea_no = {lit(region)} AND l.month IN {m}
                     AND l.grp_stas = '1' AND l.{col} IS NOT NULL),
             r AS (SELECT grp, avg(medfee_sumamt) AS r_cost, avg(ipt_days) AS r_days FROM c GROUP BY 1)
        SELECT c.fixmedins_code, c.grp, s.grp_name, count(*) AS cases, avg(c.weight) AS weight,
               avg(c.medfee_sumamt) AS avg_cost, avg(c.ipt_days) AS avg_days,
               coalesce(avg(c.pay_std), any_value(s.cat_pay_std)) AS pay_std,
               sum(c.medfee_sumamt) AS cost_sum, sum(coalesce(c.pay_std, s.cat_pay_std)) AS pay_std_sum,
               avg(c.medfee_sumamt) / nullif(any_value(r.r_cost), 0) AS cost_index,
               avg(c.ipt_days) / nullif(any_value(r.r_days), 0) AS time_index
        FROM c JOIN r USING (grp) LEFT JOIN {std} s USING (grp)
        GROUP BY 1, 2, 3 ORDER BY 1, cases DESC, 2""")


def feedback_table(wh: Warehouse, region: str, period: Period, kind: str, release: dt.date) -> pd.DataFrame:
    """The region's feedback rows received before this release that are in the window of the previous
    release or still open (处理中) — with the window's start in ``window_start``."""
    from yibao.publications import feedback
    try:
        start, end, _prev = feedback.window(kind, period, release)
    except ValueError:
        start, end = release - dt.timedelta(days=92 if kind == "quarterly" else 31), release
    df = feedback.load(wh, region, "1900-01-01", end.isoformat())
    if df is None or df.empty:
        return pd.DataFrame()
    df = df.copy()
    df["status"] = df["status"].map(feedback.normalise_status)
    rec = pd.to_datetime(df["received_date"], errors="coerce")
    keep = (rec >= pd.Timestamp(start)) | (df["status"] == "处理中")
    df = df[keep].drop(columns=["fixmedins_name"])
    df["window_start"] = start.isoformat()
    return df


# ---- bundles ------------------------------------------------------------------------------------------------

def _release(region: str, period: Period, given: str | None) -> dt.date:
    from yibao.publications import plan
    kind = "monthly" if period.kind == "month" else "quarterly"
    return plan.release_date(region, kind, period.code, given or None)


def region_setting(region: str, key: str, default):
    """``regions.<code>.<key>`` of params/regions.yaml, else ``defaults.<key>``, else ``default``."""
    import yaml
    from yibao.publications import rules
    path = rules.regions_yaml()
    cfg = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}
    reg = (cfg.get("regions") or {}).get(str(region)) or {}
    return reg.get(key, (cfg.get("defaults") or {}).get(key, default))


def _explain_days(region: str) -> int:
    try:
        return int(region_setting(region, "explain_days", 15))
    except (TypeError, ValueError):
        return 15


def build_bundles(data_dir, region: str, period: str, out_dir, codes: list[str] | None = None,
                  precomputed=None, release_date: str | None = None, explain_days: int | None = None) -> dict:
    """Write ``out_dir/<fixmedins_code>/`` for every designated hospital of the region (or ``codes``);
    returns {code: bundle dir}. ``precomputed``: a directory with the region's indicators.csv and
    findings.csv (``yibao run``); otherwise they are computed here."""
    from yibao.findings import cases as case_rows
    from yibao.findings import engine as findings_engine
    from yibao.metrics import indicators
    p = Period.parse(str(period))
    out_dir = Path(out_dir)
    kind = "monthly" if p.kind == "month" else "quarterly"
    with Warehouse(data_dir) as wh:
        info = wh.region(str(region))
        pay = info["pay_method"]
        hosp = wh.institutions(str(region), hospitals_only=True)
        if codes:
            unknown = sorted(set(codes) - set(hosp["fixmedins_code"]))
            if unknown:
                raise ValueError(f"--institution: {', '.join(unknown)} 不是统筹区 {region} 的定点医疗机构")
        pre = Path(precomputed) if precomputed else None
        if pre is not None and (pre / "indicators.csv").is_file():
            ind = pd.read_csv(pre / "indicators.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
            ind["value"] = pd.to_numeric(ind["value"], errors="coerce")
        else:
            ind = indicators.compute(wh, str(region), p.code)
        if pre is not None and (pre / "findings.csv").is_file():
            found = pd.read_csv(pre / "findings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
            for c in ("value", "benchmark", "impact"):
                found[c] = pd.to_numeric(found[c], errors="coerce")
        else:
            found = findings_engine.find(wh, str(region), p.code)
        try:
            ind_prev = indicators.compute(wh, str(region), p.previous().code)
        except Exception:  # noqa: BLE001 - no 上期 data: the column stays empty
            ind_prev = None
        targets = hosp if not codes else hosp[hosp["fixmedins_code"].isin(codes)]
        digao = digao_table(ind, ind_prev, hosp)
        trend = trend_table(wh, str(region), p)
        groups = groups_table(wh, str(region), p, pay)
        from yibao.metrics import analysis
        budget = analysis.hospital_budget_execution(wh, str(region), p.code)
        claims = analysis.settlement_claims(wh, str(region), p.code)
        mine = found[found["fixmedins_code"].astype(str).isin(targets["fixmedins_code"])]
        cases, totals = case_rows.cases(wh, str(region), p.code, mine)
        rel = _release(str(region), p, release_date)
        fb = feedback_table(wh, str(region), p, kind, rel)
    days = int(explain_days if explain_days is not None else _explain_days(str(region)))
    due = rel + dt.timedelta(days=days)
    levels = hosp["lv_group"].value_counts()
    from yibao.findings.engine import RULES
    out = {}
    for h in targets.itertuples(index=False):
        code = str(h.fixmedins_code)
        d = out_dir / code
        d.mkdir(parents=True, exist_ok=True)
        f = found[found["fixmedins_code"].astype(str) == code].copy()
        f["rule_name"] = f["rule_id"].map(lambda r: RULES[r].name if r in RULES else r)
        t = totals[totals["fixmedins_code"].astype(str) == code]
        f = f.merge(t[["rule_id", "subject", "n_cases", "listed"]], on=["rule_id", "subject"], how="left")
        meta = {"fixmedins_code": code, "fixmedins_name": str(h.fixmedins_name), "lv_group": str(h.lv_group),
                "hosp_lv": str(getattr(h, "hosp_lv", "") or ""), "level_hospitals": int(levels.get(h.lv_group, 0)),
                "region": str(region), "region_name": str(info.get("poolarea_name") or region), "pay_method": pay,
                "period": p.code, "period_label": p.label, "kind": kind, "release_date": rel.isoformat(),
                "explain_days": days, "explain_due": due.isoformat(),
                "drg_dip": str(getattr(h, "drg_dip_flag", "") or "") == "1"}
        write_text(d / "info.json", json.dumps(meta, ensure_ascii=False, indent=1))
        _csv(digao[digao["fixmedins_code"] == code], d / "digao.csv")
        _csv(trend[trend["fixmedins_code"] == code].drop(columns=["fixmedins_code"]), d / "trend.csv")
        _csv(groups[groups["fixmedins_code"] == code] if not groups.empty else groups, d / "groups.csv")
        b = budget[budget["fixmedins_code"] == code] if not budget.empty else budget
        bj = {} if b.empty else {k: (None if pd.isna(v) else float(v)) for k, v in b.iloc[0].items()
                                 if k in ("budget", "spent", "elapsed", "due", "execution", "balance")}
        write_text(d / "budget.json", json.dumps(bj, ensure_ascii=False))
        c = claims[claims["fixmedins_code"] == code] if not claims.empty else claims
        _csv(c.drop(columns=[x for x in ("fixmedins_name", "level") if x in c.columns]), d / "claims.csv")
        _csv(f.drop(columns=["fixmedins_name"]), d / "findings.csv")
        _csv(cases[cases["fixmedins_code"].astype(str) == code], d / "cases.csv")
        _csv(fb[fb["fixmedins_code"].astype(str) == code] if not fb.empty else fb, d / "feedback.csv")
        out[code] = d
    return out


__all__ = ["FILES", "KEY_IDS", "build_bundles", "digao_table", "groups_table", "read_csv", "trend_table"]
