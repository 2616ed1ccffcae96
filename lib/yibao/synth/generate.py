"""``yibao synth``: a synthetic contract dataset with planted anomalies (docs/synth.md).

Public API::

    generate(out_dir, scale="small", seed=1, clean=False) -> dict   # the planted dict (also planted.json)
    run_cli(args) -> int                                              # prints a short summary

Three fictional pooling regions of 闽江省 (东岚市 DRG, 西岭市 DIP, 南屿县 DRG), 33 months
2024-01 … 2026-09 (analysis period 2026Q3), every table of DATA_CONTRACT.md: settlements and
settlement lists as parquet (hive partitions ``month=YYYY-MM`` for medium/large), small tables as
UTF-8 CSV. Deterministic for a seed; written into a temporary sibling directory and renamed into
place, so a dataset is complete or absent. Unless ``clean``, the anomalies of the findings rules are
planted in 2026Q3 and described in ``planted.json`` (the ground truth for the findings engine).

Modules: :mod:`yibao.synth.conditions` (case mix, ICD/DRG/DIP codes), :mod:`yibao.synth.world`
(regions, institutions, persons, the plan), :mod:`yibao.synth.casemix` (admission mixes),
:mod:`yibao.synth.claims` (inpatient setl and setl_list rows), :mod:`yibao.synth.outpatient` (outpatient and
pharmacy rows), :mod:`yibao.synth.arrow` (the arrow tables), :mod:`yibao.synth.tables` (the small tables),
:mod:`yibao.synth.measure` (what planted.json reports).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from yibao.errors import YibaoError
from yibao.fsutil import atomic_path
from yibao.synth import arrow, casemix, outpatient
from yibao.synth import claims as sc
from yibao.synth import tables as st
from yibao.synth.conditions import build_dip_groups, build_drg_catalog
from yibao.synth.world import (
    ANALYSIS_PERIOD,
    MONTHS,
    PROV_NAME,
    SCALES,
    World,
    assign_plan,
    regions_of,
    build_institutions,
    build_persons,
    plant_volumes,
    rng_for,
)

GENERATOR = "yibao.synth/1"
NM = len(MONTHS)
CSV_TABLES = ("poolarea", "fixmedins", "psn_insu_month", "fund_report", "budget", "special_case",
              "settlement_progress", "drg_catalog", "dip_catalog", "feedback")


# ---- world --------------------------------------------------------------------------------------------
def build_world(seed: int, scale: str, clean: bool) -> tuple[World, sc.Lookups, list]:
    sca = SCALES[scale]
    regions = regions_of(sca)
    inst, _ = build_institutions(seed, sca)
    persons, visitors, admdvs = build_persons(seed, sca)
    plan = assign_plan(seed, inst, clean)
    plant_volumes(inst, plan, sca)
    drg = pd.concat([build_drg_catalog(r.code, r.rate, rng_for(seed, "drg-catalog", r.code), sca.extra_adrgs)
                     for r in regions if r.pay_method == "DRG"], ignore_index=True)
    groups = build_dip_groups(rng_for(seed, "dip-catalog"))
    dip = st.dip_catalog(groups, regions)
    world = World(seed=seed, scale=sca, clean=clean, regions=regions, inst=inst, persons=persons, visitors=visitors,
                  admdvs_codes=admdvs, plan=plan, drg_catalog=drg, dip_catalog=dip, dip_groups=groups)
    lk = sc.build_lookups(seed)
    groupings = [sc.build_grouping(world, ri, lk) for ri in range(len(regions))]
    casemix.prepare(world, lk, groupings)
    return world, lk, groupings


# ---- writing --------------------------------------------------------------------------------------------
# parquet dictionary encoding only where values repeat (ids and amounts would only waste the attempt)
DICT_COLUMNS = {
    "setl": ["psn_no", "poolarea_no", "insu_admdvs", "insutype", "fixmedins_code", "med_type", "refd_setl_flag",
             "init_setl_id", "gend"],
    "setl_list": ["fixmedins_code", "qc_stas", "qc_errs", "main_diag_code", "other_diag_codes", "main_oprn_code",
                  "drg_code", "dip_code", "grp_stas", "setl_way", "dscg_way"],
}


class Sink:
    """Parquet output of setl / setl_list: one file per table (tiny, small) or hive partitions
    ``<table>/month=YYYY-MM/part-<k>.parquet`` (medium, large)."""

    def __init__(self, root: Path, partitioned: bool):
        self.root = root
        self.partitioned = partitioned
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.parts: dict[tuple[str, int], int] = {}

    def write(self, name: str, month: int, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self.partitioned:
            k = self.parts.get((name, month), 0)
            self.parts[(name, month)] = k + 1
            d = self.root / name / f"month={MONTHS[month]}"
            d.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, d / f"part-{k}.parquet", compression="snappy", use_dictionary=DICT_COLUMNS[name])
        else:
            w = self.writers.get(name)
            if w is None:
                w = self.writers[name] = pq.ParquetWriter(self.root / f"{name}.parquet", table.schema,
                                                          compression="snappy", use_dictionary=DICT_COLUMNS[name])
            w.write_table(table)

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        self.writers.clear()


# columns written with more than the 2 decimals of money: DRG weights (RW) have 4
DECIMALS = {"weight": 4}


def _csv(df: pd.DataFrame, path: Path) -> None:
    df = df.assign(**{c: df[c].map(lambda v, d=d: "" if pd.isna(v) else f"{v:.{d}f}")
                      for c, d in DECIMALS.items() if c in df.columns})
    df.to_csv(path, index=False, encoding="utf-8", float_format="%.2f", lineterminator="\n")


SETL_KEYS = ("num", "mnum", "psn", "ins", "insutype", "hosp", "med", "beg", "end", "t", *sc.AMOUNTS, "refd", "init",
             "gend", "age", "month", "cls")


class Emitter:
    """Buffers settlement rows of one region and writes them as parquet in large batches: per month
    for partitioned output, per ~1.5 M rows otherwise (few, large row groups)."""

    def __init__(self, world: World, ri: int, lk: sc.Lookups, grp, sink: Sink, tot: st.Totals):
        self.world, self.ri, self.lk, self.grp, self.sink, self.tot = world, ri, lk, grp, sink, tot
        self.setl: list[dict] = []
        self.ip: list[dict] = []
        self.n = 0
        self.month = 0
        self.limit = world.scale.chunk_rows

    def add(self, rows: dict, m: int, ip: bool = False) -> None:
        n = len(rows["num"])
        if n == 0:
            return
        tot = self.tot
        tot.add(rows)
        typ = (rows["num"] // 10 ** 8) % 10
        cls = rows["cls"]
        reg = self.world.regions[self.ri].code
        for k, v in (("setl_rows", n), ("setl_reversals", rows["refd"].sum()), ("setl_resettled", np.isin(typ, (6, 8)).sum()),
                     ("setl_inpatient_rows", (cls == 4).sum()), ("setl_outpatient_rows", (cls <= 2).sum()),
                     ("setl_pharmacy_rows", (cls == 3).sum()), (f"setl_rows:{reg}", n)):
            tot.count(k, int(v))
        self.month = m
        self.setl.append({k: rows[k] for k in SETL_KEYS})
        if ip:
            self.ip.append(rows)
        self.n += n
        if self.n >= self.limit:
            self.flush()

    def end_month(self) -> None:
        if self.sink.partitioned:
            self.flush()

    def flush(self) -> None:
        if self.setl:
            rows = sc._cat(self.setl)
            self.sink.write("setl", self.month, arrow.setl_table(self.world, self.ri, rows))
        if self.ip:
            rows = sc._cat(self.ip)
            lt = arrow.list_table(self.world, self.ri, self.lk, self.grp, rows)
            self.sink.write("setl_list", self.month, lt)
            reg = self.world.regions[self.ri].code
            self.tot.count("setl_list_rows", lt.num_rows)
            self.tot.count(f"setl_list_rows:{reg}", lt.num_rows)
        self.setl, self.ip, self.n = [], [], 0


def write_settlements(world: World, lk: sc.Lookups, groupings: list, sink: Sink, tot: st.Totals,
                      log=None) -> None:
    inst = world.inst
    inject = outpatient.travel_injections(world)
    for ri, reg in enumerate(world.regions):
        t0 = time.time()
        grp = groupings[ri]
        em = Emitter(world, ri, lk, grp, sink, tot)
        ip = sc.inpatient(world, ri, lk, grp)
        bounds = np.searchsorted(ip["month"], np.arange(NM + 1), side="left")
        _special_candidates(world, ri, ip, tot)
        hs = np.flatnonzero(inst.region == ri)
        lam = sc.volume_matrix(world, hs, outpatient=True)
        carry = None
        for m in range(NM):
            em.add(sc._take(ip, slice(bounds[m], bounds[m + 1])), m, ip=True)
            if carry is not None:
                em.add(carry, m)
                carry = None
            counts = sc.draw_counts(lam[:, m], rng_for(world.seed, "opcount", reg.code, m))
            k_chunks = max(1, math.ceil(counts.sum() / world.scale.chunk_rows))
            later = []
            for k in range(k_chunks):
                c = counts // k_chunks + (k < counts % k_chunks)
                rows = outpatient.outpatient_chunk(world, ri, m, c, hs, k, inject.get((ri, m)) if k == 0 else None)
                now = rows["month"] == m
                if now.all():
                    em.add(rows, m)
                else:
                    em.add(sc._take(rows, np.flatnonzero(now)), m)
                    later.append(sc._take(rows, np.flatnonzero(~now)))
            if later:
                carry = sc._cat(later)
            em.end_month()
        em.flush()
        del ip
        if log:
            log(f"  {reg.code} {reg.name}: {time.time() - t0:.1f}s")


def _special_candidates(world: World, ri: int, ip: dict, tot: st.Totals) -> None:
    sel = np.flatnonzero((ip["setl_way"] == 3) & ip["uploaded"] & ~ip["refd"] & ~ip["reversed"])
    if not len(sel):
        return
    reg = world.regions[ri].code
    ids = arrow._ids(f"S{reg}", ip["num"][sel]).to_pylist()
    tot.special.append(pd.DataFrame({
        "setl_id": ids, "fixmedins_code": world.inst.codes[ip["hosp"][sel]], "end": ip["end"][sel],
        "medfee": ip["medfee_sumamt"][sel] / 100.0, "pay_std": ip["pay_std"][sel]}))


# ---- generate -----------------------------------------------------------------------------------------------
def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise YibaoError(f"{out}: 不是目录 (rule: --out must be a directory to (re)create)")
    if out.is_dir() and any(out.iterdir()):
        known = {f"{t}.{e}" for t in (*CSV_TABLES, "setl", "setl_list") for e in ("csv", "parquet")}
        known |= {"setl", "setl_list", "planted.json"}
        strange = [p.name for p in out.iterdir() if p.name not in known]
        if not (out / "planted.json").exists() or strange:
            raise YibaoError(f"{out}: 目录非空且不是 yibao synth 生成的数据集（{', '.join(sorted(strange)[:5]) or '无 planted.json'}），"
                             f"不会覆盖 (rule: synth only replaces its own datasets)")


def generate(out_dir, scale: str = "small", seed: int = 1, clean: bool = False, log=None) -> dict:
    """Write a synthetic dataset to ``out_dir`` (atomically) and return the planted dict.

    ``scale``: tiny | small | medium | large. ``seed``: any integer; the same seed gives the same
    planted.json bytes and the same table contents. ``clean``: plant no anomalies (the specialty
    hospitals and new campuses still exist). ``log``: optional callable for progress lines.
    """
    if scale not in SCALES:
        raise YibaoError(f"未知规模 {scale!r}：应为 tiny、small、medium 或 large (rule: --scale)")
    out = Path(out_dir)
    _check_target(out)
    t0 = time.time()
    world, lk, groupings = build_world(int(seed), scale, bool(clean))
    with atomic_path(out) as tmp:
        tmp.mkdir()
        sink = Sink(tmp, world.scale.partitioned)
        tot = st.Totals(n_inst=len(world.inst.level), n_regions=len(world.regions))
        try:
            write_settlements(world, lk, groupings, sink, tot, log)
        finally:
            sink.close()
        special = pd.concat(tot.special, ignore_index=True) if tot.special else pd.DataFrame(
            columns=["setl_id", "fixmedins_code", "end", "medfee", "pay_std"])
        small = {
            "poolarea": st.poolarea(world),
            "fixmedins": world.inst.df,
            "psn_insu_month": st.psn_insu_month(world),
            "fund_report": st.fund_report(world, tot),
            "budget": st.budget(world, tot),
            "special_case": st.special_case(world, special),
            "settlement_progress": st.settlement_progress(world, tot),
            "drg_catalog": world.drg_catalog,
            "dip_catalog": world.dip_catalog,
            "feedback": st.feedback(world),
        }
        for name, df in small.items():
            _csv(df, tmp / f"{name}.csv")
            tot.counts[f"{name}_rows"] = len(df)
        from yibao.synth.measure import measure
        planted = planted_dict(world, tot, measure(tmp, world))
        (tmp / "planted.json").write_text(json.dumps(planted, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if log:
        log(f"  total {time.time() - t0:.1f}s")
    return planted


DESCRIPTIONS = {
    "OPIP_RATIO_LOW": "{name}门诊住院人次比远低于同级医院（门诊人次少而住院多），疑似“拉人头”住院。",
    "OUT_OF_CATALOG_HIGH": "{name}全自费（医保目录外）费用占比约为同级医院中位数的3倍，疑似向患者转嫁目录外费用。",
    "CASE_GROWTH_HIGH": "{name}无新增床位、非新开院区，2026年第三季度出院人次同比、环比均增长约一倍，同级医院基本持平，疑似诱导住院。",
    "BASE_GROUP_TERTIARY": "{name}（三级）基层病组病例占比远高于其他三级医院，不符合功能定位和分级诊疗要求。",
    "COST_DEVIATION": "{name}在本地区病例数前十的病组 {subject} 的次均费用远高于同级医院。",
    "UPCODING_DRG": "{name} {subject}（呼吸系统其他手术）伴严重合并症或并发症病例占比较2025年第三季度大幅上升、不伴合并症病例减少，疑似高套分组。",
    "UPCODING_ICD": "{name}脑梗死（I63）病例中 I63.3/I63.5 占比上升、I63.9 未特指占比下降，疑似高靠诊断编码。",
    "READMIT_15D": "{name}出院后15天内同一患者再入院比例远高于同级医院，疑似重复住院。",
    "SPLIT_ADMISSION": "{name}出院后3天内以相同主要诊断再次入院的比例远高于同级医院，疑似分解住院。",
    "LOW_STANDARD_ADMISSION": "{name}低权重病组、住院1–2天的病例高度集中，疑似低标准入院。",
    "GROUP_ADMISSION": "{name}同一批5名参保人多次在同一天（±1天）集中入院，疑似组织住院。",
    "IMPOSSIBLE_TRAVEL": "参保人在相距较远的两个统筹地区的医药机构间几分钟内先后结算，多次发生，第二次结算在{name}，疑似冒名就医或盗刷。",
    "QC_PASS_LOW": "{name}2026年结算清单质控通过率约60%，远低于全统筹区水平（约95%）。",
    "UPLOAD_LOW": "{name}2026年结算清单上传率约70%，远低于全统筹区水平（约99%）。",
}


def planted_dict(world: World, tot: st.Totals, measured: dict) -> dict:
    inst = world.inst
    names = inst.df["fixmedins_name"].to_numpy()
    anomalies = []
    for p in world.plan:
        params = dict(p.params)
        params["measured"] = measured.get((p.rule_id, p.region), {})
        anomalies.append({
            "rule_id": p.rule_id, "poolarea_no": world.regions[p.region].code,
            "fixmedins_code": str(inst.codes[p.hosp]), "subject": p.subject, "period": ANALYSIS_PERIOD,
            "description": DESCRIPTIONS[p.rule_id].format(name=names[p.hosp], subject=p.subject),
            "params": params,
        })
    special = []
    for h in np.flatnonzero((inst.kind == "specialty") | (inst.kind == "new_campus")):
        kind = str(inst.kind[h])
        special.append({
            "kind": kind, "poolarea_no": world.regions[inst.region[h]].code, "fixmedins_code": str(inst.codes[h]),
            "fixmedins_name": str(names[h]), "hosp_lv": str(inst.df.at[h, "hosp_lv"]),
            "begn_date": str(inst.df.at[h, "begn_date"]),
            "note": ("民营专科医院（{}）：全自费费用占比天然较高、门诊住院人次比与病种结构（低权重、短住院）异于综合医院，"
                     "不应列为问题" if kind == "specialty"
                     else "2025-11-01 新开院区：出院人次快速增长属正常，无同比基数，不应列为问题").format(
                inst.df.at[h, "specialty"]),
        })
    counts = {k: v for k, v in sorted(tot.counts.items()) if ":" not in k}
    counts["fixmedins_rows"] = int(len(inst.level))
    counts["hospitals"] = int((~inst.is_pharm).sum())
    counts["pharmacies"] = int(inst.is_pharm.sum())
    by_region = {}
    for r in world.regions:
        by_region[r.code] = {k.split(":")[0]: v for k, v in sorted(tot.counts.items()) if k.endswith(":" + r.code)}
        by_region[r.code]["hospitals"] = int(((inst.region == world.region_index(r.code)) & ~inst.is_pharm).sum())
    counts["by_region"] = by_region
    notes = []
    if world.scale.heavy_ip != 1.0:
        notes.append(f"large: 东岚市 2026-07…09 inpatient ×{world.scale.heavy_ip:g}, outpatient ×{world.scale.heavy_op:g} "
                     f"(benchmark volume); volume growth comparisons with other quarters are not meaningful there.")
    return {
        "seed": world.seed, "scale": world.scale.name, "clean": world.clean, "generator": GENERATOR,
        "months": MONTHS, "analysis_period": ANALYSIS_PERIOD, "prov_name": PROV_NAME,
        "regions": [{"poolarea_no": r.code, "poolarea_name": r.name, "pay_method": r.pay_method}
                    for r in world.regions],
        "anomalies": anomalies,
        "special_institutions": special,
        "counts": counts,
        "notes": notes,
    }


# ---- command line -----------------------------------------------------------------------------------------
def run_cli(args) -> int:
    t0 = time.time()
    clean = bool(getattr(args, "clean", False))
    print(f"生成合成数据 / generating synthetic dataset: scale={args.scale} seed={args.seed}"
          f"{' clean' if clean else ''} → {args.out}", flush=True)
    planted = generate(args.out, scale=args.scale, seed=args.seed, clean=clean,
                       log=lambda s: print(s, flush=True))
    secs = time.time() - t0
    c = planted["counts"]
    regions = ", ".join(f"{r['poolarea_no']} {r['poolarea_name']} ({r['pay_method']})" for r in planted["regions"])
    print(f"统筹地区 / regions: {regions}")
    print(f"月份 / months: {planted['months'][0]} … {planted['months'][-1]} ({len(planted['months'])})；"
          f"分析期 / analysis period: {planted['analysis_period']}")
    print(f"结算 setl: {c['setl_rows']:,} 行 (住院 {c['setl_inpatient_rows']:,}, 门诊 {c['setl_outpatient_rows']:,}, "
          f"药店 {c['setl_pharmacy_rows']:,}, 退费 {c['setl_reversals']:,})；结算清单 setl_list: {c['setl_list_rows']:,} 行")
    print(f"机构 / institutions: {c['hospitals']} 家医院, {c['pharmacies']} 家药店；"
          f"埋设异常 / planted anomalies: {len(planted['anomalies'])}")
    size = sum(f.stat().st_size for f in Path(args.out).rglob("*") if f.is_file())
    print(f"写入 / written: {Path(args.out).resolve()} ({size / 2**20:,.1f} MiB) in {secs:.1f}s")
    return 0
