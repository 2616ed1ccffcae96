#!/usr/bin/env python
"""Benchmark: the 定向推送 packages (PDF + 疑点明细 xlsx) of every designated hospital of one region.

    .venv/bin/python benchmarks/bench_institutions.py --data /work/data-medium            # 350100, 2026Q3
    .venv/bin/python benchmarks/bench_institutions.py --data DIR --region 350200 --period 2026-09 --jobs 2
    .venv/bin/python benchmarks/bench_institutions.py --data DIR --institution H350100001 H350100002 …
    .venv/bin/python benchmarks/bench_institutions.py --data DIR --per-hospital 8 [--cprofile FILE]

Runs ``yibao run --kind institution --formats pdf --engine builtin --force`` as a child process into a
fresh output directory and prints: the number of hospitals, the wall time of the whole command, the
time of the region-level part (bundles: 数据底稿, findings, cases … computed once), the per-hospital build
times (median / max, from the manifest), the peak RSS of the command and its children, the CPU seconds,
and the machine load before and after (``/proc/loadavg``: other users of the cores slow it down).

``--per-hospital N`` measures the per-hospital step alone, in this process as in a warm worker: the
bundles of N + 1 hospitals are built, the first hospital warms the imports and caches up, then the next N are
built one by one (``build_one``: notebook in process, charts, pandoc + Typst PDF, workbook) and the CPU
seconds of each (user + sys of this process and of its children, i.e. pandoc) are printed with their mean;
``--cprofile FILE`` profiles those N builds and prints the functions with the most cumulative time.

Target (issue 15): a medium region (about 56 hospitals) in PDF + xlsx within 180 s on 2 cores.
Figures and the machine they were measured on: docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[:3].__str__()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--region", default="350100")
    ap.add_argument("--period", default="2026Q3")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--engine", default="builtin")
    ap.add_argument("--out", default=None, help="output directory (default: a temporary one)")
    ap.add_argument("--institution", nargs="*", default=None, help="these hospitals only (default: every one)")
    ap.add_argument("--per-hospital", type=int, default=0, metavar="N",
                    help="measure the per-hospital step in this process over N hospitals after a warm-up one")
    ap.add_argument("--cprofile", default=None, help="with --per-hospital: write cProfile stats to this file")
    a = ap.parse_args()
    if a.per_hospital:
        return per_hospital(a)
    out = Path(a.out or tempfile.mkdtemp(prefix="bench-institutions-"))
    cmd = [str(ROOT / ".venv" / "bin" / "yibao"), "run", "--data", a.data, "--period", a.period, "--region", a.region,
           "--kind", "institution", "--formats", "pdf", "--engine", a.engine, "--jobs", str(a.jobs), "--force",
           "--out", str(out), "--no-progress"] + (["--institution", *a.institution] if a.institution else [])
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load before {load()}")
    print("command:", " ".join(cmd))
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"load after {load()}")
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        return proc.returncode
    m = re.search(r"(\d+) 家机构的数据包 ([\d.]+)s", proc.stderr)
    manifest = json.loads((out / a.period / "manifest.json").read_text(encoding="utf-8"))
    jobs = [j for j in manifest["jobs"] if j["kind"] == "institution" and j["region"] == a.region]
    secs = [j["seconds"] for j in jobs]
    pdfs = sum(1 for j in jobs for f in j["files"] if f["path"].endswith(".pdf"))
    xlsx = sum(1 for j in jobs for f in j["files"] if f["path"].endswith(".xlsx"))
    failed = [j for j in jobs if j["status"] != "ok"]
    print(f"hospitals: {len(jobs)} (pdf {pdfs}, xlsx {xlsx}, failed {len(failed)})")
    print(f"region-level bundles (computed once): {m.group(2) if m else '?'} s")
    if secs:
        print(f"per hospital (in a worker): median {statistics.median(secs):.1f} s, max {max(secs):.1f} s, "
              f"sum {sum(secs):.1f} s")
    print(f"CPU: user {ru.ru_utime:.1f} s, system {ru.ru_stime:.1f} s; peak RSS of one process {ru.ru_maxrss / 1024:.0f} MiB")
    print(f"TOTAL wall time: {wall:.1f} s (target 180 s) — {'met' if wall <= 180 else 'NOT met'}")
    return 0 if not failed else 1


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def per_hospital(a) -> int:
    """The per-hospital step in a warm process: CPU seconds per hospital (pandoc's children included)."""
    import cProfile
    import pstats

    from yibao.batch import institutions as inst
    from yibao.data.warehouse import Warehouse
    from yibao.publications.institution_data import build_bundles
    out = Path(a.out or tempfile.mkdtemp(prefix="bench-institutions-"))
    with Warehouse(a.data) as wh:
        hosp = sorted(wh.institutions(a.region, hospitals_only=True)["fixmedins_code"])
    codes = a.institution or hosp[:a.per_hospital + 1]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load before {load()}")
    t0, c0 = time.time(), _cpu()
    bundles = build_bundles(a.data, a.region, a.period, out / ".bundles", codes=codes)
    print(f"bundles of {len(bundles)} hospitals: {time.time() - t0:.1f} s wall, {_cpu() - c0:.1f} CPU-s")
    todo = [bundles[c] for c in codes if c in bundles]
    formats = ["pdf"]
    for i, b in enumerate(todo):
        if i == 1 and a.cprofile:
            prof = cProfile.Profile()
            prof.enable()
        t, c = time.time(), _cpu()
        r = inst.build_one(str(b), str(out), formats, a.engine, "bench")
        print(f"  {'warm-up ' if i == 0 else ''}{b.name}: {r.status} {time.time() - t:.2f} s wall, "
              f"{_cpu() - c:.2f} CPU-s" + (f" — {r.error}" if r.error else ""))
        if i == 0:
            c_start, t_start = _cpu(), time.time()
    n = len(todo) - 1
    if n > 0:
        cpu, wall = _cpu() - c_start, time.time() - t_start
        print(f"per hospital (warm, mean of {n}): {cpu / n:.2f} CPU-s, {wall / n:.2f} s wall; load after {load()}")
    if a.cprofile and n > 0:
        prof.disable()
        prof.dump_stats(a.cprofile)
        pstats.Stats(a.cprofile).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
