"""The 数据底稿 indicators (handbook 五(一), reference/digao-2025-03.csv) for one region and period.

    from yibao.warehouse import Warehouse
    from yibao import indicators
    wh = Warehouse("data/demo")
    df = indicators.compute(wh, "350100", "2026Q3")          # indicators.csv as a DataFrame
    indicators.value(df, 39)                                  # region value of 39 (None unless ok)
    indicators.value(df, 39, "H35010000001")                  # an institution's value
    cmp = indicators.compare(wh, "350100", "2026Q3")          # with 上期 and 同期 values, 同比/环比
    indicators.indicator_table(df, [28, 29, 39], wh=wh)       # institutions × indicators, Chinese headers

Every formula is in :mod:`yibao.metrics.catalogue` (one DuckDB query per indicator, DATA_CONTRACT.md
"Definitions"). This module runs them: it first reduces the settlement data of the region to a few
small relations in DuckDB (one pass over ``setl``: ``c_setl`` per institution × month × class ×
insutype × local/异地, and ``c_ip`` per institution × month × list status × group for inpatient
cases, joined once with ``setl_list``), then evaluates the 51 queries on them and applies the
publication rules:

- frequency (频次): an indicator whose 建议公开频次 does not fit the period is ``not_applicable``
  (:meth:`yibao.metrics.catalogue.Indicator.fits`; ``strict_frequency=False`` computes everything);
- missing optional input (settlement_progress for 14, budget for 24–27, special_case for 33–35, the
  period's fund_report / psn_insu_month months) → ``missing_input``;
- small counts (DESIGN.md): an institution's rate or average computed on fewer than 5 cases, and an
  institution's count or sum of 1–4 cases, is ``suppressed`` with no value; region rows are never
  suppressed; then complementary suppression (:mod:`yibao.metrics.suppression`): no additive indicator
  (33, 34, 36, 38, 39) keeps a lone hidden institution value the region value — or, for a quarter or longer,
  the finer releases' published values (monthly pushes, quarterly) — would give back;
- rounding: amounts and percentages 2 decimals, indices 4 (per indicator in the catalogue).

The reduced relations are cached per warehouse and region, so computing 上期 and 同期 after the
period itself reuses them when their months are covered (:func:`compute_periods` builds one cover
for several periods at once).
"""
from __future__ import annotations

import csv
import io
import itertools
import math
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from yibao.metrics import catalogue, suppression
from yibao.metrics.catalogue import SUPPRESS_MIN, SUPPRESSED_MARK, Indicator
from yibao.errors import DataError
from yibao.fsutil import atomic_path
from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse, cls_sql, ip_sql, lit

COLUMNS = ["indicator_id", "name", "poolarea_no", "fixmedins_code", "period", "value", "unit", "status"]
STATUS_ZH = {"ok": "正常", "suppressed": "不予公布（病例数少于5例）", "not_applicable": "不适用",
             "missing_input": "缺少输入"}
_COUNTER = itertools.count(1)


def _months_between(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y}-{m:02d}" <= last:
        out.append(f"{y}-{m:02d}")
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def _sql_list(values) -> str:
    vals = list(values)
    return "(" + ", ".join(lit(v) for v in vals) + ")" if vals else "(NULL)"


def _month_end(month: str) -> str:
    """First day after ``month`` (YYYY-MM) as YYYY-MM-DD."""
    y, m = int(month[:4]), int(month[5:7]) + 1
    if m == 13:
        y, m = y + 1, 1
    return f"{y}-{m:02d}-01"


def _month_text(col: str) -> str:
    """'YYYY-MM' of an integer yyyymm."""
    return f"printf('%04d-%02d', CAST({col} // 100 AS INTEGER), CAST({col} % 100 AS INTEGER))"


def _cents(col: str) -> str:
    """An amount in whole 分 (exact integer sums, the same in any order: reruns are byte-identical)."""
    return f"CAST(round({col} * 100) AS BIGINT)"


def _yuan(cents: str) -> str:
    """Summed 分 back to 元 as an exact DECIMAL(38,2)."""
    return f"(CAST({cents} AS DECIMAL(38,0)) * CAST(0.01 AS DECIMAL(3,2)))"


def placeholders(region: str, period: Period) -> dict[str, str]:
    """The values the catalogue's ``{…}`` placeholders take for a region and period."""
    return {
        "region": lit(region),
        "period": _sql_list(period.months),
        "ytd": _sql_list(period.ytd_months),
        "prev": _sql_list(period.previous().months),
        "last_month": lit(period.last_month),
        "trailing12": _sql_list(period.trailing_months(12)),
        "next_year": str(period.year + 1),
    }


def needed_months(period: Period) -> tuple[str, str]:
    """First and last month of settlements the period's indicators read (累计 and 上期)."""
    months = period.ytd_months + period.previous().months
    return min(months), max(months)


@dataclass
class _Cube:
    first: str
    last: str
    setl: str
    ip: str


class _Engine:
    """Reduced relations of one region in one warehouse, and the evaluation of the catalogue on them."""

    def __init__(self, wh: Warehouse, region: str):
        self.wh = wh
        self.region = str(region)
        self.info = wh.region(self.region)
        self.pay_method = str(self.info.get("pay_method") or "").upper()
        self.tag = f"_ind{next(_COUNTER)}"
        self.cubes: list[_Cube] = []
        self.lock = threading.RLock()
        self._small_done = False
        self._rev_done = False
        self._details: dict[tuple[str, bool], pd.DataFrame] = {}
        self._hidden: dict[str, dict[str, set[str]]] = {}  # 上期 code -> the additive cells its files hide
        self._rows: dict[tuple[str, str], tuple[dict | None, dict[str, dict]]] = {}  # (indicator, period) -> run_rows

    # ---- building ------------------------------------------------------------------------------
    def _exec(self, sql: str) -> None:
        self.wh.sql(sql)

    def _t(self, name: str) -> str:
        return f"{self.tag}_{name}"

    def _ensure_rev(self) -> None:
        """setl_ids named by a reversal row (same rule as warehouse ``setl_net``)."""
        if self._rev_done:
            return
        if self.wh.has("setl"):
            self._exec(f"""CREATE OR REPLACE TEMP TABLE {self._t('rev')} AS
                SELECT DISTINCT init_setl_id AS setl_id FROM setl
                WHERE refd_setl_flag = '1' AND init_setl_id IS NOT NULL""")
        else:
            self._exec(f"CREATE OR REPLACE TEMP TABLE {self._t('rev')} AS SELECT CAST(NULL AS VARCHAR) AS setl_id "
                       f"WHERE false")
        self._rev_done = True

    def _ensure_small(self) -> None:
        if self._small_done:
            return
        R = lit(self.region)
        wh = self.wh
        self._ensure_rev()
        self._exec(f"""CREATE OR REPLACE TEMP TABLE {self._t('inst')} AS
            SELECT fixmedins_code, fixmedins_name, fixmedins_type, drg_dip_flag, hosp_lv, lv_group,
                   COALESCE(beds, 0) AS beds, begn_date
            FROM fixmedins_x WHERE poolarea_no = {R}""" if wh.has("fixmedins") else
                   f"""CREATE OR REPLACE TEMP TABLE {self._t('inst')} AS
            SELECT CAST(NULL AS VARCHAR) AS fixmedins_code, CAST(NULL AS VARCHAR) AS fixmedins_name,
                   CAST(NULL AS VARCHAR) AS fixmedins_type, CAST(NULL AS VARCHAR) AS drg_dip_flag,
                   CAST(NULL AS VARCHAR) AS hosp_lv, CAST(NULL AS VARCHAR) AS lv_group,
                   CAST(0 AS BIGINT) AS beds, CAST(NULL AS DATE) AS begn_date WHERE false""")
        inst = f"(SELECT fixmedins_code FROM {self._t('inst')})"
        self._small(wh.has("fund_report"), "fund",
                    f"SELECT month, fund, item, CAST(amount AS DECIMAL(18,2)) AS amount FROM fund_report "
                    f"WHERE poolarea_no = {R}",
                    "CAST(NULL AS VARCHAR) AS month, CAST(NULL AS VARCHAR) AS fund, CAST(NULL AS VARCHAR) AS item, "
                    "CAST(NULL AS DECIMAL(18,2)) AS amount")
        self._small(wh.has("psn_insu_month"), "psn",
                    f"SELECT month, insutype, psn_cnt FROM psn_insu_month WHERE poolarea_no = {R}",
                    "CAST(NULL AS VARCHAR) AS month, CAST(NULL AS VARCHAR) AS insutype, CAST(NULL AS BIGINT) AS psn_cnt")
        self._small(wh.has("budget"), "budget",
                    f"SELECT year, item, CAST(amount AS DECIMAL(18,2)) AS amount, fixmedins_code FROM budget "
                    f"WHERE poolarea_no = {R}",
                    "CAST(NULL AS BIGINT) AS year, CAST(NULL AS VARCHAR) AS item, CAST(NULL AS DECIMAL(18,2)) AS amount, "
                    "CAST(NULL AS VARCHAR) AS fixmedins_code")
        self._small(wh.has("settlement_progress"), "prog",
                    f"SELECT fixmedins_code, month, CAST(payable_amt AS DECIMAL(18,2)) AS payable_amt, "
                    f"CAST(paid_amt AS DECIMAL(18,2)) AS paid_amt FROM settlement_progress "
                    f"WHERE fixmedins_code IN {inst}",
                    "CAST(NULL AS VARCHAR) AS fixmedins_code, CAST(NULL AS VARCHAR) AS month, "
                    "CAST(NULL AS DECIMAL(18,2)) AS payable_amt, CAST(NULL AS DECIMAL(18,2)) AS paid_amt")
        self._small(wh.has("special_case"), "sc",
                    f"SELECT fixmedins_code, strftime(apply_date, '%Y-%m') AS month, review_result, setl_id "
                    f"FROM special_case WHERE fixmedins_code IN {inst} "
                    f"AND (setl_id IS NULL OR setl_id NOT IN (SELECT setl_id FROM {self._t('rev')}))",
                    "CAST(NULL AS VARCHAR) AS fixmedins_code, CAST(NULL AS VARCHAR) AS month, "
                    "CAST(NULL AS VARCHAR) AS review_result, CAST(NULL AS VARCHAR) AS setl_id")
        self.fund_months = {r[0] for r in self.wh.sql(f"SELECT DISTINCT month FROM {self._t('fund')}").fetchall()}
        self.psn_months = {r[0] for r in self.wh.sql(f"SELECT DISTINCT month FROM {self._t('psn')}").fetchall()}
        self._small_done = True

    def _small(self, present: bool, name: str, query: str, empty_cols: str) -> None:
        body = query if present else f"SELECT {empty_cols} WHERE false"
        self._exec(f"CREATE OR REPLACE TEMP TABLE {self._t(name)} AS {body}")

    def cube(self, first: str, last: str) -> _Cube:
        """The reduced settlement relations covering months first..last (built once, then reused)."""
        with self.lock:
            for c in self.cubes:
                if c.first <= first and last <= c.last:
                    return c
            self._ensure_rev()
            k = len(self.cubes) + 1
            R = lit(self.region)
            base, setl, ip = self._t(f"base{k}"), self._t(f"setl{k}"), self._t(f"ip{k}")
            if not self.wh.has("setl"):
                raise DataError(f"{self.wh.data_dir}: 缺少必需的表 setl（结算信息）(rule: required table)")
            window = (f"s.setl_time >= TIMESTAMP '{first}-01 00:00:00' "
                      f"AND s.setl_time < TIMESTAMP '{_month_end(last)} 00:00:00'")
            netted = (f"COALESCE(s.refd_setl_flag, '0') <> '1' "
                      f"AND s.setl_id NOT IN (SELECT setl_id FROM {self._t('rev')})")
            ym = "(year(s.setl_time) * 100 + month(s.setl_time))"
            # pass 1: every netted settlement of the region's institutions or insured, aggregated
            # (grouped by med_type and an integer month; class and 'YYYY-MM' are derived on the small result)
            self._exec(f"""CREATE OR REPLACE TEMP TABLE {base} AS
                SELECT COALESCE(s.fixmedins_code, '') AS fixmedins_code, {ym} AS ym, s.med_type, s.insutype,
                       COALESCE(s.poolarea_no = {R}, false) AS at_region,
                       COALESCE(s.insu_admdvs = s.poolarea_no, false) AS is_local,
                       COALESCE(s.insu_admdvs = {R}, false) AS insured_here,
                       COUNT(*) AS cases,
                       SUM({_cents('s.medfee_sumamt')}) AS medfee_sumamt,
                       SUM({_cents('s.fulamt_ownpay_amt')}) AS fulamt_ownpay_amt,
                       SUM({_cents('s.hifp_pay')}) AS hifp_pay
                FROM setl s
                WHERE (s.poolarea_no = {R} OR s.insu_admdvs = {R}) AND {window} AND {netted}
                GROUP BY 1, 2, 3, 4, 5, 6, 7""")
            self._exec(f"""CREATE OR REPLACE TEMP TABLE {setl} AS
                SELECT fixmedins_code, {_month_text('ym')} AS month, {cls_sql('med_type')} AS cls, insutype,
                       at_region, is_local, insured_here,
                       SUM(cases) AS cases, {_yuan('SUM(medfee_sumamt)')} AS medfee_sumamt,
                       {_yuan('SUM(fulamt_ownpay_amt)')} AS fulamt_ownpay_amt, {_yuan('SUM(hifp_pay)')} AS hifp_pay
                FROM {base} GROUP BY 1, 2, 3, 4, 5, 6, 7""")
            self._exec(f"DROP TABLE {base}")
            # pass 2: the inpatient settlements at the region's institutions, one row each (to meet their lists)
            self._exec(f"""CREATE OR REPLACE TEMP TABLE {base} AS
                SELECT s.setl_id, COALESCE(s.fixmedins_code, '') AS fixmedins_code, {ym} AS ym,
                       CAST(s.medfee_sumamt AS DECIMAL(18,2)) AS medfee_sumamt
                FROM setl s
                WHERE s.poolarea_no = {R} AND {window} AND {ip_sql('s.med_type')} AND {netted}""")
            grp = {"DRG": "l.drg_code", "DIP": "l.dip_code"}.get(self.pay_method, "COALESCE(l.drg_code, l.dip_code)")
            if self.wh.has("setl_list"):
                lst = "setl_list"
            else:
                lst = ("(SELECT CAST(NULL AS VARCHAR) AS setl_id, CAST(NULL AS VARCHAR) AS qc_stas, "
                       "CAST(NULL AS VARCHAR) AS grp_stas, CAST(NULL AS VARCHAR) AS setl_way, "
                       "CAST(NULL AS VARCHAR) AS drg_code, CAST(NULL AS VARCHAR) AS dip_code, "
                       "CAST(NULL AS BIGINT) AS ipt_days, CAST(NULL AS DOUBLE) AS weight WHERE false)")
            self._exec(f"""CREATE OR REPLACE TEMP TABLE {ip} AS
                SELECT b.fixmedins_code, {_month_text('b.ym')} AS month, l.setl_id IS NOT NULL AS uploaded,
                       l.qc_stas, l.grp_stas, l.setl_way, {grp} AS grp_code,
                       COUNT(*) AS cases, SUM(l.ipt_days) AS ipt_days, SUM(b.medfee_sumamt) AS medfee_sumamt,
                       SUM(CAST(l.weight AS DECIMAL(18,4))) AS weight
                FROM {base} b LEFT JOIN {lst} l ON l.setl_id = b.setl_id
                GROUP BY 1, 2, 3, 4, 5, 6, 7""")
            self._exec(f"DROP TABLE {base}")
            c = _Cube(first, last, setl, ip)
            self.cubes.append(c)
            return c

    # ---- evaluation ----------------------------------------------------------------------------
    def relations(self, period: Period) -> str:
        """The WITH clause naming the reduced relations as the catalogue's queries read them."""
        self._ensure_small()
        c = self.cube(*needed_months(period))
        end = period.end.isoformat()
        return (f"WITH c_setl AS (SELECT * FROM {c.setl}),\n"
                f"     c_ip AS (SELECT * FROM {c.ip}),\n"
                f"     c_fund AS (SELECT * FROM {self._t('fund')}),\n"
                f"     c_psn AS (SELECT * FROM {self._t('psn')}),\n"
                f"     c_budget AS (SELECT * FROM {self._t('budget')}),\n"
                f"     c_prog AS (SELECT * FROM {self._t('prog')}),\n"
                f"     c_sc AS (SELECT * FROM {self._t('sc')}),\n"
                f"     c_inst AS (SELECT * FROM {self._t('inst')} WHERE begn_date IS NULL OR begn_date < DATE '{end}')\n")

    def institutions(self, period: Period) -> pd.DataFrame:
        """The region's institutions designated by the period's end (code, name, type, level, flag, beds)."""
        self._ensure_small()
        return self.wh.df(f"SELECT fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, lv_group, drg_dip_flag, beds "
                          f"FROM {self._t('inst')} WHERE begn_date IS NULL OR begn_date < DATE '{period.end.isoformat()}' "
                          f"ORDER BY fixmedins_code")

    def query(self, ind: Indicator, period: Period, within: Period | None = None) -> str:
        """The indicator's formula as one runnable statement (relations + placeholders filled in); ``within``: a
        period whose relations cover ``period``'s months (a finer release computed without another scan)."""
        sql = ind.sql.format_map(placeholders(self.region, period))
        return self.relations(within or period) + "SELECT * FROM (\n" + sql + "\n) AS q"

    def run_sql(self, ind: Indicator, period: Period) -> pd.DataFrame:
        return self.wh.df(self.query(ind, period))

    def run_rows(self, ind: Indicator, period: Period, sql: str | None = None) -> tuple[dict | None, dict[str, dict]]:
        """(the region row, {fixmedins_code: row}) of an indicator's query — run once per indicator and period:
        the strict and the all-frequency 数据底稿 of a period (indicators.csv and the 参考值) share the results.
        With ``sql`` (a query on other relations, e.g. the additive cells 上期 hid) it runs as given, uncached."""
        if sql is not None:
            return self._run_rows(sql)
        k = (str(ind.id), period.code)
        with self.lock:
            if k not in self._rows:
                self._rows[k] = self._run_rows(self.query(ind, period))
            region_row, by_code = self._rows[k]
            return (None if region_row is None else dict(region_row)), {c: dict(r) for c, r in by_code.items()}

    def _run_rows(self, sql: str) -> tuple[dict | None, dict[str, dict]]:
        cur = self.wh.sql(sql)
        cols = [d[0] for d in cur.description]
        region_row, by_code = None, {}
        for t in cur.fetchall():
            r = dict(zip(cols, t))
            code = r.get("fixmedins_code")
            if code is None:
                region_row = r
            else:
                by_code[code] = r
        return region_row, by_code

    def missing(self, ind: Indicator, period: Period) -> list[str]:
        """Inputs an indicator needs that the dataset lacks for this period."""
        self._ensure_small()
        out = []
        for need in ind.needs:
            table, _, when = need.partition("@")
            if not self.wh.has(table):
                out.append(table)
                continue
            have = self.fund_months if table == "fund_report" else self.psn_months if table == "psn_insu_month" else None
            if have is None or not when:
                continue
            months = {"ytd": period.ytd_months, "period": period.months, "last_month": [period.last_month],
                      "trailing12": period.trailing_months(12)}[when]
            ok = all(m in have for m in months) if when == "trailing12" else any(m in have for m in months)
            if not ok:
                out.append(need)
        return out

    def detail(self, period: Period, strict_frequency: bool = True) -> pd.DataFrame:
        """indicators.csv rows plus ``n`` (cases behind each value) and ``reason`` (why not ok)."""
        key = (period.code, bool(strict_frequency))
        with self.lock:
            if key not in self._details:
                self._details[key] = self._detail(period, strict_frequency)
            return self._details[key].copy()

    def _detail(self, period: Period, strict_frequency: bool) -> pd.DataFrame:
        with self.lock:
            self._ensure_small()
            self.cube(*needed_months(period))
            inst = self.institutions(period)
            hosp = inst[inst["fixmedins_type"] == "1"]
            flags = dict(zip(hosp["fixmedins_code"], hosp["drg_dip_flag"].fillna("")))
            codes = list(hosp["fixmedins_code"])
            rows: list[dict] = []
            status_of: dict[tuple[str, str], str] = {}
            values: dict[tuple[str, str], float] = {}  # additive institution cells, hidden ones too
            additive = set(catalogue.additive_ids())
            across, derivable = self._across(period, period, codes)  # the finer releases' hidden cells
            for ind in catalogue.ordered():
                scopes = [""] + (codes if ind.per_institution else [])
                blanket, reason = None, ""
                if ind.is_heading:
                    blanket, reason = "not_applicable", "标题行"
                elif strict_frequency and not ind.fits(period):
                    blanket, reason = "not_applicable", f"建议公开频次为{ind.frequency}，本期（{period.label}）不发布"
                elif self.pay_method and self.pay_method not in ind.pay_methods:
                    blanket, reason = "not_applicable", f"仅适用于{'/'.join(ind.pay_methods)}付费地区"
                else:
                    miss = self.missing(ind, period)
                    if miss:
                        blanket, reason = "missing_input", "缺少输入：" + "、".join(miss)
                if blanket:
                    for code in scopes:
                        rows.append(self._row(ind, period, code, None, blanket, None, reason))
                        status_of[(ind.id, code)] = blanket
                    continue
                region_row, by_code = self.run_rows(ind, period)
                v = _num(region_row.get("value")) if region_row else None
                n = _num(region_row.get("n")) if region_row else None
                if v is None and ind.suppress == "count":
                    v, n = 0.0, 0  # a count or sum over no cases is 0
                if v is None:
                    st, why = ind.null_status, ("无可计算的数据（分母为0）" if ind.null_status == "not_applicable"
                                                 else "缺少本期数据")
                else:
                    st, why = "ok", ""
                rows.append(self._row(ind, period, "", v, st, n, why))
                status_of[(ind.id, "")] = st
                prev_hidden = set().union(*(self._hidden_before(other, period) for other in ind.suppress_with_prev))
                for code in codes if ind.per_institution else []:
                    st, v, n, why = self._inst_status(ind, by_code.get(code), flags.get(code, ""), code, status_of,
                                                      across)
                    if st == "ok" and code in prev_hidden:
                        st, v, why = "suppressed", None, "上期指标" + "、".join(ind.suppress_with_prev) + "不予公布"
                    if ind.id in additive:
                        values[(ind.id, code)] = _num((by_code.get(code) or {}).get("value")) or 0.0
                    rows.append(self._row(ind, period, code, v, st, n, why))
                    status_of[(ind.id, code)] = st
            # one hidden value of an additive indicator would be the region value minus the others
            df = suppression.protect(pd.DataFrame(rows), values, derivable)
            return _sort(df)

    def _hidden_before(self, iid: str, period: Period) -> set[str]:
        """The institutions whose value of additive indicator ``iid`` 上期's own files hid (primary,
        ``suppress_with`` and complementary, the same rules on the same values): a rate on 上期 (41 = 本期/上期
        39) beside this period's count would give it back."""
        return self._additive_hidden(period.previous(), within=period).get(iid, set())

    def _across(self, period: Period, within: Period, codes) -> tuple[set, set]:
        """(to hide, derivable) additive cells of ``period``: those whose value minus the finer releases'
        published values (monthly pushes, quarterly releases within it) is one hidden finer value, and those
        the finer releases give (:func:`suppression.across_releases`)."""
        if period.length == 1:
            return set(), set()
        return suppression.across_releases(
            period, {iid: list(codes) for iid in catalogue.additive_ids()},
            lambda p, iid: self._additive_hidden(p, within).get(iid, set()))

    def _additive_hidden(self, period: Period, within: Period) -> dict[str, set[str]]:
        """{indicator_id: hidden institution codes} of the additive indicators of ``period`` as its own files hide
        them (primary, across releases, complementary), computed on the relations of ``within`` (which cover its
        months: no other pass over the settlements); cached per period."""
        with self.lock:
            if period.code not in self._hidden:
                self._hidden[period.code] = self._additive_hidden_uncached(period, within)
            return self._hidden[period.code]

    def _additive_hidden_uncached(self, period: Period, within: Period) -> dict[str, set[str]]:
        inst = self.institutions(period)
        hosp = inst[inst["fixmedins_type"] == "1"]
        flags = dict(zip(hosp["fixmedins_code"], hosp["drg_dip_flag"].fillna("")))
        rows: list[dict] = []
        status_of: dict[tuple[str, str], str] = {}
        values: dict[tuple[str, str], float] = {}
        across, derivable = self._across(period, within, flags)
        for iid in catalogue.additive_ids():
            ind = catalogue.get(iid)
            if not ind.fits(period) or self.missing(ind, period):  # not in the period's files (33/34 monthly)
                continue
            region_row, by_code = self.run_rows(ind, period, self.query(ind, period, within))
            rows.append(dict(indicator_id=iid, fixmedins_code="", value=_num((region_row or {}).get("value")) or 0.0,
                             status="ok", reason=""))
            for code, flag in flags.items():
                st, v, n, why = self._inst_status(ind, by_code.get(code), flag, code, status_of, across)
                values[(iid, code)] = _num((by_code.get(code) or {}).get("value")) or 0.0
                rows.append(dict(indicator_id=iid, fixmedins_code=code, value=v, status=st, reason=why))
                status_of[(iid, code)] = st
        if not rows:
            return {}
        df = suppression.protect(pd.DataFrame(rows), values, derivable)
        sup = df[(df["status"] == "suppressed") & (df["fixmedins_code"] != "")]
        return {iid: set(g["fixmedins_code"]) for iid, g in sup.groupby("indicator_id")}

    def _inst_status(self, ind: Indicator, r, flag: str, code: str, status_of: dict, across=frozenset()):
        """(status, value, n, reason) of one institution cell; ``across``: the (indicator, code) cells the finer
        releases would give back (:meth:`_across`), hidden when they would otherwise be published."""
        if ind.institutions == "drg_dip" and flag != "1":
            return "not_applicable", None, None, "未开展DRG/DIP付费"
        v = _num(r.get("value")) if r is not None else None
        n = _num(r.get("n")) if r is not None else None
        if ind.suppress == "count":
            n = n or 0
            if v is None and n == 0:
                v = 0.0
        if ind.suppress == "rate" and (n or 0) < SUPPRESS_MIN:
            return "suppressed", None, n, f"病例数{int(n or 0)}少于{SUPPRESS_MIN}"
        if ind.suppress == "count" and 0 < n < SUPPRESS_MIN:
            return "suppressed", None, n, f"病例数{int(n)}少于{SUPPRESS_MIN}"
        if ind.numerator_cases and v is not None and n:
            k = int(round(v * n / 100))  # the cases counted (上传清单数, 入组人次), printed as "<5" when 1–4
            if 0 < k < SUPPRESS_MIN:
                return "suppressed", None, n, f"分子病例数{k}少于{SUPPRESS_MIN}"
        for other in ind.suppress_with:
            if status_of.get((other, code)) == "suppressed":
                return "suppressed", None, n, f"指标{other}不予公布"
        if v is None:
            if "settlement_progress" in ind.needs:
                return "missing_input", None, n, "该机构无结算拨付记录"
            return "not_applicable", None, n, "无可计算的数据（分母为0）"
        if (ind.id, code) in across:
            return "suppressed", None, n, suppression.CROSS_REASON
        return "ok", v, n, ""

    def _row(self, ind: Indicator, period: Period, code: str, v, status: str, n, reason: str) -> dict:
        value = float("nan") if v is None or status != "ok" else _round(v, ind.decimals)
        return {"indicator_id": ind.id, "name": ind.name, "poolarea_no": self.region, "fixmedins_code": code,
                "period": period.code, "value": value, "unit": ind.unit, "status": status,
                "n": None if n is None else int(n), "reason": reason}


def _num(v):
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def _round(v: float, decimals: int) -> float:
    r = round(float(v), decimals)
    return 0.0 if r == 0 else r


def _sort(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    key = df["indicator_id"].map(catalogue.sort_key)
    df = df.assign(_k=key).sort_values(["_k", "fixmedins_code"], kind="stable").drop(columns="_k")
    return df.reset_index(drop=True)


_ENGINES: "weakref.WeakKeyDictionary[Warehouse, dict[str, _Engine]]" = weakref.WeakKeyDictionary()
_ENGINES_LOCK = threading.Lock()


def engine(wh: Warehouse, region: str) -> _Engine:
    """The (cached) evaluation engine of a region in a warehouse."""
    with _ENGINES_LOCK:
        d = _ENGINES.setdefault(wh, {})
        if str(region) not in d:
            d[str(region)] = _Engine(wh, str(region))
        return d[str(region)]


def clear_cache(wh: Warehouse) -> None:
    """Forget the reduced relations of a warehouse (after its files changed)."""
    with _ENGINES_LOCK:
        _ENGINES.pop(wh, None)


# ---- public API -------------------------------------------------------------------------------------

def compute_detail(wh: Warehouse, region: str, period, strict_frequency: bool = True) -> pd.DataFrame:
    """Like :func:`compute`, plus ``n`` (the cases each value is computed on) and ``reason`` (why a
    row is not ok, in Chinese)."""
    return engine(wh, region).detail(Period.parse(period), strict_frequency)


def compute(wh: Warehouse, region: str, period, strict_frequency: bool = True) -> pd.DataFrame:
    """The indicators of ``region`` for ``period``: indicators.csv as a DataFrame.

    Columns ``indicator_id, name, poolarea_no, fixmedins_code ('' = the region), period, value
    (float, NaN unless ok), unit, status``; rows sorted by indicator (1..49, then x_…) and
    institution (region row first). ``strict_frequency=False`` ignores the publication frequency
    (every indicator computed for any period; for analysts).
    """
    return compute_detail(wh, region, period, strict_frequency)[COLUMNS].copy()


def compute_periods(wh: Warehouse, region: str, periods, strict_frequency: bool = True) -> dict[Period, pd.DataFrame]:
    """:func:`compute` for several periods, reading the settlements once for all of them."""
    ps = [Period.parse(p) for p in periods]
    eng = engine(wh, region)
    spans = [needed_months(p) for p in ps]
    first, last = min(s[0] for s in spans), max(s[1] for s in spans)
    eng.cube(first, last)  # one pass over the settlements covering every period (reused if already covered)
    return {p: eng.detail(p, strict_frequency)[COLUMNS].copy() for p in ps}


def comparison_periods(period) -> tuple[Period, Period, Period]:
    """(本期, 上期, 同期): the period, the previous period of the same length and the same period a year earlier."""
    p = Period.parse(period)
    return p, p.previous(), p.year_ago()


def change(ind: Indicator, value, base):
    """同比/环比 of one indicator: percentage points for % indicators, growth % otherwise.

    None when either value is missing, or (growth) when the base is not positive.
    """
    v, b = _num(value), _num(base)
    if v is None or b is None or ind.is_heading:
        return None
    if ind.change_kind == "pp":
        return round(v - b, 2)
    if b <= 0:
        return None
    return round((v / b - 1) * 100, 2)


def change_words(ind: Indicator, value, base, basis: str) -> str:
    """同比/环比 of one indicator in words — the one reading the report text, its appendix and digao.xlsx
    share: '' where no change is given (headings; 环比 of a 累计 figure, Jan→本期 against Jan→上期),
    a deficit's change worded as a deficit (fmt.balance_change), percentage points for % indicators."""
    from yibao import fmt
    if ind.is_heading or (basis == "环比" and ind.timing == "cumulative"):
        return ""
    v, b = _num(value), _num(base)
    if v is None or b is None:
        return ""
    if ind.id in catalogue.BALANCE_IDS:
        return fmt.balance_change(v, b, basis)
    return fmt.change(v, b, basis, unit_pct=ind.change_kind == "pp")


def compare(wh: Warehouse, region: str, period, strict_frequency: bool = True,
            frames: dict | None = None) -> pd.DataFrame:
    """Indicators with their 同期 (a year earlier) and 上期 values and the 同比/环比 changes.

    Columns: indicator_id, fixmedins_code, name, unit, value, status, yoy_value, yoy_status, yoy,
    prev_value, prev_status, mom, change_kind ('pp' = 百分点 for % indicators, 'pct' = growth %).
    累计 items get 同比 only (环比 of Jan→period against Jan→上期 is not meaningful).
    """
    cur, prev, yoy = comparison_periods(period)
    if frames is None:
        frames = compute_periods(wh, region, [cur, prev, yoy], strict_frequency=False)
        # frequency applies to the period itself; comparison bases are computed whatever their cadence
        frames[cur] = compute(wh, region, cur, strict_frequency)
    key = ["indicator_id", "fixmedins_code"]
    d = frames[cur][key + ["name", "unit", "value", "status"]]
    y = frames[yoy][key + ["value", "status"]].rename(columns={"value": "yoy_value", "status": "yoy_status"})
    p = frames[prev][key + ["value", "status"]].rename(columns={"value": "prev_value", "status": "prev_status"})
    d = d.merge(y, on=key, how="left").merge(p, on=key, how="left")
    yoys, moms, kinds = [], [], []
    for r in d.itertuples(index=False):
        ind = catalogue.get(r.indicator_id)
        ok = r.status == "ok"
        yoys.append(change(ind, r.value, r.yoy_value) if ok and r.yoy_status == "ok" else None)
        moms.append(change(ind, r.value, r.prev_value)
                    if ok and r.prev_status == "ok" and ind.timing != "cumulative" else None)
        kinds.append(ind.change_kind)
    d["yoy"] = pd.to_numeric(pd.Series(yoys, index=d.index, dtype=object), errors="coerce")
    d["mom"] = pd.to_numeric(pd.Series(moms, index=d.index, dtype=object), errors="coerce")
    d["change_kind"] = kinds
    cols = ["indicator_id", "fixmedins_code", "name", "unit", "value", "status", "yoy_value", "yoy_status", "yoy",
            "prev_value", "prev_status", "mom", "change_kind"]
    return _sort(d[cols])


def institutions(wh: Warehouse, region: str, period) -> pd.DataFrame:
    """The region's institutions designated by the period's end (the rows of per-institution indicators
    are its hospitals, fixmedins_type 1)."""
    return engine(wh, region).institutions(Period.parse(period))


# ---- notebook helpers ---------------------------------------------------------------------------

def _pick(df: pd.DataFrame, indicator_id, fixmedins_code=None) -> pd.DataFrame:
    code = fixmedins_code or ""
    return df[(df["indicator_id"].astype(str) == str(indicator_id)) & (df["fixmedins_code"].fillna("") == code)]


def value(df: pd.DataFrame, indicator_id, fixmedins_code: str | None = None):
    """The value of one indicator (region when ``fixmedins_code`` is None), or None unless status is ok."""
    d = _pick(df, indicator_id, fixmedins_code)
    if d.empty or d["status"].iloc[0] != "ok":
        return None
    return _num(d["value"].iloc[0])


def status(df: pd.DataFrame, indicator_id, fixmedins_code: str | None = None) -> str | None:
    d = _pick(df, indicator_id, fixmedins_code)
    return None if d.empty else str(d["status"].iloc[0])


def region_table(df: pd.DataFrame, ids=None) -> pd.DataFrame:
    """Region rows as a display table: 序号, 指标, 单位, 数值 (text), 状态 (Chinese)."""
    d = df[df["fixmedins_code"].fillna("") == ""]
    if ids is not None:
        want = [str(i) for i in ids]
        d = d[d["indicator_id"].astype(str).isin(want)]
    rows = []
    for r in d.itertuples(index=False):
        ind = catalogue.get(r.indicator_id)
        rows.append({"序号": ind.id, "指标": ind.display_label, "单位": ind.unit,
                     "数值": catalogue.format_value(ind, r.value) if r.status == "ok" else "",
                     "状态": STATUS_ZH.get(r.status, r.status)})
    return pd.DataFrame(rows, columns=["序号", "指标", "单位", "数值", "状态"])


def indicator_table(df: pd.DataFrame, ids=None, wh: Warehouse | None = None, institutions_df: pd.DataFrame | None = None,
                    suppressed: str = SUPPRESSED_MARK, na: str = "—", numeric: bool = False) -> pd.DataFrame:
    """Institutions × indicators (per-institution indicators; all of them by default).

    Rows: the region ('全统筹区') first, then hospitals. Columns: 机构编码, 机构名称, 医院等级 (names and
    levels from ``wh`` or ``institutions_df``), then one column per indicator headed '指标名(单位)'.
    Cells are formatted text (suppressed → ``suppressed``, not_applicable / missing → ``na``); with
    ``numeric=True`` cells are floats (NaN where not ok).
    """
    ids = [str(i) for i in (ids if ids is not None else catalogue.ids(per_institution=True))]
    d = df[df["indicator_id"].astype(str).isin(ids)]
    codes = sorted(set(d["fixmedins_code"].fillna("")) - {""})
    names, levels = {}, {}
    if institutions_df is None and wh is not None and len(df):
        institutions_df = institutions(wh, str(df["poolarea_no"].iloc[0]), str(df["period"].iloc[0]))
    if institutions_df is not None:
        names = dict(zip(institutions_df["fixmedins_code"], institutions_df["fixmedins_name"]))
        levels = dict(zip(institutions_df["fixmedins_code"], institutions_df.get("lv_group", pd.Series(dtype=str))))
    out = pd.DataFrame({"机构编码": [""] + codes, "机构名称": ["全统筹区"] + [names.get(c, "") for c in codes],
                        "医院等级": [""] + [levels.get(c, "") for c in codes]})
    look = {(r.indicator_id, r.fixmedins_code or ""): r for r in d.itertuples(index=False)}
    for iid in ids:
        ind = catalogue.get(iid)
        head = f"{ind.display_label}({ind.unit})" if ind.unit else ind.display_label
        cells = []
        for code in out["机构编码"]:
            r = look.get((iid, code))
            if r is None:
                cells.append(float("nan") if numeric else "")
            elif r.status == "ok":
                cells.append(float(r.value) if numeric else catalogue.format_value(ind, r.value))
            else:
                cells.append(float("nan") if numeric else (suppressed if r.status == "suppressed" else na))
        out[head] = cells
    return out


# ---- files ---------------------------------------------------------------------------------------

def to_csv_text(df: pd.DataFrame) -> str:
    """indicators.csv text: UTF-8, ``\\n`` line ends, fixed decimals per indicator; byte-stable."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in df[COLUMNS].itertuples(index=False):
        ind = catalogue.get(r.indicator_id)
        v = catalogue.format_value(ind, r.value) if r.status == "ok" else ""
        w.writerow([r.indicator_id, r.name, r.poolarea_no, r.fixmedins_code or "", r.period, v, r.unit or "", r.status])
    return buf.getvalue()


def write_csv(df: pd.DataFrame, path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(to_csv_text(df).encode("utf-8"))
    return Path(path)
