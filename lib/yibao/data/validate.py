"""Check a dataset against the data contract (DATA_CONTRACT.md, v1): ``yibao validate --data DIR``.

:func:`validate` returns every :class:`Problem` it finds; :func:`check_dataset` raises
:class:`~yibao.errors.DataError` when any of them is an error (for scripts that must stop on a
broken dataset; the commands use :mod:`yibao.data.gate`, which caches passing verdicts);
:func:`run_cli` prints one line per problem, ``file · column · row(s) · rule``, grouped by
file, and exits 1 when there is an error (warnings alone exit 0). Every rule is listed in
docs/validate.md with its table, column and severity.

Row numbers are 1-based *data* rows as in the file: row 1 is the first row under the header (a
spreadsheet shows it as row 2). In a parquet directory rows count within each file and the file is
named (``setl/month=2025-01/part-0.parquet``).

All checks are DuckDB SQL over the warehouse's ``raw_<table>`` views (renamed, unconverted columns
with ``_row`` and ``_file``): a ``chk_<table>`` view puts each raw value beside its typed value
(converted exactly as the warehouse converts it), so "raw non-empty but typed NULL" is a
conversion failure. Only counts and a few example rows (``--max-rows``) leave DuckDB. Bad input of
any kind — a missing directory, unreadable or empty files, wrong encodings, an xlsx without a
worksheet, corrupt parquet — becomes a problem line, never a traceback.

The checks are in :mod:`yibao.data.validate_checks` (``_Validator``); :class:`Problem`, the severities
``ERROR`` / ``WARNING``, the code lists and the checks' helpers in :mod:`yibao.data.validate_rules`
(``Problem``, ``ERROR`` and ``WARNING`` are importable from here as before).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from yibao.errors import DataError
from yibao.data.validate_checks import _Validator
from yibao.data.validate_rules import ERROR, WARNING, Problem
from yibao.data.validate_scope import Scope

ROW_NOTE = ("行号 = 数据行号：表头下第一行为第 1 行（电子表格中为第 行号+1 行）；parquet 目录按文件计行并注明文件 / "
            "rows are 1-based data rows: row 1 is the first row under the header (spreadsheet row = row + 1); "
            "in parquet directories rows count within the named file")


# ---- public API -----------------------------------------------------------------------------
def validate(data_dir: str | os.PathLike, max_rows: int = 5, scope: Scope | None = None) -> list[Problem]:
    """Every problem of the dataset in ``data_dir``, sorted by table (contract order) and file; with a
    :class:`~yibao.data.validate_scope.Scope`, those of its tables, regions and months only."""
    v = _Validator(Path(data_dir), max_rows, scope)
    try:
        v.run()
    finally:
        v.close()
    return v.sorted_problems()


def check_dataset(data_dir: str | os.PathLike) -> None:
    """Raise :class:`DataError` (with ``problems``) when the dataset has any error; warnings pass."""
    problems = validate(data_dir)
    errors = [p for p in problems if p.severity == ERROR]
    if errors:
        raise DataError(f"{data_dir}: 数据集不符合数据契约，共 {len(errors)} 个错误，首个: {errors[0].line()}；"
                        f"运行 yibao validate --data {data_dir} 查看全部 (rule: data contract)", problems)


def run_cli(args) -> int:
    """``yibao validate --data DIR [--max-rows N]``: the report on stdout; 1 when there is an error."""
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        try:
            out.reconfigure(errors="backslashreplace")
        except Exception:  # noqa: BLE001 — a stream that cannot be reconfigured is fine as it is
            pass
    problems = validate(args.data, max_rows=getattr(args, "max_rows", 5) or 5)
    print(report(args.data, problems), file=out)
    return 1 if any(p.severity == ERROR for p in problems) else 0


def report(data_dir, problems: list[Problem]) -> str:
    """The text run_cli prints: header, problem lines grouped by file (blank line between), summary."""
    lines = [f"yibao validate {data_dir}", ROW_NOTE,
             "格式 / format: [级别 severity] 文件 file · 列 column · 行 row(s) · 规则 rule"]
    last = None
    for p in problems:
        if p.file != last:
            lines.append("")
            last = p.file
        lines.append(str(p))
    n_err = sum(p.severity == ERROR for p in problems)
    n_warn = len(problems) - n_err
    files = len({p.file for p in problems})
    lines.append("")
    if n_err:
        lines.append(f"校验未通过 / validation failed: {n_err} 个错误 errors, {n_warn} 个警告 warnings, "
                     f"涉及 {files} 个文件 files")
    elif n_warn:
        lines.append(f"校验通过（有警告）/ valid with warnings: 0 个错误 errors, {n_warn} 个警告 warnings")
    else:
        lines.append("校验通过 / valid: 0 个错误 errors, 0 个警告 warnings")
    return "\n".join(lines)


__all__ = ["Problem", "Scope", "validate", "check_dataset", "run_cli", "report", "ERROR", "WARNING"]
