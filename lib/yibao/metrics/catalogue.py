"""The indicator catalogue: the 49 rows of the 数据底稿 (reference/digao-2025-03.csv) plus ``x_…`` extras.

One catalogue drives everything about an indicator: its computation (:mod:`yibao.metrics.indicators`), the
数据底稿 workbook (:mod:`yibao.metrics.digao`), the report tables and the 复核 checks (:mod:`yibao.metrics.checks`).
The seed table's own columns (项目, 指标, 频次, 来源, 公式, 口径, 备注, per-institution ``*``) are read
from reference/digao-2025-03.csv, never retyped; this module adds, per indicator, what the system
needs: the reading of DATA_CONTRACT.md "Definitions (口径)" in Chinese (``caliber``), the unit, the
rounding, the valid range, when it is published (``timing`` + ``frequency``), how small counts are
suppressed, and the formula as one readable DuckDB query.

The queries
-----------
Every formula reads a handful of small, pre-aggregated relations that :mod:`yibao.metrics.indicators`
builds once per region (one pass over the settlement table); a reviewer reads them as ordinary
tables:

``c_setl``   netted settlements (reversal rows and the settlements they reverse count as nothing)
             of the region, aggregated: ``fixmedins_code, month, cls (门诊类/住院类/药店/其他),
             insutype, at_region (treated at the region's institutions), is_local (insu_admdvs =
             poolarea_no), insured_here (insured in the region, treated anywhere in the dataset),
             cases, medfee_sumamt, fulamt_ownpay_amt, hifp_pay``
``c_ip``     inpatient (住院类) netted settlements at the region's institutions joined with their
             settlement list (结算清单), aggregated: ``fixmedins_code, month, uploaded, qc_stas,
             grp_stas, setl_way, grp_code (drg_code in DRG regions, dip_code in DIP regions),
             cases, ipt_days, medfee_sumamt, weight``
``c_fund``   fund_report rows of the region: ``month, fund, item, amount``
``c_psn``    psn_insu_month rows of the region: ``month, insutype, psn_cnt``
``c_inst``   the region's institutions designated by the period's end: ``fixmedins_code,
             fixmedins_type, drg_dip_flag, beds``
``c_sc``     special_case rows at the region's institutions (applications about a reversed settlement
             count as nothing), with ``month`` = month of ``apply_date``
``c_prog``   settlement_progress rows of the region's institutions
``c_budget`` budget rows of the region

Placeholders: ``{region}`` the region code, ``{period}`` the period's months, ``{ytd}`` January to
the period's end (累计), ``{prev}`` the months of 上期, ``{last_month}``, ``{trailing12}`` the 12 months
ending with the period, ``{next_year}``.

A query returns ``value`` and, for per-institution indicators, ``fixmedins_code`` (``GROUP BY
GROUPING SETS ((fixmedins_code), ())``: the row with a NULL code is the whole region) and ``n``, the
number of cases the value is computed on (used for small-count suppression).

Everything is plain SQL (CASE, NULLIF, GROUPING SETS, CTEs) so it runs unchanged on other engines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from yibao.data import reference

# frequency (建议公开频次) -> cycle length in months
CYCLE = {"月": 1, "季度": 3, "半年": 6, "半年/年": 6, "年": 12, "年度": 12}
SUPPRESS_MIN = 5  # institution values computed on fewer cases are suppressed (DESIGN.md): the one threshold
SUPPRESSED_MARK = f"<{SUPPRESS_MIN}"  # how a suppressed value is printed in tables
STATUSES = ("ok", "suppressed", "not_applicable", "missing_input")
#: fund balances, which may be deficits: their changes are worded as such (收不抵支扩大…), never "增长" of a
#: negative number (fmt.balance_change)
BALANCE_IDS = ("15", "17", "18", "20", "21", "48", "49")


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str                  # 指标, exactly as in the seed table
    category: str              # 项目
    frequency: str             # 建议公开频次: 月/季度/半年/半年/年/年/年度
    source: str                # 数据来源
    formula: str               # 公式 (seed table)
    scope: str                 # 口径 in the seed table: 累计/当期/-
    note: str                  # 备注 (seed table, Chinese only)
    caliber: str               # the system's reading (DATA_CONTRACT.md Definitions), Chinese
    unit: str                  # 元, %, 人次, 个, 张 or "" (indices and ratios)
    decimals: int
    per_institution: bool
    kind: str                  # amount | percent | count | ratio | index | heading
    timing: str                # cumulative (累计) | period (当期 flow) | stock (at the period's end) | heading
    sql: str = ""
    valid_range: tuple = (None, None)   # (min, max), None = open
    needs: tuple = ()          # inputs without which the value is missing_input (see indicators.NEEDS)
    suppress: str = ""         # "rate": n < 5 suppressed; "count": 0 < n < 5 suppressed; "" never
    suppress_with: tuple = ()  # also suppressed where any of these indicators is suppressed
    suppress_with_prev: tuple = ()  # also suppressed where any of these was suppressed in 上期 (41: 上期 39)
    numerator_cases: bool = False  # a share of cases whose numerator is a count publications print (上传清单数,
    # 入组人次): also suppressed when that count is 1–4 (a rate computed on a suppressed count, issue 13)
    institutions: str = "hospitals"   # which institutions get a row: hospitals | drg_dip (others n/a)
    pay_methods: tuple = ("DRG", "DIP")
    null_status: str = "missing_input"  # region status when the formula yields no value
    label: str = ""            # a self-contained name for tables and charts

    @property
    def is_heading(self) -> bool:
        return self.kind == "heading"

    @property
    def is_extra(self) -> bool:
        return self.id.startswith("x_")

    @property
    def cycle(self) -> int:
        return CYCLE[self.frequency]

    @property
    def change_kind(self) -> str:
        """How 同比/环比 is expressed: 'pp' (百分点) for percentages, 'pct' (growth %) otherwise."""
        return "pp" if self.unit == "%" else "pct"

    @property
    def display_label(self) -> str:
        return self.label or self.name

    def fits(self, period) -> bool:
        """Whether the indicator is published for ``period`` (see docs/indicators.md, 频次规则).

        - 月 items: every period.
        - 当期 flows published less often than monthly (33–35 特例单议, 42 住院率, 半年): periods of at
          least a quarter (季发布, 半年, 年), computed over the whole period.
        - 累计 items and values at the period's end (14, 18, 21, 22–27, 46, 47): the period's last month
          closes one of the item's cycles (季度: 3/6/9/12月, 半年: 6/12月, 年: 12月), so the value is the
          one the seed's cadence publishes.
        """
        if self.cycle == 1:
            return True
        if self.timing == "period":
            return period.length >= 3
        return period.last % self.cycle == 0


# ---- formulas -----------------------------------------------------------------------------------

INCOME = "('inc_contrib', 'inc_personal', 'inc_sub_central', 'inc_sub_prov', 'inc_sub_local', 'inc_other')"
BY_INST = "GROUP BY GROUPING SETS ((fixmedins_code), ())"


def _fund_sum(funds: str, items: str, months: str = "{ytd}") -> str:
    return (f"SELECT COALESCE(SUM(amount), 0) AS value\nFROM c_fund\n"
            f"WHERE fund IN {funds} AND item IN {items} AND month IN {months}")


def _balance(fund: str, months: str) -> str:
    return ("SELECT COALESCE(SUM(CASE WHEN item IN " + INCOME + " THEN amount\n"
            "                         WHEN item = 'exp_total' THEN -amount ELSE 0 END), 0) AS value\n"
            f"FROM c_fund\nWHERE fund IN {fund} AND month IN {months}")


def _bal_cum(fund: str) -> str:
    return f"SELECT SUM(amount) AS value\nFROM c_fund\nWHERE fund = '{fund}' AND item = 'bal_cum' AND month = {{last_month}}"


def _hifp_ip(insutype: str) -> str:
    return ("SELECT COALESCE(SUM(hifp_pay), 0) AS value\nFROM c_setl\n"
            f"WHERE at_region AND is_local AND cls = '住院类' AND insutype = '{insutype}' AND month IN {{ytd}}")


def _budget(item: str) -> str:
    return ("SELECT SUM(amount) AS value\nFROM c_budget\n"
            f"WHERE year = {{next_year}} AND item = '{item}' AND COALESCE(fixmedins_code, '') = ''")


def _consumption(col: str) -> str:
    return f"""WITH g AS (   -- each institution's grouped cases per group (DRG/DIP) in the period
  SELECT fixmedins_code, grp_code, SUM(cases) AS n, SUM({col}) AS total
  FROM c_ip
  WHERE grp_stas = '1' AND grp_code IS NOT NULL AND month IN {{period}}
  GROUP BY fixmedins_code, grp_code
), r AS (    -- the region's mean per group over all institutions
  SELECT grp_code, SUM(total) * 1.0 / SUM(n) AS region_mean
  FROM g
  GROUP BY grp_code
)
SELECT fixmedins_code,
       SUM(CASE WHEN r.region_mean > 0 THEN (g.total * 1.0 / g.n) / r.region_mean ELSE 1 END * g.n)
         / SUM(g.n) AS value,
       SUM(g.n) AS n
FROM g JOIN r ON g.grp_code = r.grp_code
{BY_INST}"""


_SPEC: dict[str, dict] = {
    # ---- 基金收入 (医保基金报表, 累计) -------------------------------------------------------------
    "1": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="基金收入合计",
              caliber="医保基金报表，累计（当年1月至本期末）：指标2+指标5，即职工医保（职工医保统筹基金310、个人账户310A）"
                      "征缴收入和其他收入，加居民医保基金（390）个人缴费、中央/省级/市县级财政补助和其他收入。",
              sql="SELECT COALESCE(SUM(amount), 0) AS value\nFROM c_fund\nWHERE month IN {ytd} AND (\n"
                  "      (fund IN ('310', '310A') AND item IN ('inc_contrib', 'inc_other'))\n"
                  "   OR (fund = '390' AND item IN ('inc_personal', 'inc_sub_central', 'inc_sub_prov', "
                  "'inc_sub_local', 'inc_other')))"),
    "2": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="职工医保基金收入",
              caliber="医保基金报表，累计：职工医保（基金310+310A）征缴收入（inc_contrib）+其他收入（inc_other）=指标3+指标4。",
              sql=_fund_sum("('310', '310A')", "('inc_contrib', 'inc_other')")),
    "3": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="职工医保征缴收入",
              caliber="医保基金报表，累计：基金310和310A的征缴收入（inc_contrib），含个人账户。",
              sql=_fund_sum("('310', '310A')", "('inc_contrib')")),
    "4": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="职工医保其他收入",
              caliber="医保基金报表，累计：基金310和310A的其他收入（inc_other：滞纳金、利息、转移收入等）。",
              sql=_fund_sum("('310', '310A')", "('inc_other')")),
    "5": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="居民医保基金收入",
              caliber="医保基金报表，累计：居民医保基金（390）个人缴费+中央、省级、市县级财政补助+其他收入=指标6+指标7。"
                      "居民医保按年缴费，收入集中在少数月份。",
              sql=_fund_sum("('390')", "('inc_personal', 'inc_sub_central', 'inc_sub_prov', 'inc_sub_local', "
                                       "'inc_other')")),
    "6": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="居民医保个人缴费",
              caliber="医保基金报表，累计：基金390的个人缴费（inc_personal）。",
              sql=_fund_sum("('390')", "('inc_personal')")),
    "7": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="居民医保财政补助和其他收入",
              caliber="医保基金报表，累计：基金390的中央财政补助+省级财政补助+市县级财政补助+其他收入"
                      "（inc_sub_central+inc_sub_prov+inc_sub_local+inc_other）。",
              sql=_fund_sum("('390')", "('inc_sub_central', 'inc_sub_prov', 'inc_sub_local', 'inc_other')")),
    # ---- 基金支出 ------------------------------------------------------------------------------
    "8": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="基金支出合计",
              caliber="医保基金报表，累计：指标9+指标12，即基金310、310A和390的基金支出（exp_total）之和。",
              sql=_fund_sum("('310', '310A', '390')", "('exp_total')")),
    "9": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="职工医保基金支出",
              caliber="医保基金报表，累计：基金310+310A的基金支出（exp_total），含个人账户。",
              sql=_fund_sum("('310', '310A')", "('exp_total')")),
    "10": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="职工医保统筹基金支出",
               caliber="医保基金报表，累计：职工医保统筹基金（310）的基金支出（exp_total）。",
               sql=_fund_sum("('310')", "('exp_total')")),
    "11": dict(kind="amount", timing="cumulative", needs=("setl",), label="职工医保住院统筹基金支出",
               caliber="统筹地区结算数据，累计：本统筹区定点医疗机构发生的、本地参保人（参保地=就医地）职工医保（险种310）"
                       "住院类结算（医疗类别2x、52）的统筹基金支出（hifp_pay）之和；不含异地就医；退费结算及被退费的原结算不计。",
               sql=_hifp_ip("310")),
    "12": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="居民医保基金支出",
               caliber="医保基金报表，累计：居民医保基金（390）的基金支出（exp_total）。",
               sql=_fund_sum("('390')", "('exp_total')")),
    "13": dict(kind="amount", timing="cumulative", needs=("setl",), label="居民医保住院统筹基金支出",
               caliber="统筹地区结算数据，累计：同指标11，险种为居民医保（390）。",
               sql=_hifp_ip("390")),
    "14": dict(kind="percent", timing="cumulative", needs=("settlement_progress",), valid_range=(0, 100),
               label="医保基金支付率",
               caliber="月度结算拨付表（settlement_progress），累计（当年1月至本期末的结算月份）：Σ实际支付金额（paid_amt）/"
                       "Σ应付金额（payable_amt，已扣除违规拒付）×100；统筹地区值为本统筹区全部定点医药机构合计；"
                       "未提供该表时为“缺少输入”，机构无拨付记录时该机构为“缺少输入”。",
               sql=f"SELECT fixmedins_code,\n       SUM(paid_amt) * 100.0 / NULLIF(SUM(payable_amt), 0) AS value\n"
                   f"FROM c_prog\nWHERE month IN {{ytd}}\n{BY_INST}"),
    # ---- 基金结余 ------------------------------------------------------------------------------
    "15": dict(kind="amount", timing="period", needs=("fund_report@period",), label="当期结余合计",
               caliber="医保基金报表，当期（本期内各月）：职工医保统筹基金（310）与居民医保基金（390）的全部收入项目合计−基金支出"
                       "（exp_total）=指标17+指标20。",
               sql=_balance("('310', '390')", "{period}")),
    "16": dict(kind="heading", timing="heading", label="职工医保",
               caliber="标题行，无数值（状态为“不适用”）。"),
    "17": dict(kind="amount", timing="period", needs=("fund_report@period",), label="职工医保统筹基金当期结余",
               caliber="医保基金报表，当期：职工医保统筹基金（310，不含个人账户）全部收入项目合计−基金支出（exp_total）。",
               sql=_balance("('310')", "{period}")),
    "18": dict(kind="amount", timing="stock", needs=("fund_report@last_month",), label="职工医保统筹基金累计结余",
               caliber="医保基金报表：职工医保统筹基金（310）本期最后一个月月末的累计结余（bal_cum）；该月无报表时为“缺少输入”。",
               sql=_bal_cum("310")),
    "19": dict(kind="heading", timing="heading", label="居民医保",
               caliber="标题行，无数值（状态为“不适用”）。"),
    "20": dict(kind="amount", timing="period", needs=("fund_report@period",), label="居民医保当期结余",
               caliber="医保基金报表，当期：居民医保基金（390）全部收入项目合计−基金支出（exp_total）。",
               sql=_balance("('390')", "{period}")),
    "21": dict(kind="amount", timing="stock", needs=("fund_report@last_month",), label="居民医保累计结余",
               caliber="医保基金报表：居民医保基金（390）本期最后一个月月末的累计结余（bal_cum）。",
               sql=_bal_cum("390")),
    # ---- 城乡医疗救助 ----------------------------------------------------------------------------
    "22": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="医疗救助基金收入",
               caliber="医保基金报表，累计：城乡医疗救助（MAF）全部收入项目之和，职工和居民合并。",
               sql=_fund_sum("('MAF')", INCOME)),
    "23": dict(kind="amount", timing="cumulative", needs=("fund_report@ytd",), label="医疗救助支出",
               caliber="医保基金报表，累计：城乡医疗救助（MAF）的医疗救助支出（exp_assist，不含资助参保）。",
               sql=_fund_sum("('MAF')", "('exp_assist')")),
    # ---- 下一年度统筹地区医保总额 (budget of year + 1) ---------------------------------------------
    "24": dict(kind="amount", timing="stock", needs=("budget",), label="下一年度住院统筹基金总额",
               caliber="总额预算表：本期年份+1年度、统筹地区总额行（机构编号为空）的住院统筹基金总额（item=inpatient），"
                       "职工和居民合并；无该行时为“缺少输入”。",
               sql=_budget("inpatient")),
    "25": dict(kind="amount", timing="stock", needs=("budget",), label="下一年度门诊统筹基金总额",
               caliber="总额预算表：下一年度统筹地区门诊统筹基金总额（item=outpatient），职工和居民合并。",
               sql=_budget("outpatient")),
    "26": dict(kind="amount", timing="stock", needs=("budget",), label="下一年度DRG/DIP付费统筹基金总额",
               caliber="总额预算表：下一年度统筹地区DRG/DIP付费统筹基金总额（item=drg_dip），职工和居民合并。",
               sql=_budget("drg_dip")),
    "27": dict(kind="amount", timing="stock", needs=("budget",), label="下一年度其他统筹基金总额",
               caliber="总额预算表：下一年度统筹地区其他预算（item=other），职工和居民合并。",
               sql=_budget("other")),
    # ---- DRG/DIP支付方式 (all inpatient cases at the region's institutions, local and 异地) ----------
    "28": dict(kind="percent", timing="period", needs=("setl", "setl_list"), valid_range=(0, 100),
               suppress="rate", numerator_cases=True, null_status="not_applicable", label="医保结算清单上传率",
               caliber="当期：本统筹区定点医疗机构全部住院类结算病例（本地和异地参保人）中，已上传结算清单的病例数/住院类结算病例数"
                       "×100；退费的结算及其清单不计。",
               sql=f"SELECT fixmedins_code,\n"
                   f"       SUM(CASE WHEN uploaded THEN cases ELSE 0 END) * 100.0 / NULLIF(SUM(cases), 0) AS value,\n"
                   f"       SUM(cases) AS n\nFROM c_ip\nWHERE month IN {{period}}\n{BY_INST}"),
    "29": dict(kind="percent", timing="period", needs=("setl", "setl_list"), valid_range=(0, 100),
               suppress="rate", null_status="not_applicable", label="医保结算清单质控通过率",
               caliber="当期：已上传结算清单的病例中质控通过（qc_stas=1）的病例数/已上传病例数×100。",
               sql=f"SELECT fixmedins_code,\n"
                   f"       SUM(CASE WHEN qc_stas = '1' THEN cases ELSE 0 END) * 100.0 / NULLIF(SUM(cases), 0) AS value,\n"
                   f"       SUM(cases) AS n\nFROM c_ip\nWHERE uploaded AND month IN {{period}}\n{BY_INST}"),
    "30": dict(kind="percent", timing="period", needs=("setl", "setl_list"), valid_range=(0, 100),
               suppress="rate", numerator_cases=True, institutions="drg_dip", null_status="not_applicable",
               label="DRG/DIP结算人次占比",
               caliber="当期，开展DRG/DIP付费（drg_dip_flag=1）的医疗机构：入组（grp_stas=1）病例数/全部住院类结算病例数"
                       "（含未上传清单的病例）×100；未开展DRG/DIP付费的机构为“不适用”。",
               sql=f"SELECT fixmedins_code,\n"
                   f"       SUM(CASE WHEN grp_stas = '1' THEN cases ELSE 0 END) * 100.0 / NULLIF(SUM(cases), 0) AS value,\n"
                   f"       SUM(cases) AS n\nFROM c_ip\n"
                   f"WHERE month IN {{period}}\n"
                   f"  AND fixmedins_code IN (SELECT fixmedins_code FROM c_inst WHERE drg_dip_flag = '1')\n{BY_INST}"),
    "31": dict(kind="percent", timing="period", needs=("setl", "setl_list"), valid_range=(0, 100),
               suppress="rate", institutions="drg_dip", null_status="not_applicable",
               label="按DRG/DIP付费标准结算人次占比",
               caliber="当期，开展DRG/DIP付费（drg_dip_flag=1）的医疗机构：入组（grp_stas=1）病例中按DRG/DIP付费标准结算"
                       "（setl_way=1）的病例数/入组病例数×100；未开展DRG/DIP付费的机构为“不适用”，不计入区域值。",
               sql=f"SELECT fixmedins_code,\n"
                   f"       SUM(CASE WHEN setl_way = '1' THEN cases ELSE 0 END) * 100.0 / NULLIF(SUM(cases), 0) AS value,\n"
                   f"       SUM(cases) AS n\nFROM c_ip\nWHERE grp_stas = '1' AND month IN {{period}}\n"
                   f"  AND fixmedins_code IN (SELECT fixmedins_code FROM c_inst WHERE drg_dip_flag = '1')\n{BY_INST}"),
    "32": dict(kind="percent", timing="period", needs=("setl", "setl_list"), valid_range=(0, 100),
               suppress="rate", institutions="drg_dip", null_status="not_applicable",
               label="DRG/DIP病例中据实结算人次占比",
               caliber="当期，开展DRG/DIP付费（drg_dip_flag=1）的医疗机构：入组（grp_stas=1）病例中据实结算（setl_way=2按项目、"
                       "3特例单议、4除外）的病例数/入组病例数×100；指标31+指标32=100；未开展DRG/DIP付费的机构为“不适用”。",
               sql=f"SELECT fixmedins_code,\n"
                   f"       SUM(CASE WHEN setl_way IN ('2', '3', '4') THEN cases ELSE 0 END) * 100.0\n"
                   f"         / NULLIF(SUM(cases), 0) AS value,\n"
                   f"       SUM(cases) AS n\nFROM c_ip\nWHERE grp_stas = '1' AND month IN {{period}}\n"
                   f"  AND fixmedins_code IN (SELECT fixmedins_code FROM c_inst WHERE drg_dip_flag = '1')\n{BY_INST}"),
    "33": dict(kind="count", timing="period", needs=("special_case",), valid_range=(0, None), suppress="count",
               institutions="drg_dip", label="特例单议申请病例数",
               caliber="当期：特例单议表中申请日期（apply_date）在本期内、本统筹区开展DRG/DIP付费（drg_dip_flag=1）的"
                       "定点医疗机构的申请病例数；对应结算已被退费的申请不计。",
               sql=f"SELECT fixmedins_code, COUNT(*) AS value, COUNT(*) AS n\nFROM c_sc\nWHERE month IN {{period}}\n"
                   f"  AND fixmedins_code IN (SELECT fixmedins_code FROM c_inst WHERE drg_dip_flag = '1')\n{BY_INST}"),
    "34": dict(kind="count", timing="period", needs=("special_case",), valid_range=(0, None), suppress="count",
               suppress_with=("33",), institutions="drg_dip", label="特例单议审核通过病例数",
               caliber="当期：指标33的申请中审核结果为通过（review_result=1）的病例数。",
               sql=f"SELECT fixmedins_code, COUNT(*) AS value, COUNT(*) AS n\nFROM c_sc\n"
                   f"WHERE review_result = '1' AND month IN {{period}}\n"
                   f"  AND fixmedins_code IN (SELECT fixmedins_code FROM c_inst WHERE drg_dip_flag = '1')\n{BY_INST}"),
    "35": dict(kind="percent", timing="period", needs=("special_case", "setl"), valid_range=(0, 100),
               null_status="not_applicable", label="特例单议病例占出院病例比例",
               caliber="当期：特例单议审核通过病例数（指标34）/开展DRG/DIP付费（drg_dip_flag=1）的医疗机构全部住院类结算病例数×100。",
               sql="SELECT (SELECT COUNT(*) FROM c_sc WHERE review_result = '1' AND month IN {period}\n"
                   "          AND fixmedins_code IN (SELECT fixmedins_code FROM c_inst WHERE drg_dip_flag = '1')) * 100.0\n"
                   "       / NULLIF((SELECT SUM(cases) FROM c_ip\n"
                   "                 WHERE month IN {period}\n"
                   "                   AND fixmedins_code IN (SELECT fixmedins_code FROM c_inst WHERE drg_dip_flag = '1')),\n"
                   "                0) AS value"),
    # ---- 医疗机构服务情况 (local patients only) -----------------------------------------------------
    "36": dict(kind="amount", timing="period", needs=("setl",), valid_range=(0, None), suppress="count",
               label="住院总费用",
               caliber="当期：本地参保人（参保地=就医地）在本统筹区定点医疗机构住院类结算的医疗费总额（medfee_sumamt）之和。",
               sql=f"SELECT fixmedins_code, SUM(medfee_sumamt) AS value, SUM(cases) AS n\nFROM c_setl\n"
                   f"WHERE at_region AND is_local AND cls = '住院类' AND month IN {{period}}\n{BY_INST}"),
    "37": dict(kind="amount", timing="period", needs=("setl",), valid_range=(0, None), suppress="rate",
               suppress_with=("36", "39"), null_status="not_applicable", label="次均住院费用",
               caliber="当期：指标36/指标39，即本地参保人住院类结算医疗费总额/住院类结算人次。",
               sql=f"SELECT fixmedins_code, SUM(medfee_sumamt) / NULLIF(SUM(cases), 0) AS value, SUM(cases) AS n\n"
                   f"FROM c_setl\nWHERE at_region AND is_local AND cls = '住院类' AND month IN {{period}}\n{BY_INST}"),
    "38": dict(kind="count", timing="period", needs=("setl",), valid_range=(0, None), suppress="count",
               label="门诊人次",
               caliber="当期：本地参保人在本统筹区定点医药机构的门诊类结算（普通门诊11、门诊慢特病14、生育门诊51）人次；"
                       "定点药店购药（41）不计。",
               sql=f"SELECT fixmedins_code, SUM(cases) AS value, SUM(cases) AS n\nFROM c_setl\n"
                   f"WHERE at_region AND is_local AND cls = '门诊类' AND month IN {{period}}\n{BY_INST}"),
    "39": dict(kind="count", timing="period", needs=("setl",), valid_range=(0, None), suppress="count",
               label="出院人次",
               caliber="当期：本地参保人在本统筹区定点医疗机构的住院类结算人次。",
               sql=f"SELECT fixmedins_code, SUM(cases) AS value, SUM(cases) AS n\nFROM c_setl\n"
                   f"WHERE at_region AND is_local AND cls = '住院类' AND month IN {{period}}\n{BY_INST}"),
    "40": dict(kind="ratio", timing="period", needs=("setl",), valid_range=(0, None), suppress="rate",
               suppress_with=("38", "39"), null_status="not_applicable", label="门诊住院人次比",
               caliber="当期：指标38/指标39（本地参保人门诊类结算人次/住院类结算人次）。",
               sql=f"SELECT fixmedins_code,\n"
                   f"       SUM(CASE WHEN cls = '门诊类' THEN cases ELSE 0 END) * 1.0\n"
                   f"         / NULLIF(SUM(CASE WHEN cls = '住院类' THEN cases ELSE 0 END), 0) AS value,\n"
                   f"       SUM(CASE WHEN cls = '住院类' THEN cases ELSE 0 END) AS n\n"
                   f"FROM c_setl\nWHERE at_region AND is_local AND month IN {{period}}\n{BY_INST}"),
    "41": dict(kind="percent", timing="period", needs=("setl",), valid_range=(-100, None), suppress="rate",
               suppress_with=("39",), suppress_with_prev=("39",), null_status="not_applicable",
               label="出院人次增长率",
               caliber="当期：（指标39/上期指标39−1）×100；上期为前一个同长度期间（月/季/半年/年），口径同指标39；"
                       "上期出院人次少于5人次的机构不予公布。",
               sql=f"SELECT fixmedins_code,\n"
                   f"       (SUM(CASE WHEN month IN {{period}} THEN cases ELSE 0 END) * 1.0\n"
                   f"         / NULLIF(SUM(CASE WHEN month IN {{prev}} THEN cases ELSE 0 END), 0) - 1) * 100 AS value,\n"
                   f"       SUM(CASE WHEN month IN {{prev}} THEN cases ELSE 0 END) AS n\n"
                   f"FROM c_setl\nWHERE at_region AND is_local AND cls = '住院类' AND (month IN {{period}} OR month IN {{prev}})\n"
                   f"{BY_INST}"),
    "42": dict(kind="percent", timing="period", needs=("setl", "psn_insu_month@period"), valid_range=(0, 100),
               label="住院率",
               caliber="当期：本统筹区参保人（参保地=本统筹区）在数据集中任一医疗机构（含异地）的住院类结算人次/本期各月月末参保人数"
                       "（职工310+居民390）的平均数×100；为本期数，未年化。",
               sql="SELECT (SELECT COALESCE(SUM(cases), 0) FROM c_setl\n"
                   "        WHERE insured_here AND cls = '住院类' AND month IN {period}) * 100.0\n"
                   "       / NULLIF((SELECT AVG(psn_total) FROM (SELECT month, SUM(psn_cnt) AS psn_total FROM c_psn\n"
                   "                                            WHERE month IN {period} GROUP BY month) m), 0) AS value"),
    "43": dict(kind="index", timing="period", needs=("setl", "setl_list"), valid_range=(0, None), suppress="rate",
               null_status="not_applicable", label="时间消耗指数",
               caliber="当期，以入组病例（grp_stas=1）按病组（DRG地区drg_code，DIP地区dip_code）计算："
                       "Σ（本院该组平均住院日/区域该组平均住院日×本院该组病例数）/本院入组病例数；住院日取结算清单实际住院天数"
                       "（ipt_days）；区域均值按本期本统筹区全部机构的入组病例（本地和异地参保人）计算；区域均值为0的病组按1计；"
                       "统筹地区整体恒为1。",
               sql=_consumption("ipt_days")),
    "44": dict(kind="index", timing="period", needs=("setl", "setl_list"), valid_range=(0, None), suppress="rate",
               null_status="not_applicable", label="费用消耗指数",
               caliber="当期，同指标43，以医疗费总额（medfee_sumamt）代替住院日：Σ（本院该组次均费用/区域该组次均费用×"
                       "本院该组病例数）/本院入组病例数；统筹地区整体恒为1。",
               sql=_consumption("medfee_sumamt")),
    "45": dict(kind="percent", timing="period", needs=("setl",), valid_range=(0, 100), suppress="rate",
               null_status="not_applicable", label="医保外费用占比",
               caliber="当期：本地参保人门诊类+住院类结算的全自费金额（fulamt_ownpay_amt，医保目录外费用）之和/医疗费总额之和×100。",
               sql=f"SELECT fixmedins_code,\n"
                   f"       SUM(fulamt_ownpay_amt) * 100.0 / NULLIF(SUM(medfee_sumamt), 0) AS value,\n"
                   f"       SUM(cases) AS n\nFROM c_setl\n"
                   f"WHERE at_region AND is_local AND cls IN ('门诊类', '住院类') AND month IN {{period}}\n{BY_INST}"),
    # ---- 基金支撑能力 --------------------------------------------------------------------------
    "46": dict(kind="ratio", timing="stock", needs=("psn_insu_month@last_month",), valid_range=(0, None),
               label="千人口定点医疗机构床位数",
               caliber="本统筹区定点医疗机构（fixmedins_type=1，定点开始日期不晚于本期末）开放床位数之和×1000/本期最后一个月"
                       "月末参保人数（职工310+居民390）。",
               sql="SELECT (SELECT SUM(beds) FROM c_inst WHERE fixmedins_type = '1') * 1000.0\n"
                   "       / NULLIF((SELECT SUM(psn_cnt) FROM c_psn WHERE month = {last_month}), 0) AS value"),
    "47": dict(kind="ratio", timing="stock", needs=("psn_insu_month@last_month",), valid_range=(0, None),
               label="千人口定点零售药店数",
               caliber="本统筹区定点零售药店（fixmedins_type=2，定点开始日期不晚于本期末）个数×1000/本期最后一个月月末参保人数"
                       "（职工310+居民390）。",
               sql="SELECT (SELECT COUNT(*) FROM c_inst WHERE fixmedins_type = '2') * 1000.0\n"
                   "       / NULLIF((SELECT SUM(psn_cnt) FROM c_psn WHERE month = {last_month}), 0) AS value"),
    "48": dict(kind="amount", timing="period", needs=("fund_report@trailing12",), label="职工医保12个月动态结余",
               caliber="医保基金报表：截至本期最后一个月的12个月内，职工医保统筹基金（310）全部收入项目合计−基金支出（exp_total）"
                       "合计；12个月中任一月份缺少该地区基金报表时为“缺少输入”。",
               sql=_balance("('310')", "{trailing12}")),
    "49": dict(kind="amount", timing="period", needs=("fund_report@trailing12",), label="居民医保12个月动态结余",
               caliber="医保基金报表：截至本期最后一个月的12个月内，居民医保基金（390）全部收入项目合计−基金支出（exp_total）合计。",
               sql=_balance("('390')", "{trailing12}")),
}

# Units, decimals and the rule for the seed ids (kind -> default unit and decimals)
_UNIT = {"amount": ("元", 2), "percent": ("%", 2), "count": ("人次", 0), "ratio": ("", 2), "index": ("", 4),
         "heading": ("", 0)}
_UNIT_OVERRIDE = {"33": ("个", 0), "34": ("个", 0), "46": ("张", 2), "47": ("个", 4)}

EXTRAS: list[dict] = [
    dict(id="x_cmi", name="病例组合指数（CMI）", category="DRG/DIP支付方式", frequency="月", source="医保信息平台",
         formula="入组病例权重之和/入组病例数", scope="当期", note="仅DRG付费地区；反映收治病例的技术难度。",
         per_institution=True, kind="index", timing="period", needs=("setl", "setl_list"), valid_range=(0, None),
         suppress="rate", pay_methods=("DRG",), null_status="not_applicable", label="CMI",
         caliber="当期：本统筹区定点医疗机构入组（grp_stas=1）病例的DRG权重（weight）之和/入组病例数（本地和异地参保人）；"
                 "仅DRG付费地区，DIP付费地区为“不适用”（DIP分值与DRG权重不可比）。",
         sql=f"SELECT fixmedins_code, SUM(weight) / NULLIF(SUM(cases), 0) AS value, SUM(cases) AS n\nFROM c_ip\n"
             f"WHERE grp_stas = '1' AND month IN {{period}}\n{BY_INST}"),
    dict(id="x_ipt_days_avg", name="平均住院日（天）", category="医疗机构服务情况", frequency="月", source="医保信息平台",
         formula="已上传结算清单病例实际住院天数之和/病例数", scope="当期", note="单位为天。",
         per_institution=True, kind="ratio", timing="period", needs=("setl", "setl_list"), valid_range=(0, None),
         suppress="rate", null_status="not_applicable", label="平均住院日",
         caliber="当期：本统筹区定点医疗机构已上传结算清单的住院类病例（本地和异地参保人）实际住院天数（ipt_days）之和/病例数，单位为天。",
         sql=f"SELECT fixmedins_code, SUM(ipt_days) * 1.0 / NULLIF(SUM(cases), 0) AS value, SUM(cases) AS n\n"
             f"FROM c_ip\nWHERE uploaded AND month IN {{period}}\n{BY_INST}"),
]


def _clean_note(note: str) -> str:
    """The seed table's 备注 without this project's English annotations."""
    raw = str(note or "")
    note = re.sub(r"\s*\((?:the |added )[^)]*\)\s*$", "", raw)
    note = re.sub(r"\s*added by the .*$", "", note).strip()
    if not note and "2025-03-24" in raw:
        note = "2025年3月24日通知新增指标；公式为本系统对指标名称的解读。"
    return "" if note in ("heading row",) else note


@lru_cache(maxsize=1)
def _build() -> tuple[Indicator, ...]:
    seed = reference.digao()
    out = []
    for r in seed.itertuples(index=False):
        iid = str(r.id)
        spec = dict(_SPEC[iid])
        unit, dec = _UNIT_OVERRIDE.get(iid, _UNIT[spec["kind"]])
        out.append(Indicator(
            id=iid, name=r.name, category=r.category, frequency=r.frequency, source=r.source, formula=r.formula,
            scope=r.scope, note=_clean_note(r.note), per_institution=(str(r.per_institution).upper() == "Y"),
            unit=unit, decimals=dec, **spec))
    for x in EXTRAS:
        x = dict(x)
        unit, dec = _UNIT[x["kind"]]
        out.append(Indicator(unit=unit, decimals=dec, **x))
    return tuple(out)


def sort_key(indicator_id) -> tuple:
    """1..49 in numeric order, then the ``x_…`` extras alphabetically."""
    s = str(indicator_id)
    return (0, int(s), "") if s.isdigit() else (1, 0, s)


CATALOGUE: tuple[Indicator, ...] = _build()
_BY_ID = {i.id: i for i in CATALOGUE}


def get(indicator_id) -> Indicator:
    try:
        return _BY_ID[str(indicator_id)]
    except KeyError:
        raise KeyError(f"未知指标 {indicator_id!r}") from None


def ids(per_institution: bool | None = None) -> list[str]:
    """Indicator ids in output order (1..49, then x_… alphabetically)."""
    out = [i.id for i in CATALOGUE if per_institution is None or i.per_institution == per_institution]
    return sorted(out, key=sort_key)


def ordered() -> list[Indicator]:
    return [get(i) for i in ids()]


def additive_ids() -> list[str]:
    """Per-institution counts and sums over cases (33, 34, 36, 38, 39): the region value is the sum of the
    institutions' values (plus institutions without a row), so one hidden institution value would be the region
    value minus the published ones — these get complementary suppression (metrics/suppression.py)."""
    return [i.id for i in ordered() if i.per_institution and i.suppress == "count"]


def derived_ids(indicator_id) -> list[str]:
    """The indicators hidden wherever ``indicator_id`` is hidden for the same institution (``suppress_with``):
    rates, per-case amounts and growth rates computed on it, and 34 (approvals) within 33 (applications)."""
    return [i.id for i in ordered() if str(indicator_id) in i.suppress_with]


def as_frame() -> pd.DataFrame:
    """The catalogue as a table (for docs, notebooks and the workbook's 说明 sheet)."""
    rows = []
    for i in ordered():
        rows.append({"id": i.id, "category": i.category, "name": i.name, "label": i.display_label,
                     "frequency": i.frequency, "source": i.source, "formula": i.formula, "scope": i.scope,
                     "note": i.note, "caliber": i.caliber, "unit": i.unit, "decimals": i.decimals,
                     "per_institution": i.per_institution, "kind": i.kind, "timing": i.timing,
                     "valid_min": i.valid_range[0], "valid_max": i.valid_range[1],
                     "suppress": i.suppress, "needs": ",".join(i.needs), "sql": i.sql})
    return pd.DataFrame(rows)


def format_value(ind: Indicator, value) -> str:
    """The value as written to indicators.csv: fixed decimals, '' when there is none."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    v = round(float(value), ind.decimals)
    if v == 0:
        v = 0.0  # no '-0.00'
    return f"{v:.{ind.decimals}f}"
