"""Periods and 同比 / 环比 with every expectation written out by hand (issue 19): parsing (valid and invalid
months, quarters, halves), labels, month lists, January and December edges, trailing windows, 上期 / 同期;
growth % and 百分点 changes on ordinary, zero and negative bases. Deliberately light (no dataset, no
pandas-heavy import) so that ``make mutants`` can run it once per mutant of periods.py and fmt.py."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from yibao import fmt
from yibao.data.periods import Period, PeriodError, latest_complete_quarter


# =================================================================================================
# periods
# =================================================================================================
VALID = [  # text -> (year, first month, length, code, label, range_label)
    ("2025-03", 2025, 3, 1, "2025-03", "2025年3月", "2025年1-3月"),
    ("2025-3", 2025, 3, 1, "2025-03", "2025年3月", "2025年1-3月"),
    ("2025-01", 2025, 1, 1, "2025-01", "2025年1月", "2025年1月"),
    ("2025-12", 2025, 12, 1, "2025-12", "2025年12月", "2025年1-12月"),
    ("2025Q1", 2025, 1, 3, "2025Q1", "2025年第一季度", "2025年1-3月"),
    ("2025q2", 2025, 4, 3, "2025Q2", "2025年第二季度", "2025年1-6月"),
    (" 2025Q3 ", 2025, 7, 3, "2025Q3", "2025年第三季度", "2025年1-9月"),
    ("2025Q4", 2025, 10, 3, "2025Q4", "2025年第四季度", "2025年1-12月"),
    ("2025H1", 2025, 1, 6, "2025H1", "2025年上半年", "2025年1-6月"),
    ("2025H2", 2025, 7, 6, "2025H2", "2025年下半年", "2025年1-12月"),
    ("2025", 2025, 1, 12, "2025", "2025年", "2025年1-12月"),
]
INVALID = ["2025-00", "2025-13", "2025-99", "2025-003", "2025-", "2025Q0", "2025Q5", "2025Q", "2025H0", "2025H3",
           "25Q1", "202501", "2025-Q1", "Q1 2025", "", "2025年3月", "2025-1-1"]


def test_periods():
    """One test (so that ``make mutants`` runs it alone): every case below is written out by hand."""
    for text, y, first, length, code, label, rng in VALID:
        p = Period.parse(text)
        assert (p.year, p.first, p.length) == (y, first, length), text
        assert (p.code, str(p), p.label, p.range_label) == (code, code, label, rng), text
        assert Period.parse(p) is p
    for text in INVALID:
        with pytest.raises(PeriodError, match="无法识别的期间"):
            Period.parse(text)
    assert issubclass(PeriodError, ValueError)

    assert [Period.parse(t).kind for t in ("2025-03", "2025Q1", "2025H1", "2025")] == ["month", "quarter", "half", "year"]
    # months, 累计 months, last month
    assert Period.parse("2025Q4").months == ["2025-10", "2025-11", "2025-12"]
    assert Period.parse("2025H2").months == ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]
    assert Period.parse("2025-01").months == ["2025-01"]
    assert Period.parse("2025").months == [f"2025-{m:02d}" for m in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)]
    assert Period.parse("2025-03").ytd_months == ["2025-01", "2025-02", "2025-03"]
    assert Period.parse("2025-01").ytd_months == ["2025-01"]
    assert Period.parse("2025Q2").ytd_months == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    assert [Period.parse(t).last for t in ("2025-01", "2025Q2", "2025H2", "2025")] == [1, 6, 12, 12]
    assert [Period.parse(t).last_month for t in ("2025-01", "2025Q3", "2025H1", "2025")] == \
        ["2025-01", "2025-09", "2025-06", "2025-12"]
    # start and exclusive end, across the year end
    assert (Period.parse("2025-11").start, Period.parse("2025-11").end) == (date(2025, 11, 1), date(2025, 12, 1))
    assert (Period.parse("2025-12").start, Period.parse("2025-12").end) == (date(2025, 12, 1), date(2026, 1, 1))
    assert Period.parse("2025Q4").end == date(2026, 1, 1)
    assert Period.parse("2025Q3").end == date(2025, 10, 1)
    assert (Period.parse("2025H1").start, Period.parse("2025H1").end) == (date(2025, 1, 1), date(2025, 7, 1))
    assert Period.parse("2025").end == date(2026, 1, 1)
    # trailing windows
    assert Period.parse("2025-02").trailing_months(3) == ["2024-12", "2025-01", "2025-02"]
    assert Period.parse("2025-01").trailing_months(1) == ["2025-01"]
    assert Period.parse("2025-01").trailing_months(2) == ["2024-12", "2025-01"]
    assert Period.parse("2025-12").trailing_months(2) == ["2025-11", "2025-12"]
    assert Period.parse("2025Q1").trailing_months() == [
        "2024-04", "2024-05", "2024-06", "2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12",
        "2025-01", "2025-02", "2025-03"]
    assert Period.parse("2025").trailing_months(13)[:2] == ["2024-12", "2025-01"]
    assert len(Period.parse("2025-06").trailing_months(25)) == 25
    assert Period.parse("2025-06").trailing_months(25)[0] == "2023-06"
    # 上期 (环比) and 同期 (同比), across the year end
    prev = {"2025-01": "2024-12", "2025-12": "2025-11", "2025-03": "2025-02", "2025Q1": "2024Q4", "2025Q4": "2025Q3",
            "2025H1": "2024H2", "2025H2": "2025H1", "2025": "2024"}
    for t, want in prev.items():
        assert Period.parse(t).previous().code == want, t
    nxt = {"2025-12": "2026-01", "2025Q4": "2026Q1", "2025H2": "2026H1", "2025": "2026", "2025-01": "2025-02"}
    for t, want in nxt.items():
        assert Period.parse(t).shift(1).code == want, t
    assert Period.parse("2025-01").shift(-13).code == "2023-12"
    assert Period.parse("2025-03").shift(-12).code == "2024-03"
    assert Period.parse("2025Q2").shift(-5).code == "2024Q1"
    assert Period.parse("2025-06").shift(0) == Period(2025, 6, 1)
    for t, want in {"2025-03": "2024-03", "2025-01": "2024-01", "2025Q4": "2024Q4", "2025H2": "2024H2",
                    "2025": "2024"}.items():
        assert Period.parse(t).year_ago().code == want, t
    # membership and parts
    q3 = Period.parse("2025Q3")
    assert q3.contains_month("2025-07") and q3.contains_month("2025-09")
    assert not q3.contains_month("2025-06") and not q3.contains_month("2025-10")
    assert [p.code for p in Period.parse("2025").sub_periods(3)] == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert [p.code for p in Period.parse("2025H2").sub_periods(1)] == \
        ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]
    assert [p.code for p in Period.parse("2025").sub_periods(6)] == ["2025H1", "2025H2"]
    # ordering: year, then first month
    assert Period.parse("2024-12") < Period.parse("2025-01") < Period.parse("2025-02")
    # the latest complete quarter, on both sides of each quarter end
    lcq = {"2025-01": "2024Q4", "2025-02": "2024Q4", "2025-03": "2025Q1", "2025-05": "2025Q1", "2025-06": "2025Q2",
           "2025-08": "2025Q2", "2025-09": "2025Q3", "2025-11": "2025Q3", "2025-12": "2025Q4"}
    for m, want in lcq.items():
        assert latest_complete_quarter(m) == Period.parse(want), m


# =================================================================================================
# 同比 / 环比 and 百分点
# =================================================================================================
def test_growth():
    # growth %: (current / base − 1) × 100
    assert fmt.growth_pct(110, 100) == pytest.approx(10.0)
    assert fmt.growth_pct(90, 100) == pytest.approx(-10.0)
    assert fmt.growth_pct(0, 100) == pytest.approx(-100.0)
    assert fmt.growth_pct(-50, 100) == pytest.approx(-150.0)   # a positive base going negative: a real fall
    assert fmt.growth_pct(250, 200) == pytest.approx(25.0)
    assert fmt.growth_pct(0.6, 0.5) == pytest.approx(20.0)     # a base below 1 is still a base
    # no growth rate on a zero or negative base (结余 can be negative: "increase" from −10 to 5 is not −150 %)
    for base in (0, 0.0, -0.0, -10, -1e-9):
        assert fmt.growth_pct(5, base) is None, base
    for bad in (None, float("nan"), float("inf"), pd.NA):
        assert fmt.growth_pct(bad, 100) is None and fmt.growth_pct(100, bad) is None
    assert fmt.growth_pct("110", "100") == pytest.approx(10.0)

    # 同比 / 环比 wording
    assert fmt.change(110, 100, "同比") == "同比增长10.0%"
    assert fmt.change(90, 100, "环比") == "环比下降10.0%"
    assert fmt.change(100.04, 100, "同比") == "同比持平"          # rounds to 0.0 at one decimal
    assert fmt.change(100.2, 100, "同比") == "同比增长0.2%"
    assert fmt.change(99.8, 100, "同比") == "同比下降0.2%"
    assert fmt.change(123.456, 100, "环比", digits=2) == "环比增长23.46%"
    assert fmt.change(5, 0, "同比") == "同比无可比数据"
    assert fmt.change(5, -10, "同比") == "同比无可比数据"
    assert fmt.change(-20, -10, "环比") == "环比无可比数据"
    assert fmt.change(None, 100, "同比") == "同比无可比数据"
    assert fmt.change(100, float("nan"), "环比") == "环比无可比数据"
    # percentages: the change is in 百分点, also on zero and negative bases
    assert fmt.change(12.5, 10.0, "同比", unit_pct=True) == "同比提高2.5个百分点"
    assert fmt.change(8.0, 10.0, "环比", unit_pct=True) == "环比下降2.0个百分点"
    assert fmt.change(3.0, 0.0, "同比", unit_pct=True) == "同比提高3.0个百分点"
    assert fmt.change(2.0, -1.0, "同比", unit_pct=True) == "同比提高3.0个百分点"
    assert fmt.change(-3.0, -1.0, "环比", unit_pct=True) == "环比下降2.0个百分点"
    assert fmt.change(10.04, 10.0, "同比", unit_pct=True) == "同比持平"
    assert fmt.change(10.06, 10.0, "同比", unit_pct=True) == "同比提高0.1个百分点"
    assert fmt.change(10.0, 12.345, "同比", unit_pct=True, digits=2) == "同比下降2.35个百分点"
    assert fmt.change(None, 10.0, "同比", unit_pct=True) == "同比无可比数据"
    assert fmt.change(10.0, None, "环比", unit_pct=True) == "环比无可比数据"
    for basis in ("比上年", "", "yoy"):
        with pytest.raises(ValueError):
            fmt.change(1, 1, basis)
