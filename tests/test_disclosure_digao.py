"""Complementary suppression in the 数据底稿 files (issue 13, Must 3): indicators.csv and digao.xlsx, read
back from disk.

A tiny region (350100, DRG) of four DRG hospitals in 2026Q3, worked out by hand:

* 特例单议 applications (33) in Q3: HA 3, HB 7, HC 9, HD 12 → region 31; approvals (34): HA 2, HB 5, HC 6,
  HD 10 → region 23.
  HA's 3 is hidden (1–4). Alone it would be 31 − (7 + 9 + 12) = 3, so the smallest other value, HB's 7, is hidden
  too; HB's approvals (34) with it (approvals within hidden applications), and HA's 2 approvals are 1–4 anyway.
  Published: HC 9, HD 12 (33) and HC 6, HD 10 (34): 31 − 21 = 10 = HA + HB, 23 − 16 = 7 = HA + HB.
  Each application is about one of the hospital's Q3 discharges.
* discharges (39, local inpatient settlements): Q2 HA 3, HB 6, HC 9, HD 12; Q3 HA 5, HB 7, HC 9, HD 12 (all ≥ 5:
  nothing hidden in Q3). In Q2 HA's 3 is hidden and HB's 6 beside it. Q3's growth rate 41 of HB, 7/6 − 1, would
  give Q2's hidden 6 back from Q3's published 7: suppressed (上期指标39不予公布); HA's rests on 3 上期 cases.
  Every discharge of a quarter is in its first month (April, July): the monthly pushes hide what the quarter
  hides, and no quarter value is hidden because of its months (that case: tests/test_disclosure_releases.py).
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import openpyxl
import pandas as pd
import pytest

from yibao.metrics.outputs import write_outputs

from test_findings import Mini

REGION = "350100"
HA, HB, HC, HD = "HA", "HB", "HC", "HD"
APPS = {HA: 3, HB: 7, HC: 9, HD: 12}
APPROVED = {HA: 2, HB: 5, HC: 6, HD: 10}
Q2 = {HA: 3, HB: 6, HC: 9, HD: 12}
Q3 = {HA: 5, HB: 7, HC: 9, HD: 12}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    m = Mini(seed=13)
    for code in (HA, HB, HC, HD):
        m.hospital(code, drg_dip_flag="1")
    q3_ids = {}
    for code in (HA, HB, HC, HD):
        for i in range(Q2[code]):
            m.ip(code, date(2026, 4, 2) + timedelta(days=2 * i), los=4, fee=5000.0)
        q3_ids[code] = [m.ip(code, date(2026, 7, 2) + timedelta(days=2 * i), los=4, fee=6000.0)
                        for i in range(Q3[code])]
    d = m.write(tmp_path_factory.mktemp("sdc") / "data")
    rows = []
    for code, n in APPS.items():
        for k in range(n):
            rows.append(dict(setl_id=q3_ids[code][k], fixmedins_code=code, apply_date=f"2026-09-{10 + k:02d}",
                             review_result="1" if k < APPROVED[code] else "0", review_date="2026-09-28",
                             approved_amt=1000.0 if k < APPROVED[code] else None))
    pd.DataFrame(rows).to_csv(d / "special_case.csv", index=False)
    out = tmp_path_factory.mktemp("out")
    paths = write_outputs(d, REGION, "2026Q3", out)
    prev = write_outputs(d, REGION, "2026Q2", out)
    return paths, prev


def _csv(path):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {(r.indicator_id, r.fixmedins_code): (r.value, r.status) for r in df.itertuples(index=False)}


def _sheet(path, head):
    wb = openpyxl.load_workbook(path)
    ws = wb["医疗机构"]
    hrow = [c.value for c in ws[4]]
    col = hrow.index(head) + 1
    return {(ws.cell(r, 1).value or ""): ws.cell(r, col).value for r in range(5, ws.max_row + 1)}


def test_the_lone_small_cell_gets_exactly_one_partner(files):
    paths, _ = files
    ind = _csv(paths["indicators"])
    # 33: HA (3) and exactly HB (7, the smallest other) hidden; the region value is the sum of all four
    assert ind[("33", "")] == ("31", "ok")
    assert {c: ind[("33", c)] for c in (HA, HB, HC, HD)} == {
        HA: ("", "suppressed"), HB: ("", "suppressed"), HC: ("9", "ok"), HD: ("12", "ok")}
    # 34: HA's 2 (1–4) and HB's 5 (within HB's hidden applications) hidden; the region value unchanged
    assert ind[("34", "")] == ("23", "ok")
    assert {c: ind[("34", c)] for c in (HA, HB, HC, HD)} == {
        HA: ("", "suppressed"), HB: ("", "suppressed"), HC: ("6", "ok"), HD: ("10", "ok")}
    # nothing else of the special cases and no discharge count of Q3 is hidden (all ≥ 5)
    for iid in ("36", "38", "39"):
        assert all(ind[(iid, c)][1] == "ok" for c in (HA, HB, HC, HD)), iid

    # digao.xlsx shows the same cells: "<5" for both hidden ones, the region value as computed
    col = _sheet(paths["digao"], "33 特例单议申请病例数（个）")
    assert col == {"": 31, HA: "<5", HB: "<5", HC: 9, HD: 12}
    col = _sheet(paths["digao"], "34 特例单议审核通过病例数（个）")
    assert col == {"": 23, HA: "<5", HB: "<5", HC: 6, HD: 10}


def test_no_published_number_gives_the_3_back(files):
    paths, _ = files
    ind = _csv(paths["indicators"])
    for iid, hidden_value in (("33", APPS[HA]), ("34", APPROVED[HA])):
        region = float(ind[(iid, "")][0])
        shown = [float(ind[(iid, c)][0]) for c in (HA, HB, HC, HD) if ind[(iid, c)][1] == "ok"]
        hidden = [c for c in (HA, HB, HC, HD) if ind[(iid, c)][1] == "suppressed"]
        # the region minus the published values is the hidden values together, never HA's alone
        assert len(hidden) >= 2 and region - sum(shown) != hidden_value, iid
        assert region - sum(shown) == APPS[HA] + APPS[HB] if iid == "33" else APPROVED[HA] + APPROVED[HB]
        # and no partial sum of published values leaves exactly HA's value
        for k in range(1 << len(shown)):
            part = sum(v for j, v in enumerate(shown) if k >> j & 1)
            assert region - part != hidden_value, (iid, k)
    # the 复核 text gives the totals it verified, never their difference (10, or a single hidden value)
    chk = pd.read_csv(paths["checks"], dtype=str, keep_default_na=False).set_index("check_id")
    for iid, total, shown in (("33", 31, 21), ("34", 23, 16)):
        status, detail = chk.loc[f"inst_sum_{iid}", "status"], chk.loc[f"inst_sum_{iid}", "detail"]
        assert status == "pass", detail
        numbers = {float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", detail)}
        assert numbers == {float(iid), total, shown, 2}, detail   # 指标N, region, published, 2家
    for cid in ("inst_sum_36", "inst_sum_38", "inst_sum_39", "suppression", "output_format"):
        assert chk.loc[cid, "status"] == "pass", (cid, chk.loc[cid, "detail"])


def test_growth_rate_does_not_give_last_periods_hidden_count_back(files):
    paths, prev = files
    before = _csv(prev["indicators"])
    # Q2: HA's 3 discharges hidden, HB's 6 beside them (complementary)
    assert {c: before[("39", c)][1] for c in (HA, HB, HC, HD)} == {
        HA: "suppressed", HB: "suppressed", HC: "ok", HD: "ok"}
    now = _csv(paths["indicators"])
    assert now[("39", HB)] == ("7", "ok")
    # Q3: HB's 41 (7/6 − 1 = 16.67 %) would give Q2's 6 back: suppressed; HA's rests on 3 上期 cases;
    # HC and HD: 9/9 and 12/12 → 0.00
    assert {c: now[("41", c)] for c in (HA, HB, HC, HD)} == {
        HA: ("", "suppressed"), HB: ("", "suppressed"), HC: ("0.00", "ok"), HD: ("0.00", "ok")}
    # the region row is never suppressed: 33 discharges against 30 → 10.00 %
    assert now[("41", "")] == ("10.00", "ok")
