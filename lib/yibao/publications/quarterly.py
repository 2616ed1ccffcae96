"""Sections of the quarterly analysis report (季发布), handbook 附录2 / 附录3.

Each function writes one part of the report through a :class:`yibao.publications.display.Report`: prose whose
every figure comes from the data, a table, a chart. The notebook ``notebooks/quarterly.ipynb`` calls
them in order under its headings; the monthly and annual notebooks reuse some of them.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from yibao.escape import strong
from yibao.metrics import analysis
from yibao.metrics.catalogue import SUPPRESS_MIN, SUPPRESSED_MARK
from yibao import fmt
from yibao.data.contract import LEVEL_ORDER
from yibao.publications import deck, disclosure, services
from yibao.publications.context import Context

SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
RULE_TOPIC = {  # what a named hospital must explain, per rule (下一步)
    "OPIP_RATIO_LOW": "门诊住院人次比明显偏低的原因，是否存在诱导住院（“拉人头”住院）",
    "OUT_OF_CATALOG_HIGH": "医保目录外费用占比偏高的原因，是否存在将目录内费用转为患者自付",
    "CASE_GROWTH_HIGH": "出院人次增幅明显高于同级的原因（床位、学科、院区等变化）",
    "BASE_GROUP_TERTIARY": "三级医院收治基层病组病例偏多的原因及分级诊疗落实情况",
    "COST_DEVIATION": "常见病组次均费用明显偏离同级的原因",
    "UPCODING_DRG": "病组结构变化（高权重细分组占比上升）的原因，是否存在高套病组",
    "UPCODING_ICD": "诊断亚目结构变化（高费用诊断占比上升）的原因，是否存在高靠诊断",
    "READMIT_15D": "15日内再入院率偏高的原因",
    "SPLIT_ADMISSION": "短期内同诊断再入院病例的情况，是否存在分解住院",
    "LOW_STANDARD_ADMISSION": "低权重、短住院日病例集中的原因，是否存在低标准入院",
    "GROUP_ADMISSION": "同一批参保人多次同时入院的情况（组团式住院）",
    "IMPOSSIBLE_TRAVEL": "同一参保人短时间内异地结算记录的真实性",
    "QC_PASS_LOW": "医保结算清单质控通过率偏低的原因及整改措施",
    "UPLOAD_LOW": "医保结算清单上传率偏低的原因及整改措施",
}


SUPPRESSED = SUPPRESSED_MARK  # how every suppressed cell looks, counts and rates alike (below SUPPRESS_MIN)


def small(n) -> str:
    """A hospital-level count, shown as "<5" when 1–4."""
    return SUPPRESSED if _ok(n) and 0 < float(n) < SUPPRESS_MIN else fmt.count(n)


def cell(status, value, f=fmt.num) -> str:
    """An institution's indicator as a table cell: the value, "<5" when suppressed, "不适用" when the
    indicator does not apply to it (e.g. DRG/DIP indicators at an institution not paid by DRG/DIP)."""
    if status == "suppressed":
        return SUPPRESSED
    if status == "not_applicable":
        return "不适用"
    return f(value) if status == "ok" and _ok(value) else fmt.DASH


def _ok(v) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v))


def _charts():
    from yibao.publications import charts
    charts.setup()
    return charts


# ---- opening --------------------------------------------------------------------------------------

def overview(ctx: Context, rep) -> None:
    """The opening paragraph: scope, sources, 知悉范围."""
    h = ctx.hospitals
    n_ph = int((ctx.institutions["fixmedins_type"] == "2").sum())
    method = {"DRG": "按疾病诊断相关分组（DRG）付费", "DIP": "按病种分值（DIP）付费"}.get(ctx.pay_method, "按病种付费")
    rep.md(
        f"本报告依据国家医保局《医保数据发布简明工作手册》数据底稿和分析提纲，围绕“钱、效、错”三个方面，"
        f"分析{ctx.name}{ctx.label}医保基金收支、{method}运行成效和定点医疗机构重点指标情况，并提出下一步工作安排。"
        f"纳入分析的定点医疗机构{len(h)}家、定点零售药店{n_ph}家；数据来源为医保基金报表和医保信息平台结算数据"
        f"（截至{fmt.date_zh(ctx.period.end - dt.timedelta(days=1))}），退费结算已冲销。"
        f"累计数为{ctx.period.range_label}合计，当期数为{ctx.label}合计。")
    deck.emit_key_figures(ctx, rep)  # the 发布会 deck's key figures (no visible output)


# ---- 一、钱 ----------------------------------------------------------------------------------------

def income(ctx: Context, rep) -> None:
    """Fund income by scheme and source, 累计, with 同比 (indicators 1–7)."""
    v = ctx.value
    rep.md(
        f"{ctx.period.range_label}，{ctx.name}医保基金收入合计{fmt.money(v(1))}，{ctx.change(1, '同比')}。"
        f"其中职工医保统筹基金收入{fmt.money(v(2))}（{ctx.change(2, '同比')}），"
        f"征缴收入{fmt.money(v(3))}、其他收入{fmt.money(v(4))}；"
        f"居民医保基金收入{fmt.money(v(5))}（{ctx.change(5, '同比')}），"
        f"其中个人缴费{fmt.money(v(6))}、财政补助和其他收入{fmt.money(v(7))}。")
    rep.callout("居民医保按年缴费，个人缴费和财政补助集中在年初一至两个月到账，月度报表中的居民医保收入实际上是全年收入，"
                "不宜按月直接与支出比较。")
    df = analysis.fund_income(ctx.wh, ctx.region, ctx.period.code)
    df = df[(df["amount"] != 0) | (df["amount_last_year"] != 0)]
    total = df["amount"].sum()
    t = pd.DataFrame({
        "收入项目": df["label"],
        f"{ctx.period.range_label}（万元）": df["amount"].map(fmt.wan),
        "占比": (df["amount"] / total * 100).map(fmt.pct),
        "上年同期（万元）": df["amount_last_year"].map(fmt.wan),
        "同比": [fmt.signed_pct(fmt.growth_pct(a, b)) for a, b in zip(df["amount"], df["amount_last_year"])],
    })
    rep.table(t, f"{ctx.name}{ctx.period.range_label}医保基金收入构成",
              note="职工医保含统筹基金和个人账户；居民医保财政补助按中央、省级、市县级分列。")


def expenditure(ctx: Context, rep) -> None:
    """Expenditure by scheme (8–13), by hospital level and by direction, monthly trend."""
    v = ctx.value
    rep.md(
        f"{ctx.period.range_label}，医保基金支出合计{fmt.money(v(8))}，{ctx.change(8, '同比')}。"
        f"职工医保基金支出{fmt.money(v(9))}（{ctx.change(9, '同比')}），其中统筹基金支出{fmt.money(v(10))}，"
        f"本地住院统筹基金支出{fmt.money(v(11))}；居民医保基金支出{fmt.money(v(12))}（{ctx.change(12, '同比')}），"
        f"其中本地住院统筹基金支出{fmt.money(v(13))}。"
        + _income_vs_expense(ctx) + services.remote_care_text(ctx))
    lv = analysis.expenditure_by_level(ctx.wh, ctx.region, ctx.period.code)
    if not lv.empty:
        top = lv.sort_values("hifp_pay", ascending=False).iloc[0]
        rep.md(f"从支出流向看，{ctx.label}本地定点医药机构发生统筹基金支付{fmt.money(lv['hifp_pay'].sum())}，"
               f"{top['level']}机构占{fmt.pct(top['share'], 1)}，为最大流向。")
        t = pd.DataFrame({
            "机构级别": lv["level"], "机构数": lv["institutions"].map(fmt.count),
            "统筹基金支出（万元）": lv["hifp_pay"].map(fmt.wan), "占比": lv["share"].map(fmt.pct),
            "上年同期（万元）": lv["hifp_pay_last_year"].map(fmt.wan),
            "同比": [fmt.signed_pct(fmt.growth_pct(a, b)) for a, b in zip(lv["hifp_pay"], lv["hifp_pay_last_year"])],
        })
        rep.table(t, f"{ctx.label}统筹基金支出按机构级别分布", note="按结算数据统计，含异地就医患者在本地的结算；退费已冲销。")
    dr = analysis.expenditure_by_direction(ctx.wh, ctx.region, ctx.period.code)
    if not dr.empty:
        t = pd.DataFrame({
            "支出方向": dr["direction"], "结算人次": dr["cases"].map(fmt.count),
            "统筹基金支出（万元）": dr["hifp_pay"].map(fmt.wan), "占比": dr["share"].map(fmt.pct),
            "同比": [fmt.signed_pct(fmt.growth_pct(a, b)) for a, b in zip(dr["hifp_pay"], dr["hifp_pay_last_year"])],
        })
        rep.table(t, f"{ctx.label}统筹基金支出按支出方向分布")
    trend_chart(ctx, rep)


def _income_vs_expense(ctx: Context) -> str:
    g_inc = fmt.growth_pct(ctx.value(1), ctx.value_yoy(1))
    g_exp = fmt.growth_pct(ctx.value(8), ctx.value_yoy(8))
    if g_inc is None or g_exp is None:
        return ""
    if abs(g_exp - g_inc) < 0.05:
        return f"收入与支出增幅基本持平（均约{fmt.pct(g_inc, 1)}）。"
    if g_exp > g_inc:
        return (f"支出增幅（{fmt.pct(g_exp, 1)}）高于收入增幅（{fmt.pct(g_inc, 1)}）"
                f"{fmt.num(g_exp - g_inc, 1)}个百分点，基金收支平衡压力加大。")
    return f"收入增幅（{fmt.pct(g_inc, 1)}）高于支出增幅（{fmt.pct(g_exp, 1)}），基金运行总体平稳。"


def trend_chart(ctx: Context, rep) -> None:
    df = analysis.fund_monthly(ctx.wh, ctx.region, ctx.period.code, 24)
    if df.empty:
        return
    charts = _charts()
    w = df.pivot_table(index="month", columns="scheme", values=["income", "expense"], aggfunc="sum").fillna(0) / 1e4
    w.columns = [f"{scheme}{'收入' if kind == 'income' else '支出'}" for kind, scheme in w.columns]
    w = w.reset_index()
    cols = [c for c in ("职工医保收入", "职工医保支出", "居民医保收入", "居民医保支出") if c in w.columns]
    fig = charts.trend(w, "month", cols, ylabel="万元", annotate_last=False)
    rep.figure(fig, f"{ctx.name}近24个月医保基金收支月度趋势", slide="钱：近24个月基金收支趋势",
               note="职工医保含统筹基金和个人账户。居民医保收入集中在年初到账（按年缴费），月度收支不可直接相减判断结余。")


def balance(ctx: Context, rep) -> None:
    """当期结余 (15, 17, 20), 累计结余 (18, 21), 可支付月数, 12个月动态结余 (48, 49)."""
    v = ctx.value
    cap = analysis.fund_capacity(ctx.wh, ctx.region, ctx.period.code).set_index("fund")
    m310 = cap["months_capacity"].get("310")
    m390 = cap["months_capacity"].get("390")
    b310, b390 = ctx.value_any(18), ctx.value_any(21)  # 年度 indicators: in a quarter a 参考值
    ref = "" if ctx.value(18) is not None else "（年度指标，本期为参考值）"
    rep.md(
        f"{ctx.label}，基金当期{fmt.balance(v(15))}（{ctx.change(15, '同比')}），其中职工医保统筹基金当期"
        f"{fmt.balance(v(17))}，居民医保当期{fmt.balance(v(20))}。期末职工医保统筹基金累计结余{fmt.money(b310)}{ref}，"
        f"可支付{fmt.num(m310, 1)}个月；居民医保累计结余{fmt.money(b390)}，"
        f"可支付{fmt.num(m390, 1)}个月。最近12个月动态结余：职工医保{_dyn(v(48))}，居民医保{_dyn(v(49))}。"
        + _capacity_warning(m310, m390))
    t = pd.DataFrame({
        "险种": ["职工医保统筹基金", "居民医保基金"],
        "当期结余（万元）": [fmt.wan(v(17)), fmt.wan(v(20))],
        "累计结余（万元）": [fmt.wan(b310), fmt.wan(b390)],
        "月均支出（万元）": [fmt.wan(cap["avg_monthly_exp"].get("310")), fmt.wan(cap["avg_monthly_exp"].get("390"))],
        "可支付月数": [fmt.num(m310, 1), fmt.num(m390, 1)],
        "12个月动态结余（万元）": [fmt.wan(v(48)), fmt.wan(v(49))],
    })
    rep.table(t, f"{ctx.label}医保基金结余及支撑能力",
              note="可支付月数＝期末累计结余÷最近12个月月均基金支出；动态结余＝最近12个月收入合计－支出合计。")


def _dyn(yuan) -> str:
    """A balance after its name ('动态结余：职工医保355.00万元'), a deficit as '收不抵支…'."""
    return fmt.balance(yuan) if _ok(yuan) and yuan < 0 else fmt.money(yuan)


def _capacity_warning(m310, m390) -> str:
    low = [n for n, m in (("职工医保", m310), ("居民医保", m390)) if _ok(m) and m < 6]
    high = [n for n, m in (("职工医保", m310), ("居民医保", m390)) if _ok(m) and m > 24]
    out = ""
    if low:
        out += f"{'、'.join(low)}可支付月数低于6个月，基金支撑能力偏弱，需加强预警。"
    if high:
        out += f"{'、'.join(high)}可支付月数超过24个月，结余相对充足。"
    return out


def assistance_resources(ctx: Context, rep) -> None:
    """城乡医疗救助 (22, 23) and 基金支撑能力: beds / pharmacies per 1,000 insured (46, 47)."""
    v = ctx.value
    inst = analysis.institution_counts(ctx.wh, ctx.region)
    beds = inst["beds"].sum()
    rep.md(
        f"{ctx.period.range_label}，城乡医疗救助基金收入{fmt.money(v(22))}，医疗救助支出（不含资助参保）{fmt.money(v(23))}。"
        f"截至{ctx.period.year}年{int(ctx.period.last_month[5:])}月末，全区域定点医疗机构床位{fmt.count(beds)}张，"
        f"按期末参保人数计算，千名参保人定点医疗机构床位数{fmt.ratio(ctx.value_any(46))}张，"
        f"千名参保人定点零售药店数{fmt.ratio(ctx.value_any(47), 2)}个"
        + ("" if ctx.value(46) is not None else "（年度指标，本期为参考值）") + "。")
    order = {k: i for i, k in enumerate(list(LEVEL_ORDER) + ["定点零售药店"])}
    inst = inst.assign(_o=inst["level"].map(order)).sort_values("_o")
    t = pd.DataFrame({"机构类别": inst["level"], "机构数": inst["institutions"].map(fmt.count),
                      "其中民营": inst["private"].map(fmt.count), "床位数": inst["beds"].map(fmt.count)})
    rep.table(t, f"{ctx.name}定点医药机构构成", note="床位为开放床位数；药店床位为0。")


def settlement(ctx: Context, rep) -> None:
    """结算情况: :func:`yibao.publications.claims.settlement` (支付率 over claims due, with the rule's source)."""
    from yibao.publications import claims
    claims.settlement(ctx, rep)


# ---- 二、效 ---------------------------------------------------------------------------------------

def grouping(ctx: Context, rep) -> None:
    """Budget execution, upload / QC / grouping rates (28–32) with a per-hospital table."""
    v = ctx.value
    b = analysis.budget_execution(ctx.wh, ctx.region, ctx.period.code)
    kind = ctx.pay_method or "DRG/DIP"
    text = ""
    if not b.empty and "drg_dip" in set(b["item"]):
        r = b[b["item"] == "drg_dip"].iloc[0]
        text = (f"{ctx.period.year}年{kind}付费统筹基金预算{fmt.money(r['amount'])}，截至{ctx.label}末已支出"
                f"{fmt.money(r['spent_ytd'])}，执行进度{fmt.pct(r['execution'], 1)}（时间进度{fmt.pct(r['elapsed'], 1)}）。")
    hb = analysis.hospital_budget_execution(ctx.wh, ctx.region, ctx.period.code)
    if not hb.empty:
        over = hb[hb["balance"] < 0]
        text += (f"{len(hb)}家医疗机构下达了分机构预算，截至{ctx.label}末按时间进度应支出{fmt.money(hb['due'].sum())}，"
                 f"实际支出{fmt.money(hb['spent'].sum())}；"
                 + (f"超过时间进度（超支）的{len(over)}家，超支合计{fmt.money(-over['balance'].sum())}。"
                    if len(over) else "各机构支出均未超过时间进度。"))
    rep.md(text +
           f"{ctx.label}，医保结算清单上传率{fmt.pct(v(28))}，质控通过率{fmt.pct(v(29))}（{ctx.change(29, '环比')}）；"
           f"开展{kind}付费的医疗机构按{kind}结算人次占比{fmt.pct(v(30))}，入组病例中按付费标准结算占"
           f"{fmt.pct(v(31))}、据实结算（含特例单议、除外）占{fmt.pct(v(32))}。")
    if not hb.empty:
        hb = _sort_level(hb, "level")
        rep.table(pd.DataFrame({
            "机构名称": hb["fixmedins_name"].values, "级别": hb["level"].values,
            "年度预算（万元）": hb["budget"].map(fmt.wan).values, "按时间进度（万元）": hb["due"].map(fmt.wan).values,
            "实际支出（万元）": hb["spent"].map(fmt.wan).values,
            "执行进度": hb["execution"].map(lambda x: fmt.pct(x, 1)).values,
            "结余/超支（万元）": [("结余" if x >= 0 else "超支") + fmt.wan(abs(x)) for x in hb["balance"]],
        }), f"{ctx.period.range_label}各医疗机构{kind}付费预算执行情况",
            note=f"按时间进度＝年度预算×已过月数÷12（时间进度{fmt.pct(hb['elapsed'].iloc[0], 1)}）；实际支出＝该机构住院结算统筹基金"
                 "支付累计（含异地就医患者，退费已冲销）；结余/超支＝按时间进度应支出－实际支出。")
    services.qc_problems_section(ctx, rep)
    cols = ((28, "上传率"), (29, "质控通过率"), (30, "入组结算占比"), (31, "标准结算占比"), (32, "据实结算占比"))
    h = _sort_level(ctx.hospitals[["fixmedins_code", "fixmedins_name", "lv_group", "drg_dip_flag"]], "lv_group")
    out = pd.DataFrame({"机构名称": h["fixmedins_name"].values, "级别": h["lv_group"].values})
    for iid, name in cols:
        d = ctx.per_hospital(iid).set_index("fixmedins_code")
        out[name] = [cell(d["status"].get(c), d["value"].get(c), fmt.pct) for c in h["fixmedins_code"]]
    out = out[~out[["上传率", "质控通过率"]].isin(["—"]).all(axis=1)]
    n_other = int((h["drg_dip_flag"].fillna("") != "1").sum())
    rep.table(out, f"{ctx.label}各医疗机构结算清单上传、质控和入组情况",
              note=f"“{SUPPRESSED}”表示病例数少于{SUPPRESS_MIN}例，不予公布；入组结算、标准结算和据实结算占比（底稿指标30–32）只对"
                   f"开展{kind}付费的医疗机构计算，未开展的机构（{n_other}家）为“不适用”。据实结算含按项目、特例单议和除外结算。"
              if n_other else f"“{SUPPRESSED}”表示病例数少于{SUPPRESS_MIN}例，不予公布。据实结算含按项目、特例单议和除外结算。")


def _sort_level(df: pd.DataFrame, col: str) -> pd.DataFrame:
    order = {k: i for i, k in enumerate(LEVEL_ORDER)}
    return df.assign(_o=df[col].map(order)).sort_values(["_o", "fixmedins_code"] if "fixmedins_code" in df
                                                        else ["_o"]).drop(columns="_o")


def special_cases(ctx: Context, rep) -> None:
    """特例单议 (33–35) by hospital; counts below 5 shown as "<5" (and their amounts withheld)."""
    v = ctx.value_any
    a33 = ctx.per_hospital(33).assign(n33=lambda d: d["value"])
    if a33["status"].isna().all():
        rep.md(f"{ctx.label}无特例单议申请数据。")
        return
    a34 = ctx.per_hospital(34).set_index("fixmedins_code")
    sc = analysis.special_cases_by_hospital(ctx.wh, ctx.region, ctx.period.code).set_index("fixmedins_code")
    d = a33[a33["status"].isin(["ok", "suppressed"])].copy()
    rep.md(f"{ctx.label}，开展{ctx.pay_method}付费的定点医疗机构申请特例单议{fmt.count(v(33))}例，"
           f"审核通过{fmt.count(v(34))}例，特例单议通过病例占出院病例的{fmt.pct(v(35))}"
           + special_case_judgement(ctx, v(35)) + "。")
    if d.empty:
        return
    d = _sort_level(d, "lv_group")
    rows = []
    for r in d.itertuples():
        s34 = a34["status"].get(r.fixmedins_code)
        amt = sc["approved_amt"].get(r.fixmedins_code) if s34 == "ok" else None
        rows.append({"机构名称": r.fixmedins_name, "级别": r.lv_group,
                     "申请例数": SUPPRESSED if r.status == "suppressed" else fmt.count(r.value),
                     "通过例数": SUPPRESSED if s34 == "suppressed" else fmt.count(a34["value"].get(r.fixmedins_code)),
                     "通过金额（万元）": fmt.wan(amt) if s34 == "ok" else fmt.DASH})
    t = pd.DataFrame(rows)
    # a suppressed indicator row has no value: it is passed as "<5"; the region totals are in the text above
    vals33 = [SUPPRESSED if st == "suppressed" else v for v, st in zip(d["value"], d["status"])]
    vals34 = [SUPPRESSED if a34["status"].get(c) == "suppressed" else a34["value"].get(c) for c in d["fixmedins_code"]]
    t = disclosure.protect(t, {"申请例数": vals33, "通过例数": vals34},
                           # the amount is withheld with either count: a row with "<5" applications shows
                           # its 通过金额 as "<5" too, never "0.00" in one such row and "<5" in the next
                           {"申请例数": ["通过金额（万元）"], "通过例数": ["通过金额（万元）"]})
    rep.table(t, f"{ctx.label}各医疗机构特例单议申请和审核情况", note=f"{disclosure.NOTE}。")


def complementary(cells: list[str], values: list) -> list[str]:
    """Complementary suppression of one column whose total is published (:func:`disclosure.protect` on a
    single column): when exactly one cell is "<5", the smallest other non-zero cell is withheld too."""
    t = disclosure.protect(pd.DataFrame({"_": range(len(cells)), "c": cells}), {"c": values})
    return list(t["c"])


def special_case_judgement(ctx: Context, share) -> str:
    """'（依据…第一部分第（三）项，特例单议总量控制在DIP出院总病例的5‰以内，本期未超过）', from the region's
    rule table (params/regions.yaml); empty when no rule applies to the region's payment method."""
    cap = ctx.rules.special_case_cap(ctx.pay_method)
    if cap is None or not _ok(share):
        return ""
    verdict = "未超过" if share <= cap.limit else "已超过"
    return (f"（{cap.cite()}，特例单议总量控制在{ctx.pay_method}出院总病例的{cap.permille_or_pct()}以内，"
            f"本期{verdict}该上限）")


def efficiency(ctx: Context, rep) -> None:
    """CMI and the time / cost consumption indices (43, 44, x_cmi) by hospital, with a chart."""
    cmi = ctx.per_hospital("x_cmi").set_index("fixmedins_code")["value"].rename("cmi")
    t43 = ctx.per_hospital(43).set_index("fixmedins_code")["value"].rename("time")
    t44 = ctx.per_hospital(44).set_index("fixmedins_code")["value"].rename("cost")
    h = ctx.hospitals.set_index("fixmedins_code")[["fixmedins_name", "lv_group"]].join([cmi, t43, t44])
    h = h.dropna(subset=["time", "cost"], how="all").reset_index()
    if h.empty:
        rep.md(f"{ctx.label}入组病例不足，暂不计算时间和费用消耗指数。")
        return
    both = h[(h["time"] < 1) & (h["cost"] < 1)]
    worse = h[(h["time"] > 1.1) & (h["cost"] > 1.1)]
    cmi_txt = f"区域CMI为{fmt.ratio(ctx.value('x_cmi'), 2)}；" if _ok(ctx.value("x_cmi")) else ""
    rep.md(f"{cmi_txt}时间消耗指数和费用消耗指数以区域整体为1，数值越小效率越高。{ctx.label}"
           + (f"两项指数均低于1的医疗机构{len(both)}家"
              f"（{'、'.join(both.sort_values('cost')['fixmedins_name'].head(5))}{'等' if len(both) > 5 else ''}）"
              if len(both) else "没有两项指数均低于1的医疗机构")
           + (f"；两项指数均高于1.1的{len(worse)}家"
              f"（{'、'.join(worse.sort_values('cost', ascending=False)['fixmedins_name'].head(5))}"
              f"{'等' if len(worse) > 5 else ''}）" if len(worse) else "；没有两项指数均高于1.1的医疗机构")
           + "。")
    charts = _charts()
    fig = charts.scatter(h.dropna(subset=["time", "cost"]), "time", "cost", label_col="fixmedins_name",
                         hue_col="lv_group", xlabel="时间消耗指数", ylabel="费用消耗指数", xref=1.0, yref=1.0)
    rep.figure(fig, f"{ctx.label}各医疗机构时间消耗指数与费用消耗指数", slide="效：各医疗机构时间、费用消耗指数",
               note="虚线为区域整体水平（=1）；右上方机构住院时间和费用均高于区域同病组平均水平。")
    h = _sort_level(h, "lv_group")
    t = pd.DataFrame({"机构名称": h["fixmedins_name"], "级别": h["lv_group"],
                      "CMI": h["cmi"].map(lambda x: fmt.ratio(x, 2)),
                      "时间消耗指数": h["time"].map(lambda x: fmt.ratio(x, 2)),
                      "费用消耗指数": h["cost"].map(lambda x: fmt.ratio(x, 2))})
    rep.table(t, f"{ctx.label}各医疗机构CMI及时间、费用消耗指数",
              note="按入组病例计算；病例数少于5例的机构不予计算（“—”）。")


def _short(name: str, n: int = 10) -> str:
    return name if len(name) <= n else name[:n] + "…"


def inpatient_services(ctx: Context, rep) -> None:
    """Average LOS, average cost, cost structure and personal burden of inpatients, by level, 同比."""
    df = analysis.inpatient_profile(ctx.wh, ctx.region, ctx.period.code)
    cur = df[df["period"] == "current"].set_index("level")
    base = df[df["period"] == "last_year"].set_index("level")
    if "全部" not in cur.index:
        return
    a, b = cur.loc["全部"], base.loc["全部"] if "全部" in base.index else None

    def ch(col, unit_pct=False):
        return fmt.change(a[col], None if b is None else b[col], "同比", unit_pct=unit_pct)
    v = ctx.value
    rep.md(
        f"{ctx.label}，本地参保人在本地定点医疗机构入院{fmt.count(services.admissions(ctx))}人次（按入院日期统计、"
        f"已结算的），出院{fmt.count(v(39))}人次，门诊{fmt.count(v(38))}人次，"
        f"门诊住院人次比{fmt.ratio(v(40), 1)}；住院总费用{fmt.money(v(36))}，次均住院费用{fmt.money(v(37))}"
        f"（{ctx.change(37, '同比')}）。全部住院病例（含异地患者）平均住院日{fmt.num(a['avg_los'], 1)}天"
        f"（{ch('avg_los')}）；次均个人负担{fmt.money(a['burden_per_case'])}（{ch('burden_per_case')}），"
        f"个人负担占医疗总费用的{fmt.pct(a['burden_share'], 1)}（{ch('burden_share', True)}）。"
        f"费用结构中，药品费占{fmt.pct(a['fee_drug_share'], 1)}（{ch('fee_drug_share', True)}），"
        f"卫生材料费占{fmt.pct(a['fee_mcs_share'], 1)}（{ch('fee_mcs_share', True)}），"
        f"检查化验费占{fmt.pct(a['fee_examlab_share'], 1)}，医疗服务（治疗、手术、护理床位）费占"
        f"{fmt.pct(a['fee_service_share'], 1)}（{ch('fee_service_share', True)}）。")
    rows = [lv for lv in ("全部",) + LEVEL_ORDER if lv in cur.index]
    t = pd.DataFrame({
        "机构级别": rows,
        "出院人次": [fmt.count(cur.loc[r, "cases"]) for r in rows],
        "次均费用（元）": [fmt.num(cur.loc[r, "avg_cost"]) for r in rows],
        "平均住院日": [fmt.num(cur.loc[r, "avg_los"], 1) for r in rows],
        "次均个人负担（元）": [fmt.num(cur.loc[r, "burden_per_case"]) for r in rows],
        "个人负担占比": [fmt.pct(cur.loc[r, "burden_share"], 1) for r in rows],
        "药品占比": [fmt.pct(cur.loc[r, "fee_drug_share"], 1) for r in rows],
        "耗材占比": [fmt.pct(cur.loc[r, "fee_mcs_share"], 1) for r in rows],
        "检查化验占比": [fmt.pct(cur.loc[r, "fee_examlab_share"], 1) for r in rows],
        "医疗服务占比": [fmt.pct(cur.loc[r, "fee_service_share"], 1) for r in rows],
    })
    rep.table(t, f"{ctx.label}住院服务效率、费用结构和患者负担（按机构级别）",
              note="含异地就医患者；个人负担＝医疗费总额－统筹基金－大病保险－医疗救助－其他支付；费用结构按结算清单费用明细。")
    charts = _charts()
    parts = ["fee_drug", "fee_mcs", "fee_examlab", "fee_service", "fee_oth"]
    names = dict(zip(parts, ["药品", "卫生材料", "检查化验", "医疗服务", "其他"]))
    frames = [cur.loc[rows, parts].assign(cat=[f"{r}（本期）" for r in rows])]
    if "全部" in base.index:
        frames.insert(0, base.loc[["全部"], parts].assign(cat=["全部（上年同期）"]))
    fig = charts.stacked_share(pd.concat(frames), "cat", parts, labels=names)
    rep.figure(fig, f"{ctx.label}住院费用结构（按机构级别）")


def out_of_catalog(ctx: Context, rep) -> None:
    """医保外费用占比 (45) by hospital."""
    d = ctx.per_hospital(45).dropna(subset=["value"])
    if d.empty:
        return
    tops = []
    for lv, g in _sort_level(d, "lv_group").groupby("lv_group", sort=False):  # ranked within the level only
        if len(g) >= 2:
            r = g.sort_values(["value", "fixmedins_code"], ascending=[False, True]).iloc[0]
            tops.append(f"{lv}{r.fixmedins_name}（{fmt.pct(r.value, 1)}）")
    rep.md(f"{ctx.label}，本地参保人医保目录外费用占医疗总费用的{fmt.pct(ctx.value(45))}（{ctx.change(45, '同比')}）。"
           + ("各级别中占比最高的是" + "、".join(tops) + "。" if tops else "")
           + "口腔、非公立妇产等专科医院自付率通常较高，比较时已单独说明。")


# ---- 三、错 ---------------------------------------------------------------------------------------

def peer_indicator(ctx: Context, rep, iid: int) -> None:
    """Section 三 (一)–(三): a key indicator compared within level, the medians from the findings engine
    (:func:`yibao.publications.peers.peer_indicator`)."""
    from yibao.publications import peers
    peers.peer_indicator(ctx, rep, iid)


def _float(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def base_group_tertiary(ctx: Context, rep) -> None:
    """基层病组 treated in tertiary hospitals (handbook 附录3 3(4))."""
    cat = "drg_catalog" if ctx.pay_method == "DRG" else "dip_catalog"
    if not ctx.wh.has(cat) or not ctx.wh.has("setl_list"):
        return
    df = analysis.base_group_cases(ctx.wh, ctx.region, ctx.period.code)
    if df.empty:
        return
    df["share"] = df["base_cases"] / df["cases"] * 100
    lv = df.groupby("lv_group")[["cases", "base_cases"]].sum()
    lv["share"] = lv["base_cases"] / lv["cases"] * 100
    t3 = df[df["lv_group"] == "三级"].sort_values("share", ascending=False)
    text = (f"{ctx.label}全区域基层病组病例{fmt.count(lv['base_cases'].sum())}例，其中三级医院收治"
            f"{fmt.count(lv['base_cases'].get('三级', 0))}例，占三级医院入组病例的{fmt.pct(lv['share'].get('三级'), 1)}。")
    named = ctx.findings[ctx.findings["rule_id"] == "BASE_GROUP_TERTIARY"] if not ctx.findings.empty else []
    if len(named):
        text += "收治比例明显偏高的三级医院：" + "；".join(
            f"{r.fixmedins_name}（{fmt.pct(_float(r.value))}，判定所用的{_bench_words(r)}{fmt.pct(_float(r.benchmark))}）"
            for r in named.itertuples()) + \
            "。三级医院收治过多基层病组病例，不符合功能定位和分级诊疗要求。"
    rep.md(text)
    t = pd.DataFrame({"机构名称": t3["fixmedins_name"], "入组病例": t3["cases"].map(small),
                      "基层病组病例": t3["base_cases"].map(small), "占比": t3["share"].map(fmt.pct)})
    t = disclosure.protect(t.reset_index(drop=True), {"入组病例": list(t3["cases"]), "基层病组病例": list(t3["base_cases"])},
                           {"入组病例": ["占比"], "基层病组病例": ["占比"]})
    if len(t):
        rep.table(t, f"{ctx.label}三级医院收治基层病组病例情况", note=f"{disclosure.NOTE}。")


def _bench_words(r) -> str:
    group = str(getattr(r, "peer_group", "") or "")
    return "三级医院中位数" if group in ("三级", "") else f"参照（{group}）"


def common_group_costs(ctx: Context, rep) -> None:
    """Average cost of the region's 10 most common groups and the spread between hospitals."""
    tg = analysis.top_groups(ctx.wh, ctx.region, ctx.period.code, 10)
    if tg.empty:
        return
    names = _group_names(ctx)
    tg["ratio"] = tg["max_hosp_cost"] / tg["min_hosp_cost"]
    unit = "病组" if ctx.pay_method == "DRG" else "病种"
    text = f"选取{ctx.label}病例数最多的{len(tg)}个{unit}，在同一级别的机构之间比较次均费用，并与{unit}支付标准对照。"
    spread = tg.dropna(subset=["ratio"])
    if not spread.empty:
        widest = spread.sort_values("ratio", ascending=False).iloc[0]
        text += (f"同级机构间差异最大的是{widest['grp']}“{names.get(widest['grp'], '')}”，{widest['level']}机构中"
                 f"最高机构次均费用是最低机构的{fmt.ratio(widest['ratio'], 1)}倍。"
                 "同级机构间常见病次均费用相差较大，提示治疗路径、管理水平存在差异，请相关机构对标先进、比学赶超。")
    else:
        text += f"各{unit}中同一级别病例数不少于5例的机构不足两家，暂不比较机构间差异。"
    over = tg[tg["avg_cost"] > tg["pay_std"]] if tg["pay_std"].notna().any() else tg.iloc[0:0]
    if tg["pay_std"].notna().any():
        text += (f"{len(over)}个{unit}的区域次均费用高于支付标准（" + "、".join(
            f"{r.grp}，{fmt.pct((r.avg_cost / r.pay_std - 1) * 100, 1)}" for r in over.itertuples()) + "）。"
            if len(over) else f"各{unit}的区域次均费用均未超过支付标准。")
    rep.md(text)
    t = pd.DataFrame({"编码": tg["grp"], "名称": tg["grp"].map(names).fillna(""),
                      "病例数": tg["cases"].map(fmt.count), "次均费用（元）": tg["avg_cost"].map(fmt.num),
                      "支付标准（元）": tg["pay_std"].map(fmt.num),
                      "次均费用/支付标准": (tg["avg_cost"] / tg["pay_std"]).map(fmt.ratio),
                      "比较级别": tg["level"].fillna("—"),
                      "同级最低（元）": tg["min_hosp_cost"].map(fmt.num),
                      "同级最高（元）": tg["max_hosp_cost"].map(fmt.num), "最高/最低": tg["ratio"].map(fmt.ratio)})
    rep.table(t, f"{ctx.label}常见{unit}次均费用及同级机构间差异",
              note=f"同级最低、最高为同一级别中该{unit}病例数不少于5例的机构次均费用，列出同级差异最大的级别；"
                   f"支付标准为本统筹区{unit}目录的支付标准。")


def _group_names(ctx: Context) -> dict:
    if ctx.pay_method == "DRG" and ctx.wh.has("drg_catalog"):
        df = ctx.wh.df("SELECT drg_code AS c, drg_name AS n FROM drg_catalog WHERE poolarea_no = ?", [ctx.region])
    elif ctx.wh.has("dip_catalog"):
        df = ctx.wh.df("SELECT dip_code AS c, dip_name AS n FROM dip_catalog WHERE poolarea_no = ?", [ctx.region])
    else:
        return {}
    return dict(zip(df["c"], df["n"]))


def findings_list(ctx: Context, rep) -> None:
    """The 问题警示清单 (findings.csv) and the 表扬 list."""
    f = ctx.findings
    if f is None or f.empty:
        rep.md(f"{ctx.label}各项监测规则未发现需点名提示的异常情况。")
    else:
        hm = f[f["severity"].isin(["high", "medium"])]
        rep.md(f"综合各项监测规则，{ctx.label}共发现需关注的线索{len(f)}条，"
               + (f"其中需重点核查（高、中）{len(hm)}条，涉及{hm['fixmedins_code'].nunique()}家机构。" if len(hm)
                  else "均为低级别提示，没有需重点核查（高、中）的线索。")
               + "线索为数据比对结果，不等同于违规认定，请相关机构认真自查、据实说明。")
        imp = pd.to_numeric(f["impact"], errors="coerce") if "impact" in f else pd.Series(float("nan"), index=f.index)
        basis = f["impact_basis"].fillna("").astype(str) if "impact_basis" in f else pd.Series("", index=f.index)
        t = pd.DataFrame({"机构名称": f["fixmedins_name"], "关注等级": f["severity"].map(SEVERITY_ZH),
                          "估算金额（万元）": imp.map(fmt.wan),
                          "金额口径": [_basis_cell(b, a) for b, a in zip(basis, imp)], "问题线索": f["message"]})
        rep.table(t, f"{ctx.label}问题警示清单",
                  note="按估算金额由高到低排列，无金额的线索列在最后。估算金额为按参照值（同级中位数，同级不足时为线索中注明的"
                       "参照）估算的超出部分：“医保基金”为多支付或多发生的统筹基金支付，“患者负担”为患者多负担的目录外费用"
                       "（不是医保基金）；“—”为不估算金额，原因见“金额口径”。")
    c = ctx.commendations
    if c is not None and not c.empty:
        rep.md(f"同时，{len(c)}家机构时间、费用消耗指数均优于区域水平且本期无中高级别问题线索，予以表扬：")
        lv = ctx.hospitals.set_index("fixmedins_code")["lv_group"]
        rep.table(pd.DataFrame({"机构名称": c["fixmedins_name"], "级别": c["fixmedins_code"].map(lv),
                                "表扬理由": c["reason"]}), f"{ctx.label}表扬机构")


def _basis_cell(basis: str, amount) -> str:
    """'医保基金' / '患者负担（非医保基金）' beside an amount; the reason ('不估算：…') beside a '—'."""
    if _ok(amount):
        return basis.split("：")[0] if basis else "—"
    return basis or "不估算"


# ---- 四、下一步 -------------------------------------------------------------------------------------

def next_steps(ctx: Context, rep, release_date: str | None = None, explain_days: int = 15,
               items: list[str] | None = None) -> None:
    """Which hospitals must explain what, by when (from the findings), then the params' own items."""
    from yibao.publications import plan
    rel = plan.release_date(ctx.region, "quarterly", ctx.period.code, release_date)
    due = rel + dt.timedelta(days=int(explain_days))
    f = ctx.findings
    n = 1
    if f is not None and not f.empty:
        hm = f[f["severity"].isin(["high", "medium"])]
        if len(hm):
            rep.md(f"{n}. {strong('问题线索核查说明。')}请以下机构于{due.year}年{due.month}月{due.day}日前，"
                   f"向{ctx.name}医疗保障局提交书面说明（必要时附整改措施），医保部门将视情开展核查：")
            rows = []
            for code, g in hm.groupby("fixmedins_code", sort=True):
                topics = "；".join(dict.fromkeys(RULE_TOPIC.get(r, r) for r in g["rule_id"]))
                rows.append({"机构名称": g["fixmedins_name"].iloc[0], "需说明事项": topics,
                             "线索条数": str(len(g)), "截止日期": fmt.date_zh(due)})
            rep.table(pd.DataFrame(rows), "需提交书面说明的机构及事项")
            rep.deck("explain", due=fmt.date_zh(due), to=f"{ctx.name}医疗保障局",
                     rows=[{"name": r["机构名称"], "topics": r["需说明事项"].split("；"), "count": r["线索条数"]}
                           for r in rows])
            n += 1
    default = [
        (strong("数据质量。") + "各定点医疗机构要按时、完整上传医保结算清单，提高质控通过率，上传率、质控通过率低于区域平均水平的机构要落实专人负责。"),
        (strong("意见反馈。") + "对本期发布数据有异议的，请于收到报告后10个工作日内通过数据工作组邮箱或书面形式反馈，下期发布时通报采纳情况。"),
        (strong("下期发布。")) + _next_release_text(ctx, rel),
    ]
    for text in (items or []) + default:
        rep.md(f"{n}. {text}")
        n += 1
    rep.deck("next", items=_deck_next(ctx, rel, due, f, items))


def _deck_next(ctx: Context, rel: dt.date, due: dt.date, f, items) -> list[dict]:
    """下一步 on the deck: the same steps as the report, each with its date."""
    hm = f[f["severity"].isin(["high", "medium"])] if f is not None and not f.empty else None
    out = []
    if hm is not None and len(hm):
        out.append({"title": "问题线索核查说明", "date": fmt.date_zh(due),
                    "text": f"{hm['fixmedins_code'].nunique()}家机构向{ctx.name}医疗保障局提交书面说明（必要时附整改措施）"})
    out += [{"title": "", "date": "", "text": t} for t in (items or [])]
    out.append({"title": "数据质量", "date": "每月结算后",
                "text": "按时、完整上传医保结算清单，提高质控通过率；低于区域平均水平的机构落实专人负责"})
    out.append({"title": "意见反馈", "date": "收到报告后10个工作日内",
                "text": "对本期发布数据有异议的，通过数据工作组邮箱或书面形式反馈，下期发布时通报采纳情况"})
    out.append({"title": "下期发布", "date": "", "text": _next_release_text(ctx, rel).rstrip("。")})
    return out


def _next_release_text(ctx: Context, rel: dt.date) -> str:
    """The next quarterly release: its date from the year's plan, else when the handbook's cadence puts it."""
    from yibao.publications import plan
    nxt = ctx.period.shift(1)
    e = plan.find_release(ctx.region, "quarterly", nxt.code)
    if e:
        return f"{nxt.label}数据计划于{fmt.date_zh(e['date'])}发布。"
    return f"{nxt.label}数据将于下一季度第二个月发布（具体日期以年度数据发布计划为准）。"


# ---- 附录 ------------------------------------------------------------------------------------------

def appendix_digao(ctx: Context, rep) -> None:
    """The region's 底稿 table. One decision per figure: an indicator whose 建议公开频次 does not fit the
    period but that the text quotes (支付率, 累计结余, 千人口床位…) is shown with the same value as
    "参考值"; 同比/环比 are the words :func:`yibao.metrics.indicators.change_words` gives the text and
    digao.xlsx (累计 figures only 同比; a deficit's change worded as a deficit); amounts in 万元."""
    from yibao.metrics import catalogue
    from yibao.metrics.indicators import change_words
    rows = []
    for ind in catalogue.CATALOGUE:
        iid = ind.id
        d = ctx.ind[(ctx.ind["indicator_id"].astype(str) == str(iid)) & (ctx.ind["fixmedins_code"].fillna("") == "")]
        if d.empty or ind.is_heading:
            continue
        r = d.iloc[0]
        unit = str(r["unit"]) if pd.notna(r["unit"]) else ""
        val = r["value"] if r["status"] == "ok" else None
        if r["status"] == "ok":
            shown = _fmt_unit(val, unit)
        elif r["status"] == "not_applicable" and str(iid) in ctx.quoted_reference:
            ref = ctx.value_any(iid)
            shown = f"{_fmt_unit(ref, unit)}（参考值）"
        else:
            shown = {"not_applicable": "不适用", "missing_input": "缺少数据", "suppressed": SUPPRESSED}.get(r["status"], "—")
        cur = val
        rows.append({"序号": "" if ind.is_extra else str(iid), "指标": ind.display_label if ind.is_extra else str(r["name"]),
                     "单位": "万元" if unit == "元" else (unit or "—"), ctx.label: shown,
                     "同比": change_words(ind, cur, ctx.value_yoy(iid), "同比")[2:] or "—",
                     "环比": change_words(ind, cur, ctx.value_prev(iid), "环比")[2:] or "—"})
    rep.table(pd.DataFrame(rows), f"{ctx.name}{ctx.label}数据底稿（区域）",
              note="金额单位为万元。“参考值”为建议公开频次与本期不符（如年度、半年度指标）、正文引用时按本期数据计算的数值，"
                   "不作为本期发布值；“不适用”为该指标与本期或本统筹区不适用；“缺少数据”为缺少所需的可选数据。"
                   "累计数（当年1月至本期末）只与上年同期比较；“—”为无可比数据。")


def _fmt_unit(v, unit: str) -> str:
    if unit == "元":
        return fmt.wan(v, 2)
    if unit == "%":
        return fmt.pct(v)
    if unit in ("人次", "个", "张"):
        return fmt.num(v, 2) if float(v) != int(float(v)) else fmt.count(v)
    return fmt.ratio(v, 2)


def appendix_institutions(ctx: Context, rep) -> None:
    """Per-institution 底稿 indicators (a compact selection; the full sheet is in digao.xlsx)."""
    cols = [(39, "出院人次", fmt.count), (37, "次均住院费用（元）", fmt.num), (40, "门诊住院人次比", fmt.ratio),
            (41, "出院人次增长率", lambda x: fmt.pct(x, 1)), (45, "医保外费用占比", lambda x: fmt.pct(x, 1)),
            (28, "清单上传率", lambda x: fmt.pct(x, 1)), (29, "质控通过率", lambda x: fmt.pct(x, 1))]
    h = _sort_level(ctx.hospitals[["fixmedins_code", "fixmedins_name", "lv_group"]], "lv_group")
    t = pd.DataFrame({"机构名称": h["fixmedins_name"].values, "级别": h["lv_group"].values})
    for iid, name, f in cols:
        d = ctx.per_hospital(iid).set_index("fixmedins_code")
        st = d["status"].reindex(h["fixmedins_code"]).values
        vals = d["value"].reindex(h["fixmedins_code"]).values
        t[name] = [SUPPRESSED_MARK if s == "suppressed" else f(v) for v, s in zip(vals, st)]
        if iid == 39:
            discharges = [SUPPRESSED if s == "suppressed" else v for v, s in zip(vals, st)]
    # 出院人次: the region's total is in the text, its 环比 growth (41) with the previous report's count gives it back
    t = disclosure.protect(t, {"出院人次": discharges}, {"出院人次": ["出院人次增长率"]})
    rep.table(t, f"{ctx.label}各定点医疗机构主要底稿指标",
              note=f"{disclosure.NOTE}；完整的机构指标见随附数据底稿工作簿（digao.xlsx）。")


def appendix_checks(ctx: Context, rep) -> None:
    """The 复核 checklist in readers' words: how many checks passed, failed and were skipped (never "全部通过"
    when some were not run), each check named by its kind (no check ids)."""
    from yibao.metrics import checks
    df = ctx.checks
    rep.md(f"发布前对数据底稿进行了自动复核：{checks_summary(df)}。")
    status = {"pass": "通过", "fail": "不通过", "warn": "提示", "skip": "未执行"}
    t = pd.DataFrame({"序号": [str(i) for i in range(1, len(df) + 1)],
                      "复核项": df["check_id"].map(checks.check_label), "结果": df["status"].map(status).fillna("提示"),
                      "说明": df["detail"]})
    rep.table(t, "数据复核清单", note="“未执行”为本期没有可核对的数值（如该指标本期不发布），不计为通过。")


def checks_summary(df: pd.DataFrame) -> str:
    """'51项：通过47、未执行4' — every status counted, skipped checks never counted as passed."""
    n = {k: int((df["status"] == k).sum()) for k in ("pass", "fail", "warn", "skip")}
    parts = [f"{zh}{n[k]}" for k, zh in (("pass", "通过"), ("fail", "不通过"), ("warn", "提示"), ("skip", "未执行"))
             if n[k]]
    return f"{len(df)}项：" + "、".join(parts)


def appendix_sources(ctx: Context, rep) -> None:
    rep.md(
        "1. " + strong("数据来源。") + "基金收支、结余指标来自医保基金报表（职工医保统筹基金、个人账户、居民医保基金、城乡医疗救助）；"
        "结算、清单、分组、特例单议和拨付指标来自医保信息平台结算数据；参保人数为月末参保人数。\n"
        "2. " + strong("统计口径。") + "结算按结算时间归属期间；退费结算及其对应的原结算均不计入；本地参保人指参保地与就医地相同的参保人；"
        "门诊类含普通门诊、门诊慢特病、生育门诊，住院类含普通住院、生育住院等；累计为当年1月至本期末，当期为本期内；"
        "同比为上年同期，环比为上一期。各指标公式和口径见数据底稿工作簿。\n"
        "3. " + strong("数据安全。") + "报告不含任何参保人个人信息；机构层面病例数少于5例的数据不予公布。"
        f"本报告{rep_conf(ctx)}")


def rep_conf(ctx: Context) -> str:
    return f"数据仅限{ctx.name}定点医药机构内部使用，不得对外传播。"
