"""``yibao demo`` runs its region jobs as one batch, longest first (docs/scale.md, make demo)."""
from __future__ import annotations

from yibao.batch import demo
from yibao.batch.runner import Job
from yibao.data.warehouse import Warehouse


def test_the_demo_batch_starts_with_the_largest_regions_longest_kinds(small_data):
    with Warehouse(small_data) as wh:
        size = {r: len(wh.institutions(r, hospitals_only=True)) for r in wh.regions()["poolarea_no"]}
    big, small = max(size, key=size.get), min(size, key=size.get)
    assert size[big] > size[small]
    jobs = [Job(r, p, k, t) for r in (small, big)
            for p, k, t in (("2026-09", "monthly", None), ("2026Q3", "quarterly", None), ("2025", "annual", None),
                            ("2026Q3", "topic", "EJ1"))]
    got = [(j.region, j.kind) for j in demo.longest_first(jobs, small_data)]
    assert got[:2] == [(big, "annual"), (big, "quarterly")]
    assert got[0] == (big, "annual") and got[-1] == (small, "monthly")
    assert sorted(got) == sorted((j.region, j.kind) for j in jobs)  # every job, once
