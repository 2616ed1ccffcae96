"""Survey (issue 7.3): the questionnaire as data, reading exports, analysis, the rendered report."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from yibao.workgroup import survey

from conftest import needs

SEED_HANDBOOK = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "nhsa-data-release-handbook-2025.md"
# the handbook's 附件 调查问卷（参考版）, from "# 调查问卷（参考版）" to the end, carried with the tests
QUESTIONNAIRE_MD = Path(__file__).resolve().parent / "fixtures" / "handbook-questionnaire.md"
TYPE_OF = {"公立医疗机构": "公立", "社会办医疗机构": "社会办", "零售药店": "零售药店"}


def test_questionnaire_is_the_24_questions_of_appendix_4():
    qn = survey.questionnaire()
    assert [q.number for q in qn.questions] == list(range(1, 25))
    types = {q.id: q.type for q in qn.questions}
    assert types["q2"] == types["q17"] == "multi"
    assert types["q7"] == types["q11"] == types["q13"] == "number"
    assert types["q24"] == "text"
    assert [p.text for p in qn.profile] == ["填报单位类别", "机构等级"]
    assert qn["q1"].text == "您所在统筹地区医保部门 2024 年至今是否向定点医药机构发布过医保数据？"
    assert [o.text for o in qn["q23"].options] == ["满意", "基本满意", "一般", "不满意"]


def test_question_texts_copied_exactly_from_the_handbook():
    block = QUESTIONNAIRE_MD.read_text(encoding="utf-8").replace("\\_", "_")
    assert block.startswith("# 调查问卷（参考版）")
    for q in survey.questionnaire().questions:
        assert f"{q.number}.{q.text}" in block, q.number
        for o in q.options:
            assert re.search(re.escape(o.key) + r"\.\s*" + re.escape(o.label), block), (q.number, o.label)


def test_questionnaire_fixture_is_the_handbooks_appendix():
    """The fixture is the seed handbook's text, unchanged (needs ../shared: fails under CI when it is missing)."""
    needs(SEED_HANDBOOK.exists(), f"the seed handbook {SEED_HANDBOOK}")
    text = SEED_HANDBOOK.read_text(encoding="utf-8")
    assert QUESTIONNAIRE_MD.read_text(encoding="utf-8") == text[text.index("# 调查问卷（参考版）"):]


@pytest.mark.parametrize("answer,expected", [
    ("A", [("A", "")]), ("A.是，按月或按季度", [("A", "")]), ("A、是，按月或按季度", [("A", "")]),
    ("是，按月或按季度", [("A", "")]), ("偶尔发布", [("B", "")]), ("D. 不清楚", [("D", "")]), ("", []),
])
def test_single_choice_forms(answer, expected):
    assert survey.parse_answer(survey.questionnaire()["q1"], answer) == expected


@pytest.mark.parametrize("answer", ["基金收支类┋违规线索类", "基金收支类；违规线索类", "基金收支类;违规线索类",
                                    "基金收支类|违规线索类", "A┋D", "AD", "A.基金收支类;D.违规线索类"])
def test_multi_choice_separators(answer):
    assert [k for k, _ in survey.parse_answer(survey.questionnaire()["q2"], answer)] == ["A", "D"]


def test_fillings_and_numbers():
    qn = survey.questionnaire()
    assert survey.parse_answer(qn["q2"], "其他〖点值测算〗┋基金收支类") == [("E", "点值测算"), ("A", "")]
    assert survey.parse_answer(qn["q18"], "是，反馈时间为15天") == [("A", "15")]
    assert survey.parse_answer(qn["q18"], "是〖7〗") == [("A", "7")]
    assert survey.parse_answer(qn["q19"], "A.是，请列举说明：拨付慢") == [("A", "拨付慢")]
    assert survey.parse_answer(qn["q1"], "不知道")[0][0] is None
    assert survey.parse_number("约2.5个月") == 2.5 and survey.parse_number("无") is None
    assert "13912345678" not in survey.mask_identifiers("电话13912345678")


def independent_counts(df: pd.DataFrame, q) -> dict[str, dict[str, int]]:
    """Option text -> {'total', 公立, 社会办, 零售药店, 三级, 二级, 一级} from the raw export cells
    (the sample writes option texts, ┋ between choices and 〖…〗 for fillings)."""
    col = q.header
    out: dict[str, dict[str, int]] = {}
    for cell, t, lv in zip(df[col], df["填报单位类别"], df["机构等级"]):
        if not str(cell).strip():
            continue
        chosen = {re.sub(r"〖.*?〗", "", part).strip() for part in str(cell).split("┋")}
        for text in chosen:
            d = out.setdefault(text, {"total": 0, "公立": 0, "社会办": 0, "零售药店": 0, "三级": 0, "二级": 0, "一级": 0})
            d["total"] += 1
            d[TYPE_OF[t]] += 1
            if lv:
                d[lv] += 1
    return out


def test_analysis_counts_equal_independent_counts():
    df = survey.sample_responses(120, seed=5)
    res = survey.analyse(df)
    assert res.n == 120
    assert res.types.to_dict() == {**{TYPE_OF[k]: v for k, v in df["填报单位类别"].value_counts().items()},
                                   **{k: 0 for k in ("公立", "社会办", "零售药店") if k not in
                                      {TYPE_OF[x] for x in df["填报单位类别"]}}, "未填": 0}
    for r in res.results:
        q = r.question
        if q.type in ("single", "multi"):
            exp = independent_counts(df, q)
            got = {row["选项"].split(". ", 1)[1]: row for _, row in r.counts.iterrows()}
            for text, d in exp.items():
                assert int(got[text]["人数"]) == d["total"], (q.id, text)
                for g in ("公立", "社会办", "零售药店", "三级", "二级", "一级"):
                    assert int(got[text][g]) == d[g], (q.id, text, g)
            assert r.answered == int((df[q.header].str.strip() != "").sum())
        elif q.type == "number":
            vals = pd.to_numeric(df[q.header].replace("", None), errors="coerce").dropna()
            assert r.numeric["n"] == len(vals)
            assert r.numeric["median"] == pytest.approx(vals.median())
            assert r.numeric["mean"] == pytest.approx(vals.mean())
        else:
            assert len(r.texts) == int((df[q.header].str.strip() != "").sum())


def test_reads_gbk_csv_and_xlsx_with_other_header_styles(tmp_path):
    df = survey.sample_responses(30, seed=2)
    # platform variations: "Q1." headers, letters for answers, "；" for multi choice
    qn = survey.questionnaire()
    alt = df.copy()
    alt = alt.rename(columns={q.header: f"Q{q.number}. {q.text}" for q in qn.questions})
    q1 = qn["q1"]
    alt[f"Q1. {q1.text}"] = alt[f"Q1. {q1.text}"].map(
        lambda v: next(o.key for o in q1.options if o.text == v) + "." + v)
    alt[f"Q2. {qn['q2'].text}"] = alt[f"Q2. {qn['q2'].text}"].str.replace("┋", "；")
    p = tmp_path / "export.csv"
    alt.to_csv(p, index=False, encoding="gbk")
    a = survey.analyse(survey.read_responses(p))
    b = survey.analyse(df)
    for qid in ("q1", "q2", "q7", "q23"):
        ra, rb = a[qid], b[qid]
        if ra.counts is not None:
            assert ra.counts["人数"].tolist() == rb.counts["人数"].tolist(), qid
        else:
            assert ra.numeric == rb.numeric
    x = tmp_path / "export.xlsx"
    survey.write_responses(df, x)
    assert survey.analyse(survey.read_responses(x))["q4"].counts["人数"].tolist() == b["q4"].counts["人数"].tolist()
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"a": [1]}).to_csv(bad, index=False)
    from yibao.errors import YibaoError
    with pytest.raises(YibaoError, match="找不到附录4问卷的题目列"):
        survey.read_responses(bad)


def test_sample_is_deterministic():
    assert survey.sample_responses(20, 3).equals(survey.sample_responses(20, 3))
    assert not survey.sample_responses(20, 3).equals(survey.sample_responses(20, 4))


# ---- the report (one papermill run; rendered once) --------------------------------------------

def _tables(nb: dict) -> dict[str, list[list[str]]]:
    """Caption -> rows of the Markdown tables in the executed notebook's outputs."""
    out = {}
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            md = o.get("data", {}).get("text/markdown")
            if not md:
                continue
            md = "".join(md) if isinstance(md, list) else md
            m = re.match(r"\*\*(表\d+ [^*]+)\*\*", md)
            if not m:
                continue
            rows = [ln.strip().strip("|").split("|") for ln in md.splitlines() if ln.startswith("|")]
            out[m.group(1).split(" ", 1)[1]] = [[x.strip().replace("\\", "") for x in r] for r in rows[2:]]
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory, small_data):
    tmp = tmp_path_factory.mktemp("survey")
    responses = tmp / "responses.xlsx"
    from yibao.cli import main
    formats = "html,pdf"
    args = ["survey", "--responses", str(responses), "--region", "350100", "--out", str(tmp / "out"),
            "--sample", "50", "--seed", "9", "--formats", formats, "--data", str(small_data)]
    assert main(args) == 0
    outs = list((tmp / "out" / "survey" / "350100").glob("*/survey.ipynb"))
    assert len(outs) == 1
    return responses, outs[0]


def test_report_counts_equal_counts_from_the_responses_file(built):
    responses, nb_path = built
    df = pd.read_excel(responses, dtype=str).fillna("")
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    tables = _tables(nb)
    qn = survey.questionnaire()
    checked = 0
    for q in qn.questions:
        if q.type not in ("single", "multi"):
            continue
        cap = next(k for k in tables if k.startswith(f"第{q.number}题作答情况"))
        exp = independent_counts(df, q)
        # the base of each group: respondents of the group who answered the question
        bases = {}
        for g in ("公立", "社会办", "零售药店", "三级", "二级", "一级"):
            col = df["填报单位类别"].map(TYPE_OF) if g in ("公立", "社会办", "零售药店") else df["机构等级"]
            bases[g] = int(((col == g) & (df[q.header].str.strip() != "")).sum())
        for row in tables[cap]:
            text = row[0].split(". ", 1)[1]
            d = exp.get(text, {"total": 0, "公立": 0, "社会办": 0, "零售药店": 0, "三级": 0, "二级": 0, "一级": 0})
            assert int(row[1]) == d["total"], (q.number, text)
            for g, cell in zip(("公立", "社会办", "零售药店", "三级", "二级", "一级"), row[3:9]):
                if bases[g] == 0:
                    assert cell == "0"
                elif bases[g] < 5:
                    assert cell == "—", (q.number, g, bases[g])
                else:
                    assert cell == f"{d[g]}（{d[g] / bases[g] * 100:.1f}%）", (q.number, text, g, cell)
            checked += 1
    assert checked > 40
    # the profile table
    prof = tables["回收问卷的填报单位类别与机构等级"]
    total_row = next(r for r in prof if r[0] == "合计")
    assert int(total_row[-1]) == len(df)
    assert nb["cells"][0]["metadata"]["tags"] == ["parameters"]
    assert nb["metadata"]["yibao"]["kind"] == "survey"


def test_report_rendered(built):
    _, nb_path = built
    html = nb_path.with_suffix(".html").read_text(encoding="utf-8")
    for h in ("一、调查概况", "二、各题作答情况", "三、意见建议汇总"):
        assert h in html
    pdf = nb_path.with_suffix(".pdf")
    assert pdf.exists() and pdf.stat().st_size > 10_000


def test_committed_notebook_has_no_outputs(project_dir):
    nb = json.loads((project_dir / "notebooks" / "survey.ipynb").read_text(encoding="utf-8"))
    assert "parameters" in nb["cells"][0]["metadata"].get("tags", [])
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None


# ---- issue 17: answers read exactly ------------------------------------------------------------------

def _export(rows: list[dict]) -> pd.DataFrame:
    """A hand-made export: 序号, profile and the given questions (by id) as headers."""
    qn = survey.questionnaire()
    out = []
    for i, r in enumerate(rows, start=1):
        row = {"序号": str(i), "填报单位类别": r.get("type", "公立医疗机构"), "机构等级": r.get("level", "二级")}
        for q in qn.questions:
            row[q.header] = r.get(q.id, "")
        out.append(row)
    return pd.DataFrame(out)


def test_misread_answers_are_invalid_and_listed():
    rows = [
        {"q23": "满意度一般"},                                  # not an option: invalid, not 满意
        {"q23": "满意"},
        {"q2": "基金收支类，同类机构比较类"},                      # comma-joined: A and B
        {"q12": "是", "q13": "120%"},                            # impossible pass rate
        {"q12": "是", "q13": "85"},
        {"q6": "否", "q7": "3"},                                 # q7 answered although q6 is 否
        {"q6": "是", "q7": "2"},
        {"q16": "是", "q17": "由医院医保办/药店汇总后反馈地方医保部门┋不了解，不清楚是否有正常的反馈渠道"},  # E with A
        {"q16": "否", "q17": "其它〖微信群〗"},                    # q17 after 否
        {"q18": "是〖-3〗"},                                      # negative days
    ]
    res = survey.analyse(_export(rows))
    q23 = res["q23"].counts.set_index("选项")
    assert q23.loc["A. 满意", "人数"] == 1 and res["q23"].answered == 1 and res["q23"].invalid == 1
    q2 = res["q2"].counts.set_index("选项")["人数"]
    assert q2["A. 基金收支类"] == 1 and q2["B. 同类机构比较类"] == 1 and res["q2"].answered == 1
    assert res["q13"].numeric["n"] == 1 and res["q13"].numeric["max"] == 85
    assert res["q7"].numeric["n"] == 1 and res["q7"].numeric["mean"] == 2
    assert res["q17"].answered == 0 and res["q17"].invalid == 2
    assert res["q18"].answered == 0
    reasons = {(x["row"], x["question"]): x["reason"] for x in res.invalid}
    assert "无法识别" in reasons[("1", 23)]
    assert "超出合理范围" in reasons[("4", 13)]
    assert reasons[("6", 7)] == "第6题答“否”，本题不应作答"
    assert "排他选项" in reasons[("8", 17)]
    assert reasons[("9", 17)] == "第16题答“否”，本题不应作答"
    assert "超出合理范围" in reasons[("10", 18)]
    assert len(res.invalid) == 6


def test_sample_generator_respects_exclusive_option():
    df = survey.sample_responses(400, 5)
    q17 = survey.questionnaire()["q17"]
    cells = df[q17.header][df[q17.header] != ""]
    assert cells.str.contains("不了解").any()
    assert not cells[cells.str.contains("不了解")].str.contains("┋").any()
    assert survey.analyse(df).invalid == []


def test_shares_have_bases_and_small_groups_are_suppressed_next_to_comments():
    from yibao.workgroup import survey_report as sr
    rows = ([{"type": "公立医疗机构", "level": "三级", "q5": "是" if i < 6 else "否", "q24": "建议按月推送病组明细数据"}
             for i in range(8)]
            + [{"type": "社会办医疗机构", "level": "三级", "q5": "是", "q24": "希望加快特例单议审核"} for _ in range(2)])
    res = survey.analyse(_export(rows))
    r = res["q5"]
    assert r.bases["公立"] == 8 and r.bases["社会办"] == 2 and r.bases["三级"] == 10
    t = sr.choice_table(r).set_index("选项")
    assert t.loc["A. 是", "公立医疗机构 n=8"] == "6（75.0%）"
    assert t.loc["A. 是", "社会办医疗机构 n=2"] == "—"          # 2 respondents: not shown
    assert t.loc["A. 是", "三级机构 n=10"] == "8（80.0%）"
    tidy = res.tidy()
    sb = tidy[(tidy["question_id"] == "q5") & (tidy["group"] == "社会办")]
    assert sb["suppressed"].all() and sb["count"].isna().all()
    texts = res["q24"].texts
    assert {(t["type"], t["level"]) for t in texts if "特例单议" in t["text"]} == {("—", "—")}
    assert {(t["type"], t["level"]) for t in texts if "病组" in t["text"]} == {("公立", "三级")}


def test_suggestions_grouped_by_theme_and_arrears_flagged():
    rows = [{"q24": "建议按月推送本机构病组盈亏明细数据"}, {"q24": "希望公开同级机构平均费用"},
            {"q24": "医保基金拖欠我院三个月，请尽快拨付"}, {"q24": "结算清单质控规则变化时请提前培训"},
            {"q8": "否，部分申报款项还未结算"}, {"q19": "是〖拨付不及时，到账慢〗"}, {"q24": "谢谢"}]
    res = survey.analyse(_export(rows))
    themes = pd.Series([t["theme"] for t in res["q24"].texts]).value_counts().to_dict()
    assert themes == {"数据发布内容与形式": 2, "结算拨付与预付金": 1, "信息系统与编码质控": 1, "其他": 1}
    flagged = {(a["row"], a["question"]) for a in res.arrears}
    assert flagged == {("3", 24), ("5", 8), ("6", 19)}


def test_report_title_uses_region_name(tmp_path, small_data, capsys):
    from yibao.cli import main
    from yibao.workgroup import survey_report as sr
    assert sr.region_name("350100", small_data) == "东岚市"
    assert sr.region_name("350100") is None
    assert main(["survey", "--responses", str(tmp_path / "r.csv"), "--sample", "10", "--region", "350100",
                 "--out", str(tmp_path / "o"), "--formats", ""]) == 1
    assert "找不到统筹地区名称" in capsys.readouterr().err


def test_survey_report_renders_through_quarto(built, tmp_path):
    """Issue 18: the questionnaire report through a real Quarto, every format, the same numbers."""
    from quarto_support import check_quarto_renders, require_quarto
    require_quarto()
    _, nb_path = built
    check_quarto_renders(nb_path, nb_path.parent, tmp_path / "survey")
