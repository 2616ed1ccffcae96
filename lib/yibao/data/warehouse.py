"""The warehouse: DuckDB views over a dataset's files.

For every contract table ``T`` present in the dataset there is a typed view ``T`` with exactly the
contract's fields (absent optional fields are NULL), codes as VARCHAR, amounts as DOUBLE, dates
as DATE and timestamps as TIMESTAMP. ``raw_T`` is the same rows with the renamed but unconverted
columns plus ``_row`` (1-based data row; within its file for parquet) and ``_file`` (the file's
path), for the validator's messages.

Derived views (the contract's Definitions):

``setl``       every settlement row, typed (reversals included)
``setl_all``   ``setl`` with derived columns
``setl_net``   netted settlements: reversal rows and the settlements they reverse count as nothing
               (``refd_setl_flag = '1'`` rows and every setl_id named by one in ``init_setl_id``, a reversal
               being matched within its own region: ``setl_reversed``).
               Derived columns: ``cls`` ('门诊类' for med_type 11/14/51, '住院类' for 2x and 52,
               '药店' for 41, else '其他'), ``is_ip``, ``is_op``, ``is_local``
               (``insu_admdvs = poolarea_no``), ``month`` (``YYYY-MM`` of ``setl_time``)
``setl_list_net``  settlement-list rows whose settlement stands (reversed ones count for nothing),
               with the settlement's region, month, is_local and medfee_sumamt
``fixmedins_x``    institutions with ``lv_group`` (三级/二级/一级/基层/无等级)

Whole settlement tables are never loaded into pandas: query with SQL and fetch small results.
Use :meth:`Warehouse.df` for results, :func:`period_filter` for the period predicate.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import threading
import weakref
from pathlib import Path

import duckdb
import pandas as pd

from yibao.data.contract import MED_TYPE_OUTPATIENT, MED_TYPE_PHARMACY, TABLES, Field, Table, level_group_sql
from yibao.errors import DataError
from yibao.fsutil import write_text
from yibao.data.load import Source, csv_for_duckdb, find_source, ingest_layout, plan_headers, private_dir
from yibao.data.periods import Period

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "FLOAT", "DOUBLE", "REAL")


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(value) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def cls_sql(col: str = "med_type") -> str:
    """门诊类/住院类/药店/其他 of a med_type (contract, setl.med_type): ``setl_all.cls`` and the indicators."""
    op = ", ".join(lit(c) for c in MED_TYPE_OUTPATIENT)
    rx = ", ".join(lit(c) for c in MED_TYPE_PHARMACY)
    return (f"CASE WHEN {col} IN ({op}) THEN '门诊类' WHEN {col} LIKE '2%' OR {col} = '52' THEN '住院类' "
            f"WHEN {col} IN ({rx}) THEN '药店' ELSE '其他' END")


def ip_sql(col: str = "med_type") -> str:
    """Predicate: the med_type is 住院类 (as :func:`cls_sql`)."""
    op = ", ".join(lit(c) for c in MED_TYPE_OUTPATIENT)
    return f"(({col} LIKE '2%' OR {col} = '52') AND {col} NOT IN ({op}))"


def _is_numeric(t: str) -> bool:
    t = t.upper()
    return t.startswith("DECIMAL") or t in _NUMERIC


def _normal_code(s: str, f: Field) -> str:
    """A code string normalised: edge spaces trimmed, an Excel-style '310.0' made '310', '' made NULL and a
    short all-digit code zero-padded to the field's width."""
    # TRIM only where it can change something (DuckDB trims ' ' and Unicode Zs spaces)
    v = (f"CASE WHEN starts_with({s}, ' ') OR ends_with({s}, ' ') OR strlen({s}) <> length({s}) "
         f"THEN TRIM({s}) ELSE {s} END")
    base = f"NULLIF(CASE WHEN ends_with({v}, '.0') THEN regexp_replace({v}, '^(\\d+)\\.0$', '\\1') ELSE {v} END, '')"
    return _padded(base, f)


def _padded(code: str, f: Field) -> str:
    """The code zero-padded to the field's width; only short all-digit codes are padded (lpad would
    truncate longer ones: '3100' -> '310')."""
    if not f.pad:
        return code
    return (f"CASE WHEN length({code}) < {f.pad} AND regexp_full_match({code}, '\\d+') "
            f"THEN lpad({code}, {f.pad}, '0') ELSE {code} END")


def _plain_code(s: str, f: Field) -> str:
    """A cheap test that :func:`_normal_code` would return the string unchanged (ASCII, no edge space, not
    ending in '.0', not empty, not shorter than the pad width): most rows skip the normalisation."""
    test = (f"NOT (starts_with({s}, ' ') OR ends_with({s}, ' ') OR ends_with({s}, '.0') OR {s} = '') "
            f"AND strlen({s}) = length({s})")
    return test + (f" AND length({s}) >= {f.pad}" if f.pad else "")


def cache_dir() -> Path | None:
    """Where derived facts about dataset files are remembered between runs: ``$YIBAO_CACHE_DIR`` (empty:
    no cache), else ``$XDG_CACHE_HOME/yibao`` or ``~/.cache/yibao``. Nothing in it is ever needed: deleting
    it only makes the next run recompute."""
    v = os.environ.get("YIBAO_CACHE_DIR")
    if v is not None:
        return Path(v) if v.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "yibao"


def _code_cache(table: str, src: Source, cols: list[tuple[str, str, str]]) -> Path | None:
    """The cache file of the clean-code test of one source: keyed on every file's path, size and
    modification time and on the columns and their normalisation, so any change to either is a miss."""
    d = cache_dir()
    if d is None:
        return None
    try:
        files = [(str(p.resolve()), st.st_size, st.st_mtime_ns) for p in src.files() for st in (p.stat(),)]
    except OSError:
        return None
    key = hashlib.sha256(json.dumps([1, table, cols, files]).encode("utf-8")).hexdigest()[:32]
    try:
        _private_cache(d / "codes")
    except OSError:  # a read-only home: no cache, same result
        return None
    return d / "codes" / f"{key}.json"


CACHE_MAX_FILES = 256


def _private_cache(path: Path) -> None:
    """The cache directory (and its parent) exist with mode 0700, and hold at most CACHE_MAX_FILES files (the
    oldest go first). The cache holds derived facts (which code columns are clean), never data rows."""
    for p in (path.parent, path):
        p.mkdir(mode=0o700, exist_ok=True)
        if p.stat().st_mode & 0o077:
            p.chmod(0o700)
    files = sorted(path.glob("*.json"), key=lambda f: f.stat().st_mtime)
    for f in files[:max(0, len(files) - CACHE_MAX_FILES + 1)]:
        f.unlink(missing_ok=True)


def _cast(col: str, src_type: str, f: Field, clean: bool = False) -> str:
    """The typed expression of a source column. ``clean``: the column is VARCHAR and every value is already
    normal (see :meth:`Warehouse._clean_codes`), so the code is the column itself — which lets DuckDB push
    filters on it into the parquet scan."""
    c = q(col)
    t = src_type.upper()
    if f.kind == "code":
        if _is_numeric(t):
            return _padded(f"CAST(CAST({c} AS BIGINT) AS VARCHAR)", f)
        if clean and t == "VARCHAR":
            return c
        s = f"CAST({c} AS VARCHAR)"
        return f"CASE WHEN {_plain_code(s, f)} THEN {s} ELSE {_normal_code(s, f)} END"
    if f.kind in ("amount", "number"):
        if _is_numeric(t):
            return f"CAST({c} AS DOUBLE)"
        return f"TRY_CAST(NULLIF(replace(TRIM(CAST({c} AS VARCHAR)), ',', ''), '') AS DOUBLE)"
    if f.kind == "int":
        if _is_numeric(t):
            return f"CAST({c} AS BIGINT)"
        return f"CAST(TRY_CAST(NULLIF(replace(TRIM(CAST({c} AS VARCHAR)), ',', ''), '') AS DOUBLE) AS BIGINT)"
    if f.kind == "date":
        if t == "DATE":
            return c
        if t.startswith("TIMESTAMP"):
            return f"CAST({c} AS DATE)"
        v = f"NULLIF(TRIM(CAST({c} AS VARCHAR)), '')"
        return (f"COALESCE(TRY_CAST({v} AS DATE), "
                f"CAST(TRY_STRPTIME({v}, ['%Y/%m/%d', '%Y%m%d', '%Y-%m-%d %H:%M:%S', '%Y/%m/%d %H:%M:%S']) AS DATE))")
    if f.kind == "timestamp":
        if t.startswith("TIMESTAMP"):
            return f"CAST({c} AS TIMESTAMP)"
        if t == "DATE":
            return f"CAST({c} AS TIMESTAMP)"
        v = f"NULLIF(TRIM(CAST({c} AS VARCHAR)), '')"
        return (f"COALESCE(TRY_CAST({v} AS TIMESTAMP), "
                f"CAST(TRY_STRPTIME({v}, ['%Y/%m/%d %H:%M:%S', '%Y%m%d%H%M%S', '%Y/%m/%d %H:%M']) AS TIMESTAMP))")
    if f.kind == "month":
        if t == "DATE" or t.startswith("TIMESTAMP"):
            return f"strftime({c}, '%Y-%m')"
        v = f"TRIM(CAST({c} AS VARCHAR))"
        return (f"CASE WHEN regexp_matches({v}, '^\\d{{4}}-\\d{{2}}$') THEN {v} "
                f"WHEN regexp_matches({v}, '^\\d{{4}}\\d{{2}}$') THEN substr({v},1,4) || '-' || substr({v},5,2) "
                f"WHEN regexp_matches({v}, '^\\d{{4}}[-/]\\d{{1}}$') THEN substr({v},1,4) || '-0' || substr({v},6,1) "
                f"WHEN regexp_matches({v}, '^\\d{{4}}/\\d{{2}}$') THEN substr({v},1,4) || '-' || substr({v},6,2) "
                f"WHEN regexp_matches({v}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}') THEN substr({v},1,7) "
                f"ELSE NULL END")
    return f"NULLIF(TRIM(CAST({c} AS VARCHAR)), '')"


# Code fields with about one value per row (settlement, visit, person): not inspected by _clean_codes.
_UNIQUE_CODES = {"setl_id", "mdtrt_id", "psn_no", "init_setl_id", "person_id"}

# DuckDB's own default is 80 % of the machine's memory; the indicators of a large region-quarter need
# well under 1 GiB, validation of the whole large dataset spills above this.
DEFAULT_MEMORY_LIMIT = "3GiB"
_SPILL = itertools.count(1)

_SQL_TYPE = {"code": "VARCHAR", "text": "VARCHAR", "amount": "DOUBLE", "number": "DOUBLE", "int": "BIGINT",
             "date": "DATE", "timestamp": "TIMESTAMP", "month": "VARCHAR"}


class Warehouse:
    """DuckDB views over one dataset directory. Cheap to open; nothing is copied."""

    def __init__(self, data_dir: str | os.PathLike, threads: int | None = None, memory_limit: str | None = None,
                 on_error=None):
        """``on_error(table, DataError)``: when given, a table whose file cannot be read is reported
        to it and left out instead of raising (the validator collects every problem this way)."""
        self.data_dir = Path(data_dir)
        if not self.data_dir.is_dir():
            raise DataError(f"{self.data_dir}: 数据目录不存在 (rule: --data must be a dataset directory)")
        self.con = duckdb.connect(":memory:")
        # DuckDB's progress bar (queries over ~2 s) goes to stderr: noise in batch logs and in the
        # validator's file · column · rule lines. The commands print their own progress.
        try:
            self.con.execute("SET enable_progress_bar = false")
        except duckdb.Error:  # in a Jupyter kernel DuckDB refuses the setting without ipywidgets (and shows no bar)
            pass
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        # Bounded memory: beyond the limit DuckDB spills joins, aggregates and sorts to a private temporary
        # directory (created only when needed, removed on close) instead of taking most of the machine.
        limit = memory_limit or os.environ.get("YIBAO_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
        # (inside the process's private 0700 directory: spilled rows never sit where other users can read them)
        self._spill = str(private_dir() / f"duckdb-{next(_SPILL)}")
        weakref.finalize(self, shutil.rmtree, self._spill, True)
        try:
            self.con.execute(f"SET memory_limit = {lit(limit)}")
        except duckdb.Error as exc:
            raise DataError(f"YIBAO_MEMORY_LIMIT={limit}: 内存上限无法识别 — {str(exc).splitlines()[0]} "
                            f"(rule: a size such as 3GiB or 800MB)") from None
        self.con.execute(f"SET temp_directory = {lit(self._spill)}")
        self._lock = threading.Lock()
        self.sources: dict[str, Source] = {}
        self.headers: dict[str, dict] = {}  # table -> HeaderPlan
        self.missing_columns: dict[str, list[str]] = {}
        self.clean_codes: dict[str, set[str]] = {}  # table -> code fields used as stored (see _clean_codes)
        # a dataset written by ``yibao ingest``: table -> its hive partition keys (poolarea_no, month). A key
        # that is not a field of the table is exposed as ``_part_<key>`` so the derived views can filter and
        # join on it, which lets DuckDB skip every other region's and month's files (docs/scale.md)
        self.partitions: dict[str, list[str]] = ingest_layout(self.data_dir)
        for name, spec in TABLES.items():
            if name == "workgroup_pool":
                continue
            try:
                src = find_source(self.data_dir, name)
                if src is not None:
                    self._register(spec, src)
            except DataError as exc:
                if on_error is None:
                    raise
                on_error(name, exc)
        self._derive()

    # ---- registration ---------------------------------------------------------------------
    def _scan_sql(self, src: Source) -> str:
        if src.fmt == "parquet":
            return f"read_parquet({lit(src.path)}, union_by_name = true)"
        if src.fmt == "parquet-dir":
            # partition values stay text ('350100', '2026-09'), as the contract's codes and months are
            return (f"read_parquet({lit(str(src.path) + '/**/*.parquet')}, hive_partitioning = true, "
                    f"hive_types_autocast = false, union_by_name = true)")
        if src.fmt == "csv":
            p = csv_for_duckdb(src.path)
            # RFC 4180: '"' quotes, a doubled '""' is a quote inside a field, a quoted newline is data
            # (DuckDB's parallel reader cannot pad short rows across quoted newlines: read serially)
            return (f"read_csv({lit(p)}, header = true, all_varchar = true, auto_detect = true, "
                    f"null_padding = true, strict_mode = false, parallel = false, quote = '\"', escape = '\"')")
        # xlsx: small by contract; read with pandas (strings) and register
        df = pd.read_excel(src.path, dtype=str)
        df.columns = [str(c) for c in df.columns]
        self.con.register(f"xlsx_{src.table}", df)
        return f"xlsx_{src.table}"

    def _register(self, spec: Table, src: Source) -> None:
        try:
            scan = self._scan_sql(src)
        except DataError:
            raise
        except Exception as exc:  # xlsx without a worksheet, not a zip, empty sheet, unreadable file …
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise DataError(f"{src.display}: 文件无法读取 — {reason} (rule: readable {src.fmt})") from None
        try:
            desc = self.con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
        except duckdb.Error as exc:
            raise DataError(f"{src.display}: 文件无法读取 — {str(exc).splitlines()[0]} (rule: readable {src.fmt})") from None
        types = {row[0]: row[1] for row in desc}
        plan = plan_headers(spec, list(types))
        self.sources[spec.name] = src
        self.headers[spec.name] = plan
        present = {f: h for h, f in plan.mapping.items()}
        missing = [f.name for f in spec.fields if f.name not in present]
        self.missing_columns[spec.name] = missing
        clean = self._clean_codes(spec, src, scan, {f: (h, types[h]) for f, h in present.items()})
        self.clean_codes[spec.name] = clean
        typed, raw = [], []
        for f in spec.fields:
            if f.name in present:
                h = present[f.name]
                typed.append(f"{_cast(h, types[h], f, clean=f.name in clean)} AS {q(f.name)}")
                raw.append(f"{q(h)} AS {q(f.name)}")
            else:
                typed.append(f"CAST(NULL AS {_SQL_TYPE[f.kind]}) AS {q(f.name)}")
                raw.append(f"CAST(NULL AS VARCHAR) AS {q(f.name)}")
        if src.fmt == "parquet-dir":
            fields = {f.name for f in spec.fields}
            typed += [f"{q(k)} AS {q('_part_' + k)}" for k in self.partitions.get(spec.name, [])
                      if k not in fields and k in types]
        self.con.execute(f"CREATE OR REPLACE VIEW {q(spec.name)} AS SELECT {', '.join(typed)} FROM {scan}")
        row = "row_number() OVER ()" if src.fmt in ("csv", "xlsx") else "file_row_number + 1"
        if src.fmt in ("parquet", "parquet-dir"):  # _row counts within each file: _file names it
            scan_rows = scan[:-1] + ", file_row_number = true, filename = '_file')"
            file_col = "_file"
        else:
            scan_rows = scan
            file_col = lit(src.path)
        self.con.execute(f"CREATE OR REPLACE VIEW {q('raw_' + spec.name)} AS "
                         f"SELECT {row} AS _row, {file_col} AS _file, {', '.join(raw)} FROM {scan_rows}")

    def _clean_codes(self, spec: Table, src: Source, scan: str, present: dict[str, tuple[str, str]]) -> set[str]:
        """The VARCHAR code fields of a parquet source whose every distinct value is already normal.

        Their typed column is the source column itself, so DuckDB pushes filters on it (region, med_type …)
        into the parquet scan and reads the other columns only for the rows that pass: several times faster
        on the large settlement tables than normalising every row. The distinct values of a low-cardinality
        column come from the parquet dictionaries in a fraction of a second; identifier-like codes (one value
        per settlement, visit or person) are not inspected and keep the per-row normalisation."""
        if src.fmt not in ("parquet", "parquet-dir"):
            return set()
        cols = [(f, *present[f.name]) for f in spec.fields
                if f.kind == "code" and f.name not in _UNIQUE_CODES and f.name in present
                and present[f.name][1].upper() == "VARCHAR"]
        if not cols:
            return set()
        cache = _code_cache(spec.name, src, [(f.name, col, _normal_code(q(col), f)) for f, col, _ in cols])
        if cache is not None and cache.exists():
            try:
                return set(json.loads(cache.read_text(encoding="utf-8"))["clean"])
            except (OSError, ValueError, KeyError, TypeError):
                pass
        out = set()
        for f, col, _ in cols:
            v = q(col)
            try:
                changed = self.con.execute(
                    # (the test is applied to the list of distinct values: a WHERE over a DISTINCT subquery
                    # would be pushed down into the scan and evaluated on every row)
                    f"SELECT count(*) FROM (SELECT unnest(list(DISTINCT {v})) AS {v} FROM {scan}) "
                    f"WHERE ({_normal_code(v, f)}) IS DISTINCT FROM {v}").fetchone()[0]
            except duckdb.Error as exc:
                raise DataError(f"{src.display}: 文件无法读取 — {str(exc).splitlines()[0]} "
                                f"(rule: readable {src.fmt})") from None
            if changed == 0:
                out.add(f.name)
        if cache is not None:
            try:
                write_text(cache, json.dumps({"table": spec.name, "source": str(src.path), "clean": sorted(out)},
                                             ensure_ascii=False))
            except OSError:  # a read-only home: no cache, same result
                pass
        return out

    def part(self, table: str, key: str) -> bool:
        """The table is stored partitioned by ``key`` (a ``yibao ingest`` dataset) and its view has ``_part_<key>``."""
        src = self.sources.get(table)
        return src is not None and src.fmt == "parquet-dir" and key in self.partitions.get(table, [])

    def _derive(self) -> None:
        if "setl" in self.sources:
            # an ingested dataset's month partition is strftime(setl_time) by construction (and checked by the
            # validator): a filter on month then skips the other months' files
            month = "_part_month" if self.part("setl", "month") else "strftime(setl_time, '%Y-%m')"
            hidden = " EXCLUDE (_part_month)" if self.part("setl", "month") else ""
            self.con.execute(f"""
                CREATE OR REPLACE VIEW setl_all AS
                SELECT *{hidden},
                  {cls_sql('med_type')} AS cls,
                  {month} AS month,
                  (insu_admdvs = poolarea_no) AS is_local
                FROM setl""")
            # netting: a reversal is matched within its own region (validated: a reversal is in the region of the
            # settlement it reverses), written as a LEFT JOIN … IS NULL so that a filter on poolarea_no reaches
            # both sides and a region's query reads only that region's partitions
            self.con.execute("""
                CREATE OR REPLACE VIEW setl_reversed AS
                SELECT DISTINCT init_setl_id AS rev_setl_id, poolarea_no AS rev_poolarea_no FROM setl_all
                WHERE refd_setl_flag = '1' AND init_setl_id IS NOT NULL""")
            self.con.execute("""
                CREATE OR REPLACE VIEW setl_net AS
                SELECT s.*, s.cls = '住院类' AS is_ip, s.cls = '门诊类' AS is_op
                FROM setl_all s LEFT JOIN setl_reversed r
                  ON r.rev_setl_id = s.setl_id AND r.rev_poolarea_no = s.poolarea_no
                WHERE coalesce(s.refd_setl_flag, '0') <> '1' AND r.rev_setl_id IS NULL""")
        if "setl_list" in self.sources and "setl" in self.sources:
            keys = [k for k in ("poolarea_no", "month") if self.part("setl_list", k)]
            hidden = f" EXCLUDE ({', '.join('_part_' + k for k in keys)})" if keys else ""
            on = "".join(f" AND l._part_{k} = s.{k}" for k in keys)  # the partitions of the list meet the settlement's
            self.con.execute(f"""
                CREATE OR REPLACE VIEW setl_list_net AS
                SELECT l.*{hidden}, s.poolarea_no, s.month, s.is_local, s.setl_time, s.psn_no, s.begndate, s.enddate,
                       s.medfee_sumamt, s.fulamt_ownpay_amt, s.hifp_pay, s.psn_cash_pay, s.acct_pay,
                       s.insutype, s.med_type
                FROM setl_list l JOIN setl_all s ON l.setl_id = s.setl_id{on}
                  LEFT JOIN setl_reversed r
                  ON r.rev_setl_id = s.setl_id AND r.rev_poolarea_no = s.poolarea_no
                WHERE coalesce(s.refd_setl_flag, '0') <> '1' AND r.rev_setl_id IS NULL""")
            # (= setl_list JOIN setl_net, written so that the join with the lists comes before the netting)
        if "fixmedins" in self.sources:
            self.con.execute(f"""
                CREATE OR REPLACE VIEW fixmedins_x AS
                SELECT *, {level_group_sql('hosp_lv')} AS lv_group FROM fixmedins""")

    # ---- access -----------------------------------------------------------------------------
    def has(self, table: str) -> bool:
        return table in self.sources

    def sql(self, query: str, params: list | None = None):
        with self._lock:
            return self.con.execute(query, params or [])

    def df(self, query: str, params: list | None = None) -> pd.DataFrame:
        """Run a query and return its (small) result as a DataFrame."""
        with self._lock:
            return self.con.execute(query, params or []).df()

    def scalar(self, query: str, params: list | None = None):
        with self._lock:
            row = self.con.execute(query, params or []).fetchone()
        return None if row is None else row[0]

    def regions(self) -> pd.DataFrame:
        """poolarea rows (poolarea_no, poolarea_name, prov_name, pay_method) sorted by code."""
        if not self.has("poolarea"):
            raise DataError(f"{self.data_dir}: 缺少必需的表 poolarea（统筹地区）(rule: required table)")
        return self.df("SELECT * FROM poolarea ORDER BY poolarea_no")

    def region(self, region: str) -> dict:
        r = self.df("SELECT * FROM poolarea WHERE poolarea_no = ?", [str(region)])
        if r.empty:
            known = ", ".join(self.regions()["poolarea_no"].tolist())
            raise DataError(f"poolarea: 统筹区 {region} 不在数据集中 (已有: {known}) (rule: --region must be a poolarea_no)")
        out = r.iloc[0].to_dict()
        out["pay_method"] = str(out.get("pay_method") or "").upper()
        return out

    def institutions(self, region: str, hospitals_only: bool = False) -> pd.DataFrame:
        cond = "AND fixmedins_type = '1'" if hospitals_only else ""
        return self.df(f"SELECT * FROM fixmedins_x WHERE poolarea_no = ? {cond} ORDER BY fixmedins_code",
                       [str(region)])

    def months(self) -> list[str]:
        """Months with settlements, sorted."""
        return [r[0] for r in self.sql("SELECT DISTINCT month FROM setl_all WHERE month IS NOT NULL "
                                       "ORDER BY 1").fetchall()]

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self._spill, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def period_filter(period: Period | str, col: str = "setl_time") -> str:
    """SQL predicate: ``col`` falls within the period (half-open on dates)."""
    p = Period.parse(period)
    return f"({col} >= DATE {lit(p.start.isoformat())} AND {col} < DATE {lit(p.end.isoformat())})"


def months_filter(months: list[str], col: str = "month") -> str:
    return f"{col} IN ({', '.join(lit(m) for m in months)})"
