"""``yibao ingest --from RAW --to DIR``: a dataset as partitioned Parquet, validated once (docs/scale.md).

The raw exports (any layout :mod:`yibao.data.load` reads: CSV in UTF-8 or GBK, xlsx, Parquet files or
directories) are validated by the gate; a dataset that fails is not ingested. Every table is then written
from the warehouse's typed view — contract field names and types, codes normalised, identifier columns
(姓名, 身份证号 …) already dropped by the loader — as Parquet:

* ``setl/poolarea_no=R/month=YYYY-MM/data_0.parquet`` (hive layout; ``month`` = the month of ``setl_time``),
* ``setl_list/poolarea_no=R/month=YYYY-MM/…`` (the region and month of the list's settlement),
* every other table as one ``<table>.parquet``,

plus ``_ingest.json``: the partition keys (the warehouse reads them to expose ``_part_month`` …, so a region's
query opens only its own files), the source, and the validator's verdict with its warnings. The verdict is
trusted while the written files are unchanged (path, size, mtime): commands on DIR do not validate again.
The whole directory is written beside DIR and renamed into place: DIR is complete or absent.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from yibao.data.contract import TABLES
from yibao.data.gate import files_fingerprint, validated
from yibao.data.load import INGEST_FORMAT, INGEST_MARKER
from yibao.errors import DataError, YibaoError
from yibao.fsutil import write_text

PARTITIONED = {"setl": ("poolarea_no", "month"), "setl_list": ("poolarea_no", "month")}
ROW_GROUP_ROWS = 122_880


def _select(wh, table: str) -> str:
    """The rows to write for a table, with the partition columns of a partitioned one."""
    if table == "setl":
        return "SELECT *, strftime(setl_time, '%Y-%m') AS month FROM setl"
    if table == "setl_list":
        # a list row takes its settlement's region and month; one without a settlement cannot pass validation
        return ("SELECT l.*, s.poolarea_no, strftime(s.setl_time, '%Y-%m') AS month "
                "FROM setl_list l LEFT JOIN setl s ON s.setl_id = l.setl_id")
    return f"SELECT * FROM {table}"


def ingest(raw: str | os.PathLike, out: str | os.PathLike, threads: int | None = None) -> dict:
    """Validate ``raw`` and write it to ``out`` as partitioned Parquet; returns the marker's content."""
    from yibao.data.warehouse import Warehouse, lit, q
    raw, out = Path(raw), Path(out)
    if out.resolve() == raw.resolve() or raw.resolve() in out.resolve().parents:
        raise YibaoError(f"--to {out}: 不能写入源数据目录之内 (rule: raw data is immutable)")
    if out.exists() and any(out.iterdir()):
        raise YibaoError(f"--to {out}: 目录已存在且非空；请换一个目录或先删除它 (rule: ingest writes a new dataset)")
    t0 = time.time()
    warnings = validated(raw)  # DataError naming every error: nothing is written from a failing dataset
    t_valid = time.time() - t0
    tmp = out.parent / f".{out.name}.ingest-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows = {}
    try:
        with Warehouse(raw, threads=threads) as wh:
            # one writer thread per file keeps each partition's rows in one sorted file (deterministic output)
            for name in TABLES:
                if not wh.has(name):
                    continue
                sel = _select(wh, name)
                if name in PARTITIONED:
                    keys = PARTITIONED[name]
                    order = ", ".join([*keys, "setl_id"])
                    wh.sql(f"COPY (SELECT * FROM ({sel}) ORDER BY {order}) TO {lit(str(tmp / name))} "
                           f"(FORMAT parquet, PARTITION_BY ({', '.join(q(k) for k in keys)}), COMPRESSION zstd, "
                           f"ROW_GROUP_SIZE {ROW_GROUP_ROWS}, FILENAME_PATTERN 'data_{{i}}')")
                else:
                    wh.sql(f"COPY ({sel}) TO {lit(str(tmp / (name + '.parquet')))} (FORMAT parquet, COMPRESSION zstd)")
                rows[name] = wh.scalar(f"SELECT count(*) FROM {q(name)}")
        marker = {
            "format": INGEST_FORMAT,
            "source": str(raw.resolve()),
            "partitions": {t: list(k) for t, k in PARTITIONED.items() if (tmp / t).is_dir()},
            "rows": rows,
            "validation": {"passed": True, "warnings": [asdict(w) for w in warnings]},
            "files": files_fingerprint(tmp),
        }
        write_text(tmp / INGEST_MARKER, json.dumps(marker, ensure_ascii=False, indent=1))
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    marker["seconds"] = {"validate": round(t_valid, 2), "total": round(time.time() - t0, 2)}
    return marker


def run_cli(args) -> int:
    raw = Path(args.raw)
    if not raw.is_dir():
        raise DataError(f"--from {raw}: 数据目录不存在 (rule: --from must be a dataset directory)")
    info = ingest(raw, args.dest)
    parts = {t: len(list((Path(args.dest) / t).rglob("*.parquet"))) for t in info["partitions"]}
    print(f"已写入 / written: {args.dest}  ({info['seconds']['total']:.1f}s, 校验 {info['seconds']['validate']:.1f}s)")
    for t, n in info["rows"].items():
        extra = f"，{parts[t]} 个分区文件 (poolarea_no × month)" if t in parts else ""
        print(f"  {t}: {n} 行{extra}")
    if info["validation"]["warnings"]:
        print(f"校验通过，有 {len(info['validation']['warnings'])} 个警告（已记录在 {INGEST_MARKER}）")
    return 0
