"""``yibao run``: execute the publication notebooks with papermill and render them.

One job = one (region, period, kind[, topic]). A job
1. writes the region's 数据底稿 (indicators.csv, digao.xlsx, checks.csv) and findings.csv,
2. executes ``notebooks/<notebook>.ipynb`` with papermill in its own kernel process,
3. renders the executed notebook (html, docx, pdf) without re-executing it,
4. writes the 审议 record (review.xlsx / review.docx) beside the report,
and everything lands in ``OUT/P/R/``. Work happens in a staging directory; finished files are moved
into place one by one with ``os.replace`` so no reader ever sees a half-written file, and a crash or
Ctrl-C leaves the previous outputs untouched.

Resume: a job whose notebook, parameters, code version and input files are unchanged and whose
outputs all exist is skipped (its stamp lives in ``OUT/P/R/.jobs/``). ``OUT/P/manifest.json`` lists
every job: status, seconds, files with sha256, error.
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from yibao import PACKAGE_DIR, PROJECT_DIR, __version__
from yibao.errors import YibaoError
from yibao.render.execute import NOTEBOOK_DIR, execute_notebook
from yibao.fsutil import (check_stopped, hold_sigterm, pid_alive, publication_dir, release_sigterm, sha256,
                          sigterm_as_interrupt, write_text)
from yibao.data.periods import Period, PeriodError

DECK_KINDS = ("quarterly",)  # kinds whose notebook emits the 发布会 deck (Report.deck; docs/render.md)
KIND_NOTEBOOK = {"quarterly": "quarterly", "monthly": "monthly", "annual": "annual"}
KIND_TITLE = {
    "quarterly": "医保数据季度发布分析报告",
    "monthly": "医保数据月度推送",
    "annual": "医保数据年度通报",
    "topic": "病种专题分析报告",
}
KIND_PERIOD = {"quarterly": ("quarter", "half", "year"), "monthly": ("month",), "annual": ("year",),
               "topic": ("month", "quarter", "half", "year")}


@dataclass
class Job:
    region: str
    period: str
    kind: str
    topic: str | None = None
    region_name: str = ""
    pay_method: str = ""

    @property
    def name(self) -> str:
        return f"{self.region}/{self.stem}"

    @property
    def stem(self) -> str:
        if self.kind == "topic":
            return f"topic-{self.topic}"
        if self.kind == "monthly":
            return f"monthly-{self.period}"
        return self.kind

    @property
    def notebook(self) -> Path:
        if self.kind == "topic":
            from yibao.publications import topic
            return NOTEBOOK_DIR / f"{topic.notebook_for(self.topic, self.pay_method)}.ipynb"
        return NOTEBOOK_DIR / f"{KIND_NOTEBOOK[self.kind]}.ipynb"


@dataclass
class JobResult:
    job: str
    region: str
    kind: str
    period: str
    topic: str | None
    status: str  # ok | failed | skipped
    seconds: float
    files: list[dict] = field(default_factory=list)
    error: str | None = None
    worker: str | None = None  # who built it: a Dask worker's address, else host:pid of the local process


STAGE_PREFIX = ".stage-"


def remove_leftovers(period_dir: Path) -> list[Path]:
    """Staging directories left by a run that was killed (its process no longer runs) are removed; a
    running run's (another process, alive) are left alone. Returns what was removed."""
    removed = []
    if not period_dir.is_dir():
        return removed
    for d in period_dir.glob(f"{STAGE_PREFIX}*"):
        try:
            pid = int(d.name[len(STAGE_PREFIX):].split("-", 1)[0])
        except ValueError:
            pid = None  # an older layout without the pid: nothing can be running in it
        if pid is not None and pid != os.getpid() and pid_alive(pid):
            continue
        if pid == os.getpid():
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


# ---- planning ------------------------------------------------------------------------------

def default_kinds(period: Period) -> list[str]:
    return {"month": ["monthly"], "quarter": ["quarterly"], "half": ["quarterly"], "year": ["annual"]}[period.kind]


def plan_jobs(data_dir: Path, period: str, regions: list[str] | None, kinds: list[str] | None,
              topics: list[str] | None) -> list[Job]:
    from yibao.data.warehouse import Warehouse
    try:
        p = Period.parse(period)
    except PeriodError as exc:
        raise YibaoError(f"--period: {exc}") from None
    with Warehouse(data_dir) as wh:
        all_regions = wh.regions()
    known = dict(zip(all_regions["poolarea_no"], zip(all_regions["poolarea_name"], all_regions["pay_method"])))
    regions = regions or list(known)
    unknown = [r for r in regions if r not in known]
    if unknown:
        raise YibaoError(f"poolarea: 统筹区 {', '.join(unknown)} 不在数据集 {data_dir} 中（已有: {', '.join(known)}）")
    kinds = kinds or default_kinds(p)
    jobs = []
    for kind in kinds:
        if kind not in KIND_TITLE:
            raise YibaoError(f"--kind: 未知的发布类型 {kind}（可选 quarterly, monthly, topic, annual）")
        if p.kind not in KIND_PERIOD[kind]:
            raise YibaoError(f"--kind {kind} 不适用于期间 {p.code}（{p.label}）: "
                             f"{'月推送需要月份期间，如 2026-09' if kind == 'monthly' else '季度报告需要季度期间，如 2026Q3' if kind == 'quarterly' else '年度通报需要年度期间，如 2025'}")
        for r in regions:
            name, pay = known[r]
            if kind == "topic":
                codes = topics
                if not codes:
                    from yibao.publications import topic
                    codes = topic.planned_topics(r, p)
                    if not codes:
                        raise YibaoError(f"--kind topic: 未指定 --topic，且发布计划中 {r} 在 {p.label} 没有专题")
                for code in codes:
                    jobs.append(Job(r, p.code, kind, str(code).strip(), name, str(pay).upper()))
            else:
                jobs.append(Job(r, p.code, kind, None, name, str(pay).upper()))
    return jobs


# ---- fingerprints (resume) --------------------------------------------------------------------

def _input_fingerprint(data_dir: Path) -> list:
    items = []
    for path in sorted(Path(data_dir).rglob("*")):
        if path.is_file() and path.name != "planted.json":
            st = path.stat()
            items.append([str(path.relative_to(data_dir)), st.st_size, st.st_mtime_ns])
    return items


def _code_fingerprint() -> str:
    h = hashlib.sha256(__version__.encode())
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(str(path.relative_to(PACKAGE_DIR)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def job_key(job: Job, params: dict, data_fp: list, code_fp: str, formats: list[str], engine: str) -> str:
    h = hashlib.sha256()
    h.update(job.notebook.read_bytes())
    h.update(json.dumps([params, data_fp, code_fp, sorted(formats), engine], sort_keys=True,
                        ensure_ascii=False).encode())
    params_dir = PROJECT_DIR / "params"
    if params_dir.is_dir():
        for p in sorted(params_dir.rglob("*.yaml")):
            h.update(p.read_bytes())
    return h.hexdigest()


# ---- one job ---------------------------------------------------------------------------------

def job_params(job: Job, data_dir: Path, extra: dict | None = None) -> dict:
    params = {"data_dir": str(Path(data_dir).resolve()), "region": job.region, "period": job.period}
    if job.kind == "topic":
        params["topic"] = job.topic
    params.update(extra or {})
    return params


def worker_name() -> str:
    """The worker running this code: the Dask worker's address on a cluster, else ``host:pid``."""
    import socket
    from yibao.batch import cluster
    return cluster.here() or f"{socket.gethostname()}:{os.getpid()}"


def run_job_on_worker(job: Job, data_dir: str, out: str, formats: list[str], engine: str, key: str,
                      extra_params: dict | None, release_date: str | None, code_fp: str) -> JobResult:
    """One job as a Dask task (``--scheduler``): the local path (:func:`_run_job`) after checking that the
    worker runs the client's code and sees the dataset (shared storage, same path)."""
    def refuse(why: str) -> JobResult:
        return JobResult(job.name, job.region, job.kind, job.period, job.topic, "failed", 0.0, [], why,
                         worker_name())
    if _code_fingerprint() != code_fp:  # a worker with other code would publish other bytes
        return refuse(f"worker {worker_name()} 运行的 yibao 代码与提交端不同，请在所有节点安装同一版本 "
                      f"(rule: one code version per batch)")
    if not Path(data_dir).is_dir():
        return refuse(f"worker {worker_name()} 看不到数据目录 {data_dir}（数据与输出须在共享存储上，各节点路径相同）"
                      f"(rule: shared storage)")
    return _run_job(job, data_dir, out, formats, engine, key, extra_params, release_date)


def _error_line(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "PapermillExecutionError":
        return f"notebook cell {getattr(exc, 'exec_count', '?')} failed: {exc.ename}: {exc.evalue}".strip()
    first = str(exc).strip().splitlines()
    return f"{name}: {first[0] if first else ''}"


def report_metadata(job: Job, topic_title: str | None = None, release_date: str | None = None) -> dict:
    p = Period.parse(job.period)
    title = f"{job.region_name}{KIND_TITLE[job.kind]}"
    if job.kind == "topic" and topic_title:
        title = f"{job.region_name}{topic_title}专题分析"
    conf = _region_setting(job.region, "confidentiality")
    return {
        "title": title,
        "subtitle": p.label,
        "region": job.region,
        "region_name": job.region_name,
        "period": p.code,
        "period_label": p.label,
        "issuer": f"{job.region_name}{_region_setting(job.region, 'working_group_suffix')}",
        # the cover date: --release-date, else the release date from the plan
        "date": release_date or _release_date(job).isoformat(),
        "date_source": "release-date" if release_date else "plan",
        "confidentiality": conf,
        "kind": job.kind,
    }


def _release_date(job: Job) -> dt.date:
    """The planned release date of the job's publication (params/plan-YYYY.yaml), else today."""
    from yibao.publications import plan
    kind = "topic" if job.kind == "topic" else job.kind
    return plan.release_date(job.region, kind, job.period)


def _region_setting(region: str, key: str):
    import yaml
    path = PROJECT_DIR / "params" / "regions.yaml"
    cfg = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    cfg = cfg or {}
    reg = (cfg.get("regions") or {}).get(str(region)) or {}
    defaults = {"working_group_suffix": "医保数据工作组",
                "confidentiality": "数据仅限本统筹地区定点医药机构内部使用，不得对外传播", "explain_days": 15}
    defaults.update(cfg.get("defaults") or {})
    return reg.get(key, defaults.get(key))


def run_job(job: Job, data_dir: str, out: str, formats: list[str], engine: str, key: str,
            extra_params: dict | None = None, release_date: str | None = None) -> JobResult:
    """Run one job in this process (the pool gives each job its own process and kernel); a SIGTERM stops
    it like Ctrl-C, cleaning up its staging directory."""
    with sigterm_as_interrupt():
        release_sigterm()  # a SIGTERM held back while the previous job published stops this one before it starts
        _watch_parent()
        return _run_job(job, data_dir, out, formats, engine, key, extra_params, release_date)


_WATCHING: list[int] = []


def _watch_parent(interval: float = 1.0) -> None:
    """In a pool worker: when the parent ``yibao run`` dies (even by SIGKILL, which it cannot handle), the
    worker is re-parented; a daemon thread notices within ``interval`` seconds and sends the worker SIGTERM,
    which unwinds the job like Ctrl-C (kernel shut down, staging directory removed, nothing published)."""
    import multiprocessing as mp
    import signal
    import threading
    if mp.parent_process() is None or _WATCHING:
        return
    parent = os.getppid()
    _WATCHING.append(parent)

    def watch():
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(10)
                os._exit(143)  # the job did not unwind in time
    threading.Thread(target=watch, name="yibao-parent-watch", daemon=True).start()


def _run_job(job: Job, data_dir: str, out: str, formats: list[str], engine: str, key: str,
             extra_params: dict | None, release_date: str | None = None) -> JobResult:
    import nbformat
    t0 = time.time()
    data_dir = Path(data_dir)
    pub = publication_dir(out, job.period, job.region)
    pub.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-{job.stem}-", dir=pub.parent))
    try:
        # 1. the 数据底稿 and findings (files other tools read) and the aggregates the notebook reads
        write_precomputed(job, data_dir, stage, pub.parent / shared_aggregates_dir())
        check_stopped()
        # 2. execute
        params = job_params(job, data_dir, extra_params)
        if release_date and job.kind in DECK_KINDS:  # 下一步's deadlines count from the documents' date
            params.setdefault("release_date", release_date)
        if job.kind in ("quarterly", "monthly", "annual"):  # the report shows the 底稿 and findings just written
            params["precomputed"] = str(stage)
        nb_out = stage / f"{job.stem}.ipynb"
        execute_notebook(job.notebook, nb_out, params)
        nb = nbformat.read(str(nb_out), as_version=4)
        topic_title = None
        if job.kind == "topic":
            from yibao.publications import topic
            topic_title = topic.topic_title(job.topic, job.pay_method)
        meta = report_metadata(job, topic_title, release_date)
        meta.update({k: v for k, v in (nb.metadata.get("yibao") or {}).items() if k not in meta})
        nb.metadata["yibao"] = meta
        nb = reproducible_notebook(nb, stage)
        nbformat.write(nb, str(nb_out))
        check_stopped()
        # 3. render (the 发布会 deck, pptx, only for the kinds whose notebook emits one)
        formats = [f for f in formats if f != "pptx" or job.kind in DECK_KINDS]
        if formats:
            from yibao.render import engine as render
            render.render(nb_out, formats=formats, engine=engine, out_dir=stage)
        # 4. 审议 record
        from yibao.workgroup import review
        review.build_review(stage, job.kind, job.region, job.period, data_dir,
                            roster=_current_roster(job.region, dt.date.today().year)
                            or _current_roster(job.region, Period.parse(job.period).year), stem=job.stem)
        check_stopped()  # a job stopped by SIGTERM never publishes
        hold_sigterm()  # from here the job publishes and reports whole (released by the caller)
        # move into place, one file at a time, atomically
        files = []
        for f in sorted(stage.iterdir()):
            if f.is_file() and not f.name.startswith("."):
                os.replace(f, pub / f.name)
                files.append({"path": f"{job.region}/{f.name}", "sha256": sha256(pub / f.name)})
        stamp = pub / ".jobs" / f"{job.stem}.json"
        stamp.parent.mkdir(exist_ok=True)
        worker = worker_name()
        write_text(stamp, json.dumps({"key": key, "files": [f["path"].split("/", 1)[1] for f in files],
                                      "sha256": {f["path"].split("/", 1)[1]: f["sha256"] for f in files},
                                      "worker": worker}, ensure_ascii=False, indent=1))
        return JobResult(job.name, job.region, job.kind, job.period, job.topic, "ok", round(time.time() - t0, 2),
                         files, worker=worker)
    except Exception as exc:  # noqa: BLE001 - a failing region is reported, the others go on
        detail = _error_line(exc)
        if os.environ.get("YIBAO_DEBUG"):
            traceback.print_exc()
        return JobResult(job.name, job.region, job.kind, job.period, job.topic, "failed",
                         round(time.time() - t0, 2), [], detail, worker_name())
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def shared_aggregates_dir() -> str:
    """Where a batch keeps the region-period aggregates its jobs share: ``OUT/P/.aggregates/``."""
    from yibao.metrics.shared import STORE_DIR
    return STORE_DIR


def write_precomputed(job: Job, data_dir: Path, stage: Path, shared_root: Path | None = None) -> None:
    """A job's data step, into its staging directory: indicators.csv, digao.xlsx, checks.csv, findings.csv and
    commendations.csv (published), and the region-period aggregates the notebook's sections read instead of
    recomputing them (``.aggregates/``, not published; :mod:`yibao.metrics.aggregates`). With ``shared_root``
    (``OUT/P/.aggregates``) the aggregates are computed once per region and period for the whole batch and
    ``.aggregates`` links to them."""
    from yibao.data.warehouse import Warehouse
    from yibao.findings import engine as findings
    from yibao.metrics import aggregates, outputs, shared
    # one warehouse for the whole step: the 底稿's indicator periods (its settlement cube and queries) are
    # computed once and the aggregates reuse them; one open of the dataset instead of three
    with Warehouse(data_dir) as wh:
        outputs.write_outputs(data_dir, job.region, job.period, stage / "_out", wh=wh)
        findings.write_findings(data_dir, job.region, job.period, stage / "_out", wh=wh)
        for f in sorted(publication_dir(stage / "_out", job.period, job.region).iterdir()):
            shutil.move(str(f), stage / f.name)
        shutil.rmtree(stage / "_out", ignore_errors=True)
        if job.kind not in aggregates.KIND_ANALYSES:
            return
        if shared_root is None:
            aggregates.write(data_dir, job.region, job.period, job.kind, stage / shared.STORE_DIR, wh=wh)
        else:
            store = aggregates.shared_store(data_dir, job.region, job.period, job.kind, shared_root, wh=wh)
            (stage / shared.STORE_DIR).symlink_to(store.resolve(), target_is_directory=True)


def reproducible_notebook(nb, stage: Path):
    """The executed notebook without what differs between two runs of the same inputs: papermill's and the
    kernel's timings, the random id of the parameters cell papermill adds, and the staging directory's path (the precomputed files sit beside the published
    notebook, so the path becomes ``.``)."""
    import nbformat
    text = nbformat.writes(nb)
    for form in {str(stage), str(Path(stage).resolve())}:
        text = text.replace(json.dumps(form)[1:-1], ".")
    nb = nbformat.reads(text, as_version=4)
    pm = nb.metadata.get("papermill")
    if isinstance(pm, dict):
        for k in ("start_time", "end_time", "duration"):
            pm.pop(k, None)
    for cell in nb.cells:
        if "injected-parameters" in (cell.metadata.get("tags") or []):
            cell["id"] = "injected-parameters"  # papermill gives the cell it adds a random id
        cell.metadata.pop("execution", None)
        cpm = cell.metadata.get("papermill")
        if isinstance(cpm, dict):
            for k in ("start_time", "end_time", "duration"):
                cpm.pop(k, None)
    return nb


def _current_roster(region: str, year: int) -> Path | None:
    """The roster of the working group for a year, if a draw has been saved under params/workgroup/.
    The 审议 is signed by the group in office when the release is made (this year's roster), falling
    back to the roster of the data period's year."""
    base = PROJECT_DIR / "params" / "workgroup"
    for cand in (base / f"{region}-{year}" / "roster.xlsx", base / str(year) / "roster.xlsx"):
        if cand.exists():
            return cand
    return None


def _skippable(job: Job, out: str, key: str) -> JobResult | None:
    pub = publication_dir(out, job.period, job.region)
    stamp = pub / ".jobs" / f"{job.stem}.json"
    if not stamp.exists():
        return None
    try:
        info = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if info.get("key") != key:
        return None
    files = []
    recorded = info.get("sha256") or {}
    for name in info.get("files", []):
        path = pub / name
        if not path.exists():
            return None
        digest = sha256(path)
        if recorded.get(name) != digest:  # truncated, edited or replaced since the run: rebuild
            return None
        files.append({"path": f"{job.region}/{name}", "sha256": digest})
    return JobResult(job.name, job.region, job.kind, job.period, job.topic, "skipped", 0.0, files,
                     worker=info.get("worker"))  # who built the files that stand


# ---- the batch ---------------------------------------------------------------------------------

def run_batch(jobs: list[Job], data_dir: Path, out: str, formats: list[str], engine: str = "auto",
              n_jobs: int = 1, force: bool = False, progress: bool = True,
              extra_params: dict | None = None, release_date: str | None = None,
              scheduler: str | None = None) -> list[JobResult]:
    """Run jobs with a bounded pool of processes — or on the Dask cluster at ``scheduler``
    (:mod:`yibao.batch.cluster`); returns one result per job and updates manifests.
    ``release_date`` (``YYYY-MM-DD``, default today) dates the documents and every timestamp inside them."""
    for period in sorted({j.period for j in jobs}):
        remove_leftovers(Path(out) / period)
    data_fp = _input_fingerprint(data_dir)
    code_fp = _code_fingerprint()
    results: list[JobResult] = []
    todo: list[tuple[Job, str]] = []
    for job in jobs:
        check_stopped()
        if not job.notebook.exists():
            results.append(JobResult(job.name, job.region, job.kind, job.period, job.topic, "failed", 0.0, [],
                                     f"notebook {job.notebook} 不存在"))
            continue
        key = job_key(job, job_params(job, data_dir, extra_params), data_fp, code_fp,
                      formats + ([f"release:{release_date}"] if release_date else []), engine)
        skipped = None if force else _skippable(job, out, key)
        if skipped:
            results.append(skipped)
        else:
            todo.append((job, key))

    bar = None
    if progress and todo:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), desc="yibao run", unit="job", file=sys.stderr)
    try:
        if scheduler and todo:
            _run_on_cluster(scheduler, todo, data_dir, out, formats, engine, extra_params, release_date, code_fp,
                            results, bar)
        elif n_jobs <= 1 or len(todo) <= 1:
            for job, key in todo:
                check_stopped()
                if bar:
                    bar.set_postfix_str(job.name)
                results.append(run_job(job, str(data_dir), out, formats, engine, key, extra_params, release_date))
                release_sigterm()  # a SIGTERM that arrived while it published stops the batch now
                if bar:
                    bar.update(1)
        else:
            import multiprocessing as mp
            ctx = mp.get_context("spawn")
            with cf.ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
                futs = {pool.submit(run_job, job, str(data_dir), out, formats, engine, key, extra_params,
                                    release_date): job
                        for job, key in todo}
                try:
                    for fut in cf.as_completed(futs):
                        check_stopped()
                        job = futs[fut]
                        try:
                            results.append(fut.result())
                        except Exception as exc:  # noqa: BLE001 - worker crashed
                            results.append(JobResult(job.name, job.region, job.kind, job.period, job.topic,
                                                     "failed", 0.0, [], _error_line(exc)))
                        if bar:
                            bar.set_postfix_str(job.name)
                            bar.update(1)
                except KeyboardInterrupt:
                    # SIGTERM / Ctrl-C: no queued job starts; running workers get SIGTERM and unwind
                    # (their staging directories removed); the manifest below records what finished
                    for f in futs:
                        f.cancel()
                    for proc in list((getattr(pool, "_processes", None) or {}).values()):
                        try:
                            proc.terminate()
                        except (OSError, AttributeError):
                            pass
                    pool.shutdown(wait=True, cancel_futures=True)
                    seen = {r.job for r in results}
                    for f, job in futs.items():  # jobs that finished (published) before the workers stopped
                        if f.done() and not f.cancelled() and f.exception() is None:
                            r = f.result()
                            if r.job not in seen and r.status == "ok":
                                results.append(r)
                    raise
    finally:
        if bar:
            bar.close()
        _write_manifests(results, out, engine, formats)
    order = {j.name: i for i, j in enumerate(jobs)}
    results.sort(key=lambda r: order.get(r.job, 1 << 30))
    return results


def _run_on_cluster(scheduler: str, todo: list[tuple[Job, str]], data_dir: Path, out: str, formats: list[str],
                    engine: str, extra_params: dict | None, release_date: str | None, code_fp: str,
                    results: list[JobResult], bar) -> None:
    """The jobs as Dask tasks (one per job, named after it); each result is recorded as it arrives."""
    from yibao.batch import cluster
    data, dest = str(Path(data_dir).resolve()), str(Path(out).resolve())
    calls = [(f"yibao-{job.period}-{job.name.replace('/', '-')}-{key[:12]}", run_job_on_worker,
              (job, data, dest, formats, engine, key, extra_params, release_date, code_fp)) for job, key in todo]

    def done(i: int, result: JobResult | None, error: BaseException | None) -> None:
        job = todo[i][0]
        if result is None:  # lost with its workers too often, or the task could not run
            result = JobResult(job.name, job.region, job.kind, job.period, job.topic, "failed", 0.0, [],
                               _error_line(error))
        results.append(result)
        if bar:
            bar.set_postfix_str(job.name)
            bar.update(1)
    cluster.run_tasks(scheduler, calls, done)


def _write_manifests(results: list[JobResult], out: str, engine: str, formats: list[str]) -> None:
    by_period: dict[str, list[JobResult]] = {}
    for r in results:
        by_period.setdefault(r.period, []).append(r)
    for period, rs in by_period.items():
        path = Path(out) / period / "manifest.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        # concurrent runs on one --out: read-modify-write under an exclusive lock, so no entry is lost
        with open(path.parent / ".manifest.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            _merge_manifest(path, rs, engine, formats)


def _merge_manifest(path: Path, rs: list[JobResult], engine: str, formats: list[str]) -> None:
    old = {}
    if path.exists():
        try:
            old = {j["job"]: j for j in json.loads(path.read_text(encoding="utf-8")).get("jobs", [])}
        except (OSError, ValueError):
            old = {}
    for r in rs:
        old[r.job] = asdict(r)
    manifest = {
        "period": rs[0].period,
        "generated_at": dt.datetime.now().isoformat(timespec="seconds"),
        "yibao_version": __version__,
        "engine": _engine_name(engine),
        "formats": formats,
        "jobs": [old[k] for k in sorted(old)],
    }
    write_text(path, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")


def _engine_name(engine: str) -> str:
    if engine == "auto":
        return "quarto" if shutil.which("quarto") else "builtin"
    return engine


# ---- CLI ----------------------------------------------------------------------------------------

def run_cli(args) -> int:
    out = args.out
    if not args.data:
        raise YibaoError("--data: 需要数据集目录（或使用 --plan 与 --due）")
    if not args.period:
        raise YibaoError("--period: 需要期间，如 2026Q3、2026-09、2025")
    data_dir = Path(args.data)
    if not data_dir.is_dir():
        raise YibaoError(f"--data: 数据目录 {data_dir} 不存在")
    from yibao.data.gate import Scope, print_warnings, require_valid, validated
    # the regions asked for (poolarea, fixmedins) can be read to plan the jobs
    validated(data_dir, Scope.of(tables=(), regions=args.region or None))
    jobs = plan_jobs(data_dir, args.period, args.region, args.kind, args.topic)
    # nothing is computed from invalid data: every table, for the jobs' regions and the period's months
    print_warnings(require_valid(data_dir, regions=sorted({j.region for j in jobs}), period=args.period))
    results = run_batch(jobs, data_dir, out, args.formats, args.engine, args.jobs, args.force,
                        progress=not args.no_progress, release_date=getattr(args, "release_date", None),
                        scheduler=getattr(args, "scheduler", None))
    return report_results(results, out)


def report_results(results: list[JobResult], out: str) -> int:
    failed = [r for r in results if r.status == "failed"]
    for r in results:
        mark = {"ok": "完成", "skipped": "跳过(未变化)", "failed": "失败"}[r.status]
        print(f"{mark:8s} {r.period}/{r.job}  {r.seconds:.1f}s" + (f"  — {r.error}" if r.error else ""))
    periods = sorted({r.period for r in results})
    for p in periods:
        print(f"输出目录 / outputs: {Path(out) / p}  (manifest: {Path(out) / p / 'manifest.json'})")
    if failed:
        print(f"{len(failed)} 个作业失败 / job(s) failed:", file=sys.stderr)
        for r in failed:
            print(f"  {r.period}/{r.job}: {r.error}", file=sys.stderr)
        return 1
    return 0
