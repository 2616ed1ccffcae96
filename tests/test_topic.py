"""Topic studies (专题分析): topic codes, coverage, the plan, ranking, the handbook's I63 example and the
synthetic planted ADRG / ICD shifts end to end through ``yibao run --kind topic``."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import readback

from yibao import cli
from yibao.publications import topic
from yibao.errors import YibaoError
from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse

PROJECT = Path(__file__).resolve().parent.parent

# ---- a hand-built contract dataset ---------------------------------------------------------------------

HB_REGION, HB_HOSP = "359900", "H35990000001"     # DIP region of the handbook's I63 example
HB_SMALL = "H35990000005"                          # 7 I63 cases in 2024 only
RK_REGION = "359800"                               # a DRG region for ranking
FEES = ("fee_drug", "fee_mcs", "fee_exam", "fee_lab", "fee_trt", "fee_oprn", "fee_srvc", "fee_oth")
FEE_SPLIT = np.array([0.30, 0.15, 0.10, 0.10, 0.12, 0.08, 0.12, 0.03])

# handbook 附录3 (6): one hospital, I63 over 2022–2024. I63.3 400 → 2,300 cases and 3% → 15%; I63.5
# 1,200 → 2,900 and 10% → 20%; I63.9 60% → 35%. The handbook's figures are whole percents and are not
# consistent at one decimal (400 : 1,200 is 1 : 3 but 3% : 10% is not), so the totals are chosen so that
# every stated count is exact and every share rounds to the stated whole percent: 12,000 cases in 2022
# (3.33%, 10.00%, 60.00%) and 14,860 in 2024 (15.48%, 19.52%, 35.00%).
HB_COUNTS = {  # subcategory -> cases in 2022, 2023, 2024 at the handbook hospital
    "I63.3": (400, 1300, 2300),
    "I63.5": (1200, 2000, 2900),
    "I63.9": (7200, 6200, 5201),
    "I63.0": (1000, 1200, 1300),
    "I63.1": (800, 1000, 1100),
    "I63.2": (900, 1250, 1359),
    "I63.4": (300, 350, 500),
    "I63.8": (200, 200, 200),
}
HB_COST = {"I63.3": 16000, "I63.5": 13000, "I63.9": 8000}   # others 9,000
OTHER_HOSP_MIX = {"I63.3": 15, "I63.5": 30, "I63.9": 165, "I63.0": 30, "I63.1": 30, "I63.2": 30}  # 300 / year


def _cases_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def build_dataset(out: Path, seed: int = 5) -> Path:
    """Two regions: 359900 (DIP; the handbook hospital + 3 stable hospitals; I63 plus smaller categories)
    and 359800 (DRG; ES3 clearly dominant, EJ1 and FM1 smaller, ungrouped pneumonia cases)."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    parts = []

    def add(region, hosp, year, diag, n, cost, group=None, grp_stas="1", setl_way="1", qc="1", drg=None):
        if n <= 0:
            return
        month = rng.integers(1, 13, n)
        day = rng.integers(1, 28, n)
        parts.append(pd.DataFrame({
            "poolarea_no": region, "fixmedins_code": hosp, "year": year, "month_n": month, "day": day,
            "main_diag_code": diag, "dip_code": group if drg is None else None, "drg_code": drg,
            "grp_stas": grp_stas, "setl_way": setl_way, "qc_stas": qc,
            "medfee_sumamt": np.round(cost * rng.uniform(0.85, 1.15, n), 2)}))

    sub_code = {"I63.3": "I63.300", "I63.5": "I63.500", "I63.9": "I63.900", "I63.0": "I63.000",
                "I63.1": "I63.100", "I63.2": "I63.200", "I63.4": "I63.400", "I63.8": "I63.800"}
    for yi, year in enumerate((2022, 2023, 2024)):
        for sub, counts in HB_COUNTS.items():
            add(HB_REGION, HB_HOSP, year, sub_code[sub], counts[yi], HB_COST.get(sub, 9000), f"DIP-{sub}")
        for k, hosp in enumerate(("H35990000002", "H35990000003", "H35990000004")):
            for sub, n in OTHER_HOSP_MIX.items():
                add(HB_REGION, hosp, year, sub_code[sub], n, HB_COST.get(sub, 9000) * (0.9 + 0.1 * k), f"DIP-{sub}")
            # smaller categories (ranking): J18 pneumonia, I10 hypertension with grouping problems
            add(HB_REGION, hosp, year, "J18.900", 400, 6000, "DIP-J18.9")
            add(HB_REGION, hosp, year, "I10.x00", 120, 4000, None, grp_stas="0", setl_way="2", qc="0")
        if year == 2024:  # a small hospital: suppressed counts, not ranked
            add(HB_REGION, HB_SMALL, year, "I63.300", 3, 15000, "DIP-I63.3")
            add(HB_REGION, HB_SMALL, year, "I63.900", 4, 8000, "DIP-I63.9")
        # DRG region: ES3 dominant, EJ1, FM1 (expensive, few); ungrouped J18 counts toward ES3
        for hosp, f in (("H35980000001", 1.0), ("H35980000002", 0.6)):
            add(RK_REGION, hosp, year, "J18.900", int(900 * f), 8000, drg="ES33")
            add(RK_REGION, hosp, year, "J18.000", int(400 * f), 9500, drg="ES31")
            add(RK_REGION, hosp, year, "J18.900", int(60 * f), 7000, grp_stas="0", setl_way="2", qc="0", drg=None)
            add(RK_REGION, hosp, year, "C34.900", int(120 * f), 30000, drg="EJ11")
            add(RK_REGION, hosp, year, "C34.900", int(100 * f), 22000, drg="EJ15")
            add(RK_REGION, hosp, year, "I25.100", int(40 * f), 60000, drg="FM19")
    c = pd.concat(parts, ignore_index=True)
    n = len(c)
    c["setl_id"] = [f"S{i:07d}" for i in range(n)]
    end = pd.to_datetime(dict(year=c["year"], month=c["month_n"], day=c["day"]))
    los = rng.integers(3, 15, n)
    c["ipt_days"] = los
    setl = pd.DataFrame({
        "setl_id": c["setl_id"], "mdtrt_id": "M" + c["setl_id"].str[1:], "psn_no": [f"P{i % 40000:06d}" for i in range(n)],
        "poolarea_no": c["poolarea_no"], "insu_admdvs": c["poolarea_no"], "insutype": "310",
        "fixmedins_code": c["fixmedins_code"], "med_type": "21",
        "begndate": (end - pd.to_timedelta(los, unit="D")).dt.strftime("%Y-%m-%d"),
        "enddate": end.dt.strftime("%Y-%m-%d"), "setl_time": end.dt.strftime("%Y-%m-%d 10:00:00"),
        "medfee_sumamt": c["medfee_sumamt"], "fulamt_ownpay_amt": np.round(c["medfee_sumamt"] * 0.05, 2),
        "hifp_pay": np.round(c["medfee_sumamt"] * 0.6, 2), "acct_pay": 0.0,
        "psn_cash_pay": np.round(c["medfee_sumamt"] * 0.4, 2), "refd_setl_flag": "0", "init_setl_id": None,
        "gend": "1", "age": 65})
    lst = pd.DataFrame({
        "setl_id": c["setl_id"], "fixmedins_code": c["fixmedins_code"],
        "upld_time": (end + pd.Timedelta(days=3)).dt.strftime("%Y-%m-%d 09:00:00"),
        "qc_stas": c["qc_stas"], "main_diag_code": c["main_diag_code"], "drg_code": c["drg_code"],
        "dip_code": c["dip_code"], "grp_stas": c["grp_stas"], "setl_way": c["setl_way"],
        "ipt_days": c["ipt_days"], "dscg_way": "1"})
    for f, w in zip(FEES, FEE_SPLIT):
        lst[f] = np.round(c["medfee_sumamt"] * w, 2)
    setl.to_parquet(out / "setl.parquet", index=False)
    lst.to_parquet(out / "setl_list.parquet", index=False)
    pd.DataFrame({"poolarea_no": [HB_REGION, RK_REGION], "poolarea_name": ["示例市", "样例市"],
                  "prov_name": "某省", "pay_method": ["DIP", "DRG"]}).to_csv(out / "poolarea.csv", index=False)
    fx = [(HB_HOSP, "示例市第一人民医院", HB_REGION, "01"), ("H35990000002", "示例市中心医院", HB_REGION, "02"),
          ("H35990000003", "示例市第二医院", HB_REGION, "05"), ("H35990000004", "示例县人民医院", HB_REGION, "06"),
          (HB_SMALL, "示例镇卫生院", HB_REGION, "11"),
          ("H35980000001", "样例市人民医院", RK_REGION, "01"), ("H35980000002", "样例市中医院", RK_REGION, "05")]
    pd.DataFrame([{"fixmedins_code": a, "fixmedins_name": b, "poolarea_no": r, "fixmedins_type": "1", "hosp_lv": lv,
                   "medins_type": "综合医院", "ownership": "公立", "beds": 500, "drg_dip_flag": "1"}
                  for a, b, r, lv in fx]).to_csv(out / "fixmedins.csv", index=False)
    months = [f"{y}-{m:02d}" for y in (2022, 2023, 2024) for m in range(1, 13)]
    pd.DataFrame([{"poolarea_no": r, "month": m, "insutype": t, "psn_cnt": 500000}
                  for r in (HB_REGION, RK_REGION) for m in months for t in ("310", "390")]).to_csv(
        out / "psn_insu_month.csv", index=False)
    pd.DataFrame([{"poolarea_no": r, "month": m, "fund": "310", "item": "exp_total", "amount": 1e7}
                  for r in (HB_REGION, RK_REGION) for m in months]).to_csv(out / "fund_report.csv", index=False)
    dips = sorted(set(c["dip_code"].dropna()))
    pd.DataFrame({"poolarea_no": HB_REGION, "dip_code": dips, "dip_name": [f"{d[4:]}保守治疗" for d in dips],
                  "icd_category": [d[4:7] for d in dips], "score": 100.0, "pay_std": 9000.0,
                  "base_group": "0"}).to_csv(out / "dip_catalog.csv", index=False)
    pd.DataFrame({"poolarea_no": RK_REGION, "drg_code": ["ES31", "ES33", "EJ11", "EJ15", "FM19"],
                  "drg_name": ["呼吸系统感染／炎症，伴严重合并症或并发症", "呼吸系统感染／炎症，伴一般合并症或并发症",
                               "呼吸系统其他手术，伴严重合并症或并发症", "呼吸系统其他手术，不伴合并症或并发症",
                               "经皮大血管复杂手术"],
                  "adrg_code": ["ES3", "ES3", "EJ1", "EJ1", "FM1"], "mdc_code": ["MDCE"] * 4 + ["MDCF"],
                  "weight": [1.2, 0.9, 3.0, 2.0, 6.0], "pay_std": [11000, 8000, 30000, 21000, 60000],
                  "base_group": "0"}).to_csv(out / "drg_catalog.csv", index=False)
    return out


@pytest.fixture(scope="module")
def hb_data(tmp_path_factory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("topic-hb") / "data")


def _markdown(nb) -> str:
    """The text/markdown outputs of an executed notebook (what the report says)."""
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            md = o.get("data", {}).get("text/markdown")
            if md:
                out.append(md if isinstance(md, str) else "".join(md))
    return "\n\n".join(out)


def _errors(nb) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells for o in c.get("outputs", [])
            if o.get("output_type") == "error"]


def _execute(nb_name: str, out: Path, **params) -> nbformat.NotebookNode:
    from yibao.batch import runner as batch
    batch.execute_notebook(PROJECT / "notebooks" / f"{nb_name}.ipynb", out, params)
    return nbformat.read(str(out), as_version=4)


# ---- topic codes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, kind, canon, title", [
    ("EJ1", "adrg", "EJ1", "EJ1 呼吸系统其他手术"),
    ("ej1", "adrg", "EJ1", "EJ1 呼吸系统其他手术"),
    ("I63", "category", "I63", "I63 脑梗死"),
    ("I63.3", "subcategory", "I63.3", "I63.3 大脑动脉血栓形成引起的脑梗死"),
    ("I63.9", "subcategory", "I63.9", "I63.9 脑梗死，未特指"),
    ("IX", "chapter", "IX", "第九章 循环系统疾病（I00-I99）"),
    ("9", "chapter", "IX", "第九章 循环系统疾病（I00-I99）"),
    ("I00-I99", "chapter", "IX", "第九章 循环系统疾病（I00-I99）"),
    ("第十九章", "chapter", "XIX", "第十九章 损伤、中毒和外因的某些其他后果（S00-T98）"),
])
def test_resolve_topic_codes(code, kind, canon, title):
    t = topic.resolve(code)
    assert (t.kind, t.code, t.title) == (kind, canon, title)
    assert topic.topic_title(code, "DRG") == title
    assert topic.notebook_for(code, "DRG") == ("topic_adrg" if kind == "adrg" else "topic_icd")


def test_resolve_refuses_bad_codes():
    with pytest.raises(YibaoError, match="请使用 EJ1"):
        topic.resolve("EJ13")
    with pytest.raises(YibaoError, match="无法识别"):
        topic.resolve("ABC")
    with pytest.raises(YibaoError, match="DIP"):
        topic.resolve("EJ1", "DIP")
    assert topic.resolve("I63", "DRG").kind == "category"      # ICD topics work in DRG regions too


# ---- coverage and the plan ---------------------------------------------------------------------------------

def test_coverage_counts_mdcs_and_chapters():
    cov = topic.coverage(["EJ1", "ES3", "FM1"], "DRG")
    assert cov["covered"] == {"MDCE": ["EJ1", "ES3"], "MDCF": ["FM1"]}
    assert (cov["n_covered"], cov["total"], len(cov["remaining"])) == (2, 26, 24)
    assert "MDCE" not in cov["remaining"] and "MDCA" in cov["remaining"]
    cov = topic.coverage(["I63", "I63.3", "IX", "J18", "C34", "V01", "EJ1"], "DIP")
    assert cov["total"] == 20 and cov["n_covered"] == 3
    assert set(cov["covered"]) == {"II", "IX", "X"} and cov["covered"]["IX"] == ["I63", "I63.3", "IX"]
    assert "XX" not in cov["remaining"] and "XXII" not in cov["remaining"] and "XXI" in cov["remaining"]
    assert cov["ignored"] == ["V01", "EJ1"]      # external causes / an ADRG count toward no DIP chapter


def test_planned_topics_from_plan(tmp_path):
    plan = tmp_path / "plan-2027.yaml"
    plan.write_text("""
year: 2027
regions:
  "350100":
    name: 东岚市
    pay_method: DRG
    releases:
      - {kind: monthly, period: "2027-01", date: "2027-02-20", form: 定向推送}
      - {kind: topic, period: "2027Q1", topics: [EJ1, FM1], lead: 东岚市第一人民医院, date: "2027-05-15"}
      - {kind: topic, period: "2027Q3", topics: "ES3, GB1", lead: 东岚市中医院}
  "350200":
    releases:
      - {kind: topic, period: "2027Q1", topics: [I63]}
""", encoding="utf-8")
    assert topic.planned_topics("350100", Period.parse("2027Q1"), plan) == ["EJ1", "FM1"]
    assert topic.planned_topics("350100", "2027Q3", plan) == ["ES3", "GB1"]
    assert topic.planned_topics("350100", "2027Q2", plan) == []
    assert topic.planned_topics("350100", "2027", plan) == []           # exact period only
    assert topic.planned_topics("350200", "2027Q1", plan) == ["I63"]
    assert topic.planned_topics("350300", "2027Q1", plan) == []
    assert topic.planned_topics("350100", "2027Q1", tmp_path / "missing.yaml") == []
    assert topic.plan_lead("350100", "2027Q1", "FM1", plan) == "东岚市第一人民医院"
    cov = topic.coverage(topic.year_plan_topics("350100", 2027, plan), "DRG")
    assert set(cov["covered"]) == {"MDCE", "MDCF", "MDCG"}


# ---- ranking -------------------------------------------------------------------------------------------------

def test_rank_topics_puts_dominant_topics_first(hb_data):
    with Warehouse(hb_data) as wh:
        drg = topic.rank_topics(wh, RK_REGION, 2024)
        dip = topic.rank_topics(wh, HB_REGION, 2024)
    assert drg["code"].tolist() == ["ES3", "EJ1", "FM1"]
    es3 = drg.iloc[0]
    # ungrouped J18 cases (no DRG code) count toward ES3, where the region's grouped J18 cases fall
    assert es3["cases"] == (900 + 400 + 60) + (540 + 240 + 36)
    assert es3["ungrouped_share"] == pytest.approx((60 + 36) / es3["cases"] * 100)
    assert es3["score"] == pytest.approx(100.0) and es3["cover"] == "MDCE"
    assert dip["code"].iloc[0] == "I63" and dip.iloc[0]["cover"] == "IX"
    i10 = dip.set_index("code").loc["I10"]
    assert i10["ungrouped_share"] == 100 and i10["qc_fail_share"] == 100 and i10["problem"] > 0


def test_topics_cli_prints_ranking_and_coverage(hb_data, tmp_path, capsys, monkeypatch):
    from yibao.data import gate
    assert cli.main(["topics", "--data", str(hb_data), "--region", RK_REGION, "--year", "2024"]) == 1
    assert "数据校验未通过" in capsys.readouterr().err  # a hand-made partial dataset: the gate refuses it
    monkeypatch.setattr(gate, "validated", lambda data, scope=None: [])  # the ranking itself, on the hand-made data
    plan = tmp_path / "plan.yaml"
    plan.write_text('regions:\n  "359800":\n    releases:\n      - {kind: topic, period: "2024Q4", topics: [EJ1]}\n',
                    encoding="utf-8")
    rc = cli.main(["topics", "--data", str(hb_data), "--region", RK_REGION, "--year", "2024", "--plan", str(plan)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "排名" in out and "未入组占比" in out and "综合得分" in out
    lines = [ln for ln in out.splitlines() if ln.strip().startswith("1 ")]
    assert lines and "ES3" in lines[0] and "已覆盖MDC" in lines[0]
    assert "已覆盖MDC 1/26：MDCE" in out and "尚未覆盖 25 个" in out
    assert cli.main(["topics", "--data", str(hb_data), "--region", "999999", "--year", "2024"]) == 1


# ---- the handbook's I63 example (附录3 (6)) ---------------------------------------------------------------

@pytest.fixture(scope="module")
def hb_report(hb_data, tmp_path_factory) -> str:
    nb = _execute("topic_icd", tmp_path_factory.mktemp("topic-hb-nb") / "topic-I63.ipynb",
                  data_dir=str(hb_data), region=HB_REGION, period="2024", topic="I63")
    assert not _errors(nb), _errors(nb)
    return _markdown(nb)


def _independent_counts(data: Path) -> pd.DataFrame:
    """Cases by year and subcategory at the handbook hospital, straight from the files (own SQL)."""
    import duckdb
    return duckdb.sql(f"""
        SELECT year(CAST(s.setl_time AS TIMESTAMP)) AS year, substr(l.main_diag_code, 1, 5) AS sub, COUNT(*) AS n
        FROM read_parquet('{data}/setl_list.parquet') l JOIN read_parquet('{data}/setl.parquet') s USING (setl_id)
        WHERE l.fixmedins_code = '{HB_HOSP}' AND l.main_diag_code LIKE 'I63%'
        GROUP BY ALL""").df().pivot(index="sub", columns="year", values="n").fillna(0)


def test_handbook_i63_example_reproduced(hb_data, hb_report):
    counts = _independent_counts(hb_data)
    share = counts / counts.sum() * 100
    # the dataset is the handbook's: counts exact, shares at the handbook's whole-percent precision
    assert counts.loc["I63.3", 2022] == 400 and counts.loc["I63.3", 2024] == 2300
    assert counts.loc["I63.5", 2022] == 1200 and counts.loc["I63.5", 2024] == 2900
    for sub, a, b in (("I63.3", 3, 15), ("I63.5", 10, 20), ("I63.9", 60, 35)):
        assert (round(share.loc[sub, 2022]), round(share.loc[sub, 2024])) == (a, b)
    para = next(p for p in hb_report.split("\n\n") if p.startswith("**示例市第一人民医院**"))
    span = para[para.index("与2022年相比"):]
    for sub in ("I63.3", "I63.5", "I63.9"):
        n0, n1 = int(counts.loc[sub, 2022]), int(counts.loc[sub, 2024])
        s0, s1 = share.loc[sub, 2022], share.loc[sub, 2024]
        verb = "增至" if n1 > n0 else "减至"
        assert f"病例数由{n0:,}例{verb}{n1:,}例" in span, sub
        assert f"占比由{s0:.1f}%{'升至' if s1 > s0 else '降至'}{s1:.1f}%" in span, sub
    assert "I63.3“大脑动脉血栓形成引起的脑梗死”（高费用）病例数由400例增至2,300例（增长475.0%，为2022年的5.8倍）" in span
    assert "由1,200例增至2,900例（增长141.7%" in span           # 手册：增长约140%
    assert "占比由60.0%降至35.0%" in span                        # 手册：60% → 35%
    assert "高靠诊断" in para


def test_handbook_report_benchmark_and_suppression(hb_data, hb_report):
    import duckdb
    h = duckdb.sql(f"""
        SELECT l.fixmedins_code, COUNT(*) AS n, AVG(s.medfee_sumamt) AS avg
        FROM read_parquet('{hb_data}/setl_list.parquet') l JOIN read_parquet('{hb_data}/setl.parquet') s USING (setl_id)
        WHERE l.main_diag_code LIKE 'I63%' AND year(CAST(s.setl_time AS TIMESTAMP)) = 2024 AND s.poolarea_no = '{HB_REGION}'
        GROUP BY 1""").df()
    el = h[h["n"] >= 10]["avg"]
    assert f"资源消耗中位数为{np.median(el):,.0f}元" in hb_report
    assert f"标杆值为{np.percentile(el, 25):,.0f}元" in hb_report
    assert len(el) == 4 and "另有1家机构病例数少于10例，未参与比较" in hb_report
    row = next(ln for ln in hb_report.splitlines() if ln.startswith("| 示例镇卫生院"))
    assert "<5" in row and "7" in row.split("|")[3]          # 3 and 4 cases suppressed, total 7 shown
    assert "H3599" not in hb_report and "psn_no" not in hb_report and "P0" not in hb_report


# ---- synthetic data: the planted ADRG and ICD shifts, end to end through `yibao run` -----------------------

def _table(data: Path, name: str) -> str:
    f = data / f"{name}.parquet"
    return f"read_parquet('{f}')" if f.exists() else f"read_parquet('{data}/{name}/**/*.parquet', hive_partitioning = true)"


def _hospital_shares(data: Path, region: str, hosp: str, like: str, key: str) -> pd.DataFrame:
    """Independent count of a hospital's topic cases by quarter and child (own SQL, own netting)."""
    import duckdb
    return duckdb.sql(f"""
        WITH s AS (SELECT * FROM {_table(data, 'setl')}),
             net AS (SELECT * FROM s WHERE coalesce(CAST(refd_setl_flag AS VARCHAR), '0') <> '1'
                     AND setl_id NOT IN (SELECT init_setl_id FROM s WHERE CAST(refd_setl_flag AS VARCHAR) = '1'
                                         AND init_setl_id IS NOT NULL))
        SELECT strftime(CAST(net.setl_time AS TIMESTAMP), '%Y') || 'Q' ||
               CAST(quarter(CAST(net.setl_time AS TIMESTAMP)) AS VARCHAR) AS q, {key} AS child, COUNT(*) AS n
        FROM {_table(data, 'setl_list')} l JOIN net USING (setl_id)
        WHERE CAST(net.poolarea_no AS VARCHAR) = '{region}' AND l.fixmedins_code = '{hosp}' AND {like}
        GROUP BY ALL""").df().pivot(index="child", columns="q", values="n").fillna(0)


@pytest.fixture(scope="module")
def synth_topics(small_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("topic-reports")
    rc_drg = cli.main(["run", "--data", str(small_data), "--period", "2026Q3", "--region", "350100", "--kind", "topic",
                       "--topic", "EJ1", "--formats", "html,docx,pdf", "--out", str(out), "--no-progress"])
    rc_dip = cli.main(["run", "--data", str(small_data), "--period", "2026Q3", "--region", "350200", "--kind", "topic",
                       "--topic", "I63", "--formats", "html", "--out", str(out), "--no-progress"])
    return {"out": out / "2026Q3", "rc": (rc_drg, rc_dip)}


def _html_text(path: Path) -> str:
    return re.sub(r"\s+", " ", readback.text(path))


def _planted(small_planted: dict, rule: str, region: str) -> dict:
    return next(a for a in small_planted["anomalies"] if a["rule_id"] == rule and a["poolarea_no"] == region)


def test_topic_batch_outputs(synth_topics):
    assert synth_topics["rc"] == (0, 0)
    out = synth_topics["out"]
    nb = json.loads((out / "350100" / "topic-EJ1.ipynb").read_text(encoding="utf-8"))
    assert nb["metadata"]["yibao"]["kind"] == "topic"
    for ext in ("html", "docx", "pdf"):  # each rendered file read back: the topic's title and its ADRG
        text = readback.flat(readback.text(out / "350100" / f"topic-EJ1.{ext}"))
        assert "EJ1" in text and "呼吸系统其他手术" in text, ext
    assert (out / "350200" / "topic-I63.html").exists() and (out / "350200" / "topic-I63.ipynb").exists()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    jobs = {j["job"]: j for j in manifest["jobs"]}
    assert jobs["350100/topic-EJ1"]["status"] == "ok" and jobs["350200/topic-I63"]["status"] == "ok"


def test_planted_adrg_shift_in_report(synth_topics, small_data, small_planted):
    p = _planted(small_planted, "UPCODING_DRG", "350100")
    assert p["subject"] == "EJ1"
    nb = nbformat.read(str(synth_topics["out"] / "350100" / "topic-EJ1.ipynb"), as_version=4)
    assert not _errors(nb)
    md = _markdown(nb)
    with Warehouse(small_data) as wh:
        name = wh.df("SELECT fixmedins_name FROM fixmedins WHERE fixmedins_code = ?", [p["fixmedins_code"]]).iloc[0, 0]
    c = _hospital_shares(small_data, "350100", p["fixmedins_code"], "upper(substr(l.drg_code, 1, 3)) = 'EJ1'",
                         "upper(l.drg_code)")
    share = c / c.sum() * 100
    s0, s1 = share.loc["EJ11", "2025Q3"], share.loc["EJ11", "2026Q3"]
    assert s1 - s0 > 10                                          # the planted shift is there …
    para = next(x for x in md.split("\n\n") if x.startswith(f"**{name}**"))
    assert f"提高{s1 - s0:.1f}个百分点" in para or f"占比由{s0:.1f}%升至{s1:.1f}%" in para
    same = para[:para.index("与2024年第三季度相比")] if "与2024年第三季度相比" in para else para
    assert "EJ11“呼吸系统其他手术，伴严重合并症或并发症”（高费用）" in same
    assert f"占比由{s0:.1f}%升至{s1:.1f}%" in same              # … and the report gives its numbers
    table = md[md.index("需核实的机构**"):]
    assert f"| {name} |" in table.split("\n\n", 2)[1]
    html = _html_text(synth_topics["out"] / "350100" / "topic-EJ1.html")
    assert name in html and f"{s0:.1f}%升至{s1:.1f}%" in html and "资源消耗中位数" in html and "标杆值" in html


def test_planted_icd_shift_in_report(synth_topics, small_data, small_planted):
    p = _planted(small_planted, "UPCODING_ICD", "350200")
    assert p["subject"] == "I63"
    nb = nbformat.read(str(synth_topics["out"] / "350200" / "topic-I63.ipynb"), as_version=4)
    assert not _errors(nb)
    md = _markdown(nb)
    with Warehouse(small_data) as wh:
        name = wh.df("SELECT fixmedins_name FROM fixmedins WHERE fixmedins_code = ?", [p["fixmedins_code"]]).iloc[0, 0]
    c = _hospital_shares(small_data, "350200", p["fixmedins_code"], "l.main_diag_code LIKE 'I63%'",
                         "substr(l.main_diag_code, 1, 5)")
    share = c / c.sum() * 100
    spec0 = 100 - share.loc["I63.9", "2025Q3"]
    spec1 = 100 - share.loc["I63.9", "2026Q3"]
    assert spec1 - spec0 > 10
    para = next(x for x in md.split("\n\n") if x.startswith(f"**{name}**"))
    same = para[:para.index("与2024年第三季度相比")]
    a, b = share.loc["I63.9", "2025Q3"], share.loc["I63.9", "2026Q3"]
    assert "I63.9“脑梗死，未特指”" in same and f"占比由{a:.1f}%降至{b:.1f}%" in same
    a, b = share.loc["I63.3", "2025Q3"], share.loc["I63.3", "2026Q3"]
    assert f"占比由{a:.1f}%升至{b:.1f}%" in same
    html = _html_text(synth_topics["out"] / "350200" / "topic-I63.html")
    assert "疑似高靠诊断" in md and name in html
    # the rule behind the planted hospital's row is named in readers' words, never by its id (issue 13)
    row = next(line for line in md[md.index("需核实的机构**"):].splitlines() if line.startswith(f"| {name} |"))
    assert "疑似高靠诊断" in row
    assert not re.search(r"UPCODING|[A-Z]{2,}\\?_[A-Z0-9]+", md + html), "a rule id reached the topic study"


def test_region_figures_match_independent_sql(synth_topics, small_data):
    import duckdb
    md = _markdown(nbformat.read(str(synth_topics["out"] / "350200" / "topic-I63.ipynb"), as_version=4))
    r = duckdb.sql(f"""
        WITH s AS (SELECT * FROM {_table(small_data, 'setl')}),
             net AS (SELECT * FROM s WHERE coalesce(CAST(refd_setl_flag AS VARCHAR), '0') <> '1'
                     AND setl_id NOT IN (SELECT init_setl_id FROM s WHERE CAST(refd_setl_flag AS VARCHAR) = '1'
                                         AND init_setl_id IS NOT NULL))
        SELECT COUNT(*) AS n, AVG(net.medfee_sumamt) AS avg, median(net.medfee_sumamt) AS med
        FROM {_table(small_data, 'setl_list')} l JOIN net USING (setl_id)
        WHERE CAST(net.poolarea_no AS VARCHAR) = '350200' AND l.main_diag_code LIKE 'I63%'
          AND CAST(net.setl_time AS TIMESTAMP) >= TIMESTAMP '2026-07-01'
          AND CAST(net.setl_time AS TIMESTAMP) < TIMESTAMP '2026-10-01'""").df().iloc[0]
    assert f"西岭市I63 脑梗死结算{int(r['n']):,}例" in md
    assert f"次均费用{r['avg']:,.0f}元" in md and f"病例费用中位数{r['med']:,.0f}元" in md


def test_demo_topics(small_data):
    q = Period.parse("2026Q3")
    assert topic.demo_topics(small_data, "350100", q) == ["EJ1"]
    assert topic.demo_topics(small_data, "350200", q) == ["I63"]


def test_topic_studies_render_through_quarto(synth_topics, tmp_path):
    """Issue 18: the ADRG and the ICD study through a real Quarto, every format, the same numbers."""
    from quarto_support import check_quarto_renders, require_quarto
    require_quarto()
    for region, stem in (("350100", "topic-EJ1"), ("350200", "topic-I63")):
        pub = synth_topics["out"] / region
        check_quarto_renders(pub / f"{stem}.ipynb", pub, tmp_path / stem)


def test_benchmark_label_sits_above_the_bars_not_on_the_axis():
    """Issue 14: the 标杆值 label of the hospitals chart was drawn at the foot of the plot, over the x axis
    and its tick labels; it now sits above the top bar, left of its dotted line, clear of the median's label."""
    from types import SimpleNamespace
    from yibao.publications.topic import hospitals
    names = [f"东岚市第{i}医院" for i in range(1, 7)]
    st = SimpleNamespace(
        hosp=pd.DataFrame({"eligible": [True] * 6, "fixmedins_name": names,
                           "avg_cost": [18000.0, 16500.0, 15200.0, 14800.0, 13900.0, 12500.0]}),
        verify=pd.DataFrame({"fixmedins_name": [names[0]]}), bench={"median": 15000.0, "benchmark": 13950.0},
        period=SimpleNamespace(label="2026年第三季度"), topic=SimpleNamespace(title="I63 脑梗死"), min_cases=10)
    got = {}

    class Rep:
        def figure(self, fig, caption, note=None):
            got["fig"] = fig

    hospitals._hospital_chart(Rep(), st)
    ax = got["fig"].axes[0]
    labels = {t.get_text().split()[0]: t for t in ax.texts if t.get_text().strip().startswith(("标杆值", "资源消耗中位数"))}
    bench, median = labels["标杆值"], labels["资源消耗中位数"]
    ymin, ymax = ax.get_ylim()
    assert bench.get_position()[1] > len(names) - 1 and bench.get_position()[1] >= ymax - 0.1  # at the top
    got["fig"].canvas.draw()
    r = got["fig"].canvas.get_renderer()
    b, m = bench.get_window_extent(r), median.get_window_extent(r)
    ticks = [t.get_window_extent(r) for t in ax.get_xticklabels() if t.get_text()]
    assert not any(b.overlaps(t) for t in ticks) and not b.overlaps(m)
    assert b.y0 >= ax.get_window_extent(r).y1 - 2  # above the plot area, not on the x axis
