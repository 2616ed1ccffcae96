"""Shared fixtures. Synthetic datasets are generated once per test session and shared by the xdist
workers through a cache keyed on the generator's source code (a file lock serialises generation)."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
os.environ.setdefault("MPLBACKEND", "Agg")
CACHE = PROJECT / ".pytest_cache" / "yibao-synth"
# the warehouse's cache of per-file facts (warehouse.cache_dir): kept inside the project, not in ~/.cache
os.environ.setdefault("YIBAO_CACHE_DIR", str(PROJECT / ".pytest_cache" / "yibao-cache"))


IN_CI = bool(os.environ.get("CI"))  # .ci/run exports CI=1


def needs(ok: bool, what: str) -> None:
    """A test that needs something outside the checkout (../shared, an optional program): skipped on a
    developer's machine without it, a failure under CI, where a skip would silently test nothing."""
    if not ok:
        if IN_CI:
            pytest.fail(f"CI: {what} is missing; the test cannot run (a skip would hide it)")
        pytest.skip(f"{what} not available")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI no test may skip: a skip is reported as a failure naming its reason."""
    outcome = yield
    rep = outcome.get_result()
    if IN_CI and rep.skipped and not hasattr(rep, "wasxfail"):
        rep.outcome = "failed"
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.longrepr = f"CI: skipped tests are not allowed ({reason})"


def _synth_hash() -> str:
    h = hashlib.sha256()
    pkg = PROJECT / "lib" / "yibao"
    for p in sorted((pkg / "synth").glob("*.py")) + [pkg / "data" / "contract.py", pkg / "data" / "reference.py"]:
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def synth_dataset(scale: str, seed: int, clean: bool = False) -> Path:
    """A synthetic dataset, generated at most once per generator version (read-only for tests)."""
    from yibao.synth import generate as synth
    CACHE.mkdir(parents=True, exist_ok=True)
    key = f"{scale}-{seed}-{'clean' if clean else 'planted'}-{_synth_hash()}"
    target = CACHE / key
    with open(CACHE / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "planted.json").exists():
            for old in CACHE.glob(f"{scale}-{seed}-{'clean' if clean else 'planted'}-*"):
                if old.is_dir() and old != target:
                    shutil.rmtree(old, ignore_errors=True)
            synth.generate(target, scale=scale, seed=seed, clean=clean)
        fcntl.flock(lock, fcntl.LOCK_UN)
    return target


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return PROJECT


@pytest.fixture(scope="session")
def small_data() -> Path:
    """A small synthetic dataset (seed 7) with planted anomalies; planted.json beside the tables.
    Shared: copy it before changing anything."""
    return synth_dataset("small", 7)


@pytest.fixture(scope="session")
def small_planted(small_data) -> dict:
    return json.loads((small_data / "planted.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def clean_data() -> Path:
    """A small synthetic dataset with no planted anomalies (false-alarm checks)."""
    return synth_dataset("small", 11, clean=True)


def build_once(tmp_path_factory, group: str, name: str, build) -> Path:
    """A directory filled by ``build(path)`` once per test run: under pytest-xdist the workers share it
    (file lock, like the dataset cache in conftest.py), so the notebooks run once whichever worker gets
    which test of this module."""
    uid = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not uid:
        d = tmp_path_factory.mktemp(name)
        build(d)
        return d
    root = tmp_path_factory.getbasetemp().parent / f"{group}-{uid}"
    root.mkdir(exist_ok=True)
    d = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if (d / ".failed").exists():
                pytest.fail((d / ".failed").read_text(encoding="utf-8"))
            if not (d / ".done").exists():
                shutil.rmtree(d, ignore_errors=True)
                d.mkdir()
                try:
                    build(d)
                except BaseException as exc:
                    (d / ".failed").write_text(f"{name}: {exc}", encoding="utf-8")
                    raise
                (d / ".done").write_text("ok", encoding="utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return d


def plan_rejects(path: Path, cases) -> None:
    """Each (release entry in YAML flow form, message) as the only release of region 350100 in the plan file
    ``path``: loading it is refused with the message, naming the region and the entry."""
    from yibao.errors import YibaoError
    from yibao.publications import plan
    for bad, msg in cases:
        path.write_text(f"year: 2027\nregions:\n  '350100':\n    releases:\n      - {bad}\n", encoding="utf-8")
        with pytest.raises(YibaoError, match=f"350100 第1项.*{msg}"):
            plan.load_plan(path)
