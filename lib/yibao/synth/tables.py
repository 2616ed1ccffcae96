"""The small tables of the synthetic dataset, derived from what the settlements add up to:
psn_insu_month, fund_report, budget, settlement_progress, special_case and feedback.

``Totals`` accumulates, while settlements are written, the sums these tables need (by insured
region / institution, month and insurance type) so that the fund report's expenditure is of the
same magnitude as the settlements' pooled-fund payments and the monthly settlement progress
declares what the institutions actually settled.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from yibao.synth.world import (
    EXTRACT_DAY,
    MONTH_CAL,
    MONTH_DAYS,
    MONTH_START,
    MONTH_YEAR,
    MONTHS,
    REGIONS,
    World,
    rng_for,
)

NM = len(MONTHS)


@dataclass
class Totals:
    n_inst: int
    n_regions: int
    fund: np.ndarray = None  # [insured region, insutype, month, (hifp, hifmi, acct, maf)] in 元
    inst: np.ndarray = None  # [institution, month, (op hifp, ip hifp, medfee)] in 元
    special: list = field(default_factory=list)  # DataFrames of special-case candidates
    counts: dict = field(default_factory=dict)

    def __post_init__(self):
        self.fund = np.zeros((self.n_regions, 2, NM, 4))
        self.inst = np.zeros((self.n_inst, NM, 3))

    def add(self, rows: dict) -> None:
        """Accumulate one batch of settlement rows (any mix of originals and reversals)."""
        m = rows["month"]
        ins = rows["ins"].astype(np.int64)
        local = ins < self.n_regions
        key = (ins[local] * 2 + rows["insutype"][local]) * NM + m[local]
        size = self.n_regions * 2 * NM
        for j, a in enumerate(("hifp_pay", "hifmi_pay", "acct_pay", "maf_pay")):
            self.fund[..., j] += np.bincount(key, rows[a][local] / 100.0, minlength=size).reshape(self.n_regions, 2, NM)
        ip = rows["cls"] == 4
        key = rows["hosp"] * NM + m
        size = self.n_inst * NM
        self.inst[..., 0] += np.bincount(key[~ip], rows["hifp_pay"][~ip] / 100.0, minlength=size).reshape(-1, NM)
        self.inst[..., 1] += np.bincount(key[ip], rows["hifp_pay"][ip] / 100.0, minlength=size).reshape(-1, NM)
        self.inst[..., 2] += np.bincount(key, rows["medfee_sumamt"] / 100.0, minlength=size).reshape(-1, NM)

    def count(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + int(n)


# ---- psn_insu_month -------------------------------------------------------------------------------------
def psn_insu_month(world: World) -> pd.DataFrame:
    rows = []
    m = np.arange(NM)
    for ri, reg in enumerate(world.regions):
        pers = world.persons[ri]
        n310 = int((pers.insutype == 0).sum())
        n390 = int((pers.insutype == 1).sum())
        rng = rng_for(world.seed, "psn_cnt", reg.code)
        c310 = n310 * (1 - 0.0025 * (NM - 1 - m)) * (1 + rng.normal(0, 0.0008, NM))
        # residents enrol for the calendar year: a step each January, slow attrition within the year
        c390 = n390 * (1 + 0.012 * (2026 - MONTH_YEAR)) * (1 - 0.0008 * (MONTH_CAL - 1)) * (1 + rng.normal(0, 0.0005, NM))
        for i, mo in enumerate(MONTHS):
            rows.append((reg.code, mo, "310", int(round(c310[i]))))
            rows.append((reg.code, mo, "390", int(round(c390[i]))))
    return pd.DataFrame(rows, columns=["poolarea_no", "month", "insutype", "psn_cnt"])


# ---- fund_report ----------------------------------------------------------------------------------------
def _annual(x: np.ndarray) -> dict:
    """Annual totals by year (2026: Jan–Sep scaled to 12 months)."""
    out = {}
    for y in (2024, 2025, 2026):
        sel = MONTH_YEAR == y
        out[y] = x[sel].sum() * 12.0 / sel.sum()
    return out


def fund_report(world: World, tot: Totals) -> pd.DataFrame:
    rows = []
    for ri, reg in enumerate(world.regions):
        rng = rng_for(world.seed, "fund", reg.code)
        f = tot.fund[ri]
        noise = lambda: 1 + rng.normal(0, 0.015, NM)  # noqa: E731
        exp = {
            "310": np.maximum(f[0, :, 0], 0) * 1.07 * noise(),
            "310A": np.maximum(f[0, :, 2], 0) * 1.18 * noise(),
            "390": np.maximum(f[1, :, 0] + f[1, :, 1], 0) * 1.07 * noise(),
        }
        assist = np.maximum(f[:, :, 3].sum(axis=0), 0) * 1.05 * noise()
        ann_assist = _annual(assist)
        subsidise = np.zeros(NM)  # 资助参保: paid in January-February
        for i in range(NM):
            if MONTH_CAL[i] in (1, 2):
                subsidise[i] = ann_assist[MONTH_YEAR[i]] * 0.6 * (0.7 if MONTH_CAL[i] == 1 else 0.3)
        exp["MAF"] = assist + subsidise
        inc: dict[str, dict[str, np.ndarray]] = {k: {} for k in ("310", "310A", "390", "MAF")}
        # employees: contributions every month, ~10 % above spending; interest in June and December
        for fund, over in (("310", 1.10), ("310A", 1.12)):
            ann = _annual(exp[fund])
            grow = np.array([ann[y] for y in MONTH_YEAR]) / 12.0 * over
            inc[fund]["inc_contrib"] = grow * (1 + rng.normal(0, 0.03, NM))
            inc[fund]["inc_other"] = grow * np.where(np.isin(MONTH_CAL, (6, 12)), 0.05, 0.004)
        # residents: personal contributions lumped in January-February, subsidies in instalments
        ann = _annual(exp["390"])
        year_in = np.array([ann[y] for y in MONTH_YEAR]) * 1.02
        cal = MONTH_CAL

        def lump(share, months):
            out = np.zeros(NM)
            for mo, w in months.items():
                out += np.where(cal == mo, w, 0.0)
            return year_in * share * out

        rest = {mo: 0.08 / 10 for mo in range(3, 13)}
        inc["390"]["inc_personal"] = lump(0.36, {1: 0.68, 2: 0.24, **rest})
        inc["390"]["inc_sub_central"] = lump(0.30, {3: 0.4, 6: 0.3, 9: 0.3})
        inc["390"]["inc_sub_prov"] = lump(0.14, {4: 0.5, 10: 0.5})
        inc["390"]["inc_sub_local"] = lump(0.18, {1: 0.5, 7: 0.5})
        inc["390"]["inc_other"] = lump(0.02, {6: 0.5, 12: 0.5})
        ann = _annual(exp["MAF"])
        year_in = np.array([ann[y] for y in MONTH_YEAR]) * 1.03
        inc["MAF"]["inc_sub_central"] = lump(0.45, {4: 1.0})
        inc["MAF"]["inc_sub_prov"] = lump(0.20, {5: 1.0})
        inc["MAF"]["inc_sub_local"] = lump(0.30, {1: 0.5, 7: 0.5})
        inc["MAF"]["inc_other"] = lump(0.05, {mo: 1 / 12 for mo in range(1, 13)})
        start = {"310": 18, "310A": 30, "390": 8, "MAF": 9}
        for fund in ("310", "310A", "390", "MAF"):
            e = np.round(exp[fund], 2)
            items = {k: np.round(v, 2) for k, v in inc[fund].items()}
            bal = round(float(e[:12].mean()) * start[fund], 2)
            a = np.round(assist, 2)
            for i, mo in enumerate(MONTHS):
                flow_in = sum(float(v[i]) for v in items.values())
                for k, v in items.items():
                    rows.append((reg.code, mo, fund, k, float(v[i])))
                rows.append((reg.code, mo, fund, "exp_total", float(e[i])))
                if fund == "MAF":
                    rows.append((reg.code, mo, fund, "exp_assist", float(a[i])))
                bal = round(bal + flow_in - float(e[i]), 2)
                rows.append((reg.code, mo, fund, "bal_cum", bal))
    return pd.DataFrame(rows, columns=["poolarea_no", "month", "fund", "item", "amount"])


# ---- budget ----------------------------------------------------------------------------------------------
def budget(world: World, tot: Totals) -> pd.DataFrame:
    inst = world.inst
    rows = []
    for ri, reg in enumerate(world.regions):
        rng = rng_for(world.seed, "budget", reg.code)
        hs = np.flatnonzero(inst.region == ri)
        ip = tot.inst[hs, :, 1]
        op = tot.inst[hs, :, 0]
        ann_ip = _annual(ip.sum(axis=0))
        ann_op = _annual(op.sum(axis=0))
        prev = None
        for y in (2024, 2025, 2026, 2027):
            if y <= 2026:
                g = rng.uniform(1.0, 1.04)
                b_ip, b_op = ann_ip[y] * g, ann_op[y] * g
            else:
                b_ip, b_op = prev[0] * 1.045, prev[1] * 1.045
            prev = (b_ip, b_op)
            drg = b_ip * 0.92
            other = (b_ip + b_op) * 0.08
            for item, v in (("inpatient", b_ip), ("outpatient", b_op), ("drg_dip", drg), ("other", other)):
                rows.append((reg.code, y, item, round(float(v), 2), ""))
            ref_year = min(y, 2026)
            sel = MONTH_YEAR == ref_year
            share = ip[:, sel].sum(axis=1)
            flag = inst.drg_dip[hs]
            share = np.where(flag, np.maximum(share, 0), 0)
            if share.sum() <= 0:
                continue
            share = share / share.sum() * drg * 0.97
            for k, h in enumerate(hs):
                if share[k] > 0:
                    rows.append((reg.code, y, "drg_dip", round(float(share[k]), 2), inst.codes[h]))
    return pd.DataFrame(rows, columns=["poolarea_no", "year", "item", "amount", "fixmedins_code"])


# ---- settlement_progress -----------------------------------------------------------------------------------
def settlement_progress(world: World, tot: Totals) -> pd.DataFrame:
    inst = world.inst
    hs = np.flatnonzero(~inst.is_pharm)
    rng = rng_for(world.seed, "progress")
    declared = tot.inst[hs, :, 0] + tot.inst[hs, :, 1]
    n = declared.size
    hh = np.repeat(hs, NM)
    mm = np.tile(np.arange(NM), len(hs))
    dec = np.round(np.maximum(declared.ravel(), 0), 2)
    keep = dec > 0
    refused = np.round(dec * rng.uniform(0.002, 0.015, n), 2)
    payable = np.round(dec - refused, 2)
    month_end = MONTH_START[mm + 1] - 1
    declare = month_end + rng.integers(5, 16, n)
    paid_day = declare + rng.integers(20, 61, n)
    paid = paid_day <= EXTRACT_DAY
    # 预付金: in January, about one month of the previous year's payable for 三级/二级 hospitals
    prev_year_avg = np.zeros(n)
    for k, h in enumerate(hs):
        for y in (2024, 2025, 2026):
            i = k * NM + MONTHS.index(f"{y}-01")
            ref = (MONTH_YEAR == (y - 1)) if y > 2024 else (MONTH_YEAR == 2024)
            prev_year_avg[i] = declared[k, ref].mean() * 0.8 if inst.level[h] <= 1 else 0.0
    df = pd.DataFrame({
        "fixmedins_code": inst.codes[hh], "month": np.array(MONTHS)[mm], "declared_amt": dec,
        "refused_amt": refused, "payable_amt": payable, "paid_amt": np.where(paid, payable, 0.0),
        "declare_date": _iso(declare), "paid_date": np.where(paid, _iso(paid_day), ""),
        "prepaid_amt": np.round(prev_year_avg, 2),
    })
    return df[keep].reset_index(drop=True)


def _iso(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D")


# ---- special_case --------------------------------------------------------------------------------------------
def special_case(world: World, cand: pd.DataFrame) -> pd.DataFrame:
    """特例单议 applications for the settlements settled by 特例单议 (setl_way 3)."""
    if cand.empty:
        return pd.DataFrame(columns=["setl_id", "fixmedins_code", "apply_date", "review_result", "review_date",
                                     "approved_amt"])
    rng = rng_for(world.seed, "special")
    n = len(cand)
    apply = np.minimum(cand["end"].to_numpy() + rng.integers(3, 31, n), EXTRACT_DAY)
    review = apply + rng.integers(15, 46, n)
    done = review <= EXTRACT_DAY
    ok = rng.random(n) < 0.72
    result = np.where(~done, "9", np.where(ok, "1", "0"))
    excess = np.maximum(cand["medfee"].to_numpy() - cand["pay_std"].to_numpy(), 0)
    approved = np.where(result == "1", np.round(excess * rng.uniform(0.5, 0.9, n), 2),
                        np.where(result == "0", 0.0, np.nan))
    return pd.DataFrame({
        "setl_id": cand["setl_id"].to_numpy(), "fixmedins_code": cand["fixmedins_code"].to_numpy(),
        "apply_date": _iso(apply), "review_result": result, "review_date": np.where(done, _iso(review), ""),
        "approved_amt": approved,
    })


# ---- feedback -----------------------------------------------------------------------------------------------
FEEDBACK = (
    ("分组规则", "部分{x}病例入组结果与临床实际不符，建议细化分组规则。", "已提交省级医保部门汇总，纳入分组方案调整建议。"),
    ("支付标准", "{x}相关病组支付标准偏低，难以覆盖新技术成本。", "已纳入年度协商谈判议题，将结合成本测算调整。"),
    ("结算时间", "月度结算款拨付时间较长，影响医院资金周转。", "已优化审核流程，拨付时限压缩至30个工作日内。"),
    ("特例单议", "特例单议审核结果反馈不够及时，希望公开审核标准。", "已在数据发布会上公开审核标准和结果。"),
    ("数据发布", "希望按病组提供同级医院的均次费用对比数据。", "已在季度发布中增加同级医院病组费用对比。"),
    ("预付金", "建议提高预付金比例，缓解医院垫资压力。", "将结合基金结余情况研究。"),
    ("结算清单", "结算清单质控规则更新后未及时告知，导致质控不通过。", "已建立质控规则变更通报机制。"),
    ("门诊统筹", "门诊慢特病认定流程较长，希望简化。", "已下放认定权限至二级及以上医院。"),
)
CHANNELS = ("座谈会", "线上平台", "书面意见", "电话", "数据发布会")
STATUSES = ("部分采纳", "已采纳", "处理中", "未采纳")  # the contract's four statuses (feedback.STATUSES)


def feedback(world: World) -> pd.DataFrame:
    inst = world.inst
    rows = []
    for ri, reg in enumerate(world.regions):
        rng = rng_for(world.seed, "feedback", reg.code)
        hs = np.flatnonzero((inst.region == ri) & ~inst.is_pharm)
        n = int(rng.integers(28, 42))
        days = np.sort(rng.integers(MONTH_START[12], MONTH_START[NM] - 1, n))
        for k in range(n):
            topic, text, resp = FEEDBACK[int(rng.integers(0, len(FEEDBACK)))]
            h = int(hs[rng.integers(0, len(hs))])
            status = STATUSES[int(rng.choice(4, p=[0.45, 0.3, 0.15, 0.1]))]
            rdate = int(days[k] + rng.integers(5, 40))
            answered = status != "处理中" and rdate <= EXTRACT_DAY
            x = ("呼吸系统", "骨科", "心血管", "肿瘤", "消化系统")[int(rng.integers(0, 5))]
            rows.append((_iso(np.array([days[k]]))[0], inst.codes[h], CHANNELS[int(rng.integers(0, len(CHANNELS)))],
                         topic, text.format(x=x), status if answered or status == "处理中" else "处理中",
                         _iso(np.array([rdate]))[0] if answered else "", resp if answered else ""))
    return pd.DataFrame(rows, columns=["received_date", "fixmedins_code", "channel", "topic", "text", "status",
                                       "response_date", "response"])


def poolarea(world: World) -> pd.DataFrame:
    from yibao.synth.world import PROV_NAME
    return pd.DataFrame([(r.code, r.name, PROV_NAME, r.pay_method) for r in world.regions],
                        columns=["poolarea_no", "poolarea_name", "prov_name", "pay_method"])


def dip_catalog(world_dip_groups: pd.DataFrame, regions) -> pd.DataFrame:
    rows = []
    g = world_dip_groups.drop_duplicates("dip_code")
    for r in regions:
        if r.pay_method != "DIP":
            continue
        point = r.rate / 1000.0
        for code, name, cat, score, base in zip(g["dip_code"], g["dip_name"], g["icd_category"], g["score"],
                                                 g["base_group"]):
            rows.append((r.code, code, name, cat, float(score), round(float(score) * point, 2), base))
    return pd.DataFrame(rows, columns=["poolarea_no", "dip_code", "dip_name", "icd_category", "score", "pay_std",
                                       "base_group"])


__all__ = ["Totals", "psn_insu_month", "fund_report", "budget", "settlement_progress", "special_case", "feedback",
           "poolarea", "dip_catalog", "REGIONS", "MONTH_DAYS"]
