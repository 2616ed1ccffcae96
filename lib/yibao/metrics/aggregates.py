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
from contextlib import nullcontext
from pathlib import Path

from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse
from yibao.metrics import analysis, indicators
from yibao.metrics.shared import Store, key

# (analysis function, extra arguments exactly as the sections pass them) per publication kind
QUARTERLY = [("fund_income", ()), ("expenditure_by_level", ()), ("expenditure_by_direction", ()),
             ("fund_monthly", (24,)), ("fund_capacity", ()), ("institution_counts", None),
             ("budget_execution", ()), ("hospital_budget_execution", ()), ("special_cases_by_hospital", ()),
             ("inpatient_profile", ()), ("top_groups", (10,)), ("admissions", ()), ("remote_care", ()),
             ("qc_problems", ()), ("base_group_cases", ()), ("settlement_progress", ()), ("settlement_claims", ())]
MONTHLY = [("settlement_progress", ()), ("settlement_claims", ()), ("qc_problems", ()), ("monthly_cube", ()),
           ("list_counts", ()), ("grouped_groups", ()), ("qc_top_problem_by_hospital", ())]
# the annual briefing shows the quarterly report's sections for the year, and its own two year cubes
ANNUAL = [a for a in QUARTERLY if a[0] not in ("admissions", "base_group_cases", "inpatient_profile",
                                                "settlement_progress", "settlement_claims")] + [
    ("year_settlement_cube", ()), ("year_list_cube", ())]
KIND_ANALYSES = {"quarterly": QUARTERLY, "monthly": MONTHLY, "annual": ANNUAL}


def indicators_key(region: str, period: str, strict: bool) -> str:
    return key("indicators", region, period, (bool(strict),))


def write(data_dir, region: str, period: str, kind: str, dest, wh: Warehouse | None = None) -> dict:
    """Compute the aggregates of one region, period and publication kind into the store at ``dest`` (those
    already there are kept: another kind's job of the same region and period computed them).
    Returns {"stored": [...], "seconds": s}. A table that cannot be computed here (a table absent from the
    dataset …) is left out: the notebook computes it, and reports it, as it would without a store.
    ``wh``: an open warehouse on ``data_dir`` to use — the job's data step passes the one it computed the 底稿
    with, so the indicator periods already computed there (its settlement cube, its queries) are not redone."""
    t0 = time.time()
    p = Period.parse(period)
    store = Store(Path(dest))
    stored = []

    def have(k: str) -> bool:
        return (store.path / f"{k}.parquet").is_file()
    with (nullcontext(wh) if wh is not None else Warehouse(data_dir)) as wh:
        prev, yoy = p.previous(), p.year_ago()
        todo = [q for q in (prev, yoy) if not have(indicators_key(region, q.code, True))]
        frames = indicators.compute_periods(wh, region, todo) if todo else {}  # strict, as Context.ind_prev
        for q in todo:
            if store.put(indicators_key(region, q.code, True), frames[q]):
                stored.append(f"indicators {q.code}")
        if not have(indicators_key(region, p.code, False)) and store.put(
                indicators_key(region, p.code, False), indicators.compute(wh, region, p.code, strict_frequency=False)):
            stored.append(f"indicators {p.code} (all)")
        for name, args in KIND_ANALYSES.get(kind, []):
            if have(key(name, region, None if args is None else p.code, args or ())):
                continue
            fn = getattr(analysis, name)
            try:
                df = fn(wh, region) if args is None else fn(wh, region, p.code, *args)
            except Exception:  # noqa: BLE001 - the notebook computes it and says what is wrong
                continue
            if store.put(key(name, region, None if args is None else p.code, args or ()), df):
                stored.append(name)
    return {"stored": stored, "seconds": round(time.time() - t0, 2)}


def shared_store(data_dir, region: str, period: str, kind: str, root, wh: Warehouse | None = None) -> Path:
    """The store of one region and period shared by every job of a batch (and of later batches on the same
    data and code): ``root/<region>/<key>/``, key = the dataset's files and the code. The first job of the
    region-period computes what its kind needs under a lock; the others — monthly, quarterly, institution
    packages … of the same region and period — find it there and add only what their kind needs beyond it."""
    import fcntl
    import hashlib
    import json
    import shutil

    from yibao import PACKAGE_DIR
    from yibao.data.gate import fingerprint
    h = hashlib.sha256(json.dumps([fingerprint(data_dir), str(period)]).encode("utf-8"))
    for f in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(f.read_bytes())
    base = Path(root) / str(region)
    base.mkdir(parents=True, exist_ok=True)
    dest = base / f"{Period.parse(period).code}-{h.hexdigest()[:16]}"
    with open(base / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for old in base.iterdir():  # stores of other data or code: never read again
            if old.is_dir() and old.name.startswith(f"{Period.parse(period).code}-") and old != dest:
                shutil.rmtree(old, ignore_errors=True)
        write(data_dir, region, period, kind, dest, wh=wh)
    return dest
