"""The parts of ``yibao validate`` shared by the checks and the public API: the severities, :class:`Problem`,
the contract's code lists and rule tables, and small SQL and file helpers of the checks.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yibao.data.contract import BUDGET_ITEMS, FEE_COMPONENTS, FUND_ITEMS, FUNDS, INSUTYPES, SETL_WAY
from yibao.data.warehouse import _is_numeric, q

ERROR = "error"
WARNING = "warning"
TOLERANCE = 0.01  # 元: fee components vs medfee_sumamt, self-pay vs total
MATERIALIZE_BYTES = 32 << 20  # tables from files up to this size are read once into DuckDB temp tables

# Closed code lists of the contract: (table, column) -> allowed values (after zero-padding).
CODE_SETS: dict[tuple[str, str], tuple[str, ...]] = {
    ("poolarea", "pay_method"): ("DRG", "DIP"),
    ("fixmedins", "fixmedins_type"): ("1", "2"),
    ("fixmedins", "hosp_lv"): tuple(f"{i:02d}" for i in range(1, 12)),
    ("fixmedins", "drg_dip_flag"): ("0", "1"),
    ("psn_insu_month", "insutype"): tuple(INSUTYPES),
    ("setl", "insutype"): tuple(INSUTYPES),
    ("setl", "refd_setl_flag"): ("0", "1"),
    ("fund_report", "fund"): tuple(FUNDS),
    ("fund_report", "item"): tuple(FUND_ITEMS),
    ("budget", "item"): tuple(BUDGET_ITEMS),
    ("setl_list", "qc_stas"): ("0", "1"),
    ("setl_list", "grp_stas"): ("0", "1"),
    ("setl_list", "setl_way"): tuple(SETL_WAY),
    ("setl_list", "dscg_way"): ("1", "2", "3", "4", "5", "9"),
    ("special_case", "review_result"): ("0", "1", "9"),
    ("drg_catalog", "base_group"): ("0", "1"),
    ("dip_catalog", "base_group"): ("0", "1"),
}
# Codes outside these lists are suspicious but harmless: warnings.
SOFT_CODE_SETS: dict[tuple[str, str], tuple[str, ...]] = {
    ("fixmedins", "ownership"): ("公立", "民营"),
}
# Counts and amounts that can never be negative.
NON_NEGATIVE = {
    "fixmedins": ("beds",), "psn_insu_month": ("psn_cnt",), "budget": ("amount",),
    "setl_list": ("ipt_days", "weight", "pay_std", *FEE_COMPONENTS),
    "special_case": ("approved_amt",), "drg_catalog": ("weight", "pay_std"), "dip_catalog": ("score", "pay_std"),
}
# Amounts (元) and numbers beyond these bounds are absurd, not data: a validation error (docs/validate.md).
# One settlement or settlement-list row above 1亿元; any other amount or number (fund reports, budgets,
# catalogues, progress) above 1万亿. Non-finite values (inf, nan) are always errors.
AMOUNT_MAX = {"setl": 1e8, "setl_list": 1e8}
NUMBER_MAX = 1e12
KIND_RULE = {
    "amount": ("not_number", "金额不是数值 / amount is not a number"),
    "number": ("not_number", "不是数值 / not a number"),
    "int": ("not_number", "不是整数数值 / not a number"),
    "date": ("bad_date", "日期无法解析（应为 YYYY-MM-DD）/ unparsable date (expected YYYY-MM-DD)"),
    "timestamp": ("bad_timestamp", "时间无法解析（应为 YYYY-MM-DD HH:MM:SS）/ unparsable timestamp "
                                   "(expected YYYY-MM-DD HH:MM:SS)"),
    "month": ("bad_month", "月份无法解析（应为 YYYY-MM）/ unparsable month (expected YYYY-MM)"),
}
FK_FIXMEDINS = ("setl", "setl_list", "special_case", "settlement_progress", "budget")
FK_POOLAREA = ("fixmedins", "psn_insu_month", "fund_report", "budget", "setl", "drg_catalog", "dip_catalog")
MONTH_TABLES = (("setl", "setl_time", "strftime(setl_time, '%Y-%m')"),
                ("fund_report", "month", "month"),
                ("psn_insu_month", "month", "month"))
_INPATIENT_SQL = "(s.med_type LIKE '2%' OR s.med_type = '52')"  # as warehouse.setl_all's cls = '住院类'
_MONTH_RX = r"^\d{4}-(0[1-9]|1[0-2])$"


@dataclass
class Problem:
    """One finding: where (file, column, rows) and which rule.

    ``rows`` is a list of 1-based data row numbers (at most ``max_rows`` examples; ``count`` is the
    total) — for a parquet directory spanning several files, ``"part/file.parquet:ROW"`` strings — or
    a short description (``"—"`` for file- or table-level problems, the missing months for a gap).
    """
    file: str
    column: str
    rows: list | str
    rule: str
    severity: str = ERROR
    count: int = 0
    code: str = ""
    table: str = ""
    detail: str = ""

    @property
    def rows_text(self) -> str:
        if isinstance(self.rows, str):
            return self.rows or "—"
        if not self.rows:
            return "—"
        groups: list[tuple[str, list[str]]] = []
        for r in self.rows:
            f, _, n = str(r).rpartition(":") if isinstance(r, str) else ("", "", str(r))
            if groups and groups[-1][0] == f:
                groups[-1][1].append(n)
            else:
                groups.append((f, [n]))
        text = "; ".join((f"{f} " if f else "") + "行 " + ", ".join(ns) for f, ns in groups)
        if self.count > len(self.rows):
            text += f" … 共 {self.count} 行"
        return text

    def line(self) -> str:
        """``file · column · row(s) · rule`` (with example values when there are any)."""
        rule = self.rule + (f"（{self.detail}）" if self.detail else "")
        return f"{self.file} · {self.column or '—'} · {self.rows_text} · {rule}"

    def __str__(self) -> str:
        tag = "错误 error" if self.severity == ERROR else "警告 warning"
        return f"[{tag}] {self.line()}"


# ---- helpers of the checks ------------------------------------------------------------------
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]


def _known(table: str, col: str, among: str | None = None) -> str:
    """Uncorrelated subquery for ``x NOT IN (…)``/``x IN (…)``: the non-NULL values of ``table.col``, restricted
    to those in ``among`` (a query of the few values looked up) when the table is large. DuckDB then builds
    its hash tables on the small side; a correlated NOT EXISTS against a settlement table of tens of millions
    of rows took gigabytes."""
    sub = f"SELECT {q(col)} FROM {table} WHERE {q(col)} IS NOT NULL"
    return sub + (f" AND {q(col)} IN ({among})" if among else "")


def _needs_raw(kind: str, src_type: str) -> bool:
    """True when converting a ``src_type`` column to ``kind`` can fail (text holding numbers or dates)."""
    t = src_type.upper()
    if kind in ("amount", "number", "int"):
        return not _is_numeric(t)
    if kind in ("date", "timestamp", "month"):
        return not (t == "DATE" or t.startswith("TIMESTAMP"))
    return False


def _quoted(expr: str) -> str:
    """SQL for a raw value as shown in a message: quoted, or 空 (empty)."""
    return f"CASE WHEN {expr} IS NULL THEN '空' ELSE '''' || left({expr}, 40) || '''' END"


def _is_empty(path: Path) -> bool:
    """True for a 0-byte file, or a CSV holding nothing but a BOM and whitespace."""
    try:
        size = path.stat().st_size
        if size == 0:
            return True
        if path.suffix.lower() == ".csv" and size < 64:
            return path.read_bytes().replace(b"\xef\xbb\xbf", b"").strip() == b""
    except OSError:
        return False
    return False


def _missing_months(months: list[str]) -> list[str]:
    """Months absent between the first and last of a sorted list of ``YYYY-MM``."""
    if not months:
        return []
    y, m = map(int, months[0].split("-"))
    end = tuple(map(int, months[-1].split("-")))
    have = set(months)
    out = []
    while (y, m) <= end:
        k = f"{y:04d}-{m:02d}"
        if k not in have:
            out.append(k)
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return out
