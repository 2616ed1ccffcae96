"""The survey report (used by notebooks/survey.ipynb) and ``yibao survey``: tables, sentences and charts
of a :class:`~yibao.workgroup.survey.SurveyAnalysis`, the report body, and the command line that executes
and renders the notebook for one responses file.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd

from yibao import PROJECT_DIR
from yibao.errors import YibaoError
from yibao.metrics.catalogue import SUPPRESS_MIN
from yibao.workgroup.survey import (
    LEVELS,
    NOT_STATED,
    NOTEBOOK,
    TYPES,
    UNREADABLE,
    QuestionResult,
    SurveyAnalysis,
    analyse,
    questionnaire,
    read_responses,
    sample_responses,
    write_responses,
)


# ---- the report (used by notebooks/survey.ipynb) -------------------------------------------

def _pct(v) -> str:
    from yibao.fmt import pct
    return pct(v, 1)


def _num(v, digits=1) -> str:
    from yibao.fmt import num
    return num(v, digits)


GROUP_LABEL = {"公立": "公立医疗机构", "社会办": "社会办医疗机构", "零售药店": "零售药店",
               "三级": "三级机构", "二级": "二级机构", "一级": "一级机构"}


def group_cell(count: int, base: int) -> str:
    """``人数（占比）`` of a type / level column; ``—`` when the group has fewer than SUPPRESS_MIN
    respondents to the question (too few to show in an anonymous survey), ``0`` without respondents."""
    if not base:
        return "0"
    if base < SUPPRESS_MIN:
        return "—"
    return f"{count}（{_pct(count / base * 100)}）"


def choice_table(r: QuestionResult) -> pd.DataFrame:
    """The display table of a choice question: option, 人数, 占比, then per type and level
    ``人数（占该组作答人数的比例）`` with the group's base in the header (``公立医疗机构 n=30``)."""
    t = r.counts
    out = pd.DataFrame({"选项": t["选项"], "人数": t["人数"].astype(str), "占比": t["占比(%)"].map(_pct)})
    for g in (*TYPES, *LEVELS):
        base = int(r.bases.get(g, 0))
        out[f"{GROUP_LABEL[g]} n={base}"] = [group_cell(int(c), base) for c in t[g]]
    return out.astype(str)


def choice_sentence(r: QuestionResult) -> str:
    if not r.answered:
        return "本题无人作答。"
    top = r.counts[r.counts["选项"] != UNREADABLE].sort_values("人数", ascending=False, kind="mergesort")
    first = top.iloc[0]
    name = str(first["选项"]).split(". ", 1)[-1]
    s = f"本题有效作答 {r.answered} 人，选择“{name}”的最多，{int(first['人数'])} 人，占 {_pct(first['占比(%)'])}"
    if len(top) > 1 and int(top.iloc[1]["人数"]) > 0:
        second = top.iloc[1]
        s += f"；其次为“{str(second['选项']).split('. ', 1)[-1]}”，{int(second['人数'])} 人，占 {_pct(second['占比(%)'])}"
    s += "。"
    if r.question.type == "multi":
        s += "（多选题，各选项占比之和可超过100%。）"
    if r.fill_numbers:
        fn = r.fill_numbers
        s += (f"填写了具体{'时间' if r.question.id == 'q18' else '数值'}的 {fn['n']} 人中，平均 {_num(fn['mean'])}"
              f"{r.question.options[0].fill_unit or ''}，中位数 {_num(fn['median'])}{r.question.options[0].fill_unit or ''}。")
    return s


def numeric_table(r: QuestionResult) -> pd.DataFrame:
    rows = [{"类别": "全部", **r.numeric}] + r.numeric_by_type.to_dict("records")
    out = []
    for row in rows:
        out.append({"类别": {"公立": "公立医疗机构", "社会办": "社会办医疗机构"}.get(row["类别"], row["类别"]),
                    "作答人数": str(row["n"]), "平均值": _num(row["mean"], 2), "中位数": _num(row["median"], 2),
                    "最小值": _num(row["min"], 2), "最大值": _num(row["max"], 2)})
    return pd.DataFrame(out)


def choice_chart(r: QuestionResult):
    """Horizontal bars of the shares (%) of a choice question (house style of :mod:`yibao.publications.charts`),
    options in questionnaire order from the top."""
    t = r.counts
    d = pd.DataFrame({"选项": [_wrap(str(x), 18) for x in t["选项"]],
                      "占比": [0.0 if v is None else float(v) for v in t["占比(%)"]]}).iloc[::-1]
    try:
        from yibao.publications import charts
        return charts.bar(d, x="选项", y="占比", horizontal=True, sort=False, fmt=lambda v: f"{v:.1f}%",
                          xlabel="占作答人数比例（%）")
    except ImportError:  # pragma: no cover - charts ships with the package
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6.3, 0.3 * len(d) + 0.9))
        ax.barh(d["选项"], d["占比"])
        return fig


def _wrap(s: str, width: int) -> str:
    return "\n".join(s[i:i + width] for i in range(0, len(s), width))


def _cn_date(date: str | None) -> str:
    if not date:
        return ""
    d = dt.date.fromisoformat(date[:10])
    return f"{d.year}年{d.month}月{d.day}日"


def _share(res: SurveyAnalysis, qid: str, keys: tuple[str, ...]) -> tuple[int, int, float | None]:
    """(respondents choosing any of ``keys``, respondents answering, share %) for a question."""
    try:
        r = res[qid]
    except KeyError:
        return 0, 0, None
    if r.counts is None or not r.answered:
        return 0, r.answered, None
    prefix = tuple(f"{k}. " for k in keys)
    n = int(r.counts.loc[r.counts["选项"].str.startswith(prefix), "人数"].sum())
    return n, r.answered, n / r.answered * 100


def overview(rep, res: SurveyAnalysis, region_name: str, date: str | None = None) -> None:
    """一、调查概况: how many responded, by type and level, and the headline figures."""
    qn = questionnaire()
    when = _cn_date(date or res.date)
    tp = res.types
    rep.md(f"{region_name}医保数据工作组在{when + '的' if when else ''}数据发布活动现场发放《{qn.title}》"
           f"（{qn.source}），共回收有效问卷 {res.n} 份，其中公立医疗机构 {int(tp['公立'])} 份、"
           f"社会办医疗机构 {int(tp['社会办'])} 份、零售药店 {int(tp['零售药店'])} 份"
           + (f"、未填写单位类别 {int(tp[NOT_STATED])} 份" if int(tp[NOT_STATED]) else "") + "。问卷无记名填写。")
    prof = res.profile.copy()
    keep_cols = [c for c in prof.columns if prof[c].sum() > 0 or c in LEVELS]
    keep_rows = [i for i in prof.index if prof.loc[i].sum() > 0 or i in TYPES]
    prof = prof.loc[keep_rows, keep_cols]
    prof["合计"] = prof.sum(axis=1)
    prof.loc["合计"] = prof.sum()
    prof.index = [{"公立": "公立医疗机构", "社会办": "社会办医疗机构"}.get(i, i) for i in prof.index]
    prof = prof.rename_axis("填报单位类别").reset_index()
    rep.table(prof.astype(str), "回收问卷的填报单位类别与机构等级", note="零售药店不填机构等级（不适用）。")
    facts = []
    for qid, keys, text in (("q1", ("A",), "认为本统筹地区医保部门按月或按季度发布医保数据"),
                            ("q4", ("A", "B"), "认为数据工作组及时反馈医院数据对完善管理“非常重要”或“重要”"),
                            ("q5", ("A",), "知晓医保预付金政策"),
                            ("q8", ("A",), "表示2024年已足额结算医保基金"),
                            ("q19", ("A",), "反映出现过结算审核不及时、资金拨付不及时或医保服务不到位的情况"),
                            ("q23", ("A", "B"), "对本统筹地区医保部门的工作表示“满意”或“基本满意”")):
        n, base, share = _share(res, qid, keys)
        if share is not None:
            facts.append(f"{_pct(share)}（{n}/{base}）的作答者{text}")
    if facts:
        rep.md("主要结果：" + "；".join(facts) + "。")
    arrears(rep, res)
    if res.missing_questions:
        rep.md("导出文件中缺少以下题目，未作分析：第" + "、".join(str(q.number) for q in res.missing_questions) + "题。")


def question_sections(rep, res: SurveyAnalysis, charts: bool = True, heading_level: int = 2) -> None:
    """二、各题作答情况: per question the counts and shares (by type and level), a chart, fillings;
    numeric questions summarised; free-text questions point to the list of suggestions."""
    h = "#" * heading_level
    rep.md("占比 = 选择该项的人数 ÷ 该题有效作答人数 × 100%（多选题各项占比之和可超过100%）；表中“公立医疗机构”"
           "至“一级机构”各列为选择该项的人数及其占该组有效作答人数的比例，表头 n 为该组有效作答人数（各组占比的分母）；"
           f"有效作答不足 {SUPPRESS_MIN} 人的组不列数字（—），以免推断出填报单位。无效作答不计入分母，见附录。")
    for r in res.results:
        q = r.question
        rep.md(f"{h} {q.number}. {q.text}")
        if q.type in ("single", "multi"):
            rep.md(choice_sentence(r))
            rep.table(choice_table(r), f"第{q.number}题作答情况（{'多选' if q.type == 'multi' else '单选'}）",
                      note=f"有效作答 {r.answered} 人，无效作答 {r.invalid} 人，未作答 {res.n - r.answered - r.invalid} 人。")
            if charts and r.answered:
                rep.figure(choice_chart(r), f"第{q.number}题各选项占比")
            if r.fills:
                ft = pd.DataFrame([{"选项": f["option"], "填写内容": f["text"],
                                    "填报单位类别": _type_label(f["type"]), "机构等级": f["level"]} for f in r.fills])
                rep.table(ft, f"第{q.number}题选项中填写的内容（{len(ft)} 条）")
        elif q.type == "number":
            nm = r.numeric
            u = q.unit or ""
            if nm["n"]:
                rep.md(f"本题有效填写 {nm['n']} 人，平均 {_num(nm['mean'], 2)}{u}，中位数 {_num(nm['median'], 2)}{u}，"
                       f"最小 {_num(nm['min'], 2)}{u}，最大 {_num(nm['max'], 2)}{u}。")
                rep.table(numeric_table(r), f"第{q.number}题填写数值汇总（单位：{u}）")
            else:
                rep.md("本题无人填写。")
            if r.invalid:
                rep.md(f"另有 {r.invalid} 条填写为无效作答（无法识别为数字、超出合理范围或按前题不应作答），"
                       "未计入，见附录。")
        else:
            rep.md(f"本题收到意见建议 {len(r.texts)} 条，见“三、意见建议汇总”。" if r.texts else "本题无人填写。")


def _type_label(t: str) -> str:
    return {"公立": "公立医疗机构", "社会办": "社会办医疗机构"}.get(t, t)


def suggestions(rep, res: SurveyAnalysis) -> None:
    """三、意见建议汇总: the free-text answers (question 24) grouped by theme with counts, then listed by
    theme as written (contact details masked; type and level only for groups of SUPPRESS_MIN or more)."""
    from yibao.workgroup.survey_rules import OTHER_THEME, THEMES
    texts = [t for r in res.results if r.question.type == "text" for t in r.texts]
    if not texts:
        rep.md("本次问卷未收到文字意见建议。")
        return
    order = [t for t, _ in THEMES] + [OTHER_THEME]
    by_theme = pd.Series([t["theme"] for t in texts]).value_counts()
    themes = sorted(by_theme.index, key=lambda k: (-int(by_theme[k]), order.index(k)))
    rep.md(f"第24题共收到文字意见建议 {len(texts)} 条，按主题归类："
           + "、".join(f"{k} {int(by_theme[k])} 条" for k in themes)
           + "。工作组应逐条研究，在下期发布时反馈采纳情况（手册 六(八)）。")
    rep.table(pd.DataFrame([{"主题": k, "条数": str(int(by_theme[k])),
                             "占比": _pct(int(by_theme[k]) / len(texts) * 100)} for k in themes]),
              "意见建议按主题归类", note="按关键词归入命中最多的主题（并列时取靠前的主题）；归类规则见 docs/workgroup.md。")
    rows = []
    for k in themes:
        for t in texts:
            if t["theme"] == k:
                rows.append({"序号": str(len(rows) + 1), "主题": k, "意见建议": t["text"],
                             "填报单位类别": _type_label(t["type"]), "机构等级": t["level"]})
    rep.table(pd.DataFrame(rows), f"意见建议（{len(rows)} 条）",
              note=f"已隐去可能的个人联系方式；所在组回收问卷不足 {SUPPRESS_MIN} 份的，不列单位类别或等级（—）。")


def arrears(rep, res: SurveyAnalysis) -> None:
    """Answers that point to money owed to institutions (handbook 六(七): 拖欠医疗机构资金)."""
    if not res.arrears:
        rep.md("本次问卷未发现反映医保部门拖欠医疗机构资金的作答。")
        return
    by_q = pd.Series([a["question"] for a in res.arrears]).value_counts().sort_index()
    rep.md(f"**须关注：{len(res.arrears)} 条作答反映可能存在拖欠医疗机构资金的情况**（"
           + "、".join(f"第{int(k)}题 {int(v)} 条" for k, v in by_q.items())
           + "）。按手册 六(七)，应及时排查并予以妥善解决，并在下期发布时反馈处理情况。")
    rep.table(pd.DataFrame([{"问卷序号": a["row"], "题号": str(a["question"]), "作答内容": a["text"],
                             "填报单位类别": _type_label(a["type"])} for a in res.arrears]),
              f"反映拖欠或拨付不及时的作答（{len(res.arrears)} 条）",
              note="第8题选“否，部分申报款项还未结算”，或文字中提到拖欠、拨付不及时、未结算等。")


def invalid_answers(rep, res: SurveyAnalysis) -> None:
    """The answers not counted, each with its rule."""
    if not res.invalid:
        rep.md("全部作答均有效。")
        return
    rep.md(f"共 {len(res.invalid)} 条作答无效，未计入对应题目的分母：选项不能完整匹配、数值超出合理范围、"
           "按前一题不应作答、排他选项与其他选项同选。")
    rep.table(pd.DataFrame([{"问卷序号": x["row"], "题号": str(x["question"]), "作答内容": x["answer"],
                             "原因": x["reason"]} for x in res.invalid]), f"无效作答（{len(res.invalid)} 条）")


def write_report(rep, res: SurveyAnalysis, region_name: str, date: str | None = None, charts: bool = True) -> None:
    """The whole report body with its own top-level headings (the notebook uses the three parts)."""
    rep.md("# 一、调查概况")
    overview(rep, res, region_name, date)
    rep.md("# 二、各题作答情况")
    question_sections(rep, res, charts=charts)
    rep.md("# 三、意见建议汇总")
    suggestions(rep, res)
    rep.md("# 附录：无效作答")
    invalid_answers(rep, res)


# ---- command line --------------------------------------------------------------------------

def region_name(region: str, data_dir: str | os.PathLike | None = None) -> str | None:
    """The region's name: params/regions.yaml (``regions.<code>.name``), else the dataset's poolarea
    table (``--data``); None when neither knows it."""
    try:
        import yaml
        p = PROJECT_DIR / "params" / "regions.yaml"
        cfg = yaml.safe_load(p.read_text(encoding="utf-8")) if p.exists() else {}
        reg = ((cfg or {}).get("regions") or {}).get(str(region)) or {}
        for k in ("name", "poolarea_name", "region_name"):
            if reg.get(k):
                return str(reg[k])
    except Exception:  # noqa: BLE001 - a broken presentation file does not stop the name lookup
        pass
    if data_dir:
        from yibao.data.warehouse import Warehouse
        with Warehouse(Path(data_dir)) as wh:
            if wh.has("poolarea"):
                pa = wh.regions()
                hit = pa[pa["poolarea_no"].astype(str) == str(region)]
                if not hit.empty and str(hit.iloc[0]["poolarea_name"] or "").strip():
                    return str(hit.iloc[0]["poolarea_name"]).strip()
    return None


def out_dir_for(out: str | os.PathLike, region: str, date: str) -> Path:
    """``OUT/survey/<region>/<YYYY-MM-DD>/``: one directory per release event (the questionnaire's date)."""
    return Path(out) / "survey" / str(region) / date


def build_report(responses: str | os.PathLike, region: str, out: str | os.PathLike = "reports",
                 formats=("html", "docx", "pdf"), engine: str = "auto", name: str | None = None,
                 date: str | None = None) -> dict[str, Path]:
    """Execute notebooks/survey.ipynb with papermill for one responses file and render it.

    Returns {'ipynb': …, 'csv': …, 'html': …, …}. Work happens in a staging directory; finished files are
    moved into ``OUT/survey/<region>/<date>/`` one by one.
    """
    import shutil
    import tempfile

    import nbformat

    responses = Path(responses).resolve()
    df = read_responses(responses)
    res = analyse(df)
    date = date or res.date or dt.date.today().isoformat()
    name = name or region_name(region)
    if not name:
        raise YibaoError(f"--region {region}: 找不到统筹地区名称（报告标题要用名称而不是编码）：请用 --data 指定含 poolarea 表的"
                         f"数据集，或在 params/regions.yaml 的 regions.{region}.name 中填写")
    dest = out_dir_for(out, region, date)
    dest.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".stage-survey-", dir=dest))
    try:
        nb_out = stage / "survey.ipynb"
        from yibao.render.execute import execute_notebook
        execute_notebook(NOTEBOOK, nb_out, {"responses": str(responses), "region": str(region),
                                            "region_name": name, "date": date})
        nb = nbformat.read(str(nb_out), as_version=4)
        d = dt.date.fromisoformat(date)
        nb.metadata["yibao"] = {
            "title": f"{name}医保数据发布调查问卷分析报告",
            "subtitle": f"{d.year}年{d.month}月{d.day}日数据发布活动",
            "region": str(region), "region_name": name, "period": date,
            "period_label": f"{d.year}年{d.month}月{d.day}日",
            "issuer": f"{name}医保数据工作组", "date": dt.date.today().isoformat(),
            "confidentiality": "数据仅限本统筹地区医保部门及数据工作组内部使用，不得对外传播",
            "kind": "survey",
        }
        nbformat.write(nb, str(nb_out))
        res.tidy().to_csv(stage / "survey-counts.csv", index=False, encoding="utf-8-sig")
        if formats:
            from yibao.render import engine as render
            render.render(nb_out, formats=tuple(formats), engine=engine, out_dir=stage)
        outputs = {}
        for f in sorted(stage.iterdir()):
            if f.is_file() and not f.name.startswith("."):
                os.replace(f, dest / f.name)
                outputs[f.suffix.lstrip(".") if f.suffix != ".csv" else "csv"] = dest / f.name
        return outputs
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def run_cli(args) -> int:
    if not args.responses:
        raise YibaoError("survey: 需要 --responses FILE（问卷平台导出的 xlsx 或 csv）")
    if args.sample:
        write_responses(sample_responses(args.sample, args.seed), args.responses)
        print(f"样例问卷 / sample responses: {args.responses}（{args.sample} 份）")
    name = region_name(args.region, getattr(args, "data", None))
    outputs = build_report(args.responses, args.region, args.out, formats=args.formats, engine=args.engine,
                           name=name)
    print("调查问卷分析报告 / survey report:")
    for k, p in outputs.items():
        print(f"  {p}")
    return 0
