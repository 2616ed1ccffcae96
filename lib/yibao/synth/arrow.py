"""Arrow tables of the synthetic settlements: ``setl_table`` (setl) and ``list_table`` (setl_list) from the
row dicts of :mod:`yibao.synth.claims` and :mod:`yibao.synth.outpatient`, with the column helpers.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yibao.synth.claims import AMOUNTS, FEES, MED_CODES, Grouping, Lookups, _take
from yibao.synth.world import World


def _ids(prefix: str, nums: np.ndarray, width: int = 13) -> pa.Array:
    """``prefix`` + zero-padded decimal ``nums`` as an arrow string array (no Python loop).

    Arrow formats the numbers; when they all have ``width`` digits (the generator's ids do) the
    prefix is glued on with one numpy copy, otherwise padded and joined by arrow compute.
    """
    n = len(nums)
    s = pc.cast(pa.array(np.asarray(nums, dtype=np.int64), type=pa.int64()), pa.string())
    offs = np.frombuffer(s.buffers()[1], dtype=np.int32)[s.offset:s.offset + n + 1]
    if n == 0 or offs[0] != 0 or offs[-1] != n * width:
        return pc.binary_join_element_wise(pa.scalar(prefix), pc.utf8_lpad(s, width, "0"), "")
    digits = np.frombuffer(s.buffers()[2], dtype=np.uint8)[:n * width].reshape(n, width)
    pre = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    size = len(pre) + width
    mat = np.empty((n, size), dtype=np.uint8)
    mat[:, :len(pre)] = pre
    mat[:, len(pre):] = digits
    if n * size >= 2 ** 31:
        return pc.binary_join_element_wise(pa.scalar(prefix), s, "")
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(size)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(mat)])


_DICTS: dict = {}


def _dict(idx: np.ndarray, values) -> pa.Array:
    """Strings from small-integer codes via an arrow dictionary (``values``: a tuple or an array)."""
    key = id(values) if isinstance(values, np.ndarray) else values
    d = _DICTS.get(key)
    if d is None or d[0] is not values:
        d = _DICTS[key] = (values, pa.array([str(v) for v in values], pa.string()))
    return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), d[1]).dictionary_decode()


def _money(cents: np.ndarray) -> pa.Array:
    return pa.array(cents / 100.0, type=pa.float64())


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.date32())


def _ts(secs: np.ndarray) -> pa.Array:
    return pa.array(secs.astype(np.int64), type=pa.timestamp("s"))


SETL_SCHEMA = pa.schema([
    ("setl_id", pa.string()), ("mdtrt_id", pa.string()), ("psn_no", pa.string()), ("poolarea_no", pa.string()),
    ("insu_admdvs", pa.string()), ("insutype", pa.string()), ("fixmedins_code", pa.string()), ("med_type", pa.string()),
    ("begndate", pa.date32()), ("enddate", pa.date32()), ("setl_time", pa.timestamp("s")),
    *[(a, pa.float64()) for a in AMOUNTS],
    ("refd_setl_flag", pa.string()), ("init_setl_id", pa.string()), ("gend", pa.string()), ("age", pa.int16()),
])
LIST_SCHEMA = pa.schema([
    ("setl_id", pa.string()), ("fixmedins_code", pa.string()), ("upld_time", pa.timestamp("s")),
    ("qc_stas", pa.string()), ("qc_errs", pa.string()), ("main_diag_code", pa.string()),
    ("other_diag_codes", pa.string()), ("main_oprn_code", pa.string()), ("drg_code", pa.string()),
    ("dip_code", pa.string()), ("grp_stas", pa.string()), ("setl_way", pa.string()), ("weight", pa.float64()),
    ("pay_std", pa.float64()), ("ipt_days", pa.int32()), ("dscg_way", pa.string()),
    *[(f, pa.float64()) for f in FEES],
])


def setl_table(world: World, ri: int, rows: dict) -> pa.Table:
    reg = world.regions[ri]
    n = len(rows["num"])
    init = np.where(rows["init"] >= 0, rows["init"], rows["num"])  # placeholder keeps a fixed width
    init_arr = _ids(f"S{reg.code}", init)
    init_arr = pc.if_else(pa.array(rows["init"] >= 0), init_arr, pa.nulls(n, pa.string()))
    psn = _ids("PSN", rows["psn"], 10)
    cols = [
        _ids(f"S{reg.code}", rows["num"]), _ids(f"M{reg.code}", rows["mnum"]), psn,
        _dict(np.zeros(n, dtype=np.int32), (reg.code,)),
        _dict(rows["ins"], world.admdvs_codes), _dict(rows["insutype"], ("310", "390")),
        _dict(rows["hosp"], world.inst.codes), _dict(rows["med"], MED_CODES),
        _dates(rows["beg"]), _dates(rows["end"]), _ts(rows["t"]),
        *[_money(rows[a]) for a in AMOUNTS],
        _dict(rows["refd"].astype(np.int32), ("0", "1")), init_arr,
        _dict(rows["gend"].astype(np.int32), ("0", "1", "2")), pa.array(rows["age"].astype(np.int16)),
    ]
    return pa.Table.from_arrays(cols, schema=SETL_SCHEMA)


def list_table(world: World, ri: int, lk: Lookups, grp: Grouping, rows: dict) -> pa.Table:
    """setl_list rows for the uploaded inpatient settlements among ``rows`` (original or re-settled)."""
    reg = world.regions[ri]
    sel = np.flatnonzero(rows["uploaded"] & ~rows["refd"])
    r = _take(rows, sel)
    n = len(sel)
    gcode = np.where(r["grouped"], r["group"], -1)
    codes = pa.array(list(grp.codes), pa.string())
    gstr = pc.if_else(pa.array(gcode >= 0), pc.take(codes, pa.array(np.maximum(gcode, 0))), pa.nulls(n, pa.string()))
    nulls = pa.nulls(n, pa.string())
    weight = pa.array(np.where(r["grouped"], r["weight"], np.nan), pa.float64(), mask=~r["grouped"])
    pay = pa.array(np.where(r["grouped"], np.round(r["pay_std"], 2), np.nan), pa.float64(), mask=~r["grouped"])
    odiag = np.empty(n, dtype=object)
    for s in (0, 1, 2):
        m = r["coded_sev"] == s
        odiag[m] = lk.other_diag[s][r["odiag"][m]]
    ops_flat, ops_start = [], [0]
    for o in lk.cond_ops:
        ops_flat += list(o)
        ops_start.append(len(ops_flat))
    op_idx = np.array(ops_start)[r["cond"]] + np.maximum(r["op"], 0)
    op_arr = pc.if_else(pa.array(r["op"] >= 0), pc.take(pa.array(ops_flat + [""], pa.string()), pa.array(op_idx)),
                        nulls)
    qerr = pc.if_else(pa.array(r["qc_err"] >= 0),
                      pc.take(pa.array(list(lk.qc_errs), pa.string()), pa.array(np.maximum(r["qc_err"], 0))), nulls)
    fees = r["fees"]
    cols = [
        _ids(f"S{reg.code}", r["num"]), _dict(r["hosp"], world.inst.codes), _ts(r["upld_t"]),
        _dict(r["qc_ok"].astype(np.int32), ("0", "1")), qerr,
        pc.take(pa.array(list(lk.leaf_code), pa.string()), pa.array(r["coded_leaf"])),
        pa.array(odiag, pa.string()), op_arr,
        gstr if grp.method == "DRG" else nulls, gstr if grp.method == "DIP" else nulls,
        _dict(r["grouped"].astype(np.int32), ("0", "1")), _dict(r["setl_way"].astype(np.int32), "01234"),
        weight, pay, pa.array(r["los"].astype(np.int32)), _dict(r["dscg"].astype(np.int32), "0123456789"),
        *[_money(fees[:, i]) for i in range(8)],
    ]
    return pa.Table.from_arrays(cols, schema=LIST_SCHEMA)
