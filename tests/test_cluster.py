"""``yibao run --scheduler``: a real Dask scheduler and two workers (separate processes, random ports on
localhost) build the same bytes as the local pool; a worker killed mid-job loses nothing (its job is
rescheduled on the other); the manifest records which worker built what; a second run resumes (skips)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import needs, synth_dataset

from yibao import cli

BIN = Path(sys.executable).parent
REGIONS = ["350100", "350300"]
RUN = ["--period", "2026Q3", "--kind", "quarterly", "--formats", "html", "--release-date", "2026-10-15",
       "--no-progress", "--region", *REGIONS]


def _wait(cond, timeout: float, what: str, procs=()):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond():
            return
        for p in procs:
            assert p.poll() is None, f"{what}: process {p.args[:3]} exited with {p.returncode}"
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes (no nanny: a killed worker stays dead)."""
    needs((BIN / "dask").exists(), "the dask command (requirements.txt: dask[distributed])")
    d = tmp_path_factory.mktemp("dask")
    sfile = d / "scheduler.json"
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
    procs = {"scheduler": subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(sfile)], stdout=subprocess.DEVNULL, stderr=open(d / "scheduler.log", "w"), env=env)}
    try:
        _wait(lambda: sfile.exists() and sfile.stat().st_size > 0, 60, "the scheduler file", procs.values())
        address = json.loads(sfile.read_text())["address"]
        for name in ("w1", "w2"):
            procs[name] = subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--host", "127.0.0.1", "--name", name, "--local-directory", str(d / name)],
                stdout=subprocess.DEVNULL, stderr=open(d / f"{name}.log", "w"), env=env)
        from yibao.batch import cluster as dc
        _wait(lambda: len(dc.workers(address)) == 2, 120, "two workers", procs.values())
        yield {"address": address, "procs": procs, "dir": d}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
        for p in procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cdata") / "data"
    shutil.copytree(synth_dataset("tiny", 3), d)
    return d


@pytest.fixture(scope="module")
def local_run(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local")
    assert cli.main(["run", "--data", str(data), "--out", str(out), "--jobs", "1", *RUN]) == 0
    return out


REVIEW = ("review.xlsx", "review.docx", "review.md")  # the 审议 record: stamped with the time its checks ran


def _strip_time(v):
    if isinstance(v, dict):
        return {k: _strip_time(x) for k, x in v.items() if k != "自动检查时间"}
    if isinstance(v, list):
        return [_strip_time(x) for x in v]
    return v


def _files(out: Path) -> dict[str, bytes]:
    """The published files (manifest, stamps and lock aside). The 审议 record says when its automatic checks
    ran (wall-clock time, different in any two runs): its review.json is compared without that one field,
    and the xlsx / docx / md renderings of the same record are left out."""
    root = out / "2026Q3"
    files = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name in ("manifest.json", ".manifest.lock", *REVIEW) or {".jobs", ".aggregates"} & set(p.parts):
            continue
        if p.name == "review.json":
            files[p.relative_to(root).as_posix()] = json.dumps(
                _strip_time(json.loads(p.read_text(encoding="utf-8"))), ensure_ascii=False, sort_keys=True).encode()
        else:
            files[p.relative_to(root).as_posix()] = p.read_bytes()
    return files


def test_cluster_run_equals_local_run_and_survives_a_lost_worker(cluster, data, local_run, tmp_path):
    out = tmp_path / "out"
    from yibao.batch import cluster as dc
    workers = dc.workers(cluster["address"])
    pids = {name: cluster["procs"][name].pid for name in ("w1", "w2")}
    proc = subprocess.Popen([str(BIN / "yibao"), "run", "--data", str(data), "--out", str(out),
                             "--scheduler", cluster["address"], *RUN],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # both workers start a job (one each); kill one of them in the middle of its job
    stages = lambda: [p.name for p in (out / "2026Q3").glob(".stage-*")] if (out / "2026Q3").is_dir() else []
    _wait(lambda: len(stages()) == 2, 300, "both workers in a job", [proc])
    victim = next(n for n, pid in pids.items() if any(s.startswith(f".stage-{pid}-") for s in stages()))
    os.kill(pids[victim], signal.SIGKILL)
    cluster["procs"][victim].wait(timeout=30)
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr[-2000:]
    # the same bytes as the local pool, the retried job included
    got, want = _files(out), _files(local_run)
    assert sorted(got) == sorted(want)
    assert [k for k in want if got[k] != want[k]] == []
    assert {f"{r}/{n}" for r in REGIONS for n in ("quarterly.html", "quarterly.ipynb", "indicators.csv", "digao.xlsx",
                                                  "findings.csv", "review.json")} <= set(got)
    assert all((out / "2026Q3" / r / n).is_file() for r in REGIONS for n in REVIEW)
    # the manifest names the worker that built each job: the survivor built the killed worker's job
    manifest = json.loads((out / "2026Q3" / "manifest.json").read_text(encoding="utf-8"))
    jobs = {j["region"]: j for j in manifest["jobs"]}
    assert sorted(jobs) == REGIONS and all(j["status"] == "ok" for j in jobs.values())
    survivor = next(a for a, n in workers.items() if n != victim)
    assert all(j["worker"] == f"{survivor} ({n})" for j in jobs.values() for n in [workers[survivor]])
    # the killed worker's staging directory is the only leftover (removed by the next run: its pid is dead)
    left = [p.name for p in (out / "2026Q3").glob(".stage-*")]
    assert all(n.startswith(f".stage-{pids[victim]}-") for n in left)
    # resume: a second run on the cluster skips both jobs (same stamps, same sha256) and keeps the workers
    before = {r: jobs[r]["worker"] for r in REGIONS}
    rc = cli.main(["run", "--data", str(data), "--out", str(out), "--scheduler", cluster["address"], *RUN])
    assert rc == 0
    manifest = json.loads((out / "2026Q3" / "manifest.json").read_text(encoding="utf-8"))
    assert {j["region"]: (j["status"], j["worker"]) for j in manifest["jobs"]} == \
        {r: ("skipped", before[r]) for r in REGIONS}
    assert not list((out / "2026Q3").glob(".stage-*"))  # the dead worker's leftover is gone
    assert _files(out) == got


def test_unreachable_scheduler_is_one_clear_error(data, tmp_path, capsys):
    rc = cli.main(["run", "--data", str(data), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9",
                   *RUN])
    assert rc == 1
    err = capsys.readouterr().err
    assert "--scheduler tcp://127.0.0.1:9" in err and "Traceback" not in err
