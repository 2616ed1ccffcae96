"""Signable publications (issue 13): claims with sources, one decision per figure, DRG/DIP scopes,
readers' words — on a rendered quarterly report — and a 审议 that marks each planted defect 不通过."""
from __future__ import annotations

import datetime as dt
import re
import shutil

import pandas as pd
import pytest
import readback

from yibao import cli, fmt
from yibao.errors import YibaoError
from yibao.publications import rules
from yibao.workgroup import review, review_text
from yibao.workgroup.review_files import FAIL, PASS

PERIOD = "2026Q3"

RULES_YAML = """
defaults:
  rulebook: book-a
regions:
  "350300":
    rulebook:
  "350100":
    rulebook: book-b
rulebooks:
  book-a:
    document: 《甲省通知》（甲医保发〔2024〕1号）
    special_case_cap: {article: 第一条, DRG: 5, DIP: 0.5}
    settlement_days: {article: 第二条, working_days: 20}
  book-b:
    document: 《乙市办法》
    special_case_cap: {article: 第三条, DRG: 3}
"""


# ---- the rule table ---------------------------------------------------------------------------------

def test_rule_table_per_region_with_source(tmp_path):
    p = tmp_path / "regions.yaml"
    p.write_text(RULES_YAML, encoding="utf-8")
    a = rules.for_region("350200", p)
    assert a.special_case_cap("DIP").limit == 0.5 and a.special_case_cap("DIP").permille_or_pct() == "5‰"
    assert a.special_case_cap("DRG").permille_or_pct() == "5%"
    assert a.special_case_cap("DIP").cite() == "依据《甲省通知》（甲医保发〔2024〕1号）第一条"
    assert a.settlement_days().limit == 20
    b = rules.for_region("350100", p)
    assert b.special_case_cap("DRG").limit == 3 and b.special_case_cap("DIP") is None  # no DIP rule: no claim
    assert b.settlement_days() is None
    none = rules.for_region("350300", p)  # a region that opts out
    assert none.special_case_cap("DRG") is None and none.settlement_days() is None
    p.write_text(RULES_YAML.replace("rulebook: book-b", "rulebook: book-z"), encoding="utf-8")
    with pytest.raises(YibaoError, match="book-z"):
        rules.for_region("350100", p)


def test_project_rule_table_cites_the_jilin_notice():
    book = rules.for_region("350200")
    cap = book.special_case_cap("DIP")
    assert cap is not None and cap.limit == 0.5 and "吉医保发〔2024〕14号" in cap.cite() and "第一部分第（三）项" in cap.cite()
    assert book.special_case_cap("DRG").limit == 5
    assert book.settlement_days().limit == 20 and "第二部分第（一）项" in book.settlement_days().cite()


def test_claims_not_yet_due_are_apart_from_claims_paid_short():
    as_of = dt.date(2026, 10, 17)
    claims = pd.DataFrame([
        # paid in full; paid short by 100; unpaid, due 2026-10-07 (overdue); unpaid, due 2026-11-02 (not yet due)
        {"payable": 1000.0, "paid": 1000.0, "declare_date": "2026-08-10", "paid_date": "2026-09-01"},
        {"payable": 1000.0, "paid": 900.0, "declare_date": "2026-08-10", "paid_date": "2026-09-01"},
        {"payable": 500.0, "paid": 0.0, "declare_date": "2026-09-09", "paid_date": None},
        {"payable": 700.0, "paid": 0.0, "declare_date": "2026-10-05", "paid_date": None},
    ]).assign(as_of=as_of, declare_date=lambda d: pd.to_datetime(d["declare_date"]),
              paid_date=lambda d: pd.to_datetime(d["paid_date"]))
    deadline = rules.Rule("settlement_days", 20, "《甲省通知》", "第二条")
    assert rules.due_date(dt.date(2026, 9, 9), 20) == dt.date(2026, 10, 7)
    c = rules.classify_claims(claims, deadline)
    assert list(c["state"]) == ["已付清", "少付", "逾期未付", "未到期"]
    assert c["short"].tolist() == [0.0, 100.0, 0.0, 0.0]
    due = c[c["state"] != "未到期"]
    assert due["paid"].sum() / due["payable"].sum() * 100 == pytest.approx(1900 / 2500 * 100)
    assert list(rules.classify_claims(claims, None)["state"]) == ["已付清", "少付", "未拨付", "未拨付"]


def test_deficits_and_dates_in_readers_words():
    assert fmt.balance(-59_167_000) == "收不抵支5,916.70万元"
    assert fmt.balance(126_000_000) == "结余1.26亿元"
    assert fmt.balance_change(-3_000_000, -2_000_000, "同比") == "同比收不抵支扩大50.0%"
    assert fmt.balance_change(-1_000_000, -2_000_000, "环比") == "环比收不抵支收窄50.0%"
    assert fmt.balance_change(-1, 5, "同比") == "同比由结余转为收不抵支"
    assert fmt.balance_change(5, -1, "同比") == "同比由收不抵支转为结余"
    assert fmt.balance_change(110, 100, "同比") == "同比增长10.0%"
    assert fmt.date_zh("2026-12-07") == "2026年12月7日" and fmt.date_zh(dt.date(2026, 1, 2)) == "2026年1月2日"


# ---- DRG/DIP scopes (indicators 30–35) -------------------------------------------------------------------

def test_drg_dip_indicators_cover_only_institutions_paid_by_drg_dip(small_data):
    from yibao.data.warehouse import Warehouse
    from yibao.metrics import indicators
    wh = Warehouse(small_data)
    try:
        region = "350200"
        df = indicators.compute(wh, region, PERIOD)
        flags = wh.institutions(region).set_index("fixmedins_code")["drg_dip_flag"].fillna("")
        non_drg = [c for c, f in flags.items() if f != "1" and c.startswith("H")]
        assert non_drg, "the small dataset has no institution outside DRG/DIP payment"
        for iid in ("30", "31", "32", "33", "34"):
            rows = df[(df["indicator_id"] == iid) & df["fixmedins_code"].isin(non_drg)]
            assert len(rows) and set(rows["status"]) == {"not_applicable"}, iid
        # region 31 by hand: grouped cases at drg_dip_flag = 1 institutions settled by the standard
        months = ("2026-07", "2026-08", "2026-09")
        hand = wh.df(f"""
            SELECT SUM(CASE WHEN l.setl_way = '1' THEN 1 ELSE 0 END) * 100.0 / COUNT(*) AS v
            FROM setl_list_net l JOIN fixmedins_x f USING (fixmedins_code)
            JOIN setl_net s ON s.setl_id = l.setl_id
            WHERE f.poolarea_no = '{region}' AND f.drg_dip_flag = '1' AND l.grp_stas = '1' AND s.is_ip
              AND s.month IN {months}""")["v"].iloc[0]
        got = df[(df["indicator_id"] == "31") & (df["fixmedins_code"] == "")]["value"].iloc[0]
        assert got == pytest.approx(hand, abs=0.006)
    finally:
        wh.close()


# ---- a rendered quarterly report -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def quarterly(small_data, tmp_path_factory) -> dict:
    """The DIP region's quarterly report, rendered to HTML by ``yibao run``, with its 审议 record."""
    out = tmp_path_factory.mktemp("signable")
    data = out / "data"
    shutil.copytree(small_data, data)
    rc = cli.main(["run", "--data", str(data), "--period", PERIOD, "--kind", "quarterly", "--region", "350200",
                   "--formats", "html", "--out", str(out / "reports"), "--no-progress"])
    assert rc == 0
    pub = out / "reports" / PERIOD / "350200"
    return {"pub": pub, "data": data, "text": readback.text(pub / "quarterly.html"),
            "prose_tables": review_text.read_report(pub / "quarterly.html")}


def _appendix_row(tables, iid: str) -> list[str]:
    t = review_text._digao_table(tables)
    return next(r for r in t if r[0] == iid)


def test_quarterly_claims_carry_their_source(quarterly):
    text = readback.flat(quarterly["text"])
    m = re.search(r"特例单议通过病例占出院病例的([\d.]+)%（依据《关于做好吉林省按病组和病种分值付费2\.0版分组方案相关工作的通知》"
                  r"（吉医保发〔2024〕14号）第一部分第（三）项，特例单议总量控制在DIP出院总病例的5‰以内，本期(未超过|已超过)该上限）", text)
    assert m, "the special-case cap is stated for DIP with its source"
    assert (m.group(2) == "未超过") == (float(m.group(1)) <= 0.5)
    assert "5%的上限" not in text
    # 支付率 over claims due; not-yet-due and overdue apart; indicator 14 only as 参考值, the same in the appendix
    assert "尚未到结算期限，不计入支付率" in text and "费用结算时间自申报之日起不超过20个工作日" in text
    ref = re.search(r"按数据底稿口径（实际支付÷全部应付，含尚未到期的申报），医保基金支付率为([\d.]+)%", text).group(1)
    prose, tables = quarterly["prose_tables"]
    assert _appendix_row(tables, "14")[3] == f"{ref}%（参考值）"
    assert "预付金" in text


def test_quarterly_one_decision_per_figure(quarterly):
    prose, tables = quarterly["prose_tables"]
    for iid in ("1", "8", "22"):  # 累计: no 环比
        assert _appendix_row(tables, iid)[5] == "—"
    r15 = _appendix_row(tables, "15")
    if r15[3].startswith("-"):
        assert not r15[4].startswith(("增长", "下降")) and "收不抵支" in r15[4] + r15[5] or r15[4] == "—"
        assert re.search(r"基金当期收不抵支[\d,.]+万元", prose)
    assert not re.search(r"结余合计-\d", prose)
    # annual indicators the text quotes are 参考值 in the appendix, never 不适用
    for iid in ("18", "46"):
        assert _appendix_row(tables, iid)[3].endswith("（参考值）")


def test_quarterly_readers_words_and_scopes(quarterly):
    text = quarterly["text"]
    for bad in ("sum_1_2_5", "le_10_9", "x_cmi", "UPCODING_DRG", "数据契约", "即每多少个", "settlement_progress"):
        assert bad not in text, bad
    assert not re.search(r"(?<![\d.,])0家", text)
    assert not re.search(r"20\d\d-\d\d-\d\d", text)
    assert re.search(r"自动复核：\d+项：通过\d+", readback.flat(text))
    # non-DRG/DIP institutions are 不适用 for 30–32, never 0 % / 100 %
    prose, tables = quarterly["prose_tables"]
    t = next(t for t in tables if t[0][:3] == ["机构名称", "级别", "上传率"])
    rows = [r for r in t[1:] if r[1] == "基层/无等级"]
    assert rows and all(r[4:7] == ["不适用"] * 3 for r in rows)


def test_quarterly_hospital_budget_execution(quarterly):
    prose, tables = quarterly["prose_tables"]
    t = next(t for t in tables if "结余/超支（万元）" in t[0])
    for r in t[1:]:
        due, spent, bal = (float(r[t[0].index(c)].replace(",", "").lstrip("结余超支"))
                           for c in ("按时间进度（万元）", "实际支出（万元）", "结余/超支（万元）"))
        assert bal == pytest.approx(abs(due - spent), abs=0.011)
        assert r[t[0].index("结余/超支（万元）")].startswith("超支" if spent > due + 0.005 else "结余")


def test_review_of_the_clean_report_has_no_failed_text_check(quarterly):
    md = (quarterly["pub"] / "review.md").read_text(encoding="utf-8")
    for cid in ("D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9", "D10", "B5", "B6", "C7", "C8", "C9"):
        row = next(line for line in md.splitlines() if line.startswith(f"| {cid} |"))
        assert f"| {FAIL} |" not in row, row
    assert re.search(r"自动检查结论\*\*：自动检查\d+ 项：通过 \d+", md)


# ---- planted defects: the 审议 marks each 不通过 -----------------------------------------------------------

def _planted(quarterly, tmp_path, edit) -> dict:
    pub = tmp_path / PERIOD / "350200"
    shutil.copytree(quarterly["pub"], pub)
    h = pub / "quarterly.html"
    new = edit(h.read_text(encoding="utf-8"))
    assert new != h.read_text(encoding="utf-8"), "the defect was not planted"
    h.write_text(new, encoding="utf-8")
    checks = review.run_checks(pub, "quarterly", "350200", PERIOD, quarterly["data"])
    return {c.id: c for c in checks}


def _sub_cell(html: str, old: str, new: str) -> str:
    return html.replace(f">{old}<", f">{new}<", 1)


PLANTS = {
    # text quotes 支付率 while the appendix says 不适用
    "D2-appendix-na": ("D2", lambda h: re.sub(r">([\d.]+%)（参考值）<", ">不适用<", h, count=1)),
    # text and appendix disagree on a value
    "D2-value": ("D2", lambda h: re.sub(r"(医保基金收入合计)([\d,]+\.\d\d)(万元)",
                                        lambda m: m.group(1) + "9,999.99" + m.group(3), h, count=1)),
    # 环比 of a cumulative figure in the appendix
    "D3-cumulative": ("D3", lambda h: re.sub(r"(<td[^>]*>收入合计</td>(?:\s*<td[^>]*>[^<]*</td>){3}\s*<td[^>]*>)—<",
                                             r"\g<1>增长36.7%<", h, count=1)),
    # a deficit's change called 增长
    "D3-deficit": ("D3", lambda h: h.replace("收不抵支扩大", "增长").replace("收不抵支收窄", "下降")
                   if "收不抵支扩大" in h or "收不抵支收窄" in h
                   else re.sub(r"基金当期(?:收不抵支|结余)", "基金当期结余合计-", h, count=1)),
    # a cap without its source
    "D4-source": ("D4", lambda h: re.sub(r"（依据《[^》]+》（[^）]+）第一部分第（三）项，", "（", h, count=1)),
    # skipped checks reported as all passed
    "D5-honest": ("D5", lambda h: re.sub(r"自动复核：\d+项：[^。<]+。", "自动复核，全部通过。", h, count=1)),
    # a suppressed count recoverable from its growth rate in the same row
    "C7-growth": ("C7", lambda h: _growth_table(h)),
    # one suppressed cell in a column with a total
    "C7-total": ("C7", lambda h: h.replace("</body>", "<table><tr><th>机构</th><th>例数</th></tr><tr><td>甲</td><td>7</td></tr>"
                                           "<tr><td>乙</td><td>&lt;5</td></tr><tr><td>合计</td><td>9</td></tr></table></body>", 1)),
    # another suppression mark
    "C7-mark": ("C7", lambda h: h.replace(">&lt;5<", ">≤4<", 1)),
    # internal words
    "C8-check-id": ("C8", lambda h: h.replace("加总关系", "sum_1_2_5", 1)),
    "C8-rule-id": ("C8", lambda h: h.replace("问题警示清单与表扬<", "问题警示清单与表扬（UPCODING_DRG）<", 1)),
    "C8-code": ("C8", lambda h: h.replace(">CMI<", ">x_cmi<", 1)),
    "C8-zero": ("C8", lambda h: re.sub(r"没有两项指数均高于1\.1的医疗机构|两项指数均高于1\.1的\d+家", "两项指数均高于1.1的0家",
                                       h, count=1)),
    "C8-iso-date": ("C8", lambda h: re.sub(r"2026年12月(\d+)日", r"2026-12-\1", h, count=1)
                    if re.search(r"2026年12月\d+日", h) else h.replace("2026年9月30日", "2026-09-30", 1)),
    "C8-template": ("C8", lambda h: h.replace("即每1个出院人次对应的门诊人次数", "即每多少个门诊人次对应1个出院人次", 1)),
    # 支付率 quoted without separating claims not yet due
    "D6-not-due": ("D6", lambda h: re.sub(r"应付金额中[^；<]*；已到期的", "", h, count=1)),
    # a named hospital quoted with another median than its group's
    "D7-two-medians": ("D7", lambda h: _other_median(h)),
    # a finding with an amount but no basis, or with neither
    "D9-no-basis": ("D9", lambda h: re.sub(r">医保基金<", "><", h, count=1)),
    # appendix amounts in 元
    "D10-yuan": ("D10", lambda h: h.replace(">万元<", ">元<", 1)),
    # a required item missing (异地就医)
    "B5-remote": ("B5", lambda h: h.replace("异地就医", "外地")),
    # the cover dated another day than the release
    "B6-cover": ("B6", lambda h: re.sub(r'(class="date"[^>]*>)\s*[^<]+<', r"\g<1>2025年1月1日<", h, count=1)),
    # a DRG/DIP share given for an institution not paid by DRG/DIP
    "C9-scope": ("C9", lambda h: re.sub(r"(入组结算占比.*?>)不适用<", r"\g<1>0.00%<", h, count=1, flags=re.S)),
}


def _other_median(h: str) -> str:
    m = re.search(r"判定所用的(同级（[^）]+）医院)中位数([\d.]+)(%?)", h)
    assert m, "no named hospital in section 三"
    wrong = f"{float(m.group(2)) + 1:.{len(m.group(2).split('.')[1]) if '.' in m.group(2) else 0}f}"
    return h[:m.start(2)] + wrong + h[m.end(2):]


@pytest.mark.parametrize("explained, verdict", [(False, FAIL), (True, PASS)])
def test_review_checks_a_years_balance_against_income_and_expenditure(quarterly, tmp_path, explained, verdict):
    why = "（差额为职工医保个人账户收支）" if explained else ""
    para = f"<p>2026年，医保基金收入合计10.00亿元，支出合计8.52亿元，当年结余1.26亿元{why}。</p>"
    checks = _planted(quarterly, tmp_path, lambda h: h.replace("</body>", para + "</body>", 1))
    assert checks["D8"].result == verdict, checks["D8"].detail


def _growth_table(h: str) -> str:
    return h.replace("</body>", "<table><tr><th>机构名称</th><th>病例数</th><th>同比</th></tr>"
                                "<tr><td>某医院</td><td>&lt;5</td><td>-83.3%</td></tr></table></body>", 1)


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_review_marks_each_planted_defect_failed(quarterly, tmp_path, plant):
    cid, edit = PLANTS[plant]
    checks = _planted(quarterly, tmp_path, edit)
    assert checks[cid].result == FAIL, (plant, checks[cid].detail)


def test_review_record_lists_the_failure(quarterly, tmp_path):
    pub = tmp_path / PERIOD / "350200"
    shutil.copytree(quarterly["pub"], pub)
    h = pub / "quarterly.html"
    h.write_text(PLANTS["C8-zero"][1](h.read_text(encoding="utf-8")), encoding="utf-8")
    review.build_review(pub, "quarterly", "350200", PERIOD, quarterly["data"])
    md = (pub / "review.md").read_text(encoding="utf-8")
    row = next(line for line in md.splitlines() if line.startswith("| C8 |"))
    assert f"| {FAIL} |" in row and "0家" in row
    assert re.search(r"不通过的是[^，；]*C8", md)


def test_text_checks_pass_and_skip_honestly(tmp_path):
    checks = review_text.text_checks(tmp_path, "quarterly")  # nothing rendered
    assert {c.result for c in checks} == {"未执行"}
    assert review_text.summary(checks) == f"{len(checks)} 项：未执行 {len(checks)}"
    assert review_text.summary(checks[:2] + [review.Check("准确性", "X", "x", PASS)]) == "3 项：通过 1、未执行 2"


def test_complementary_suppression_of_a_lone_small_cell():
    from yibao.publications.quarterly import complementary
    # total 3 + 7 + 9 = 19 published: "<5" alone would be 19 − 16; the smallest other cell is withheld too, and
    # looks the same ("<5": one mark for every withheld cell)
    assert complementary(["<5", "7", "9", "0"], [3, 7, 9, 0]) == ["<5", "<5", "9", "0"]
    assert complementary(["<5", "<5", "9"], [3, 2, 9]) == ["<5", "<5", "9"]  # two hidden cells: no need
    assert complementary(["6", "9"], [6, 9]) == ["6", "9"]


# ---- findings with weight -------------------------------------------------------------------------------

def test_findings_carry_their_estimated_amount_and_sort_by_it(small_data):
    from yibao.data.warehouse import Warehouse
    from yibao.findings import engine
    wh = Warehouse(small_data)
    try:
        f = engine.find_detailed(wh, "350100", PERIOD)
        assert "impact" in engine.COLUMNS
        # out-of-catalogue: (hospital share − peers' median) × the hospital's medical cost, by hand from settlements
        oc = f[f["rule_id"] == "OUT_OF_CATALOG_HIGH"]
        assert len(oc)
        r = oc.iloc[0]
        medfee = wh.df(f"""SELECT SUM(medfee_sumamt) AS m FROM setl_net
                           WHERE fixmedins_code = '{r.fixmedins_code}' AND insu_admdvs = poolarea_no
                             AND month IN ('2026-07', '2026-08', '2026-09') AND cls IN ('门诊类', '住院类')""")["m"].iloc[0]
        assert r.impact == pytest.approx((r.value - r.benchmark) / 100 * medfee, rel=2e-3)
        assert fmt.money(r.impact).split(".")[0] in r.message and "患者多负担" in r.message
        # upcoding: extra cases × the gap between the subgroups' payment standards, said in the message
        up = f[f["rule_id"] == "UPCODING_DRG"]
        assert len(up) and up["impact"].notna().all() and all("估算多支付医保基金约" in m for m in up["message"])
        # within a severity, the largest amount first; leads without an amount after those with one
        for _, g in f.groupby("severity", sort=False):
            imp = g["impact"].fillna(-1).tolist()
            assert imp == sorted(imp, reverse=True)
    finally:
        wh.close()


def test_binomial_band_keeps_small_hospitals_noise_out():
    from yibao.findings.stats import binom_cdf, binomial_band_p
    assert binom_cdf(1, 3, 0.5) == pytest.approx(0.5)          # (1 + 3) / 8
    assert binom_cdf(0, 2, 0.9) == pytest.approx(0.01)
    # 28 of 30 lists passed against a median of 100 %: one or two failures are noise
    assert binomial_band_p(28, 30, 100.0) > 0.001
    # 26 of 47 against 98 %: far outside the band
    assert binomial_band_p(26, 47, 98.0) < 1e-6


def test_base_group_rule_has_a_yardstick_when_tertiary_peers_are_few():
    from types import SimpleNamespace
    from yibao.data.periods import Period
    from yibao.findings import rules_peers
    from yibao.findings.rules import T
    ctx = SimpleNamespace(period=Period.parse(PERIOD), name=lambda c: {"H1": "甲县人民医院"}.get(c, c),
                          level=lambda c: "三级")
    allh = pd.DataFrame([  # one 三级 hospital; the rest of the county treats 200 of 1,000 grouped cases in base groups
        {"fixmedins_code": "H1", "lv_group": "三级", "grouped": 400, "base": 160},
        {"fixmedins_code": "H2", "lv_group": "二级", "grouped": 600, "base": 150},
        {"fixmedins_code": "H3", "lv_group": "一级", "grouped": 400, "base": 50}])
    df = allh[allh["lv_group"] == "三级"].assign(share=lambda d: d["base"] / d["grouped"] * 100)
    out = rules_peers._base_group_few_peers(ctx, df, allh, T["BASE_GROUP_TERTIARY"])
    assert len(out) == 1 and out[0]["fixmedins_code"] == "H1"
    assert out[0]["benchmark"] == pytest.approx(20.0) and out[0]["value"] == pytest.approx(40.0)
    assert "三级医院不足3家" in out[0]["message"] and "以全统筹区其他医院基层病组病例占比20.00%为参照" in out[0]["message"]
    # at the region's own share there is nothing to say
    calm = allh.assign(base=[80, 150, 50])
    df = calm[calm["lv_group"] == "三级"].assign(share=lambda d: d["base"] / d["grouped"] * 100)
    assert rules_peers._base_group_few_peers(ctx, df, calm, T["BASE_GROUP_TERTIARY"]) == []


def test_differencing_flags_rates_on_the_hidden_count_only():
    head = ["机构名称", "级别", "出院人次", "出院人次增长率", "医保外费用占比"]
    ok = [head, ["甲卫生院", "基层/无等级", "<5", "<5", "2.6%"]]  # a share on other cases gives nothing back
    assert review_text.differencing([ok]).result == PASS
    bad = [head, ["甲卫生院", "基层/无等级", "<5", "-83.3%", "2.6%"]]
    c = review_text.differencing([bad])
    assert c.result == FAIL and "出院人次增长率" in c.detail


# ---- cover date = release date; next release from the plan ----------------------------------------------

def test_cover_date_and_next_release_come_from_the_plan(tmp_path, monkeypatch):
    from yibao.batch import runner
    from yibao.publications import plan
    rel = plan.schedule(2026) + plan.schedule(2027)
    doc = {"year": 2026, "data": "d", "regions": {"350100": {"name": "东岚市", "pay_method": "DRG",
                                                             "releases": plan._sort_releases(rel)}}}
    (tmp_path / "plan-2026.yaml").write_text(plan.dump_plan(doc), encoding="utf-8")
    monkeypatch.setattr(plan, "plan_dirs", lambda out=None: [tmp_path])
    q3 = next(e for e in rel if e["kind"] == "quarterly" and e["period"] == "2026Q3")
    assert plan.release_date("350100", "quarterly", "2026Q3") == dt.date.fromisoformat(q3["date"])
    assert plan.release_date("350100", "quarterly", "2026Q3", "2026-12-01") == dt.date(2026, 12, 1)
    assert plan.release_date("350999", "quarterly", "2026Q3") == dt.date.today()  # no plan entry: today
    job = runner.Job(region="350100", period="2026Q3", kind="quarterly", region_name="东岚市", pay_method="DRG")
    assert runner.report_metadata(job)["date"] == q3["date"]  # the cover date
    # the quarterly's 下期发布 line names the planned date of the next quarter
    from types import SimpleNamespace
    from yibao.data.periods import Period
    from yibao.publications import quarterly
    q4 = next(e for e in rel if e["kind"] == "quarterly" and e["period"] == "2026Q4")
    text = quarterly._next_release_text(SimpleNamespace(region="350100", period=Period.parse("2026Q3")), None)
    assert text == f"2026年第四季度数据计划于{fmt.date_zh(q4['date'])}发布。"


# ---- one median per hospital, one minus sign, rankings within the level (rendered text) --------------------

NAMED_RX = (r"([^；：，。（]+)（([\d.,+%-]+|[同环]比增长[\d.]+%)，判定所用的(.+?)(中位数|同比混合增长率|环比混合增长率)"
            r"([\d.,+%-]+)）")
GROUP_RX = r"([^；，。：]+?)(中位数|同比混合增长率|环比混合增长率)([\d.,+%-]+)（(\d+)家"


def test_every_peer_median_printed_for_a_hospital_agrees(quarterly):
    """Section 三 prints the comparison groups' medians from the findings engine's benchmarks (one source): a
    named hospital's median is its group's median in the text, in the benchmark table and in its finding."""
    prose, tables = quarterly["prose_tables"]
    bench = pd.read_csv(quarterly["pub"] / "benchmarks.csv", dtype=str, keep_default_na=False)
    findings = pd.read_csv(quarterly["pub"] / "findings.csv", dtype=str, keep_default_na=False)
    groups, named = [], []
    for para in prose.split("\n"):  # one paragraph per indicator: one median per group in it
        p = readback.flat(para)
        printed = {}
        for g, stat, v, n in re.findall(GROUP_RX, p):
            printed.setdefault((g, stat), set()).add(v)
            groups.append((g, stat, v, n))
        assert all(len(v) == 1 for v in printed.values()), printed
        for name, _, group, stat, median in re.findall(NAMED_RX, p):
            if printed:  # a paragraph that prints its comparison groups (section 三 (一)–(三))
                assert printed.get((group, stat)) == {median}, (name, group, stat, median, printed)
            named.append((name, group, stat, median))
    assert groups, "the comparison groups' medians are printed"
    assert named, "section 三 names at least one hospital"
    for name, group, stat, median in named:  # the finding's own message says the same
        words = "混合增长率" if "混合增长率" in stat else stat
        msgs = findings.loc[findings["fixmedins_name"] == name, "message"]
        assert any(f"{group}{words}为{median}" in m or f"{group}{words}{median}" in m for m in msgs), (name, median)
    for g, stat, v, n in groups:  # every group printed is a group of benchmarks.csv, with its number of hospitals
        rows = bench[bench["peer_group"] == g]
        assert len(rows) and str(n) in set(rows["n"]), (g, n)
    for t in (t for t in tables if t[0][:2] == ["比较组", "参与比较机构数"]):
        for r in t[1:]:
            assert any(r[0].startswith(g) and r[1] == n and r[2] == v for g, _, v, n in groups), r


def test_one_minus_sign_in_the_rendered_report(quarterly):
    text = quarterly["text"]
    assert not re.search(r"\u2212\s?\d", text), "a U+2212 minus sign"
    assert not re.search(r"(?<![\d.,\w])-0(?:\.0+)?(?![\d.])", text), "a negative zero"
    negatives = re.findall(r"(?<![\d\w])-\d[\d,]*(?:\.\d+)?%?", text)
    assert negatives, "the report has falls; they are written with '-'"
    assert fmt.MINUS == "-" and fmt.signed_pct(-3.14) == "-3.1%" and fmt.signed_pct(-0.04) == "0.0%"
    assert fmt.wan(-59_167_000) == "-5,916.70" and fmt.signed(-0.04) == "0.0" and fmt.signed(1.25, 1) == "+1.2"
    import matplotlib as mpl
    from yibao.publications import charts
    charts.setup()
    assert mpl.rcParams["axes.unicode_minus"] is False  # chart ticks use the same "-"


def test_review_marks_a_wrong_minus_sign_failed(quarterly, tmp_path):
    checks = _planted(quarterly, tmp_path, lambda h: re.sub(r"(?<=>)-(\d)", "\u2212\\1", h, count=1)
                      if re.search(r">-\d", h) else h.replace("</body>", "<p>同比−3.1%</p></body>", 1))
    assert checks["C8"].result == FAIL and "负号" in checks["C8"].detail


@pytest.fixture(scope="module")
def monthly(small_data, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("signable-monthly")
    rc = cli.main(["run", "--data", str(small_data), "--period", "2026-09", "--kind", "monthly", "--region", "350100",
                   "--formats", "html", "--out", str(out / "reports"), "--no-progress"])
    assert rc == 0
    pub = out / "reports" / "2026-09" / "350100"
    html = next(pub.glob("monthly*.html"))
    return {"pub": pub, "text": readback.text(html), "data": small_data}


def test_monthly_ranks_hospitals_within_their_level(monthly):
    from yibao.data.warehouse import Warehouse
    with Warehouse(monthly["data"]) as wh:
        lv = dict(wh.df("SELECT fixmedins_name, lv_group FROM fixmedins_x WHERE poolarea_no = '350100'")
                  .itertuples(index=False, name=None))
    text = readback.flat(monthly["text"])
    assert "同级机构间比较" in text
    pairs = re.findall(r"(三级|二级|一级|基层/无等级)（(\d+)家）最高(.+?)（[^）]*）、最低(.+?)（[^）]*）", text)
    assert len(pairs) >= 3, pairs
    for level, _, hi, lo in pairs:
        assert lv[hi] == level and lv[lo] == level, (level, hi, lo)
    # the lowest rates named in 一 and 二 are each the lowest of their level, named with it
    for m in re.finditer(r"各级别中(?:入组率|上传率|质控通过率)最低的(?:机构：|是)([^，。；]+)", text):
        for lvl, name in re.findall(r"(三级|二级|一级|基层/无等级)([^（、]+)（", m.group(1)):
            assert lv[name] == lvl, (lvl, name)
    assert "最高" in text and not re.search(r"机构间比较（本月各机构值的最高与最低）", text)


# ---- disclosure control: complementary suppression and the 复核 check that scans for recoverable cells ------

def test_protect_hides_what_would_give_a_small_count_back():
    from yibao.publications.disclosure import protect
    t = pd.DataFrame({"机构名称": ["甲", "乙", "丙"], "通过例数": ["3", "7", "9"], "通过金额（万元）": ["1.00", "2.00", "3.00"],
                      "上传率": ["10.00%", "70.00%", "90.00%"]})
    out = protect(t, {"通过例数": [3, 7, 9]}, {"通过例数": ["通过金额（万元）", "上传率"]})
    # the lone "<5" brings the smallest other cell (7) with it: both look the same, amounts and rates too
    assert list(out["通过例数"]) == ["<5", "<5", "9"]
    assert list(out["通过金额（万元）"]) == ["<5", "<5", "3.00"] and list(out["上传率"]) == ["<5", "<5", "90.00%"]
    # a row total ('病例数' = its parts): a lone hidden part brings the smallest other part with it
    t = pd.DataFrame({"机构名称": ["甲"], "病例数": ["15"], "EJ11": ["3"], "EJ13": ["5"], "EJ15": ["7"]})
    out = protect(t, {"病例数": [15], "EJ11": [3], "EJ13": [5], "EJ15": [7]}, totals=False,
                  row_total=("病例数", ["EJ11", "EJ13", "EJ15"]))
    assert list(out.iloc[0]) == ["甲", "15", "<5", "<5", "7"]
    # already withheld values (indicators.csv status suppressed) count as hidden
    t = pd.DataFrame({"机构名称": ["甲", "乙"], "出院人次": ["<5", "40"], "出院人次增长率": ["<5", "5.0%"]})
    out = protect(t, {"出院人次": ["<5", 40]}, {"出院人次": ["出院人次增长率"]})
    assert list(out["出院人次"]) == ["<5", "<5"] and list(out["出院人次增长率"]) == ["<5", "<5"]


C7_CASES = {  # a table that gives a hidden count back (不通过) and its protected form (通过)
    "row-total": ("<table><tr><th>机构名称</th><th>病例数</th><th>EJ11</th><th>EJ15</th></tr>"
                  "<tr><td>甲医院</td><td>12</td><td>&lt;5</td><td>9</td></tr></table>",
                  "<table><tr><th>机构名称</th><th>病例数</th><th>EJ11</th><th>EJ15</th></tr>"
                  "<tr><td>甲医院</td><td>12</td><td>&lt;5</td><td>&lt;5</td></tr></table>"),
    "column-total": ("<table><tr><th>机构</th><th>例数</th></tr><tr><td>甲</td><td>7</td></tr>"
                     "<tr><td>乙</td><td>&lt;5</td></tr><tr><td>合计</td><td>9</td></tr></table>",
                     "<table><tr><th>机构</th><th>例数</th></tr><tr><td>甲</td><td>&lt;5</td></tr>"
                     "<tr><td>乙</td><td>&lt;5</td></tr><tr><td>合计</td><td>9</td></tr></table>"),
    "amount": ("<table><tr><th>机构名称</th><th>通过例数</th><th>通过金额（万元）</th></tr>"
               "<tr><td>甲医院</td><td>&lt;5</td><td>1.20</td></tr></table>",
               "<table><tr><th>机构名称</th><th>通过例数</th><th>通过金额（万元）</th></tr>"
               "<tr><td>甲医院</td><td>&lt;5</td><td>&lt;5</td></tr></table>"),
    "neighbouring-period": ("<table><tr><th>机构名称</th><th>病例数（本期）</th><th>病例数（同期）</th><th>病例数变化</th></tr>"
                            "<tr><td>甲医院</td><td>&lt;5</td><td>12</td><td>-83.3%</td></tr></table>",
                            "<table><tr><th>机构名称</th><th>病例数（本期）</th><th>病例数（同期）</th><th>病例数变化</th></tr>"
                            "<tr><td>甲医院</td><td>&lt;5</td><td>12</td><td>&lt;5</td></tr></table>"),
    "another-table": ("<table><tr><th>机构名称</th><th>出院人次</th></tr><tr><td>甲医院</td><td>&lt;5</td></tr>"
                      "<tr><td>乙医院</td><td>&lt;5</td></tr></table>"
                      "<table><tr><th>机构名称</th><th>出院人次</th></tr><tr><td>甲医院</td><td>3</td></tr></table>",
                      "<table><tr><th>机构名称</th><th>出院人次</th></tr><tr><td>甲医院</td><td>&lt;5</td></tr>"
                      "<tr><td>乙医院</td><td>&lt;5</td></tr></table>"),
}


@pytest.mark.parametrize("case", sorted(C7_CASES))
def test_review_record_marks_recoverable_cells_failed_and_protected_ones_passed(quarterly, tmp_path, case):
    bad, good = C7_CASES[case]
    for html, verdict in ((bad, FAIL), (good, PASS)):
        pub = tmp_path / verdict / PERIOD / "350200"
        shutil.copytree(quarterly["pub"], pub)
        h = pub / "quarterly.html"
        h.write_text(h.read_text(encoding="utf-8").replace("</body>", html + "</body>", 1), encoding="utf-8")
        review.build_review(pub, "quarterly", "350200", PERIOD, quarterly["data"])
        md = (pub / "review.md").read_text(encoding="utf-8")
        row = next(line for line in md.splitlines() if line.startswith("| C7 |"))
        assert f"| {verdict} |" in row, (case, verdict, row)


def test_item_checks_by_kind():
    from yibao.workgroup import review_items
    rate = "2025年，应付18.99亿元，实际支付18.99亿元，医保基金支付率100.00%（同比持平）。"
    assert review_items.payment_rate(rate, "350200", "annual").result == PASS  # after the year's clearing
    assert review_items.payment_rate(rate, "350200", "quarterly").result == FAIL
    assert review_items.payment_rate("已到期的应付5,026.18万元实际支付4,912.09万元，支付率97.73%。", "350200").result == PASS
    absent = "本期未取得相应数据：各医疗机构药品耗材集采完成和排名情况、日常稽核监管发现的问题情况。"
    assert review_items.required_items(absent, [], "annual", None).result == PASS
    assert review_items.required_items("年度通报。", [], "annual", None).result == FAIL
    assert review_items.required_items("2026年10月数据将于下月月度结算完成后推送。", [], "monthly", None).result == PASS


def test_topic_names_findings_in_readers_words():
    from yibao.publications.topic.verify import _signal_words
    assert _signal_words("UPCODING_DRG") == "疑似高套病组" and _signal_words("") == "—"
    assert "UPCODING" not in _signal_words("UPCODING_DRG,UPCODING_ICD")
