"""定向推送 (issue 15): the per-institution packages of a whole region, read back as text.

One module fixture builds every package of region 350100 of the small planted dataset (27 hospitals, PDF +
疑点明细 xlsx) with ``yibao run --kind institution``; the tests read the files' text (pdftotext, openpyxl,
the executed notebook) and check the 知悉范围, the planted findings' cases, the workbook's escaping, the
feedback import and the report's contents.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from conftest import needs, plan_rejects
from yibao import cli
from yibao.batch import institutions as I
from yibao.data.warehouse import Warehouse

REGION, PERIOD = "350100", "2026Q3"


@pytest.fixture(scope="module")
def built(small_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("institutions")
    rc = cli.main(["run", "--data", str(small_data), "--period", PERIOD, "--region", REGION, "--kind", "institution",
                   "--formats", "pdf", "--engine", "builtin", "--jobs", "2", "--out", str(out), "--no-progress",
                   "--release-date", "2026-11-16"])
    assert rc == 0
    return out


def _pdf_text(path: Path) -> str:
    needs(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _xlsx_text(path: Path) -> str:
    wb = load_workbook(path)  # every sheet, the hidden one too
    return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                     if v is not None)


def _notebook_text(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    parts = [json.dumps(nb["metadata"], ensure_ascii=False)]
    for c in nb["cells"]:
        parts.append("".join(c["source"]))
        for o in c.get("outputs", []):
            for k, v in o.get("data", {}).items():
                if k.startswith("text/"):
                    parts.append("".join(v) if isinstance(v, list) else str(v))
            parts.append(json.dumps(o.get("metadata", {}), ensure_ascii=False))
    return "\n".join(parts)


def _package(out: Path, code: str, period: str = PERIOD) -> dict[str, Path]:
    d = I.package_dir(out, period, REGION, code)
    return {p.suffix: p for p in d.iterdir()}


@pytest.fixture(scope="module")
def region(small_data):
    with Warehouse(small_data) as wh:
        hosp = wh.institutions(REGION, hospitals_only=True)[["fixmedins_code", "fixmedins_name"]]
        allinst = wh.institutions(REGION)[["fixmedins_code", "fixmedins_name"]]
        ids = wh.df(f"""SELECT fixmedins_code, setl_id, mdtrt_id, psn_no FROM setl_net
                        WHERE poolarea_no = '{REGION}' AND month IN ('2026-07', '2026-08', '2026-09')""")
    return hosp, allinst, ids


def test_every_package_names_only_its_own_institution(built, region):
    """知悉范围: no other institution's code, name or case id appears in any file of a package."""
    hosp, allinst, ids = region
    codes = list(hosp["fixmedins_code"])
    pkgs = sorted(p.name for p in I.package_dir(built, PERIOD, REGION).iterdir() if not p.name.startswith("."))
    assert pkgs == codes  # every designated hospital of the region has its package
    names = dict(zip(allinst["fixmedins_code"], allinst["fixmedins_name"]))
    case_ids = ids.groupby("fixmedins_code")
    listed_total = 0
    for code in codes:
        files = _package(built, code)
        assert set(files) == {".pdf", ".xlsx"}
        nb = I.package_dir(built, PERIOD, REGION) / ".notebooks" / f"{I.report_stem(code, PERIOD)}.ipynb"
        texts = {"pdf": _pdf_text(files[".pdf"]), "xlsx": _xlsx_text(files[".xlsx"]), "notebook": _notebook_text(nb)}
        own = names[code]
        assert own in texts["pdf"] and own in texts["xlsx"]  # the package is addressed to its hospital
        mine_ids = set(ids.loc[ids["fixmedins_code"] == code, "setl_id"])
        for kind, text in texts.items():
            flat = re.sub(r"\s+", "", text)
            other_text = flat.replace(re.sub(r"\s+", "", own), "")  # a peer's name inside one's own name is not a peer
            for oc, on in names.items():
                if oc == code:
                    continue
                assert oc not in text, f"{code} {kind}: names institution code {oc}"
                assert on not in other_text, f"{code} {kind}: names institution {on}"
            tokens = set(re.findall(r"[A-Za-z0-9]{8,}", text))
            for oc, g in case_ids:
                if oc == code:
                    continue
                leak = tokens & (set(g["setl_id"]) | set(g["mdtrt_id"].dropna()))
                assert not leak, f"{code} {kind}: case ids of {oc}: {sorted(leak)[:3]}"
            psn = tokens & set(ids["psn_no"].dropna())
            assert not psn, f"{code} {kind}: person identifiers {sorted(psn)[:3]}"
        wb = load_workbook(files[".xlsx"])
        listed = {str(r[2]) for r in wb["疑点明细"].iter_rows(min_row=2, values_only=True) if r[2]}
        assert listed <= mine_ids  # only the institution's own cases
        listed_total += len(listed)
    assert listed_total > 300  # the planted findings do list cases: the check above is not vacuous


PLANTED_COUNTS = {  # rule (as worded in the package) → the count the finding's message states
    "H350100013": ("15天内再入院率偏高", r"中(\d+)人次为出院后15天内"),
    "H350100019": ("疑似分解住院", r"有(\d+)人次在出院后3天内"),
    "H350100017": ("疑似低标准入院", r"病例(\d+)例，占入组病例"),
    "H350100027": ("就医时间地点冲突（逻辑验证）", r"有(\d+)笔结算"),
    "H350100002": ("结算清单上传率偏低", r"出院(\d+)人次，上传(\d+)份"),
}


def test_cases_of_planted_findings_match_the_findings_counts(built, region, small_data):
    """The 疑点明细 lists exactly the cases the rule counted (hand-checkable: the count is in the message)."""
    hosp, allinst, ids = region
    for code, (rule, rx) in PLANTED_COUNTS.items():
        wb = load_workbook(_package(built, code)[".xlsx"])
        summ = [r for r in wb["疑点汇总"].iter_rows(min_row=2, values_only=True)]
        row = next(r for r in summ if r[1] == rule)
        m = re.search(rx, row[3])
        expected = int(m.group(1)) - int(m.group(2)) if m.lastindex == 2 else int(m.group(1))
        cases = [r for r in wb["疑点明细"].iter_rows(min_row=2, values_only=True) if r[0] == row[0]]
        assert row[4] == expected == len(cases), (code, rule, row[4], expected, len(cases))
        assert all(c[1] == rule and c[14] for c in cases)  # the rule in words and why, for every case
    # a clean second-level hospital without findings gets an empty list and the sentence that says so
    wb = load_workbook(_package(built, "H350100014")[".xlsx"])
    assert wb["疑点明细"].max_row == 1 and wb["疑点汇总"].max_row == 1


def test_readmission_case_reason_is_the_previous_discharge(built, small_data):
    """SPLIT_ADMISSION at H350100019: every listed case is an admission 0–3 days after a discharge of the same
    person from the same hospital with the same diagnosis category (checked against the raw settlements)."""
    wb = load_workbook(_package(built, "H350100019")[".xlsx"])
    cases = [r for r in wb["疑点明细"].iter_rows(min_row=2, values_only=True)]
    with Warehouse(small_data) as wh:
        for c in cases[:5]:
            r = wh.df("""
                SELECT date_diff('day', p.enddate, s.begndate) AS gap
                FROM setl_net s JOIN setl_net p ON p.psn_no = s.psn_no AND p.fixmedins_code = s.fixmedins_code
                     AND p.setl_id <> s.setl_id AND p.enddate <= s.begndate
                JOIN setl_list ls ON ls.setl_id = s.setl_id JOIN setl_list lp ON lp.setl_id = p.setl_id
                WHERE s.setl_id = ? AND substr(ls.main_diag_code, 1, 3) = substr(lp.main_diag_code, 1, 3)
                ORDER BY p.enddate DESC LIMIT 1""", [str(c[2])])
            assert not r.empty and 0 <= int(r["gap"].iloc[0]) <= 3
            assert f"第{int(r['gap'].iloc[0])}天以相同主要诊断类目再次入住本院" in c[14]


def test_report_contents(built):
    text = _pdf_text(_package(built, "H350100013")[".pdf"])
    flat = re.sub(r"\s+", "", text)
    assert "东岚市枫桥区人民医院医保数据定向推送" in flat
    for heading in ("一、本期要点", "二、数据底稿指标与同级比较", "三、近12个月主要指标趋势", "四、DRG/DIP病组情况",
                    "五、预算执行和结算拨付", "六、问题线索", "七、需说明事项和时限", "八、上期意见反馈及处理情况"):
        assert heading in flat
    # the release date given and the region's 15 days: explain by 2026年12月1日
    assert "2026年12月1日前" in flat
    assert "疑点明细表第1项列出相关病例28例" in flat
    assert "同级中位数" in flat and "标杆值" in flat and "同级排名" in flat
    assert "支付标准" in flat and "费用消耗指数" in flat
    assert "READMIT" not in text and "OPIP_RATIO" not in text  # no rule ids in a publication


def test_key_figures_level_median_by_hand(built, small_data):
    """The first table's 同级中位数 of 出院人次 equals the median over the hospital's level computed here."""
    from yibao.metrics import indicators
    with Warehouse(small_data) as wh:
        ind = indicators.compute(wh, REGION, PERIOD)
        hosp = wh.institutions(REGION, hospitals_only=True)
    lv = hosp.set_index("fixmedins_code")["lv_group"]
    d = ind[(ind["indicator_id"].astype(str) == "39") & (ind["fixmedins_code"].fillna("") != "")
            & (ind["status"] == "ok")].copy()
    d["lv"] = d["fixmedins_code"].map(lv)
    med = pd.to_numeric(d[d["lv"] == lv["H350100013"]]["value"]).median()
    nb = I.package_dir(built, PERIOD, REGION) / ".notebooks" / f"{I.report_stem('H350100013', PERIOD)}.ipynb"
    table = next(o["metadata"]["yibao"]["table"] for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]
                 for o in c.get("outputs", []) if o.get("metadata", {}).get("yibao", {}).get("kind") == "table")
    row = next(line for line in table.splitlines() if line.startswith("| 出院人次"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == f"{int(round(med)):,}"


def test_xlsx_cells_from_data_stay_text(tmp_path):
    """A message or reason beginning with = + - @ is text in the workbook, never a formula."""
    from yibao.publications import institution_xlsx
    ctx = _bundle(tmp_path, "=医院", "=HYPERLINK(\"http://x\")",
                  [{"setl_id": "-1+1", "mdtrt_id": "@SUM(A1)", "reason": "+cmd|' /C calc'!A0"}])
    path = institution_xlsx.write(ctx, tmp_path / "x.xlsx")
    wb = load_workbook(path)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    risky = [c for c in cells if c.value[:1] in "=+-@"]
    assert len(risky) >= 4 and all(c.data_type == "s" and c.quotePrefix for c in risky)


def test_feedback_import_reads_the_answers_back(built, tmp_path, capsys):
    src = _package(built, "H350100019")[".xlsx"]
    returned = tmp_path / src.name
    wb = load_workbook(src)
    ws = wb["疑点明细"]
    head = [c.value for c in ws[1]]
    res, note = head.index("核实结果") + 1, head.index("说明") + 1
    ws.cell(2, res, "属实")
    ws.cell(3, res, "不属实")
    ws.cell(3, note, "两次住院诊断不同，见病历")
    wb["疑点汇总"].cell(2, 7, "已组织病案科逐例复核")
    wb.save(returned)
    data = tmp_path / "data"
    data.mkdir()
    (data / "feedback.csv").write_text("received_date,fixmedins_code,channel,topic,text,status,response_date,response\n"
                                       "2026-10-01,H350100001,座谈会,结算,拨付慢,处理中,,\n", encoding="utf-8")
    assert cli.main(["feedback", "import", str(returned), "--data", str(data), "--received-date", "2026-11-20"]) == 0
    fb = pd.read_csv(data / "feedback.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(fb) == 2
    new = fb.iloc[1]
    assert (new["received_date"], new["fixmedins_code"], new["channel"], new["status"]) == \
        ("2026-11-20", "H350100019", "疑点核实", "处理中")
    assert new["topic"] == "疑点核实：疑似分解住院"
    assert "列出病例19例，已核实2例（属实1例、部分属实0例、不属实1例）" in new["text"]
    assert "两次住院诊断不同，见病历" in new["text"] and "已组织病案科逐例复核" in new["text"]
    # the feedback table never receives case ids
    assert not re.search(r"[A-Za-z0-9]{12,}", new["text"])
    # importing the same answers again adds nothing
    assert cli.main(["feedback", "import", str(returned), "--data", str(data)]) == 0
    assert len(pd.read_csv(data / "feedback.csv", dtype=str, encoding="utf-8-sig")) == 2
    # a value outside the list is refused naming the file, sheet and row
    ws.cell(4, res, "对")
    wb.save(returned)
    capsys.readouterr()
    assert cli.main(["feedback", "import", str(returned), "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert "疑点明细" in err and "第4行" in err and "'对'" in err


def test_one_institution_monthly(small_data, tmp_path):
    """--institution CODE builds just that package; monthly periods work too."""
    rc = cli.main(["run", "--data", str(small_data), "--period", "2026-09", "--region", REGION, "--kind", "institution",
                   "--institution", "H350100019", "--formats", "pdf", "--engine", "builtin", "--out", str(tmp_path),
                   "--no-progress"])
    assert rc == 0
    base = I.package_dir(tmp_path, "2026-09", REGION)
    assert [p.name for p in base.iterdir() if not p.name.startswith(".")] == ["H350100019"]
    text = re.sub(r"\s+", "", _pdf_text(I.package_dir(tmp_path, "2026-09", REGION, "H350100019")
                                        / "H350100019_定向推送_2026-09.pdf"))
    assert "2026年9月" in text
    assert "疑点明细表第1项" in text or "未发现本院需要说明的异常情况" in text
    manifest = json.loads((tmp_path / "2026-09" / "manifest.json").read_text(encoding="utf-8"))
    assert [j["job"] for j in manifest["jobs"]] == ["350100/institution-H350100019"]
    # unknown code: one line
    assert cli.main(["run", "--data", str(small_data), "--period", "2026-09", "--region", REGION, "--kind",
                     "institution", "--institution", "H999", "--out", str(tmp_path), "--no-progress"]) == 1


def test_packages_read_the_region_run_outputs(small_data, tmp_path):
    """Compute once: when the region's run left indicators.csv and findings.csv (newer than the data) in OUT/P/R,
    the packages show exactly those figures — here an 出院人次 edited to 4242 — instead of computing them again."""
    out = tmp_path / "out"
    assert cli.main(["indicators", "--data", str(small_data), "--region", REGION, "--period", "2026-09",
                     "--out", str(out)]) == 0
    assert cli.main(["findings", "--data", str(small_data), "--region", REGION, "--period", "2026-09",
                     "--out", str(out)]) == 0
    pub = out / "2026-09" / REGION
    ind = pd.read_csv(pub / "indicators.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    mask = (ind["indicator_id"] == "39") & (ind["fixmedins_code"] == "H350100005")
    assert mask.sum() == 1 and ind.loc[mask, "status"].iloc[0] == "ok"
    ind.loc[mask, "value"] = "4242"
    ind.to_csv(pub / "indicators.csv", index=False, encoding="utf-8-sig")
    assert I.fresh_region_outputs(small_data, out, "2026-09", REGION) == pub
    assert cli.main(["run", "--data", str(small_data), "--period", "2026-09", "--region", REGION, "--kind",
                     "institution", "--institution", "H350100005", "--formats", "pdf", "--engine", "builtin",
                     "--out", str(out), "--no-progress"]) == 0
    pdf = I.package_dir(out, "2026-09", REGION, "H350100005") / "H350100005_定向推送_2026-09.pdf"
    assert "4,242" in _pdf_text(pdf)


def test_notebook_runs_in_jupyter_without_a_bundle(small_data, tmp_path):
    """JupyterLab: the notebook with its default institution (empty: the region's first hospital) and no
    bundle computes its own and runs top to bottom in a real kernel (papermill)."""
    from yibao.render.execute import NOTEBOOK_DIR, execute_notebook
    import nbformat
    dst = tmp_path / "institution.ipynb"
    execute_notebook(NOTEBOOK_DIR / "institution.ipynb", dst,
                     {"data_dir": str(small_data), "region": REGION, "period": "2026-09"})
    nb = nbformat.read(str(dst), as_version=4)
    md = "\n".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells for o in c.get("outputs", []))
    with Warehouse(small_data) as wh:
        first = wh.institutions(REGION, hospitals_only=True).iloc[0]
    assert f"向{first['fixmedins_name']}定向推送" in md
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))


# ---- the monthly cycle in the release plan: `institutions: true` -------------------------------------------


def _bundle(tmp_path: Path, name: str, message: str, cases: list[dict]):
    """A one-hospital package bundle (H1, 2026Q3, released 2026-11-16) with one SPLIT_ADMISSION finding whose
    message is ``message`` and the ``cases`` behind it, as institution_data writes it; its InstitutionContext."""
    from yibao.publications.institution import InstitutionContext
    b = tmp_path / "H1"
    b.mkdir()
    info = {"fixmedins_code": "H1", "fixmedins_name": name, "region": "350100", "region_name": "东岚市",
            "period": "2026Q3", "period_label": "2026年第三季度", "release_date": "2026-11-16",
            "explain_due": "2026-12-01"}
    (b / "info.json").write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")
    pd.DataFrame([{"rule_id": "SPLIT_ADMISSION", "fixmedins_code": "H1", "subject": "", "severity": "high",
                   "message": message, "rule_name": "疑似分解住院", "n_cases": len(cases), "listed": len(cases),
                   "value": len(cases), "benchmark": 0, "impact": None}]).to_csv(b / "findings.csv", index=False)
    pd.DataFrame([{"rule_id": "SPLIT_ADMISSION", "fixmedins_code": "H1", "subject": "", **c}
                  for c in cases]).to_csv(b / "cases.csv", index=False)
    return InstitutionContext(b, info)

def _plan_file(tmp_path, regions: dict, data) -> Path:
    from yibao.publications import plan
    path = tmp_path / "plan-2026.yaml"
    path.write_text(plan.dump_plan({"year": 2026, "data": str(data), "regions": regions}), encoding="utf-8")
    return path


def test_plan_with_institutions_builds_the_packages_after_the_release(small_data, tmp_path, capsys):
    """``yibao run --plan … --due 2026-10``: the September push with ``institutions: true`` runs the region's
    monthly report, then the packages (PDF + 疑点明细 xlsx) of the hospitals asked for, which show the
    report's findings."""
    path = _plan_file(tmp_path, {REGION: {"name": "东岚市", "pay_method": "DRG", "releases": [
        {"kind": "monthly", "period": "2026-09", "date": "2026-10-20", "form": "定向推送", "institutions": True}]}},
        small_data)
    assert "institutions: true}" in path.read_text(encoding="utf-8")
    out = tmp_path / "out"
    codes = ["H350100013", "H350100005"]
    rc = cli.main(["run", "--plan", str(path), "--due", "2026-10", "--formats", "pdf", "--engine", "builtin",
                   "--institution", *codes, "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "月推送  2026年9月（2026-09）  定向推送  含各机构定向推送包" in printed
    man = json.loads((out / "2026-09" / "manifest.json").read_text(encoding="utf-8"))
    assert {j["job"]: j["status"] for j in man["jobs"]} == {
        f"{REGION}/monthly-2026-09": "ok", **{f"{REGION}/institution-{c}": "ok" for c in codes}}
    base = I.package_dir(out, "2026-09", REGION)
    assert sorted(p.name for p in base.iterdir() if not p.name.startswith(".")) == sorted(codes)
    findings = pd.read_csv(out / "2026-09" / REGION / "findings.csv", dtype=str, keep_default_na=False,
                           encoding="utf-8-sig")
    with Warehouse(small_data) as wh:
        names = dict(wh.institutions(REGION, hospitals_only=True)[["fixmedins_code", "fixmedins_name"]].values)
    for code in codes:
        files = _package(out, code, "2026-09")
        assert sorted(files) == [".pdf", ".xlsx"]
        assert names[code] in re.sub(r"\s+", "", _pdf_text(files[".pdf"]))
        # the package was built after the region's report and lists the report's findings about the hospital
        assert files[".xlsx"].stat().st_mtime >= (out / "2026-09" / REGION / "findings.csv").stat().st_mtime
        summary = [r for r in load_workbook(files[".xlsx"])["疑点汇总"].iter_rows(min_row=2, values_only=True)]
        assert len(summary) == (findings["fixmedins_code"] == code).sum()
    assert (findings["fixmedins_code"] == "H350100013").sum() >= 1  # a hospital with findings: not a vacuous match


def test_plan_without_institutions_builds_no_packages(small_data, tmp_path, monkeypatch):
    """Only releases with ``institutions: true`` get packages (false or absent: none); one whose data are not
    in the dataset, or whose publication failed, gets a failed entry with the reason instead of packages."""
    from yibao.batch import runner
    path = _plan_file(tmp_path, {
        "350100": {"name": "东岚市", "pay_method": "DRG", "releases": [
            {"kind": "monthly", "period": "2026-09", "date": "2026-10-20", "form": "定向推送", "institutions": False},
            {"kind": "quarterly", "period": "2026Q3", "date": "2026-10-15", "institutions": True}]},
        "350200": {"name": "西岭市", "pay_method": "DIP", "releases": [
            {"kind": "monthly", "period": "2026-09", "date": "2026-10-20", "form": "定向推送"},
            {"kind": "quarterly", "period": "2026Q3", "date": "2026-10-15", "form": "线上", "institutions": True}]},
        "350300": {"name": "南屿县", "pay_method": "DRG", "releases": [
            {"kind": "monthly", "period": "2026-10", "date": "2026-10-20", "institutions": True}]}}, small_data)
    built, reported = [], []
    monkeypatch.setattr(runner, "run_batch", lambda jobs, *a, **k: [
        runner.JobResult(j.name, j.region, j.kind, j.period, None, "failed" if j.region == "350100" else "ok", 0.0,
                         [], "boom" if j.region == "350100" else None) for j in jobs])
    monkeypatch.setattr(I, "run", lambda data, period, regions, codes, *a, **k: built.append((period, regions)) or [])
    monkeypatch.setattr(runner, "report_results", lambda results, out: reported.extend(results) or 1)
    assert cli.main(["run", "--plan", str(path), "--due", "2026-10", "--formats", "pdf", "--out",
                     str(tmp_path / "out"), "--no-progress"]) == 1
    assert built == [("2026Q3", ["350200"])]
    failed = {r.job: r.error for r in reported if r.status == "failed"}
    assert "截至 2026-09" in failed["350300/institution-*"] and "机构定向推送包未生成" in failed["350300/institution-*"]
    assert "季发布未成功" in failed["350100/institution-*"] and "boom" in failed["350100/institution-*"]
    assert not (tmp_path / "out" / "2026-09" / "350100" / "institutions").exists()


def test_plan_institutions_key_is_checked_and_generated_for_the_monthly_push(tmp_path):
    from yibao.publications import plan
    s = plan.schedule(2027)
    assert [e.get("institutions") for e in s if e["kind"] == "monthly"] == [True] * 12
    assert not [e for e in s if e["kind"] != "monthly" and e.get("institutions")]
    text = plan.dump_plan({"year": 2027, "data": None, "regions": {REGION: {"name": "东岚市", "pay_method": "DRG",
                                                                            "releases": s}}})
    assert '{kind: monthly, period: "2027-01", date: "2027-02-22", form: 定向推送, institutions: true}' in text
    assert "# institutions: true" in text
    path = tmp_path / "plan-2027.yaml"
    path.write_text(text, encoding="utf-8")
    assert plan.load_plan(path)["regions"][REGION]["releases"] == s
    plan_rejects(path, [("{kind: annual, period: 2026, date: 2027-05-20, institutions: true}", "只随月推送"),
                        ("{kind: monthly, period: 2027-01, date: 2027-02-22, institutions: 1}", "true 或 false")])


# ---- the Quarto route --------------------------------------------------------------------------------------

def test_one_package_through_quarto(small_data, region, tmp_path):
    """``yibao run --kind institution --engine quarto``: one hospital's report as PDF, HTML and DOCX through a
    real Quarto (tests/quarto_support.py finds it), read back: addressed to the hospital, every section, the
    CJK fonts embedded in the PDF, and no other institution named (codes or names) in any format."""
    from pypdf import PdfReader
    from quarto_support import quarto_on_path, reader_text
    hosp, allinst, _ = region
    code = "H350100013"
    with quarto_on_path():
        rc = cli.main(["run", "--data", str(small_data), "--period", "2026-09", "--region", REGION, "--kind",
                       "institution", "--institution", code, "--formats", "pdf,html,docx", "--engine", "quarto",
                       "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    man = json.loads((tmp_path / "2026-09" / "manifest.json").read_text(encoding="utf-8"))
    assert man["engine"] == "quarto" and [j["status"] for j in man["jobs"]] == ["ok"]
    files = _package(tmp_path, code, "2026-09")
    assert sorted(files) == [".docx", ".html", ".pdf", ".xlsx"]
    names = dict(zip(allinst["fixmedins_code"], allinst["fixmedins_name"]))
    own = names[code]
    for suffix in (".pdf", ".html", ".docx"):
        text = _pdf_text(files[suffix]) if suffix == ".pdf" else reader_text(files[suffix])
        flat = re.sub(r"\s+", "", text)
        assert f"{own}医保数据定向推送" in flat, suffix
        for heading in ("一、本期要点", "二、数据底稿指标与同级比较", "六、问题线索", "七、需说明事项和时限",
                        "八、上期意见反馈及处理情况"):
            assert heading in flat, f"{suffix}: {heading}"
        others = flat.replace(own, "")
        for oc, on in names.items():
            if oc != code:
                assert oc not in text and on not in others, f"{suffix}: names {oc} {on}"
    pdf = re.sub(r"\s+", "", _pdf_text(files[".pdf"]))
    assert "疑点明细表第1项" in pdf  # H350100013 has findings this month: the report points to the workbook
    fonts = {str(f.get_object().get("/BaseFont")) for page in PdfReader(str(files[".pdf"])).pages
             for f in ((page.get("/Resources") or {}).get("/Font") or {}).values()}
    assert any("CJK" in f for f in fonts), fonts


def test_xlsx_layout_and_same_bytes_twice(tmp_path):
    """The columns to fill in are shaded, long text wraps and its row is as high as its lines, amounts carry
    a number format; the workbook is dated the release date, so writing it again gives the same bytes."""
    import time
    import zipfile

    from yibao.publications import institution_xlsx
    reason = "出院后第2天以相同主要诊断类目再次入住本院" * 4  # 160 display units: 4 lines at width 46
    ctx = _bundle(tmp_path, "东岚市甲医院", "出院后3天内再入院",
                  [{"setl_id": f"S{k}", "mdtrt_id": f"M{k}", "medfee_sumamt": 12345.678, "hifp_pay": 8000, "reason": r}
                   for k, r in ((1, reason), (2, "短"))])
    first = institution_xlsx.write(ctx, tmp_path / "a.xlsx").read_bytes()
    time.sleep(1.1)  # a clock-dated workbook would differ now
    again = institution_xlsx.write(ctx, tmp_path / "b.xlsx").read_bytes()
    assert first == again
    assert b"2026-11-16T00:00:00Z" in zipfile.ZipFile(tmp_path / "a.xlsx").read("docProps/core.xml")
    ws = load_workbook(tmp_path / "a.xlsx")["疑点明细"]
    head = [c.value for c in ws[1]]
    col = {h: k for k, h in enumerate(head, 1)}
    for r in (2, 3):
        for h in ("核实结果", "说明"):
            assert ws.cell(r, col[h]).fill.fgColor.rgb.endswith("FFF2CC"), (r, h)
        for h in ("问题线索", "列入原因", "说明"):
            assert ws.cell(r, col[h]).alignment.wrap_text, (r, h)
        assert ws.cell(r, col["医疗费用（元）"]).number_format == "#,##0.00"
        assert ws.cell(r, col["结算ID"]).fill.fgColor.rgb != "00FFF2CC" and not ws.cell(r, col["结算ID"]).alignment.wrap_text
    assert ws.row_dimensions[2].height == 15 * 4 and ws.row_dimensions[3].height is None
    assert ws.cell(2, col["医疗费用（元）"]).value == pytest.approx(12345.68)
