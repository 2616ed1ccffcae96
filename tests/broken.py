"""A corpus of broken datasets for ``yibao validate``, generated in code from one small valid base.

:func:`base` is a valid two-region dataset (东岚市 350100 pays by DRG, 西屿市 350200 by DIP; months
2025-01 … 2025-03) with a handful of rows per table, including one reversal pair and one special
case. :func:`write_dataset` writes it in any of the contract's formats (CSV UTF-8 / UTF-8 BOM / GBK,
English or Chinese headers, xlsx, parquet, hive-partitioned parquet directory). Each entry of
:data:`VARIANTS` breaks the base in one way and says what the validator must report: the file, the
column, the row numbers (1-based data rows, as the validator counts them) and words of the rule.

This module does not depend on :mod:`yibao.synth`.
"""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from yibao.data.contract import FEE_COMPONENTS, TABLES

Tables = dict[str, list[dict]]
MONTHS = ("2025-01", "2025-02", "2025-03")
H1, H2, P1, H3 = "H35010000001", "H35010000002", "P35010000001", "H35020000001"


# ---- the valid base -----------------------------------------------------------------------------
def base() -> Tables:
    """A small valid dataset: every required table, both payment methods, a reversal, a special case."""
    t: Tables = {}
    t["poolarea"] = [
        dict(poolarea_no="350100", poolarea_name="东岚市", prov_name="福建省", pay_method="DRG"),
        dict(poolarea_no="350200", poolarea_name="西屿市", prov_name="福建省", pay_method="DIP"),
    ]
    t["fixmedins"] = [
        dict(fixmedins_code=H1, fixmedins_name="东岚市第一医院", poolarea_no="350100", fixmedins_type="1",
             hosp_lv="01", medins_type="综合医院", ownership="公立", specialty="", beds=800, drg_dip_flag="1",
             begn_date="2001-01-01"),
        dict(fixmedins_code=H2, fixmedins_name="东岚市东街社区卫生服务中心", poolarea_no="350100", fixmedins_type="1",
             hosp_lv="11", medins_type="社区卫生服务中心", ownership="公立", specialty="", beds=40, drg_dip_flag="1",
             begn_date="2010-05-01"),
        dict(fixmedins_code=P1, fixmedins_name="东岚大药房", poolarea_no="350100", fixmedins_type="2",
             hosp_lv="", medins_type="", ownership="民营", specialty="", beds=0, drg_dip_flag="0",
             begn_date="2015-03-01"),
        dict(fixmedins_code=H3, fixmedins_name="西屿市人民医院", poolarea_no="350200", fixmedins_type="1",
             hosp_lv="02", medins_type="综合医院", ownership="公立", specialty="", beds=600, drg_dip_flag="1",
             begn_date="2003-07-01"),
    ]
    t["psn_insu_month"] = [dict(poolarea_no=r, month=m, insutype=i, psn_cnt=n)
                           for r in ("350100", "350200") for m in MONTHS
                           for i, n in (("310", 300000), ("390", 900000))]
    t["fund_report"] = [dict(poolarea_no=r, month=m, fund=f, item=i, amount=a)
                        for r in ("350100", "350200") for m in MONTHS
                        for f, i, a in (("310", "inc_contrib", 5.2e7), ("310", "exp_total", 4.1e7),
                                        ("310", "bal_cum", 6.0e8), ("390", "inc_personal", 1.0e6),
                                        ("390", "exp_total", 3.3e7), ("390", "bal_cum", 2.0e8))]
    t["budget"] = [dict(poolarea_no="350100", year=2026, item="inpatient", amount=1.2e9, fixmedins_code=""),
                   dict(poolarea_no="350200", year=2026, item="inpatient", amount=9.0e8, fixmedins_code="")]
    setl, lists = [], []
    for r, hosp, op in (("1", H1, H2), ("2", H3, H3)):
        region = "350100" if r == "1" else "350200"
        for k, m in enumerate(MONTHS, start=1):
            total = 10000.0 + 100 * k
            setl.append(_setl(f"S{r}0{k}1", region, hosp, "21", f"{m}-03", f"{m}-10", total, 800.0))
            setl.append(_setl(f"S{r}0{k}2", region, op, "11", f"{m}-12", f"{m}-12", 200.0, 20.0))
            if r == "1":
                setl.append(_setl(f"S{r}0{k}3", region, P1, "41", f"{m}-15", f"{m}-15", 80.0, 0.0))
            fees = dict(zip(FEE_COMPONENTS, (3000.0, 1500.0, 900.0, 700.0, 1800.0, 1200.0, 600.0)))
            fees["fee_oth"] = round(total - sum(fees.values()), 2)
            lists.append(dict(
                setl_id=f"S{r}0{k}1", fixmedins_code=hosp, upld_time=f"{m}-12 09:00:00", qc_stas="1", qc_errs="",
                main_diag_code="I63.300", other_diag_codes="I10.x00;E11.900", main_oprn_code="",
                drg_code="BR23" if r == "1" else "", dip_code="" if r == "1" else "I63-01", grp_stas="1",
                setl_way="1", weight=1.21 if r == "1" else 980.0, pay_std=11200.0, ipt_days=7, dscg_way="1",
                **fees))
    # a reversal: the outpatient settlement S1022 is reversed in February
    rev = _setl("S1022R", "350100", H2, "11", "2025-02-12", "2025-02-12", -200.0, -20.0)
    rev.update(refd_setl_flag="1", init_setl_id="S1022", setl_time="2025-02-20 16:00:00")
    setl.append(rev)
    t["setl"] = setl
    t["setl_list"] = lists
    t["special_case"] = [dict(setl_id="S1021", fixmedins_code=H1, apply_date="2025-02-20", review_result="1",
                              review_date="2025-03-05", approved_amt=2000.0)]
    t["settlement_progress"] = [dict(fixmedins_code=H1, month=m, declared_amt=8.0e6, refused_amt=1.0e4,
                                     payable_amt=7.99e6, paid_amt=7.5e6, declare_date=f"{m}-28",
                                     paid_date=f"{m}-28", prepaid_amt="") for m in MONTHS]
    t["drg_catalog"] = [dict(poolarea_no="350100", drg_code="BR23", drg_name="脑缺血性疾患，伴并发症或合并症",
                             adrg_code="BR2", mdc_code="MDCB", weight=1.21, pay_std=11200.0, base_group="0")]
    t["dip_catalog"] = [dict(poolarea_no="350200", dip_code="I63-01", dip_name="脑梗死（保守治疗）", icd_category="I63",
                             score=980.0, pay_std=11200.0, base_group="0")]
    return t


def _setl(setl_id, region, hosp, med_type, begn, end, total, ownpay) -> dict:
    hifp = round(total * 0.6, 2)
    return dict(setl_id=setl_id, mdtrt_id="M" + setl_id, psn_no="P" + setl_id[1:], poolarea_no=region,
                insu_admdvs=region, insutype="310", fixmedins_code=hosp, med_type=med_type, begndate=begn,
                enddate=end, setl_time=f"{end} 10:00:00", medfee_sumamt=total, fulamt_ownpay_amt=ownpay,
                overlmt_selfpay=0.0, preselfpay_amt=0.0, inscp_scp_amt=round(total - ownpay, 2), hifp_pay=hifp,
                acct_pay=0.0, hifmi_pay=0.0, maf_pay=0.0, oth_pay=0.0, psn_cash_pay=round(total - hifp, 2),
                refd_setl_flag="0", init_setl_id="", gend="1", age=60)


def row_of(tables: Tables, table: str, **match) -> int:
    """The 1-based data row of the first row of ``table`` matching ``match``."""
    for i, r in enumerate(tables[table], start=1):
        if all(r.get(k) == v for k, v in match.items()):
            return i
    raise KeyError((table, match))


# ---- writing ------------------------------------------------------------------------------------
def write_dataset(out: Path, tables: Tables, formats: dict[str, str] | None = None,
                  zh_headers: bool = False) -> Path:
    """Write ``tables`` under ``out``; ``formats`` maps a table to csv (default), csv-bom, csv-gbk,
    xlsx, parquet or parquet-dir (hive partitions ``month=YYYY-MM`` by the month of the first date
    column). With ``zh_headers`` the headers are the contract's Chinese labels."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    formats = formats or {}
    for name, rows in tables.items():
        fmt = formats.get(name, "csv")
        cols = _columns(name, rows)
        df = pd.DataFrame([{c: r.get(c, "") for c in cols} for r in rows], columns=cols)
        if zh_headers:
            zh = {f.name: f.zh for f in TABLES[name].fields} if name in TABLES else {}
            df = df.rename(columns=lambda c: zh.get(c, c))
        if fmt.startswith("csv"):
            enc = {"csv": "utf-8", "csv-bom": "utf-8-sig", "csv-gbk": "gbk"}[fmt]
            df.to_csv(out / f"{name}.csv", index=False, encoding=enc)
        elif fmt == "xlsx":
            df.to_excel(out / f"{name}.xlsx", index=False)
        elif fmt == "parquet":
            pq.write_table(_arrow(name, df), out / f"{name}.parquet")
        elif fmt == "parquet-dir":
            key = next(c for c in df.columns if c in ("setl_time", "upld_time", "month", "apply_date"))
            for month, part in df.groupby(df[key].astype(str).str[:7], sort=True):
                d = out / name / f"month={month}"
                d.mkdir(parents=True, exist_ok=True)
                pq.write_table(_arrow(name, part.reset_index(drop=True)), d / "part-0.parquet")
        else:
            raise ValueError(fmt)
    return out


def _columns(name: str, rows: list[dict]) -> list[str]:
    cols = [f.name for f in TABLES[name].fields] if name in TABLES else []
    for r in rows:
        cols += [c for c in r if c not in cols]
    present = {c for r in rows for c in r}
    return [c for c in cols if c in present] if rows else cols


def _arrow(name: str, df: pd.DataFrame) -> pa.Table:
    """Typed parquet columns as a platform export has them; a column that does not convert stays text."""
    kinds = {f.name: f.kind for f in TABLES[name].fields} if name in TABLES else {}
    arrays = {}
    for c in df.columns:
        vals = [None if (v is None or v == "") else v for v in df[c].tolist()]
        kind = kinds.get(c, "text")
        try:
            if kind in ("amount", "number"):
                arrays[c] = pa.array([None if v is None else float(v) for v in vals], pa.float64())
            elif kind == "int":
                arrays[c] = pa.array([None if v is None else int(v) for v in vals], pa.int64())
            elif kind == "timestamp":
                arrays[c] = pa.array([None if v is None else dt.datetime.fromisoformat(str(v)) for v in vals],
                                     pa.timestamp("us"))
            elif kind == "date":
                arrays[c] = pa.array([None if v is None else dt.date.fromisoformat(str(v)) for v in vals], pa.date32())
            else:
                raise ValueError
        except (ValueError, TypeError):
            arrays[c] = pa.array([None if v is None else str(v) for v in vals], pa.string())
    return pa.table(arrays)


# ---- the broken variants ------------------------------------------------------------------------
@dataclass
class Expect:
    """A problem line the validator must print: every string must appear in one and the same line."""
    file: str
    column: str = ""
    rows: tuple[int, ...] = ()
    words: tuple[str, ...] = ()
    severity: str = "error"


@dataclass
class Variant:
    name: str
    build: Callable[[Path], Path]
    expect: list[Expect] = field(default_factory=list)
    exit: int = 1


VARIANTS: dict[str, Variant] = {}


def variant(name: str, exit: int = 1):
    """Register ``fn(t: Tables) -> (formats | None, [Expect])`` mutating a copy of the base."""
    def deco(fn):
        def build(d: Path) -> Path:
            t = copy.deepcopy(base())
            formats, _ = fn(t)
            return write_dataset(d, t, formats)
        t0 = copy.deepcopy(base())
        VARIANTS[name] = Variant(name, build, fn(t0)[1], exit)
        return fn
    return deco


@variant("missing_table_setl_list")
def _(t):
    del t["setl_list"]
    return None, [Expect("setl_list", words=("缺少必需的表", "required table missing"))]


@variant("missing_special_case")
def _(t):
    del t["special_case"]
    return None, [Expect("special_case", words=("special_case", "DRG/DIP"))]


@variant("missing_drg_catalog")
def _(t):
    del t["drg_catalog"]
    return None, [Expect("drg_catalog", words=("DRG", "350100", "required table missing"))]


@variant("missing_column")
def _(t):
    for r in t["setl"]:
        del r["medfee_sumamt"]
    return None, [Expect("setl.csv", "medfee_sumamt", words=("required column missing", "医疗费总额"))]


@variant("non_numeric_amount")
def _(t):
    t["setl"][2]["medfee_sumamt"] = "八十元"
    t["setl"][4]["hifp_pay"] = "12,3x"
    return None, [Expect("setl.csv", "medfee_sumamt", (3,), ("not a number", "八十元")),
                  Expect("setl.csv", "hifp_pay", (5,), ("not a number",))]


@variant("required_value_empty")
def _(t):
    t["setl"][1]["setl_time"] = ""
    t["setl"][6]["setl_time"] = " "
    return None, [Expect("setl.csv", "setl_time", (2, 7), ("required value is empty",))]


@variant("bad_dates")
def _(t):
    t["setl"][0]["begndate"] = "2025-13-45"
    t["psn_insu_month"][3]["month"] = "2025-14"
    t["setl_list"][1]["upld_time"] = "昨天"
    return None, [Expect("setl.csv", "begndate", (1,), ("unparsable date", "2025-13-45")),
                  Expect("psn_insu_month.csv", "month", (4,), ("unparsable month",)),
                  Expect("setl_list.csv", "upld_time", (2,), ("unparsable timestamp",))]


@variant("invalid_codes")
def _(t):
    t["poolarea"][1]["pay_method"] = "按项目"
    t["fixmedins"][0]["hosp_lv"] = "12"
    t["fixmedins"][3]["fixmedins_type"] = "3"
    t["setl"][3]["insutype"] = "320"
    t["setl"][5]["refd_setl_flag"] = "Y"
    t["setl_list"][0]["setl_way"] = "5"
    t["setl_list"][2]["qc_stas"] = "2"
    t["special_case"][0]["review_result"] = "2"
    t["fund_report"][0]["fund"] = "999"
    t["fund_report"][1]["item"] = "income"
    return None, [Expect("poolarea.csv", "pay_method", (2,), ("invalid code", "按项目")),
                  Expect("fixmedins.csv", "hosp_lv", (1,), ("invalid code", "'12'")),
                  Expect("fixmedins.csv", "fixmedins_type", (4,), ("invalid code",)),
                  Expect("setl.csv", "insutype", (4,), ("invalid code", "310")),
                  Expect("setl.csv", "refd_setl_flag", (6,), ("invalid code",)),
                  Expect("setl_list.csv", "setl_way", (1,), ("invalid code",)),
                  Expect("setl_list.csv", "qc_stas", (3,), ("invalid code",)),
                  Expect("special_case.csv", "review_result", (1,), ("invalid code",)),
                  Expect("fund_report.csv", "fund", (1,), ("invalid code", "'999'")),
                  Expect("fund_report.csv", "item", (2,), ("invalid code", "'income'"))]


@variant("duplicate_setl_id")
def _(t):
    t["setl"][5]["setl_id"] = t["setl"][1]["setl_id"]  # S1012 twice (S1023, a pharmacy purchase, renamed)
    return None, [Expect("setl.csv", "setl_id", (2, 6), ("duplicate key", "S1012"))]


@variant("duplicate_fixmedins_and_list")
def _(t):
    t["fixmedins"].append(dict(t["fixmedins"][0]))
    t["setl_list"].append(dict(t["setl_list"][0]))
    return None, [Expect("fixmedins.csv", "fixmedins_code", (1, 5), ("duplicate key", H1)),
                  Expect("setl_list.csv", "setl_id", (1, 7), ("duplicate key", "S1011"))]


@variant("unknown_fixmedins_code")
def _(t):
    t["setl"][3]["fixmedins_code"] = "H35019999999"
    t["setl_list"][3]["fixmedins_code"] = "H35029999999"
    return None, [Expect("setl.csv", "fixmedins_code", (4,), ("unknown fixmedins_code", "H35019999999")),
                  Expect("setl_list.csv", "fixmedins_code", (4,), ("unknown fixmedins_code",))]


@variant("unknown_poolarea_no")
def _(t):
    t["fund_report"][7]["poolarea_no"] = "350300"
    t["fixmedins"][1]["poolarea_no"] = "350999"
    return None, [Expect("fund_report.csv", "poolarea_no", (8,), ("unknown poolarea_no", "350300")),
                  Expect("fixmedins.csv", "poolarea_no", (2,), ("unknown poolarea_no", "350999"))]


@variant("reversal_points_nowhere")
def _(t):
    t["setl"][-1]["init_setl_id"] = "S9999"
    n = len(t["setl"])
    return None, [Expect("setl.csv", "init_setl_id", (n,), ("reversal points nowhere", "S9999"))]


@variant("reversal_without_init")
def _(t):
    t["setl"][-1]["init_setl_id"] = ""
    n = len(t["setl"])
    return None, [Expect("setl.csv", "init_setl_id", (n,), ("reversal row without init_setl_id",))]


@variant("reversal_positive_amounts", exit=0)
def _(t):
    rev = t["setl"][-1]
    rev["medfee_sumamt"], rev["fulamt_ownpay_amt"], rev["hifp_pay"] = 200.0, 20.0, 120.0
    n = len(t["setl"])
    return None, [Expect("setl.csv", "medfee_sumamt", (n,), ("reversal amounts should be negative",), "warning")]


@variant("fee_components_do_not_add_up")
def _(t):
    t["setl_list"][1]["fee_drug"] += 50.0
    t["setl_list"][4]["fee_oth"] += 0.02
    t["setl_list"][5]["fee_oth"] += 0.01  # within the 0.01 元 tolerance
    return None, [Expect("setl_list.csv", "fee_", (2, 5), ("do not add up", "medfee_sumamt", "0.01", "S1021"))]


@variant("ownpay_exceeds_total")
def _(t):
    t["setl"][1]["fulamt_ownpay_amt"] = 250.0
    return None, [Expect("setl.csv", "fulamt_ownpay_amt", (2,), ("medfee_sumamt < fulamt_ownpay_amt",))]


@variant("setl_list_not_inpatient")
def _(t):
    t["setl_list"].append(dict(t["setl_list"][0], setl_id="S1012"))  # an outpatient settlement
    t["setl_list"].append(dict(t["setl_list"][0], setl_id="S7777"))
    return None, [Expect("setl_list.csv", "setl_id", (7,), ("not inpatient", "med_type 11")),
                  Expect("setl_list.csv", "setl_id", (8,), ("not in setl", "S7777"))]


@variant("month_gap_setl")
def _(t):
    gone = {r["setl_id"] for r in t["setl"] if r["poolarea_no"] == "350100" and r["setl_time"].startswith("2025-02")}
    gone |= {"S1022R"}
    t["setl"] = [r for r in t["setl"] if r["setl_id"] not in gone]
    t["setl_list"] = [r for r in t["setl_list"] if r["setl_id"] not in gone]
    t["special_case"] = []
    return None, [Expect("setl.csv", "setl_time", (), ("2025-02", "350100", "no data"))]


@variant("month_gap_fund_report")
def _(t):
    t["fund_report"] = [r for r in t["fund_report"] if not (r["poolarea_no"] == "350200" and r["month"] == "2025-02")]
    t["psn_insu_month"] = [r for r in t["psn_insu_month"] if not (r["poolarea_no"] == "350100"
                                                                   and r["month"] == "2025-02")]
    return None, [Expect("fund_report.csv", "month", (), ("2025-02", "350200", "no data")),
                  Expect("psn_insu_month.csv", "month", (), ("2025-02", "350100", "no data"))]


@variant("group_code_wrong_method", exit=0)
def _(t):
    t["setl_list"][3]["drg_code"] = "BR23"  # S2011: a DIP region
    return None, [Expect("setl_list.csv", "drg_code", (4,), ("drg_code in a DIP region", "350200"), "warning")]


@variant("identifier_columns", exit=0)
def _(t):
    for r in t["setl"]:
        r["psn_name"] = "张三"
        r["certno"] = "350102199001011234"
    return None, [Expect("setl.csv", "psn_name", (), ("dropped at load, never written",), "warning"),
                  Expect("setl.csv", "certno", (), ("dropped at load",), "warning")]


@variant("negative_counts")
def _(t):
    t["fixmedins"][1]["beds"] = -40
    t["setl_list"][2]["ipt_days"] = -3
    return None, [Expect("fixmedins.csv", "beds", (2,), ("must not be negative",)),
                  Expect("setl_list.csv", "ipt_days", (3,), ("must not be negative",))]


@variant("catalogue_lacks_region")
def _(t):
    t["dip_catalog"][0]["poolarea_no"] = "350100"
    return None, [Expect("dip_catalog.csv", "poolarea_no", (), ("no dip_catalog rows", "350200"))]


@variant("hive_parquet_non_numeric")
def _(t):
    t["setl"][4]["medfee_sumamt"] = "n/a"  # S1022, in month=2025-02; text column in that file
    return ({"setl": "parquet-dir", "setl_list": "parquet"},
            [Expect("setl/month=2025-02/part-0.parquet", "medfee_sumamt", (2,), ("not a number", "n/a"))])


# ---- formats and unreadable files ---------------------------------------------------------------
def custom(name: str, expect: list[Expect] | None = None, exit: int = 1):
    """Register ``fn(d: Path) -> Path`` that writes a dataset its own way. ``exit=0`` with no
    expectations means the dataset must validate clean (no problem at all)."""
    def deco(fn):
        VARIANTS[name] = Variant(name, fn, expect or [], exit)
        return fn
    return deco


@custom("valid_gbk_chinese_headers", exit=0)
def _(d):
    return write_dataset(d, base(), {t: "csv-gbk" for t in TABLES}, zh_headers=True)


@custom("valid_utf8_bom", exit=0)
def _(d):
    return write_dataset(d, base(), {t: "csv-bom" for t in TABLES})


@custom("valid_xlsx", exit=0)
def _(d):
    return write_dataset(d, base(), {"poolarea": "xlsx", "fixmedins": "xlsx", "fund_report": "xlsx"})


@custom("valid_parquet_hive", exit=0)
def _(d):
    return write_dataset(d, base(), {"setl": "parquet-dir", "setl_list": "parquet", "fund_report": "parquet"})


@custom("corrupt_parquet_partition", [Expect("setl/month=2025-02/part-0.parquet", words=("corrupt parquet",))])
def _(d):
    write_dataset(d, base(), {"setl": "parquet-dir", "setl_list": "parquet"})
    (d / "setl" / "month=2025-02" / "part-0.parquet").write_bytes(b"PAR1" + b"\x00garbage" * 20 + b"PAR1")
    return d


@custom("corrupt_parquet_file", [Expect("setl_list.parquet", words=("corrupt parquet",))])
def _(d):
    write_dataset(d, base(), {"setl_list": "parquet"})
    data = (d / "setl_list.parquet").read_bytes()
    (d / "setl_list.parquet").write_bytes(data[: len(data) // 2])  # a truncated download
    return d


@custom("empty_csv", [Expect("fixmedins.csv", words=("empty file",))])
def _(d):
    write_dataset(d, base())
    (d / "fixmedins.csv").write_bytes(b"")
    return d


@custom("header_only_csv", [Expect("setl_list.csv", words=("no data rows",))])
def _(d):
    t = base()
    t["setl_list"] = []
    return write_dataset(d, t)


@custom("xlsx_without_worksheet", [Expect("fixmedins.xlsx", words=("cannot be read",))])
def _(d):
    import openpyxl
    t = base()
    del t["fixmedins"]
    write_dataset(d, t)
    wb = openpyxl.Workbook()
    wb.create_chartsheet("图表")
    del wb["Sheet"]
    wb.save(d / "fixmedins.xlsx")
    return d


@custom("xlsx_not_a_workbook", [Expect("poolarea.xlsx", words=("cannot be read",))])
def _(d):
    t = base()
    del t["poolarea"]
    write_dataset(d, t)
    (d / "poolarea.xlsx").write_text("poolarea_no,poolarea_name\n350100,东岚市\n", encoding="utf-8")
    return d


@custom("utf16_csv", [Expect("fund_report.csv", words=("UTF-8", "GBK"))])
def _(d):
    write_dataset(d, base())
    text = (d / "fund_report.csv").read_text(encoding="utf-8")
    (d / "fund_report.csv").write_bytes(text.encode("utf-16"))
    return d


@custom("not_a_dataset", [Expect("notes", words=("not a dataset",))])
def _(d):
    d = d / "notes"
    d.mkdir(parents=True)
    (d / "README.txt").write_text("会议纪要\n", encoding="utf-8")
    (d / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    return d


@custom("missing_directory", [Expect("no-such-dir", words=("does not exist",))])
def _(d):
    return d / "no-such-dir"


@custom("two_files_for_one_table", [Expect("setl.csv, setl.parquet", words=("more than one file",))])
def _(d):
    write_dataset(d, base())
    write_dataset(d, {"setl": base()["setl"]}, {"setl": "parquet"})
    return d


@custom("xls_export", [Expect("setl_list.xls", words=("unsupported format",))])
def _(d):
    t = base()
    del t["setl_list"]
    write_dataset(d, t)
    (d / "setl_list.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)
    return d


@custom("headerless_csv", [Expect("poolarea.csv", words=("no header matches",))])
def _(d):
    write_dataset(d, base())
    (d / "poolarea.csv").write_text("350100,东岚市,福建省,DRG\n350200,西屿市,福建省,DIP\n", encoding="utf-8")
    return d
