"""The 审议 record's automatic checks each on a failing case as well as the passing one (issue 19): A3, A4,
B3, B4, C0 and C6 (test_review.py covers A1, A2, B1, B2, C1–C5 failing). The publication and the dataset are
test_review's; each test breaks one thing by hand."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from yibao.workgroup import review

from test_review import PERIOD, dataset, make_pub, results  # noqa: F401 - dataset is a fixture

__all__ = ["dataset"]


def _indicators(pub: Path, **values) -> None:
    """Set region values of indicators.csv by id (None drops the row)."""
    ind = pd.read_csv(pub / "indicators.csv", dtype=str, keep_default_na=False)
    for iid, v in values.items():
        iid = iid.lstrip("i")
        sel = (ind["indicator_id"] == iid) & (ind["fixmedins_code"] == "")
        if v is None:
            ind = ind[~sel]
        elif sel.any():
            ind.loc[sel, "value"] = f"{v:.2f}"
        else:
            ind = pd.concat([ind, pd.DataFrame([{"indicator_id": iid, "name": "", "poolarea_no": "350100",
                                                 "fixmedins_code": "", "period": PERIOD, "value": f"{v:.2f}",
                                                 "unit": "元", "status": "ok"}])])
    ind.to_csv(pub / "indicators.csv", index=False)


def test_a3_identities(tmp_path, dataset):  # noqa: F811
    pub = make_pub(tmp_path)
    r = results(pub, dataset)["A3"]
    assert r.result == review.PASS and r.detail == "已核对 8=9+12"          # 5100000 = 3600000 + 1500000
    _indicators(pub, i8=5_100_000.0 + 0.02)                                 # within the 0.03 元 rounding
    assert results(pub, dataset)["A3"].result == review.PASS
    _indicators(pub, i8=5_100_000.0 + 0.05)
    r = results(pub, dataset)["A3"]
    assert r.result == review.FAIL and "指标8" in r.detail
    _indicators(pub, i8=5_100_000.0, i1=900.0, i2=500.0, i5=300.0)         # 900 ≠ 500 + 300
    r = results(pub, dataset)["A3"]
    assert r.result == review.FAIL and r.detail == "指标1 900 ≠ 2+5 800"
    _indicators(pub, i8=None, i1=None)
    assert results(pub, dataset)["A3"].result == review.SKIP


def test_a4_sources(tmp_path, dataset):  # noqa: F811
    pub = make_pub(tmp_path)
    assert results(pub, dataset)["A4"].result == review.PASS               # 11 ≤ 10 and 13 ≤ 12
    _indicators(pub, i11=3_000_000.0)                                       # equal: still consistent
    assert results(pub, dataset)["A4"].result == review.PASS
    _indicators(pub, i11=3_000_000.02)                                      # above by more than the rounding
    r = results(pub, dataset)["A4"]
    assert r.result == review.FAIL and "指标11" in r.detail and "指标10" in r.detail
    _indicators(pub, i11=5000.0, i13=1_500_001.0)
    r = results(pub, dataset)["A4"]
    assert r.result == review.FAIL and "指标13" in r.detail


def test_b3_inputs(tmp_path, dataset):  # noqa: F811
    pub = make_pub(tmp_path)
    r = results(pub, dataset)["B3"]
    assert r.result == review.PASS, r.detail
    # a region indicator without its input: a note, not a failure
    ind = pd.read_csv(pub / "indicators.csv", dtype=str, keep_default_na=False)
    ind.loc[ind["indicator_id"] == "12", ["value", "status"]] = ["", "missing_input"]
    ind.to_csv(pub / "indicators.csv", index=False)
    r = results(pub, dataset)["B3"]
    assert r.result == review.NOTE and "missing_input" in r.detail and "12" in r.detail
    # a required table missing from the dataset: a failure that names it
    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    (data / "fund_report.parquet").unlink()
    r = results(make_pub(tmp_path), data)["B3"]
    assert r.result == review.FAIL and "fund_report" in r.detail


def test_b4_files(tmp_path, dataset):  # noqa: F811
    pub = make_pub(tmp_path)
    assert results(pub, dataset)["B4"].result == review.PASS
    for name in ("checks.csv", "indicators.csv", "quarterly.ipynb", "quarterly.html"):
        pub = make_pub(tmp_path)
        (pub / name).unlink()
        r = results(pub, dataset)["B4"]
        assert r.result == review.FAIL and name.split(".")[0] in r.detail, (name, r.detail)
    pub = make_pub(tmp_path)                                                # a DOCX instead of the HTML is enough
    (pub / "quarterly.html").rename(pub / "quarterly.docx.bak")
    (pub / "quarterly.docx").write_bytes(b"")
    assert results(pub, dataset)["B4"].result == review.PASS


def test_c6_confidentiality(tmp_path, dataset):  # noqa: F811
    pub = make_pub(tmp_path)
    r = results(pub, dataset)["C6"]
    assert r.result == review.PASS and "quarterly.html" in r.detail
    html = (pub / "quarterly.html").read_text(encoding="utf-8")
    (pub / "quarterly.html").write_text(html.replace("数据仅限本统筹地区定点医药机构内部使用，不得对外传播", "内部资料"),
                                        encoding="utf-8")
    r = results(pub, dataset)["C6"]
    assert r.result == review.FAIL and "quarterly.html" in r.detail and review.CONFIDENTIALITY_MARK in r.detail


def test_c0_unreadable_output(tmp_path, dataset):  # noqa: F811
    pub = make_pub(tmp_path)
    checks = review.run_checks(pub, "quarterly", "350100", PERIOD, dataset)
    assert [c for c in checks if c.id == "C0"] == []                        # every file read and scanned
    (pub / "digao.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    r = results(pub, dataset)
    assert r["C0"].result == review.FAIL and "digao.xlsx" in r["C0"].detail


def test_c5_small_counts_on_both_sides_of_the_threshold(tmp_path, dataset):  # noqa: F811
    for value, want in (("4", review.FAIL), ("1", review.FAIL), ("5", review.PASS), ("0", review.PASS)):
        pub = make_pub(tmp_path)
        ind = pd.read_csv(pub / "indicators.csv", dtype=str, keep_default_na=False)
        row = {"indicator_id": "39", "name": "住院人次", "poolarea_no": "350100", "fixmedins_code": "H35010000002",
               "period": PERIOD, "value": value, "unit": "人次", "status": "ok"}
        pd.concat([ind, pd.DataFrame([row])]).to_csv(pub / "indicators.csv", index=False)
        r = results(pub, dataset)["C5"]
        assert r.result == want, (value, r.detail)
        if want == review.FAIL:
            assert "1 行机构计数在 1–4 之间未隐去（指标 39）" in r.detail
