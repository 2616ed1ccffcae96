"""Sentences and chart set-up shared by the study's sections.
"""
from __future__ import annotations


import numpy as np
import pandas as pd

from yibao import fmt
from yibao.data.periods import Period
from yibao.publications.topic.codes import COMPLICATION
from yibao.publications.topic.study import Study


# ---- prose helpers ----------------------------------------------------------------------------------

def _yuan(x) -> str:
    return f"{fmt.num(x)}元" if x is not None and not (isinstance(x, float) and np.isnan(x)) else fmt.DASH


def _move(cur, base, unit_pct: bool = False) -> str:
    """'增长5.2%' / '下降3.1%' / '持平' / '提高2.0个百分点' (no basis word)."""
    if unit_pct:
        if _bad(cur) or _bad(base):
            return "无可比数据"
        d = float(cur) - float(base)
        return "持平" if round(d, 1) == 0 else f"{'提高' if d > 0 else '下降'}{abs(d):.1f}个百分点"
    g = fmt.growth_pct(cur, base)
    if g is None:
        return "无可比数据"
    return "持平" if round(g, 1) == 0 else f"{'增长' if g > 0 else '下降'}{abs(g):.1f}%"


def _bad(x) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA


def _chg(cur, base, basis: str, unit_pct: bool = False) -> str:
    """'同比增长5.2%' / '较2024年第三季度下降3.1%' / '同比提高2.0个百分点'."""
    if basis in ("同比", "环比"):
        return fmt.change(cur, base, basis, unit_pct=unit_pct)
    return basis + _move(cur, base, unit_pct)


def _child_label(st: Study, child: str) -> str:
    name = st.child_names.get(child, "")
    if st.topic.kind == "adrg" and len(child) == 4 and not name:
        name = f"{st.topic.name}，{COMPLICATION.get(child[-1], '')}"
    return f"{child}“{name}”" if name else child


def child_changes(st: Study, cnt: pd.Series, p0: Period, p1: Period, hospital: bool = False,
                  min_pp: float = 1.0, limit: int = 4) -> str:
    """Handbook-style sentences on the children whose share moved by ≥ ``min_pp`` points between p0 and
    p1: '… I63.3“…”由400例增至2,300例（增长475.0%，为2022年的5.8倍），占比由3.3%升至15.4%'.
    ``cnt`` is indexed by (child, period) → cases. High-cost children first, then the others."""
    children = sorted({c for c, _ in cnt.index})
    n0 = {c: float(cnt.get((c, p0.code), 0)) for c in children}
    n1 = {c: float(cnt.get((c, p1.code), 0)) for c in children}
    t0, t1 = sum(n0.values()), sum(n1.values())
    if not t0 or not t1:
        return ""
    rows = []
    for c in children:
        s0, s1 = n0[c] / t0 * 100, n1[c] / t1 * 100
        if abs(s1 - s0) >= min_pp:
            rows.append((c, s0, s1))
    high = st.high
    rows = sorted(rows, key=lambda r: (-abs(r[2] - r[1]), r[0]))[:limit]     # the biggest movers …
    rows.sort(key=lambda r: (-(r[2] - r[1]), r[0]))                          # … risers first
    basis = st.basis(p1, p0)
    parts = []
    for c, s0, s1 in rows:
        a, b = n0[c], n1[c]
        if hospital and 0 < a < st.suppress and 0 < b < st.suppress:
            counts = f"病例数均少于{st.suppress}例"
        elif hospital and (0 < a < st.suppress or 0 < b < st.suppress):
            counts = (f"病例数由{st.count(a)}例{'增至' if b > a else '减至'}{st.count(b)}例" if a != b
                      else f"病例数均为{st.count(b)}例")
        else:
            verb = "增至" if b > a else "减至"
            g = fmt.growth_pct(b, a)
            gtxt = ""
            if a == b:
                verb, g = "", None
            if g is not None:
                word = basis if basis in ("同比", "环比") else ""
                gtxt = f"（{word}{'增长' if g > 0 else '下降'}{abs(g):.1f}%" + (
                    f"，为{p0.label}的{b / a:.1f}倍" if a and b / a >= 2 else "") + "）"
            counts = (f"病例数由{fmt.count(a)}例{verb}{fmt.count(b)}例{gtxt}" if verb else
                      f"病例数均为{fmt.count(b)}例")
        tag = "（高费用）" if c in high else ""
        parts.append(f"{_child_label(st, c)}{tag}{counts}，占比由{fmt.pct(s0, 1)}{'升至' if s1 > s0 else '降至'}"
                     f"{fmt.pct(s1, 1)}")
    return "；".join(parts)


def _charts():
    try:
        from yibao.publications import charts
        charts.setup()
    except ImportError:  # the house style is optional for the numbers
        pass
    import matplotlib.pyplot as plt
    return plt
