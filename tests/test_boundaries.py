"""Boundaries on both sides of every window and threshold the findings and the warehouse decide on (issue 19),
each on a hand-built dataset whose expected counts are written out below:

* SPLIT_ADMISSION (分解住院): same-hospital, same-diagnosis readmission 0–3 days after discharge (3 in, 4 out);
* READMIT_15D: same-hospital readmission 0–15 days after discharge (15 in, 16 out), not counted twice;
* the rules' minimum volumes: 30 admissions (29 not judged), 5 events (4 not judged);
* reversal netting (退费): a reversed settlement and its reversal count for nothing in ``setl_net`` and
  ``setl_list_net``, and so in the findings.
"""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from yibao.findings import engine, rules as R
from yibao.findings.rules_admissions import _rate_rule, _readmissions
from yibao.data.warehouse import Warehouse

from test_findings import Mini

REGION, PERIOD = "350100", "2026Q3"

# hospital -> (gap in days between discharge and readmission, same diagnosis?); both stays in 2026Q3
PAIRS = {"G0": (0, True), "G3": (3, True), "G4": (4, True), "G15": (15, True), "G16": (16, True),
         "D0": (0, False), "D2": (2, False), "D15": (15, False), "D16": (16, False), "NEG": (-2, True)}
# hospital -> (admissions in the period, split, readmit), worked out by hand:
#   gap 0–3 same diagnosis: split (not readmit); gap 0–15 otherwise: readmit; 16+ or overlapping: nothing
EXPECTED = {"G0": (2, 1, 0), "G3": (2, 1, 0), "G4": (2, 0, 1), "G15": (2, 0, 1), "G16": (2, 0, 0),
            "D0": (2, 0, 1), "D2": (2, 0, 1), "D15": (2, 0, 1), "D16": (2, 0, 0), "NEG": (2, 0, 0),
            # two split pairs (gap 1) and two readmission pairs (gap 10) of four persons
            "TWO": (8, 2, 2),
            # a discharge on 2026-06-28 (Q2) and a readmission 4 days later in Q3: one admission in the period
            "EDGE": (1, 0, 1),
            # the readmission reversed: one admission, no readmission
            "REV2": (1, 0, 0),
            # the first stay reversed: the readmission has no stay before it
            "REV1": (1, 0, 0),
            # discharged from X1, admitted to X2 the next day: different hospitals, nothing
            "X1": (1, 0, 0), "X2": (1, 0, 0)}
# NOID: two stays without a psn_no (cannot be linked to a person): not counted at all


def _pair(m: Mini, code: str, gap: int, same: bool, start: date, psn=None, code2=None):
    p = psn or m.new_psn()
    first = m.ip(code, start, los=5, grp="FR25", diag="I50.900", psn=p)
    second = m.ip(code2 or code, start + timedelta(days=5 + gap), los=4, grp="FR25" if same else "ES35",
                  diag="I50.900" if same else "J18.900", psn=p)
    return first, second


@pytest.fixture(scope="module")
def adm_data(tmp_path_factory):
    m = Mini(seed=5)
    for code in [*PAIRS, "EDGE", "REV1", "REV2", "X1", "X2", "TWO", "NOID"]:
        m.hospital(code)
    for code, (gap, same) in PAIRS.items():
        _pair(m, code, gap, same, date(2026, 7, 6))
    _pair(m, "EDGE", 4, True, date(2026, 6, 23))                  # discharged 2026-06-28, readmitted 07-02
    m.reverse(_pair(m, "REV2", 1, True, date(2026, 8, 3))[1])
    m.reverse(_pair(m, "REV1", 1, True, date(2026, 8, 3))[0])
    _pair(m, "X1", 1, True, date(2026, 8, 10), code2="X2")
    for k, gap in enumerate((1, 1, 10, 10)):
        _pair(m, "TWO", gap, True, date(2026, 7, 6 + 7 * k))
    for sid in _pair(m, "NOID", 1, True, date(2026, 8, 3)):
        next(r for r in m.setl if r["setl_id"] == sid)["psn_no"] = None
    return m.write(tmp_path_factory.mktemp("adm") / "data")


def _ctx(wh):
    ctx = engine._context(wh, REGION, PERIOD)
    R.build_scratch(ctx)
    return ctx


def test_readmission_windows(adm_data):
    with Warehouse(adm_data) as wh:
        ctx = _ctx(wh)
        try:
            got = _readmissions(ctx).set_index("fixmedins_code")
        finally:
            R.drop_scratch(ctx)
    got = {c: (int(r.adm), int(r.split), int(r.readmit)) for c, r in got.iterrows()}
    assert got == EXPECTED
    assert R.T["SPLIT_ADMISSION"]["days"] == 3 and R.T["READMIT_15D"]["days"] == 15


# ---- minimum volumes: 30 admissions and 5 events -----------------------------------------------------
def _volumes(adm: dict, events: dict) -> pd.DataFrame:
    return pd.DataFrame([dict(fixmedins_code=c, adm=adm[c], split=events[c], readmit=events[c]) for c in adm])


@pytest.fixture(scope="module")
def vol_ctx(tmp_path_factory):
    m = Mini(seed=6)
    codes = [f"P{i}" for i in range(1, 9)] + ["A29", "A30", "E4", "E5"]
    for code in codes:
        m.hospital(code)
        m.ip(code, date(2026, 7, 6))
    d = m.write(tmp_path_factory.mktemp("vol") / "data")
    wh = Warehouse(d)
    ctx = engine._context(wh, REGION, PERIOD)
    yield ctx
    wh.close()


@pytest.mark.parametrize("rule, col", [("READMIT_15D", "readmit"), ("SPLIT_ADMISSION", "split")])
def test_minimum_volumes(vol_ctx, rule, col):
    """Eight peers at 2–3 %; A29 / A30 at 50 % on 29 / 30 admissions; E4 / E5 with 4 / 5 events on 40."""
    adm = {**{f"P{i}": 100 for i in range(1, 9)}, "A29": 29, "A30": 30, "E4": 40, "E5": 40}
    ev = {**{f"P{i}": 2 + i % 2 for i in range(1, 9)}, "A29": 15, "A30": 15, "E4": 4, "E5": 5}
    out = _rate_rule(vol_ctx, _volumes(adm, ev), rule, col, "x", lambda r, k, amount: f"{k}")
    judged = {f["fixmedins_code"]: f for f in out}
    assert set(judged) == {"A30", "E5"}, sorted(judged)
    assert judged["A30"]["value"] == 50.0 and judged["A30"]["volume"] == 30
    assert judged["E5"]["value"] == 12.5 and judged["E5"]["volume"] == 40
    # the benchmark is the median of the 11 hospitals judged (A29 is not): 2 2 2 2 3 3 3 3 10 12.5 50 → 3 %
    assert judged["E5"]["benchmark"] == 3.0


# ---- reversal netting ---------------------------------------------------------------------------------
def test_netting(tmp_path):
    """Four inpatient settlements at H1 and a visit, one stay reversed (退费): setl_net keeps three stays and the
    visit, setl_list_net the three stays' lists; a second reversal row without an init_setl_id drops out alone."""
    m = Mini(seed=8)
    m.hospital("H1")
    sids = [m.ip("H1", date(2026, 7, 6 + 7 * i), fee=1000.0 * (i + 1), ownpay=0.0, local=i != 3) for i in range(4)]
    visit = m.op("H1", date(2026, 8, 20), fee=100.0)                          # an outpatient visit (门诊类)
    rev = m.reverse(sids[1])
    orphan = m.reverse(sids[2])
    next(r for r in m.setl if r["setl_id"] == orphan)["init_setl_id"] = ""   # a reversal naming nothing
    d = m.write(tmp_path / "data")
    with Warehouse(d) as wh:
        net = wh.df("SELECT setl_id, medfee_sumamt, is_ip, is_op, is_local FROM setl_net ORDER BY setl_id")
        lst = wh.df("SELECT setl_id, medfee_sumamt FROM setl_list_net ORDER BY setl_id")
        every = wh.df("SELECT setl_id FROM setl ORDER BY setl_id")
    assert list(every["setl_id"]) == sorted([*sids, rev, orphan, visit])
    assert list(net["setl_id"]) == [sids[0], sids[2], sids[3], visit]
    assert net["medfee_sumamt"].sum() == 1000.0 + 3000.0 + 4000.0 + 100.0
    # the class and origin flags: three inpatient stays and one visit; the 4th stay is insured elsewhere (异地)
    assert list(net["is_ip"]) == [True, True, True, False] and list(net["is_op"]) == [False, False, False, True]
    assert list(net["is_local"]) == [True, True, False, True]
    assert list(lst["setl_id"]) == [sids[0], sids[2], sids[3]]
    assert lst["medfee_sumamt"].sum() == 8000.0
