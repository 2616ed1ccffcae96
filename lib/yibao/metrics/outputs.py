"""``yibao indicators``: the 数据底稿 files of one region and period (indicators.csv, digao.xlsx, checks.csv)."""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse
from yibao.fsutil import publication_dir
from yibao.metrics import checks, digao
from yibao.metrics.indicators import comparison_periods, compare, compute, compute_periods, institutions, write_csv


def write_outputs(data_dir, region: str, period, out_dir, wh: Warehouse | None = None) -> dict[str, Path]:
    """Write ``OUT/P/R/indicators.csv``, ``digao.xlsx`` and ``checks.csv`` (each atomically).

    ``wh``: an open warehouse on ``data_dir`` to use (a job's data step shares one between the 底稿, the findings
    and the aggregates, so each indicator is queried once); without it one is opened and closed here.
    Returns {"indicators": path, "digao": path, "checks": path}.
    """
    p = Period.parse(period)
    region = str(region)
    with (nullcontext(wh) if wh is not None else Warehouse(data_dir)) as wh:
        info = wh.region(region)
        cur, prev, yoy = comparison_periods(p)
        frames = compute_periods(wh, region, [cur, prev, yoy], strict_frequency=False)
        frames[cur] = compute(wh, region, cur)
        ind = frames[cur]
        cmp = compare(wh, region, cur, frames=frames)
        chk = checks.run_checks(wh, region, cur.code, ind)
        inst = institutions(wh, region, cur)
        out = publication_dir(out_dir, cur.code, region)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"indicators": out / "indicators.csv", "digao": out / "digao.xlsx", "checks": out / "checks.csv"}
        write_csv(ind, paths["indicators"])
        digao.write_workbook(paths["digao"], cmp, info, cur, inst)
        checks.write_checks(chk, paths["checks"])
    return paths


def run_cli(args) -> int:
    from yibao.data.gate import INDICATOR_TABLES, print_warnings, require_valid
    # nothing computed from invalid data: the tables, region and months the indicators read
    print_warnings(require_valid(args.data, args.region, args.period, tables=INDICATOR_TABLES))
    paths = write_outputs(args.data, args.region, args.period, args.out)
    for kind in ("indicators", "digao", "checks"):
        print(f"{kind}: {paths[kind]}")
    return 0
