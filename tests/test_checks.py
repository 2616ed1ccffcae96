"""Every 复核 check (metrics/checks.py) fails — or warns — on a broken figure as well as passing on a sound one
(issue 19). test_indicators.test_checks_pass_on_clean_fixture has the passing side on the tiny fixture;
here each check gets a figure broken by hand (with the boundary where the check has one), and the source
checks get a small dataset of their own on which they pass."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from yibao.metrics import checks, indicators
from yibao.data.warehouse import Warehouse

from test_findings import Mini
from test_indicators import A, H1, H2, TINY


@pytest.fixture(scope="module")
def wh():
    w = Warehouse(TINY)
    yield w
    w.close()


@pytest.fixture(scope="module")
def q3(wh):
    return indicators.compute(wh, A, "2025Q3")


def _set(df, iid, code, value, status="ok"):
    i = df.index[(df["indicator_id"] == iid) & (df["fixmedins_code"] == code)]
    assert len(i) == 1, (iid, code)
    df.loc[i[0], ["value", "status"]] = [value, status]


def _get(df, iid, code=""):
    return float(df.loc[(df["indicator_id"] == iid) & (df["fixmedins_code"] == code), "value"].iloc[0])


def _status(wh, df):
    c = checks.run_checks(wh, A, "2025Q3", df)
    return dict(zip(c["check_id"], c["status"])), dict(zip(c["check_id"], c["detail"]))


# check id -> (how to break the 底稿 by hand, the status expected)
BREAKS = {
    "sum_5_6_7": (lambda d: _set(d, "6", "", _get(d, "6") + 1000), "fail"),
    "sum_8_9_12": (lambda d: _set(d, "12", "", _get(d, "12") + 1000), "fail"),
    "sum_15_17_20": (lambda d: _set(d, "17", "", _get(d, "17") + 1000), "fail"),
    "le_10_9": (lambda d: _set(d, "10", "", _get(d, "9") + 1000), "fail"),
    "le_11_10": (lambda d: _set(d, "11", "", _get(d, "10") + 1000), "warn"),
    "le_13_12": (lambda d: _set(d, "13", "", _get(d, "12") + 1000), "warn"),
    "le_34_33": (lambda d: _set(d, "34", "", _get(d, "33") + 1), "fail"),
    "sum_31_32_100": (lambda d: _set(d, "31", "", _get(d, "31") + 5), "fail"),
    "ratio_37_36_39": (lambda d: _set(d, "37", "", round(_get(d, "37") * 1.1, 2)), "fail"),
    "ratio_40_38_39": (lambda d: _set(d, "40", "", _get(d, "40") + 1), "fail"),
    "range_28": (lambda d: _set(d, "28", "", 100.01), "fail"),
    "range_45": (lambda d: _set(d, "45", H1, -0.01), "fail"),
    "index_region_one": (lambda d: _set(d, "43", "", 1.2), "fail"),
    # 39 出院人次: region 14; H3 (2 discharges) hidden, H2 (6) hidden beside it (complementary), H1 6 published.
    # The hidden values are recomputed institution by institution (2 + 6), so a published value off by one fails
    "inst_sum_39": (lambda d: _set(d, "39", H1, _get(d, "39", H1) + 1), "fail"),
    "inst_sum_39 ": (lambda d: _set(d, "39", H1, _get(d, "39", H1) - 1), "fail"),
    # H2 published beside the lone hidden H3: 14 − 6 − 6 gives H3's 2 back (no complementary cell)
    "inst_sum_39  ": (lambda d: _set(d, "39", H2, 6.0), "fail"),
    # 36 住院总费用: region 133000; H1 71000 published; H2 58000 (complementary) and H3 4000 hidden
    "inst_sum_36": (lambda d: _set(d, "36", H1, _get(d, "36", H1) + 0.03), "fail"),
    "output_format": (lambda d: _set(d, "39", H1, np.nan, "ok"), "fail"),
    "output_format ": (lambda d: _set(d, "39", H1, 6.0, "published"), "fail"),
}
# the other side of the boundaries: a rounding difference within 0.02 元 holds
HOLDS = {
    "inst_sum_36": (lambda d: _set(d, "36", H1, _get(d, "36", H1) + 0.01), "pass"),
    "range_28": (lambda d: _set(d, "28", "", 100.0), "pass"),
    "le_34_33": (lambda d: _set(d, "34", "", _get(d, "33")), "pass"),
}


@pytest.mark.parametrize("cid, case", [(k, v) for k, v in BREAKS.items()] + [(k, v) for k, v in HOLDS.items()],
                         ids=[f"break-{k.strip()}" for k in BREAKS] + [f"hold-{k.strip()}" for k in HOLDS])
def test_check_on_a_figure_changed_by_hand(wh, q3, cid, case):
    change, want = case
    st, detail = _status(wh, q3)
    assert st[cid.strip()] == "pass", (cid, detail[cid.strip()])
    d = q3.copy()
    change(d)
    st, detail = _status(wh, d)
    assert st[cid.strip()] == want, (cid, detail[cid.strip()])


# ---- the suppression check, on both sides of the threshold ----------------------------------------
def _sup_frames(rows):
    """(indicators_df, detail_df) from (indicator, institution, status, value, n) rows."""
    ind = pd.DataFrame([dict(indicator_id=i, fixmedins_code=c, status=s, value=v) for i, c, s, v, _ in rows])
    det = pd.DataFrame([dict(indicator_id=i, fixmedins_code=c, n=n) for i, c, _, _, n in rows])
    return ind, det


SOUND = [("39", "", "ok", 19.0, 19), ("39", "X0", "ok", 0.0, 0), ("39", "X5", "ok", 5.0, 5),
         ("39", "X4", "suppressed", np.nan, 4), ("37", "X5", "ok", 3000.0, 5), ("37", "X4", "suppressed", np.nan, 4),
         ("28", "X5", "ok", 100.0, 5)]


@pytest.mark.parametrize("row", [
    ("39", "Y1", "ok", 1.0, 1),            # a count of 1 published
    ("39", "Y4", "ok", 4.0, 4),            # a count of 4 published
    ("37", "Y4", "ok", 2500.0, 4),         # an average on 4 cases
    ("37", "Y0", "ok", 0.0, 0),            # an average on no case
    ("28", "Y1", "ok", 100.0, 1),          # a rate on 1 case
    ("39", "Y9", "suppressed", 9.0, 9),    # suppressed but its value still written
])
def test_suppression_check_fails_on_each_leak(row):
    cid, st, detail = checks._check_suppression(*_sup_frames([*SOUND, row]))
    assert (cid, st) == ("suppression", "fail") and row[1] in detail, detail


def test_suppression_check_fails_on_a_rate_beside_a_hidden_count():
    # Z7's 7 discharges hidden (complementary: beside another hospital's "<5"); its 37 and 36 published would
    # give them back (36 / 37)
    rows = [*SOUND, ("39", "Z7", "suppressed", np.nan, 7), ("36", "Z7", "ok", 21000.0, 7),
            ("37", "Z7", "ok", 3000.0, 7)]
    cid, st, detail = checks._check_suppression(*_sup_frames(rows))
    assert (cid, st) == ("suppression", "fail") and "37/Z7（指标39不予公布）" in detail, detail
    rows[-1] = ("37", "Z7", "suppressed", np.nan, 7)
    assert checks._check_suppression(*_sup_frames(rows))[1] == "pass"


def test_suppression_check_passes_at_zero_and_five():
    cid, st, detail = checks._check_suppression(*_sup_frames(SOUND))
    assert (cid, st) == ("suppression", "pass"), detail
    assert "核对4个已公布的机构数值，2个机构数值不予公布" in detail


# ---- the source checks: a dataset where the two sources agree, then disagree ---------------------------
def _source_data(tmp_path, fund_exp: float, bal_end: float, psn_months=("2026-07", "2026-08", "2026-09"),
                 fund_months=None, odd_item=False):
    """One hospital, three 310 inpatient settlements in 2026Q3 paying 6000 from the fund (hifp 0.6 × fee),
    and a fund report: 310 exp_total by month, inc_contrib 10000 a month, bal_cum at June and September."""
    m = Mini(seed=9)
    m.hospital("H1")
    for i, fee in enumerate((2000.0, 3000.0, 5000.0)):
        m.ip("H1", date(2026, 7 + i, 5), fee=fee, ownpay=0.0)
    d = m.write(tmp_path / "data")
    months = fund_months or [f"2026-{k:02d}" for k in range(1, 10)]
    rows = []
    for mo in months:
        q3 = mo >= "2026-07"
        rows.append(dict(poolarea_no=A, month=mo, fund="310", item="inc_contrib", amount=10000.0))
        rows.append(dict(poolarea_no=A, month=mo, fund="310", item="exp_total", amount=fund_exp / 3 if q3 else 5000.0))
    rows.append(dict(poolarea_no=A, month="2026-06", fund="310", item="bal_cum", amount=100000.0))
    rows.append(dict(poolarea_no=A, month="2026-09", fund="310", item="bal_cum", amount=bal_end))
    if odd_item:
        rows.append(dict(poolarea_no=A, month="2026-08", fund="390", item="inc_contrib", amount=700.0))
    pd.DataFrame(rows).to_csv(d / "fund_report.csv", index=False)
    pd.DataFrame([dict(poolarea_no=A, month=mo, insutype="310", psn_cnt=1000) for mo in psn_months]).to_csv(
        d / "psn_insu_month.csv", index=False)
    return d


def _source_checks(d):
    with Warehouse(d) as w:
        df = indicators.compute(w, A, "2026Q3")
        c = checks.run_checks(w, A, "2026Q3", df)
    return dict(zip(c["check_id"], c["status"])), dict(zip(c["check_id"], c["detail"]))


def test_source_checks_pass_when_sources_agree(tmp_path):
    # fund 6000 = settlements' hifp 0.6 × 10000; 累计结余 +30000 − 6000 = +24000 = 当期结余 (指标17)
    st, detail = _source_checks(_source_data(tmp_path, 6000.0, 124000.0))
    for cid in ("source_fund_vs_setl", "bal_cum_310", "fund_report_months", "psn_months", "fund_items"):
        assert st[cid] == "pass", (cid, detail[cid])
    assert "相差0.00%" in detail["source_fund_vs_setl"]  # a difference rounding to zero carries no sign


def test_source_checks_warn_when_sources_disagree(tmp_path):
    # fund 7000 vs settlements 6000 (−14.29 %); 累计结余 off by 1000; no fund report for Jan, no 参保人数 for Sep;
    # a 390 inc_contrib item the 底稿's income indicators do not carry
    d = _source_data(tmp_path, 7000.0, 124000.0, psn_months=("2026-07", "2026-08"),
                     fund_months=[f"2026-{k:02d}" for k in range(2, 10)], odd_item=True)
    st, detail = _source_checks(d)
    for cid in ("source_fund_vs_setl", "bal_cum_310", "fund_report_months", "psn_months", "fund_items"):
        assert st[cid] == "warn", (cid, detail[cid])
    assert "-14.29%" in detail["source_fund_vs_setl"]
    assert "2026-01" in detail["fund_report_months"] and "2026-09" in detail["psn_months"]
