"""The cases behind a finding (疑点明细): the settlements a hospital is asked to verify one by one.

``cases(wh, region, period, findings)`` returns one row per (finding, settlement) with the columns of
:data:`CASE_COLUMNS` — settlement and visit ids, dates, group and diagnosis codes, amounts and a Chinese
sentence saying why the case is listed. The selection repeats, case by case, the test its rule applies to
counts (docs/findings.md); person identifiers are used inside SQL only (to link a readmission to the
discharge before it) and never fetched.

Rules about a hospital as a whole (门诊住院人次比, 出院人次增幅) rest on no particular case: they get no
rows, and the verification workbook says so. A finding lists at most :data:`MAX_CASES` cases, the largest
amounts first; the workbook states the total.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from yibao import fmt
from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse, lit
from yibao.findings.rules import T, mlist

CASE_COLUMNS = ["rule_id", "fixmedins_code", "subject", "setl_id", "mdtrt_id", "begndate", "enddate", "setl_time",
                "grp_code", "main_diag_code", "ipt_days", "medfee_sumamt", "hifp_pay", "fulamt_ownpay_amt",
                "pay_std", "reason"]
MAX_CASES = 500
#: rules about a hospital as a whole: no case-level list
NO_CASES = {"OPIP_RATIO_LOW": "本项为机构整体的门诊住院人次比，不对应具体病例，请就整体情况作出说明。",
            "CASE_GROWTH_HIGH": "本项为机构整体的出院人次增幅，不对应具体病例，请就增长原因作出说明。"}


def _q(x) -> str:
    return lit(str(x))


def _codes(df: pd.DataFrame) -> str:
    return "(" + ", ".join(_q(c) for c in sorted(set(df["fixmedins_code"]))) + ")"


class _Cases:
    def __init__(self, wh: Warehouse, region: str, period: Period):
        self.wh, self.region, self.p = wh, str(region), period
        info = wh.region(self.region)
        self.pay = info["pay_method"]
        self.has_list = wh.has("setl_list")
        self.grp = ("l.drg_code" if self.pay == "DRG" else "l.dip_code") if self.has_list else "NULL"
        self.cur = mlist(period.months)
        self.cat = self._catalog()

    def _catalog(self) -> pd.DataFrame:
        R = _q(self.region)
        if self.pay == "DRG" and self.wh.has("drg_catalog"):
            return self.wh.df(f"SELECT drg_code AS code, any_value(weight) AS weight, any_value(base_group) AS base_group, "
                              f"any_value(adrg_code) AS parent, any_value(pay_std) AS pay_std FROM drg_catalog "
                              f"WHERE poolarea_no = {R} GROUP BY 1")
        if self.pay == "DIP" and self.wh.has("dip_catalog"):
            return self.wh.df(f"SELECT dip_code AS code, any_value(score) AS weight, any_value(base_group) AS base_group, "
                              f"any_value(icd_category) AS parent, any_value(pay_std) AS pay_std FROM dip_catalog "
                              f"WHERE poolarea_no = {R} GROUP BY 1")
        return pd.DataFrame(columns=["code", "weight", "base_group", "parent", "pay_std"])

    def _scratch(self) -> str:
        """The region's inpatient settlements of the period and the month before (netted, with their list),
        as one temporary table: every rule below reads it instead of scanning the dataset again."""
        if getattr(self, "_ip", None):
            return self._ip
        import uuid
        name = f"_cases_ip_{uuid.uuid4().hex[:10]}"
        months = Period.parse(self.p.months[0]).previous().months + self.p.months
        lst = "LEFT JOIN setl_list l ON l.setl_id = s.setl_id" if self.has_list else ""
        cols = (f"""{self.grp} AS grp_code, l.main_diag_code, l.qc_stas, l.qc_errs, l.grp_stas, l.weight,
                    l.pay_std, l.setl_id IS NOT NULL AS listed,
                    coalesce(l.ipt_days, date_diff('day', s.begndate, s.enddate)) AS ipt_days"""
                if self.has_list else
                """NULL::VARCHAR AS grp_code, NULL::VARCHAR AS main_diag_code, NULL::VARCHAR AS qc_stas,
                   NULL::VARCHAR AS qc_errs, NULL::VARCHAR AS grp_stas, NULL::DOUBLE AS weight,
                   NULL::DOUBLE AS pay_std, false AS listed, date_diff('day', s.begndate, s.enddate) AS ipt_days""")
        self.wh.sql(f"""CREATE TEMP TABLE {name} AS
            SELECT s.setl_id, s.mdtrt_id, s.psn_no, s.fixmedins_code, s.month, s.begndate, s.enddate, s.setl_time,
                   s.medfee_sumamt, s.hifp_pay, s.fulamt_ownpay_amt, {cols}
            FROM setl_net s {lst}
            WHERE s.is_ip AND s.poolarea_no = {_q(self.region)} AND s.month IN {mlist(months)}""")
        self._ip = name
        return name

    def close(self) -> None:
        if getattr(self, "_ip", None):
            self.wh.sql(f"DROP TABLE IF EXISTS {self._ip}")
            self._ip = None

    def ip(self, codes: str, where: str = "TRUE") -> pd.DataFrame:
        """Inpatient settlements of the hospitals ``codes`` in the period (netted), with their list."""
        return self.wh.df(f"""
            SELECT setl_id, mdtrt_id, fixmedins_code, begndate, enddate, setl_time, medfee_sumamt, hifp_pay,
                   fulamt_ownpay_amt, grp_code, main_diag_code, qc_stas, qc_errs, grp_stas, weight, pay_std,
                   listed, ipt_days
            FROM {self._scratch()} WHERE month IN {self.cur} AND fixmedins_code IN {codes} AND ({where})""")

    # ---- per rule ------------------------------------------------------------------------------
    def cost_deviation(self, f) -> pd.DataFrame:
        d = self.ip(f"({_q(f.fixmedins_code)})", f"grp_code = {_q(f.subject)} AND grp_stas = '1'")
        bench = float(f.benchmark) if pd.notna(f.benchmark) else None
        if bench is not None:
            d = d[d["medfee_sumamt"] > bench]
        d["reason"] = [f"{f.subject}病组本例医疗费用{fmt.money(v)}，高于同级医院同病组次均费用中位数{fmt.money(bench)}"
                       for v in d["medfee_sumamt"]]
        return d

    def base_group(self, f) -> pd.DataFrame:
        base = set(self.cat.loc[self.cat["base_group"].astype(str).isin(["1", "1.0"]), "code"])
        d = self.ip(f"({_q(f.fixmedins_code)})", "grp_stas = '1'")
        d = d[d["grp_code"].isin(base)]
        d["reason"] = [f"入{g}组，属本统筹区目录标注的基层病组，三级医院收治需有相应指征" for g in d["grp_code"]]
        return d

    def upcoding_drg(self, f) -> pd.DataFrame:
        cat = self.cat.copy()
        cat["parent"] = cat["parent"].fillna(cat["code"].str[:3])
        sub = cat[cat["parent"] == f.subject].dropna(subset=["weight"])
        if sub.empty:
            return self.ip("('')")
        lowest = sub.sort_values(["weight", "code"]).iloc[0]
        higher = set(sub["code"]) - {lowest["code"]}
        d = self.ip(f"({_q(f.fixmedins_code)})", "grp_stas = '1'")
        d = d[d["grp_code"].isin(higher)]
        d["reason"] = [f"入{f.subject}内较高权重细分组{g}（权重{fmt.ratio(w, 2)}，该ADRG最低权重细分组{lowest['code']}为"
                       f"{fmt.ratio(lowest['weight'], 2)}），请核对合并症、并发症的填写和编码"
                       for g, w in zip(d["grp_code"], d["weight"].fillna(0))]
        return d

    def upcoding_icd(self, f) -> pd.DataFrame:
        d = self.ip(f"({_q(f.fixmedins_code)})",
                    f"upper(substr(trim(main_diag_code), 1, 3)) = {_q(f.subject)} "
                    f"AND length(trim(main_diag_code)) >= 5 AND substr(trim(main_diag_code), 5, 1) <> '9'")
        d["reason"] = [f"主要诊断{c}为{f.subject}类目下的特指亚目（非.9未特指），请核对病历是否支持该亚目"
                       for c in d["main_diag_code"]]
        return d

    def readmissions(self, f, split: bool) -> pd.DataFrame:
        tr, ts = T["READMIT_15D"]["days"], T["SPLIT_ADMISSION"]["days"]
        diag = "upper(substr(trim(main_diag_code), 1, 3))"
        cond = (f"gap BETWEEN 0 AND {ts} AND diag3 = prev_diag3" if split else
                f"gap BETWEEN 0 AND {tr} AND NOT (gap <= {ts} AND diag3 IS NOT NULL AND diag3 = prev_diag3)")
        ids = self.wh.df(f"""
            WITH x AS (
                SELECT setl_id, month, {diag} AS diag3, begndate,
                       lag(enddate) OVER w AS prev_end, lag({diag}) OVER w AS prev_diag3
                FROM {self._scratch()}
                WHERE fixmedins_code = {_q(f.fixmedins_code)} AND psn_no IS NOT NULL AND begndate IS NOT NULL
                WINDOW w AS (PARTITION BY psn_no ORDER BY begndate, enddate, setl_time, setl_id)),
            y AS (SELECT *, date_diff('day', prev_end, begndate) AS gap FROM x WHERE month IN {self.cur})
            SELECT setl_id, prev_end, gap FROM y WHERE {cond}""")
        d = self.ip(f"({_q(f.fixmedins_code)})").merge(ids, on="setl_id")
        what = "以相同主要诊断类目再次入住本院" if split else "再次入住本院"
        d["reason"] = [f"同一参保人{fmt.date_zh(pe)}自本院出院后第{int(g)}天{what}" for pe, g in zip(d["prev_end"], d["gap"])]
        return d

    def low_standard(self, f) -> pd.DataFrame:
        t = T["LOW_STANDARD_ADMISSION"]
        w = self.cat["weight"].dropna().astype(float)
        if w.empty:
            return self.ip("('')")
        qw = float(np.quantile(w, t["weight_quantile"]))
        wmap = dict(zip(self.cat["code"], self.cat["weight"]))
        d = self.ip(f"({_q(f.fixmedins_code)})", "grp_stas = '1' AND grp_code IS NOT NULL")
        d["w"] = d["weight"].fillna(d["grp_code"].map(wmap)).astype(float)
        d = d[(d["w"] <= qw) & (d["ipt_days"] <= t["max_days"])]
        wname = "权重" if self.pay == "DRG" else "分值"
        d["reason"] = [f"入{g}组（{wname}{fmt.ratio(x, 2)}，不高于目录第25百分位{fmt.ratio(qw, 2)}），实际住院{int(n)}天，"
                       f"请核对入院指征" for g, x, n in zip(d["grp_code"], d["w"], d["ipt_days"])]
        return d.drop(columns=["w"])

    def group_admission(self, f) -> pd.DataFrame:
        t = T["GROUP_ADMISSION"]
        months = self.p.trailing_months(t["months"])
        span = int(t["span_days"]) - 1
        ids = self.wh.df(f"""
            WITH adm AS (SELECT DISTINCT s.psn_no, s.begndate FROM setl_net s
                         WHERE s.is_ip AND s.poolarea_no = {_q(self.region)}
                           AND s.fixmedins_code = {_q(f.fixmedins_code)} AND s.psn_no IS NOT NULL
                           AND s.begndate IS NOT NULL AND s.month IN {mlist(months)}),
                 pairs AS (SELECT a.psn_no AS p1, b.psn_no AS p2, count(DISTINCT a.begndate) AS occ
                           FROM adm a JOIN adm b ON a.psn_no < b.psn_no
                                AND abs(date_diff('day', a.begndate, b.begndate)) <= {span}
                           GROUP BY 1, 2 HAVING count(DISTINCT a.begndate) >= {int(t['min_occasions'])}),
                 members AS (SELECT p1 AS psn_no FROM pairs UNION SELECT p2 FROM pairs)
            SELECT s.setl_id, count(DISTINCT m2.psn_no) AS together
            FROM setl_net s JOIN members m ON m.psn_no = s.psn_no
                 JOIN adm a2 ON abs(date_diff('day', a2.begndate, s.begndate)) <= {span} AND a2.psn_no <> s.psn_no
                 JOIN members m2 ON m2.psn_no = a2.psn_no
            WHERE s.is_ip AND s.fixmedins_code = {_q(f.fixmedins_code)} AND s.month IN {self.cur}
            GROUP BY 1 HAVING count(DISTINCT m2.psn_no) >= {int(t['min_persons']) - 1}""")
        d = self.ip(f"({_q(f.fixmedins_code)})").merge(ids, on="setl_id")
        d["reason"] = [f"本次入院前后1天内另有{int(n)}名参保人同时入院，且这些参保人近12个月内多次共同入院"
                       for n in d["together"]]
        return d.drop(columns=["together"])

    def impossible_travel(self, f) -> pd.DataFrame:
        mins = int(T["IMPOSSIBLE_TRAVEL"]["minutes"])
        p = self.p
        lo = (pd.Timestamp(p.start) - pd.Timedelta(hours=1)).isoformat(sep=" ")
        hi = (pd.Timestamp(p.end) + pd.Timedelta(hours=1)).isoformat(sep=" ")
        R, C = _q(self.region), _q(f.fixmedins_code)
        window = f"setl_time >= TIMESTAMP {lit(lo)} AND setl_time < TIMESTAMP {lit(hi)}"
        d = self.wh.df(f"""
            WITH cand AS (SELECT DISTINCT psn_no FROM setl_net WHERE fixmedins_code = {C} AND poolarea_no = {R}
                          AND month IN {self.cur} AND psn_no IS NOT NULL),
            s AS (SELECT setl_id, mdtrt_id, psn_no, poolarea_no, fixmedins_code, setl_time, begndate, enddate,
                         medfee_sumamt, hifp_pay, fulamt_ownpay_amt, month
                  FROM setl_net WHERE psn_no IN (SELECT psn_no FROM cand) AND {window}),
            x AS (SELECT *, lag(poolarea_no) OVER w AS pp, lag(setl_time) OVER w AS pt,
                            lead(poolarea_no) OVER w AS np, lead(setl_time) OVER w AS nt
                  FROM s WINDOW w AS (PARTITION BY psn_no ORDER BY setl_time, setl_id))
            SELECT setl_id, mdtrt_id, fixmedins_code, begndate, enddate, setl_time, medfee_sumamt, hifp_pay,
                   fulamt_ownpay_amt,
                   CASE WHEN pp IS NOT NULL AND pp <> poolarea_no AND date_diff('minute', pt, setl_time) <= {mins}
                        THEN date_diff('minute', pt, setl_time) ELSE date_diff('minute', setl_time, nt) END AS gap
            FROM x WHERE fixmedins_code = {C} AND month IN {self.cur}
              AND ((pp IS NOT NULL AND pp <> poolarea_no AND date_diff('minute', pt, setl_time) <= {mins})
                OR (np IS NOT NULL AND np <> poolarea_no AND date_diff('minute', setl_time, nt) <= {mins}))""")
        d["reason"] = [f"同一参保人前后{int(g)}分钟内在其他统筹区另有结算，时间地点冲突" for g in d["gap"]]
        return d.drop(columns=["gap"])

    def qc_fail(self, f) -> pd.DataFrame:
        d = self.ip(f"({_q(f.fixmedins_code)})", "listed AND qc_stas = '0'")
        d["reason"] = ["结算清单质控未通过" + (f"：{str(e).replace(';', '；')}" if isinstance(e, str) and e.strip() else "")
                       for e in d["qc_errs"]]
        return d

    def not_uploaded(self, f) -> pd.DataFrame:
        d = self.ip(f"({_q(f.fixmedins_code)})", "NOT listed")
        d["reason"] = "住院结算未上传医保结算清单"
        return d

    def out_of_catalog(self, f) -> pd.DataFrame:
        bench = float(f.benchmark) if pd.notna(f.benchmark) else 0.0
        d = self.wh.df(f"""
            SELECT setl_id, mdtrt_id, fixmedins_code, begndate, enddate, setl_time, medfee_sumamt, hifp_pay,
                   fulamt_ownpay_amt
            FROM setl_net WHERE poolarea_no = {_q(self.region)} AND fixmedins_code = {_q(f.fixmedins_code)}
              AND month IN {self.cur} AND (is_ip OR is_op) AND medfee_sumamt > 0 AND fulamt_ownpay_amt > 0
              AND fulamt_ownpay_amt / medfee_sumamt * 100 > {2 * bench!r}""")
        d["reason"] = [f"全自费金额{fmt.money(a)}，占本次医疗费用的{fmt.pct(a / m * 100, 1)}，超过同级医院医保外费用占比中位数"
                       f"（{fmt.pct(bench, 1)}）的两倍" for a, m in zip(d["fulamt_ownpay_amt"], d["medfee_sumamt"])]
        return d


_DISPATCH = {
    "COST_DEVIATION": lambda c, f: c.cost_deviation(f) if (pd.isna(f.benchmark) or f.value > f.benchmark) else None,
    "BASE_GROUP_TERTIARY": _Cases.base_group,
    "UPCODING_DRG": _Cases.upcoding_drg,
    "UPCODING_ICD": _Cases.upcoding_icd,
    "READMIT_15D": lambda c, f: c.readmissions(f, split=False),
    "SPLIT_ADMISSION": lambda c, f: c.readmissions(f, split=True),
    "LOW_STANDARD_ADMISSION": _Cases.low_standard,
    "GROUP_ADMISSION": _Cases.group_admission,
    "IMPOSSIBLE_TRAVEL": _Cases.impossible_travel,
    "QC_PASS_LOW": _Cases.qc_fail,
    "UPLOAD_LOW": _Cases.not_uploaded,
    "OUT_OF_CATALOG_HIGH": _Cases.out_of_catalog,
}


def cases(wh: Warehouse, region: str, period, findings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(case rows, per-finding totals). ``findings``: rows of findings.csv (any subset). The totals frame has
    one row per finding (rule_id, fixmedins_code, subject, n_cases, listed) — n_cases None for rules about the
    hospital as a whole."""
    p = Period.parse(str(period))
    c = _Cases(wh, region, p)
    parts, totals = [], []
    try:
        rows = list(findings.itertuples(index=False))
        done = [(f, _DISPATCH.get(f.rule_id)) for f in rows]
        done = [(f, None if fn is None else fn(c, f)) for f, fn in done]
    finally:
        c.close()
    for f, d in done:
        if d is None:
            totals.append({"rule_id": f.rule_id, "fixmedins_code": f.fixmedins_code, "subject": f.subject,
                           "n_cases": None, "listed": 0})
            continue
        d = d[d["fixmedins_code"].astype(str) == str(f.fixmedins_code)].copy()  # only the hospital's own
        n = len(d)
        amount = d["hifp_pay"] if f.rule_id not in ("OUT_OF_CATALOG_HIGH",) else d["fulamt_ownpay_amt"]
        d = d.assign(_a=amount.fillna(0)).sort_values(["_a", "setl_id"], ascending=[False, True]).head(MAX_CASES)
        d["rule_id"], d["subject"] = f.rule_id, f.subject
        for col in CASE_COLUMNS:
            if col not in d:
                d[col] = None
        parts.append(d[CASE_COLUMNS])
        totals.append({"rule_id": f.rule_id, "fixmedins_code": f.fixmedins_code, "subject": f.subject,
                       "n_cases": n, "listed": len(d)})
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CASE_COLUMNS)
    return out, pd.DataFrame(totals, columns=["rule_id", "fixmedins_code", "subject", "n_cases", "listed"])


__all__ = ["CASE_COLUMNS", "MAX_CASES", "NO_CASES", "cases"]
