"""Indicators (数据底稿), the workbook and the 复核 checks on a tiny hand-written dataset.

tests/fixtures/tiny/ is small enough to check on paper:

* regions 350100 东岚市 (DRG) and 350200 南屿县 (DIP); 440100 is an out-of-province insurer (异地 patients);
* 东岚市 institutions: H…01 三级 (500 beds, DRG), H…02 二级 (200 beds, DRG), H…03 一级 (50 beds, no DRG),
  H…04 (300 beds, designated 2025-11-01, i.e. after 2025Q3), pharmacies P…01 and P…02;
* fixmedins.csv is GB18030 with Chinese headers; psn_insu_month.xlsx is an Excel sheet; setl.csv carries
  psn_name and certno columns that must be dropped;
* settlements (setl.csv, amounts in 元), 2025Q3, 东岚市, inpatient (住院类):
    H1: JS0101 310 10000 (own 500, hifp 7000) | JS0102 390 12000 (0, 8000) | JS0103 310 30000 (1000, 20000)
        JS0104 390 med_type 52 6000 (0, 4000) | JS0105 310 8000 (400, 5600) | JS0106 390 med_type 22 5000 (100, 3000)
        JS0107 310 异地 (insu 440100) 20000 (2000, 14000) | JS0108 9000 reversed by JS0108R in Q3
    H2: JS0201 310 8000 (200, 5000) | JS0202 390 7000 (300, 4500) | JS0203 310 25000 (0, 18000)
        JS0204 390 4000 (0, 2500) | JS0205 310 9000 (900, 6000) | JS0206 390 med_type 52 5000 (0, 3500)
    H3: JS0301 390 2000 (100, 1300) | JS0302 310 2000 (0, 1400)
  outpatient (门诊类): H1 JS0901–0908 local (200 / own 20 / hifp 100 each; JS0901 at 2025-07-01 00:00:00),
  JS0909 异地, JS0910 reversed (by JS0910R); H2 JS1001–1006 local (100 / 5 / 50); H3 JS1101–1103 local (50 / 0 / 30);
  pharmacy P1: JS0801 med_type 41 (neither class), JS0802 med_type 14 local (300 / 30 / 200); JS1201 med_type 99 (其他).
  2025Q2 local inpatient: H1 JS0401–0405 (hifp 310: 7000+4000+6000, 390: 5000+3000), H2 JS0406–0409
  (310: 5000+4000, 390: 2000+2000; JS0409 at 2025-06-30 23:59:59), JS0410 (Q2) reversed by JS0410R in Q3.
  2025Q1: JS0501 H1 310 hifp 3000, JS0502 H2 390 hifp 2500. JS0601 at 2025-10-01 00:00:00 (Q4).
  南屿县: JS0701 (a 东岚市 insured, treated in 南屿县), JS0702, JS0703.
* settlement lists (setl_list.csv), 2025Q3: group, weight, ipt_days, qc, grp_stas, setl_way
    H1: JS0101 ES23 1.2 8d | JS0102 ES23 1.2 10d | JS0103 FM19 2.0 12d way 3 | JS0104 OB29 0.8 4d qc 0
        JS0105 ES23 1.2 6d way 2 | JS0107 FM19 2.0 9d | (JS0106 not uploaded; JS0108's list counts for nothing)
    H2: JS0201 ES23 10d | JS0202 ES23 8d | JS0203 FM19 15d | JS0204 未入组 3d way 2 | JS0205 ES23 12d qc 0
        JS0206 OB29 0.8 4d way 4
    H3: JS0301 ES23 1.2 9d way 2 (JS0302 not uploaded)
  (all other ways are 1 and qc 1; fee components are 40/20/10/10/10/5/5/0 % of medfee_sumamt)
* special_case: JS0103 (H1, 2025-08-10, 通过), JS0105 (H1, 2025-09-05, 不通过), JS0201 (H2, 2025-07-20, 待审),
  JS0108 (reversed settlement: counts for nothing), JS0401 (2025-05), JS0702 (南屿县).
* fund_report (元): every month 2024-07 … 2025-09: 310 inc_contrib = 100000 + 1000 × month number,
  310 exp_total 80000, 390 exp_total 50000; sparse: 310 inc_other 2025-03 5000, 2025-08 2000, 2024-11 1000;
  310A inc_contrib 2025-03 120000, 2025-07 60000; 310A exp_total 2025-05 20000, 2025-08 15000;
  390 inc_personal 2025-01 300000, 2024-12 20000; 390 inc_sub_central 2025-06 150000, inc_sub_prov 2025-06 50000,
  inc_sub_local 2025-07 40000, inc_other 2025-09 3000; bal_cum 310: 2025-06 4914000, 2025-09 5000000;
  bal_cum 390: 2025-06 2107000, 2025-09 2000000; MAF inc_sub_local 2025-02 30000, inc_other 2025-08 500,
  exp_assist 2025-02 4000, 2025-07 6000.
* psn_insu_month: 东岚市 2025-06 600+400, 07 600+400, 08 610+400, 09 590+400; 南屿县 300+200 each month.
* budget 2026 (东岚市 region rows): inpatient 800000, outpatient 300000, drg_dip 600000, other 50000
  (plus an H1 row and a 2025 row that do not count).
* settlement_progress: H1 2025-03 payable 10000 paid 9500; H1 2025-07 20000 / 19000; H2 2025-08 8000 / 8000;
  H1 2025-10 (after Q3); 南屿县 HB 2025-07.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from yibao.metrics import catalogue, checks, digao, indicators
from yibao.metrics.outputs import write_outputs
from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse

TINY = Path(__file__).parent / "fixtures" / "tiny"
A, B = "350100", "350200"
H1, H2, H3, H4 = "H35010000001", "H35010000002", "H35010000003", "H35010000004"
HB = "H35020000001"
OK, SUP, NA, MISS = "ok", "suppressed", "not_applicable", "missing_input"


@pytest.fixture(scope="module")
def wh():
    w = Warehouse(TINY)
    yield w
    w.close()


@pytest.fixture(scope="module")
def q3(wh):
    return indicators.compute(wh, A, "2025Q3")


@pytest.fixture(scope="module")
def q3_all(wh):
    """Frequency ignored: every indicator computed for 2025Q3."""
    return indicators.compute(wh, A, "2025Q3", strict_frequency=False)


def cell(df, iid, code=""):
    d = df[(df["indicator_id"] == str(iid)) & (df["fixmedins_code"] == code)]
    assert len(d) == 1, (iid, code, len(d))
    r = d.iloc[0]
    return (None if pd.isna(r["value"]) else float(r["value"])), r["status"]


# ---- expected values for 东岚市 2025Q3, worked out by hand -------------------------------------------
# (indicator, institution) -> (value, status); '' = the region row
EXPECTED_Q3 = {
    # 3 = 310 inc_contrib Jan–Sep 2025: Σ(100000 + 1000m, m=1..9) = 900000 + 45000 = 945000; + 310A 120000 + 60000
    ("3", ""): (1125000.00, OK),
    # 4 = 310 inc_other 2025-03 5000 + 2025-08 2000 (2024-11 is last year)
    ("4", ""): (7000.00, OK),
    ("2", ""): (1132000.00, OK),          # 3 + 4
    ("6", ""): (300000.00, OK),           # 390 inc_personal 2025-01 (2024-12 is last year)
    ("7", ""): (243000.00, OK),           # 150000 + 50000 + 40000 + 3000
    ("5", ""): (543000.00, OK),           # 6 + 7
    ("1", ""): (1675000.00, OK),          # 2 + 5
    ("9", ""): (755000.00, OK),           # 310 exp 9 × 80000 = 720000 + 310A 20000 + 15000
    ("10", ""): (720000.00, OK),          # 310 exp only
    ("12", ""): (450000.00, OK),          # 9 × 50000
    ("8", ""): (1205000.00, OK),          # 9 + 12
    # 11: local inpatient 310 hifp, Jan–Sep: Q1 JS0501 3000; Q2 7000+4000+6000+5000+4000 = 26000 (JS0410 reversed);
    #     Q3 JS0101 7000 + JS0103 20000 + JS0105 5600 + JS0201 5000 + JS0203 18000 + JS0205 6000 + JS0302 1400 = 63000
    #     (JS0107 is 异地, JS0108 reversed, JS0701 treated in 南屿县, JS0601 is in Q4)  → 92000
    ("11", ""): (92000.00, OK),
    # 13: 390: Q1 2500; Q2 5000+3000+2000+2000 = 12000; Q3 8000+4000+3000+4500+2500+3500+1300 = 26800 → 41300
    ("13", ""): (41300.00, OK),
    # 14 半年/年: 2025Q3 ends in September → not published
    ("14", ""): (None, NA), ("14", H1): (None, NA), ("14", H2): (None, NA), ("14", H3): (None, NA),
    # 17 = Q3 310 income (107000 + 108000 + 109000 + inc_other 2000) − exp 3 × 80000 = 326000 − 240000
    ("17", ""): (86000.00, OK),
    # 20 = Q3 390 income (40000 + 3000) − 150000
    ("20", ""): (-107000.00, OK),
    ("15", ""): (-21000.00, OK),          # 17 + 20
    ("16", ""): (None, NA), ("19", ""): (None, NA),     # heading rows
    ("18", ""): (None, NA), ("21", ""): (None, NA),     # 年: only periods ending in December
    ("22", ""): (30500.00, OK),           # MAF income Jan–Sep: 30000 + 500 (季度, September closes Q3)
    ("23", ""): (10000.00, OK),           # MAF exp_assist 4000 + 6000
    ("24", ""): (None, NA), ("25", ""): (None, NA), ("26", ""): (None, NA), ("27", ""): (None, NA),
    # 28: cases = H1 7 (JS0101–0107) + H2 6 + H3 2 = 15, uploaded = 6 + 6 + 1 = 13 → 86.67
    ("28", ""): (86.67, OK), ("28", H1): (85.71, OK),   # 6/7
    ("28", H2): (100.00, OK), ("28", H3): (None, SUP),  # H3: 2 cases < 5
    # 29: qc pass H1 5/6 (JS0104 fails), H2 5/6 (JS0205 fails), H3 1/1 → 11/13
    ("29", ""): (84.62, OK), ("29", H1): (83.33, OK), ("29", H2): (83.33, OK), ("29", H3): (None, SUP),
    # 30: DRG institutions H1, H2: grouped 6 + 5 (JS0204 未入组) / cases 7 + 6 = 11/13; H3 does not do DRG
    ("30", ""): (84.62, OK), ("30", H1): (85.71, OK), ("30", H2): (83.33, OK), ("30", H3): (None, NA),
    # 31/32 (handbook: institutions paid by DRG/DIP only, issue 13): grouped at H1, H2 = 6 + 5 = 11 (H3's grouped
    #     case does not count: H3 is not paid by DRG); way 1: H1 4 (0101, 0102, 0104, 0107) + H2 4 = 8 → 72.73 / 27.27
    ("31", ""): (72.73, OK), ("31", H1): (66.67, OK), ("31", H2): (80.00, OK), ("31", H3): (None, NA),
    ("32", ""): (27.27, OK), ("32", H1): (33.33, OK), ("32", H2): (20.00, OK), ("32", H3): (None, NA),
    # 33: applications in Q3: JS0103, JS0105 (H1), JS0201 (H2); JS0108 reversed, JS0401 in Q2 → 3; per hospital 1–4 → suppressed;
    #     H3 is not paid by DRG → not applicable
    ("33", ""): (3, OK), ("33", H1): (None, SUP), ("33", H2): (None, SUP), ("33", H3): (None, NA),
    # 34: approved: JS0103 → 1; H1 1 → suppressed; H2 0 approvals, but within H2's hidden 33 (suppress_with):
    #     suppressed — published, the region's 1 minus H2's 0 would give H1's 1 back
    ("34", ""): (1, OK), ("34", H1): (None, SUP), ("34", H2): (None, SUP), ("34", H3): (None, NA),
    # 35: 1 / cases at DRG institutions (7 + 6) × 100
    ("35", ""): (7.69, OK),
    # 36: local inpatient medfee: H1 10000+12000+30000+6000+8000+5000 = 71000; H2 8000+7000+25000+4000+9000+5000 = 58000;
    #     H3 2000 + 2000 = 4000 (2 cases → suppressed) → 133000. Complementary: H3 alone hidden would be
    #     133000 − 71000 − 58000, so the smallest other value, H2's 58000, is hidden too
    ("36", ""): (133000.00, OK), ("36", H1): (71000.00, OK), ("36", H2): (None, SUP), ("36", H3): (None, SUP),
    # 37 = 36 / 39: H1 71000 / 6; hidden wherever 36 or 39 is — H2 (both complementary), H3 (2 cases)
    ("37", ""): (9500.00, OK), ("37", H1): (11833.33, OK), ("37", H2): (None, SUP), ("37", H3): (None, SUP),
    # 38: local outpatient: H1 8, H2 6, H3 3, pharmacy P1 1 (med_type 14) → 18; H3 hidden (3), so the smallest
    #     other, H2's 6, too (18 − 8 − 1 = 9 is H2 + H3 together)
    ("38", ""): (18, OK), ("38", H1): (8, OK), ("38", H2): (None, SUP), ("38", H3): (None, SUP),
    # 39: local inpatient: H1 6, H2 6, H3 2 → 14; H3 hidden (2), the smallest other too: 6, a tie, and H2 is
    #     already hidden in 36 and 38 (the values 37 and 40 are computed on with 39): H2
    ("39", ""): (14, OK), ("39", H1): (6, OK), ("39", H2): (None, SUP), ("39", H3): (None, SUP),
    # 40 = 38 / 39: 18/14 = 1.2857; H1 8/6; H2 (38 and 39 hidden) and H3 suppressed
    ("40", ""): (1.29, OK), ("40", H1): (1.33, OK), ("40", H2): (None, SUP), ("40", H3): (None, SUP),
    # 41: Q2 local inpatient H1 5, H2 4 (JS0410 reversed), H3 0 → region (14/9 − 1) × 100. H1 would be
    #     (6/5 − 1) × 100 = 20, but H1's Q2 value was hidden beside H2's 4 (complementary, in Q2's own files:
    #     H1 5 is the smallest other) and 20 % with Q3's published 6 would give it back: suppressed;
    #     H2 4 and H3 0 上期 cases → suppressed
    ("41", ""): (55.56, OK), ("41", H1): (None, SUP), ("41", H2): (None, SUP), ("41", H3): (None, SUP),
    # 42: 东岚市 insured inpatient anywhere: 14 + JS0701 (treated in 南屿县) = 15 (JS0107 is insured elsewhere);
    #     mean psn (1000 + 1010 + 990) / 3 = 1000 → 1.50
    ("42", ""): (1.50, OK),
    # 43: region mean ipt_days: ES23 (8+10+6+10+8+12+9)/7 = 9, FM19 (12+9+15)/3 = 12, OB29 (4+4)/2 = 4
    #     H1: (24/9 + 21/12 + 4/4) / 6 = (2.6667 + 1.75 + 1) / 6 = 0.9028
    #     H2: (30/9 + 15/12 + 4/4) / 5 = (3.3333 + 1.25 + 1) / 5 = 1.1167; H3: 1 grouped case → suppressed
    ("43", ""): (1.0, OK), ("43", H1): (0.9028, OK), ("43", H2): (1.1167, OK), ("43", H3): (None, SUP),
    # 44: region mean cost: ES23 (10000+12000+8000+8000+7000+9000+2000)/7 = 8000, FM19 75000/3 = 25000, OB29 5500
    #     H1: (30000/8000 + 50000/25000 + 6000/5500) / 6 = (3.75 + 2 + 1.0909) / 6 = 1.1402
    #     H2: (24000/8000 + 25000/25000 + 5000/5500) / 5 = (3 + 1 + 0.9091) / 5 = 0.9818
    ("44", ""): (1.0, OK), ("44", H1): (1.1402, OK), ("44", H2): (0.9818, OK), ("44", H3): (None, SUP),
    # 45: own / medfee of local OP + IP: H1 (2000 + 8×20) / (71000 + 8×200) = 2160/72600 = 2.975%;
    #     H2 (1400 + 30) / (58000 + 600) = 2.440%; H3 (100 + 0) / (4000 + 150) = 2.410% (5 settlements: published);
    #     region (3500 + 160 + 30 + 0 + 30) / (133000 + 1600 + 600 + 150 + 300) = 3720 / 135650 = 2.742%
    ("45", ""): (2.74, OK), ("45", H1): (2.98, OK), ("45", H2): (2.44, OK), ("45", H3): (2.41, OK),
    ("46", ""): (None, NA), ("47", ""): (None, NA),     # 年度: only periods ending in December
    # 48: 310, 2024-10 … 2025-09: income 110000+111000+112000 + 945000 + inc_other 1000 + 7000 = 1286000 − 12 × 80000
    ("48", ""): (326000.00, OK),
    # 49: 390: income 20000 + 300000 + 150000 + 50000 + 40000 + 3000 = 563000 − 12 × 50000
    ("49", ""): (-37000.00, OK),
    # x_cmi: weights H1 1.2×3 + 2.0×2 + 0.8 = 8.4 / 6 = 1.4; H2 1.2×3 + 2.0 + 0.8 = 6.4 / 5 = 1.28;
    #        region (8.4 + 6.4 + 1.2) / 12 = 1.3333
    ("x_cmi", ""): (1.3333, OK), ("x_cmi", H1): (1.4, OK), ("x_cmi", H2): (1.28, OK), ("x_cmi", H3): (None, SUP),
    # x_ipt_days_avg: uploaded cases: H1 (8+10+12+4+6+9)/6 = 8.1667; H2 (10+8+15+3+12+4)/6 = 8.6667; region 110/13
    ("x_ipt_days_avg", ""): (8.46, OK), ("x_ipt_days_avg", H1): (8.17, OK), ("x_ipt_days_avg", H2): (8.67, OK),
    ("x_ipt_days_avg", H3): (None, SUP),
}

# frequency ignored (strict_frequency=False), 2025Q3
EXPECTED_Q3_ALL = {
    # 14: Jan–Sep settlement_progress: paid 9500 + 19000 + 8000 / payable 10000 + 20000 + 8000 = 36500/38000
    ("14", ""): (96.05, OK), ("14", H1): (95.00, OK), ("14", H2): (100.00, OK), ("14", H3): (None, MISS),
    ("18", ""): (5000000.00, OK), ("21", ""): (2000000.00, OK),       # bal_cum of 2025-09
    ("24", ""): (800000.00, OK), ("25", ""): (300000.00, OK),          # budget 2026, region rows only
    ("26", ""): (600000.00, OK), ("27", ""): (50000.00, OK),
    # 46: beds 500 + 200 + 50 (H4 designated after the period) × 1000 / (590 + 400) = 757.58
    ("46", ""): (757.58, OK),
    ("47", ""): (2.0202, OK),                                           # 2 pharmacies × 1000 / 990
}


def test_every_indicator_by_hand(q3):
    ids = {k[0] for k in EXPECTED_Q3}
    assert ids == set(catalogue.ids()), "every indicator 1–49 and x_… is asserted"
    for (iid, code), (val, st) in EXPECTED_Q3.items():
        got_v, got_s = cell(q3, iid, code)
        assert got_s == st, (iid, code, got_s)
        if val is None:
            assert got_v is None, (iid, code, got_v)
        else:
            assert got_v == pytest.approx(val, abs=1e-9), (iid, code, got_v)


def test_frequency_ignored_values(q3_all, q3):
    for (iid, code), (val, st) in EXPECTED_Q3_ALL.items():
        got_v, got_s = cell(q3_all, iid, code)
        assert got_s == st, (iid, code, got_s)
        assert (got_v is None) if val is None else got_v == pytest.approx(val, abs=1e-9), (iid, code, got_v)
    # everything the strict run publishes is the same
    for (iid, code), (val, st) in EXPECTED_Q3.items():
        if st != NA or iid in ("16", "19"):
            assert cell(q3_all, iid, code) == cell(q3, iid, code), (iid, code)


def test_output_shape(q3):
    assert list(q3.columns) == indicators.COLUMNS
    # per-institution indicators: region row + hospitals designated by the period's end (H4 only from 2025-11)
    assert set(q3["fixmedins_code"]) == {"", H1, H2, H3}
    assert set(q3["poolarea_no"]) == {A} and set(q3["period"]) == {"2025Q3"}
    per = catalogue.ids(per_institution=True)
    for iid in catalogue.ids():
        n = (q3["indicator_id"] == iid).sum()
        assert n == (4 if iid in per else 1), iid
    # sorted: 1..49 numerically, then x_…, region row first
    order = list(dict.fromkeys(q3["indicator_id"]))
    assert order[:3] == ["1", "2", "3"] and order[9] == "10" and order[-2:] == ["x_cmi", "x_ipt_days_avg"]
    first = q3.groupby("indicator_id", sort=False)["fixmedins_code"].first()
    assert (first == "").all()
    assert set(q3["status"]) <= set(catalogue.STATUSES)
    assert (q3["value"].notna() == (q3["status"] == "ok")).all()
    units = dict(zip(q3["indicator_id"], q3["unit"]))
    assert units["1"] == "元" and units["28"] == "%" and units["38"] == "人次" and units["33"] == "个"
    assert units["46"] == "张" and units["43"] == "" and units["x_cmi"] == ""
    assert set(units.values()) <= {"元", "%", "人次", "个", "张", ""}


def test_frequency_rule_by_period(wh):
    def statuses(period):
        d = indicators.compute(wh, A, period)
        d = d[d["fixmedins_code"] == ""]
        return dict(zip(d["indicator_id"], d["status"]))
    m9, m8, h1, y = statuses("2025-09"), statuses("2025-08"), statuses("2025H1"), statuses("2025")
    # September closes a quarter: 季度 累计 items 22/23 published; 半年 items not in a month
    assert m9["22"] == OK and m9["23"] == OK and m8["22"] == NA and m8["23"] == NA
    for iid in ("14", "33", "34", "35", "42", "18", "24", "46"):
        assert m9[iid] == NA, iid
    assert m9["39"] == OK and m9["1"] == OK
    # H1: 14 (半年/年, 累计) and the 半年 当期 items are published; annual ones are not
    assert h1["14"] == OK and h1["33"] == OK and h1["42"] == OK and h1["18"] == NA and h1["46"] == NA
    # the year: annual items published; 2025-12 has no fund report / psn rows in the fixture → missing_input
    assert y["24"] == OK and y["18"] == MISS and y["46"] == MISS and y["48"] == MISS
    assert catalogue.get("22").fits(Period.parse("2025Q3")) and not catalogue.get("14").fits(Period.parse("2025Q3"))
    assert catalogue.get("33").fits(Period.parse("2025Q1")) and not catalogue.get("33").fits(Period.parse("2025-06"))
    assert catalogue.get("18").fits(Period.parse("2025-12")) and catalogue.get("18").fits(Period.parse("2025Q4"))


def test_h1_payment_rate(wh):
    d = indicators.compute(wh, A, "2025H1")
    # 14, Jan–Jun: H1 2025-03 payable 10000 paid 9500 → 95.00; H2 and H3 have no progress rows in H1
    assert cell(d, "14") == (95.0, OK)
    assert cell(d, "14", H1) == (95.0, OK)
    assert cell(d, "14", H2) == (None, MISS)


def test_missing_settlement_progress(tmp_path):
    data = tmp_path / "tiny"
    shutil.copytree(TINY, data)
    (data / "settlement_progress.csv").unlink()
    with Warehouse(data) as w:
        d = indicators.compute(w, A, "2025H1")
    for code in ("", H1, H2, H3):
        assert cell(d, "14", code) == (None, MISS)
    assert cell(d, "39")[1] == OK


def test_dip_region(wh):
    d = indicators.compute(wh, B, "2025Q3")
    assert set(d["fixmedins_code"]) == {"", HB}
    assert cell(d, "x_cmi") == (None, NA) and cell(d, "x_cmi", HB) == (None, NA)   # DIP: no CMI
    # 28: JS0701, JS0702, JS0703 all uploaded → 100; 3 cases at HB → suppressed
    assert cell(d, "28") == (100.0, OK) and cell(d, "28", HB) == (None, SUP)
    assert cell(d, "43") == (1.0, OK)                                                # by dip_code
    # 42: 南屿县 insured inpatient: JS0702, JS0703 (JS0701 is insured in 东岚市) / (300 + 200) × 100
    assert cell(d, "42") == (0.40, OK)
    # 39 local inpatient: JS0702, JS0703 = 2; 11: local 310 hifp: JS0703 5000
    assert cell(d, "39") == (2, OK) and cell(d, "11") == (5000.0, OK)
    # fund report present for the months, so absent items are 0 (not missing)
    assert cell(d, "4") == (0.0, OK) and cell(d, "1") == (777.0, OK)
    # no settlement_progress rows for the region: 14 region row has no value
    assert cell(d, "24") == (None, NA)


def test_netting_matches_warehouse(wh):
    """The engine's one-pass reduction nets reversals exactly like warehouse.setl_net."""
    eng = indicators.engine(wh, A)
    cube = eng.cube("2025-01", "2025-09")
    mine = wh.df(f"SELECT cls, SUM(cases) AS n, SUM(medfee_sumamt) AS fee FROM {cube.setl} "
                 f"WHERE at_region GROUP BY cls ORDER BY cls")
    ref = wh.df("SELECT cls, COUNT(*) AS n, SUM(medfee_sumamt) AS fee FROM setl_net WHERE poolarea_no = '350100' "
                "AND month BETWEEN '2025-01' AND '2025-09' GROUP BY cls ORDER BY cls")
    assert mine["n"].tolist() == ref["n"].tolist()
    assert [float(x) for x in mine["fee"]] == pytest.approx([float(x) for x in ref["fee"]])


def test_comparisons(wh):
    cmp = indicators.compare(wh, A, "2025Q3")
    r = cmp[(cmp["indicator_id"] == "17") & (cmp["fixmedins_code"] == "")].iloc[0]
    # 同期 2024Q3: 324000 − 240000 = 84000 → (86000/84000 − 1) × 100 = 2.38
    # 上期 2025Q2: 104000 + 105000 + 106000 − 240000 = 75000 → (86000/75000 − 1) × 100 = 14.67
    assert r["yoy_value"] == 84000 and r["yoy"] == pytest.approx(2.38)
    assert r["prev_value"] == 75000 and r["mom"] == pytest.approx(14.67)
    r = cmp[(cmp["indicator_id"] == "28") & (cmp["fixmedins_code"] == "")].iloc[0]
    # percentages change in 百分点: Q2 has no uploaded lists → 0 → +86.67
    assert r["change_kind"] == "pp" and r["mom"] == pytest.approx(86.67)
    r = cmp[(cmp["indicator_id"] == "1") & (cmp["fixmedins_code"] == "")].iloc[0]
    assert pd.isna(r["mom"])                                    # 累计: 同比 only
    assert r["yoy"] == pytest.approx((1675000 / 324000 - 1) * 100, abs=0.01)


def test_helpers(q3, wh):
    assert indicators.value(q3, 39) == 14 and indicators.value(q3, 39, H1) == 6
    assert indicators.value(q3, 39, H3) is None and indicators.status(q3, 39, H3) == SUP
    t = indicators.indicator_table(q3, [39, 28], wh=wh)
    assert list(t.columns[:3]) == ["机构编码", "机构名称", "医院等级"]
    assert t.iloc[0]["机构名称"] == "全统筹区" and t.iloc[1]["机构名称"] == "东岚市第一人民医院"
    assert t.iloc[3]["出院人次(人次)"] == "<5" and t.iloc[0]["出院人次(人次)"] == "14"
    rt = indicators.region_table(q3, [1, 14])
    assert rt["数值"].tolist() == ["1675000.00", ""] and rt["状态"].tolist() == ["正常", "不适用"]


def test_catalogue_matches_seed():
    seed = pd.read_csv(TINY.parent.parent.parent / "lib" / "yibao" / "resources" / "reference" / "digao-2025-03.csv",
                       dtype=str, keep_default_na=False)
    assert len(seed) == 49
    for r in seed.itertuples(index=False):
        c = catalogue.get(r.id)
        assert (c.name, c.category, c.frequency, c.source, c.formula, c.scope) == \
               (r.name, r.category, r.frequency, r.source, r.formula, r.scope)
        assert c.per_institution == (r.per_institution == "Y")
        assert c.caliber and (c.sql or c.is_heading)
        assert "(" not in c.note or "（" in c.note            # English annotations stripped
    assert "x_cmi" in catalogue.ids() and len(catalogue.CATALOGUE) == 51
    frame = catalogue.as_frame()
    assert list(frame["id"][:2]) == ["1", "2"] and frame["sql"].str.contains("c_").sum() >= 47


# ---- files ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out1 = tmp_path_factory.mktemp("out1")
    out2 = tmp_path_factory.mktemp("out2")
    p1 = write_outputs(TINY, A, "2025Q3", out1)
    p2 = write_outputs(TINY, A, "2025Q3", out2)
    return p1, p2


def test_outputs_byte_identical(outputs):
    p1, p2 = outputs
    assert p1["indicators"] == p1["indicators"].parent / "indicators.csv"
    assert p1["indicators"].parent.parts[-2:] == ("2025Q3", A)
    for k in ("indicators", "digao", "checks"):
        assert p1[k].read_bytes() == p2[k].read_bytes(), k
    text = p1["indicators"].read_bytes()
    assert b"\r\n" not in text and not text.startswith(b"\xef\xbb\xbf")
    lines = text.decode("utf-8").splitlines()
    assert lines[0] == ",".join(indicators.COLUMNS)
    assert "39,出院人次,350100,H35010000001,2025Q3,6,人次,ok" in lines
    assert "39,出院人次,350100,H35010000002,2025Q3,,人次,suppressed" in lines   # complementary
    assert "37,次均住院费用,350100,H35010000001,2025Q3,11833.33,元,ok" in lines
    assert "39,出院人次,350100,H35010000003,2025Q3,,人次,suppressed" in lines
    assert "16,（一）职工医保,350100,,2025Q3,,,not_applicable" in lines
    assert "43,时间消耗指数,350100,H35010000001,2025Q3,0.9028,,ok" in lines


def _input_identifiers() -> set[str]:
    with open(TINY / "setl.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ids = set()
    for r in rows:
        for col in ("setl_id", "mdtrt_id", "psn_no", "psn_name", "certno", "init_setl_id"):
            if r[col]:
                ids.add(r[col])
    return ids


def _xlsx_text(path: Path) -> str:
    wb = openpyxl.load_workbook(path)
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            out.extend(str(v) for v in row if v is not None)
    return "\n".join(out)


def test_no_identifiers_in_outputs(outputs):
    p1, _ = outputs
    ids = _input_identifiers()
    assert len(ids) > 100
    texts = {"indicators": p1["indicators"].read_text(encoding="utf-8"),
             "checks": p1["checks"].read_text(encoding="utf-8"),
             "digao": _xlsx_text(p1["digao"])}
    for name, text in texts.items():
        leaked = sorted(i for i in ids if i in text)
        assert not leaked, (name, leaked[:5])


def test_workbook_layout(outputs):
    p1, _ = outputs
    wb = openpyxl.load_workbook(p1["digao"])
    assert wb.sheetnames == ["数据底稿", "医疗机构", "说明"]
    ws = wb["数据底稿"]
    assert "东岚市" in ws["A1"].value and "2025年第三季度" in ws["A1"].value
    assert ws["A3"].value == digao.CONFIDENTIALITY
    head = [c.value for c in ws[4]]
    assert head[:11] == ["序号", "项目", "指标", "频次", "来源", "公式", "口径", "备注", "2025年第三季度", "同比", "环比"]
    assert ws.freeze_panes == "D5"
    rows = {str(r[0].value): r for r in ws.iter_rows(min_row=5) if r[0].value is not None}
    assert rows["39"][8].value == 14 and rows["1"][8].number_format == "#,##0.00"
    # growth rates and percentages stored as fractions with a % format (a formula on them is right)
    assert rows["17"][9].value == pytest.approx(0.0238) and rows["17"][10].value == pytest.approx(0.1467)
    assert rows["17"][9].number_format.startswith("+0.00%")
    assert rows["1"][10].value == "—"                      # 累计: no 环比
    assert rows["14"][8].value == "—" and rows["16"][8].value is None
    assert rows["28"][8].number_format == "0.00%" and 0 <= rows["28"][8].value <= 1
    assert "百分点" in rows["28"][10].number_format
    assert isinstance(rows["39"][0].value, int)            # 序号 numeric: sorts 1, 2, …, 10
    assert ws.auto_filter.ref.startswith("A4:P") and ws.print_title_rows == "$4:$4"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
    assert {str(r) for r in ws.merged_cells.ranges} >= {"A1:P1", "A2:P2", "A3:P3"}
    wi = wb["医疗机构"]
    assert wi["A3"].value == digao.CONFIDENTIALITY
    hrow = [c.value for c in wi[4]]
    last = openpyxl.utils.get_column_letter(len(hrow))
    assert f"A1:{last}1" in {str(r) for r in wi.merged_cells.ranges}  # the title spans the whole table
    assert wi.auto_filter.ref == f"A4:{last}{wi.max_row}" and wi.print_title_rows == "$4:$4"
    assert wi.row_dimensions[4].height >= 3 * 13                       # three-line headers not clipped
    assert hrow[:4] == ["机构编码", "机构名称", "医院等级", "开展DRG/DIP付费"]
    col39 = hrow.index("39 出院人次（人次）") + 1
    body = {wi.cell(r, 2).value: wi.cell(r, col39).value for r in range(5, wi.max_row + 1)}
    # H3's 2 discharges and, beside them, H2's 6 (complementary: 14 − 6 − 6 would give the 2 back)
    assert body == {"全统筹区": 14, "东岚市第一人民医院": 6, "东岚市第二医院": "<5", "东岚市城东社区卫生服务中心": "<5"}


def test_checks_pass_on_clean_fixture(outputs):
    p1, _ = outputs
    df = pd.read_csv(p1["checks"], dtype=str, keep_default_na=False)
    assert list(df.columns) == ["check_id", "status", "detail"]
    assert set(df["status"]) <= {"pass", "fail", "warn", "skip"}
    assert not (df["status"] == "fail").any(), df[df["status"] == "fail"].to_dict("records")
    st = dict(zip(df["check_id"], df["status"]))
    for cid in ("sum_1_2_5", "sum_2_3_4", "sum_5_6_7", "sum_8_9_12", "sum_15_17_20", "le_10_9", "le_34_33",
                "sum_31_32_100", "range_28", "range_45", "fee_components", "inst_sum_36", "inst_sum_38",
                "inst_sum_39", "suppression", "region_only", "index_region_one", "bal_cum_310"):
        assert st[cid] == "pass", cid
    assert st["range_14"] == "skip"                       # 14 not published in Q3
    assert st["source_fund_vs_setl"] == "warn"            # fixture's fund report is far larger than its settlements
    assert df["detail"].str.contains("[\u4e00-\u9fff]").all()


def test_checks_fail_when_fee_components_do_not_add_up(tmp_path):
    data = tmp_path / "tiny"
    shutil.copytree(TINY, data)
    text = (data / "setl_list.csv").read_text(encoding="utf-8").splitlines()
    # JS0101: fee_drug 4000 → 4100, so the eight components add up to 10100 ≠ 10000
    text = [ln.replace(",4000.00,2000.00,1000.00", ",4100.00,2000.00,1000.00", 1) if ln.startswith("JS0101,") else ln
            for ln in text]
    (data / "setl_list.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    with Warehouse(data) as w:
        d = indicators.compute(w, A, "2025Q3")
        c = checks.run_checks(w, A, "2025Q3", d)
    row = c[c["check_id"] == "fee_components"].iloc[0]
    assert row["status"] == "fail" and "1份" in row["detail"]


def test_checks_fail_on_broken_figures(wh, q3):
    bad = q3.copy()
    i = bad.index[(bad["indicator_id"] == "2") & (bad["fixmedins_code"] == "")][0]
    bad.loc[i, "value"] = 1.0                                        # 1 ≠ 2 + 5, 2 ≠ 3 + 4
    j = bad.index[(bad["indicator_id"] == "39") & (bad["fixmedins_code"] == H3)][0]
    bad.loc[j, ["value", "status"]] = [2.0, "ok"]                    # a 2-case count published
    k = bad.index[(bad["indicator_id"] == "29") & (bad["fixmedins_code"] == H1)][0]
    bad.loc[k, "value"] = 101.0                                      # QC pass rate above 100%
    extra = bad[(bad["indicator_id"] == "39") & (bad["fixmedins_code"] == H1)].assign(fixmedins_code=HB)
    bad = pd.concat([bad, extra], ignore_index=True)                 # another region's hospital
    c = checks.run_checks(wh, A, "2025Q3", bad)
    st = dict(zip(c["check_id"], c["status"]))
    for cid in ("sum_1_2_5", "sum_2_3_4", "suppression", "range_29", "region_only"):
        assert st[cid] == "fail", cid


def test_cli(tmp_path, capsys):
    from yibao.cli import main
    assert main(["indicators", "--data", str(TINY), "--region", A, "--period", "2025Q3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "indicators.csv" in out and "digao.xlsx" in out and "checks.csv" in out
    assert (tmp_path / "2025Q3" / A / "checks.csv").exists()
    assert main(["indicators", "--data", str(TINY), "--region", "999999", "--period", "2025Q3",
                 "--out", str(tmp_path)]) == 1


def test_fixture_formats():
    """The fixture exercises the loader: a GB18030 CSV with Chinese headers, an xlsx and identifier columns."""
    raw = (TINY / "fixmedins.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gb18030").startswith("定点医药机构编号,定点医药机构名称")
    assert (TINY / "psn_insu_month.xlsx").exists()
    head = (TINY / "setl.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "psn_name" in head and "certno" in head


# ---- a third region by hand: an empty period, denominators of 0 and of 1, a group whose region mean is 0 -------
#
# 北礁县 350300 (DRG) is added to a copy of the tiny fixture; 东岚市 and 南屿县 are untouched. Two hospitals,
# HC1 (100 beds) and HC2 (80 beds), both paid by DRG, no pharmacy. Every settlement is a local 职工医保 (310)
# inpatient stay (med_type 21, insured in 北礁县):
#   2024Q3  KC13 HC1 ES23 20 days 20000 元 (grouped; before 2024Q4: counts for nothing in 2024Q4)
#   2024Q4  HC1: KC01–KC03 ES23 6 / 8 / 10 days, 8000 元 each; KC04 ZZ19 0 days 2000; KC05 ZZ29 1 day 3000;
#               KC12 grouped (grp_stas 1) but without a group code, 50 days 50000
#           HC2: KC06–KC08 ES23 8 days 8000 each; KC09 ZZ19 0 days 2000; KC10 ZZ29 0 days 1000;
#               KC11 not grouped (grp_stas 0) although a code ES23 is filled in, 30 days 30000
#   2025Q1  nothing at all (an empty period)
#   2025Q2  KC20 HC1 ES23 5 days 6000 (hifp 4000)
#   2025Q3  KC30 HC1 ES23 7 days 9000 (own 900, hifp 6000, weight 1.2, uploaded, qc 1, grouped, setl_way 1):
#           the region's only inpatient settlement of the quarter; HC2 has outpatient visits only (med_type 11,
#           100 元, own 10 元): OC1–OC6, one 310 and one 390 visit in each month July–September
# fund_report 2024-10 … 2025-09: only 310 exp_total 1000 a month (no income row, nothing for 390 or MAF);
# psn_insu_month 2024-10 … 2025-09: 310 400 + 390 100 = 500; budget 2026: inpatient 100000 only;
# settlement_progress: HC1 2025-08 payable 1.00 元, paid 1.00 元; special_case: none for 北礁县.
C = "350300"
HC1, HC2 = "H35030000001", "H35030000002"


def _add_region_c(d: Path) -> None:
    def append(name, lines, encoding="utf-8"):
        with open(d / name, "a", encoding=encoding, newline="") as fh:
            fh.write("".join(ln + "\n" for ln in lines))

    append("poolarea.csv", [f"{C},北礁县,闽东省,DRG"])
    append("fixmedins.csv", [f"{HC1},北礁县人民医院,{C},1,05,综合医院,公立,,100,1,2001-01-01",
                             f"{HC2},北礁县中医院,{C},1,05,中医医院,公立,,80,1,2003-01-01"], encoding="gb18030")
    append("drg_catalog.csv", [f"{C},ES23,呼吸系统感染/炎症，不伴并发症或合并症,ES2,MDCE,1.2,9600,1",
                               f"{C},ZZ19,日间化疗,ZZ1,MDCZ,0.3,2400,0", f"{C},ZZ29,日间检查,ZZ2,MDCZ,0.3,2400,0"])
    stays = [  # setl_id, hospital, discharge date, fee, hifp, group, grp_stas, days
        ("KC13", HC1, "2024-08-20", 20000, 14000, "ES23", "1", 20),
        ("KC01", HC1, "2024-10-10", 8000, 5600, "ES23", "1", 6), ("KC02", HC1, "2024-10-20", 8000, 5600, "ES23", "1", 8),
        ("KC03", HC1, "2024-11-10", 8000, 5600, "ES23", "1", 10), ("KC04", HC1, "2024-11-20", 2000, 1400, "ZZ19", "1", 0),
        ("KC05", HC1, "2024-12-10", 3000, 2100, "ZZ29", "1", 1), ("KC12", HC1, "2024-12-20", 50000, 35000, "", "1", 50),
        ("KC06", HC2, "2024-10-11", 8000, 5600, "ES23", "1", 8), ("KC07", HC2, "2024-10-21", 8000, 5600, "ES23", "1", 8),
        ("KC08", HC2, "2024-11-11", 8000, 5600, "ES23", "1", 8), ("KC09", HC2, "2024-11-21", 2000, 1400, "ZZ19", "1", 0),
        ("KC10", HC2, "2024-12-11", 1000, 700, "ZZ29", "1", 0), ("KC11", HC2, "2024-12-21", 30000, 21000, "ES23", "0", 30),
        ("KC20", HC1, "2025-05-10", 6000, 4000, "ES23", "1", 5),
        ("KC30", HC1, "2025-08-10", 9000, 6000, "ES23", "1", 7),
    ]
    setl, lists = [], []
    for sid, code, end, fee, hifp, grp, stas, days in stays:
        own = 900 if sid == "KC30" else 0
        setl.append(f"{sid},JZ{sid},RY{sid},,,{C},{C},310,{code},21,{end},{end},{end} 10:00:00,{fee:.2f},{own:.2f},"
                    f"{hifp:.2f},0.00,{fee - hifp:.2f},0,,1,50")
        lists.append(f"{sid},{code},{end} 12:00:00,1,,J18.900,,,{grp},,{stas},1,1.2,9600,{days},1,"
                     f"{fee:.2f},0.00,0.00,0.00,0.00,0.00,0.00,0.00")
    for i, (month, insutype) in enumerate([(m, t) for m in ("07", "08", "09") for t in ("310", "390")], 1):
        setl.append(f"OC{i},JZOC{i},RYOC{i},,,{C},{C},{insutype},{HC2},11,2025-{month}-15,2025-{month}-15,"
                    f"2025-{month}-15 09:00:00,100.00,10.00,60.00,0.00,40.00,0,,1,40")
    append("setl.csv", setl)
    append("setl_list.csv", lists)
    months = [f"2024-{m}" for m in ("10", "11", "12")] + [f"2025-{m:02d}" for m in range(1, 10)]
    append("fund_report.csv", [f"{C},{m},310,exp_total,1000.00" for m in months])
    append("budget.csv", [f"{C},2026,inpatient,100000.00,"])
    append("settlement_progress.csv", [f"{HC1},2025-08,1.00,0.00,1.00,1.00,2025-09-05,2025-09-26"])
    wb = openpyxl.load_workbook(d / "psn_insu_month.xlsx")
    ws = wb.active
    for m in months:
        ws.append([C, m, "310", 400])
        ws.append([C, m, "390", 100])
    wb.save(d / "psn_insu_month.xlsx")


@pytest.fixture(scope="module")
def wh_c(tmp_path_factory):
    d = tmp_path_factory.mktemp("edge") / "tiny"
    shutil.copytree(TINY, d)
    _add_region_c(d)
    w = Warehouse(d)
    yield w
    w.close()


# 北礁县 2025Q3, frequency ignored (every indicator computed), worked out by hand
EXPECTED_C_Q3 = {
    # no income row at all in 2025: every income sum is 0, not "missing" (the fund report is there every month)
    ("1", ""): (0.0, OK), ("2", ""): (0.0, OK), ("3", ""): (0.0, OK), ("4", ""): (0.0, OK),
    ("5", ""): (0.0, OK), ("6", ""): (0.0, OK), ("7", ""): (0.0, OK), ("22", ""): (0.0, OK), ("23", ""): (0.0, OK),
    ("8", ""): (9000.0, OK), ("9", ""): (9000.0, OK), ("10", ""): (9000.0, OK),   # 9 months × 1000 (310)
    ("12", ""): (0.0, OK),                       # no 390 row: 居民医保基金支出 0
    ("11", ""): (10000.0, OK),                   # local 310 inpatient hifp Jan–Sep: KC20 4000 + KC30 6000
    ("13", ""): (0.0, OK),                       # no 390 settlement: 0
    # 14: HC1 owed 1.00 元 and paid 1.00 元 → 100 %; HC2 has no progress row
    ("14", ""): (100.0, OK), ("14", HC1): (100.0, OK), ("14", HC2): (None, MISS),
    ("15", ""): (-3000.0, OK), ("17", ""): (-3000.0, OK),   # Q3: no income − 3 × 1000
    ("20", ""): (0.0, OK),                       # no 390 row in the quarter: balance 0
    ("18", ""): (None, MISS), ("21", ""): (None, MISS),     # no bal_cum row
    ("24", ""): (100000.0, OK), ("25", ""): (None, MISS),   # budget 2026: inpatient row only
    # one inpatient case in the quarter (KC30): every rate of the region is computed on it
    ("28", ""): (100.0, OK), ("29", ""): (100.0, OK), ("30", ""): (100.0, OK),
    ("31", ""): (100.0, OK), ("32", ""): (0.0, OK),
    ("28", HC1): (None, SUP), ("28", HC2): (None, SUP),       # 1 and 0 cases: fewer than 5
    ("33", ""): (0, OK), ("33", HC1): (0, OK), ("34", ""): (0, OK),   # no application: 0
    ("35", ""): (0.0, OK),                       # 0 approved × 100 / 1 case
    # 36/39: HC1's one case hidden; HC2's 0 would leave it alone (9000 − 0), and HC2 is the only other hospital:
    #     its 0 is hidden too (complementary; no non-zero value left), so nobody can tell which of the two holds it
    ("36", ""): (9000.0, OK), ("36", HC1): (None, SUP), ("36", HC2): (None, SUP),
    ("37", ""): (9000.0, OK),                    # 9000 / 1
    ("38", ""): (6, OK), ("38", HC1): (0, OK), ("38", HC2): (6, OK), ("39", ""): (1, OK),
    ("39", HC1): (None, SUP), ("39", HC2): (None, SUP),
    ("40", ""): (6.0, OK),                       # 6 outpatient / 1 inpatient
    ("40", HC1): (None, SUP), ("40", HC2): (None, SUP),     # 1 and 0 discharges: fewer than 5
    ("41", ""): (0.0, OK),                       # Q2 1 case (KC20) → (1/1 − 1) × 100
    ("42", ""): (0.2, OK),                       # 1 × 100 / 500 insured
    ("43", ""): (1.0, OK), ("44", ""): (1.0, OK),
    ("45", ""): (10.0, OK),                      # own (900 + 6 × 10) / (9000 + 6 × 100)
    ("46", ""): (360.0, OK),                     # (100 + 80) beds × 1000 / 500
    ("47", ""): (0.0, OK),                       # no pharmacy
    ("48", ""): (-12000.0, OK),                  # 12 months × −1000 (310)
    ("49", ""): (0.0, OK),                       # no 390 row in 12 months
    ("x_cmi", ""): (1.2, OK), ("x_ipt_days_avg", ""): (7.0, OK),
}

# 北礁县 2025Q1: fund and insured rows, no settlement at all
EXPECTED_C_Q1 = {
    ("1", ""): (0.0, OK), ("8", ""): (3000.0, OK), ("12", ""): (0.0, OK),
    ("11", ""): (0.0, OK), ("13", ""): (0.0, OK),            # no settlement: 0, not missing
    ("20", ""): (0.0, OK), ("17", ""): (-3000.0, OK),
    # no case: nothing to divide by → not applicable (never 0 % or 100 %)
    ("28", ""): (None, NA), ("29", ""): (None, NA), ("30", ""): (None, NA), ("31", ""): (None, NA),
    ("32", ""): (None, NA), ("35", ""): (None, NA), ("37", ""): (None, NA), ("40", ""): (None, NA),
    ("43", ""): (None, NA), ("44", ""): (None, NA), ("45", ""): (None, NA),
    ("x_cmi", ""): (None, NA), ("x_ipt_days_avg", ""): (None, NA),
    ("33", ""): (0, OK), ("34", ""): (0, OK), ("36", ""): (0.0, OK), ("38", ""): (0, OK), ("39", ""): (0, OK),
    ("41", ""): (-100.0, OK),                    # 0 cases against 2024Q4's 12 (KC01–KC12) → −100 %
    ("42", ""): (0.0, OK),                       # 0 admissions × 100 / 500 insured
}

# 北礁县 2024Q4, the consumption indices 43 (days) and 44 (cost) with a group whose region mean is 0:
#   region means: ES23 days (6+8+10 + 8+8+8)/6 = 8, cost 8000; ZZ19 days (0+0)/2 = 0 → weighted 1, cost 2000;
#   ZZ29 days (1+0)/2 = 0.5, cost (3000+1000)/2 = 2000. KC11 (not grouped), KC12 (no code) and KC13 (2024Q3)
#   do not count.
#   43 HC1: (3 × 8/8 + 1 × [ZZ19: 1] + 1 × 1/0.5) / 5 = (3 + 1 + 2) / 5 = 1.2; HC2: (3 + 1 + 0/0.5) / 5 = 0.8
#   44 HC1: (3 × 1 + 2000/2000 + 3000/2000) / 5 = 5.5 / 5 = 1.1; HC2: (3 + 1 + 1000/2000) / 5 = 0.9
#   region: Σ index × n / Σ n = (3 + 1 + 2 + 3 + 1 + 0) / 10 = 1 (43), (3 + 1 + 1.5 + 3 + 1 + 0.5) / 10 = 1 (44)
EXPECTED_C_Q4 = {
    ("43", ""): (1.0, OK), ("43", HC1): (1.2, OK), ("43", HC2): (0.8, OK),
    ("44", ""): (1.0, OK), ("44", HC1): (1.1, OK), ("44", HC2): (0.9, OK),
    # 30: grouped / all inpatient: HC1 6 (KC01–KC05, KC12) / 6; HC2 5 / 6 (KC11 not grouped) → 11/12
    ("30", ""): (91.67, OK), ("30", HC1): (100.0, OK), ("30", HC2): (83.33, OK),
    ("39", ""): (12, OK), ("39", HC1): (6, OK), ("39", HC2): (6, OK),
    # 40: no outpatient visit in 2024Q4: 0 / 6 discharges, published (6 discharges are enough)
    ("38", HC1): (0, OK), ("40", ""): (0.0, OK), ("40", HC1): (0.0, OK), ("40", HC2): (0.0, OK),
}


@pytest.mark.parametrize("period, expected", [("2025Q3", EXPECTED_C_Q3), ("2025Q1", EXPECTED_C_Q1),
                                              ("2024Q4", EXPECTED_C_Q4)], ids=["one_case", "empty", "zero_mean"])
def test_edge_region_by_hand(wh_c, period, expected):
    d = indicators.compute(wh_c, C, period, strict_frequency=False)
    for (iid, code), (val, st) in expected.items():
        got_v, got_s = cell(d, iid, code)
        assert got_s == st, (period, iid, code, got_s, got_v)
        assert (got_v is None) if val is None else got_v == pytest.approx(val, abs=1e-9), (period, iid, code, got_v)
