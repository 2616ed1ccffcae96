"""The checks of ``yibao validate``: :class:`_Validator` runs every contract check as DuckDB SQL over the
warehouse's ``raw_<table>`` views and collects :class:`~yibao.data.validate_rules.Problem` rows.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb

from yibao.data.contract import FEE_COMPONENTS, TABLES, Table
from yibao.errors import DataError
from yibao.data.load import FORMATS, Source, find_source
from yibao.data.validate_scope import Scope, row_filter
from yibao.data.validate_rules import (AMOUNT_MAX, CODE_SETS, NUMBER_MAX, ERROR, FK_FIXMEDINS, FK_POOLAREA, KIND_RULE, MATERIALIZE_BYTES,
                                       MONTH_TABLES, NON_NEGATIVE, SOFT_CODE_SETS, TOLERANCE, WARNING, _MONTH_RX,
                                       Problem, _first_line, _is_empty, _known, _missing_months, _needs_raw,
                                       _quoted)
from yibao.data.warehouse import Warehouse, _cast, lit, q


class _Validator:
    def __init__(self, data_dir: Path, max_rows: int, scope: Scope | None = None):
        self.dir = data_dir
        self.scope = scope or Scope()
        self.max_rows = max(1, int(max_rows))
        self.problems: list[Problem] = []
        self.sources: dict[str, Source] = {}
        self.skip: set[str] = set()  # tables already reported as unusable (not "missing")
        self.usable: dict[str, int] = {}  # table -> row count, for tables with a chk_ view
        self.present: dict[str, set[str]] = {}  # table -> contract fields present in the file
        self.wh: Warehouse | None = None
        self._built: set[str] = set()  # helper tables already created
        self.raw: dict[str, set[str]] = {}  # table -> fields whose raw text chk_<table> keeps as <field>__raw
        self.pending: list[tuple] = []  # queued row checks (see rows_problem)
        self._methods: dict[str, str] | None | bool = False  # poolarea_no -> pay_method, cached

    # -- plumbing --
    @property
    def con(self):
        return self.wh.con

    def close(self) -> None:
        if self.wh is not None:
            self.wh.close()

    def add(self, table: str, column: str, rows, rule: str, severity: str = ERROR, code: str = "",
            count: int = 0, detail: str = "", file: str | None = None) -> None:
        if file is None:
            src = self.sources.get(table)
            file = src.display if src else (table or str(self.dir))
        self.problems.append(Problem(file, column, rows, rule, severity, count, code, table, detail))

    def sorted_problems(self) -> list[Problem]:
        order = {t: i for i, t in enumerate(TABLES)}
        idx = {id(p): i for i, p in enumerate(self.problems)}
        return sorted(self.problems, key=lambda p: (order.get(p.table, -1), p.file,
                                                    p.severity != ERROR, idx[id(p)]))

    def has(self, *tables: str) -> bool:
        return all(t in self.usable for t in tables)

    def cols(self, table: str, *fields: str) -> bool:
        return self.has(table) and all(f in self.present[table] for f in fields)

    def _display_file(self, table: str, f) -> str:
        src = self.sources[table]
        if src.fmt != "parquet-dir" or not f:
            return src.display
        try:
            return Path(os.path.relpath(str(f), str(self.dir))).as_posix()
        except ValueError:
            return str(f)

    def rows_problem(self, table: str, column: str, sql: str, rule: str, code: str, severity: str = ERROR,
                     values: bool = False) -> None:
        """Queue a row check: ``sql`` selects the offending rows (columns ``_file``, ``_row``, ``_v``).

        ``_v`` is a short description of the offending value; with ``values`` the most frequent
        distinct values are listed, else those of the example rows. :meth:`flush` counts every queued
        check in one query and reports those with rows.
        """
        self.pending.append((table, column, sql, rule, code, severity, values))

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        if not pending:
            return
        # One query per check: a single UNION ALL of every check would hold all their hash tables at once
        # (12 GiB on the medium dataset against 1.5 GiB one by one, for about the same time).
        counts = {}
        for i, c in enumerate(pending):
            try:
                counts[i] = self.con.execute(f"SELECT count(*) FROM ({c[2]})").fetchone()[0]
            except duckdb.Error as exc:
                self.add(c[0], c[1], "—", f"检查无法完成 / check could not run ({c[4]}): {_first_line(exc)}",
                         ERROR, "check_failed")
        for i, c in enumerate(pending):
            if counts.get(i):
                self.safe(c[0], c[4], self._report, *c)

    def _report(self, table: str, column: str, sql: str, rule: str, code: str, severity: str = ERROR,
                values: bool = False) -> None:
        rows = self.con.execute(
            f"SELECT _file, _row, _v, count(*) OVER () AS _n, min(_file) OVER () AS _f0, "
            f"max(_file) OVER () AS _f1 FROM ({sql}) ORDER BY _file, _row LIMIT {self.max_rows}").fetchall()
        if not rows:
            return
        n = rows[0][3]
        single = rows[0][4] == rows[0][5]
        src = self.sources[table]
        if src.fmt == "parquet-dir" and not single:
            file = src.display
            base = src.path
            refs = []
            for r in rows:
                try:
                    rel = Path(os.path.relpath(str(r[0]), str(base))).as_posix()
                except ValueError:
                    rel = str(r[0])
                refs.append(f"{rel}:{r[1]}")
        else:
            file = self._display_file(table, rows[0][0])
            refs = [int(r[1]) for r in rows]
        if values:
            vals = [v for (v,) in self.con.execute(
                f"SELECT _v FROM ({sql}) WHERE _v IS NOT NULL GROUP BY _v ORDER BY count(*) DESC, _v LIMIT 3"
            ).fetchall()]
        else:
            vals = []
            for r in rows:
                if r[2] is not None and r[2] not in vals:
                    vals.append(r[2])
            vals = vals[:3]
        detail = ("例 e.g. " + ", ".join(str(v) for v in vals)) if vals else ""
        self.add(table, column, refs, rule, severity, code, n, detail, file=file)

    def safe(self, table: str, what: str, fn, *args) -> None:
        """Run one check; a query failure becomes a problem, never a traceback."""
        try:
            fn(*args)
        except (duckdb.Error, OSError, ValueError, TypeError) as exc:
            self.add(table, "—", "—", f"检查无法完成 / check could not run ({what}): {_first_line(exc)}",
                     ERROR, "check_failed")

    # -- driver --
    def run(self) -> None:
        if not self.dir.exists():
            self.add("", "—", "—", "数据目录不存在 / data directory does not exist", code="not_a_directory",
                     file=str(self.dir))
            return
        if not self.dir.is_dir():
            self.add("", "—", "—", "不是目录：--data 应为数据集目录 / not a directory: --data must be a dataset "
                                   "directory", code="not_a_directory", file=str(self.dir))
            return
        self.discover()
        if not self.sources and not self.skip:
            self.add("", "—", "—", "不是数据集：未找到任何契约表（如 poolarea.csv、setl.parquet、setl/）/ not a "
                                   "dataset: no contract table found (e.g. poolarea.csv, setl.parquet, setl/)",
                     code="not_a_dataset", file=str(self.dir))
            return
        try:
            self.wh = Warehouse(self.dir, threads=2, on_error=self.load_error)
        except Exception as exc:  # noqa: BLE001 — reported, never a traceback
            self.add("", "—", "—", f"数据集无法打开 / dataset cannot be opened: {_first_line(exc)}",
                     code="unreadable", file=str(self.dir))
            return
        for t in TABLES:
            if t in self.wh.sources and t not in self.skip and self.scope.wants(t):
                try:
                    self.prepare(t)
                except (duckdb.Error, DataError, OSError, ValueError, KeyError) as exc:
                    self.add(t, "—", "—", f"文件无法读取 / file cannot be read: {_first_line(exc)}", code="unreadable")
                    self.skip.add(t)
                    self.usable.pop(t, None)
        for t in TABLES:  # the rows in the scope: chk_<t> (all_<t> is the whole table, for look-ups)
            if t in self.usable:
                self.safe(t, "scope", self.scope_rows, t)
        self.required_tables()
        for t in list(self.usable):
            self.safe(t, "fields", self.field_checks, t)
        for name, fn in (("keys", self.duplicate_keys), ("fixmedins", self.unknown_fixmedins),
                         ("poolarea", self.unknown_poolarea), ("reversals", self.reversals),
                         ("setl amounts", self.setl_amounts), ("setl_list", self.setl_list_checks),
                         ("group codes", self.group_codes), ("special_case", self.special_case_checks),
                         ("catalogues", self.catalogue_coverage), ("months", self.month_gaps),
                         ("partitions", self.partitions)):
            self.safe("", name, fn)
        self.safe("", "row checks", self.flush)

    # -- files --
    def discover(self) -> None:
        entries = list(self.dir.iterdir())
        for name, spec in TABLES.items():
            if name == "workgroup_pool" or not self.scope.wants(name):
                continue
            try:
                src = find_source(self.dir, name)
            except DataError:
                names = sorted(p.name + ("/" if p.is_dir() else "") for p in entries
                               if p.name == name or (p.stem == name and p.suffix.lstrip(".") in FORMATS))
                self.add(name, "—", "—", f"表 {name} 有多个文件，每张表只能有一个文件或目录 / more than one "
                                         f"file for table {name}: keep one", code="multiple_sources",
                         file=", ".join(names))
                self.skip.add(name)
                continue
            if src is None:
                self.unsupported(name, spec, entries)
                continue
            self.sources[name] = src
            if src.fmt != "parquet-dir" and _is_empty(src.path):
                self.add(name, "—", "—", "文件为空 / empty file", code="empty_file")
                self.skip.add(name)
            elif src.fmt == "parquet-dir":
                empty = [p for p in src.files() if p.stat().st_size == 0]
                for p in empty:
                    self.add(name, "—", "—", "文件为空 / empty file", code="empty_file",
                             file=Path(os.path.relpath(p, self.dir)).as_posix())
                if empty:
                    self.skip.add(name)

    def unsupported(self, name: str, spec: Table, entries: list[Path]) -> None:
        for p in entries:
            if p.is_dir() and p.name == name:
                self.add(name, "—", "—", "目录中没有 parquet 文件（表目录只能包含 .parquet）/ directory holds no "
                                         ".parquet file", code="unsupported_format", file=p.name + "/")
                self.skip.add(name)
            elif p.is_file() and p.stem == name:
                self.add(name, "—", "—", f"不支持的文件格式 {p.suffix or '(无扩展名)'}：应为 {name}.csv、{name}.xlsx "
                                         f"或 {name}.parquet / unsupported format: use .csv, .xlsx or .parquet",
                         code="unsupported_format", file=p.name)
                self.skip.add(name)
            elif p.stem == spec.zh and (p.is_dir() or p.suffix.lower().lstrip(".") in FORMATS + ("xls",)):
                self.add(name, "—", "—", f"文件名应为表名 {name}（如 {name}.csv）/ file must be named after the "
                                         f"table: {name}.csv|.xlsx|.parquet", code="unsupported_format",
                         file=p.name)
                self.skip.add(name)

    def load_error(self, table: str, exc: DataError) -> None:
        if table in self.skip:
            return
        self.skip.add(table)
        src = self.sources.get(table)
        if src is not None and src.fmt in ("parquet", "parquet-dir"):
            if self.corrupt_parquet(table, src):
                return
        msg = str(exc)
        if src is not None and msg.startswith(src.display + ":"):
            msg = msg[len(src.display) + 1:].strip()
        msg = msg.split(" (rule:")[0].removeprefix("文件无法读取 — ").strip()
        if "编码" in msg:
            self.add(table, "—", "—", "无法识别的文件编码（应为 UTF-8 或 GBK/GB18030）/ unknown encoding: CSV must be "
                                      "UTF-8 (with or without BOM) or GBK/GB18030", code="encoding")
        elif src is not None and src.fmt == "xlsx":
            self.add(table, "—", "—", f"不是可读的 xlsx 工作簿或没有工作表 / file cannot be read: not an xlsx workbook "
                                      f"with a worksheet ({msg})", code="unreadable")
        else:
            self.add(table, "—", "—", f"文件无法读取 / file cannot be read: {msg}", code="unreadable")

    def corrupt_parquet(self, table: str, src: Source) -> bool:
        """Name each parquet file of ``src`` whose footer cannot be read; True when any was found."""
        import pyarrow.parquet as pq
        found = False
        for p in src.files():
            try:
                pq.read_metadata(p)
            except Exception as exc:  # noqa: BLE001
                found = True
                self.add(table, "—", "—", f"parquet 文件损坏，无法读取 / corrupt parquet file: {_first_line(exc)}",
                         code="unreadable", file=Path(os.path.relpath(p, self.dir)).as_posix())
        return found

    def prepare(self, t: str) -> None:
        """Header checks, a full read of the raw columns, then the ``chk_<t>`` view (raw beside typed)."""
        spec = TABLES[t]
        plan = self.wh.headers[t]
        for h in plan.dropped_identifiers:
            self.add(t, h, "—", "个人身份信息列：加载时删除，永不写出 / identifier column: dropped at load, "
                                "never written", WARNING, "identifier_column")
        for h, f in plan.duplicates:
            self.add(t, h, "—", f"重复列：与已有列同映射到 {f}，已忽略 / duplicate column for field {f}: ignored",
                     WARNING, "duplicate_column")
        present = {f for f in plan.mapping.values()}
        if not present:
            found = ", ".join([*plan.ignored, *plan.dropped_identifiers][:8]) or "—"
            self.add(t, "—", "表头", f"表头无法识别：没有任何列对应契约字段（读到: {found}）/ no header matches the "
                                   f"contract (check the header row and delimiter)", code="no_header")
            self.skip.add(t)
            return
        for f in spec.fields:
            if f.required and f.name not in present:
                heads = " / ".join(dict.fromkeys((f.name, f.zh, *f.aliases)))
                self.add(t, f.name, "—", f"缺少必需列（可用表头: {heads}）/ required column missing",
                         code="missing_column")
        raw_cols = [f.name for f in spec.fields if f.name in present]
        types: dict[str, str] = {}
        # small files become temp tables (read once, every check then runs in memory); large ones stay views
        src = self.sources[t]
        table = sum(p.stat().st_size for p in src.files()) <= MATERIALIZE_BYTES
        broken: set[str] = set()
        try:
            if src.fmt in ("csv", "xlsx"):  # read as text: no need to ask (DESCRIBE would sniff the CSV again)
                types.update((c, "VARCHAR") for c in raw_cols)
            else:
                types.update((r[0], r[1]) for r in self.con.execute(f"DESCRIBE {q('raw_' + t)}").fetchall())
            self._make_chk(t, spec, present, types, broken, table)
            if not table:
                self.con.execute(f"SELECT {', '.join(f'count({q(c)})' for c in raw_cols)} FROM all_{t}").fetchone()
        except duckdb.Error:
            try:  # can the file be read at all?
                self.con.execute(f"SELECT count(*), {', '.join(f'count({q(c)})' for c in raw_cols)} "
                                 f"FROM {q('raw_' + t)}").fetchone()
            except duckdb.Error as exc:
                if not (src.fmt in ("parquet", "parquet-dir") and self.corrupt_parquet(t, src)):
                    self.add(t, "—", "—", f"文件无法完整读取 / file cannot be read: {_first_line(exc)}",
                             code="unreadable")
                self.skip.add(t)
                return
            for c in raw_cols:  # the file reads: find the column(s) whose conversion fails
                try:
                    self.con.execute(f"SELECT count({_cast(c, types[c], spec.field(c))}) "
                                     f"FROM {q('raw_' + t)}").fetchone()
                except duckdb.Error as exc:
                    broken.add(c)
                    self.add(t, c, "—", f"值无法转换为{spec.field(c).kind} / values cannot be converted: "
                                        f"{_first_line(exc)}", code="not_convertible")
            self._make_chk(t, spec, present, types, broken, table)
        n = self.con.execute(f"SELECT count(*) FROM all_{t}").fetchone()[0]
        self.present[t] = present - broken
        self.usable[t] = int(n)
        if n == 0 and spec.required:
            self.add(t, "—", "—", "表无数据行 / table has no data rows", code="no_rows")

    def _make_chk(self, t: str, spec: Table, present: set[str], types: dict, broken: set[str], table: bool) -> None:
        cols = ["_file", "_row"]
        self.raw[t] = set()
        for f in spec.fields:
            if f.name in present and f.name not in broken:
                clean = f.name in self.wh.clean_codes.get(t, ())  # already normal: used as stored, as in the views
                cols.append(f"{_cast(f.name, types[f.name], f, clean=clean)} AS {q(f.name)}")
                if _needs_raw(f.kind, types[f.name]):  # the conversion can fail: keep the text beside it
                    cols.append(f"NULLIF(TRIM(CAST({q(f.name)} AS VARCHAR)), '') AS {q(f.name + '__raw')}")
                    self.raw[t].add(f.name)
            else:
                sql_type = {"amount": "DOUBLE", "number": "DOUBLE", "int": "BIGINT", "date": "DATE",
                            "timestamp": "TIMESTAMP"}.get(f.kind, "VARCHAR")
                cols.append(f"CAST(NULL AS {sql_type}) AS {q(f.name)}")
        kind = "TABLE" if table else "VIEW"
        self.con.execute(f"DROP {kind} IF EXISTS all_{t}")
        self.con.execute(f"CREATE TEMP {kind} all_{t} AS SELECT {', '.join(cols)} FROM {q('raw_' + t)}")

    def scope_rows(self, t: str) -> None:
        """``chk_<t>``: the rows of ``all_<t>`` in the scope (validate_scope.row_filter); every row without one.
        A filtered settlement list is read once into a temp table (its filter looks settlements up)."""
        cond = row_filter(self.scope, t, self.present[t], self.cols)
        if cond is None:
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW chk_{t} AS SELECT * FROM all_{t}")
        elif t == "setl_list" and "_in" in cond:  # each list row beside whether its settlement is in the scope
            setl = row_filter(self.scope, "setl", self.present["setl"], self.cols) or "TRUE"
            self.con.execute(f"""CREATE OR REPLACE TEMP TABLE chk_{t} AS SELECT l.* EXCLUDE (_in) FROM (
                SELECT x.*, s._in FROM all_{t} x LEFT JOIN (
                    SELECT setl_id, bool_or({setl}) AS _in FROM all_setl
                    WHERE setl_id IN (SELECT setl_id FROM all_{t} WHERE setl_id IS NOT NULL) GROUP BY setl_id
                ) s ON s.setl_id = x.setl_id) l WHERE {cond}""")
        else:
            kind = "TABLE" if t == "setl_list" else "VIEW"
            self.con.execute(f"CREATE OR REPLACE TEMP {kind} chk_{t} AS SELECT * FROM all_{t} WHERE {cond}")

    # -- tables --
    def methods(self) -> dict[str, str] | None:
        """poolarea_no -> pay_method, or None when poolarea is unusable."""
        if self._methods is False:
            self._methods = None
            if self.cols("poolarea", "poolarea_no", "pay_method"):
                self._methods = dict(self.con.execute("SELECT poolarea_no, pay_method FROM all_poolarea "
                                                      "WHERE poolarea_no IS NOT NULL").fetchall())
        return self._methods

    def required_tables(self) -> None:
        def missing(t: str) -> bool:
            return t not in self.sources and t not in self.skip

        for t, spec in TABLES.items():
            if spec.required and missing(t) and self.scope.wants(t):
                self.add(t, "—", "—", f"缺少必需的表 {t}（{spec.zh}）/ required table missing", code="missing_table",
                         file=t)
        if missing("budget") and self.scope.wants("budget"):
            self.add("budget", "—", "—", "缺少 budget（总额预算）：年度指标 24–27 无法计算 / budget missing: annual "
                                         "indicators 24–27 cannot be computed", WARNING, "missing_table", file="budget")
        try:
            methods = self.methods()
        except duckdb.Error:
            methods = None
        if not methods:
            return
        methods = self.in_scope(methods)
        drg = sorted(r for r, m in methods.items() if m == "DRG")
        dip = sorted(r for r, m in methods.items() if m == "DIP")
        if (drg or dip) and missing("special_case") and self.scope.wants("special_case"):
            self.add("special_case", "—", "—", f"缺少必需的表 special_case（特例单议）：DRG/DIP 付费地区需要 "
                                               f"（{', '.join(drg + dip)}）/ required table missing: required "
                                               f"where DRG/DIP is paid", code="missing_table", file="special_case")
        for t, regions, m in (("drg_catalog", drg, "DRG"), ("dip_catalog", dip, "DIP")):
            if regions and missing(t) and self.scope.wants(t):
                self.add(t, "—", "—", f"缺少必需的表 {t}（{TABLES[t].zh}）：{m} 地区需要（{', '.join(regions)}）/ "
                                      f"required table missing: required for {m} regions", code="missing_table",
                         file=t)

    def in_scope(self, methods: dict[str, str]) -> dict[str, str]:
        """The regions of ``methods`` in the scope."""
        regions = self.scope.regions
        return methods if regions is None else {r: m for r, m in methods.items() if str(r) in regions}

    # -- fields --
    def field_checks(self, t: str) -> None:
        spec = TABLES[t]
        present = self.present[t]
        checks = []  # (column, condition, rule, code, severity)
        for f in spec.fields:
            if f.name not in present:
                continue
            typed = q(f.name)
            has_raw = f.name in self.raw[t]
            raw = q(f.name + "__raw") if has_raw else typed  # without __raw, typed is NULL iff the value is empty
            if f.required:
                cond = f"{raw} IS NULL"
                if (t, f.name) == ("fixmedins", "hosp_lv") and "fixmedins_type" in present:
                    cond += " AND coalesce(fixmedins_type, '') <> '2'"  # pharmacies have no hospital level
                checks.append((f.name, cond, "必填值为空 / required value is empty", "required_empty", ERROR))
            if f.kind in KIND_RULE and has_raw:
                code, rule = KIND_RULE[f.kind]
                cond = f"{raw} IS NOT NULL AND {typed} IS NULL"
                if f.kind == "month":
                    cond = f"{raw} IS NOT NULL AND ({typed} IS NULL OR NOT regexp_full_match({typed}, '{_MONTH_RX}'))"
                checks.append((f.name, cond, rule, code, ERROR))
            for sets, sev in ((CODE_SETS, ERROR), (SOFT_CODE_SETS, WARNING)):
                allowed = sets.get((t, f.name))
                if allowed:
                    checks.append((f.name, f"{typed} IS NOT NULL AND {typed} NOT IN ({', '.join(map(lit, allowed))})",
                                   f"代码不在取值范围（{'/'.join(allowed)}）/ invalid code (allowed: "
                                   f"{', '.join(allowed)})", "invalid_code", sev))
            if f.kind in ("amount", "number"):
                bound = AMOUNT_MAX.get(t, NUMBER_MAX) if f.kind == "amount" else NUMBER_MAX
                checks.append((f.name, f"{typed} IS NOT NULL AND (isinf({typed}) OR isnan({typed}) "
                                       f"OR abs({typed}) > {bound:.0f})",
                               f"数值非有限或超出合理范围（绝对值 ≤ {bound:.0e}）/ not finite or beyond the bound "
                               f"(|x| ≤ {bound:.0e})", "out_of_range", ERROR))
            if f.name in NON_NEGATIVE.get(t, ()):
                checks.append((f.name, f"{typed} < 0", "不应为负数 / must not be negative", "negative", ERROR))
        if t == "poolarea" and "poolarea_no" in present:
            checks.append(("poolarea_no", "poolarea_no IS NOT NULL AND NOT regexp_full_match(poolarea_no, '\\d{6}')",
                           "统筹区编号应为 6 位数字 / poolarea_no must be a 6-digit code", "invalid_code", ERROR))
        if not checks:
            return
        counts = self.con.execute(
            f"SELECT {', '.join(f'count_if({c[1]})' for c in checks)} FROM chk_{t}").fetchone()
        for (col, cond, rule, code, sev), n in zip(checks, counts):
            if n:
                shown = q(col + "__raw") if col in self.raw[t] else f"CAST({q(col)} AS VARCHAR)"
                v = "NULL" if code == "required_empty" else _quoted(shown)
                self._report(t, col, f"SELECT _file, _row, {v} AS _v FROM chk_{t} WHERE {cond}",
                             rule, code, sev, values=True)

    # -- relations --
    def duplicate_keys(self) -> None:
        for t, spec in TABLES.items():
            if not spec.key or not self.cols(t, *spec.key):
                continue
            keys = ", ".join(q(k) for k in spec.key)
            notnull = " AND ".join(f"{q(k)} IS NOT NULL" for k in spec.key)
            label = " || '/' || ".join(f"c.{q(k)}" for k in spec.key)
            dup = f"SELECT {keys} FROM all_{t} WHERE {notnull} GROUP BY ALL HAVING count(*) > 1"
            on = " AND ".join(f"d.{q(k)} = c.{q(k)}" for k in spec.key)
            self.rows_problem(
                t, ", ".join(spec.key),
                f"SELECT c._file, c._row, {label} AS _v FROM chk_{t} c SEMI JOIN ({dup}) d ON {on}",
                f"键重复：{' + '.join(spec.key)} 应唯一 / duplicate key: {', '.join(spec.key)} must be unique",
                "duplicate_key", values=True)

    def unknown_fixmedins(self) -> None:
        if not self.cols("fixmedins", "fixmedins_code"):
            return
        for t in FK_FIXMEDINS:
            if self.cols(t, "fixmedins_code"):
                self.rows_problem(
                    t, "fixmedins_code",
                    f"SELECT _file, _row, fixmedins_code AS _v FROM chk_{t} x WHERE fixmedins_code IS NOT NULL "
                    f"AND fixmedins_code NOT IN ({_known('all_fixmedins', 'fixmedins_code')})",
                    "机构编号不在 fixmedins 中 / unknown fixmedins_code (not in fixmedins)", "unknown_fixmedins",
                    values=True)
        if self.cols("setl", "poolarea_no", "fixmedins_code") and self.cols("fixmedins", "poolarea_no"):
            self.rows_problem(
                "setl", "poolarea_no",
                "SELECT s._file, s._row, s.fixmedins_code || ': ' || s.poolarea_no || ' ≠ ' || f.poolarea_no AS _v "
                "FROM chk_setl s JOIN (SELECT DISTINCT fixmedins_code, poolarea_no FROM all_fixmedins) f "
                "ON f.fixmedins_code = s.fixmedins_code WHERE s.poolarea_no <> f.poolarea_no",
                "就医地统筹区与机构所在统筹区不一致 / poolarea_no differs from the institution's region in fixmedins",
                "region_mismatch", WARNING, values=True)

    def unknown_poolarea(self) -> None:
        if not self.cols("poolarea", "poolarea_no"):
            return
        for t in FK_POOLAREA:
            if self.cols(t, "poolarea_no"):
                self.rows_problem(
                    t, "poolarea_no",
                    f"SELECT _file, _row, poolarea_no AS _v FROM chk_{t} x WHERE poolarea_no IS NOT NULL "
                    f"AND poolarea_no NOT IN ({_known('all_poolarea', 'poolarea_no')})",
                    "统筹区编号不在 poolarea 中 / unknown poolarea_no (not in poolarea)", "unknown_poolarea",
                    values=True)

    def partitions(self) -> None:
        """A ``yibao ingest`` dataset: every row sits in the partition of its region and month (the warehouse
        reads ``month`` from the partition and skips other partitions on it)."""
        def key(col: str, k: str) -> str:
            return f"regexp_extract({col}, '/{k}=([^/]+)/', 1)"
        if self.wh.part("setl", "month") and self.cols("setl", "setl_time"):
            self.rows_problem(
                "setl", "setl_time",
                f"SELECT _file, _row, setl_id AS _v FROM chk_setl "
                f"WHERE {key('_file', 'month')} IS DISTINCT FROM strftime(setl_time, '%Y-%m')",
                "分区月份与结算时间不一致 / row in the wrong month partition (month = the month of setl_time)",
                "partition_mismatch", values=True)
        keys = [k for k in ("poolarea_no", "month") if self.wh.part("setl_list", k)]
        if keys and self.cols("setl_list", "setl_id") and self.cols("setl", "setl_id", "poolarea_no", "setl_time"):
            theirs = {"poolarea_no": "s.poolarea_no", "month": "strftime(s.setl_time, '%Y-%m')"}
            differ = " OR ".join(f"{key('l._file', k)} IS DISTINCT FROM {theirs[k]}" for k in keys)
            self.rows_problem(
                "setl_list", ", ".join(keys),
                f"SELECT l._file, l._row, l.setl_id AS _v FROM chk_setl_list l JOIN chk_setl s "
                f"ON s.setl_id = l.setl_id WHERE {differ}",
                "清单所在分区与其结算的统筹区、月份不一致 / list row in another partition than its settlement",
                "partition_mismatch", values=True)

    def reversals(self) -> None:
        if not self.cols("setl", "setl_id", "refd_setl_flag"):
            return
        has_init = "init_setl_id" in self.present["setl"]
        if not has_init:
            self.rows_problem(
                "setl", "init_setl_id",
                "SELECT _file, _row, setl_id AS _v FROM chk_setl WHERE refd_setl_flag = '1'",
                "退费行缺少原结算ID（init_setl_id 列不存在）/ reversal row without init_setl_id (column missing)",
                "reversal_no_init")
            return
        self.rows_problem(
            "setl", "init_setl_id",
            "SELECT _file, _row, setl_id AS _v FROM chk_setl WHERE refd_setl_flag = '1' AND init_setl_id IS NULL",
            "退费行缺少原结算ID / reversal row without init_setl_id", "reversal_no_init")
        self.rows_problem(
            "setl", "init_setl_id",
            "SELECT _file, _row, init_setl_id AS _v FROM chk_setl x WHERE refd_setl_flag = '1' "
            "AND init_setl_id IS NOT NULL AND init_setl_id NOT IN (" +
            _known("all_setl", "setl_id", "SELECT init_setl_id FROM chk_setl WHERE refd_setl_flag = '1'") + ")",
            "原结算ID 不是已有的 setl_id，退费指向不存在的结算 / reversal points nowhere: init_setl_id is not an "
            "existing setl_id", "reversal_unknown_init", values=True)
        if "poolarea_no" in self.present["setl"]:  # netting matches a reversal within its region (warehouse)
            self.rows_problem(
                "setl", "poolarea_no",
                "SELECT r._file, r._row, r.setl_id || ': ' || r.poolarea_no || ' ≠ ' || o.poolarea_no AS _v "
                "FROM chk_setl r JOIN chk_setl o ON o.setl_id = r.init_setl_id "
                "WHERE r.refd_setl_flag = '1' AND r.poolarea_no <> o.poolarea_no",
                "退费行的就医地统筹区与原结算不一致 / a reversal's poolarea_no differs from the settlement it reverses",
                "reversal_region_mismatch", values=True)
        self.rows_problem(
            "setl", "init_setl_id",
            "SELECT _file, _row, init_setl_id AS _v FROM chk_setl WHERE coalesce(refd_setl_flag, '0') <> '1' "
            "AND init_setl_id IS NOT NULL",
            "非退费行填写了原结算ID（只应出现在退费行）/ init_setl_id on a row that is not a reversal",
            "init_without_reversal", WARNING)
        self.rows_problem(
            "setl", "init_setl_id",
            "SELECT _file, _row, init_setl_id AS _v FROM (SELECT *, count(*) OVER (PARTITION BY init_setl_id) AS _c "
            "FROM chk_setl WHERE refd_setl_flag = '1' AND init_setl_id IS NOT NULL) WHERE _c > 1",
            "同一结算被退费多次 / settlement reversed more than once", "reversed_twice", WARNING, values=True)
        amounts = [c for c in ("medfee_sumamt", "hifp_pay") if c in self.present["setl"]]
        if amounts:
            self.rows_problem(
                "setl", ", ".join(amounts),
                f"SELECT _file, _row, setl_id AS _v FROM chk_setl WHERE refd_setl_flag = '1' "
                f"AND ({' OR '.join(f'{c} > 0' for c in amounts)})",
                "退费行金额应为负数 / reversal amounts should be negative", "reversal_not_negative", WARNING)

    def setl_amounts(self) -> None:
        if self.cols("setl", "medfee_sumamt", "fulamt_ownpay_amt"):
            self.rows_problem(
                "setl", "medfee_sumamt, fulamt_ownpay_amt",
                f"SELECT _file, _row, setl_id || ': ' || medfee_sumamt || ' < ' || fulamt_ownpay_amt AS _v "
                f"FROM chk_setl WHERE CASE WHEN refd_setl_flag = '1' "  # a reversal row: both negative
                f"THEN round(abs(fulamt_ownpay_amt) - abs(medfee_sumamt), 2) > {TOLERANCE} "
                f"ELSE round(fulamt_ownpay_amt - medfee_sumamt, 2) > {TOLERANCE} END",
                "医疗费总额小于全自费金额 / medfee_sumamt < fulamt_ownpay_amt", "ownpay_exceeds_total")
            self.rows_problem(
                "setl", "medfee_sumamt",
                "SELECT _file, _row, setl_id || ': ' || medfee_sumamt AS _v FROM chk_setl "
                "WHERE coalesce(refd_setl_flag, '0') <> '1' AND medfee_sumamt < 0",
                "非退费行的医疗费总额为负 / negative medfee_sumamt on a row that is not a reversal",
                "negative_amount", WARNING)
        if self.cols("setl", "begndate", "enddate"):
            self.rows_problem(
                "setl", "begndate, enddate",
                "SELECT _file, _row, setl_id || ': ' || begndate || ' > ' || enddate AS _v FROM chk_setl "
                "WHERE enddate < begndate",
                "结束日期早于开始日期 / enddate before begndate", "dates_reversed")

    def _list_joined(self) -> bool:
        """``chk_list_x``: setl_list rows beside their settlement (matches, med_type, medfee_sumamt of the
        non-reversal row, fixmedins_code) and region (via setl, else via fixmedins) with its pay_method.
        Built once so the list checks below are plain scans."""
        if not self.cols("setl_list", "setl_id") or not self.cols("setl", "setl_id"):
            return False
        if "chk_list_x" not in self._built:
            region = ["s.poolarea_no"]
            fix = ""
            if self.cols("fixmedins", "fixmedins_code", "poolarea_no"):
                fix = ("LEFT JOIN (SELECT fixmedins_code, min(poolarea_no) AS poolarea_no FROM all_fixmedins "
                       "GROUP BY fixmedins_code) f ON f.fixmedins_code = l.fixmedins_code")
                region.append("f.poolarea_no")
            method = "CAST(NULL AS VARCHAR)"
            pool = ""
            if self.cols("poolarea", "poolarea_no", "pay_method"):
                pool = "LEFT JOIN (SELECT poolarea_no, min(pay_method) AS pay_method FROM all_poolarea " \
                       "GROUP BY poolarea_no) r ON r.poolarea_no = coalesce({})".format(", ".join(region))
                method = "r.pay_method"
            dups = self.con.execute("SELECT count(setl_id) > count(DISTINCT setl_id) FROM all_setl").fetchone()[0]
            if dups:  # one row per setl_id (the duplicates are reported by duplicate_keys)
                setl = ("(SELECT setl_id, min(med_type) AS med_type, min(medfee_sumamt) AS medfee_sumamt, "
                        "min(fixmedins_code) AS fixmedins_code, min(poolarea_no) AS poolarea_no FROM all_setl "
                        "WHERE setl_id IN (SELECT setl_id FROM chk_setl_list) GROUP BY setl_id)")
            else:
                setl = "all_setl"
            self.con.execute(f"""
                CREATE OR REPLACE TEMP TABLE chk_list_x AS
                SELECT l.*, s.setl_id IS NOT NULL AS _in_setl, s.med_type AS _med_type,
                       s.medfee_sumamt AS _medfee, s.fixmedins_code AS _setl_fixmedins,
                       coalesce({', '.join(region)}) AS _region, {method} AS _method
                FROM chk_setl_list l
                LEFT JOIN {setl} s ON s.setl_id = l.setl_id
                {fix} {pool}""")
            self._built.add("chk_list_x")
        return True

    def setl_list_checks(self) -> None:
        if not self._list_joined():
            return
        self.rows_problem(
            "setl_list", "setl_id",
            "SELECT _file, _row, setl_id AS _v FROM chk_list_x WHERE setl_id IS NOT NULL AND NOT _in_setl",
            "结算清单的结算ID不在 setl 中 / setl_list setl_id not in setl", "list_unknown_setl", values=True)
        if "med_type" in self.present["setl"]:
            self.rows_problem(
                "setl_list", "setl_id",
                "SELECT _file, _row, setl_id || ' (med_type ' || coalesce(_med_type, '空') || ')' AS _v "
                "FROM chk_list_x WHERE _in_setl "
                "AND (_med_type IS NULL OR NOT (_med_type LIKE '2%' OR _med_type = '52'))",
                "结算清单对应的不是住院结算（med_type 应为 2x 或 52）/ setl_list row for a settlement that is not "
                "inpatient (med_type 2x or 52)", "list_not_inpatient")
        if self.cols("setl", "medfee_sumamt") and all(c in self.present["setl_list"] for c in FEE_COMPONENTS):
            fee_sum = " + ".join(f"coalesce({c}, 0)" for c in FEE_COMPONENTS)
            self.rows_problem(
                "setl_list", "fee_drug…fee_oth",
                f"SELECT _file, _row, setl_id || ': Σ ' || printf('%.2f', {fee_sum}) || ' ≠ medfee_sumamt ' "
                f"|| printf('%.2f', _medfee) AS _v FROM chk_list_x "
                f"WHERE _medfee IS NOT NULL AND abs(({fee_sum}) - _medfee) > {TOLERANCE} + 1e-6",
                f"费用明细（fee_drug…fee_oth）之和与结算的医疗费总额不符（容差 {TOLERANCE} 元）/ fee components do not "
                f"add up to the settlement's medfee_sumamt (tolerance {TOLERANCE} 元)", "fee_sum")
        if self.cols("setl_list", "fixmedins_code") and self.cols("setl", "fixmedins_code"):
            self.rows_problem(
                "setl_list", "fixmedins_code",
                "SELECT _file, _row, setl_id || ': ' || fixmedins_code || ' ≠ ' || _setl_fixmedins AS _v "
                "FROM chk_list_x WHERE fixmedins_code <> _setl_fixmedins",
                "结算清单的机构编号与结算不一致 / fixmedins_code differs from the settlement's", "list_fixmedins_mismatch",
                WARNING)

    def group_codes(self) -> None:
        if not self._list_joined() or self.methods() is None:
            return
        present = self.present["setl_list"]
        for code, method, other in (("drg_code", "DIP", "DRG"), ("dip_code", "DRG", "DIP")):
            if code in present:
                self.rows_problem(
                    "setl_list", code,
                    f"SELECT _file, _row, _region || ': ' || {code} AS _v FROM chk_list_x "
                    f"WHERE _method = '{method}' AND {code} IS NOT NULL",
                    f"{method} 地区的结算清单填写了 {code}（{other} 编码）/ {code} in a {method} region",
                    "group_code_method", WARNING)
        for code, method, cat in (("drg_code", "DRG", "drg_catalog"), ("dip_code", "DIP", "dip_catalog")):
            if "grp_stas" in present:
                cond = f"{code} IS NULL" if code in present else "TRUE"
                self.rows_problem(
                    "setl_list", code,
                    f"SELECT _file, _row, setl_id AS _v FROM chk_list_x WHERE _method = '{method}' "
                    f"AND grp_stas = '1' AND {cond}",
                    f"{method} 地区已入组（grp_stas=1）但缺少 {code} / grouped case without {code}",
                    "group_code_missing", WARNING)
            if code in present and self.cols(cat, "poolarea_no", code):
                self.rows_problem(
                    "setl_list", code,
                    f"SELECT _file, _row, _region || ': ' || {code} AS _v FROM chk_list_x x WHERE _method = '{method}' "
                    f"AND {code} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM all_{cat} c "
                    f"WHERE c.poolarea_no = x._region AND c.{code} = x.{code})",
                    f"{code} 不在本地区 {cat} 目录中 / {code} not in the region's {cat}", "group_code_unknown",
                    WARNING, values=True)

    def special_case_checks(self) -> None:
        if self.cols("special_case", "setl_id") and self.cols("setl", "setl_id"):
            self.rows_problem(
                "special_case", "setl_id",
                "SELECT _file, _row, setl_id AS _v FROM chk_special_case x WHERE setl_id IS NOT NULL "
                "AND setl_id NOT IN (" + _known("all_setl", "setl_id", "SELECT setl_id FROM chk_special_case") + ")",
                "特例单议的结算ID不在 setl 中 / special_case setl_id not in setl", "special_unknown_setl", values=True)
        if self.cols("special_case", "setl_id") and self.cols("setl_list", "setl_id") and self.cols("setl", "setl_id"):
            self.rows_problem(
                "special_case", "setl_id",
                "SELECT _file, _row, setl_id AS _v FROM chk_special_case x WHERE setl_id IS NOT NULL "
                "AND setl_id IN (" + _known("all_setl", "setl_id", "SELECT setl_id FROM chk_special_case") + ") "
                "AND setl_id NOT IN (" + _known("all_setl_list", "setl_id", "SELECT setl_id FROM chk_special_case") +
                ")",
                "特例单议的结算没有结算清单 / special case without a setl_list row", "special_no_list", WARNING,
                values=True)

    def catalogue_coverage(self) -> None:
        methods = self.methods()
        if not methods:
            return
        methods = self.in_scope(methods)
        for cat, method in (("drg_catalog", "DRG"), ("dip_catalog", "DIP")):
            if not self.cols(cat, "poolarea_no"):
                continue
            have = {r for (r,) in self.con.execute(f"SELECT DISTINCT poolarea_no FROM all_{cat}").fetchall()}
            for region in sorted(r for r, m in methods.items() if m == method and r not in have):
                self.add(cat, "poolarea_no", "—", f"{method} 地区 {region} 在 {cat} 中没有目录行 / no {cat} rows for "
                                                  f"{method} region {region}", code="catalog_missing_region")

    def month_gaps(self) -> None:
        own = ""  # in a scope: the scope's regions (chk_setl also holds their insured's stays elsewhere)
        if self.scope.regions is not None:
            own = f" AND poolarea_no IN ({', '.join(lit(r) for r in self.scope.regions)})"
        for t, col, expr in MONTH_TABLES:
            if not self.cols(t, col, "poolarea_no"):
                continue
            rows = self.con.execute(
                f"SELECT poolarea_no, list(DISTINCT m ORDER BY m) FROM (SELECT poolarea_no, {expr} AS m FROM chk_{t}) "
                f"WHERE m IS NOT NULL AND poolarea_no IS NOT NULL AND regexp_full_match(m, '{_MONTH_RX}'){own} "
                f"GROUP BY 1 ORDER BY 1").fetchall()
            for region, months in rows:
                gaps = _missing_months(months)
                if not gaps:
                    continue
                shown = ", ".join(gaps[:6]) + (f" … 共 {len(gaps)} 个月" if len(gaps) > 6 else "")
                self.add(t, col, f"月份 {shown}",
                         f"统筹区 {region} 在 {months[0]} 至 {months[-1]} 之间缺月份数据 / no data for these months "
                         f"in region {region} between the first and last month", code="month_gap", count=len(gaps))
