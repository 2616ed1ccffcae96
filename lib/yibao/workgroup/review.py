"""The 审议 record of a publication (handbook 六(五) 工作组审议).

数据定向发布报告等资料要在发布前经数据工作组成员审议。审议主要包括：准确性，交叉核对关键指标；完整性，是否有
重要内容、字段缺失；合规性，是否有数据未完成脱敏等不合规情形。要做好成员审议意见记录，经成员签字确认。

:func:`build_review` runs the automatic part of each check on what is in the publication directory
(checks.csv, indicators.csv, findings.csv, the executed notebook ``<stem>.ipynb`` and the rendered
``<stem>.html/.docx/.pdf``) and the dataset, and writes beside the report

* ``review.xlsx`` — sheet 审议记录 (the checks with 通过/不通过/提示/未执行 and details, then the sign-off
  table: every member of the current roster with blank 审议意见/签字/日期 cells) and sheet 文件清单
  (every file reviewed with its sha256, so the signatures refer to exact versions);
* ``review.docx`` — the same as a printable page; ``review.md`` — the same in Markdown.

Topic studies share their directory with the quarterly report, so their record is
``review-topic-<code>.{xlsx,docx,md}``.

The checks (each one row):

准确性  A1 the 复核 checklist (checks.csv) has no failed check;
        A2 key indicators recomputed independently from the dataset equal indicators.csv
           (8, 9, 10, 12 from fund_report; 11, 13, 39 from the netted settlements);
        A3 identities between indicators (1 = 2 + 5, 8 = 9 + 12, 15 = 17 + 20);
        A4 the two sources agree in direction: 住院统筹基金支出 from settlements (11, 13) does not exceed
           the fund report's 统筹基金支出 (10) / 居民医保基金支出 (12);
        A5 the report text carries the headline figures of indicators.csv (收入合计 1, 支出合计 8) — 提示 only.
完整性  B1 the section headings expected for the kind (quarterly: 一、基金收支及结算情况（钱）… 附录; every kind:
           the notebook's own top-level headings) are in the rendered HTML;
        B2 no empty tables in the HTML, no error output in the executed notebook;
        B3 required inputs: the contract's required tables exist; indicators with status missing_input listed;
        B4 the publication's files exist (notebook, at least one rendered format, indicators.csv, checks.csv).
合规性  C1 no psn_no of the dataset in any output file (every token of every output is looked up in setl);
        C2 no 18-digit 身份证号 pattern; C3 no 11-digit mobile number;
        C4 no other region's institution names or codes (fixmedins of other regions);
        C5 suppression applied: indicators.csv institution rows with status suppressed carry no value and no
           count indicator shows 1–4 unsuppressed;
        C6 the confidentiality line (数据仅限…) is printed in the report.

Details never repeat what they found in full (an identifier found is shown masked, e.g. ``P3****01``),
so the record itself does not leak.

Reading the output files is :mod:`yibao.workgroup.readback`; writing the record's files (and the
:class:`Check` row) is :mod:`yibao.workgroup.review_files`.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd

from yibao.fsutil import sha256, write_text
from yibao.data.periods import Period
from yibao.metrics.catalogue import SUPPRESS_MIN
from yibao.workgroup.readback import ScannedFile, notebook_text, output_files, parse_html, read_output
from yibao.workgroup.review_files import FAIL, NOTE, PASS, SKIP, Check, markdown, write_docx, write_xlsx


#: section headings a rendered report must contain, per kind (issue 3; handbook 附录2)
EXPECTED_SECTIONS = {
    "quarterly": ("一、基金收支及结算情况（钱）", "二、支付方式改革运行成效（效）", "三、重点关注指标（错）",
                  "四、下一步工作安排", "附录"),
}
CONFIDENTIALITY_MARK = "数据仅限"
ID_RX = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
                   r"(?![0-9A-Za-z])")
MOBILE_RX = re.compile(r"(?<![\d.,])1[3-9]\d{9}(?![\d.,])")
TOKEN_RX = re.compile(r"[0-9A-Za-z][0-9A-Za-z_\-]{3,}")
COUNT_IDS_FALLBACK = ("33", "34", "38", "39")
TOLERANCE = 0.011  # 元: indicators are rounded to 2 decimals


# ---- helpers --------------------------------------------------------------------------------

def mask(s: str) -> str:
    """An identifier shown without revealing it: first 2 and last 2 characters."""
    s = str(s)
    if len(s) <= 4:
        return s[0] + "*" * (len(s) - 1)
    return s[:2] + "*" * (len(s) - 4) + s[-2:]


def _is_number(s: str) -> bool:
    try:
        float(str(s).replace(",", ""))
        return True
    except ValueError:
        return False


def _close(a: float, b: float, tol: float = TOLERANCE) -> bool:
    return abs(float(a) - float(b)) <= max(tol, 1e-9 * abs(float(b)))


def _read_indicators(pub_dir: Path) -> pd.DataFrame | None:
    p = pub_dir / "indicators.csv"
    if not p.exists():
        return None
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    df["indicator_id"] = df["indicator_id"].astype(str).str.strip()
    return df


def _region_value(ind: pd.DataFrame | None, iid: str) -> float | None:
    if ind is None:
        return None
    r = ind[(ind["indicator_id"] == iid) & (ind.get("fixmedins_code", "").astype(str).str.strip() == "")]
    if r.empty or str(r.iloc[0].get("status", "ok")) != "ok" or str(r.iloc[0]["value"]).strip() == "":
        return None
    try:
        return float(r.iloc[0]["value"])
    except ValueError:
        return None


def _one(wh, sql: str, params: list | None = None):
    """The single value of a query (fetches all rows: a half-read result would block the connection)."""
    rows = wh.sql(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def _fmt(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.2f}" if abs(v - round(v)) > 1e-9 else f"{v:,.0f}"


def default_stem(kind: str, period: str) -> str:
    return f"monthly-{Period.parse(period).code}" if kind == "monthly" else kind


def record_name(kind: str, stem: str) -> str:
    """'review' for the main publication of a directory; 'review-<stem>' for topic studies."""
    return f"review-{stem}" if kind == "topic" else "review"


# ---- the checks ------------------------------------------------------------------------------

def accuracy_checks(pub_dir: Path, region: str, period: str, wh, report_text: str) -> list[Check]:
    out: list[Check] = []
    cp = pub_dir / "checks.csv"
    if cp.exists():
        ch = pd.read_csv(cp, dtype=str, keep_default_na=False)
        st = ch.get("status", pd.Series(dtype=str)).str.lower()
        fails = ch.loc[st.isin(["fail", "failed", "不通过", "error"]), "check_id"].tolist()
        warns = ch.loc[st.isin(["warn", "warning", "提示"]), "check_id"].tolist()
        detail = f"复核清单共 {len(ch)} 项：通过 {int(st.isin(['pass', 'ok', '通过']).sum())} 项"
        detail += f"，未通过 {len(fails)} 项" + (f"（{'、'.join(fails[:12])}{'…' if len(fails) > 12 else ''}）" if fails else "")
        detail += f"，提示 {len(warns)} 项" if warns else ""
        skips = ch.loc[st.isin(["skip", "skipped", "未执行"]), "check_id"].tolist()
        detail += (f"，未执行 {len(skips)} 项（{'、'.join(skips[:12])}{'…' if len(skips) > 12 else ''}）"
                   if skips else "")
        out.append(Check("准确性", "A1", "复核清单（checks.csv）全部通过", FAIL if fails else PASS, detail))
    else:
        out.append(Check("准确性", "A1", "复核清单（checks.csv）全部通过", FAIL, "发布目录中缺少 checks.csv"))

    ind = _read_indicators(pub_dir)
    p = Period.parse(period)
    recomputed: dict[str, float] = {}
    notes: list[str] = []
    if wh is not None and wh.has("fund_report"):
        ytd = ", ".join(f"'{m}'" for m in p.ytd_months)
        q = (f"SELECT coalesce(sum(amount), 0) FROM fund_report WHERE poolarea_no = ? AND item = 'exp_total' "
             f"AND month IN ({ytd}) AND fund IN ")
        for iid, funds in (("8", "('310','310A','390')"), ("9", "('310','310A')"), ("10", "('310')"),
                           ("12", "('390')")):
            recomputed[iid] = float(_one(wh, q + funds, [str(region)]) or 0.0)
    if wh is not None and wh.has("setl"):
        ytd = ", ".join(f"'{m}'" for m in p.ytd_months)
        cur = ", ".join(f"'{m}'" for m in p.months)
        base = "FROM setl_net WHERE poolarea_no = ? AND is_ip AND is_local"
        recomputed["11"] = float(_one(wh, f"SELECT coalesce(sum(hifp_pay), 0) {base} AND insutype = '310' "
                                           f"AND month IN ({ytd})", [str(region)]) or 0.0)
        recomputed["13"] = float(_one(wh, f"SELECT coalesce(sum(hifp_pay), 0) {base} AND insutype = '390' "
                                           f"AND month IN ({ytd})", [str(region)]) or 0.0)
        recomputed["39"] = float(_one(wh, f"SELECT count(*) {base} AND month IN ({cur})", [str(region)]) or 0.0)
    names = {"8": "支出合计", "9": "职工医保基金支出", "10": "统筹基金支出", "11": "职工住院统筹基金支出",
             "12": "居民医保基金支出", "13": "居民住院统筹基金支出", "39": "本地参保人住院人次"}
    compared, bad = [], []
    for iid, v in recomputed.items():
        pub = _region_value(ind, iid)
        if pub is None:
            notes.append(f"指标{iid}未发布")
            continue
        compared.append(iid)
        if not _close(pub, v):
            bad.append(f"指标{iid}（{names[iid]}）底稿 {_fmt(pub)}，按{'结算数据' if iid in ('11', '13', '39') else '基金报表'}"
                       f"重算 {_fmt(v)}")
    if ind is None:
        out.append(Check("准确性", "A2", "关键指标按源数据独立重算一致", FAIL, "发布目录中缺少 indicators.csv"))
    elif not compared:
        out.append(Check("准确性", "A2", "关键指标按源数据独立重算一致", SKIP,
                         "本期无可重算的关键指标（" + "；".join(notes or ["数据集不可读"]) + "）"))
    else:
        out.append(Check("准确性", "A2", "关键指标按源数据独立重算一致", FAIL if bad else PASS,
                         "；".join(bad) if bad else f"已重算指标 {'、'.join(compared)}，与 indicators.csv 一致"
                         + (f"（{'；'.join(notes)}）" if notes else "")))

    idents = (("1", ("2", "5")), ("8", ("9", "12")), ("15", ("17", "20")))
    done, bad = [], []
    for total, parts in idents:
        t = _region_value(ind, total)
        ps = [_region_value(ind, x) for x in parts]
        if t is None or any(x is None for x in ps):
            continue
        done.append(f"{total}={'+'.join(parts)}")
        if not _close(t, sum(ps), tol=0.03):
            bad.append(f"指标{total} {_fmt(t)} ≠ {'+'.join(parts)} {_fmt(sum(ps))}")
    out.append(Check("准确性", "A3", "底稿指标之间的勾稽关系成立（1=2+5，8=9+12，15=17+20）",
                     SKIP if not done else FAIL if bad else PASS,
                     "本期无可核对的指标" if not done else "；".join(bad) if bad else f"已核对 {'、'.join(done)}"))

    pairs = (("11", "10", "职工住院统筹基金支出（结算数据）不超过统筹基金支出（基金报表）"),
             ("13", "12", "居民住院统筹基金支出（结算数据）不超过居民医保基金支出（基金报表）"))
    done, bad = [], []
    for a, b, text in pairs:
        va, vb = _region_value(ind, a), _region_value(ind, b)
        if va is None or vb is None:
            continue
        done.append(text)
        if va > vb + TOLERANCE:
            bad.append(f"指标{a} {_fmt(va)} 大于指标{b} {_fmt(vb)}")
    out.append(Check("准确性", "A4", "结算数据与基金报表两个来源相互印证", SKIP if not done else FAIL if bad else PASS,
                     "本期无可核对的指标" if not done else "；".join(bad) if bad else "；".join(done)))

    from yibao import fmt
    found, missing = [], []
    for iid, label in (("1", "收入合计"), ("8", "支出合计")):
        v = _region_value(ind, iid)
        if v is None:
            continue
        forms = {fmt.money(v), fmt.money(v, "万元"), fmt.money(v, "亿元"), fmt.wan(v), fmt.yi(v),
                 fmt.money(v, "万元", 1), fmt.money(v, "亿元", 1), fmt.wan(v, 1), fmt.yi(v, 1),
                 fmt.wan(v, 0), fmt.yi(v, 0)}
        forms |= {f.replace(",", "") for f in forms}
        (found if any(f in report_text for f in forms) else missing).append(f"{label}（指标{iid}）")
    if found or missing:
        out.append(Check("准确性", "A5", "报告正文中的关键数字与数据底稿一致", PASS if not missing else NOTE,
                         (f"报告中找到 {'、'.join(found)}" if found else "")
                         + ("；" if found and missing else "")
                         + (f"报告中未找到与底稿一致的 {'、'.join(missing)}，请人工核对" if missing else "")))
    return out


def completeness_checks(pub_dir: Path, kind: str, stem: str, data_dir: Path | None, region: str | None = None,
                        period: str | None = None) -> tuple[list[Check], str]:
    """(the checks, the report's HTML text for A5)."""
    out: list[Check] = []
    html_p, nb_p = pub_dir / f"{stem}.html", pub_dir / f"{stem}.ipynb"
    parsed = parse_html(html_p) if html_p.exists() else None
    nb_text, nb_errors, nb_heads = "", [], []
    if nb_p.exists():
        nb_text, nb_errors = notebook_text(nb_p)
        nb = json.loads(nb_p.read_text(encoding="utf-8"))
        for c in nb.get("cells", []):
            if c.get("cell_type") == "markdown":
                src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                nb_heads += [m.group(1).strip() for m in re.finditer(r"^#\s+(.+)$", src, re.M)]
    expected = list(dict.fromkeys([*EXPECTED_SECTIONS.get(kind, ()), *nb_heads]))
    norm = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    if parsed is not None:
        heads = [norm(h) for _, h in parsed.headings]
        missing = [e for e in expected if not any(norm(e) in h for h in heads)]
        out.append(Check("完整性", "B1", "报告各部分齐全（章节标题）", FAIL if missing or not expected else PASS,
                         (f"HTML 中缺少：{'、'.join(missing)}" if missing else f"{len(expected)} 个章节均在：{'、'.join(expected)}")
                         if expected else "未找到章节标题"))
    else:
        out.append(Check("完整性", "B1", "报告各部分齐全（章节标题）", FAIL, f"缺少 {stem}.html，无法核对章节"))
    if parsed is not None:
        empty = []
        for i, t in enumerate(parsed.tables, 1):
            body = [r for r in t[1:] if any(c.strip() for c in r)] if len(t) > 1 else []
            if not body:
                empty.append(str(i))
        problems = ([f"第 {'、'.join(empty)} 个表格没有数据行"] if empty else []) + \
                   ([f"notebook 有 {len(nb_errors)} 个错误输出（{nb_errors[0][:80]}）"] if nb_errors else [])
        out.append(Check("完整性", "B2", "无空表格、无执行错误", FAIL if problems else PASS,
                         "；".join(problems) if problems else f"HTML 中 {len(parsed.tables)} 个表格均有数据；notebook 无错误输出"))
    else:
        out.append(Check("完整性", "B2", "无空表格、无执行错误", SKIP, "缺少 HTML"))

    problems, notes, passed = [], [], ""
    if data_dir is not None and Path(data_dir).is_dir():
        from yibao.data.contract import TABLES
        from yibao.data.load import find_source
        for name, spec in TABLES.items():
            if spec.required and find_source(data_dir, name) is None:
                problems.append(f"缺少必需的表 {name}（{spec.zh}）")
        from yibao.data.gate import cached_warnings
        warned = cached_warnings(data_dir, region, period)  # what the command's validation gate found
        if warned:
            notes.append(f"数据校验通过，有 {len(warned)} 个警告：" + "；".join(p.line() for p in warned[:5])
                         + ("…（yibao validate 查看全部）" if len(warned) > 5 else ""))
        elif warned is not None:
            passed = "；数据校验通过，无警告"
    ind = _read_indicators(pub_dir)
    if ind is not None and "status" in ind.columns:
        mi = ind[(ind["status"] == "missing_input") & (ind.get("fixmedins_code", "").astype(str).str.strip() == "")]
        if not mi.empty:
            notes.append(f"{len(mi)} 个指标缺少输入数据（missing_input）：{'、'.join(mi['indicator_id'].astype(str).tolist()[:15])}")
    out.append(Check("完整性", "B3", "必需的输入数据齐全", FAIL if problems else NOTE if notes else PASS,
                     "；".join(problems + notes) if problems or notes else "数据集包含全部必需的表；底稿指标无缺少输入" + passed))

    have = {p.suffix.lower() for p in pub_dir.glob(f"{stem}.*")}
    rendered = [s.lstrip(".") for s in (".html", ".docx", ".pdf") if s in have]
    missing = [f for f in (f"{stem}.ipynb", "indicators.csv", "checks.csv") if not (pub_dir / f).exists()]
    if not rendered:
        missing.append(f"{stem}.html/.docx/.pdf")
    out.append(Check("完整性", "B4", "发布文件齐全", FAIL if missing else PASS,
                     f"缺少 {'、'.join(missing)}" if missing else f"报告格式：{'、'.join(rendered)}；数据底稿与复核清单齐全"))
    text = parsed.text if parsed is not None else nb_text
    return out, text


def compliance_checks(pub_dir: Path, region: str, wh, files: list[ScannedFile], stem: str) -> list[Check]:
    out: list[Check] = []
    # C1 psn_no: every token of every output looked up among the dataset's psn_no values
    tokens: dict[str, set[str]] = {}
    for f in files:
        for t in set(TOKEN_RX.findall(f.text)):
            tokens.setdefault(t, set()).add(f.path.name)
    if wh is not None and wh.has("setl") and tokens:
        tok = pd.DataFrame({"token": sorted(tokens)})
        wh.con.register("_review_tokens", tok)
        try:
            hits = [r[0] for r in wh.sql("SELECT DISTINCT t.token FROM _review_tokens t "
                                         "JOIN (SELECT DISTINCT psn_no FROM setl_all) s ON s.psn_no = t.token").fetchall()]
        finally:
            wh.con.unregister("_review_tokens")
        where = sorted({fn for h in hits for fn in tokens[h]})
        out.append(Check("合规性", "C1", "无人员编号（psn_no）", FAIL if hits else PASS,
                         f"在 {'、'.join(where)} 中发现数据集中的人员编号 {len(hits)} 个（如 {mask(hits[0])}）" if hits
                         else f"已将 {len(files)} 个文件中的 {len(tokens)} 个编码类字符串与结算数据中的人员编号逐一比对，未发现"))
    else:
        out.append(Check("合规性", "C1", "无人员编号（psn_no）", SKIP if not tokens else NOTE,
                         "数据集无结算表，无法比对人员编号" if tokens else "无可扫描的文本"))

    def scan(rx, label: str, cid: str, item: str):
        hits: dict[str, set[str]] = {}
        for f in files:
            texts = [c for c in f.cells if not _is_number(c)] if f.cells else [f.text]
            for t in texts:
                for m in rx.findall(t):
                    hits.setdefault(m if isinstance(m, str) else m[0], set()).add(f.path.name)
        where = sorted({fn for v in hits.values() for fn in v})
        out.append(Check("合规性", cid, item, FAIL if hits else PASS,
                         f"在 {'、'.join(where)} 中发现疑似{label} {len(hits)} 个（如 {mask(next(iter(hits)))}）" if hits
                         else f"{len(files)} 个文件中未发现{label}"))

    scan(ID_RX, "身份证号", "C2", "无身份证号")
    scan(MOBILE_RX, "手机号", "C3", "无手机号码")

    # C4 other regions' institutions
    if wh is not None and wh.has("fixmedins"):
        fx = wh.df("SELECT fixmedins_code, fixmedins_name, poolarea_no FROM fixmedins")
        own = fx[fx["poolarea_no"] == str(region)]
        other = fx[fx["poolarea_no"] != str(region)]
        own_names = [str(n) for n in own["fixmedins_name"].dropna()]
        names = [str(n) for n in other["fixmedins_name"].dropna().unique()
                 if len(str(n)) >= 4 and not any(str(n) in o for o in own_names)]
        codes = {str(c) for c in other["fixmedins_code"].dropna()}
        hits_n: dict[str, set[str]] = {}
        hits_c: dict[str, set[str]] = {}
        for f in files:
            for n in names:
                if n in f.text:
                    hits_n.setdefault(n, set()).add(f.path.name)
        for t, fns in tokens.items():
            if t in codes:
                hits_c.setdefault(t, set()).update(fns)
        if hits_n or hits_c:
            where = sorted({fn for v in (*hits_n.values(), *hits_c.values()) for fn in v})
            ex = [mask(x) for x in list(hits_n)[:2] + list(hits_c)[:2]]
            out.append(Check("合规性", "C4", "不含其他统筹地区的机构", FAIL,
                             f"在 {'、'.join(where)} 中发现其他统筹地区的机构名称 {len(hits_n)} 个、编码 {len(hits_c)} 个"
                             f"（如 {'、'.join(ex)}）"))
        else:
            out.append(Check("合规性", "C4", "不含其他统筹地区的机构", PASS,
                             f"已比对其他统筹地区 {len(other)} 家机构的名称和编码，未发现"))
    else:
        out.append(Check("合规性", "C4", "不含其他统筹地区的机构", SKIP, "数据集无 fixmedins 表"))

    # C5 suppression
    ind = _read_indicators(pub_dir)
    if ind is None or "status" not in ind.columns:
        out.append(Check("合规性", "C5", "小数值已按规则隐去（<5）", SKIP, "缺少 indicators.csv"))
    else:
        inst = ind[ind.get("fixmedins_code", "").astype(str).str.strip() != ""]
        leaked = inst[(inst["status"] == "suppressed") & (inst["value"].astype(str).str.strip() != "")]
        try:
            from yibao.metrics.catalogue import CATALOGUE
            count_ids = {i.id for i in CATALOGUE if i.kind == "count" and i.suppress}
        except Exception:  # noqa: BLE001 - the catalogue's API is not needed for the rule
            count_ids = set(COUNT_IDS_FALLBACK)
        small = inst[inst["indicator_id"].isin(count_ids) & (inst["status"] == "ok")]
        vals = pd.to_numeric(small["value"], errors="coerce")
        small = small[(vals > 0) & (vals < SUPPRESS_MIN)]
        n_sup = int((inst["status"] == "suppressed").sum())
        problems = []
        if not leaked.empty:
            problems.append(f"{len(leaked)} 行标为 suppressed 却仍有数值（指标 {'、'.join(sorted(set(leaked['indicator_id'])))}）")
        if not small.empty:
            problems.append(f"{len(small)} 行机构计数在 1–{SUPPRESS_MIN - 1} 之间未隐去（指标 {'、'.join(sorted(set(small['indicator_id'])))}）")
        out.append(Check("合规性", "C5", "小数值已按规则隐去（<5）", FAIL if problems else PASS,
                         "；".join(problems) if problems else f"机构级指标中 {n_sup} 个值按规则隐去，无未隐去的小数值"))

    # C6 confidentiality line in the report itself
    rep = [f for f in files if f.path.stem == stem and f.path.suffix.lower() in (".html", ".pdf", ".docx")]
    if rep:
        lacking = [f.path.name for f in rep if CONFIDENTIALITY_MARK not in f.text]
        out.append(Check("合规性", "C6", "报告载明知悉范围（数据仅限本统筹地区内部使用）", FAIL if lacking else PASS,
                         f"{'、'.join(lacking)} 中未找到“{CONFIDENTIALITY_MARK}…”保密说明" if lacking
                         else f"{'、'.join(f.path.name for f in rep)} 均载明"))
    return out


# ---- sign-off --------------------------------------------------------------------------------

SIGN_COLUMNS = ("序号", "姓名", "单位", "职务/角色", "审议意见", "签字", "日期")
#: the framework of handbook 二(二): 组长 1, 副组长 2–3 (医保部门分管负责同志 1, 定点医疗机构负责同志 1–2),
#: 成员 from 医药管理、规划财务、医保经办、数据管理 and the drawn hospital representatives (≥ 8)
FRAME_ROWS = (("医保部门（主要负责同志）", "工作组组长"), ("医保部门（分管负责同志）", "工作组副组长"),
              ("定点医疗机构（负责同志）", "工作组副组长"), ("定点医疗机构（负责同志，可选第2名）", "工作组副组长"),
              ("医保部门·医药管理", "工作组成员"), ("医保部门·规划财务", "工作组成员"),
              ("医保部门·医保经办", "工作组成员"), ("医保部门·数据管理", "工作组成员"))
HOSPITAL_REPS_MIN = 8


def roster_provenance(roster: Path | None) -> tuple[bool, str]:
    """(usable, text for 成员名单): a roster is used only when the draw record beside it (draw.json)
    lists the same people; the text ties the roster to its draw (year, seed, pool hash)."""
    if roster is None or not Path(roster).exists():
        return False, "未提供（请手工填写）"
    roster = Path(roster)
    rec_path = roster.parent / "draw.json"
    if not rec_path.is_file():
        return False, f"{roster} 旁没有抽取记录 draw.json，名单无法与抽取核对，未采用（请手工填写）"
    try:
        from yibao.workgroup.draw import read_roster
        rec = json.loads(rec_path.read_text(encoding="utf-8"))
        ids = set(read_roster(roster)["人员ID"].astype(str))
        selected = {str(x["person_id"]) for x in rec["selected"]}
    except Exception as exc:  # noqa: BLE001 - an unreadable roster or record is reported, not fatal
        return False, f"{roster} 或 {rec_path.name} 无法读取（{type(exc).__name__}），名单未采用（请手工填写）"
    if ids != selected:
        return False, f"{roster} 与抽取记录 {rec_path} 的入选名单不一致，名单未采用（请核实后手工填写）"
    g = rec.get("governance") or {}
    return True, (f"{roster}（{rec['year']}年抽取记录 {rec_path.name} SHA-256 {sha256(rec_path)[:16]}…；种子 "
                  f"{str(rec['seed'])[:16]}…；成员库 SHA-256 {str(rec.get('pool_sha256'))[:16]}…"
                  + (f"；抽取于 {g['run_at']}，公开随机值 {g['beacon_value']}" if g.get("run_at") else "") + "）")


def signoff_table(roster: Path | None, blank_rows: int = 0, meeting: dict | None = None) -> pd.DataFrame:
    """The sign-off rows in the roles of handbook 二(二) (医保部门 and hospital heads blank, to fill in by
    hand), then every drawn hospital representative of the roster (only when :func:`roster_provenance`
    accepts it; else 8 blank rows), each with 审议意见 / 签字 / 日期. With a ``meeting``
    (:mod:`yibao.workgroup.decision`) each attendee's opinion is filled in (absent: 缺席 and the reason);
    attendees not on a named row take the first blank row of their role, else a new row."""
    rows = [{"姓名": "", "单位": unit, "职务/角色": role} for unit, role in FRAME_ROWS]
    ok, _ = roster_provenance(roster)
    if ok:
        from yibao.workgroup.draw import read_roster
        r = read_roster(roster)
        pick = lambda row, *names: next((str(row[n]) for n in names if n in row and str(row[n]).strip()), "")  # noqa: E731
        for _, row in r.iterrows():
            rows.append({"姓名": pick(row, "姓名", "name"),
                         "单位": pick(row, "定点医疗机构名称", "机构名称", "fixmedins_name", "定点医疗机构编号",
                                    "fixmedins_code"),
                         "职务/角色": "定点医疗机构代表" + (f"（{pick(row, '职务', 'title')}）" if pick(row, "职务", "title") else "")})
    else:
        rows += [{"姓名": "", "单位": "定点医疗机构", "职务/角色": "定点医疗机构代表"} for _ in range(HOSPITAL_REPS_MIN)]
    rows += [{"姓名": "", "单位": "医保部门", "职务/角色": "工作组成员"} for _ in range(blank_rows)]
    for r in rows:
        r["审议意见"] = r["签字"] = r["日期"] = ""
    for a in (meeting or {}).get("attendance", []):
        opinion = a["opinion"] if a["present"] else f"缺席（{a['reason'] or '未说明'}）"
        hit = next((r for r in rows if r["姓名"] == a["name"]), None)
        if hit is None:
            hit = next((r for r in rows if not r["姓名"] and a["role"] and r["职务/角色"].startswith(a["role"])), None)
        if hit is None:
            hit = {"姓名": "", "单位": "", "职务/角色": a["role"] or "工作组成员", "签字": ""}
            rows.append(hit)
        hit.update({"姓名": a["name"], "审议意见": opinion, "日期": meeting["date"] if a["present"] else ""})
    df = pd.DataFrame(rows)
    df.insert(0, "序号", [str(i) for i in range(1, len(df) + 1)])
    return df[list(SIGN_COLUMNS)]


def version_id(files: list[dict]) -> str:
    """The record's 版本标识: the first 12 hex digits of SHA-256 over the sorted ``name:sha256`` lines of
    the files reviewed — any change to any file gives another version."""
    import hashlib
    text = "\n".join(f"{f['文件']}:{f['SHA-256']}" for f in sorted(files, key=lambda f: f["文件"]))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


# ---- the record ------------------------------------------------------------------------------

KIND_LABEL = {"quarterly": "季度发布分析报告", "monthly": "月度推送", "annual": "年度通报", "topic": "专题分析报告",
              "survey": "调查问卷分析报告"}


def run_checks(pub_dir: Path, kind: str, region: str, period: str, data_dir: Path | None,
               stem: str | None = None) -> list[Check]:
    """Every automatic check of the record (see the module docstring)."""
    pub_dir = Path(pub_dir)
    stem = stem or default_stem(kind, period)
    wh = None
    if data_dir is not None and Path(data_dir).is_dir():
        from yibao.data.warehouse import Warehouse
        try:
            wh = Warehouse(data_dir)
        except Exception:  # noqa: BLE001 - the record still lists what could be checked
            wh = None
    try:
        comp, html_text = completeness_checks(pub_dir, kind, stem, data_dir, region, period)
        acc = accuracy_checks(pub_dir, region, period, wh, html_text)
        files = []
        unreadable = []
        for p in output_files(pub_dir):
            try:
                files.append(read_output(p))
            except Exception as exc:  # noqa: BLE001
                unreadable.append(f"{p.name}（{type(exc).__name__}）")
        comp_ = compliance_checks(pub_dir, region, wh, files, stem)
        if unreadable:
            comp_.append(Check("合规性", "C0", "全部输出文件可读取并已扫描", FAIL, "无法读取：" + "、".join(unreadable)))
        from yibao.workgroup.review_text import read_report, text_checks
        text = text_checks(pub_dir, stem)  # the report read as a reader does (issue 13)
        html = pub_dir / f"{stem}.html"
        if html.exists():
            from yibao.workgroup.review_items import item_checks
            prose, tables = read_report(html)
            text += item_checks(pub_dir, stem, kind, region, period, data_dir, prose, tables)
        else:
            text += [Check(cat, cid, "正文核对", SKIP, f"发布目录中没有 {stem}.html，正文未能核对")
                     for cat, cid in (("准确性", "D6"), ("准确性", "D7"), ("准确性", "D8"), ("准确性", "D9"),
                                      ("准确性", "D10"), ("完整性", "B5"), ("完整性", "B6"), ("合规性", "C9"))]
        return (acc + [c for c in text if c.category == "准确性"] + comp + [c for c in text if c.category == "完整性"]
                + comp_ + [c for c in text if c.category == "合规性"])
    finally:
        if wh is not None:
            wh.close()


def _region_name(data_dir: Path | None, region: str) -> str:
    if data_dir is None:
        return region
    try:
        from yibao.data.load import read_table
        pa = read_table(data_dir, "poolarea", required=False)
        if pa is not None:
            m = pa.loc[pa["poolarea_no"] == str(region), "poolarea_name"]
            if len(m):
                return str(m.iloc[0])
    except Exception:  # noqa: BLE001
        pass
    return region


def build_review(pub_dir: Path, kind: str, region: str, period: str, data_dir: Path,
                 roster: Path | None = None, stem: str | None = None, meeting: dict | None = None,
                 reviewed_version: str | None = None, file_names: list[str] | None = None) -> Path:
    """Write the 审议 record beside the report: ``review.xlsx`` (+ ``review.docx``, ``review.md``,
    ``review.json``); topic studies get ``review-<stem>.*``. Returns the xlsx path.

    With ``meeting`` (``yibao workgroup decide``, :mod:`yibao.workgroup.decision`) the decision is
    checked first and the record carries the meeting, the opinions, the decision and the corrections.
    ``file_names`` limits the file list to the publication's own files (the names of the first record)."""
    from yibao.workgroup import decision
    pub_dir = Path(pub_dir)
    stem = stem or default_stem(kind, period)
    checks = run_checks(pub_dir, kind, region, period, data_dir, stem)
    signoff = signoff_table(roster, meeting=meeting)
    p = Period.parse(period)
    name = _region_name(Path(data_dir) if data_dir else None, region)
    paths = [f for f in output_files(pub_dir) if file_names is None or f.name in file_names]
    files = [{"文件": f.name, "SHA-256": sha256(f)} for f in paths]
    version = version_id(files)
    if meeting is not None:
        drawn = signoff_table(roster)
        names = {n for n, r in zip(drawn["姓名"], drawn["职务/角色"]) if n and r.startswith("定点医疗机构代表")}
        decision.check_decision(meeting, checks, names, version, reviewed_version)
    _, roster_text = roster_provenance(roster)
    info = {
        "报告": f"{name}{p.label}{KIND_LABEL.get(kind, kind)}" + (f"（{stem}）" if kind == "topic" else ""),
        "统筹地区": f"{name}（{region}）",
        "期间": p.label,
        "版本标识": f"{version}（文件清单 {len(files)} 个文件的 SHA-256 汇总，见“文件清单”）",
        "审议依据": "医保数据发布简明工作手册 六(五) 工作组审议：准确性、完整性、合规性，成员签字确认",
        "自动检查时间": dt.datetime.now().isoformat(timespec="seconds"),
        "自动检查结论": conclusion(checks),
        "成员名单": roster_text,
    }
    if meeting is not None:
        info.update(decision.decision_lines(meeting))
    else:
        info["审议结论"] = "待会议审议（会后用 yibao workgroup decide 记录会议、意见和结论）"
    corrections = decision.corrections_rows(meeting) if meeting else []
    base = record_name(kind, stem)
    xlsx = pub_dir / f"{base}.xlsx"
    write_xlsx(xlsx, info, checks, signoff, files, corrections)
    write_text(pub_dir / f"{base}.md", markdown(info, checks, signoff, files, corrections))
    write_docx(pub_dir / f"{base}.docx", info, checks, signoff, files, corrections)
    write_text(pub_dir / f"{base}.json", json.dumps({
        "kind": kind, "region": str(region), "period": p.code, "stem": stem,
        "data_dir": str(Path(data_dir).resolve()) if data_dir else None,
        "roster": str(Path(roster).resolve()) if roster else None, "version": version,
        "files": files, "info": info, "checks": [c.__dict__ for c in checks],
        "meeting": meeting, "decision": meeting["decision"] if meeting else None,
        "reviewed_version": reviewed_version}, ensure_ascii=False, indent=1) + "\n")
    return xlsx


def conclusion(checks: list[Check]) -> str:
    """'自动检查 20 项：通过 16、提示 2、未执行 2；…' — skipped checks are counted as such, never as passed."""
    from yibao.workgroup.review_text import summary
    fails = [c for c in checks if c.result == FAIL]
    notes = [c for c in checks if c.result == NOTE]
    skips = [c for c in checks if c.result == SKIP]
    head = f"自动检查{summary(checks)}"
    if fails:
        return f"{head}；不通过的是{'、'.join(c.id for c in fails)}，须整改后再审议发布"
    return (head + (f"；{len(notes)} 项提示请人工确认" if notes else "")
            + (f"；{len(skips)} 项未执行，请人工核对" if skips else "") + "；请成员审议后签字")



def review_docx_page(pub_dir: Path, kind: str, region: str, period: str, data_dir: Path,
                     roster: Path | None = None, stem: str | None = None) -> Path:
    """Only the DOCX page (``review.docx``) of the record; :func:`build_review` writes it too."""
    stem = stem or default_stem(kind, period)
    checks = run_checks(Path(pub_dir), kind, region, period, data_dir, stem)
    p = Period.parse(period)
    name = _region_name(Path(data_dir) if data_dir else None, region)
    info = {"报告": f"{name}{p.label}{KIND_LABEL.get(kind, kind)}", "统筹地区": f"{name}（{region}）",
            "期间": p.label, "自动检查结论": conclusion(checks)}
    files = [{"文件": f.name, "SHA-256": sha256(f)} for f in output_files(Path(pub_dir))]
    info["版本标识"] = version_id(files)
    return write_docx(Path(pub_dir) / f"{record_name(kind, stem)}.docx", info, checks, signoff_table(roster), files)


def run_cli(args) -> int:
    """``yibao workgroup decide``: record the meeting and its decision (:mod:`yibao.workgroup.decision`)."""
    from yibao.errors import YibaoError
    from yibao.workgroup.decision import PUBLISHABLE, load_meeting
    pub = Path(args.dir)
    rec_path = pub / f"{args.record}.json"
    if not rec_path.is_file():
        raise YibaoError(f"--dir {pub}: 没有 {rec_path.name}（先由 yibao run 生成审议记录）")
    rec = json.loads(rec_path.read_text(encoding="utf-8"))
    meeting = load_meeting(args.meeting)
    xlsx = build_review(pub, rec["kind"], rec["region"], rec["period"],
                               Path(rec["data_dir"]) if rec.get("data_dir") else None,
                               roster=Path(rec["roster"]) if rec.get("roster") else None, stem=rec["stem"],
                               meeting=meeting, reviewed_version=rec.get("reviewed_version") or rec.get("version"),
                               file_names=[f["文件"] for f in rec.get("files", [])])
    print(f"审议结论已记录：{meeting['decision']}（{PUBLISHABLE[meeting['decision']]}）→ {xlsx}、"
          f"{xlsx.with_suffix('.docx')}、{xlsx.with_suffix('.md')}")
    return 0
