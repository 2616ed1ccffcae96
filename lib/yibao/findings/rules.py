"""The shared part of the findings rules (问题警示清单, 错): thresholds ``T``, the :class:`Ctx` context, the
scratch tables, :func:`finding` and the peer comparison. The rule functions, one per ``rule_id``, live in
the family modules ``rules_peers``, ``rules_coding``, ``rules_admissions`` and ``rules_quality``.

Each rule takes a :class:`Ctx` (warehouse, region, period, the region's hospitals and two scratch
tables built once per run) and returns finding dicts. All heavy work is DuckDB SQL; pandas only sees
one row per hospital (or per hospital × subject). Person-level rules aggregate in SQL and fetch counts
and dates only — never a ``psn_no``.

Scratch tables (built by :func:`build_scratch`, dropped after the run):

``hm``  the region's settlements (netted) aggregated per institution × month × cls × is_local:
        ``n`` settlements, ``medfee`` Σ medfee_sumamt, ``fulamt`` Σ fulamt_ownpay_amt; months from two
        years before the period to its end.
``ip``  the region's inpatient settlements (netted) in the same months, one row each, with the
        settlement list fields (LEFT JOIN: ``listed`` false when no list was uploaded), the group code
        of the region's payment method as ``grp`` and the 3-character diagnosis category ``diag3``.

Methods and thresholds are documented per rule in docs/findings.md (the same numbers as ``T`` here).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from yibao import fmt
from yibao.findings.stats import (
    LOW_LEVELS,
    Grade,
    group_stat,
    members,
    peer_label,
    robust_compare,
)
from yibao.findings import yardstick
from yibao.findings.yardstick import References, Spec
from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse, lit

# ---- thresholds (documented in docs/findings.md; change both together) ----------------------------
T = {
    "OPIP_RATIO_LOW": dict(min_ip=30, min_op=1, floor_log=0.15, min_peers=5, yardsticks=("reference", "region", "history"),
                           grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.4, rel_med=0.4, rel_high=0.6)),
    "OUT_OF_CATALOG_HIGH": dict(min_setl=200, floor_abs=1.5, floor_rel=0.15, min_peers=5, min_special_peers=3,
                                yardsticks=("reference", "region", "history"),
                                grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.5, rel_med=0.5,
                                            rel_high=1.0)),
    "CASE_GROWTH_HIGH": dict(min_base=30, min_cur=30, floor_abs=10.0, min_excess=20, min_peers=5,
                             new_campus_months=24, yardsticks=("reference", "region"),
                             grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.3, rel_med=0.3, rel_high=0.5)),
    "BASE_GROUP_TERTIARY": dict(min_grouped=100, min_base_cases=20, floor_abs=3.0, floor_rel=0.10, min_peers=3,
                                yardsticks=("reference", "region", "history"),
                                min_ratio=1.25,  # graded on the difference in percentage points / 100:
                                grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.10, rel_med=0.10,
                                            rel_high=0.20)),
    "COST_DEVIATION": dict(top_groups=10, min_cases=10, min_peer_cases=5, floor_log=0.08, min_peers=4,
                           yardsticks=("reference", "region"),  # reference: the group's 支付标准
                           grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.3, rel_med=0.3, rel_high=0.5)),
    "UPCODING_DRG": dict(min_cur=20, min_base=20, min_shift=10.0, min_excess_shift=10.0, min_z=3.0,
                         min_hi_growth=20.0, max_lo_growth=-10.0, high_shift=20.0, high_z=4.5),
    "UPCODING_ICD": dict(min_cur=20, min_base=20, min_unspec_base=20.0, min_shift=10.0, min_excess_shift=10.0,
                         min_z=3.0, high_shift=20.0, high_z=4.5),
    "READMIT_15D": dict(days=15, min_adm=30, min_events=5, floor_abs=1.0, floor_rel=0.25, min_peers=5,
                        yardsticks=("reference", "region", "history"),
                        grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=1.0, rel_med=1.0, rel_high=2.0)),
    "SPLIT_ADMISSION": dict(days=3, min_adm=30, min_events=5, floor_abs=0.5, floor_rel=0.25, min_peers=5,
                            yardsticks=("reference", "region", "history"),
                            grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=1.0, rel_med=1.0, rel_high=2.0)),
    "LOW_STANDARD_ADMISSION": dict(weight_quantile=0.25, max_days=2, min_grouped=30, min_events=10,
                                   floor_abs=2.0, floor_rel=0.2, min_peers=5, yardsticks=("reference", "region", "history"),
                                   grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.5, rel_med=0.5,
                                               rel_high=1.0)),
    "GROUP_ADMISSION": dict(min_persons=3, min_occasions=3, span_days=2, max_admissions=8, months=12,
                            high_groups=2, high_occasions=5),
    "IMPOSSIBLE_TRAVEL": dict(minutes=30, min_events=3, med_events=5, high_events=10, min_ratio=5.0,
                              max_p=1e-4),
    "QC_PASS_LOW": dict(min_uploaded=30, floor_abs=2.0, floor_rel=0.0, max_binom_p=0.001, min_peers=3,
                        yardsticks=("reference", "history"),
                        grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.08, rel_med=0.1, rel_high=0.2)),
    "UPLOAD_LOW": dict(min_ip=30, floor_abs=2.0, floor_rel=0.0, max_binom_p=0.001, min_peers=3,
                       yardsticks=("reference", "history"),
                       grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.08, rel_med=0.1, rel_high=0.2)),
}
COMMEND = dict(min_grouped=100, max_index=1.0, top=10)


# ---- context -----------------------------------------------------------------------------------------
@dataclass
class Ctx:
    wh: Warehouse
    region: str
    region_name: str
    pay_method: str
    period: Period
    hosp: pd.DataFrame  # the region's hospitals (fixmedins_type 1), indexed by fixmedins_code
    hm: str = ""
    ip: str = ""
    window: list[str] = field(default_factory=list)
    has_list: bool = False
    catalog: pd.DataFrame | None = None  # code, name, weight, base_group, parent (ADRG / ICD category), pay_std
    references: References = field(default_factory=References)  # provincial references (few-peer yardstick)
    benchmarks: list = field(default_factory=list)  # the comparison groups' statistics (record_benchmarks)

    # periods
    @property
    def cur(self) -> list[str]:
        return self.period.months

    @property
    def prev(self) -> Period:
        return self.period.previous()

    @property
    def yago(self) -> Period:
        return self.period.year_ago()

    @property
    def y2ago(self) -> Period:
        return Period(self.period.year - 2, self.period.first, self.period.length)

    def months_in(self, months: list[str]) -> bool:
        return all(m in self.window for m in months)

    def name(self, code: str) -> str:
        try:
            return str(self.hosp.at[code, "fixmedins_name"])
        except KeyError:
            return str(code)

    def level(self, code: str) -> str:
        try:
            return str(self.hosp.at[code, "lv_group"])
        except KeyError:
            return ""

    def df(self, sql: str) -> pd.DataFrame:
        return self.wh.df(sql)


def mlist(months: list[str]) -> str:
    return "(" + ", ".join(lit(m) for m in months) + ")"


def finding(ctx: Ctx, rule_id: str, code: str, subject: str, metric: str, value, benchmark, severity: str,
            message: str, impact=None, impact_basis: str | None = None, **extra) -> dict:
    """One finding. ``impact``: the estimated amount in 元 (None or ≤ 0: no amount); ``impact_basis``: what
    the amount is (:data:`IMPACT`), or — without an amount — why the finding has none ("不估算：…")."""
    amount = _num(impact, 0)
    if amount is not None and amount <= 0:
        amount = None
    basis = impact_basis if impact_basis is not None else IMPACT.get(rule_id, "")
    if amount is None and not basis.startswith("不估算"):
        basis = NO_AMOUNT.get(rule_id, "不估算：本条线索的数据不足以估算金额")
    row = dict(rule_id=rule_id, fixmedins_code=code, fixmedins_name=ctx.name(code), subject=subject or "",
               metric=metric, value=_num(value), benchmark=_num(benchmark), severity=severity, message=message,
               impact=amount, impact_basis=basis, level=ctx.level(code))
    row.update(extra)
    return row


#: what each rule's estimated amount is (findings.csv ``impact_basis``; docs/findings.md gives the methods)
IMPACT = {
    "OPIP_RATIO_LOW": "医保基金：超出同级门诊住院比的住院人次×该院次均住院统筹基金支付",
    "OUT_OF_CATALOG_HIGH": "患者负担（非医保基金）：（医保外费用占比−参照值）×医疗费用",
    "CASE_GROWTH_HIGH": "医保基金：超出参照增速的出院人次×该院次均住院统筹基金支付",
    "BASE_GROUP_TERTIARY": "医保基金：超出参照占比的基层病组病例×同病组该院比非三级医院例均多支付的统筹基金",
    "COST_DEVIATION": "医保基金：（次均费用−参照值）×病例数×该院该病组统筹基金支付比例",
    "UPCODING_DRG": "医保基金：多进入较高权重细分组的病例×细分组支付标准差额",
    "UPCODING_ICD": "医保基金：多编入特指亚目的病例×特指与未特指亚目例均统筹基金支付之差",
    "READMIT_15D": "医保基金：超出参照再入院率的再入院人次×该院再入院例均统筹基金支付",
    "SPLIT_ADMISSION": "医保基金：超出参照比例的分解住院（第二次住院）人次×其例均统筹基金支付",
    "LOW_STANDARD_ADMISSION": "医保基金：超出参照占比的低标准入院病例×此类病例例均统筹基金支付",
    "GROUP_ADMISSION": "医保基金：组团成员集体入院的住院统筹基金支付合计（近12个月）",
    "IMPOSSIBLE_TRAVEL": "医保基金：超出期望值的冲突结算笔数×冲突结算笔均统筹基金支付",
    "QC_PASS_LOW": "不估算：清单质控未通过是数据质量问题，清单修正后仍按规定结算，不直接形成基金多支付",
    "UPLOAD_LOW": "不估算：未上传清单影响入组和按病组结算的进度，补传后按规定结算，不直接形成基金多支付",
}
#: why a finding of a money rule has no amount (the data do not give one)
NO_AMOUNT = {
    "COST_DEVIATION": "不估算：次均费用低于参照值，不形成多支付（提示治疗不足或高套低编）",
    "UPCODING_DRG": "不估算：病组目录缺少细分组支付标准，或较高权重细分组支付标准不高于较低者",
    "UPCODING_ICD": "不估算：增长亚目的例均统筹基金支付不高于未特指亚目",
    "BASE_GROUP_TERTIARY": "不估算：该院基层病组病例的统筹基金支付不高于非三级医院同病组",
}


def _num(x, digits: int = 2):
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(v):
        return None
    v = round(v, digits)
    return 0.0 if v == 0 else v


def _hosp_frame(ctx: Ctx, df: pd.DataFrame) -> pd.DataFrame:
    """Keep the region's hospitals only and add their level group."""
    df = df[df["fixmedins_code"].isin(ctx.hosp.index)].copy()
    df["lv_group"] = df["fixmedins_code"].map(ctx.hosp["lv_group"])
    return df.sort_values("fixmedins_code").reset_index(drop=True)


def _f(x, d=1) -> str:
    return fmt.ratio(x, d)


# ---- scratch tables ------------------------------------------------------------------------------------
def build_scratch(ctx: Ctx) -> None:
    wh, p = ctx.wh, ctx.period
    ctx.window = p.trailing_months(p.length + 25)
    start = Period.parse(ctx.window[0]).start.isoformat()
    end = p.end.isoformat()
    tok = uuid.uuid4().hex[:10]
    ctx.hm, ctx.ip = f"_fx_hm_{tok}", f"_fx_ip_{tok}"
    where = (f"s.poolarea_no = {lit(ctx.region)} AND s.setl_time >= TIMESTAMP {lit(start)} "
             f"AND s.setl_time < TIMESTAMP {lit(end)}")
    wh.sql(f"""CREATE TEMP TABLE {ctx.hm} AS
        SELECT s.fixmedins_code, s.month, s.cls, coalesce(s.is_local, false) AS is_local, count(*) AS n,
               count(s.psn_no) AS n_psn, sum(s.medfee_sumamt) AS medfee, sum(s.fulamt_ownpay_amt) AS fulamt,
               sum(coalesce(s.hifp_pay, 0)) AS fund
        FROM setl_net s WHERE {where} GROUP BY ALL""")
    grp = "NULL"
    ctx.has_list = wh.has("setl_list")
    if ctx.has_list:
        grp = "l.drg_code" if ctx.pay_method == "DRG" else "l.dip_code"
        wh.sql(f"""CREATE TEMP TABLE {ctx.ip} AS
            SELECT s.setl_id, s.psn_no, s.fixmedins_code, coalesce(s.is_local, false) AS is_local, s.month,
                   s.setl_time, s.begndate, s.enddate, s.medfee_sumamt, coalesce(s.hifp_pay, 0) AS fund,
                   l.setl_id IS NOT NULL AS listed, l.qc_stas, upper(trim(l.main_diag_code)) AS diag,
                   upper(substr(trim(l.main_diag_code), 1, 3)) AS diag3, {grp} AS grp, l.grp_stas,
                   l.weight, coalesce(l.ipt_days, date_diff('day', s.begndate, s.enddate)) AS ipt_days
            FROM setl_net s LEFT JOIN setl_list l ON l.setl_id = s.setl_id
            WHERE s.is_ip AND {where}""")
    else:
        wh.sql(f"""CREATE TEMP TABLE {ctx.ip} AS
            SELECT s.setl_id, s.psn_no, s.fixmedins_code, coalesce(s.is_local, false) AS is_local, s.month,
                   s.setl_time, s.begndate, s.enddate, s.medfee_sumamt, coalesce(s.hifp_pay, 0) AS fund,
                   false AS listed,
                   NULL::VARCHAR AS qc_stas, NULL::VARCHAR AS diag, NULL::VARCHAR AS diag3, NULL::VARCHAR AS grp,
                   NULL::VARCHAR AS grp_stas, NULL::DOUBLE AS weight,
                   date_diff('day', s.begndate, s.enddate) AS ipt_days
            FROM setl_net s WHERE s.is_ip AND {where}""")
    # the region's grouping catalogue
    cat = None
    if ctx.pay_method == "DRG" and wh.has("drg_catalog"):
        cat = wh.df(f"""SELECT drg_code AS code, any_value(drg_name) AS name, any_value(weight) AS weight,
                               any_value(base_group) AS base_group, any_value(adrg_code) AS parent,
                               any_value(pay_std) AS pay_std
                        FROM drg_catalog WHERE poolarea_no = {lit(ctx.region)} GROUP BY 1""")
    elif ctx.pay_method == "DIP" and wh.has("dip_catalog"):
        cat = wh.df(f"""SELECT dip_code AS code, any_value(dip_name) AS name, any_value(score) AS weight,
                               any_value(base_group) AS base_group, any_value(icd_category) AS parent,
                               any_value(pay_std) AS pay_std
                        FROM dip_catalog WHERE poolarea_no = {lit(ctx.region)} GROUP BY 1""")
    ctx.catalog = cat


def drop_scratch(ctx: Ctx) -> None:
    for t in (ctx.hm, ctx.ip):
        if t:
            try:
                ctx.wh.sql(f"DROP TABLE IF EXISTS {t}")
            except Exception:  # noqa: BLE001 - cleanup must not hide the real error
                pass


def _catalog_table(ctx: Ctx) -> str | None:
    """Register the catalogue as a temp view for joins; returns its name or None."""
    if ctx.catalog is None or ctx.catalog.empty:
        return None
    name = ctx.ip + "_cat"
    ctx.wh.con.register(name, ctx.catalog)
    return name


# ---- peer comparison (shared by the rule families) ------------------------------------------------------
def _txt(x) -> str:
    """A text field as a clean string ('' for NULL / NaN)."""
    if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA:
        return ""
    return str(x).strip()


def _is_specialty(h: pd.Series) -> bool:
    return bool(_txt(h.get("specialty"))) or _txt(h.get("medins_type")) == "专科医院"


def _specialty_kind(h: pd.Series) -> str:
    s = _txt(h.get("specialty"))
    own = "民营" if _txt(h.get("ownership")) == "民营" else ""
    return f"{own}{s}专科医院" if s else f"{own}专科医院"


def peer_compare(ctx: Ctx, df: pd.DataFrame, col: str, *, direction: str, scale: str = "linear",
                 floor_abs: float = 0.0, floor_rel: float = 0.0, min_peers: int = 5, se_col: str | None = None,
                 min_special_peers: int = 3, spec: Spec | None = None) -> pd.DataFrame:
    """:func:`robust_compare` with the handbook's 复核 caveat on specialty hospitals (六(三)): specialty
    hospitals (口腔, 妇产 … — ``specialty`` set or ``medins_type`` 专科医院) have atypical case mixes and
    self-pay, so they are left out of the general peer groups. With ≥ 3 qualifying hospitals of the same
    kind they are compared among themselves (``peer_label`` 同类…专科医院); otherwise they are scored against
    the general group of their level and marked ``special_note`` (the finding is then only a low-level
    note). Columns as robust_compare plus ``peer_text`` and ``special_note``.

    ``spec`` (:class:`yibao.findings.yardstick.Spec`): the rule's yardstick for general hospitals whose level
    group has fewer than ``min_peers`` qualifying hospitals (adds ``few_note`` and ``yardstick``; without a
    spec such hospitals are not judged)."""
    if df.empty:
        out = robust_compare(df, col, direction=direction)
        for c in ("peer_text", "special_note", "few_note", "yardstick"):
            out[c] = pd.Series(dtype=object)
        return out
    df = df.copy()
    special = df["fixmedins_code"].map(lambda c: _is_specialty(ctx.hosp.loc[c])).astype(bool)
    df["kind"] = df["fixmedins_code"].map(lambda c: _specialty_kind(ctx.hosp.loc[c]))
    kw = dict(direction=direction, scale=scale, floor_abs=floor_abs, floor_rel=floor_rel, se_col=se_col)
    gen = robust_compare(df[~special], col, min_peers=min_peers, **kw)
    gen["peer_text"] = gen["peer_group"].map(peer_label)
    gen["special_note"] = ""
    if spec is not None:
        record_benchmarks(ctx, spec.rule_id, gen, col, "lv_group", False, "中位数")
        gen = yardstick.apply(ctx, gen, spec, direction, min_peers)
    elif len(gen):
        gen.loc[gen["few"].astype(bool), ["z", "rel", "diff"]] = 0.0
    parts = [gen]
    sp = df[special]
    if not sp.empty:
        counts = sp["kind"].value_counts()
        own = sp[sp["kind"].map(counts) >= min_special_peers]
        if not own.empty:
            own = robust_compare(own, col, group_col="kind", **kw)
            own["peer_text"] = "同类" + own["kind"]
            own["special_note"] = ""
            if spec is not None:
                record_benchmarks(ctx, spec.rule_id, own, col, "lv_group", True, "中位数")
            parts.append(own)
        rest = sp[sp["kind"].map(counts) < min_special_peers].copy()
        if not rest.empty and not gen.empty:
            sign = 1.0 if direction == "high" else -1.0
            rows = []
            for i, r in rest.iterrows():
                lv = r["lv_group"]
                groups = set(gen["peer_group"])
                g = lv if lv in groups else ("一级及以下" if lv in LOW_LEVELS and "一级及以下" in groups else "全统筹区")
                mem = gen if g == "全统筹区" else (gen[gen["lv_group"].isin(LOW_LEVELS)] if g == "一级及以下"
                                                   else gen[gen["lv_group"] == lv])
                xs = mem[col].astype(float).to_numpy()
                xs = np.log(np.maximum(xs, 1e-9)) if scale == "log" else xs
                m, tau = group_stat(xs, scale=scale, floor_abs=floor_abs, floor_rel=floor_rel,
                                    se=mem[se_col].to_numpy(float) if se_col else None)
                v = float(r[col])
                x = np.log(max(v, 1e-9)) if scale == "log" else v
                spread = float(np.sqrt(tau ** 2 + float(r[se_col]) ** 2)) if se_col else tau
                med = float(np.exp(m)) if scale == "log" else m
                rr = r.to_dict()
                rr.update(peer_group=g, peer_n=len(mem), median=med, mad_eff=spread,
                          z=sign * (x - m) / spread if spread > 0 and len(mem) >= 3 else 0.0,
                          rel=((v / med - 1) if direction == "high" else (1 - v / med)) if med > 0 else 0.0,
                          diff=sign * (v - med), peer_text=peer_label(g),
                          special_note=(f"（该院为{r['kind']}，此类机构病种结构和自付比例与综合医院不同，本统筹区同类机构"
                                        f"不足{min_special_peers}家，仅作提示）"))
                rows.append(rr)
            parts.append(pd.DataFrame(rows, index=rest.index))
    out = pd.concat([p for p in parts if not p.empty]) if any(not p.empty for p in parts) else gen
    for c in ("few_note", "yardstick"):
        out[c] = out[c].fillna("") if c in out else ""
    return out.sort_values("fixmedins_code").reset_index(drop=True)


def _capped(sev: str | None, note: str) -> str | None:
    """Specialty notes and other annotations make a finding a low-level note."""
    return ("low" if sev else None) if note else sev


def history(ctx: Ctx, counts, k: str, n, d_min: tuple | None = None) -> pd.DataFrame | None:
    """The same counts a year earlier (fixmedins_code, k, n) for the few-peer yardstick (``counts(ctx, months)``
    gives them), when the scratch tables reach that far; rows below the rule's minimum volume ``d_min`` =
    (column, minimum) are left out (a small history is no yardstick)."""
    if not ctx.months_in(ctx.yago.months):
        return None
    h = counts(ctx, ctx.yago.months)
    if d_min is not None:
        h = h[h[d_min[0]] >= d_min[1]]
    nn = n(h) if callable(n) else h[n]
    return pd.DataFrame({"fixmedins_code": h["fixmedins_code"], "k": h[k], "n": nn})


def impact_txt(impact, lead: str, what: str = "统筹基金支付") -> str:
    """'；按参照比值估算多出住院约12人次，对应统筹基金支付约35.20万元' — empty without an amount."""
    if impact is None or not np.isfinite(impact) or impact <= 0:
        return ""
    return f"；{lead}，对应{what}约{fmt.money(impact)}"


BENCHMARK_COLUMNS = ["rule_id", "basis", "peer_group", "levels", "n", "stat", "value", "min", "max"]


def record_benchmarks(ctx: Ctx, rule_id: str, df: pd.DataFrame, col: str, level_col: str, forced: bool,
                      stat: str, basis: str = "", value_col: str = "median") -> None:
    """Remember each comparison group a rule used: its label (the words the messages use), the levels it
    covers, the hospitals compared, the benchmark (``value_col`` of the group: the median, or a 混合增长率) and
    the range of ``col``. The publications print peer medians from this record only, so a hospital's median
    is the same on every page (benchmarks.csv beside findings.csv)."""
    if df.empty or getattr(ctx, "benchmarks", None) is None:
        return
    few = df["few"].astype(bool) if "few" in df else pd.Series(False, index=df.index)
    for g in sorted(df.loc[~few, "peer_group"].unique(), key=str):
        mem = members(df, g, level_col, forced)
        vals = mem[col].astype(float)
        first = df[df["peer_group"] == g].iloc[0]
        ctx.benchmarks.append(dict(
            rule_id=rule_id, basis=basis, peer_group=str(first.get("peer_text") or peer_label(g)),
            levels="、".join(x for x in _LEVELS if x in set(mem[level_col])) if level_col in mem else "",
            n=int(len(mem)), stat=stat, value=float(first[value_col]), min=float(vals.min()), max=float(vals.max())))


_LEVELS = ("三级", "二级", "一级", "基层/无等级")
