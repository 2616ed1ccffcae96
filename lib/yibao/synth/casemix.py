"""Case mix of the synthetic dataset: the admission mixes per hospital with the planted hospitals' changes
(``prepare``) and the expected cases per group (``expected_group_volume``).
"""
from __future__ import annotations

import numpy as np

from yibao.synth.claims import Grouping, Lookups, growth_ramp
from yibao.synth.conditions import COND_INDEX, CONDITIONS
from yibao.synth.world import LEVEL_P_CC, LEVEL_P_MCC, MONTHS, UPCODING_ADRG, World


def prepare(world: World, lk: Lookups, groupings: list[Grouping]) -> None:
    """Admission mixes per hospital, with the planted hospitals' changes, and the COST_DEVIATION group."""
    from yibao.synth.world import base_mix, specialty_mix
    inst = world.inst
    for h in range(len(inst.level)):
        if inst.is_pharm[h]:
            continue
        inst.mix[h] = specialty_mix(inst.df.at[h, "specialty"]) if inst.kind[h] == "specialty" else base_mix(inst.level[h])
    flag = lambda f: np.array([f in c.flags for c in CONDITIONS])  # noqa: E731
    for p in world.plan:
        mix = inst.mix[p.hosp]
        if p.rule_id == "OPIP_RATIO_LOW":
            mix[flag("b")] *= 1.5
            p.params.update(inpatient_factor=1.5, outpatient_factor=0.5, since="2024-01")
        elif p.rule_id == "BASE_GROUP_TERTIARY":
            mix[flag("b")] *= 5.0
            p.params.update(base_condition_boost=5.0, since="2024-01")
        elif p.rule_id == "UPCODING_DRG":
            mix[[i for i, c in enumerate(CONDITIONS) if c.adrg == UPCODING_ADRG]] *= 8.0
            p.subject = UPCODING_ADRG
            p.params.update(adrg_volume_boost=8.0)
        elif p.rule_id == "UPCODING_ICD":
            mix[COND_INDEX["stroke"]] *= 3.0
            p.subject = "I63"
            p.params.update(category_volume_boost=3.0)
        elif p.rule_id == "LOW_STANDARD_ADMISSION":
            mix[flag("l")] *= 5.0
        elif p.rule_id == "OUT_OF_CATALOG_HIGH":
            inst.own[p.hosp] *= 3.2
            p.params.update(ownpay_factor=3.2, since="2024-01")
        elif p.rule_id == "CASE_GROWTH_HIGH":
            p.params.update(monthly_factor={m: float(f) for m, f in zip(MONTHS[-5:], growth_ramp()[-5:])},
                            outpatient="grows by 3/4 of the inpatient factor")
        inst.mix[p.hosp] = mix / mix.sum()
    for p in world.plan:
        if p.rule_id != "COST_DEVIATION":
            continue
        grp = groupings[p.region]
        vol_region = expected_group_volume(world, lk, grp, np.flatnonzero((inst.region == p.region) & ~inst.is_pharm))
        top = np.argsort(-vol_region, kind="stable")[:10]
        vol_h = expected_group_volume(world, lk, grp, np.array([p.hosp]))
        g = int(top[np.argmax(vol_h[top])])
        p.subject = str(grp.codes[g])
        conds = np.unique(lk.leaf_cond[grp.by_leaf == g]) if grp.method == "DIP" else \
            np.unique(np.nonzero(grp.by_cond_sev == g)[0])
        mix = inst.mix[p.hosp]
        mix[conds] *= 3.0
        inst.mix[p.hosp] = mix / mix.sum()
        p.params.update(group=p.subject, group_volume_boost=3.0, cost_factor=2.2, since="2026-01",
                        region_top10=[str(grp.codes[i]) for i in top])


def expected_group_volume(world: World, lk: Lookups, grp: Grouping, hs: np.ndarray) -> np.ndarray:
    """Expected monthly cases per group (catalogue index) at the given hospitals."""
    inst = world.inst
    vol = np.zeros(len(grp.codes))
    for h in hs:
        lv = min(inst.level[h], 3)
        cases = inst.size[h] * inst.mix[h]
        if grp.method == "DRG":
            psev = np.array([LEVEL_P_MCC[lv], LEVEL_P_CC[lv], 1 - LEVEL_P_MCC[lv] - LEVEL_P_CC[lv]])
            np.add.at(vol, grp.by_cond_sev.ravel(), (cases[:, None] * psev[None, :]).ravel())
        else:
            cum = lk.leaf_key - lk.leaf_cond
            prev = np.concatenate([[0.0], cum[:-1]])
            prev[lk.cond_start[:-1]] = 0.0
            pl = cum - prev
            np.add.at(vol, grp.by_leaf, cases[lk.leaf_cond] * pl)
    return vol
