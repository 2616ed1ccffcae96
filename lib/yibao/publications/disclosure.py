"""Disclosure control for hospital tables (issue 13, Must 3): a count of 1–4 cases is shown as "<5", and it
must stay hidden — not recoverable from a rate or amount beside it, from a total, from a neighbouring period
or another table.

:func:`protect` applies, to one table about to be published:

1. **primary suppression** — every count cell of 1–4 is "<5" (:data:`SUPPRESSED`);
2. **derived cells** — every rate, share, change or amount computed on a hidden count, in the same row, is
   "<5" too ("amounts beside a suppressed count too": a reader cannot tell a withheld amount from a withheld
   count, and cannot divide one by the other);
3. **complementary suppression** — a column whose total is published (a 合计 row in the table, or the region
   total the text gives: ``totals=True``) with exactly one hidden cell would give it back as total − the
   others, so the smallest other non-zero cell of that column is hidden as well (then its derived cells, and
   again until no column has a lone hidden cell).

Every hidden cell looks the same ("<5"), whatever the reason it is hidden: the table note says that "<5" marks
a withheld cell. The 审议 check C7 (:func:`yibao.workgroup.review_text.differencing`) reads every table of the
rendered report for cells that could still be recovered.
"""
from __future__ import annotations

import math

import pandas as pd

from yibao.metrics.catalogue import SUPPRESS_MIN, SUPPRESSED_MARK

SUPPRESSED = SUPPRESSED_MARK
NOTE = (f"“{SUPPRESSED}”表示不予公布：病例数少于{SUPPRESS_MIN}例，或由这类病例数计算的比率、金额、变化，或为防止由合计数"
        f"反推而一并隐藏的单元格")


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def small(v) -> bool:
    """A count of 1–4 (shown as "<5"), or a value already withheld (``SUPPRESSED``: e.g. an indicators.csv
    row whose status is suppressed)."""
    if isinstance(v, str) and v.strip() == SUPPRESSED:
        return True
    x = _num(v)
    return x is not None and 0 < x < SUPPRESS_MIN


def protect(table: pd.DataFrame, counts: dict[str, list], derived: dict[str, list[str]] | None = None,
            totals: bool | list[str] = True, total_label: str = "合计",
            row_total: tuple[str, list[str]] | None = None) -> pd.DataFrame:
    """The table with its hidden cells as "<5" (see the module doc).

    ``counts`` maps each count column to its values (numbers, in row order; the cells of the table keep
    their formatting where shown); ``derived`` maps a count column to the columns computed on it (rates,
    shares, changes, amounts in the same row); ``totals``: True when the total of every count column is
    published (a 合计 row of the table is always taken into account), or the list of columns whose total is;
    ``row_total`` = (total column, part columns): in a row showing the total, a lone hidden part would be the
    total minus the other parts, so the smallest other part is hidden too."""
    out = table.copy().astype(object)
    derived = derived or {}
    rows = [i for i in range(len(out)) if str(out.iloc[i, 0]) != total_label]
    hidden: set[tuple[int, str]] = set()

    def hide(i: int, col: str) -> None:
        if (i, col) in hidden:
            return
        hidden.add((i, col))
        out.iat[i, out.columns.get_loc(col)] = SUPPRESSED
        for d in derived.get(col, []):
            if d in out.columns:
                hide(i, d)  # and what is computed on it in turn

    for col, vals in counts.items():
        for i in rows:
            if small(vals[i]):
                hide(i, col)
    with_total = set(counts) if totals is True else set(totals or [])
    if any(str(out.iloc[i, 0]) == total_label for i in range(len(out))):
        with_total = set(counts)
    changed = True
    while changed:
        changed = False
        if row_total is not None:
            tot, parts = row_total
            for i in rows:
                if (i, tot) in hidden:
                    continue
                lone = [c for c in parts if (i, c) in hidden]
                if len(lone) != 1:
                    continue
                cand = [(_num(counts[c][i]), c) for c in parts
                        if (i, c) not in hidden and (_num(counts[c][i]) or 0) > 0]
                if cand:
                    hide(i, min(cand)[1])
                    changed = True
        for col in counts:
            if col not in with_total:
                continue
            lone = [i for i in rows if (i, col) in hidden]
            if len(lone) != 1:
                continue
            cand = [(_num(counts[col][i]), i) for i in rows
                    if (i, col) not in hidden and (_num(counts[col][i]) or 0) > 0]
            if cand:
                hide(min(cand)[1], col)
                changed = True
    return out
