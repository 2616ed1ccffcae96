"""``yibao run --kind institution``: one 定向推送 package per designated hospital, fast enough for a whole
region every month.

Compute once, read many: per region and period the region-level work — 数据底稿, findings, the cases behind
them, 12-month series, groups, budgets, claims, feedback — runs once (:func:`institution_data.build_bundles`)
and leaves one bundle per hospital. The hospitals are then built in parallel (``--jobs`` worker processes
that keep their imports between hospitals): the notebook ``notebooks/institution.ipynb`` executed in
process (:mod:`yibao.render.inprocess`) on the hospital's bundle, rendered (``--formats``), and its 疑点明细
workbook written. Each package lands whole in ``OUT/P/R/institutions/<fixmedins_code>/`` (files moved
into place one by one with ``os.replace``); the executed notebooks in ``OUT/P/R/institutions/.notebooks/``.
A hospital whose bundle, notebook, code and options are unchanged and whose files are intact is skipped.
Jobs appear in ``OUT/P/manifest.json`` as ``R/institution-<code>``.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from yibao.batch.runner import STAGE_PREFIX, JobResult, _code_fingerprint, _error_line, _region_setting, \
    _write_manifests, reproducible_notebook
from yibao.errors import YibaoError
from yibao.fsutil import check_stopped, publication_dir, sha256, write_text
from yibao.render.execute import NOTEBOOK_DIR

NOTEBOOK = NOTEBOOK_DIR / "institution.ipynb"
KIND_TITLE = "医保数据定向推送"
FORMATS = ("html", "docx", "pdf")  # a package's report; pptx (the 发布会 deck) is the quarterly's only


def package_dir(out, period: str, region: str, code: str | None = None) -> Path:
    base = publication_dir(out, period, region) / "institutions"
    return base / code if code else base


def report_stem(code: str, period: str) -> str:
    return f"{code}_定向推送_{period}"


def _key(bundle: Path, formats: list[str], engine: str, release_date: str | None, code_fp: str) -> str:
    h = hashlib.sha256(NOTEBOOK.read_bytes())
    for f in sorted(bundle.iterdir()):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    h.update(json.dumps([sorted(formats), engine, release_date, code_fp]).encode())
    return h.hexdigest()


def _metadata(info: dict, release_date: str | None) -> dict:
    region_name = info["region_name"]
    return {"title": f"{info['fixmedins_name']}{KIND_TITLE}", "subtitle": info["period_label"],
            "region": info["region"], "region_name": region_name, "period": info["period"],
            "period_label": info["period_label"],
            "issuer": f"{region_name}{_region_setting(info['region'], 'working_group_suffix')}",
            "date": release_date or info["release_date"],
            "confidentiality": f"本报告及所附疑点明细仅限{info['fixmedins_name']}内部使用，不得对外传播",
            "kind": "institution", "fixmedins_code": info["fixmedins_code"]}


def build_one(bundle: str, out: str, formats: list[str], engine: str, key: str,
              release_date: str | None = None) -> JobResult:
    """One hospital's package from its bundle (runs in a worker process)."""
    import nbformat

    from yibao.publications import institution_xlsx
    from yibao.publications.institution import InstitutionContext
    from yibao.render.inprocess import execute_inprocess
    t0 = time.time()
    bundle = Path(bundle)
    info = json.loads((bundle / "info.json").read_text(encoding="utf-8"))
    code, period, region = info["fixmedins_code"], info["period"], info["region"]
    name = f"{region}/institution-{code}"
    dest = package_dir(out, period, region, code)
    dest.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-{code}-", dir=dest.parent))
    try:
        stem = report_stem(code, period)
        nb_out = stage / f"{stem}.ipynb"
        params = {"data_dir": "", "region": region, "period": period, "institution": code,
                  "release_date": release_date or "", "precomputed": str(bundle)}
        execute_inprocess(NOTEBOOK, nb_out, params, cwd=NOTEBOOK_DIR)
        nb = nbformat.read(str(nb_out), as_version=4)
        nb.metadata["yibao"] = _metadata(info, release_date)
        nb = reproducible_notebook(nb, bundle)
        nbformat.write(nb, str(nb_out))
        if formats:
            from yibao.render import engine as render
            render.render(nb_out, formats=formats, engine=engine, out_dir=stage)
        ctx = InstitutionContext(bundle, info)
        institution_xlsx.write(ctx, stage / institution_xlsx.file_name(code, period))
        check_stopped()
        files = []
        nbdir = dest.parent / ".notebooks"
        nbdir.mkdir(exist_ok=True)
        os.replace(nb_out, nbdir / nb_out.name)
        for f in sorted(stage.iterdir()):
            if f.is_file() and not f.name.startswith("."):
                os.replace(f, dest / f.name)
                files.append({"path": f"{region}/institutions/{code}/{f.name}", "sha256": sha256(dest / f.name)})
        for old in dest.iterdir():  # files of an earlier run with other formats
            if old.is_file() and not any(x["path"].endswith("/" + old.name) for x in files):
                old.unlink()
        write_text(dest.parent / ".jobs" / f"{code}.json",
                   json.dumps({"key": key, "files": {x["path"]: x["sha256"] for x in files}}, ensure_ascii=False))
        return JobResult(name, region, "institution", period, None, "ok", round(time.time() - t0, 2), files)
    except Exception as exc:  # noqa: BLE001 - one failing hospital is reported, the others go on
        return JobResult(name, region, "institution", period, None, "failed", round(time.time() - t0, 2), [],
                         _error_line(exc))
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _skippable(bundle: Path, out: str, key: str) -> JobResult | None:
    info = json.loads((bundle / "info.json").read_text(encoding="utf-8"))
    code, period, region = info["fixmedins_code"], info["period"], info["region"]
    stamp = package_dir(out, period, region) / ".jobs" / f"{code}.json"
    try:
        rec = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if rec.get("key") != key:
        return None
    base = Path(out) / period
    for path, digest in rec.get("files", {}).items():
        p = base / path
        if not p.is_file() or sha256(p) != digest:
            return None
    files = [{"path": k, "sha256": v} for k, v in rec["files"].items()]
    return JobResult(f"{region}/institution-{code}", region, "institution", period, None, "skipped", 0.0, files)


def fresh_region_outputs(data_dir, out, period: str, region: str) -> Path | None:
    """``OUT/P/R/`` when the region's publication run of the same period has left indicators.csv and
    findings.csv there that are newer than every file of the dataset: the packages then show exactly the
    figures and findings of the region's report (and they are not computed twice). Else None."""
    pub = publication_dir(out, period, region)
    files = [pub / "indicators.csv", pub / "findings.csv"]
    if not all(f.is_file() for f in files):
        return None
    newest = max((f.stat().st_mtime for f in Path(data_dir).rglob("*") if f.is_file()), default=0.0)
    return pub if min(f.stat().st_mtime for f in files) > newest else None


def run(data_dir, period: str, regions: list[str], codes: list[str] | None, out: str, formats: list[str],
        engine: str = "auto", n_jobs: int = 1, force: bool = False, release_date: str | None = None,
        progress: bool = True) -> list[JobResult]:
    """Every designated hospital of ``regions`` (or the hospitals ``codes``) for ``period``."""
    from yibao.data.periods import Period
    from yibao.data.warehouse import Warehouse
    from yibao.publications.institution_data import build_bundles
    p = Period.parse(period)
    formats = [f for f in formats if f in FORMATS]  # like the other kinds, a package skips pptx
    if p.kind not in ("month", "quarter"):
        raise YibaoError(f"--kind institution 不适用于期间 {p.code}（{p.label}）: 定向推送按月或按季度，如 2026-09、2026Q3")
    if not NOTEBOOK.exists():
        raise YibaoError(f"notebook {NOTEBOOK} 不存在")
    with Warehouse(data_dir) as wh:
        hosp = {r: set(wh.institutions(r, hospitals_only=True)["fixmedins_code"]) for r in regions}
    if codes:
        unknown = sorted(set(codes) - set().union(*hosp.values()))
        if unknown:
            raise YibaoError(f"--institution: {', '.join(unknown)} 不是统筹区 {', '.join(regions)} 的定点医疗机构")
    code_fp = _code_fingerprint()
    results: list[JobResult] = []
    todo: list[tuple[str, str]] = []
    bundles_root = Path(tempfile.mkdtemp(prefix="yibao-bundles-"))
    try:
        for r in regions:
            mine = sorted(hosp[r] & set(codes)) if codes else None
            if codes and not mine:
                continue
            t0 = time.time()
            built = build_bundles(data_dir, r, p.code, bundles_root / r, codes=mine, release_date=release_date,
                                  precomputed=fresh_region_outputs(data_dir, out, p.code, r))
            print(f"统筹区 {r}: {len(built)} 家机构的数据包 {time.time() - t0:.1f}s", file=sys.stderr)
            for code, b in built.items():
                key = _key(b, formats, engine, release_date, code_fp)
                skipped = None if force else _skippable(b, out, key)
                if skipped:
                    results.append(skipped)
                else:
                    todo.append((str(b), key))
        results.extend(_build_all(todo, out, formats, engine, n_jobs, release_date, progress))
    finally:
        shutil.rmtree(bundles_root, ignore_errors=True)
        _write_manifests(results, out, engine, formats)
    return sorted(results, key=lambda r: r.job)


def _build_all(todo, out, formats, engine, n_jobs, release_date, progress) -> list[JobResult]:
    bar = None
    if progress and todo:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), desc="yibao run institution", unit="机构", file=sys.stderr)
    results = []
    try:
        if n_jobs <= 1 or len(todo) <= 1:
            for b, key in todo:
                check_stopped()
                results.append(build_one(b, out, formats, engine, key, release_date))
                if bar:
                    bar.update(1)
        else:
            import multiprocessing as mp
            with cf.ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("spawn")) as pool:
                futs = {pool.submit(build_one, b, out, formats, engine, key, release_date): b for b, key in todo}
                try:
                    for fut in cf.as_completed(futs):
                        check_stopped()
                        try:
                            results.append(fut.result())
                        except Exception as exc:  # noqa: BLE001 - a worker crashed
                            info = json.loads((Path(futs[fut]) / "info.json").read_text(encoding="utf-8"))
                            results.append(JobResult(f"{info['region']}/institution-{info['fixmedins_code']}",
                                                     info["region"], "institution", info["period"], None, "failed",
                                                     0.0, [], _error_line(exc)))
                        if bar:
                            bar.update(1)
                except KeyboardInterrupt:
                    for f in futs:
                        f.cancel()
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
    finally:
        if bar:
            bar.close()
    return results


def run_cli(args) -> int:
    """``yibao run --kind institution[,…] [--institution CODE …]`` (cli.py sends ``yibao run`` here when the
    kinds include institution; other kinds given with it run through :mod:`yibao.batch.runner`)."""
    from yibao.batch import runner
    if not args.data:
        raise YibaoError("--data: 需要数据集目录")
    if not args.period:
        raise YibaoError("--period: 需要期间，如 2026-09、2026Q3")
    data_dir = Path(args.data)
    if not data_dir.is_dir():
        raise YibaoError(f"--data: 数据目录 {data_dir} 不存在")
    from yibao.data.gate import print_warnings, require_valid, validated
    from yibao.data.warehouse import Warehouse
    warnings = validated(data_dir)
    with Warehouse(data_dir) as wh:
        known = list(wh.regions()["poolarea_no"])
    regions = args.region or known
    unknown = [r for r in regions if r not in known]
    if unknown:
        raise YibaoError(f"poolarea: 统筹区 {', '.join(unknown)} 不在数据集 {data_dir} 中（已有: {', '.join(known)}）")
    require_valid(data_dir, regions=sorted(regions), period=args.period)
    print_warnings(warnings)
    results = []
    others = [k for k in args.kind if k != "institution"]
    if others:  # the region's publications first: the packages then read their 底稿 and findings
        jobs = runner.plan_jobs(data_dir, args.period, args.region, others, args.topic)
        results += runner.run_batch(jobs, data_dir, args.out, args.formats, args.engine, args.jobs, args.force,
                                    progress=not args.no_progress, release_date=getattr(args, "release_date", None))
    results += run(data_dir, args.period, regions, getattr(args, "institution", None), args.out, args.formats,
                   args.engine, args.jobs, args.force, getattr(args, "release_date", None), not args.no_progress)
    return runner.report_results(results, args.out)


__all__ = ["FORMATS", "KIND_TITLE", "NOTEBOOK", "build_one", "package_dir", "report_stem", "run", "run_cli"]
