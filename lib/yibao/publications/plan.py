"""The annual data-release plan (年度数据发布计划) and running what it has due.

``yibao plan --year Y --data DIR [--out params]`` draws up, for every region of the dataset, the
releases dated in year Y and writes ``OUT/plan-Y.yaml`` (the editable source), ``OUT/plan-Y.xlsx``
(a summary sheet and one sheet per region, Chinese headers) and ``OUT/plan-Y.md``. When
``OUT/plan-Y.yaml`` already exists it wins: it is read back (people edit it) and only the xlsx and
Markdown are regenerated from it; delete the YAML to draw the plan up afresh.

``yibao run --plan params/plan-Y.yaml --due YYYY-MM`` runs every release of every region whose date
falls in that month (:func:`run_due`).

The rules (docs/plan.md, with their seed sources):

* 12 monthly pushes (月推送, 定向推送): the push in month M carries month M−1's data and is dated the
  20th of M (after the monthly settlement; next working day when the 20th falls on a weekend), so
  plan-Y holds the pushes of Dec Y−1 … Nov Y data, all dated in Y. Fujian rules 第十条 (每月月度结算
  完成后通报), handbook 三(二), 四(三).
* 4 quarterly releases (季发布) in the second month of each quarter (Feb, May, Aug, Nov; the 15th or
  the next working day) carrying the previous quarter (Q4 of Y−1, Q1–Q3 of Y). Fujian 第十一条
  (每季度第二个月通报). Each quarter has a face-to-face release; two of them are offline (``面对面``): the
  Q1 one (February) and the one after the annual clearing (May: clearing is complete by the end of
  April, Jilin notice 二(一)); the August and November ones are held online (``线上``). Handbook 四(二),
  四(三), 七(三).
* The annual briefing (年通报) of year Y−1: 面对面, 20 May (next working day) — within one month after
  the clearing. Fujian 第十二条, handbook 七(三).
* Topic studies (专题分析), one with each quarterly release (same period and date): about 3 codes each —
  ADRGs in DRG regions, ICD-10 categories in DIP regions — each from a different MDC / ICD-10 chapter,
  MDCs / chapters not covered by earlier years' plans first, by case volume; the lead (牵头承办机构) is
  the region's tertiary hospital with the most cases in those codes. Handbook 五(三), 七(二).

Dates only skip weekends: the system does not know public holidays (春节, 国庆); edit the YAML.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import yaml

from yibao import PROJECT_DIR
from yibao.errors import YibaoError
from yibao.data.periods import Period, PeriodError

KINDS = ("monthly", "quarterly", "annual", "topic")
KIND_ZH = {"monthly": "月推送", "quarterly": "季发布", "annual": "年通报", "topic": "专题分析"}
FORM_PUSH, FORM_OFFLINE, FORM_ONLINE, FORM_WRITTEN = "定向推送", "面对面", "线上", "书面"
FORMS = (FORM_PUSH, FORM_OFFLINE, FORM_ONLINE, FORM_WRITTEN)
DECK_KINDS = ("quarterly",)        # kinds whose release can carry ``deck: true`` (the 发布会 slides, pptx)
INSTITUTION_KINDS = ("monthly", "quarterly")  # ``institutions: true``: every hospital's 定向推送 package too
# a release's optional outputs: key -> (kinds that can carry it, what it asks for, why another kind cannot)
RELEASE_FLAGS = {"deck": (DECK_KINDS, "是否生成发布会幻灯片", "发布会幻灯片目前只有季发布（quarterly）提供"),
                 "institutions": (INSTITUTION_KINDS, "是否生成各机构的定向推送包",
                                  "机构定向推送包只随月推送（monthly）或季发布（quarterly）生成")}
MONTHLY_DAY = 20                   # after the monthly settlement
QUARTER_MONTHS = (2, 5, 8, 11)     # the second month of each quarter
QUARTERLY_DAY = 15
OFFLINE_QUARTER_MONTHS = (2, 5)    # Q1 and the one after the annual clearing
CLEARING_DONE = (4, 30)            # clearing complete by the end of April (Jilin notice 二(一))
ANNUAL_DATE = (5, 20)              # within one month after the clearing
TOPICS_PER_ENTRY = 3
TOPIC_MIN_CASES = 5
DRG_GROUPS_TOTAL = 26              # MDCs
DIP_GROUPS_TOTAL = 20              # ICD-10 chapters of the DIP library (chapters 20 外因 and 22 特殊用途 excluded)
_WEEKDAY = "一二三四五六日"


# ---- dates ------------------------------------------------------------------------------------

def working_day(d: dt.date) -> dt.date:
    """The date itself, or the next Monday when it falls on a weekend (public holidays are not known)."""
    while d.weekday() >= 5:
        d += dt.timedelta(days=1)
    return d


def _date(value, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise YibaoError(f"{where}: 日期 {value!r} 无法识别（应为 YYYY-MM-DD）") from None


# ---- the schedule ---------------------------------------------------------------------------------

def schedule(year: int) -> list[dict]:
    """The releases of year ``year`` common to every region: 12 monthly, 4 quarterly, the annual briefing."""
    out = []
    for m in range(1, 13):
        data = Period(year, m, 1).previous()
        out.append({"kind": "monthly", "period": data.code,
                    "date": working_day(dt.date(year, m, MONTHLY_DAY)).isoformat(), "form": FORM_PUSH,
                    "institutions": True})  # the monthly push goes to every hospital (八(二)): its packages
    for m in QUARTER_MONTHS:
        data = Period(year, (m - 1) // 3 * 3 + 1, 3).previous()  # the quarter before the one containing m
        out.append({"kind": "quarterly", "period": data.code,
                    "date": working_day(dt.date(year, m, QUARTERLY_DAY)).isoformat(),
                    "form": FORM_OFFLINE if m in OFFLINE_QUARTER_MONTHS else FORM_ONLINE,
                    "deck": True})  # every quarter has a face-to-face release (四(二)): its slides
    out.append({"kind": "annual", "period": str(year - 1),
                "date": working_day(dt.date(year, *ANNUAL_DATE)).isoformat(), "form": FORM_OFFLINE})
    return out


def _sort_releases(releases: list[dict]) -> list[dict]:
    return sorted(releases, key=lambda e: (str(e["date"]), KINDS.index(e["kind"]) if e["kind"] in KINDS else 9,
                                           str(e.get("period"))))


# ---- topic groups (MDC / chapter) ---------------------------------------------------------------

def group_of(code: str, pay_method: str) -> str | None:
    """The coverage group of a topic code: the MDC of an ADRG (DRG regions, ``MDCE``) or the ICD-10
    chapter number of a category (DIP regions, ``'9'``)."""
    from yibao.data import reference
    code = str(code or "").strip().upper()
    if not code:
        return None
    if str(pay_method).upper() == "DRG":
        m = dict(zip(reference.adrg()["adrg_code"], reference.adrg()["mdc_code"]))
        return m.get(code[:3]) or f"MDC{code[0]}"
    return reference.chapter_of(code)


def group_label(group: str, pay_method: str) -> str:
    from yibao.data import reference
    if group is None:
        return ""
    if str(pay_method).upper() == "DRG":
        names = dict(zip(reference.mdc()["mdc_code"], reference.mdc()["mdc_name"]))
        return f"{group} {names.get(group, '')}".strip()
    ch = reference.icd10_chapters().set_index("chapter")
    if str(group) in ch.index:
        return f"第{ch.loc[str(group), 'roman']}章 {ch.loc[str(group), 'chapter_name']}"
    return str(group)


def topic_name(code: str, pay_method: str) -> str:
    from yibao.data import reference
    if str(pay_method).upper() == "DRG":
        return dict(zip(reference.adrg()["adrg_code"], reference.adrg()["adrg_name"])).get(code, "")
    return reference.icd_names().get(code, "")


# ---- ranking candidates -----------------------------------------------------------------------------

def base_months(wh, year: int) -> list[str]:
    """The 12 months the plan for ``year`` is drawn up on: those of year−1, or the latest 12 months of
    data when the dataset ends earlier."""
    months = wh.months()
    if not months:
        return []
    last = min(months[-1], f"{year - 1}-12")
    return [m for m in Period.parse(last).trailing_months(12) if m >= months[0]]


def rank_candidates(wh, region: str, pay_method: str, months: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidate topic codes of a region by volume, and cases per code and hospital.

    DRG: ADRG (drg_catalog.adrg_code, else the first 3 characters of drg_code); DIP: the 3-character
    ICD-10 category of the group (dip_catalog.icd_category, else of main_diag_code). Grouped cases
    (grp_stas = 1) at the region's institutions in ``months``. Returns (ranked: code, group, cases,
    hifp_pay; by_hospital: code, fixmedins_code, fixmedins_name, lv_group, cases)."""
    from yibao.data.warehouse import months_filter
    if not months or not wh.has("setl_list"):
        return pd.DataFrame(), pd.DataFrame()
    if pay_method == "DRG":
        if wh.has("drg_catalog"):
            code = "coalesce(c.adrg_code, substr(l.drg_code, 1, 3))"
            join = "LEFT JOIN drg_catalog c ON c.drg_code = l.drg_code AND c.poolarea_no = l.poolarea_no"
        else:
            code, join = "substr(l.drg_code, 1, 3)", ""
    else:
        if wh.has("dip_catalog"):
            code = "upper(coalesce(c.icd_category, substr(l.main_diag_code, 1, 3)))"
            join = "LEFT JOIN dip_catalog c ON c.dip_code = l.dip_code AND c.poolarea_no = l.poolarea_no"
        else:
            code, join = "upper(substr(l.main_diag_code, 1, 3))", ""
    by_h = wh.df(f"""
        SELECT {code} AS code, l.fixmedins_code, f.fixmedins_name, f.lv_group, COUNT(*) AS cases,
               SUM(l.hifp_pay) AS hifp_pay
        FROM setl_list_net l {join} JOIN fixmedins_x f ON f.fixmedins_code = l.fixmedins_code
        WHERE l.poolarea_no = ? AND l.grp_stas = '1' AND {months_filter(months, 'l.month')}
        GROUP BY 1, 2, 3, 4""", [region])
    by_h = by_h[by_h["code"].notna() & (by_h["code"] != "")]
    if by_h.empty:
        return pd.DataFrame(), by_h
    ranked = by_h.groupby("code", as_index=False).agg(cases=("cases", "sum"), hifp_pay=("hifp_pay", "sum"),
                                                      hospitals=("fixmedins_code", "nunique"))
    ranked = _external_ranking(wh, region, months, ranked)
    ranked["group"] = [group_of(c, pay_method) for c in ranked["code"]]
    ranked = ranked[ranked["group"].notna()]
    if pay_method != "DRG":
        ranked = ranked[~ranked["group"].isin(["20", "22"])]
    return ranked.reset_index(drop=True), by_h


def _external_ranking(wh, region: str, months: list[str], ranked: pd.DataFrame) -> pd.DataFrame:
    """Order candidates with ``yibao.publications.topic.rank_topics`` when that module offers it (its first column
    that holds codes decides the order); else by cases, fund spending, code."""
    ranked = ranked.sort_values(["cases", "hifp_pay", "code"], ascending=[False, False, True])
    try:
        from yibao.publications import topic
        fn = getattr(topic, "rank_topics")
    except (ImportError, AttributeError):
        return ranked
    try:
        year = int(months[-1][:4])
        ext = fn(wh, region, year)
        ext = ext if isinstance(ext, pd.DataFrame) else pd.DataFrame(ext)
        col = next((c for c in ("code", "adrg_code", "icd_category", "topic") if c in ext.columns), None)
        if col is None:
            return ranked
        order = {str(c).upper(): i for i, c in enumerate(ext[col].astype(str))}
        ranked = ranked.assign(_o=ranked["code"].map(order).fillna(len(order) + ranked.reset_index().index))
        return ranked.sort_values(["_o"]).drop(columns="_o")
    except Exception:  # noqa: BLE001 - a ranking problem must not stop the plan: volume order stands
        return ranked


def choose_topics(ranked: pd.DataFrame, covered: dict[str, int], n_entries: int = 4,
                  per_entry: int = TOPICS_PER_ENTRY, min_cases: int = TOPIC_MIN_CASES) -> list[list[str]]:
    """Split the best candidates into ``n_entries`` topic studies of ``per_entry`` codes, every code from
    a different group (MDC / chapter): groups never covered before first (in ranking order), then groups
    covered longest ago. ``covered``: group → last year it was covered in a plan."""
    if ranked is None or ranked.empty:
        return []
    r = ranked[ranked["cases"] >= min_cases].reset_index(drop=True)
    best = r.drop_duplicates("group", keep="first").reset_index(drop=True)  # best code per group
    best["rank"] = range(len(best))
    fresh = best[~best["group"].isin(covered)]
    seen = best[best["group"].isin(covered)].assign(_y=lambda d: d["group"].map(covered))
    seen = seen.sort_values(["_y", "rank"])
    codes = list(fresh["code"]) + list(seen["code"])
    codes = codes[: n_entries * per_entry]
    return [codes[i:i + per_entry] for i in range(0, len(codes), per_entry)]


def choose_lead(by_h: pd.DataFrame, codes: list[str]) -> str:
    """The tertiary (三级) hospital with the most grouped cases in ``codes``; any hospital when the
    region has no tertiary hospital treating them."""
    d = by_h[by_h["code"].isin(codes)]
    if d.empty:
        return ""
    h = d.groupby(["fixmedins_code", "fixmedins_name", "lv_group"], as_index=False)["cases"].sum()
    t3 = h[h["lv_group"] == "三级"]
    pick = (t3 if len(t3) else h).sort_values(["cases", "fixmedins_code"], ascending=[False, True]).iloc[0]
    return str(pick["fixmedins_name"])


# ---- earlier plans ------------------------------------------------------------------------------------

def plan_dirs(out: Path | None = None) -> list[Path]:
    dirs = []
    for d in (out, PROJECT_DIR / "params"):
        if d is not None and Path(d).is_dir() and Path(d).resolve() not in [x.resolve() for x in dirs]:
            dirs.append(Path(d))
    return dirs


def earlier_coverage(region: str, pay_method: str, year: int, dirs: list[Path]) -> dict[str, int]:
    """Groups (MDC / chapter) covered by the region's topic entries in plans of years before ``year``:
    group → the latest such year."""
    out: dict[str, int] = {}
    for d in dirs:
        for path in sorted(Path(d).glob("plan-*.yaml")):
            m = re.fullmatch(r"plan-(\d{4})\.yaml", path.name)
            if not m or int(m.group(1)) >= year:
                continue
            try:
                p = load_plan(path)
            except YibaoError:
                continue
            reg = p["regions"].get(str(region))
            if not reg:
                continue
            for e in reg["releases"]:
                if e["kind"] == "topic":
                    for c in e.get("topics") or []:
                        g = group_of(c, pay_method)
                        if g:
                            out[g] = max(out.get(g, 0), p["year"])
    return out


# ---- drawing up -------------------------------------------------------------------------------------

def draw_up(data_dir, year: int, out: Path | None = None, data_label: str | None = None) -> dict:
    """The plan for ``year`` for every region of the dataset (the YAML structure as a dict)."""
    from yibao.data.warehouse import Warehouse
    plan = {"year": int(year), "data": data_label if data_label is not None else str(data_dir), "regions": {}}
    with Warehouse(data_dir) as wh:
        regions = wh.regions()
        months = base_months(wh, year)
        dirs = plan_dirs(out)
        for r in regions.itertuples():
            pay = str(r.pay_method or "").upper()
            releases = schedule(year)
            quarterly = [e for e in releases if e["kind"] == "quarterly"]
            ranked, by_h = rank_candidates(wh, r.poolarea_no, pay, months)
            covered = earlier_coverage(r.poolarea_no, pay, year, dirs)
            for q, codes in zip(quarterly, choose_topics(ranked, covered, n_entries=len(quarterly))):
                releases.append({"kind": "topic", "period": q["period"], "topics": codes,
                                 "lead": choose_lead(by_h, codes), "date": q["date"]})
            plan["regions"][str(r.poolarea_no)] = {"name": str(r.poolarea_name), "pay_method": pay,
                                                   "releases": _sort_releases(releases)}
    return plan


# ---- YAML ---------------------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[^\s\-?:,\[\]{}#&*!|>'\"%@`][^,\[\]{}#:'\"]*$")


def _s(value) -> str:
    """A YAML scalar for a flow mapping: plain when that reads back as the same string, else quoted."""
    s = str(value)
    if s and _PLAIN.match(s) and s == s.strip():
        try:
            if yaml.safe_load(s) == s:
                return s
        except yaml.YAMLError:
            pass
    return json.dumps(s, ensure_ascii=False)


def _entry_yaml(e: dict) -> str:
    keys = ["kind", "period", "topics", "lead", "date"] if e["kind"] == "topic" else ["kind", "period", "date", "form"]
    keys += [k for k in e if k not in keys]
    parts = []
    for k in keys:
        if k not in e or e[k] is None:
            continue
        v = e[k]
        if k in ("period", "date"):
            parts.append(f"{k}: {json.dumps(str(v))}")
        elif isinstance(v, bool):
            parts.append(f"{k}: {'true' if v else 'false'}")
        elif isinstance(v, (list, tuple)):
            parts.append(f"{k}: [{', '.join(_s(x) for x in v)}]")
        else:
            parts.append(f"{k}: {_s(v)}")
    return "{" + ", ".join(parts) + "}"


def dump_plan(plan: dict) -> str:
    """The plan as the editable YAML (flow-style entries, one per line, with a header comment)."""
    y = plan["year"]
    lines = [
        f"# {y}年度医保数据发布计划 — 可编辑的源文件（yibao plan --year {y} 生成）。",
        "# 修改日期、发布形式、专题病种或牵头机构后，再次运行 `yibao plan --year "
        f"{y} --data …` 即按本文件重新生成 plan-{y}.xlsx 和 plan-{y}.md（本文件存在时不会被覆盖）。",
        "# kind: monthly 月推送 | quarterly 季发布 | annual 年通报 | topic 专题分析；period: 数据期间；date: 发布日期；",
        "# form: 定向推送 | 面对面（线下面对面发布活动）| 线上（线上面对面）| 书面；topics: ADRG（DRG地区）或ICD-10类目（DIP地区）。",
        "# deck: true — 季发布同时生成发布会幻灯片（pptx，面对面发布用）；false 则不生成。",
        "# institutions: true — 月推送/季发布之后为每家定点医疗机构生成定向推送包（PDF + 疑点明细 xlsx）；false 则不生成。",
        "# 规则和依据见 docs/plan.md。`yibao run --plan 本文件 --due YYYY-MM` 运行该月到期的全部发布。",
        f"year: {int(y)}",
    ]
    if plan.get("data"):
        lines.append(f"data: {_s(plan['data'])}")
    lines.append("regions:")
    for code, r in plan["regions"].items():
        lines.append(f"  {json.dumps(str(code))}:")
        lines.append(f"    name: {_s(r.get('name', ''))}")
        lines.append(f"    pay_method: {_s(r.get('pay_method', ''))}")
        topics = [c for e in r["releases"] if e["kind"] == "topic" for c in e.get("topics") or []]
        if topics:
            groups = [group_of(c, r.get("pay_method", "")) or "?" for c in topics]
            label = "MDC" if str(r.get("pay_method")).upper() == "DRG" else "ICD-10章"
            lines.append(f"    # 专题覆盖{label}: " + ", ".join(
                f"{c}→{g if label == 'MDC' else '第' + g + '章'}" for c, g in zip(topics, groups)))
        lines.append("    releases:")
        for e in r["releases"]:
            lines.append(f"      - {_entry_yaml(e)}")
    return "\n".join(lines) + "\n"


def load_plan(path) -> dict:
    """Read and normalise a plan YAML (region keys and periods as strings, dates as ISO strings);
    a malformed file or entry is a YibaoError naming the file and the entry."""
    path = Path(path)
    if not path.exists():
        raise YibaoError(f"--plan: 发布计划文件 {path} 不存在（先运行 yibao plan --year YYYY --data DIR）")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise YibaoError(f"{path}: 不是有效的 YAML — {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict) or "regions" not in raw or "year" not in raw:
        raise YibaoError(f"{path}: 发布计划需要 year 和 regions 两个键")
    try:
        year = int(raw["year"])
    except (TypeError, ValueError):
        raise YibaoError(f"{path}: year 应为年份，收到 {raw['year']!r}") from None
    plan = {"year": year, "data": raw.get("data"), "regions": {}}
    for code, r in (raw.get("regions") or {}).items():
        code = str(code).zfill(6) if str(code).isdigit() else str(code)
        r = r or {}
        rels = []
        for i, e in enumerate(r.get("releases") or [], start=1):
            where = f"{path.name}: {code} 第{i}项"
            if not isinstance(e, dict):
                raise YibaoError(f"{where}: 应为 {{kind: …, period: …, date: …}}")
            kind = str(e.get("kind", "")).strip()
            if kind not in KINDS:
                raise YibaoError(f"{where}: kind {kind!r} 无效（可选 {', '.join(KINDS)}）")
            period = str(e.get("period", "")).strip()
            try:
                period = Period.parse(period).code
            except PeriodError as exc:
                raise YibaoError(f"{where}: period — {exc}") from None
            if e.get("date") is None:
                raise YibaoError(f"{where}: 缺少发布日期 date")
            entry = dict(e)
            entry.update(kind=kind, period=period, date=_date(e.get("date"), where).isoformat())
            if kind == "topic":
                topics = e.get("topics")
                if isinstance(topics, str):
                    topics = [t for t in re.split(r"[,，、\s]+", topics) if t]
                if not topics:
                    raise YibaoError(f"{where}: 专题分析需要 topics（病种编码列表）")
                entry["topics"] = [str(t).strip() for t in topics]
                entry["lead"] = "" if e.get("lead") is None else str(e.get("lead"))
            elif e.get("form") is not None:
                entry["form"] = str(e["form"])
            for flag, (kinds, what, only) in RELEASE_FLAGS.items():
                if flag not in e:
                    continue
                if not isinstance(e[flag], bool):
                    raise YibaoError(f"{where}: {flag} 应为 true 或 false（{what}），收到 {e[flag]!r}")
                if e[flag] and kind not in kinds:
                    raise YibaoError(f"{where}: {flag}: true — {only}")
            rels.append(entry)
        plan["regions"][code] = {"name": str(r.get("name") or code), "pay_method": str(r.get("pay_method") or "").upper(),
                                 "releases": rels}
    return plan


def check_plan(plan: dict) -> list[str]:
    """The plan rules, as warnings (an edited plan may depart from them on purpose)."""
    y = plan["year"]
    out = []
    for code, r in plan["regions"].items():
        rel = r["releases"]
        name = f"{code} {r.get('name', '')}"
        by = {k: [e for e in rel if e["kind"] == k] for k in KINDS}
        if len({e["period"] for e in by["monthly"]}) != 12:
            out.append(f"{name}: 月推送应为12次（现{len(by['monthly'])}次）")
        if len(by["quarterly"]) != 4:
            out.append(f"{name}: 季发布应为4次（现{len(by['quarterly'])}次）")
        for e in rel:
            if not str(e["date"]).startswith(f"{y}-"):
                out.append(f"{name}: {KIND_ZH[e['kind']]} {e['period']} 的发布日期 {e['date']} 不在{y}年内")
        for e in by["quarterly"]:
            if int(e["date"][5:7]) not in QUARTER_MONTHS:
                out.append(f"{name}: 季发布 {e['period']} 应在季度第二个月（2、5、8、11月），现为 {e['date']}")
        f2f = [e for e in by["quarterly"] + by["annual"] if e.get("form") == FORM_OFFLINE]
        if len({e["date"] for e in f2f}) < 2:
            out.append(f"{name}: 一年内至少开展2次线下面对面发布（现{len(f2f)}次）")
        for e in by["annual"]:
            d = dt.date.fromisoformat(e["date"])
            done = dt.date(y, *CLEARING_DONE)
            if not (done < d <= done + dt.timedelta(days=31)):
                out.append(f"{name}: 年通报 {e['period']} 应在年度清算完成（{done:%m月%d日}）后1个月内，现为 {e['date']}")
        groups = [group_of(c, r.get("pay_method", "")) for e in by["topic"] for c in e.get("topics") or []]
        dup = sorted({g for g in groups if g and groups.count(g) > 1})
        if dup:
            out.append(f"{name}: 专题病种重复覆盖 {', '.join(dup)}（应逐步覆盖不同的MDC/章）")
    return out


# ---- xlsx and Markdown ----------------------------------------------------------------------------

RULES_ZH = [
    ("月推送", f"每月{MONTHLY_DAY}日（遇周末顺延）定向推送上月数据（月度结算完成后），同时向每家定点医疗机构推送其报告和疑点明细"
              "（institutions: true）", "福建工作规则第十条；手册三(二)、四(三)、八(二)"),
    ("季发布", f"每季度第二个月（2、5、8、11月）{QUARTERLY_DAY}日发布上一季度数据；每季度1次面对面发布，"
              "2月（第1季度）和5月（年度清算后）为线下面对面，8月、11月为线上", "福建第十一条；手册四(二)、四(三)、七(三)"),
    ("年通报", f"年度清算（{CLEARING_DONE[0]}月底前完成）后1个月内，{ANNUAL_DATE[0]}月{ANNUAL_DATE[1]}日召开年度通报会（线下面对面）",
     "福建第十二条；吉林通知二(一)；手册七(三)"),
    ("专题分析", "随每次季发布，每项约3个病种（DRG地区ADRG、DIP地区ICD-10类目），分属不同MDC/章，优先覆盖以往计划未覆盖的，"
                "按结算量选取；牵头机构为该病种结算量最大的三级医院", "手册五(三)、七(二)"),
]


def _entry_row(e: dict, pay: str) -> dict:
    p = Period.parse(e["period"])
    d = dt.date.fromisoformat(e["date"])
    topics = e.get("topics") or []
    groups = [group_label(group_of(c, pay), pay) for c in topics]
    return {
        "发布日期": e["date"], "星期": "星期" + _WEEKDAY[d.weekday()], "发布类型": KIND_ZH.get(e["kind"], e["kind"]),
        "数据期间": f"{p.label}（{p.code}）", "发布形式": e.get("form") or (FORM_PUSH if e["kind"] == "topic" else ""),
        "专题病种": "、".join(f"{c} {topic_name(c, pay)}".strip() for c in topics),
        "覆盖MDC/章": "；".join(dict.fromkeys(groups)), "牵头机构": e.get("lead") or "",
    }


def region_frame(r: dict) -> pd.DataFrame:
    rows = [_entry_row(e, r.get("pay_method", "")) for e in r["releases"]]
    df = pd.DataFrame(rows, columns=["发布日期", "星期", "发布类型", "数据期间", "发布形式", "专题病种", "覆盖MDC/章", "牵头机构"])
    df.insert(0, "序号", range(1, len(df) + 1))
    return df


def summary_frame(plan: dict) -> pd.DataFrame:
    rows = []
    for code, r in plan["regions"].items():
        rel = r["releases"]
        pay = r.get("pay_method", "")
        topics = [c for e in rel if e["kind"] == "topic" for c in e.get("topics") or []]
        groups = {group_of(c, pay) for c in topics} - {None}
        total = DRG_GROUPS_TOTAL if pay == "DRG" else DIP_GROUPS_TOTAL
        annual = [e["date"] for e in rel if e["kind"] == "annual"]
        rows.append({
            "统筹区编号": code, "统筹区名称": r.get("name", ""), "支付方式": pay,
            "月推送（次）": sum(e["kind"] == "monthly" for e in rel),
            "季发布（次）": sum(e["kind"] == "quarterly" for e in rel),
            "线下面对面（次）": len({e["date"] for e in rel if e.get("form") == FORM_OFFLINE}),
            "年通报日期": "、".join(annual),
            "专题分析（项）": sum(e["kind"] == "topic" for e in rel),
            "专题病种": "、".join(topics),
            "本年覆盖MDC/章": f"{len(groups)}/{total}",
        })
    return pd.DataFrame(rows)


def calendar_frame(plan: dict) -> pd.DataFrame:
    y = plan["year"]
    cols = {code: f"{code} {r.get('name', '')}" for code, r in plan["regions"].items()}
    rows = []
    for m in range(1, 13):
        row = {"月份": f"{y}年{m}月"}
        for code, r in plan["regions"].items():
            items = [e for e in r["releases"] if e["date"][:7] == f"{y}-{m:02d}"]
            row[cols[code]] = "；".join(
                f"{e['date'][5:]} {KIND_ZH[e['kind']]} {e['period']}" + (f"（{e['form']}）" if e.get("form") and
                                                                         e["kind"] != "monthly" else "")
                for e in items)
        rows.append(row)
    return pd.DataFrame(rows)


def _sheet_name(code: str, name: str, used: set) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "", f"{code}{name}")[:31]
    s, i = base, 2
    while s in used:
        s = f"{base[:28]}-{i}"
        i += 1
    used.add(s)
    return s


def write_xlsx(plan: dict, path: Path) -> Path:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from yibao.escape import xlsx_workbook
    from yibao.fsutil import atomic_path
    y = plan["year"]
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            summ = summary_frame(plan)
            summ.to_excel(xw, sheet_name="汇总", index=False, startrow=2)
            cal = calendar_frame(plan)
            cal_row = len(summ) + 6
            cal.to_excel(xw, sheet_name="汇总", index=False, startrow=cal_row)
            rules = pd.DataFrame(RULES_ZH, columns=["发布类型", "编制规则", "依据"])
            rules_row = cal_row + len(cal) + 4
            rules.to_excel(xw, sheet_name="汇总", index=False, startrow=rules_row)
            ws = xw.sheets["汇总"]
            ws.cell(1, 1, f"{y}年度医保数据发布计划（汇总）").font = Font(bold=True, size=14)
            ws.cell(cal_row, 1, "发布日历").font = Font(bold=True, size=12)
            ws.cell(rules_row, 1, "编制规则").font = Font(bold=True, size=12)
            for i in range(1, max(len(summ.columns), len(cal.columns)) + 1):
                ws.column_dimensions[get_column_letter(i)].width = 22
            used = {"汇总"}
            for code, r in plan["regions"].items():
                df = region_frame(r)
                sn = _sheet_name(code, r.get("name", ""), used)
                df.to_excel(xw, sheet_name=sn, index=False, startrow=2)
                ws = xw.sheets[sn]
                ws.cell(1, 1, f"{r.get('name', code)}（{code}，{r.get('pay_method', '')}）{y}年度数据发布计划").font = \
                    Font(bold=True, size=13)
                widths = [6, 12, 8, 10, 22, 10, 40, 30, 26]
                for i, w in enumerate(widths, start=1):
                    ws.column_dimensions[get_column_letter(i)].width = w
                for row in ws.iter_rows(min_row=4, max_row=3 + len(df)):
                    for c in row:
                        c.alignment = Alignment(wrap_text=True, vertical="top")
                ws.freeze_panes = "A4"
            xlsx_workbook(xw.book)  # names from data stay text (never a formula)
    return Path(path)


def _md_table(df: pd.DataFrame) -> str:
    from yibao.publications.display import markdown_table
    return markdown_table(df.astype(str))[0]


def render_markdown(plan: dict) -> str:
    y = plan["year"]
    out = [f"# {y}年度医保数据发布计划", "",
           f"按《医保数据发布简明工作手册》三(一)（每年12月底前确定下一年度数据发布计划，报送省级医保部门）编制。"
           f"本计划列出各统筹地区{y}年内的全部数据发布：月推送、季发布、年通报和专题分析。"
           f"可编辑源文件为 plan-{y}.yaml；修改后重新运行 `yibao plan --year {y}` 即重新生成本文件和 plan-{y}.xlsx；"
           f"`yibao run --plan plan-{y}.yaml --due {y}-MM` 生成该月到期的全部发布。", "",
           "## 汇总", "", _md_table(summary_frame(plan)), "",
           "## 发布日历", "", _md_table(calendar_frame(plan)), ""]
    for code, r in plan["regions"].items():
        out += [f"## {r.get('name', code)}（{code}，{r.get('pay_method', '')}）", "", _md_table(region_frame(r)), ""]
    out += ["## 编制规则", "", _md_table(pd.DataFrame(RULES_ZH, columns=["发布类型", "编制规则", "依据"])), "",
            "日期仅顺延周末，未考虑法定节假日（春节、国庆等），请在 YAML 中调整。"]
    warnings = check_plan(plan)
    if warnings:
        out += ["", "## 与编制规则不一致之处", ""] + [f"- {w}" for w in warnings]
    return "\n".join(out) + "\n"


def write_outputs(plan: dict, out: Path) -> dict[str, Path]:
    """plan-Y.xlsx and plan-Y.md in ``out`` (the YAML is written only by :func:`run_cli` when new)."""
    from yibao.fsutil import write_text
    out = Path(out)
    y = plan["year"]
    return {"xlsx": write_xlsx(plan, out / f"plan-{y}.xlsx"),
            "md": write_text(out / f"plan-{y}.md", render_markdown(plan))}


# ---- lookups for the notebooks ----------------------------------------------------------------------

def _plans_for(years, dirs=None) -> list[dict]:
    out = []
    for d in dirs or plan_dirs(None):
        for y in years:
            p = Path(d) / f"plan-{y}.yaml"
            if p.exists():
                try:
                    out.append(load_plan(p))
                except YibaoError:
                    pass
    return out


def find_release(region: str, kind: str, period: str, dirs=None) -> dict | None:
    """The planned release of ``kind`` carrying ``period`` for a region (from params/plan-*.yaml)."""
    p = Period.parse(period)
    for plan in _plans_for([p.year, p.year + 1], dirs):
        for e in (plan["regions"].get(str(region)) or {}).get("releases", []):
            if e["kind"] == kind and e["period"] == p.code:
                return dict(e, period_label=p.label)
    return None


def release_date(region: str, kind: str, period: str, given: str | None = None, dirs=None) -> dt.date:
    """The day a publication is released: ``given`` (YYYY-MM-DD, a notebook parameter) if set, else the
    date of its entry in the year's plan (params/plan-YYYY.yaml), else today (no plan for it)."""
    if given:
        return _date(given, "release_date")
    e = find_release(region, kind, period, dirs)
    return dt.date.fromisoformat(e["date"]) if e else dt.date.today()


def next_release(region: str, kind: str | None = None, after: str | dt.date | None = None,
                 dirs=None) -> dict | None:
    """The first planned release of a region (of ``kind``) dated after ``after`` (a date or YYYY-MM)."""
    if after is None:
        after = dt.date.today()
    if isinstance(after, str):
        after = dt.date.fromisoformat(after + "-01") if len(after) == 7 else dt.date.fromisoformat(after)
    found = []
    for plan in _plans_for([after.year, after.year + 1], dirs):
        for e in (plan["regions"].get(str(region)) or {}).get("releases", []):
            if (kind is None or e["kind"] == kind) and e["date"] > after.isoformat():
                found.append(dict(e, period_label=Period.parse(e["period"]).label))
    return min(found, key=lambda e: e["date"]) if found else None


# ---- yibao plan ---------------------------------------------------------------------------------------

def _data_label(data: str) -> str:
    p = Path(data)
    try:
        return str(p.resolve().relative_to(PROJECT_DIR.resolve()))
    except ValueError:
        return str(data)


def run_cli(args) -> int:
    year = int(args.year)
    out = Path(args.out or "params")
    out.mkdir(parents=True, exist_ok=True)
    src = out / f"plan-{year}.yaml"
    if src.exists():
        plan = load_plan(src)
        if plan["year"] != year:
            raise YibaoError(f"{src}: year 为 {plan['year']}，与 --year {year} 不符")
        print(f"发布计划 {src} 已存在，按其重新生成 xlsx 和 Markdown（删除该文件可重新编制）/ "
              f"existing plan read back, not overwritten")
    else:
        data = Path(args.data)
        if not data.is_dir():
            raise YibaoError(f"--data: 数据目录 {data} 不存在")
        from yibao.data.gate import print_warnings, validated
        print_warnings(validated(data))  # nothing is computed from a dataset that fails validation
        plan = draw_up(data, year, out, data_label=_data_label(args.data))
        from yibao.fsutil import write_text
        write_text(src, dump_plan(plan))
        print(f"已编制 {year} 年度数据发布计划 / plan drawn up: {src}")
    files = write_outputs(plan, out)
    summ = summary_frame(plan)
    for r in summ.itertuples(index=False):
        print(f"  {r[0]} {r[1]}（{r[2]}）：月推送{r[3]}次，季发布{r[4]}次（线下面对面{r[5]}次），"
              f"年通报 {r[6] or '—'}，专题{r[7]}项 {r[8]}")
    for w in check_plan(plan):
        print(f"  提示 / note: {w}")
    print(f"输出 / outputs: {src}  {files['xlsx']}  {files['md']}")
    return 0
