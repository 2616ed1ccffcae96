#!/usr/bin/env python
"""Benchmark: the validation gate's first run (empty cache) and second run (cached verdict) on a dataset.

    .venv/bin/python benchmarks/bench_gate.py --data /work/data-medium --region 350100 --period 2026Q3

Prints, for the scopes of ``yibao indicators`` (its tables) and of a report of ``yibao run`` (every table),
the wall time and the CPU time of this process (DuckDB's threads included: compare CPU seconds on a shared
machine) of ``gate.require_valid`` with a fresh, private cache directory, then of the same call again with
the verdict cached. docs/benchmarks.md, "The validation gate".
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--region", required=True)
    ap.add_argument("--period", required=True)
    args = ap.parse_args(argv)
    os.environ["YIBAO_CACHE_DIR"] = tempfile.mkdtemp(prefix="yibao-bench-gate-")
    from yibao.data import gate
    print(f"gate benchmark · {args.data} · {args.region} {args.period} · load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for label, tables in (("indicators (its tables)", gate.INDICATOR_TABLES), ("run (every table)", None)):
        for run in ("first run", "cached"):
            gate._MEMO.clear()
            t, c = time.perf_counter(), _cpu()
            gate.require_valid(args.data, args.region, args.period, tables=tables)
            print(f"  {label:26s} {run:10s} wall {time.perf_counter() - t:7.1f} s   CPU {_cpu() - c:6.1f} s",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
