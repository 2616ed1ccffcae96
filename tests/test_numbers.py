"""The numbers every publication rests on, with expectations written out by hand (issue 19; periods and
``fmt`` growth are in test_periods.py):

* 同比 / 环比 growth and 百分点 changes of the 底稿 (``indicators.change``) on ordinary, zero and negative bases;
* small-count suppression on both sides of the threshold (4 / 5 cases, and 0), computed from a hand-built
  dataset and as printed by every publication.

These are the tests ``make mutants`` runs against the suppression code and the indicator SQL.
"""
from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from yibao import fmt
from yibao.metrics import catalogue, indicators
from yibao.metrics.catalogue import SUPPRESS_MIN, SUPPRESSED_MARK
from yibao.data.warehouse import Warehouse

from test_findings import Mini


def test_change():
    """``indicators.change``: the 同比/环比 column of the 底稿 (百分点 for %, growth % otherwise)."""
    pct_ind = catalogue.get("29")     # 质控通过率 (%)
    amt_ind = catalogue.get("36")     # 住院总费用 (元)
    assert pct_ind.change_kind == "pp" and amt_ind.change_kind == "pct"
    ch = indicators.change
    assert ch(amt_ind, 110, 100) == 10.0
    assert ch(amt_ind, 90, 100) == -10.0
    assert ch(amt_ind, 0, 100) == -100.0
    assert ch(amt_ind, 3.333, 3) == 11.1                       # (3.333 / 3 − 1) × 100 = 11.1, to 2 decimals
    assert ch(amt_ind, 1, 3) == -66.67
    assert ch(amt_ind, 0.6, 0.5) == 20.0                        # a base below 1 is still a base
    assert ch(amt_ind, 5, 0) is None
    assert ch(amt_ind, 5, -107000) is None                     # 当期结余 can be negative
    assert ch(amt_ind, -5, -10) is None
    assert ch(amt_ind, None, 100) is None and ch(amt_ind, 100, None) is None
    assert ch(amt_ind, float("nan"), 100) is None and ch(amt_ind, 100, "x") is None
    assert ch(pct_ind, 97.5, 95.25) == 2.25
    assert ch(pct_ind, 90.0, 95.0) == -5.0
    assert ch(pct_ind, 3.0, 0.0) == 3.0
    assert ch(pct_ind, 2.0, -1.0) == 3.0
    assert ch(pct_ind, 1.004, 0) == 1.0
    heading = next(i for i in catalogue.ordered() if i.is_heading)
    assert ch(heading, 1, 1) is None
    # the rounding and number parsing the 底稿 uses
    assert indicators._round(2.346, 2) == 2.35 and indicators._round(2.344, 2) == 2.34
    assert indicators._round(-0.001, 2) == 0.0 and math.copysign(1, indicators._round(-0.001, 2)) == 1.0
    assert indicators._num("12.5") == 12.5 and indicators._num(None) is None and indicators._num("x") is None
    assert indicators._num(float("nan")) is None and indicators._num(float("inf")) is None


# =================================================================================================
# suppression: 4 / 5 cases, and 0
# =================================================================================================
REGION, PERIOD = "350100", "2026Q3"


@pytest.fixture(scope="module")
def boundary(tmp_path_factory) -> pd.DataFrame:
    """Hospitals with exactly 0, 1, 4 and 5 discharges in 2026Q3 (and outpatient visits), plus peers."""
    m = Mini(seed=3)
    for code in ("B0", "B1", "B4", "B5", "B9"):
        m.hospital(code)
    for code, n in (("B1", 1), ("B4", 4), ("B5", 5), ("B9", 9)):
        for i in range(n):
            m.ip(code, date(2026, 7, 1 + 3 * i), los=4, fee=1000.0 * (i + 1), ownpay=0.0)
    for code in ("B0", "B1", "B4", "B5", "B9"):
        for i in range(6):
            m.op(code, date(2026, 8, 1 + i), fee=100.0)
    d = m.write(tmp_path_factory.mktemp("boundary") / "data")
    with Warehouse(d) as wh:
        return indicators.compute_detail(wh, REGION, PERIOD)


def _cell(df, iid, code):
    r = df[(df["indicator_id"] == iid) & (df["fixmedins_code"] == code)].iloc[0]
    return (None if pd.isna(r["value"]) else float(r["value"])), r["status"], r["n"]


def test_suppression(boundary):
    assert SUPPRESS_MIN == 5 and SUPPRESSED_MARK == "<5"
    df = boundary
    # 39 出院人次 (a count): 1–4 suppressed, 0 and ≥ 5 published
    assert _cell(df, "39", "B0")[:2] == (0.0, "ok")
    assert _cell(df, "39", "B1") == (None, "suppressed", 1)
    assert _cell(df, "39", "B4") == (None, "suppressed", 4)
    assert _cell(df, "39", "B5") == (5.0, "ok", 5)
    assert _cell(df, "39", "B9") == (9.0, "ok", 9)
    # 36 住院总费用 (a sum over cases): the same rule; B5 = 1000 + 2000 + … + 5000
    assert _cell(df, "36", "B4")[:2] == (None, "suppressed")
    assert _cell(df, "36", "B5")[:2] == (15000.0, "ok")
    # 37 次均住院费用 (a rate on the discharges): fewer than 5 cases suppressed, 0 too
    assert _cell(df, "37", "B0")[1] == "suppressed"
    assert _cell(df, "37", "B4")[1] == "suppressed"
    assert _cell(df, "37", "B5")[:2] == (3000.0, "ok")          # 15000 / 5
    assert _cell(df, "37", "B9")[:2] == (5000.0, "ok")          # 45000 / 9
    # the region row is never suppressed: 1 + 4 + 5 + 9 = 19 discharges
    assert _cell(df, "39", "")[:2] == (19.0, "ok")
    # a suppressed row has no value; every suppressed row says why
    sup = df[df["status"] == "suppressed"]
    assert sup["value"].isna().all() and sup["reason"].str.len().gt(0).all()
    assert "病例数4少于5" in set(sup["reason"])
    assert _reason(df, "37", "B0") == "病例数0少于5" and _reason(df, "39", "B1") == "病例数1少于5"


def _reason(df, iid, code):
    return df[(df["indicator_id"] == iid) & (df["fixmedins_code"] == code)].iloc[0]["reason"]


def test_institution_without_progress_rows():
    """14 (拨付率) on the tiny fixture, 2025H1: H1 has payments (9500 of 10000: 95 %); H2 and H3 have no
    settlement_progress row in the half year, so their value is missing input, not "not applicable"."""
    from test_indicators import H1, H2, H3, TINY
    with Warehouse(TINY) as wh:
        d = indicators.compute_detail(wh, REGION, "2025H1")
    rows = d[d["indicator_id"] == "14"].set_index("fixmedins_code")
    assert (rows.loc[H1, "value"], rows.loc[H1, "status"]) == (95.0, "ok")
    for code in (H2, H3):
        assert (rows.loc[code, "status"], rows.loc[code, "reason"]) == ("missing_input", "该机构无结算拨付记录")


def test_suppression_as_printed():
    """Every publication prints a count of 1–4 as "<5" and 0 and 5 as numbers (one threshold)."""
    from yibao.publications import annual, monthly, quarterly
    from yibao.publications.topic import study
    for show in (monthly._cnt, annual._cnt, quarterly.small, study.suppressed):
        assert [show(n) for n in (0, 1, 4, 4.4, 5, 12, 1234)] == ["0", "<5", "<5", "<5", "5", "12", "1,234"], show
        assert show(None) == fmt.DASH and show(float("nan")) == fmt.DASH
    assert study.suppressed(9, threshold=10) == "<10" and study.suppressed(10, threshold=10) == "10"
    assert monthly.STATUS_ZH["suppressed"] == SUPPRESSED_MARK


def test_one_suppression_threshold(project_dir: Path):
    """The threshold is SUPPRESS_MIN, nowhere else: no code compares with a literal 5 (Python or SQL text),
    and no other constant named like a threshold is set to 5."""
    import ast
    import re
    sql_cmp = re.compile(r"(<|<=|>|>=)\s*5\b(?!\s*%)")
    hits = []
    for p in sorted((project_dir / "lib" / "yibao").rglob("*.py")):
        if "synth" in p.parts:  # the generator plants data; it publishes nothing
            continue
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{p.relative_to(project_dir)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Compare):
                consts = [c for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
                if any(c.value == 5 and not isinstance(c.value, bool) for c in consts) \
                        and not re.search(r"35|weekday|len\(", ast.unparse(node)):
                    hits.append(f"{where}: {ast.unparse(node)}")
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value == 5:
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if any(re.search(r"MIN_CELL|SMALL|SUPPRESS", n) for n in names):
                    hits.append(f"{where}: {names} = 5")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "SELECT" in node.value \
                    and sql_cmp.search(node.value):
                hits.append(f"{where}: SQL compares with 5")
    assert [h for h in hits if "metrics/catalogue.py" not in h or "SUPPRESS_MIN" not in h] == [], hits
