"""One study: a topic in a region over the compared periods (:class:`Study`, :func:`open_study`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from yibao import fmt
from yibao.data import reference
from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse
from yibao.publications.topic.cells import (
    benchmark, case_medians, cells, comparison_periods, hospital_structure, hospital_table, structure,
    summary_by_period, upcoding_signal,
)
from yibao.publications.topic.choose import plan_lead
from yibao.publications.topic.codes import (
    COST_PCT, MIN_CASES, SHARE_PP, SUPPRESS, TOP_N, Topic, VOLUME_PCT, _icd_name, resolve,
)


# ---- the study: one topic, one region, the periods ----------------------------------------------------

@dataclass
class Study:
    """Everything a topic notebook's sections share: the topic, the periods, the thresholds and the
    (small, cached) data. Open it with :func:`open_study`."""
    wh: Warehouse
    region: str
    region_name: str
    pay_method: str
    topic: Topic
    periods: list[Period]
    lead: str = ""
    authors: str = ""
    min_cases: int = MIN_CASES
    suppress: int = SUPPRESS
    share_pp: float = SHARE_PP
    cost_pct: float = COST_PCT
    volume_pct: float = VOLUME_PCT
    top_n: int = TOP_N
    findings: pd.DataFrame | None = None
    findings_error: str | None = None
    hospitals: pd.DataFrame = field(default_factory=pd.DataFrame)

    # -- periods --
    @property
    def period(self) -> Period:
        return self.periods[-1]

    @property
    def base(self) -> Period | None:
        """The comparison period just before the study period (the same period a year earlier by default)."""
        return self.periods[-2] if len(self.periods) > 1 else None

    @property
    def first(self) -> Period:
        return self.periods[0]

    def short(self, p: Period) -> str:
        """Column label: '2025年' when all periods are the same season of different years, else the code."""
        same = len({(x.first, x.length) for x in self.periods}) == 1 and len({x.year for x in self.periods}) == len(
            self.periods)
        return f"{p.year}年" if same else p.code

    @property
    def season(self) -> str:
        """'第三季度' / '' (years) — the part of the period label after the year, for captions."""
        lab = self.period.label
        return lab[len(f"{self.period.year}年"):]

    def basis(self, cur: Period, base: Period) -> str:
        if base == cur.year_ago():
            return "同比"
        if base == cur.previous():
            return "环比"
        return f"较{base.label}"

    # -- data --
    @cached_property
    def cells(self) -> pd.DataFrame:
        return cells(self.wh, self.region, self.topic, self.periods, self.pay_method)

    @property
    def empty(self) -> bool:
        return self.cells.empty or self.cells[self.cells["period"] == self.period.code]["cases"].sum() == 0

    @cached_property
    def summary(self) -> pd.DataFrame:
        return summary_by_period(self.cells, self.periods,
                                 case_medians(self.wh, self.region, self.topic, self.periods))

    def row(self, p: Period | None) -> pd.Series | None:
        if p is None:
            return None
        s = self.summary.set_index("period")
        return s.loc[p.code] if p.code in s.index else None

    @cached_property
    def hosp(self) -> pd.DataFrame:
        return hospital_table(self.cells, self.hospitals, self.period, self.min_cases, self.base)

    @cached_property
    def bench(self) -> dict:
        return benchmark(self.hosp, self.min_cases)

    @cached_property
    def child_names(self) -> dict:
        return _child_names(self.wh, self.region, self.topic, self.pay_method, self.cells["child"].unique())

    @cached_property
    def child_pay_std(self) -> dict:
        return _child_pay_std(self.wh, self.region, self.topic, self.pay_method)

    @cached_property
    def struct(self) -> pd.DataFrame:
        return structure(self.cells, self.periods, self.child_names, self.child_pay_std, self.min_cases,
                         adrg=self.topic.kind == "adrg")

    @property
    def high(self) -> set:
        s = self.struct
        return set(s.loc[s["high"], "child"]) if len(s) else set()

    @cached_property
    def hstruct(self) -> pd.DataFrame:
        return hospital_structure(self.cells, self.high, self.periods)

    @cached_property
    def signal(self) -> pd.DataFrame:
        return upcoding_signal(self.findings, self.topic)

    @cached_property
    def verify(self) -> pd.DataFrame:
        return verification(self)

    def name_of(self, code: str) -> str:
        h = self.hospitals.set_index("fixmedins_code")["fixmedins_name"]
        return str(h.get(code, code))

    def count(self, n) -> str:
        """A hospital-level count with suppression: 1–4 → '<5'."""
        return suppressed(n, self.suppress)


def suppressed(n, threshold: int = SUPPRESS) -> str:
    """Counts below ``threshold`` (but not 0) show as '<5'."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return fmt.DASH
    n = int(round(float(n)))
    if 0 < n < threshold:
        return f"<{threshold}"  # SUPPRESSED_MARK at the default threshold
    return fmt.count(n)


def _child_names(wh: Warehouse, region: str, topic: Topic, pay_method: str, children) -> dict:
    out: dict[str, str] = {}
    children = [str(x) for x in children]
    if topic.kind == "adrg" or (topic.kind == "subcategory" and pay_method == "DRG"):
        ref = dict(zip(reference.drg()["drg_code"], reference.drg()["drg_name"]))
        out.update({c: ref[c] for c in children if c in ref})
        if wh.has("drg_catalog"):
            cat = wh.df("SELECT upper(drg_code) AS c, drg_name AS n FROM drg_catalog WHERE poolarea_no = ?", [region])
            out.update({c: n for c, n in zip(cat["c"], cat["n"]) if n and c in children})
    elif topic.kind == "subcategory":
        if wh.has("dip_catalog"):
            cat = wh.df("SELECT upper(dip_code) AS c, dip_name AS n FROM dip_catalog WHERE poolarea_no = ?", [region])
            out.update({c: n for c, n in zip(cat["c"], cat["n"]) if n and c in children})
        out.setdefault("未入组", "未入组病例")
    else:
        for c in children:
            out[c] = _icd_name(c) or ("（未细分亚目）" if "." not in c and topic.kind == "category" else "")
    return out


def _child_pay_std(wh: Warehouse, region: str, topic: Topic, pay_method: str) -> dict:
    if topic.kind == "adrg" and wh.has("drg_catalog"):
        df = wh.df("SELECT upper(drg_code) AS c, pay_std FROM drg_catalog WHERE poolarea_no = ?", [region])
        return dict(zip(df["c"], df["pay_std"]))
    if topic.kind == "subcategory" and pay_method == "DIP" and wh.has("dip_catalog"):
        df = wh.df("SELECT upper(dip_code) AS c, pay_std FROM dip_catalog WHERE poolarea_no = ?", [region])
        return dict(zip(df["c"], df["pay_std"]))
    return {}


def open_study(ctx, topic: str, compare_periods=None, lead_hospital: str = "", authors: str = "",
               min_cases: int = MIN_CASES, suppress: int = SUPPRESS, share_pp: float = SHARE_PP,
               cost_pct: float = COST_PCT, volume_pct: float = VOLUME_PCT, top_n: int = TOP_N,
               use_findings: bool = True) -> Study:
    """The study of ``topic`` for the context's region, its period and the comparison periods.

    ``ctx`` is a :class:`yibao.publications.context.Context`. The lead hospital defaults to the one the year's
    plan names for this topic. The findings engine's upcoding rows are used when it runs."""
    t = resolve(topic, ctx.pay_method)
    periods = comparison_periods(ctx.period, compare_periods)
    findings, err = None, None
    if use_findings:
        try:
            findings = ctx.findings
        except Exception as exc:  # noqa: BLE001 - the study stands without the signal; the report says why
            err = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    lead = lead_hospital or plan_lead(ctx.region, ctx.period, t.code) or ""
    return Study(ctx.wh, ctx.region, ctx.name, ctx.pay_method, t, periods, lead, authors, int(min_cases),
                 int(suppress), float(share_pp), float(cost_pct), float(volume_pct), int(top_n), findings, err,
                 ctx.hospitals)


# ---- verification (核实) ----------------------------------------------------------------------------

def verification(st: Study) -> pd.DataFrame:
    """Hospitals whose data fluctuate abnormally, with what to explain.

    Columns: fixmedins_code, fixmedins_name, lv_group, cases, base_cases, volume_change (%),
    avg_cost, base_avg_cost, cost_change (%), high_share, base_high_share, share_change (pp 同比),
    span_share_change (pp since the first period), signal (findings rule ids), reasons (list of str),
    explain (str). Criteria: see the module docstring."""
    cols = ["fixmedins_code", "fixmedins_name", "lv_group", "cases", "base_cases", "volume_change", "avg_cost",
            "base_avg_cost", "cost_change", "high_share", "base_high_share", "share_change", "first_high_share",
            "span_share_change", "signal", "reasons", "explain"]
    if st.empty or st.base is None:
        return pd.DataFrame(columns=cols)
    h = st.hosp.copy()
    hs = st.hstruct.set_index(["fixmedins_code", "period"])["high_share"]
    hc = st.hstruct.set_index(["fixmedins_code", "period"])["cases"]

    def share(code, p):
        n = hc.get((code, p.code), 0)
        return hs.get((code, p.code)) if n >= st.min_cases else np.nan

    rows = []
    sig = st.signal
    use_share = bool(st.high) and len(st.struct["child"].unique()) > 1
    unit = st.topic.child_unit(st.pay_method)
    for r in h.itertuples():
        reasons, explain = [], []
        vol = fmt.growth_pct(r.cases, r.base_cases) if r.base_cases >= st.min_cases else None
        cost = fmt.growth_pct(r.avg_cost, r.base_avg_cost) if (
            r.cases >= st.min_cases and r.base_cases >= st.min_cases) else None
        s1, s0, sf = share(r.fixmedins_code, st.period), share(r.fixmedins_code, st.base), \
            share(r.fixmedins_code, st.first)
        dsh = s1 - s0 if not (np.isnan(s1) or np.isnan(s0)) else np.nan
        dspan = s1 - sf if len(st.periods) > 2 and not (np.isnan(s1) or np.isnan(sf)) else np.nan
        basis = st.basis(st.period, st.base)
        if use_share and not np.isnan(dsh) and dsh > st.share_pp:
            reasons.append(f"高费用{unit}病例占比{basis}提高{fmt.num(dsh, 1)}个百分点")
        elif use_share and not np.isnan(dspan) and dspan > st.share_pp:
            reasons.append(f"高费用{unit}病例占比较{st.first.label}提高{fmt.num(dspan, 1)}个百分点")
        if reasons:
            explain.append(f"高费用{unit}病例占比上升的原因，诊断、手术操作编码与病历是否一致，是否存在"
                           + ("高套病组" if st.topic.kind == "adrg" else "高靠诊断"))
        if cost is not None and abs(cost) > st.cost_pct:
            reasons.append(f"次均费用{basis}{'增长' if cost > 0 else '下降'}{fmt.num(abs(cost), 1)}%")
            explain.append("次均费用大幅变化的原因（收治病例结构、诊疗路径、药品耗材使用）")
        hidden = any(0 < n < st.suppress for n in (r.cases, r.base_cases))
        if vol is not None and abs(vol) > st.volume_pct:
            # a growth rate on a count shown as "<5" would give the count back: say it without the rate
            reasons.append(f"病例数{basis}{'增长' if vol > 0 else '下降'}" + ("明显" if hidden else f"{fmt.num(abs(vol), 1)}%"))
            explain.append("病例数大幅增长的原因（床位、学科、收治范围变化），是否存在分解住院、低标入院"
                           if vol > 0 else "病例数大幅下降的原因，是否存在推诿患者或将病例编入其他病组")
        rules = sorted(set(sig.loc[sig["fixmedins_code"] == r.fixmedins_code, "rule_id"])) if len(sig) else []
        if rules:
            reasons.append("问题线索清单提示疑似" + ("高套病组" if "UPCODING_DRG" in rules else "高靠诊断"))
            if not any(e.startswith("高费用") for e in explain):
                explain.insert(0, "病种结构变化的原因，是否存在" + ("高套病组" if "UPCODING_DRG" in rules else "高靠诊断"))
        if not reasons:
            continue
        rows.append({"fixmedins_code": r.fixmedins_code, "fixmedins_name": r.fixmedins_name, "lv_group": r.lv_group,
                     "cases": r.cases, "base_cases": r.base_cases, "volume_change": vol, "avg_cost": r.avg_cost,
                     "base_avg_cost": r.base_avg_cost, "cost_change": cost, "high_share": s1,
                     "base_high_share": s0, "share_change": dsh, "first_high_share": sf,
                     "span_share_change": dspan, "signal": ",".join(rules), "reasons": reasons,
                     "explain": "；".join(dict.fromkeys(explain))})
    df = pd.DataFrame(rows, columns=cols)
    if len(df):
        df["_k"] = df["share_change"].fillna(df["span_share_change"]).fillna(-1e9)
        df = df.sort_values(["_k", "fixmedins_code"], ascending=[False, True]).drop(columns="_k")
    return df.reset_index(drop=True)
