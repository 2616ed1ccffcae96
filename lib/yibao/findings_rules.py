"""The rules of the findings engine (问题警示清单, 错): one function per ``rule_id``.

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
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from . import fmt
from .findings_stats import (LOW_LEVELS, Grade, group_stat, members, peer_label, poisson_sf, robust_compare,
                             two_proportion_z)
from .periods import Period
from .reference import adrg as ref_adrg, icd_names
from .warehouse import Warehouse, lit

# ---- thresholds (documented in docs/findings.md; change both together) ----------------------------
T = {
    "OPIP_RATIO_LOW": dict(min_ip=30, min_op=1, floor_log=0.15, min_peers=5,
                           grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.4, rel_med=0.4, rel_high=0.6)),
    "OUT_OF_CATALOG_HIGH": dict(min_setl=200, floor_abs=1.5, floor_rel=0.15, min_peers=5, min_special_peers=3,
                                grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.5, rel_med=0.5,
                                            rel_high=1.0)),
    "CASE_GROWTH_HIGH": dict(min_base=30, min_cur=30, floor_abs=10.0, min_excess=20, min_peers=5,
                             new_campus_months=24,
                             grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.3, rel_med=0.3, rel_high=0.5)),
    "BASE_GROUP_TERTIARY": dict(min_grouped=100, min_base_cases=20, floor_abs=3.0, floor_rel=0.10, min_peers=3,
                                min_ratio=1.25,  # graded on the difference in percentage points / 100:
                                grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.10, rel_med=0.10,
                                            rel_high=0.20)),
    "COST_DEVIATION": dict(top_groups=10, min_cases=10, min_peer_cases=5, floor_log=0.08, min_peers=4,
                           grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.3, rel_med=0.3, rel_high=0.5)),
    "UPCODING_DRG": dict(min_cur=20, min_base=20, min_shift=10.0, min_excess_shift=10.0, min_z=3.0,
                         min_hi_growth=20.0, max_lo_growth=-10.0, high_shift=20.0, high_z=4.5),
    "UPCODING_ICD": dict(min_cur=20, min_base=20, min_unspec_base=20.0, min_shift=10.0, min_excess_shift=10.0,
                         min_z=3.0, high_shift=20.0, high_z=4.5),
    "READMIT_15D": dict(days=15, min_adm=30, min_events=5, floor_abs=1.0, floor_rel=0.25, min_peers=5,
                        grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=1.0, rel_med=1.0, rel_high=2.0)),
    "SPLIT_ADMISSION": dict(days=3, min_adm=30, min_events=5, floor_abs=0.5, floor_rel=0.25, min_peers=5,
                            grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=1.0, rel_med=1.0, rel_high=2.0)),
    "LOW_STANDARD_ADMISSION": dict(weight_quantile=0.25, max_days=2, min_grouped=30, min_events=10,
                                   floor_abs=2.0, floor_rel=0.2, min_peers=5,
                                   grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.5, rel_med=0.5,
                                               rel_high=1.0)),
    "GROUP_ADMISSION": dict(min_persons=3, min_occasions=3, span_days=2, max_admissions=8, months=12,
                            high_groups=2, high_occasions=5),
    "IMPOSSIBLE_TRAVEL": dict(minutes=30, min_events=3, med_events=5, high_events=10, min_ratio=5.0,
                              max_p=1e-4),
    "QC_PASS_LOW": dict(min_uploaded=30, floor_abs=2.0, floor_rel=0.0,
                        grade=Grade(z_low=3.0, z_med=3.5, z_high=5.0, rel_low=0.08, rel_med=0.1, rel_high=0.2)),
    "UPLOAD_LOW": dict(min_ip=30, floor_abs=2.0, floor_rel=0.0,
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
    catalog: pd.DataFrame | None = None  # code, name, weight, base_group, parent (ADRG / ICD category)

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
            message: str, **extra) -> dict:
    row = dict(rule_id=rule_id, fixmedins_code=code, fixmedins_name=ctx.name(code), subject=subject or "",
               metric=metric, value=_num(value), benchmark=_num(benchmark), severity=severity, message=message,
               level=ctx.level(code))
    row.update(extra)
    return row


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
               count(s.psn_no) AS n_psn, sum(s.medfee_sumamt) AS medfee, sum(s.fulamt_ownpay_amt) AS fulamt
        FROM setl_net s WHERE {where} GROUP BY ALL""")
    grp = "NULL"
    ctx.has_list = wh.has("setl_list")
    if ctx.has_list:
        grp = "l.drg_code" if ctx.pay_method == "DRG" else "l.dip_code"
        wh.sql(f"""CREATE TEMP TABLE {ctx.ip} AS
            SELECT s.setl_id, s.psn_no, s.fixmedins_code, coalesce(s.is_local, false) AS is_local, s.month,
                   s.setl_time, s.begndate, s.enddate, s.medfee_sumamt,
                   l.setl_id IS NOT NULL AS listed, l.qc_stas, upper(trim(l.main_diag_code)) AS diag,
                   upper(substr(trim(l.main_diag_code), 1, 3)) AS diag3, {grp} AS grp, l.grp_stas,
                   l.weight, coalesce(l.ipt_days, date_diff('day', s.begndate, s.enddate)) AS ipt_days
            FROM setl_net s LEFT JOIN setl_list l ON l.setl_id = s.setl_id
            WHERE s.is_ip AND {where}""")
    else:
        wh.sql(f"""CREATE TEMP TABLE {ctx.ip} AS
            SELECT s.setl_id, s.psn_no, s.fixmedins_code, coalesce(s.is_local, false) AS is_local, s.month,
                   s.setl_time, s.begndate, s.enddate, s.medfee_sumamt, false AS listed,
                   NULL::VARCHAR AS qc_stas, NULL::VARCHAR AS diag, NULL::VARCHAR AS diag3, NULL::VARCHAR AS grp,
                   NULL::VARCHAR AS grp_stas, NULL::DOUBLE AS weight,
                   date_diff('day', s.begndate, s.enddate) AS ipt_days
            FROM setl_net s WHERE s.is_ip AND {where}""")
    # the region's grouping catalogue
    cat = None
    if ctx.pay_method == "DRG" and wh.has("drg_catalog"):
        cat = wh.df(f"""SELECT drg_code AS code, any_value(drg_name) AS name, any_value(weight) AS weight,
                               any_value(base_group) AS base_group, any_value(adrg_code) AS parent
                        FROM drg_catalog WHERE poolarea_no = {lit(ctx.region)} GROUP BY 1""")
    elif ctx.pay_method == "DIP" and wh.has("dip_catalog"):
        cat = wh.df(f"""SELECT dip_code AS code, any_value(dip_name) AS name, any_value(score) AS weight,
                               any_value(base_group) AS base_group, any_value(icd_category) AS parent
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


# =========================================================================================================
# Rules
# =========================================================================================================

def opip_ratio_low(ctx: Ctx) -> list[dict]:
    """门诊住院人次比 (indicator 40: local patients' outpatient settlements / inpatient settlements) far
    below same-level peers (handbook 附录3 3(1), 六(三) 6)."""
    t = T["OPIP_RATIO_LOW"]
    df = ctx.df(f"""SELECT fixmedins_code,
                           sum(CASE WHEN cls = '门诊类' THEN n ELSE 0 END) AS op,
                           sum(CASE WHEN cls = '住院类' THEN n ELSE 0 END) AS ip
                    FROM {ctx.hm} WHERE is_local AND month IN {mlist(ctx.cur)} GROUP BY 1""")
    df = _hosp_frame(ctx, df)
    df = df[(df["ip"] >= t["min_ip"]) & (df["op"] >= t["min_op"])].copy()
    df["ratio"] = df["op"] / df["ip"]
    df = peer_compare(ctx, df, "ratio", direction="low", scale="log", floor_abs=t["floor_log"],
                      min_peers=t["min_peers"])
    out = []
    for r in df.itertuples():
        sev = _capped(t["grade"].severity(r.z, r.rel, r.ip, t["min_ip"]), r.special_note)
        if not sev:
            continue
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}门诊住院人次比为{_f(r.ratio)}"
               f"（门诊{fmt.count(r.op)}人次、出院{fmt.count(r.ip)}人次），{r.peer_text}中位数为"
               f"{_f(r.median)}，明显偏低{r.special_note}，请核查是否存在诱导住院（“拉人头”住院）情况并书面说明。")
        out.append(finding(ctx, "OPIP_RATIO_LOW", r.fixmedins_code, "", "门诊住院人次比", r.ratio, r.median, sev,
                           msg, peer_group=r.peer_text, volume=r.ip, z=r.z,
                           annotation="专科医院" if r.special_note else ""))
    return out


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
                 min_special_peers: int = 3) -> pd.DataFrame:
    """:func:`robust_compare` with the handbook's 复核 caveat on specialty hospitals (六(三)): specialty
    hospitals (口腔, 妇产 … — ``specialty`` set or ``medins_type`` 专科医院) have atypical case mixes and
    self-pay, so they are left out of the general peer groups. With ≥ 3 qualifying hospitals of the same
    kind they are compared among themselves (``peer_label`` 同类…专科医院); otherwise they are scored against
    the general group of their level and marked ``special_note`` (the finding is then only a low-level
    note). Columns as robust_compare plus ``peer_text`` and ``special_note``."""
    if df.empty:
        out = robust_compare(df, col, direction=direction)
        out["peer_text"], out["special_note"] = pd.Series(dtype=object), pd.Series(dtype=object)
        return out
    df = df.copy()
    special = df["fixmedins_code"].map(lambda c: _is_specialty(ctx.hosp.loc[c])).astype(bool)
    df["kind"] = df["fixmedins_code"].map(lambda c: _specialty_kind(ctx.hosp.loc[c]))
    kw = dict(direction=direction, scale=scale, floor_abs=floor_abs, floor_rel=floor_rel, se_col=se_col)
    gen = robust_compare(df[~special], col, min_peers=min_peers, **kw)
    gen["peer_text"] = gen["peer_group"].map(peer_label)
    gen["special_note"] = ""
    parts = [gen]
    sp = df[special]
    if not sp.empty:
        counts = sp["kind"].value_counts()
        own = sp[sp["kind"].map(counts) >= min_special_peers]
        if not own.empty:
            own = robust_compare(own, col, group_col="kind", **kw)
            own["peer_text"] = "同类" + own["kind"]
            own["special_note"] = ""
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
    return out.sort_values("fixmedins_code").reset_index(drop=True)


def _capped(sev: str | None, note: str) -> str | None:
    """Specialty notes and other annotations make a finding a low-level note."""
    return ("low" if sev else None) if note else sev


def out_of_catalog_high(ctx: Ctx) -> list[dict]:
    """医保外费用占比 (indicator 45: Σ fulamt_ownpay_amt / Σ medfee_sumamt of local patients' outpatient and
    inpatient settlements) far above same-level peers; specialty hospitals compared with their own kind
    or annotated (handbook 六(三) 复核, 附录3 3(2))."""
    t = T["OUT_OF_CATALOG_HIGH"]
    df = ctx.df(f"""SELECT fixmedins_code, sum(n) AS n, sum(medfee) AS medfee, sum(fulamt) AS fulamt
                    FROM {ctx.hm} WHERE is_local AND cls IN ('门诊类', '住院类') AND month IN {mlist(ctx.cur)}
                    GROUP BY 1""")
    df = _hosp_frame(ctx, df)
    df = df[(df["n"] >= t["min_setl"]) & (df["medfee"] > 0)].copy()
    df["share"] = df["fulamt"] / df["medfee"] * 100
    df = peer_compare(ctx, df, "share", direction="high", floor_abs=t["floor_abs"], floor_rel=t["floor_rel"],
                      min_peers=t["min_peers"], min_special_peers=t["min_special_peers"])
    out = []
    for r in df.itertuples():
        sev = _capped(t["grade"].severity(r.z, r.rel, r.n, t["min_setl"]), r.special_note)
        if not sev:
            continue
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}医保外费用占比为{fmt.pct(r.share)}，"
               f"{r.peer_text}中位数为{fmt.pct(r.median)}，明显偏高{r.special_note}，请排查是否存在开具目录外药品耗材等"
               f"将应由医保支付的费用转由患者自费的情况并书面说明。")
        out.append(finding(ctx, "OUT_OF_CATALOG_HIGH", r.fixmedins_code, "", "医保外费用占比(%)", r.share, r.median,
                           sev, msg, peer_group=r.peer_text, volume=r.n, z=r.z,
                           annotation="专科医院" if r.special_note else ""))
    return out


def _new_campus(ctx: Ctx, code: str) -> date | None:
    t = T["CASE_GROWTH_HIGH"]
    try:
        d = ctx.hosp.at[code, "begn_date"]
    except KeyError:
        return None
    if d is None or (isinstance(d, float) and np.isnan(d)) or pd.isna(d):
        return None
    d = pd.Timestamp(d).date()
    end = ctx.period.end
    months = (end.year - d.year) * 12 + (end.month - d.month)
    return d if months <= t["new_campus_months"] else None


def case_growth_high(ctx: Ctx) -> list[dict]:
    """出院人次 (local patients' inpatient settlements, indicators 39/41) growing far faster than same-level
    peers, 同比 and 环比, guarded against small bases (handbook 附录3 3(3), 底稿 备注(2))."""
    t = T["CASE_GROWTH_HIGH"]
    bases = [("同比", ctx.yago), ("环比", ctx.prev)]
    parts = [f"sum(CASE WHEN month IN {mlist(ctx.cur)} THEN n ELSE 0 END) AS cur"]
    for i, (_, bp) in enumerate(bases):
        parts.append(f"sum(CASE WHEN month IN {mlist(bp.months)} THEN n ELSE 0 END) AS b{i}")
    df = ctx.df(f"SELECT fixmedins_code, {', '.join(parts)} FROM {ctx.hm} WHERE is_local AND cls = '住院类' "
                f"GROUP BY 1")
    df = _hosp_frame(ctx, df)
    cand: dict[str, list] = {}
    for i, (basis, bp) in enumerate(bases):
        if not ctx.months_in(bp.months):
            continue
        b = f"b{i}"
        el = df[(df[b] >= t["min_base"]) & (df["cur"] >= t["min_cur"])].copy()
        if el.empty:
            continue
        el["growth"] = (el["cur"] / el[b] - 1) * 100
        el = robust_compare(el, "growth", direction="high", floor_abs=t["floor_abs"], min_peers=t["min_peers"])
        # 混合增长率 of the comparison group: Σ current / Σ base − 1 (case-weighted)
        mixed = {}
        for g in el["peer_group"].unique():
            mem = members(el, g, "lv_group", False)
            mixed[g] = (mem["cur"].sum() / mem[b].sum() - 1) * 100
        el["mixed"] = el["peer_group"].map(mixed)
        for r in el.itertuples():
            excess = r.cur - getattr(r, b) * (1 + r.mixed / 100)
            rel = (r.growth - r.mixed) / 100  # excess cases per base case
            if excess < t["min_excess"] or (r.growth < 2 * max(r.mixed, 10.0) and r.growth < r.mixed + 30):
                continue
            sev = t["grade"].severity(r.z, rel, r.cur, t["min_cur"])
            if sev:
                cand.setdefault(r.fixmedins_code, []).append((basis, r, sev, excess, getattr(r, b)))
    out = []
    rank = {"high": 0, "medium": 1, "low": 2}
    for code, items in sorted(cand.items()):
        items.sort(key=lambda x: (rank[x[2]], x[0] != "同比"))
        basis, r, sev, excess, base = items[0]
        if len(items) > 1 and all(rank[i[2]] <= 1 for i in items):
            sev = "high" if r.cur >= t["grade"].high_volume_factor * t["min_cur"] else sev
        other = [i for i in items[1:]]
        extra = "".join(f"，{fmt.change(r.cur, i[4], i[0])}（{peer_label(i[1].peer_group)}混合增长率"
                        f"{fmt.signed_pct(i[1].mixed)}）" for i in other)
        nc = _new_campus(ctx, code)
        note, ann = "", ""
        if nc is not None:
            sev = "low"
            ann = "新院区"
            note = (f"；该机构于{nc.year}年{nc.month}月开始定点（新院区），开业初期病例快速增长属正常现象，"
                    f"已降低提示级别")
        msg = (f"{ctx.period.label}{ctx.name(code)}出院{fmt.count(r.cur)}人次，{fmt.change(r.cur, base, basis)}"
               f"（{peer_label(r.peer_group)}混合增长率{fmt.signed_pct(r.mixed)}）{extra}，"
               f"超出同级平均增速约{fmt.count(excess)}人次{note}，请核查是否存在通过不正当手段诱导参保人住院的情况"
               f"并书面说明。")
        out.append(finding(ctx, "CASE_GROWTH_HIGH", code, "", f"出院人次{basis}增长率(%)", r.growth, r.mixed, sev,
                           msg, peer_group=r.peer_group, volume=r.cur, z=r.z, annotation=ann))
    return out


def base_group_tertiary(ctx: Ctx) -> list[dict]:
    """三级 hospitals treating 基层病组 cases: share of their grouped cases in the catalogue's base groups
    (base_group = 1) far above other 三级 hospitals (handbook 附录3 3(4), 附录2 (三) 1)."""
    t = T["BASE_GROUP_TERTIARY"]
    cat = _catalog_table(ctx)
    if cat is None:
        return []
    df = ctx.df(f"""SELECT i.fixmedins_code, count(*) AS grouped,
                           sum(CASE WHEN c.base_group = '1' THEN 1 ELSE 0 END) AS base
                    FROM {ctx.ip} i LEFT JOIN {cat} c ON c.code = i.grp
                    WHERE i.month IN {mlist(ctx.cur)} AND i.grp_stas = '1' AND i.grp IS NOT NULL GROUP BY 1""")
    df = _hosp_frame(ctx, df)
    df = df[(df["lv_group"] == "三级") & (df["grouped"] >= t["min_grouped"])].copy()
    if df.empty:
        return []
    df["share"] = df["base"] / df["grouped"] * 100
    df["grp3"] = "三级"
    df = robust_compare(df, "share", direction="high", floor_abs=t["floor_abs"], floor_rel=t["floor_rel"],
                        group_col="grp3")
    out = []
    for r in df.itertuples():
        if r.peer_n < t["min_peers"] or r.base < t["min_base_cases"] or r.rel < t["min_ratio"] - 1:
            continue
        sev = t["grade"].severity(r.z, r.diff / 100, r.grouped, t["min_grouped"])
        if not sev:
            continue
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}（三级）收治基层病组病例{fmt.count(r.base)}例，"
               f"占入组病例的{fmt.pct(r.share)}，三级医院中位数为{fmt.pct(r.median)}，明显偏高，不符合三级医院功能"
               f"定位和分级诊疗要求，请核查收治的合理性并书面说明。")
        out.append(finding(ctx, "BASE_GROUP_TERTIARY", r.fixmedins_code, "", "基层病组病例占比(%)", r.share,
                           r.median, sev, msg, peer_group="三级", volume=r.base, z=r.z))
    return out


def cost_deviation(ctx: Ctx) -> list[dict]:
    """次均费用 of the region's 10 most common groups (grouped cases of the period) far from same-level
    peers' median in the same group (handbook 附录2 (三) 2, 附录3 3(5)).

    Deviation d = ln(hospital mean) − ln(peer median of hospital means) in the group. Its spread is
    sqrt(τ² + se²): se = the sampling error of the hospital's mean (sd of ln cost of the group's cases in
    the region / √n) and τ = the between-hospital spread of d pooled over all ten groups (robust MAD
    minus sampling noise, floored) — pooled because a single group has too few peers to estimate it."""
    t = T["COST_DEVIATION"]
    df = ctx.df(f"""WITH g AS (SELECT grp FROM {ctx.ip}
                                WHERE month IN {mlist(ctx.cur)} AND grp_stas = '1' AND grp IS NOT NULL
                                GROUP BY grp ORDER BY count(*) DESC, grp LIMIT {int(t['top_groups'])})
                    SELECT i.grp, i.fixmedins_code, count(*) AS n, avg(i.medfee_sumamt) AS cost, any_value(s.sd_log) AS sd_log
                    FROM {ctx.ip} i JOIN g USING (grp)
                    JOIN (SELECT grp, stddev_samp(ln(greatest(medfee_sumamt, 1))) AS sd_log FROM {ctx.ip}
                          WHERE month IN {mlist(ctx.cur)} AND grp_stas = '1' GROUP BY grp) s USING (grp)
                    WHERE i.month IN {mlist(ctx.cur)} AND i.grp_stas = '1' GROUP BY 1, 2""")
    df = _hosp_frame(ctx, df)
    df = df[(df["n"] >= t["min_peer_cases"]) & (df["cost"] > 0)].copy()
    if df.empty:
        return []
    df["se"] = df["sd_log"].fillna(0.0) / np.sqrt(df["n"])  # sampling error of ln(mean cost)
    parts = []
    for grp, sub in df.groupby("grp", sort=True):
        parts.append(robust_compare(sub, "cost", direction="high", scale="log", floor_abs=t["floor_log"],
                                    min_peers=t["min_peers"]))
    df = pd.concat(parts)
    df = df[df["peer_n"] >= t["min_peers"]].copy()
    if df.empty:
        return []
    df["d"] = np.log(df["cost"]) - np.log(df["median"])
    mad = float(np.median(np.abs(df["d"] - np.median(df["d"])))) * 1.4826
    tau = max(float(np.sqrt(max(mad ** 2 - float(np.median(df["se"] ** 2)), 0.0))), t["floor_log"])
    df["zz"] = df["d"] / np.sqrt(tau ** 2 + df["se"] ** 2)
    names = {} if ctx.catalog is None else dict(zip(ctx.catalog["code"], ctx.catalog["name"]))
    out = []
    for r in df.sort_values(["grp", "fixmedins_code"]).itertuples():
        if r.n < t["min_cases"]:
            continue
        high = r.d > 0
        rel = np.exp(r.d) - 1 if high else 1 - np.exp(r.d)
        sev = t["grade"].severity(abs(r.zz), rel, r.n, t["min_cases"])
        if not sev:
            continue
        gname = names.get(r.grp, "")
        label = f"{r.grp}（{gname}）" if gname else r.grp
        if high:
            tail = f"高出{fmt.pct(rel * 100, 1)}，请对照临床路径分析费用偏高原因、控制不合理费用并书面说明。"
        else:
            sev = "low"
            tail = f"低{fmt.pct(rel * 100, 1)}，请核查是否存在治疗不足或高套低编（费用与病组不符）的情况。"
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}{label}病组次均费用为{fmt.money(r.cost)}"
               f"（{fmt.count(r.n)}例），{peer_label(r.peer_group)}同病组次均费用中位数为{fmt.money(r.median)}，{tail}")
        out.append(finding(ctx, "COST_DEVIATION", r.fixmedins_code, r.grp, "病组次均费用(元)", r.cost, r.median, sev,
                           msg, peer_group=peer_label(r.peer_group), volume=r.n, z=r.zz,
                           annotation="" if high else "偏低"))
    return out


def _shift(hi1: float, n1: float, hi0: float, n0: float, rhi1: float, rn1: float, rhi0: float, rn0: float,
           t: dict) -> dict | None:
    """The structure-shift test shared by UPCODING_DRG and UPCODING_ICD: the hospital's share of the
    "higher" cases now (hi1/n1) against a year earlier (hi0/n0), and against the change at the region's
    other hospitals (rhi/rn). None when a threshold is not met."""
    if n1 < t["min_cur"] or n0 < t["min_base"]:
        return None
    p1, p0 = hi1 / n1 * 100, hi0 / n0 * 100
    shift = p1 - p0
    if shift < t["min_shift"]:
        return None
    z = two_proportion_z(hi1, n1, hi0, n0)
    if z < t["min_z"]:
        return None
    rshift = (rhi1 / rn1 - rhi0 / rn0) * 100 if rn1 > 0 and rn0 > 0 else 0.0
    if shift - rshift < t["min_excess_shift"]:
        return None
    sev = "high" if shift >= t["high_shift"] and z >= t["high_z"] else "medium"
    return dict(p1=p1, p0=p0, shift=shift, z=z, rshift=rshift, sev=sev, n1=n1, n0=n0)


@lru_cache(maxsize=1)
def _adrg_names() -> dict:
    a = ref_adrg()
    return dict(zip(a["adrg_code"], a["adrg_name"]))


def _tagged_counts(ctx: Ctx, key_sql: str, where: str, tags: list[tuple[str, list[str]]]) -> pd.DataFrame:
    """Cases per institution × key × period tag (all the region's institutions)."""
    case = " ".join(f"WHEN month IN {mlist(m)} THEN {lit(tag)}" for tag, m in tags)
    months = [m for _, ms in tags for m in ms]
    return ctx.df(f"""SELECT fixmedins_code, {key_sql} AS k, CASE {case} END AS tag, count(*) AS n
                      FROM {ctx.ip} WHERE {where} AND month IN {mlist(months)} GROUP BY ALL""")


def upcoding_drg(ctx: Ctx) -> list[dict]:
    """高套病组 in DRG regions: within an ADRG, the hospital's share of the higher-weight subgroups rising
    against the same period a year earlier while the lower-weight subgroups' cases fall (handbook 附录3
    3(6) EJ1 example). Subgroups are ordered by catalogue weight; both cuts are tested (伴严重 vs the rest,
    伴严重+伴一般 vs 不伴) and the stronger one is reported."""
    t = T["UPCODING_DRG"]
    if ctx.pay_method != "DRG" or ctx.catalog is None or ctx.catalog.empty or not ctx.months_in(ctx.yago.months):
        return []
    cat = ctx.catalog.dropna(subset=["weight"]).copy()
    cat["parent"] = cat["parent"].fillna(cat["code"].str[:3])
    cat = cat[cat.groupby("parent")["code"].transform("count") >= 2]
    if cat.empty:
        return []
    counts = _tagged_counts(ctx, "grp", "grp_stas = '1' AND grp IS NOT NULL",
                            [("cur", ctx.cur), ("base", ctx.yago.months)])
    counts = counts.merge(cat[["code", "parent", "weight"]], left_on="k", right_on="code")
    if counts.empty:
        return []
    piv = counts.pivot_table(index=["parent", "fixmedins_code"], columns=["tag", "code"], values="n",
                             aggfunc="sum", fill_value=0)
    out = []
    for adrg, sub in piv.groupby(level="parent", sort=True):
        codes = cat[cat["parent"] == adrg].sort_values(["weight", "code"], ascending=[False, True])["code"].tolist()
        cur = sub.reindex(columns=pd.MultiIndex.from_product([["cur"], codes]), fill_value=0).to_numpy(float)
        base = sub.reindex(columns=pd.MultiIndex.from_product([["base"], codes]), fill_value=0).to_numpy(float)
        tot_c, tot_b = cur.sum(axis=0), base.sum(axis=0)
        for i, code in enumerate(sub.index.get_level_values("fixmedins_code")):
            if code not in ctx.hosp.index:
                continue
            best = None
            for j in range(1, len(codes)):
                hi1, n1, hi0, n0 = cur[i, :j].sum(), cur[i].sum(), base[i, :j].sum(), base[i].sum()
                lo1, lo0 = n1 - hi1, n0 - hi0
                hg, lg = fmt.growth_pct(hi1, hi0), fmt.growth_pct(lo1, lo0)
                if hg is None or hg < t["min_hi_growth"] or lg is None or lg > t["max_lo_growth"]:
                    continue
                r = _shift(hi1, n1, hi0, n0, tot_c[:j].sum() - hi1, tot_c.sum() - n1, tot_b[:j].sum() - hi0,
                           tot_b.sum() - n0, t)
                if r and (best is None or r["z"] > best["z"]):
                    best = dict(r, j=j, hi1=hi1, hi0=hi0, lo1=lo1, lo0=lo0)
            if best is None:
                continue
            j = best["j"]
            nm = _adrg_names().get(adrg, "")
            label = f"{adrg}（{nm}）" if nm else adrg
            hi_txt, lo_txt = "、".join(codes[:j]), "、".join(codes[j:])
            msg = (f"{ctx.period.label}{ctx.name(code)}{label}中较高权重细分组（{hi_txt}）病例占比为{fmt.pct(best['p1'], 1)}，"
                   f"去年同期为{fmt.pct(best['p0'], 1)}，其中较高权重细分组病例数{fmt.change(best['hi1'], best['hi0'], '同比')}、"
                   f"较低权重细分组（{lo_txt}）病例数{fmt.change(best['lo1'], best['lo0'], '同比')}（全统筹区其他医院同期"
                   f"占比变化{fmt.num(best['rshift'], 1)}个百分点），提示可能存在高套病组，请核查病案首页合并症、并发症"
                   f"填写和编码的真实性并书面说明。")
            out.append(finding(ctx, "UPCODING_DRG", code, adrg, "较高权重细分组占比(%)", best["p1"], best["p0"],
                               best["sev"], msg, peer_group="本院去年同期", volume=best["n1"], z=best["z"]))
    return out


def upcoding_icd(ctx: Ctx) -> list[dict]:
    """高靠诊断: within an ICD-10 category (3 characters of the settlement list's main diagnosis), the
    share of specified subcategories rising against the same period a year earlier at the expense of
    the unspecified subcategory (.9 未特指) (handbook 附录3 3(6) I63 example)."""
    t = T["UPCODING_ICD"]
    if not ctx.has_list or not ctx.months_in(ctx.yago.months):
        return []
    valid = "diag3 IS NOT NULL AND length(diag) >= 5 AND substr(diag, 4, 1) = '.'"
    y2 = ctx.y2ago.months if ctx.months_in(ctx.y2ago.months) else []
    tags = [("cur", ctx.cur), ("base", ctx.yago.months)] + ([("y2", y2)] if y2 else [])
    case = " ".join(f"WHEN month IN {mlist(m)} THEN {lit(tag)}" for tag, m in tags)
    months = mlist([m for _, ms in tags for m in ms])
    agg = ctx.df(f"""SELECT fixmedins_code, diag3 AS k,
                            sum(CASE WHEN month IN {mlist(ctx.cur)} THEN 1 ELSE 0 END) AS n_cur,
                            sum(CASE WHEN month IN {mlist(ctx.cur)} AND substr(diag, 5, 1) <> '9' THEN 1 ELSE 0 END)
                                AS hi_cur,
                            sum(CASE WHEN month IN {mlist(ctx.yago.months)} THEN 1 ELSE 0 END) AS n_base,
                            sum(CASE WHEN month IN {mlist(ctx.yago.months)} AND substr(diag, 5, 1) <> '9' THEN 1 ELSE 0
                                END) AS hi_base
                     FROM {ctx.ip} WHERE {valid} AND month IN {months} GROUP BY ALL ORDER BY 1, 2""")
    if agg.empty:
        return []
    reg = agg.groupby("k")[["n_cur", "hi_cur", "n_base", "hi_base"]].sum()
    cand = []
    for r in agg.itertuples():
        if r.fixmedins_code not in ctx.hosp.index or r.n_base <= 0:
            continue
        if (r.n_base - r.hi_base) / r.n_base * 100 < t["min_unspec_base"]:
            continue  # hardly any unspecified cases a year earlier: nothing to shift from
        g = reg.loc[r.k]
        res = _shift(r.hi_cur, r.n_cur, r.hi_base, r.n_base, g.hi_cur - r.hi_cur, g.n_cur - r.n_cur,
                     g.hi_base - r.hi_base, g.n_base - r.n_base, t)
        if res is not None:
            cand.append((r, res))
    if not cand:
        return []
    # detail (subcategory shares, region mean costs, two years back) for the candidates only
    cats = sorted({r.k for r, _ in cand})
    sub_df = ctx.df(f"""SELECT fixmedins_code, diag3 AS k, substr(diag, 1, 5) AS s, CASE {case} END AS tag,
                               count(*) AS n, sum(medfee_sumamt) AS fee
                        FROM {ctx.ip} WHERE {valid} AND month IN {months} AND diag3 IN {mlist(cats)}
                        GROUP BY ALL""")
    reg_cost = sub_df[sub_df["tag"] != "y2"].groupby("s")[["n", "fee"]].sum()
    reg_cost = (reg_cost["fee"] / reg_cost["n"]).to_dict()
    out = []
    for r, res in cand:
        d = sub_df[(sub_df["fixmedins_code"] == r.fixmedins_code) & (sub_df["k"] == r.k)]
        sh = {tag: d[d["tag"] == tag].groupby("s")["n"].sum() / max(d.loc[d["tag"] == tag, "n"].sum(), 1) * 100
              for tag in ("cur", "base", "y2")}
        rising = sorted(((s_, float(sh["base"].get(s_, 0.0)), float(sh["cur"].get(s_, 0.0)))
                         for s_ in set(sh["cur"].index) | set(sh["base"].index) if not s_.endswith(".9")),
                        key=lambda x: (-(x[2] - x[1]), x[0]))
        rising = [x for x in rising if x[2] - x[1] >= 2.0]
        unspec_cost = reg_cost.get(f"{r.k}.9")
        note, ann = "", ""
        if rising and unspec_cost:
            w = sum(b - a for _, a, b in rising)
            avg = sum((b - a) * reg_cost.get(s_, unspec_cost) for s_, a, b in rising) / w
            if avg <= unspec_cost * 1.02:
                note, ann = "（增长亚目的平均费用并不高于未特指亚目，也可能是编码更加准确）", "编码细化"
                res["sev"] = "medium"
        two = ""
        y2n = d.loc[d["tag"] == "y2", "n"].sum()
        if y2 and y2n >= t["min_base"]:
            two = f"（两年前为{fmt.pct(100 - sh['y2'].get(f'{r.k}.9', 0.0), 1)}）"
        nm = icd_names().get(r.k, "")
        label = f"{r.k}（{nm}）" if nm else r.k
        rise_txt = "、".join(f"{s_}（{fmt.pct(a, 1)}→{fmt.pct(b, 1)}）" for s_, a, b in rising[:3])
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}{label}类目下特指亚目病例占比为{fmt.pct(res['p1'], 1)}，"
               f"去年同期为{fmt.pct(res['p0'], 1)}{two}，" + (f"其中{rise_txt}增长明显，" if rise_txt else "")
               + f"而{r.k}.9（未特指）占比由{fmt.pct(100 - res['p0'], 1)}降至{fmt.pct(100 - res['p1'], 1)}"
               f"（全统筹区其他医院同期变化{fmt.num(res['rshift'], 1)}个百分点）{note}，提示可能存在高靠诊断，"
               f"请核查主要诊断的临床依据并书面说明。")
        out.append(finding(ctx, "UPCODING_ICD", r.fixmedins_code, r.k, "特指亚目病例占比(%)", res["p1"], res["p0"],
                           res["sev"], msg, peer_group="本院去年同期", volume=res["n1"], z=res["z"], annotation=ann))
    return out


def _readmissions(ctx: Ctx) -> pd.DataFrame:
    """Per hospital: admissions in the period and same-hospital readmissions by kind (see the rules)."""
    tr, ts = T["READMIT_15D"]["days"], T["SPLIT_ADMISSION"]["days"]
    return ctx.df(f"""
        WITH x AS (
            SELECT fixmedins_code, month, diag3, begndate,
                   lag(enddate) OVER w AS prev_end, lag(diag3) OVER w AS prev_diag3
            FROM {ctx.ip} WHERE psn_no IS NOT NULL AND begndate IS NOT NULL
            WINDOW w AS (PARTITION BY psn_no, fixmedins_code ORDER BY begndate, enddate, setl_time, setl_id)),
        y AS (SELECT *, date_diff('day', prev_end, begndate) AS gap FROM x WHERE month IN {mlist(ctx.cur)})
        SELECT fixmedins_code, count(*) AS adm,
               sum(CASE WHEN gap BETWEEN 0 AND {ts} AND diag3 = prev_diag3 THEN 1 ELSE 0 END) AS split,
               sum(CASE WHEN gap BETWEEN 0 AND {tr}
                         AND NOT (gap <= {ts} AND diag3 IS NOT NULL AND diag3 = prev_diag3) THEN 1 ELSE 0 END)
                   AS readmit
        FROM y GROUP BY 1""")


def _rate_rule(ctx: Ctx, df: pd.DataFrame, rule_id: str, count_col: str, metric: str, text) -> list[dict]:
    t = T[rule_id]
    df = _hosp_frame(ctx, df)
    df = df[df["adm"] >= t["min_adm"]].copy()
    df["rate"] = df[count_col] / df["adm"] * 100
    df = peer_compare(ctx, df, "rate", direction="high", floor_abs=t["floor_abs"], floor_rel=t["floor_rel"],
                      min_peers=t["min_peers"])
    out = []
    for r in df.itertuples():
        k = getattr(r, count_col)
        if k < t["min_events"]:
            continue
        sev = _capped(t["grade"].severity(r.z, r.rel, r.adm, t["min_adm"]), r.special_note)
        if not sev:
            continue
        out.append(finding(ctx, rule_id, r.fixmedins_code, "", metric, r.rate, r.median, sev, text(r, k),
                           peer_group=r.peer_text, volume=r.adm, z=r.z,
                           annotation="专科医院" if r.special_note else ""))
    return out


def readmit_15d(ctx: Ctx) -> list[dict]:
    """15天内再入院率: admissions in the period of a person discharged from the same hospital 0–15 days
    earlier (excluding the ≤3-day same-diagnosis cases reported under SPLIT_ADMISSION), per 100 admissions,
    far above same-level peers (handbook 附录2 (三) 3)."""
    d = T["READMIT_15D"]["days"]
    return _rate_rule(ctx, _readmissions(ctx), "READMIT_15D", "readmit", f"{d}天内再入院率(%)", lambda r, k: (
        f"{ctx.period.label}{ctx.name(r.fixmedins_code)}{d}天内再入院率为{fmt.pct(r.rate)}（入院{fmt.count(r.adm)}人次中"
        f"{fmt.count(k)}人次为出院后{d}天内再次入住本院），{r.peer_text}中位数为{fmt.pct(r.median)}，"
        f"明显偏高{r.special_note}，请核查是否存在不合理的重复住院并书面说明。"))


def split_admission(ctx: Ctx) -> list[dict]:
    """分解住院: admissions in the period of a person discharged from the same hospital 0–3 days earlier
    with the same main-diagnosis category, per 100 admissions, far above same-level peers."""
    d = T["SPLIT_ADMISSION"]["days"]
    return _rate_rule(ctx, _readmissions(ctx), "SPLIT_ADMISSION", "split", f"{d}天内同诊断再入院率(%)", lambda r, k: (
        f"{ctx.period.label}{ctx.name(r.fixmedins_code)}有{fmt.count(k)}人次在出院后{d}天内以相同主要诊断类目再次入住"
        f"本院，占入院人次的{fmt.pct(r.rate)}，{r.peer_text}中位数为{fmt.pct(r.median)}，疑似分解住院"
        f"{r.special_note}，请逐例核查并书面说明。"))


def low_standard_admission(ctx: Ctx) -> list[dict]:
    """低标入院: share of grouped cases that are both low-weight (weight/score at or below the 25th
    percentile of the region's catalogue) and very short (实际住院天数 ≤ 2), far above same-level peers
    (handbook 附录2 (三) 1, 3)."""
    t = T["LOW_STANDARD_ADMISSION"]
    cat = _catalog_table(ctx)
    if cat is None:
        return []
    q = ctx.catalog["weight"].dropna()
    if q.empty:
        return []
    qw = float(np.quantile(q.astype(float), t["weight_quantile"]))
    df = ctx.df(f"""SELECT i.fixmedins_code, count(*) AS adm,
                           sum(CASE WHEN coalesce(i.weight, c.weight) <= {qw!r} AND i.ipt_days <= {t['max_days']}
                                    THEN 1 ELSE 0 END) AS low
                    FROM {ctx.ip} i LEFT JOIN {cat} c ON c.code = i.grp
                    WHERE i.month IN {mlist(ctx.cur)} AND i.grp_stas = '1' AND i.grp IS NOT NULL GROUP BY 1""")
    df = _hosp_frame(ctx, df)
    df = df[df["adm"] >= t["min_grouped"]].copy()
    df["rate"] = df["low"] / df["adm"] * 100
    df = peer_compare(ctx, df, "rate", direction="high", floor_abs=t["floor_abs"], floor_rel=t["floor_rel"],
                      min_peers=t["min_peers"])
    wname = "权重" if ctx.pay_method == "DRG" else "分值"
    out = []
    for r in df.itertuples():
        if r.low < t["min_events"]:
            continue
        sev = _capped(t["grade"].severity(r.z, r.rel, r.adm, t["min_grouped"]), r.special_note)
        if not sev:
            continue
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}低{wname}病组（{wname}≤{fmt.ratio(qw, 2)}）且住院不超过"
               f"{t['max_days']}天的病例{fmt.count(r.low)}例，占入组病例的{fmt.pct(r.rate)}，{r.peer_text}"
               f"中位数为{fmt.pct(r.median)}，明显偏高{r.special_note}，疑似低标准入院，请核查入院指征并书面说明。")
        out.append(finding(ctx, "LOW_STANDARD_ADMISSION", r.fixmedins_code, "", "低权重短住院病例占比(%)", r.rate,
                           r.median, sev, msg, peer_group=r.peer_text, volume=r.adm, z=r.z,
                           annotation="专科医院" if r.special_note else ""))
    return out


def group_admission(ctx: Ctx) -> list[dict]:
    """组团式住院: the same set of ≥ 3 persons admitted to the same hospital together (admission dates within
    a 3-day span, i.e. ±1 day around a common date) on ≥ 3 occasions in the 12 months ending with the
    period, at least one occasion in the period (handbook 六(三) 3 跟踪核心指标)."""
    t = T["GROUP_ADMISSION"]
    months = ctx.period.trailing_months(max(t["months"], ctx.period.length))
    months = [m for m in months if m in ctx.window]
    span, k_min, p_min = int(t["span_days"]), int(t["min_occasions"]), int(t["min_persons"])
    tok = ctx.ip + "_ga"
    # persons admitted ≥ 3 (and ≤ max_admissions: scheduled cycles such as chemotherapy are left out) times
    # to the same hospital in the window; psn_no is replaced by a number inside SQL and never fetched
    ctx.wh.sql(f"""CREATE TEMP TABLE {tok} AS
        WITH adm AS (SELECT DISTINCT psn_no, fixmedins_code, begndate FROM {ctx.ip}
                     WHERE psn_no IS NOT NULL AND begndate IS NOT NULL AND month IN {mlist(months)}),
             freq AS (SELECT psn_no, fixmedins_code FROM adm GROUP BY 1, 2
                      HAVING count(*) BETWEEN {k_min} AND {int(t['max_admissions'])})
        SELECT dense_rank() OVER (ORDER BY adm.psn_no) AS pid, adm.fixmedins_code, adm.begndate
        FROM adm JOIN freq USING (psn_no, fixmedins_code)""")
    try:
        pairs = ctx.df(f"""SELECT a.fixmedins_code, a.pid AS p1, b.pid AS p2
                           FROM {tok} a JOIN {tok} b ON a.fixmedins_code = b.fixmedins_code AND a.pid < b.pid
                             AND b.begndate BETWEEN a.begndate - INTERVAL {span} DAY AND a.begndate + INTERVAL {span} DAY
                           GROUP BY 1, 2, 3 HAVING count(DISTINCT a.begndate) >= {k_min}
                           ORDER BY 1, 2, 3""")
        if pairs.empty:
            return []
        # connected sets of persons per hospital (union-find on the frequent pairs)
        comps: list[tuple[str, list[int]]] = []
        for code, sub in pairs.groupby("fixmedins_code", sort=True):
            parent: dict[int, int] = {}

            def root(x):
                while parent.setdefault(x, x) != x:
                    parent[x] = parent[parent[x]]
                    x = parent[x]
                return x
            for a, b in zip(sub["p1"], sub["p2"]):
                ra, rb = root(int(a)), root(int(b))
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
            members: dict[int, list[int]] = {}
            for x in sorted(parent):
                members.setdefault(root(x), []).append(x)
            comps += [(code, sorted(ms)) for ms in members.values() if len(ms) >= p_min]
        if not comps:
            return []
        ids = sorted({m for _, ms in comps for m in ms})
        dates = ctx.df(f"SELECT pid, fixmedins_code, begndate FROM {tok} WHERE pid IN ({', '.join(map(str, ids))}) "
                       f"ORDER BY fixmedins_code, begndate, pid")
    finally:
        ctx.wh.sql(f"DROP TABLE IF EXISTS {tok}")

    def occasions(d: pd.DataFrame, members: set) -> list[list[tuple[date, int]]]:
        """Clusters of admission dates (span ≤ 3 days) on which ≥ min_persons of ``members`` were admitted."""
        out_, cluster = [], []
        for row in d[d["pid"].isin(members)].itertuples():
            day = pd.Timestamp(row.begndate).date()
            if cluster and (day - cluster[0][0]).days > span:
                out_.append(cluster)
                cluster = []
            cluster.append((day, int(row.pid)))
        if cluster:
            out_.append(cluster)
        return [c for c in out_ if len({p for _, p in c}) >= p_min]

    pstart, pend = ctx.period.start, ctx.period.end
    per_hosp: dict[str, list[dict]] = {}
    for code, members in comps:
        d = dates[dates["fixmedins_code"] == code].sort_values(["begndate", "pid"])
        occ = occasions(d, set(members))
        # the core: members present on at least min_occasions of those occasions
        seen: dict[int, int] = {}
        for c in occ:
            for p in {p for _, p in c}:
                seen[p] = seen.get(p, 0) + 1
        core = {p for p, k in seen.items() if k >= k_min}
        if len(core) < p_min:
            continue
        occ = occasions(d, core)
        if len(occ) < k_min:
            continue
        days = [c[0][0] for c in occ]
        if not any(pstart <= x < pend for x in days):
            continue
        per_hosp.setdefault(code, []).append(dict(size=len(core), days=days))
    out = []
    for code, gs in sorted(per_hosp.items()):
        n_groups = len(gs)
        n_occ = sum(len(g["days"]) for g in gs)
        persons = sum(g["size"] for g in gs)
        sev = "high" if n_groups >= t["high_groups"] or max(len(g["days"]) for g in gs) >= t["high_occasions"] \
            else "medium"
        ex = sorted({x for g in gs for x in g["days"]})[-3:]  # the latest occasions
        ex_txt = "、".join(f"{x.year}年{x.month}月{x.day}日" for x in ex)
        msg = (f"{ctx.period.label}{ctx.name(code)}发现{n_groups}组参保人（合计{persons}人，每组{p_min}人及以上）"
               f"近12个月内共{n_occ}次在3天内集体入院（如{ex_txt}前后），疑似组团式住院，请逐例核查入院指征并书面说明。")
        out.append(finding(ctx, "GROUP_ADMISSION", code, "", "组团式住院组数", n_groups, 0, sev, msg,
                           peer_group="", volume=n_occ, z=None))
    return out


def impossible_travel(ctx: Ctx) -> list[dict]:
    """逻辑验证: settlements at the region's institutions (hospitals and pharmacies) for which the same
    person has another settlement in a different pooling region within 30 minutes (handbook 六(三) 4)."""
    t = T["IMPOSSIBLE_TRAVEL"]
    p = ctx.period
    mins = int(t["minutes"])
    lo = (pd.Timestamp(p.start) - pd.Timedelta(hours=1)).isoformat(sep=" ")
    hi = (pd.Timestamp(p.end) + pd.Timedelta(hours=1)).isoformat(sep=" ")
    R = lit(ctx.region)
    in_period = (f"setl_time >= TIMESTAMP {lit(p.start.isoformat())} "
                 f"AND setl_time < TIMESTAMP {lit(p.end.isoformat())}")
    # Only persons with settlements both here (in the period) and in another region (within the hour-padded
    # window) can have a conflict. Candidates are found on the settlements before netting (a superset: cheaper,
    # and the same result); the time-ordered walk then runs over the netted settlements of the candidates only,
    # which gives each of their settlements the same neighbours as a walk over everybody. The settlements per
    # institution (the expected-rate denominator) come from the scratch table.
    window = f"setl_time >= TIMESTAMP {lit(lo)} AND setl_time < TIMESTAMP {lit(hi)}"
    df = ctx.df(f"""
        WITH here AS (SELECT fixmedins_code, CAST(sum(n_psn) AS BIGINT) AS n FROM {ctx.hm}
                      WHERE month IN {mlist(ctx.cur)} GROUP BY 1 HAVING sum(n_psn) > 0),
        away AS (SELECT DISTINCT psn_no FROM setl_all WHERE poolarea_no <> {R} AND {window}),
        cand AS (SELECT DISTINCT psn_no FROM setl_all
                 WHERE poolarea_no = {R} AND {in_period} AND psn_no IN (SELECT psn_no FROM away)),
        s AS (SELECT setl_id, psn_no, poolarea_no, fixmedins_code, setl_time FROM setl_net
              WHERE psn_no IN (SELECT psn_no FROM cand) AND {window}),
        x AS (SELECT *, lag(poolarea_no) OVER w AS pp, lag(setl_time) OVER w AS pt,
                        lead(poolarea_no) OVER w AS np, lead(setl_time) OVER w AS nt
              FROM s
              WINDOW w AS (PARTITION BY psn_no ORDER BY setl_time, setl_id)),
        y AS (SELECT fixmedins_code, setl_time,
                     (pp IS NOT NULL AND pp <> poolarea_no AND date_diff('minute', pt, setl_time) <= {mins}) AS c1,
                     (np IS NOT NULL AND np <> poolarea_no AND date_diff('minute', setl_time, nt) <= {mins}) AS c2,
                     CASE WHEN pp IS NOT NULL AND pp <> poolarea_no AND date_diff('minute', pt, setl_time) <= {mins}
                          THEN pp ELSE np END AS other
              FROM x WHERE poolarea_no = {R} AND {in_period}),
        e AS (SELECT fixmedins_code,
                     sum(CASE WHEN c1 OR c2 THEN 1 ELSE 0 END) AS events,
                     list(CASE WHEN c1 OR c2 THEN strftime(setl_time, '%Y-%m-%d %H:%M') END ORDER BY setl_time)
                         FILTER (WHERE c1 OR c2) AS times,
                     list(DISTINCT other) FILTER (WHERE c1 OR c2) AS others
              FROM y GROUP BY 1)
        SELECT h.fixmedins_code, h.n, coalesce(e.events, 0) AS events, e.times, e.others
        FROM here h LEFT JOIN e USING (fixmedins_code)""")
    if df.empty:
        return []
    inst = ctx.df(f"SELECT fixmedins_code, fixmedins_name, lv_group, fixmedins_type FROM fixmedins_x "
                  f"WHERE poolarea_no = {lit(ctx.region)}").set_index("fixmedins_code")
    total_n, total_e = float(df["n"].sum()), float(df["events"].sum())
    names = dict(ctx.df("SELECT poolarea_no, poolarea_name FROM poolarea").itertuples(index=False, name=None)) \
        if ctx.wh.has("poolarea") else {}
    out = []
    for r in df.sort_values("fixmedins_code").itertuples():
        k = int(r.events)
        if k < t["min_events"]:
            continue
        # expected events at this institution if conflicts were spread like the region's others
        rest_n, rest_e = total_n - r.n, total_e - k
        mu = max(rest_e / rest_n * r.n, 1e-6) if rest_n > 0 else 1e-6
        ratio = k / mu
        pval = poisson_sf(k, mu)
        if ratio < t["min_ratio"] or pval > t["max_p"]:
            continue
        sev = "high" if k >= t["high_events"] else "medium" if k >= t["med_events"] else "low"
        times = sorted(x for x in _items(r.times) if x)[:3]
        others = "、".join(names.get(o, o) for o in sorted(o for o in _items(r.others) if o)[:3])
        nm = str(inst.at[r.fixmedins_code, "fixmedins_name"]) if r.fixmedins_code in inst.index else r.fixmedins_code
        msg = (f"{ctx.period.label}{nm}有{fmt.count(k)}笔结算与同一参保人{mins}分钟内在其他统筹区（{others}）的结算"
               f"时间冲突（如{'、'.join(times)}），不符合常理，请核查是否存在冒名就医、盗刷医保凭证或虚假结算并书面说明。")
        row = finding(ctx, "IMPOSSIBLE_TRAVEL", r.fixmedins_code, "", f"{mins}分钟内异地冲突结算笔数", k,
                      round(mu, 2), sev, msg, peer_group="全统筹区", volume=r.n, z=None)
        row["fixmedins_name"] = nm
        if r.fixmedins_code in inst.index:
            row["level"] = "定点零售药店" if inst.at[r.fixmedins_code, "fixmedins_type"] == "2" \
                else str(inst.at[r.fixmedins_code, "lv_group"])
        out.append(row)
    return out


def _items(x) -> list:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return []
    return list(x)


def _region_rate_rule(ctx: Ctx, rule_id: str, df: pd.DataFrame, num: str, den: str, min_den: int,
                      metric: str, text) -> list[dict]:
    t = T[rule_id]
    df = _hosp_frame(ctx, df)
    df = df[df[den] >= min_den].copy()
    if df.empty:
        return []
    df["rate"] = df[num] / df[den] * 100
    df["all"] = "全统筹区"
    df = robust_compare(df, "rate", direction="low", floor_abs=t["floor_abs"], floor_rel=t["floor_rel"],
                        group_col="all")
    out = []
    for r in df.itertuples():
        sev = t["grade"].severity(r.z, r.rel, getattr(r, den), min_den)
        if not sev:
            continue
        out.append(finding(ctx, rule_id, r.fixmedins_code, "", metric, r.rate, r.median, sev, text(r),
                           peer_group="全统筹区", volume=getattr(r, den), z=r.z))
    return out


def qc_pass_low(ctx: Ctx) -> list[dict]:
    """医保结算清单质控通过率 (indicator 29: qc_stas = 1 / uploaded lists) far below the region's hospitals."""
    if not ctx.has_list:
        return []
    df = ctx.df(f"""SELECT fixmedins_code, sum(CASE WHEN listed THEN 1 ELSE 0 END) AS uploaded,
                           sum(CASE WHEN listed AND qc_stas = '1' THEN 1 ELSE 0 END) AS passed
                    FROM {ctx.ip} WHERE month IN {mlist(ctx.cur)} GROUP BY 1""")
    return _region_rate_rule(ctx, "QC_PASS_LOW", df, "passed", "uploaded", T["QC_PASS_LOW"]["min_uploaded"],
                             "结算清单质控通过率(%)", lambda r: (
        f"{ctx.period.label}{ctx.name(r.fixmedins_code)}医保结算清单质控通过率为{fmt.pct(r.rate)}（已上传"
        f"{fmt.count(r.uploaded)}份），全统筹区医院中位数为{fmt.pct(r.median)}，明显偏低，请加强病案首页和结算清单"
        f"填报质量管理，逐条整改质控问题。"))


def upload_low(ctx: Ctx) -> list[dict]:
    """医保结算清单上传率 (indicator 28: uploaded lists / inpatient settlements) far below the region's hospitals."""
    df = ctx.df(f"""SELECT fixmedins_code, count(*) AS ip, sum(CASE WHEN listed THEN 1 ELSE 0 END) AS uploaded
                    FROM {ctx.ip} WHERE month IN {mlist(ctx.cur)} GROUP BY 1""")
    return _region_rate_rule(ctx, "UPLOAD_LOW", df, "uploaded", "ip", T["UPLOAD_LOW"]["min_ip"],
                             "结算清单上传率(%)", lambda r: (
        f"{ctx.period.label}{ctx.name(r.fixmedins_code)}医保结算清单上传率为{fmt.pct(r.rate)}（出院{fmt.count(r.ip)}"
        f"人次，上传{fmt.count(r.uploaded)}份），全统筹区医院中位数为{fmt.pct(r.median)}，明显偏低，请按规定及时、"
        f"完整上传医保结算清单。"))


# ---- efficiency (indicators 43/44) for the commendation list -------------------------------------------
def efficiency(ctx: Ctx) -> pd.DataFrame:
    """时间消耗指数 (43) and 费用消耗指数 (44) per hospital over its grouped cases of the period."""
    df = ctx.df(f"""
        WITH g AS (SELECT fixmedins_code, grp, ipt_days, medfee_sumamt FROM {ctx.ip}
                   WHERE month IN {mlist(ctx.cur)} AND grp_stas = '1' AND grp IS NOT NULL),
             r AS (SELECT grp, avg(ipt_days) AS rd, avg(medfee_sumamt) AS rf FROM g GROUP BY grp),
             h AS (SELECT fixmedins_code, grp, count(*) AS n, avg(ipt_days) AS hd, avg(medfee_sumamt) AS hf
                   FROM g GROUP BY 1, 2)
        SELECT fixmedins_code, sum(n) AS grouped,
               sum(CASE WHEN rd > 0 THEN hd / rd * n END) / sum(CASE WHEN rd > 0 THEN n END) AS time_index,
               sum(CASE WHEN rf > 0 THEN hf / rf * n END) / sum(CASE WHEN rf > 0 THEN n END) AS cost_index
        FROM h JOIN r USING (grp) GROUP BY 1""")
    return _hosp_frame(ctx, df)
