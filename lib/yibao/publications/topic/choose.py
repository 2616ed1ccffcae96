"""Choosing topics: ranking candidates, coverage of MDCs / chapters, and the topics a release plan names.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from yibao import PROJECT_DIR
from yibao.data import reference
from yibao.errors import YibaoError
from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse, lit
from yibao.publications.topic.cells import _DX
from yibao.publications.topic.codes import DIP_CHAPTERS, MIN_CASES, _icd_name, resolve


# ---- choosing topics ----------------------------------------------------------------------------------

SCORE_WEIGHTS = {"cases": 0.4, "amount": 0.4, "problem": 0.2}
RANK_MIN_CASES = 30   # grouping-problem shares count only for candidates with at least this many cases


def rank_topics(wh: Warehouse, region: str, year: int, top: int | None = None,
                min_cases: int = RANK_MIN_CASES) -> pd.DataFrame:
    """Candidate topics of a region for a year, best first — the handbook's selection criteria
    (结算量大、结算金额大、入组结算问题比较突出).

    DRG regions rank ADRGs (``drg_code[:3]``); DIP regions rank ICD-10 categories of the main diagnosis.
    Per candidate: cases, amount (Σ medfee_sumamt), avg_cost, ungrouped_share (grp_stas ≠ 1),
    actual_share (据实结算: setl_way 2/3/4 among grouped cases), qc_fail_share (qc_stas = 0), problem
    (the mean of the three shares; only with ≥ ``min_cases`` cases, else 0) and

        score = 100 × (0.4 × cases / max cases + 0.4 × amount / max amount + 0.2 × problem / max problem)

    In DRG regions an ungrouped case has no ADRG: it is counted with the ADRG into which the region's
    grouped cases of the same main-diagnosis category most often fall (cases whose category never
    groups are left out). Columns also give the MDC / chapter the candidate counts toward."""
    info = wh.region(region)
    pay = info["pay_method"]
    months = ", ".join(lit(m) for m in Period.parse(str(year)).months)
    base = f"""
        SELECT l.*, {_DX} AS nd,
               CASE WHEN l.grp_stas = '1' AND regexp_matches(upper(trim(l.drg_code)), '^[A-Z]{{2}}[0-9]')
                         AND upper(substr(trim(l.drg_code), 2, 2)) <> 'QY'
                    THEN upper(substr(trim(l.drg_code), 1, 3)) END AS adrg
        FROM setl_list_net l WHERE l.poolarea_no = ? AND l.month IN ({months})"""
    if pay == "DRG":
        cand = """
            WITH b AS ({base}),
                 m AS (SELECT substr(nd, 1, 3) AS cat, adrg, COUNT(*) AS n FROM b WHERE adrg IS NOT NULL GROUP BY 1, 2),
                 best AS (SELECT cat, adrg FROM (SELECT *, row_number() OVER (PARTITION BY cat ORDER BY n DESC, adrg) AS k
                                                 FROM m) WHERE k = 1),
                 x AS (SELECT b.*, coalesce(b.adrg, best.adrg) AS cand FROM b LEFT JOIN best ON substr(b.nd, 1, 3) = best.cat)"""
    else:
        cand = """
            WITH b AS ({base}),
                 x AS (SELECT b.*, CASE WHEN regexp_matches(substr(nd, 1, 3), '^[A-Z][0-9][0-9A-Z]$')
                                        THEN substr(nd, 1, 3) END AS cand FROM b)"""
    df = wh.df(cand.format(base=base) + """
        SELECT cand AS code, COUNT(*) AS cases, SUM(medfee_sumamt) AS amount,
               AVG(CASE WHEN coalesce(grp_stas, '0') <> '1' THEN 1.0 ELSE 0.0 END) * 100 AS ungrouped_share,
               SUM(CASE WHEN grp_stas = '1' AND setl_way IN ('2', '3', '4') THEN 1.0 ELSE 0.0 END)
                 / NULLIF(SUM(CASE WHEN grp_stas = '1' THEN 1 ELSE 0 END), 0) * 100 AS actual_share,
               AVG(CASE WHEN coalesce(qc_stas, '') = '0' THEN 1.0 ELSE 0.0 END) * 100 AS qc_fail_share
        FROM x WHERE cand IS NOT NULL GROUP BY 1""", [str(region)])
    cols = ["rank", "code", "name", "cover", "cover_name", "cases", "amount", "avg_cost", "ungrouped_share",
            "actual_share", "qc_fail_share", "problem", "score"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df["avg_cost"] = df["amount"] / df["cases"]
    prob = df[["ungrouped_share", "actual_share", "qc_fail_share"]].fillna(0).mean(axis=1)
    df["problem"] = prob.where(df["cases"] >= min_cases, 0.0)

    def norm(s):
        m = s.max()
        return s / m if m and m > 0 else s * 0
    w = SCORE_WEIGHTS
    df["score"] = 100 * (w["cases"] * norm(df["cases"]) + w["amount"] * norm(df["amount"].fillna(0))
                         + w["problem"] * norm(df["problem"]))
    if pay == "DRG":
        adrg = reference.adrg().set_index("adrg_code")["adrg_name"]
        mdc = reference.mdc().set_index("mdc_code")["mdc_name"]
        df["name"] = df["code"].map(adrg).fillna("")
        df["cover"] = "MDC" + df["code"].str[0]
        df["cover_name"] = df["cover"].map(mdc).fillna("")
    else:
        ch = reference.icd10_chapters().set_index("chapter")
        df["name"] = df["code"].map(_icd_name).fillna("")
        num = df["code"].map(reference.chapter_of)
        df["cover"] = num.map(lambda n: ch.loc[n, "roman"] if n in ch.index else "")
        df["cover_name"] = num.map(lambda n: ch.loc[n, "chapter_name"] if n in ch.index else "")
    df = df.sort_values(["score", "cases", "code"], ascending=[False, False, True]).reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1)
    df = df[cols]
    return df.head(top) if top else df


def coverage(plan_topics, pay_method: str, universe=None) -> dict:
    """Which MDCs (DRG: all 26) or DIP-library chapters (DIP: I–XIX and XXI, see ``DIP_CHAPTERS``)
    the planned topics cover.

    Returns {"unit": "MDC" | "章", "total": n, "covered": {key: [topics]}, "remaining": [keys],
    "names": {key: name}, "ignored": [topics that count toward nothing here]}. Keys are MDC codes
    (MDCE) or chapter roman numerals (IX). ``universe`` overrides the list of keys."""
    pay = str(pay_method or "").upper()
    if pay == "DRG":
        m = reference.mdc()
        names = dict(zip(m["mdc_code"], m["mdc_name"]))
        keys = list(universe) if universe else list(m["mdc_code"])
        unit = "MDC"
    else:
        ch = reference.icd10_chapters()
        roman = dict(zip(ch["chapter"], ch["roman"]))
        names = dict(zip(ch["roman"], ch["chapter_name"]))
        keys = list(universe) if universe else [roman[c] for c in DIP_CHAPTERS]
        unit = "章"
    covered: dict[str, list[str]] = {}
    ignored = []
    for code in plan_topics or []:
        try:
            t = resolve(code)
        except YibaoError:
            ignored.append(str(code))
            continue
        if pay == "DRG":
            key = t.mdc if t.kind == "adrg" else None
        else:
            key = reference.icd10_chapters().set_index("chapter")["roman"].get(t.chapter) if t.kind != "adrg" else None
        if key in keys:
            covered.setdefault(key, [])
            if t.code not in covered[key]:
                covered[key].append(t.code)
        else:
            ignored.append(str(code))
    covered = {k: covered[k] for k in keys if k in covered}
    return {"unit": unit, "total": len(keys), "covered": covered, "n_covered": len(covered),
            "remaining": [k for k in keys if k not in covered], "names": names, "ignored": ignored}


# ---- the plan (params/plan-YYYY.yaml) --------------------------------------------------------------------

def plan_path(year: int, path=None) -> Path:
    return Path(path) if path else PROJECT_DIR / "params" / f"plan-{int(year)}.yaml"


def load_plan(year: int, path=None) -> dict:
    """The release plan of a year ({} when the file does not exist)."""
    import yaml
    p = plan_path(year, path)
    if not p.exists():
        return {}
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise YibaoError(f"{p}: 发布计划不是有效的YAML — {str(exc).splitlines()[0]}") from None


def _topic_list(v) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [t for t in re.split(r"[,，、\s]+", v) if t]
    return [str(t).strip() for t in v if str(t).strip()]


def plan_entries(plan: dict, region: str) -> list[dict]:
    """The plan's topic releases of a region: [{period, topics, lead, date}]."""
    reg = ((plan or {}).get("regions") or {}).get(str(region)) or {}
    out = []
    for e in reg.get("releases") or []:
        if str(e.get("kind", "")).strip().lower() != "topic":
            continue
        out.append({"period": str(e.get("period", "")).strip(), "topics": _topic_list(e.get("topics") or e.get("topic")),
                    "lead": str(e.get("lead") or ""), "date": str(e.get("date") or "")})
    return out


def planned_topics(region: str, period, plan_file=None) -> list[str]:
    """Topics the plan of the period's year lists for the region and exactly that period
    (entries with ``kind: topic`` whose ``period`` is the same period code, e.g. 2027Q1). A topic
    release planned for another period — even one containing this one — is not run."""
    p = Period.parse(period)
    plan = load_plan(p.year, plan_file)
    out: list[str] = []
    for e in plan_entries(plan, region):
        try:
            same = Period.parse(e["period"]) == p
        except ValueError:
            same = False
        if same:
            out += [t for t in e["topics"] if t not in out]
    return out


def plan_lead(region: str, period, code: str, plan_file=None) -> str | None:
    """The lead hospital the plan names for this topic and period, if any."""
    try:
        p = Period.parse(period)
        for e in plan_entries(load_plan(p.year, plan_file), region):
            if Period.parse(e["period"]) == p and any(resolve(t).code == code for t in e["topics"]
                                                      if _safe_resolve(t)):
                return e["lead"] or None
    except (ValueError, YibaoError):
        return None
    return None


def _safe_resolve(code) -> bool:
    try:
        resolve(code)
        return True
    except YibaoError:
        return False


def year_plan_topics(region: str, year: int, plan_file=None) -> list[str]:
    """Every topic the year's plan lists for the region (all periods)."""
    out: list[str] = []
    for e in plan_entries(load_plan(year, plan_file), region):
        out += [t for t in e["topics"] if t not in out]
    return out


def demo_topics(data_dir, region: str, period) -> list[str]:
    """One topic per region for the demo (fast): EJ1 in DRG regions / I63 in DIP regions when the period
    has at least MIN_CASES such cases, else the region's most frequent ADRG / ICD category. (Counts settlement
    lists joined to settlements without netting reversals — enough to pick a topic, and quick.)"""
    from yibao.data.warehouse import period_filter
    p = Period.parse(period)
    with Warehouse(data_dir) as wh:
        pay = wh.region(region)["pay_method"]
        if not (wh.has("setl_list") and wh.has("setl")):
            return []
        expr = ("upper(substr(trim(l.drg_code), 1, 3))" if pay == "DRG" else f"substr({_DX}, 1, 3)")
        ok = ("regexp_matches(code, '^[A-Z]{2}[0-9]$') AND substr(code, 2, 2) <> 'QY'" if pay == "DRG"
              else "regexp_matches(code, '^[A-Z][0-9]{2}$')")
        df = wh.df(f"""
            SELECT code, COUNT(*) AS n FROM (
                SELECT {expr} AS code FROM setl_list l JOIN setl s USING (setl_id)
                WHERE s.poolarea_no = ? AND {period_filter(p, 's.setl_time')})
            WHERE code IS NOT NULL AND {ok}
            GROUP BY 1 ORDER BY n DESC, code""", [str(region)])
    if df.empty:
        return []
    prefer = "EJ1" if pay == "DRG" else "I63"
    n = dict(zip(df["code"], df["n"]))
    return [prefer] if n.get(prefer, 0) >= MIN_CASES else [str(df["code"].iloc[0])]
