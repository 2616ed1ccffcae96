"""Analyses behind the reports' 钱 and 效 sections that go beyond the 数据底稿 indicators.

Every function takes a :class:`~yibao.data.warehouse.Warehouse`, a region and a period and returns a small
DataFrame (or dict); all heavy work is DuckDB SQL over the netted settlement views. Amounts in 元.
Institution-level results only ever contain the region's own institutions. The tables the publications show
are :func:`~yibao.metrics.shared.shared`: computed once per job into a store (:mod:`yibao.metrics.aggregates`)
and read from it by the notebook.

Sources in the seeds: handbook 附录2 (一) 1–2 (收支、结构、可支付月数), (二) 1–3 (服务、效率、费用结构、
个人负担), 附录3 1–2.
"""
from __future__ import annotations

import pandas as pd

from yibao.data.contract import LEVEL_ORDER
from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse, lit, months_filter
from yibao.metrics.catalogue import SUPPRESS_MIN
from yibao.metrics.shared import shared

FUND_NAMES = {"310": "职工医保统筹基金", "310A": "职工医保个人账户", "390": "居民医保基金", "MAF": "城乡医疗救助"}
INCOME_ROWS = [  # (fund, item, label) in the order a 基金收入 table reads
    ("310", "inc_contrib", "职工医保统筹基金 征缴收入"),
    ("310", "inc_other", "职工医保统筹基金 其他收入"),
    ("310A", "inc_contrib", "职工医保个人账户 征缴收入"),
    ("310A", "inc_other", "职工医保个人账户 其他收入"),
    ("390", "inc_personal", "居民医保 个人缴费"),
    ("390", "inc_sub_central", "居民医保 中央财政补助"),
    ("390", "inc_sub_prov", "居民医保 省级财政补助"),
    ("390", "inc_sub_local", "居民医保 市县级财政补助"),
    ("390", "inc_other", "居民医保 其他收入"),
]
DIRECTIONS = {"11": "普通门诊", "14": "门诊慢特病", "51": "生育门诊", "41": "定点药店购药"}


def _fund_sum(wh: Warehouse, region: str, months: list[str]) -> pd.DataFrame:
    return wh.df(f"""
        SELECT fund, item, SUM(amount) AS amount FROM fund_report
        WHERE poolarea_no = ? AND {months_filter(months)} AND item <> 'bal_cum'
        GROUP BY fund, item""", [region])


@shared
def fund_income(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """Income by fund and source, 累计 (January → period end), with the same span a year earlier."""
    p = Period.parse(period)
    cur = _fund_sum(wh, region, p.ytd_months).set_index(["fund", "item"])["amount"]
    base = _fund_sum(wh, region, p.year_ago().ytd_months).set_index(["fund", "item"])["amount"]
    rows = []
    for fund, item, label in INCOME_ROWS:
        c, b = cur.get((fund, item), 0.0), base.get((fund, item), 0.0)
        rows.append({"fund": fund, "item": item, "label": label, "amount": c, "amount_last_year": b})
    return pd.DataFrame(rows)


def fund_totals(wh: Warehouse, region: str, months: list[str]) -> pd.DataFrame:
    """Per fund: income (all inc_* items), expenditure (exp_total), assistance spending."""
    df = _fund_sum(wh, region, months)
    out = []
    for fund in FUND_NAMES:
        d = df[df["fund"] == fund]
        out.append({
            "fund": fund, "fund_name": FUND_NAMES[fund],
            "income": float(d[d["item"].str.startswith("inc_")]["amount"].sum()),
            "expense": float(d[d["item"] == "exp_total"]["amount"].sum()),
            "assist": float(d[d["item"] == "exp_assist"]["amount"].sum()),
        })
    return pd.DataFrame(out)


@shared
def fund_monthly(wh: Warehouse, region: str, period: str, n: int = 24) -> pd.DataFrame:
    """Monthly income and expenditure of the two insurance schemes for the n months ending with the period.

    Columns: month, scheme (职工医保 = 310 + 310A, 居民医保 = 390), income, expense."""
    months = Period.parse(period).trailing_months(n)
    df = wh.df(f"""
        SELECT month,
               CASE WHEN fund IN ('310', '310A') THEN '职工医保' ELSE '居民医保' END AS scheme,
               SUM(CASE WHEN item LIKE 'inc_%' THEN amount ELSE 0 END) AS income,
               SUM(CASE WHEN item = 'exp_total' THEN amount ELSE 0 END) AS expense
        FROM fund_report
        WHERE poolarea_no = ? AND fund IN ('310', '310A', '390') AND {months_filter(months)}
        GROUP BY 1, 2 ORDER BY 1, 2""", [region])
    return df


@shared
def fund_capacity(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """Balance and months of payment capacity (可支付月数) per fund 310 / 390.

    可支付月数 = 累计结余 (bal_cum, last month of the period) ÷ average monthly expenditure of the
    12 months ending with the period (handbook 附录2 (一) 1(4))."""
    p = Period.parse(period)
    df = wh.df(f"""
        SELECT fund,
               SUM(CASE WHEN item = 'bal_cum' AND month = ? THEN amount END) AS bal_cum,
               SUM(CASE WHEN item = 'exp_total' THEN amount END) / 12.0 AS avg_monthly_exp
        FROM fund_report
        WHERE poolarea_no = ? AND fund IN ('310', '390') AND {months_filter(p.trailing_months(12))}
        GROUP BY fund ORDER BY fund""", [p.last_month, region])
    df["months_capacity"] = df["bal_cum"] / df["avg_monthly_exp"]
    df["fund_name"] = df["fund"].map(FUND_NAMES)
    return df


# ---- settlements -----------------------------------------------------------------------------

def _setl_where(region: str, months: list[str]) -> str:
    return f"s.poolarea_no = {lit(region)} AND {months_filter(months, 's.month')}"


DIRECTIONS = ["住院", "普通门诊", "门诊慢特病", "生育门诊", "定点药店购药", "其他"]


def direction_sql(alias: str = "s") -> str:
    """支出方向 of a settlement row of ``setl_net`` (DIRECTIONS): 住院 for 住院类, else by med_type."""
    return (f"CASE WHEN {alias}.cls = '住院类' THEN '住院' WHEN {alias}.med_type = '11' THEN '普通门诊' "
            f"WHEN {alias}.med_type = '14' THEN '门诊慢特病' WHEN {alias}.med_type = '51' THEN '生育门诊' "
            f"WHEN {alias}.med_type = '41' THEN '定点药店购药' ELSE '其他' END")


def settlement_cube(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """Netted settlements at the region's institutions in the period and the same period a year earlier,
    in one pass: per (period 'current' | 'last_year', fixmedins_code, level, direction) the cases,
    hifp_pay and medfee. level: 三级 … / 定点零售药店; direction: 住院, 普通门诊, 门诊慢特病, 生育门诊,
    定点药店购药, 其他. Cached on the warehouse for the (region, period)."""
    p = Period.parse(period)
    cache = wh.__dict__.setdefault("_yibao_setl_cube", {})
    key = (region, p.code)
    if key not in cache:
        cur, base = p.months, p.year_ago().months
        cache[key] = wh.df(f"""
            SELECT CASE WHEN {months_filter(cur, 's.month')} THEN 'current' ELSE 'last_year' END AS period,
                   s.fixmedins_code,
                   CASE WHEN f.fixmedins_type = '2' THEN '定点零售药店' ELSE f.lv_group END AS level,
                   {direction_sql('s')} AS direction,
                   COUNT(*) AS cases, SUM(s.hifp_pay) AS hifp_pay, SUM(s.medfee_sumamt) AS medfee
            FROM setl_net s LEFT JOIN fixmedins_x f USING (fixmedins_code)
            WHERE {_setl_where(region, cur + base)} GROUP BY 1, 2, 3, 4""")
    return cache[key]


@shared
def expenditure_by_level(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """统筹基金支出 (Σ hifp_pay of netted settlements at the region's institutions) by hospital level,
    current period and the same period a year earlier; pharmacies as their own row."""
    c = settlement_cube(wh, region, period)
    c = c[c["level"].notna()]

    def one(tag):
        d = c[c["period"] == tag]
        return d.groupby("level", as_index=False).agg(institutions=("fixmedins_code", "nunique"),
                                                      hifp_pay=("hifp_pay", "sum"), medfee=("medfee", "sum"))
    cur, base = one("current"), one("last_year")
    df = cur.merge(base[["level", "hifp_pay"]].rename(columns={"hifp_pay": "hifp_pay_last_year"}), on="level",
                   how="left")
    order = list(LEVEL_ORDER) + ["定点零售药店"]
    df["_o"] = df["level"].map({k: i for i, k in enumerate(order)})
    df = df.sort_values("_o").drop(columns="_o").reset_index(drop=True)
    df["share"] = df["hifp_pay"] / df["hifp_pay"].sum() * 100
    return df


@shared
def expenditure_by_direction(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """统筹基金支出 by direction: 住院, 普通门诊, 门诊慢特病 (门慢), 生育门诊, 定点药店购药; current and 同比 base."""
    c = settlement_cube(wh, region, period)

    def one(tag):
        d = c[c["period"] == tag]
        return d.groupby("direction", as_index=False)[["cases", "hifp_pay", "medfee"]].sum()
    cur, base = one("current"), one("last_year")
    df = cur.merge(base[["direction", "hifp_pay", "cases"]].rename(
        columns={"hifp_pay": "hifp_pay_last_year", "cases": "cases_last_year"}), on="direction", how="left")
    order = DIRECTIONS
    df["_o"] = df["direction"].map({k: i for i, k in enumerate(order)})
    df = df.sort_values("_o").drop(columns="_o").reset_index(drop=True)
    df["share"] = df["hifp_pay"] / df["hifp_pay"].sum() * 100
    return df


def out_of_region(wh: Warehouse, region: str, period: str) -> dict:
    """异地就医: inpatient cases and fund spending of out-of-region patients at the region's institutions."""
    p = Period.parse(period)
    r = wh.df(f"""
        SELECT SUM(CASE WHEN NOT s.is_local THEN 1 ELSE 0 END) AS cases_other,
               COUNT(*) AS cases,
               SUM(CASE WHEN NOT s.is_local THEN s.medfee_sumamt ELSE 0 END) AS medfee_other,
               SUM(s.medfee_sumamt) AS medfee
        FROM setl_net s WHERE {_setl_where(region, p.months)} AND s.is_ip""")
    return r.iloc[0].to_dict()


@shared
def inpatient_profile(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """Inpatient settlements of the period and a year earlier, by level: cases, average cost, average LOS,
    personal burden per case and its share, fee structure shares.

    个人负担 = medfee_sumamt − hifp_pay − hifmi_pay − maf_pay − oth_pay (what the patient pays from the
    personal account or in cash, incl. 全自费); 平均住院日 from the settlement list's ipt_days."""
    p = Period.parse(period)

    def one(months, tag):
        df = wh.df(f"""
            SELECT f.lv_group AS level, COUNT(*) AS cases,
                   SUM(s.medfee_sumamt) AS medfee,
                   SUM(s.medfee_sumamt - coalesce(s.hifp_pay, 0) - coalesce(s.hifmi_pay, 0)
                       - coalesce(s.maf_pay, 0) - coalesce(s.oth_pay, 0)) AS burden,
                   SUM(s.fulamt_ownpay_amt) AS ownpay,
                   SUM(l.ipt_days) AS days, COUNT(l.setl_id) AS listed,
                   SUM(l.fee_drug) AS fee_drug, SUM(l.fee_mcs) AS fee_mcs,
                   SUM(l.fee_exam + l.fee_lab) AS fee_examlab,
                   SUM(l.fee_trt + l.fee_oprn + l.fee_srvc) AS fee_service,
                   SUM(l.fee_oth) AS fee_oth, SUM(CASE WHEN l.setl_id IS NOT NULL THEN s.medfee_sumamt END) AS fee_total
            FROM setl_net s JOIN fixmedins_x f USING (fixmedins_code)
            LEFT JOIN setl_list l ON l.setl_id = s.setl_id
            WHERE {_setl_where(region, months)} AND s.is_ip AND f.fixmedins_type = '1'
            GROUP BY ROLLUP (f.lv_group)""")
        df["level"] = df["level"].fillna("全部")
        df["period"] = tag
        return df
    df = pd.concat([one(p.months, "current"), one(p.year_ago().months, "last_year")], ignore_index=True)
    df["avg_cost"] = df["medfee"] / df["cases"]
    df["avg_los"] = df["days"] / df["listed"]
    df["burden_per_case"] = df["burden"] / df["cases"]
    df["burden_share"] = df["burden"] / df["medfee"] * 100
    for c in ("fee_drug", "fee_mcs", "fee_examlab", "fee_service", "fee_oth"):
        df[c + "_share"] = df[c] / df["fee_total"] * 100
    order = {k: i for i, k in enumerate(("全部",) + LEVEL_ORDER)}
    df["_o"] = df["level"].map(order)
    return df.sort_values(["period", "_o"]).drop(columns="_o").reset_index(drop=True)


@shared
def special_cases_by_hospital(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """特例单议 by hospital: applications in the period (those about a reversed settlement count for nothing,
    as in indicators 33/34), approved, pending, approved amount."""
    if not wh.has("special_case"):
        return pd.DataFrame()
    p = Period.parse(period)
    return wh.df("""
        SELECT c.fixmedins_code, f.fixmedins_name, f.lv_group AS level,
               COUNT(*) AS applied, SUM(CASE WHEN c.review_result = '1' THEN 1 ELSE 0 END) AS approved,
               SUM(CASE WHEN c.review_result = '9' THEN 1 ELSE 0 END) AS pending,
               SUM(CASE WHEN c.review_result = '1' THEN c.approved_amt ELSE 0 END) AS approved_amt
        FROM special_case c JOIN fixmedins_x f USING (fixmedins_code)
        WHERE f.poolarea_no = ? AND c.apply_date >= ? AND c.apply_date < ?
          AND c.setl_id NOT IN (SELECT init_setl_id FROM setl_all WHERE refd_setl_flag = '1'
                                AND init_setl_id IS NOT NULL)
        GROUP BY 1, 2, 3 ORDER BY applied DESC, 1""", [region, p.start, p.end])


@shared
def settlement_progress(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """Per hospital, 累计 months of the year: declared, refused, payable, paid, 支付率 and the mean
    申报→拨付 lag in days (paid_date − declare_date). Empty when the optional table is absent."""
    if not wh.has("settlement_progress"):
        return pd.DataFrame()
    p = Period.parse(period)
    return wh.df(f"""
        SELECT g.fixmedins_code, f.fixmedins_name, f.lv_group AS level,
               SUM(declared_amt) AS declared, SUM(refused_amt) AS refused, SUM(payable_amt) AS payable,
               SUM(paid_amt) AS paid, SUM(paid_amt) / NULLIF(SUM(payable_amt), 0) * 100 AS pay_rate,
               AVG(date_diff('day', declare_date, paid_date)) AS lag_days,
               SUM(prepaid_amt) AS prepaid
        FROM settlement_progress g JOIN fixmedins_x f USING (fixmedins_code)
        WHERE f.poolarea_no = ? AND {months_filter(p.ytd_months, 'g.month')}
        GROUP BY 1, 2, 3 ORDER BY 1""", [region])


@shared
def settlement_claims(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """One row per hospital and month of the year so far (累计): the claim's declared / payable / paid
    amounts, its declare and paid dates and the 预付金; plus ``as_of``, the latest date the table knows
    (declare or paid date — the day the data were drawn, for judging what was due). Empty when the
    optional table is absent."""
    if not wh.has("settlement_progress"):
        return pd.DataFrame()
    p = Period.parse(period)
    df = wh.df(f"""
        SELECT g.fixmedins_code, f.fixmedins_name, f.lv_group AS level, g.month,
               declared_amt AS declared, refused_amt AS refused, payable_amt AS payable, paid_amt AS paid,
               CAST(declare_date AS DATE) AS declare_date, CAST(paid_date AS DATE) AS paid_date,
               prepaid_amt AS prepaid
        FROM settlement_progress g JOIN fixmedins_x f USING (fixmedins_code)
        WHERE f.poolarea_no = ? AND {months_filter(p.ytd_months, 'g.month')}
        ORDER BY 1, 4""", [region])
    as_of = wh.scalar("""
        SELECT GREATEST(MAX(CAST(declare_date AS DATE)), MAX(CAST(paid_date AS DATE)))
        FROM settlement_progress g JOIN fixmedins_x f USING (fixmedins_code) WHERE f.poolarea_no = ?""", [region])
    df["as_of"] = as_of
    return df


@shared
def budget_execution(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """The year's region budgets (by item) and DRG/DIP spending so far: Σ hifp_pay of inpatient
    settlements at drg_dip_flag = 1 institutions, 累计, against the drg_dip budget."""
    if not wh.has("budget"):
        return pd.DataFrame()
    p = Period.parse(period)
    b = wh.df("""SELECT item, SUM(amount) AS amount FROM budget
                 WHERE poolarea_no = ? AND year = ? AND (fixmedins_code IS NULL OR fixmedins_code = '')
                 GROUP BY item""", [region, p.year])
    spent = wh.scalar(f"""
        SELECT SUM(s.hifp_pay) FROM setl_net s JOIN fixmedins_x f USING (fixmedins_code)
        WHERE {_setl_where(region, p.ytd_months)} AND s.is_ip AND f.drg_dip_flag = '1'""") or 0.0
    b["spent_ytd"] = b["item"].map({"drg_dip": spent})
    b["execution"] = b["spent_ytd"] / b["amount"] * 100
    b["elapsed"] = p.last / 12 * 100
    return b


@shared
def hospital_budget_execution(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """Per hospital with a budget of its own for the year (``item`` drg_dip, else inpatient): the budget,
    the budget in proportion to the months elapsed (时间进度), DRG/DIP fund spending so far (Σ hifp_pay of
    its netted inpatient settlements, 累计, all patients — the 口径 of the region's 预算执行进度),
    execution % and 结余(+)/超支(−) against the time-proportional budget. Empty without such rows."""
    if not wh.has("budget"):
        return pd.DataFrame()
    p = Period.parse(period)
    b = wh.df("""
        WITH b AS (SELECT fixmedins_code,
                          coalesce(SUM(CASE WHEN item = 'drg_dip' THEN amount END),
                                   SUM(CASE WHEN item = 'inpatient' THEN amount END)) AS budget
                   FROM budget WHERE poolarea_no = ? AND year = ? AND coalesce(fixmedins_code, '') <> ''
                   GROUP BY 1)
        SELECT f.fixmedins_code, f.fixmedins_name, f.lv_group AS level, b.budget
        FROM b JOIN fixmedins_x f USING (fixmedins_code)
        WHERE f.poolarea_no = ? AND b.budget IS NOT NULL ORDER BY 1""", [region, p.year, region])
    if b.empty:
        return b
    spent = wh.df(f"""
        SELECT s.fixmedins_code, SUM(s.hifp_pay) AS spent FROM setl_net s
        WHERE {_setl_where(region, p.ytd_months)} AND s.is_ip GROUP BY 1""")
    b["spent"] = b["fixmedins_code"].map(spent.set_index("fixmedins_code")["spent"]).fillna(0.0)
    b["elapsed"] = p.last / 12 * 100
    b["due"] = b["budget"] * p.last / 12
    b["execution"] = b["spent"] / b["budget"].where(b["budget"] != 0) * 100
    b["balance"] = b["due"] - b["spent"]
    return b


@shared
def top_groups(wh: Warehouse, region: str, period: str, n: int = 10) -> pd.DataFrame:
    """The region's n most common DRG/DIP groups of the period (grouped cases), with the region's average
    cost, the group's 支付标准 (catalogue pay_std; NaN without a catalogue), and the spread of hospital averages
    **within one level** (hospitals with ≥ 5 cases in the group): ``level`` is the level whose highest/lowest
    ratio is the largest, ``min_hosp_cost`` / ``max_hosp_cost`` its lowest and highest hospital average, and
    ``level_hospitals`` how many hospitals of that level were compared (a 三级 hospital is never set against a
    township clinic)."""
    p = Period.parse(period)
    dip = wh.region(region)["pay_method"] != "DRG"
    col = "dip_code" if dip else "drg_code"
    cat = "dip_catalog" if dip else "drg_catalog"
    std = (f"(SELECT {col} AS grp, AVG(pay_std) AS pay_std FROM {cat} WHERE poolarea_no = {lit(region)} GROUP BY 1)"
           if wh.has(cat) else "(SELECT NULL AS grp, NULL AS pay_std WHERE FALSE)")
    return wh.df(f"""
        WITH c AS (SELECT l.{col} AS grp, l.fixmedins_code, f.lv_group, COUNT(*) AS cases,
                          AVG(l.medfee_sumamt) AS avg_cost
                   FROM setl_list_net l JOIN fixmedins_x f USING (fixmedins_code)
                   WHERE l.poolarea_no = ? AND {months_filter(p.months, 'l.month')} AND l.grp_stas = '1'
                   GROUP BY 1, 2, 3),
             g AS (SELECT grp, SUM(cases) AS cases, SUM(avg_cost * cases) / SUM(cases) AS avg_cost,
                          COUNT(*) AS hospitals
                   FROM c GROUP BY grp ORDER BY cases DESC, grp LIMIT {int(n)}),
             lv AS (SELECT grp, lv_group, MIN(avg_cost) AS lo, MAX(avg_cost) AS hi, COUNT(*) AS k
                    FROM c WHERE cases >= {SUPPRESS_MIN} GROUP BY 1, 2 HAVING COUNT(*) >= 2),
             best AS (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY grp ORDER BY hi / lo DESC, lv_group) AS rn
                                     FROM lv) WHERE rn = 1)
        SELECT g.grp, g.cases, g.avg_cost, g.hospitals, s.pay_std, b.lv_group AS level,
               b.lo AS min_hosp_cost, b.hi AS max_hosp_cost, b.k AS level_hospitals
        FROM g LEFT JOIN best b USING (grp) LEFT JOIN {std} s USING (grp)
        ORDER BY g.cases DESC, g.grp""", [region])


@shared
def institution_counts(wh: Warehouse, region: str) -> pd.DataFrame:
    """Designated institutions by kind and level, with beds."""
    return wh.df("""
        SELECT CASE WHEN fixmedins_type = '2' THEN '定点零售药店' ELSE lv_group END AS level,
               COUNT(*) AS institutions, SUM(beds) AS beds,
               SUM(CASE WHEN ownership = '民营' THEN 1 ELSE 0 END) AS private
        FROM fixmedins_x WHERE poolarea_no = ? GROUP BY 1""", [region])


# ---- the quarterly report's service items and 基层病组 (issue 13 Must 5; handbook 附录3 3(4)) ---------------

@shared
def admissions(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """入院人次 (one row, ``admissions``): local patients' inpatient settlements (netted) at the region's
    institutions whose admission date (begndate) falls in the period."""
    m = ", ".join(lit(x) for x in Period.parse(period).months)
    return wh.df(f"""
        SELECT COUNT(*) AS admissions FROM setl_net s
        WHERE s.poolarea_no = ? AND s.is_ip AND s.is_local AND strftime(CAST(s.begndate AS DATE), '%Y-%m') IN ({m})""",
                 [region])


@shared
def remote_care(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """异地就医 of the period (one row): ``out_n``/``out_pay`` — the region's insured treated at other regions'
    institutions of the dataset —, ``in_n``/``in_pay`` — other regions' insured treated here (统筹基金支付,
    settlements, netted)."""
    where = months_filter(Period.parse(period).months, "s.month")
    out = "s.insu_admdvs = $1 AND s.poolarea_no <> $1"
    inn = "s.poolarea_no = $1 AND NOT s.is_local"
    return wh.df(f"""
        SELECT COUNT(*) FILTER (WHERE o) AS out_n, coalesce(SUM(hifp_pay) FILTER (WHERE o), 0) AS out_pay,
               COUNT(*) FILTER (WHERE i) AS in_n, coalesce(SUM(hifp_pay) FILTER (WHERE i), 0) AS in_pay
        FROM (SELECT s.hifp_pay, {out} AS o, {inn} AS i FROM setl_net s
              WHERE {where} AND (({out}) OR ({inn})))""", [region])


@shared
def qc_problems(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """The settlement-list QC problems of the period: ``qc_errs`` split on ';' and counted. Columns: problem,
    occurrences, lists (distinct lists with it), institutions, share (% of the lists that failed QC). Only
    lists whose settlement stands, at the region's institutions."""
    return qc_problems_in(wh, region, Period.parse(period).months)


def qc_problems_in(wh: Warehouse, region: str, months: list[str]) -> pd.DataFrame:
    """:func:`qc_problems` over any months."""
    return wh.df(f"""
        WITH l AS (SELECT setl_id, fixmedins_code, qc_errs FROM setl_list_net
                   WHERE poolarea_no = ? AND {months_filter(months)}),
             e AS (SELECT setl_id, fixmedins_code, trim(x.p) AS problem
                   FROM l, unnest(string_split(coalesce(l.qc_errs, ''), ';')) AS x(p)),
             failed AS (SELECT COUNT(*) AS n FROM setl_list_net
                        WHERE poolarea_no = ? AND {months_filter(months)} AND qc_stas = '0')
        SELECT problem, COUNT(*) AS occurrences, COUNT(DISTINCT setl_id) AS lists,
               COUNT(DISTINCT fixmedins_code) AS institutions,
               COUNT(DISTINCT setl_id) * 100.0 / NULLIF((SELECT n FROM failed), 0) AS share
        FROM e WHERE problem <> '' GROUP BY problem ORDER BY occurrences DESC, problem""", [region, region])


@shared
def base_group_cases(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """Per hospital of the region: grouped cases of the period and those in a 基层病组 (catalogue base_group =
    1): fixmedins_code, fixmedins_name, lv_group, cases, base_cases. Empty without the catalogue or the lists."""
    col = _group_col(wh, region)
    cat = col.replace("_code", "_catalog")  # drg_catalog / dip_catalog
    if not wh.has(cat) or not wh.has("setl_list"):
        return pd.DataFrame()
    return wh.df(f"""
        SELECT f.fixmedins_code, f.fixmedins_name, f.lv_group, COUNT(*) AS cases,
               SUM(CASE WHEN c.base_group = '1' THEN 1 ELSE 0 END) AS base_cases
        FROM setl_list_net l JOIN fixmedins_x f USING (fixmedins_code)
        LEFT JOIN {cat} c ON c.{col} = l.{col} AND c.poolarea_no = l.poolarea_no
        WHERE l.poolarea_no = ? AND l.grp_stas = '1' AND {months_filter(Period.parse(period).months, 'l.month')}
        GROUP BY 1, 2, 3""", [region])


# ---- the monthly push (月推送): its settlement cube and settlement-list counts --------------------------------

def _group_col(wh: Warehouse, region: str) -> str:
    return "drg_code" if str(wh.region(region).get("pay_method") or "").upper() == "DRG" else "dip_code"


@shared
def monthly_cube(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """Netted settlements at the region's institutions by month, institution and direction for the 13 months
    ending with the period and the period a year earlier (one pass): month, fixmedins_code, level (三级 … /
    定点零售药店), direction (:data:`DIRECTIONS`), cases, medfee, hifp_pay."""
    p = Period.parse(period)
    months = sorted(set(p.trailing_months(13)) | set(p.year_ago().months))
    return wh.df(f"""
        SELECT s.month, s.fixmedins_code,
               CASE WHEN f.fixmedins_type = '2' THEN '定点零售药店' ELSE coalesce(f.lv_group, '基层/无等级') END AS level,
               {direction_sql('s')} AS direction,
               COUNT(*) AS cases, SUM(s.medfee_sumamt) AS medfee, SUM(s.hifp_pay) AS hifp_pay
        FROM setl_net s LEFT JOIN fixmedins_x f USING (fixmedins_code)
        WHERE s.poolarea_no = ? AND {months_filter(months, 's.month')}
        GROUP BY 1, 2, 3, 4""", [region])


@shared
def list_counts(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """Settlement lists of the period per institution (lists whose settlement stands): listed, grouped (grp_stas
    1), n_groups (distinct groups among them), std_settled (grouped and settled by the group standard, setl_way
    1), qc_pass (qc_stas 1)."""
    return list_counts_in(wh, region, Period.parse(period).months)


def list_counts_in(wh: Warehouse, region: str, months: list[str]) -> pd.DataFrame:
    """:func:`list_counts` over any months."""
    col = _group_col(wh, region)
    return wh.df(f"""
        SELECT fixmedins_code, COUNT(*) AS listed,
               SUM(CASE WHEN grp_stas = '1' THEN 1 ELSE 0 END) AS grouped,
               COUNT(DISTINCT CASE WHEN grp_stas = '1' THEN {col} END) AS n_groups,
               SUM(CASE WHEN grp_stas = '1' AND setl_way = '1' THEN 1 ELSE 0 END) AS std_settled,
               SUM(CASE WHEN qc_stas = '1' THEN 1 ELSE 0 END) AS qc_pass
        FROM setl_list_net WHERE poolarea_no = ? AND {months_filter(months)} GROUP BY 1""", [region])


@shared
def grouped_groups(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """How many distinct DRG/DIP groups the region's grouped lists of the period fall in (one row, n_groups)."""
    col = _group_col(wh, region)
    return wh.df(f"""SELECT COUNT(DISTINCT {col}) AS n_groups FROM setl_list_net
                     WHERE poolarea_no = ? AND grp_stas = '1' AND {months_filter(Period.parse(period).months)}""",
                 [region])


@shared
def qc_top_problem_by_hospital(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """Each institution's most frequent QC problem in the period and its count (fixmedins_code, problem, n)."""
    return qc_top_problem_by_hospital_in(wh, region, Period.parse(period).months)


def qc_top_problem_by_hospital_in(wh: Warehouse, region: str, months: list[str]) -> pd.DataFrame:
    """:func:`qc_top_problem_by_hospital` over any months."""
    return wh.df(f"""
        WITH e AS (SELECT l.fixmedins_code, trim(x.p) AS problem
                   FROM setl_list_net l, unnest(string_split(coalesce(l.qc_errs, ''), ';')) AS x(p)
                   WHERE l.poolarea_no = ? AND {months_filter(months, 'l.month')}),
             c AS (SELECT fixmedins_code, problem, COUNT(*) AS n FROM e WHERE problem <> '' GROUP BY 1, 2)
        SELECT fixmedins_code, problem, n FROM (
            SELECT *, row_number() OVER (PARTITION BY fixmedins_code ORDER BY n DESC, problem) AS rn FROM c)
        WHERE rn = 1""", [region])


# ---- the annual briefing's year cubes -----------------------------------------------------------------------

@shared
def year_settlement_cube(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """Netted settlements at the region's institutions in the period, per fixmedins_code, month and class
    (``is_ip`` 住院类, ``is_op`` 门诊类): cases, medfee (Σ medfee_sumamt), hifp_pay (Σ 统筹基金支付)."""
    return wh.df(f"""
        SELECT fixmedins_code, month, is_ip, is_op, COUNT(*) AS cases,
               SUM(medfee_sumamt) AS medfee, SUM(hifp_pay) AS hifp_pay
        FROM setl_net WHERE poolarea_no = ? AND {months_filter(Period.parse(period).months)}
        GROUP BY 1, 2, 3, 4""", [region])


@shared
def year_list_cube(wh: Warehouse, region: str, period: str) -> pd.DataFrame:
    """The period's settlement lists whose settlement stands, per fixmedins_code, grp_stas, setl_way and group
    (grp_code: drg_code in DRG regions, dip_code in DIP regions): lists, Σ weight, weighted (lists with a
    weight), Σ ipt_days."""
    return wh.df(f"""
        SELECT fixmedins_code, grp_stas, setl_way, {_group_col(wh, region)} AS grp_code, COUNT(*) AS lists,
               SUM(weight) AS weight, COUNT(weight) AS weighted, SUM(ipt_days) AS ipt_days
        FROM setl_list_net WHERE poolarea_no = ? AND {months_filter(Period.parse(period).months)}
        GROUP BY 1, 2, 3, 4""", [region])
