#!/usr/bin/env python
"""Benchmark: synthetic data, validation, the 数据底稿 indicators and the findings of one region-quarter.

    .venv/bin/python benchmarks/bench_indicators.py                      # large scale (generated into data/ if absent)
    .venv/bin/python benchmarks/bench_indicators.py --scale medium       # the demo scale
    .venv/bin/python benchmarks/bench_indicators.py --data DIR           # an existing dataset (any contract dataset)
    .venv/bin/python benchmarks/bench_indicators.py --skip-pandas --skip-validate
    .venv/bin/python benchmarks/bench_indicators.py --json out.json      # the figures also as JSON

Every step runs as its own child process, one after the other, so that its wall time and peak RSS
(``ru_maxrss`` of that process, from ``os.wait4``) are its own:

1. ``yibao synth`` — only when the dataset does not exist yet (``data/bench-<scale>-s<seed>``);
2. row counts with DuckDB (the whole dataset and the region-quarter);
3. ``yibao validate --data DIR``;
4. ``yibao indicators --data DIR --region R --period P`` (indicators.csv, digao.xlsx, checks.csv);
5. ``yibao findings --data DIR --region R --period P`` (findings.csv);
6. a straightforward pandas implementation of the same region indicators (pyarrow reads the needed
   columns of the settlements into pandas, reversals netted, groupby/merge) — the baseline of issue 2
   point 6 — and a check that its values equal the region rows of indicators.csv.

Targets (issue 2): indicators ≤ 15 s and ≤ 3 GiB on 2 cores at the large scale, ≥ 10× faster than pandas.
Figures and the machine they were measured on: docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIB = ROOT / "lib"
sys.path.insert(0, str(LIB))


def peak_rss_mib() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


# ---- running a step -----------------------------------------------------------------------------------------

def _wait4(argv: list[str], env: dict, stdout_path: Path) -> tuple[int, float, float]:
    """Start ``argv`` and wait for it with ``os.wait4``: (exit status, wall seconds, peak RSS in MiB)."""
    with open(stdout_path, "w", encoding="utf-8") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, secs, usage.ru_maxrss / 1024.0


def yibao_step(label: str, args: list[str], log_dir: Path) -> dict:
    """One ``yibao …`` command in a fresh interpreter; its own wall time and peak RSS."""
    env = dict(os.environ, PYTHONPATH=str(LIB) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MPLBACKEND="Agg")
    argv = [sys.executable, "-c", "import sys; from yibao.cli import main; sys.exit(main(sys.argv[1:]))", *args]
    log = log_dir / f"{label}.log"
    rc, secs, rss = _wait4(argv, env, log)
    return {"step": label, "command": "yibao " + " ".join(args), "seconds": round(secs, 2),
            "peak_rss_mib": round(rss, 1), "rc": rc, "log": str(log)}


def python_step(label: str, func: str, args: list[str], log_dir: Path) -> dict:
    """``bench_indicators.py --child FUNC …`` in a fresh interpreter; the JSON it prints last is returned too."""
    env = dict(os.environ, PYTHONPATH=str(LIB) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", func, *args]
    log = log_dir / f"{label}.log"
    rc, secs, rss = _wait4(argv, env, log)
    lines = [x for x in log.read_text(encoding="utf-8").splitlines() if x.startswith("{")]
    res = json.loads(lines[-1]) if rc == 0 and lines else {}
    return {"step": label, "seconds": round(secs, 2), "peak_rss_mib": round(rss, 1), "rc": rc, "log": str(log),
            "result": res}


# ---- row counts ---------------------------------------------------------------------------------------------

def count_rows(data: str, region: str, period: str, threads: int) -> dict:
    """Rows of the dataset and of the region-quarter (DuckDB over the files, as the warehouse reads them)."""
    from yibao.data.periods import Period
    from yibao.data.warehouse import Warehouse
    p = Period.parse(period)
    with Warehouse(data, threads=threads) as wh:
        wh.sql("SET enable_progress_bar = false")
        tot = wh.df("""SELECT count(*) AS setl, count_if(med_type LIKE '2%' OR med_type = '52') AS ip,
                              count_if(med_type IN ('11', '14', '51')) AS op, count_if(med_type = '41') AS rx
                       FROM setl""").iloc[0]
        cur = wh.df(f"""SELECT count(*) AS setl, count_if(med_type LIKE '2%' OR med_type = '52') AS ip,
                               count_if(med_type IN ('11', '14', '51')) AS op, count_if(med_type = '41') AS rx
                        FROM setl WHERE poolarea_no = '{region}'
                          AND setl_time >= DATE '{p.start}' AND setl_time < DATE '{p.end}'""").iloc[0]
        lst = wh.scalar("SELECT count(*) FROM setl_list")
    size = sum(f.stat().st_size for f in Path(data).rglob("*") if f.is_file())
    return {"dataset_bytes": size, "setl_rows": int(tot["setl"]), "inpatient_rows": int(tot["ip"]),
            "outpatient_rows": int(tot["op"]), "pharmacy_rows": int(tot["rx"]), "setl_list_rows": int(lst),
            "region_quarter": {"setl_rows": int(cur["setl"]), "inpatient_rows": int(cur["ip"]),
                               "outpatient_rows": int(cur["op"]), "pharmacy_rows": int(cur["rx"])}}


# ---- the system's computation alone ----------------------------------------------------------------------

def run_compute(data: str, region: str, period: str) -> dict:
    """``yibao.indicators.compute`` in-process (no interpreter start, no xlsx/checks writing): the
    like-for-like counterpart of the pandas baseline."""
    from yibao.metrics import indicators
    from yibao.data.warehouse import Warehouse
    t0 = time.perf_counter()
    with Warehouse(data) as wh:
        wh.sql("SET enable_progress_bar = false")
        df = indicators.compute(wh, region, period)
    secs = time.perf_counter() - t0
    reg = df[df["fixmedins_code"] == ""]
    values = {r.indicator_id: (None if r.status != "ok" else float(r.value)) for r in reg.itertuples(index=False)}
    return {"seconds": secs, "peak_rss_mib": peak_rss_mib(), "rows": len(df), "values": values}


# ---- a straightforward pandas implementation of the same indicators --------------------------------

def run_pandas(data: str, region: str, period: str, threads: int) -> dict:
    """The region values of the settlement-based and fund-report indicators, computed the obvious way:
    read the needed columns of the window's settlements into pandas, net the reversals, group and merge."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds
    from yibao.data.periods import Period
    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)

    t0 = time.perf_counter()
    p = Period.parse(period)
    months = p.months
    ytd = p.ytd_months
    prev = p.previous().months
    window = sorted(set(ytd) | set(prev))
    start = pd.Timestamp(window[0] + "-01")
    end = pd.Timestamp(p.end)  # exclusive
    d = Path(data)

    def dataset(name):
        path = d / name if (d / name).is_dir() else d / f"{name}.parquet"
        return ds.dataset(str(path), format="parquet", partitioning="hive" if path.is_dir() else None)

    def small(name):
        f = d / f"{name}.csv"
        return pd.read_csv(f, dtype=str) if f.exists() else pd.read_parquet(d / f"{name}.parquet")

    setl = dataset("setl")
    # reversals (any time) and the settlements of the region's institutions or insured in the window
    rev = setl.to_table(columns=["init_setl_id"], filter=ds.field("refd_setl_flag") == "1").to_pandas()
    rev_ids = set(rev["init_setl_id"].dropna())
    cols = ["setl_id", "poolarea_no", "insu_admdvs", "insutype", "fixmedins_code", "med_type", "setl_time",
            "medfee_sumamt", "fulamt_ownpay_amt", "hifp_pay", "refd_setl_flag"]
    flt = ((ds.field("setl_time") >= pa.scalar(start.to_pydatetime(), pa.timestamp("s")))
           & (ds.field("setl_time") < pa.scalar(end.to_pydatetime(), pa.timestamp("s")))
           & ((ds.field("poolarea_no") == region) | (ds.field("insu_admdvs") == region)))
    s = setl.to_table(columns=cols, filter=flt).to_pandas()
    s = s[(s["refd_setl_flag"] != "1") & ~s["setl_id"].isin(rev_ids)]
    s["month"] = s["setl_time"].dt.strftime("%Y-%m")
    mt = s["med_type"]
    s["cls"] = np.where(mt.isin(["11", "14", "51"]), "门诊类",
                        np.where(mt.str.startswith("2") | (mt == "52"), "住院类", np.where(mt == "41", "药店", "其他")))
    s["at_region"] = s["poolarea_no"] == region
    s["is_local"] = s["insu_admdvs"] == s["poolarea_no"]

    fx = small("fixmedins")
    fx = fx[fx["poolarea_no"] == region]
    hosp = fx[fx["fixmedins_type"].astype(str) == "1"]
    drg_inst = set(fx.loc[fx["drg_dip_flag"].astype(str) == "1", "fixmedins_code"])
    out: dict[str, float | None] = {}

    def ratio(a, b, k=1.0):
        return None if not b else float(a) * k / float(b)

    loc = s[s["at_region"] & s["is_local"]]
    cur = loc[loc["month"].isin(months)]
    ip = cur[cur["cls"] == "住院类"]
    op = cur[cur["cls"] == "门诊类"]
    ytd_ip = loc[(loc["cls"] == "住院类") & loc["month"].isin(ytd)]
    out["11"] = float(ytd_ip.loc[ytd_ip["insutype"] == "310", "hifp_pay"].sum())
    out["13"] = float(ytd_ip.loc[ytd_ip["insutype"] == "390", "hifp_pay"].sum())
    out["36"] = float(ip["medfee_sumamt"].sum())
    out["39"] = float(len(ip))
    out["38"] = float(len(op))
    out["37"] = ratio(out["36"], out["39"])
    out["40"] = ratio(out["38"], out["39"])
    prev_ip = loc[(loc["cls"] == "住院类") & loc["month"].isin(prev)]
    out["41"] = None if len(prev_ip) == 0 else (len(ip) / len(prev_ip) - 1) * 100
    both = pd.concat([ip, op])
    out["45"] = ratio(both["fulamt_ownpay_amt"].sum(), both["medfee_sumamt"].sum(), 100)
    per_inst = ip.groupby("fixmedins_code").agg(fee=("medfee_sumamt", "sum"), n=("setl_id", "size"))
    per_inst = per_inst.join(op.groupby("fixmedins_code").size().rename("op"), how="outer").fillna(0)
    per_inst["avg"] = per_inst["fee"] / per_inst["n"].replace(0, np.nan)
    per_inst["opip"] = per_inst["op"] / per_inst["n"].replace(0, np.nan)
    _ = per_inst.reindex(hosp["fixmedins_code"])   # one row per hospital, as published
    # 42: the region's insured, treated anywhere
    psn = small("psn_insu_month")
    psn = psn[(psn["poolarea_no"] == region) & psn["month"].isin(months)]
    mean_psn = psn.assign(psn_cnt=psn["psn_cnt"].astype(float)).groupby("month")["psn_cnt"].sum().mean()
    ins_ip = s[(s["insu_admdvs"] == region) & (s["cls"] == "住院类") & s["month"].isin(months)]
    out["42"] = ratio(len(ins_ip), mean_psn, 100)

    # inpatient cases at the region's institutions (local and 异地) with their settlement lists
    cases = s[s["at_region"] & (s["cls"] == "住院类") & s["month"].isin(months)][["setl_id", "fixmedins_code",
                                                                                 "medfee_sumamt"]]
    lst = dataset("setl_list").to_table(columns=["setl_id", "qc_stas", "grp_stas", "setl_way", "drg_code", "dip_code",
                                                 "weight", "ipt_days"]).to_pandas()
    c = cases.merge(lst, on="setl_id", how="left", indicator=True)
    c["uploaded"] = c["_merge"] == "both"
    n = len(c)
    up = c[c["uploaded"]]
    out["28"] = ratio(len(up), n, 100)
    out["29"] = ratio((up["qc_stas"] == "1").sum(), len(up), 100)
    c_drg = c[c["fixmedins_code"].isin(drg_inst)]
    out["30"] = ratio((c_drg["grp_stas"] == "1").sum(), len(c_drg), 100)
    g = c[c["grp_stas"] == "1"].copy()
    out["31"] = ratio((g["setl_way"] == "1").sum(), len(g), 100)
    out["32"] = ratio(g["setl_way"].isin(["2", "3", "4"]).sum(), len(g), 100)
    pay = small("poolarea").set_index("poolarea_no").loc[region, "pay_method"]
    if pay == "DRG":
        out["x_cmi"] = ratio(g["weight"].sum(), len(g))
    out["x_ipt_days_avg"] = ratio(up["ipt_days"].sum(), len(up))
    g["grp"] = g["drg_code"] if pay == "DRG" else g["dip_code"]
    g = g[g["grp"].notna()]
    for iid, col in (("43", "ipt_days"), ("44", "medfee_sumamt")):
        by = g.groupby(["fixmedins_code", "grp"])[col].agg(["sum", "size"]).reset_index()
        rm = by.groupby("grp")[["sum", "size"]].sum()
        rm = (rm["sum"] / rm["size"]).rename("rmean")
        by = by.join(rm, on="grp")
        by["contrib"] = np.where(by["rmean"] > 0, (by["sum"] / by["size"]) / by["rmean"], 1.0) * by["size"]
        inst = by.groupby("fixmedins_code")[["contrib", "size"]].sum()
        _ = inst["contrib"] / inst["size"]
        out[iid] = float(by["contrib"].sum() / by["size"].sum())
    sc = small("special_case")
    sc = sc[sc["fixmedins_code"].isin(set(fx["fixmedins_code"])) & ~sc["setl_id"].isin(rev_ids)]
    sc = sc[sc["apply_date"].astype(str).str[:7].isin(months)]
    out["33"] = float(len(sc))
    out["34"] = float((sc["review_result"].astype(str) == "1").sum())
    out["35"] = ratio(out["34"], len(c_drg), 100)
    # fund report items
    fr = small("fund_report")
    fr = fr[fr["poolarea_no"] == region].assign(amount=lambda x: x["amount"].astype(float))

    def fsum(funds, items, mths):
        m = fr["fund"].isin(funds) & fr["item"].isin(items) & fr["month"].isin(mths)
        return float(fr.loc[m, "amount"].sum())
    inc = ["inc_contrib", "inc_personal", "inc_sub_central", "inc_sub_prov", "inc_sub_local", "inc_other"]
    out["3"] = fsum(["310", "310A"], ["inc_contrib"], ytd)
    out["4"] = fsum(["310", "310A"], ["inc_other"], ytd)
    out["2"] = out["3"] + out["4"]
    out["6"] = fsum(["390"], ["inc_personal"], ytd)
    out["7"] = fsum(["390"], ["inc_sub_central", "inc_sub_prov", "inc_sub_local", "inc_other"], ytd)
    out["5"] = out["6"] + out["7"]
    out["1"] = out["2"] + out["5"]
    out["9"] = fsum(["310", "310A"], ["exp_total"], ytd)
    out["10"] = fsum(["310"], ["exp_total"], ytd)
    out["12"] = fsum(["390"], ["exp_total"], ytd)
    out["8"] = out["9"] + out["12"]
    out["17"] = fsum(["310"], inc, months) - fsum(["310"], ["exp_total"], months)
    out["20"] = fsum(["390"], inc, months) - fsum(["390"], ["exp_total"], months)
    out["15"] = out["17"] + out["20"]
    out["22"] = fsum(["MAF"], inc, ytd)
    out["23"] = fsum(["MAF"], ["exp_assist"], ytd)
    t12 = p.trailing_months(12)
    out["48"] = fsum(["310"], inc, t12) - fsum(["310"], ["exp_total"], t12)
    out["49"] = fsum(["390"], inc, t12) - fsum(["390"], ["exp_total"], t12)
    secs = time.perf_counter() - t0
    return {"seconds": secs, "peak_rss_mib": peak_rss_mib(), "rows": int(len(s)), "values": out}


def region_values(indicators_csv: Path) -> dict:
    """Region rows of indicators.csv: {indicator_id: value or None}."""
    import pandas as pd
    df = pd.read_csv(indicators_csv, dtype={"indicator_id": str, "fixmedins_code": str}, keep_default_na=False)
    reg = df[df["fixmedins_code"] == ""]
    return {r.indicator_id: (float(r.value) if r.status == "ok" and r.value != "" else None)
            for r in reg.itertuples(index=False)}


def compare_values(system: dict, pandas_values: dict) -> list[str]:
    """Differences beyond the rounding of indicators.csv (2 decimals; 4 for the indices)."""
    bad = []
    for k, v in sorted(pandas_values.items()):
        w = system.get(k)
        if v is None and w is None:
            continue
        if v is None or w is None:
            bad.append(f"{k}: indicators.csv={w} pandas={v}")
            continue
        dec = 4 if k in ("43", "44", "x_cmi") else 2
        if abs(round(v, dec) - w) > 10 ** -dec + 1e-9:
            bad.append(f"{k}: indicators.csv={w} pandas={v:.6f}")
    return bad


# ---- machine -------------------------------------------------------------------------------------------------

def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2 ** 20, 1)
    except OSError:
        pass
    import duckdb
    import pandas
    import pyarrow
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"date": dt.date.today().isoformat(), "cpu": cpu, "cores": os.cpu_count(), "mem_gib": mem,
            "os": platform.platform(), "python": platform.python_version(), "duckdb": duckdb.__version__,
            "pandas": pandas.__version__, "pyarrow": pyarrow.__version__,
            "load_avg_at_start": [round(x, 2) for x in load] if load else None}


# ---- orchestration ------------------------------------------------------------------------------------------

def fmt_row(label: str, r: dict, extra: str = "") -> str:
    status = "" if r.get("rc", 0) == 0 else f"   EXIT {r['rc']} (see {r.get('log')})"
    return f"  {label:<34} {r['seconds']:8.1f} s   peak RSS {r['peak_rss_mib'] / 1024:6.2f} GiB{extra}{status}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="large", choices=["tiny", "small", "medium", "large"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=None, help="dataset directory (default data/bench-<scale>-s<seed>, generated "
                                                 "if absent)")
    ap.add_argument("--region", default="350100")
    ap.add_argument("--period", default="2026Q3")
    ap.add_argument("--threads", type=int, default=2, help="threads of the pandas baseline's arrow reads and of the "
                                                           "row counts (yibao uses DuckDB's default: all cores)")
    ap.add_argument("--skip-validate", action="store_true")
    ap.add_argument("--skip-findings", action="store_true")
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    ap.add_argument("--child", choices=["pandas", "count", "compute"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child == "pandas":
        print(json.dumps(run_pandas(args.data, args.region, args.period, args.threads)))
        return 0
    if args.child == "compute":
        print(json.dumps(run_compute(args.data, args.region, args.period)))
        return 0
    if args.child == "count":
        print(json.dumps(count_rows(args.data, args.region, args.period, args.threads)))
        return 0

    data = Path(args.data or ROOT / "data" / f"bench-{args.scale}-s{args.seed}")
    logs = Path(tempfile.mkdtemp(prefix="yibao-bench-"))
    out = logs / "reports"
    # The warehouse remembers which parquet code columns are already clean (warehouse.cache_dir). Every step
    # here uses a cache private to this run, empty at the start: the first step (validate) pays for the test,
    # the later ones find it; the in-process computation is measured both ways.
    os.environ["YIBAO_CACHE_DIR"] = str(logs / "cache")
    fig: dict = {"machine": machine(), "region": args.region, "period": args.period, "data": str(data), "steps": []}
    m = fig["machine"]
    print(f"yibao benchmark · {m['date']} · {m['cpu']} · {m['cores']} cores · {m['mem_gib']} GiB · "
          f"Python {m['python']} · DuckDB {m['duckdb']} · load average {m['load_avg_at_start']}", flush=True)

    if not any(data.glob("poolarea.*")):
        print(f"generating the {args.scale} synthetic dataset (seed {args.seed}) into {data} …", flush=True)
        r = yibao_step("synth", ["synth", "--out", str(data), "--scale", args.scale, "--seed", str(args.seed)], logs)
        fig["steps"].append(r)
        print(fmt_row(f"yibao synth --scale {args.scale}", r), flush=True)
        if r["rc"] != 0:
            print(Path(r["log"]).read_text(encoding="utf-8")[-3000:])
            return 1
    else:
        planted = data / "planted.json"
        if planted.exists():
            p = json.loads(planted.read_text(encoding="utf-8"))
            print(f"dataset {data}: existing (synth scale {p.get('scale')}, seed {p.get('seed')}); not regenerated",
                  flush=True)

    r = python_step("count", "count", ["--data", str(data), "--region", args.region, "--period", args.period,
                                        "--threads", str(args.threads)], logs)
    rows = r["result"]
    fig["rows"] = rows
    if rows:
        q = rows["region_quarter"]
        print(f"  dataset: {rows['dataset_bytes'] / 2 ** 30:.2f} GiB; setl {rows['setl_rows']:,} rows (住院 "
              f"{rows['inpatient_rows']:,}, 门诊 {rows['outpatient_rows']:,}, 药店 {rows['pharmacy_rows']:,}); "
              f"setl_list {rows['setl_list_rows']:,}", flush=True)
        print(f"  {args.region} {args.period}: setl {q['setl_rows']:,} rows (住院 {q['inpatient_rows']:,}, 门诊 "
              f"{q['outpatient_rows']:,}, 药店 {q['pharmacy_rows']:,})", flush=True)

    steps = []
    if not args.skip_validate:
        steps.append(("validate", ["validate", "--data", str(data)]))
    steps.append(("indicators", ["indicators", "--data", str(data), "--region", args.region, "--period", args.period,
                                 "--out", str(out)]))
    if not args.skip_findings:
        steps.append(("findings", ["findings", "--data", str(data), "--region", args.region, "--period", args.period,
                                   "--out", str(out)]))
    for label, a in steps:
        r = yibao_step(label, a, logs)
        fig["steps"].append(r)
        print(fmt_row("yibao " + label, r), flush=True)

    ind_csv = out / args.period / args.region / "indicators.csv"
    rc = 0 if all(s["rc"] == 0 for s in fig["steps"]) else 1
    if not args.skip_pandas and ind_csv.exists():
        common = ["--data", str(data), "--region", args.region, "--period", args.period]
        os.environ["YIBAO_CACHE_DIR"] = str(logs / "cache-compute")  # empty: the first run is cold
        rc_ = python_step("compute-cold", "compute", common, logs)
        rd = python_step("compute", "compute", common, logs)
        rp = python_step("pandas", "pandas", common + ["--threads", str(args.threads)], logs)
        dc, dk, pdv = rc_.pop("result"), rd.pop("result"), rp.pop("result")
        for r, res in ((rc_, dc), (rd, dk), (rp, pdv)):
            r["inner_seconds"] = round(res.get("seconds", float("nan")), 2)
            fig["steps"].append(r)
        rp["settlement_rows_in_memory"] = pdv.get("rows")
        print(fmt_row("indicators.compute, first open", rc_, f"   computing: {rc_['inner_seconds']:.1f} s "
                      f"(incl. the clean-code test)"), flush=True)
        print(fmt_row("indicators.compute (in-process)", rd, f"   computing: {rd['inner_seconds']:.1f} s"), flush=True)
        print(fmt_row("pandas baseline (same indicators)", rp, f"   computing: {rp['inner_seconds']:.1f} s, "
                      f"{pdv.get('rows', 0):,} settlement rows in memory"), flush=True)
        if dk and pdv and dc:
            bad = compare_values(region_values(ind_csv), pdv["values"])
            fig["pandas_compared"] = len(pdv["values"])
            fig["pandas_mismatches"] = bad
            fig["speedup"] = round(pdv["seconds"] / dk["seconds"], 1)
            fig["speedup_first_open"] = round(pdv["seconds"] / dc["seconds"], 1)
            fig["memory_ratio"] = round(rp["peak_rss_mib"] / rd["peak_rss_mib"], 1)
            print(f"  DuckDB vs pandas (computing time): {fig['speedup']:.1f}× faster "
                  f"({fig['speedup_first_open']:.1f}× on the first open), peak RSS "
                  f"{fig['memory_ratio']:.1f}× smaller; region values compared with indicators.csv: "
                  f"{len(pdv['values'])}, mismatches: {len(bad)}")
            for b in bad:
                print("    ", b)
            rc = rc or (1 if bad else 0)
        else:
            rc = 1
    if args.json:
        Path(args.json).write_text(json.dumps(fig, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    print(f"  logs: {logs}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
