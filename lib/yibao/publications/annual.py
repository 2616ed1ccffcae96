"""Sections of the annual briefing (年通报 / 年度通报会).

Seeds: Fujian rules 第九条 (年通报) and 第十二条 — within one month after the fund's annual clearing
(清算) the working group briefs the finance and health departments and every designated hospital on
(一) the region's and each hospital's fund income, expenditure and balance, the annual clearing and
budget execution; (二) DRG/DIP grouping and key groups compared between hospitals; (三) efficiency and
resource indicators compared; (四) each hospital's ranking in centralised procurement (集采);
(五) problems found by routine audits and supervision, refusals of payment (违约拒付); (六) others —
and, as needed, cumulative outpatient figures (累计门诊结算人次、门诊统筹基金实际发生数、应支付数).
Handbook 三(一)/四(三)/七(三): the briefing is a face-to-face release around the clearing; Jilin notice
二(一): settlement within 20 working days of the declaration, clearing complete by the end of April.

The functions write through a :class:`yibao.publications.display.Report`; ``notebooks/annual.ipynb`` calls them
under its headings and reuses the quarterly builders (:mod:`yibao.publications.quarterly`) where they fit. The
集采 and 监管 sections appear only when their optional tables (``vbp_progress``, ``supervision``;
docs/annual.md) are in the dataset; :class:`Numbering` numbers the top-level sections that appear.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from yibao.escape import strong
from yibao import fmt
from yibao.data.contract import LEVEL_ORDER
from yibao.metrics import analysis
from yibao.metrics.catalogue import SUPPRESS_MIN
from yibao.publications import disclosure
from yibao.publications.context import Context
from yibao.data.warehouse import months_filter

CLEARING_DEADLINE = "04-30"  # Jilin notice 二(一): 次年4月底前全面完成清算
_CN = "一二三四五六七八九十"


def _ok(v) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v)) and v is not pd.NA


def _sort_level(df: pd.DataFrame, col: str = "lv_group") -> pd.DataFrame:
    order = {k: i for i, k in enumerate(LEVEL_ORDER)}
    keys = ["_o", "fixmedins_code"] if "fixmedins_code" in df else ["_o"]
    return df.assign(_o=df[col].map(order).fillna(len(order))).sort_values(keys).drop(columns="_o")


def _cnt(v) -> str:
    if not _ok(v):
        return fmt.DASH
    v = int(round(float(v)))
    return f"<{SUPPRESS_MIN}" if 0 < v < SUPPRESS_MIN else fmt.count(v)


def _date_zh(d) -> str:
    """'2026-05-20' → '2026年5月20日'."""
    d = dt.date.fromisoformat(str(d)) if not isinstance(d, dt.date) else d
    return f"{d.year}年{d.month}月{d.day}日"


def _month_zh(m: str) -> str:
    """'2026-03' → '2026年3月'."""
    y, mm = str(m).split("-")[:2]
    return f"{y}年{int(mm)}月"


def _year(ctx: Context) -> int:
    if ctx.period.kind != "year":
        raise ValueError(f"年度通报需要年度期间（如 2025），收到 {ctx.period.code}")
    return ctx.period.year


class Numbering:
    """Top-level section numbers (一、二、…) for sections that appear only when their data exist."""

    def __init__(self, start: int = 1):
        self.n = start - 1

    def next(self) -> str:
        self.n += 1
        return _CN[self.n - 1] if self.n <= 10 else f"十{_CN[self.n - 11]}"

    def heading(self, rep, title: str) -> None:
        rep.md(f"# {self.next()}、{title}")


# ---- opening --------------------------------------------------------------------------------------

def overview(ctx: Context, rep) -> None:
    y = _year(ctx)
    n_h = len(ctx.hospitals)
    n_ph = int((ctx.institutions["fixmedins_type"] == "2").sum())
    opt = [z for t, z in (("vbp_progress", "药品耗材集中带量采购"), ("supervision", "基金监管检查"))
           if ctx.wh.has(t)]
    rep.md(
        f"{y}年度医保基金清算工作已完成（按规定于{y + 1}年4月底前完成）。根据医保数据工作组“年通报”要求，"
        f"现将{ctx.name}{y}年度医保基金收支结余、年度清算和预算执行、{ctx.pay_method or 'DRG/DIP'}付费入组、"
        f"各定点医疗机构服务效率和资源配置、特例单议、结算拨付、累计门诊"
        + (f"以及{'、'.join(opt)}" if opt else "") +
        f"等情况通报如下。纳入通报的定点医疗机构{n_h}家、定点零售药店{n_ph}家；数据来源为医保基金报表和医保信息平台结算数据"
        f"（{y}年1月1日至12月31日，按结算时间统计，退费结算已冲销）。"
        + _absent_items(ctx) +
        f"数据仅限{ctx.name}定点医药机构及参会部门内部使用，不得对外传播。")


def _absent_items(ctx: Context) -> str:
    """An explicit sentence for the required items whose data were not provided (福建省医保数据工作组工作规则
    第十二条（四）集采排名、（五）监督检查发现问题), instead of leaving them out in silence."""
    missing = [z for t, z in (("vbp_progress", "各医疗机构药品耗材集采完成和排名情况（第十二条（四））"),
                              ("supervision", "日常稽核监管发现的问题情况（第十二条（五））"))
               if not ctx.wh.has(t)]
    if not missing:
        return ""
    return (f"按福建省医保数据工作组工作规则，年度通报还应包括{'、'.join(missing)}；本期未取得相应数据，"
            f"本通报暂不含该部分内容，待数据到位后补充通报。")


# ---- 一、基金 --------------------------------------------------------------------------------------

def fund_year(ctx: Context, rep) -> None:
    """The year at a glance: income, expenditure, 当期结余 and year-end 累计结余 per fund, with last year.

    Per fund of ``fund_report``: income = Σ inc_* items, expenditure = Σ ``exp_total`` (the fund's whole
    spending, so 当年结余 = income − expenditure is the change of ``bal_cum``), both over the year's months.
    For 城乡医疗救助 ``exp_total`` includes 资助参保; its 医疗救助支出（不含资助参保）(``exp_assist``, 底稿 23)
    is a part of it and is named in the note, never added to it."""
    y = _year(ctx)
    from yibao.metrics import analysis
    cur = analysis.fund_totals(ctx.wh, ctx.region, ctx.period.months).set_index("fund")
    prev = analysis.fund_totals(ctx.wh, ctx.region, ctx.period.year_ago().months).set_index("fund")
    bal = ctx.wh.df("""SELECT fund, month, amount FROM fund_report
                       WHERE poolarea_no = ? AND item = 'bal_cum' AND month IN (?, ?)""",
                    [ctx.region, f"{y}-12", f"{y - 1}-12"])
    rows = []
    for fund, name in (("310", "职工医保统筹基金"), ("310A", "职工医保个人账户"), ("390", "居民医保基金"),
                       ("MAF", "城乡医疗救助")):
        if fund not in cur.index:
            continue
        inc, exp = cur.loc[fund, "income"], cur.loc[fund, "expense"]
        if inc == 0 and exp == 0:
            continue
        b = bal[(bal["fund"] == fund) & (bal["month"] == f"{y}-12")]["amount"]
        rows.append({"基金": name, "收入（万元）": fmt.wan(inc),
                     "收入同比": fmt.signed_pct(fmt.growth_pct(inc, prev["income"].get(fund))),
                     "支出（万元）": fmt.wan(exp),
                     "支出同比": fmt.signed_pct(fmt.growth_pct(exp, prev["expense"].get(fund))),
                     "当年结余（万元）": fmt.wan(inc - exp),
                     "年末累计结余（万元）": fmt.wan(b.iloc[0]) if len(b) else fmt.DASH})
    v = ctx.value
    rep.md(f"{y}年，{ctx.name}医保基金收入合计{fmt.money(v(1))}（{ctx.change(1, '同比')}），支出合计{fmt.money(v(8))}"
           f"（{ctx.change(8, '同比')}），当年{fmt.balance(v(15))}（职工医保统筹基金与居民医保基金合计，不含职工医保个人账户"
           + (f"；收入合计减支出合计为{fmt.money(v(1) - v(8))}，两者之差{fmt.money(v(1) - v(8) - v(15))}为个人账户当年收支差"
              if all(x is not None for x in (v(1), v(8), v(15))) and abs(v(1) - v(8) - v(15)) >= 0.005 else "")
           + f"）；年末职工医保统筹基金累计结余{fmt.money(v(18))}，"
           f"居民医保累计结余{fmt.money(v(21))}。")
    if rows:
        assist = cur["assist"].get("MAF", 0.0) if "MAF" in cur.index else 0.0
        rep.table(pd.DataFrame(rows), f"{ctx.name}{y}年医保基金收支结余情况",
                  note="来源为医保基金报表；支出为基金支出合计，当年结余＝收入－支出；"
                       + (f"城乡医疗救助支出含资助参保，其中医疗救助支出（不含资助参保，数据底稿指标23）{fmt.money(assist)}；"
                          if assist else "")
                       + "累计结余为12月末数。")


def next_year_budget(ctx: Context, rep) -> None:
    """The budget totals for the next year (底稿 24–27) beside this year's.

    The total is 住院 + 门诊 + 其他: the DRG/DIP付费统筹基金总额 (26) is the part of the inpatient fund
    paid by DRG/DIP, so it is shown but never added again."""
    y = _year(ctx)
    if not ctx.wh.has("budget"):
        rep.md(f"未提供总额预算数据，{y + 1}年度统筹地区医保总额暂不通报。")
        return
    b = ctx.wh.df("""SELECT year, item, SUM(amount) AS amount FROM budget
                     WHERE poolarea_no = ? AND year IN (?, ?) AND (fixmedins_code IS NULL OR fixmedins_code = '')
                     GROUP BY 1, 2""", [ctx.region, y, y + 1])
    from yibao.data.contract import BUDGET_ITEMS
    cur = b[b["year"] == y].set_index("item")["amount"]
    nxt = b[b["year"] == y + 1].set_index("item")["amount"]
    if nxt.empty and cur.empty:
        rep.md(f"总额预算数据中没有{y}年、{y + 1}年的统筹地区预算。")
        return
    rows = []
    for iid, item in ((24, "inpatient"), (25, "outpatient"), (26, "drg_dip"), (27, "other")):
        n = ctx.value(iid)
        n = n if _ok(n) else nxt.get(item)
        rows.append({"项目": BUDGET_ITEMS[item], f"{y}年（万元）": fmt.wan(cur.get(item)),
                     f"{y + 1}年（万元）": fmt.wan(n), "增长": fmt.signed_pct(fmt.growth_pct(n, cur.get(item)))})
    parts = ["inpatient", "outpatient", "other"]
    total_next = nxt.reindex(parts).sum() if not nxt.empty else None
    total_cur = cur.reindex(parts).sum() if not cur.empty else None
    rep.md(f"{y + 1}年度统筹地区医保基金总额预算" +
           (f"合计{fmt.money(total_next)}（{fmt.change(total_next, total_cur, '同比')}），"
            f"其中住院统筹基金总额{fmt.money(nxt.get('inpatient'))}，含DRG/DIP付费统筹基金总额{fmt.money(nxt.get('drg_dip'))}。"
            if total_next else "尚未下达。"))
    rep.table(pd.DataFrame(rows), f"{y + 1}年度统筹地区医保总额（数据底稿指标24–27）",
              note="职工和居民预算合并；合计＝住院＋门诊＋其他，DRG/DIP付费统筹基金总额包含在住院统筹基金总额中；来源为统筹地区总额预算。")


# ---- the year's settlements and settlement lists, each aggregated in one pass -----------------------

def settlement_cube(ctx: Context) -> pd.DataFrame:
    """Netted settlements at the region's institutions in the year (one pass over ``setl_net``, cached on
    the context): per fixmedins_code, month and class (``is_ip`` 住院类, ``is_op`` 门诊类; neither = pharmacy
    purchases and other care) the cases, medfee (Σ medfee_sumamt) and hifp_pay (Σ 统筹基金支付)."""
    cube = getattr(ctx, "_annual_setl_cube", None)
    if cube is None:
        cube = analysis.year_settlement_cube(ctx.wh, ctx.region, ctx.period.code)  # the job's aggregates
        for c in ("is_ip", "is_op"):
            cube[c] = cube[c].fillna(False).astype(bool)
        ctx._annual_setl_cube = cube
    return cube


def list_cube(ctx: Context) -> pd.DataFrame:
    """The year's settlement lists whose settlement stands (``setl_list_net``: settlement at the region's
    institutions, month of the settlement; one pass, cached on the context): per fixmedins_code,
    grp_stas, setl_way and group (grp_code = drg_code in DRG regions, dip_code in DIP regions) the lists,
    Σ weight with the number of lists that have one (weighted), and Σ ipt_days."""
    cube = getattr(ctx, "_annual_list_cube", None)
    if cube is None:
        cube = analysis.year_list_cube(ctx.wh, ctx.region, ctx.period.code)  # from the job's aggregates
        ctx._annual_list_cube = cube
    return cube


def _by_code(df: pd.DataFrame, col: str) -> pd.Series:
    return df.groupby("fixmedins_code")[col].sum()


def grouping_counts(ctx: Context) -> pd.DataFrame:
    """:func:`yibao.publications.monthly.grouping_counts` for the year, from the two cubes: per institution of the
    region with drg_dip_flag = 1 and inpatient cases — cases, lists, grouped cases (grp_stas = 1), distinct
    groups among them, grouped cases settled by the group standard (setl_way = 1)."""
    s, li = settlement_cube(ctx), list_cube(ctx)
    g1 = li[li["grp_stas"] == "1"]
    counts = pd.DataFrame({
        "cases": _by_code(s[s["is_ip"]], "cases"), "listed": _by_code(li, "lists"),
        "grouped": _by_code(g1, "lists"), "n_groups": g1.groupby("fixmedins_code")["grp_code"].nunique(),
        "std_settled": _by_code(g1[g1["setl_way"] == "1"], "lists")}).fillna(0).astype(int)
    h = ctx.hospitals
    h = h[h["drg_dip_flag"] == "1"][["fixmedins_code", "fixmedins_name", "lv_group"]]
    out = h.merge(counts, left_on="fixmedins_code", right_index=True, how="left")
    cols = ["cases", "listed", "grouped", "n_groups", "std_settled"]
    out[cols] = out[cols].fillna(0).astype(int)
    return out[out["cases"] > 0].sort_values("fixmedins_code").reset_index(drop=True)


# ---- 二、清算和预算执行 -------------------------------------------------------------------------------

def budget_by_hospital(ctx: Context) -> pd.DataFrame:
    """Per-institution budget rows of the year against the hospital's DRG/DIP fund spending.

    Budget: Σ ``amount`` of ``budget`` rows with the institution's ``fixmedins_code``, ``year`` = Y and
    ``item`` = ``drg_dip`` (else ``inpatient`` when a hospital has no drg_dip row). Spent: Σ ``hifp_pay``
    of the hospital's netted inpatient settlements in the year (all patients; the same 口径 as the
    region's 预算执行进度, :func:`yibao.metrics.analysis.budget_execution`). execution = spent / budget × 100;
    balance = budget − spent (> 0 结余, < 0 超支)."""
    y = _year(ctx)
    if not ctx.wh.has("budget"):
        return pd.DataFrame()
    b = ctx.wh.df("""
        WITH b AS (SELECT fixmedins_code,
                          coalesce(SUM(CASE WHEN item = 'drg_dip' THEN amount END),
                                   SUM(CASE WHEN item = 'inpatient' THEN amount END)) AS budget
                   FROM budget WHERE poolarea_no = ? AND year = ? AND coalesce(fixmedins_code, '') <> ''
                   GROUP BY 1)
        SELECT f.fixmedins_code, f.fixmedins_name, f.lv_group, b.budget
        FROM b JOIN fixmedins_x f USING (fixmedins_code)
        WHERE f.poolarea_no = ? AND b.budget IS NOT NULL
        ORDER BY f.fixmedins_code""", [ctx.region, y, ctx.region])
    ip = settlement_cube(ctx)
    ip = ip[ip["is_ip"]]
    b["spent"] = b["fixmedins_code"].map(_by_code(ip, "hifp_pay")).fillna(0.0)
    b["cases"] = b["fixmedins_code"].map(_by_code(ip, "cases")).fillna(0).astype(int)
    b["execution"] = b["spent"] / b["budget"].where(b["budget"] != 0) * 100
    b["balance"] = b["budget"] - b["spent"]
    return b


def budget_execution(ctx: Context, rep) -> None:
    """Region budget execution and each hospital's: budget, actual DRG/DIP fund spending, 执行率, 结余/超支."""
    y = _year(ctx)
    from yibao.metrics import analysis
    reg = analysis.budget_execution(ctx.wh, ctx.region, ctx.period.code)
    text = ""
    if not reg.empty and "drg_dip" in set(reg["item"]):
        r = reg[reg["item"] == "drg_dip"].iloc[0]
        text = (f"{y}年{ctx.pay_method or 'DRG/DIP'}付费统筹基金总额预算{fmt.money(r['amount'])}，"
                f"全年实际发生{fmt.money(r['spent_ytd'])}，预算执行率{fmt.pct(r['execution'], 1)}。")
    b = budget_by_hospital(ctx)
    if b.empty:
        rep.md(text + "总额预算数据中没有分机构预算，各机构预算执行情况暂不通报。")
        return
    over = b[b["execution"] > 100].sort_values("execution", ascending=False)
    under = b[b["execution"] < 90].sort_values("execution")
    text += (f"{len(b)}家医疗机构下达了分机构预算，合计{fmt.money(b['budget'].sum())}，实际发生{fmt.money(b['spent'].sum())}，"
             f"执行率{fmt.pct(b['spent'].sum() / b['budget'].sum() * 100 if b['budget'].sum() else None, 1)}。"
             + (f"超出预算的{len(over)}家（"
                f"{'、'.join(f'{r.fixmedins_name}{fmt.pct(r.execution, 1)}' for r in over.head(5).itertuples())}）"
                if len(over) else "没有超出预算的机构")
             + (f"，执行率低于90%的{len(under)}家（"
                f"{'、'.join(f'{r.fixmedins_name}{fmt.pct(r.execution, 1)}' for r in under.head(5).itertuples())}）"
                if len(under) else "，没有执行率低于90%的机构")
             + "。年度清算按协议落实“结余留用、合理超支分担”，具体清算金额以经办机构清算结果为准。")
    rep.md(text)
    b = _sort_level(b)
    rep.table(pd.DataFrame({
        "机构名称": b["fixmedins_name"].values, "级别": b["lv_group"].values,
        "年度预算（万元）": b["budget"].map(fmt.wan).values, "实际发生（万元）": b["spent"].map(fmt.wan).values,
        "执行率": b["execution"].map(lambda x: fmt.pct(x, 1)).values,
        "结余(+)/超支(-)（万元）": b["balance"].map(fmt.wan).values,
        "执行情况": ["超支" if x > 100 else "结余" if x < 100 else "持平" for x in b["execution"].fillna(100)],
    }), f"{y}年各医疗机构{ctx.pay_method or 'DRG/DIP'}付费预算执行情况",
        note="实际发生＝该机构全年住院结算统筹基金支付（含异地就医患者，退费已冲销）；执行率＝实际发生÷年度预算×100%。")


def clearing(ctx: Context, rep) -> None:
    """Annual clearing by hospital from settlement_progress: declared, refused (违规扣款/拒付), payable,
    paid, still to pay (payable − paid), 支付率 (底稿 14, per hospital as in indicators.csv)."""
    y = _year(ctx)
    if not ctx.wh.has("settlement_progress"):
        rep.md("未提供月度结算拨付数据，年度清算和支付率暂不通报。")
        return
    sp = ctx.wh.df(f"""
        SELECT g.fixmedins_code, f.fixmedins_name, f.lv_group, SUM(declared_amt) AS declared,
               SUM(coalesce(refused_amt, 0)) AS refused, SUM(payable_amt) AS payable, SUM(paid_amt) AS paid,
               SUM(coalesce(prepaid_amt, 0)) AS prepaid
        FROM settlement_progress g JOIN fixmedins_x f USING (fixmedins_code)
        WHERE f.poolarea_no = ? AND {months_filter(ctx.period.months, 'g.month')}
        GROUP BY 1, 2, 3""", [ctx.region])
    if sp.empty:
        rep.md(f"月度结算拨付数据中没有{y}年的记录。")
        return
    r14 = ctx.per_hospital(14).set_index("fixmedins_code")["value"]
    sp["rate"] = sp["fixmedins_code"].map(r14)
    sp["outstanding"] = sp["payable"] - sp["paid"]
    tot = sp[["declared", "refused", "payable", "paid", "prepaid", "outstanding"]].sum()
    rate = ctx.value(14)
    rep.md(f"{y}年，定点医疗机构申报医保结算{fmt.money(tot['declared'])}，违规扣款（拒付）{fmt.money(tot['refused'])}，"
           f"应付{fmt.money(tot['payable'])}，实际支付{fmt.money(tot['paid'])}，医保基金支付率{fmt.pct(rate)}"
           f"（{ctx.change(14, '同比')}）；年末应付未付{fmt.money(tot['outstanding'])}"
           + (f"，全年拨付预付金{fmt.money(tot['prepaid'])}" if tot["prepaid"] else "") + "，在年度清算中一并结清。")
    sp = _sort_level(sp)
    rep.table(pd.DataFrame({
        "机构名称": sp["fixmedins_name"].values, "级别": sp["lv_group"].values,
        "申报（万元）": sp["declared"].map(fmt.wan).values, "拒付（万元）": sp["refused"].map(fmt.wan).values,
        "应付（万元）": sp["payable"].map(fmt.wan).values, "实付（万元）": sp["paid"].map(fmt.wan).values,
        "应付未付（万元）": sp["outstanding"].map(fmt.wan).values,
        "支付率": sp["rate"].map(fmt.pct).values,
    }), f"{y}年各医疗机构医保结算拨付和清算情况",
        note="支付率＝实际支付÷应付（扣除违规拒付）×100%（数据底稿指标14）；应付未付＝应付－实付。")


def settlement_lags(ctx: Context) -> pd.DataFrame:
    """Per hospital and month of the year: 申报→拨付 in calendar days and in working days (Mon–Fri;
    public holidays are not known to the system), and whether it took more than 20 working days."""
    if not ctx.wh.has("settlement_progress"):
        return pd.DataFrame()
    df = ctx.wh.df(f"""
        SELECT g.fixmedins_code, f.fixmedins_name, f.lv_group, g.month, g.declare_date, g.paid_date, g.payable_amt
        FROM settlement_progress g JOIN fixmedins_x f USING (fixmedins_code)
        WHERE f.poolarea_no = ? AND {months_filter(ctx.period.months, 'g.month')}
          AND g.declare_date IS NOT NULL AND g.paid_date IS NOT NULL""", [ctx.region])
    if df.empty:
        return df
    d0 = pd.to_datetime(df["declare_date"]).values.astype("datetime64[D]")
    d1 = pd.to_datetime(df["paid_date"]).values.astype("datetime64[D]")
    df["days"] = (d1 - d0).astype(int)
    df["workdays"] = np.busday_count(d0, d1)
    rule = ctx.rules.settlement_days()
    df["late"] = df["workdays"] > rule.limit if rule is not None else False
    return df


def payment_timeliness(ctx: Context, rep) -> None:
    """结算时间差: working days from declaration to payment against the 20-working-day rule."""
    y = _year(ctx)
    df = settlement_lags(ctx)
    if df.empty:
        rep.md("月度结算拨付数据未提供申报日期和拨付日期，结算时间差暂不分析。")
        return
    w = df["payable_amt"].fillna(0)
    avg = (df["workdays"] * w).sum() / w.sum() if w.sum() else df["workdays"].mean()
    late = df[df["late"]]
    by_h = df.groupby(["fixmedins_code", "fixmedins_name", "lv_group"]).agg(
        months=("month", "count"), avg_days=("workdays", "mean"), max_days=("workdays", "max"),
        late=("late", "sum")).reset_index()
    by_m = df.groupby("month").agg(avg_days=("workdays", "mean"), late=("late", "sum"), n=("late", "count"))
    worst = by_h.sort_values(["late", "avg_days"], ascending=False)
    worst = worst[worst["late"] > 0]
    rule = ctx.rules.settlement_days()
    text = (f"{y}年各月结算从医疗机构申报到医保基金拨付平均{fmt.num(avg, 1)}个工作日（按应付金额加权），"
            f"共{len(df)}个机构·月。")
    if rule is not None:  # the judgement only where the region's rule table has a deadline, with its source
        days = fmt.count(rule.limit)
        text += (f"{rule.cite()}，费用结算时间自申报之日起不超过{days}个工作日；超过{days}个工作日的{len(late)}个"
                 f"（{fmt.pct(len(late) / len(df) * 100, 1)}）"
                 + (f"，涉及{len(worst)}家机构，较多的是" + "、".join(
                     f"{r.fixmedins_name}（{int(r.late)}个月）" for r in worst.head(5).itertuples())
                    if len(worst) else "") + "。")
    rep.md(text)
    t = pd.DataFrame({"结算月份": [_month_zh(m) for m in by_m.index],
                      "平均工作日": by_m["avg_days"].map(lambda x: fmt.num(x, 1)).values})
    if rule is not None:
        t[f"超过{fmt.count(rule.limit)}个工作日的机构数"] = by_m["late"].map(fmt.count).values
    t["拨付机构数"] = by_m["n"].map(fmt.count).values
    rep.table(t, f"{y}年各月结算拨付时间差",
        note="工作日按周一至周五计算（未扣除法定节假日）；结算月份为申报结算所属月份。")


# ---- 三、支付方式改革 -------------------------------------------------------------------------------

def grouping_compare(ctx: Context, rep) -> None:
    """DRG/DIP grouping compared between hospitals for the year: grouped cases, groups covered,
    入组率 (30), 标准结算占比 (31), CMI (DRG, x_cmi) or mean score (DIP), share of the region's grouped cases."""
    y = _year(ctx)
    g = grouping_counts(ctx)
    if g.empty:
        rep.md(f"{y}年开展DRG/DIP付费的医疗机构无住院结算病例。")
        return
    unit = "病组" if ctx.pay_method == "DRG" else "病种"
    g1 = list_cube(ctx)
    g1 = g1[g1["grp_stas"] == "1"]
    w = _by_code(g1, "weight") / _by_code(g1, "weighted").where(lambda x: x > 0)   # mean weight / score
    n_total = int(g1["grp_code"].nunique())
    r30 = ctx.per_hospital(30).set_index("fixmedins_code")["value"]
    r31 = ctx.per_hospital(31).set_index("fixmedins_code")["value"]
    cmi = ctx.per_hospital("x_cmi").set_index("fixmedins_code")["value"] if ctx.pay_method == "DRG" else None
    g["share"] = g["grouped"] / g["grouped"].sum() * 100 if g["grouped"].sum() else np.nan
    g["breadth"] = g["n_groups"] / n_total * 100 if n_total else np.nan
    g = _sort_level(g)
    top = g.sort_values("n_groups", ascending=False).head(3)
    rep.md(f"{y}年，全区域入组病例覆盖{fmt.count(n_total)}个{unit}。"
           f"收治{unit}最广的是" + "、".join(f"{r.fixmedins_name}（{fmt.count(r.n_groups)}个，"
                                          f"占全区域{fmt.pct(r.breadth, 1)}）" for r in top.itertuples()) + "。"
           + (f"区域CMI为{fmt.ratio(ctx.value('x_cmi'), 2)}。" if _ok(ctx.value("x_cmi")) else "")
           + f"各级别机构{unit}覆盖面和病例难度差异反映功能定位，三级医院应更多收治疑难危重病例。")
    t = pd.DataFrame({"机构名称": g["fixmedins_name"].values, "级别": g["lv_group"].values,
                      "入组病例": [_cnt(x) for x in g["grouped"]],
                      "占全区域": g["share"].map(lambda x: fmt.pct(x, 1)).values,
                      f"{unit}数": g["n_groups"].map(fmt.count).values,
                      "入组率": g["fixmedins_code"].map(r30).map(fmt.pct).values,
                      "按标准结算占比": g["fixmedins_code"].map(r31).map(fmt.pct).values})
    if cmi is not None:
        t["CMI"] = g["fixmedins_code"].map(cmi).map(lambda x: fmt.ratio(x, 2)).values
    else:
        t["平均分值"] = g["fixmedins_code"].map(w).map(lambda x: fmt.num(x, 1)).values
    t = disclosure.protect(t, {"入组病例": list(g["grouped"])},
                           {"入组病例": ["占全区域", f"{unit}数", "入组率", "按标准结算占比", "CMI", "平均分值"]})
    rep.table(t, f"{y}年各医疗机构{ctx.pay_method or 'DRG/DIP'}入组情况比较",
              note="入组率、按标准结算占比为数据底稿指标30、31；"
                   + ("CMI＝入组病例权重之和÷入组病例数。" if cmi is not None else "平均分值＝入组病例DIP分值之和÷入组病例数。")
                   + f"{disclosure.NOTE}。")


# ---- 四、效率和资源 --------------------------------------------------------------------------------

def resources_compare(ctx: Context, rep) -> None:
    """Resource indicators by hospital: open beds, discharges, discharges per bed (床位周转次数), average
    LOS, insured bed-days per open bed-day (床日占用, reference only: insured patients only)."""
    y = _year(ctx)
    days = (ctx.period.end - ctx.period.start).days
    ip, li = settlement_cube(ctx), list_cube(ctx)
    ip = ip[ip["is_ip"]]
    df = ctx.hospitals[["fixmedins_code", "fixmedins_name", "lv_group", "beds"]].copy()
    df["cases"] = df["fixmedins_code"].map(_by_code(ip, "cases"))
    df = df[df["cases"] > 0].reset_index(drop=True)
    df["medfee"] = df["fixmedins_code"].map(_by_code(ip, "medfee"))
    df["bed_days"] = df["fixmedins_code"].map(_by_code(li, "ipt_days"))
    df["listed"] = df["fixmedins_code"].map(_by_code(li, "lists")).fillna(0)
    df["beds"] = pd.to_numeric(df["beds"], errors="coerce")
    if df.empty:
        rep.md(f"{y}年无住院结算数据。")
        return
    beds = df["beds"].where(df["beds"] > 0)
    df["turnover"] = df["cases"] / beds
    df["los"] = df["bed_days"] / df["listed"].where(df["listed"] > 0)
    df["occupancy"] = df["bed_days"] / (beds * days) * 100
    df["avg_cost"] = df["medfee"] / df["cases"]
    lv = df.groupby("lv_group").agg(beds=("beds", "sum"), cases=("cases", "sum"), bed_days=("bed_days", "sum"),
                                     listed=("listed", "sum"), medfee=("medfee", "sum"))
    lv = _sort_level(lv.reset_index())
    rep.md(f"{y}年，各级别医疗机构医保住院病例的床位周转和平均住院日：" + "；".join(
        f"{r.lv_group}{fmt.num(r.cases / r.beds if r.beds else None, 1)}次/床、平均住院日{fmt.num(r.bed_days / r.listed if r.listed else None, 1)}天"
        for r in lv.itertuples()) + "。同级机构间差异较大的，请结合学科结构、病种难度分析原因。")
    df = _sort_level(df)
    rep.table(disclosure.protect(pd.DataFrame({
        "机构名称": df["fixmedins_name"].values, "级别": df["lv_group"].values,
        "开放床位": df["beds"].map(fmt.count).values, "医保出院人次": [_cnt(x) for x in df["cases"]],
        "床位周转（次/床）": df["turnover"].map(lambda x: fmt.num(x, 1)).values,
        "平均住院日": df["los"].map(lambda x: fmt.num(x, 1)).values,
        "医保床日占用率": df["occupancy"].map(lambda x: fmt.pct(x, 1)).values,
        "次均住院费用（元）": df["avg_cost"].map(fmt.num).values,
    }), {"医保出院人次": list(df["cases"])},  # 床位周转 × 开放床位 would give a hidden count back
        {"医保出院人次": ["床位周转（次/床）", "平均住院日", "医保床日占用率", "次均住院费用（元）"]}),
        f"{y}年各医疗机构资源配置和使用情况",
        note="仅含医保结算的住院病例（含异地就医患者），床位周转和床日占用率为参考值；平均住院日按结算清单实际住院天数。"
             f"{disclosure.NOTE}。")


def outpatient_cumulative(ctx: Context, rep) -> None:
    """累计门诊 (Fujian 第十二条): cumulative outpatient settlements, 门诊统筹基金实际发生数 (Σ hifp_pay of
    门诊类 settlements) and 应支付数 (the year's outpatient budget: region row, per-institution rows when
    present), by level and month."""
    y = _year(ctx)
    op = settlement_cube(ctx)
    op = op[op["is_op"]]
    inst = ctx.wh.df("SELECT fixmedins_code, fixmedins_name, lv_group FROM fixmedins_x")
    df = inst.merge(op.groupby("fixmedins_code", as_index=False)[["cases", "medfee", "hifp_pay"]].sum(),
                    on="fixmedins_code")
    if df.empty:
        rep.md(f"{y}年无门诊结算数据。")
        return
    budget_reg = budget_inst = None
    if ctx.wh.has("budget"):
        budget_reg = ctx.wh.scalar("""SELECT SUM(amount) FROM budget WHERE poolarea_no = ? AND year = ?
                                      AND item = 'outpatient' AND coalesce(fixmedins_code, '') = ''""",
                                   [ctx.region, y])
        bi = ctx.wh.df("""SELECT fixmedins_code, SUM(amount) AS budget FROM budget WHERE poolarea_no = ?
                          AND year = ? AND item = 'outpatient' AND coalesce(fixmedins_code, '') <> '' GROUP BY 1""",
                       [ctx.region, y])
        budget_inst = bi.set_index("fixmedins_code")["budget"] if not bi.empty else None
    tot = df[["cases", "medfee", "hifp_pay"]].sum()
    rep.md(f"{y}年累计门诊结算{fmt.count(tot['cases'])}人次，门诊医疗费用{fmt.money(tot['medfee'])}，"
           f"门诊统筹基金实际发生{fmt.money(tot['hifp_pay'])}"
           + (f"，门诊统筹基金应支付数（年度总额预算）{fmt.money(budget_reg)}，执行率"
              f"{fmt.pct(tot['hifp_pay'] / budget_reg * 100, 1)}" if _ok(budget_reg) and budget_reg else "")
           + "。")
    lv = df.groupby("lv_group")[["cases", "medfee", "hifp_pay"]].sum().reset_index()
    lv = _sort_level(lv)
    rows = pd.DataFrame({"机构级别": lv["lv_group"].values, "门诊人次": lv["cases"].map(fmt.count).values,
                         "门诊医疗费用（万元）": lv["medfee"].map(fmt.wan).values,
                         "统筹基金实际发生（万元）": lv["hifp_pay"].map(fmt.wan).values,
                         "占比": (lv["hifp_pay"] / tot["hifp_pay"] * 100 if tot["hifp_pay"] else lv["hifp_pay"] * np.nan)
                         .map(lambda x: fmt.pct(x, 1)).values})
    rep.table(rows, f"{y}年累计门诊结算情况（按机构级别）", note="门诊类含普通门诊、门诊慢特病、生育门诊；不含定点药店购药。")
    if budget_inst is not None:
        d = df[df["fixmedins_code"].isin(budget_inst.index)].copy()
        d["budget"] = d["fixmedins_code"].map(budget_inst)
        d = _sort_level(d)
        rep.table(disclosure.protect(pd.DataFrame({
            "机构名称": d["fixmedins_name"].values, "门诊人次": [_cnt(x) for x in d["cases"]],
            "统筹基金实际发生（万元）": d["hifp_pay"].map(fmt.wan).values,
            "应支付数（万元）": d["budget"].map(fmt.wan).values,
            "执行率": (d["hifp_pay"] / d["budget"] * 100).map(lambda x: fmt.pct(x, 1)).values,
        }), {"门诊人次": list(d["cases"])}, {"门诊人次": ["统筹基金实际发生（万元）", "执行率"]}),
            f"{y}年各医疗机构门诊统筹基金实际发生数与应支付数", note=f"{disclosure.NOTE}。")
    m = op.groupby("month", as_index=False)[["cases", "hifp_pay"]].sum().sort_values("month").reset_index(drop=True)
    if len(m) >= 3:
        from yibao.publications import charts
        charts.setup()
        m["实际发生（累计）"] = m["hifp_pay"].cumsum() / 1e4
        ys = ["实际发生（累计）"]
        if _ok(budget_reg) and budget_reg:
            m["预算（按时间进度）"] = budget_reg / 12 * np.arange(1, len(m) + 1) / 1e4
            ys.append("预算（按时间进度）")
        fig = charts.trend(m, x="month", ys=ys, ylabel="万元")
        rep.figure(fig, f"{y}年门诊统筹基金累计实际发生数", note="预算按月均匀进度折算，仅作参考。")


# ---- optional: 集采 and 监管 --------------------------------------------------------------------------

def vbp_by_hospital(ctx: Context) -> pd.DataFrame:
    """集采 completion by hospital from ``vbp_progress`` for the year (handbook 五(一)2 其他指标 (6)(7)).

    Per item: completion = purchased_qty / agreed_qty × 100 (采购周期内实际采购量 ÷ 约定采购量); per hospital:
    items, items completed (≥ 100%), their share, the mean item completion (items capped at 200% so one
    over-bought item cannot hide the others), and 中选产品使用比例 = Σ selected_use_qty / Σ class_use_qty × 100
    when those optional fields are given. Ranked by completed share then mean completion (Fujian 第十二条(四))."""
    y = _year(ctx)
    if not ctx.wh.has("vbp_progress"):
        return pd.DataFrame()
    return ctx.wh.df("""
        WITH i AS (SELECT v.fixmedins_code, v.category, v.item_name,
                          SUM(v.purchased_qty) / NULLIF(SUM(v.agreed_qty), 0) * 100 AS completion,
                          SUM(v.selected_use_qty) AS sel, SUM(v.class_use_qty) AS cls
                   FROM vbp_progress v WHERE v.year = ? GROUP BY 1, 2, 3)
        SELECT f.fixmedins_code, f.fixmedins_name, f.lv_group,
               COUNT(*) AS items,
               SUM(CASE WHEN i.category = '药品' THEN 1 ELSE 0 END) AS drug_items,
               SUM(CASE WHEN i.category = '耗材' THEN 1 ELSE 0 END) AS mcs_items,
               SUM(CASE WHEN i.completion >= 100 THEN 1 ELSE 0 END) AS completed,
               SUM(CASE WHEN i.completion >= 100 THEN 1 ELSE 0 END) * 100.0 / COUNT(*) AS completed_share,
               AVG(LEAST(i.completion, 200)) AS mean_completion,
               SUM(i.sel) / NULLIF(SUM(i.cls), 0) * 100 AS selected_use_share
        FROM i JOIN fixmedins_x f USING (fixmedins_code)
        WHERE f.poolarea_no = ? AND i.completion IS NOT NULL
        GROUP BY 1, 2, 3
        ORDER BY completed_share DESC, mean_completion DESC, fixmedins_code""", [y, ctx.region])


def procurement(ctx: Context, rep, sec: Numbering) -> None:
    """集采 section (only when ``vbp_progress`` exists): completion of agreed volumes by hospital, ranked."""
    if not ctx.wh.has("vbp_progress"):
        return
    y = _year(ctx)
    sec.heading(rep, "药品耗材集中带量采购情况")
    d = vbp_by_hospital(ctx)
    if d.empty:
        rep.md(f"集采数据中没有{y}年{ctx.name}定点医疗机构的记录。")
        return
    items = ctx.wh.df("""
        SELECT v.category, v.item_name, SUM(v.agreed_qty) AS agreed, SUM(v.purchased_qty) AS purchased,
               COUNT(DISTINCT v.fixmedins_code) AS hospitals,
               COUNT(DISTINCT CASE WHEN v.purchased_qty < v.agreed_qty THEN v.fixmedins_code END) AS short
        FROM vbp_progress v JOIN fixmedins_x f USING (fixmedins_code)
        WHERE v.year = ? AND f.poolarea_no = ? GROUP BY 1, 2""", [y, ctx.region])
    items["completion"] = items["purchased"] / items["agreed"].where(items["agreed"] > 0) * 100
    low = items[items["completion"] < 100].sort_values(["completion", "item_name"]).head(5)
    short = items[items["short"] > 0].sort_values(["short", "item_name"], ascending=[False, True]).head(5)
    n_full = int((d["completed_share"] >= 100).sum())
    rep.md(f"{y}年，{len(d)}家定点医疗机构承担集采中选产品约定采购量任务，涉及{len(items)}个品种"
           f"（药品{int((items['category'] == '药品').sum())}个、医用耗材{int((items['category'] == '耗材').sum())}个），"
           f"全部品种完成约定采购量的机构{n_full}家。按区域合计，"
           + ("未完成约定采购量的品种：" + "、".join(f"{r.item_name}（{fmt.pct(r.completion, 1)}）" for r in low.itertuples())
              if len(low) else "各品种均已完成约定采购量")
           + ("；仍有机构未完成的品种：" + "、".join(f"{r.item_name}（{int(r.short)}家）" for r in short.itertuples())
              if len(short) else "")
           + "。完成约定采购量情况＝采购周期内中选产品实际采购量÷约定采购量×100%。")
    # ranked within the level (a township clinic is never ranked against a tertiary hospital), levels in order
    order = {k: i for i, k in enumerate(LEVEL_ORDER)}
    d = d.reset_index(drop=True).reset_index().rename(columns={"index": "_r"})
    d = d.assign(_o=d["lv_group"].map(order).fillna(len(order))).sort_values(["_o", "_r"], kind="mergesort")
    d["rank"] = d.groupby("lv_group", sort=False).cumcount() + 1
    d = d.reset_index(drop=True)
    t = pd.DataFrame({"同级排名": d["rank"].map(str).values, "机构名称": d["fixmedins_name"].values,
                      "级别": d["lv_group"].values, "品种数": d["items"].map(fmt.count).values,
                      "完成品种数": d["completed"].map(fmt.count).values,
                      "完成品种占比": d["completed_share"].map(lambda x: fmt.pct(x, 1)).values,
                      "平均完成率": d["mean_completion"].map(lambda x: fmt.pct(x, 1)).values})
    if d["selected_use_share"].notna().any():
        t["中选产品使用比例"] = d["selected_use_share"].map(lambda x: fmt.pct(x, 1)).values
    rep.table(t, f"{y}年各医疗机构集采中选产品约定采购量完成情况排名（按级别）",
              note="同一级别内按完成品种占比、平均完成率排序；平均完成率中单个品种最高按200%计；中选产品使用比例＝中选产品使用量÷同品种使用总量×100%。")


def supervision_by_hospital(ctx: Context) -> pd.DataFrame:
    """Per hospital: checks in the year (by level), issues found, amounts recovered (refund_amt) and
    penalties (penalty_amt) from ``supervision``; refused amounts (违约拒付) from settlement_progress."""
    y = _year(ctx)
    if not ctx.wh.has("supervision"):
        return pd.DataFrame()
    df = ctx.wh.df("""
        SELECT f.fixmedins_code, f.fixmedins_name, f.lv_group, COUNT(*) AS checks,
               SUM(coalesce(s.issue_count, 0)) AS issues, SUM(coalesce(s.refund_amt, 0)) AS refund,
               SUM(coalesce(s.penalty_amt, 0)) AS penalty,
               string_agg(DISTINCT s.level, '、' ORDER BY s.level) AS levels
        FROM supervision s JOIN fixmedins_x f USING (fixmedins_code)
        WHERE f.poolarea_no = ? AND year(s.check_date) = ?
        GROUP BY 1, 2, 3 ORDER BY refund DESC, issues DESC, fixmedins_code""", [ctx.region, y])
    if ctx.wh.has("settlement_progress") and not df.empty:
        ref = ctx.wh.df(f"""SELECT fixmedins_code, SUM(coalesce(refused_amt, 0)) AS refused FROM settlement_progress
                            WHERE {months_filter(ctx.period.months)} GROUP BY 1""").set_index("fixmedins_code")
        df["refused"] = df["fixmedins_code"].map(ref["refused"])
    return df


def supervision(ctx: Context, rep, sec: Numbering) -> None:
    """监管 section (only when ``supervision`` exists): checks by level, issues, recoveries, penalties,
    the most common issue types, by hospital (Fujian 第十二条(五))."""
    if not ctx.wh.has("supervision"):
        return
    y = _year(ctx)
    sec.heading(rep, "基金监管发现问题和违约拒付情况")
    d = supervision_by_hospital(ctx)
    if d.empty:
        rep.md(f"监管检查数据中没有{y}年{ctx.name}定点医疗机构的记录。")
        return
    lv = ctx.wh.df("""SELECT s.level, COUNT(*) AS checks, SUM(coalesce(s.issue_count, 0)) AS issues,
                             SUM(coalesce(s.refund_amt, 0)) AS refund, SUM(coalesce(s.penalty_amt, 0)) AS penalty
                      FROM supervision s JOIN fixmedins_x f USING (fixmedins_code)
                      WHERE f.poolarea_no = ? AND year(s.check_date) = ? GROUP BY 1""", [ctx.region, y])
    order = {k: i for i, k in enumerate(["国家", "省", "市", "县", "区"])}
    lv = lv.assign(_o=lv["level"].map(order).fillna(9)).sort_values(["_o", "level"])
    types = ctx.wh.df("""
        SELECT trim(x.t) AS issue_type, COUNT(*) AS n, COUNT(DISTINCT s.fixmedins_code) AS hospitals
        FROM supervision s JOIN fixmedins_x f USING (fixmedins_code),
             unnest(string_split(coalesce(s.issue_types, ''), ';')) AS x(t)
        WHERE f.poolarea_no = ? AND year(s.check_date) = ? AND trim(x.t) <> ''
        GROUP BY 1 ORDER BY n DESC, issue_type LIMIT 5""", [ctx.region, y])
    rep.md(f"{y}年，各级医保部门对{len(d)}家定点医疗机构开展监督检查{fmt.count(lv['checks'].sum())}次（"
           + "、".join(f"{r.level}级{fmt.count(r.checks)}次" for r in lv.itertuples()) +
           f"），发现问题{fmt.count(lv['issues'].sum())}个，追回（拒付）医保基金{fmt.money(lv['refund'].sum())}，"
           f"处违约金（罚款）{fmt.money(lv['penalty'].sum())}。"
           + ("问题较多的类型：" + "、".join(f"{r.issue_type}（{fmt.count(r.n)}次，{fmt.count(r.hospitals)}家）"
                                       for r in types.itertuples()) + "。" if len(types) else "")
           + "请各机构对照自查自纠，举一反三。")
    t = pd.DataFrame({"机构名称": d["fixmedins_name"].values, "级别": d["lv_group"].values,
                      "检查次数": d["checks"].map(fmt.count).values, "检查层级": d["levels"].values,
                      "发现问题": d["issues"].map(fmt.count).values,
                      "追回基金（万元）": d["refund"].map(fmt.wan).values,
                      "违约金/罚款（万元）": d["penalty"].map(fmt.wan).values})
    if "refused" in d:
        t["结算拒付（万元）"] = d["refused"].map(fmt.wan).values
    rep.table(t, f"{y}年各医疗机构基金监管检查和违约拒付情况",
              note="来源为医保部门监管检查记录；结算拒付为月度结算中的违规扣款（拒付），来源为结算拨付数据。")


# ---- 下一步 ----------------------------------------------------------------------------------------

def next_steps(ctx: Context, rep, sec: Numbering, items: list[str] | None = None) -> None:
    """Heading (numbered after the optional sections) and the next steps."""
    y = _year(ctx)
    sec.heading(rep, "下一步工作安排")
    nxt = None
    try:
        from yibao.publications import plan
        # the first quarterly release after this briefing (planned date, else the end of May: clearing
        # closes by 30 April and the briefing follows within a month)
        brief = plan.find_release(ctx.region, "annual", str(y))
        after = brief["date"] if brief else f"{y + 1}-05-31"
        nxt = plan.next_release(ctx.region, "quarterly", after=after)
    except Exception:  # noqa: BLE001 - the plan is optional here
        nxt = None
    default = [
        f"{strong('预算和清算。')}{y + 1}年度总额预算已下达，各机构要对照本通报的预算执行和清算情况，合理安排诊疗服务，避免年底突击控费或推诿病人。",
        (strong("结算清单和入组。") + "入组率、质控通过率偏低的机构要落实专人负责，提高医保结算清单填报质量。"),
        (strong("意见反馈。") + "对通报数据有异议的，请于通报后10个工作日内书面反馈数据工作组，采纳情况在下期发布中说明。"),
        (f"{strong('下期发布。')}{nxt['period_label']}数据计划于{_date_zh(nxt['date'])}发布（见年度数据发布计划）。" if nxt else
         (strong("下期发布。") + "按年度数据发布计划开展月推送和季发布。")),
    ]
    rep.md("\n".join(f"{i}. {t}" for i, t in enumerate((items or []) + default, start=1)))
