"""The annual release plan (年度数据发布计划): schedule rules, topic choice, YAML round trip and read-back,
xlsx/Markdown, `--due` selection and one end-to-end `yibao run --plan … --due …`."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import yaml

from yibao import cli
from yibao.publications import plan
from yibao.batch import due
from yibao.errors import YibaoError


# ---- the schedule ------------------------------------------------------------------------------------

@pytest.mark.parametrize("year", [2026, 2027, 2028])
def test_schedule_rules(year):
    s = plan.schedule(year)
    monthly = [e for e in s if e["kind"] == "monthly"]
    quarterly = [e for e in s if e["kind"] == "quarterly"]
    annual = [e for e in s if e["kind"] == "annual"]
    assert len(monthly) == 12 and len(quarterly) == 4 and len(annual) == 1
    # every date a working day within the year
    for e in s:
        d = dt.date.fromisoformat(e["date"])
        assert d.year == year and d.weekday() < 5, e
    # the push in month M carries month M-1, after the monthly settlement (the 20th or later)
    # written out: the January push carries December of the year before
    assert [e["period"] for e in monthly] == [f"{year - 1}-12"] + [f"{year}-{m:02d}" for m in range(1, 12)]
    assert [int(e["date"][5:7]) for e in monthly] == list(range(1, 13))
    for e in monthly:
        d = dt.date.fromisoformat(e["date"])
        assert d.day >= 20
        assert e["form"] == "定向推送"
    # quarterly in the second month of each quarter, carrying the previous quarter
    assert [int(e["date"][5:7]) for e in quarterly] == [2, 5, 8, 11]
    assert [e["period"] for e in quarterly] == [f"{year - 1}Q4", f"{year}Q1", f"{year}Q2", f"{year}Q3"]
    offline = [e for e in quarterly + annual if e["form"] == "面对面"]
    assert len({e["date"] for e in offline}) >= 2
    assert {e["date"][5:7] for e in quarterly if e["form"] == "面对面"} == {"02", "05"}
    # the annual briefing on Y-1 within a month after clearing (30 April)
    d = dt.date.fromisoformat(annual[0]["date"])
    assert annual[0]["period"] == str(year - 1) and dt.date(year, 4, 30) < d <= dt.date(year, 5, 31)


def test_working_day():
    assert plan.working_day(dt.date(2026, 11, 15)) == dt.date(2026, 11, 16)  # Sunday -> Monday
    assert plan.working_day(dt.date(2026, 6, 20)) == dt.date(2026, 6, 22)    # Saturday -> Monday
    assert plan.working_day(dt.date(2026, 5, 20)) == dt.date(2026, 5, 20)


# ---- topic choice -------------------------------------------------------------------------------------

def _ranked(rows):
    df = pd.DataFrame(rows, columns=["code", "cases"])
    df["hifp_pay"] = df["cases"] * 1000.0
    df["group"] = [plan.group_of(c, "DRG") for c in df["code"]]
    return df


def test_choose_topics_distinct_groups_uncovered_first():
    ranked = _ranked([("ES2", 900), ("ES3", 800), ("EJ1", 700), ("FM1", 600), ("GB1", 500), ("BR2", 400),
                      ("FR2", 300), ("OB2", 200), ("KS1", 100), ("XX9", 3)])
    entries = plan.choose_topics(ranked, covered={"MDCE": 2026, "MDCF": 2025}, n_entries=2, per_entry=3)
    codes = [c for e in entries for c in e]
    groups = [plan.group_of(c, "DRG") for c in codes]
    assert len(groups) == len(set(groups))                 # one code per MDC
    assert codes[:4] == ["GB1", "BR2", "OB2", "KS1"]       # never-covered MDCs first, by volume
    assert codes[4:] == ["FM1", "ES2"]                     # then covered longest ago (MDCF 2025 before MDCE 2026)
    assert "XX9" not in codes                              # fewer than 5 cases: not proposed
    assert all(len(e) == 3 for e in entries)


def test_choose_lead_prefers_tertiary_by_volume():
    by_h = pd.DataFrame([("ES2", "H1", "一院", "三级", 10), ("ES2", "H2", "二院", "二级", 50),
                         ("GB1", "H3", "三院", "三级", 8), ("GB1", "H1", "一院", "三级", 1)],
                        columns=["code", "fixmedins_code", "fixmedins_name", "lv_group", "cases"])
    assert plan.choose_lead(by_h, ["ES2", "GB1"]) == "一院"      # 11 cases among tertiary beats 8
    assert plan.choose_lead(by_h[by_h["lv_group"] != "三级"], ["ES2"]) == "二院"


def test_group_of_dip_chapters():
    assert plan.group_of("I63", "DIP") == "9"
    assert plan.group_of("C34", "DIP") == "2"
    assert plan.group_of("EJ1", "DRG") == "MDCE"


# ---- YAML ------------------------------------------------------------------------------------------------

def _sample_plan():
    rel = plan.schedule(2027) + [
        {"kind": "topic", "period": "2027Q1", "topics": ["EJ1", "FM1", "GB1"], "lead": "东岚市第一人民医院",
         "date": "2027-05-17"}]
    return {"year": 2027, "data": "data/demo", "regions": {
        "350100": {"name": "东岚市", "pay_method": "DRG", "releases": plan._sort_releases(rel)},
        "350200": {"name": "西岭市", "pay_method": "DIP", "releases": plan._sort_releases(
            plan.schedule(2027) + [{"kind": "topic", "period": "2026Q4", "topics": ["I63", "J18", "C34"],
                                    "lead": "西岭市人民医院（总院）: 东区", "date": "2027-02-15"}])}}}


def test_yaml_round_trip_and_format(tmp_path):
    p = _sample_plan()
    text = plan.dump_plan(p)
    path = tmp_path / "plan-2027.yaml"
    path.write_text(text, encoding="utf-8")
    back = plan.load_plan(path)
    assert back == p
    raw = yaml.safe_load(text)                                   # the exact keys other tools read
    assert set(raw) == {"year", "data", "regions"}
    assert set(raw["regions"]["350100"]) == {"name", "pay_method", "releases"}
    assert '{kind: monthly, period: "2026-12", date: "2027-01-20", form: 定向推送, institutions: true}' in text
    assert "topics: [EJ1, FM1, GB1], lead: 东岚市第一人民医院" in text
    assert plan.check_plan(back) == []


def test_load_plan_normalises_hand_edits_and_rejects_bad_entries(tmp_path):
    path = tmp_path / "plan-2027.yaml"
    path.write_text("year: 2027\nregions:\n  350100:\n    name: 东岚市\n    pay_method: drg\n    releases:\n"
                    "      - {kind: annual, period: 2026, date: 2027-05-20, form: 面对面}\n"
                    "      - {kind: topic, period: 2027Q1, topics: 'EJ1, FM1', date: 2027-05-17}\n",
                    encoding="utf-8")
    p = plan.load_plan(path)
    r = p["regions"]["350100"]
    assert r["pay_method"] == "DRG"
    assert r["releases"][0] == {"kind": "annual", "period": "2026", "date": "2027-05-20", "form": "面对面"}
    assert r["releases"][1]["topics"] == ["EJ1", "FM1"]
    path.write_text("year: 2027\nregions:\n  '350100':\n    releases:\n      - {kind: weekly, period: 2027-01, "
                    "date: 2027-02-20}\n", encoding="utf-8")
    with pytest.raises(YibaoError, match="350100 第1项.*weekly"):
        plan.load_plan(path)
    path.write_text("year: 2027\nregions:\n  '350100':\n    releases:\n      - {kind: monthly, period: 2027-13, "
                    "date: 2027-02-20}\n", encoding="utf-8")
    with pytest.raises(YibaoError, match="period"):
        plan.load_plan(path)


# ---- --due selection -------------------------------------------------------------------------------------

def test_select_due_exactly_that_month():
    p = _sample_plan()
    sel = due.select_due(p, "2027-05")
    expect = sorted((code, e["kind"], e["period"]) for code, r in p["regions"].items() for e in r["releases"]
                    if e["date"].startswith("2027-05"))
    assert sorted((e["region"], e["kind"], e["period"]) for e in sel) == expect
    assert {e["kind"] for e in sel} == {"monthly", "quarterly", "annual", "topic"}
    assert all(e["date"][:7] == "2027-05" for e in sel)
    assert [e["date"] for e in sel] == sorted(e["date"] for e in sel)
    feb = due.select_due(p, "2027-02")
    assert ("350200", "topic", "2026Q4") in {(e["region"], e["kind"], e["period"]) for e in feb}
    assert due.select_due(p, "2028-01") == []
    with pytest.raises(YibaoError):
        due.select_due(p, "2027Q2")


def test_jobs_for_topic_entry_one_job_per_code():
    e = {"kind": "topic", "period": "2027Q1", "topics": ["EJ1", "FM1"], "region": "350100", "name": "东岚市",
         "pay_method": "DRG"}
    jobs = due.jobs_for(e)
    assert [(j.kind, j.topic, j.period) for j in jobs] == [("topic", "EJ1", "2027Q1"), ("topic", "FM1", "2027Q1")]


def test_unavailable_reason():
    months = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 10)]
    regions = {"350100": "DRG"}
    base = {"region": "350100", "kind": "monthly"}
    assert due.unavailable_reason(dict(base, period="2025-09"), months, regions, "d") is None
    assert "截至 2025-09" in due.unavailable_reason(dict(base, period="2025-10"), months, regions, "d")
    assert "截至" in due.unavailable_reason(dict(base, kind="annual", period="2025"), months, regions, "d")
    assert "始于" in due.unavailable_reason(dict(base, kind="quarterly", period="2023Q4"), months, regions, "d")
    assert "不在数据集" in due.unavailable_reason(dict(base, region="999999", period="2025-01"), months, regions, "d")


# ---- on the small synthetic dataset -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def drawn(small_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("plans")
    rc = cli.main(["plan", "--year", "2027", "--data", str(small_data), "--out", str(out)])
    assert rc == 0
    return out


def test_plan_files_and_rules(drawn, small_data):
    from yibao.data.warehouse import Warehouse
    p = plan.load_plan(drawn / "plan-2027.yaml")
    with Warehouse(small_data) as wh:
        regions = wh.regions()
        inst = wh.df("SELECT fixmedins_name, poolarea_no, lv_group FROM fixmedins_x WHERE fixmedins_type = '1'")
    assert set(p["regions"]) == set(regions["poolarea_no"])
    assert plan.check_plan(p) == []
    for code, r in p["regions"].items():
        kinds = [e["kind"] for e in r["releases"]]
        assert kinds.count("monthly") == 12 and kinds.count("quarterly") == 4 and kinds.count("annual") == 1
        assert all(e["date"].startswith("2027-") for e in r["releases"])
        topics = [e for e in r["releases"] if e["kind"] == "topic"]
        assert topics, code
        codes = [c for e in topics for c in e["topics"]]
        groups = [plan.group_of(c, r["pay_method"]) for c in codes]
        assert len(groups) == len(set(groups)), (code, codes)       # distinct MDCs / chapters
        assert all(1 <= len(e["topics"]) <= 3 for e in topics)
        mine = inst[inst["poolarea_no"] == code]
        tertiary = set(mine[mine["lv_group"] == "三级"]["fixmedins_name"])
        for e in topics:
            assert e["lead"] in (tertiary or set(mine["fixmedins_name"]))
            q = [x for x in r["releases"] if x["kind"] == "quarterly" and x["period"] == e["period"]]
            assert q and q[0]["date"] == e["date"]
    xl = pd.ExcelFile(drawn / "plan-2027.xlsx")
    assert xl.sheet_names[0] == "汇总" and len(xl.sheet_names) == 1 + len(p["regions"])
    sheet = pd.read_excel(xl, xl.sheet_names[1], header=2, dtype=str)
    assert list(sheet.columns[:5]) == ["序号", "发布日期", "星期", "发布类型", "数据期间"]
    assert (sheet["发布类型"] == "月推送").sum() == 12
    md = (drawn / "plan-2027.md").read_text(encoding="utf-8")
    assert "# 2027年度医保数据发布计划" in md and "与编制规则不一致" not in md
    for r in p["regions"].values():
        assert r["name"] in md


def test_existing_yaml_wins_and_coverage_grows(drawn, small_data, capsys):
    path = drawn / "plan-2027.yaml"
    p = plan.load_plan(path)
    code = next(iter(p["regions"]))
    topic = next(e for e in p["regions"][code]["releases"] if e["kind"] == "topic")
    topic["lead"] = "手工指定的牵头医院"
    path.write_text(plan.dump_plan(p), encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    assert cli.main(["plan", "--year", "2027", "--data", str(small_data), "--out", str(drawn)]) == 0
    assert "已存在" in capsys.readouterr().out
    assert path.read_text(encoding="utf-8") == before
    assert "手工指定的牵头医院" in (drawn / "plan-2027.md").read_text(encoding="utf-8")
    # the next year's plan skips MDCs / chapters the 2027 plan covered while fresh ones remain
    assert cli.main(["plan", "--year", "2028", "--data", str(small_data), "--out", str(drawn)]) == 0
    p28 = plan.load_plan(drawn / "plan-2028.yaml")
    from yibao.data.warehouse import Warehouse
    with Warehouse(small_data) as wh:
        for code, r in p28["regions"].items():
            pay = r["pay_method"]
            g27 = {plan.group_of(c, pay) for e in p["regions"][code]["releases"] if e["kind"] == "topic"
                   for c in e["topics"]}
            g28 = [plan.group_of(c, pay) for e in r["releases"] if e["kind"] == "topic" for c in e["topics"]]
            ranked, _ = plan.rank_candidates(wh, code, pay, plan.base_months(wh, 2028))
            avail = set(ranked[ranked["cases"] >= plan.TOPIC_MIN_CASES]["group"])
            fresh = avail - g27
            assert len(set(g28) - g27) == min(len(fresh), len(g28)), (code, g27, g28)


def test_run_plan_due_end_to_end(small_data, tmp_path):
    """One monthly push runs (html); an entry of the same month whose data are not in the dataset fails
    with a clear reason; entries of other months are not touched."""
    src = {"year": 2026, "data": str(small_data), "regions": {
        "350200": {"name": "西岭市", "pay_method": "DIP", "releases": [
            {"kind": "monthly", "period": "2026-09", "date": "2026-10-20", "form": "定向推送"},
            {"kind": "monthly", "period": "2026-10", "date": "2026-11-20", "form": "定向推送"}]},
        "350300": {"name": "南屿县", "pay_method": "DRG", "releases": [
            {"kind": "quarterly", "period": "2026Q4", "date": "2026-10-15", "form": "线上"}]}}}
    path = tmp_path / "plan-2026.yaml"
    path.write_text(plan.dump_plan(src), encoding="utf-8")
    out = tmp_path / "reports"
    rc = cli.main(["run", "--plan", str(path), "--due", "2026-10", "--formats", "html", "--out", str(out),
                   "--no-progress"])
    assert rc == 1
    assert (out / "2026-09" / "350200" / "monthly-2026-09.html").exists()
    assert not (out / "2026-10").exists()
    man = json.loads((out / "2026Q4" / "manifest.json").read_text(encoding="utf-8"))
    job = {j["job"]: j for j in man["jobs"]}["350300/quarterly"]
    assert job["status"] == "failed" and "截至 2026-09" in job["error"]
    ok = json.loads((out / "2026-09" / "manifest.json").read_text(encoding="utf-8"))
    assert {j["job"]: j["status"] for j in ok["jobs"]} == {"350200/monthly-2026-09": "ok"}


def test_run_plan_due_prints_selection_and_nothing_due(small_data, tmp_path, capsys):
    path = tmp_path / "plan-2027.yaml"
    path.write_text(plan.dump_plan(_sample_plan()), encoding="utf-8")
    rc = cli.main(["run", "--plan", str(path), "--due", "2027-03", "--data", str(small_data), "--formats", "html",
                   "--out", str(tmp_path / "r"), "--no-progress"])
    out = capsys.readouterr()
    assert rc == 1                      # both March pushes (2027-02 data) are beyond the dataset
    assert "2027-03-22  350100 东岚市  月推送" in out.out
    assert "尚未具备" in out.out + out.err
    assert cli.main(["run", "--plan", str(path), "--due", "2028-03", "--data", str(small_data),
                     "--out", str(tmp_path / "r")]) == 0
    assert cli.main(["run", "--plan", str(tmp_path / "missing.yaml"), "--due", "2027-03"]) == 1
    assert "不存在" in capsys.readouterr().err
