"""Numbers as readers of a 医保 report expect them (DESIGN.md, "Choices").

Amounts in prose in 万元/亿元 (data files keep 元), percentages to 1–2 decimals, every growth figure
says 同比 or 环比, periods written 2025年第一季度 (see :mod:`yibao.data.periods`).
"""
from __future__ import annotations

import math

import pandas as pd

DASH = "—"
#: The one minus sign of every publication (issue 13, docs/caveats.md): the ASCII hyphen-minus, as the
#: statistical tables readers copy into Excel/WPS expect; never U+2212 "−", never a negative zero ("-0.0%").
MINUS = "-"


def _bad(x) -> bool:
    return x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))) or x is pd.NA


def _sign(text: str) -> str:
    """One minus sign, and no negative zero: '-0.00%' → '0.00%', '−3.1' → '-3.1'."""
    text = text.replace("\u2212", MINUS)
    if text.startswith((MINUS, "+")) and not any(ch in "123456789" for ch in text):
        text = text[1:]
    return text


def money(yuan, unit: str | None = None, digits: int = 2) -> str:
    """元 → '1.23亿元' / '456.78万元' / '980元'. ``unit`` forces 亿元, 万元 or 元."""
    if _bad(yuan):
        return DASH
    v = float(yuan)
    if unit is None:
        unit = "亿元" if abs(v) >= 1e8 else "万元" if abs(v) >= 1e4 else "元"
    div = {"亿元": 1e8, "万元": 1e4, "元": 1.0}[unit]
    d = 0 if unit == "元" and abs(v) >= 100 else digits
    return _sign(f"{v / div:,.{d}f}{unit}")


def wan(yuan, digits: int = 2) -> str:
    """元 → number in 万元 without unit (for tables headed 万元)."""
    return DASH if _bad(yuan) else _sign(f"{float(yuan) / 1e4:,.{digits}f}")


def yi(yuan, digits: int = 2) -> str:
    return DASH if _bad(yuan) else _sign(f"{float(yuan) / 1e8:,.{digits}f}")


def pct(value, digits: int = 2) -> str:
    """A percent number (97.35) → '97.35%'."""
    return DASH if _bad(value) else _sign(f"{float(value):.{digits}f}%")


def num(value, digits: int = 0) -> str:
    return DASH if _bad(value) else _sign(f"{float(value):,.{digits}f}")


def count(value) -> str:
    return DASH if _bad(value) else _sign(f"{int(round(float(value))):,}")


def ratio(value, digits: int = 2) -> str:
    return DASH if _bad(value) else _sign(f"{float(value):.{digits}f}")


def growth_pct(current, base):
    """(current / base − 1) × 100, or None when the base is missing, zero or negative (a growth rate on a
    negative base, e.g. a 结余 going from −10 to 5, has no meaning; the same rule as ``indicators.change``)."""
    if _bad(current) or _bad(base) or float(base) <= 0:
        return None
    return (float(current) / float(base) - 1.0) * 100.0


def change(current, base, basis: str, digits: int = 1, unit_pct: bool = False) -> str:
    """'同比增长5.2%' / '环比下降3.1%' / '同比持平' — ``basis`` must be 同比 or 环比.

    With ``unit_pct=True`` the values are themselves percentages and the change is given in
    percentage points (百分点).
    """
    if basis not in ("同比", "环比"):
        raise ValueError("basis must be 同比 or 环比")
    if unit_pct:
        if _bad(current) or _bad(base):
            return f"{basis}无可比数据"
        d = float(current) - float(base)
        if round(d, digits) == 0:
            return f"{basis}持平"
        return f"{basis}{'提高' if d > 0 else '下降'}{abs(d):.{digits}f}个百分点"
    g = growth_pct(current, base)
    if g is None:
        return f"{basis}无可比数据"
    if round(g, digits) == 0:
        return f"{basis}持平"
    return f"{basis}{'增长' if g > 0 else '下降'}{abs(g):.{digits}f}%"


def signed_pct(value, digits: int = 1) -> str:
    """'+5.2%' / '-3.1%' (ASCII minus) / '0.0%' — a change rounding to zero carries no sign."""
    return DASH if _bad(value) else _sign(f"{float(value):+.{digits}f}%")


def signed(value, digits: int = 1) -> str:
    """'+1.2' / '-1.2' / '0.0': a change in its own units (e.g. 个百分点), with the one minus sign."""
    return DASH if _bad(value) else _sign(f"{float(value):+.{digits}f}")


def date_zh(d) -> str:
    """A date as readers write it: '2026年12月17日' (no leading zeros); accepts a date, datetime or 'YYYY-MM-DD'."""
    import datetime as dt
    if _bad(d) or d is pd.NaT or (isinstance(d, str) and not d.strip()):
        return DASH
    if isinstance(d, str):
        d = dt.date.fromisoformat(d.strip()[:10])
    return f"{d.year}年{d.month}月{d.day}日"


def balance(yuan, unit: str | None = None) -> str:
    """A fund balance in words: '结余1.23亿元', or '收不抵支5,916.70万元' for a deficit (never a minus sign)."""
    if _bad(yuan):
        return DASH
    v = float(yuan)
    return f"收不抵支{money(-v, unit)}" if v < 0 else f"结余{money(v, unit)}"


def balance_change(current, base, basis: str, digits: int = 1) -> str:
    """The change of a balance that may be a deficit, worded as one: '同比增长5.2%' between two surpluses,
    '同比收不抵支扩大69.9%' / '收窄…' between two deficits, '同比由结余转为收不抵支' and back."""
    if basis not in ("同比", "环比"):
        raise ValueError("basis must be 同比 or 环比")
    if _bad(current) or _bad(base):
        return f"{basis}无可比数据"
    c, b = float(current), float(base)
    if c >= 0 and b > 0:
        return change(c, b, basis, digits)
    if b >= 0 > c:
        return f"{basis}由结余转为收不抵支"
    if c >= 0 > b:
        return f"{basis}由收不抵支转为结余"
    if b == 0:
        return f"{basis}无可比数据"
    g = (abs(c) / abs(b) - 1) * 100
    if round(g, digits) == 0:
        return f"{basis}收不抵支规模持平"
    return f"{basis}收不抵支{'扩大' if g > 0 else '收窄'}{abs(g):.{digits}f}%"
