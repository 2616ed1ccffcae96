"""The part of a dataset a command reads — its tables, regions and months — which the validation gate checks.

A :class:`Scope` restricts :func:`yibao.data.validate.validate` (and so the gate, :mod:`yibao.data.gate`):

* **tables**: only the tables the command reads are opened and checked (plus ``poolarea`` and ``fixmedins``,
  which say which rows belong to a region, and ``setl`` when ``setl_list`` or ``special_case`` is read: their
  rows belong to a settlement). File-level problems of those tables — unreadable, wrong encoding, a required
  column missing, empty, no rows — are always reported: a table that cannot be read has no rows to scope.
* **regions** and **months**: a row-level problem counts only when the row belongs to the scope. Which rows
  do is :func:`row_filter`, per table: a settlement by its region (``poolarea_no``) or the insured's
  (``insu_admdvs``) and the month of ``setl_time``; a settlement list by its settlement (else by its
  institution); the other tables by their region or institution and their month. A row whose region or month
  is itself unreadable is in the scope (its problem is reported), and a reversal (退费) after the last month is
  in it too, since netting reaches back to the settlement it reverses.
* The months are those the command's figures can read: from ``period.length + 25`` months before the period's
  last month (the findings' window: 同比 of a 12-month trailing sum, a year of history before the period)
  to the period's last month.

Relations (unknown institution, a reversal pointing nowhere, duplicate keys) are looked up against the whole
table (``all_<table>``): a row in the scope whose key repeats a row outside it is still a duplicate.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

LINKS = ("poolarea", "fixmedins")  # always read: they place every other row in a region


@dataclass(frozen=True)
class Scope:
    tables: tuple[str, ...] | None = None   # None: every table
    regions: tuple[str, ...] | None = None  # None: every region
    first: str | None = None                 # first and last month 'YYYY-MM' (None: every month)
    last: str | None = None

    @classmethod
    def of(cls, tables=None, regions=None, period=None) -> "Scope":
        """The scope of a command reading ``tables`` for ``regions`` in ``period`` (each None: all)."""
        first = last = None
        if period is not None:
            from yibao.data.periods import Period
            p = Period.parse(period)
            window = p.trailing_months(p.length + 25)
            first, last = window[0], p.last_month
        return cls(tuple(sorted(set(tables))) if tables is not None else None,
                   tuple(sorted({str(r) for r in regions})) if regions is not None else None, first, last)

    @property
    def whole(self) -> bool:
        return self.tables is None and self.regions is None and self.first is None

    def wants(self, table: str) -> bool:
        """Whether the validator opens and checks ``table``."""
        if self.tables is None or table in self.tables or table in LINKS:
            return True
        return table == "setl" and bool({"setl_list", "special_case"} & set(self.tables))

    def key(self) -> str:
        return json.dumps([self.tables, self.regions, self.first, self.last])

    def covers(self, region: str | None = None, month: str | None = None) -> bool:
        """Whether a verdict of this scope speaks for a report on ``region`` (and ``month``): every table."""
        if self.tables is not None:
            return False
        if region is not None and self.regions is not None and str(region) not in self.regions:
            return False
        if month is not None and self.first is not None and not (self.first <= month <= self.last):
            return False
        return True

    def label(self) -> str:
        """How the scope reads in the gate's message."""
        parts = []
        if self.regions is not None:
            parts.append("统筹区 " + "、".join(self.regions))
        if self.first is not None:
            parts.append(f"{self.first} 至 {self.last}")
        return "（" + " · ".join(parts) + "）" if parts else ""


def _lit(v: str) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def row_filter(scope: Scope, table: str, cols: set[str], usable) -> str | None:
    """SQL condition on ``all_<table>`` selecting the rows in the scope, or None for every row.

    ``cols``: the table's readable contract columns; ``usable(t, *fields)``: whether table ``t`` has a
    checked view with those columns (to look a row's region up)."""
    if scope.regions is None and scope.first is None:
        return None
    conds = []
    regions = ", ".join(_lit(r) for r in scope.regions) if scope.regions is not None else None

    def in_month(expr: str) -> str:
        return f"({expr} IS NULL OR {expr} BETWEEN {_lit(scope.first)} AND {_lit(scope.last)})"

    def by_institution(col: str) -> str | None:
        if regions is None or col not in cols or not usable("fixmedins", "fixmedins_code", "poolarea_no"):
            return None
        return (f"({col} IS NULL OR {col} IN (SELECT fixmedins_code FROM all_fixmedins WHERE poolarea_no IN "
                f"({regions})) OR {col} NOT IN (SELECT fixmedins_code FROM all_fixmedins WHERE fixmedins_code "
                f"IS NOT NULL))")

    if table == "setl":
        if regions is not None and "poolarea_no" in cols:
            insured = f" OR insu_admdvs IN ({regions})" if "insu_admdvs" in cols else ""
            conds.append(f"(poolarea_no IS NULL OR poolarea_no IN ({regions}){insured})")
        if scope.first is not None and "setl_time" in cols:  # compared as timestamps: no text per row
            start, end = f"TIMESTAMP '{scope.first}-01'", f"(TIMESTAMP '{scope.last}-01' + INTERVAL 1 MONTH)"
            late = " OR refd_setl_flag = '1'" if "refd_setl_flag" in cols else ""
            conds.append(f"(setl_time IS NULL OR (setl_time >= {start} AND (setl_time < {end}{late})))")
    elif table == "setl_list":  # by its settlement (validator.scope_rows joins it): _in is NULL without one
        own = by_institution("fixmedins_code") or "TRUE"
        conds.append(f"coalesce(_in, {own})" if "setl_id" in cols and usable("setl", "setl_id") else own)
    elif table in ("special_case", "settlement_progress"):
        own = by_institution("fixmedins_code")
        if own:
            conds.append(own)
        col = "apply_date" if table == "special_case" else "month"
        if scope.first is not None and col in cols:
            if col == "apply_date":
                conds.append(f"(apply_date IS NULL OR (apply_date >= DATE '{scope.first}-01' AND "
                             f"apply_date < DATE '{scope.last}-01' + INTERVAL 1 MONTH))")
            else:
                conds.append(in_month(col))
    else:  # poolarea, fixmedins, fund_report, psn_insu_month, budget, the catalogues: by their region
        if regions is not None and "poolarea_no" in cols:
            conds.append(f"(poolarea_no IS NULL OR poolarea_no IN ({regions}))")
        if scope.first is not None and table in ("fund_report", "psn_insu_month") and "month" in cols:
            conds.append(in_month("month"))
    return " AND ".join(conds) if conds else None
