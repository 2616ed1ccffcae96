"""Yardsticks for a hospital whose level has too few peers (issue 13, Must 6).

A rule that compares a hospital with the median of its level group cannot do so when the region has fewer
than the rule's minimum number of qualifying hospitals of that level (common for county-level pooling: one or
two 三级 hospitals). Instead of comparing the hospital with hospitals of other levels, or saying nothing, the
rule then measures it against a **yardstick**, in the order the rule gives (``T[rule]["yardsticks"]``):

``reference``  a provincial reference for the rule and the hospital's level, given in ``params/regions.yaml``
               (``reference_books:``, chosen by ``reference_book:`` under ``defaults`` or a region) with its
               source document — cited in the message;
``region``     the region's all-level rate: the pooled rate of all the region's other qualifying hospitals
               (a persistent anomaly is found, which the hospital's history would hide);
``history``    the hospital's own value in the same period a year earlier (when that period meets the rule's
               minimum volume) — used when the region has no other qualifying hospital (QC_PASS_LOW and
               UPLOAD_LOW, which compare with the whole region anyway, go from the reference to the history).

The default order is reference → region → history (``T[rule]["yardsticks"]``); COST_DEVIATION's reference is
the group's 支付标准 in the region's catalogue, CASE_GROWTH_HIGH's history is the growth itself.

The test is on proportions ``k / n`` (cases with the property / cases): a one-sample binomial z against a
reference, a two-proportion z against the hospital's history or the region's other hospitals; the relative
deviation is measured in the metric's own units, and the rule's severity grades apply unchanged. The message
says which yardstick was used: "本统筹区三级医院不足5家，无法与同级比较，以本院去年同期（2.10%）为参照".
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from yibao import PROJECT_DIR
from yibao.errors import YibaoError
from yibao.findings.stats import two_proportion_z

KINDS = ("reference", "history", "region")


def regions_yaml() -> Path:
    """The regions file (``YIBAO_REGIONS_YAML`` names another one: tests, a data office's own settings)."""
    return Path(os.environ.get("YIBAO_REGIONS_YAML") or PROJECT_DIR / "params" / "regions.yaml")


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> dict:
    import yaml
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


@dataclass(frozen=True)
class References:
    """A region's provincial references: ``value(rule_id, level)`` in the metric's units, or None."""
    document: str = ""
    table: dict = field(default_factory=dict)

    def value(self, rule_id: str, level: str) -> float | None:
        e = self.table.get(rule_id)
        if not isinstance(e, dict):
            return None
        v = e.get(level, e.get("全部"))
        try:
            return None if v in (None, "") else float(v)
        except (TypeError, ValueError):
            raise YibaoError(f"params/regions.yaml · reference_books · {rule_id}.{level} · {v!r} 不是数字 "
                             f"(rule: numeric reference)") from None


def references(region: str, path: Path | None = None) -> References:
    """The region's reference book (``regions.<code>.reference_book``, else ``defaults.reference_book``);
    empty when none is chosen or the file is absent."""
    path = Path(path) if path else regions_yaml()
    if not path.is_file():
        return References()
    cfg = _load(str(path), path.stat().st_mtime)
    regs = cfg.get("regions") or {}
    reg = regs.get(str(region)) or regs.get(_int(region)) or {}
    key = reg["reference_book"] if "reference_book" in reg else (cfg.get("defaults") or {}).get("reference_book")
    if not key:
        return References()
    books = cfg.get("reference_books") or {}
    if key not in books:
        raise YibaoError(f"{path} · reference_book · 统筹区 {region} 的参考值表 {key!r} 未在 reference_books 中定义 "
                         f"(rule: reference_book must name an entry of reference_books)")
    book = books[key] or {}
    return References(str(book.get("document") or key), {k: v for k, v in book.items() if k != "document"})


def _int(s):
    try:
        return int(s)
    except (TypeError, ValueError):
        return s


@dataclass
class Spec:
    """How a rule's metric maps to a proportion, for the yardstick tests.

    ``k`` / ``n`` name the count columns (the proportion p = k / n); ``value`` maps p to the metric's units
    and ``prop`` maps a value in the metric's units back to p (defaults: percent); ``bad_high`` says whether a
    high p is the direction of concern; ``hist`` holds the same counts a year earlier (fixmedins_code, k, n);
    ``min_n`` is the rule's minimum volume (a history below it is no yardstick)."""
    rule_id: str
    k: str
    n: str
    bad_high: bool
    order: tuple = KINDS
    hist: pd.DataFrame | None = None
    min_n: float = 0
    value: Callable[[float], float] = lambda p: p * 100
    prop: Callable[[float], float] = lambda v: v / 100


def few_note(level: str, min_peers: int, whole_region: bool = False, what: str = "达到样本量要求的") -> str:
    """'本统筹区三级医院中达到样本量要求的不足5家，无法与同级比较' (the reason a yardstick is used)."""
    if whole_region:
        return f"本统筹区{what}医院不足{min_peers}家，无法相互比较"
    return f"本统筹区{level}医院中{what}不足{min_peers}家，无法与同级比较"


def label(kind: str, refs: References) -> str:
    return {"reference": f"省级参考值（{refs.document}）" if refs.document else "省级参考值",
            "history": "本院去年同期", "region": "全统筹区其他医院合计"}[kind]


def one_sample_z(k: float, n: float, p0: float) -> float:
    """z of k successes out of n against a known rate p0 (capped away from 0 and 1 by 1/(2n))."""
    if n <= 0:
        return 0.0
    p0 = min(max(p0, 1 / (2 * n)), 1 - 1 / (2 * n))
    return (k / n - p0) / math.sqrt(p0 * (1 - p0) / n)


def measure(ctx, spec: Spec, row, others: pd.DataFrame, direction: str) -> dict | None:
    """The first yardstick of ``spec.order`` available for one hospital (``row``: its counts and level;
    ``others``: the region's other qualifying hospitals with their counts): dict(kind, bench (metric units),
    z (larger = worse), rel (relative deviation in the direction of concern), peer_text) or None."""
    k, n = float(getattr(row, spec.k)), float(getattr(row, spec.n))
    if n <= 0:
        return None
    v = spec.value(k / n)
    refs = getattr(ctx, "references", None) or References()
    sign = 1.0 if spec.bad_high else -1.0
    for kind in spec.order:
        if kind == "reference":
            bench = refs.value(spec.rule_id, str(getattr(row, "lv_group", "")))
            if bench is None:
                continue
            z = sign * one_sample_z(k, n, spec.prop(bench))
        elif kind == "history":
            h = spec.hist
            if h is None or h.empty or row.fixmedins_code not in set(h["fixmedins_code"]):
                continue
            hr = h[h["fixmedins_code"] == row.fixmedins_code].iloc[0]
            k0, n0 = float(hr["k"]), float(hr["n"])
            if n0 <= 0 or n0 < spec.min_n:
                continue
            bench = spec.value(k0 / n0)
            z = sign * two_proportion_z(k, n, k0, n0)
        else:
            k0, n0 = float(others[spec.k].sum()), float(others[spec.n].sum())
            if n0 <= 0:
                continue
            bench = spec.value(k0 / n0)
            z = sign * two_proportion_z(k, n, k0, n0)
        if direction == "high":
            rel = v / bench - 1 if bench > 0 else (np.inf if v > 0 else 0.0)
        else:
            rel = 1 - v / bench if bench > 0 else 0.0
        return dict(kind=kind, bench=bench, z=z, rel=rel, peer_text=label(kind, refs))
    return None


def apply(ctx, df: pd.DataFrame, spec: Spec, direction: str, min_peers: int) -> pd.DataFrame:
    """Replace the peer comparison of the rows marked ``few`` (their level group is smaller than
    ``min_peers``) by the rule's yardstick: ``median`` becomes the yardstick's value, ``z``/``rel``/``diff``
    its test, ``peer_text`` its name, ``few_note`` the reason; rows without any yardstick get z = 0."""
    df = df.copy()
    if "few" not in df:
        df["few"] = False
    df["few_note"] = ""
    df["yardstick"] = ""
    for i, r in df[df["few"].astype(bool)].iterrows():
        row = type("Row", (), dict(r.items()))
        others = df[df["fixmedins_code"] != r["fixmedins_code"]]
        m = measure(ctx, spec, row, others, direction)
        df.at[i, "few_note"] = few_note(str(r.get("lv_group", "")), min_peers, bool(r.get("whole_region", False)))
        if m is None:
            df.loc[i, ["z", "rel", "diff"]] = 0.0
            df.at[i, "yardstick"] = "none"
            continue
        v = spec.value(float(r[spec.k]) / float(r[spec.n]))
        df.at[i, "median"] = m["bench"]
        df.at[i, "z"] = m["z"]
        df.at[i, "rel"] = m["rel"]
        df.at[i, "diff"] = (v - m["bench"]) if direction == "high" else (m["bench"] - v)
        df.at[i, "peer_text"] = m["peer_text"]
        df.at[i, "peer_group"] = m["peer_text"]
        df.at[i, "yardstick"] = m["kind"]
    return df


def bench_text(r, f) -> str:
    """The benchmark clause of a message: '同级（二级）医院中位数为9.6', or for a yardstick row
    '本统筹区三级医院不足5家，无法与同级比较，以本院去年同期（9.6）为参照'."""
    ys = getattr(r, "yardstick", "") or ""
    if ys and ys != "none":
        return f"{r.few_note}，以{r.peer_text}（{f(r.median)}）为参照"
    return f"{r.peer_text}中位数为{f(r.median)}"
