"""Complementary suppression in the 数据底稿 (indicators.csv, digao.xlsx; issue 13, Must 3).

Primary suppression (:mod:`yibao.metrics.indicators`) hides an institution's count or sum of 1–4 cases.
For an additive indicator (:func:`yibao.metrics.catalogue.additive_ids`: 33, 34, 36, 38, 39 — the region value
is the sum of the institutions' values) one hidden institution value would come back as the region value minus
the published ones. So, per additive indicator and period:

* when exactly one institution value is hidden, the smallest published non-zero value of the same indicator is
  hidden too (status ``suppressed``, reason 为防止由统筹地区值反推一并不予公布); among equal values the
  institution already hidden in a sibling indicator (36 or 38 with 39: a rate is computed on both), then by
  code; a published 0 only when no non-zero value is left (two hidden cells, and nobody can tell which one
  holds the total);
* wherever a value is hidden, what is computed on it for the same institution is hidden (``suppress_with``:
  37 per-case amount, 40 ratio, 41 growth rate, 34 approvals within 33 applications) — a hidden value that a
  rate beside it gives back would leave the other hidden value alone again;
* repeated until no additive indicator has a lone hidden institution value.

Across releases (:func:`across_releases`): a quarter's, half-year's or year's institution value is also the sum
of what the finer releases within it publish (the plan's monthly pushes and quarterly releases, where the
indicator's 频次 fits them). Where that value minus the published finer values is one hidden finer value
(:func:`unknowns` = 1: August's 3 = Q3 − July − September), the coarse value is hidden before :func:`protect`
runs; where it is no hidden value at all (0: the finer releases give it), it is never taken as a partner nor
counted as a hidden one. The finer releases are never changed (already published).

One function (:func:`protect`) does it for both files: :mod:`yibao.metrics.indicators` applies it to the rows
of every period it computes, so indicators.csv, digao.xlsx (the same rows via ``compare``) and the 上期 /
同期 bases agree; 41 (a growth rate on 上期's 39) is also hidden where 上期's files hid 39, computed with this
function on 上期's values (``indicators._Engine._hidden_before``). The region row is never suppressed: a region whose only institution with a value is hidden
(nothing left to hide beside it) keeps its lone hidden cell, and the 复核 (``inst_sum_*``) says so.
"""
from __future__ import annotations

import math

import pandas as pd

from yibao.metrics import catalogue

REASON = "为防止由统筹地区值反推一并不予公布"


def _num(v) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def complement(values: dict[str, float], hidden: set[str], published: set[str],
               prefer: dict[str, int] | None = None) -> str | None:
    """The institution to hide beside a lone hidden one: the smallest published non-zero value, else the
    smallest published value (a 0); among equal values the one hidden for more sibling indicators
    (``prefer``: {code: count}; fewer rates lost with it, and a hidden 0 that no published sibling value shows to
    be 0), then by code. None when nothing needs or can be hidden.

    ``values`` are the computed values of the institution cells (hidden ones included), ``hidden`` the codes
    already hidden, ``published`` the codes shown with a value."""
    if len(hidden) != 1:
        return None
    prefer = prefer or {}
    cand = sorted((values.get(c) or 0.0, -prefer.get(c, 0), c) for c in published if c not in hidden)
    nonzero = [x for x in cand if x[0] != 0]
    pick = (nonzero or cand)[:1]
    return pick[0][2] if pick else None


def siblings(indicator_id) -> list[str]:
    """Additive indicators computed on together with ``indicator_id`` (a rate on both: 36 and 39 for 37, 38 and
    39 for 40): hiding the same institution in both loses the fewest published rates."""
    mine = set(catalogue.derived_ids(indicator_id))
    return [j for j in catalogue.additive_ids() if j != str(indicator_id) and mine & set(catalogue.derived_ids(j))]


def protect(df: pd.DataFrame, values: dict[tuple[str, str], float],
            derivable: frozenset | set = frozenset()) -> pd.DataFrame:
    """indicators rows (``indicator_id, fixmedins_code, value, status, reason`` …) with complementary
    suppression applied (see the module doc). ``values`` holds the computed value of every institution cell
    of the additive indicators, hidden ones included ({(indicator_id, code): value}); ``derivable`` the cells
    the finer releases already give (:func:`unknowns` 0): never a partner, and no protection for anyone."""
    out = df.copy()
    key = list(zip(out["indicator_id"].astype(str), out["fixmedins_code"].fillna("")))
    at = {k: i for k, i in zip(key, out.index)}
    st = dict(zip(key, out["status"]))

    def hide(iid: str, code: str, reason: str) -> bool:
        i = at.get((iid, code))
        if i is None or st[(iid, code)] != "ok":
            return False
        st[(iid, code)] = "suppressed"
        out.loc[i, ["value", "status", "reason"]] = [float("nan"), "suppressed", reason]
        for d in catalogue.derived_ids(iid):
            hide(d, code, f"指标{iid}不予公布")
        return True

    additive = set(catalogue.additive_ids())
    codes = {iid: [c for (i, c) in key if i == iid and c] for iid in additive}
    sib = {iid: siblings(iid) for iid in additive}
    changed = True
    while changed:
        changed = False
        for iid in catalogue.additive_ids():  # in id order: 33 before 34 (within it), 36 before 39
            if st.get((iid, "")) != "ok":
                continue  # no region value published: nothing to subtract from
            cells = codes[iid]
            hidden = {c for c in cells if st[(iid, c)] == "suppressed" and (iid, c) not in derivable}
            published = {c for c in cells if st[(iid, c)] == "ok" and (iid, c) not in derivable}
            vals = {c: _num(values.get((iid, c))) or 0.0 for c in cells}
            prefer = {c: sum(st.get((j, c)) == "suppressed" for j in sib[iid]) for c in published}
            pick = complement(vals, hidden, published, prefer)
            if pick is not None and hide(iid, pick, REASON):
                changed = True
    return out


# ---- across releases: a quarter against its monthly pushes, a year against its quarters ------------------

#: the lengths (months) of the finer releases of the plan (docs/plan.md): 月推送 and 季发布; a half-year has no
#: release of its own, so nothing is subtracted from a year as a half-year
RELEASE_LENGTHS = (1, 3)
CROSS_REASON = "为防止由月度/季度发布值反推一并不予公布"


def release_levels(indicator, period) -> list[int]:
    """Lengths of the finer releases within ``period`` that publish ``indicator`` (its 频次 fits them), coarsest
    first: a year's quarters and months, a quarter's months; [] for a month."""
    from yibao.data.periods import Period
    return sorted((n for n in RELEASE_LENGTHS
                   if n < period.length and period.length % n == 0
                   and indicator.fits(Period(period.year, period.first, n))), reverse=True)


def unknowns(period, code: str, levels: list[int], hidden) -> int:
    """How many unknowns ``period``'s value of one institution would be the sum of, once every finer release's
    published value of it is subtracted: the finer period of the coarsest level, each either published (known),
    or hidden — then one unknown, unless its own finer cells are all published (it is their sum: known).
    ``hidden(p)`` is the set of institution codes the release of finer period ``p`` hides. 0: the finer releases
    give the value (publishing it tells nothing; hiding it protects nothing); 1: publishing it gives back the one
    hidden finer value; 2 or more: a sum of several hidden values; −1 when no finer release publishes it
    (``levels`` empty: nothing to compare)."""
    def u(p, top: bool) -> int:
        if not top and code not in hidden(p):
            return 0
        finer = [n for n in levels if n < p.length]
        if not finer:
            return 1
        s = sum(u(c, False) for c in p.sub_periods(finer[0]))
        return s if top else min(1, s)
    return u(period, True) if levels else -1


def across_releases(period, cells: dict[str, list[str]], hidden) -> tuple[set, set]:
    """(to hide, derivable) of ``period``'s additive institution cells against the finer releases:
    ``cells`` {indicator_id: codes}, ``hidden(p, indicator_id)`` the codes the release of finer period ``p``
    hides. A cell with one unknown is hidden (status ``suppressed``, :data:`CROSS_REASON`) — earlier releases
    are never changed; a cell with none is derivable (for :func:`protect`)."""
    hide, derivable = set(), set()
    for iid, codes in cells.items():
        levels = release_levels(catalogue.get(iid), period)
        if not levels:
            continue
        for code in codes:
            k = unknowns(period, code, levels, lambda p: hidden(p, iid))
            if k == 1:
                hide.add((iid, code))
            elif k == 0:
                derivable.add((iid, code))
    return hide, derivable
