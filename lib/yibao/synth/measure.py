"""Measure each planted anomaly in the written dataset, for ``planted.json`` (``params.measured``).

Plain SQL over the warehouse views (``setl_net``, ``setl_list_net``), independent of the findings
engine: the planted hospital's value in 2026Q3 beside the median of its clean same-level peers (the
region's hospitals of the same level group, without the specialty hospital, the new campus and
other planted hospitals), or beside its own value a year earlier where the rule is about change.
Values are rounded so that planted.json is byte-identical for a seed.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from yibao.data.contract import level_group
from yibao.data.warehouse import Warehouse, lit

Q3 = ("2026-07", "2026-08", "2026-09")
Q2 = ("2026-04", "2026-05", "2026-06")
Q3_25 = ("2025-07", "2025-08", "2025-09")
Q3_24 = ("2024-07", "2024-08", "2024-09")


def _in(months) -> str:
    return "(" + ", ".join(lit(m) for m in months) + ")"


def _r(x, d=4):
    if x is None:
        return None
    try:
        if np.isnan(x):
            return None
    except TypeError:
        pass
    return round(float(x), d)


class _DB:
    """A DuckDB connection over the dataset just written: setl and setl_list straight from parquet,
    institutions (with their level group) and catalogues from the generator's tables."""

    def __init__(self, root: Path, world, threads: int):
        self.con = duckdb.connect(":memory:")
        self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute("SET enable_progress_bar = false")
        for t in ("setl", "setl_list"):
            src = root / t if (root / t).is_dir() else root / f"{t}.parquet"
            glob = str(src / "**" / "*.parquet") if src.is_dir() else str(src)
            self.con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet({lit(glob)}, hive_partitioning = false)")
        fx = world.inst.df[["fixmedins_code", "poolarea_no", "fixmedins_type", "hosp_lv"]].copy()
        fx["lv_group"] = [level_group(v) for v in fx["hosp_lv"]]
        self.con.register("fixmedins_x", fx)
        self.con.register("drg_catalog", world.drg_catalog)
        self.con.register("dip_catalog", world.dip_catalog)

    def sql(self, q: str):
        return self.con.execute(q)

    def df(self, q: str) -> pd.DataFrame:
        return self.con.execute(q).df()

    def scalar(self, q: str):
        row = self.con.execute(q).fetchone()
        return None if row is None else row[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.con.close()


class _M:
    def __init__(self, wh: Warehouse, world):
        self.wh = wh
        self.world = world
        inst = world.inst
        self.code = {i: str(c) for i, c in enumerate(inst.codes)}
        planted = {p.hosp for p in world.plan}
        self.excluded = {str(inst.codes[i]) for i in range(len(inst.codes))
                         if inst.kind[i] != "general" or i in planted}

    def peers(self, df, col, hosp_code, min_n_col=None, min_n=1):
        """Median of ``col`` over the clean same-level peers (rows of df: fixmedins_code, lv_group, col)."""
        lv = df.loc[df["fixmedins_code"] == hosp_code, "lv_group"]
        if lv.empty:
            return None
        d = df[(df["lv_group"] == lv.iloc[0]) & ~df["fixmedins_code"].isin(self.excluded)]
        if min_n_col:
            d = d[d[min_n_col] >= min_n]
        return _r(d[col].median()) if len(d) else None

    def value(self, df, col, hosp_code):
        v = df.loc[df["fixmedins_code"] == hosp_code, col]
        return _r(v.iloc[0]) if len(v) else None


def measure(data_dir, world) -> dict:
    """{(rule_id, region index): {metric: value, …}} for every planted anomaly."""
    if not world.plan:
        return {}
    out = {}
    threads = 1 if world.scale.name in ("tiny", "small") else 2
    with _DB(Path(data_dir), world, threads) as wh:
        regions = ", ".join(lit(world.regions[r].code) for r in sorted({p.region for p in world.plan}))
        wh.sql("SET enable_progress_bar = false")
        # the few extracts every measurement needs, materialised once; reversed settlements and
        # reversal rows count for nothing (the contract's netting, as in the warehouse's setl_net)
        net = "refd_setl_flag <> '1' AND setl_id NOT IN (SELECT setl_id FROM rev)"
        wh.sql("CREATE TEMP TABLE rev AS SELECT DISTINCT init_setl_id AS setl_id FROM setl "
               "WHERE refd_setl_flag = '1' AND init_setl_id IS NOT NULL")
        wh.sql(f"""CREATE TEMP TABLE ipn AS SELECT setl_id, psn_no, poolarea_no, fixmedins_code,
                   strftime(setl_time, '%Y-%m') AS month, setl_time, begndate, enddate, medfee_sumamt,
                   insu_admdvs = poolarea_no AS is_local FROM setl
                   WHERE {net} AND (med_type LIKE '2%' OR med_type = '52') AND poolarea_no IN ({regions})""")
        wh.sql("""CREATE TEMP TABLE lst AS SELECT l.*, s.poolarea_no, s.month, s.psn_no, s.begndate, s.enddate,
                  s.medfee_sumamt FROM setl_list l JOIN ipn s USING (setl_id)""")
        q3 = ("setl_time >= TIMESTAMP '2026-07-01' AND setl_time < TIMESTAMP '2026-10-01'")
        wh.sql(f"""CREATE TEMP TABLE hq AS SELECT poolarea_no, fixmedins_code, '2026-07' AS month,
                   count_if(med_type IN ('11', '14', '51') AND insu_admdvs = poolarea_no) AS op,
                   count_if((med_type LIKE '2%' OR med_type = '52') AND insu_admdvs = poolarea_no) AS ip,
                   sum(fulamt_ownpay_amt) FILTER (WHERE insu_admdvs = poolarea_no AND med_type <> '41') AS own,
                   sum(medfee_sumamt) FILTER (WHERE insu_admdvs = poolarea_no AND med_type <> '41') AS med
                   FROM setl WHERE {q3} AND {net} AND poolarea_no IN ({regions}) GROUP BY 1, 2""")
        wh.sql(f"""CREATE TEMP TABLE tr AS WITH s AS (SELECT psn_no, poolarea_no, fixmedins_code, setl_time
                   FROM setl WHERE {q3} AND {net}),
                   multi AS (SELECT psn_no FROM s GROUP BY 1 HAVING count(DISTINCT poolarea_no) > 1)
                   SELECT s.* FROM s JOIN multi USING (psn_no)""")
        m = _M(wh, world)
        for p in world.plan:
            region = world.regions[p.region].code
            h = m.code[p.hosp]
            fn = globals().get("_" + p.rule_id.lower())
            out[(p.rule_id, p.region)] = fn(m, region, h, p) if fn else {}
    return out


def _per_hosp(m: _M, region: str, select: str, where: str, months=Q3, src: str = "setl_net"):
    return m.wh.df(f"""
        SELECT f.fixmedins_code, f.lv_group, {select}
        FROM {src} s JOIN fixmedins_x f USING (fixmedins_code)
        WHERE s.poolarea_no = {lit(region)} AND f.fixmedins_type = '1' AND s.month IN {_in(months)} AND ({where})
        GROUP BY 1, 2""")


def _opip_ratio_low(m, region, h, p):
    d = _per_hosp(m, region, "sum(op) AS op, sum(ip) AS ip", "TRUE", src="hq")
    d = d[d["ip"] > 0].assign(ratio=lambda x: x["op"] / x["ip"])
    return {"metric": "门诊住院人次比 (本地参保, 2026Q3)", "value": m.value(d, "ratio", h),
            "peer_median": m.peers(d, "ratio", h, "ip", 30), "inpatient": m.value(d, "ip", h)}


def _out_of_catalog_high(m, region, h, p):
    d = _per_hosp(m, region, "sum(own) / sum(med) * 100 AS pct", "TRUE", src="hq")
    return {"metric": "全自费费用占比 % (本地参保门诊+住院, 2026Q3)", "value": m.value(d, "pct", h),
            "peer_median": m.peers(d, "pct", h)}


def _case_growth_high(m, region, h, p):
    d = m.wh.df(f"""
        SELECT f.fixmedins_code, f.lv_group,
               count_if(s.month IN {_in(Q3)}) AS q3, count_if(s.month IN {_in(Q2)}) AS q2,
               count_if(s.month IN {_in(Q3_25)}) AS q3_25
        FROM ipn s JOIN fixmedins_x f USING (fixmedins_code)
        WHERE s.poolarea_no = {lit(region)} AND f.fixmedins_type = '1' GROUP BY 1, 2""")
    d = d[(d["q2"] > 0) & (d["q3_25"] > 0)]
    d = d.assign(yoy=(d["q3"] / d["q3_25"] - 1) * 100, qoq=(d["q3"] / d["q2"] - 1) * 100)
    return {"metric": "出院人次增幅 % (2026Q3 同比 / 环比)", "value_yoy": m.value(d, "yoy", h),
            "value_qoq": m.value(d, "qoq", h), "peer_median_yoy": m.peers(d, "yoy", h, "q3_25", 20),
            "peer_median_qoq": m.peers(d, "qoq", h, "q2", 20), "discharges_2026Q3": m.value(d, "q3", h),
            "discharges_2025Q3": m.value(d, "q3_25", h)}


def _catalog_join(m, region):
    method = m.world.regions[m.world.region_index(region)].pay_method
    if method == "DRG":
        return "LEFT JOIN drg_catalog c ON c.poolarea_no = s.poolarea_no AND c.drg_code = s.drg_code", "drg_code"
    return "LEFT JOIN dip_catalog c ON c.poolarea_no = s.poolarea_no AND c.dip_code = s.dip_code", "dip_code"


def _base_group_tertiary(m, region, h, p):
    join, _ = _catalog_join(m, region)
    d = m.wh.df(f"""
        SELECT f.fixmedins_code, f.lv_group, count_if(c.base_group = '1') / count(*) * 100 AS pct, count(*) AS n
        FROM lst s JOIN fixmedins_x f USING (fixmedins_code) {join}
        WHERE s.poolarea_no = {lit(region)} AND s.grp_stas = '1' AND s.month IN {_in(Q3)} GROUP BY 1, 2""")
    return {"metric": "基层病组病例占比 % (2026Q3)", "value": m.value(d, "pct", h), "peer_median": m.peers(d, "pct", h)}


def _cost_deviation(m, region, h, p):
    _, col = _catalog_join(m, region)
    d = m.wh.df(f"""
        SELECT f.fixmedins_code, f.lv_group, avg(s.medfee_sumamt) AS avg_cost, count(*) AS n
        FROM lst s JOIN fixmedins_x f USING (fixmedins_code)
        WHERE s.poolarea_no = {lit(region)} AND s.{col} = {lit(p.subject)} AND s.month IN {_in(Q3)} GROUP BY 1, 2""")
    return {"metric": f"{p.subject} 次均费用 元 (2026Q3)", "value": m.value(d, "avg_cost", h),
            "cases": m.value(d, "n", h), "peer_median": m.peers(d, "avg_cost", h, "n", 5)}


def _upcoding_drg(m, region, h, p):
    a = p.subject
    out = {"metric": f"{a} 各细分组占比 %"}
    for label, months in (("2025Q3", Q3_25), ("2026Q3", Q3)):
        d = m.wh.df(f"""
            SELECT f.fixmedins_code, f.lv_group, count(*) AS n,
                   count_if(drg_code = '{a}1') / count(*) * 100 AS s1,
                   count_if(drg_code = '{a}5') / count(*) * 100 AS s5
            FROM lst s JOIN fixmedins_x f USING (fixmedins_code)
            WHERE s.poolarea_no = {lit(region)} AND s.drg_code LIKE '{a}%' AND s.month IN {_in(months)} GROUP BY 1, 2""")
        out[f"cases_{label}"] = m.value(d, "n", h)
        out[f"share_{a}1_{label}"] = m.value(d, "s1", h)
        out[f"share_{a}5_{label}"] = m.value(d, "s5", h)
        if label == "2026Q3":
            out[f"peer_median_share_{a}1_2026Q3"] = m.peers(d, "s1", h, "n", 5)
    return out


def _upcoding_icd(m, region, h, p):
    out = {"metric": "I63 类目下亚目占比 %"}
    for label, months in (("2024Q3", Q3_24), ("2025Q3", Q3_25), ("2026Q3", Q3)):
        d = m.wh.df(f"""
            SELECT s.fixmedins_code, count(*) AS n,
                   count_if(main_diag_code LIKE 'I63.3%') / count(*) * 100 AS s3,
                   count_if(main_diag_code LIKE 'I63.5%') / count(*) * 100 AS s5,
                   count_if(main_diag_code LIKE 'I63.9%') / count(*) * 100 AS s9
            FROM lst s
            WHERE s.poolarea_no = {lit(region)} AND main_diag_code LIKE 'I63%' AND s.month IN {_in(months)}
              AND s.fixmedins_code = {lit(h)} GROUP BY 1""")
        out[f"cases_{label}"] = int(d["n"].iloc[0]) if len(d) else 0
        for k, lab in (("s3", "I63.3"), ("s5", "I63.5"), ("s9", "I63.9")):
            out[f"share_{lab}_{label}"] = _r(d[k].iloc[0]) if len(d) else None
    return out


def _readmit(m, region, h, lo, hi, same_diag):
    """Share of the 2026Q3 discharges followed by an admission of the same person at the same
    hospital ``lo``–``hi`` days later (with the same principal diagnosis when ``same_diag``)."""
    if same_diag:
        base = (f"SELECT setl_id, psn_no, fixmedins_code, begndate, enddate, month, main_diag_code FROM lst "
                f"WHERE poolarea_no = {lit(region)}")
        diag = "AND a.main_diag_code = b.main_diag_code"
    else:
        base = (f"SELECT setl_id, psn_no, fixmedins_code, begndate, enddate, month FROM ipn "
                f"WHERE poolarea_no = {lit(region)}")
        diag = ""
    return m.wh.df(f"""
        WITH ip AS ({base}),
        flag AS (SELECT DISTINCT a.setl_id FROM ip a JOIN ip b
                 ON b.psn_no = a.psn_no AND b.fixmedins_code = a.fixmedins_code AND b.setl_id <> a.setl_id
                 AND date_diff('day', a.enddate, b.begndate) BETWEEN {lo} AND {hi} {diag})
        SELECT f.fixmedins_code, f.lv_group, count(*) AS n, count(flag.setl_id) / count(*) * 100 AS pct
        FROM ip a LEFT JOIN flag USING (setl_id) JOIN fixmedins_x f USING (fixmedins_code)
        WHERE a.month IN {_in(Q3)} GROUP BY 1, 2""")


def _readmit_15d(m, region, h, p):
    d = _readmit(m, region, h, 0, 15, False)
    return {"metric": "出院后0–15天同院再入院比例 % (2026Q3 出院)", "value": m.value(d, "pct", h),
            "peer_median": m.peers(d, "pct", h, "n", 30)}


def _split_admission(m, region, h, p):
    d = _readmit(m, region, h, 0, 3, True)
    return {"metric": "出院后0–3天同院同主要诊断再入院比例 % (2026Q3 出院)", "value": m.value(d, "pct", h),
            "peer_median": m.peers(d, "pct", h, "n", 30)}


def _low_standard_admission(m, region, h, p):
    method = m.world.regions[m.world.region_index(region)].pay_method
    thr = 0.6 if method == "DRG" else 600
    d = m.wh.df(f"""
        SELECT f.fixmedins_code, f.lv_group, count(*) AS n,
               count_if(weight < {thr} AND ipt_days <= 2) / count(*) * 100 AS pct
        FROM lst s JOIN fixmedins_x f USING (fixmedins_code)
        WHERE s.poolarea_no = {lit(region)} AND s.grp_stas = '1' AND s.month IN {_in(Q3)} GROUP BY 1, 2""")
    return {"metric": f"低权重(<{thr:g})且住院≤2天病例占比 % (2026Q3)", "value": m.value(d, "pct", h),
            "peer_median": m.peers(d, "pct", h, "n", 30)}


def _group_admission(m, region, h, p):
    d = m.wh.df(f"""
        WITH ip0 AS (SELECT psn_no, fixmedins_code, begndate FROM ipn
                     WHERE poolarea_no = {lit(region)} AND year(setl_time) = 2026),
        -- a pair admitted together ≥ 3 times needs ≥ 3 admissions of each at that hospital: only those join
        ip AS (SELECT * FROM ip0 WHERE (psn_no, fixmedins_code) IN
               (SELECT (psn_no, fixmedins_code) FROM ip0 GROUP BY psn_no, fixmedins_code HAVING count(*) >= 3)),
        pairs AS (
            SELECT a.fixmedins_code, a.psn_no AS p1, b.psn_no AS p2, count(*) AS together
            FROM ip a JOIN ip b ON a.fixmedins_code = b.fixmedins_code AND a.psn_no < b.psn_no
                 AND abs(date_diff('day', a.begndate, b.begndate)) <= 1
            GROUP BY 1, 2, 3 HAVING count(*) >= 3)
        SELECT fixmedins_code, count(*) AS pairs, count(DISTINCT p1) + 1 AS persons_approx, max(together) AS max_together
        FROM pairs GROUP BY 1 ORDER BY 1""")
    row = d[d["fixmedins_code"] == h]
    return {"metric": "2026年同院±1天共同入院≥3次的参保人对数",
            "pairs": int(row["pairs"].iloc[0]) if len(row) else 0,
            "max_times_together": int(row["max_together"].iloc[0]) if len(row) else 0,
            "other_hospitals_with_pairs": int((d["fixmedins_code"] != h).sum())}


def _impossible_travel(m, region, h, p):
    d = m.wh.df("""
        WITH s AS (SELECT * FROM tr)
        SELECT b.fixmedins_code, count(*) AS n, count(DISTINCT b.psn_no) AS persons
        FROM s a JOIN s b ON a.psn_no = b.psn_no AND a.poolarea_no <> b.poolarea_no
             AND b.setl_time > a.setl_time AND b.setl_time <= a.setl_time + INTERVAL 20 MINUTE
        GROUP BY 1 ORDER BY 1""")
    row = d[d["fixmedins_code"] == h]
    return {"metric": "跨统筹区20分钟内先后结算次数 (第二次结算机构, 2026Q3)",
            "incidents": int(row["n"].iloc[0]) if len(row) else 0,
            "persons": int(row["persons"].iloc[0]) if len(row) else 0,
            "incidents_elsewhere": int(d.loc[d["fixmedins_code"] != h, "n"].sum())}


def _qc_pass_low(m, region, h, p):
    d = m.wh.df(f"""
        SELECT s.fixmedins_code = {lit(h)} AS is_h, count_if(qc_stas = '1') / count(*) * 100 AS pct
        FROM lst s WHERE s.poolarea_no = {lit(region)} AND s.month IN {_in(Q3)} GROUP BY 1""")
    v = d.loc[d["is_h"], "pct"]
    r = m.wh.scalar(f"SELECT count_if(qc_stas = '1') / count(*) * 100 FROM lst "
                    f"WHERE poolarea_no = {lit(region)} AND month IN {_in(Q3)}")
    return {"metric": "结算清单质控通过率 % (2026Q3)", "value": _r(v.iloc[0]) if len(v) else None,
            "region": _r(r), "region_without_it": _r(d.loc[~d["is_h"], "pct"].iloc[0]) if (~d["is_h"]).any() else None}


def _upload_low(m, region, h, p):
    d = m.wh.df(f"""
        SELECT s.fixmedins_code = {lit(h)} AS is_h, count(l.setl_id) / count(*) * 100 AS pct
        FROM ipn s LEFT JOIN setl_list l USING (setl_id)
        WHERE s.poolarea_no = {lit(region)} AND s.month IN {_in(Q3)} GROUP BY 1""")
    v = d.loc[d["is_h"], "pct"]
    r = m.wh.scalar(f"""SELECT count(l.setl_id) / count(*) * 100 FROM ipn s LEFT JOIN setl_list l USING (setl_id)
                        WHERE s.poolarea_no = {lit(region)} AND s.month IN {_in(Q3)}""")
    return {"metric": "结算清单上传率 % (2026Q3)", "value": _r(v.iloc[0]) if len(v) else None, "region": _r(r),
            "region_without_it": _r(d.loc[~d["is_h"], "pct"].iloc[0]) if (~d["is_h"]).any() else None}
