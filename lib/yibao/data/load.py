"""Finding and reading the files of a dataset (DATA_CONTRACT.md, "Conventions").

A dataset is a directory with one entry per table: ``<table>.parquet``, ``<table>.csv``,
``<table>.xlsx`` or a directory ``<table>/`` of parquet files (hive partitions allowed). CSV may be
UTF-8 (with or without BOM) or GB18030/GBK. Headers may be field names or Chinese labels. Direct
identifiers (psn_name, certno, tel, addr …) are dropped here and never reach the warehouse.

Large tables are never read into pandas: :mod:`yibao.data.warehouse` puts DuckDB views over them using
:func:`find_source` and :func:`csv_for_duckdb`. Small tables (catalogues, reports) can be read whole
with :func:`read_table`.
"""
from __future__ import annotations

import atexit
import csv
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from yibao.data.contract import TABLES, Table, header_map, is_identifier
from yibao.errors import DataError
from yibao.fsutil import pid_alive

FORMATS = ("parquet", "csv", "xlsx")
INGEST_MARKER = "_ingest.json"  # written by ``yibao ingest`` (yibao.data.ingest) beside the tables it wrote
INGEST_FORMAT = "yibao.ingest/1"


@dataclass(frozen=True)
class Source:
    table: str
    path: Path
    fmt: str  # parquet | parquet-dir | csv | xlsx

    @property
    def display(self) -> str:
        return self.path.name + ("/" if self.fmt == "parquet-dir" else "")

    def files(self) -> list[Path]:
        if self.fmt == "parquet-dir":
            return sorted(self.path.rglob("*.parquet"))
        return [self.path]


def find_source(data_dir: str | os.PathLike, table: str) -> Source | None:
    """The file or directory holding ``table`` in a dataset, or None."""
    d = Path(data_dir)
    candidates = []
    if (d / table).is_dir() and any((d / table).rglob("*.parquet")):
        candidates.append(Source(table, d / table, "parquet-dir"))
    for fmt in FORMATS:
        p = d / f"{table}.{fmt}"
        if p.is_file():
            candidates.append(Source(table, p, fmt))
    if len(candidates) > 1:
        names = ", ".join(c.display for c in candidates)
        raise DataError(f"{d}: 表 {table} 有多个文件 ({names})；每张表只能有一个文件或目录 (rule: one entry per table)")
    return candidates[0] if candidates else None


def ingest_layout(data_dir: str | os.PathLike) -> dict:
    """The partition keys of the tables of a dataset written by ``yibao ingest`` ({table: [key, …]}),
    read from its marker file; {} for any other dataset (its partition directories, if any, are only
    a way of storing files: nothing is derived from their names)."""
    import json
    path = Path(data_dir) / INGEST_MARKER
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return {str(t): [str(k) for k in keys] for t, keys in (info.get("partitions") or {}).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        raise DataError(f"{path}: 无法读取 ingest 标记文件 (rule: {INGEST_MARKER} as written by yibao ingest)") from None


def detect_encoding(path: Path, sample: int = 1 << 20) -> str:
    """``utf-8-sig`` for UTF-8 with or without BOM, else ``gb18030`` (a superset of GBK)."""
    with open(path, "rb") as fh:
        head = fh.read(sample)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the sample's end is still UTF-8
        if exc.start >= len(head) - 4 and len(head) == sample:
            return "utf-8-sig"
    try:
        head.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        raise DataError(f"{path.name}: 无法识别的文件编码 (rule: CSV must be UTF-8 or GB18030/GBK)") from None


_CACHE: dict[str, Path] = {}
_PRIVATE: list[Path] = []
_PRIVATE_PREFIX = "yibao-private-"


def private_dir() -> Path:
    """This process's private scratch directory (mode 0700, under the temporary directory), removed when
    the process exits. A directory left by a process that was killed (its pid no longer runs) is removed
    the first time another process asks for one."""
    if _PRIVATE and _PRIVATE[0].is_dir():
        return _PRIVATE[0]
    base = Path(tempfile.gettempdir())
    for old in base.glob(f"{_PRIVATE_PREFIX}*-*"):
        try:
            pid = int(old.name[len(_PRIVATE_PREFIX):].split("-", 1)[0])
            if pid != os.getpid() and not pid_alive(pid) and old.stat().st_uid == os.getuid():
                shutil.rmtree(old, ignore_errors=True)
        except (ValueError, OSError):
            continue
    d = Path(tempfile.mkdtemp(prefix=f"{_PRIVATE_PREFIX}{os.getpid()}-"))  # mkdtemp: mode 0700
    _PRIVATE[:] = [d]
    atexit.register(shutil.rmtree, d, True)
    return d


def csv_for_duckdb(path: Path) -> Path:
    """A UTF-8 (no BOM) copy of a CSV for DuckDB when needed; the original otherwise.

    The raw file is never modified (raw data is immutable). A GBK/GB18030 or BOM file is rewritten once
    per process, streaming, into :func:`private_dir` (0700, removed at exit): read as RFC 4180 (doubled
    quotes, quoted newlines) and written back **without its identifier columns** (姓名, 身份证号 …), so
    no person identifier ever lands on disk (docs/security.md).
    """
    enc = detect_encoding(path)
    with open(path, "rb") as fh:
        bom = fh.read(3) == b"\xef\xbb\xbf"
    if enc == "utf-8-sig" and not bom:
        return path
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    if key in _CACHE and _CACHE[key].exists():
        return _CACHE[key]
    out = private_dir() / f"{key}.csv"
    part = out.with_suffix(".part")
    try:
        with open(path, "r", encoding=enc, newline="") as src, \
                open(part, "w", encoding="utf-8", newline="") as dst:
            reader = csv.reader(src)
            writer = csv.writer(dst, lineterminator="\n")
            header = next(reader, None)
            if header is not None:
                keep = [i for i, h in enumerate(header) if not is_identifier(str(h).strip().lstrip("\ufeff"))]
                everything = len(keep) == len(header)
                writer.writerow([header[i] for i in keep])
                for row in reader:
                    writer.writerow(row if everything else [row[i] if i < len(row) else "" for i in keep])
        os.replace(part, out)
    except UnicodeDecodeError as exc:
        part.unlink(missing_ok=True)
        raise DataError(f"{path.name}: 文件编码错误（{enc}，字节 {exc.start}）(rule: CSV must be UTF-8 or GB18030/GBK "
                        f"throughout)") from None
    except csv.Error as exc:
        part.unlink(missing_ok=True)
        raise DataError(f"{path.name}: CSV 无法解析 — {exc} (rule: CSV as RFC 4180)") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    _CACHE[key] = out
    return out


@dataclass
class HeaderPlan:
    """How the source's headers map onto contract fields."""
    mapping: dict[str, str]  # source header -> field name
    dropped_identifiers: list[str]
    ignored: list[str]
    duplicates: list[tuple[str, str]]  # (source header, field) mapped twice


def plan_headers(table: Table, headers: list[str]) -> HeaderPlan:
    hm = header_map(table)
    mapping: dict[str, str] = {}
    dropped, ignored, dups = [], [], []
    for h in headers:
        hs = str(h).strip().lstrip("\ufeff")
        if is_identifier(hs):
            dropped.append(hs)
            continue
        f = hm.get(hs.lower())
        if f is None:
            ignored.append(hs)
        elif f in mapping.values():
            dups.append((hs, f))
        else:
            mapping[h] = f
    return HeaderPlan(mapping, dropped, ignored, dups)


def read_table(data_dir: str | os.PathLike, table: str, required: bool | None = None) -> pd.DataFrame | None:
    """Read a small table whole into pandas with contract names; every column as string.

    Returns None when the table is absent and not required. Identifier columns are dropped,
    unknown columns ignored, codes zero-padded. Types are not converted: use the warehouse for
    typed access.
    """
    spec = TABLES[table]
    src = find_source(data_dir, table)
    if src is None:
        if required if required is not None else spec.required:
            raise DataError(f"{Path(data_dir)}: 缺少必需的表 {table}（{spec.zh}）(rule: required table)")
        return None
    if src.fmt == "csv":
        df = pd.read_csv(src.path, dtype=str, encoding=detect_encoding(src.path), keep_default_na=False,
                         na_values=[""])
    elif src.fmt == "xlsx":
        df = pd.read_excel(src.path, dtype=str)
    else:
        import pyarrow.dataset as ds
        df = ds.dataset(str(src.path), format="parquet", partitioning="hive").to_table().to_pandas()
        df = df.astype({c: "string" for c in df.columns}).astype(object)
    plan = plan_headers(spec, list(df.columns))
    df = df[list(plan.mapping)].rename(columns=plan.mapping)
    for f in spec.fields:
        if f.name not in df.columns:
            df[f.name] = None
        elif f.kind == "code":
            s = df[f.name].astype(object).where(df[f.name].notna(), None)
            s = s.map(lambda v: None if v is None else _clean_code(str(v), f.pad))
            df[f.name] = s
    return df[[f.name for f in spec.fields]]


def _clean_code(v: str, pad: int) -> str | None:
    v = v.strip()
    if v == "" or v.lower() in ("nan", "none", "<na>"):
        return None
    if v.endswith(".0") and v[:-2].isdigit():
        v = v[:-2]
    if pad and v.isdigit() and len(v) < pad:
        v = v.zfill(pad)
    return v
