"""Reporting periods: ``2025-03`` (month), ``2025Q1``, ``2025H1``, ``2025`` (year).

The contract's rules: a settlement belongs to the period of its ``setl_time``; 累计 runs from
January of the period's year to its end; 当期 is within the period; 上期 is the previous period of
the same length; 同比 is the same period one year earlier.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_CN_NUM = "一二三四五六七八九十"


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Period:
    year: int
    first: int  # first month (1-12)
    length: int  # months: 1, 3, 6 or 12

    @classmethod
    def parse(cls, text: "str | Period") -> "Period":
        if isinstance(text, Period):
            return text
        s = str(text).strip().upper()
        m = re.fullmatch(r"(\d{4})-(\d{1,2})", s)
        if m and 1 <= int(m.group(2)) <= 12:
            return cls(int(m.group(1)), int(m.group(2)), 1)
        m = re.fullmatch(r"(\d{4})Q([1-4])", s)
        if m:
            return cls(int(m.group(1)), 3 * int(m.group(2)) - 2, 3)
        m = re.fullmatch(r"(\d{4})H([12])", s)
        if m:
            return cls(int(m.group(1)), 6 * int(m.group(2)) - 5, 6)
        m = re.fullmatch(r"(\d{4})", s)
        if m:
            return cls(int(m.group(1)), 1, 12)
        raise PeriodError(f"无法识别的期间 {text!r}：应为 2025-03（月）、2025Q1（季）、2025H1（半年）或 2025（年）")

    # ---- identity ---------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return {1: "month", 3: "quarter", 6: "half", 12: "year"}[self.length]

    @property
    def code(self) -> str:
        if self.length == 1:
            return f"{self.year}-{self.first:02d}"
        if self.length == 3:
            return f"{self.year}Q{(self.first + 2) // 3}"
        if self.length == 6:
            return f"{self.year}H{(self.first + 5) // 6}"
        return f"{self.year}"

    def __str__(self) -> str:
        return self.code

    @property
    def label(self) -> str:
        """Chinese label: 2025年3月, 2025年第一季度, 2025年上半年, 2025年."""
        if self.length == 1:
            return f"{self.year}年{self.first}月"
        if self.length == 3:
            return f"{self.year}年第{_CN_NUM[(self.first - 1) // 3]}季度"
        if self.length == 6:
            return f"{self.year}年{'上' if self.first == 1 else '下'}半年"
        return f"{self.year}年"

    @property
    def range_label(self) -> str:
        """累计 label: 2025年1-3月."""
        return f"{self.year}年1-{self.last}月" if self.last > 1 else f"{self.year}年1月"

    # ---- months -------------------------------------------------------------------------
    @property
    def last(self) -> int:
        return self.first + self.length - 1

    @property
    def months(self) -> list[str]:
        return [f"{self.year}-{m:02d}" for m in range(self.first, self.last + 1)]

    @property
    def ytd_months(self) -> list[str]:
        """累计: January to the end of the period."""
        return [f"{self.year}-{m:02d}" for m in range(1, self.last + 1)]

    @property
    def last_month(self) -> str:
        return f"{self.year}-{self.last:02d}"

    def trailing_months(self, n: int = 12) -> list[str]:
        """The n months ending with the period's last month."""
        y, m = self.year, self.last
        out = []
        for _ in range(n):
            out.append(f"{y}-{m:02d}")
            m -= 1
            if m == 0:
                y, m = y - 1, 12
        return out[::-1]

    @property
    def start(self) -> date:
        return date(self.year, self.first, 1)

    @property
    def end(self) -> date:
        """Exclusive end: the first day after the period."""
        y, m = self.year, self.last + 1
        if m == 13:
            y, m = y + 1, 1
        return date(y, m, 1)

    # ---- related periods ------------------------------------------------------------------
    def shift(self, n: int) -> "Period":
        """The period n lengths later (negative: earlier)."""
        idx = self.year * 12 + self.first - 1 + n * self.length
        return Period(idx // 12, idx % 12 + 1, self.length)

    def previous(self) -> "Period":
        """上期 (环比 base)."""
        return self.shift(-1)

    def year_ago(self) -> "Period":
        """同期 one year earlier (同比 base)."""
        return Period(self.year - 1, self.first, self.length)

    def contains_month(self, month: str) -> bool:
        return month in self.months

    def sub_periods(self, length: int) -> list["Period"]:
        return [Period(self.year, m, length) for m in range(self.first, self.last + 1, length)]


def latest_complete_quarter(last_month: str) -> Period:
    """The latest quarter whose last month is <= ``last_month`` (YYYY-MM)."""
    y, m = int(last_month[:4]), int(last_month[5:7])
    q = m // 3
    if q == 0:
        return Period(y - 1, 10, 3)
    return Period(y, 3 * q - 2, 3)
