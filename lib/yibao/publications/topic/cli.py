"""``yibao topics``: candidate topics and coverage printed as text tables.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd

from yibao import fmt
from yibao.errors import DataError, YibaoError
from yibao.data.warehouse import Warehouse
from yibao.publications.topic.choose import (
    RANK_MIN_CASES, _safe_resolve, coverage, plan_path, rank_topics, year_plan_topics,
)
from yibao.publications.topic.codes import resolve


# ---- yibao topics -------------------------------------------------------------------------------------

def _w(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in str(s))


def text_table(df: pd.DataFrame, right: set | None = None, max_width: int = 26) -> str:
    """A plain-text table aligned for terminals that show CJK characters double width."""
    right = right or set()
    cols = [str(c) for c in df.columns]
    rows = [[str(v) for v in r] for r in df.itertuples(index=False, name=None)]
    rows = [[v if _w(v) <= max_width else _cut(v, max_width) for v in r] for r in rows]
    widths = [max([_w(c)] + [_w(r[i]) for r in rows]) for i, c in enumerate(cols)]

    def line(vals):
        out = []
        for i, v in enumerate(vals):
            pad = " " * (widths[i] - _w(v))
            out.append(pad + v if cols[i] in right else v + pad)
        return "  ".join(out).rstrip()
    return "\n".join([line(cols), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _cut(s: str, n: int) -> str:
    out = ""
    for ch in s:
        if _w(out + ch) > n - 1:
            return out + "…"
        out += ch
    return out


def run_cli(args) -> int:
    """``yibao topics --data DIR --region R --year Y [--top N] [--plan FILE]``."""
    data = Path(args.data)
    if not data.is_dir():
        raise YibaoError(f"--data: 数据目录 {data} 不存在")
    from yibao.data.gate import Scope, print_warnings, validated
    # nothing is computed from invalid data: every table, the region's rows in the months the ranking reads
    print_warnings(validated(data, Scope.of(regions=[str(args.region)], period=str(args.year))))
    with Warehouse(data) as wh:
        info = wh.region(str(args.region))
        pay = info["pay_method"]
        if pay not in ("DRG", "DIP"):
            raise DataError(f"poolarea · pay_method · 统筹区 {args.region} 的支付方式为 {pay!r}，必须为 DRG 或 DIP")
        if not wh.has("setl_list"):
            raise DataError(f"{data}: 缺少结算清单表 setl_list，无法排序候选专题")
        ranked = rank_topics(wh, str(args.region), int(args.year))
    name = info.get("poolarea_name") or args.region
    plan_file = plan_path(args.year, getattr(args, "plan", None))
    plan_exists = plan_file.exists()
    planned = year_plan_topics(str(args.region), int(args.year), plan_file) if plan_exists else []
    planned_codes = {resolve(t).code for t in planned if _safe_resolve(t)}
    cov = coverage(planned, pay)
    covered_keys = set(cov["covered"])
    top = ranked.head(int(args.top or 20))
    unit = "ADRG" if pay == "DRG" else "ICD-10类目"
    print(f"{name}（{args.region}，{pay}付费）{args.year}年专题分析候选{unit}（按综合得分排序，前{len(top)}个，"
          f"共{len(ranked)}个候选）")
    if top.empty:
        print(f"  {args.year}年没有结算清单数据。")
    else:
        cover_head = "MDC" if pay == "DRG" else "章"
        t = pd.DataFrame({
            "排名": top["rank"].astype(str), "编码": top["code"], "名称": top["name"],
            cover_head: top["cover"], "病例数": top["cases"].map(fmt.count),
            "总费用(万元)": top["amount"].map(fmt.wan), "次均费用(元)": top["avg_cost"].map(fmt.num),
            "未入组占比": top["ungrouped_share"].map(lambda x: fmt.pct(x, 1)),
            "据实结算占比": top["actual_share"].map(lambda x: fmt.pct(x, 1)),
            "质控未通过占比": top["qc_fail_share"].map(lambda x: fmt.pct(x, 1)),
            "综合得分": top["score"].map(lambda x: fmt.num(x, 1)),
            "计划": ["已列入" if c in planned_codes else ("已覆盖" + cover_head if v in covered_keys else "")
                   for c, v in zip(top["code"], top["cover"])],
        })
        print(text_table(t, right={"排名", "病例数", "总费用(万元)", "次均费用(元)", "未入组占比", "据实结算占比",
                                   "质控未通过占比", "综合得分"}))
        print(f"\n综合得分 = 100 ×（0.4×病例数/最大病例数 + 0.4×总费用/最大总费用 + 0.2×入组结算问题/最大值）；"
              f"入组结算问题为未入组、据实结算、质控未通过三项占比的平均，病例数不少于{RANK_MIN_CASES}例时计入。"
              + ("DRG地区未入组病例按主要诊断类目归入最常见的ADRG。" if pay == "DRG" else ""))
    print()
    if plan_exists:
        print(f"{args.year}年发布计划（{plan_file}）已选专题：{'、'.join(planned) if planned else '无'}")
    else:
        print(f"未找到{args.year}年发布计划 {plan_file}（可用 --plan 指定；`yibao plan` 生成）。")
    total, n_cov = cov["total"], cov["n_covered"]
    what = "MDC" if pay == "DRG" else "病种库ICD-10章（I–XIX、XXI）"
    print(f"已覆盖{what} {n_cov}/{total}：" + ("；".join(
        f"{k} {cov['names'].get(k, '')}（{'、'.join(v)}）" for k, v in cov["covered"].items()) or "无"))
    rest = [f"{k} {cov['names'].get(k, '')}" for k in cov["remaining"]]
    print(f"尚未覆盖 {len(rest)} 个：" + ("" if rest else "无（已全部覆盖）"))
    for i in range(0, len(rest), 4):
        print("  " + "；".join(rest[i:i + 4]))
    if cov["ignored"]:
        print(f"不计入覆盖的专题：{'、'.join(cov['ignored'])}（与{pay}地区的覆盖口径不对应）")
    if not top.empty:
        todo = top[~top["cover"].isin(covered_keys)].head(5)
        if len(todo):
            print("建议优先考虑（得分高且所属" + ("MDC" if pay == "DRG" else "章") + "尚未覆盖）："
                  + "、".join(f"{r.code} {r.name}" for r in todo.itertuples()))
        example = top["code"].iloc[0]
        print(f"\n生成专题报告（例）：yibao run --data {args.data} --region {args.region} --period {args.year} "
              f"--kind topic --topic {example}\n（--period 也可为季度，如 {args.year}Q4；详见 docs/topic.md）")
    return 0
