"""Sections of the monthly push (月推送 / 月告知): what the working group sends every hospital after the
month's settlement.

Seeds: Fujian rules 第九条 (月告知、季公布、年通报) and 第十条 — after each monthly settlement report
(一) last month's 入组 by hospital, (二) settlement-list upload and 质控 with the problems found,
(三) the month's settlement; handbook 五(一) — the push carries every 底稿 indicator published monthly
(建议公开频次 = 月) with a brief analysis; 四(二) — pushed as 定向推送 (platform, e-mail).

Each function writes one part through a :class:`yibao.publications.display.Report`; the notebook
``notebooks/monthly.ipynb`` calls them under its headings. Every rate printed per hospital is the value
of the 底稿 indicator in indicators.csv (``ctx.per_hospital``), so the push and the 底稿 never disagree.
Counts below :data:`SUPPRESS_MIN` are shown as ``<5`` in hospital rows (DESIGN.md, privacy).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from yibao.escape import strong
from yibao.metrics import analysis
from yibao.metrics.indicators import change_words
from yibao.metrics.catalogue import SUPPRESS_MIN, SUPPRESSED_MARK
from yibao import fmt
from yibao.data.contract import LEVEL_ORDER
from yibao.publications import disclosure
from yibao.publications.context import Context
from yibao.data.warehouse import months_filter

TOP_QC_PROBLEMS = 10  # rows of the 常见质控问题 table
STATUS_ZH = {"not_applicable": "不适用", "missing_input": "缺少数据", "suppressed": SUPPRESSED_MARK}


def _ok(v) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v))


def _cnt(v) -> str:
    """A hospital-level count, suppressed below SUPPRESS_MIN."""
    if not _ok(v):
        return fmt.DASH
    v = int(round(float(v)))
    return f"<{SUPPRESS_MIN}" if 0 < v < SUPPRESS_MIN else fmt.count(v)


def _rate(d: pd.DataFrame, code: str) -> str:
    """An institution's percent indicator as printed: the indicators.csv value to 2 decimals, '<5' when
    suppressed, '—' when not applicable."""
    if code not in d.index:
        return fmt.DASH
    r = d.loc[code]
    if r["status"] == "suppressed":
        return f"<{SUPPRESS_MIN}"
    return fmt.pct(r["value"]) if _ok(r["value"]) else fmt.DASH


def _sort_level(df: pd.DataFrame, col: str = "lv_group") -> pd.DataFrame:
    order = {k: i for i, k in enumerate(LEVEL_ORDER)}
    keys = ["_o", "fixmedins_code"] if "fixmedins_code" in df else ["_o"]
    return df.assign(_o=df[col].map(order).fillna(len(order))).sort_values(keys).drop(columns="_o")


def _date_zh(d) -> str:
    """'2026-11-20' / a date → '2026年11月20日'."""
    d = dt.date.fromisoformat(str(d)) if not isinstance(d, dt.date) else d
    return f"{d.year}年{d.month}月{d.day}日"


def _month_end(ctx: Context) -> dt.date:
    return ctx.period.end - dt.timedelta(days=1)


# ---- opening -------------------------------------------------------------------------------------

def overview(ctx: Context, rep) -> None:
    """Scope of the push, its sources and its 知悉范围."""
    if ctx.period.kind != "month":
        raise ValueError(f"月推送需要月份期间（如 2026-09），收到 {ctx.period.code}")
    method = {"DRG": "DRG", "DIP": "DIP"}.get(ctx.pay_method, "DRG/DIP")
    n_h = len(ctx.hospitals)
    rep.md(
        f"{ctx.label}月度结算已完成。按照医保数据工作组“月告知”要求，现将{ctx.name}{ctx.label}各定点医疗机构"
        f"{method}病例入组、医保结算清单上传和质控、月度结算情况以及按月公开的数据底稿指标推送如下。"
        f"纳入统计的定点医疗机构{n_h}家，数据截至{_date_zh(_month_end(ctx))}，来源为医保信息平台结算数据和医保基金报表，"
        f"退费结算已冲销；机构层面病例数少于{SUPPRESS_MIN}例的数据不予公布。"
        f"数据仅限{ctx.name}定点医药机构内部使用，不得对外传播。")


# ---- 一、入组 -------------------------------------------------------------------------------------

def grouping_counts(ctx: Context, months: list[str] | None = None) -> pd.DataFrame:
    """Per institution of the region with drg_dip_flag = 1: inpatient cases (all patients, netted),
    settlement lists, grouped cases (grp_stas = 1), number of distinct groups, cases settled by the
    group standard (setl_way = 1) — for the months given (default: the period)."""
    months = months or ctx.period.months
    li = _list_counts(ctx, months)
    h = ctx.hospitals
    g = h[h["drg_dip_flag"] == "1"][["fixmedins_code", "fixmedins_name", "lv_group"]].copy()
    g["cases"] = g["fixmedins_code"].map(inpatient_cases(ctx, months))
    for c in ("listed", "grouped", "n_groups", "std_settled"):
        g[c] = g["fixmedins_code"].map(li[c])
    cols = ["cases", "listed", "grouped", "n_groups", "std_settled"]
    g[cols] = g[cols].fillna(0).astype(int)
    return g[g["cases"] > 0].sort_values("fixmedins_code").reset_index(drop=True)


def inpatient_cases(ctx: Context, months: list[str]) -> pd.Series:
    """Netted inpatient settlements (住院类) at the region's institutions in ``months`` by fixmedins_code —
    from the settlement cube when it covers the months, else one query."""
    cube = settlement_cube(ctx)
    if set(months) <= set(cube["month"]):
        c = cube[(cube["direction"] == "住院") & cube["month"].isin(months)]
        return c.groupby("fixmedins_code")["cases"].sum()
    return ctx.wh.df(f"""SELECT fixmedins_code, COUNT(*) AS cases FROM setl_net
                         WHERE poolarea_no = ? AND is_ip AND {months_filter(months)} GROUP BY 1""",
                     [ctx.region]).set_index("fixmedins_code")["cases"]


def grouping(ctx: Context, rep) -> None:
    """上月病例入组情况 by hospital (Fujian 第十条(一)); rates are 底稿 indicators 30–32."""
    kind = ctx.pay_method or "DRG/DIP"
    unit = "病组" if ctx.pay_method == "DRG" else "病种"
    g = grouping_counts(ctx)
    if g.empty:
        rep.md(f"{ctx.label}开展{kind}付费的医疗机构无住院结算病例。")
        return
    v = ctx.value
    r30 = ctx.per_hospital(30).set_index("fixmedins_code")
    r31 = ctx.per_hospital(31).set_index("fixmedins_code")
    r32 = ctx.per_hospital(32).set_index("fixmedins_code")
    low = _lowest_by_level(ctx, r30, g["fixmedins_code"], fmt.pct)
    n_groups = analysis.grouped_groups(ctx.wh, ctx.region, ctx.period.code)["n_groups"].iloc[0]
    n_groups = 0 if pd.isna(n_groups) else int(n_groups)
    text = (f"{ctx.label}，开展{kind}付费的{len(g)}家医疗机构住院结算{fmt.count(g['cases'].sum())}人次，"
            f"其中入组{fmt.count(g['grouped'].sum())}人次，{kind}结算人次占比（入组率）{fmt.pct(v(30))}"
            f"（{ctx.change(30, '环比')}），涉及{fmt.count(n_groups)}个{unit}；入组病例中按付费标准结算占{fmt.pct(v(31))}，"
            f"据实结算（含按项目、特例单议、除外）占{fmt.pct(v(32))}。")
    if low:
        text += ("各级别中入组率最低的机构：" + low + "，请核查未入组病例的结算清单填报（主要诊断、主要手术操作）。")
    rep.md(text)
    g = _sort_level(g)
    t = pd.DataFrame({
        "机构名称": g["fixmedins_name"].values, "级别": g["lv_group"].values,
        "住院结算人次": [_cnt(x) for x in g["cases"]],
        "入组人次": [_cnt(x) for x in g["grouped"]],
        f"{unit}数": [fmt.count(x) if x else fmt.DASH for x in g["n_groups"]],
        "入组率": [_rate(r30, c) for c in g["fixmedins_code"]],
        "按标准结算占比": [_rate(r31, c) for c in g["fixmedins_code"]],
        "据实结算占比": [_rate(r32, c) for c in g["fixmedins_code"]],
    })
    # the region totals are in the text: a lone "<5" in a column would be total − the others
    t = disclosure.protect(t, {"住院结算人次": list(g["cases"]), "入组人次": list(g["grouped"])},
                           {"住院结算人次": ["入组率"], "入组人次": ["入组率", f"{unit}数", "按标准结算占比", "据实结算占比"]})
    rep.table(t, f"{ctx.label}各医疗机构{kind}病例入组情况",
              note=f"入组率＝入组病例数÷住院结算病例数（底稿指标30）；按标准结算、据实结算占比以入组病例为分母（指标31、32）。"
                   f"{disclosure.NOTE}。")


# ---- 二、结算清单上传和质控 ------------------------------------------------------------------------

def qc_problems(ctx: Context, months: list[str] | None = None) -> pd.DataFrame:
    """The settlement-list QC problems of the period (or of ``months``): ``qc_errs`` split on ';' and counted
    (:func:`yibao.metrics.analysis.qc_problems`; the period's from the job's aggregates when there).

    Columns: problem, occurrences, lists (distinct lists with it), institutions, share (% of the
    lists that failed QC). Only lists whose settlement stands, at the region's institutions."""
    return _of_months(ctx, analysis.qc_problems, analysis.qc_problems_in, months)


def qc_top_problem_by_hospital(ctx: Context, months: list[str] | None = None) -> pd.DataFrame:
    """Each institution's most frequent QC problem in the period (or ``months``) and its count
    (:func:`yibao.metrics.analysis.qc_top_problem_by_hospital`; the period's from the job's aggregates)."""
    return _of_months(ctx, analysis.qc_top_problem_by_hospital, analysis.qc_top_problem_by_hospital_in, months)


def _list_counts(ctx: Context, months: list[str]) -> pd.DataFrame:
    """:func:`yibao.metrics.analysis.list_counts` of the period (from the job's aggregates) or of ``months``,
    indexed by fixmedins_code."""
    return _of_months(ctx, analysis.list_counts, analysis.list_counts_in, months).set_index("fixmedins_code")


def _of_months(ctx: Context, of_period, of_months, months: list[str] | None) -> pd.DataFrame:
    """``of_period`` (a shared table: from the job's aggregates when there) when ``months`` are the period's,
    else ``of_months`` over them."""
    if months is None or list(months) == list(ctx.period.months):
        return of_period(ctx.wh, ctx.region, ctx.period.code)
    return of_months(ctx.wh, ctx.region, list(months))


def settlement_list(ctx: Context, rep) -> None:
    """Settlement-list upload and QC by hospital (Fujian 第十条(二)); rates are 底稿 indicators 28 and 29
    exactly as in indicators.csv; the most common QC problems (qc_errs split on ';')."""
    v = ctx.value
    months = ctx.period.months
    li = _list_counts(ctx, months)
    counts = inpatient_cases(ctx, months).to_frame("cases")
    counts = counts[counts["cases"] > 0]
    counts["listed"] = counts.index.map(li["listed"]).fillna(0).astype(int)
    counts["qc_pass"] = counts.index.map(li["qc_pass"]).fillna(0).astype(int)
    r28 = ctx.per_hospital(28).set_index("fixmedins_code")
    r29 = ctx.per_hospital(29).set_index("fixmedins_code")
    probs = qc_problems(ctx)
    top_h = qc_top_problem_by_hospital(ctx).set_index("fixmedins_code")
    h = ctx.hospitals[["fixmedins_code", "fixmedins_name", "lv_group"]]
    shown = set(counts.index) | set(r28.dropna(subset=["value"]).index) | set(r28[r28["status"] == "suppressed"].index)
    h = _sort_level(h[h["fixmedins_code"].isin(shown)])
    total_cases = counts["cases"].sum()
    total_listed = counts["listed"].sum()
    failed = int(total_listed - counts["qc_pass"].sum())
    text = (f"{ctx.label}，定点医疗机构住院结算{fmt.count(total_cases)}人次，上传医保结算清单{fmt.count(total_listed)}份，"
            f"上传率{fmt.pct(v(28))}（{ctx.change(28, '环比')}）；质控通过率{fmt.pct(v(29))}（{ctx.change(29, '环比')}），"
            f"未通过质控{fmt.count(failed)}份。")
    low28 = _lowest_by_level(ctx, r28, h["fixmedins_code"], fmt.pct, below=100)
    low29 = _lowest_by_level(ctx, r29, h["fixmedins_code"], fmt.pct)
    if low28:
        text += "各级别中上传率最低的是" + low28 + "；"
    if low29:
        text += "各级别中质控通过率最低的是" + low29 + "。"
    if not probs.empty:
        top = probs.head(3)
        text += ("最常见的质控问题是" + "、".join(f"“{r.problem}”（{fmt.count(r.occurrences)}次）" for r in top.itertuples())
                 + "，请各机构对照整改。")
    rep.md(text)
    t = pd.DataFrame({
        "机构名称": h["fixmedins_name"].values, "级别": h["lv_group"].values,
        "住院结算人次": [_cnt(counts["cases"].get(c)) for c in h["fixmedins_code"]],
        "上传清单数": [_cnt(counts["listed"].get(c)) for c in h["fixmedins_code"]],
        "上传率": [_rate(r28, c) for c in h["fixmedins_code"]],
        "质控通过率": [_rate(r29, c) for c in h["fixmedins_code"]],
        "主要质控问题": [_top_problem(top_h, c) for c in h["fixmedins_code"]],
    })
    t = disclosure.protect(t, {"住院结算人次": [counts["cases"].get(c) for c in h["fixmedins_code"]],
                               "上传清单数": [counts["listed"].get(c) for c in h["fixmedins_code"]]},
                           {"住院结算人次": ["上传率"], "上传清单数": ["上传率", "质控通过率", "主要质控问题"]})
    rep.table(t, f"{ctx.label}各医疗机构医保结算清单上传和质控情况",
              note="上传率＝已上传结算清单病例数÷住院结算病例数（底稿指标28）；质控通过率＝质控通过病例数÷已上传病例数（指标29）；"
                   f"退费冲销的病例不计。{disclosure.NOTE}。")
    if not probs.empty:
        p = probs.head(TOP_QC_PROBLEMS)
        rep.table(pd.DataFrame({
            "序号": [str(i + 1) for i in range(len(p))], "质控问题": p["problem"].values,
            "出现次数": p["occurrences"].map(fmt.count).values, "涉及清单数": p["lists"].map(fmt.count).values,
            "涉及机构数": p["institutions"].map(fmt.count).values,
            "占未通过清单比例": p["share"].map(lambda x: fmt.pct(x, 1)).values,
        }), f"{ctx.label}医保结算清单常见质控问题",
            note="一份清单可有多个质控问题（质控问题字段以分号分隔，分别计数），故占比之和可超过100%。")


def _top_problem(top_h: pd.DataFrame, code: str) -> str:
    if code not in top_h.index:
        return "—"
    r = top_h.loc[code]
    return f"{r['problem']}（{_cnt(r['n'])}）"


# ---- 三、月结算 ------------------------------------------------------------------------------------

DIRECTION_ORDER = analysis.DIRECTIONS


def settlement_cube(ctx: Context) -> pd.DataFrame:
    """Netted settlements at the region's institutions by month, institution and direction for the 13
    months ending with the period and the same month a year earlier (one pass over the settlements):
    month, fixmedins_code, level (三级 … / 定点零售药店), direction (住院, 普通门诊, 门诊慢特病, 生育门诊,
    定点药店购药, 其他), cases, medfee, hifp_pay. Cached on the context."""
    cube = getattr(ctx, "_monthly_cube", None)
    if cube is not None:
        return cube
    cube = analysis.monthly_cube(ctx.wh, ctx.region, ctx.period.code)  # from the job's aggregates when there
    ctx._monthly_cube = cube
    return cube


def settlement_by_direction(ctx: Context, months: list[str]) -> pd.DataFrame:
    """Settlements at the region's institutions by direction: cases (人次), medfee, hifp_pay."""
    c = settlement_cube(ctx)
    c = c[c["month"].isin(months)]
    return c.groupby("direction", as_index=False)[["cases", "medfee", "hifp_pay"]].sum()


def settlement_by_level(ctx: Context, months: list[str]) -> pd.DataFrame:
    """Settlements at the region's institutions by hospital level (pharmacies apart): institutions with
    settlements, inpatient and other cases, medfee, hifp_pay."""
    c = settlement_cube(ctx)
    c = c[c["month"].isin(months)].assign(ip=lambda d: d["cases"].where(d["direction"] == "住院", 0))
    g = c.groupby("level").agg(institutions=("fixmedins_code", "nunique"), ip_cases=("ip", "sum"),
                               cases=("cases", "sum"), medfee=("medfee", "sum"), hifp_pay=("hifp_pay", "sum"))
    g["other_cases"] = g["cases"] - g["ip_cases"]
    return g.reset_index()


def _chg(cur, base) -> str:
    return fmt.signed_pct(fmt.growth_pct(cur, base))


def settlement(ctx: Context, rep) -> None:
    """The month's settlement (Fujian 第十条(三)): 人次, 费用, 统筹基金支付 by direction and level, 环比/同比."""
    p = ctx.period
    cur = settlement_by_direction(ctx, p.months).set_index("direction")
    prev = settlement_by_direction(ctx, p.previous().months).set_index("direction")
    yoy = settlement_by_direction(ctx, p.year_ago().months).set_index("direction")
    if cur.empty:
        rep.md(f"{ctx.label}无结算数据。")
        return
    rows = [d for d in DIRECTION_ORDER if d in cur.index]
    tot = cur[["cases", "medfee", "hifp_pay"]].sum()
    tot_prev = prev[["cases", "medfee", "hifp_pay"]].sum() if not prev.empty else None
    ip = cur.loc["住院"] if "住院" in cur.index else None
    rep.md(
        f"{ctx.label}，全区域定点医药机构结算{fmt.count(tot['cases'])}人次，医疗费用{fmt.money(tot['medfee'])}，"
        f"统筹基金支付{fmt.money(tot['hifp_pay'])}（"
        f"{fmt.change(tot['hifp_pay'], None if tot_prev is None else tot_prev['hifp_pay'], '环比')}，"
        f"{fmt.change(tot['hifp_pay'], yoy['hifp_pay'].sum() if not yoy.empty else None, '同比')}）。"
        + (f"其中住院{fmt.count(ip['cases'])}人次，统筹基金支付{fmt.money(ip['hifp_pay'])}，"
           f"占{fmt.pct(ip['hifp_pay'] / tot['hifp_pay'] * 100 if tot['hifp_pay'] else None, 1)}。" if ip is not None else "")
        + "结算数据含异地就医患者在本地的结算，按结算时间统计，退费已冲销。")

    def g(df, d, c):
        return df[c].get(d) if not df.empty and d in df.index else None
    t = pd.DataFrame({
        "支出方向": rows + ["合计"],
        "结算人次": [fmt.count(cur.loc[d, "cases"]) for d in rows] + [fmt.count(tot["cases"])],
        "医疗费用（万元）": [fmt.wan(cur.loc[d, "medfee"]) for d in rows] + [fmt.wan(tot["medfee"])],
        "统筹基金支付（万元）": [fmt.wan(cur.loc[d, "hifp_pay"]) for d in rows] + [fmt.wan(tot["hifp_pay"])],
        "占比": [fmt.pct(cur.loc[d, "hifp_pay"] / tot["hifp_pay"] * 100 if tot["hifp_pay"] else None, 1)
               for d in rows] + ["100.0%"],
        "人次环比": [_chg(cur.loc[d, "cases"], g(prev, d, "cases")) for d in rows]
        + [_chg(tot["cases"], None if tot_prev is None else tot_prev["cases"])],
        "基金支付环比": [_chg(cur.loc[d, "hifp_pay"], g(prev, d, "hifp_pay")) for d in rows]
        + [_chg(tot["hifp_pay"], None if tot_prev is None else tot_prev["hifp_pay"])],
        "基金支付同比": [_chg(cur.loc[d, "hifp_pay"], g(yoy, d, "hifp_pay")) for d in rows]
        + [_chg(tot["hifp_pay"], yoy["hifp_pay"].sum() if not yoy.empty else None)],
    })
    rep.table(t, f"{ctx.label}月度结算情况（按支出方向）",
              note=f"环比为与{p.previous().label}比较，同比为与{p.year_ago().label}比较。")
    lv = settlement_by_level(ctx, p.months).set_index("level")
    lv_prev = settlement_by_level(ctx, p.previous().months).set_index("level")
    order = [x for x in list(LEVEL_ORDER) + ["定点零售药店"] if x in lv.index]
    if order:
        rep.table(pd.DataFrame({
            "机构级别": order,
            "有结算机构数": [fmt.count(lv.loc[x, "institutions"]) for x in order],
            "住院人次": [fmt.count(lv.loc[x, "ip_cases"]) for x in order],
            "门诊及购药人次": [fmt.count(lv.loc[x, "other_cases"]) for x in order],
            "医疗费用（万元）": [fmt.wan(lv.loc[x, "medfee"]) for x in order],
            "统筹基金支付（万元）": [fmt.wan(lv.loc[x, "hifp_pay"]) for x in order],
            "基金支付环比": [_chg(lv.loc[x, "hifp_pay"], lv_prev["hifp_pay"].get(x) if not lv_prev.empty else None)
                       for x in order],
        }), f"{ctx.label}月度结算情况（按机构级别）")
    trend(ctx, rep)


def trend(ctx: Context, rep, n: int = 13) -> None:
    """统筹基金支付 of the last n months: inpatient vs the rest (one small chart)."""
    months = ctx.period.trailing_months(n)
    c = settlement_cube(ctx)
    c = c[c["month"].isin(months)]
    df = pd.DataFrame({"ip": c[c["direction"] == "住院"].groupby("month")["hifp_pay"].sum() / 1e4,
                       "other": c[c["direction"] != "住院"].groupby("month")["hifp_pay"].sum() / 1e4}).fillna(0)
    df = df.reset_index().rename(columns={"index": "month"}).sort_values("month")
    if len(df) < 3:
        return
    from yibao.publications import charts
    charts.setup()
    fig = charts.trend(df, x="month", ys=["ip", "other"], kind="bar", labels={"ip": "住院", "other": "门诊及药店"},
                       ylabel="万元")
    rep.figure(fig, f"{ctx.name}近{len(df)}个月统筹基金支付（结算数据）", note="按结算时间统计，退费已冲销。")


# ---- 四、月度底稿指标 --------------------------------------------------------------------------------

def monthly_indicators() -> list:
    """The 底稿 indicators whose 建议公开频次 is 月, in catalogue order (:data:`yibao.metrics.catalogue.CATALOGUE`
    objects: id, name, unit, per_institution, scope 累计/当期, timing, kind), without the heading rows."""
    from yibao.metrics.catalogue import CATALOGUE
    return [i for i in CATALOGUE if str(i.frequency).strip() == "月" and getattr(i, "kind", "") != "heading"]


def _cumulative(ind) -> bool:
    return getattr(ind, "timing", "") == "cumulative" or str(getattr(ind, "scope", "")) == "累计"


def _show(v, unit: str) -> str:
    if not _ok(v):
        return fmt.DASH
    if unit == "元":
        return fmt.money(v)
    if unit == "%":
        return fmt.pct(v)
    if unit in ("人次", "个", "张"):
        return fmt.count(v) if float(v) == int(float(v)) else fmt.num(v, 2)
    return fmt.ratio(v, 2)


def _signed(val, base, unit: str) -> bool:
    """Amounts that are (or were) zero or negative — balances — whose growth rate would mislead."""
    return unit == "元" and (float(val) < 0 or float(base) <= 0)


def _status(ctx: Context, iid: str) -> str:
    d = ctx.ind[(ctx.ind["indicator_id"].astype(str) == iid) & (ctx.ind["fixmedins_code"].fillna("") == "")]
    return "" if d.empty else str(d["status"].iloc[0])


def digao(ctx: Context, rep) -> None:
    """Every 底稿 indicator published monthly (频次 = 月): region value with 环比 (当期 indicators) or 同比
    (累计 indicators: 环比 of a running total says nothing), then brief computed comments on the
    per-institution ones: highest and lowest institution, the largest 环比 moves."""
    inds = monthly_indicators()
    rows, moves = [], []
    for ind in inds:
        st = _status(ctx, ind.id)
        if st == "":
            continue  # an indicator the engine did not produce
        val = ctx.value(ind.id)
        pct = ind.unit == "%"
        if str(ind.id) in ("43", "44"):  # the region is 1 by definition: institutions only (seed 备注(1))
            st, shown = "institutions_only", "仅公布机构值"
        elif st == "ok":
            shown = _show(val, ind.unit)
        else:
            shown = STATUS_ZH.get(st, fmt.DASH)
        cumulative = _cumulative(ind)
        # the same words as the quarterly appendix and digao.xlsx (累计: 同比 only; deficits worded as such)
        hb = "" if st != "ok" or cumulative else change_words(ind, val, ctx.value_prev(ind.id), "环比")
        tb = "" if st != "ok" else change_words(ind, val, ctx.value_yoy(ind.id), "同比")
        rows.append({"序号": "" if ind.is_extra else ind.id, "指标": ind.display_label if ind.is_extra else ind.name,
                     "口径": ind.scope if ind.scope not in ("", "-") else "—",
                     ctx.label: shown, "环比": hb.replace("环比", "") if hb else "—",
                     "同比": tb.replace("同比", "") if tb else "—"})
        base = ctx.value_prev(ind.id)
        if st == "ok" and not cumulative and _ok(val) and _ok(base) and not _signed(val, base, ind.unit):
            size = abs(val - base) if pct else abs(fmt.growth_pct(val, base) or 0)
            moves.append((size, ind, hb))
    if not rows:
        rep.md("本期数据底稿指标尚未生成。")
        return
    rep.md(f"下表为{ctx.label}按月公开的数据底稿指标（区域整体）。基金收支指标为{ctx.period.range_label}累计数，"
           f"与上年同期比较；其余为当月数，与上月比较（百分比指标的变化以百分点计）。"
           "居民医保按年缴费，个人缴费和财政补助集中在年初到账，月度报表中的居民医保收入实际上是全年收入，不宜按月与支出直接比较。")
    rep.table(pd.DataFrame(rows), f"{ctx.name}{ctx.label}数据底稿指标（按月公开部分）",
              note="金额为元折算的万元/亿元；“不适用”为该指标本期不计算，“缺少数据”为缺少可选输入。完整的机构层面指标见随附数据底稿工作簿（digao.xlsx）。")
    comments = []
    for ind in inds:
        if not ind.per_institution:
            continue
        c = _institution_comment(ctx, ind)
        if c:
            comments.append(c)
    moves.sort(key=lambda x: -x[0])
    big = [f"{ind.name}{hb}" for size, ind, hb in moves[:3] if size >= (1.0 if ind.unit == "%" else 5.0)]
    text = ""
    if big:
        text = f"与上月相比，变化较大的指标：{'；'.join(big)}。"
    if comments:
        text += "\n\n同级机构间比较（本月各级别机构值的最高与最低）：\n\n" + "\n".join(f"- {c}" for c in comments)
    if text:
        rep.md(text)


def _institution_comment(ctx: Context, ind) -> str:
    """'**入组率**：区域97.50%，同级比较：三级最高A（99.10%）、最低B（95.20%）；二级…；共12家机构有值；与上月比…' —
    hospitals are ranked within their level only (a township clinic is never set against a tertiary hospital)."""
    d = ctx.per_hospital(ind.id).dropna(subset=["value"])
    if len(d) < 2:
        return ""
    region = ctx.value(ind.id)
    reg = f"区域{_show(region, ind.unit)}，" if _ok(region) else ""
    if str(ind.id) in ("43", "44"):
        reg = "区域为1，"
    parts = []
    for lv, g in _sort_level(d).groupby("lv_group", sort=False):
        if len(g) < 2:
            continue
        g = g.sort_values(["value", "fixmedins_code"])
        lo, hi = g.iloc[0], g.iloc[-1]
        parts.append(f"{lv}（{len(g)}家）最高{hi['fixmedins_name']}（{_show(hi['value'], ind.unit)}）、"
                     f"最低{lo['fixmedins_name']}（{_show(lo['value'], ind.unit)}）")
    n_up = n_down = 0
    prev = ctx.per_hospital(ind.id, ctx.ind_prev).set_index("fixmedins_code")["value"]
    for r in d.itertuples():
        b = prev.get(r.fixmedins_code)
        if _ok(b):
            if r.value > b:
                n_up += 1
            elif r.value < b:
                n_down += 1
    trend_txt = f"；与上月比{n_up}家上升、{n_down}家下降" if n_up + n_down else ""
    ranks = ("同级比较：" + "；".join(parts) + "；") if parts else "各级别有值的机构均不足2家，不作同级比较；"
    return f"{strong(str(ind.name))}：{reg}{ranks}共{len(d)}家机构有值{trend_txt}。"


def _lowest_by_level(ctx: Context, d: pd.DataFrame, codes, f, below: float | None = None) -> str:
    """'三级：A（95.20%）；二级：B（88.10%）' — the lowest hospital of each level (with at least two hospitals
    with a value), optionally only when below ``below``."""
    d = d[d.index.isin(codes)].dropna(subset=["value"]).reset_index()
    lv = ctx.hospitals.set_index("fixmedins_code")["lv_group"]
    d["lv_group"] = d["fixmedins_code"].map(lv)
    out = []
    for level, g in _sort_level(d).groupby("lv_group", sort=False):
        if len(g) < 2:
            continue
        r = g.sort_values(["value", "fixmedins_code"]).iloc[0]
        if below is None or r["value"] < below:
            out.append(f"{level}{ctx.hospital_name(r['fixmedins_code'])}（{f(r['value'])}）")
    return "、".join(out)


# ---- 五、说明 ---------------------------------------------------------------------------------------

def closing(ctx: Context, rep, release_date: str | None = None) -> None:
    """Feedback channel, the next push (from params/plan-YYYY.yaml when it has one), 知悉范围."""
    nxt = None
    try:
        from yibao.publications import plan
        nxt = plan.find_release(ctx.region, "monthly", ctx.period.shift(1).code)
    except Exception:  # noqa: BLE001 - the plan is optional here
        nxt = None
    when = (f"{ctx.period.shift(1).label}数据计划于{_date_zh(nxt['date'])}推送（见年度数据发布计划）" if nxt else
            f"{ctx.period.shift(1).label}数据将于下月月度结算完成后推送")
    rep.md(
        f"1. 对本期推送数据有疑问或异议的，请于收到后10个工作日内通过数据工作组邮箱或医保信息平台反馈，工作组将在下期推送中答复。\n"
        f"2. 入组率、上传率、质控通过率低于区域水平的机构，请对照常见质控问题做好结算清单填报和上传工作。\n"
        f"3. {when}。\n"
        f"4. 数据仅限{ctx.name}定点医药机构内部使用，不得对外传播；推送不含任何参保人个人信息。")
