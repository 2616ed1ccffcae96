#!/usr/bin/env python
"""Benchmark: one publication's breakdown — data, notebook (section by section), each format (docs/benchmarks.md).

    .venv/bin/python benchmarks/bench_publication.py --data /work/data-medium            # 350100, 2026Q3, quarterly
    .venv/bin/python benchmarks/bench_publication.py --data DIR --region R --period P --kind monthly
    .venv/bin/python benchmarks/bench_publication.py --data DIR --sections                # also time each section in-process
    .venv/bin/python benchmarks/bench_publication.py --data DIR --json out.json

Steps, in this process and one after the other (as a ``yibao run`` job does them):

1. **data** — the job's data step (:func:`yibao.batch.runner.write_precomputed`): the 数据底稿 (indicators.csv,
   digao.xlsx, checks.csv), findings.csv and the region-period aggregates the sections read
   (``.aggregates/``, :mod:`yibao.metrics.aggregates`), into a staging directory;
2. **notebook** — papermill executes the notebook with ``precomputed`` = that directory (a kernel process:
   its start and imports are part of this figure, measured apart as ``kernel``);
3. **render** — each format alone (html, docx, pdf), then the three together as ``yibao run`` renders them
   (in parallel, :func:`yibao.render.engine.render`);
4. with ``--sections``: the notebook's section functions called in this process on the same inputs, each timed —
   what the notebook time is made of.

The load average (``os.getloadavg``) is printed with every figure: the machine is shared.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def _timed(figures: dict, name: str, fn, *a, **k):
    load = _load()
    t0 = time.time()
    out = fn(*a, **k)
    figures[name] = {"seconds": round(time.time() - t0, 2), "load_before": load}
    print(f"{name:28s} {figures[name]['seconds']:7.2f} s   (load {load})", flush=True)
    return out


def _kernel_start() -> None:
    """A kernel started, ``import yibao.publications.quarterly`` run in it, and shut down."""
    from jupyter_client.manager import start_new_kernel
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        kc.execute_interactive("from yibao.publications import quarterly, display, charts", timeout=120)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--region", default="350100")
    ap.add_argument("--period", default="2026Q3")
    ap.add_argument("--kind", default="quarterly", choices=["quarterly", "monthly", "annual"])
    ap.add_argument("--formats", default="html,docx,pdf")
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--sections", action="store_true", help="also time each section in this process")
    ap.add_argument("--no-aggregates", action="store_true",
                    help="the notebook computes every aggregate itself (the route before issue 16), for comparison")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "lib"))
    from yibao.batch import runner
    from yibao.data.gate import validated
    from yibao.render import engine as render
    from yibao.render.execute import execute_notebook

    data = Path(args.data).resolve()
    formats = [f for f in args.formats.split(",") if f]
    figures: dict = {"data": str(data), "region": args.region, "period": args.period, "kind": args.kind,
                     "cpus": os.cpu_count(), "engine": render.engine_for(args.engine)}
    print(f"{args.kind} {args.region} {args.period} on {data} (engine {figures['engine']})")
    _timed(figures, "validate (cached verdict)", validated, data)
    stage = Path(tempfile.mkdtemp(prefix="yibao-bench-pub-"))
    t_all = time.time()
    try:
        job = runner.Job(args.region, args.period, args.kind)
        _timed(figures, "data", runner.write_precomputed, job, data, stage)
        if args.no_aggregates:
            shutil.rmtree(stage / ".aggregates", ignore_errors=True)
        params = runner.job_params(job, data, {"precomputed": str(stage)})
        nb = stage / f"{job.stem}.ipynb"
        _timed(figures, "notebook", execute_notebook, job.notebook, nb, params)
        _timed(figures, "  of which kernel+imports", _kernel_start)
        import nbformat
        book = nbformat.read(str(nb), as_version=4)
        book.metadata["yibao"] = {"title": "benchmark", "region": args.region, "period": args.period,
                                  "date": "2026-10-15", "kind": args.kind}
        nbformat.write(book, str(nb))
        for fmt in formats:
            d = stage / f"render-{fmt}"
            _timed(figures, f"render {fmt}", render.render, nb, formats=[fmt], engine=args.engine, out_dir=d)
        d = stage / "render-all"
        _timed(figures, f"render {'+'.join(formats)} (parallel)", render.render, nb, formats=formats,
               engine=args.engine, out_dir=d)
        figures["publication"] = round(figures["data"]["seconds"] + figures["notebook"]["seconds"]
                                       + figures[f"render {'+'.join(formats)} (parallel)"]["seconds"], 2)
        print(f"{'publication (data+notebook+render)':28s} {figures['publication']:7.2f} s")
        if args.sections:
            _sections(figures, data, args, stage)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    figures["wall"] = round(time.time() - t_all, 2)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def _sections(figures: dict, data: Path, args, stage: Path) -> None:
    """The notebook's code cells, run here one by one (same parameters): the time of each section."""
    import nbformat
    from yibao.batch import runner
    job = runner.Job(args.region, args.period, args.kind)
    nb = nbformat.read(str(job.notebook), as_version=4)
    ns = {}
    cells = [c for c in nb.cells if c.cell_type == "code"]
    exec(cells[0].source, ns)  # the parameters cell
    ns.update({"data_dir": str(data), "region": args.region, "period": args.period, "precomputed": str(stage)})
    import matplotlib
    matplotlib.use("Agg")
    out = {}
    for c in cells[1:]:
        head = [ln for ln in c.source.splitlines() if ln.strip() and not ln.startswith(("from ", "import "))]
        name = (head[-1] if head else c.source.splitlines()[0])[:60]
        t0 = time.time()
        exec(c.source, ns)
        out[name] = round(time.time() - t0, 2)
    figures["sections"] = out
    print("sections (in-process):")
    for name, s in sorted(out.items(), key=lambda kv: -kv[1]):
        print(f"  {s:6.2f} s  {name}")


if __name__ == "__main__":
    raise SystemExit(main())
