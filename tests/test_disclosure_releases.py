"""Disclosure control across releases (issue 13, Must 3): a quarter's 数据底稿 against its monthly pushes, a year
against its quarters — indicators.csv of each release read back from disk.

A tiny region (350100, DRG) of four hospitals; discharges (39, local inpatient settlements) worked out by hand:

    month   HA  HB  HC  HD | region
    2026-07  6   5   8  10 |  29
    2026-08  3   5   9  12 |  29
    2026-09  7   5   6  11 |  29
    2026Q3  16  15  23  33 |  87

* The August push hides HA's 3 (1–4) and, beside it under the region total, HB's 5 (the smallest other value).
  July and September hide nothing.
* The quarterly: HA's 16 minus its published July and September (6 + 7) would be August's hidden 3, and HB's 15
  minus 5 + 5 would be August's hidden 5 (and with the August total, HA's 3): both quarter values are hidden.
  HC and HD, published every month, are published (their quarter values are the sums of the months anyway).
  87 − 23 − 33 = 31 = HA + HB: two unknowns, nothing more to hide. The same for 36 (fees, 1 000 元 a case) and
  what is computed on 39 (37, 40, 41) for HA and HB.
* The year 2026 (data only in Q3): Q3's hidden HA is one unknown (August's 3 once its months are subtracted), the
  other quarters are 0 and published: the year hides HA and HB too.
"""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from yibao.data.periods import Period
from yibao.metrics import catalogue, suppression
from yibao.metrics.outputs import write_outputs

from test_findings import Mini

REGION = "350100"
CODES = ("HA", "HB", "HC", "HD")
MONTHS = ("2026-07", "2026-08", "2026-09")
CASES = {"HA": (6, 3, 7), "HB": (5, 5, 5), "HC": (8, 9, 6), "HD": (10, 12, 11)}
FEE = 1000.0


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    m = Mini(seed=131)
    for code in CODES:
        m.hospital(code, drg_dip_flag="1")
    for code, per_month in CASES.items():
        for k, n in enumerate(per_month):
            for i in range(n):  # admitted from the 2nd, settled 4 days later: all within the month
                m.ip(code, date(2026, 7 + k, 2) + timedelta(days=i), los=4, fee=FEE)
    d = m.write(tmp_path_factory.mktemp("rel") / "data")
    out = tmp_path_factory.mktemp("out")
    return {p: _csv(write_outputs(d, REGION, p, out)["indicators"]) for p in (*MONTHS, "2026Q3", "2026")}


def _csv(path):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {(r.indicator_id, r.fixmedins_code): (r.value, r.status) for r in df.itertuples(index=False)}


def _status(ind, iid):
    return {c: ind[(iid, c)][1] for c in CODES}


def test_the_monthly_pushes_hide_augusts_3_and_a_partner(releases):
    assert _status(releases["2026-08"], "39") == {"HA": "suppressed", "HB": "suppressed", "HC": "ok", "HD": "ok"}
    assert releases["2026-08"][("39", "")] == ("29", "ok")
    for month in ("2026-07", "2026-09"):
        assert all(s == "ok" for s in _status(releases[month], "39").values()), month
        assert {c: releases[month][("39", c)][0] for c in CODES} == {
            c: str(CASES[c][MONTHS.index(month)]) for c in CODES}


def test_the_quarter_hides_the_hospitals_whose_months_would_give_a_hidden_value_back(releases):
    q = releases["2026Q3"]
    assert q[("39", "")] == ("87", "ok")
    assert {c: q[("39", c)] for c in CODES} == {
        "HA": ("", "suppressed"), "HB": ("", "suppressed"), "HC": ("23", "ok"), "HD": ("33", "ok")}
    assert {c: q[("36", c)] for c in CODES} == {
        "HA": ("", "suppressed"), "HB": ("", "suppressed"), "HC": ("23000.00", "ok"), "HD": ("33000.00", "ok")}
    for iid in ("37", "40"):  # computed on the hidden 36/39: hidden with them
        assert _status(q, iid) == {"HA": "suppressed", "HB": "suppressed", "HC": "ok", "HD": "ok"}, iid
    assert q[("37", "HC")] == ("1000.00", "ok")


def test_the_year_hides_what_its_quarter_and_months_would_give_back(releases):
    y = releases["2026"]
    assert y[("39", "")] == ("87", "ok")
    assert {c: y[("39", c)] for c in CODES} == {
        "HA": ("", "suppressed"), "HB": ("", "suppressed"), "HC": ("23", "ok"), "HD": ("33", "ok")}


def _determined(rows: list[np.ndarray], target: np.ndarray) -> bool:
    """Whether the published linear facts ``rows`` fix ``target`` · x (target in their row space)."""
    a = np.vstack(rows)
    return np.linalg.matrix_rank(np.vstack([a, target])) == np.linalg.matrix_rank(a)


def test_no_combination_of_published_monthly_quarterly_and_annual_values_gives_the_3_back(releases):
    # unknowns: x[h, m], the discharges of hospital h in month m; each published cell or total is one equation
    idx = {(c, mo): i for i, (c, mo) in enumerate((c, mo) for c in CODES for mo in MONTHS)}
    rows, rhs = [], []

    def fact(cells, value):
        v = np.zeros(len(idx))
        for cell in cells:
            v[idx[cell]] = 1
        rows.append(v)
        rhs.append(float(value))
    for p, months in ((MONTHS[0], [MONTHS[0]]), (MONTHS[1], [MONTHS[1]]), (MONTHS[2], [MONTHS[2]]),
                      ("2026Q3", list(MONTHS)), ("2026", list(MONTHS))):
        ind = releases[p]
        fact([(c, mo) for c in CODES for mo in months], ind[("39", "")][0])  # the region total
        for c in CODES:
            value, status = ind[("39", c)]
            if status == "ok":
                fact([(c, mo) for mo in months], value)
    # the published facts are consistent with the data
    x = np.array([CASES[c][MONTHS.index(mo)] for (c, mo) in idx], dtype=float)
    assert np.allclose(np.vstack(rows) @ x, rhs)
    hidden = [(c, mo) for c in CODES for mo in MONTHS if releases[mo][("39", c)][1] == "suppressed"]
    assert hidden == [("HA", "2026-08"), ("HB", "2026-08")]
    for cell in hidden:
        e = np.zeros(len(idx))
        e[idx[cell]] = 1
        assert not _determined(rows, e), cell
    # nor the quarter values the quarterly hid
    for c in ("HA", "HB"):
        assert not _determined(rows, np.array([1.0 if k[0] == c else 0.0 for k in idx])), c
    # without the new rule (HA's and HB's quarter values published) the 3 would come back: the check can fail
    extra = [np.array([1.0 if k[0] == c else 0.0 for k in idx]) for c in ("HA", "HB")]
    e = np.zeros(len(idx))
    e[idx[("HA", "2026-08")]] = 1
    assert _determined(rows + extra, e)


def test_unknowns_of_a_year_against_quarters_and_months():
    year = Period.parse("2026")
    levels = suppression.release_levels(catalogue.get("39"), year)
    assert levels == [3, 1]
    assert suppression.release_levels(catalogue.get("33"), year) == [3]  # 特例单议: quarterly, not monthly
    assert suppression.release_levels(catalogue.get("39"), Period.parse("2026Q3")) == [1]
    assert suppression.release_levels(catalogue.get("39"), Period.parse("2026-08")) == []
    assert suppression.unknowns(Period.parse("2026-08"), "H", [], lambda p: {"H"}) == -1  # nothing to compare
    # H hidden in Q3 (August and September hidden in the pushes: the quarter is one unknown), Q1 hidden with
    # all its months published (their sum: known), the rest published
    hid = {"2026Q3": {"H"}, "2026-08": {"H"}, "2026-09": {"H"}, "2026Q1": {"H"}}
    hidden = lambda p: hid.get(p.code, set())  # noqa: E731
    assert suppression.unknowns(year, "H", levels, hidden) == 1
    assert suppression.unknowns(Period.parse("2026Q3"), "H", [1], hidden) == 2   # a sum of two hidden months
    assert suppression.unknowns(Period.parse("2026Q1"), "H", [1], hidden) == 0   # its months give it
    assert suppression.unknowns(year, "K", levels, hidden) == 0
    hid["2026Q2"] = {"H"}
    hid["2026-05"] = {"H"}
    assert suppression.unknowns(year, "H", levels, hidden) == 2
    hide, derivable = suppression.across_releases(year, {"39": ["H", "K"], "33": ["H"]},
                                                  lambda p, iid: hidden(p) if iid == "39" else set())
    assert hide == set() and derivable == {("39", "K"), ("33", "H")}


def _rows(cells):
    """indicators rows from {(indicator_id, code): (value, status)}; the region row's code is ''."""
    return pd.DataFrame([dict(indicator_id=i, fixmedins_code=c, value=v if s == "ok" else float("nan"), status=s,
                              reason="") for (i, c), (v, s) in cells.items()])


def test_protect_by_hand():
    # 39: HA hidden (3), HB 5, HC 9, HD 0; 37 (per case, on 39) published for all but HA
    cells = {("39", ""): (17.0, "ok"), ("39", "HA"): (3.0, "suppressed"), ("39", "HB"): (5.0, "ok"),
             ("39", "HC"): (9.0, "ok"), ("39", "HD"): (0.0, "ok"),
             ("37", "HA"): (0.0, "suppressed"), ("37", "HB"): (900.0, "ok"), ("37", "HC"): (800.0, "ok")}
    values = {("39", c): v for (i, c), (v, s) in cells.items() if i == "39" and c}
    values[("39", "HA")] = 3.0

    def hidden(df):
        return {(r.indicator_id, r.fixmedins_code): r.reason for r in df.itertuples() if r.status == "suppressed"}
    out = suppression.protect(_rows(cells), values)
    # the smallest published non-zero value (HB's 5, not HD's 0) and what is computed on it
    assert hidden(out) == {("39", "HA"): "", ("37", "HA"): "", ("39", "HB"): suppression.REASON,
                           ("37", "HB"): "指标39不予公布"}
    assert out.loc[out["fixmedins_code"] == "HB", "value"].isna().all()
    assert out.loc[(out["indicator_id"] == "39") & (out["fixmedins_code"] == ""), "value"].item() == 17.0
    # HB's value the monthly pushes give (derivable): no partner at all; the next one, HC's 9
    out = suppression.protect(_rows(cells), values, derivable={("39", "HB")})
    assert set(hidden(out)) == {("39", "HA"), ("37", "HA"), ("39", "HC"), ("37", "HC")}
    # a derivable hidden value protects nobody: HA then is alone again
    two = dict(cells)
    two[("39", "HB")] = (5.0, "suppressed")
    assert set(hidden(suppression.protect(_rows(two), values))) == {("39", "HA"), ("37", "HA"), ("39", "HB")}
    out = suppression.protect(_rows(two), values, derivable={("39", "HB")})
    assert set(hidden(out)) == {("39", "HA"), ("37", "HA"), ("39", "HB"), ("39", "HC"), ("37", "HC")}
    # only zeros left beside it: a 0 (by code among equals); no region value published: nothing to do
    zeros = {k: v for k, v in cells.items() if k[1] in ("", "HA", "HD") and k[0] == "39"}
    zeros[("39", "HE")] = (0.0, "ok")
    values0 = {("39", "HA"): 3.0, ("39", "HD"): 0.0, ("39", "HE"): 0.0}
    assert set(hidden(suppression.protect(_rows(zeros), values0))) == {("39", "HA"), ("39", "HD")}
    zeros[("39", "")] = (float("nan"), "missing_input")
    assert set(hidden(suppression.protect(_rows(zeros), values0))) == {("39", "HA")}


def test_protect_picks_the_smallest_value_not_the_first_code_and_breaks_ties_by_siblings():
    # 39: HA hidden (3); HB 9, HC 0, HD 5, HE 5 — the smallest non-zero is HD/HE's 5 (HB comes first by code,
    # HC's 0 is smaller); 36 hides HE (and HC) already: hiding HE's 39 too loses one rate (37) fewer
    cells = {("36", ""): (9e4, "ok"), ("36", "HA"): (9000.0, "ok"), ("36", "HB"): (9000.0, "ok"),
             ("36", "HC"): (0.0, "suppressed"), ("36", "HD"): (5000.0, "ok"), ("36", "HE"): (0.0, "suppressed"),
             ("39", ""): (22.0, "ok"), ("39", "HA"): (3.0, "suppressed"), ("39", "HB"): (9.0, "ok"),
             ("39", "HC"): (0.0, "ok"), ("39", "HD"): (5.0, "ok"), ("39", "HE"): (5.0, "ok"),
             # 33 (特例单议) hides HB and HD: not a sibling of 39 (no rate on both), no hint
             ("33", ""): (20.0, "ok"), ("33", "HB"): (3.0, "suppressed"), ("33", "HD"): (4.0, "suppressed"),
             ("33", "HE"): (13.0, "ok")}
    values = {(i, c): v for (i, c), (v, s) in cells.items() if c}
    values.update({("39", "HA"): 3.0, ("36", "HC"): 4000.0, ("36", "HE"): 6000.0})
    out = suppression.protect(_rows(cells), values)
    hid = {(r.indicator_id, r.fixmedins_code) for r in out.itertuples() if r.status == "suppressed"}
    assert hid == {("33", "HB"), ("33", "HD"), ("36", "HC"), ("36", "HE"), ("39", "HA"), ("39", "HE")}
    # without the sibling's hint the tie goes by code (HD), and never to HB (first by code) or HC (0)
    cells[("36", "HE")] = (6000.0, "ok")
    cells[("36", "HC")] = (4000.0, "ok")
    out = suppression.protect(_rows(cells), values)
    hid = {(r.indicator_id, r.fixmedins_code) for r in out.itertuples() if r.status == "suppressed"}
    assert hid == {("33", "HB"), ("33", "HD"), ("39", "HA"), ("39", "HD")}
