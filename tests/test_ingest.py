"""``yibao ingest``: partitioned Parquet, identifiers dropped, validated once, same numbers as the raw
layout, and a region's queries read only its own partitions (DuckDB's profiling output)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import synth_dataset

from yibao import cli
from yibao.data import gate
from yibao.data.warehouse import Warehouse

REGION = "350200"


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """The tiny dataset, with a column of identity-card numbers added to an export (it must not survive)."""
    d = tmp_path_factory.mktemp("raw") / "data"
    shutil.copytree(synth_dataset("tiny", 3), d)
    fix = pd.read_csv(d / "fixmedins.csv", dtype=str)
    fix["身份证号"] = "350102199001011234"
    fix.to_csv(d / "fixmedins.csv", index=False)
    return d


@pytest.fixture(scope="module")
def ingested(raw, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pq") / "data"
    assert cli.main(["ingest", "--from", str(raw), "--to", str(out)]) == 0
    return out


def _regions_months(raw: Path) -> tuple[list[str], list[str]]:
    with Warehouse(raw) as wh:
        regions = wh.regions()["poolarea_no"].tolist()
        return regions, wh.months()


def test_layout_is_hive_partitions_by_region_and_month(raw, ingested):
    regions, months = _regions_months(raw)
    for table in ("setl", "setl_list"):
        dirs = sorted(p.parent.relative_to(ingested / table).as_posix() for p in (ingested / table).rglob("*.parquet"))
        assert {d.split("/")[0] for d in dirs} == {f"poolarea_no={r}" for r in regions}
        assert {d.split("/")[1] for d in dirs} <= {f"month={m}" for m in months}
        assert len(dirs) == len(set(dirs))  # one file per partition
    # every settlement sits in the partition of its region and of the month of its settlement time
    one = next((ingested / "setl" / f"poolarea_no={REGION}").glob("month=2026-08/*.parquet"))
    t = pq.read_table(one).to_pandas()
    assert "poolarea_no" not in t.columns  # the partition holds it
    assert set(t["setl_time"].dt.strftime("%Y-%m")) == {"2026-08"}
    with Warehouse(raw) as wh:
        n = wh.scalar("SELECT count(*) FROM setl WHERE poolarea_no = ? AND strftime(setl_time, '%Y-%m') = '2026-08'",
                      [REGION])
    assert len(t) == n
    marker = json.loads((ingested / "_ingest.json").read_text(encoding="utf-8"))
    assert marker["partitions"] == {"setl": ["poolarea_no", "month"], "setl_list": ["poolarea_no", "month"]}
    assert marker["validation"]["passed"] is True


def test_identifiers_are_dropped(ingested):
    fix = pq.read_table(ingested / "fixmedins.parquet")
    assert "身份证号" not in fix.column_names and "certno" not in fix.column_names
    for p in ingested.rglob("*.parquet"):
        assert "350102199001011234" not in p.read_bytes().decode("latin-1")


def test_numbers_are_the_same_as_from_the_raw_exports(raw, ingested, tmp_path):
    from yibao.findings import engine as findings
    from yibao.metrics import analysis, indicators
    with Warehouse(raw) as a, Warehouse(ingested) as b:
        ia = indicators.compute(a, REGION, "2026Q3")
        ib = indicators.compute(b, REGION, "2026Q3")
        pd.testing.assert_frame_equal(ia, ib)
        assert (ia["status"] == "ok").sum() > 20
        ca = analysis.settlement_cube(a, REGION, "2026Q3").sort_values(["period", "fixmedins_code", "direction"])
        cb = analysis.settlement_cube(b, REGION, "2026Q3").sort_values(["period", "fixmedins_code", "direction"])
        pd.testing.assert_frame_equal(ca.reset_index(drop=True), cb.reset_index(drop=True))
        fa, fb = findings.find(a, REGION, "2026Q3"), findings.find(b, REGION, "2026Q3")
        pd.testing.assert_frame_equal(fa.reset_index(drop=True), fb.reset_index(drop=True))
        # reversals are netted the same way: a reversed settlement counts for nothing in both layouts
        net = "SELECT count(*) FROM setl_net WHERE poolarea_no = ?"
        assert a.scalar(net, [REGION]) == b.scalar(net, [REGION])
        assert a.scalar(net, [REGION]) < a.scalar("SELECT count(*) FROM setl WHERE poolarea_no = ?", [REGION])


def test_validated_once(raw, ingested, monkeypatch):
    from yibao.data import validate
    gate._MEMO.clear()

    def must_not_run(*a, **k):
        raise AssertionError("validated again")
    monkeypatch.setattr(validate, "validate", must_not_run)
    monkeypatch.setenv("YIBAO_CACHE_DIR", "")
    # the verdict recorded at ingest: the raw export's one warning (the identifier column it dropped)
    assert [(w.code, w.column) for w in gate.validated(ingested)] == [("identifier_column", "身份证号")]
    # a file changed after ingest: the recorded verdict no longer holds, the dataset is validated again
    f = next((ingested / "setl").rglob("*.parquet"))
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    gate._MEMO.clear()
    try:
        with pytest.raises(AssertionError, match="validated again"):
            gate.validated(ingested)
    finally:
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
        gate._MEMO.clear()


def test_failing_dataset_is_not_ingested(raw, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(raw, bad)
    pa = pd.read_csv(bad / "poolarea.csv", dtype=str)
    pa.loc[0, "pay_method"] = "XYZ"
    pa.to_csv(bad / "poolarea.csv", index=False)
    out = tmp_path / "out"
    assert cli.main(["ingest", "--from", str(bad), "--to", str(out)]) == 1
    assert "pay_method" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".out.ingest-*"))


def _scans(profile: Path) -> list[dict]:
    """The parquet scans of the last profiled query: files read and their names."""
    p = json.loads(profile.read_text(encoding="utf-8"))
    out = []

    def walk(n):
        if n.get("type") == "TABLE_SCAN" and n["extra_info"].get("Function") == "READ_PARQUET":
            out.append(n["extra_info"])
        for c in n.get("children", []):
            walk(c)
    for c in p["operator"]:
        walk(c)
    return out


def test_a_region_reads_only_its_partitions(raw, ingested, tmp_path):
    from yibao.metrics import analysis
    regions, _ = _regions_months(raw)
    own = {t: len(list((ingested / t / f"poolarea_no={REGION}").rglob("*.parquet"))) for t in ("setl", "setl_list")}
    total = {t: len(list((ingested / t).rglob("*.parquet"))) for t in ("setl", "setl_list")}
    assert len(regions) == 3 and all(own[t] < total[t] for t in own)
    prof = tmp_path / "profile.json"
    with Warehouse(ingested) as wh:
        wh.sql("PRAGMA enable_profiling = 'json'")
        wh.sql(f"PRAGMA profiling_output = '{prof}'")
        # the settlement cube the quarterly sections share: this quarter and the same quarter a year earlier
        analysis.settlement_cube(wh, REGION, "2026Q3")
        scans = [s for s in _scans(prof) if "/setl/" in s["Filename(s)"]]
        assert scans
        files = [int(s["Total Files Read"]) for s in scans]
        # the settlements: 6 months' files of the region; the reversal lookup: the region's files only
        assert sorted(files) == [6, own["setl"]]
        for s in scans:
            assert s["Scanning Files"].endswith(f"/{total['setl']}")
            names = [n.strip() for n in s["Filename(s)"].split(",") if n.strip() != "..."]
            assert names and all(f"poolarea_no={REGION}/" in n for n in names)
            assert f"poolarea_no = '{REGION}'" in s["File Filters"]
        # the settlement lists of a month, as the monthly push reads them
        wh.df("SELECT count(*), sum(fee_drug) FROM setl_list_net WHERE poolarea_no = ? AND month = '2026-08'", [REGION])
        scans = _scans(prof)
        lists = [s for s in scans if "/setl_list/" in s["Filename(s)"]]
        assert len(lists) == 1 and int(lists[0]["Total Files Read"]) <= own["setl_list"]
        for s in scans:
            assert int(s["Total Files Read"]) <= own["setl"]
            assert all(f"poolarea_no={REGION}/" in n for n in s["Filename(s)"].split(", ") if n != "...")
    # the raw layout (one file per table) reads the whole table for the same query
    prof2 = tmp_path / "profile-raw.json"
    with Warehouse(raw) as wh:
        wh.sql("PRAGMA enable_profiling = 'json'")
        wh.sql(f"PRAGMA profiling_output = '{prof2}'")
        analysis.settlement_cube(wh, REGION, "2026Q3")
        assert any("setl.parquet" in s["Filename(s)"] for s in _scans(prof2))


def test_partition_mismatch_is_a_validation_error(ingested, tmp_path):
    """A row moved into another month's partition breaks the promise the warehouse relies on."""
    from yibao.data.validate import ERROR, validate
    bad = tmp_path / "bad"
    shutil.copytree(ingested, bad)
    part = bad / "setl" / f"poolarea_no={REGION}"
    src, dst = part / "month=2026-08" / "data_0.parquet", part / "month=2026-09" / "data_1.parquet"
    shutil.move(src, dst)
    problems = [p for p in validate(bad) if p.severity == ERROR]
    assert any(p.code == "partition_mismatch" and p.table == "setl" for p in problems), problems
