"""The 审议 checks that read a rendered publication the way a senior analyst does (issue 13).

:mod:`yibao.workgroup.review` checks the 底稿 files; these read the report itself (its HTML: prose and
tables apart) and mark 不通过 what would not survive 审议:

准确性  D1 every number printed in the prose can be traced to the publication's tables or its 底稿
           (indicators.csv), allowing for the rounding the prose uses (provenance, not spot checks);
        D2 text and appendix agree: an indicator the text quotes with a value is not 不适用 in the appendix
           底稿 table, and the value agrees;
        D3 a 累计 figure has only 同比; a deficit's change is worded as a deficit ("收不抵支扩大…"), never
           "增长" of a negative balance, and no balance is printed with a minus sign in the prose;
        D4 every compliance statement (上限 / 期限) names its source (依据…);
        D5 the report's summary of the 复核 is honest: no "全部通过" while checks.csv has failed or skipped checks.
合规性  C7 suppressed cells cannot be recovered: one mark ("<5") everywhere; no growth rate, share or amount
           printed beside a suppressed count in the same row; no column of a table with a 合计 row, and no row
           with a 合计 column, has exactly one suppressed cell (the total minus the others gives it back); no
           cell suppressed in one table is printed as a number in another (same row label and column);
        C8 readers' words: no check id, rule id, internal code (x_…, 数据契约, table names), template
           placeholder, ISO date or "0家" sentence in the report; one minus sign ("-", fmt.MINUS: no "−" before a
           number, no negative zero).

Each check lists what it found (at most a dozen items) so the record says where to look.
"""
from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pandas as pd

from yibao.workgroup.review_files import FAIL, NOTE, PASS, SKIP, Check

NUM_RX = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.,])-?\d+(?:\.\d+)?")
UNIT_RX = re.compile(r"\s*(亿元|万元|元|%|个百分点|‰)?")
SUPPRESSED = "<5"
MAX_LIST = 12

#: words a hospital reader must never see
INTERNAL = (
    (re.compile(r"\b(?:sum|le|ratio|range|inst_sum|bal_cum)_[0-9a-z_]+\b"), "复核项编号"),
    (re.compile(r"\b[A-Z]{2,}(?:_[A-Z0-9]+)+\b"), "规则编号"),
    (re.compile(r"\bx_[a-z_]+\b"), "内部指标代码"),
    (re.compile(r"数据契约|DATA_CONTRACT|settlement_progress|setl_list|fixmedins_code|poolarea_no|psn_no"),
     "内部术语或表名"),
    (re.compile(r"TODO|TBD|XX|lorem|\{[a-z_]+\}|即每多少"), "模板占位或样板文字"),
    (re.compile(r"(?<!\d)(?:19|20)\d{2}-\d{1,2}-\d{1,2}(?!\d)"), "日期未按“2026年12月17日”书写"),
    (re.compile(r"(?<![\d.,])0家"), "“0家”句子"),
    (re.compile(r"\u2212\s?\d|(?<![\d\w）)])–\s?\d"), "负号不统一（统一用“-”，见口径说明）"),
    (re.compile(r"(?<![\d.,\w])-0(?:\.0+)?(?![\d.])%?"), "负零（“-0.0”应写作“0.0”）"),
)
COMPLIANCE_RX = re.compile(r"[^。；]*(?:上限|未超过|已超过|不超过\d+个工作日|限额)[^。；]*")


# ---- reading --------------------------------------------------------------------------------------

def _strip(fragment: str) -> str:
    t = re.sub(r"<[^>]+>", " ", fragment)
    return re.sub(r"\s+", " ", htmllib.unescape(t)).strip()


def read_report(html_path: Path) -> tuple[str, list[list[list[str]]]]:
    """(the prose — headings, paragraphs, captions and notes, without tables, figures or the table of
    contents —, the tables as rows of cell texts)."""
    h = Path(html_path).read_text(encoding="utf-8", errors="replace")
    h = re.sub(r"<(script|style|svg)[^>]*>.*?</\1>", " ", h, flags=re.S | re.I)
    h = re.sub(r'src="data:[^"]+"', "", h)
    tables = []
    for t in re.findall(r"<table[^>]*>(.*?)</table>", h, flags=re.S | re.I):
        rows = []
        for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", t, flags=re.S | re.I):
            rows.append([_strip(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, flags=re.S | re.I)])
        tables.append([r for r in rows if r])
    prose = re.sub(r"<table[^>]*>.*?</table>", "\n", h, flags=re.S | re.I)
    prose = re.sub(r"</(p|h\d|li|div|caption|figcaption)>", "\n", prose, flags=re.I)
    prose = htmllib.unescape(re.sub(r"<[^>]+>", " ", prose))
    prose = "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in prose.splitlines())
    return re.sub(r"\n+", "\n", prose), tables


def _num(s: str) -> float | None:
    try:
        return float(s.replace(",", ""))
    except ValueError:
        return None


def _decimals(s: str) -> int:
    return len(s.split(".")[1]) if "." in s else 0


# ---- D1 provenance -------------------------------------------------------------------------------

def _known_values(tables, ind: pd.DataFrame | None) -> list[float]:
    """Every number the publication's tables and its 底稿 hold, in the units a text may print it in."""
    vals: list[float] = []
    for t in tables:
        for row in t:
            for c in row:
                for m in NUM_RX.finditer(c):
                    v = _num(m.group())
                    if v is not None:
                        vals += [v, abs(v)]
    if ind is not None and "value" in ind:
        for s in ind["value"]:
            v = _num(str(s)) if str(s).strip() else None
            if v is not None:
                vals += [v, abs(v), v / 1e4, abs(v) / 1e4, v / 1e8, abs(v) / 1e8]
    return vals


def _traced(text_num: str, unit: str, known: list[float]) -> bool:
    v = _num(text_num)
    d = _decimals(text_num)
    tol = 0.5 * 10 ** (-d) + 1e-9
    cands = [v, abs(v)]
    if unit == "万元":
        cands += [v * 1e4]
    elif unit == "亿元":
        cands += [v * 1e4, v * 1e8]  # tables in 万元, indicators in 元
    return any(abs(k - c) <= tol or abs(round(k, d) - c) <= tol for k in known for c in cands)


def _skip_number(prose: str, m: re.Match) -> bool:
    """Years, dates, months, quarters, ordinals, table/figure numbers, rule articles and day limits are
    not figures of the data."""
    s, e = m.start(), m.end()
    after, before = prose[e:e + 3], prose[max(0, s - 3):s]
    if re.match(r"\s*(年|月|日|季度|号|〕|条|项|个工作日|个月|天内|日内|例$)", after) and not re.match(r"\s*个月，", after):
        return True
    if re.search(r"(表|图|附录|第|〔|指标|前|近|至|、)$", before) or after.startswith(("-", "）、")):
        return True
    v = _num(m.group())
    return v is not None and float(v).is_integer() and abs(v) < 13 and "." not in m.group()


def provenance(prose: str, tables, ind: pd.DataFrame | None) -> Check:
    known = _known_values(tables, ind)
    body = prose
    total, untraced = 0, []
    for m in NUM_RX.finditer(body):
        if _skip_number(body, m):
            continue
        unit = UNIT_RX.match(body, m.end()).group(1) or ""
        total += 1
        if not _traced(m.group(), unit, known):
            ctx = body[max(0, m.start() - 12):m.end() + 4].replace("\n", " ")
            untraced.append(f"“…{ctx}…”")
    item = "正文中的每个数字可在本报告的表格或数据底稿中找到出处"
    if not total:
        return Check("准确性", "D1", item, SKIP, "正文中没有需要溯源的数字")
    if untraced:
        return Check("准确性", "D1", item, NOTE,
                     f"正文数字{total}个：可溯源{total - len(untraced)}个，{len(untraced)}个在表格和底稿中找不到出处，请人工核对："
                     + "；".join(untraced[:MAX_LIST]) + ("…" if len(untraced) > MAX_LIST else ""))
    return Check("准确性", "D1", item, PASS, f"正文数字{total}个，全部可在表格或数据底稿中找到出处")


# ---- D2 / D3 text and appendix ----------------------------------------------------------------------

def _digao_table(tables) -> list[list[str]] | None:
    for t in tables:
        if t and t[0][:2] == ["序号", "指标"] and "同比" in t[0]:
            return t
    return None


def _bare(name: str) -> str:
    """'（三）医保基金支付率' → '医保基金支付率'; '其中：住院统筹基金支出' → '住院统筹基金支出'."""
    name = re.sub(r"^(（[一二三四五六七八九十]+）|\d+\.|其中：\s*)+", "", name.strip())
    return name.strip()


SUB_SCOPE = re.compile(r"三级|二级|一级|基层|无等级|机构|医院|门诊|病组|病种|各级")


def _sub_scope(text: str, start: int) -> bool:
    """Whether a name at ``start`` speaks of a part (a level, an institution, a group) or of an arithmetic
    ('收入合计减支出合计为…') rather than the region's indicator: the clause before it names a sub-scope, or the
    character before it is an operator."""
    clause = re.split(r"[，。；：\n]", text[:start])[-1]
    return bool(SUB_SCOPE.search(clause)) or text[max(0, start - 1):start] in ("减", "加", "与", "和", "及", "比")


def _to_wan(num: str, unit: str) -> float:
    v = _num(num)
    return v * 1e4 if unit == "亿元" else v / 1e4 if unit == "元" else v


def text_vs_appendix(prose: str, tables) -> list[Check]:
    from yibao.metrics import catalogue
    t = _digao_table(tables)
    if t is None:
        return [Check("准确性", "D2", "正文引用的指标与附录数据底稿表一致（数值、口径说明）", SKIP, "报告中没有数据底稿（区域）表"),
                Check("准确性", "D3", "累计数只比同比；收不抵支按收不抵支表述", SKIP, "报告中没有数据底稿（区域）表")]
    head = t[0]
    col_v = 3 if len(head) > 3 else 2
    bad2, bad3, checked = [], [], 0
    para = [p for p in prose.split("\n") if not p.startswith(("表", "注："))]
    names = [_bare(r[1]) for r in t[1:] if len(r) > 1]
    for row in t[1:]:
        if len(row) < len(head):
            continue
        iid, name, unit, shown = row[0], _bare(row[1]), row[2], row[col_v]
        yoy, mom = row[head.index("同比")], row[head.index("环比")] if "环比" in head else ""
        # a name the text could mean for another row (其他收入, 当期结余 …) is not matched for D2
        ambiguous = len(name) < 4 or names.count(name) > 1 or any(name in o for o in names if o != name)
        if ambiguous:
            name_rx = None
        else:
            name_rx = re.compile(re.escape(name) + r"(?:为|达|是|合计)?\s*(-?[\d,]+(?:\.\d+)?)\s*(亿元|万元|元|%|张|个|人次)?")
        # D2: quoted in the text with a value
        for p in para if name_rx is not None else []:
            for m in name_rx.finditer(p):
                if _sub_scope(p, m.start()):
                    continue
                checked += 1
                if shown in ("不适用", "缺少数据", "—", ""):
                    bad2.append(f"正文“{name}{m.group(1)}{m.group(2) or ''}”，附录表为“{shown or '空'}”")
                    continue
                sm = NUM_RX.search(shown)
                if sm is None:
                    continue
                tv = _to_wan(m.group(1), m.group(2)) if unit == "万元" and m.group(2) in ("亿元", "万元", "元") \
                    else _num(m.group(1))
                d = _decimals(m.group(1)) - (4 if m.group(2) == "亿元" and unit == "万元" else 0)
                av = _num(sm.group())
                tol = 0.5 * 10 ** (-max(d, 0)) + 0.006
                if tv is not None and av is not None and abs(tv - av) > tol * (1e4 if m.group(2) == "亿元" else 1):
                    bad2.append(f"正文“{name}{m.group(1)}{m.group(2) or ''}”，附录表为“{shown}”")
        # D3: 累计 only 同比; deficits worded as deficits
        try:
            ind = catalogue.get(iid) if iid else None
        except KeyError:
            ind = None
        if ind is not None and ind.timing == "cumulative" and mom not in ("", "—"):
            bad3.append(f"附录表指标{iid}（{name}，累计数）给出环比“{mom}”")
        sv = NUM_RX.search(shown)
        if ind is not None and ind.id in catalogue.BALANCE_IDS and sv and _num(sv.group()) < 0:
            for c in (yoy, mom):
                if re.match(r"^(增长|下降)", c):
                    bad3.append(f"附录表指标{iid}（{name}）为收不抵支，其变化写作“{c}”")
    for m in re.finditer(r"(?:结余|结余合计)\s*-\d[\d,.]*\s*(?:亿元|万元|元)?", prose):
        bad3.append(f"正文“{m.group()}”（收不抵支应写作“收不抵支…”）")
    for m in re.finditer(r"收不抵支[\d,.]+(?:亿元|万元|元)（(?:同比|环比)(?:增长|下降)[\d.]+%", prose):
        bad3.append(f"正文“{m.group()}”（收不抵支的变化应写作“收不抵支扩大/收窄…”）")
    cum = [_bare(i.name) for i in catalogue.CATALOGUE if i.timing == "cumulative" and len(_bare(i.name)) >= 4]
    for p in para:
        for name in cum:
            m = re.search(re.escape(name) + r"[^。；，]{0,16}环比", p)
            if m:
                bad3.append(f"正文“{m.group()}”（累计数只比同比）")
    out = [Check("准确性", "D2", "正文引用的指标与附录数据底稿表一致（数值、口径说明）",
                 FAIL if bad2 else PASS if checked else SKIP,
                 "；".join(bad2[:MAX_LIST]) if bad2 else
                 f"正文引用底稿指标{checked}处，与附录表一致" if checked else "正文未按名称引用底稿指标")]
    out.append(Check("准确性", "D3", "累计数只比同比；收不抵支按收不抵支表述", FAIL if bad3 else PASS,
                     "；".join(dict.fromkeys(bad3[:MAX_LIST])) if bad3 else "附录表和正文中未发现累计数环比或负结余的“增长/下降”表述"))
    return out


# ---- D4 sources of compliance statements ---------------------------------------------------------------

def compliance_sources(prose: str) -> Check:
    found, bad = 0, []
    for m in COMPLIANCE_RX.finditer(prose):
        s = m.group().strip()
        found += 1
        if "依据" not in s and not re.search(r"《[^》]+》", s):
            bad.append(f"“{s[:60]}”")
    item = "合规判断（上限、期限）注明所依据的文件和条款"
    if not found:
        return Check("准确性", "D4", item, PASS, "报告中没有合规判断")
    return Check("准确性", "D4", item, FAIL if bad else PASS,
                 ("未注明出处：" + "；".join(bad[:MAX_LIST])) if bad else f"合规判断{found}处，均注明出处")


# ---- D5 honest summary of the 复核 --------------------------------------------------------------------

def honest_summary(prose: str, pub_dir: Path) -> Check:
    item = "报告对复核结果的表述如实（未执行、未通过的复核不说成“全部通过”）"
    cp = Path(pub_dir) / "checks.csv"
    if not cp.exists():
        return Check("准确性", "D5", item, SKIP, "发布目录中缺少 checks.csv")
    st = pd.read_csv(cp, dtype=str, keep_default_na=False).get("status", pd.Series(dtype=str)).str.lower()
    n_skip, n_fail = int((st == "skip").sum()), int((st == "fail").sum())
    claims = re.findall(r"[^。]*复核[^。]*全部通过[^。]*", prose)
    if claims and (n_skip or n_fail):
        return Check("准确性", "D5", item, FAIL,
                     f"报告称“{claims[0].strip()[:50]}”，但复核清单中未执行{n_skip}项、未通过{n_fail}项")
    return Check("准确性", "D5", item, PASS,
                 f"复核清单{len(st)}项（未执行{n_skip}、未通过{n_fail}），报告表述与之相符")


# ---- C7 differencing -------------------------------------------------------------------------------------

RATE_HEAD = re.compile(r"同比|环比|增长|增幅|变化|率|占比|比例|金额|费用|支付|周转|均")
OTHER_MARKS = re.compile(r"^(?:[<＜≤]\s*\d+|\*+|＊+|≤\d+)$")
TOTAL_WORDS = ("合计", "全部", "总计")


def _stem(head: str) -> str:
    return re.sub(r"（.*?）|本期|同期|当期|\s", "", head)


def _computed_on(count_head: str, other: str) -> bool:
    """Whether column ``other`` is a rate, change or amount computed on the count in ``count_head``: a bare
    同比/环比/变化 column, or a column naming the same count or sharing its first two characters ('出院人次' →
    '出院人次增长率', '上传清单数' → '上传率', '通过例数' → '通过金额（万元）', '病例数' → '病例数变化')."""
    if not RATE_HEAD.search(other):
        return False
    if _stem(other) in ("同比", "环比", "变化", "增长率", "增幅"):
        return True
    stem, o = _stem(count_head), _stem(other)
    if not stem:
        return False
    return stem in o or (stem.endswith("例数") and "例数" in o) or (len(stem) >= 2 and o.startswith(stem[:2]))


COUNT_CELL = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+|<5|—)$")


def _count_column(t, j: int) -> bool:
    """A column of counts: its header is no rate or amount and every cell is a whole number, "<5" or "—"."""
    if RATE_HEAD.search(t[0][j]):
        return False
    cells = [r[j] for r in t[1:] if len(r) > j]
    return bool(cells) and all(COUNT_CELL.match(c.strip()) for c in cells)


def _is_count_head(head: str) -> bool:
    return not RATE_HEAD.search(head) and bool(re.search(r"人次|例|数|份|笔|次", head))


def differencing(tables) -> Check:
    """C7: a suppressed cell cannot be recovered. Reads every table of the report: one mark ("<5"); no rate,
    change or amount printed beside a suppressed count in the same row; no column of a table with a 合计 row,
    and no row with a 合计/病例数 total column, with exactly one suppressed cell (the total minus the others
    gives it back); no suppressed cell printed as a number in another table (the same row label and column)."""
    bad = []
    shown: dict[tuple[str, str], tuple[int, str]] = {}
    hidden: dict[tuple[str, str], int] = {}
    for ti, t in enumerate(tables, 1):
        if len(t) < 2:
            continue
        head = t[0]
        for row in t[1:]:
            for c in row:
                if OTHER_MARKS.match(c) and c != SUPPRESSED:
                    bad.append(f"表格{ti}使用了“{c}”而非统一的“{SUPPRESSED}”")
            sup = [j for j, c in enumerate(row) if c == SUPPRESSED and j < len(head) and not RATE_HEAD.search(head[j])]
            for k in sup:
                for j, c in enumerate(row):
                    if j < len(head) and j != k and _computed_on(head[k], head[j]) and NUM_RX.search(c) \
                            and c != SUPPRESSED:
                        bad.append(f"表格{ti}“{row[0]}”一行：{head[k]}不予公布，但由其计算的{head[j]}“{c}”可反推")
                        break
            # a row total ('合计' column, or '病例数' followed by its parts: columns holding counts only)
            tot = [j for j, h in enumerate(head) if _stem(h) in TOTAL_WORDS + ("病例数",)]
            if tot and len(row) > tot[0] and NUM_RX.search(row[tot[0]]) and row[tot[0]] != SUPPRESSED:
                parts = [j for j in range(1, min(len(row), len(head))) if j != tot[0] and _count_column(t, j)]
                if len(parts) >= 2 and sum(row[j] == SUPPRESSED for j in parts) == 1:
                    bad.append(f"表格{ti}“{row[0]}”一行只有一个“{SUPPRESSED}”，可由该行合计减去其余各项反推")
            if row and row[0] not in TOTAL_WORDS:
                for j in range(1, min(len(row), len(head))):
                    key = (row[0], _stem(head[j]))
                    if row[j] == SUPPRESSED:
                        hidden.setdefault(key, ti)
                    elif NUM_RX.fullmatch(row[j].replace(",", "").strip() or "x") and _is_count_head(head[j]):
                        shown.setdefault(key, (ti, row[j]))
        total = [r for r in t[1:] if r and r[0] in TOTAL_WORDS]
        if total:
            for j in range(1, len(head)):
                col = [r[j] for r in t[1:] if len(r) > j and r not in total]
                if sum(c == SUPPRESSED for c in col) == 1 and NUM_RX.search(total[0][j] if len(total[0]) > j else ""):
                    bad.append(f"表格{ti}“{head[j]}”列只有一个“{SUPPRESSED}”，可由合计减去其余各行反推")
    for key, ti in hidden.items():
        if key in shown and shown[key][0] != ti:
            bad.append(f"“{key[0]}”的{key[1]}在表格{ti}中不予公布，但表格{shown[key][0]}给出“{shown[key][1]}”")
    item = (f"小数值保护不可反推（统一标为“{SUPPRESSED}”；同行不给由其计算的比率、变化、金额；有合计的行、列不只隐藏一个"
            f"单元格；其他表格不给出同一数值）")
    return Check("合规性", "C7", item, FAIL if bad else PASS,
                 "；".join(dict.fromkeys(bad[:MAX_LIST])) if bad else f"已检查{len(tables)}张表格")


# ---- C8 readers' words ----------------------------------------------------------------------------------

def readers_words(prose: str, tables) -> Check:
    text = prose + "\n" + "\n".join(" | ".join(r) for t in tables for r in t)
    bad = []
    for rx, what in INTERNAL:
        hits = list(dict.fromkeys(m.group() for m in rx.finditer(text)))
        if hits:
            bad.append(f"{what}：{'、'.join(hits[:6])}{'…' if len(hits) > 6 else ''}")
    item = "面向医疗机构的用语（无编号、内部代码、模板文字、ISO 日期和“0家”句子）"
    return Check("合规性", "C8", item, FAIL if bad else PASS, "；".join(bad) if bad else "未发现")


# ---- all ------------------------------------------------------------------------------------------------

def text_checks(pub_dir: Path, stem: str) -> list[Check]:
    """D1–D5 and C7–C8 on ``<stem>.html`` (skipped, and said so, when the report was not rendered to HTML)."""
    html = Path(pub_dir) / f"{stem}.html"
    if not html.exists():
        why = f"发布目录中没有 {stem}.html，正文未能核对"
        return [Check("准确性", cid, item, SKIP, why) for cid, item in (
            ("D1", "正文中的每个数字可在本报告的表格或数据底稿中找到出处"),
            ("D2", "正文引用的指标与附录数据底稿表一致（数值、口径说明）"),
            ("D3", "累计数只比同比；收不抵支按收不抵支表述"), ("D4", "合规判断（上限、期限）注明所依据的文件和条款"),
            ("D5", "报告对复核结果的表述如实"))] + [
            Check("合规性", "C7", "小数值保护不可反推", SKIP, why), Check("合规性", "C8", "面向医疗机构的用语", SKIP, why)]
    prose, tables = read_report(html)
    ind = None
    ip = Path(pub_dir) / "indicators.csv"
    if ip.exists():
        ind = pd.read_csv(ip, dtype=str, keep_default_na=False)
    return ([provenance(prose, tables, ind)] + text_vs_appendix(prose, tables)
            + [compliance_sources(prose), honest_summary(prose, pub_dir), differencing(tables),
               readers_words(prose, tables)])


def summary(checks: list[Check]) -> str:
    """'58 项：通过 50、提示 4、未执行 4' — skipped checks are never counted as passed."""
    n = {r: sum(c.result == r for c in checks) for r in (PASS, FAIL, NOTE, SKIP)}
    return f"{len(checks)} 项：" + "、".join(f"{r} {n[r]}" for r in (PASS, FAIL, NOTE, SKIP) if n[r])
