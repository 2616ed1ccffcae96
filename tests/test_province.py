"""The ``province`` synthetic scale: twelve pooling regions of one province (≥ 10 for the scale benchmark),
each with its own institutions and insured persons; the three regions of the other scales unchanged."""
from __future__ import annotations

import numpy as np

from yibao.synth import world as w


def test_province_has_twelve_distinct_regions_of_both_methods():
    regions = w.regions_of(w.SCALES["province"])
    assert len(regions) == 12
    assert len({r.code for r in regions}) == 12 and len({r.name for r in regions}) == 12
    assert {r.pay_method for r in regions} == {"DRG", "DIP"}
    assert regions[:3] == w.REGIONS  # the first three are the regions of tiny / small / medium / large
    assert not set(r.code for r in regions) & set(w.OUTSIDE_ADMDVS)  # 异地 codes stay outside the dataset
    assert w.regions_of(w.SCALES["small"]) == w.REGIONS


def test_every_region_has_its_own_institutions_and_persons():
    sca = w.SCALES["province"]
    inst, _ = w.build_institutions(1, sca)
    regions = w.regions_of(sca)
    codes = list(inst.codes)
    assert len(codes) == len(set(codes))
    for ri, reg in enumerate(regions):
        mine = [c for c, r in zip(codes, inst.region) if r == ri]
        assert mine and all(c.startswith(f"H{reg.code}") or c.startswith(f"P{reg.code}") for c in mine)
        # a copy of its template region in structure: the same roster (small scale) as the template
        template = next(t for t in w.REGIONS if t.pay_method == reg.pay_method and t.kind == reg.kind)
        assert sca.roster[reg.code] == w.SCALES["small"].roster[template.code]
    local, visitors, admdvs = w.build_persons(1, sca)
    assert admdvs[:12] == tuple(r.code for r in regions)
    spans = sorted((p.gid0, p.gid0 + p.n) for p in local + visitors)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # person ids never shared by two pools
    assert all(p.gid0 + p.n < 10 ** 10 for p in local + visitors)  # psn_no keeps its 10 (zero-padded) digits
    assert all(np.all(p.admdvs[:5] == ri) for ri, p in enumerate(local))
