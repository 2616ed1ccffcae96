"""结算情况 of the quarterly report: what the fund owed the hospitals and what it paid, per the region's
settlement deadline (params/regions.yaml rule table, cited), with 预付金 (handbook 附录2 (一), Jilin notice 二(一)).

The 支付率 is given over the claims that were due by the data's date; claims not yet due are counted apart,
unpaid claims past the deadline (逾期未付) and claims paid short (少付) apart again. Indicator 14 (every claim of
the year, due or not) is quoted as the 参考值 the appendix shows.
"""
from __future__ import annotations

import pandas as pd

from yibao import fmt
from yibao.data.contract import LEVEL_ORDER
from yibao.metrics import analysis
from yibao.publications import rules
from yibao.publications.context import Context


def _ok(v) -> bool:
    return v is not None and not (isinstance(v, float) and v != v)


def _sort_level(df: pd.DataFrame, col: str) -> pd.DataFrame:
    order = {k: i for i, k in enumerate(LEVEL_ORDER)}
    return df.assign(_o=df[col].map(order)).sort_values(["_o", "fixmedins_code"]).drop(columns="_o")


def settlement(ctx: Context, rep) -> None:
    """Settlement and payment progress (14, 申报→拨付时间差, 预付金) when the monthly settlement table is
    present. The 支付率 is given over the claims that were due by the data's date (the region's settlement
    deadline, params/regions.yaml); claims not yet due are counted apart, and unpaid claims apart from
    claims paid short. Indicator 14 (every claim of the year, due or not) is quoted as the 参考值 the
    appendix shows."""
    sp = analysis.settlement_progress(ctx.wh, ctx.region, ctx.period.code)
    if sp.empty:
        rep.md("本期未提供月度结算拨付数据，医保基金支付率和结算时间差暂不分析。")
        return
    deadline = ctx.rules.settlement_days()
    cl = rules.classify_claims(analysis.settlement_claims(ctx.wh, ctx.region, ctx.period.code), deadline)
    as_of = cl["as_of"].iloc[0]
    part = {k: cl[cl["state"] == k] for k in ("已付清", "少付", "未到期", "逾期未付", "未拨付")}
    due = cl[cl["state"] != "未到期"]
    rate_due = due["paid"].sum() / due["payable"].sum() * 100 if due["payable"].sum() else None
    lag = (sp["lag_days"] * sp["payable"]).sum() / sp["payable"].sum() if sp["payable"].sum() else None
    prepaid = cl["prepaid"].fillna(0).sum()

    def amt(k):
        return f"{fmt.money(part[k]['payable'].sum())}（{len(part[k])}个机构·月）"
    text = (f"{ctx.period.range_label}，定点医疗机构申报医保结算金额{fmt.money(sp['declared'].sum())}，"
            f"扣除违规拒付{fmt.money(sp['refused'].sum())}后应付{fmt.money(sp['payable'].sum())}，"
            f"截至{fmt.date_zh(as_of)}（数据提取日）实际支付{fmt.money(sp['paid'].sum())}"
            + (f"，另预拨付预付金{fmt.money(prepaid)}" if prepaid > 0 else "") + "。")
    if deadline is not None:
        text += (f"{deadline.cite()}，费用结算时间自申报之日起不超过{fmt.count(deadline.limit)}个工作日。"
                 f"应付金额中{amt('未到期')}尚未到结算期限，不计入支付率；已到期的应付{fmt.money(due['payable'].sum())}"
                 f"实际支付{fmt.money(due['paid'].sum())}，支付率{fmt.pct(rate_due)}。")
        text += (f"已到期未拨付{amt('逾期未付')}。" if len(part["逾期未付"]) else "已到期的申报均已拨付。")
    else:
        paid = cl[cl["state"].isin(["已付清", "少付"])]
        rate_due = paid["paid"].sum() / paid["payable"].sum() * 100 if paid["payable"].sum() else None
        text += (f"已拨付的申报应付{fmt.money(paid['payable'].sum())}、实际支付{fmt.money(paid['paid'].sum())}，"
                 f"支付率{fmt.pct(rate_due)}；尚未拨付{amt('未拨付')}（本统筹区未设定结算期限规则，未区分是否到期）。")
    if len(part["少付"]):
        text += f"已拨付但少于应付的{len(part['少付'])}个机构·月，少付{fmt.money(part['少付']['short'].sum())}。"
    ref = ctx.value_any(14)
    if _ok(ref):
        text += (f"按数据底稿口径（实际支付÷全部应付，含尚未到期的申报），医保基金支付率为{fmt.pct(ref)}，"
                 f"该指标为半年/年度指标，本期仅作参考值。")
    if _ok(lag):
        slow = sp.sort_values("lag_days", ascending=False).head(3)
        text += (f"已拨付的申报从申报到拨付平均{fmt.num(lag, 1)}天，用时最长的是"
                 + "、".join(f"{r.fixmedins_name}（{fmt.num(r.lag_days, 1)}天）" for r in slow.itertuples()) + "。")
    rep.md(text)
    by = cl.groupby(["fixmedins_code", "fixmedins_name", "level"])
    t = by.agg(payable=("payable", "sum"), paid=("paid", "sum"), prepaid=("prepaid", "sum")).reset_index()
    for k in ("未到期", "逾期未付", "未拨付"):
        t[k] = t["fixmedins_code"].map(part[k].groupby("fixmedins_code")["payable"].sum()).fillna(0)
    t["少付"] = t["fixmedins_code"].map(part["少付"].groupby("fixmedins_code")["short"].sum()).fillna(0)
    dd = due.groupby("fixmedins_code")[["paid", "payable"]].sum()
    t["rate"] = t["fixmedins_code"].map(dd["paid"] / dd["payable"].where(dd["payable"] > 0) * 100)
    t["lag"] = t["fixmedins_code"].map(sp.set_index("fixmedins_code")["lag_days"])
    t = _sort_level(t, "level")
    out = pd.DataFrame({"机构名称": t["fixmedins_name"].values, "级别": t["level"].values,
                        "应付（万元）": t["payable"].map(fmt.wan).values, "实付（万元）": t["paid"].map(fmt.wan).values})
    if deadline is not None:
        out["未到期（万元）"] = t["未到期"].map(fmt.wan).values
        out["逾期未付（万元）"] = t["逾期未付"].map(fmt.wan).values
    else:
        out["未拨付（万元）"] = t["未拨付"].map(fmt.wan).values
    out["少付（万元）"] = t["少付"].map(fmt.wan).values
    out["支付率" if deadline is None else "支付率（已到期）"] = t["rate"].map(fmt.pct).values
    out["平均拨付天数"] = t["lag"].map(lambda x: fmt.num(x, 1)).values
    if prepaid > 0:
        out["预付金（万元）"] = t["prepaid"].map(fmt.wan).values
    rep.table(out, f"{ctx.period.range_label}各定点医疗机构结算拨付情况",
              note=("支付率＝已到期申报的实际支付÷应付（扣除违规拒付）×100%；未到期为截至数据提取日仍在结算期限内"
                    f"（{deadline.cite()}，自申报之日起{fmt.count(deadline.limit)}个工作日，未扣除法定节假日）的未拨付申报；"
                    if deadline is not None else
                    "支付率＝已拨付申报的实际支付÷应付（扣除违规拒付）×100%；")
              + "少付＝已拨付申报的应付－实付；拨付天数＝拨付日期－申报日期。")
