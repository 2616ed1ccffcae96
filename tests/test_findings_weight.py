"""Findings with weight (issue 13, Must 6): every rule's estimated amount computed by hand from the tiny
dataset's settlements; yardsticks when a level has too few peers (a region with two 三级 hospitals: the
planted one is still found, the clean one is not); the binomial band of QC_PASS_LOW / UPLOAD_LOW on both
sides."""
from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from test_findings import DRG_CATALOG, GANG_DATES, MIX, Mini, _readmit, build_multi, run
from yibao.data.warehouse import Warehouse
from yibao.findings import engine
from yibao.findings.rules import IMPACT, T

Q3 = ("2026-07", "2026-08", "2026-09")
WEIGHT = {c: w for c, _, _, w, _ in DRG_CATALOG}
BASE = {c for c, _, _, _, b in DRG_CATALOG if b == "1"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """test_findings' tiny dataset (a planted anomaly per rule) and its findings."""
    m = build_multi()
    d = m.write(tmp_path_factory.mktemp("weight") / "data")
    with Warehouse(d) as wh:
        return dict(mini=m, drg=engine.find_detailed(wh, "350100", "2026Q3"),
                    dip=engine.find_detailed(wh, "350200", "2026Q3"))


# ---- hand computations on the tiny dataset's rows ---------------------------------------------------------

def _setl(m: Mini) -> pd.DataFrame:
    s = pd.DataFrame(m.setl)
    s["month"] = s["setl_time"].str[:7]
    rev = set(s.loc[s["refd_setl_flag"] == "1", "init_setl_id"]) | set(s.loc[s["refd_setl_flag"] == "1", "setl_id"])
    s = s[~s["setl_id"].isin(rev)]  # netted: a reversal and what it reverses count for nothing
    lst = pd.DataFrame(m.lst)
    return s.merge(lst.drop(columns=["fixmedins_code"]), on="setl_id", how="left")


def _one(df: pd.DataFrame, rule: str, code: str, subject: str = "") -> pd.Series:
    r = df[(df["rule_id"] == rule) & (df["fixmedins_code"] == code) & (df["subject"] == subject)]
    assert len(r) == 1, (rule, code, df[df["rule_id"] == rule][["fixmedins_code", "message"]])
    return r.iloc[0]


def _ip(s: pd.DataFrame, code: str, months=Q3) -> pd.DataFrame:
    return s[(s["fixmedins_code"] == code) & (s["med_type"] == "21") & s["month"].isin(months)]


def _readmissions(s: pd.DataFrame, code: str, split: bool) -> pd.DataFrame:
    """Admissions in Q3 of a person discharged from the same hospital 0–15 days earlier (split: 0–3 days with
    the same diagnosis category; readmit: the rest of 0–15)."""
    ip = s[(s["fixmedins_code"] == code) & (s["med_type"] == "21")].sort_values(["psn_no", "begndate", "enddate"])
    rows = []
    for _, g in ip.groupby("psn_no"):
        g = g.reset_index(drop=True)
        for i in range(1, len(g)):
            gap = (date.fromisoformat(g.at[i, "begndate"]) - date.fromisoformat(g.at[i - 1, "enddate"])).days
            same = g.at[i, "main_diag_code"][:3] == g.at[i - 1, "main_diag_code"][:3]
            is_split = 0 <= gap <= 3 and same
            if g.at[i, "month"] in Q3 and (is_split if split else (0 <= gap <= 15 and not is_split)):
                rows.append(g.iloc[i])
    return pd.DataFrame(rows)


def test_every_rule_has_an_amount_or_says_why_not():
    assert set(IMPACT) == set(engine.RULES)
    for rule, basis in IMPACT.items():
        assert basis.startswith(("医保基金", "患者负担", "不估算：")), rule
    assert IMPACT["QC_PASS_LOW"].startswith("不估算") and IMPACT["UPLOAD_LOW"].startswith("不估算")
    assert "impact" in engine.COLUMNS and "impact_basis" in engine.COLUMNS


def test_amounts_by_hand(tiny):
    m, f = tiny["mini"], tiny["drg"]
    s = _setl(m)
    local = s[s["insu_admdvs"] == s["poolarea_no"]]

    # OPIP_RATIO_LOW: discharges beyond the peers' ratio × the hospital's mean fund payment per discharge
    r = _one(f, "OPIP_RATIO_LOW", "H01")
    ip, op = _ip(local, "H01"), local[(local["fixmedins_code"] == "H01") & (local["med_type"] == "11")
                                      & local["month"].isin(Q3)]
    excess = len(ip) - len(op) / r.benchmark
    assert r.impact == pytest.approx(excess * ip["hifp_pay"].sum() / len(ip), rel=2e-3)
    assert r.impact_basis.startswith("医保基金")

    # OUT_OF_CATALOG_HIGH: (share − median) × medical cost — the patients' money
    r = _one(f, "OUT_OF_CATALOG_HIGH", "H02")
    fee = local[(local["fixmedins_code"] == "H02") & local["month"].isin(Q3)]["medfee_sumamt"].sum()
    assert r.impact == pytest.approx((r.value - r.benchmark) / 100 * fee, rel=2e-3)
    assert r.impact_basis.startswith("患者负担")

    # CASE_GROWTH_HIGH: discharges beyond the group's mixed growth × mean fund payment per discharge
    r = _one(f, "CASE_GROWTH_HIGH", "H03")
    base_months = ("2025-07", "2025-08", "2025-09") if "同比" in r.metric else ("2026-04", "2026-05", "2026-06")
    cur, base = _ip(local, "H03"), _ip(local, "H03", base_months)
    excess = len(cur) - len(base) * (1 + r.benchmark / 100)
    assert r.impact == pytest.approx(excess * cur["hifp_pay"].sum() / len(cur), rel=2e-3)

    # COST_DEVIATION: (mean − median) × cases × the hospital's fund share in the group
    r = _one(f, "COST_DEVIATION", "H04", "ES33")
    g = _ip(s, "H04")
    g = g[(g["drg_code"] == "ES33") & (g["grp_stas"] == "1")]
    assert r.value == pytest.approx(g["medfee_sumamt"].mean(), abs=0.01)
    share = g["hifp_pay"].sum() / g["medfee_sumamt"].sum()
    assert r.impact == pytest.approx((r.value - r.benchmark) * len(g) * share, rel=2e-3)

    # UPCODING_DRG: cases above last year's share × the gap between the subgroups' payment standards
    r = _one(f, "UPCODING_DRG", "H05", "EJ1")
    g = _ip(s, "H05")
    n = {c: int((g["drg_code"] == c).sum()) for c in ("EJ11", "EJ13", "EJ15")}
    std = {c: round(WEIGHT[c] * 8000, 2) for c in n}
    hi = (n["EJ11"] * std["EJ11"] + n["EJ13"] * std["EJ13"]) / (n["EJ11"] + n["EJ13"])
    excess = sum(n.values()) * (r.value - r.benchmark) / 100
    assert r.impact == pytest.approx(excess * (hi - std["EJ15"]), rel=2e-3)

    # READMIT_15D / SPLIT_ADMISSION: events above the peers' rate × the events' mean fund payment
    for rule, code, split in (("READMIT_15D", "H06", False), ("SPLIT_ADMISSION", "H07", True)):
        r = _one(f, rule, code)
        ev = _readmissions(s, code, split)
        adm = len(_ip(s, code))
        assert r.value == pytest.approx(len(ev) / adm * 100, abs=0.01)
        excess = len(ev) - adm * r.benchmark / 100
        assert r.impact == pytest.approx(excess * ev["hifp_pay"].mean(), rel=2e-3), rule

    # LOW_STANDARD_ADMISSION: low-weight short stays above the peers' share × their mean fund payment
    r = _one(f, "LOW_STANDARD_ADMISSION", "H08")
    q = float(np.quantile([w for w in WEIGHT.values()], 0.25))
    g = _ip(s, "H08")
    g = g[g["grp_stas"] == "1"]
    low = g[(g["weight"] <= q) & (g["ipt_days"] <= 2)]
    excess = len(low) - len(g) * r.benchmark / 100
    assert r.impact == pytest.approx(excess * low["hifp_pay"].mean(), rel=2e-3)

    # GROUP_ADMISSION: the fund payments of the group's admissions together
    r = _one(f, "GROUP_ADMISSION", "H09")
    gang = s[(s["fixmedins_code"] == "H09") & s["psn_no"].isin(m.gang)]
    gang = gang[gang["begndate"].map(lambda d: any(abs((date.fromisoformat(d) - x).days) <= 1 for x in GANG_DATES))]
    assert len(gang) == 16 and r.impact == pytest.approx(gang["hifp_pay"].sum(), abs=1)

    # IMPOSSIBLE_TRAVEL: conflicts above the expected number × their mean fund payment
    r = _one(f, "IMPOSSIBLE_TRAVEL", "P1")
    p1 = s[(s["fixmedins_code"] == "P1")]
    assert r.impact == pytest.approx((12 - r.benchmark) / 12 * p1["hifp_pay"].sum(), rel=2e-3)

    # BASE_GROUP_TERTIARY: base-group cases above the 三级 median × (its mean fund payment per base-group case −
    # the non-tertiary hospitals')
    r = _one(f, "BASE_GROUP_TERTIARY", "T1")
    g = _ip(s, "T1")
    g = g[g["grp_stas"] == "1"]
    b = g[g["drg_code"].isin(BASE)]
    others = s[s["month"].isin(Q3) & (s["med_type"] == "21") & (s["grp_stas"] == "1") & s["drg_code"].isin(BASE)
               & s["fixmedins_code"].str.match(r"^(H|N|S)")]
    # group by group: what the same base-group case costs the fund at the hospital and at the non-tertiary ones
    own, low = b.groupby("drg_code")["hifp_pay"].mean(), others.groupby("drg_code")["hifp_pay"].mean()
    gap = sum(len(b[b["drg_code"] == c]) * (own[c] - low[c]) for c in own.index) / len(b)
    excess = len(b) - len(g) * r.benchmark / 100
    if gap > 0:
        assert r.impact == pytest.approx(excess * gap, rel=2e-3)
    else:
        assert pd.isna(r.impact) and r.impact_basis.startswith("不估算：")

    # QC_PASS_LOW / UPLOAD_LOW: no amount, and the record says why
    for rule, code in (("QC_PASS_LOW", "H10"), ("UPLOAD_LOW", "H11")):
        r = _one(f, rule, code)
        assert pd.isna(r.impact) and r.impact_basis.startswith("不估算：") and "数据质量" in IMPACT["QC_PASS_LOW"]

    # every amount is said in the message, in 万元 / 元 as the prose writes it
    from yibao import fmt
    for r in f[f["impact"].notna()].itertuples():
        assert fmt.money(r.impact).split(".")[0] in r.message, (r.rule_id, r.message)


def test_upcoding_icd_amount_by_hand(tiny):
    m, f = tiny["mini"], tiny["dip"]
    s = _setl(m)
    r = _one(f, "UPCODING_ICD", "W1", "I63")
    w = s[(s["poolarea_no"] == "350200") & s["main_diag_code"].fillna("").str.startswith("I63")]
    cur, base = w[w["month"].isin(Q3)], w[w["month"].isin(("2025-07", "2025-08", "2025-09"))]
    fund = pd.concat([cur, base]).groupby(w["main_diag_code"].str[:5])["hifp_pay"].mean()
    w1c, w1b = cur[cur["fixmedins_code"] == "W1"], base[base["fixmedins_code"] == "W1"]
    share = lambda d, c: (d["main_diag_code"].str[:5] == c).mean() * 100  # noqa: E731
    rise = {c: share(w1c, c) - share(w1b, c) for c in ("I63.3", "I63.5")}
    rise = {c: x for c, x in rise.items() if x >= 2}
    gap = sum(x * fund[c] for c, x in rise.items()) / sum(rise.values()) - fund["I63.9"]
    excess = len(w1c) * (r.value - r.benchmark) / 100
    assert r.impact == pytest.approx(excess * gap, rel=2e-3)


def test_findings_sort_by_amount(tiny):
    f = tiny["drg"]
    imp = f["impact"].fillna(-1).tolist()
    assert imp == sorted(imp, reverse=True)
    assert f["impact"].notna().sum() >= 10  # money for every rule that can have it


def test_a_finding_without_amount_says_why():
    from types import SimpleNamespace
    from yibao.findings.rules import finding
    ctx = SimpleNamespace(name=lambda c: c, level=lambda c: "二级")
    r = finding(ctx, "COST_DEVIATION", "H1", "ES33", "x", 1, 2, "low", "m。", impact=None)
    assert r["impact"] is None and r["impact_basis"].startswith("不估算：") and "低于参照值" in r["impact_basis"]
    r = finding(ctx, "UPCODING_DRG", "H1", "EJ1", "x", 1, 2, "medium", "m。", impact=-5)
    assert r["impact"] is None and "支付标准" in r["impact_basis"]


# ---- few peers: a region with two 三级 hospitals ----------------------------------------------------------

def _two_tertiary(seed: int = 5) -> Mini:
    """Six 二级 hospitals and two 三级: T1 with anomalies planted this quarter, T2 clean."""
    m = Mini(seed=seed)
    h = [m.hospital(f"H{i}", lv="05") for i in range(1, 7)]
    m.baseline(h)
    t1, t2 = m.hospital("T1", lv="01"), m.hospital("T2", lv="01")
    m.baseline([t2], n_ip=60)
    m.baseline([t1], n_ip={"2026Q3": 150, "2026Q2": 40, "2025Q3": 40}, op_ratio=2.0, ownpay=0.30,
               reduce_ip={"2026Q3": 57}, grp_mult={("2026Q3", "ES33"): 1.8}, mix=MIX[:-1] + [("GZ15", "K92.900", 0.5)])
    _readmit(m, t1, 15, range(5, 16), same_diag=False)
    _readmit(m, t1, 12, range(0, 3), same_diag=True)
    for _ in range(30):
        m.ip(t1, m.day("2026Q3"), los=1, grp="DT15", diag="J06.900")
    return m


FEW_PEER_RULES = ("OPIP_RATIO_LOW", "OUT_OF_CATALOG_HIGH", "CASE_GROWTH_HIGH", "COST_DEVIATION", "READMIT_15D",
                  "SPLIT_ADMISSION", "LOW_STANDARD_ADMISSION", "BASE_GROUP_TERTIARY")


@pytest.fixture(scope="module")
def two_tertiary(tmp_path_factory):
    return run(_two_tertiary(), tmp_path_factory.mktemp("few"))


@pytest.mark.parametrize("rule", FEW_PEER_RULES)
def test_few_peers_planted_found_clean_not(two_tertiary, rule):
    f = two_tertiary
    got = f[(f["rule_id"] == rule) & f["fixmedins_code"].isin(["T1", "T2"])]
    assert set(got["fixmedins_code"]) == {"T1"}, got[["fixmedins_code", "message"]]
    msg = got["message"].iloc[0]
    assert re.search(r"三级医院(?:中[^，]*)?不足\d家", msg) and "无法与同级比较" in msg, msg
    # the yardstick is named: the region's all-level rate (no provincial reference configured, history not needed)
    assert "全统筹区其他医院" in msg or "支付标准" in msg, msg
    assert got["severity"].iloc[0] in ("high", "medium", "low")
    # and nothing at the 二级 hospitals, whose level has enough peers
    assert not f[f["rule_id"] == rule]["fixmedins_code"].str.startswith("H").any()


def test_few_peers_provincial_reference_from_params(tmp_path, monkeypatch):
    yml = tmp_path / "regions.yaml"
    yml.write_text("""
defaults:
  reference_book: prov
reference_books:
  prov:
    document: 《甲省三级医院监测参考值》
    READMIT_15D: {三级: 1.5}
    OPIP_RATIO_LOW: {三级: 12.0}
""", encoding="utf-8")
    monkeypatch.setenv("YIBAO_REGIONS_YAML", str(yml))
    f = run(_two_tertiary(), tmp_path)
    r = _one(f, "READMIT_15D", "T1")
    assert r.benchmark == pytest.approx(1.5) and "省级参考值（《甲省三级医院监测参考值》）" in r.message
    r = _one(f, "OPIP_RATIO_LOW", "T1")
    assert r.benchmark == pytest.approx(12.0) and "以省级参考值" in r.message
    assert "T2" not in set(f.loc[f["rule_id"].isin(["READMIT_15D", "OPIP_RATIO_LOW"]), "fixmedins_code"])


def test_few_peers_history_when_the_region_has_no_other_hospital(tmp_path):
    """A region with two hospitals: list quality is measured against the hospital's own rate a year earlier."""
    m = Mini(seed=3)
    a, b = m.hospital("A", lv="05"), m.hospital("B", lv="05")
    m.baseline([a], n_ip=80)
    m.baseline([a], n_ip=80, quarters=("2026Q3",), qc_fail=0.5)
    m.baseline([b], n_ip=80)
    f = run(m, tmp_path)
    r = _one(f, "QC_PASS_LOW", "A")
    assert "达到样本量要求的医院不足3家" in r.message and "本院去年同期" in r.message and r.benchmark == pytest.approx(100.0)
    assert "B" not in set(f["fixmedins_code"])


# ---- the binomial band of QC_PASS_LOW / UPLOAD_LOW: a small hospital's noise is not flagged -------------------

def test_binomial_band_both_sides(tmp_path):
    m = Mini(seed=9)
    peers = [m.hospital(f"H{i}", lv="05") for i in range(1, 7)]
    m.baseline(peers, n_ip=60)
    small_q, small_u = m.hospital("SQ", lv="05"), m.hospital("SU", lv="05")
    big_q, big_u = m.hospital("BQ", lv="05"), m.hospital("BU", lv="05")
    m.baseline([small_q], n_ip=35, qc_fail=0.06)      # 3 of 35 lists failed: 91.4 % against 100 %
    m.baseline([small_u], n_ip=35, unlisted=0.09)     # 3 of 35 not uploaded
    m.baseline([big_q], n_ip=120, qc_fail=0.09)       # 11 of 120 failed: the same rate, far outside the band
    m.baseline([big_u], n_ip=120, unlisted=0.09)
    f = run(m, tmp_path)
    qc = set(f.loc[f["rule_id"] == "QC_PASS_LOW", "fixmedins_code"])
    up = set(f.loc[f["rule_id"] == "UPLOAD_LOW", "fixmedins_code"])
    assert "BQ" in qc and "SQ" not in qc, f[f["rule_id"] == "QC_PASS_LOW"][["fixmedins_code", "message"]]
    assert "BU" in up and "SU" not in up, f[f["rule_id"] == "UPLOAD_LOW"][["fixmedins_code", "message"]]
    # without the band the small hospital would pass the rule's other thresholds (rate ≥ 8 % below, z ≥ 3)
    from yibao.findings.stats import binomial_band_p
    assert binomial_band_p(32, 35, 100.0) > T["QC_PASS_LOW"]["max_binom_p"]
    assert binomial_band_p(109, 120, 100.0) < T["QC_PASS_LOW"]["max_binom_p"]
