"""Topic studies (专题分析) of a disease, handbook 五(三), 七(二) and 附录3 (6) 病种结构变迁.

A topic is
- an **ADRG** such as ``EJ1`` (DRG regions; its DRG subgroups ``EJ11/EJ13/EJ15`` are the structure), or
- an **ICD-10 category** (类目) such as ``I63`` (its subcategories I63.0 … I63.9, from ``main_diag_code``),
  a **subcategory** (亚目) such as ``I63.3`` (its DIP groups, or DRG groups in a DRG region), or a
  **chapter** (章) such as ``IX`` / ``9`` / ``I00-I99`` (its categories, top N) — DIP regions, and DRG
  regions too (cases selected by main diagnosis).

Cases (病例口径): settlement-list rows (``setl_list_net``: the settlement stands, reversals count for
nothing) of the region's institutions whose settlement time falls in the period and whose DRG code
starts with the ADRG / whose main diagnosis lies in the ICD-10 code or range. Amounts are the
settlement's ``medfee_sumamt``; cost composition from the list's ``fee_*`` components.

Definitions (documented in docs/topic.md, printed in every report's 口径 appendix):

- 次均费用 = Σ medfee_sumamt / cases; a hospital's average is only computed with ≥ ``min_cases`` cases
  (default 10) — below that it shows "—" and the hospital is not ranked.
- 资源消耗中位数 = the median of the hospital average costs of hospitals with ≥ ``min_cases`` cases.
- 标杆值 (benchmark) = the 25th percentile (linear interpolation) of the same hospital averages: the
  cost that the best-controlled quarter of hospitals reach or beat.
- 高费用细分组 (high-cost subgroups): for an ADRG the subgroups of its most severe complication level
  (``…1`` 伴严重合并症或并发症, or ``…3`` where there is no ``…1``); for ICD topics the children
  (subcategories / DIP groups / categories) whose region average cost over all compared periods exceeds
  the topic's average cost.
- Verification (核实): a hospital with ≥ ``min_cases`` cases in both periods is listed when, 同比
  (against the same period a year earlier), its share of high-cost subgroups rises by more than
  ``share_pp`` points (default 10) — or rises that much over the whole comparison span —, its average cost
  changes by more than ``cost_pct`` % (default 20), its case count changes by more than ``volume_pct`` %
  (default 50), or when the findings engine reports UPCODING_DRG / UPCODING_ICD for this topic.
- Suppression: in hospital × group tables counts 1–4 (below ``suppress``, default 5) show as "<5".

Choosing topics: :func:`rank_topics` (volume, amount, grouping problems) and :func:`coverage` (MDCs /
chapters covered by the year's plan); ``yibao topics`` prints both (:func:`run_cli`).
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from . import PROJECT_DIR, fmt, reference
from .contract import FEE_COMPONENTS, LEVEL_ORDER
from .errors import DataError, YibaoError
from .periods import Period
from .warehouse import Warehouse, lit

MIN_CASES = 10        # averages, ranking and shares need at least this many cases
SUPPRESS = 5          # hospital × group counts below this show as "<5"
SHARE_PP = 10.0       # high-cost share rise (percentage points) that asks for verification
COST_PCT = 20.0       # |average cost change| (%) that asks for verification
VOLUME_PCT = 50.0     # |case count change| (%) that asks for verification
TOP_N = 10            # 前十位 / 后十位
MAX_CHILDREN = 15     # chapters: categories shown (the rest is 其他)

COMPLICATION = {  # last character of a CHS-DRG code (reference/README.md)
    "1": "伴严重合并症或并发症", "3": "伴一般合并症或并发症", "5": "不伴合并症或并发症",
    "9": "不区分合并症或并发症", "7": "死亡或转院", "0": "特殊情形",
}
FEE_LABELS = {"fee_drug": "药品费", "fee_mcs": "卫生材料费", "fee_exam": "检查费", "fee_lab": "化验费",
              "fee_trt": "治疗费", "fee_oprn": "手术费", "fee_srvc": "护理床位等服务费", "fee_oth": "其他费"}
KIND_UNIT = {"adrg": "ADRG", "category": "诊断类目", "subcategory": "诊断亚目", "chapter": "ICD-10章"}
CN_DIGITS = "零一二三四五六七八九"
# The DIP 病种库's 20 chapters: ICD-10 chapters I–XIX and XXI. Chapter XX (V01–Y98, external causes)
# is never a principal diagnosis and XXII (U00–U99) holds special-purpose codes, so neither forms
# DIP groups (handbook 五(三): "病种库涉及的ICD-10中的20个章").
DIP_CHAPTERS = tuple(str(i) for i in list(range(1, 20)) + [21])
UPCODING_RULES = ("UPCODING_DRG", "UPCODING_ICD")


# ---- topic codes ------------------------------------------------------------------------------------

def cn_number(n: int) -> str:
    """1..99 in Chinese numerals: 9 → 九, 19 → 十九, 21 → 二十一."""
    n = int(n)
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


@dataclass(frozen=True)
class Topic:
    """A resolved topic code. ``kind``: adrg | category | subcategory | chapter."""
    code: str                    # canonical: EJ1, I63, I63.3, IX
    kind: str
    name: str
    mdc: str | None = None       # MDCE (ADRG topics)
    chapter: str | None = None   # '9' (ICD topics)
    code_range: str | None = None  # I00-I99 (chapters)

    @property
    def title(self) -> str:
        """Report title: 'EJ1 呼吸系统其他手术', 'I63 脑梗死', '第九章 循环系统疾病（I00-I99）'."""
        if self.kind == "chapter":
            return f"第{cn_number(int(self.chapter))}章 {self.name}（{self.code_range}）"
        return f"{self.code} {self.name}".strip()

    @property
    def unit(self) -> str:
        return KIND_UNIT[self.kind]

    @property
    def ref(self) -> str:
        """How prose refers to the topic briefly: 'EJ1', 'I63', '第九章'."""
        return f"第{cn_number(int(self.chapter))}章" if self.kind == "chapter" else self.code

    @property
    def notebook(self) -> str:
        return "topic_adrg" if self.kind == "adrg" else "topic_icd"

    def child_unit(self, pay_method: str) -> str:
        """What the structure section breaks the topic into."""
        if self.kind == "adrg":
            return "DRG细分组"
        if self.kind == "category":
            return "诊断亚目"
        if self.kind == "subcategory":
            return "DRG病组" if pay_method == "DRG" else "DIP病种"
        return "诊断类目"

    @property
    def coverage_key(self) -> str | None:
        """The MDC (ADRG topics) or chapter number (ICD topics) the topic counts toward."""
        return self.mdc if self.kind == "adrg" else self.chapter


_RE_ADRG = re.compile(r"^[A-Z]{2}\d$")
_RE_DRG = re.compile(r"^([A-Z]{2}\d)[0-9A-Z]$")
_RE_CAT = re.compile(r"^[A-Z]\d{2}$")
_RE_SUB = re.compile(r"^([A-Z]\d{2})\.?([0-9X])$")
_RE_RANGE = re.compile(r"^[A-Z]\d{2}-[A-Z]\d{2}$")
_RE_CN_CHAPTER = re.compile(r"^第?([0-9]{1,2}|[一二三四五六七八九十]{1,3})章$")


def _chapter_rows() -> pd.DataFrame:
    return reference.icd10_chapters()


def _cn_to_int(s: str) -> int:
    if s.isdigit():
        return int(s)
    if "十" not in s:
        return CN_DIGITS.index(s)
    a, _, b = s.partition("十")
    return (CN_DIGITS.index(a) if a else 1) * 10 + (CN_DIGITS.index(b) if b else 0)


def resolve(code: str, pay_method: str | None = None) -> Topic:
    """Parse a topic code.

    ``EJ1`` → ADRG; ``I63`` → ICD-10 category; ``I63.3`` → subcategory; ``IX`` / ``9`` / ``第九章`` /
    ``I00-I99`` → chapter. With ``pay_method='DIP'`` an ADRG is refused (DIP regions have no ADRGs);
    ICD topics are valid in both kinds of region.
    """
    raw = str(code or "").strip()
    c = raw.upper().replace("．", ".").replace("－", "-").replace("—", "-")
    pay = str(pay_method or "").upper()
    chapters = _chapter_rows()
    topic = None
    if _RE_ADRG.match(c):
        a = reference.adrg().set_index("adrg_code")
        name = str(a["adrg_name"].get(c, ""))
        topic = Topic(c, "adrg", name, mdc="MDC" + c[0])
    elif _RE_CAT.match(c):
        topic = Topic(c, "category", _icd_name(c), chapter=reference.chapter_of(c))
    elif _RE_SUB.match(c):
        m = _RE_SUB.match(c)
        sub = f"{m.group(1)}.{m.group(2).lower() if m.group(2) == 'X' else m.group(2)}"
        topic = Topic(sub, "subcategory", _icd_name(sub), chapter=reference.chapter_of(m.group(1)))
    else:
        num = None
        romans = dict(zip(chapters["roman"], chapters["chapter"]))
        if c in romans:
            num = romans[c]
        elif c.isdigit() and 1 <= int(c) <= len(chapters):
            num = str(int(c))
        elif _RE_CN_CHAPTER.match(raw):
            n = _cn_to_int(_RE_CN_CHAPTER.match(raw).group(1))
            num = str(n) if 1 <= n <= len(chapters) else None
        elif _RE_RANGE.match(c):
            hit = chapters[chapters["code_range"] == c]
            num = hit["chapter"].iloc[0] if len(hit) else None
        if num is not None:
            r = chapters[chapters["chapter"] == num].iloc[0]
            topic = Topic(r["roman"], "chapter", r["chapter_name"], chapter=num, code_range=r["code_range"])
    if topic is None:
        m = _RE_DRG.match(c)
        hint = (f"{raw} 是DRG细分组编码，专题按ADRG分析，请使用 {m.group(1)}" if m else
                "专题编码应为ADRG（如 EJ1）、ICD-10类目（如 I63）、亚目（如 I63.3）或章（如 IX、9、I00-I99）")
        raise YibaoError(f"--topic {raw!r}: 无法识别的专题编码 — {hint}")
    if topic.kind == "adrg" and pay == "DIP":
        raise YibaoError(f"--topic {topic.code}: ADRG 专题仅适用于按DRG付费的统筹地区；按DIP付费的地区请选择"
                         f"ICD-10类目、亚目或章（如 I63、I63.3、IX）")
    return topic


def _icd_name(code: str) -> str:
    names = reference.icd_names()
    name = names.get(code, "")
    # a subcategory .9 whose default code carries the category's own name is the 未特指 one
    if len(code) == 5 and code.endswith(".9") and name and name == names.get(code[:3]):
        name = f"{name}，未特指"
    return name


def notebook_for(code: str, pay_method: str | None = None) -> str:
    """'topic_adrg' for an ADRG, 'topic_icd' for ICD-10 categories, subcategories and chapters.

    Raises YibaoError for a code that is no topic at all. A pay-method mismatch (an ADRG in a DIP
    region) is reported by the notebook itself, so that one region's bad topic fails only its own job.
    """
    return resolve(code).notebook


def topic_title(code: str, pay_method: str | None = None) -> str:
    """The report title of a topic from the national reference names (pure, no data):
    'EJ1 呼吸系统其他手术', 'I63 脑梗死', 'I63.3 大脑动脉血栓形成引起的脑梗死', '第九章 循环系统疾病（I00-I99）'."""
    return resolve(code).title


# ---- SQL building blocks ------------------------------------------------------------------------------

_DX = "replace(upper(trim(l.main_diag_code)), '.', '')"   # I63.300 → I63300


def _predicate(topic: Topic) -> str:
    """SQL predicate on setl_list_net ``l`` selecting the topic's cases."""
    if topic.kind == "adrg":
        return f"upper(substr(trim(l.drg_code), 1, 3)) = {lit(topic.code)}"
    if topic.kind == "category":
        return f"substr({_DX}, 1, 3) = {lit(topic.code)}"
    if topic.kind == "subcategory":
        return f"upper(substr({_DX}, 1, 4)) = {lit(topic.code.replace('.', '').upper())}"
    lo, hi = topic.code_range.split("-")
    return f"substr({_DX}, 1, 3) BETWEEN {lit(lo)} AND {lit(hi)}"


def _child_expr(topic: Topic, pay_method: str) -> str:
    if topic.kind == "adrg":
        return "upper(trim(l.drg_code))"
    if topic.kind == "category":
        return (f"CASE WHEN length({_DX}) >= 4 THEN substr({_DX}, 1, 3) || '.' || lower(substr({_DX}, 4, 1)) "
                f"ELSE substr({_DX}, 1, 3) END")
    if topic.kind == "subcategory":
        col = "drg_code" if pay_method == "DRG" else "dip_code"
        return f"coalesce(nullif(upper(trim(l.{col})), ''), '未入组')"
    return f"substr({_DX}, 1, 3)"


def _period_case(periods: list[Period]) -> str:
    whens = " ".join(f"WHEN l.month IN ({', '.join(lit(m) for m in p.months)}) THEN {lit(p.code)}"
                     for p in periods)
    return f"CASE {whens} END"


def _all_months(periods: list[Period]) -> str:
    return ", ".join(lit(m) for p in periods for m in p.months)


def comparison_periods(period, compare=None) -> list[Period]:
    """The study period and its comparison periods, oldest first, study period last.

    Default: the same period of the two previous years (2026Q3 → 2024Q3, 2025Q3, 2026Q3)."""
    p = Period.parse(period)
    if compare:
        if isinstance(compare, str):
            compare = [c for c in re.split(r"[,\s]+", compare) if c]
        others = {Period.parse(c) for c in compare} - {p}
    else:
        others = {p.year_ago(), p.year_ago().year_ago()}
    out = sorted(others, key=lambda x: (x.start, x.length)) + [p]
    for a in out[:-1]:
        if not (a.end <= p.start or a.start >= p.end):
            raise YibaoError(f"compare_periods: 对比期间 {a.code} 与研究期间 {p.code} 重叠")
    return out


def cells(wh: Warehouse, region: str, topic: Topic, periods: list[Period], pay_method: str) -> pd.DataFrame:
    """The topic's cases by period × hospital × child (DRG subgroup / subcategory / DIP group / category).

    Columns: period, fixmedins_code, child, cases, medfee, fee_* (8 components), fee_total (their sum),
    days (Σ ipt_days), n_days (cases with ipt_days), hifp_pay, psn_cash_pay. Small: one row per cell."""
    fees = ", ".join(f"SUM(coalesce(l.{f}, 0)) AS {f}" for f in FEE_COMPONENTS)
    fee_total = " + ".join(f"coalesce(l.{f}, 0)" for f in FEE_COMPONENTS)
    return wh.df(f"""
        SELECT {_period_case(periods)} AS period, l.fixmedins_code, {_child_expr(topic, pay_method)} AS child,
               COUNT(*) AS cases, SUM(l.medfee_sumamt) AS medfee, {fees},
               SUM({fee_total}) AS fee_total,
               SUM(l.ipt_days) AS days, COUNT(l.ipt_days) AS n_days,
               SUM(l.hifp_pay) AS hifp_pay, SUM(l.psn_cash_pay) AS psn_cash_pay
        FROM setl_list_net l
        WHERE l.poolarea_no = ? AND l.month IN ({_all_months(periods)}) AND {_predicate(topic)}
        GROUP BY ALL ORDER BY 1, 2, 3""", [str(region)])


def case_medians(wh: Warehouse, region: str, topic: Topic, periods: list[Period]) -> pd.Series:
    """Median cost of a case (病例费用中位数) per period."""
    df = wh.df(f"""
        SELECT {_period_case(periods)} AS period, quantile_cont(l.medfee_sumamt, 0.5) AS median
        FROM setl_list_net l
        WHERE l.poolarea_no = ? AND l.month IN ({_all_months(periods)}) AND {_predicate(topic)}
        GROUP BY 1""", [str(region)])
    return df.set_index("period")["median"]


# ---- derived tables (pandas on small results) ---------------------------------------------------------

_SUMS = ["cases", "medfee", *FEE_COMPONENTS, "fee_total", "days", "n_days", "hifp_pay", "psn_cash_pay"]


def _finish(df: pd.DataFrame, min_cases: int = 1) -> pd.DataFrame:
    """Averages and shares of summed cells; averages are NaN below ``min_cases``."""
    df = df.copy()
    ok = df["cases"] >= max(1, min_cases)
    df["avg_cost"] = (df["medfee"] / df["cases"]).where(ok)
    df["avg_los"] = (df["days"] / df["n_days"].replace(0, np.nan)).where(ok)
    df["fund_share"] = df["hifp_pay"] / df["medfee"].replace(0, np.nan) * 100
    for f in FEE_COMPONENTS:
        df[f + "_share"] = df[f] / df["fee_total"].replace(0, np.nan) * 100
    return df


def summary_by_period(c: pd.DataFrame, periods: list[Period], medians: pd.Series | None = None) -> pd.DataFrame:
    """Region totals per period: cases, medfee, avg_cost, avg_los, hifp_pay, fund_share, fee shares,
    hospitals (with cases), case_median. One row per period (oldest first), zeros where no cases."""
    g = c.groupby("period")[_SUMS].sum() if len(c) else pd.DataFrame(columns=_SUMS)
    g = g.reindex([p.code for p in periods]).fillna(0)
    g["hospitals"] = c.groupby("period")["fixmedins_code"].nunique().reindex(g.index).fillna(0) if len(c) else 0
    out = _finish(g.rename_axis("period").reset_index())
    out["case_median"] = out["period"].map(medians) if medians is not None else np.nan
    return out


def hospital_table(c: pd.DataFrame, hospitals: pd.DataFrame, period: Period, min_cases: int = MIN_CASES,
                   base: Period | None = None) -> pd.DataFrame:
    """Per hospital in ``period``: cases, avg_cost, avg_los, eligible (≥ min_cases), rank (1 = highest
    average cost among the eligible), ratio to the median / benchmark / its level's median; with
    ``base`` also base_cases and base_avg_cost. Only hospitals of the region (``hospitals``)."""
    cur = c[c["period"] == period.code].groupby("fixmedins_code")[_SUMS].sum()
    df = _finish(cur.reset_index(), min_cases)
    h = hospitals[["fixmedins_code", "fixmedins_name", "lv_group"]]
    df = h.merge(df, on="fixmedins_code", how="inner")
    df["eligible"] = df["cases"] >= min_cases
    if base is not None:
        b = _finish(c[c["period"] == base.code].groupby("fixmedins_code")[_SUMS].sum().reset_index(), min_cases)
        df = df.merge(b[["fixmedins_code", "cases", "avg_cost"]].rename(
            columns={"cases": "base_cases", "avg_cost": "base_avg_cost"}), on="fixmedins_code", how="left")
        df["base_cases"] = df["base_cases"].fillna(0)
    bm = benchmark(df, min_cases)
    df["vs_median"] = df["avg_cost"] / bm["median"] if bm["median"] else np.nan
    df["vs_benchmark"] = df["avg_cost"] / bm["benchmark"] if bm["benchmark"] else np.nan
    el = df[df["eligible"]]
    lv_med = el.groupby("lv_group")["avg_cost"].median()
    df["level_median"] = df["lv_group"].map(lv_med)
    df["vs_level"] = df["avg_cost"] / df["level_median"]
    df["rank"] = df["avg_cost"].where(df["eligible"]).rank(ascending=False, method="min")
    return df.sort_values(["rank", "fixmedins_code"], na_position="last").reset_index(drop=True)


def benchmark(hosp: pd.DataFrame, min_cases: int = MIN_CASES) -> dict:
    """资源消耗中位数 and 标杆值 of hospital average costs (hospitals with ≥ min_cases cases).

    median = median of the hospital averages; benchmark = their 25th percentile (linear interpolation);
    also the same two for the average length of stay, and n (hospitals counted)."""
    el = hosp[hosp["cases"] >= min_cases]
    costs = el["avg_cost"].dropna().astype(float).values
    los = el["avg_los"].dropna().astype(float).values
    return {
        "n": int(len(costs)),
        "median": float(np.median(costs)) if len(costs) else None,
        "benchmark": float(np.percentile(costs, 25)) if len(costs) else None,
        "min": float(costs.min()) if len(costs) else None,
        "max": float(costs.max()) if len(costs) else None,
        "los_median": float(np.median(los)) if len(los) else None,
        "los_benchmark": float(np.percentile(los, 25)) if len(los) else None,
    }


def level_comparison(hosp: pd.DataFrame, min_cases: int = MIN_CASES) -> pd.DataFrame:
    """Same-level comparison (同级比较): per level group hospitals, eligible hospitals, cases, pooled
    average cost, median / min / max of the eligible hospitals' averages."""
    rows = []
    for lv in LEVEL_ORDER:
        d = hosp[hosp["lv_group"] == lv]
        if d.empty:
            continue
        el = d[d["cases"] >= min_cases]["avg_cost"].dropna()
        rows.append({"level": lv, "hospitals": len(d), "eligible": len(el), "cases": d["cases"].sum(),
                     "avg_cost": d["medfee"].sum() / d["cases"].sum() if d["cases"].sum() else np.nan,
                     "median": el.median() if len(el) else np.nan, "min": el.min() if len(el) else np.nan,
                     "max": el.max() if len(el) else np.nan})
    return pd.DataFrame(rows)


def high_children(c: pd.DataFrame, adrg: bool = False) -> set:
    """The high-cost children of a topic.

    ADRG: the DRG subgroups of the most severe complication level present — ``…1`` 伴严重合并症或并发症,
    or ``…3`` where the ADRG has no ``…1`` (severity upcoding moves cases up this ladder; handbook 附录3 (6)
    EJ1). ICD topics: the children whose average cost over all compared periods exceeds the topic's."""
    children = sorted(c["child"].unique()) if len(c) else []
    if len(children) < 2:
        return set()
    if adrg:
        for level in ("1", "3"):
            sev = {x for x in children if len(x) == 4 and x[-1] == level}
            if sev and len(sev) < len(children):
                return sev
        return set()
    pooled = c.groupby("child")[["cases", "medfee"]].sum()
    overall = pooled["medfee"].sum() / pooled["cases"].sum()
    child_avg = pooled["medfee"] / pooled["cases"]
    return set(child_avg[child_avg > overall].index)


def structure(c: pd.DataFrame, periods: list[Period], names: dict | None = None, pay_std: dict | None = None,
              min_cases: int = MIN_CASES, adrg: bool = False) -> pd.DataFrame:
    """Children × periods at region level: cases, share (%), avg_cost (NaN below min_cases); long form
    with columns child, name, period, cases, share, avg_cost, high (a high-cost child, see
    :func:`high_children`), pooled_avg_cost, pay_std."""
    if c.empty:
        return pd.DataFrame(columns=["child", "name", "period", "cases", "share", "avg_cost", "high", "pay_std"])
    g = c.groupby(["child", "period"])[["cases", "medfee"]].sum().reset_index()
    full = pd.MultiIndex.from_product([sorted(g["child"].unique()), [p.code for p in periods]],
                                      names=["child", "period"])
    g = g.set_index(["child", "period"]).reindex(full, fill_value=0).reset_index()
    tot = g.groupby("period")["cases"].transform("sum")
    g["share"] = g["cases"] / tot.replace(0, np.nan) * 100
    g["avg_cost"] = (g["medfee"] / g["cases"].replace(0, np.nan)).where(g["cases"] >= min_cases)
    pooled = c.groupby("child")[["cases", "medfee"]].sum()
    child_avg = pooled["medfee"] / pooled["cases"]
    g["high"] = g["child"].isin(high_children(c, adrg))
    g["pooled_avg_cost"] = g["child"].map(child_avg)
    g["name"] = g["child"].map(names or {}).fillna("")
    g["pay_std"] = g["child"].map(pay_std or {})
    return g


def hospital_structure(c: pd.DataFrame, high: set, periods: list[Period]) -> pd.DataFrame:
    """Per hospital and period: cases and the cases / share (%) of the high-cost children."""
    if c.empty:
        return pd.DataFrame(columns=["fixmedins_code", "period", "cases", "high_cases", "high_share"])
    d = c.assign(high_cases=np.where(c["child"].isin(high), c["cases"], 0))
    g = d.groupby(["fixmedins_code", "period"])[["cases", "high_cases"]].sum().reset_index()
    g["high_share"] = g["high_cases"] / g["cases"].replace(0, np.nan) * 100
    return g


def upcoding_signal(findings: pd.DataFrame | None, topic: Topic) -> pd.DataFrame:
    """The findings engine's UPCODING_DRG / UPCODING_ICD rows whose subject lies in the topic
    (ADRG: subject starts with the ADRG; category / subcategory: subject starts with the code or is
    its category; chapter: subject's category in the chapter's range)."""
    cols = ["rule_id", "fixmedins_code", "fixmedins_name", "subject", "metric", "value", "benchmark",
            "severity", "message"]
    if findings is None or len(findings) == 0 or "rule_id" not in findings:
        return pd.DataFrame(columns=cols)
    f = findings[findings["rule_id"].isin(UPCODING_RULES)].copy()
    subj = f["subject"].fillna("").astype(str).str.upper().str.strip()
    if topic.kind == "adrg":
        m = subj.str.startswith(topic.code)
    elif topic.kind == "category":
        m = subj.str.replace(".", "", regex=False).str.startswith(topic.code)
    elif topic.kind == "subcategory":
        nodot = subj.str.replace(".", "", regex=False)
        m = nodot.str.startswith(topic.code.replace(".", "").upper()) | (subj == topic.code[:3])
    else:
        lo, hi = topic.code_range.split("-")
        cat = subj.str.replace(".", "", regex=False).str[:3]
        m = (cat >= lo) & (cat <= hi) & subj.str.match(r"^[A-Z]\d\d")
    return f[m].reset_index(drop=True)


# ---- the study: one topic, one region, the periods ----------------------------------------------------

@dataclass
class Study:
    """Everything a topic notebook's sections share: the topic, the periods, the thresholds and the
    (small, cached) data. Open it with :func:`open_study`."""
    wh: Warehouse
    region: str
    region_name: str
    pay_method: str
    topic: Topic
    periods: list[Period]
    lead: str = ""
    authors: str = ""
    min_cases: int = MIN_CASES
    suppress: int = SUPPRESS
    share_pp: float = SHARE_PP
    cost_pct: float = COST_PCT
    volume_pct: float = VOLUME_PCT
    top_n: int = TOP_N
    findings: pd.DataFrame | None = None
    findings_error: str | None = None
    hospitals: pd.DataFrame = field(default_factory=pd.DataFrame)

    # -- periods --
    @property
    def period(self) -> Period:
        return self.periods[-1]

    @property
    def base(self) -> Period | None:
        """The comparison period just before the study period (the same period a year earlier by default)."""
        return self.periods[-2] if len(self.periods) > 1 else None

    @property
    def first(self) -> Period:
        return self.periods[0]

    def short(self, p: Period) -> str:
        """Column label: '2025年' when all periods are the same season of different years, else the code."""
        same = len({(x.first, x.length) for x in self.periods}) == 1 and len({x.year for x in self.periods}) == len(
            self.periods)
        return f"{p.year}年" if same else p.code

    @property
    def season(self) -> str:
        """'第三季度' / '' (years) — the part of the period label after the year, for captions."""
        lab = self.period.label
        return lab[len(f"{self.period.year}年"):]

    def basis(self, cur: Period, base: Period) -> str:
        if base == cur.year_ago():
            return "同比"
        if base == cur.previous():
            return "环比"
        return f"较{base.label}"

    # -- data --
    @cached_property
    def cells(self) -> pd.DataFrame:
        return cells(self.wh, self.region, self.topic, self.periods, self.pay_method)

    @property
    def empty(self) -> bool:
        return self.cells.empty or self.cells[self.cells["period"] == self.period.code]["cases"].sum() == 0

    @cached_property
    def summary(self) -> pd.DataFrame:
        return summary_by_period(self.cells, self.periods,
                                 case_medians(self.wh, self.region, self.topic, self.periods))

    def row(self, p: Period | None) -> pd.Series | None:
        if p is None:
            return None
        s = self.summary.set_index("period")
        return s.loc[p.code] if p.code in s.index else None

    @cached_property
    def hosp(self) -> pd.DataFrame:
        return hospital_table(self.cells, self.hospitals, self.period, self.min_cases, self.base)

    @cached_property
    def bench(self) -> dict:
        return benchmark(self.hosp, self.min_cases)

    @cached_property
    def child_names(self) -> dict:
        return _child_names(self.wh, self.region, self.topic, self.pay_method, self.cells["child"].unique())

    @cached_property
    def child_pay_std(self) -> dict:
        return _child_pay_std(self.wh, self.region, self.topic, self.pay_method)

    @cached_property
    def struct(self) -> pd.DataFrame:
        return structure(self.cells, self.periods, self.child_names, self.child_pay_std, self.min_cases,
                         adrg=self.topic.kind == "adrg")

    @property
    def high(self) -> set:
        s = self.struct
        return set(s.loc[s["high"], "child"]) if len(s) else set()

    @cached_property
    def hstruct(self) -> pd.DataFrame:
        return hospital_structure(self.cells, self.high, self.periods)

    @cached_property
    def signal(self) -> pd.DataFrame:
        return upcoding_signal(self.findings, self.topic)

    @cached_property
    def verify(self) -> pd.DataFrame:
        return verification(self)

    def name_of(self, code: str) -> str:
        h = self.hospitals.set_index("fixmedins_code")["fixmedins_name"]
        return str(h.get(code, code))

    def count(self, n) -> str:
        """A hospital-level count with suppression: 1–4 → '<5'."""
        return suppressed(n, self.suppress)


def suppressed(n, threshold: int = SUPPRESS) -> str:
    """Counts below ``threshold`` (but not 0) show as '<5'."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return fmt.DASH
    n = int(round(float(n)))
    if 0 < n < threshold:
        return f"<{threshold}"
    return fmt.count(n)


def _child_names(wh: Warehouse, region: str, topic: Topic, pay_method: str, children) -> dict:
    out: dict[str, str] = {}
    children = [str(x) for x in children]
    if topic.kind == "adrg" or (topic.kind == "subcategory" and pay_method == "DRG"):
        ref = dict(zip(reference.drg()["drg_code"], reference.drg()["drg_name"]))
        out.update({c: ref[c] for c in children if c in ref})
        if wh.has("drg_catalog"):
            cat = wh.df("SELECT upper(drg_code) AS c, drg_name AS n FROM drg_catalog WHERE poolarea_no = ?", [region])
            out.update({c: n for c, n in zip(cat["c"], cat["n"]) if n and c in children})
    elif topic.kind == "subcategory":
        if wh.has("dip_catalog"):
            cat = wh.df("SELECT upper(dip_code) AS c, dip_name AS n FROM dip_catalog WHERE poolarea_no = ?", [region])
            out.update({c: n for c, n in zip(cat["c"], cat["n"]) if n and c in children})
        out.setdefault("未入组", "未入组病例")
    else:
        for c in children:
            out[c] = _icd_name(c) or ("（未细分亚目）" if "." not in c and topic.kind == "category" else "")
    return out


def _child_pay_std(wh: Warehouse, region: str, topic: Topic, pay_method: str) -> dict:
    if topic.kind == "adrg" and wh.has("drg_catalog"):
        df = wh.df("SELECT upper(drg_code) AS c, pay_std FROM drg_catalog WHERE poolarea_no = ?", [region])
        return dict(zip(df["c"], df["pay_std"]))
    if topic.kind == "subcategory" and pay_method == "DIP" and wh.has("dip_catalog"):
        df = wh.df("SELECT upper(dip_code) AS c, pay_std FROM dip_catalog WHERE poolarea_no = ?", [region])
        return dict(zip(df["c"], df["pay_std"]))
    return {}


def open_study(ctx, topic: str, compare_periods=None, lead_hospital: str = "", authors: str = "",
               min_cases: int = MIN_CASES, suppress: int = SUPPRESS, share_pp: float = SHARE_PP,
               cost_pct: float = COST_PCT, volume_pct: float = VOLUME_PCT, top_n: int = TOP_N,
               use_findings: bool = True) -> Study:
    """The study of ``topic`` for the context's region, its period and the comparison periods.

    ``ctx`` is a :class:`yibao.publication.Context`. The lead hospital defaults to the one the year's
    plan names for this topic. The findings engine's upcoding rows are used when it runs."""
    t = resolve(topic, ctx.pay_method)
    periods = comparison_periods(ctx.period, compare_periods)
    findings, err = None, None
    if use_findings:
        try:
            findings = ctx.findings
        except Exception as exc:  # noqa: BLE001 - the study stands without the signal; the report says why
            err = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    lead = lead_hospital or plan_lead(ctx.region, ctx.period, t.code) or ""
    return Study(ctx.wh, ctx.region, ctx.name, ctx.pay_method, t, periods, lead, authors, int(min_cases),
                 int(suppress), float(share_pp), float(cost_pct), float(volume_pct), int(top_n), findings, err,
                 ctx.hospitals)


# ---- verification (核实) ----------------------------------------------------------------------------

def verification(st: Study) -> pd.DataFrame:
    """Hospitals whose data fluctuate abnormally, with what to explain.

    Columns: fixmedins_code, fixmedins_name, lv_group, cases, base_cases, volume_change (%),
    avg_cost, base_avg_cost, cost_change (%), high_share, base_high_share, share_change (pp 同比),
    span_share_change (pp since the first period), signal (findings rule ids), reasons (list of str),
    explain (str). Criteria: see the module docstring."""
    cols = ["fixmedins_code", "fixmedins_name", "lv_group", "cases", "base_cases", "volume_change", "avg_cost",
            "base_avg_cost", "cost_change", "high_share", "base_high_share", "share_change", "first_high_share",
            "span_share_change", "signal", "reasons", "explain"]
    if st.empty or st.base is None:
        return pd.DataFrame(columns=cols)
    h = st.hosp.copy()
    hs = st.hstruct.set_index(["fixmedins_code", "period"])["high_share"]
    hc = st.hstruct.set_index(["fixmedins_code", "period"])["cases"]

    def share(code, p):
        n = hc.get((code, p.code), 0)
        return hs.get((code, p.code)) if n >= st.min_cases else np.nan

    rows = []
    sig = st.signal
    use_share = bool(st.high) and len(st.struct["child"].unique()) > 1
    unit = st.topic.child_unit(st.pay_method)
    for r in h.itertuples():
        reasons, explain = [], []
        vol = fmt.growth_pct(r.cases, r.base_cases) if r.base_cases >= st.min_cases else None
        cost = fmt.growth_pct(r.avg_cost, r.base_avg_cost) if (
            r.cases >= st.min_cases and r.base_cases >= st.min_cases) else None
        s1, s0, sf = share(r.fixmedins_code, st.period), share(r.fixmedins_code, st.base), \
            share(r.fixmedins_code, st.first)
        dsh = s1 - s0 if not (np.isnan(s1) or np.isnan(s0)) else np.nan
        dspan = s1 - sf if len(st.periods) > 2 and not (np.isnan(s1) or np.isnan(sf)) else np.nan
        basis = st.basis(st.period, st.base)
        if use_share and not np.isnan(dsh) and dsh > st.share_pp:
            reasons.append(f"高费用{unit}病例占比{basis}提高{fmt.num(dsh, 1)}个百分点")
        elif use_share and not np.isnan(dspan) and dspan > st.share_pp:
            reasons.append(f"高费用{unit}病例占比较{st.first.label}提高{fmt.num(dspan, 1)}个百分点")
        if reasons:
            explain.append(f"高费用{unit}病例占比上升的原因，诊断、手术操作编码与病历是否一致，是否存在"
                           + ("高套病组" if st.topic.kind == "adrg" else "高靠诊断"))
        if cost is not None and abs(cost) > st.cost_pct:
            reasons.append(f"次均费用{basis}{'增长' if cost > 0 else '下降'}{fmt.num(abs(cost), 1)}%")
            explain.append("次均费用大幅变化的原因（收治病例结构、诊疗路径、药品耗材使用）")
        if vol is not None and abs(vol) > st.volume_pct:
            reasons.append(f"病例数{basis}{'增长' if vol > 0 else '下降'}{fmt.num(abs(vol), 1)}%")
            explain.append("病例数大幅增长的原因（床位、学科、收治范围变化），是否存在分解住院、低标入院"
                           if vol > 0 else "病例数大幅下降的原因，是否存在推诿患者或将病例编入其他病组")
        rules = sorted(set(sig.loc[sig["fixmedins_code"] == r.fixmedins_code, "rule_id"])) if len(sig) else []
        if rules:
            reasons.append("问题线索清单提示疑似" + ("高套病组" if "UPCODING_DRG" in rules else "高靠诊断"))
            if not any(e.startswith("高费用") for e in explain):
                explain.insert(0, "病种结构变化的原因，是否存在" + ("高套病组" if "UPCODING_DRG" in rules else "高靠诊断"))
        if not reasons:
            continue
        rows.append({"fixmedins_code": r.fixmedins_code, "fixmedins_name": r.fixmedins_name, "lv_group": r.lv_group,
                     "cases": r.cases, "base_cases": r.base_cases, "volume_change": vol, "avg_cost": r.avg_cost,
                     "base_avg_cost": r.base_avg_cost, "cost_change": cost, "high_share": s1,
                     "base_high_share": s0, "share_change": dsh, "first_high_share": sf,
                     "span_share_change": dspan, "signal": ",".join(rules), "reasons": reasons,
                     "explain": "；".join(dict.fromkeys(explain))})
    df = pd.DataFrame(rows, columns=cols)
    if len(df):
        df["_k"] = df["share_change"].fillna(df["span_share_change"]).fillna(-1e9)
        df = df.sort_values(["_k", "fixmedins_code"], ascending=[False, True]).drop(columns="_k")
    return df.reset_index(drop=True)


# ---- prose helpers ----------------------------------------------------------------------------------

def _yuan(x) -> str:
    return f"{fmt.num(x)}元" if x is not None and not (isinstance(x, float) and np.isnan(x)) else fmt.DASH


def _move(cur, base, unit_pct: bool = False) -> str:
    """'增长5.2%' / '下降3.1%' / '持平' / '提高2.0个百分点' (no basis word)."""
    if unit_pct:
        if _bad(cur) or _bad(base):
            return "无可比数据"
        d = float(cur) - float(base)
        return "持平" if round(d, 1) == 0 else f"{'提高' if d > 0 else '下降'}{abs(d):.1f}个百分点"
    g = fmt.growth_pct(cur, base)
    if g is None:
        return "无可比数据"
    return "持平" if round(g, 1) == 0 else f"{'增长' if g > 0 else '下降'}{abs(g):.1f}%"


def _bad(x) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA


def _chg(cur, base, basis: str, unit_pct: bool = False) -> str:
    """'同比增长5.2%' / '较2024年第三季度下降3.1%' / '同比提高2.0个百分点'."""
    if basis in ("同比", "环比"):
        return fmt.change(cur, base, basis, unit_pct=unit_pct)
    return basis + _move(cur, base, unit_pct)


def _child_label(st: Study, child: str) -> str:
    name = st.child_names.get(child, "")
    if st.topic.kind == "adrg" and len(child) == 4 and not name:
        name = f"{st.topic.name}，{COMPLICATION.get(child[-1], '')}"
    return f"{child}“{name}”" if name else child


def child_changes(st: Study, cnt: pd.Series, p0: Period, p1: Period, hospital: bool = False,
                  min_pp: float = 1.0, limit: int = 4) -> str:
    """Handbook-style sentences on the children whose share moved by ≥ ``min_pp`` points between p0 and
    p1: '… I63.3“…”由400例增至2,300例（增长475.0%，为2022年的5.8倍），占比由3.3%升至15.4%'.
    ``cnt`` is indexed by (child, period) → cases. High-cost children first, then the others."""
    children = sorted({c for c, _ in cnt.index})
    n0 = {c: float(cnt.get((c, p0.code), 0)) for c in children}
    n1 = {c: float(cnt.get((c, p1.code), 0)) for c in children}
    t0, t1 = sum(n0.values()), sum(n1.values())
    if not t0 or not t1:
        return ""
    rows = []
    for c in children:
        s0, s1 = n0[c] / t0 * 100, n1[c] / t1 * 100
        if abs(s1 - s0) >= min_pp:
            rows.append((c, s0, s1))
    high = st.high
    rows = sorted(rows, key=lambda r: (-abs(r[2] - r[1]), r[0]))[:limit]     # the biggest movers …
    rows.sort(key=lambda r: (-(r[2] - r[1]), r[0]))                          # … risers first
    basis = st.basis(p1, p0)
    parts = []
    for c, s0, s1 in rows:
        a, b = n0[c], n1[c]
        if hospital and 0 < a < st.suppress and 0 < b < st.suppress:
            counts = f"病例数均少于{st.suppress}例"
        elif hospital and (0 < a < st.suppress or 0 < b < st.suppress):
            counts = (f"病例数由{st.count(a)}例{'增至' if b > a else '减至'}{st.count(b)}例" if a != b
                      else f"病例数均为{st.count(b)}例")
        else:
            verb = "增至" if b > a else "减至"
            g = fmt.growth_pct(b, a)
            gtxt = ""
            if a == b:
                verb, g = "", None
            if g is not None:
                word = basis if basis in ("同比", "环比") else ""
                gtxt = f"（{word}{'增长' if g > 0 else '下降'}{abs(g):.1f}%" + (
                    f"，为{p0.label}的{b / a:.1f}倍" if a and b / a >= 2 else "") + "）"
            counts = (f"病例数由{fmt.count(a)}例{verb}{fmt.count(b)}例{gtxt}" if verb else
                      f"病例数均为{fmt.count(b)}例")
        tag = "（高费用）" if c in high else ""
        parts.append(f"{_child_label(st, c)}{tag}{counts}，占比由{fmt.pct(s0, 1)}{'升至' if s1 > s0 else '降至'}"
                     f"{fmt.pct(s1, 1)}")
    return "；".join(parts)


def _charts():
    try:
        from . import charts
        charts.setup()
    except ImportError:  # the house style is optional for the numbers
        pass
    import matplotlib.pyplot as plt
    return plt


# ---- sections: the notebook calls these in order ------------------------------------------------------

def overview(ctx, rep, st: Study) -> None:
    """Opening: what is studied, which cases, which periods, who leads; the report title."""
    t = st.topic
    try:
        rep.meta(title=f"{st.region_name}{t.title}专题分析报告", subtitle=st.period.label)
    except AttributeError:
        pass
    comp = "、".join(p.label for p in st.periods[:-1])
    if t.kind == "adrg":
        scope = (f"按DRG分组结果入组{t.code}（{t.name}，属{t.mdc}{_mdc_name(t.mdc)}）各细分组的住院病例")
    elif t.kind == "chapter":
        scope = f"主要诊断编码在{t.code_range}范围内（ICD-10{t.title}）的住院病例"
    else:
        scope = f"主要诊断编码属于ICD-10医保版2.0{t.unit}{t.code}“{t.name}”的住院病例"
    lead = f"本专题由{st.lead}牵头承办" + (f"，{st.authors}执笔" if st.authors else "") + "。" if st.lead else (
        f"执笔：{st.authors}。" if st.authors else "")
    rep.md(
        f"根据《医保数据发布简明工作手册》专题分析要求，本报告分析{st.region_name}{st.period.label}{t.title}"
        f"病例的结算量、费用、费用构成和{t.child_unit(st.pay_method)}结构，并与{comp}比较，向定点医疗机构提供"
        f"资源消耗中位数、标杆值和排名信息，对数据波动异常的机构提出核实要求。{lead}")
    rep.md(f"分析对象为{st.region_name}定点医疗机构{scope}：结算时间在期间内、结算未被冲销且已上传医保结算清单；"
           f"费用为医疗费总额，费用构成取自结算清单。机构次均费用仅对病例数不少于{st.min_cases}例的机构计算和排名，"
           f"机构层面病例数少于{st.suppress}例的显示为“<{st.suppress}”。")
    last = st.wh.months()[-1:] or [""]
    if last[0] and last[0] < st.period.last_month:
        rep.callout(f"数据截至{last[0][:4]}年{int(last[0][5:])}月，{st.period.label}的数据不完整，"
                    f"与对比期间的比较仅供参考。", kind="warning")
    if st.empty:
        rep.callout(f"{st.period.label}{st.region_name}没有{t.title}的病例，本专题暂无可分析的数据。"
                    f"可用 `yibao topics` 查看本地区结算量较大的候选专题。", kind="warning")


def _mdc_name(mdc: str) -> str:
    m = reference.mdc().set_index("mdc_code")["mdc_name"]
    return str(m.get(mdc, ""))


def volume_cost(ctx, rep, st: Study) -> None:
    """结算量、总额、次均费用、费用构成及年度间变化 (a table by period and a chart)."""
    if st.empty:
        return
    s = st.summary
    cur, base, first = st.row(st.period), st.row(st.base), st.row(st.first)
    basis = st.basis(st.period, st.base) if st.base else ""
    text = (f"{st.period.label}，{st.region_name}{st.topic.title}结算{fmt.count(cur['cases'])}例"
            f"（{_chg(cur['cases'], base['cases'], basis) if base is not None else '无对比期'}），"
            f"医疗费用总额{fmt.money(cur['medfee'])}（{_chg(cur['medfee'], base['medfee'], basis) if base is not None else ''}），"
            f"次均费用{_yuan(cur['avg_cost'])}（{_chg(cur['avg_cost'], base['avg_cost'], basis) if base is not None else ''}），"
            f"病例费用中位数{_yuan(cur['case_median'])}；平均住院日{fmt.num(cur['avg_los'], 1)}天，"
            f"统筹基金支付{fmt.money(cur['hifp_pay'])}，占医疗费用的{fmt.pct(cur['fund_share'], 1)}。"
            f"共有{int(cur['hospitals'])}家定点医疗机构收治该病种病例。")
    if first is not None and len(st.periods) > 2 and first["cases"]:
        text += (f"与{st.first.label}相比，病例数{_move(cur['cases'], first['cases'])}，"
                 f"次均费用{_move(cur['avg_cost'], first['avg_cost'])}。")
    rep.md(text)
    # cost composition
    if cur["fee_total"] > 0:
        shares = {f: cur[f + "_share"] for f in FEE_COMPONENTS}
        top = sorted(shares, key=lambda f: -(shares[f] if not np.isnan(shares[f]) else -1))[:3]
        txt = "费用构成中，" + "、".join(f"{FEE_LABELS[f]}占{fmt.pct(shares[f], 1)}" for f in top)
        if base is not None and base["fee_total"] > 0:
            moves = {f: cur[f + "_share"] - base[f + "_share"] for f in FEE_COMPONENTS}
            big = max(moves, key=lambda f: abs(moves[f]) if not np.isnan(moves[f]) else -1)
            if not np.isnan(moves[big]) and abs(moves[big]) >= 0.5:
                txt += (f"；变化最大的是{FEE_LABELS[big]}占比，{_chg(cur[big + '_share'], base[big + '_share'], basis, True)}")
        rep.md(txt + "。")
    cols = {st.short(p): p for p in st.periods}
    srow = s.set_index("period")
    lines = [("病例数（例）", "cases", fmt.count), ("医疗费用总额（万元）", "medfee", fmt.wan),
             ("次均费用（元）", "avg_cost", fmt.num), ("病例费用中位数（元）", "case_median", fmt.num),
             ("平均住院日（天）", "avg_los", lambda x: fmt.num(x, 1)),
             ("统筹基金支付（万元）", "hifp_pay", fmt.wan), ("统筹基金支付占比", "fund_share", lambda x: fmt.pct(x, 1)),
             ("收治机构数（家）", "hospitals", fmt.count)]
    lines += [(f"{FEE_LABELS[f]}占比", f + "_share", lambda x: fmt.pct(x, 1)) for f in FEE_COMPONENTS]
    tab = {"项目": [lab for lab, _, _ in lines]}
    for lab, p in cols.items():
        tab[lab] = [f(srow.loc[p.code, k]) for _, k, f in lines]
    if st.base is not None:
        tab[f"{st.period.year}年{basis}" if basis in ("同比", "环比") else "变化"] = [
            (fmt.signed_pct(fmt.growth_pct(srow.loc[st.period.code, k], srow.loc[st.base.code, k]))
             if not k.endswith("share") else
             _pp(srow.loc[st.period.code, k], srow.loc[st.base.code, k])) for _, k, _ in lines]
    rep.table(pd.DataFrame(tab), f"{st.region_name}{st.topic.title}结算量、费用和费用构成（{st.season or '全年'}）",
              note="费用构成占比按结算清单费用明细计算；病例费用中位数为全部病例医疗费用的中位数。"
                   "变化一列中，金额和例数为增长率，占比为百分点。")
    _volume_chart(rep, st)


def _pp(cur, base) -> str:
    if cur is None or base is None or np.isnan(cur) or np.isnan(base):
        return fmt.DASH
    return f"{cur - base:+.1f}个百分点"


def _volume_chart(rep, st: Study) -> None:
    plt = _charts()
    from . import charts
    s = st.summary
    fig, ax = plt.subplots(figsize=(charts.TEXT_WIDTH_IN, 3.2))
    x = np.arange(len(s))
    ax.bar(x, s["cases"].astype(float), width=0.5, color=charts.MUTED, label="病例数（例，左轴）")
    ax.set_ylabel("病例数（例）")
    ax.set_xticks(x)
    ax.set_xticklabels([st.short(p) for p in st.periods])
    ax2 = ax.twinx()
    ax2.plot(x, s["avg_cost"].astype(float), marker="o", color=charts.PALETTE[0], label="次均费用（元，右轴）")
    ax2.grid(False)
    ax2.set_ylabel("次均费用（元）")
    vals = s["avg_cost"].astype(float)
    ax2.set_ylim(0, (np.nanmax(vals.values) if vals.notna().any() else 1) * 1.3)
    for xi, v in zip(x, vals):
        if not np.isnan(v):
            ax2.annotate(fmt.num(v), (xi, v), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7.5)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, borderaxespad=0.2)
    rep.figure(fig, f"{st.topic.title}病例数和次均费用（{st.season or '全年'}）")


def hospital_comparison(ctx, rep, st: Study) -> None:
    """资源消耗中位数、标杆值、前十位/后十位、同级比较."""
    if st.empty:
        return
    h, bm = st.hosp, st.bench
    n_all, n_el = len(h), bm["n"]
    if n_el == 0:
        rep.md(f"{st.period.label}收治{st.topic.title}病例的{n_all}家机构病例数均少于{st.min_cases}例，"
               f"不计算机构次均费用和排名。")
        return
    el = h[h["eligible"]]
    ratio = bm["max"] / bm["min"] if bm["min"] else None
    above = el[el["avg_cost"] > bm["median"] * 1.5]
    rep.md(
        f"{st.period.label}，收治{st.topic.title}病例的定点医疗机构{n_all}家，其中病例数不少于{st.min_cases}例的"
        f"{n_el}家参与比较。各机构次均费用的**资源消耗中位数为{_yuan(bm['median'])}**，"
        f"**标杆值为{_yuan(bm['benchmark'])}**（参与比较机构次均费用的第25百分位数，即四分之一的机构达到或优于该水平）；"
        f"机构次均费用最高{_yuan(bm['max'])}、最低{_yuan(bm['min'])}"
        + (f"，最高是最低的{fmt.ratio(ratio, 1)}倍" if ratio else "") + "。"
        + (f"平均住院日的机构中位数为{fmt.num(bm['los_median'], 1)}天、标杆值{fmt.num(bm['los_benchmark'], 1)}天。"
           if bm["los_median"] is not None else "")
        + ("参与比较的机构不足3家，中位数和标杆值仅供参考。" if n_el < 3 else "")
        + (f"次均费用超过中位数50%以上的机构{len(above)}家：{'、'.join(above['fixmedins_name'].head(5))}"
           f"{'等' if len(above) > 5 else ''}。" if len(above) else "没有机构次均费用超过中位数50%以上。"))
    _hospital_chart(rep, st)
    n = st.top_n

    def table(d: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            "排名": d["rank"].map(lambda x: fmt.count(x)), "机构名称": d["fixmedins_name"], "级别": d["lv_group"],
            "病例数": d["cases"].map(st.count), "次均费用（元）": d["avg_cost"].map(fmt.num),
            "与中位数比": d["vs_median"].map(fmt.ratio), "与标杆值比": d["vs_benchmark"].map(fmt.ratio),
            "与同级中位数比": d["vs_level"].map(fmt.ratio),
            "平均住院日": d["avg_los"].map(lambda x: fmt.num(x, 1)),
            "次均费用同比": [fmt.signed_pct(fmt.growth_pct(a, b)) for a, b in zip(d["avg_cost"], d["base_avg_cost"])]
            if "base_avg_cost" in d else fmt.DASH,
        })
    note = (f"排名按次均费用由高到低，仅含病例数不少于{st.min_cases}例的机构；与中位数比、与标杆值比＝机构次均费用÷"
            f"资源消耗中位数（标杆值）；同级中位数为同一级别参与比较机构次均费用的中位数。")
    if n_el <= n:
        rep.table(table(el), f"{st.period.label}{st.topic.title}各机构次均费用排名", note=note)
    else:
        rep.table(table(el.head(n)), f"{st.period.label}{st.topic.title}次均费用前{n}位机构", note=note)
        rep.table(table(el.tail(n).iloc[::-1]), f"{st.period.label}{st.topic.title}次均费用后{n}位机构",
                  note="按次均费用由低到高排列。")
    lv = level_comparison(h, st.min_cases)
    if len(lv):
        parts = [f"{r.level}机构{r.eligible}家参与比较，中位数{_yuan(r.median)}"
                 + (f"（{_yuan(r.min)}～{_yuan(r.max)}）" if r.eligible > 1 else "")
                 for r in lv.itertuples() if r.eligible]
        if parts:
            rep.md("同级比较：" + "；".join(parts) + "。同级机构间次均费用相差较大的，提示诊疗路径和管理水平存在差异，"
                   "请对标同级标杆机构查找原因。")
        t = pd.DataFrame({"机构级别": lv["level"], "收治机构数": lv["hospitals"].map(fmt.count),
                          "参与比较机构数": lv["eligible"].map(fmt.count), "病例数": lv["cases"].map(fmt.count),
                          "次均费用（元）": lv["avg_cost"].map(fmt.num), "机构中位数（元）": lv["median"].map(fmt.num),
                          "机构最低（元）": lv["min"].map(fmt.num), "机构最高（元）": lv["max"].map(fmt.num)})
        rep.table(t, f"{st.period.label}{st.topic.title}同级机构比较",
                  note="次均费用为该级别全部病例合计；机构中位数、最低、最高仅含参与比较的机构。")
    small = n_all - n_el
    if small:
        rep.md(f"另有{small}家机构病例数少于{st.min_cases}例，未参与比较。")


def _hospital_chart(rep, st: Study) -> None:
    el = st.hosp[st.hosp["eligible"]]
    if len(el) < 2:
        return
    _charts()
    from . import charts
    d = pd.DataFrame({"机构": [n if len(n) <= 12 else n[:12] + "…" for n in el["fixmedins_name"]],
                      "次均费用": el["avg_cost"].astype(float).values})
    flagged = set(st.verify["fixmedins_name"]) if len(st.verify) else set()
    hl = [n if len(n) <= 12 else n[:12] + "…" for n in flagged]
    fig = charts.bar(d, "机构", "次均费用", fmt=lambda v: fmt.num(v), highlight=hl, xlabel="次均费用（元）",
                     ref=st.bench["median"], ref_label="资源消耗中位数")
    ax = fig.axes[0]
    ax.axvline(st.bench["benchmark"], color=charts.PALETTE[2], linestyle=":", linewidth=1.2)
    ax.text(st.bench["benchmark"], -0.55, f"标杆值 {fmt.num(st.bench['benchmark'])} ", fontsize=7.5,
            color=charts.PALETTE[2], va="top", ha="right")
    rep.figure(fig, f"{st.period.label}{st.topic.title}各机构次均费用",
               note=f"仅含病例数不少于{st.min_cases}例的机构；虚线为资源消耗中位数，点线为标杆值；红色为需核实的机构。")


def structure_section(ctx, rep, st: Study) -> None:
    """Structure: the children (DRG subgroups by complication level / subcategories / DIP groups /
    categories) — counts, shares, average cost and their change; hospitals × children."""
    if st.empty:
        return
    t = st.topic
    unit = t.child_unit(st.pay_method)
    s = st.struct
    cnt = s.set_index(["child", "period"])["cases"]
    children = s[s["period"] == st.period.code].sort_values("cases", ascending=False)["child"].tolist()
    if len(children) <= 1 and len(s["child"].unique()) <= 1:
        only = s["child"].iloc[0] if len(s) else t.code
        rep.md(f"{t.title}的病例全部属于{_child_label(st, only)}，没有可比较的{unit}结构。")
        return
    national = [c for c in reference.drg()["drg_code"] if c.startswith(t.code)] if t.kind == "adrg" else []
    intro = {"adrg": (f"CHS-DRG 2.0中{t.code}细分为{'、'.join(national)}，" if national else "")
                     + f"本地区{t.code}病例分布在{len(s['child'].unique())}个DRG细分组（编码末位1为伴严重合并症或并发症、"
                     f"3为伴一般合并症或并发症、5为不伴合并症或并发症、9为不区分），细分组间支付标准差异较大",
             "category": f"{t.code}类目下按主要诊断的亚目（第4位编码）分为{len(s['child'].unique())}个诊断亚目",
             "subcategory": f"{t.code}亚目下的病例分属{len(s['child'].unique())}个{unit}",
             "chapter": f"{t.title}下的病例分属{len(s['child'].unique())}个诊断类目"}[t.kind]
    high = [c for c in children if c in st.high] or sorted(st.high)
    if t.kind == "adrg" and high:
        level = COMPLICATION.get(high[0][-1], "")
        gap = ""
        std = st.child_pay_std
        low = [c for c in sorted(s["child"].unique()) if c not in st.high and std.get(c) and not _bad(std.get(c))]
        if std.get(high[0]) and low:
            lo = min(low, key=lambda c: std[c])
            gap = (f"，{high[0]}支付标准{_yuan(std[high[0]])}，比{lo}（{_yuan(std[lo])}）"
                   f"高{_yuan(std[high[0]] - std[lo])}")
        rule = f"其中{'、'.join(high)}为{level}的细分组（下称“高费用细分组”）{gap}"
    else:
        rule = (f"按各{unit}在对比期间的平均费用，高于{t.ref}整体平均水平的为“高费用{unit}”"
                f"（{'、'.join(high) if high else '无'}）")
    rep.md(f"{intro}。{rule}。在病种付费下，支付标准较低的病例占比减少、支付标准较高的病例占比上升，"
           f"可能提示“高编高靠”。")
    texts = []
    if st.base is not None:
        ch = child_changes(st, cnt, st.base, st.period)
        if ch:
            texts.append(f"与{st.base.label}相比，{ch}。")
    if len(st.periods) > 2:
        ch = child_changes(st, cnt, st.first, st.period)
        if ch:
            texts.append(f"与{st.first.label}相比，{ch}。")
    hs = s[s["high"]].groupby("period")["share"].sum()
    if high and st.base is not None:
        texts.append(f"全区域高费用{unit}病例占比{st.period.label}为{fmt.pct(hs.get(st.period.code), 1)}，"
                     f"{_chg(hs.get(st.period.code), hs.get(st.base.code), st.basis(st.period, st.base), True)}。")
    if texts:
        rep.md("".join(texts))
    # region table
    shown = children[:MAX_CHILDREN] if t.kind == "chapter" else sorted(s["child"].unique())
    table = _structure_table(st, s, shown)
    rep.table(table, f"{st.region_name}{t.title}{unit}结构（{st.season or '全年'}）",
              note=f"占比为该{unit}病例数占{t.ref}病例数的比例；次均费用在病例数少于{st.min_cases}例时不计算；"
                   f"变化为{st.period.year}年与上一对比期间相比（例数为增长率，占比为百分点）。"
                   + ("支付标准取自本地区分组目录。" if st.child_pay_std else "")
                   + (f"仅列{st.period.label}病例数最多的{MAX_CHILDREN}个类目。" if t.kind == "chapter" else ""))
    _structure_chart(rep, st, shown)
    _hospital_structure_table(rep, st, children)


def _structure_table(st: Study, s: pd.DataFrame, shown: list[str]) -> pd.DataFrame:
    rows = []
    for c in shown:
        d = s[s["child"] == c].set_index("period")
        r = {st.topic.child_unit(st.pay_method): c, "名称": st.child_names.get(c, "")}
        if st.topic.kind == "adrg":
            r["合并症或并发症"] = COMPLICATION.get(c[-1], "—") if len(c) == 4 else "—"
        if st.child_pay_std:
            r["支付标准（元）"] = fmt.num(st.child_pay_std.get(c))
        for p in st.periods:
            r[f"{st.short(p)}例数"] = fmt.count(d.loc[p.code, "cases"]) if p.code in d.index else "0"
        for p in st.periods:
            r[f"{st.short(p)}占比"] = fmt.pct(d.loc[p.code, "share"], 1) if p.code in d.index else fmt.DASH
        r[f"{st.short(st.period)}次均费用（元）"] = fmt.num(d.loc[st.period.code, "avg_cost"])
        if st.base is not None:
            r["例数变化"] = fmt.signed_pct(fmt.growth_pct(d.loc[st.period.code, "cases"], d.loc[st.base.code, "cases"]))
            r["占比变化"] = _pp(d.loc[st.period.code, "share"], d.loc[st.base.code, "share"])
        r["高费用"] = "是" if c in st.high else ""
        rows.append(r)
    return pd.DataFrame(rows)


def _structure_chart(rep, st: Study, shown: list[str]) -> None:
    _charts()
    from . import charts
    s = st.struct
    top = shown[:7] if len(shown) > 8 else shown
    rows = []
    for p in st.periods:
        d = s[s["period"] == p.code].set_index("child")["cases"]
        row = {"期间": st.short(p)}
        row.update({c: float(d.get(c, 0) or 0) for c in top})
        rest = float(d.sum()) - sum(row[c] for c in top)
        if len(s["child"].unique()) > len(top):
            row["其他"] = max(rest, 0.0)
        rows.append(row)
    df = pd.DataFrame(rows)
    parts = [c for c in df.columns if c != "期间"]
    fig = charts.stacked_share(df, "期间", parts, labels={c: c + ("*" if c in st.high else "") for c in parts})
    rep.figure(fig, f"{st.topic.title}{st.topic.child_unit(st.pay_method)}构成变化",
               note="按病例数计算的构成；带*的为高费用细分组（见附“统计口径”）。")


def _hospital_structure_table(rep, st: Study, children: list[str]) -> None:
    c = st.cells
    cur = c[c["period"] == st.period.code]
    if cur.empty:
        return
    cols = children[:6]
    piv = cur.pivot_table(index="fixmedins_code", columns="child", values="cases", aggfunc="sum", fill_value=0)
    hs = st.hstruct.set_index(["fixmedins_code", "period"])
    h = st.hosp.set_index("fixmedins_code")
    order = h.sort_values(["cases"], ascending=False).index
    rows = []
    for code in order:
        if code not in piv.index:
            continue
        r = {"机构名称": h.loc[code, "fixmedins_name"], "级别": h.loc[code, "lv_group"],
             "病例数": st.count(h.loc[code, "cases"])}
        for ch in cols:
            r[ch] = st.count(piv.loc[code].get(ch, 0))
        if len(children) > len(cols):
            r["其他"] = st.count(piv.loc[code, [x for x in piv.columns if x not in cols]].sum())
        if st.high:
            for p, lab in ((st.base, "同期"), (st.period, "本期")):
                if p is None:
                    continue
                key = (code, p.code)
                ok = key in hs.index and hs.loc[key, "cases"] >= st.min_cases
                r[f"高费用占比（{st.short(p)}）"] = fmt.pct(hs.loc[key, "high_share"], 1) if ok else fmt.DASH
        rows.append(r)
    rep.table(pd.DataFrame(rows), f"{st.period.label}各机构{st.topic.title}{st.topic.child_unit(st.pay_method)}病例数",
              note=f"病例数少于{st.suppress}例的显示为“<{st.suppress}”；高费用占比仅对该期病例数不少于{st.min_cases}例的机构计算。")


def verification_section(ctx, rep, st: Study) -> None:
    """The upcoding signal of the findings engine and the hospitals asked to verify (核实)."""
    if st.empty:
        return
    sig = st.signal
    kind = "高套病组" if st.topic.kind == "adrg" else "高靠诊断"
    if st.findings_error:
        rep.md(f"本期问题线索清单未能生成（{st.findings_error}），以下仅依据本专题的数据比对。")
    elif len(sig):
        rep.md(f"医保部门问题线索清单中，涉及{st.topic.title}的疑似{kind}线索{len(sig)}条，涉及"
               f"{sig['fixmedins_code'].nunique()}家机构：" + "；".join(
                   f"{r.fixmedins_name}（{r.message}）" for r in sig.itertuples()) + "。")
    else:
        rep.md(f"医保部门问题线索清单中没有涉及{st.topic.title}的疑似{kind}线索。")
    v = st.verify
    crit = (f"核实标准：与{st.base.label if st.base else '上年同期'}相比（两期病例数均不少于{st.min_cases}例），"
            f"高费用{st.topic.child_unit(st.pay_method)}占比提高超过{fmt.num(st.share_pp, 0)}个百分点"
            f"（或较{st.first.label}提高超过{fmt.num(st.share_pp, 0)}个百分点）、次均费用变化超过{fmt.num(st.cost_pct, 0)}%、"
            f"病例数变化超过{fmt.num(st.volume_pct, 0)}%，或问题线索清单提示疑似{kind}。")
    if v.empty:
        rep.md(f"按上述标准，{st.period.label}没有数据波动异常、需要核实的机构。{crit}")
        return
    rep.md(f"按下列标准，{st.period.label}有{len(v)}家机构{st.topic.title}数据波动异常，请以适当方式沟通核实，"
           f"或由相关机构提交分析报告。{crit}")
    cnt = st.cells.groupby(["fixmedins_code", "child", "period"])["cases"].sum()
    told = v[v["reasons"].map(lambda rs: any("占比" in x or "问题线索" in x for x in rs))].head(5)
    for r in told.itertuples():
        if r.fixmedins_code not in cnt.index.get_level_values(0):
            continue
        hc = cnt.loc[r.fixmedins_code]
        parts = []
        if st.base is not None:
            ch = child_changes(st, hc, st.base, st.period, hospital=True)
            if ch:
                parts.append(f"与{st.base.label}相比，{ch}")
        if len(st.periods) > 2:
            ch = child_changes(st, hc, st.first, st.period, hospital=True)
            if ch:
                parts.append(f"与{st.first.label}相比，{ch}")
        head = f"**{r.fixmedins_name}**：{'；'.join(r.reasons)}。"
        rep.md(head + ("。".join(parts) + "。" if parts else "") + f"请说明：{r.explain}。")
    t = pd.DataFrame({
        "机构名称": v["fixmedins_name"], "级别": v["lv_group"],
        "本期病例": v["cases"].map(st.count), "同期病例": v["base_cases"].map(st.count),
        "病例数变化": v["volume_change"].map(fmt.signed_pct),
        "次均费用变化": v["cost_change"].map(fmt.signed_pct),
        "高费用占比（本期）": v["high_share"].map(lambda x: fmt.pct(x, 1)),
        "占比变化（百分点）": v["share_change"].map(lambda x: fmt.DASH if pd.isna(x) else f"{x:+.1f}"),
        "问题线索": v["signal"].replace("", fmt.DASH),
        "需说明事项": v["explain"],
    })
    rep.table(t, f"{st.period.label}{st.topic.title}需核实的机构",
              note="同期为上一对比期间（默认上年同期）；数据比对结果不等同于违规认定，请相关机构据实说明。")


def conclusion(ctx, rep, st: Study) -> None:
    """A short conclusion generated from the numbers."""
    if st.empty:
        rep.md(f"{st.period.label}{st.region_name}无{st.topic.title}病例，建议结合 `yibao topics` 的候选排序另选专题。")
        return
    cur, base = st.row(st.period), st.row(st.base)
    basis = st.basis(st.period, st.base) if st.base else ""
    items = []
    if base is not None:
        items.append(f"**规模和费用。**{st.topic.title}病例数{_chg(cur['cases'], base['cases'], basis)}，"
                     f"次均费用{_chg(cur['avg_cost'], base['avg_cost'], basis)}，医疗费用总额"
                     f"{_chg(cur['medfee'], base['medfee'], basis)}。"
                     + ("病例数和次均费用同时上升，费用总额增长较快，需关注。" if
                        (fmt.growth_pct(cur['cases'], base['cases']) or 0) > 0 and
                        (fmt.growth_pct(cur['avg_cost'], base['avg_cost']) or 0) > 0 else ""))
    bm = st.bench
    if bm["n"] >= 2:
        items.append(f"**机构差异。**资源消耗中位数{_yuan(bm['median'])}，标杆值{_yuan(bm['benchmark'])}，"
                     f"机构间次均费用最高是最低的{fmt.ratio(bm['max'] / bm['min'], 1)}倍。"
                     "次均费用高于中位数的机构请对标标杆值，优化诊疗路径，控制不合理费用。")
    s = st.struct
    if st.high and st.base is not None and len(s):
        hs = s[s["high"]].groupby("period")["share"].sum()
        d = hs.get(st.period.code, np.nan) - hs.get(st.base.code, np.nan)
        unit = st.topic.child_unit(st.pay_method)
        if not np.isnan(d):
            hint = ("支付标准较高的病例占比上升，需关注是否存在“高编高靠”。" if d >= st.share_pp / 2 else
                    "结构总体稳定。" if abs(d) < st.share_pp / 2 else "高费用病例占比下降。")
            items.append(f"**病种结构。**全区域高费用{unit}病例占比{fmt.pct(hs.get(st.period.code), 1)}，"
                         f"{_chg(hs.get(st.period.code), hs.get(st.base.code), basis, True)}，{hint}")
    v = st.verify
    if len(v):
        items.append(f"**需核实机构。**{len(v)}家机构数据波动异常（{'、'.join(v['fixmedins_name'].head(6))}"
                     f"{'等' if len(v) > 6 else ''}），请相关机构对照本报告所列事项自查并提交说明；"
                     f"医保部门将结合病历抽查核实{'是否存在高套病组' if st.topic.kind == 'adrg' else '是否存在高靠诊断'}。")
    else:
        items.append("**需核实机构。**本期未发现需要核实的机构。")
    for i, text in enumerate(items, 1):
        rep.md(f"{i}. {text}")


def definitions(ctx, rep, st: Study) -> None:
    """口径说明 appendix."""
    rep.md(
        f"1. **病例。**{st.region_name}定点医疗机构已上传医保结算清单、结算未被冲销的住院病例，按结算时间归属期间；"
        + ("ADRG专题按DRG编码前三位归类。" if st.topic.kind == "adrg" else "ICD专题按主要诊断编码（ICD-10医保版2.0）归类。")
        + f"\n2. **次均费用、病例费用中位数。**医疗费用总额÷病例数；病例费用中位数为全部病例医疗费用的中位数。"
        f"机构次均费用仅对病例数不少于{st.min_cases}例的机构计算。"
        f"\n3. **资源消耗中位数。**参与比较机构（病例数不少于{st.min_cases}例）次均费用的中位数。"
        f"\n4. **标杆值。**参与比较机构次均费用的第25百分位数（线性插值），即四分之一的机构达到或优于的水平；平均住院日同理。"
        + ("\n5. **高费用细分组。**ADRG下合并症或并发症最严重的细分组（末位1伴严重合并症或并发症；"
           "没有1组的ADRG取3组）。" if st.topic.kind == "adrg" else
           f"\n5. **高费用{st.topic.child_unit(st.pay_method)}。**对比期间合计平均费用高于该专题整体平均费用的"
           f"{st.topic.child_unit(st.pay_method)}。")
        + f"\n6. **核实标准。**两期病例数均不少于{st.min_cases}例时，高费用占比提高超过{fmt.num(st.share_pp, 0)}个百分点、"
        f"次均费用变化超过{fmt.num(st.cost_pct, 0)}%、病例数变化超过{fmt.num(st.volume_pct, 0)}%，或问题线索清单"
        f"（UPCODING_DRG、UPCODING_ICD）提示该专题的疑似高套高靠。"
        f"\n7. **数据安全。**报告不含参保人个人信息；机构层面病例数少于{st.suppress}例的显示为“<{st.suppress}”。"
        f"数据仅限{st.region_name}定点医药机构内部使用，不得对外传播。")


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
    from .warehouse import period_filter
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


# ---- yibao topics -------------------------------------------------------------------------------------

def _w(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in str(s))


def text_table(df: pd.DataFrame, right: set | None = None, max_width: int = 26) -> str:
    """A plain-text table aligned for terminals that show CJK characters double width."""
    right = right or set()
    cols = [str(c) for c in df.columns]
    rows = [[str(v) for v in r] for r in df.itertuples(index=False, name=None)]
    rows = [[v if _w(v) <= max_width else _cut(v, max_width) for v in r] for r in rows]
    widths = [max([_w(c)] + [_w(r[i]) for r in rows]) for i, c in enumerate(cols)]

    def line(vals):
        out = []
        for i, v in enumerate(vals):
            pad = " " * (widths[i] - _w(v))
            out.append(pad + v if cols[i] in right else v + pad)
        return "  ".join(out).rstrip()
    return "\n".join([line(cols), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _cut(s: str, n: int) -> str:
    out = ""
    for ch in s:
        if _w(out + ch) > n - 1:
            return out + "…"
        out += ch
    return out


def run_cli(args) -> int:
    """``yibao topics --data DIR --region R --year Y [--top N] [--plan FILE]``."""
    data = Path(args.data)
    if not data.is_dir():
        raise YibaoError(f"--data: 数据目录 {data} 不存在")
    with Warehouse(data) as wh:
        info = wh.region(str(args.region))
        pay = info["pay_method"]
        if pay not in ("DRG", "DIP"):
            raise DataError(f"poolarea · pay_method · 统筹区 {args.region} 的支付方式为 {pay!r}，必须为 DRG 或 DIP")
        if not wh.has("setl_list"):
            raise DataError(f"{data}: 缺少结算清单表 setl_list，无法排序候选专题")
        ranked = rank_topics(wh, str(args.region), int(args.year))
    name = info.get("poolarea_name") or args.region
    plan_file = plan_path(args.year, getattr(args, "plan", None))
    plan_exists = plan_file.exists()
    planned = year_plan_topics(str(args.region), int(args.year), plan_file) if plan_exists else []
    planned_codes = {resolve(t).code for t in planned if _safe_resolve(t)}
    cov = coverage(planned, pay)
    covered_keys = set(cov["covered"])
    top = ranked.head(int(args.top or 20))
    unit = "ADRG" if pay == "DRG" else "ICD-10类目"
    print(f"{name}（{args.region}，{pay}付费）{args.year}年专题分析候选{unit}（按综合得分排序，前{len(top)}个，"
          f"共{len(ranked)}个候选）")
    if top.empty:
        print(f"  {args.year}年没有结算清单数据。")
    else:
        cover_head = "MDC" if pay == "DRG" else "章"
        t = pd.DataFrame({
            "排名": top["rank"].astype(str), "编码": top["code"], "名称": top["name"],
            cover_head: top["cover"], "病例数": top["cases"].map(fmt.count),
            "总费用(万元)": top["amount"].map(fmt.wan), "次均费用(元)": top["avg_cost"].map(fmt.num),
            "未入组占比": top["ungrouped_share"].map(lambda x: fmt.pct(x, 1)),
            "据实结算占比": top["actual_share"].map(lambda x: fmt.pct(x, 1)),
            "质控未通过占比": top["qc_fail_share"].map(lambda x: fmt.pct(x, 1)),
            "综合得分": top["score"].map(lambda x: fmt.num(x, 1)),
            "计划": ["已列入" if c in planned_codes else ("已覆盖" + cover_head if v in covered_keys else "")
                   for c, v in zip(top["code"], top["cover"])],
        })
        print(text_table(t, right={"排名", "病例数", "总费用(万元)", "次均费用(元)", "未入组占比", "据实结算占比",
                                   "质控未通过占比", "综合得分"}))
        print(f"\n综合得分 = 100 ×（0.4×病例数/最大病例数 + 0.4×总费用/最大总费用 + 0.2×入组结算问题/最大值）；"
              f"入组结算问题为未入组、据实结算、质控未通过三项占比的平均，病例数不少于{RANK_MIN_CASES}例时计入。"
              + ("DRG地区未入组病例按主要诊断类目归入最常见的ADRG。" if pay == "DRG" else ""))
    print()
    if plan_exists:
        print(f"{args.year}年发布计划（{plan_file}）已选专题：{'、'.join(planned) if planned else '无'}")
    else:
        print(f"未找到{args.year}年发布计划 {plan_file}（可用 --plan 指定；`yibao plan` 生成）。")
    total, n_cov = cov["total"], cov["n_covered"]
    what = "MDC" if pay == "DRG" else "病种库ICD-10章（I–XIX、XXI）"
    print(f"已覆盖{what} {n_cov}/{total}：" + ("；".join(
        f"{k} {cov['names'].get(k, '')}（{'、'.join(v)}）" for k, v in cov["covered"].items()) or "无"))
    rest = [f"{k} {cov['names'].get(k, '')}" for k in cov["remaining"]]
    print(f"尚未覆盖 {len(rest)} 个：" + ("" if rest else "无（已全部覆盖）"))
    for i in range(0, len(rest), 4):
        print("  " + "；".join(rest[i:i + 4]))
    if cov["ignored"]:
        print(f"不计入覆盖的专题：{'、'.join(cov['ignored'])}（与{pay}地区的覆盖口径不对应）")
    if not top.empty:
        todo = top[~top["cover"].isin(covered_keys)].head(5)
        if len(todo):
            print("建议优先考虑（得分高且所属" + ("MDC" if pay == "DRG" else "章") + "尚未覆盖）："
                  + "、".join(f"{r.code} {r.name}" for r in todo.itertuples()))
        example = top["code"].iloc[0]
        print(f"\n生成专题报告（例）：yibao run --data {args.data} --region {args.region} --period {args.year} "
              f"--kind topic --topic {example}\n（--period 也可为季度，如 {args.year}Q4；详见 docs/topic.md）")
    return 0
