"""The quarterly report end to end: papermill batch, rendering, resume, failure isolation, privacy."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import readback

from yibao import cli

HEADINGS = ["一、基金收支及结算情况（钱）", "二、支付方式改革运行成效（效）", "三、重点关注指标（错）", "四、下一步工作安排"]


@pytest.fixture(scope="module")
def quarterly_run(small_data, tmp_path_factory):
    """Quarterly reports for every small-data region (html, docx, pdf). First the dataset is run with one
    region deliberately broken (an invalid pay_method): the validation gate stops the whole run before any
    work; then, repaired, the run completes."""
    data = tmp_path_factory.mktemp("qdata") / "data"
    shutil.copytree(small_data, data)
    pa = pd.read_csv(data / "poolarea.csv", dtype=str)
    broken = pa["poolarea_no"].iloc[-1]
    bad = pa.copy()
    bad.loc[bad["poolarea_no"] == broken, "pay_method"] = "XYZ"
    bad.to_csv(data / "poolarea.csv", index=False)
    out = tmp_path_factory.mktemp("qreports")
    args = ["run", "--data", str(data), "--period", "2026Q3", "--kind", "quarterly", "--jobs", "2",
            "--out", str(out), "--no-progress"]
    rc_invalid = cli.main(args)
    written_invalid = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    pa.to_csv(data / "poolarea.csv", index=False)
    rc = cli.main(args)
    return {"data": data, "out": out, "rc": rc, "rc_invalid": rc_invalid, "written_invalid": written_invalid,
            "broken": None, "regions": pa}


def _html_text(path: Path) -> str:
    return readback.text(path)


def _docx_text(path: Path) -> str:
    return readback.text(path)


def _pdf_text(path: Path) -> str:
    return readback.text(path)


def test_invalid_dataset_stops_the_run_then_every_region_completes(quarterly_run):
    out = quarterly_run["out"]
    assert quarterly_run["rc_invalid"] == 1
    assert quarterly_run["written_invalid"] == []  # the gate stopped it before any job: nothing written
    assert quarterly_run["rc"] == 0
    manifest = json.loads((out / "2026Q3" / "manifest.json").read_text(encoding="utf-8"))
    status = {j["region"]: j for j in manifest["jobs"]}
    ok = list(quarterly_run["regions"]["poolarea_no"])
    assert ok and all(status[r]["status"] == "ok" for r in ok)
    for r in ok:
        files = {f["path"] for f in status[r]["files"]}
        for name in ("quarterly.ipynb", "quarterly.html", "quarterly.docx", "quarterly.pdf", "indicators.csv",
                     "digao.xlsx", "checks.csv", "findings.csv"):
            assert f"{r}/{name}" in files
            assert (out / "2026Q3" / r / name).exists()
        assert all(len(f["sha256"]) == 64 for f in status[r]["files"])
    # nothing half-written: no staging leftovers
    assert not list((out / "2026Q3").glob(".stage-*"))


@pytest.mark.parametrize("fmt", ["html", "docx", "pdf"])
def test_rendered_reports_contain_sections_and_figures(quarterly_run, fmt):
    out, data = quarterly_run["out"], quarterly_run["data"]
    pa = quarterly_run["regions"]
    fix = pd.read_csv(data / "fixmedins.csv", dtype=str)
    setl_psn = _every_psn(data)
    for r in [x for x in pa["poolarea_no"] if x != quarterly_run["broken"]]:
        d = out / "2026Q3" / r
        text = {"html": _html_text, "docx": _docx_text, "pdf": _pdf_text}[fmt](d / f"quarterly.{fmt}")
        flat = re.sub(r"\s+", "", text)
        for h in HEADINGS:
            assert h in flat, (fmt, r, h)
        name = pa.set_index("poolarea_no").loc[r, "poolarea_name"]
        assert name in flat
        ind = pd.read_csv(d / "indicators.csv", dtype=str, keep_default_na=False)
        region_rows = ind[ind["fixmedins_code"] == ""].set_index("indicator_id")
        # figures equal to indicators.csv: 出院人次 (39) and 门诊人次 (38) as printed counts, 质控通过率 (29)
        for iid in ("39", "38"):
            v = int(round(float(region_rows.loc[iid, "value"])))
            assert f"{v:,}" in flat, (fmt, r, iid, v)
        rate = float(region_rows.loc["29", "value"])
        assert f"{rate:.2f}%" in flat, (fmt, r, rate)
        # only this region's institutions, no person identifiers
        others = fix[(fix["poolarea_no"] != r)]["fixmedins_name"]
        leaked = [n for n in others if n in flat]
        assert not leaked, leaked[:3]
        assert not _psn_in(flat, setl_psn), (fmt, r)
        assert "injected-parameters" not in text and "ctx = Context" not in text and "Traceback" not in text


def _every_psn(data: Path) -> set[str]:
    """Every person identifier of the dataset (not a sample: the scan covers them all)."""
    from yibao.data.warehouse import Warehouse
    with Warehouse(data) as wh:
        psn = {r[0] for r in wh.sql("SELECT DISTINCT psn_no FROM setl_all WHERE psn_no IS NOT NULL").fetchall()}
    assert len(psn) > 1000
    return psn


def _psn_in(text: str, psn: set[str]) -> list[str]:
    """Every identifier of ``psn`` found anywhere in ``text`` (each substring of each identifier length looked up)."""
    found = []
    for n in {len(p) for p in psn}:
        found += [text[i:i + n] for i in range(len(text) - n + 1) if text[i:i + n] in psn]
    return found


def test_psn_scan_finds_an_identifier():
    assert _psn_in("出院人次1,234人PSN0000000042，", {"PSN0000000042", "PSN0000000043"}) == ["PSN0000000042"]
    assert _psn_in("出院人次1,234人", {"PSN0000000042"}) == []


def test_second_run_skips_unchanged(quarterly_run, capsys):
    out, data = quarterly_run["out"], quarterly_run["data"]
    ok = [r for r in quarterly_run["regions"]["poolarea_no"] if r != quarterly_run["broken"]][:1]
    before = (out / "2026Q3" / ok[0] / "quarterly.pdf").stat().st_mtime_ns
    rc = cli.main(["run", "--data", str(data), "--period", "2026Q3", "--kind", "quarterly", "--region", *ok,
                   "--out", str(out), "--no-progress"])
    assert rc == 0
    manifest = json.loads((out / "2026Q3" / "manifest.json").read_text(encoding="utf-8"))
    job = {j["job"]: j for j in manifest["jobs"]}[f"{ok[0]}/quarterly"]
    assert job["status"] == "skipped"
    assert (out / "2026Q3" / ok[0] / "quarterly.pdf").stat().st_mtime_ns == before


def test_executed_notebook_has_no_code_in_outputs_and_metadata(quarterly_run):
    out = quarterly_run["out"]
    r = [x for x in quarterly_run["regions"]["poolarea_no"] if x != quarterly_run["broken"]][0]
    nb = nbformat.read(str(out / "2026Q3" / r / "quarterly.ipynb"), as_version=4)
    meta = nb.metadata["yibao"]
    assert meta["period_label"] == "2026年第三季度" and meta["region"] == r
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


def test_committed_notebooks_have_no_outputs(project_dir):
    for path in sorted((project_dir / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and "parameters" in code[0].metadata.get("tags", []), path.name
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), path.name


def test_unknown_region_and_bad_period_are_clear_errors(small_data, tmp_path, capsys):
    assert cli.main(["run", "--data", str(small_data), "--period", "2026Q3", "--region", "999999",
                     "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "999999" in err and "Traceback" not in err
    assert cli.main(["run", "--data", str(small_data), "--period", "2026Q5", "--out", str(tmp_path)]) == 1
    assert "2026Q5" in capsys.readouterr().err
