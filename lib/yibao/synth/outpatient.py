"""Outpatient (11/14/51) and pharmacy (41) settlements of the synthetic dataset, drawn per region-month
(in chunks), and the IMPOSSIBLE_TRAVEL injections; the shared parts are in :mod:`yibao.synth.claims`.
"""
from __future__ import annotations

import numpy as np

from yibao.synth.claims import (
    OP_11,
    OP_14,
    OP_51,
    RX_41,
    TYPE_OP,
    _cat,
    draw_people,
    pay_split,
    reversals,
)
from yibao.synth.conditions import B, P, S, T
from yibao.synth.world import (
    END_DAY,
    MAIN_DRG,
    MONTH_DAYS,
    MONTH_START,
    POOLS,
    World,
    month_index,
    rng_for,
)


OP_MED_P = {  # (11, 14, 51) by level; specialties below
    T: (0.72, 0.25, 0.03), S: (0.72, 0.25, 0.03), P: (0.75, 0.24, 0.01), B: (0.70, 0.30, 0.0)}
OP_MEDIAN = np.array([[260, 180, 120, 75, 0], [520, 400, 300, 220, 0], [320, 300, 280, 250, 0]], dtype=float)


def _op_med_p(world: World) -> tuple[np.ndarray, np.ndarray]:
    if "op_med_p" not in world.cache:
        inst = world.inst
        p11 = np.zeros(len(inst.level))
        p14 = np.zeros(len(inst.level))
        for lvl, (a, b, _) in OP_MED_P.items():
            p11[inst.level == lvl] = a
            p14[inst.level == lvl] = b
        for i in np.flatnonzero(inst.kind == "specialty"):
            p11[i], p14[i] = (1.0, 0.0) if inst.df.at[i, "specialty"] == "口腔" else (0.75, 0.0)
        world.cache["op_med_p"] = (p11, p14)
    return world.cache["op_med_p"]


def outpatient_chunk(world: World, ri: int, m: int, counts: np.ndarray, hs: np.ndarray, chunk: int,
                     inject: dict | None) -> dict:
    """Outpatient (11/14/51) and pharmacy (41) settlements of some institutions in one month."""
    inst = world.inst
    reg = world.regions[ri]
    rng = rng_for(world.seed, "op", reg.code, m, chunk)
    hosp = np.repeat(hs, counts)
    n = len(hosp)
    lv = inst.level[hosp]
    pharm = inst.is_pharm[hosp]
    u = rng.random(n)
    p11, p14 = _op_med_p(world)
    med = np.where(pharm, RX_41, np.where(u < p11[hosp], OP_11, np.where(u < p11[hosp] + p14[hosp], OP_14, OP_51)))
    pools = np.select([med == OP_14, med == OP_51], [POOLS["chronic"], POOLS["Frep"]], POOLS["op"])
    people = draw_people(world, ri, pools, rng, p_out=np.where(pharm, 0.02, 0.04), p_cross=0.0)
    day = MONTH_START[m] + (rng.random(n) * MONTH_DAYS[m]).astype(np.int64)
    secs = np.where(pharm, rng.integers(8 * 3600, 21 * 3600, n),
                    (7.5 * 3600 + rng.beta(2.0, 3.2, n) * 10 * 3600).astype(np.int64))
    rows = dict(hosp=hosp, med=med.astype(np.int8), beg=day, end=day, t=day * 86400 + secs,
                lock=np.zeros(n, dtype=bool), **people)
    if inject is not None and len(inject["hosp"]):
        rows = _cat([rows, {k: inject[k] for k in rows}])
        n = len(rows["hosp"])
        hosp, med, lv, pharm = rows["hosp"], rows["med"], inst.level[rows["hosp"]], inst.is_pharm[rows["hosp"]]
    cls = np.select([med == OP_11, med == OP_14, med == OP_51], [0, 1, 2], 3)
    spec = inst.kind[hosp] == "specialty"
    median = np.where(pharm, 85.0, OP_MEDIAN[np.minimum(cls, 2), np.minimum(lv, 3)])
    median = np.where(spec & (cls == 0), 480.0, median) * inst.cost[hosp]
    sigma = np.select([cls == 0, cls == 3], [0.75, 0.8], 0.6)
    cost = median * rng.lognormal(0, 1, n) ** sigma
    medc = np.maximum(np.rint(cost * 100), 500).astype(np.int64)
    own = inst.own[hosp] * np.where(cls == 1, 0.6, 1.0) * rng.lognormal(-0.15, 0.55, n)
    amt = pay_split(medc, own, rows["insutype"], np.where(pharm, 4, lv), cls, rows["assist"], rng)
    rows.update(amt)
    rows["cls"] = cls
    rows["level"] = np.where(pharm, 4, lv)
    seq = np.arange(n) + 1 + chunk * 10 ** 7
    yymm = (2024 + m // 12 - 2000) * 100 + m % 12 + 1
    rows["num"] = np.int64(yymm) * 10 ** 9 + TYPE_OP * 10 ** 8 + seq
    rows["mnum"] = rows["num"].copy()
    rows["refd"] = np.zeros(n, dtype=bool)
    rows["init"] = np.full(n, -1, dtype=np.int64)
    rows["age"] = (2024 + m // 12 - rows["birth"]).clip(0, 110)
    return reversals(rows, TYPE_OP, rng)


def travel_injections(world: World) -> dict:
    """IMPOSSIBLE_TRAVEL: per planted region, two of its insured settle at an institution of another
    dataset region and, 5–15 minutes later, at the planted hospital — three times each in 2026Q3.

    Returns {(region index, month index): rows for outpatient_chunk}."""
    out: dict = {}
    inst = world.inst
    for ri in range(len(world.regions)):
        p = world.planted("IMPOSSIBLE_TRAVEL", ri)
        if p is None:
            continue
        rng = rng_for(world.seed, "travel", world.regions[ri].code)
        other = (ri + 2) % len(world.regions) if world.regions[ri].code == MAIN_DRG else 0
        far = np.flatnonzero((inst.region == other) & ~inst.is_pharm & (inst.level <= S) & (inst.kind == "general"))
        pers = world.persons[ri]
        who = pers.draw("adult", rng.random(2))
        events = []
        for k, w in enumerate(who):
            days = rng.choice(np.arange(MONTH_START[month_index("2026-07")], END_DAY - 1), size=3, replace=False)
            for d in sorted(days):
                t1 = int(d) * 86400 + int(rng.integers(8 * 3600, 16 * 3600))
                gap = int(rng.integers(5, 16)) * 60
                a = int(far[rng.integers(0, len(far))])
                events.append((w, a, t1, other))
                events.append((w, p.hosp, t1 + gap, ri))
        for w, h, t, r in events:
            m = int(np.searchsorted(MONTH_START, t // 86400, side="right") - 1)
            row = dict(hosp=np.array([h]), med=np.array([OP_11], dtype=np.int8), beg=np.array([t // 86400]),
                       end=np.array([t // 86400]), t=np.array([t]), lock=np.array([True]),
                       psn=np.array([pers.gid0 + w]), ins=np.array([pers.admdvs[w]], dtype=np.int16),
                       insutype=np.array([pers.insutype[w]], dtype=np.int8), gend=np.array([pers.gend[w]], dtype=np.int8),
                       birth=np.array([pers.birth[w]]), assist=np.array([pers.assist[w]]))
            key = (r, m)
            out[key] = _cat([out[key], row]) if key in out else row
        p.params.update(persons=2, incidents=6, minutes="5–15",
                        first_region=world.regions[other].code, second_region=world.regions[ri].code)
    return out
