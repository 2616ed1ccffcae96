"""More 审议 checks that read the rendered report (issue 13, Must 8): each defect the issue found in the demo
publications has a check that marks it 不通过. :mod:`yibao.workgroup.review_text` reads numbers, words and
suppression; these read claims, scopes and required items:

准确性  D6 支付率 in the text separates claims not yet due (the region's settlement deadline) from claims paid
           short, or is marked 参考值 (the 底稿 口径 over all claims);
        D7 one peer median per hospital: a hospital named in section 三 is quoted with the median its comparison
           group shows in the same paragraph and in its own finding;
        D8 a year's 结余 is income minus expenditure, or the paragraph says what explains the difference (个人账户);
        D9 every finding of the 问题警示清单 states its estimated amount, or "—" with the reason;
        D10 appendix amounts are in 万元 (the text's units), never 元 to the 分;
完整性  B5 the kind's required items are printed (quarterly: hospital 预算执行 with 结余/超支, 入院 and 出院人次,
           common 质控 problems, 异地就医, 预付金 when the data have it, the next release's date; annual: 集采 and
           监督检查, or a sentence that their data are absent; monthly: the next push);
        B6 the cover is dated the release date of the plan (not the day the report was generated);
合规性  C9 DRG/DIP indicators (入组率, 按标准 / 据实结算占比) are not given for, and do not rank, an institution not
           paid by DRG/DIP.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from yibao.workgroup.review_files import FAIL, NOTE, PASS, SKIP, Check

MAX_LIST = 12
NUM = r"-?[\d,]+(?:\.\d+)?"
SCOPE_HEADS = ("入组率", "入组结算占比", "标准结算占比", "按标准结算占比", "据实结算占比")
SCOPE_WORDS = re.compile(r"入组率|按标准结算|据实结算|入组结算占比")
BLANK = {"不适用", "—", "<5", "", "-"}


def _num(s: str) -> float | None:
    try:
        return float(s.replace(",", "").replace("%", "").replace("+", ""))
    except (ValueError, AttributeError):
        return None


def _close(a: str, b: str) -> bool:
    """Two printed numbers agree within the rounding of the coarser one."""
    x, y = _num(a), _num(b)
    if x is None or y is None:
        return False
    d = min(len(a.split(".")[1].rstrip("%")) if "." in a else 0, len(b.split(".")[1].rstrip("%")) if "." in b else 0)
    return abs(x - y) <= 0.5 * 10 ** (-d) + 1e-9


def _paras(prose: str) -> list[str]:
    return [p for p in prose.split("\n") if p.strip()]


# ---- D6 支付率 -----------------------------------------------------------------------------------------

def payment_rate(prose: str, region: str, kind: str = "quarterly") -> Check:
    item = "支付率区分尚未到结算期限的申报与少付（或注明为参考值）"
    if kind == "annual":  # issued after the year's clearing: every claim of the year is past its deadline
        return Check("准确性", "D6", item, PASS, "年度通报在年度清算完成后发布，全年申报均已到结算期限")
    from yibao.publications import rules
    try:
        deadline = rules.for_region(region).settlement_days()
    except Exception:  # noqa: BLE001 - a broken rule table is reported by the report's own build
        deadline = None
    found, bad = 0, []
    for p in _paras(prose):
        for sent in re.split(r"(?<=。)", p):
            for m in re.finditer(r"支付率(?:为|达)?\s*(" + NUM + r")%", sent):
                found += 1
                if "参考值" in sent or "数据底稿口径" in sent:
                    continue
                if deadline is not None and not re.search(r"未到(?:期|结算期限)|尚未到|已到期", sent):
                    bad.append(f"“…{sent[max(0, m.start() - 20):m.end() + 10]}…”未区分尚未到期的申报")
    if not found:
        return Check("准确性", "D6", item, PASS, "正文未引用支付率")
    return Check("准确性", "D6", item, FAIL if bad else PASS,
                 "；".join(bad[:MAX_LIST]) if bad else f"正文引用支付率{found}处，均区分未到期申报或注明参考值")


# ---- D7 one median per hospital ---------------------------------------------------------------------------

NAMED = re.compile(r"([^；：，。（）]+)（([^，（）]+)，判定所用的(.+?)(中位数|同比混合增长率|环比混合增长率)(" + NUM + r"%?)）")


def one_median(prose: str, tables) -> Check:
    item = "同一医院只有一个同级中位数（正文、比较组和问题警示清单一致）"
    messages = [r[-1] for t in tables if t and t[0] and "问题线索" in t[0] and "关注等级" in t[0] for r in t[1:]]
    checked, bad = 0, []
    for p in _paras(prose):
        for m in NAMED.finditer(p):
            name, group, stat, med = m.group(1).strip(), m.group(3), m.group(4), m.group(5)
            checked += 1
            printed = [x.group(1) for x in re.finditer(re.escape(group + stat) + r"(" + NUM + r"%?)（\d+家", p)]
            if printed and not any(_close(med, x) for x in printed):
                bad.append(f"{name}：判定所用的{group}{stat}{med}，比较组为{printed[0]}")
            words = "混合增长率" if "混合增长率" in stat else stat  # a finding says 混合增长率 after its basis
            own = [x.group(1) for msg in messages if msg.find(name) >= 0
                   for x in re.finditer(re.escape(group + words) + r"为?(" + NUM + r"%?)", msg)]
            if own and not any(_close(med, x) for x in own):
                bad.append(f"{name}：正文{group}{stat}{med}，问题警示清单为{own[0]}")
    if not checked:
        return Check("准确性", "D7", item, PASS, "正文没有点名医院的同级比较")
    return Check("准确性", "D7", item, FAIL if bad else PASS,
                 "；".join(bad[:MAX_LIST]) if bad else f"点名医院{checked}处，中位数与比较组、问题警示清单一致")


# ---- D8 a year's balance -----------------------------------------------------------------------------------

def _yuan(num: str, unit: str) -> float | None:
    v = _num(num)
    return None if v is None else v * {"亿元": 1e8, "万元": 1e4, "元": 1.0}[unit]


def balance_arithmetic(prose: str) -> Check:
    item = "结余等于收入减支出，或说明差额原因（如个人账户）"
    amt = r"(" + NUM + r")(亿元|万元|元)"
    bad, checked = [], 0
    for p in _paras(prose):
        inc = re.search(r"收入(?:合计)?" + amt, p)
        exp = re.search(r"支出(?:合计)?" + amt, p)
        bal = re.search(r"(?:当年|当期)(?:结余|收支结余)(?:合计)?" + amt, p)
        if not (inc and exp and bal) or "个人账户" in p:
            continue
        checked += 1
        a, b, c = _yuan(*inc.groups()), _yuan(*exp.groups()), _yuan(*bal.groups())
        tol = 0.5 * {"亿元": 1e8, "万元": 1e4, "元": 1.0}[bal.group(2)] * 10 ** (-len((bal.group(1).split(".") + [""])[1]))
        if abs((a - b) - c) > tol + 0.5 * {"亿元": 1e8, "万元": 1e4, "元": 1.0}[inc.group(2)] * 0.02:
            bad.append(f"“{bal.group(0)}”，而收入减支出为{(a - b) / 1e8:.2f}亿元，未说明差额原因")
    return Check("准确性", "D8", item, FAIL if bad else PASS,
                 "；".join(bad[:MAX_LIST]) if bad else (f"核对{checked}处" if checked else "正文没有同段的收入、支出和结余"))


# ---- D9 findings with their amount ------------------------------------------------------------------------

def findings_amounts(tables) -> Check:
    item = "问题警示清单每条线索给出估算金额，或以“—”注明不估算的原因"
    t = next((t for t in tables if t and t[0] and "问题线索" in t[0] and "关注等级" in t[0]), None)
    if t is None:
        return Check("准确性", "D9", item, PASS, "报告没有问题警示清单表")
    head = t[0]
    if "估算金额（万元）" not in head or "金额口径" not in head:
        return Check("准确性", "D9", item, FAIL, "问题警示清单没有估算金额或金额口径列")
    ia, ib = head.index("估算金额（万元）"), head.index("金额口径")
    bad = []
    for r in t[1:]:
        a, b = r[ia].strip(), r[ib].strip()
        if a in ("", "—"):
            if not b.startswith("不估算："):
                bad.append(f"“{r[0]}”一条没有金额也没有说明原因")
        elif _num(a) is None or not b or b.startswith("不估算"):
            bad.append(f"“{r[0]}”一条的金额“{a}”与口径“{b}”不符")
    return Check("准确性", "D9", item, FAIL if bad else PASS,
                 "；".join(bad[:MAX_LIST]) if bad else f"{len(t) - 1}条线索均给出金额或不估算的原因")


# ---- D10 appendix amounts in 万元 ----------------------------------------------------------------------------

def appendix_units(tables) -> Check:
    item = "附录金额以万元列示（与正文一致，不列到分）"
    t = next((t for t in tables if t and t[0][:2] == ["序号", "指标"] and "单位" in t[0]), None)
    if t is None:
        return Check("准确性", "D10", item, SKIP, "报告中没有数据底稿（区域）表")
    iu = t[0].index("单位")
    bad = [f"指标{r[0]}（{r[1]}）单位为“{r[iu]}”" for r in t[1:] if len(r) > iu and r[iu] == "元"]
    return Check("准确性", "D10", item, FAIL if bad else PASS,
                 "；".join(bad[:MAX_LIST]) if bad else "金额指标均以万元列示")


# ---- B5 required items ---------------------------------------------------------------------------------------

def required_items(prose: str, tables, kind: str, data_dir: Path | None) -> Check:
    item = "必备内容齐全（预算执行、出入院人次、质控问题、异地就医、预付金、下期发布日期；年报集采、监督检查）"
    text = prose + "\n" + "\n".join(" | ".join(r) for t in tables for r in t)
    need: list[tuple[str, str]] = []
    if kind == "quarterly":
        need = [("各医疗机构预算执行及结余/超支", r"结余/超支"), ("入院人次", r"入院[\d,]+人次"),
                ("出院人次", r"出院[\d,]+人次"), ("常见质控问题", r"质控问题"), ("异地就医", r"异地就医"),
                ("下期发布日期", r"(?:计划于|将于)[^。]*发布")]
        if data_dir is not None and _has_prepaid(Path(data_dir)):
            need.append(("预付金", r"预付金"))
    elif kind == "annual":
        need = [("集采（或说明无数据）", r"集采|集中带量采购|集中采购"),
                ("监督检查（或说明无数据）", r"监督检查|稽核监管|监管发现")]
    elif kind == "monthly":
        need = [("下期推送", r"(?:计划于|将于)[^。]*推送")]
    if not need:
        return Check("完整性", "B5", item, SKIP, "本类发布没有规定的必备内容清单")
    missing = [name for name, rx in need if not re.search(rx, text)]
    return Check("完整性", "B5", item, FAIL if missing else PASS,
                 ("缺少：" + "、".join(missing)) if missing else f"{len(need)}项必备内容均在报告中")


def _has_prepaid(data_dir: Path) -> bool:
    try:
        from yibao.data.load import read_table
        sp = read_table(data_dir, "settlement_progress", required=False)
        return sp is not None and "prepaid_amt" in sp and pd.to_numeric(sp["prepaid_amt"], errors="coerce").fillna(0).ne(0).any()
    except Exception:  # noqa: BLE001
        return False


# ---- B6 cover date -------------------------------------------------------------------------------------------

def cover_date(pub_dir: Path, stem: str, kind: str, region: str, period: str) -> Check:
    item = "封面日期为发布计划中的发布日期"
    html = Path(pub_dir) / f"{stem}.html"
    nb = Path(pub_dir) / f"{stem}.ipynb"
    if not html.exists() or not nb.exists():
        return Check("完整性", "B6", item, SKIP, "缺少报告或 notebook，未能核对")
    meta = (json.loads(nb.read_text(encoding="utf-8")).get("metadata") or {}).get("yibao") or {}
    h = html.read_text(encoding="utf-8", errors="replace")
    m = re.search(r'class="date"[^>]*>\s*([^<]+)<', h) or re.search(r"<header.*?(\d{4}年\d{1,2}月\d{1,2}日).*?</header>", h, re.S)
    if m is None:
        return Check("完整性", "B6", item, SKIP, "报告封面没有日期")
    shown = m.group(1).strip()
    from yibao import fmt
    from yibao.publications import plan
    try:
        entry = plan.find_release(region, "topic" if kind == "topic" else kind, period)
    except Exception:  # noqa: BLE001
        entry = None
    want = str(meta.get("date") or "")[:10]
    if meta.get("date_source") != "release-date" and entry:
        want = str(entry["date"])[:10]
    if not want:
        return Check("完整性", "B6", item, SKIP, "没有可核对的发布日期")
    if shown != fmt.date_zh(want):
        return Check("完整性", "B6", item, FAIL, f"封面日期为“{shown}”，发布日期为{fmt.date_zh(want)}")
    if not entry and meta.get("date_source") != "release-date":
        return Check("完整性", "B6", item, NOTE, f"发布计划中没有本期，封面日期{shown}为生成日期，请核对")
    return Check("完整性", "B6", item, PASS, f"封面日期{shown}与发布日期一致")


# ---- C9 DRG/DIP scope -------------------------------------------------------------------------------------------

def drg_scope(prose: str, tables, region: str, data_dir: Path | None) -> Check:
    item = "DRG/DIP指标只对开展DRG/DIP付费的机构列示和排名"
    if data_dir is None or not Path(data_dir).is_dir():
        return Check("合规性", "C9", item, SKIP, "没有数据目录，未能核对机构的付费方式")
    try:
        from yibao.data.load import read_table
        fx = read_table(Path(data_dir), "fixmedins")
    except Exception:  # noqa: BLE001
        return Check("合规性", "C9", item, SKIP, "无法读取定点医药机构表")
    fx = fx[fx["poolarea_no"].astype(str) == str(region)]
    other = set(fx.loc[fx["drg_dip_flag"].astype(str) != "1", "fixmedins_name"].astype(str))
    bad = []
    for ti, t in enumerate(tables, 1):
        if not t or not t[0]:
            continue
        cols = [j for j, h in enumerate(t[0]) if h in SCOPE_HEADS]
        for r in t[1:]:
            if r and r[0] in other:
                for j in cols:
                    if j < len(r) and r[j].strip() not in BLANK:
                        bad.append(f"表格{ti}“{r[0]}”（未开展DRG/DIP付费）的{t[0][j]}为“{r[j]}”")
    for p in _paras(prose):
        for s in re.split(r"[。；]", p):
            if SCOPE_WORDS.search(s):
                hit = [n for n in other if n and n in s]
                if hit:
                    bad.append(f"正文“{s.strip()[:40]}…”点名未开展DRG/DIP付费的{hit[0]}")
    return Check("合规性", "C9", item, FAIL if bad else PASS,
                 "；".join(dict.fromkeys(bad[:MAX_LIST])) if bad else f"未开展DRG/DIP付费的机构{len(other)}家，均未列示或排名")


def item_checks(pub_dir: Path, stem: str, kind: str, region: str, period: str, data_dir: Path | None,
                prose: str, tables) -> list[Check]:
    """D6–D10, B5–B6 and C9 on the rendered report (see the module doc)."""
    return [payment_rate(prose, region, kind), one_median(prose, tables), balance_arithmetic(prose),
            findings_amounts(tables), appendix_units(tables), required_items(prose, tables, kind, data_dir),
            cover_date(pub_dir, stem, kind, region, period), drg_scope(prose, tables, region, data_dir)]
