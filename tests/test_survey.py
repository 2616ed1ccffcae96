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
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("survey")
    responses = tmp / "responses.xlsx"
    from yibao.cli import main
    formats = "html,pdf"
    args = ["survey", "--responses", str(responses), "--region", "350100", "--out", str(tmp / "out"),
            "--sample", "50", "--seed", "9", "--formats", formats]
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
        for row in tables[cap]:
            text = row[0].split(". ", 1)[1]
            d = exp.get(text, {"total": 0, "公立": 0, "社会办": 0, "零售药店": 0, "三级": 0, "二级": 0, "一级": 0})
            assert int(row[1]) == d["total"], (q.number, text)
            assert [int(x) for x in row[3:9]] == [d[g] for g in ("公立", "社会办", "零售药店", "三级", "二级", "一级")]
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
