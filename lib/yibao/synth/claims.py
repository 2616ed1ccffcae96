"""Settlements (setl) and settlement lists (setl_list) of the synthetic dataset, vectorised.

Per region, every inpatient episode of the 33 months is drawn at once (volumes × case mix ×
severity × stay × patient), then readmissions, planted episodes and recodings are applied, then
amounts and settlement-list rows. Outpatient and pharmacy settlements are drawn per region-month
(in chunks for the large scale) because nothing links them across rows. Amounts are integer cents
until they are written, so that every identity holds exactly:

    medfee_sumamt = hifp_pay + hifmi_pay + maf_pay + oth_pay + acct_pay + psn_cash_pay
    medfee_sumamt ≥ fulamt_ownpay_amt ≥ 0;  Σ fee_* (settlement list) = medfee_sumamt

This module holds the shared lookups, grouping, volumes, people, amounts, inpatient episodes and
reversals; :mod:`yibao.synth.outpatient` draws the outpatient and pharmacy settlements,
:mod:`yibao.synth.arrow` turns rows into arrow tables and :mod:`yibao.synth.casemix` sets the case mix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.synth.conditions import (
    CC_CODES,
    COND_INDEX,
    CONDITIONS,
    MCC_CODES,
    MINOR_CODES,
    QC_ERROR_P,
    QC_ERRORS,
    SEV_COST,
    SEV_LOS,
    condition_leaves,
    resolve_codes,
    suffix_for,
    drg_splits,
)
from yibao.synth.world import (
    END_DAY,
    EXTRACT_DAY,
    HEAVY_MONTHS,
    LEVEL_COST,
    LEVEL_LOS,
    LEVEL_P_CC,
    LEVEL_P_MCC,
    MAIN_DRG,
    MONTH_CAL,
    MONTH_DAYS,
    MONTH_START,
    MONTHS,
    POOLS,
    SEASON,
    UPCODING_ADRG,
    World,
    month_index,
    rng_for,
)

NM = len(MONTHS)
MED_CODES = ("11", "14", "51", "41", "21", "52")  # index: 0..3 outpatient/pharmacy, 4..5 inpatient
OP_11, OP_14, OP_51, RX_41, IP_21, IP_52 = range(6)
AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "hifp_pay",
           "acct_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_cash_pay")
FEES = ("fee_drug", "fee_mcs", "fee_exam", "fee_lab", "fee_trt", "fee_oprn", "fee_srvc", "fee_oth")
# fee structure (shares) by case type: medical, surgical, chemotherapy
FEE_SHARE = np.array([
    [0.38, 0.07, 0.12, 0.15, 0.13, 0.01, 0.10, 0.04],
    [0.22, 0.26, 0.08, 0.10, 0.10, 0.14, 0.07, 0.03],
    [0.62, 0.04, 0.06, 0.10, 0.09, 0.00, 0.06, 0.03],
])
TYPE_IP, TYPE_OP = 2, 1
REV_TYPE = {1: 5, 2: 7}
RESETTLE_TYPE = {1: 6, 2: 8}
REVERSAL_RATE = 0.006
DSCG_P = np.array([[0.93, 0.02, 0.01, 0.02, 0.005, 0.015],   # 离院方式 1 2 3 4 5 9, ordinary cases
                   [0.86, 0.04, 0.02, 0.03, 0.03, 0.02]])   # cases with a major complication
RESETTLE_SHARE = 0.5


# ---- shared lookups ---------------------------------------------------------------------------------
@dataclass
class Lookups:
    leaf_code: np.ndarray  # object
    leaf_cond: np.ndarray
    leaf_prefix: np.ndarray  # object
    leaf_key: np.ndarray  # cond + cumulative probability (for vectorised draws)
    cond_start: np.ndarray
    cond_rw: np.ndarray
    cond_alos: np.ndarray
    cond_surg: np.ndarray
    cond_type: np.ndarray  # fee structure row
    cond_med: np.ndarray  # med_type index
    cond_demo: np.ndarray  # person pool (POOLS)
    cond_ops: list  # per condition: tuple of op codes
    other_diag: dict  # severity -> np.ndarray of ';'-joined strings
    qc_errs: np.ndarray  # object: possible qc_errs strings
    qc_pairs: np.ndarray  # for sampling: cumulative probabilities of qc_errs strings


def build_lookups(seed: int) -> Lookups:
    leaves, start, cum = condition_leaves()
    cond = np.array([lf.cond for lf in leaves])
    rng = rng_for(seed, "lookups")
    mcc, cc, minor = resolve_codes(MCC_CODES), resolve_codes(CC_CODES), resolve_codes(MINOR_CODES)

    def combos(n, must, k_lo, k_hi):
        out = []
        for _ in range(n):
            k = int(rng.integers(k_lo, k_hi + 1))
            picks = list(rng.choice(must, size=1)) if must else []
            pool = [c for c in cc + minor if c not in picks]
            picks += list(rng.choice(pool, size=max(0, k - len(picks)), replace=False))
            out.append(";".join(picks) if picks else None)
        return np.array(out, dtype=object)

    other = {0: combos(200, mcc, 2, 4), 1: combos(200, cc, 1, 3), 2: combos(200, None, 0, 2)}
    errs = list(QC_ERRORS)
    strings, probs = [], []
    for i, a in enumerate(errs):
        strings.append(a)
        probs.append(QC_ERROR_P[i] * 0.65)
        for j, b in enumerate(errs):
            if j != i:
                strings.append(f"{a};{b}")
                probs.append(QC_ERROR_P[i] * QC_ERROR_P[j] / (1 - QC_ERROR_P[i]) * 0.35)
    probs = np.array(probs) / sum(probs)
    return Lookups(
        leaf_code=np.array([lf.code for lf in leaves], dtype=object), leaf_cond=cond,
        leaf_prefix=np.array([lf.sub for lf in leaves], dtype=object), leaf_key=cond + cum, cond_start=start,
        cond_rw=np.array([c.rw for c in CONDITIONS]), cond_alos=np.array([c.alos for c in CONDITIONS], dtype=float),
        cond_surg=np.array([bool(c.ops) and c.kind != "chemo" for c in CONDITIONS]),
        cond_type=np.array([2 if c.kind == "chemo" else (1 if c.ops else 0) for c in CONDITIONS]),
        cond_med=np.array([IP_52 if c.med_type == "52" else IP_21 for c in CONDITIONS]),
        cond_demo=np.array([POOLS[c.demo] for c in CONDITIONS]),
        cond_ops=[tuple(o for o, _ in c.ops) for c in CONDITIONS],
        other_diag=other, qc_errs=np.array(strings, dtype=object), qc_pairs=np.cumsum(probs))


@dataclass
class Grouping:
    """How a region groups a case: DRG (condition × severity) or DIP (principal diagnosis leaf)."""
    method: str
    codes: np.ndarray  # object: group codes (catalogue order)
    weight: np.ndarray
    pay_std: np.ndarray
    base: np.ndarray  # bool
    by_cond_sev: np.ndarray | None = None  # DRG: [n_cond, 3] -> group index
    by_leaf: np.ndarray | None = None  # DIP: [n_leaf] -> group index
    leaf_rw: np.ndarray | None = None  # DIP: cost weight of a leaf's group (score / 1000)


def build_grouping(world: World, ri: int, lk: Lookups) -> Grouping:
    reg = world.regions[ri]
    if reg.pay_method == "DRG":
        cat = world.drg_catalog[world.drg_catalog["poolarea_no"] == reg.code].reset_index(drop=True)
        pos = {c: i for i, c in enumerate(cat["drg_code"])}
        splits = drg_splits()
        table = np.zeros((len(CONDITIONS), 3), dtype=np.int64)
        for ci, c in enumerate(CONDITIONS):
            for sev in range(3):
                table[ci, sev] = pos[c.adrg + suffix_for(splits[c.adrg], sev)]
        return Grouping("DRG", cat["drg_code"].to_numpy(dtype=object), cat["weight"].to_numpy(float),
                        cat["pay_std"].to_numpy(float), cat["base_group"].to_numpy() == "1", by_cond_sev=table)
    cat = world.dip_catalog[world.dip_catalog["poolarea_no"] == reg.code].reset_index(drop=True)
    pos = {c: i for i, c in enumerate(cat["dip_code"])}
    g = world.dip_groups
    key = {(int(a), b): pos[c] for a, b, c in zip(g["cond"], g["prefix"], g["dip_code"])}
    by_leaf = np.array([key[(int(c), p)] for c, p in zip(lk.leaf_cond, lk.leaf_prefix)])
    score = cat["score"].to_numpy(float)
    return Grouping("DIP", cat["dip_code"].to_numpy(dtype=object), score, cat["pay_std"].to_numpy(float),
                    cat["base_group"].to_numpy() == "1", by_leaf=by_leaf, leaf_rw=score[by_leaf] / 1000.0)


# ---- volumes -------------------------------------------------------------------------------------------
def volume_matrix(world: World, hs: np.ndarray, outpatient: bool = False) -> np.ndarray:
    """Expected settlements per institution and month: size × season × days × growth × ramps × plan."""
    inst = world.inst
    m = np.arange(NM)
    season = SEASON[MONTH_CAL - 1] * MONTH_DAYS / 30.44
    years = (m - 18) / 12.0  # 2025-07 = 1.0
    lam = inst.size[hs, None] * season[None, :] * (1.0 + inst.growth[hs, None]) ** years[None, :]
    for k, h in enumerate(hs):
        if inst.kind[h] == "new_campus":
            lam[k] *= campus_ramp()
        for p in world.planted_at(h):
            if p.rule_id == "CASE_GROWTH_HIGH":
                g = growth_ramp()
                lam[k] *= (1.0 + 0.75 * (g - 1.0)) if outpatient else g
            if p.rule_id == "OPIP_RATIO_LOW":
                lam[k] *= 0.5 if outpatient else 1.5
        if outpatient and not inst.is_pharm[h]:
            lam[k] *= inst.op_ratio[h]
    if outpatient:
        lam *= world.scale.op_factor
    heavy = world.scale.heavy_op if outpatient else world.scale.heavy_ip
    if heavy != 1.0:
        for k, h in enumerate(hs):
            if world.regions[inst.region[h]].code == MAIN_DRG and not inst.is_pharm[h]:
                for mo in HEAVY_MONTHS:
                    lam[k, month_index(mo)] *= heavy
    return lam


def draw_counts(lam: np.ndarray, rng: np.random.Generator, sd: float = 0.04) -> np.ndarray:
    """Monthly counts around the expected volumes: ±4 % month-to-month variation, stochastic rounding.

    Hospital volumes move smoothly rather than as independent Poisson draws, so small clean hospitals
    do not show spurious growth between quarters.
    """
    x = lam * np.exp(rng.normal(0.0, sd, lam.shape) - sd * sd / 2)
    base = np.floor(x)
    return (base + (rng.random(lam.shape) < x - base)).astype(np.int64)


def campus_ramp() -> np.ndarray:
    """The new campus (opened 2025-11-01): nothing before, then 25 % rising to full in ~9 months."""
    k = np.arange(NM) - month_index("2025-11")
    return np.where(k < 0, 0.0, np.minimum(1.0, 0.25 + 0.085 * k))


def growth_ramp() -> np.ndarray:
    """CASE_GROWTH_HIGH: flat, a small rise in May-June 2026, then about double from July 2026."""
    r = np.ones(NM)
    for mo, f in (("2026-05", 1.05), ("2026-06", 1.1), ("2026-07", 2.1), ("2026-08", 2.3), ("2026-09", 2.5)):
        r[month_index(mo)] = f
    return r


def ramp(start: str, full: str) -> np.ndarray:
    """0 up to ``start``, rising linearly to 1 at ``full``."""
    a, b = month_index(start), month_index(full)
    return np.clip((np.arange(NM) - a) / max(1, b - a), 0.0, 1.0)


# ---- people ----------------------------------------------------------------------------------------------
def draw_people(world: World, ri: int, pools: np.ndarray, rng: np.random.Generator, p_out,
                p_cross: float) -> dict:
    """Patients for rows needing ``pools`` (POOLS numbers): local, visitors from
    outside the dataset, or insured of another dataset region (inpatients only, ``p_cross``)."""
    n = len(pools)
    gid = np.zeros(n, dtype=np.int64)
    ins = np.zeros(n, dtype=np.int16)
    insutype = np.zeros(n, dtype=np.int8)
    gend = np.zeros(n, dtype=np.int8)
    birth = np.zeros(n, dtype=np.int64)
    assist = np.zeros(n, dtype=bool)
    u = rng.random(n)
    src = np.where(u < p_out * (1 - p_cross), 1, np.where(u < p_out, 2, 0))  # 0 local, 1 visitor, 2 other region
    others = [i for i in range(len(world.regions)) if i != ri]
    other_pick = rng.integers(0, len(others), size=n)
    uu = rng.random(n)
    for s in (0, 1, 2):
        for k, who in enumerate([world.persons[ri]] if s == 0 else [world.visitors[ri]] if s == 1
                                else [world.persons[o] for o in others]):
            sel_s = (src == s) if s != 2 else (src == 2) & (other_pick == k)
            for pool in np.flatnonzero(np.bincount(pools[sel_s], minlength=len(POOLS))):
                sel = np.flatnonzero(sel_s & (pools == pool))
                if not len(sel):
                    continue
                idx = who.draw(pool, uu[sel])
                gid[sel] = who.gid0 + idx
                ins[sel] = who.admdvs[idx]
                insutype[sel] = who.insutype[idx]
                gend[sel] = who.gend[idx]
                birth[sel] = who.birth[idx]
                assist[sel] = who.assist[idx]
    return dict(psn=gid, ins=ins, insutype=insutype, gend=gend, birth=birth, assist=assist)


# ---- amounts ---------------------------------------------------------------------------------------------
# payment parameters by class (0 op-11, 1 op-14, 2 op-51, 3 pharmacy, 4 inpatient) and level (0..3, 4 pharmacy)
RATIO = {  # share of the policy amount (above the deductible) paid by the pooled fund, [insutype][class][level]
    0: np.array([[0.50, 0.55, 0.60, 0.70, 0.5], [0.70, 0.72, 0.75, 0.78, 0.6], [0.80, 0.80, 0.80, 0.80, 0.6],
                 [0.30, 0.30, 0.30, 0.30, 0.30], [0.85, 0.88, 0.90, 0.92, 0.85]]),
    1: np.array([[0.45, 0.50, 0.55, 0.65, 0.5], [0.60, 0.62, 0.65, 0.70, 0.5], [0.60, 0.60, 0.60, 0.60, 0.5],
                 [0.20, 0.20, 0.20, 0.20, 0.20], [0.65, 0.72, 0.80, 0.85, 0.65]]),
}
DEDUCT_IP = np.array([80000, 60000, 30000, 20000, 0])  # cents


def pay_split(med: np.ndarray, own_share: np.ndarray, insutype: np.ndarray, level: np.ndarray, cls: np.ndarray,
              assist: np.ndarray, rng: np.random.Generator) -> dict:
    """Split total cost (cents) into the settlement's amounts; every identity exact in cents."""
    n = len(med)
    ip = cls == 4
    own = np.floor(med * np.clip(own_share, 0, 0.95)).astype(np.int64)
    rest = med - own
    overl = np.where(ip, np.floor(rest * rng.uniform(0, 0.006, n)), 0).astype(np.int64)
    rest = rest - overl
    pre = np.floor(rest * np.where(ip, rng.uniform(0.04, 0.12, n), rng.uniform(0.0, 0.08, n))).astype(np.int64)
    inscp = rest - pre
    lv = np.minimum(level, 4)
    ratio = np.where(insutype == 0, RATIO[0][cls, lv], RATIO[1][cls, lv])
    ded = np.where(ip, DEDUCT_IP[lv], 0)
    hifp = np.floor(np.maximum(inscp - ded, 0) * ratio).astype(np.int64)
    # 大病保险 above 1.5 万 (residents) / 3 万 (employees) of remaining policy cost
    thr = np.where(insutype == 1, 1_500_000, 3_000_000)
    hifmi = np.where(ip, np.floor(np.maximum(inscp - hifp - thr, 0) * 0.6), 0).astype(np.int64)
    pol_left = np.maximum(inscp - hifp - hifmi, 0)
    maf = np.where(assist, np.floor(pol_left * np.where(ip, 0.7, 0.5)), 0).astype(np.int64)
    oth = np.where(rng.random(n) < 0.003, np.floor((pol_left - maf) * 0.2), 0).astype(np.int64)
    remaining = med - hifp - hifmi - maf - oth
    acct_share = np.select([cls == 3, cls == 4], [rng.uniform(0.6, 1.0, n), rng.uniform(0.0, 0.4, n)],
                           rng.uniform(0.3, 0.9, n))
    acct = np.where(insutype == 0, np.floor(remaining * acct_share), 0).astype(np.int64)
    cash = remaining - acct
    return dict(medfee_sumamt=med, fulamt_ownpay_amt=own, overlmt_selfpay=overl, preselfpay_amt=pre,
                inscp_scp_amt=inscp, hifp_pay=hifp, acct_pay=acct, hifmi_pay=hifmi, maf_pay=maf, oth_pay=oth,
                psn_cash_pay=cash)


def split_fees(med: np.ndarray, ftype: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[n, 8] fee components (cents) adding up exactly to ``med``."""
    base = FEE_SHARE[ftype]
    g = rng.gamma(base * 40.0 + 1e-9)
    sh = g / g.sum(axis=1, keepdims=True)
    parts = np.floor(med[:, None] * sh).astype(np.int64)
    parts[:, 7] += med - parts.sum(axis=1)
    return parts


# ---- inpatient episodes ------------------------------------------------------------------------------------
def _cat(parts: list[dict]) -> dict:
    keys = parts[0].keys()
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def _take(d: dict, idx) -> dict:
    return {k: v[idx] for k, v in d.items()}


def inpatient(world: World, ri: int, lk: Lookups, grp: Grouping) -> dict:
    """All inpatient settlements of a region (originals, reversals, re-settlements) with their
    settlement-list fields; sorted by setl_time."""
    inst = world.inst
    reg = world.regions[ri]
    rng = rng_for(world.seed, "ip", reg.code)
    hs = np.flatnonzero((inst.region == ri) & ~inst.is_pharm)
    lam = volume_matrix(world, hs)
    cnt = draw_counts(lam, rng)
    hosp = np.repeat(np.repeat(hs, NM), cnt.ravel())
    month = np.repeat(np.tile(np.arange(NM), len(hs)), cnt.ravel())
    n = len(hosp)
    end = MONTH_START[month] + (rng.random(n) * MONTH_DAYS[month]).astype(np.int64)
    # case mix: hospitals are contiguous blocks
    cond = np.zeros(n, dtype=np.int64)
    u = rng.random(n)
    offs = np.concatenate([[0], np.cumsum(cnt.sum(axis=1))])
    for k, h in enumerate(hs):
        a, b = offs[k], offs[k + 1]
        if b > a:
            cum = np.cumsum(inst.mix[h])
            cond[a:b] = np.minimum(np.searchsorted(cum, u[a:b] * cum[-1], side="right"), len(CONDITIONS) - 1)
    ep = dict(hosp=hosp, cond=cond, end=end, lock=np.zeros(n, dtype=bool), plant=np.zeros(n, dtype=np.int8))
    ep["leaf"] = _draw_leaf(lk, cond, rng)
    ep["sev"] = _draw_sev(inst.level[hosp], rng)
    ep["los"] = _draw_los(world, lk, ep, rng)
    ep["beg"] = ep["end"] - ep["los"]
    people = draw_people(world, ri, lk.cond_demo[cond], rng, p_out=0.07, p_cross=0.35)
    ep.update(people)

    parts = [ep]
    # natural readmissions (same patient, mostly same hospital, same condition)
    par = np.flatnonzero(rng.random(n) < inst.readmit[hosp])
    if len(par):
        gap = np.where(rng.random(len(par)) < 0.06, rng.integers(1, 4, len(par)),
                       4 + np.minimum(rng.exponential(18.0, len(par)), 86).astype(np.int64))
        ch = _child(world, lk, ep, par, gap, rng, same_leaf_p=0.5)
        move = rng.random(len(par)) < 0.15
        if move.any():  # some are readmitted elsewhere (an established general hospital of the region)
            gen = hs[inst.kind[hs] == "general"]
            w = inst.size[gen] / inst.size[gen].sum()
            ch["hosp"][move] = gen[rng.choice(len(gen), size=int(move.sum()), p=w)]
        parts.append(ch)
    # planted readmissions and split admissions
    for p in (world.planted("READMIT_15D", ri), world.planted("SPLIT_ADMISSION", ri)):
        if p is None:
            continue
        at = np.flatnonzero((ep["hosp"] == p.hosp) & (ep["end"] >= MONTH_START[month_index("2025-01")]))
        if p.rule_id == "READMIT_15D":
            par = at[rng.random(len(at)) < 0.2]
            gap = rng.integers(4, 16, len(par))
            ch = _child(world, lk, ep, par, gap, rng, same_leaf_p=0.0)
            p.params.update(readmit_share=0.2, gap_days="4–15", since="2025-01")
        else:
            par = at[rng.random(len(at)) < 0.15]
            gap = rng.choice([0, 1, 1, 2, 2, 3], size=len(par))
            ch = _child(world, lk, ep, par, gap, rng, same_leaf_p=1.0, los_f=0.7)
            p.params.update(split_share=0.15, gap_days="0–3", same_main_diag=True, since="2025-01")
        ch["plant"][:] = 1
        parts.append(ch)
    g = world.planted("GROUP_ADMISSION", ri)
    if g is not None:
        grp_ep = _group_admissions(world, ri, lk, g, rng)
        # the group's stays replace as many ordinary admissions of the same months: volume unchanged
        gm = np.searchsorted(MONTH_START, grp_ep["end"], side="right") - 1
        em = np.searchsorted(MONTH_START, ep["end"], side="right") - 1
        drop = []
        for mo in np.unique(gm):
            cand = np.flatnonzero((ep["hosp"] == g.hosp) & (em == mo))
            k = min(len(cand), int((gm == mo).sum()))
            drop += list(rng.choice(cand, size=k, replace=False))
        keep0 = np.ones(len(ep["hosp"]), dtype=bool)
        keep0[np.array(drop, dtype=np.int64)] = False
        parts[0] = _take(ep, np.flatnonzero(keep0))
        parts.append(grp_ep)
    ep = _cat(parts)
    keep = ep["end"] <= END_DAY
    ep = _take(ep, np.flatnonzero(keep))
    n = len(ep["hosp"])
    ep["coded_leaf"] = ep["leaf"].copy()
    ep["coded_sev"] = ep["sev"].copy()
    _recode(world, ri, lk, ep, rng)
    # settlement time: the discharge day, office hours
    ep["t"] = ep["end"] * 86400 + rng.integers(8 * 3600 + 1800, 17 * 3600 + 1800, n)
    order = np.argsort(ep["t"], kind="stable")
    ep = _take(ep, order)
    ep["month"] = np.searchsorted(MONTH_START, ep["end"], side="right") - 1
    _ip_amounts(world, ri, lk, grp, ep, rng)
    _ip_list(world, ri, lk, grp, ep, rng)
    # ids: yymm × 1e9 + type × 1e8 + sequence within the month
    first = np.searchsorted(ep["month"], ep["month"], side="left")
    seq = np.arange(n) - first + 1
    yymm = (2024 + ep["month"] // 12 - 2000) * 100 + ep["month"] % 12 + 1
    ep["num"] = yymm.astype(np.int64) * 10 ** 9 + TYPE_IP * 10 ** 8 + seq
    ep["mnum"] = ep["num"].copy()
    ep["med"] = lk.cond_med[ep["cond"]]
    ep["refd"] = np.zeros(n, dtype=bool)
    ep["init"] = np.full(n, -1, dtype=np.int64)
    ep["age"] = (2024 + ep["month"] // 12 - ep["birth"]).clip(0, 110)
    ep["level"] = inst.level[ep["hosp"]]
    ep["cls"] = np.full(n, 4)
    ep["ftype"] = lk.cond_type[ep["cond"]]
    return reversals(ep, TYPE_IP, rng, ip=True)


def _draw_leaf(lk: Lookups, cond: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    q = cond + rng.random(len(cond)) * 0.999999
    return np.minimum(np.searchsorted(lk.leaf_key, q, side="right"), len(lk.leaf_key) - 1)


def _draw_sev(level: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(len(level))
    lv = np.minimum(level, 3)
    return np.where(u < LEVEL_P_MCC[lv], 0, np.where(u < LEVEL_P_MCC[lv] + LEVEL_P_CC[lv], 1, 2)).astype(np.int8)


def _draw_los(world: World, lk: Lookups, ep: dict, rng: np.random.Generator, factor=1.0) -> np.ndarray:
    h = ep["hosp"]
    mu = lk.cond_alos[ep["cond"]] * LEVEL_LOS[world.inst.level[h]] * world.inst.los[h] * SEV_LOS[ep["sev"]] * factor
    los = np.rint(mu * rng.lognormal(-0.08, 0.4, len(h))).astype(np.int64)
    return np.clip(los, 1, 90)


def _child(world, lk, ep, par, gap, rng, same_leaf_p=0.5, los_f=1.0) -> dict:
    ch = _take(ep, par)
    ch = {k: v.copy() for k, v in ch.items()}
    ch["lock"][:] = False
    ch["plant"][:] = 0
    newleaf = _draw_leaf(lk, ch["cond"], rng)
    same = rng.random(len(par)) < same_leaf_p
    ch["leaf"] = np.where(same, ch["leaf"], newleaf)
    ch["sev"] = _draw_sev(world.inst.level[ch["hosp"]], rng)
    ch["beg"] = ep["end"][par] + gap
    ch["los"] = _draw_los(world, lk, ch, rng, los_f)
    ch["end"] = ch["beg"] + ch["los"]
    return ch


def _group_admissions(world: World, ri: int, lk: Lookups, p, rng: np.random.Generator) -> dict:
    """GROUP_ADMISSION: 5 persons admitted together (±1 day) four times in 2026 (three in Q3)."""
    pers = world.persons[ri]
    k = 5
    idx = pers.draw("adult", rng.random(k))
    starts = [MONTH_START[month_index(m)] + d for m, d in (("2026-05", 11), ("2026-07", 6), ("2026-08", 10),
                                                             ("2026-09", 12))]
    cond_key = ["back", "uri", "back", "gastroenteritis"]
    rows = []
    for s, ck in zip(starts, cond_key):
        beg = s + rng.integers(0, 2, k)  # all within one day of each other
        los = rng.integers(4, 8, k)
        rows.append(dict(beg=beg, los=los, cond=np.full(k, COND_INDEX[ck])))
    beg = np.concatenate([r["beg"] for r in rows])
    los = np.concatenate([r["los"] for r in rows])
    cond = np.concatenate([r["cond"] for r in rows])
    m = len(beg)
    who = np.tile(idx, len(starts))
    ep = dict(hosp=np.full(m, p.hosp), cond=cond, end=beg + los, lock=np.ones(m, dtype=bool),
              plant=np.ones(m, dtype=np.int8), leaf=_draw_leaf(lk, cond, rng), sev=np.full(m, 2, dtype=np.int8),
              los=los, beg=beg, psn=pers.gid0 + who, ins=pers.admdvs[who].astype(np.int16),
              insutype=pers.insutype[who], gend=pers.gend[who], birth=pers.birth[who], assist=pers.assist[who])
    p.params.update(persons=k, admissions=len(starts), admissions_in_period=3,
                    admission_dates=[str(np.datetime64(int(s), "D")) for s in starts], window_days=1)
    return ep


def _recode(world: World, ri: int, lk: Lookups, ep: dict, rng: np.random.Generator) -> None:
    """Planted recodings: DRG severity upcoding in EJ1, ICD upcoding within I63; 低标入院 stays."""
    month = np.searchsorted(MONTH_START, ep["end"], side="right") - 1
    p = world.planted("UPCODING_DRG", ri)
    if p is not None:
        t = ramp("2025-09", "2026-07")[month]
        ci = [i for i, c in enumerate(CONDITIONS) if c.adrg == UPCODING_ADRG]
        sel = (ep["hosp"] == p.hosp) & np.isin(ep["cond"], ci) & (ep["sev"] > 0)
        flip = sel & (rng.random(len(month)) < 0.55 * t)
        ep["coded_sev"][flip] = 0
        p.subject = UPCODING_ADRG
        p.params.update(adrg=UPCODING_ADRG, recode_share=0.55, ramp="2025-09 → 2026-07",
                        moved="伴一般/不伴合并症 → 伴严重合并症 (…3/…5 → …1)")
    p = world.planted("UPCODING_ICD", ri)
    if p is not None:
        t = ramp("2025-08", "2026-06")[month]
        i639 = np.flatnonzero(lk.leaf_prefix == "I63.9")
        i633 = np.flatnonzero(lk.leaf_prefix == "I63.3")
        i635 = np.flatnonzero(lk.leaf_prefix == "I63.5")
        sel = (ep["hosp"] == p.hosp) & np.isin(ep["leaf"], i639)
        flip = sel & (rng.random(len(month)) < 0.75 * t)
        to3 = rng.random(len(month)) < 0.55
        new = np.where(to3, i633[rng.integers(0, len(i633), len(month))], i635[rng.integers(0, len(i635), len(month))])
        ep["coded_leaf"][flip] = new[flip]
        p.subject = "I63"
        p.params.update(category="I63", recode_share_of_I63_9=0.75, to={"I63.3": 0.55, "I63.5": 0.45},
                        ramp="2025-08 → 2026-06")
    p = world.planted("LOW_STANDARD_ADMISSION", ri)
    if p is not None:
        low = np.array(["l" in c.flags for c in CONDITIONS])
        sel = (ep["hosp"] == p.hosp) & low[ep["cond"]] & ~ep["lock"]
        short = sel & (rng.random(len(month)) < 0.85)
        ep["los"][short] = rng.integers(1, 3, int(short.sum()))
        ep["beg"][short] = ep["end"][short] - ep["los"][short]
        p.params.update(low_conditions_boost=5.0, short_stay_share=0.85, stay_days="1–2")


def _ip_amounts(world: World, ri: int, lk: Lookups, grp: Grouping, ep: dict, rng: np.random.Generator) -> None:
    inst = world.inst
    reg = world.regions[ri]
    h = ep["hosp"]
    n = len(h)
    lv = inst.level[h]
    cond = ep["cond"]
    rw = lk.cond_rw[cond] if grp.method == "DRG" else grp.leaf_rw[ep["leaf"]]
    los_exp = lk.cond_alos[cond] * LEVEL_LOS[lv] * inst.los[h] * SEV_LOS[ep["sev"]]
    cost = (rw * reg.rate * LEVEL_COST[lv] * inst.cost[h] * SEV_COST[ep["sev"]]
            * (0.55 + 0.45 * ep["los"] / los_exp) * rng.lognormal(-0.045, 0.3, n))
    ep["group"] = (grp.by_cond_sev[cond, ep["coded_sev"]] if grp.method == "DRG" else grp.by_leaf[ep["coded_leaf"]])
    p = world.planted("COST_DEVIATION", ri)
    if p is not None:
        gi = int(np.flatnonzero(grp.codes == p.subject)[0])
        sel = (h == p.hosp) & (ep["group"] == gi) & (ep["end"] >= MONTH_START[month_index("2026-01")])
        cost[sel] *= p.params["cost_factor"]
    med = np.maximum(np.rint(cost * 100), 30000).astype(np.int64)
    own = inst.own[h] * rng.lognormal(-0.1, 0.45, n)
    amt = pay_split(med, own, ep["insutype"], lv, np.full(n, 4), ep["assist"], rng)
    ep.update(amt)


def _ip_list(world: World, ri: int, lk: Lookups, grp: Grouping, ep: dict, rng: np.random.Generator) -> None:
    """Settlement-list fields for every inpatient settlement (``uploaded`` says whether a row exists)."""
    inst = world.inst
    h = ep["hosp"]
    n = len(h)
    month = ep["month"]
    up = inst.upload[h].copy()
    qc = inst.qc[h].copy()
    for rule, arr, val in (("UPLOAD_LOW", up, 0.70), ("QC_PASS_LOW", qc, 0.60)):
        p = world.planted(rule, ri)
        if p is not None:
            sel = (h == p.hosp) & (month >= month_index("2026-01"))
            arr[sel] = val
            p.params.update(rate=val, since="2026-01")
    ep["uploaded"] = (rng.random(n) < up) | ep["lock"]
    ep["qc_ok"] = rng.random(n) < qc
    ep["qc_err"] = np.where(ep["qc_ok"], -1, np.searchsorted(lk.qc_pairs, rng.random(n) * lk.qc_pairs[-1]))
    ep["qc_err"] = np.minimum(ep["qc_err"], len(lk.qc_errs) - 1)
    ep["grouped"] = (rng.random(n) < inst.grouped[h]) | ep["lock"]
    ep["upld_t"] = np.minimum(ep["t"] + rng.integers(6 * 3600, 10 * 86400, n), EXTRACT_DAY * 86400 + 17 * 3600)
    w = grp.weight[ep["group"]]
    pay = grp.pay_std[ep["group"]]
    ratio = ep["medfee_sumamt"] / 100.0 / pay
    u = rng.random(n)
    way = np.where(ratio > 2.5, np.where(u < 0.6, 3, 1), np.where(ratio < 0.35, np.where(u < 0.5, 2, 1), 1))
    way = np.where(rng.random(n) < 0.004, 4, way)
    way = np.where(~ep["grouped"] | ~inst.drg_dip[h], 2, way)
    ep["setl_way"] = way.astype(np.int8)
    ep["weight"] = w
    ep["pay_std"] = pay
    u = rng.random(n)
    cum = np.cumsum(np.where((ep["coded_sev"] == 0)[:, None], DSCG_P[1], DSCG_P[0]), axis=1)
    ep["dscg"] = np.array([1, 2, 3, 4, 5, 9], dtype=np.int8)[np.minimum((u[:, None] > cum).sum(axis=1), 5)]
    k = rng.integers(0, 200, n)
    ep["odiag"] = k  # index into lk.other_diag[coded_sev]
    nops = np.array([len(o) for o in lk.cond_ops])
    ep["op"] = np.where(nops[ep["cond"]] > 0, (rng.random(n) * np.maximum(nops[ep["cond"]], 1)).astype(np.int64), -1)
    ep["fees"] = split_fees(ep["medfee_sumamt"], lk.cond_type[ep["cond"]], rng)


# ---- reversals -------------------------------------------------------------------------------------------
def reversals(rows: dict, typ: int, rng: np.random.Generator, ip: bool = False) -> dict:
    """Reverse ≈ 0.6 % of settlements (refd_setl_flag '1', negative amounts, init_setl_id, later time);
    half of them are settled again (same mdtrt_id, new setl_id, slightly different amount)."""
    n = len(rows["num"])
    delay = rng.integers(600, 8 * 86400, n)
    if ip:
        limit = (END_DAY + 1) * 86400
    else:  # outpatient reversals stay within the settlement's month (no carry-over between files)
        limit = MONTH_START[np.searchsorted(MONTH_START, rows["t"] // 86400, side="right")] * 86400
    cand = (rng.random(n) < REVERSAL_RATE) & ~rows["lock"] & (rows["t"] + delay + 4 * 3600 < limit)
    idx = np.flatnonzero(cand)
    rev = {k: v[idx].copy() for k, v in rows.items()}
    rev["t"] = rev["t"] + delay[idx]
    rev["init"] = rev["num"].copy()
    rev["num"] = rev["num"] + (REV_TYPE[typ] - typ) * 10 ** 8
    rev["refd"][:] = True
    for a in AMOUNTS:
        rev[a] = -rev[a]
    if ip:
        rev["uploaded"][:] = False
    again = idx[rng.random(len(idx)) < RESETTLE_SHARE]
    res = {k: v[again].copy() for k, v in rows.items()}
    pos = np.searchsorted(idx, again)
    res["t"] = rev["t"][pos] + rng.integers(60, 3 * 3600, len(again))
    res["num"] = res["num"] + (RESETTLE_TYPE[typ] - typ) * 10 ** 8
    f = rng.uniform(0.9, 1.0, len(again))
    med = np.maximum(np.rint(res["medfee_sumamt"] * f), 100).astype(np.int64)
    own_share = np.where(res["medfee_sumamt"] > 0, res["fulamt_ownpay_amt"] / np.maximum(res["medfee_sumamt"], 1), 0)
    amt = pay_split(med, own_share, res["insutype"], res["level"], res["cls"], res["assist"], rng)
    res.update(amt)
    if ip:
        res["fees"] = split_fees(med, res["ftype"], rng)
        res["upld_t"] = np.minimum(res["t"] + rng.integers(3600, 5 * 86400, len(again)), EXTRACT_DAY * 86400 + 17 * 3600)
    rows = dict(rows)
    rows["reversed"] = cand
    rev["reversed"] = np.zeros(len(idx), dtype=bool)
    res["reversed"] = np.zeros(len(again), dtype=bool)
    out = _cat([rows, rev, res])
    out["month"] = np.searchsorted(MONTH_START, out["t"] // 86400, side="right") - 1
    if not ip:
        return out
    order = np.lexsort((out["t"], out["month"]))
    return _take(out, order)
