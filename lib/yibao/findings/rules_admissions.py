"""Findings rules on admissions: READMIT_15D, SPLIT_ADMISSION, LOW_STANDARD_ADMISSION, GROUP_ADMISSION and
IMPOSSIBLE_TRAVEL (person-level work in SQL; counts and dates only). Shared context: :mod:`yibao.findings.rules`.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from yibao import fmt
from yibao.findings import yardstick
from yibao.findings.rules import (
    T,
    Ctx,
    Spec,
    history,
    impact_txt,
    _capped,
    _catalog_table,
    _hosp_frame,
    finding,
    mlist,
    peer_compare,
)
from yibao.findings.stats import poisson_sf
from yibao.data.warehouse import lit


def _readmissions(ctx: Ctx, months: list[str] | None = None) -> pd.DataFrame:
    """Per hospital: admissions in the months (default: the period) and same-hospital readmissions by kind
    (see the rules), with the fund payments of those readmissions (``split_fund``, ``readmit_fund``)."""
    tr, ts = T["READMIT_15D"]["days"], T["SPLIT_ADMISSION"]["days"]
    split = f"gap BETWEEN 0 AND {ts} AND diag3 = prev_diag3"
    readmit = f"gap BETWEEN 0 AND {tr} AND NOT (gap <= {ts} AND diag3 IS NOT NULL AND diag3 = prev_diag3)"
    return ctx.df(f"""
        WITH x AS (
            SELECT fixmedins_code, month, diag3, begndate, fund,
                   lag(enddate) OVER w AS prev_end, lag(diag3) OVER w AS prev_diag3
            FROM {ctx.ip} WHERE psn_no IS NOT NULL AND begndate IS NOT NULL
            WINDOW w AS (PARTITION BY psn_no, fixmedins_code ORDER BY begndate, enddate, setl_time, setl_id)),
        y AS (SELECT *, date_diff('day', prev_end, begndate) AS gap FROM x WHERE month IN {mlist(months or ctx.cur)})
        SELECT fixmedins_code, count(*) AS adm,
               sum(CASE WHEN {split} THEN 1 ELSE 0 END) AS split,
               sum(CASE WHEN {split} THEN fund ELSE 0 END) AS split_fund,
               sum(CASE WHEN {readmit} THEN 1 ELSE 0 END) AS readmit,
               sum(CASE WHEN {readmit} THEN fund ELSE 0 END) AS readmit_fund
        FROM y GROUP BY 1""")


def _rate_rule(ctx: Ctx, df: pd.DataFrame, rule_id: str, count_col: str, metric: str, text, counts=None,
               what: str = "") -> list[dict]:
    """A rate per 100 admissions far above same-level peers (or the yardstick when they are few); the
    estimated amount is the events above the yardstick's rate × the hospital's mean fund payment per event
    (``<count_col>_fund``)."""
    t = T[rule_id]
    df = _hosp_frame(ctx, df)
    df = df[df["adm"] >= t["min_adm"]].copy()
    df["rate"] = df[count_col] / df["adm"] * 100
    spec = Spec(rule_id, count_col, "adm", bad_high=True, order=t["yardsticks"],
                hist=history(ctx, counts, count_col, "adm", d_min=("adm", t["min_adm"])) if counts else None)
    df = peer_compare(ctx, df, "rate", direction="high", floor_abs=t["floor_abs"], floor_rel=t["floor_rel"],
                      min_peers=t["min_peers"], spec=spec)
    out = []
    for r in df.itertuples():
        k = getattr(r, count_col)
        if k < t["min_events"]:
            continue
        sev = _capped(t["grade"].severity(r.z, r.rel, r.adm, t["min_adm"]), r.special_note)
        if not sev:
            continue
        excess = k - r.adm * r.median / 100
        fund = getattr(r, f"{count_col}_fund", None)  # the events' fund payments (None: no amount)
        impact = excess * fund / k if fund is not None and excess > 0 and k > 0 else None
        itxt = impact_txt(impact, f"按参照值估算超出约{fmt.count(excess)}人次，按其例均统筹基金支付计", what)
        out.append(finding(ctx, rule_id, r.fixmedins_code, "", metric, r.rate, r.median, sev, text(r, k, itxt),
                           impact=impact, peer_group=r.peer_text, volume=r.adm, z=r.z,
                           annotation="专科医院" if r.special_note else ""))
    return out


def readmit_15d(ctx: Ctx) -> list[dict]:
    """15天内再入院率: admissions in the period of a person discharged from the same hospital 0–15 days
    earlier (excluding the ≤3-day same-diagnosis cases reported under SPLIT_ADMISSION), per 100 admissions,
    far above same-level peers (handbook 附录2 (三) 3)."""
    d = T["READMIT_15D"]["days"]
    return _rate_rule(ctx, _readmissions(ctx), "READMIT_15D", "readmit", f"{d}天内再入院率(%)", lambda r, k, itxt: (
        f"{ctx.period.label}{ctx.name(r.fixmedins_code)}{d}天内再入院率为{fmt.pct(r.rate)}（入院{fmt.count(r.adm)}人次中"
        f"{fmt.count(k)}人次为出院后{d}天内再次入住本院），{yardstick.bench_text(r, fmt.pct)}，"
        f"明显偏高{r.special_note}{itxt}，请核查是否存在不合理的重复住院并书面说明。"),
        counts=_readmissions, what="再入院统筹基金支付")


def split_admission(ctx: Ctx) -> list[dict]:
    """分解住院: admissions in the period of a person discharged from the same hospital 0–3 days earlier
    with the same main-diagnosis category, per 100 admissions, far above same-level peers."""
    d = T["SPLIT_ADMISSION"]["days"]
    return _rate_rule(ctx, _readmissions(ctx), "SPLIT_ADMISSION", "split", f"{d}天内同诊断再入院率(%)",
                      lambda r, k, itxt: (
        f"{ctx.period.label}{ctx.name(r.fixmedins_code)}有{fmt.count(k)}人次在出院后{d}天内以相同主要诊断类目再次入住"
        f"本院，占入院人次的{fmt.pct(r.rate)}，{yardstick.bench_text(r, fmt.pct)}，疑似分解住院"
        f"{r.special_note}{itxt}，请逐例核查并书面说明。"), counts=_readmissions, what="第二次住院的统筹基金支付")


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
    low = f"coalesce(i.weight, c.weight) <= {qw!r} AND i.ipt_days <= {t['max_days']}"

    def counts(ctx_: Ctx, months: list[str]) -> pd.DataFrame:
        return ctx_.df(f"""SELECT i.fixmedins_code, count(*) AS adm,
                               sum(CASE WHEN {low} THEN 1 ELSE 0 END) AS low,
                               sum(CASE WHEN {low} THEN i.fund ELSE 0 END) AS low_fund
                        FROM {ctx_.ip} i LEFT JOIN {cat} c ON c.code = i.grp
                        WHERE i.month IN {mlist(months)} AND i.grp_stas = '1' AND i.grp IS NOT NULL GROUP BY 1""")
    df = _hosp_frame(ctx, counts(ctx, ctx.cur))
    df = df[df["adm"] >= t["min_grouped"]].copy()
    df["rate"] = df["low"] / df["adm"] * 100
    spec = Spec("LOW_STANDARD_ADMISSION", "low", "adm", bad_high=True, order=t["yardsticks"],
                hist=history(ctx, counts, "low", "adm", d_min=("adm", t["min_grouped"])))
    df = peer_compare(ctx, df, "rate", direction="high", floor_abs=t["floor_abs"], floor_rel=t["floor_rel"],
                      min_peers=t["min_peers"], spec=spec)
    wname = "权重" if ctx.pay_method == "DRG" else "分值"
    out = []
    for r in df.itertuples():
        if r.low < t["min_events"]:
            continue
        sev = _capped(t["grade"].severity(r.z, r.rel, r.adm, t["min_grouped"]), r.special_note)
        if not sev:
            continue
        excess = r.low - r.adm * r.median / 100
        impact = excess * r.low_fund / r.low if excess > 0 and r.low > 0 else None
        msg = (f"{ctx.period.label}{ctx.name(r.fixmedins_code)}低{wname}病组（{wname}≤{fmt.ratio(qw, 2)}）且住院不超过"
               f"{t['max_days']}天的病例{fmt.count(r.low)}例，占入组病例的{fmt.pct(r.rate)}，"
               f"{yardstick.bench_text(r, fmt.pct)}，明显偏高{r.special_note}，疑似低标准入院"
               f"{impact_txt(impact, f'按参照值估算超出约{fmt.count(excess)}例，按此类病例例均统筹基金支付计')}，"
               f"请核查入院指征并书面说明。")
        out.append(finding(ctx, "LOW_STANDARD_ADMISSION", r.fixmedins_code, "", "低权重短住院病例占比(%)", r.rate,
                           r.median, sev, msg, impact=impact, peer_group=r.peer_text, volume=r.adm, z=r.z,
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
        WITH adm AS (SELECT psn_no, fixmedins_code, begndate, sum(fund) AS fund FROM {ctx.ip}
                     WHERE psn_no IS NOT NULL AND begndate IS NOT NULL AND month IN {mlist(months)}
                     GROUP BY 1, 2, 3),
             freq AS (SELECT psn_no, fixmedins_code FROM adm GROUP BY 1, 2
                      HAVING count(*) BETWEEN {k_min} AND {int(t['max_admissions'])})
        SELECT dense_rank() OVER (ORDER BY adm.psn_no) AS pid, adm.fixmedins_code, adm.begndate, adm.fund
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
        dates = ctx.df(f"SELECT pid, fixmedins_code, begndate, fund FROM {tok} WHERE pid IN ({', '.join(map(str, ids))}) "
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
            cluster.append((day, int(row.pid), float(row.fund or 0.0)))
        if cluster:
            out_.append(cluster)
        return [c for c in out_ if len({x[1] for x in c}) >= p_min]

    pstart, pend = ctx.period.start, ctx.period.end
    per_hosp: dict[str, list[dict]] = {}
    for code, members in comps:
        d = dates[dates["fixmedins_code"] == code].sort_values(["begndate", "pid"])
        occ = occasions(d, set(members))
        # the core: members present on at least min_occasions of those occasions
        seen: dict[int, int] = {}
        for c in occ:
            for p in {x[1] for x in c}:
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
        fund = sum(x[2] for c in occ for x in c)  # the fund payments of the group's admissions together
        per_hosp.setdefault(code, []).append(dict(size=len(core), days=days, fund=fund,
                                                  adm=sum(len(c) for c in occ)))
    out = []
    for code, gs in sorted(per_hosp.items()):
        n_groups = len(gs)
        n_occ = sum(len(g["days"]) for g in gs)
        persons = sum(g["size"] for g in gs)
        sev = "high" if n_groups >= t["high_groups"] or max(len(g["days"]) for g in gs) >= t["high_occasions"] \
            else "medium"
        ex = sorted({x for g in gs for x in g["days"]})[-3:]  # the latest occasions
        ex_txt = "、".join(f"{x.year}年{x.month}月{x.day}日" for x in ex)
        impact = sum(g["fund"] for g in gs)
        n_adm = sum(g["adm"] for g in gs)
        msg = (f"{ctx.period.label}{ctx.name(code)}发现{n_groups}组参保人（合计{persons}人，每组{p_min}人及以上）"
               f"近12个月内共{n_occ}次在3天内集体入院（如{ex_txt}前后），疑似组团式住院"
               f"{impact_txt(impact, f'涉及集体入院住院{fmt.count(n_adm)}人次', '统筹基金支付合计')}"
               f"，请逐例核查入院指征并书面说明。")
        out.append(finding(ctx, "GROUP_ADMISSION", code, "", "组团式住院组数", n_groups, 0, sev, msg,
                           impact=impact, peer_group="", volume=n_occ, z=None))
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
        s AS (SELECT setl_id, psn_no, poolarea_no, fixmedins_code, setl_time, coalesce(hifp_pay, 0) AS fund
              FROM setl_net
              WHERE psn_no IN (SELECT psn_no FROM cand) AND {window}),
        x AS (SELECT *, lag(poolarea_no) OVER w AS pp, lag(setl_time) OVER w AS pt,
                        lead(poolarea_no) OVER w AS np, lead(setl_time) OVER w AS nt
              FROM s
              WINDOW w AS (PARTITION BY psn_no ORDER BY setl_time, setl_id)),
        y AS (SELECT fixmedins_code, setl_time, fund,
                     (pp IS NOT NULL AND pp <> poolarea_no AND date_diff('minute', pt, setl_time) <= {mins}) AS c1,
                     (np IS NOT NULL AND np <> poolarea_no AND date_diff('minute', setl_time, nt) <= {mins}) AS c2,
                     CASE WHEN pp IS NOT NULL AND pp <> poolarea_no AND date_diff('minute', pt, setl_time) <= {mins}
                          THEN pp ELSE np END AS other
              FROM x WHERE poolarea_no = {R} AND {in_period}),
        e AS (SELECT fixmedins_code,
                     sum(CASE WHEN c1 OR c2 THEN 1 ELSE 0 END) AS events,
                     sum(CASE WHEN c1 OR c2 THEN fund ELSE 0 END) AS fund,
                     list(CASE WHEN c1 OR c2 THEN strftime(setl_time, '%Y-%m-%d %H:%M') END ORDER BY setl_time)
                         FILTER (WHERE c1 OR c2) AS times,
                     list(DISTINCT other) FILTER (WHERE c1 OR c2) AS others
              FROM y GROUP BY 1)
        SELECT h.fixmedins_code, h.n, coalesce(e.events, 0) AS events, coalesce(e.fund, 0) AS fund, e.times, e.others
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
        times = [_time_zh(x) for x in sorted(x for x in _items(r.times) if x)[:3]]
        others = "、".join(names.get(o, o) for o in sorted(o for o in _items(r.others) if o)[:3])
        nm = str(inst.at[r.fixmedins_code, "fixmedins_name"]) if r.fixmedins_code in inst.index else r.fixmedins_code
        excess = k - mu  # conflicts above the expected number, at the conflicts' mean fund payment
        impact = excess / k * float(r.fund) if k > 0 and excess > 0 else None
        msg = (f"{ctx.period.label}{nm}有{fmt.count(k)}笔结算与同一参保人{mins}分钟内在其他统筹区（{others}）的结算"
               f"时间冲突（如{'、'.join(times)}），不符合常理"
               f"{impact_txt(impact, f'超出期望值约{fmt.count(excess)}笔，按冲突结算笔均统筹基金支付计')}，"
               f"请核查是否存在冒名就医、盗刷医保凭证或虚假结算并书面说明。")
        row = finding(ctx, "IMPOSSIBLE_TRAVEL", r.fixmedins_code, "", f"{mins}分钟内异地冲突结算笔数", k,
                      round(mu, 2), sev, msg, impact=impact, peer_group="全统筹区", volume=r.n, z=None)
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


def _time_zh(s: str) -> str:
    """'2026-07-02 08:23' → '2026年7月2日 08:23' (dates in readers' form)."""
    d, _, hm = str(s).partition(" ")
    y, m, dd = d.split("-")
    return f"{int(y)}年{int(m)}月{int(dd)}日{(' ' + hm) if hm else ''}"
