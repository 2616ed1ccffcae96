"""The findings engine — 问题警示清单 (错) and the 表扬 list (handbook 五(二)3, 六(三), 附录2 (三), 附录3 3).

Public API (notebooks and the batch call these)::

    find(wh, region, period)           -> DataFrame with exactly the contract's findings.csv columns
    find_detailed(wh, region, period)  -> the same rows plus rule_name, level, peer_group, volume, z, annotation
    commend(wh, region, period)        -> the 表扬 list (best cost and time efficiency, clean record)
    RULES                              -> rule_id -> Rule(name, description, func)
    write_findings(data_dir, region, period, out_dir) -> OUT/P/R/findings.csv (+ commendations.csv)

Every rule compares a hospital with its peers (robust median / MAD within the hospital level group, see
:mod:`yibao.findings.stats`) or with its own past, needs a minimum volume, and grades severity from the
distance and the volume; the message is one Chinese sentence stating the metric, the hospital's value and
the benchmark. Person-level rules (READMIT_15D, SPLIT_ADMISSION, GROUP_ADMISSION, IMPOSSIBLE_TRAVEL) work
in SQL and report counts and example dates only: no person identifier ever reaches a finding.
The methods, thresholds and measured precision/recall are documented in docs/findings.md.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Callable, NamedTuple

import pandas as pd

from yibao.findings import rules as R
from yibao.findings import yardstick
from yibao.findings.rules_peers import (
    base_group_tertiary,
    case_growth_high,
    cost_deviation,
    opip_ratio_low,
    out_of_catalog_high,
)
from yibao.findings.rules_coding import upcoding_drg, upcoding_icd
from yibao.findings.rules_admissions import (
    group_admission,
    impossible_travel,
    low_standard_admission,
    readmit_15d,
    split_admission,
)
from yibao.findings.rules_quality import efficiency, qc_pass_low, upload_low
from yibao.errors import YibaoError
from yibao.fsutil import atomic_path, publication_dir
from yibao.data.periods import Period, PeriodError
from yibao.data.warehouse import Warehouse

COLUMNS = ["rule_id", "fixmedins_code", "fixmedins_name", "subject", "metric", "value", "benchmark", "severity",
           "message", "impact", "impact_basis", "peer_group"]
# impact: the estimated amount in 元 (issue 13); impact_basis: what it is (医保基金… / 患者负担…), or why a finding
# has none ("不估算：…"); peer_group: the comparison group or yardstick the benchmark belongs to, in the message's
# words (its median is in benchmarks.csv). These three extend the contract's columns (docs/findings.md).
DETAIL_COLUMNS = COLUMNS + ["rule_name", "level", "volume", "z", "annotation"]
COMMEND_COLUMNS = ["fixmedins_code", "fixmedins_name", "level", "grouped_cases", "cost_index", "time_index",
                   "reason"]
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


class Rule(NamedTuple):
    name: str
    description: str
    func: Callable


def _t(rule_id: str, key: str):
    return R.T[rule_id][key]


RULES: dict[str, Rule] = {
    "OPIP_RATIO_LOW": Rule(
        "门诊住院人次比异常偏低",
        f"本地参保人门诊类结算人次 ÷ 住院类结算人次（底稿指标40），与同级医院中位数比较（对数尺度稳健z值，"
        f"MAD下限{_t('OPIP_RATIO_LOW', 'floor_log')}）；z≥3且低于中位数40%以上提示，z≥3.5为中，z≥5且低于中位数60%以上"
        f"且出院≥{2 * _t('OPIP_RATIO_LOW', 'min_ip')}人次为高；出院人次≥{_t('OPIP_RATIO_LOW', 'min_ip')}方纳入。",
        opip_ratio_low),
    "OUT_OF_CATALOG_HIGH": Rule(
        "医保外费用占比异常偏高",
        f"本地参保人门诊及住院全自费金额 ÷ 医疗费总额（底稿指标45），与同级综合类医院中位数比较（MAD下限1.5个百分点或中位数的15%）；"
        f"高于中位数50%以上且z≥3提示，z≥3.5为中，z≥5且高出一倍以上为高；专科医院（specialty非空或类别为专科医院）"
        f"与同类专科医院比较，同类不足3家时仅作低级别提示并注明；结算≥{_t('OUT_OF_CATALOG_HIGH', 'min_setl')}人次方纳入。",
        out_of_catalog_high),
    "CASE_GROWTH_HIGH": Rule(
        "出院人次增幅异常",
        f"本地参保人出院人次同比、环比增长率，与同级医院比较（稳健z值，MAD下限10个百分点），基准为同级医院混合增长率"
        f"（Σ本期÷Σ基期−1，按病例加权）；须基期≥{_t('CASE_GROWTH_HIGH', 'min_base')}人次、本期≥"
        f"{_t('CASE_GROWTH_HIGH', 'min_cur')}人次、超出同级增速的病例≥{_t('CASE_GROWTH_HIGH', 'min_excess')}人次，且增幅达同级"
        f"两倍或高出30个百分点；同比、环比均异常为高；近{_t('CASE_GROWTH_HIGH', 'new_campus_months')}个月内开始定点的新院区"
        f"注明并降为低。",
        case_growth_high),
    "BASE_GROUP_TERTIARY": Rule(
        "三级医院收治基层病组",
        f"三级医院入组病例中基层病组（目录base_group=1）病例占比，与本统筹区三级医院中位数比较（MAD下限3个百分点或中位数的15%）；"
        f"高于中位数50%以上且z≥3提示；须入组≥{_t('BASE_GROUP_TERTIARY', 'min_grouped')}例、基层病组≥"
        f"{_t('BASE_GROUP_TERTIARY', 'min_base_cases')}例、可比三级医院≥{_t('BASE_GROUP_TERTIARY', 'min_peers')}家。",
        base_group_tertiary),
    "COST_DEVIATION": Rule(
        "常见病组次均费用偏离",
        f"本期入组病例数前{_t('COST_DEVIATION', 'top_groups')}位病组，医院该组次均费用与同级医院同组次均费用中位数比较"
        f"（对数尺度，MAD下限0.10）；偏高30%以上且z≥3提示、z≥3.5为中、偏高50%以上且z≥5为高；偏低者仅作低级别提示；"
        f"医院该组≥{_t('COST_DEVIATION', 'min_cases')}例、同级可比医院≥{_t('COST_DEVIATION', 'min_peers')}家"
        f"（各≥{_t('COST_DEVIATION', 'min_peer_cases')}例）。",
        cost_deviation),
    "UPCODING_DRG": Rule(
        "疑似高套病组（ADRG细分组结构变化）",
        f"DRG地区：同一ADRG内权重高于最低权重细分组的病例占比，本期与去年同期比较；占比上升≥10个百分点、两比例z≥3、"
        f"较高权重组病例数同比增长≥20%且最低权重组同比下降≥10%、比全统筹区其他医院变化多≥10个百分点；"
        f"本期与去年同期该ADRG各≥{_t('UPCODING_DRG', 'min_cur')}例；上升≥20个百分点且z≥4.5为高。",
        upcoding_drg),
    "UPCODING_ICD": Rule(
        "疑似高靠诊断（ICD-10类目亚目结构变化）",
        f"主要诊断同一ICD-10类目内特指亚目（非.9未特指）病例占比，本期与去年同期比较（有两年前数据时一并列示）；"
        f"去年同期未特指占比≥20%、特指占比上升≥10个百分点、两比例z≥3、比全统筹区其他医院变化多≥10个百分点；"
        f"本期与去年同期该类目各≥{_t('UPCODING_ICD', 'min_cur')}例；上升≥20个百分点且z≥4.5为高；增长亚目平均费用不高于"
        f"未特指亚目时降为低。",
        upcoding_icd),
    "READMIT_15D": Rule(
        "15天内再入院率偏高",
        f"本期入院中，同一参保人出院后0–15天内再次入住同一医院的人次（3天内同诊断类目者归入分解住院，不重复计）÷ 入院人次，"
        f"与同级医院中位数比较（MAD下限1个百分点或中位数的25%）；达中位数两倍且z≥3提示，z≥3.5为中，达三倍且z≥5为高；"
        f"入院≥{_t('READMIT_15D', 'min_adm')}人次且再入院≥{_t('READMIT_15D', 'min_events')}人次。",
        readmit_15d),
    "SPLIT_ADMISSION": Rule(
        "疑似分解住院",
        f"本期入院中，同一参保人出院后0–3天内以相同主要诊断类目再次入住同一医院的人次 ÷ 入院人次，与同级医院中位数比较"
        f"（MAD下限0.5个百分点或中位数的25%）；达中位数两倍且z≥3提示，z≥3.5为中，达三倍且z≥5为高；入院≥"
        f"{_t('SPLIT_ADMISSION', 'min_adm')}人次且疑似分解≥{_t('SPLIT_ADMISSION', 'min_events')}人次。",
        split_admission),
    "LOW_STANDARD_ADMISSION": Rule(
        "疑似低标准入院",
        f"入组病例中权重/分值不高于本统筹区目录第25百分位且实际住院≤2天的病例占比，与同级医院中位数比较（MAD下限2个百分点"
        f"或中位数的20%）；高于中位数50%以上且z≥3提示，z≥3.5为中，高出一倍以上且z≥5为高；入组≥"
        f"{_t('LOW_STANDARD_ADMISSION', 'min_grouped')}例且此类病例≥{_t('LOW_STANDARD_ADMISSION', 'min_events')}例。",
        low_standard_admission),
    "GROUP_ADMISSION": Rule(
        "疑似组团式住院",
        f"截至本期末的近12个月内，同一组≥{_t('GROUP_ADMISSION', 'min_persons')}名参保人在同一医院前后1天内共同入院"
        f"≥{_t('GROUP_ADMISSION', 'min_occasions')}次（其中至少1次在本期）；≥{_t('GROUP_ADMISSION', 'high_groups')}组或"
        f"单组≥{_t('GROUP_ADMISSION', 'high_occasions')}次为高，其余为中；只报告组数、人数、次数和示例日期。",
        group_admission),
    "IMPOSSIBLE_TRAVEL": Rule(
        "就医时间地点冲突（逻辑验证）",
        f"本期本统筹区机构（含药店）的结算中，同一参保人前后{_t('IMPOSSIBLE_TRAVEL', 'minutes')}分钟内在其他统筹区另有结算的笔数，"
        f"与按全统筹区其他机构冲突率推算的期望值比较；≥{_t('IMPOSSIBLE_TRAVEL', 'min_events')}笔、达期望值"
        f"{_t('IMPOSSIBLE_TRAVEL', 'min_ratio'):g}倍且泊松检验p≤1e-4方提示；≥{_t('IMPOSSIBLE_TRAVEL', 'med_events')}笔为中，"
        f"≥{_t('IMPOSSIBLE_TRAVEL', 'high_events')}笔为高；只报告笔数和示例时间。",
        impossible_travel),
    "QC_PASS_LOW": Rule(
        "结算清单质控通过率偏低",
        f"医保结算清单质控通过份数 ÷ 已上传份数（底稿指标29），与全统筹区医院中位数比较（MAD下限2个百分点）；"
        f"低于中位数8%以上且z≥3提示，低10%以上且z≥3.5为中，低20%以上且z≥5为高；已上传≥"
        f"{_t('QC_PASS_LOW', 'min_uploaded')}份方纳入。",
        qc_pass_low),
    "UPLOAD_LOW": Rule(
        "结算清单上传率偏低",
        f"已上传医保结算清单份数 ÷ 住院结算人次（底稿指标28），与全统筹区医院中位数比较（MAD下限2个百分点）；"
        f"低于中位数8%以上且z≥3提示，低10%以上且z≥3.5为中，低20%以上且z≥5为高；住院≥"
        f"{_t('UPLOAD_LOW', 'min_ip')}人次方纳入。",
        upload_low),
}

COMMENDATION = (f"表扬名单：本期入组病例≥{R.COMMEND['min_grouped']}例、费用消耗指数（底稿指标44）与时间消耗指数（指标43）"
                f"均低于{R.COMMEND['max_index']:g}、且本期无中高级别问题警示的医院，按两项指数之和从低到高取前"
                f"{R.COMMEND['top']}家。")


# ---- running -------------------------------------------------------------------------------------------
def _open(wh) -> tuple[Warehouse, bool]:
    if isinstance(wh, Warehouse):
        return wh, False
    return Warehouse(wh), True


def _context(wh: Warehouse, region: str, period) -> R.Ctx:
    try:
        p = Period.parse(period)
    except PeriodError as exc:
        raise YibaoError(str(exc)) from None
    reg = wh.region(str(region))
    hosp = wh.df("SELECT * FROM fixmedins_x WHERE poolarea_no = ? AND fixmedins_type = '1' ORDER BY fixmedins_code",
                 [str(region)]).set_index("fixmedins_code", drop=False)
    return R.Ctx(wh=wh, region=str(region), region_name=str(reg.get("poolarea_name") or region),
                 pay_method=reg["pay_method"], period=p, hosp=hosp, references=yardstick.references(str(region)))


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for c in DETAIL_COLUMNS:
        if c not in df:
            df[c] = None
    if df.empty:
        return df[DETAIL_COLUMNS]
    df["rule_name"] = df["rule_id"].map(lambda r: RULES[r].name)
    for c in ("value", "benchmark", "z"):
        df[c] = pd.to_numeric(df[c], errors="coerce").round(2).astype(float)
    df["impact"] = pd.to_numeric(df["impact"], errors="coerce").round(0).astype(float)
    df["impact_basis"] = df["impact_basis"].fillna("").astype(str)
    df["peer_group"] = df["peer_group"].fillna("").astype(str)
    df["volume"] = pd.to_numeric(df["volume"], errors="coerce")
    df["subject"] = df["subject"].fillna("").astype(str)
    df["annotation"] = df["annotation"].fillna("").astype(str)
    df["_s"] = df["severity"].map(SEVERITY_ORDER)
    df["_i"] = -df["impact"].fillna(-1.0)  # the largest estimated amount first; findings without one last
    df = df.sort_values(["_i", "_s", "rule_id", "fixmedins_code", "subject", "message"], kind="mergesort")
    return df.drop(columns=["_s", "_i"])[DETAIL_COLUMNS].reset_index(drop=True)


def analyse(wh, region: str, period, rules: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the rules once: (detailed findings, commendation list)."""
    found, praised, _ = analyse_all(wh, region, period, rules)
    return found, praised


def analyse_all(wh, region: str, period, rules: list[str] | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run the rules once: (detailed findings, commendation list, benchmarks — the comparison groups the rules
    used, ``R.BENCHMARK_COLUMNS``: the one source of every peer median a publication prints)."""
    wh, own = _open(wh)
    try:
        ctx = _context(wh, region, period)
        if ctx.hosp.empty and not wh.has("setl"):
            return _frame([]), pd.DataFrame(columns=COMMEND_COLUMNS), pd.DataFrame(columns=R.BENCHMARK_COLUMNS)
        R.build_scratch(ctx)
        try:
            rows: list[dict] = []
            for rule_id, rule in RULES.items():
                if rules is None or rule_id in rules:
                    rows.extend(rule.func(ctx))
            found = _frame(rows)
            praised = _commend(ctx, found)
        finally:
            R.drop_scratch(ctx)
        bm = pd.DataFrame(ctx.benchmarks, columns=R.BENCHMARK_COLUMNS)
        for c in ("value", "min", "max"):
            bm[c] = pd.to_numeric(bm[c]).round(4)
        return found, praised, bm.reset_index(drop=True)
    finally:
        if own:
            wh.close()


def benchmarks(wh, region: str, period) -> pd.DataFrame:
    """The comparison groups of the region and period's peer rules (benchmarks.csv)."""
    return analyse_all(wh, region, period)[2]


def find_detailed(wh, region: str, period) -> pd.DataFrame:
    """Findings with the extra columns rule_name, level (hospital level group), peer_group (comparison group),
    volume (the cases the metric rests on), z (robust z or two-proportion z) and annotation (新院区,
    专科医院, 偏低, 编码细化 …)."""
    return analyse(wh, region, period)[0]


def find(wh, region: str, period) -> pd.DataFrame:
    """The 问题警示清单 of a region and period: the contract's findings.csv columns (+ impact, impact_basis),
    sorted by the estimated amount (impact, largest first; none last), then severity (high, medium, low),
    rule_id, fixmedins_code, subject."""
    return find_detailed(wh, region, period)[COLUMNS].copy()


def _commend(ctx: R.Ctx, found: pd.DataFrame) -> pd.DataFrame:
    c = R.COMMEND
    eff = efficiency(ctx)
    flagged = set(found.loc[found["severity"].isin(["high", "medium"]), "fixmedins_code"]) if not found.empty \
        else set()
    eff = eff[(eff["grouped"] >= c["min_grouped"]) & (eff["cost_index"] < c["max_index"])
              & (eff["time_index"] < c["max_index"]) & ~eff["fixmedins_code"].isin(flagged)].copy()
    if eff.empty:
        return pd.DataFrame(columns=COMMEND_COLUMNS)
    eff["_k"] = eff["cost_index"].round(4) + eff["time_index"].round(4)
    eff = eff.sort_values(["_k", "fixmedins_code"]).head(c["top"])
    rows = []
    for r in eff.itertuples():
        reason = (f"{ctx.period.label}入组病例{int(r.grouped):,}例，费用消耗指数{r.cost_index:.2f}、时间消耗指数"
                  f"{r.time_index:.2f}，均低于全统筹区平均水平（1.00），治疗同类疾病花费更少、时间更短，且本期无中高级别"
                  f"问题警示，予以表扬。")
        rows.append(dict(fixmedins_code=r.fixmedins_code, fixmedins_name=ctx.name(r.fixmedins_code),
                         level=r.lv_group, grouped_cases=int(r.grouped), cost_index=round(float(r.cost_index), 2),
                         time_index=round(float(r.time_index), 2), reason=reason))
    return pd.DataFrame(rows, columns=COMMEND_COLUMNS)


def commend(wh, region: str, period) -> pd.DataFrame:
    """The 表扬 list: hospitals with cost (44) and time (43) consumption indices both below 1 over at least
    100 grouped cases and no high/medium finding in the period, best first (top 10), with a Chinese reason."""
    return analyse(wh, region, period)[1]


# ---- measuring against planted anomalies (synthetic data) -------------------------------------------------
def evaluate(data_dir, planted: dict | None = None) -> dict:
    """Run every region of a synthetic dataset and score the findings against its planted.json.

    Returns ``{"period", "recall", "missed": [(region, rule, code, subject)], "precision": {region or
    "overall": share of high/medium flags that were planted (None when there are none)}, "flags": {region:
    (planted high/medium flags, all high/medium flags)}, "findings": {region: detailed DataFrame},
    "seconds": {region: run time}}``. A planted anomaly is found when a finding of any severity has its
    region, rule_id, fixmedins_code and subject."""
    import json
    import time
    data_dir = Path(data_dir)
    if planted is None:
        planted = json.loads((data_dir / "planted.json").read_text(encoding="utf-8"))
    period = planted.get("analysis_period")
    keys = {(a["poolarea_no"], a["rule_id"], a["fixmedins_code"], a.get("subject") or "")
            for a in planted.get("anomalies", [])}
    out: dict = dict(period=period, findings={}, seconds={}, flags={}, precision={})
    found: set = set()
    tot_ok = tot = 0
    with Warehouse(data_dir) as wh:
        for reg in sorted(r["poolarea_no"] for r in planted["regions"]):
            t0 = time.perf_counter()
            df = find_detailed(wh, reg, period)
            out["seconds"][reg] = round(time.perf_counter() - t0, 2)
            out["findings"][reg] = df
            found |= {(reg, r, c, s) for r, c, s in zip(df["rule_id"], df["fixmedins_code"], df["subject"])}
            hm = df[df["severity"].isin(["high", "medium"])]
            ok = sum((reg, r, c, s) in keys for r, c, s in zip(hm["rule_id"], hm["fixmedins_code"], hm["subject"]))
            out["flags"][reg] = (ok, len(hm))
            out["precision"][reg] = ok / len(hm) if len(hm) else None
            tot_ok, tot = tot_ok + ok, tot + len(hm)
    out["precision"]["overall"] = tot_ok / tot if tot else None
    out["missed"] = sorted(keys - found)
    out["recall"] = (len(keys) - len(out["missed"])) / len(keys) if keys else None
    return out


# ---- output --------------------------------------------------------------------------------------------
def _csv_bytes(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def write_findings(data_dir, region: str, period, out_dir, wh: Warehouse | None = None) -> Path:
    """Write ``OUT/P/R/findings.csv`` (contract columns) and ``OUT/P/R/commendations.csv`` (表扬 list:
    fixmedins_code, fixmedins_name, level, grouped_cases, cost_index, time_index, reason) atomically;
    UTF-8, ``\\n`` line ends, byte-identical on a rerun with the same inputs. Returns the findings path.
    ``wh``: an open warehouse on ``data_dir`` to use (a job's data step shares one); else one is opened here."""
    p = Period.parse(period)
    if wh is not None:
        found, praised, bm = analyse_all(wh, region, p)
    else:
        with Warehouse(data_dir) as own:
            found, praised, bm = analyse_all(own, region, p)
    d = publication_dir(out_dir, p.code, str(region))
    d.mkdir(parents=True, exist_ok=True)
    target = d / "findings.csv"
    with atomic_path(target) as tmp:
        tmp.write_bytes(_csv_bytes(found[COLUMNS]))
    with atomic_path(d / "commendations.csv") as tmp:
        tmp.write_bytes(_csv_bytes(praised[COMMEND_COLUMNS]))
    with atomic_path(d / "benchmarks.csv") as tmp:
        tmp.write_bytes(_csv_bytes(bm))
    return target


def run_cli(args) -> int:
    from yibao.data.gate import FINDING_TABLES, print_warnings, require_valid
    try:  # nothing computed from invalid data: the tables, region and months the findings read
        print_warnings(require_valid(args.data, args.region, args.period, tables=FINDING_TABLES))
        path = write_findings(args.data, args.region, args.period, args.out)
    except PeriodError as exc:
        raise YibaoError(str(exc)) from None
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    counts = df["severity"].value_counts() if not df.empty else {}
    print(f"{path}: {len(df)} 条问题警示（高 {counts.get('high', 0)}，中 {counts.get('medium', 0)}，"
          f"低 {counts.get('low', 0)}）；表扬名单 {path.parent / 'commendations.csv'}")
    return 0


__all__ = ["COLUMNS", "RULES", "Rule", "analyse", "analyse_all", "benchmarks", "commend", "evaluate", "find", "find_detailed", "run_cli",
           "write_findings"]
