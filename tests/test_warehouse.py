"""The warehouse's typed views: code normalisation on parquet sources, with and without the fast path.

A parquet column whose every distinct value is already a normal code is used as it is (so DuckDB can push
filters into the scan); a column with any value to normalise gets the per-row normalisation. Both must give
the same typed values."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from yibao.data.contract import TABLES
from yibao.data.warehouse import Warehouse

SETL = TABLES["setl"]


def _setl_frame(rows: list[dict]) -> pd.DataFrame:
    """setl rows with every required field; codes given per row, the rest filled in."""
    out = []
    for i, r in enumerate(rows):
        base = {f.name: None for f in SETL.fields}
        base.update({"setl_id": f"S{i:03d}", "mdtrt_id": f"M{i:03d}", "psn_no": f"P{i:03d}",
                     "fixmedins_code": "H35010000001", "begndate": "2026-07-01", "enddate": "2026-07-03",
                     "setl_time": "2026-07-03 10:00:00", "medfee_sumamt": 100.0, "fulamt_ownpay_amt": 0.0,
                     "hifp_pay": 60.0, "refd_setl_flag": "0"})
        base.update(r)
        out.append(base)
    return pd.DataFrame(out)


def _write(tmp_path, df: pd.DataFrame, name="setl"):
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), d / f"{name}.parquet")
    return d


def _typed(d, cols):
    with Warehouse(d) as wh:
        df = wh.df(f"SELECT setl_id, {', '.join(cols)} FROM setl ORDER BY setl_id")
        clean = set(wh.clean_codes.get("setl", ()))
    return df, clean


def test_dirty_parquet_codes_are_normalised(tmp_path):
    df = _setl_frame([
        {"poolarea_no": " 350100 ", "insu_admdvs": "350100.0", "insutype": "310", "med_type": "2", "gend": ""},
        {"poolarea_no": "350100", "insu_admdvs": "\u3000440100", "insutype": "390.0", "med_type": "21",
         "gend": "1"},
        {"poolarea_no": "50100", "insu_admdvs": "350100", "insutype": "310 ", "med_type": "14", "gend": "2"},
    ])
    df["setl_id"] = [" S000", "1001.0", "S002"]
    d = _write(tmp_path, df)
    got, clean = _typed(d, ["poolarea_no", "insu_admdvs", "insutype", "med_type", "gend"])
    # every one of these columns has a value to normalise: none is used as it is
    assert not clean & {"poolarea_no", "insu_admdvs", "insutype", "med_type", "gend"}
    # rows by typed setl_id: '1001' (row 2), 'S000' (row 1), 'S002' (row 3)
    assert got["setl_id"].tolist() == ["1001", "S000", "S002"]      # '.0' dropped, trimmed
    assert got["poolarea_no"].tolist() == ["350100", "350100", "050100"]   # trimmed; padded to 6
    assert got["insu_admdvs"].tolist() == ["440100", "350100", "350100"]   # ideographic space trimmed; '.0' dropped
    assert got["insutype"].tolist() == ["390", "310", "310"]
    assert got["med_type"].tolist() == ["21", "02", "14"]
    assert got["gend"].isna().tolist() == [False, True, False]       # '' is NULL
    with Warehouse(d) as wh:   # filters on a normalised column find the normalised value
        assert wh.scalar("SELECT count(*) FROM setl WHERE poolarea_no = '350100'") == 2
        assert wh.scalar("SELECT count(*) FROM setl_net WHERE cls = '住院类'") == 1  # '21' ('02' is not 2x)


def test_clean_parquet_codes_are_used_as_they_are(tmp_path):
    df = _setl_frame([
        {"poolarea_no": "350100", "insu_admdvs": "350100", "insutype": "310", "med_type": "21", "gend": "1"},
        {"poolarea_no": "350100", "insu_admdvs": "440100", "insutype": "390", "med_type": "11", "gend": "2"},
        {"poolarea_no": "350200", "insu_admdvs": "350200", "insutype": "390", "med_type": "11", "gend": "2"},
    ])
    d = _write(tmp_path, df)
    got, clean = _typed(d, ["poolarea_no", "insu_admdvs", "insutype", "med_type"])
    assert {"poolarea_no", "insu_admdvs", "insutype", "med_type", "fixmedins_code", "refd_setl_flag"} <= clean
    assert "setl_id" not in clean   # identifier-like codes are never inspected
    assert got["med_type"].tolist() == ["21", "11", "11"]
    query = "SELECT sum(medfee_sumamt) FROM setl WHERE poolarea_no = '350100'"
    with Warehouse(d) as wh:
        plan = "\n".join(r[1] for r in wh.sql("EXPLAIN " + query).fetchall())
        assert wh.scalar(query) == 200.0
        assert wh.scalar("SELECT count(*) FROM setl WHERE med_type = '11' AND poolarea_no = '350100'") == 1
    # the filter on a clean code reaches the parquet scan
    scan = plan[plan.index("READ_PARQUET"):]
    assert "poolarea_no='350100'" in scan.replace(" ", "")


def test_numeric_parquet_codes_become_padded_strings(tmp_path):
    df = _setl_frame([{"poolarea_no": "350100", "insu_admdvs": "350100", "insutype": "310", "med_type": "21"}])
    df["insutype"] = pd.Series([310], dtype="int64")
    df["med_type"] = pd.Series([2.0], dtype="float64")
    d = _write(tmp_path, df)
    got, clean = _typed(d, ["insutype", "med_type"])
    assert got["insutype"].tolist() == ["310"]
    assert got["med_type"].tolist() == ["02"]
    assert "insutype" not in clean


@pytest.mark.parametrize("value, expected", [("0", "0"), ("1", "1"), (" 1", "1"), ("1.0", "1")])
def test_one_character_flags(tmp_path, value, expected):
    df = _setl_frame([{"poolarea_no": "350100", "insu_admdvs": "350100", "insutype": "310", "med_type": "21",
                       "refd_setl_flag": value}])
    got, _ = _typed(_write(tmp_path, df), ["refd_setl_flag"])
    assert got["refd_setl_flag"].tolist() == [expected]


def test_memory_limit_from_environment(tmp_path, monkeypatch):
    from yibao.errors import DataError
    d = _write(tmp_path, _setl_frame([{"poolarea_no": "350100", "insu_admdvs": "350100", "insutype": "310",
                                       "med_type": "21"}]))
    with Warehouse(d) as wh:
        assert wh.scalar("SELECT current_setting('memory_limit')") == "3.0 GiB"
    monkeypatch.setenv("YIBAO_MEMORY_LIMIT", "1GiB")
    with Warehouse(d) as wh:
        assert wh.scalar("SELECT current_setting('memory_limit')") == "1.0 GiB"
        spill = wh.scalar("SELECT current_setting('temp_directory')")
        assert "yibao-private-" in spill and "/duckdb-" in spill  # the process's private 0700 directory
    monkeypatch.setenv("YIBAO_MEMORY_LIMIT", "lots")
    with pytest.raises(DataError, match="YIBAO_MEMORY_LIMIT=lots"):
        Warehouse(d)


def test_clean_code_cache_follows_the_files(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("YIBAO_CACHE_DIR", str(cache))
    clean = _setl_frame([{"poolarea_no": "350100", "insu_admdvs": "350100", "insutype": "310", "med_type": "21"},
                         {"poolarea_no": "350100", "insu_admdvs": "350100", "insutype": "390", "med_type": "11"}])
    d = _write(tmp_path, clean)
    got, first = _typed(d, ["med_type"])
    assert "med_type" in first and len(list((cache / "codes").glob("*.json"))) == 1
    got, again = _typed(d, ["med_type"])     # answered from the cache: the same
    assert again == first
    dirty = clean.copy()
    dirty["med_type"] = [" 21", "11.0"]       # the file changes: the cache entry no longer applies
    _write(tmp_path, dirty)
    got, after = _typed(d, ["med_type"])
    assert "med_type" not in after
    assert got["med_type"].tolist() == ["21", "11"]
    assert len(list((cache / "codes").glob("*.json"))) == 2


def test_no_cache_when_disabled(tmp_path, monkeypatch):
    monkeypatch.setenv("YIBAO_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    d = _write(tmp_path, _setl_frame([{"poolarea_no": "350100", "insu_admdvs": "350100", "insutype": "310",
                                       "med_type": "21"}]))
    _, clean = _typed(d, ["med_type"])
    assert "med_type" in clean
    assert not (tmp_path / "xdg").exists()
