"""Robust peer statistics for the findings engine (问题警示, handbook 六(三) 2 排序与分布, 6 比较分析).

A hospital is compared with its peers — the region's hospitals of the same level group (三级 / 二级 /
一级 / 基层/无等级) that meet the rule's minimum volume — by the peer **median** and the **MAD**
(median absolute deviation, scaled by 1.4826 so that it estimates a standard deviation for normal
data). The robust z-score is ``z = (value − median) / MAD_eff`` with a floor on the MAD::

    MAD_eff = max(1.4826 × MAD, floor_abs, floor_rel × |median|)

so that near-identical peers (MAD ≈ 0) do not turn a trivial difference into an absurd z-score.
Ratios (门诊住院人次比, 次均费用) are compared on the log scale (a halving counts as much as a
doubling); shares on their own scale in percentage points.

Peer groups smaller than ``min_peers`` are widened: 一级 and 基层/无等级 hospitals are pooled
(一级及以下). A level still too small is marked ``few`` (its statistics are those of all the region's
qualifying hospitals, 全统筹区): the rules replace that comparison by a yardstick
(:mod:`yibao.findings.yardstick`: a provincial reference, the region's other hospitals' pooled rate, the
hospital's history). The benchmark label in each message names the group or yardstick used.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAD_SCALE = 1.4826
SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class Grade:
    """When a deviation is a finding and how severe it is.

    A finding needs ``z ≥ z_low`` *and* a relative deviation ``rel ≥ rel_low``; it is ``medium`` from
    ``z ≥ z_med`` and ``rel ≥ rel_med``; ``high`` from ``z ≥ z_high``, ``rel ≥ rel_high`` and a volume of
    at least ``high_volume_factor`` × the rule's minimum volume.
    """
    z_low: float = 3.0
    z_med: float = 3.5
    z_high: float = 5.0
    rel_low: float = 0.3
    rel_med: float = 0.3
    rel_high: float = 0.5
    high_volume_factor: float = 2.0

    def severity(self, z: float, rel: float, volume: float, min_volume: float) -> str | None:
        if z is None or rel is None or np.isnan(z) or np.isnan(rel):
            return None  # (rel = +inf when the peer median is 0: any excess is relative infinity)
        if z >= self.z_high and rel >= self.rel_high and volume >= self.high_volume_factor * min_volume:
            return "high"
        if z >= self.z_med and rel >= self.rel_med:
            return "medium"
        if z >= self.z_low and rel >= self.rel_low:
            return "low"
        return None


def peer_label(group: str) -> str:
    if group == "全统筹区":
        return "全统筹区医院"
    if group == "一级及以下":
        return "一级及以下医院"
    return f"同级（{group}）医院"


LOW_LEVELS = ("一级", "基层/无等级")


def _peer_groups(levels: pd.Series, min_peers: int) -> pd.Series:
    """Map each hospital's level group to the comparison group actually used (see module doc)."""
    counts = levels.value_counts()
    out = levels.astype(object).copy()
    n_low = int(sum(counts.get(k, 0) for k in LOW_LEVELS))
    for lv, n in counts.items():
        if n >= min_peers:
            continue
        if lv in LOW_LEVELS and n_low >= min_peers:
            out[levels == lv] = "一级及以下"
        else:
            out[levels == lv] = "全统筹区"
    return out


def members(out: pd.DataFrame, group: str, level_col: str, forced: bool) -> pd.DataFrame:
    """The rows a comparison group's statistics are computed over."""
    if forced:
        return out[out["peer_group"] == group]
    if group == "全统筹区":
        return out
    if group == "一级及以下":
        return out[out[level_col].isin(LOW_LEVELS)]
    return out[out[level_col] == group]


def group_stat(xs: np.ndarray, *, scale: str, floor_abs: float, floor_rel: float,
               se: np.ndarray | None = None) -> tuple[float, float]:
    """(median, between-hospital spread τ) of a comparison group on the comparison scale (see
    :func:`robust_compare`)."""
    m = float(np.median(xs))
    mad = float(np.median(np.abs(xs - m))) * MAD_SCALE
    floor = max(floor_abs, floor_rel) if scale == "log" else max(floor_abs, floor_rel * abs(m))
    if se is not None:
        noise = float(np.median(np.square(se)))
        return m, max(float(np.sqrt(max(mad ** 2 - noise, 0.0))), floor)
    return m, max(mad, floor)


def robust_compare(df: pd.DataFrame, col: str, *, direction: str, scale: str = "linear",
                   floor_abs: float = 0.0, floor_rel: float = 0.0, min_peers: int = 5,
                   level_col: str = "lv_group", group_col: str | None = None,
                   se_col: str | None = None) -> pd.DataFrame:
    """Add peer statistics to ``df`` (one row per eligible hospital).

    Columns added: ``peer_group`` (comparison group), ``peer_n``, ``median`` (benchmark, in the
    value's units), ``mad_eff`` (spread used, on the comparison scale), ``z`` (robust z in the direction
    of concern, so larger = worse), ``rel`` (relative deviation in that direction: value/median − 1 for
    ``direction='high'``, 1 − value/median for ``'low'``) and ``diff`` (value − median in that direction,
    in the value's units).

    ``group_col`` (optional) forces the comparison groups (e.g. specialty hospitals with their own
    kind); otherwise level groups widened as in the module doc (一级及以下, then 全统筹区 = every row).

    ``se_col`` (optional): the sampling standard error of each row's value on the comparison scale (e.g.
    sd/√n of a mean). The peer spread is then split into a between-hospital part τ (robust, floored)
    and sampling noise, and each row's spread is ``sqrt(τ² + se²)``: a large hospital's precise value is
    judged more tightly than a small one's noisy value.
    """
    out = df.copy()
    if out.empty:
        for c in ("peer_group", "peer_n", "median", "mad_eff", "z", "rel", "diff", "few"):
            out[c] = pd.Series(dtype="object" if c in ("peer_group", "few") else "float64")
        return out
    forced = group_col is not None
    out["peer_group"] = out[group_col] if forced else _peer_groups(out[level_col], min_peers)
    # a level group too small even after pooling 一级 with 基层: comparing it with every level is no peer
    # comparison; the rule's yardstick (yibao.findings.yardstick) takes over for these rows
    out["few"] = False if forced else (out["peer_group"] == "全统筹区")
    vals = out[col].astype(float)
    out["_x"] = np.log(np.maximum(vals, 1e-9)) if scale == "log" else vals
    stats = {}
    for g in sorted(out["peer_group"].unique(), key=str):
        sub = members(out, g, level_col, forced)
        m, tau = group_stat(sub["_x"].to_numpy(dtype=float), scale=scale, floor_abs=floor_abs, floor_rel=floor_rel,
                            se=sub[se_col].to_numpy(dtype=float) if se_col else None)
        stats[g] = (m, tau, len(sub))
    mx = out["peer_group"].map({g: v[0] for g, v in stats.items()}).astype(float)
    tau = out["peer_group"].map({g: v[1] for g, v in stats.items()}).astype(float)
    out["peer_n"] = out["peer_group"].map({g: v[2] for g, v in stats.items()}).astype(int)
    out["median"] = np.exp(mx) if scale == "log" else mx
    spread = np.sqrt(tau ** 2 + out[se_col].astype(float) ** 2) if se_col else tau
    out["mad_eff"] = spread.where(spread > 0, 1e-9)
    sign = 1.0 if direction == "high" else -1.0
    out["z"] = sign * (out["_x"] - mx) / out["mad_eff"]
    med = out["median"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if direction == "high":
            rel = np.where(med > 0, vals / med - 1.0, np.where(vals > 0, np.inf, 0.0))
        else:
            rel = np.where(med > 0, 1.0 - vals / med, 0.0)
    out["rel"] = rel
    out["diff"] = sign * (vals - med)
    # fewer than 3 in the comparison group: a hospital would be compared with itself, nothing to say
    out.loc[out["peer_n"] < 3, ["z", "rel", "diff"]] = 0.0
    return out.drop(columns="_x")


def two_proportion_z(k1: float, n1: float, k0: float, n0: float) -> float:
    """z statistic of p1 − p0 for two independent proportions (pooled variance); 0 if undefined."""
    if n1 <= 0 or n0 <= 0:
        return 0.0
    p1, p0 = k1 / n1, k0 / n0
    p = (k1 + k0) / (n1 + n0)
    var = p * (1 - p) * (1 / n1 + 1 / n0)
    if var <= 0:
        return 0.0 if p1 == p0 else math.copysign(99.0, p1 - p0)
    return (p1 - p0) / math.sqrt(var)


def poisson_sf(k: int, mu: float) -> float:
    """P(X ≥ k) for X ~ Poisson(mu)."""
    if k <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    term = math.exp(-mu)
    cdf = term
    for i in range(1, k):
        term *= mu / i
        cdf += term
    return max(0.0, 1.0 - cdf)


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p), summed in log space (no scipy)."""
    import math
    k, n = int(k), int(n)
    if k >= n:
        return 1.0
    if k < 0:
        return 0.0
    if p <= 0:
        return 1.0
    if p >= 1:
        return 0.0
    lp, lq = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq
             for i in range(k + 1)]
    m = max(terms)
    return min(1.0, math.exp(m) * sum(math.exp(t - m) for t in terms))


def binomial_band_p(k: float, n: float, median_pct: float) -> float:
    """How surprising ``k`` successes out of ``n`` are if the hospital's true rate were the peers' median:
    P(X ≤ k) under Binomial(n, p₀), p₀ = median capped at 1 − 1/(2n) (a median of 100 % would make any
    single failure 'impossible'). Small values mean the low rate is not the noise of a small hospital."""
    n = int(round(float(n)))
    if n <= 0:
        return 1.0
    p0 = min(float(median_pct) / 100.0, 1.0 - 1.0 / (2 * n))
    return binom_cdf(int(round(float(k))), n, p0)
