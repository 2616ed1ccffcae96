#!/usr/bin/env python
"""Benchmark: a province's batch on a Dask cluster of one and of two workers (docs/scale.md).

    .venv/bin/python benchmarks/bench_batch.py                       # province scale (generated if absent)
    .venv/bin/python benchmarks/bench_batch.py --regions 4           # the first 4 regions only
    .venv/bin/python benchmarks/bench_batch.py --data DIR --period 2026Q3 --kind quarterly --formats html,docx,pdf
    .venv/bin/python benchmarks/bench_batch.py --workers 1,2 --json out.json

It starts a real ``dask scheduler`` on localhost, then for each worker count N a fresh set of N
``dask worker --nthreads 1`` processes, and times ``yibao run … --scheduler ADDRESS --force`` into a fresh
output directory. Printed per N: the batch's wall time, the jobs, the per-job cost (the manifest's seconds:
mean, min, max), the speed-up against one worker, and the load average (``os.getloadavg``) before and after —
the machine is shared, so a figure without its load means little. The dataset is validated once, before
the timings (the gate's cached verdict), so the timings are the jobs'.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent


def _wait(cond, timeout: float, what: str) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond():
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="dataset directory (default: data/bench-province-s1, generated if absent)")
    ap.add_argument("--period", default="2026Q3")
    ap.add_argument("--kind", default="quarterly")
    ap.add_argument("--formats", default="html,docx,pdf")
    ap.add_argument("--regions", type=int, default=0, help="the first N regions of the dataset (default: all)")
    ap.add_argument("--workers", default="1,2", help="worker counts to time, e.g. 1,2")
    ap.add_argument("--json", help="write the figures as JSON")
    args = ap.parse_args(argv)

    data = Path(args.data) if args.data else ROOT / "data" / "bench-province-s1"
    if not data.exists():
        t0 = time.time()
        subprocess.run([str(BIN / "yibao"), "synth", "--scale", "province", "--out", str(data)], check=True)
        print(f"generated {data} in {time.time() - t0:.1f}s")
    sys.path.insert(0, str(ROOT / "lib"))
    from yibao.data.gate import validated
    from yibao.data.warehouse import Warehouse
    t0 = time.time()
    validated(data)
    t_valid = time.time() - t0
    with Warehouse(data) as wh:
        regions = wh.regions()["poolarea_no"].tolist()
    if args.regions:
        regions = regions[:args.regions]
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    work = Path(tempfile.mkdtemp(prefix="yibao-bench-batch-"))
    procs: list[subprocess.Popen] = []
    figures = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": platform.platform(),
               "cpus": os.cpu_count(), "data": str(data), "period": args.period, "kind": args.kind,
               "formats": args.formats, "regions": regions, "validate_seconds": round(t_valid, 2), "runs": []}
    print(f"dataset {data}: {len(regions)} regions, {args.kind} {args.period}, formats {args.formats}; "
          f"validation (once, cached) {t_valid:.1f}s")
    try:
        sfile = work / "scheduler.json"
        procs.append(subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                       "--no-dashboard", "--scheduler-file", str(sfile)],
                                      stdout=subprocess.DEVNULL, stderr=open(work / "scheduler.log", "w")))
        _wait(lambda: sfile.exists() and sfile.stat().st_size > 0, 60, "the scheduler")
        address = json.loads(sfile.read_text())["address"]
        from yibao.batch import cluster
        for n in counts:
            workers = []
            for i in range(n):
                workers.append(subprocess.Popen(
                    [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
                     "--name", f"bench-{n}-{i}", "--local-directory", str(work / f"w{n}-{i}")],
                    stdout=subprocess.DEVNULL, stderr=open(work / f"worker-{n}-{i}.log", "w")))
            procs += workers
            _wait(lambda: len(cluster.workers(address)) == n, 120, f"{n} workers")
            out = work / f"out-{n}"
            load0 = _load()
            t0 = time.time()
            rc = subprocess.run([str(BIN / "yibao"), "run", "--data", str(data), "--period", args.period, "--kind",
                                 args.kind, "--formats", args.formats, "--region", *regions, "--out", str(out),
                                 "--scheduler", address, "--force", "--no-progress", "--release-date", "2026-10-15"],
                                stdout=subprocess.DEVNULL, stderr=open(work / f"run-{n}.log", "w")).returncode
            wall = time.time() - t0
            load1 = _load()
            manifest = json.loads(next(out.glob("*/manifest.json")).read_text(encoding="utf-8")) \
                if list(out.glob("*/manifest.json")) else {"jobs": []}
            secs = [j["seconds"] for j in manifest["jobs"] if j["status"] == "ok"]
            run = {"workers": n, "rc": rc, "wall_seconds": round(wall, 1), "jobs": len(manifest["jobs"]),
                   "ok": len(secs), "job_seconds_mean": round(sum(secs) / len(secs), 1) if secs else None,
                   "job_seconds_min": min(secs) if secs else None, "job_seconds_max": max(secs) if secs else None,
                   "built_by": sorted({str(j.get("worker")) for j in manifest["jobs"]}),
                   "load_before": load0, "load_after": load1}
            figures["runs"].append(run)
            print(f"{n} worker(s): wall {wall:.1f}s, {run['ok']}/{run['jobs']} jobs ok, per job mean "
                  f"{run['job_seconds_mean']}s (min {run['job_seconds_min']}, max {run['job_seconds_max']}), "
                  f"load {load0} -> {load1}" + ("" if rc == 0 else f"  [yibao run exit {rc}, see {work}]"))
            for w in workers:  # a fresh set of workers for the next count
                w.terminate()
            for w in workers:
                w.wait(timeout=30)
            _wait(lambda: len(cluster.workers(address)) == 0, 60, "the workers to leave")
        base = next((r for r in figures["runs"] if r["workers"] == 1), None)
        for r in figures["runs"]:
            if base and r["wall_seconds"]:
                r["speedup"] = round(base["wall_seconds"] / r["wall_seconds"], 2)
                print(f"speed-up with {r['workers']} worker(s): {r['speedup']}x")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        if all(r["rc"] == 0 for r in figures["runs"]):
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if figures["runs"] and all(r["rc"] == 0 for r in figures["runs"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
