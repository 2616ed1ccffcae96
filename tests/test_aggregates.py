"""Compute once, read many: a job's data step stores the region-period aggregates; the notebook's sections
read them (no recomputation) and the publication is exactly what computing them in the notebook gives."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import synth_dataset

from yibao.batch import runner
from yibao.data.warehouse import Warehouse
from yibao.metrics import aggregates, analysis, indicators, shared
from yibao.publications.context import Context

REGION, PERIOD = "350100", "2026Q3"


@pytest.fixture(scope="module")
def data() -> Path:
    return synth_dataset("tiny", 3)


@pytest.fixture(scope="module")
def stage(data, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("stage")
    runner.write_precomputed(runner.Job(REGION, PERIOD, "quarterly"), data, d)
    return d


def test_the_data_step_stores_every_aggregate_of_the_quarterly_sections(stage):
    names = {p.name.rsplit("-", 1)[0] for p in (stage / shared.STORE_DIR).glob("*.parquet")}
    assert {n for n, _ in aggregates.QUARTERLY} | {"indicators"} == names
    assert len(list((stage / shared.STORE_DIR).glob("indicators-*.parquet"))) == 3  # 上期, 同期, all of 本期
    assert (stage / "indicators.csv").is_file() and (stage / "findings.csv").is_file()


def test_sections_read_the_stored_aggregates_and_they_equal_a_fresh_computation(data, stage):
    ctx = Context.open(data, REGION, PERIOD, stage)
    store = ctx.wh.__dict__["_yibao_aggregates"]
    try:
        with Warehouse(data) as fresh:
            for name, args in aggregates.QUARTERLY:
                fn = getattr(analysis, name)
                got = fn(ctx.wh, ctx.region) if args is None else fn(ctx.wh, ctx.region, PERIOD, *args)
                want = fn(fresh, REGION) if args is None else fn(fresh, REGION, PERIOD, *args)
                # (DuckDB sums floats in parallel: the last bit of a mean may differ between two computations)
                pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9)
            p = ctx.period
            pd.testing.assert_frame_equal(ctx.ind_prev, indicators.compute(fresh, REGION, p.previous().code), rtol=1e-9)
            pd.testing.assert_frame_equal(ctx.ind_yoy, indicators.compute(fresh, REGION, p.year_ago().code), rtol=1e-9)
            pd.testing.assert_frame_equal(ctx.ind_all, indicators.compute(fresh, REGION, PERIOD, strict_frequency=False),
                                          rtol=1e-9)
        read = {h.rsplit("-", 1)[0] for h in store.hits}
        assert read == {n for n, _ in aggregates.QUARTERLY} | {"indicators"}
        # a frame handed out is a copy: changing it does not change what the next section reads
        a = analysis.fund_income(ctx.wh, ctx.region, PERIOD)
        a["amount"] = -1.0
        assert (analysis.fund_income(ctx.wh, ctx.region, PERIOD)["amount"] != -1.0).any()
    finally:
        ctx.close()


def test_a_frame_that_would_change_in_parquet_is_not_stored(tmp_path):
    store = shared.Store(tmp_path)
    assert store.put("fine", pd.DataFrame({"a": [1.5, None], "b": ["x", None]}))
    mixed = pd.DataFrame({"v": [1, "二", 3.5]})  # mixed Python objects: no exact Parquet column
    assert not store.put("mixed", mixed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fine.parquet"]


def _outputs(nb_path: Path) -> list:
    nb = nbformat.read(str(nb_path), as_version=4)
    return [[{k: v for k, v in o.items() if k != "execution_count"} for o in c.get("outputs", [])]
            for c in nb.cells if c.cell_type == "code"][1:]  # the parameters cell aside


def test_the_notebook_with_the_store_publishes_exactly_what_it_computes_without(data, stage, tmp_path):
    from yibao.render.execute import execute_notebook
    job = runner.Job(REGION, PERIOD, "quarterly")
    bare = tmp_path / "bare"
    shutil.copytree(stage, bare)
    shutil.rmtree(bare / shared.STORE_DIR)
    with_store, without = tmp_path / "with.ipynb", tmp_path / "without.ipynb"
    execute_notebook(job.notebook, with_store, runner.job_params(job, data, {"precomputed": str(stage)}))
    execute_notebook(job.notebook, without, runner.job_params(job, data, {"precomputed": str(bare)}))
    a, b = _outputs(with_store), _outputs(without)
    assert sum(len(x) for x in a) > 20
    assert a == b


def test_a_batch_computes_a_region_periods_aggregates_once(data, tmp_path):
    """Two jobs of one region and period (two kinds) share one store under OUT/P/.aggregates: the second
    job computes nothing its kind shares with the first, and both stages link to the same store."""
    root = tmp_path / "out" / PERIOD / ".aggregates"
    s1, s2 = tmp_path / "s1", tmp_path / "s2"
    s1.mkdir()
    s2.mkdir()
    runner.write_precomputed(runner.Job(REGION, PERIOD, "quarterly"), data, s1, root)
    files = {p.name: p.stat().st_mtime_ns for p in (s1 / shared.STORE_DIR).glob("*.parquet")}
    runner.write_precomputed(runner.Job(REGION, PERIOD, "annual"), data, s2, root)
    assert (s1 / shared.STORE_DIR).is_symlink() and (s2 / shared.STORE_DIR).is_symlink()
    assert (s1 / shared.STORE_DIR).resolve() == (s2 / shared.STORE_DIR).resolve()
    after = {p.name: p.stat().st_mtime_ns for p in (s2 / shared.STORE_DIR).glob("*.parquet")}
    # the tables both kinds read (budget execution, fund income …) were already there: none rewritten; the
    # annual kind adds only its own two year cubes
    assert {k: after[k] for k in files} == files
    assert {k.rsplit("-", 1)[0] for k in set(after) - set(files)} == {"year_settlement_cube", "year_list_cube"}
    assert len(list((root / REGION).iterdir())) == 2  # the store and its lock
    shutil.rmtree(s1)
    assert (root / REGION).is_dir() and after == {p.name: p.stat().st_mtime_ns
                                                  for p in next(d for d in (root / REGION).iterdir() if d.is_dir()).glob("*.parquet")}


def test_strict_and_all_frequency_indicators_share_their_queries_and_equal_separate_computations(data):
    """The data step computes a period's 数据底稿 strictly (indicators.csv) and regardless of frequency (参考值,
    上期/同期) in one warehouse: every indicator query runs once per period, and each frame is exactly what a
    computation on its own warehouse gives."""
    prev = "2026Q2"
    with Warehouse(data) as wh:
        calls = []
        real = wh.sql

        def counting(sql, *a, **k):
            calls.append(sql)
            return real(sql, *a, **k)
        wh.sql = counting
        all_freq = indicators.compute_periods(wh, REGION, [PERIOD, prev], strict_frequency=False)
        n_all = len(calls)
        assert n_all > 50  # the cube and the catalogue's queries went through the counter
        strict_cur = indicators.compute(wh, REGION, PERIOD)
        strict_prev = indicators.compute(wh, REGION, prev)
        assert len(calls) == n_all  # nothing queried again: the strict frames come from the same query results
        assert (strict_cur["status"] == "not_applicable").sum() > (all_freq[indicators.Period.parse(PERIOD)]["status"]
                                                                    == "not_applicable").sum()
    for period, strict, got in [(PERIOD, True, strict_cur), (prev, True, strict_prev),
                                (PERIOD, False, all_freq[indicators.Period.parse(PERIOD)]),
                                (prev, False, all_freq[indicators.Period.parse(prev)])]:
        with Warehouse(data) as alone:
            want = indicators.compute(alone, REGION, period, strict_frequency=strict)
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_the_data_step_opens_the_dataset_once(data, tmp_path, monkeypatch):
    opened = []
    real = Warehouse.__init__

    def counting(self, *a, **k):
        opened.append(a)
        real(self, *a, **k)
    monkeypatch.setattr(Warehouse, "__init__", counting)
    runner.write_precomputed(runner.Job(REGION, PERIOD, "quarterly"), data, tmp_path)
    assert len(opened) == 1
    assert (tmp_path / "indicators.csv").is_file() and (tmp_path / "findings.csv").is_file()


def test_the_checks_appendix_reads_checks_csv_and_it_equals_running_the_checks(data, stage):
    from yibao.metrics import checks
    ctx = Context.open(data, REGION, PERIOD, stage)
    try:
        got = ctx.checks
        assert len(got) > 20 and set(got["status"]) <= {"pass", "fail", "warn", "skip"}
        want = checks.run_checks(ctx.wh, REGION, PERIOD, indicators.compute(ctx.wh, REGION, PERIOD))
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want.astype(str).reset_index(drop=True),
                                      check_dtype=False)
    finally:
        ctx.close()
    bare = Context.open(data, REGION, PERIOD)  # no precomputed files: the checks are run
    try:
        pd.testing.assert_frame_equal(bare.checks.astype(str), want.astype(str))
    finally:
        bare.close()


def test_a_topic_study_reads_the_jobs_findings_and_publishes_what_it_computes_without(data, tmp_path):
    """The topic notebooks take ``precomputed`` like the others: the findings' upcoding signal comes from the
    job's findings.csv instead of a second run of the findings engine, with the same outputs."""
    from yibao.render.execute import execute_notebook
    job = runner.Job(REGION, PERIOD, "topic", "EJ1", pay_method="DRG")
    stage = tmp_path / "stage"
    stage.mkdir()
    runner.write_precomputed(job, data, stage)
    assert (stage / "findings.csv").is_file()
    with_pre, without = tmp_path / "with.ipynb", tmp_path / "without.ipynb"
    execute_notebook(job.notebook, with_pre, runner.job_params(job, data, {"precomputed": str(stage)}))
    execute_notebook(job.notebook, without, runner.job_params(job, data, {"precomputed": ""}))
    a, b = _outputs(with_pre), _outputs(without)
    assert sum(len(x) for x in a) > 5
    assert a == b
    nb = nbformat.read(str(with_pre), as_version=4)
    assert any("Context.open(data_dir, region, period, precomputed)" in c.source for c in nb.cells)
