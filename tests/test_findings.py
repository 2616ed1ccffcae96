"""Tests of the findings engine (issue 4): one tiny hand-built dataset per rule, then the synthetic data
with planted anomalies (planted.json), the person-identifier guard, the output file and the docs."""
from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yibao import findings
from yibao.findings import COLUMNS, RULES, find, find_detailed
from yibao.warehouse import Warehouse

PERIOD = "2026Q3"
QUARTERS = {  # the quarters the tiny datasets fill: current, 环比 base, 同比 base
    "2026Q3": (date(2026, 7, 1), date(2026, 9, 30)),
    "2026Q2": (date(2026, 4, 1), date(2026, 6, 30)),
    "2025Q3": (date(2025, 7, 1), date(2025, 9, 30)),
    "2024Q3": (date(2024, 7, 1), date(2024, 9, 30)),  # two years back (UPCODING_ICD)
}
DRG_CATALOG = [  # code, name, adrg, weight, base_group
    ("EJ11", "呼吸系统其他手术，伴严重合并症或并发症", "EJ1", 2.2, "0"),
    ("EJ13", "呼吸系统其他手术，伴一般合并症或并发症", "EJ1", 1.6, "0"),
    ("EJ15", "呼吸系统其他手术，不伴合并症或并发症", "EJ1", 1.1, "0"),
    ("ES31", "呼吸系统感染／炎症，伴严重合并症或并发症", "ES3", 1.4, "0"),
    ("ES33", "呼吸系统感染／炎症，伴一般合并症或并发症", "ES3", 0.95, "0"),
    ("ES35", "呼吸系统感染／炎症，不伴合并症或并发症", "ES3", 0.75, "0"),
    ("FR21", "心力衰竭、休克，伴严重合并症或并发症", "FR2", 1.5, "0"),
    ("FR25", "心力衰竭、休克，不伴严重合并症或并发症", "FR2", 1.0, "0"),
    ("BR21", "脑缺血性疾患，伴严重合并症或并发症", "BR2", 1.3, "0"),
    ("BR25", "脑缺血性疾患，不伴严重合并症或并发症", "BR2", 0.9, "1"),
    ("GZ15", "其他消化系统诊断，不伴合并症或并发症", "GZ1", 0.3, "1"),
    ("DT15", "中耳炎及上呼吸道感染，不伴合并症或并发症", "DT1", 0.35, "1"),
]
# normal mix of groups (with diagnoses) for baseline cases
MIX = [("ES33", "J18.900", 0.25), ("ES35", "J18.900", 0.15), ("FR25", "I50.900", 0.15), ("BR25", "I63.900", 0.15),
       ("EJ15", "J98.400", 0.1), ("EJ13", "J98.400", 0.05), ("BR21", "I63.300", 0.1), ("GZ15", "K92.900", 0.05)]


class Mini:
    """A tiny contract dataset: small tables as CSV, settlements and lists as parquet."""

    def __init__(self, regions=(("350100", "东岚市", "DRG"),), seed: int = 0):
        self.regions = list(regions)
        self.rng = np.random.default_rng(seed)
        self.fix: list[dict] = []
        self.setl: list[dict] = []
        self.lst: list[dict] = []
        self.n = 0
        self.psn = 0

    # ---- institutions ---------------------------------------------------------------------------
    def hospital(self, code, lv="05", region="350100", name=None, **kw):
        row = dict(fixmedins_code=code, fixmedins_name=name or f"{code}医院", poolarea_no=region,
                   fixmedins_type="1", hosp_lv=lv, medins_type="综合医院", ownership="公立", specialty="",
                   beds=200, drg_dip_flag="1", begn_date="2010-01-01")
        row.update(kw)
        self.fix.append(row)
        return code

    def pharmacy(self, code, region="350100"):
        self.fix.append(dict(fixmedins_code=code, fixmedins_name=f"{code}药店", poolarea_no=region,
                             fixmedins_type="2", hosp_lv="", medins_type="", ownership="民营", specialty="", beds=0,
                             drg_dip_flag="0", begn_date="2015-01-01"))

    def region_of(self, code):
        return next(f["poolarea_no"] for f in self.fix if f["fixmedins_code"] == code)

    def new_psn(self):
        self.psn += 1
        return f"P{self.psn:07d}"

    # ---- settlements ----------------------------------------------------------------------------
    def ip(self, code, begn: date, los: int = 6, grp="ES33", diag="J18.900", fee=None, ownpay=None, psn=None,
           listed=True, qc="1", grp_stas="1", days=None, weight=None, local=True, time=None):
        self.n += 1
        sid = f"S{self.n:08d}"
        region = self.region_of(code)
        end = begn + timedelta(days=los)
        w = weight if weight is not None else {c: w for c, _, _, w, _ in DRG_CATALOG}.get(grp, 1.0)
        fee = fee if fee is not None else round(8000 * w * float(self.rng.uniform(0.9, 1.1)), 2)
        ownpay = ownpay if ownpay is not None else round(fee * 0.05, 2)
        st = time or datetime(end.year, end.month, end.day, 10, 0) + timedelta(minutes=int(self.rng.integers(0, 400)))
        self.setl.append(dict(setl_id=sid, mdtrt_id="M" + sid, psn_no=psn or self.new_psn(), poolarea_no=region,
                              insu_admdvs=region if local else "350900", insutype="310", fixmedins_code=code,
                              med_type="21", begndate=begn.isoformat(), enddate=end.isoformat(),
                              setl_time=st.strftime("%Y-%m-%d %H:%M:%S"), medfee_sumamt=fee,
                              fulamt_ownpay_amt=ownpay, hifp_pay=round(fee * 0.6, 2), refd_setl_flag="0",
                              init_setl_id=""))
        if listed:
            pay = next(r[2] for r in self.regions if r[0] == region)
            self.lst.append(dict(setl_id=sid, fixmedins_code=code, upld_time=st.strftime("%Y-%m-%d %H:%M:%S"),
                                 qc_stas=qc, main_diag_code=diag, drg_code=grp if pay == "DRG" else "",
                                 dip_code=grp if pay == "DIP" else "", grp_stas=grp_stas, setl_way="1",
                                 weight=w, ipt_days=days if days is not None else los))
        return sid

    def op(self, code, day: date, fee=150.0, ownpay=None, psn=None, time=None, med_type="11", local=True):
        self.n += 1
        sid = f"S{self.n:08d}"
        region = self.region_of(code)
        st = time or datetime(day.year, day.month, day.day, 9, 0) + timedelta(minutes=int(self.rng.integers(0, 480)))
        self.setl.append(dict(setl_id=sid, mdtrt_id="M" + sid, psn_no=psn or self.new_psn(), poolarea_no=region,
                              insu_admdvs=region if local else "350900", insutype="310", fixmedins_code=code,
                              med_type=med_type, begndate=day.isoformat(), enddate=day.isoformat(),
                              setl_time=st.strftime("%Y-%m-%d %H:%M:%S"), medfee_sumamt=fee,
                              fulamt_ownpay_amt=ownpay if ownpay is not None else round(fee * 0.05, 2),
                              hifp_pay=round(fee * 0.5, 2), refd_setl_flag="0", init_setl_id=""))
        return sid

    def day(self, quarter: str, margin: int = 12) -> date:
        a, b = QUARTERS[quarter]
        return a + timedelta(days=int(self.rng.integers(0, (b - a).days - margin)))

    def baseline(self, codes, quarters=("2026Q3", "2026Q2", "2025Q3"), n_ip=40, op_ratio=None, mix=MIX,
                 fee_mult=None, ownpay=None, los_range=(4, 10)):
        """Ordinary activity: n_ip discharges per quarter (fresh persons), op_ratio outpatient visits each."""
        groups = [m[0] for m in mix]
        probs = np.array([m[2] for m in mix])
        probs = probs / probs.sum()
        for code in codes:
            ratio = op_ratio if op_ratio is not None else float(self.rng.uniform(8, 11))
            own = ownpay if ownpay is not None else float(self.rng.uniform(0.04, 0.07))
            mult = fee_mult if fee_mult is not None else float(self.rng.uniform(0.93, 1.07))
            for q in quarters:
                for _ in range(n_ip):
                    i = int(self.rng.choice(len(groups), p=probs))
                    grp, diag = mix[i][0], mix[i][1]
                    w = {c: w for c, _, _, w, _ in DRG_CATALOG}.get(grp, 1.0)
                    fee = round(8000 * w * mult * float(self.rng.uniform(0.9, 1.1)), 2)
                    los = int(self.rng.integers(*los_range))
                    self.ip(code, self.day(q), los=los, grp=grp, diag=diag, fee=fee, ownpay=round(fee * own, 2))
                for _ in range(int(round(n_ip * ratio))):
                    fee = round(float(self.rng.uniform(80, 300)), 2)
                    self.op(code, self.day(q, 0), fee=fee, ownpay=round(fee * own, 2))

    # ---- writing --------------------------------------------------------------------------------
    def write(self, d: Path) -> Path:
        d = Path(d)
        d.mkdir(parents=True, exist_ok=True)

        def w(name, rows, cols=None):
            df = pd.DataFrame(rows, columns=cols)
            if name in ("setl", "setl_list"):  # large tables as parquet (as the contract expects)
                df.astype({c: "string" for c in df.columns if df[c].dtype == object}).to_parquet(
                    d / f"{name}.parquet", index=False)
            else:
                df.to_csv(d / f"{name}.csv", index=False)
        w("poolarea", [dict(poolarea_no=r, poolarea_name=n, prov_name="福建省", pay_method=p)
                       for r, n, p in self.regions])
        w("fixmedins", self.fix)
        w("setl", self.setl)
        w("setl_list", self.lst, ["setl_id", "fixmedins_code", "upld_time", "qc_stas", "main_diag_code", "drg_code",
                                  "dip_code", "grp_stas", "setl_way", "weight", "ipt_days"])
        drg = [dict(poolarea_no=r, drg_code=c, drg_name=n, adrg_code=a, mdc_code="MDC" + c[0], weight=wt,
                    pay_std=round(wt * 8000, 2), base_group=b)
               for r, _, p in self.regions if p == "DRG" for c, n, a, wt, b in DRG_CATALOG]
        dip = [dict(poolarea_no=r, dip_code=c, dip_name=n, icd_category=a, score=wt * 1000,
                    pay_std=round(wt * 8000, 2), base_group=b)
               for r, _, p in self.regions if p == "DIP" for c, n, a, wt, b in DRG_CATALOG]
        if drg:
            w("drg_catalog", drg)
        if dip:
            w("dip_catalog", dip)
        return d


def run(mini: Mini, tmp_path: Path, region="350100") -> pd.DataFrame:
    d = mini.write(tmp_path / "data")
    with Warehouse(d) as wh:
        return find_detailed(wh, region, PERIOD)


def flagged(df: pd.DataFrame, rule: str, severities=("high", "medium")) -> set:
    return set(df.loc[(df["rule_id"] == rule) & df["severity"].isin(severities), "fixmedins_code"])


def peers(m: Mini, n=6, lv="05", prefix="H"):
    return [m.hospital(f"{prefix}{i}", lv=lv) for i in range(1, n + 1)]


# =================================================================================================
# unit tests per rule on tiny datasets
# =================================================================================================

def test_opip_ratio_low(tmp_path):
    m = Mini(seed=1)
    hs = peers(m)
    m.baseline(hs[1:])
    m.baseline(hs[:1], op_ratio=2.0)
    df = run(m, tmp_path)
    assert flagged(df, "OPIP_RATIO_LOW") == {"H1"}
    msg = df[df["rule_id"] == "OPIP_RATIO_LOW"].iloc[0]
    assert "门诊住院人次比为2.0" in msg["message"] and "同级（二级）医院中位数" in msg["message"]
    assert msg["value"] == pytest.approx(2.0, abs=0.05) and msg["benchmark"] > 7


def test_out_of_catalog_high_and_specialty(tmp_path):
    m = Mini(seed=2)
    hs = peers(m)
    sp = m.hospital("S1", lv="05", ownership="民营", specialty="口腔", medins_type="专科医院")
    m.baseline(hs[1:])
    m.baseline(hs[:1], ownpay=0.30)
    m.baseline([sp], ownpay=0.35)
    df = run(m, tmp_path)
    assert flagged(df, "OUT_OF_CATALOG_HIGH") == {"H1"}
    s = df[(df["rule_id"] == "OUT_OF_CATALOG_HIGH") & (df["fixmedins_code"] == "S1")]
    assert len(s) <= 1 and (s.empty or (s.iloc[0]["severity"] == "low" and "口腔" in s.iloc[0]["message"]))


def test_case_growth_high_and_new_campus(tmp_path):
    m = Mini(seed=3)
    hs = peers(m, 7)
    nc = m.hospital("N1", lv="05", begn_date="2025-06-01", name="新区分院")
    m.baseline(hs[1:], n_ip=40)
    m.baseline(hs[:1], quarters=("2026Q2", "2025Q3"), n_ip=40)
    m.baseline(hs[:1], quarters=("2026Q3",), n_ip=110)
    m.baseline([nc], quarters=("2026Q2", "2025Q3"), n_ip=35)
    m.baseline([nc], quarters=("2026Q3",), n_ip=110)
    df = run(m, tmp_path)
    assert flagged(df, "CASE_GROWTH_HIGH") == {"H1"}
    h1 = df[(df["rule_id"] == "CASE_GROWTH_HIGH") & (df["fixmedins_code"] == "H1")].iloc[0]
    assert h1["severity"] == "high" and "同比增长" in h1["message"] and "环比增长" in h1["message"]
    n1 = df[(df["rule_id"] == "CASE_GROWTH_HIGH") & (df["fixmedins_code"] == "N1")]
    assert len(n1) == 1 and n1.iloc[0]["severity"] == "low" and "新院区" in n1.iloc[0]["message"]


def test_case_growth_small_base_not_flagged(tmp_path):
    m = Mini(seed=4)
    hs = peers(m, 7)
    m.baseline(hs[1:], n_ip=40)
    m.baseline(hs[:1], quarters=("2026Q2", "2025Q3"), n_ip=10)  # history too small to judge a growth rate
    m.baseline(hs[:1], quarters=("2026Q3",), n_ip=40)
    df = run(m, tmp_path)
    assert "H1" not in set(df.loc[df["rule_id"] == "CASE_GROWTH_HIGH", "fixmedins_code"])


def test_base_group_tertiary(tmp_path):
    m = Mini(seed=5)
    hs = peers(m, 5, lv="01")
    m.baseline(hs[1:], n_ip=120)
    heavy = MIX[:-1] + [("GZ15", "K92.900", 0.5)]
    m.baseline(hs[:1], n_ip=120, mix=heavy)
    l2 = peers(m, 5, lv="05", prefix="L")
    m.baseline(l2, n_ip=120, mix=heavy)  # secondary hospitals may treat base groups: never flagged
    df = run(m, tmp_path)
    assert flagged(df, "BASE_GROUP_TERTIARY") == {"H1"}


def test_cost_deviation(tmp_path):
    m = Mini(seed=6)
    hs = peers(m, 6)
    m.baseline(hs, n_ip=80)
    for _ in range(40):  # H1 treats ES33 at 1.8× the usual cost
        m.ip("H1", m.day("2026Q3"), grp="ES33", fee=round(8000 * 0.95 * 1.8 * float(m.rng.uniform(0.95, 1.05)), 2))
    df = run(m, tmp_path)
    got = df[(df["rule_id"] == "COST_DEVIATION") & df["severity"].isin(["high", "medium"])]
    assert set(zip(got["fixmedins_code"], got["subject"])) == {("H1", "ES33")}
    assert "ES33（呼吸系统感染／炎症，伴一般合并症或并发症）" in got.iloc[0]["message"]


def test_upcoding_drg(tmp_path):
    m = Mini(seed=7)
    hs = peers(m, 6)
    m.baseline(hs, n_ip=40)
    for code in hs:  # EJ1 cases: 30% MCC/CC everywhere a year ago; H1 now 70%
        for q, hi_share in (("2025Q3", 0.3), ("2026Q3", 0.7 if code == "H1" else 0.3)):
            for i in range(40):
                grp = ("EJ11" if i % 2 else "EJ13") if i < hi_share * 40 else "EJ15"
                m.ip(code, m.day(q), grp=grp, diag="J98.400")
    df = run(m, tmp_path)
    got = df[(df["rule_id"] == "UPCODING_DRG") & df["severity"].isin(["high", "medium"])]
    assert set(zip(got["fixmedins_code"], got["subject"])) == {("H1", "EJ1")}
    assert "同比增长" in got.iloc[0]["message"] and "同比下降" in got.iloc[0]["message"]


def test_upcoding_icd(tmp_path):
    m = Mini(regions=(("350200", "西岭市", "DIP"),), seed=8)
    hs = [m.hospital(f"H{i}", lv="05", region="350200") for i in range(1, 7)]
    m.baseline(hs, n_ip=40)
    for code in hs:  # I63: 60% I63.9 a year ago everywhere; H1 now 25%, the rest moved to I63.3/I63.5
        for q, unspec in (("2024Q3", 0.6), ("2025Q3", 0.6), ("2026Q3", 0.25 if code == "H1" else 0.6)):
            for i in range(50):
                if i < unspec * 50:
                    diag, fee = "I63.900", 9000
                else:
                    diag, fee = ("I63.300", 15000) if i % 2 else ("I63.500", 13000)
                m.ip(code, m.day(q), grp="BR25", diag=diag, fee=fee)
    df = run(m, tmp_path, region="350200")
    got = df[(df["rule_id"] == "UPCODING_ICD") & df["severity"].isin(["high", "medium"])]
    assert set(zip(got["fixmedins_code"], got["subject"])) == {("H1", "I63")}
    msg = got.iloc[0]["message"]
    assert "I63.3" in msg and "未特指" in msg and "两年前" in msg
    assert got.iloc[0]["value"] > got.iloc[0]["benchmark"] + 20


def _readmit(m: Mini, code: str, n: int, gaps, same_diag: bool):
    for i in range(n):
        p = m.new_psn()
        d = m.day("2026Q3", margin=30)
        m.ip(code, d, los=5, grp="ES33", diag="J18.900", psn=p)
        gap = int(m.rng.choice(gaps))
        m.ip(code, d + timedelta(days=5 + gap), los=5, grp="FR25" if not same_diag else "ES33",
             diag="J18.900" if same_diag else "I50.900", psn=p)


def test_readmit_15d(tmp_path):
    m = Mini(seed=9)
    hs = peers(m, 6)
    m.baseline(hs, n_ip=60)
    for code in hs[1:]:
        _readmit(m, code, 1, range(5, 16), same_diag=False)
    _readmit(m, "H1", 15, range(5, 16), same_diag=False)
    df = run(m, tmp_path)
    assert flagged(df, "READMIT_15D") == {"H1"}
    assert not flagged(df, "SPLIT_ADMISSION")


def test_split_admission(tmp_path):
    m = Mini(seed=10)
    hs = peers(m, 6)
    m.baseline(hs, n_ip=60)
    _readmit(m, "H1", 12, range(0, 3), same_diag=True)
    _readmit(m, "H2", 12, range(0, 3), same_diag=False)  # different diagnosis: a readmission, not a split
    df = run(m, tmp_path)
    assert flagged(df, "SPLIT_ADMISSION") == {"H1"}
    assert "H1" not in flagged(df, "READMIT_15D", ("high", "medium", "low"))


def test_low_standard_admission(tmp_path):
    m = Mini(seed=11)
    hs = peers(m, 6)
    m.baseline(hs, n_ip=60)
    for _ in range(30):
        m.ip("H1", m.day("2026Q3"), los=1, grp="DT15", diag="J06.900")
    df = run(m, tmp_path)
    assert flagged(df, "LOW_STANDARD_ADMISSION") == {"H1"}


def test_group_admission(tmp_path):
    m = Mini(seed=12)
    hs = peers(m, 6)
    m.baseline(hs, n_ip=40)
    gang = [m.new_psn() for _ in range(4)]
    for d in (date(2025, 11, 3), date(2026, 2, 9), date(2026, 5, 18), date(2026, 8, 10)):
        for j, p in enumerate(gang):
            m.ip("H1", d + timedelta(days=j % 2), los=7, psn=p)
    # the same people admitted separately elsewhere do not make a group
    for j, p in enumerate(gang):
        for k in range(3):
            m.ip("H2", date(2025, 10, 1) + timedelta(days=40 * j + 100 * k), los=5, psn=p)
    df = run(m, tmp_path)
    assert flagged(df, "GROUP_ADMISSION") == {"H1"}
    row = df[df["rule_id"] == "GROUP_ADMISSION"].iloc[0]
    assert "2026年8月10日" in row["message"] and "1组参保人（合计4人" in row["message"]
    assert not any(p in row["message"] for p in gang)


def test_impossible_travel(tmp_path):
    m = Mini(regions=(("350100", "东岚市", "DRG"), ("350200", "西岭市", "DIP")), seed=13)
    hs = peers(m, 6)
    far = m.hospital("W1", lv="05", region="350200")
    m.pharmacy("P1")
    m.baseline(hs, n_ip=30)
    m.baseline([far], n_ip=30)
    for i in range(12):
        p = m.new_psn()
        t = datetime(2026, 7, 5 + i, 10, 0)
        m.op("W1", t.date(), psn=p, time=t)
        m.op("P1", t.date(), psn=p, time=t + timedelta(minutes=8), med_type="41")
    # an ordinary out-of-region trip days apart is no conflict
    p = m.new_psn()
    m.op("W1", date(2026, 8, 1), psn=p, time=datetime(2026, 8, 1, 9))
    m.op("H2", date(2026, 8, 3), psn=p, time=datetime(2026, 8, 3, 9))
    df = run(m, tmp_path)
    got = df[df["rule_id"] == "IMPOSSIBLE_TRAVEL"]
    assert set(got["fixmedins_code"]) == {"P1"} and got.iloc[0]["severity"] == "high"
    assert "西岭市" in got.iloc[0]["message"] and "2026-07-05 10:08" in got.iloc[0]["message"]


def test_qc_pass_and_upload_low(tmp_path):
    m = Mini(seed=14)
    hs = peers(m, 6)
    m.baseline(hs[2:], n_ip=60)
    for code, qc_bad, miss in (("H1", 0.4, 0.0), ("H2", 0.0, 0.4), ("H3", 0.03, 0.02), ("H4", 0.05, 0.0)):
        for q in ("2026Q3",):
            for i in range(80):
                m.ip(code, m.day(q), qc="0" if i < qc_bad * 80 else "1", listed=not (i >= 80 - miss * 80))
    df = run(m, tmp_path)
    assert flagged(df, "QC_PASS_LOW") == {"H1"}
    assert flagged(df, "UPLOAD_LOW") == {"H2"}


def test_clean_tiny_dataset_has_no_findings_and_commends(tmp_path):
    m = Mini(seed=15)
    hs = peers(m, 8)
    m.baseline(hs[1:], n_ip=110)
    m.baseline(hs[:1], n_ip=110, fee_mult=0.85, los_range=(3, 8))
    d = m.write(tmp_path / "data")
    with Warehouse(d) as wh:
        found, praised = findings.analyse(wh, "350100", PERIOD)
    assert not (found["severity"].isin(["high", "medium"])).any(), found[["rule_id", "fixmedins_code", "message"]]
    assert list(praised.columns) == findings.COMMEND_COLUMNS
    assert "H1" in set(praised["fixmedins_code"])
    assert (praised["cost_index"] < 1).all() and (praised["time_index"] < 1).all()
    assert praised["reason"].str.contains("费用消耗指数").all()


# =================================================================================================
# API, output file, CLI, person-identifier safety, docs
# =================================================================================================

@pytest.fixture(scope="module")
def mixed_dataset(tmp_path_factory):
    """A tiny dataset where several rules fire at once (person-level ones included)."""
    m = Mini(regions=(("350100", "东岚市", "DRG"), ("350200", "西岭市", "DIP")), seed=20)
    hs = peers(m, 6)
    far = m.hospital("W1", lv="05", region="350200")
    m.baseline(hs[1:])
    m.baseline(hs[:1], op_ratio=2.0)
    m.baseline([far], n_ip=20)
    _readmit(m, "H2", 15, range(5, 16), same_diag=False)
    _readmit(m, "H3", 12, range(0, 3), same_diag=True)
    gang = [m.new_psn() for _ in range(3)]
    for d in (date(2025, 12, 3), date(2026, 3, 9), date(2026, 8, 10)):
        for p in gang:
            m.ip("H4", d, los=7, psn=p)
    for i in range(12):
        p = m.new_psn()
        t = datetime(2026, 7, 5 + i, 10, 0)
        m.op("H5", t.date(), psn=p, time=t)
        m.op("W1", t.date(), psn=p, time=t + timedelta(minutes=5))
    return m, m.write(tmp_path_factory.mktemp("mixed") / "data")


def test_find_contract_columns_order_and_no_person_ids(mixed_dataset):
    m, d = mixed_dataset
    with Warehouse(d) as wh:
        df = find(wh, "350100", PERIOD)
    assert list(df.columns) == COLUMNS
    assert {"OPIP_RATIO_LOW", "READMIT_15D", "SPLIT_ADMISSION", "GROUP_ADMISSION", "IMPOSSIBLE_TRAVEL"} \
        <= set(df["rule_id"])
    assert set(df["severity"]) <= {"high", "medium", "low"}
    sev = df["severity"].map({"high": 0, "medium": 1, "low": 2})
    keys = list(zip(sev, df["rule_id"], df["fixmedins_code"], df["subject"]))
    assert keys == sorted(keys)
    assert set(df["rule_id"]) <= set(RULES)
    text = df.to_csv(index=False)
    psns = {r["psn_no"] for r in m.setl}
    assert not any(p in text for p in psns)
    assert not re.search(r"P\d{7}", text)
    assert df["message"].str.contains("。$").all()
    assert pd.api.types.is_float_dtype(df["value"]) and pd.api.types.is_float_dtype(df["benchmark"])


def test_write_findings_atomic_and_byte_identical(mixed_dataset, tmp_path):
    _, d = mixed_dataset
    p1 = findings.write_findings(d, "350100", PERIOD, tmp_path / "out")
    assert p1 == tmp_path / "out" / PERIOD / "350100" / "findings.csv"
    b1 = p1.read_bytes()
    c1 = (p1.parent / "commendations.csv").read_bytes()
    p2 = findings.write_findings(d, "350100", PERIOD, tmp_path / "out")
    assert p2.read_bytes() == b1 and (p1.parent / "commendations.csv").read_bytes() == c1
    assert not b1.startswith(b"\xef\xbb\xbf") and b"\r\n" not in b1
    with open(p1, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == COLUMNS
    assert not [x for x in p1.parent.iterdir() if x.name.startswith(".")]


def test_cli(mixed_dataset, tmp_path):
    _, d = mixed_dataset
    r = subprocess.run([sys.executable, "-m", "yibao.cli", "findings", "--data", str(d), "--region", "350100",
                        "--period", PERIOD, "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o" / PERIOD / "350100" / "findings.csv").is_file()
    bad = subprocess.run([sys.executable, "-m", "yibao.cli", "findings", "--data", str(d), "--region", "999999",
                          "--period", PERIOD, "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert bad.returncode == 1 and "999999" in bad.stderr and "Traceback" not in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "yibao.cli", "findings", "--data", str(d), "--region", "350100",
                          "--period", "2026Q5", "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr


def test_rules_registry_and_docs_agree(project_dir):
    doc = (project_dir / "docs" / "findings.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^## ([A-Z0-9_]+)\s*$", doc, flags=re.M))
    assert documented == set(RULES), (documented ^ set(RULES))
    for rule_id, rule in RULES.items():
        assert rule.name and rule.description and callable(rule.func)
        name, description = rule[:2]
        assert re.search(r"\d", description), rule_id  # states a threshold / minimum volume
    contract_min = {"OPIP_RATIO_LOW", "OUT_OF_CATALOG_HIGH", "CASE_GROWTH_HIGH", "BASE_GROUP_TERTIARY",
                    "COST_DEVIATION", "UPCODING_DRG", "UPCODING_ICD", "READMIT_15D", "SPLIT_ADMISSION", "QC_PASS_LOW"}
    assert contract_min <= set(RULES)
    assert "## 表扬" in doc or "## 表扬名单" in doc
