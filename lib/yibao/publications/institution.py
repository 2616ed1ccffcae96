"""The per-institution publication (定向推送, handbook 四(二), 八(二)): what notebooks/institution.ipynb calls.

    ctx = InstitutionContext.open(data_dir, region, period, institution, precomputed)
    key_figures(ctx, rep); digao(ctx, rep); trends(ctx, rep); groups(ctx, rep); budget(ctx, rep)
    findings(ctx, rep); explain(ctx, rep); feedback(ctx, rep); sources(ctx, rep)

The context reads the hospital's own **bundle** (:mod:`yibao.publications.institution_data`), written
once per region and period by the batch; without one (JupyterLab) it builds the bundle of this hospital
first. Peers appear only as the level's median, 标杆值, the region's value and a rank — never by name.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from yibao import fmt
from yibao.escape import strong
from yibao.publications.institution_data import KEY_IDS, build_bundles, read_csv

SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}


def _topic(rule_id: str) -> str:
    from yibao.publications.quarterly import RULE_TOPIC
    return RULE_TOPIC.get(rule_id, "")


@dataclass
class InstitutionContext:
    bundle: Path
    info: dict
    tables: dict = field(default_factory=dict)

    @classmethod
    def open(cls, data_dir, region: str, period: str, institution: str, precomputed: str = "",
             release_date: str = "") -> "InstitutionContext":
        """``precomputed``: the hospital's bundle directory (``yibao run --kind institution``); empty: the
        bundle is built here from the dataset (the region's figures computed, one hospital kept)."""
        bundle = Path(precomputed) if precomputed else None
        if not institution and (bundle is None or not (bundle / "info.json").is_file()):
            from yibao.data.warehouse import Warehouse
            with Warehouse(data_dir) as wh:  # JupyterLab without a code: the region's first hospital
                institution = str(wh.institutions(str(region), hospitals_only=True)["fixmedins_code"].iloc[0])
        if bundle is None or not (bundle / "info.json").is_file():
            import atexit
            import shutil
            tmp = Path(tempfile.mkdtemp(prefix="yibao-institution-"))
            atexit.register(shutil.rmtree, tmp, True)  # the bundle lives as long as the kernel
            bundle = build_bundles(data_dir, str(region), str(period), tmp, codes=[str(institution)],
                                   release_date=release_date or None)[str(institution)]
        info = json.loads((bundle / "info.json").read_text(encoding="utf-8"))
        if institution and info["fixmedins_code"] != str(institution):
            raise ValueError(f"{bundle}: 数据包属于 {info['fixmedins_code']}，不是 {institution}")
        return cls(bundle, info)

    def table(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            self.tables[name] = read_csv(self.bundle / f"{name}.csv")
        return self.tables[name]

    @property
    def budget(self) -> dict:
        p = self.bundle / "budget.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}

    @property
    def name(self) -> str:
        return self.info["fixmedins_name"]

    @property
    def label(self) -> str:
        return self.info["period_label"]

    @property
    def level(self) -> str:
        return self.info["lv_group"]

    @property
    def due(self) -> str:
        return fmt.date_zh(self.info["explain_due"])


# ---- formatting helpers ----------------------------------------------------------------------------------

def _val(v, unit: str, iid: str = "") -> str:
    if v is None or pd.isna(v):
        return "—"
    if unit == "元":
        return fmt.money(v)
    if unit == "%":
        return fmt.pct(v)
    if unit in ("人次", "个", "张"):
        return fmt.count(v)
    return fmt.ratio(v, 2)


def _row(d: pd.Series) -> dict:
    from yibao.metrics.catalogue import SUPPRESSED_MARK
    unit = "" if pd.isna(d["unit"]) else str(d["unit"])
    own = _val(d["value"], unit) if d["status"] == "ok" else (SUPPRESSED_MARK if d["status"] == "suppressed" else "—")
    rank = (f"{int(d['rank'])}/{int(d['level_n'])}" if d["status"] == "ok" and pd.notna(d["rank"])
            and pd.notna(d["level_n"]) and d["level_n"] > 0 else "—")
    return {"指标": str(d["name"]), "本院": own, "上期": _val(d["prev_value"], unit),
            "同级中位数": _val(d["level_median"], unit), "标杆值": _val(d["benchmark"], unit),
            "全统筹区": _val(d["region_value"], unit), "同级排名": rank}


def _findings(ctx: InstitutionContext) -> pd.DataFrame:
    f = ctx.table("findings")
    if f.empty:
        return f
    f = f.copy()
    f["_s"] = f["severity"].map({"high": 0, "medium": 1, "low": 2})
    return f.sort_values(["_s", "rule_id", "subject"], kind="mergesort").reset_index(drop=True)


# ---- 一、本期要点 ----------------------------------------------------------------------------------------

def key_figures(ctx: InstitutionContext, rep) -> None:
    """One page for the hospital's president: who it is compared with, the key figures, the findings and
    what must be done by when."""
    i = ctx.info
    rep.md(f"本报告由{i['region_name']}医保数据工作组向{ctx.name}定向推送，内容为{ctx.label}本院医保结算数据与同级"
           f"（{ctx.level}，本统筹区共{i['level_hospitals']}家）医院的比较、发现的问题线索及需核实的病例。其他医疗机构"
           "仅以同级中位数、标杆值和排名出现，本报告及所附疑点明细仅供本院内部使用。")
    d = ctx.table("digao")
    if not d.empty:
        d = d.set_index("indicator_id")
        rows = [_row(d.loc[k]) for k in KEY_IDS if k in d.index]
        rep.table(pd.DataFrame(rows).drop(columns=["全统筹区"]), f"{ctx.name}{ctx.label}主要指标",
                  note="同级排名按指标值由高到低（1为最高），仅含数值可公布的同级医院；标杆值：费用、时间消耗等越低越好的指标为"
                       "同级第25百分位数，上传率、质控通过率等越高越好的指标为第75百分位数，其余指标不设标杆值。")
    f = _findings(ctx)
    if f.empty:
        rep.md(f"{strong('问题线索')}：{ctx.label}各项监测规则未发现本院需要说明的异常情况。")
    else:
        n = {s: int((f["severity"] == s).sum()) for s in ("high", "medium", "low")}
        imp = pd.to_numeric(f["impact"], errors="coerce").sum(min_count=1)
        cases = int(pd.to_numeric(f["n_cases"], errors="coerce").fillna(0).sum())
        text = (f"{strong('问题线索')}：本期共{len(f)}条（高{n['high']}条、中{n['medium']}条、低{n['low']}条）"
                + (f"，估算涉及金额合计{fmt.wan(imp)}万元" if pd.notna(imp) else "")
                + (f"；所附疑点明细列出需逐例核实的病例{fmt.count(cases)}例" if cases else "") + "。")
        if n["high"] + n["medium"]:
            text += f"请于{strong(ctx.due)}前提交书面说明，并在疑点明细表中逐例填写核实结果。"
        rep.md(text)
    b = ctx.budget
    if b.get("budget"):
        rep.md(f"{strong('预算执行')}：本年度本院DRG/DIP统筹基金预算{fmt.wan(b['budget'])}万元，至本期末已使用"
               f"{fmt.wan(b['spent'])}万元，执行进度{fmt.pct(b['execution'], 1)}（时间进度{fmt.pct(b['elapsed'], 1)}）。")
    fb = ctx.table("feedback")
    if not fb.empty:
        open_n = int((fb["status"] == "处理中").sum())
        rep.md(f"{strong('意见反馈')}：上期以来本院反馈意见{len(fb)}条，其中尚在处理中{open_n}条（见第六部分）。")


# ---- 二、数据底稿 ----------------------------------------------------------------------------------------

def digao(ctx: InstitutionContext, rep) -> None:
    """Every per-institution indicator of the 数据底稿: the hospital, 上期, its level's median, 标杆值, the
    region and the rank within the level."""
    d = ctx.table("digao")
    if d.empty:
        rep.md("本期没有可公布的机构指标。")
        return
    import re
    d = d[(d["status"] == "ok") | d["level_median"].notna() | d["region_value"].notna()]  # 不适用 rows left out
    rows = []
    for _, r in d.iterrows():
        row = _row(r)
        row["指标"] = re.sub(r"^(（[一二三四五六七八九十]+）|其中：|\d+\.)", "", row["指标"])
        row.pop("上期")  # 上期 is in the key figures; the full table keeps room for the names
        rows.append(row)
    rep.table(pd.DataFrame(rows), f"{ctx.name}数据底稿指标与同级比较",
              note="“<5”为病例数不足5例不予公布；“—”为不适用或无数据。全统筹区为全区合计口径（时间、费用消耗指数全区为1）。")
    worse = []
    for _, r in d.iterrows():
        if r["status"] != "ok" or pd.isna(r["benchmark"]) or pd.isna(r["level_median"]):
            continue
        from yibao.publications.institution_data import LOWER_BETTER
        lower = r["indicator_id"] in LOWER_BETTER
        if (lower and r["value"] > r["level_median"]) or (not lower and r["value"] < r["level_median"]):
            worse.append(str(r["name"]))
    if worse:
        rep.md(f"与同级中位数相比，本院{'、'.join(worse)}处于不利一侧，建议对标同级标杆值查找原因。")
    else:
        rep.md("设有标杆值的各项指标，本院均不劣于同级中位数。")


# ---- 三、近12个月趋势 -------------------------------------------------------------------------------------

def trends(ctx: InstitutionContext, rep) -> None:
    t = ctx.table("trend")
    if t.empty or len(t) < 3:
        rep.md("近12个月结算数据不足3个月，不作趋势分析。")
        return
    from yibao.publications import charts
    charts.setup()
    t = t.sort_values("month")
    fig = charts.trend(t, x="month", ys=["ip_cases", "op_cases"], kind="line",
                       labels={"ip_cases": "出院人次", "op_cases": "门诊人次"}, ylabel="人次",
                       figsize=(6.3, 2.6))
    rep.figure(fig, f"{ctx.name}近{len(t)}个月门诊和出院人次（本地参保人）", dpi=150)
    fig = charts.trend(t, x="month", ys=["avg_ip_cost", "region_avg_ip_cost"], kind="line",
                       labels={"avg_ip_cost": "本院", "region_avg_ip_cost": "全统筹区"}, ylabel="元",
                       figsize=(6.3, 2.6))
    rep.figure(fig, f"{ctx.name}近{len(t)}个月次均住院费用与全统筹区比较",
               note="按结算时间统计，退费已冲销；次均住院费用为本地参保人住院类结算。", dpi=150)
    rows = [{"月份": f"{m[:4]}年{int(m[5:])}月", "门诊人次": fmt.count(o), "出院人次": fmt.count(i),
             "医疗费用（万元）": fmt.wan(c), "统筹基金支付（万元）": fmt.wan(h), "次均住院费用": _val(a, "元")}
            for m, o, i, c, h, a in zip(t["month"], t["op_cases"], t["ip_cases"], t["medfee"], t["hifp_pay"],
                                        t["avg_ip_cost"])]
    rep.table(pd.DataFrame(rows), f"{ctx.name}近{len(t)}个月主要结算数据")


# ---- 四、病组 --------------------------------------------------------------------------------------------

def groups(ctx: InstitutionContext, rep, top: int = 15) -> None:
    g = ctx.table("groups")
    pay = ctx.info["pay_method"]
    if g.empty:
        rep.md(f"本期本院没有入组的{pay}病例。")
        return
    total = int(g["cases"].sum())
    cmi = float((g["weight"] * g["cases"]).sum() / total) if total else None
    over = g[(g["pay_std"].notna()) & (g["avg_cost"] > g["pay_std"])]
    wname = "CMI" if pay == "DRG" else "平均分值"
    rep.md(f"{ctx.label}本院入组病例{fmt.count(total)}例，涉及{len(g)}个{pay}病组，{wname}为{fmt.ratio(cmi, 2)}。"
           f"次均费用高于支付标准的病组{len(over)}个" + (f"，涉及{fmt.count(over['cases'].sum())}例" if len(over) else "")
           + "。下表列出病例数最多的病组。")
    g = g.sort_values(["cases", "grp"], ascending=[False, True]).head(top)
    rows = [{"病组": r.grp, "名称": "" if pd.isna(r.grp_name) else str(r.grp_name), "病例数": fmt.count(r.cases),
             ("权重" if pay == "DRG" else "分值"): fmt.ratio(r.weight, 2), "次均费用": _val(r.avg_cost, "元"),
             "支付标准": _val(r.pay_std, "元"),
             "费用÷支付标准": fmt.ratio(r.avg_cost / r.pay_std, 2) if pd.notna(r.pay_std) and r.pay_std else "—",
             "费用消耗指数": fmt.ratio(r.cost_index, 2), "时间消耗指数": fmt.ratio(r.time_index, 2)}
            for r in g.itertuples(index=False)]
    rep.table(pd.DataFrame(rows), f"{ctx.name}主要{pay}病组费用与支付标准（病例数前{len(rows)}位）",
              note="费用、时间消耗指数 = 本院该病组次均费用（平均住院日）÷ 全统筹区该病组次均费用（平均住院日）；"
                   "支付标准取结算清单记载值，缺失时取本统筹区分组目录。")


# ---- 五、预算执行和结算 ------------------------------------------------------------------------------------

def budget(ctx: InstitutionContext, rep) -> None:
    b = ctx.budget
    if b.get("budget"):
        state = "结余" if (b.get("balance") or 0) >= 0 else "超支"
        rep.md(f"本年度本院DRG/DIP统筹基金预算{fmt.wan(b['budget'])}万元，按时间进度应使用{fmt.wan(b['due'])}万元，"
               f"实际使用{fmt.wan(b['spent'])}万元，执行进度{fmt.pct(b['execution'], 1)}，较时间进度{state}"
               f"{fmt.wan(abs(b['balance']))}万元。")
    else:
        rep.md("数据中没有本院单列的年度预算，不计算预算执行进度。")
    c = ctx.table("claims")
    if c.empty:
        rep.md("数据中没有本院的月度结算拨付记录。")
        return
    c = c.sort_values("month")
    dd = pd.to_datetime(c["declare_date"], errors="coerce")
    pdt = pd.to_datetime(c["paid_date"], errors="coerce")
    lag = (pdt - dd).dt.days
    rows = [{"结算月份": f"{m[:4]}年{int(m[5:])}月", "申报（万元）": fmt.wan(de), "拒付（万元）": fmt.wan(rf),
             "应付（万元）": fmt.wan(py), "实付（万元）": fmt.wan(pd_), "申报日期": fmt.date_zh(a) if pd.notna(a) else "—",
             "拨付日期": fmt.date_zh(b_) if pd.notna(b_) else "未拨付", "申报至拨付（天）": fmt.count(l) if pd.notna(l) else "—"}
            for m, de, rf, py, pd_, a, b_, l in zip(c["month"], c["declared"], c["refused"], c["payable"], c["paid"],
                                                     dd, pdt, lag)]
    rep.table(pd.DataFrame(rows), f"{ctx.name}本年度月度结算拨付情况")
    if lag.notna().any():
        rep.md(f"本年度已拨付{int(lag.notna().sum())}个月，从申报到拨付平均{fmt.num(lag.mean(), 1)}天、最长"
               f"{fmt.count(lag.max())}天；应付{fmt.wan(c['payable'].sum())}万元，已付{fmt.wan(c['paid'].sum())}万元。")


# ---- 六、问题线索、需说明事项、上期反馈 --------------------------------------------------------------------

def findings(ctx: InstitutionContext, rep) -> None:
    """Every finding about the hospital: the sentence, its evidence (value against the benchmark), the
    estimated fund impact and the cases listed for verification."""
    from yibao.findings.cases import NO_CASES
    f = _findings(ctx)
    if f.empty:
        rep.md(f"{ctx.label}各项监测规则未发现本院需要说明的异常情况，所附疑点明细为空。")
        return
    rows = []
    for k, r in enumerate(f.itertuples(index=False), 1):
        n = r.n_cases
        rows.append({"序号": str(k), "问题线索": str(r.rule_name), "关注等级": SEVERITY_ZH.get(r.severity, r.severity),
                     "本院": fmt.ratio(r.value, 2) if pd.notna(r.value) else "—",
                     "比较基准": fmt.ratio(r.benchmark, 2) if pd.notna(r.benchmark) else "—",
                     "估算金额（万元）": fmt.wan(r.impact) if pd.notna(r.impact) else "—",
                     "疑点病例（例）": fmt.count(n) if pd.notna(n) else "不涉及"})
    rep.table(pd.DataFrame(rows), f"{ctx.name}{ctx.label}问题线索",
              note="本院、比较基准的含义见各条说明；估算金额：高套病组为按支付标准差额估算的多支付医保基金，病组费用偏高为按同级"
                   "中位数估算的多发生医疗费用，“—”为不估算。线索为数据比对结果，不等同于违规认定。")
    for k, r in enumerate(f.itertuples(index=False), 1):
        tail = (f"疑点明细表第{k}项列出相关病例{fmt.count(r.n_cases)}例"
                + (f"（按统筹基金支付金额取前{fmt.count(r.listed)}例）" if pd.notna(r.listed) and r.listed < r.n_cases else "")
                + "，请逐例核实。" if pd.notna(r.n_cases) else NO_CASES.get(r.rule_id, "本项不对应具体病例。"))
        rep.md(f"{k}. {strong(r.rule_name)}（{SEVERITY_ZH.get(r.severity, r.severity)}）：{r.message}{tail}")


def explain(ctx: InstitutionContext, rep) -> None:
    f = _findings(ctx)
    hm = f[f["severity"].isin(["high", "medium"])] if not f.empty else f
    if hm.empty:
        rep.md("本期本院没有需要提交书面说明的高、中级别问题线索；低级别提示请结合自查情况关注。对本报告数据有异议的，"
               f"可于{ctx.due}前在疑点明细表中填写或书面反馈。")
        return
    rows = [{"序号": str(k), "需说明事项": _topic(r.rule_id) or str(r.rule_name), "截止日期": ctx.due}
            for k, r in enumerate(hm.itertuples(index=False), 1)]
    rep.md(f"请本院于{strong(ctx.due)}前（自发布之日起{ctx.info['explain_days']}日）向{ctx.info['region_name']}医疗保障局提交"
           "书面说明（必要时附整改措施），同时在所附疑点明细表“核实结果”“说明”两列逐例填写后一并报送：")
    rep.table(pd.DataFrame(rows), f"{ctx.name}需提交书面说明的事项")
    rep.md("核实结果请填写“属实”“部分属实”或“不属实”；不属实的，请在“说明”中写明依据（如病历记载、检查结果）。"
           "医保部门将汇总各机构的核实结果，视情开展现场核查，并在下期推送中反馈处理情况。")


def feedback(ctx: InstitutionContext, rep) -> None:
    fb = ctx.table("feedback")
    if fb.empty:
        rep.md("上期发布以来，本院未提出意见建议，也没有尚在处理中的意见。")
        return
    from yibao.data.privacy import mask_identifiers
    fb = fb.sort_values("received_date")
    rows = [{"收到日期": fmt.date_zh(r.received_date), "主题": str(r.topic), "意见内容": mask_identifiers(str(r.text)),
             "处理状态": str(r.status),
             "答复": mask_identifiers(str(r.response)) if isinstance(r.response, str) and r.response else "—"}
            for r in fb.itertuples(index=False)]
    open_n = int((fb["status"] == "处理中").sum())
    rep.md(f"上期发布以来（{fmt.date_zh(fb['window_start'].iloc[0])}起）本院的意见建议及结转未办结的意见共{len(fb)}条，"
           f"已办结{len(fb) - open_n}条，尚在处理中{open_n}条。")
    rep.table(pd.DataFrame(rows), f"{ctx.name}意见建议及处理情况")


def sources(ctx: InstitutionContext, rep) -> None:
    rep.md("数据来源：医保信息平台结算数据、医保结算清单及分组结果、本统筹区DRG/DIP分组目录、月度结算拨付记录和意见反馈记录。"
           "指标口径与本统筹区季度发布分析报告附录一致；机构指标病例数不足5例的不予公布；同级指本统筹区同一医院级别。"
           "疑点明细不含参保人身份信息，仅供本院核实使用，不得外传。")


__all__ = ["InstitutionContext", "budget", "digao", "explain", "feedback", "findings", "groups", "key_figures",
           "sources", "trends"]
