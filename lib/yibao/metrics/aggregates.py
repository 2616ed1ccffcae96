"""The region-period aggregates a publication reads, computed once into a store (docs/scale.md).

``yibao run`` calls :func:`write` in a job's data step, beside indicators.csv and findings.csv; the
notebook's :class:`~yibao.publications.context.Context` attaches the store, and its sections read the
aggregates instead of recomputing them (:mod:`yibao.metrics.shared`):

* the 数据底稿 of 上期 and 同期 (the comparisons of every section) and of the period regardless of publication
  frequency (the 参考值 of yearly indicators in a quarter) — one pass over the settlements for all three;
* the tables of :mod:`yibao.metrics.analysis` that the kind's sections show.
"""
from __future__ import annotations

import time
from pathlib import Path

from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse
from yibao.metrics import analysis, indicators
from yibao.metrics.shared import Store, key

# (analysis function, extra arguments exactly as the sections pass them) per publication kind
QUARTERLY = [("fund_income", ()), ("expenditure_by_level", ()), ("expenditure_by_direction", ()),
             ("fund_monthly", (24,)), ("fund_capacity", ()), ("institution_counts", None),
             ("budget_execution", ()), ("hospital_budget_execution", ()), ("special_cases_by_hospital", ()),
             ("inpatient_profile", ()), ("top_groups", (10,))]
MONTHLY = [("settlement_progress", ()), ("settlement_claims", ())]
KIND_ANALYSES = {"quarterly": QUARTERLY, "monthly": MONTHLY, "annual": [("budget_execution", ())]}


def indicators_key(region: str, period: str, strict: bool) -> str:
    return key("indicators", region, period, (bool(strict),))


def write(data_dir, region: str, period: str, kind: str, dest) -> dict:
    """Compute the aggregates of one region, period and publication kind into the store at ``dest``.
    Returns {"stored": [...], "seconds": s}. A table that cannot be computed here (a table absent from the
    dataset …) is left out: the notebook computes it, and reports it, as it would without a store."""
    t0 = time.time()
    p = Period.parse(period)
    store = Store(Path(dest))
    stored = []
    with Warehouse(data_dir) as wh:
        prev, yoy = p.previous(), p.year_ago()
        frames = indicators.compute_periods(wh, region, [prev, yoy])  # strict, as Context.ind_prev / ind_yoy
        for q in (prev, yoy):
            if store.put(indicators_key(region, q.code, True), frames[q]):
                stored.append(f"indicators {q.code}")
        if store.put(indicators_key(region, p.code, False),
                     indicators.compute(wh, region, p.code, strict_frequency=False)):
            stored.append(f"indicators {p.code} (all)")
        for name, args in KIND_ANALYSES.get(kind, []):
            fn = getattr(analysis, name)
            try:
                df = fn(wh, region) if args is None else fn(wh, region, p.code, *args)
            except Exception:  # noqa: BLE001 - the notebook computes it and says what is wrong
                continue
            if store.put(key(name, region, None if args is None else p.code, args or ()), df):
                stored.append(name)
    return {"stored": stored, "seconds": round(time.time() - t0, 2)}
