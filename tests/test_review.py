"""审议 record (issue 7.2): the automatic checks pass on a clean publication and fail on leaks."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from yibao.workgroup import review

REGION, PERIOD = "350100", "2025Q1"
PSN = "PSN350100000777"


def _csv(path: Path, rows: list[dict]) -> None:
    pd.DataFrame(rows).to_csv(path, index=False)


def _table(d: Path, name: str, rows: list[dict]) -> None:
    """Dataset tables as parquet (quicker for DuckDB than sniffing CSV)."""
    df = pd.DataFrame(rows)
    df.astype({c: str for c in df.columns if df[c].dtype == object}).to_parquet(d / f"{name}.parquet", index=False)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("review") / "data"
    d.mkdir()
    _table(d, "poolarea", [{"poolarea_no": REGION, "poolarea_name": "东岚市", "prov_name": "福建省", "pay_method": "DRG"},
                              {"poolarea_no": "350200", "poolarea_name": "西岭市", "prov_name": "福建省", "pay_method": "DIP"}])
    _table(d, "fixmedins", [
        {"fixmedins_code": "H35010000001", "fixmedins_name": "东岚市第一人民医院", "poolarea_no": REGION,
         "fixmedins_type": "1", "hosp_lv": "01", "beds": 800, "drg_dip_flag": "1"},
        {"fixmedins_code": "H35010000002", "fixmedins_name": "东岚市中医院", "poolarea_no": REGION,
         "fixmedins_type": "1", "hosp_lv": "05", "beds": 300, "drg_dip_flag": "1"},
        {"fixmedins_code": "H35020000001", "fixmedins_name": "西岭市人民医院", "poolarea_no": "350200",
         "fixmedins_type": "1", "hosp_lv": "01", "beds": 900, "drg_dip_flag": "1"},
    ])
    setl = []
    for i, (psn, ins, med, pay) in enumerate([(PSN, "310", "21", 5000.0), ("PSN350100000778", "390", "21", 3000.0),
                                               ("PSN350100000779", "310", "11", 100.0),
                                               ("PSN350200000001", "310", "21", 7000.0)]):
        setl.append({"setl_id": f"S{i}", "mdtrt_id": f"M{i}", "psn_no": psn,
                     "poolarea_no": REGION if i < 3 else "350200", "insu_admdvs": REGION if i < 3 else "350200",
                     "insutype": ins, "fixmedins_code": "H35010000001" if i < 3 else "H35020000001", "med_type": med,
                     "begndate": "2025-02-01", "enddate": "2025-02-05", "setl_time": "2025-02-05 10:00:00",
                     "medfee_sumamt": pay * 1.5, "fulamt_ownpay_amt": 0, "hifp_pay": pay, "refd_setl_flag": "0"})
    _table(d, "setl", setl)
    fr = []
    for m in ("2025-01", "2025-02", "2025-03"):
        for fund, amt in (("310", 1_000_000.0), ("310A", 200_000.0), ("390", 500_000.0)):
            fr.append({"poolarea_no": REGION, "month": m, "fund": fund, "item": "exp_total", "amount": amt})
    _table(d, "fund_report", fr)
    _table(d, "psn_insu_month", [{"poolarea_no": REGION, "month": "2025-03", "insutype": "310", "psn_cnt": 1000}])
    _table(d, "setl_list", [{"setl_id": "S0", "fixmedins_code": "H35010000001", "upld_time": "2025-02-06 00:00:00",
                                "qc_stas": "1", "main_diag_code": "I63.300", "grp_stas": "1", "setl_way": "1",
                                "ipt_days": 4, **{f: 0 for f in ("fee_drug", "fee_mcs", "fee_exam", "fee_lab",
                                                                 "fee_trt", "fee_oprn", "fee_srvc", "fee_oth")}}])
    return d


HTML = """<!DOCTYPE html><html><head><style>h1{{color:red}}</style></head><body>
<p>数据仅限本统筹地区定点医药机构内部使用，不得对外传播</p>
<h1>一、基金收支及结算情况（钱）</h1><p>{body}</p>
<table><thead><tr><th>机构</th><th>住院人次</th></tr></thead>
<tbody><tr><td>东岚市第一人民医院</td><td>2</td></tr><tr><td>东岚市中医院</td><td>&lt;5</td></tr></tbody></table>
<h1>二、支付方式改革运行成效（效）</h1><p>成效。</p>
<h1>三、重点关注指标（错）</h1><p>无。</p>
<h1>四、下一步工作安排</h1><p>继续。各医疗机构预算执行的结余/超支、入院10人次和出院12人次、常见质控问题、异地就医和预付金
见正文各节；下期数据计划于2025年8月17日发布。</p>
<h1>附录</h1><p>口径。</p>
<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="/>
</body></html>"""


def make_pub(root: Path, body: str = "1-3月基金支出合计510.00万元。") -> Path:
    pub = root / PERIOD / REGION
    if pub.exists():
        shutil.rmtree(pub)
    pub.mkdir(parents=True)
    (pub / "quarterly.html").write_text(HTML.format(body=body), encoding="utf-8")
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# 一、基金收支及结算情况（钱）"},
                    {"cell_type": "code", "metadata": {}, "source": "rep.md('x')", "execution_count": 1,
                     "outputs": [{"output_type": "display_data", "metadata": {},
                                  "data": {"text/markdown": body, "text/plain": body}}]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (pub / "quarterly.ipynb").write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    ind = [
        {"indicator_id": "8", "name": "支出合计", "poolarea_no": REGION, "fixmedins_code": "", "period": PERIOD,
         "value": "5100000.00", "unit": "元", "status": "ok"},
        {"indicator_id": "9", "name": "职工医保基金支出", "poolarea_no": REGION, "fixmedins_code": "", "period": PERIOD,
         "value": "3600000.00", "unit": "元", "status": "ok"},
        {"indicator_id": "10", "name": "统筹基金支出", "poolarea_no": REGION, "fixmedins_code": "", "period": PERIOD,
         "value": "3000000.00", "unit": "元", "status": "ok"},
        {"indicator_id": "11", "name": "住院统筹基金支出", "poolarea_no": REGION, "fixmedins_code": "", "period": PERIOD,
         "value": "5000.00", "unit": "元", "status": "ok"},
        {"indicator_id": "12", "name": "居民医保基金支出", "poolarea_no": REGION, "fixmedins_code": "", "period": PERIOD,
         "value": "1500000.00", "unit": "元", "status": "ok"},
        {"indicator_id": "13", "name": "住院统筹基金支出", "poolarea_no": REGION, "fixmedins_code": "", "period": PERIOD,
         "value": "3000.00", "unit": "元", "status": "ok"},
        {"indicator_id": "39", "name": "住院人次", "poolarea_no": REGION, "fixmedins_code": "", "period": PERIOD,
         "value": "2", "unit": "人次", "status": "ok"},
        {"indicator_id": "39", "name": "住院人次", "poolarea_no": REGION, "fixmedins_code": "H35010000001",
         "period": PERIOD, "value": "", "unit": "人次", "status": "suppressed"},
    ]
    _csv(pub / "indicators.csv", ind)
    _csv(pub / "checks.csv", [{"check_id": "component_le_total", "status": "pass", "detail": "ok"},
                              {"check_id": "rates_in_range", "status": "pass", "detail": "ok"}])
    return pub


def results(pub: Path, dataset: Path, **kw) -> dict[str, review.Check]:
    return {c.id: c for c in review.run_checks(pub, "quarterly", REGION, PERIOD, dataset, **kw)}


def test_clean_publication_passes(tmp_path, dataset):
    pub = make_pub(tmp_path)
    r = results(pub, dataset)
    for cid in ("A1", "A2", "A3", "A4", "B1", "B2", "B4", "C1", "C2", "C3", "C4", "C5", "C6"):
        assert r[cid].result == review.PASS, (cid, r[cid].detail)
    assert r["A5"].result == review.PASS  # 支出合计 510.00万元 is in the text


def test_psn_no_leak_fails(tmp_path, dataset):
    pub = make_pub(tmp_path)
    html = (pub / "quarterly.html").read_text(encoding="utf-8")
    (pub / "quarterly.html").write_text(html.replace("成效。", f"成效。参保人 {PSN} 住院。"), encoding="utf-8")
    r = results(pub, dataset)
    assert r["C1"].result == review.FAIL and "quarterly.html" in r["C1"].detail
    assert PSN not in r["C1"].detail  # the record does not repeat the identifier


def test_psn_no_in_a_csv_fails(tmp_path, dataset):
    pub = make_pub(tmp_path)
    _csv(pub / "findings.csv", [{"rule_id": "X", "fixmedins_code": "H35010000001", "message": f"病例 {PSN}"}])
    assert results(pub, dataset)["C1"].result == review.FAIL


def test_other_region_hospital_fails(tmp_path, dataset):
    pub = make_pub(tmp_path)
    html = (pub / "quarterly.html").read_text(encoding="utf-8")
    (pub / "quarterly.html").write_text(html.replace("<td>东岚市中医院</td>", "<td>西岭市人民医院</td>"), encoding="utf-8")
    r = results(pub, dataset)
    assert r["C4"].result == review.FAIL and "西岭市人民医院" not in r["C4"].detail
    pub = make_pub(tmp_path)
    _csv(pub / "findings.csv", [{"rule_id": "X", "fixmedins_code": "H35020000001", "message": "x"}])
    assert results(pub, dataset)["C4"].result == review.FAIL


def test_id_number_and_mobile_fail(tmp_path, dataset):
    pub = make_pub(tmp_path, body="联系人 13912345678，证件 350102199001011234。支出合计510.00万元。")
    r = results(pub, dataset)
    assert r["C2"].result == review.FAIL and r["C3"].result == review.FAIL
    assert "13912345678" not in r["C3"].detail


def test_amounts_are_not_phone_numbers(tmp_path, dataset):
    pub = make_pub(tmp_path)
    _csv(pub / "extra.csv", [{"value": "13912345678.50"}, {"value": "13912345678"}])
    assert results(pub, dataset)["C3"].result == review.PASS


def test_accuracy_and_completeness_failures(tmp_path, dataset):
    pub = make_pub(tmp_path)
    ind = pd.read_csv(pub / "indicators.csv", dtype=str, keep_default_na=False)
    ind.loc[ind["indicator_id"] == "11", "value"] = "9999.00"  # differs from the settlements
    ind.loc[(ind["indicator_id"] == "39") & (ind["fixmedins_code"] != ""), "value"] = "3"  # suppressed but shown
    ind.to_csv(pub / "indicators.csv", index=False)
    _csv(pub / "checks.csv", [{"check_id": "sources_agree", "status": "fail", "detail": "x"}])
    html = (pub / "quarterly.html").read_text(encoding="utf-8")
    html = html.replace("<h1>三、重点关注指标（错）</h1>", "").replace(
        "</body>", "<table><thead><tr><th>a</th></tr></thead><tbody></tbody></table></body>")
    (pub / "quarterly.html").write_text(html, encoding="utf-8")
    r = results(pub, dataset)
    assert r["A1"].result == review.FAIL and "sources_agree" in r["A1"].detail
    assert r["A2"].result == review.FAIL and "指标11" in r["A2"].detail
    assert r["B1"].result == review.FAIL and "三、重点关注指标（错）" in r["B1"].detail
    assert r["B2"].result == review.FAIL
    assert r["C5"].result == review.FAIL


def make_roster(d: Path, with_record: bool = True, record_ids=("WG1", "WG2")) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    roster = d / "roster.xlsx"
    pd.DataFrame({"序号": [1, 2], "人员ID": ["WG1", "WG2"], "姓名": ["林建华", "陈丽娟"],
                  "定点医疗机构名称": ["东岚市第一人民医院", "东岚市中医院"], "职务": ["院领导", "医保办主任"]}
                 ).to_excel(roster, index=False)
    if with_record:
        (d / "draw.json").write_text(json.dumps({
            "year": 2025, "seed": "ab" * 32, "pool_sha256": "cd" * 32,
            "selected": [{"person_id": i} for i in record_ids],
            "governance": {"run_at": "2025-01-06T21:00:00+08:00", "beacon_value": "472"}}), encoding="utf-8")
    return roster


def test_build_review_writes_xlsx_docx_md_with_roster(tmp_path, dataset):
    pub = make_pub(tmp_path)
    roster = make_roster(tmp_path / "wg")
    path = review.build_review(pub, "quarterly", REGION, PERIOD, dataset, roster=roster, stem="quarterly")
    assert path == pub / "review.xlsx"
    assert (pub / "review.docx").exists() and (pub / "review.md").exists()
    from openpyxl import load_workbook
    ws = load_workbook(path)["审议记录"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    flat = [str(v) for r in rows for v in r if v is not None]
    assert "准确性" in flat and "完整性" in flat and "合规性" in flat
    header = next(r for r in rows if r[:1] == ["序号"] and "签字" in r)
    assert header[-3:] == ["审议意见", "签字", "日期"]
    sign_rows = rows[rows.index(header) + 1:]
    assert any("林建华" in [str(v) for v in r] for r in sign_rows)
    assert all(r[-1] in (None, "") and r[-2] in (None, "") for r in sign_rows)  # blank 签字/日期
    import docx
    text = "\n".join(c.text for t in docx.Document(str(pub / "review.docx")).tables for row in t.rows for c in row.cells)
    assert "陈丽娟" in text and "无人员编号" in text
    # a topic study in the same directory gets its own record
    (pub / "topic-EJ1.html").write_text(HTML.format(body="x"), encoding="utf-8")
    p2 = review.build_review(pub, "topic", REGION, PERIOD, dataset, stem="topic-EJ1")
    assert p2.name == "review-topic-EJ1.xlsx"


def test_signoff_without_roster_has_blank_rows():
    t = review.signoff_table(None)
    assert len(t) >= 12 and (t["签字"] == "").all() and "审议意见" in t.columns


# ---- issue 17: the roster tied to its draw, the roles of 二(二), the meeting and its decision ------------

def test_signoff_lists_the_roles_of_the_framework():
    t = review.signoff_table(None)
    roles = t["职务/角色"].tolist()
    assert roles.count("工作组组长") == 1
    assert roles.count("工作组副组长") == 3  # 医保部门分管负责同志 1 + 定点医疗机构负责同志 1–2
    assert sum("定点医疗机构（负责同志" in u for u in t["单位"]) == 2
    for office in ("医药管理", "规划财务", "医保经办", "数据管理"):
        assert any(office in u for u in t["单位"]), office
    assert roles.count("定点医疗机构代表") == 8


def test_roster_is_used_only_when_tied_to_its_draw(tmp_path):
    ok, text = review.roster_provenance(make_roster(tmp_path / "a"))
    assert ok and "draw.json" in text and "种子 abababab" in text and "公开随机值 472" in text
    ok, text = review.roster_provenance(make_roster(tmp_path / "b", with_record=False))
    assert not ok and "没有抽取记录" in text
    roster = make_roster(tmp_path / "c", record_ids=("WG1", "WG9"))  # the roster was edited after the draw
    ok, text = review.roster_provenance(roster)
    assert not ok and "不一致" in text
    assert "林建华" not in review.signoff_table(roster)["姓名"].tolist()


def _meeting(path: Path, **kw) -> Path:
    m = {"date": "2025-05-10", "form": "现场会议", "chair": "张组长", "minute_taker": "李记录",
         "attendance": [{"name": "张组长", "role": "工作组组长", "present": True, "opinion": "同意发布"},
                        {"name": "林建华", "role": "定点医疗机构代表", "present": True, "opinion": "数据与本院核对一致"},
                        {"name": "陈丽娟", "role": "定点医疗机构代表", "present": False, "reason": "外出学习"}],
         "decision": "通过"}
    m.update(kw)
    import yaml
    path.write_text(yaml.safe_dump(m, allow_unicode=True), encoding="utf-8")
    return path


def _decide(pub: Path, meeting: Path) -> int:
    from yibao.cli import main
    return main(["workgroup", "decide", "--dir", str(pub), "--meeting", str(meeting)])


def test_decision_recorded_with_meeting_opinions_version_and_hashes(tmp_path, dataset, capsys):
    pub = make_pub(tmp_path)
    roster = make_roster(tmp_path / "wg")
    review.build_review(pub, "quarterly", REGION, PERIOD, dataset, roster=roster, stem="quarterly")
    first = json.loads((pub / "review.json").read_text(encoding="utf-8"))
    assert first["decision"] is None and first["version"] == review.version_id(first["files"])
    fails = [c["id"] for c in first["checks"] if c["result"] == review.FAIL]
    meeting = _meeting(tmp_path / "m.yaml", decision="通过" if not fails else "不通过")
    assert _decide(pub, meeting) == 0
    rec = json.loads((pub / "review.json").read_text(encoding="utf-8"))
    assert rec["decision"] == ("通过" if not fails else "不通过")
    md = (pub / "review.md").read_text(encoding="utf-8")
    assert "- **审议会议**：2025-05-10，现场会议" in md and "- **主持人**：张组长" in md and "- **记录人**：李记录" in md
    assert "应到 3 人，实到 2 人；缺席：陈丽娟（外出学习）" in md
    assert "数据与本院核对一致" in md and "缺席（外出学习）" in md
    import docx
    doc = docx.Document(str(pub / "review.docx"))
    text = "\n".join(p.text for p in doc.paragraphs) + "\n".join(
        c.text for t in doc.tables for row in t.rows for c in row.cells)
    from yibao.fsutil import sha256
    assert sha256(pub / "quarterly.html") in text and sha256(pub / "indicators.csv") in text
    assert rec["version"] in text and "审议结论" in text


def test_pass_refused_when_a_check_fails_or_files_changed(tmp_path, dataset, capsys):
    pub = make_pub(tmp_path)
    _csv(pub / "checks.csv", [{"check_id": "sources_agree", "status": "fail", "detail": "x"}])
    review.build_review(pub, "quarterly", REGION, PERIOD, dataset, roster=make_roster(tmp_path / "wg"), stem="quarterly")
    before = (pub / "review.md").read_text(encoding="utf-8")
    assert _decide(pub, _meeting(tmp_path / "m.yaml")) == 1
    assert "自动检查 A1" in capsys.readouterr().err
    assert (pub / "review.md").read_text(encoding="utf-8") == before  # nothing written
    # a stranger signing as hospital representative
    assert _decide(pub, _meeting(tmp_path / "m2.yaml", decision="不通过", attendance=[
        {"name": "赵某", "role": "定点医疗机构代表", "present": True, "opinion": "同意"}])) == 1
    assert "不在审议记录的成员名单上" in capsys.readouterr().err


def test_corrections_and_re_review_on_the_signed_version(tmp_path, dataset, capsys):
    pub = make_pub(tmp_path)
    _csv(pub / "checks.csv", [{"check_id": "sources_agree", "status": "fail", "detail": "x"}])
    review.build_review(pub, "quarterly", REGION, PERIOD, dataset, roster=make_roster(tmp_path / "wg"), stem="quarterly")
    v1 = json.loads((pub / "review.json").read_text(encoding="utf-8"))["version"]
    corr = {"item": "复核清单 sources_agree 未通过", "raised_by": "林建华", "status": "已整改",
            "rereview_date": "2025-05-12", "rereview_by": "张组长", "version": v1}
    # correction re-reviewed on the old version: refused
    _csv(pub / "checks.csv", [{"check_id": "sources_agree", "status": "pass", "detail": "x"}])  # the fix
    assert _decide(pub, _meeting(tmp_path / "m.yaml", decision="修改后通过", corrections=[corr])) == 1
    assert "与本次签字的版本" in capsys.readouterr().err
    # still open: refused
    assert _decide(pub, _meeting(tmp_path / "m.yaml", decision="修改后通过",
                                 corrections=[{**corr, "status": "整改中", "rereview_date": None}])) == 1
    assert "尚未整改并复审" in capsys.readouterr().err
    # 通过 after the files changed: refused (members read another version)
    assert _decide(pub, _meeting(tmp_path / "m.yaml")) == 1
    assert "文件已改动" in capsys.readouterr().err
    files = [{"文件": f.name, "SHA-256": __import__("yibao.fsutil", fromlist=["sha256"]).sha256(f)}
             for f in review.output_files(pub)]
    v2 = review.version_id(files)
    assert v2 != v1
    assert _decide(pub, _meeting(tmp_path / "m.yaml", decision="修改后通过", corrections=[{**corr, "version": v2}])) == 0
    md = (pub / "review.md").read_text(encoding="utf-8")
    md = __import__("re").sub(r"\\(.)", r"\1", md)  # as read: the record escapes Markdown (sources\_agree)
    assert "## 修改意见与复审" in md and "复核清单 sources_agree 未通过" in md and v2 in md
    assert "修改后通过（整改已复审，可以发布）" in md


def test_meeting_file_errors_name_the_field(tmp_path):
    from yibao.errors import YibaoError
    from yibao.workgroup import decision
    with pytest.raises(YibaoError, match="缺少 chair"):
        decision.load_meeting(_meeting(tmp_path / "m.yaml", chair=""))
    with pytest.raises(YibaoError, match="decision 应为 通过/修改后通过/不通过"):
        decision.load_meeting(_meeting(tmp_path / "m.yaml", decision="同意"))
    with pytest.raises(YibaoError, match="出席但没有审议意见"):
        decision.load_meeting(_meeting(tmp_path / "m.yaml", attendance=[{"name": "甲", "present": True}]))
