"""The 复核 checklist (handbook 六(三)): automatic review of a region's 数据底稿 before release.

The handbook asks reviewers to look for: sources and 口径 that disagree between indicators, logical
errors between figures (a component larger than its total, 其中项大于加和项), results that cannot be
right (a QC pass rate above 100%, a negative out-of-catalogue share), and — before 审议 — that the
data are properly de-identified. Every check here is one of those, run on the indicators of a
period (``indicators.csv``) and, where it needs them, on the warehouse.

``run_checks(wh, region, period, indicators_df)`` returns ``check_id, status, detail``:
status ``pass`` / ``fail`` (a logical error: do not release as is) / ``warn`` (sources disagree or
input incomplete: explain before release) / ``skip`` (the figures involved are not published this
period). ``detail`` is Chinese. Check ids are stable (docs/indicators.md lists them).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from yibao.metrics import catalogue
from yibao.metrics.catalogue import SUPPRESS_MIN
from yibao import fmt
from yibao.fsutil import atomic_path
from yibao.metrics.indicators import COLUMNS, compute_detail, engine, placeholders
from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse, lit, period_filter

COLUMNS_CHECKS = ["check_id", "status", "detail"]
TOL_AMOUNT = 0.02      # 元: rounding of 2-decimal values
TOL_PCT = 0.02         # percentage points: rounding of two 2-decimal shares
TOL_SOURCE = 0.10      # relative: fund report vs settlement data (timing, settlements outside the dataset)
STATUS_ZH = {"pass": "通过", "fail": "不通过", "warn": "提示", "skip": "未执行"}


class _Ind:
    """Lookup of published values (status ok) in an indicators DataFrame."""

    def __init__(self, df: pd.DataFrame):
        self.df = df
        self.rows = {(str(r.indicator_id), r.fixmedins_code or ""): r for r in df.itertuples(index=False)}

    def v(self, iid, code: str = ""):
        r = self.rows.get((str(iid), code))
        if r is None or r.status != "ok" or pd.isna(r.value):
            return None
        return float(r.value)

    def status(self, iid, code: str = ""):
        r = self.rows.get((str(iid), code))
        return None if r is None else r.status

    def codes(self, iid) -> list[str]:
        return sorted(c for (i, c) in self.rows if i == str(iid) and c)


#: what each kind of check is called in a publication (readers never see a check id), by id prefix
CHECK_LABELS = (
    ("sum_", "加总关系"), ("le_", "分项不大于总项"), ("ratio_", "比值关系"), ("range_", "取值范围"),
    ("inst_sum_", "机构合计与统筹地区值"), ("bal_cum_", "累计结余与当期结余衔接"), ("fee_components", "费用构成加总"),
    ("fund_items", "基金报表项目齐全"), ("fund_report_months", "基金报表月份齐全"), ("psn_months", "参保人数月份齐全"),
    ("index_region_one", "消耗指数区域值为1"), ("output_format", "输出格式"), ("region_only", "仅含本统筹区机构"),
    ("source_fund_vs_setl", "基金报表与结算数据方向一致"), ("suppression", "小数值保护"),
)


def check_label(check_id: str) -> str:
    """The Chinese name of a check for readers ('加总关系'); the id itself stays in checks.csv."""
    for prefix, label in CHECK_LABELS:
        if str(check_id).startswith(prefix):
            return label
    return "其他复核"


def _ind_name(c) -> str:
    """'指标28（医保结算清单上传率）', or just the name for the system's own extra indicators (no code)."""
    return c.display_label if c.is_extra else f"指标{c.id}（{c.display_label}）"


def _fmt(x, d=2) -> str:
    return fmt.num(x, d)


def run_checks(wh: Warehouse, region: str, period, indicators_df: pd.DataFrame) -> pd.DataFrame:
    """Run every 复核 check; one row per check, in a stable order."""
    p = Period.parse(period)
    region = str(region)
    ind = _Ind(indicators_df)
    out: list[tuple[str, str, str]] = []

    def add(cid, status, detail):
        out.append((cid, status, detail))

    # ---- 1. 加和关系 (sums the seed table states) ----------------------------------------------------
    for total, parts, what in (("1", ("2", "5"), "收入合计=职工医保基金收入+居民医保基金收入"),
                               ("2", ("3", "4"), "职工医保基金收入=征缴收入+其他收入"),
                               ("5", ("6", "7"), "居民医保基金收入=个人缴费+财政补助和其他收入"),
                               ("8", ("9", "12"), "支出合计=职工医保基金支出+居民医保基金支出"),
                               ("15", ("17", "20"), "结余合计=职工医保统筹基金当期结余+居民医保当期结余")):
        cid = f"sum_{total}_{'_'.join(parts)}"
        t, ps = ind.v(total), [ind.v(x) for x in parts]
        if t is None or any(x is None for x in ps):
            add(cid, "skip", f"{what}：相关指标本期未发布或缺少数据，未核对。")
            continue
        diff = t - sum(ps)
        ok = abs(diff) <= TOL_AMOUNT
        add(cid, "pass" if ok else "fail",
            f"{what}：指标{total}={_fmt(t)}元，" + "+".join(f"指标{x}" for x in parts) +
            f"={_fmt(sum(ps))}元，差额{_fmt(diff)}元" + ("。" if ok else "，加和关系不成立。"))

    # ---- 2. 其中项不大于加和项 ----------------------------------------------------------------------
    for part, total, what, sev in (("10", "9", "职工医保统筹基金支出不大于职工医保基金支出", "fail"),
                                   ("11", "10", "职工医保住院统筹基金支出（结算数据）不大于统筹基金支出（基金报表）", "warn"),
                                   ("13", "12", "居民医保住院统筹基金支出（结算数据）不大于居民医保基金支出（基金报表）", "warn")):
        cid = f"le_{part}_{total}"
        a, b = ind.v(part), ind.v(total)
        if a is None or b is None:
            add(cid, "skip", f"{what}：相关指标本期未发布或缺少数据，未核对。")
            continue
        ok = a <= b + TOL_AMOUNT
        add(cid, "pass" if ok else sev,
            f"{what}：指标{part}={_fmt(a)}元，指标{total}={_fmt(b)}元" +
            ("。" if ok else ("，其中项大于加和项" + ("，两者来源不同（结算数据/基金报表），请核实口径。" if sev == "warn" else "。"))))

    bad, n_cmp = [], 0
    for code in [""] + ind.codes("34"):
        a, b = ind.v("34", code), ind.v("33", code)
        if a is None or b is None:
            continue
        n_cmp += 1
        if a > b:
            bad.append(f"{code or '全统筹区'}（通过{a:.0f}>申请{b:.0f}）")
    if n_cmp == 0:
        add("le_34_33", "skip", "特例单议审核通过病例数不大于申请病例数：指标33/34本期未发布，未核对。")
    else:
        add("le_34_33", "fail" if bad else "pass",
            f"特例单议审核通过病例数（指标34）不大于申请病例数（指标33），核对{n_cmp}个统计范围" +
            ("，全部成立。" if not bad else "，不成立：" + "；".join(bad) + "。"))

    # ---- 3. 31 + 32 = 100 ---------------------------------------------------------------------------
    bad, n_cmp = [], 0
    for code in [""] + ind.codes("31"):
        a, b = ind.v("31", code), ind.v("32", code)
        if a is None or b is None:
            continue
        n_cmp += 1
        if abs(a + b - 100) > TOL_PCT:
            bad.append(f"{code or '全统筹区'}（{a:.2f}+{b:.2f}={a + b:.2f}）")
    if n_cmp == 0:
        add("sum_31_32_100", "skip", "按付费标准结算占比+据实结算占比=100%：指标31/32本期未发布，未核对。")
    else:
        add("sum_31_32_100", "fail" if bad else "pass",
            f"入组病例中按付费标准结算占比（指标31）+据实结算占比（指标32）=100%，核对{n_cmp}个统计范围" +
            ("，全部成立。" if not bad else "，不成立（存在结算方式为空或其他取值的入组病例）：" + "；".join(bad) + "。"))

    # ---- 4. 比值与其分子分母一致 -------------------------------------------------------------------------
    for r_id, num, den, what, d in (("37", "36", "39", "次均住院费用=住院总费用/出院人次", 2),
                                    ("40", "38", "39", "门诊住院人次比=门诊人次/出院人次", 2)):
        cid = f"ratio_{r_id}_{num}_{den}"
        bad, n_cmp = [], 0
        for code in [""] + ind.codes(r_id):
            r, a, b = ind.v(r_id, code), ind.v(num, code), ind.v(den, code)
            if r is None or a is None or not b:
                continue
            n_cmp += 1
            if abs(r - a / b) > 0.5 * 10 ** -d + 1e-9:
                bad.append(f"{code or '全统筹区'}（{r}≠{a / b:.{d + 2}f}）")
        if n_cmp == 0:
            add(cid, "skip", f"{what}：相关指标本期未发布，未核对。")
        else:
            add(cid, "fail" if bad else "pass",
                f"{what}，核对{n_cmp}个统计范围" + ("，全部一致。" if not bad else "，不一致：" + "；".join(bad) + "。"))

    # ---- 5. 取值范围 (rates within 0–100 …) ------------------------------------------------------------
    for c in catalogue.ordered():
        lo, hi = c.valid_range
        if lo is None and hi is None:
            continue
        cid = f"range_{c.id}"
        rng = f"[{'' if lo is None else lo}, {'' if hi is None else hi}]".replace("[, ", "(−∞, ").replace(", ]", ", +∞)")
        vals = [(code, ind.v(c.id, code)) for code in [""] + ind.codes(c.id)]
        vals = [(code, v) for code, v in vals if v is not None]
        if not vals:
            add(cid, "skip", f"{_ind_name(c)}取值范围{rng}：本期无已发布数值，未核对。")
            continue
        bad = [f"{code or '全统筹区'}={v:g}" for code, v in vals
               if (lo is not None and v < lo - 1e-9) or (hi is not None and v > hi + 1e-9)]
        add(cid, "fail" if bad else "pass",
            f"{_ind_name(c)}取值应在{rng}{c.unit}内，核对{len(vals)}个数值" +
            ("，全部在范围内。" if not bad else "，超出范围：" + "；".join(bad) + "。"))

    # ---- 6. 消耗指数统筹地区为1 ----------------------------------------------------------------------
    vals = {i: ind.v(i) for i in ("43", "44")}
    if all(v is None for v in vals.values()):
        add("index_region_one", "skip", "时间/费用消耗指数统筹地区整体应为1：本期未发布，未核对。")
    else:
        bad = [f"指标{i}={v}" for i, v in vals.items() if v is not None and abs(v - 1) > 1e-4]
        add("index_region_one", "fail" if bad else "pass",
            "时间/费用消耗指数统筹地区整体应为1" + ("，成立。" if not bad else "，不成立：" + "；".join(bad) + "。"))

    # ---- 7. 机构值与统筹地区值相加一致 ------------------------------------------------------------------
    det = compute_detail(wh, region, p, strict_frequency=False)
    for iid in catalogue.additive_ids():  # 33, 34, 36, 38, 39
        out.append(_check_inst_sum(wh, region, p, ind, iid))

    # ---- 8. 费用构成之和等于医疗费总额 -------------------------------------------------------------------
    out.append(_check_fee_components(wh, region, p))

    # ---- 9. 数据来源一致 ---------------------------------------------------------------------------------
    out.append(_check_source_expenditure(wh, region, p))
    out.extend(_check_bal_cum(wh, region, p, ind))
    out.extend(_check_inputs(wh, region, p))

    # ---- 10. 脱敏与知悉范围 ---------------------------------------------------------------------------
    out.append(_check_suppression(indicators_df, det))
    out.append(_check_region_only(wh, region, indicators_df))
    out.append(_check_format(indicators_df))
    return pd.DataFrame(out, columns=COLUMNS_CHECKS)


def _check_inst_sum(wh: Warehouse, region: str, p: Period, ind: _Ind, iid: str):
    """Region value = Σ published institution values + the hidden ones + institutions without a row.

    The hidden values (primary and complementary suppression) are recomputed from the formula, institution by
    institution, so the published values are verified exactly; the text never prints what the hidden values
    come to (a difference here would be a hidden cell, or their sum, given back). Exactly one hidden value
    under a published region value can be recovered by subtraction: a failure while another institution's
    value is published (it should have been hidden beside it), a warning when no other institution has one."""
    c = catalogue.get(iid)
    cid = f"inst_sum_{iid}"
    total = ind.v(iid)
    if total is None:
        return cid, "skip", f"{_ind_name(c)}各机构之和等于统筹地区值：本期未发布，未核对。"
    codes = ind.codes(iid)
    ok_vals = [ind.v(iid, code) for code in codes if ind.status(iid, code) == "ok"]
    ok_vals = [v for v in ok_vals if v is not None]  # an "ok" row without a value is output_format's failure
    hidden = [code for code in codes if ind.status(iid, code) == "suppressed"]
    # every institution's value recomputed (institutions without a row: pharmacies, codes missing from
    # fixmedins, not yet designated; and the hidden ones)
    # (the indicator's own query, run once per period by the engine: the 底稿 computed it already)
    _, by_code = engine(wh, region).run_rows(c, p)
    value_of = {code: float("nan") if r.get("value") is None else float(r["value"]) for code, r in by_code.items()}
    other = float(sum(v for code, v in value_of.items() if code not in codes))
    unit = c.unit
    head = f"{_ind_name(c)}：统筹地区值{_fmt(total, c.decimals)}{unit}，已公布机构合计{_fmt(sum(ok_vals), c.decimals)}{unit}"
    if not hidden:
        resid = total - sum(ok_vals) - other
        ok = abs(resid) <= TOL_AMOUNT
        return cid, ("pass" if ok else "fail"), (
            head + f"，无机构行的定点医药机构（如药店）合计{_fmt(other, c.decimals)}{unit}" +
            ("，相加一致。" if ok else f"，差额{_fmt(resid, c.decimals)}{unit}，不一致。"))
    resid = total - sum(ok_vals) - other - sum(value_of.get(code, 0.0) for code in hidden)
    text = (head + f"；{len(hidden)}家机构数值不予公布，按口径逐家重算后，与已公布机构合计、无机构行的定点医药机构（如药店）"
                   f"合计相加")
    if abs(resid) > TOL_AMOUNT:
        return cid, "fail", text + "不等于统筹地区值，不一致：请核实已公布的机构数值（差额不单列，以免反推不予公布的数值）。"
    text += "等于统筹地区值，一致（差额不单列，以免反推不予公布的数值）"
    if len(hidden) == 1 and ok_vals:
        return cid, "fail", text + ("；但仅1家机构数值不予公布，统筹地区值减去其他数值即得其数值，应一并隐藏另一家机构的数值"
                                    "（互补隐藏）。")
    if len(hidden) == 1:
        return cid, "warn", text + "；仅1家机构数值不予公布且无其他机构数值可一并隐藏，统筹地区值可反推其数值，发布前请确认。"
    return cid, "pass", text + "。"


def _check_fee_components(wh: Warehouse, region: str, p: Period):
    cid = "fee_components"
    if not (wh.has("setl_list") and wh.has("setl")):
        return cid, "skip", "结算清单费用构成之和等于医疗费总额：缺少结算清单，未核对。"
    fees = " + ".join(f"COALESCE(l.{f}, 0)" for f in ("fee_drug", "fee_mcs", "fee_exam", "fee_lab", "fee_trt",
                                                     "fee_oprn", "fee_srvc", "fee_oth"))
    row = wh.sql(f"""
        SELECT COUNT(*) AS n,
               SUM(CASE WHEN ABS(({fees}) - l.medfee_sumamt) > 0.01 THEN 1 ELSE 0 END) AS n_bad,
               SUM(CAST(({fees}) - l.medfee_sumamt AS DECIMAL(18,2))) AS diff
        FROM setl_list_net l
        WHERE l.poolarea_no = {lit(region)} AND {period_filter(p, 'l.setl_time')}""").fetchone()
    n, n_bad, diff = int(row[0] or 0), int(row[1] or 0), float(row[2] or 0)
    if n == 0:
        return cid, "skip", "结算清单费用构成之和等于医疗费总额：本期无已上传结算清单，未核对。"
    if n_bad == 0:
        return cid, "pass", f"本期{n}份结算清单的八项费用（药品、卫生材料、检查、化验、治疗、手术、服务、其他）之和均等于结算医疗费总额。"
    return cid, "fail", (f"本期{n}份结算清单中{n_bad}份的八项费用之和不等于结算医疗费总额，合计差额{_fmt(diff)}元；"
                         f"费用结构分析前请核实清单费用数据。")


def _check_source_expenditure(wh: Warehouse, region: str, p: Period):
    cid = "source_fund_vs_setl"
    eng = engine(wh, region)
    ph = placeholders(region, p)
    rel = eng.relations(p)
    fund = wh.scalar(rel + f"SELECT SUM(amount) FROM c_fund WHERE fund IN ('310', '390') AND item = 'exp_total' "
                           f"AND month IN {ph['period']}")
    setl = wh.scalar(rel + f"SELECT SUM(hifp_pay) FROM c_setl WHERE insured_here AND month IN {ph['period']}")
    if fund is None or setl is None or float(fund) == 0:
        return cid, "skip", "基金报表统筹基金支出与结算数据统筹基金支付：缺少本期基金报表或结算数据，未核对。"
    fund, setl = float(fund), float(setl)
    rel_diff = (setl - fund) / fund
    ok = abs(rel_diff) <= TOL_SOURCE
    return cid, ("pass" if ok else "warn"), (
        f"本期基金报表职工医保统筹基金与居民医保基金支出合计{_fmt(fund)}元，结算数据中本统筹区参保人（含异地就医）统筹基金支付合计"
        f"{_fmt(setl)}元，相差{fmt.signed(rel_diff * 100, 2)}%" +
        (f"，在±{TOL_SOURCE:.0%}以内。" if ok else f"，超过±{TOL_SOURCE:.0%}：两个来源口径或报送时点不一致，发布前请核实并在报告中说明。"))


def _check_bal_cum(wh: Warehouse, region: str, p: Period, ind: _Ind):
    eng = engine(wh, region)
    before = Period(p.year, p.first, 1).shift(-1).last_month  # the month before the period starts
    rel = eng.relations(p)
    out = []
    for fund, iid in (("310", "17"), ("390", "20")):
        cid = f"bal_cum_{fund}"
        flow = ind.v(iid)
        end = wh.scalar(rel + f"SELECT SUM(amount) FROM c_fund WHERE fund = '{fund}' AND item = 'bal_cum' "
                              f"AND month = {lit(p.last_month)}")
        start = wh.scalar(rel + f"SELECT SUM(amount) FROM c_fund WHERE fund = '{fund}' AND item = 'bal_cum' "
                                f"AND month = {lit(before)}")
        name = "职工医保统筹基金" if fund == "310" else "居民医保基金"
        if end is None or start is None or flow is None:
            out.append((cid, "skip", f"{name}累计结余变动与当期结余：缺少{before}或{p.last_month}的累计结余，或当期结余未发布，未核对。"))
            continue
        delta = float(end) - float(start)
        ok = abs(delta - flow) <= 1.0
        out.append((cid, "pass" if ok else "warn",
                    f"{name}累计结余由{before}月末{_fmt(float(start))}元变为{p.last_month}月末{_fmt(float(end))}元，变动"
                    f"{_fmt(delta)}元，当期结余（指标{iid}）{_fmt(flow)}元" +
                    ("，一致。" if ok else "，不一致：请核实基金报表的累计结余与收支（如有上解下拨、调剂等须在报告中说明）。")))
    return out


def _check_inputs(wh: Warehouse, region: str, p: Period):
    eng = engine(wh, region)
    eng._ensure_small()
    out = []
    miss = [m for m in p.ytd_months if m not in eng.fund_months]
    out.append(("fund_report_months", "warn" if miss else "pass",
                f"基金报表覆盖{p.range_label}各月" + ("。" if not miss else f"，缺少{'、'.join(miss)}：累计数不完整。")))
    miss = [m for m in p.months if m not in eng.psn_months]
    out.append(("psn_months", "warn" if miss else "pass",
                "参保人数覆盖本期各月" + ("。" if not miss else f"，缺少{'、'.join(miss)}：住院率、千人口指标的分母不完整。")))
    rel = eng.relations(p)
    odd = wh.df(rel + f"""SELECT fund, item, SUM(amount) AS amount FROM c_fund
        WHERE month IN {placeholders(region, p)['ytd']}
          AND ((fund IN ('310', '310A') AND item IN ('inc_personal', 'inc_sub_central', 'inc_sub_prov', 'inc_sub_local'))
            OR (fund = '390' AND item = 'inc_contrib'))
        GROUP BY fund, item ORDER BY fund, item""")
    if odd.empty:
        out.append(("fund_items", "pass", "基金报表收入项目与底稿口径一致（职工医保为征缴收入和其他收入，居民医保为个人缴费、财政补助和其他收入）。"))
    else:
        items = "；".join(f"基金{r.fund}的{r.item}合计{_fmt(float(r.amount))}元" for r in odd.itertuples(index=False))
        out.append(("fund_items", "warn", f"基金报表有底稿收入指标2–7未包含的收入项目：{items}；这些金额计入当期结余（指标15–20）"
                                          f"但不计入收入指标，请核实。"))
    return out


def _check_suppression(df: pd.DataFrame, det: pd.DataFrame):
    cid = "suppression"
    n_of = {(r.indicator_id, r.fixmedins_code): r.n for r in det.itertuples(index=False)}
    status_of = {(str(r.indicator_id), r.fixmedins_code): r.status for r in df.itertuples(index=False)}
    bad, n_sup, n_chk = [], 0, 0
    for r in df.itertuples(index=False):
        if not r.fixmedins_code:
            continue
        c = catalogue.get(r.indicator_id)
        if r.status == "suppressed":
            n_sup += 1
            if not pd.isna(r.value):
                bad.append(f"{r.indicator_id}/{r.fixmedins_code}（已标记不予公布但有数值）")
            continue
        if r.status == "ok":
            parts = [o for o in c.suppress_with if status_of.get((o, r.fixmedins_code)) == "suppressed"]
            if parts:  # a rate, per-case amount or growth rate beside a hidden count gives it back
                bad.append(f"{r.indicator_id}/{r.fixmedins_code}（指标{'、'.join(parts)}不予公布）")
        if r.status != "ok" or not c.suppress:
            continue
        n_chk += 1
        n = n_of.get((r.indicator_id, r.fixmedins_code))
        n = 0 if n is None or pd.isna(n) else int(n)
        if (c.suppress == "rate" and n < SUPPRESS_MIN) or (c.suppress == "count" and 0 < n < SUPPRESS_MIN):
            bad.append(f"{r.indicator_id}/{r.fixmedins_code}（病例数{n}）")
    if bad:
        return cid, "fail", (f"机构层面病例数少于{SUPPRESS_MIN}例的数值，及与不予公布的数值同一机构、由其计算的比率，应不予公布，"
                             f"以下未处理：" + "；".join(bad[:20]) + "。")
    return cid, "pass", (f"机构层面病例数少于{SUPPRESS_MIN}例的数值均不予公布：核对{n_chk}个已公布的机构数值，"
                         f"{n_sup}个机构数值不予公布且未输出数值。")


def _check_region_only(wh: Warehouse, region: str, df: pd.DataFrame):
    cid = "region_only"
    codes = sorted(set(df["fixmedins_code"].fillna("")) - {""})
    regions = set(df["poolarea_no"].astype(str))
    if not codes:
        ok = regions <= {region}
        return cid, ("pass" if ok else "fail"), ("仅含本统筹区数据。" if ok else "含其他统筹区的数据行。")
    own = wh.df(f"SELECT fixmedins_code, poolarea_no FROM fixmedins WHERE fixmedins_code IN "
                f"({', '.join(lit(c) for c in codes)})")
    where = dict(zip(own["fixmedins_code"], own["poolarea_no"]))
    bad = [c for c in codes if where.get(c) != region]
    if bad or not regions <= {region}:
        return cid, "fail", "输出含非本统筹区的定点医药机构或数据行：" + "、".join(bad[:20]) + "。"
    return cid, "pass", f"输出的{len(codes)}家定点医疗机构均属本统筹区（{region}），符合知悉范围要求。"


def _check_format(df: pd.DataFrame):
    cid = "output_format"
    problems = []
    if list(df.columns) != COLUMNS:
        problems.append("列与契约不一致（" + ",".join(map(str, df.columns)) + "）")
    bad_status = set(df["status"]) - set(catalogue.STATUSES)
    if bad_status:
        problems.append("状态取值无效：" + "、".join(sorted(map(str, bad_status))))
    v_ok = df["value"].notna()
    if ((df["status"] == "ok") & ~v_ok).any() or ((df["status"] != "ok") & v_ok).any():
        problems.append("数值与状态不匹配（仅“ok”行应有数值）")
    if problems:
        return cid, "fail", "；".join(problems) + "。"
    return cid, "pass", f"indicators.csv共{len(df)}行，列、状态取值、数值与状态对应均符合数据规范，且不含任何参保人标识字段。"


def to_csv_text(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS_CHECKS)
    for r in df[COLUMNS_CHECKS].itertuples(index=False):
        w.writerow([r.check_id, r.status, r.detail])
    return buf.getvalue()


def write_checks(df: pd.DataFrame, path) -> Path:
    """checks.csv: UTF-8, ``\\n`` line ends, written atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(to_csv_text(df).encode("utf-8"))
    return Path(path)
