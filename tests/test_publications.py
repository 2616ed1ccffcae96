"""The monthly push (月推送) and the annual briefing (年通报) end to end (issue 6).

Each notebook is executed by ``yibao run`` for a DRG and a DIP region of the small synthetic dataset and
rendered; the tests read the reports back (HTML, DOCX and PDF) and compare what they print with
indicators.csv, with the indicator catalogue and with values computed here from the dataset files with
DuckDB, independently of the warehouse views. The synthetic generator may change, so no expected number
is written down: every one is computed from the data of the run.

Papermill runs are few (a notebook run on small data takes 30–90 s): one ``yibao run --jobs 2`` for the
monthly push of both regions; for the annual briefing two single-region runs side by side — the DRG
region on a copy of the dataset that has the optional 集采 / 监管 tables (vbp_progress, supervision; made
here, one of them as a GBK CSV with Chinese headers like a platform export), the DIP region on one
without them.
"""
from __future__ import annotations

import functools
import html as htmllib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import readback
import nbformat
import numpy as np
import pandas as pd
import pytest

import conftest

from yibao import cli
from yibao.metrics.catalogue import CATALOGUE

MONTH = "2026-09"
YEAR = "2025"
FORMATS = ("html", "docx", "pdf")
OPTIONAL = ("vbp_progress", "supervision")
MONTHLY_HEADINGS = ["一、上月病例入组情况", "二、结算清单上传和质控情况", "三、月度结算情况",
                    "四、数据底稿指标（按月公开）", "五、有关事项"]
ANNUAL_HEADINGS = ["一、基金收支结余情况", "二、年度清算和预算执行情况", "三、支付方式改革运行情况",
                   "四、医疗服务效率和资源配置", "附录"]
VBP_HEADING = "药品耗材集中带量采购情况"
SUP_HEADING = "基金监管发现问题和违约拒付情况"


# ---- reading the dataset independently ---------------------------------------------------------------

def _src(data: Path, table: str) -> str:
    """A DuckDB FROM expression for a dataset table (parquet file, hive directory or CSV)."""
    if (data / f"{table}.parquet").exists():
        return f"read_parquet('{data / table}.parquet')"
    if (data / table).is_dir():
        return f"read_parquet('{data / table}/**/*.parquet', hive_partitioning = true)"
    if (data / f"{table}.csv").exists():
        return f"read_csv('{data / table}.csv', all_varchar = true, header = true)"
    raise FileNotFoundError(f"{data}: no table {table}")


def _q(sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect() as con:
        return con.execute(sql, params or []).df()


def _netted(data: Path) -> str:
    """Settlements that stand: reversal rows and the settlements they reverse count as nothing
    (DATA_CONTRACT.md); with month (of setl_time) and the inpatient / outpatient class."""
    s = _src(data, "setl")
    return f"""(SELECT CAST(x.setl_id AS VARCHAR) AS setl_id, CAST(x.fixmedins_code AS VARCHAR) AS fixmedins_code,
                       CAST(x.poolarea_no AS VARCHAR) AS poolarea_no,
                       strftime(CAST(x.setl_time AS TIMESTAMP), '%Y-%m') AS month,
                       CAST(x.med_type AS VARCHAR) LIKE '2%' OR CAST(x.med_type AS VARCHAR) = '52' AS ip,
                       CAST(x.med_type AS VARCHAR) IN ('11', '14', '51') AS op,
                       CAST(x.hifp_pay AS DOUBLE) AS hifp_pay
                FROM {s} x
                WHERE coalesce(CAST(x.refd_setl_flag AS VARCHAR), '0') <> '1'
                  AND CAST(x.setl_id AS VARCHAR) NOT IN (
                      SELECT CAST(init_setl_id AS VARCHAR) FROM {s}
                      WHERE CAST(refd_setl_flag AS VARCHAR) = '1' AND init_setl_id IS NOT NULL))"""


def _institutions(data: Path) -> pd.DataFrame:
    return _q(f"SELECT CAST(fixmedins_code AS VARCHAR) AS code, CAST(fixmedins_name AS VARCHAR) AS name, "
              f"CAST(poolarea_no AS VARCHAR) AS region, CAST(fixmedins_type AS VARCHAR) AS type "
              f"FROM {_src(data, 'fixmedins')}")


def _year_months(year: str) -> list[str]:
    return [f"{year}-{m:02d}" for m in range(1, 13)]


# ---- reading the reports back ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _text(path: Path) -> str:
    """Readable text of an output file (see tests/readback.py)."""
    return readback.text(path)


def _flat(path: Path) -> str:
    return re.sub(r"\s+", "", _text(path))


def _cell(s: str) -> str:
    return re.sub(r"\s+", "", htmllib.unescape(re.sub(r"<[^>]+>", "", s)))


@functools.lru_cache(maxsize=None)
def _tables(path: Path) -> list[tuple[list[str], list[list[str]]]]:
    """(header, rows) of every table of an HTML or DOCX report, cell texts without whitespace."""
    out = []
    if path.suffix == ".html":
        h = path.read_text(encoding="utf-8")
        for t in re.findall(r"<table\b.*?</table>", h, flags=re.S):
            head = [_cell(c) for c in re.findall(r"<th\b[^>]*>(.*?)</th>", t, flags=re.S)]
            rows = [[_cell(c) for c in re.findall(r"<td\b[^>]*>(.*?)</td>", tr, flags=re.S)]
                    for tr in re.findall(r"<tr\b.*?</tr>", t, flags=re.S)]
            out.append((head, [r for r in rows if r]))
    else:
        import docx
        for t in docx.Document(str(path)).tables:
            cells = [[re.sub(r"\s+", "", c.text) for c in row.cells] for row in t.rows]
            out.append((cells[0], cells[1:]))
    return out


def _table(path: Path, *columns: str) -> pd.DataFrame:
    """The first table of a report whose header has all ``columns``."""
    for head, rows in _tables(path):
        if all(c in head for c in columns):
            return pd.DataFrame(rows, columns=head)
    raise AssertionError(f"{path.name}: no table with columns {columns}")


def _num(cell: str) -> float:
    m = re.fullmatch(r"([+-]?[\d,]*\.?\d+)%?", cell.replace("−", "-"))
    assert m, f"not a number: {cell!r}"
    return float(m.group(1).replace(",", ""))


def _near(cell: str, expected: float, decimals: int) -> bool:
    """A printed number equals ``expected`` rounded to ``decimals`` (half a unit of slack for sums
    added up in a different order)."""
    return abs(_num(cell) - expected) <= 0.5 * 10 ** -decimals + 1e-6


def _money(yuan: float) -> str:
    """Amounts in prose as the handbook writes them: 亿元 from 1e8, 万元 from 1e4, else 元."""
    v = float(yuan)
    if abs(v) >= 1e8:
        return f"{v / 1e8:,.2f}亿元"
    if abs(v) >= 1e4:
        return f"{v / 1e4:,.2f}万元"
    return f"{v:,.0f}元" if abs(v) >= 100 else f"{v:,.2f}元"


def _wan(yuan: float) -> str:
    return f"{yuan / 1e4:,.2f}"


# ---- fixtures -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def regions(data) -> dict:
    """The first DRG and the first DIP region of the dataset: {'DRG': code, 'DIP': code, code: name}."""
    pa = _q(f"SELECT CAST(poolarea_no AS VARCHAR) AS code, CAST(poolarea_name AS VARCHAR) AS name, "
            f"upper(CAST(pay_method AS VARCHAR)) AS pay FROM {_src(data, 'poolarea')} ORDER BY 1")
    out = {}
    for pay in ("DRG", "DIP"):
        assert (pa["pay"] == pay).any(), f"the small dataset has no {pay} region"
        out[pay] = pa[pa["pay"] == pay]["code"].iloc[0]
    out.update(dict(zip(pa["code"], pa["name"])))
    return out


def _once(tmp_path_factory, name: str, build) -> Path:
    return conftest.build_once(tmp_path_factory, "publications", name, build)


@pytest.fixture(scope="module")
def data(small_data, tmp_path_factory) -> Path:
    """A private copy of the small dataset without the optional annual tables (the shared cache is
    replaced when the generator changes, possibly while this module runs)."""
    def build(dst: Path) -> None:
        for p in small_data.iterdir():
            if p.name.split(".")[0] in OPTIONAL or p.name == "planted.json":
                continue
            (shutil.copytree if p.is_dir() else shutil.copy2)(p, dst / p.name)
    return _once(tmp_path_factory, "data", build)


@pytest.fixture(scope="module")
def monthly_run(data, regions, tmp_path_factory) -> Path:
    """The monthly push of the DRG and the DIP region, one batch with two parallel jobs, all formats."""
    def build(out: Path) -> None:
        rc = cli.main(["run", "--data", str(data), "--period", MONTH, "--kind", "monthly",
                       "--region", regions["DRG"], regions["DIP"], "--formats", ",".join(FORMATS), "--jobs", "2",
                       "--out", str(out), "--no-progress"])
        assert rc == 0, "yibao run --kind monthly failed (see the captured output)"
    return _once(tmp_path_factory, "monthly", build) / MONTH


def _link_dataset(src: Path, dst: Path) -> None:
    """A dataset made of symlinks to another one's tables."""
    dst.mkdir(parents=True)
    for p in src.iterdir():
        (dst / p.name).symlink_to(p.resolve(), target_is_directory=p.is_dir())


def make_optional_tables(data: Path, region: str, seed: int = 6, write: bool = True) -> dict[str, pd.DataFrame]:
    """Plausible vbp_progress (CSV, field names) and supervision (GBK CSV, Chinese headers) tables for the
    hospitals of ``region`` in YEAR, plus rows the briefing must leave out: another region's hospitals
    and the years before and after. Returns the frames (field names); written into ``data`` unless
    ``write`` is false (the same frames again: they depend only on the seed and the institutions)."""
    rng = np.random.default_rng(seed)
    inst = _institutions(data)
    mine = inst[(inst["region"] == region) & (inst["type"] == "1")].sort_values("code")["code"].tolist()
    other = inst[(inst["region"] != region) & (inst["type"] == "1")]["code"].tolist()[:2]
    items = [("阿托伐他汀钙片", "药品"), ("苯磺酸氨氯地平片", "药品"), ("二甲双胍缓释片", "药品"),
             ("冠脉药物洗脱支架", "耗材"), ("人工髋关节", "耗材")]
    vbp = []
    for k, code in enumerate(mine[:10] + other):
        for j, (name, cat) in enumerate(items[: 3 + k % 3]):
            agreed = float(rng.integers(200, 5000))
            ratio = [1.15, 0.82, 2.6, 1.0, 0.55][(k + j) % 5] * rng.uniform(0.97, 1.03)
            ratio = 1.0 if (k + j) % 5 == 3 else ratio          # exactly the agreed volume counts as done
            for y, f in ((int(YEAR), 1.0), (int(YEAR) - 1, 0.4)):
                row = {"fixmedins_code": code, "year": y, "item_name": name, "category": cat,
                       "agreed_qty": agreed, "purchased_qty": round(agreed * ratio * f, 0), "batch": "第九批国采",
                       "unit": "片" if cat == "药品" else "个"}
                if cat == "药品":
                    row["selected_use_qty"] = round(agreed * 0.8, 0)
                    row["class_use_qty"] = round(agreed * 1.1, 0)
                vbp.append(row)
    vbp = pd.DataFrame(vbp)

    levels, types = ["市", "省", "国家", "县"], ["串换项目", "超标准收费", "重复收费", "虚记费用", "分解住院"]
    sup = []
    for k, code in enumerate(mine[:8]):
        for c in range(1 + k % 3):
            n = int(rng.integers(0, 6))
            sup.append({"fixmedins_code": code, "check_date": f"{YEAR}-{1 + (3 * k + 4 * c) % 12:02d}-15",
                        "level": levels[(k + c) % 4], "check_type": ["日常稽核", "专项检查", "飞行检查"][c % 3],
                        "issue_count": n, "refund_amt": round(float(rng.uniform(2e3, 4e5)), 2),
                        "penalty_amt": round(float(rng.uniform(0, 1e5)), 2) if n else 0.0,
                        "issue_types": ";".join(types[(k + i) % 5] for i in range(min(n, 3))), "status": "已处理"})
    y = int(YEAR)
    for code, date in ((mine[0], f"{y - 1}-12-31"), (mine[1], f"{y + 1}-01-01")) + tuple((o, f"{YEAR}-06-01")
                                                                                        for o in other):
        sup.append({"fixmedins_code": code, "check_date": date, "level": "市", "check_type": "日常稽核",
                    "issue_count": 9, "refund_amt": 987654.32, "penalty_amt": 12345.67,
                    "issue_types": "虚记费用", "status": "已处理"})
    sup = pd.DataFrame(sup)
    zh = {"fixmedins_code": "定点医药机构编号", "check_date": "检查日期", "level": "检查层级", "check_type": "检查类型",
          "issue_count": "发现问题数", "refund_amt": "追回医保基金", "penalty_amt": "违约金及罚款", "issue_types": "问题类型",
          "status": "处理状态"}
    if write:
        vbp.to_csv(data / "vbp_progress.csv", index=False, encoding="utf-8")
        sup.rename(columns=zh).to_csv(data / "supervision.csv", index=False, encoding="gb18030")
    return {"vbp_progress": vbp, "supervision": sup}


def _yibao(args: list[str], log: Path) -> subprocess.Popen:
    """``yibao …`` in a child process, its output in ``log``."""
    code = "import sys; from yibao import cli; sys.exit(cli.main(sys.argv[1:]))"
    with open(log, "w", encoding="utf-8") as f:
        return subprocess.Popen([sys.executable, "-c", code, *args], stdout=f, stderr=subprocess.STDOUT,
                                env=dict(os.environ, MPLBACKEND="Agg"))


@pytest.fixture(scope="module")
def annual_run(data, regions, tmp_path_factory) -> dict:
    """The annual briefing: the DRG region with the optional tables (html, docx, pdf), the DIP region
    without them (html, docx); two single-job runs side by side."""
    def runs(base: Path) -> dict:
        return {"with": (base / "data-with", regions["DRG"], FORMATS),
                "without": (data, regions["DIP"], ("html", "docx"))}

    def build(base: Path) -> None:
        _link_dataset(data, base / "data-with")
        make_optional_tables(base / "data-with", regions["DRG"])
        procs = {k: _yibao(["run", "--data", str(d), "--period", YEAR, "--kind", "annual", "--region", r,
                            "--formats", ",".join(f), "--jobs", "1", "--out", str(base / f"out-{k}"),
                            "--no-progress"], base / f"run-{k}.log") for k, (d, r, f) in runs(base).items()}
        try:
            for p in procs.values():
                p.wait(timeout=900)
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.kill()
        for k, p in procs.items():
            assert p.returncode == 0, f"annual {k}: " + (base / f"run-{k}.log").read_text(encoding="utf-8")[-3000:]

    base = _once(tmp_path_factory, "annual", build)
    frames = make_optional_tables(base / "data-with", regions["DRG"], write=False)
    return {k: {"data": d, "region": r, "formats": f, "dir": base / f"out-{k}" / YEAR / r}
            for k, (d, r, f) in runs(base).items()} | {"frames": frames}


def _outputs(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_file())


# ---- monthly push ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("pay", ["DRG", "DIP"])
def test_monthly_push_executes_and_renders(monthly_run, regions, pay):
    r = regions[pay]
    manifest = json.loads((monthly_run / "manifest.json").read_text(encoding="utf-8"))
    job = {j["job"]: j for j in manifest["jobs"]}[f"{r}/monthly-{MONTH}"]
    assert job["status"] == "ok", job.get("error")
    names = {f["path"] for f in job["files"]}
    for ext in ("ipynb", *FORMATS):
        assert f"{r}/monthly-{MONTH}.{ext}" in names
        assert (monthly_run / r / f"monthly-{MONTH}.{ext}").stat().st_size > 1000
    nb = nbformat.read(str(monthly_run / r / f"monthly-{MONTH}.ipynb"), as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert nb.metadata["yibao"]["period_label"] == "2026年9月"
    for fmt in FORMATS:
        flat = _flat(monthly_run / r / f"monthly-{MONTH}.{fmt}")
        for h in MONTHLY_HEADINGS:
            assert h in flat, (fmt, h)
        assert f"数据仅限{regions[r]}定点医药机构内部使用" in flat, fmt
        assert f"开展{pay}付费的" in flat, fmt
        assert "Traceback" not in flat and "ctx=Context" not in flat


def _monthly_lists(data: Path, region: str) -> pd.DataFrame:
    """Per institution of the region, in MONTH: inpatient settlements that stand, settlement lists
    uploaded for them, lists that passed QC — straight from setl and setl_list."""
    li = _src(data, "setl_list")
    return _q(f"""
        SELECT s.fixmedins_code, COUNT(*) AS cases, COUNT(l.setl_id) AS listed,
               SUM(CASE WHEN CAST(l.qc_stas AS VARCHAR) = '1' THEN 1 ELSE 0 END) AS qc_pass
        FROM {_netted(data)} s
        LEFT JOIN (SELECT DISTINCT CAST(setl_id AS VARCHAR) AS setl_id, qc_stas FROM {li}) l USING (setl_id)
        WHERE s.poolarea_no = ? AND s.ip AND s.month = ?
        GROUP BY 1""", [region, MONTH]).set_index("fixmedins_code")


def _expected_rate(ind: pd.DataFrame, iid: str, code: str) -> str:
    """An institution's rate as the push prints it: the indicators.csv value to 2 decimals, '<5' when
    suppressed, '—' otherwise."""
    row = ind[(ind["indicator_id"] == iid) & (ind["fixmedins_code"] == code)]
    if row.empty:
        return "—"
    st, v = row["status"].iloc[0], row["value"].iloc[0]
    if st == "suppressed":
        return "<5"
    return f"{float(v):.2f}%" if st == "ok" and v != "" else "—"


@pytest.mark.parametrize("pay", ["DRG", "DIP"])
def test_monthly_upload_and_qc_rates_equal_indicators_csv(monthly_run, data, regions, pay):
    """上传率 (28) and 质控通过率 (29) per hospital in the rendered push = indicators.csv, in every format;
    the counts beside them = counts straight from the dataset."""
    r = regions[pay]
    d = monthly_run / r
    ind = pd.read_csv(d / "indicators.csv", dtype=str, keep_default_na=False)
    inst = _institutions(data)
    code_of = dict(zip(inst[inst["region"] == r]["name"], inst[inst["region"] == r]["code"]))
    counts = _monthly_lists(data, r)
    with_rate = set(ind[(ind["indicator_id"] == "28") & (ind["fixmedins_code"] != "") & (ind["status"] == "ok")]
                    ["fixmedins_code"])
    assert len(with_rate) >= 5
    for fmt in ("html", "docx"):
        t = _table(d / f"monthly-{MONTH}.{fmt}", "机构名称", "上传率", "质控通过率")
        assert t["机构名称"].is_unique
        assert set(t["机构名称"]) <= set(code_of), "an institution of another region or unknown"
        shown = {code_of[n] for n in t["机构名称"]}
        assert with_rate <= shown, (fmt, sorted(with_rate - shown))
        # the push may withhold more than indicators.csv: a cell hidden so that a lone "<5" cannot be recovered
        # from the region total (complementary suppression) takes the rates computed on it along (issue 13)
        several = {c: (t[c] == "<5").sum() >= 2 for c in ("住院结算人次", "上传清单数")}
        for row in t.itertuples(index=False):
            code = code_of[row[0]]
            hidden = row.住院结算人次 == "<5" or row.上传清单数 == "<5"
            for col, iid in (("上传率", "28"), ("质控通过率", "29")):
                got = getattr(row, col)
                assert got == _expected_rate(ind, iid, code) or (got == "<5" and hidden), (fmt, row[0], col)
            n, listed = (int(counts.loc[code, "cases"]), int(counts.loc[code, "listed"])) if code in counts.index \
                else (0, 0)
            for col, k in (("住院结算人次", n), ("上传清单数", listed)):
                got = getattr(row, col)
                assert got == ("<5" if 0 < k < 5 else f"{k:,}") or (got == "<5" and several[col]), (fmt, row[0], col)
    # indicators.csv itself agrees with the counts (the push prints these values)
    for code in with_rate:
        c = counts.loc[code]
        v28 = float(ind[(ind["indicator_id"] == "28") & (ind["fixmedins_code"] == code)]["value"].iloc[0])
        assert abs(v28 - c["listed"] / c["cases"] * 100) < 0.0051, code
        v29 = ind[(ind["indicator_id"] == "29") & (ind["fixmedins_code"] == code)]
        if v29["status"].iloc[0] == "ok":
            assert abs(float(v29["value"].iloc[0]) - c["qc_pass"] / c["listed"] * 100) < 0.0051, code
    # the region's rates in the text, and each hospital's pair of rates in the PDF's table
    region_row = ind[ind["fixmedins_code"] == ""].set_index("indicator_id")
    pdf = _flat(d / f"monthly-{MONTH}.pdf")
    for fmt in FORMATS:
        flat = _flat(d / f"monthly-{MONTH}.{fmt}")
        assert f"上传率{float(region_row.loc['28', 'value']):.2f}%" in flat, fmt
        assert f"质控通过率{float(region_row.loc['29', 'value']):.2f}%" in flat, fmt
    for code in with_rate:
        pair = _expected_rate(ind, "28", code) + _expected_rate(ind, "29", code)
        assert pair in pdf, (code, pair)


def _monthly_catalogue() -> list:
    return [i for i in CATALOGUE if str(i.frequency).strip() == "月" and i.kind != "heading"]


def test_catalogue_monthly_indicators_match_the_seed_table():
    """The catalogue's 月 indicators are the seed table's (reference/digao-2025-03.csv) plus x_ extras."""
    from yibao.data import reference
    seed = reference.digao()
    seed_monthly = {str(i) for i in seed[seed["frequency"].astype(str).str.strip() == "月"]["id"]}
    headings = {i.id for i in CATALOGUE if i.kind == "heading"}
    ours = {i.id for i in _monthly_catalogue()}
    assert seed_monthly - headings == {i for i in ours if not i.startswith("x_")}
    assert len(ours) >= 30


@pytest.mark.parametrize("fmt", ["html", "docx"])
@pytest.mark.parametrize("pay", ["DRG", "DIP"])
def test_monthly_push_has_every_monthly_indicator(monthly_run, regions, pay, fmt):
    """Every 底稿 indicator with 频次 = 月 is a row of the push's 底稿 table, named as in the catalogue,
    with its indicators.csv value (rates and counts as printed; 43/44 by institution only)."""
    r = regions[pay]
    ind = pd.read_csv(monthly_run / r / "indicators.csv", dtype=str, keep_default_na=False)
    region_rows = ind[ind["fixmedins_code"] == ""].set_index("indicator_id")
    t = _table(monthly_run / r / f"monthly-{MONTH}.{fmt}", "序号", "指标", "口径", "环比", "同比")
    # 底稿 rows by 序号; the system's own extra indicators carry no code in a publication (issue 13): by name
    rows = {row["序号"] or row["指标"]: row for _, row in t.iterrows()}
    key = {i.id: (re.sub(r"\s+", "", i.display_label) if i.is_extra else i.id) for i in _monthly_catalogue()}
    value_col = t.columns[3]
    assert value_col == "2026年9月"
    missing = [i.id for i in _monthly_catalogue() if key[i.id] not in rows]
    assert not missing, missing
    assert not any(str(k).startswith("x_") for k in rows)
    for i in _monthly_catalogue():
        row = rows[key[i.id]]
        assert row["指标"] == re.sub(r"\s+", "", i.display_label if i.is_extra else i.name), i.id
        st, v = region_rows.loc[i.id, "status"], region_rows.loc[i.id, "value"]
        shown = row[value_col]
        if i.id in ("43", "44"):
            assert shown == "仅公布机构值"
        elif st == "not_applicable":
            assert shown == "不适用", i.id
        elif st == "missing_input":
            assert shown == "缺少数据", i.id
        elif i.unit == "%":
            assert shown == f"{float(v):.2f}%", i.id
        elif i.unit == "人次":
            assert shown == f"{int(round(float(v))):,}", i.id
        elif i.unit == "元":
            assert shown == _money(float(v)), i.id
        else:
            assert _near(shown, float(v), 2), (i.id, shown, v)
    assert (key["x_cmi"] in rows) and (rows[key["x_cmi"]][value_col] == "不适用") == (pay == "DIP")


# ---- annual briefing -----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["with", "without"])
def test_annual_briefing_executes_renders_and_numbers_sections(annual_run, regions, case):
    run = annual_run[case]
    d, r = run["dir"], run["region"]
    for ext in ("ipynb", *run["formats"]):
        assert (d / f"annual.{ext}").stat().st_size > 1000, ext
    nb = nbformat.read(str(d / "annual.ipynb"), as_version=4)
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if o.output_type == "error"]
    optional = [f"五、{VBP_HEADING}", f"六、{SUP_HEADING}", "七、下一步工作安排"] if case == "with" else \
        ["五、下一步工作安排"]
    assert _top_headings(nb) == ANNUAL_HEADINGS[:4] + optional + ["附录"]
    pay = "DRG" if r == regions["DRG"] else "DIP"
    for fmt in run["formats"]:
        flat = _flat(d / f"annual.{fmt}")
        for h in ANNUAL_HEADINGS:
            assert h in flat, (case, fmt, h)
        assert f"{pay}付费入组" in flat and regions[r] in flat
        assert f"数据仅限{regions[r]}定点医药机构及参会部门内部使用" in flat
        if case == "with":
            assert f"五、{VBP_HEADING}" in flat and f"六、{SUP_HEADING}" in flat and "七、下一步工作安排" in flat, fmt
            assert "以及药品耗材集中带量采购、基金监管检查等情况" in flat
        else:
            assert VBP_HEADING not in flat and SUP_HEADING not in flat, fmt
            assert "五、下一步工作安排" in flat
            assert "集中带量采购" not in flat and "监督检查" not in flat, fmt


def _top_headings(nb) -> list[str]:
    """The report's top-level headings in order: '# …' lines of Markdown cells and Markdown outputs."""
    out = []
    for c in nb.cells:
        texts = [c.source] if c.cell_type == "markdown" else [
            o.get("data", {}).get("text/markdown", "") for o in c.get("outputs", []) if o.output_type == "display_data"]
        for t in texts:
            out += [line[2:].strip() for line in t.splitlines() if line.startswith("# ")]
    return out


def _fund_year(data: Path, region: str, year: str) -> pd.DataFrame:
    """Per fund: income (Σ inc_*), expenditure (Σ exp_total), assistance (exp_assist) over the year's
    months, and bal_cum of December — from fund_report."""
    return _q(f"""
        SELECT CAST(fund AS VARCHAR) AS fund,
               SUM(CASE WHEN starts_with(CAST(item AS VARCHAR), 'inc_') THEN CAST(amount AS DOUBLE) END) AS inc,
               SUM(CASE WHEN item = 'exp_total' THEN CAST(amount AS DOUBLE) END) AS exp,
               SUM(CASE WHEN item = 'exp_assist' THEN CAST(amount AS DOUBLE) END) AS assist,
               SUM(CASE WHEN item = 'bal_cum' AND month = '{year}-12' THEN CAST(amount AS DOUBLE) END) AS bal
        FROM {_src(data, 'fund_report')}
        WHERE CAST(poolarea_no AS VARCHAR) = ? AND CAST(month AS VARCHAR) LIKE '{year}-%'
        GROUP BY 1""", [region]).set_index("fund").fillna(0.0)


@pytest.mark.parametrize("case", ["with", "without"])
def test_annual_fund_figures_equal_fund_report(annual_run, case):
    """The year's income, expenditure, 当年结余 and year-end balance per fund (table) and the total income
    and expenditure (prose) = sums of fund_report computed here."""
    run = annual_run[case]
    d, data, r = run["dir"], run["data"], run["region"]
    f = _fund_year(data, r, YEAR)
    names = {"310": "职工医保统筹基金", "310A": "职工医保个人账户", "390": "居民医保基金", "MAF": "城乡医疗救助"}
    assert {"310", "390"} <= set(f.index)
    for fmt in ("html", "docx"):
        t = _table(d / f"annual.{fmt}", "基金", "收入（万元）", "支出（万元）", "当年结余（万元）").set_index("基金")
        for fund, name in names.items():
            if fund not in f.index:
                continue
            row, e = t.loc[name], f.loc[fund]
            assert _near(row["收入（万元）"], e["inc"] / 1e4, 2), (fmt, fund)
            assert _near(row["支出（万元）"], e["exp"] / 1e4, 2), (fmt, fund, row["支出（万元）"])
            assert _near(row["当年结余（万元）"], (e["inc"] - e["exp"]) / 1e4, 2), (fmt, fund)
            assert _near(row["年末累计结余（万元）"], e["bal"] / 1e4, 2), (fmt, fund)
    # 底稿 1 and 8: 职工 (310 + 310A) + 居民 (390); the MAF 医疗救助支出 named in the note
    income = f.loc[["310", "310A", "390"], "inc"].sum()
    spent = f.loc[["310", "310A", "390"], "exp"].sum()
    for fmt in run["formats"]:
        flat = _flat(d / f"annual.{fmt}")
        assert f"医保基金收入合计{_money(income)}" in flat, fmt
        assert f"支出合计{_money(spent)}" in flat, fmt
        if "MAF" in f.index and f.loc["MAF", "assist"]:
            assert f"医疗救助支出（不含资助参保，数据底稿指标23）{_money(f.loc['MAF', 'assist'])}" in flat
        for fund in f.index.intersection(list(names)):
            assert _wan(f.loc[fund, "inc"]) in flat and _wan(f.loc[fund, "exp"]) in flat, (fmt, fund)


@pytest.mark.parametrize("case", ["with", "without"])
def test_annual_hospital_budget_execution_and_outpatient(annual_run, case):
    """Per hospital: the year's budget and its actual DRG/DIP fund spending (Σ hifp_pay of the inpatient
    settlements that stand) and 执行率; the region's cumulative outpatient settlements."""
    run = annual_run[case]
    d, data, r = run["dir"], run["data"], run["region"]
    months = _year_months(YEAR)
    spent = _q(f"""SELECT fixmedins_code, SUM(hifp_pay) AS spent FROM {_netted(data)}
                   WHERE poolarea_no = ? AND ip AND month BETWEEN ? AND ? GROUP BY 1""",
               [r, months[0], months[-1]]).set_index("fixmedins_code")["spent"]
    bud = _q(f"""SELECT CAST(fixmedins_code AS VARCHAR) AS code, CAST(item AS VARCHAR) AS item,
                        SUM(CAST(amount AS DOUBLE)) AS amount
                 FROM {_src(data, 'budget')}
                 WHERE CAST(year AS INTEGER) = ? AND coalesce(CAST(fixmedins_code AS VARCHAR), '') <> ''
                 GROUP BY 1, 2""", [int(YEAR)])
    bud = bud.pivot(index="code", columns="item", values="amount")
    budget = bud["drg_dip"].fillna(bud["inpatient"]) if "inpatient" in bud else bud["drg_dip"]
    inst = _institutions(data)
    name_of = dict(zip(inst["code"], inst["name"]))
    mine = set(inst[inst["region"] == r]["code"])
    budget = budget[budget.index.isin(mine)].dropna()
    assert len(budget) >= 5
    for fmt in ("html", "docx"):
        t = _table(d / f"annual.{fmt}", "机构名称", "年度预算（万元）", "实际发生（万元）", "执行率").set_index("机构名称")
        assert len(t) == len(budget), fmt
        for code, b in budget.items():
            row, s = t.loc[name_of[code]], float(spent.get(code, 0.0))
            assert _near(row["年度预算（万元）"], b / 1e4, 2), (fmt, code)
            assert _near(row["实际发生（万元）"], s / 1e4, 2), (fmt, code, row["实际发生（万元）"], s)
            assert _near(row["执行率"], s / b * 100, 1), (fmt, code)
            assert row["执行情况"] == ("超支" if s > b else "结余"), (fmt, code)
    if "pdf" in run["formats"]:
        top = spent[spent.index.isin(budget.index)].idxmax()
        assert _wan(spent[top]) in _flat(d / "annual.pdf")
    op = _q(f"""SELECT COUNT(*) AS n, SUM(hifp_pay) AS hifp FROM {_netted(data)} s
                JOIN (SELECT CAST(fixmedins_code AS VARCHAR) AS fixmedins_code FROM {_src(data, 'fixmedins')})
                  USING (fixmedins_code)
                WHERE poolarea_no = ? AND op AND month BETWEEN ? AND ?""", [r, months[0], months[-1]]).iloc[0]
    # next year's region budget: 住院 + 门诊 + 其他 (the DRG/DIP total is part of 住院, not added again)
    nxt = _q(f"""SELECT CAST(item AS VARCHAR) AS item, SUM(CAST(amount AS DOUBLE)) AS amount FROM {_src(data, 'budget')}
                 WHERE CAST(poolarea_no AS VARCHAR) = ? AND CAST(year AS INTEGER) = ?
                   AND coalesce(CAST(fixmedins_code AS VARCHAR), '') = '' GROUP BY 1""",
             [r, int(YEAR) + 1]).set_index("item")["amount"]
    for fmt in run["formats"]:
        flat = _flat(d / f"annual.{fmt}")
        assert f"{int(YEAR) + 1}年度统筹地区医保基金总额预算合计{_money(nxt[['inpatient', 'outpatient', 'other']].sum())}" \
               f"（" in flat, fmt
        assert f"含DRG/DIP付费统筹基金总额{_money(nxt['drg_dip'])}" in flat, fmt
        assert f"{YEAR}年累计门诊结算{int(op['n']):,}人次" in flat, fmt
        assert f"门诊统筹基金实际发生{_money(op['hifp'])}" in flat, fmt


def _vbp_expected(frames: dict, codes: set[str]) -> pd.DataFrame:
    v = frames["vbp_progress"]
    v = v[(v["year"] == int(YEAR)) & v["fixmedins_code"].isin(codes)]
    i = v.groupby(["fixmedins_code", "item_name"]).agg(a=("agreed_qty", "sum"), p=("purchased_qty", "sum"))
    i["c"] = i["p"] / i["a"] * 100
    h = i.groupby(level=0).agg(items=("c", "size"), done=("c", lambda c: int((c >= 100).sum())),
                               mean=("c", lambda c: float(np.minimum(c, 200).mean())))
    h["share"] = h["done"] / h["items"] * 100
    return h.reset_index().sort_values(["share", "mean", "fixmedins_code"], ascending=[False, False, True])


def _sup_expected(frames: dict, codes: set[str]) -> pd.DataFrame:
    s = frames["supervision"]
    s = s[s["check_date"].str.startswith(YEAR) & s["fixmedins_code"].isin(codes)]
    return s.groupby("fixmedins_code").agg(checks=("level", "size"), issues=("issue_count", "sum"),
                                           refund=("refund_amt", "sum"), penalty=("penalty_amt", "sum"))


def test_annual_procurement_and_supervision_sections_show_the_optional_tables(annual_run):
    """With vbp_progress / supervision: 集采 completion ranked by hospital and 监管 checks, issues,
    recoveries, penalties and 结算拒付 by hospital, equal to the tables (the year's rows of the region's
    hospitals only)."""
    run, frames = annual_run["with"], annual_run["frames"]
    d, data, r = run["dir"], run["data"], run["region"]
    inst = _institutions(data)
    name_of = dict(zip(inst["code"], inst["name"]))
    mine = set(inst[inst["region"] == r]["code"])
    vbp = _vbp_expected(frames, mine)
    sup = _sup_expected(frames, mine)
    v = frames["vbp_progress"]
    v = v[(v["year"] == int(YEAR)) & v["fixmedins_code"].isin(mine) & (v["purchased_qty"] < v["agreed_qty"])]
    short = v.groupby("item_name")["fixmedins_code"].nunique().reset_index()
    short = short.sort_values(["fixmedins_code", "item_name"], ascending=[False, True]).head(5)
    short = short.set_index("item_name")["fixmedins_code"]
    assert len(short) >= 2
    sp = _src(data, "settlement_progress")
    refused = _q(f"""SELECT CAST(fixmedins_code AS VARCHAR) AS code, SUM(CAST(refused_amt AS DOUBLE)) AS refused
                     FROM {sp} WHERE CAST(month AS VARCHAR) LIKE '{YEAR}-%' GROUP BY 1""").set_index("code")["refused"]
    for fmt in ("html", "docx"):
        t = _table(d / f"annual.{fmt}", "同级排名", "机构名称", "完成品种占比", "平均完成率")
        # ranked within the level (issue 13): levels in order, each in the completion order, numbered from 1
        from yibao.data.contract import LEVEL_ORDER
        level = dict(zip(t["机构名称"], t["级别"]))
        names = [name_of[c] for c in vbp["fixmedins_code"]]
        want = sorted(names, key=lambda n: LEVEL_ORDER.index(level[n]))
        assert list(t["机构名称"]) == want, fmt
        ranks = [str(sum(level[x] == level[n] for x in want[:i + 1])) for i, n in enumerate(want)]
        assert list(t["同级排名"]) == ranks, fmt
        vbp = vbp.set_index(vbp["fixmedins_code"].map(name_of)).loc[want].reset_index(drop=True)
        for row, e in zip(t.itertuples(index=False), vbp.itertuples()):
            assert row.品种数 == str(e.items) and row.完成品种数 == str(e.done), (fmt, row)
            assert _near(row.完成品种占比, e.share, 1) and _near(row.平均完成率, e.mean, 1), (fmt, row)
        t = _table(d / f"annual.{fmt}", "机构名称", "检查次数", "发现问题", "追回基金（万元）").set_index("机构名称")
        assert sorted(t.index) == sorted(name_of[c] for c in sup.index), fmt
        for code, e in sup.iterrows():
            row = t.loc[name_of[code]]
            assert row["检查次数"] == str(int(e["checks"])) and row["发现问题"] == f"{int(e['issues']):,}", (fmt, code)
            assert _near(row["追回基金（万元）"], e["refund"] / 1e4, 2), (fmt, code)
            assert _near(row["违约金/罚款（万元）"], e["penalty"] / 1e4, 2), (fmt, code)
            assert _near(row["结算拒付（万元）"], refused.get(code, 0.0) / 1e4, 2), (fmt, code)
    for fmt in run["formats"]:
        flat = _flat(d / f"annual.{fmt}")
        assert f"对{len(sup)}家定点医疗机构开展监督检查{int(sup['checks'].sum()):,}次" in flat, fmt
        assert f"发现问题{int(sup['issues'].sum()):,}个，追回（拒付）医保基金{_money(sup['refund'].sum())}" in flat, fmt
        assert f"{len(vbp)}家定点医疗机构承担集采中选产品约定采购量任务" in flat, fmt
        assert f"全部品种完成约定采购量的机构{int((vbp['share'] >= 100).sum())}家" in flat, fmt
        assert "仍有机构未完成的品种：" + "、".join(f"{n}（{k}家）" for n, k in short.items()) in flat, fmt


# ---- the next release named from the plan ---------------------------------------------------------------

def test_next_release_lines_come_from_the_plan(tmp_path, monkeypatch):
    """The push of 2026-09 names the push that carries 2026-10 (not the 2026-09 push dated in October);
    the 2025 briefing names the first quarterly release after the briefing's planned date."""
    import types

    from yibao.publications import annual, monthly, plan
    from yibao.publications.display import Report
    from yibao.data.periods import Period
    rel = plan.schedule(2026) + plan.schedule(2027)
    doc = {"year": 2026, "data": "d", "regions": {"350100": {"name": "东岚市", "pay_method": "DRG",
                                                             "releases": plan._sort_releases(rel)}}}
    (tmp_path / "plan-2026.yaml").write_text(plan.dump_plan(doc), encoding="utf-8")
    monkeypatch.setattr(plan, "plan_dirs", lambda out=None: [tmp_path])
    monkeypatch.setattr(Report, "_emit", staticmethod(lambda *a, **k: None))
    push = next(e for e in rel if e["kind"] == "monthly" and e["period"] == "2026-10")
    brief = next(e for e in rel if e["kind"] == "annual" and e["period"] == "2025")
    quarter = min((e for e in rel if e["kind"] == "quarterly" and e["date"] > brief["date"]), key=lambda e: e["date"])

    def zh(d):
        y, m, day = (int(x) for x in d.split("-"))
        return f"{y}年{m}月{day}日"

    rep = Report()
    monthly.closing(types.SimpleNamespace(region="350100", name="东岚市", period=Period.parse("2026-09")), rep)
    assert f"2026年10月数据计划于{zh(push['date'])}推送" in rep.items[-1]["markdown"]
    rep = Report()
    annual.next_steps(types.SimpleNamespace(region="350100", period=Period.parse("2025")), rep, annual.Numbering(5))
    text = rep.items[-1]["markdown"]
    assert rep.items[0]["markdown"] == "# 五、下一步工作安排"
    assert f"{Period.parse(quarter['period']).label}数据计划于{zh(quarter['date'])}发布" in text, text


# ---- privacy: every output of every run -----------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _psn_nos(setl_src: str) -> frozenset:
    return frozenset(_q(f"SELECT DISTINCT CAST(psn_no AS VARCHAR) AS p FROM {setl_src}")["p"].dropna())


def _region_dirs(monthly_run, annual_run, regions) -> list[tuple[str, Path]]:
    return [(regions["DRG"], monthly_run / regions["DRG"]), (regions["DIP"], monthly_run / regions["DIP"]),
            (annual_run["with"]["region"], annual_run["with"]["dir"]),
            (annual_run["without"]["region"], annual_run["without"]["dir"])]


def test_no_person_identifier_and_no_other_region_in_any_output(monthly_run, annual_run, regions, data):
    psn = _psn_nos(_src(data, "setl"))
    assert len(psn) > 1000
    inst = _institutions(data)
    checked = 0
    for r, d in _region_dirs(monthly_run, annual_run, regions):
        own = inst[inst["region"] == r]["name"].tolist()
        others = [n for n in inst[inst["region"] != r]["name"] if not any(n in o for o in own)]
        files = _outputs(d) + [d.parent / "manifest.json"]
        kinds = {p.suffix for p in files}
        assert {".html", ".docx", ".ipynb", ".csv", ".xlsx"} <= kinds, kinds
        for p in files:
            text = _text(p)
            tokens = set(re.findall(r"[A-Za-z0-9_]{6,}", text))
            assert not tokens & psn, (p.name, sorted(tokens & psn)[:3])
            leaked = [n for n in others if n in text]
            assert not leaked, (p.name, leaked[:3])
            checked += 1
    assert checked >= 20


def test_monthly_and_annual_render_through_quarto(monthly_run, annual_run, regions, tmp_path):
    """Issue 18: the same executed notebooks through a real Quarto, every format, the same numbers."""
    from quarto_support import check_quarto_renders, require_quarto
    require_quarto()
    r = regions["DRG"]
    check_quarto_renders(monthly_run / r / f"monthly-{MONTH}.ipynb", monthly_run / r, tmp_path / "monthly")
    d = annual_run["with"]["dir"]
    check_quarto_renders(d / "annual.ipynb", d, tmp_path / "annual")
