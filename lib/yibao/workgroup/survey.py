"""The release questionnaire (handbook 六(六), 附录4 调查问卷) — as data, sample responses, analysis.
The report and ``yibao survey`` are in :mod:`yibao.workgroup.survey_report`.

The questionnaire lives in ``workgroup/survey_questions.yaml``: the 24 questions exactly as printed in
附录4 plus the two respondent-profile questions (填报单位类别, 机构等级), each with its type
(single / multi / number / text) and options.

Responses are read as a questionnaire platform (问卷星-like) exports them, one row per respondent,
xlsx or csv (UTF-8 with or without BOM, or GBK/GB18030), the question text as the column header:

* headers: ``1、<question text>`` (also ``1.``, ``Q1``, ``第1题``, or the bare text; a header is matched
  by its text after removing the number and whitespace, else by its number); ``填报单位类别`` and
  ``机构等级`` for the profile. Other columns (序号, 提交答卷时间, 所用时间, 来源 …) are ignored except
  ``提交答卷时间``, whose latest date becomes the survey date.
* single-choice answers: the option text (``是，按月或按季度``), the letter (``A``), or both (``A.是…``,
  ``A、是…``); an option with a blank carries its filling as ``是〖15〗`` (the platform's form),
  ``是(15)``, ``是：15`` or the printed label with the blank filled (``是，反馈时间为15天``).
* multiple-choice answers: the chosen options joined by ``┋`` (问卷星), ``；``, ``;``, ``|``, a line break
  or ``／``; a part that is not a whole option is split on ``，`` ``,`` ``、`` when every resulting part is a
  whole option (option texts contain commas, so a comma only separates when that is the only reading).
* options are matched **whole**: "满意度一般" is not 满意; an answer that matches no option whole is invalid.
* impossible or contradictory answers (skip logic, ranges, exclusive options: :mod:`survey_rules`) are
  invalid: not counted in the question's base, listed with the rule (:attr:`SurveyAnalysis.invalid`).
* numbers: the first number in the cell (``3``, ``约3个月``, ``85%``); text that holds no number is
  listed as unreadable.
* empty cells are "not answered" and do not count in the base of a share.

Shares: for every question, share = respondents choosing the option / respondents with a valid answer
× 100 (for multiple choice the shares add up to more than 100%); by type and level the base is the
group's valid answerers, and groups under ``SUPPRESS_MIN`` respondents are not shown.

The sample generator writes the same layout (option texts, ``┋`` for multiple choice, ``〖…〗`` for
fillings) so the demo and the tests go through the same reader as a real export.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from yibao import PROJECT_DIR
from yibao.data.privacy import mask_identifiers  # noqa: F401 - part of the survey's API
from yibao.errors import YibaoError
from yibao.metrics.catalogue import SUPPRESS_MIN

QUESTIONS_FILE = Path(__file__).resolve().parent / "survey_questions.yaml"
NOTEBOOK = PROJECT_DIR / "notebooks" / "survey.ipynb"
MULTI_SEPARATORS = ("┋", "；", ";", "|", "\n", "／")
_MULTI_SPLIT = re.compile("|".join(re.escape(s) for s in MULTI_SEPARATORS))
TYPES = ("公立", "社会办", "零售药店")
LEVELS = ("三级", "二级", "一级")
NOT_STATED = "未填"
NOT_APPLICABLE = "不适用"
UNREADABLE = "无法识别"
SUBMIT_COLUMNS = ("提交答卷时间", "提交时间", "答题时间", "填写时间")


# ---- the questionnaire ---------------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    key: str
    label: str
    text: str
    fill: str | None = None  # None | "text" | "number"
    fill_unit: str | None = None


@dataclass(frozen=True)
class Question:
    id: str
    number: int
    text: str
    type: str
    options: tuple[Option, ...] = ()
    unit: str | None = None
    group: tuple[tuple[str, str], ...] = ()  # profile questions: answer text -> category

    @property
    def header(self) -> str:
        """The column header a platform exports: ``1、<text>`` (profile questions: the bare text)."""
        return f"{self.number}、{self.text}" if self.number else self.text

    @property
    def title(self) -> str:
        return f"{self.number}. {self.text}" if self.number else self.text

    def option(self, key: str) -> Option:
        for o in self.options:
            if o.key == key:
                return o
        raise KeyError(key)


@dataclass(frozen=True)
class Questionnaire:
    title: str
    source: str
    intro: str
    closing: str
    profile: tuple[Question, ...]
    questions: tuple[Question, ...]

    def __getitem__(self, qid: str) -> Question:
        for q in (*self.profile, *self.questions):
            if q.id == qid:
                return q
        raise KeyError(qid)


def _question(d: dict) -> Question:
    opts = tuple(Option(str(o["key"]), str(o["label"]), str(o["text"]), o.get("fill"), o.get("fill_unit"))
                 for o in d.get("options") or ())
    return Question(str(d["id"]), int(d["number"]), str(d["text"]), str(d["type"]), opts, d.get("unit"),
                    tuple((str(k), str(v)) for k, v in (d.get("group") or {}).items()))


@functools.lru_cache(maxsize=1)
def questionnaire() -> Questionnaire:
    """The 附录4 questionnaire from ``workgroup/survey_questions.yaml``."""
    import yaml
    d = yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))
    return Questionnaire(d["title"], d["source"], d["intro"], d["closing"],
                         tuple(_question(q) for q in d["profile"]), tuple(_question(q) for q in d["questions"]))


# ---- reading an export ---------------------------------------------------------------------

def _norm(text: str) -> str:
    s = re.sub(r"\s+", "", str(text or ""))
    s = s.replace("（", "(").replace("）", ")").replace("：", ":").replace("？", "?").replace("，", ",")
    return re.sub(r"_+", "_", s)


_NUM_PREFIX = re.compile(r"^\s*(?:Q|q|第)?\s*(\d{1,2})\s*(?:题)?\s*(?:[、.．:：)）]|\s)\s*")


def _split_header(h: str) -> tuple[int | None, str]:
    m = _NUM_PREFIX.match(str(h))
    if m:
        return int(m.group(1)), str(h)[m.end():]
    return None, str(h)


def match_columns(columns) -> dict[str, str]:
    """question id -> the column holding its answers (unmatched questions are absent)."""
    qn = questionnaire()
    out: dict[str, str] = {}
    by_text = {_norm(q.text): q for q in qn.questions}
    for col in columns:
        c = str(col).strip().lstrip("\ufeff")
        n = _norm(c)
        if ("单位类别" in n or n in ("机构类别", "单位类型", "机构类型")) and "unit_type" not in out:
            out["unit_type"] = col
            continue
        if ("机构等级" in n or n in ("医院等级", "等级")) and len(n) <= 12 and "level" not in out:
            out["level"] = col
            continue
        num, rest = _split_header(c)
        rn = _norm(rest)
        q = by_text.get(rn)
        if q is None and len(rn) >= 8:
            q = next((x for t, x in by_text.items() if t.startswith(rn) or rn.startswith(t)), None)
        if q is None and num is not None and 1 <= num <= len(qn.questions) and not rn.startswith(("(", "_")):
            q = qn.questions[num - 1]
        if q is not None and q.id not in out:
            out[q.id] = col
    return out


def read_responses(path: str | os.PathLike) -> pd.DataFrame:
    """An export (xlsx or csv, UTF-8 or GBK) as a DataFrame of strings (empty cells as '')."""
    p = Path(path)
    if not p.is_file():
        raise YibaoError(f"--responses {p}: 文件不存在")
    suffix = p.suffix.lower()
    if suffix == ".xls":
        raise YibaoError(f"--responses {p.name}: 旧版 Excel（.xls）不受支持，请在 Excel/WPS 中另存为 .xlsx 后重试")
    if suffix in (".xlsx", ".xlsm"):
        try:
            df = pd.read_excel(p, dtype=str)
        except Exception as exc:  # noqa: BLE001 - a damaged or mis-named file is bad input, not a crash
            raise YibaoError(f"--responses {p.name}: 无法读取 Excel 文件（{type(exc).__name__}: {exc}）") from exc
    elif suffix in (".csv", ".txt"):
        from yibao.data.load import detect_encoding
        df = pd.read_csv(p, dtype=str, encoding=detect_encoding(p), keep_default_na=False)
    else:
        raise YibaoError(f"--responses {p.name}: 不支持的文件类型（应为问卷平台导出的 xlsx 或 csv）")
    df = df.fillna("")
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    cols = match_columns(df.columns)
    if sum(1 for k in cols if k.startswith("q")) == 0:
        raise YibaoError(f"--responses {p.name}: 找不到附录4问卷的题目列（表头应为题目文字，如“1、您所在统筹地区医保部门"
                         f" 2024 年至今是否向定点医药机构发布过医保数据？”）")
    return df


# ---- parsing answers -----------------------------------------------------------------------

_LETTER = re.compile(r"^\s*([A-Za-z])\s*(?:[.．、:：)）]\s*|\s+|$)")
_FILL = re.compile(r"^[\s,，:：]*(?:〖(.*)〗|\[(.*)\]|【(.*)】|[(（](.*)[)）]|(.*))\s*$", re.S)


def _fill_text(rest: str) -> str:
    m = _FILL.match(rest or "")
    if not m:
        return (rest or "").strip()
    return next((g for g in m.groups() if g is not None), "").strip()


def _label_regex(o: Option) -> re.Pattern | None:
    if "_____" not in o.label:
        return None
    parts = [re.escape(_norm(p)) for p in o.label.split("_____")]
    return re.compile("^" + "(.*?)".join(parts) + "$")


def _fill_form(rest: str) -> bool:
    """True when the text after an option is a filling in one of the forms exports use:
    ``〖…〗``, ``[…]``, ``【…】``, ``(…)``, or ``：…`` / ``:…``."""
    r = (rest or "").strip()
    return bool(re.fullmatch(r"(?:〖.*〗|\[.*\]|【.*】|[(（].*[)）]|[:：,，].*)", r, re.S))


def parse_choice(q: Question, answer: str) -> tuple[str | None, str]:
    """One chosen option: (option key or None when unreadable, filling text).

    An option is matched whole: the letter alone, the option's text or printed label, the letter followed
    by exactly that text, or — for an option with a blank — the text followed by the filling in a form
    of :func:`_fill_form` or the printed label with the blank filled. "满意度一般" is not "满意"."""
    s = str(answer or "").strip()
    if not s:
        return None, ""
    keys = {o.key for o in q.options}
    m = _LETTER.match(s)
    if m and m.group(1).upper() in keys:
        key = m.group(1).upper()
        rest = s[m.end():].strip()
        o = q.option(key)
        if not rest:
            return key, ""
        k2, f2 = parse_choice(q, rest)
        if k2 == key:
            return key, f2
        return None, s  # a letter followed by another option's words, or by words of no option
    ns = _norm(s)
    for o in q.options:
        if ns in (_norm(o.text), _norm(o.label)):
            return o.key, ""
    for o in q.options:
        rx = _label_regex(o)
        if rx:
            mm = rx.match(ns)
            if mm:
                return o.key, _fill_text(mm.group(1))
    for o in sorted(q.options, key=lambda x: -len(x.text)):
        if o.fill and s.startswith(o.text) and _fill_form(s[len(o.text):]):
            return o.key, _fill_text(s[len(o.text):].lstrip(":：,，"))
    return None, s


def _split_commas(q: Question, piece: str) -> list[str] | None:
    """A piece split on ``，`` ``,`` ``、`` into whole options, when that is the only way to read it
    (option texts contain commas: the split is accepted only if every part is a whole option)."""
    toks = re.split(r"(，|,|、)", piece)
    words, seps = toks[0::2], toks[1::2]
    n = len(words)
    best: dict[int, list[str] | None] = {n: []}
    for i in range(n - 1, -1, -1):
        best[i] = None
        for j in range(i + 1, n + 1):
            seg = words[i]
            for k in range(i + 1, j):
                seg += seps[k - 1] + words[k]
            if best[j] is not None and parse_choice(q, seg.strip())[0] is not None:
                best[i] = [seg.strip()] + best[j]
                break
    return best[0]


def parse_answer(q: Question, answer) -> list[tuple[str | None, str]]:
    """The options chosen in one cell: [(key or None, filling)], empty when not answered."""
    s = "" if answer is None or (isinstance(answer, float) and math.isnan(answer)) else str(answer).strip()
    if not s:
        return []
    if q.type == "multi":
        parts = [p.strip() for p in _MULTI_SPLIT.split(s) if p.strip()]
        if len(parts) == 1 and re.fullmatch(r"[A-Za-z]{2,}", parts[0]) and \
                all(c.upper() in {o.key for o in q.options} for c in parts[0]):
            parts = list(parts[0].upper())  # "ABD"
        split = []
        for p in parts:
            if parse_choice(q, p)[0] is None:
                split += _split_commas(q, p) or [p]
            else:
                split.append(p)
        out, seen = [], set()
        for p in split:
            k, f = parse_choice(q, p)
            if k is None or k not in seen:
                out.append((k, f))
                if k:
                    seen.add(k)
        return out
    return [parse_choice(q, s)]


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def parse_number(answer) -> float | None:
    s = "" if answer is None else str(answer).strip().replace(",", "")
    m = _NUMBER.search(s)
    return float(m.group(0)) if m else None


def respondent_type(answer: str) -> str:
    s = _norm(answer)
    if not s:
        return NOT_STATED
    if "药店" in s or "药房" in s:
        return "零售药店"
    if "社会办" in s or "民营" in s or "社会" in s or "私立" in s:
        return "社会办"
    if "公立" in s:
        return "公立"
    k, _ = parse_choice(questionnaire()["unit_type"], answer)
    return {"A": "公立", "B": "社会办", "C": "零售药店"}.get(k or "", NOT_STATED)


def respondent_level(answer: str, rtype: str) -> str:
    s = _norm(answer)
    if rtype == "零售药店":
        return NOT_APPLICABLE
    for lv in LEVELS:
        if s.startswith(lv) or s.startswith(lv[0]) and len(s) <= 4:
            return lv
    if s in ("A", "B", "C"):
        return LEVELS["ABC".index(s)]
    if s.startswith(("3", "三")):
        return "三级"
    if s.startswith(("2", "二")):
        return "二级"
    if s.startswith(("1", "一", "基层", "社区", "乡镇")):
        return "一级"
    return NOT_STATED


# ---- analysis ------------------------------------------------------------------------------

@dataclass
class QuestionResult:
    question: Question
    answered: int
    counts: pd.DataFrame | None = None  # option rows: 选项, 人数, 占比(%) and a column per type / level
    numeric: dict | None = None  # n, mean, median, min, max
    numeric_by_type: pd.DataFrame | None = None
    fills: list[dict] = field(default_factory=list)  # option, text, type, level
    fill_numbers: dict | None = None  # summary of numeric fillings (q18 days)
    texts: list[dict] = field(default_factory=list)  # free text: text, type, level, theme
    unreadable: list[str] = field(default_factory=list)
    bases: dict = field(default_factory=dict)  # valid answerers per type / level (the base of each share)
    invalid: int = 0  # answers not counted (impossible, contradictory or unreadable)


@dataclass
class SurveyAnalysis:
    n: int
    profile: pd.DataFrame  # 类别 × 等级 counts
    types: pd.Series  # respondents per type (TYPES + 未填)
    levels: pd.Series  # respondents per level (LEVELS + 不适用 + 未填)
    results: list[QuestionResult]
    missing_questions: list[Question]
    date: str | None = None
    invalid: list[dict] = field(default_factory=list)  # row, question, answer, reason
    arrears: list[dict] = field(default_factory=list)  # row, question, text, type
    cells: dict = field(default_factory=dict)  # (type, level) -> respondents

    def __getitem__(self, qid: str) -> QuestionResult:
        for r in self.results:
            if r.question.id == qid:
                return r
        raise KeyError(qid)

    def tidy(self) -> pd.DataFrame:
        """One row per question, option and breakdown: question, number, option, breakdown
        (合计/类别/等级), group, count, base, share."""
        rows = []
        for r in self.results:
            if r.counts is None:
                continue
            for _, row in r.counts.iterrows():
                rows.append({"question_id": r.question.id, "number": r.question.number, "option": row["选项"],
                             "breakdown": "合计", "group": "合计", "count": int(row["人数"]), "base": r.answered,
                             "share": row["占比(%)"], "suppressed": False})
                for dim, groups in (("类别", TYPES), ("等级", LEVELS)):
                    for g in groups:
                        base = int(r.bases.get(g, 0))
                        small = 0 < base < SUPPRESS_MIN
                        rows.append({"question_id": r.question.id, "number": r.question.number,
                                     "option": row["选项"], "breakdown": dim, "group": g,
                                     "count": None if small else int(row[g]), "base": base,
                                     "share": None if small or not base else round(int(row[g]) / base * 100, 2),
                                     "suppressed": small})
        return pd.DataFrame(rows)


def _summary(values: list[float]) -> dict:
    s = pd.Series(values, dtype=float)
    if s.empty:
        return {"n": 0, "mean": None, "median": None, "min": None, "max": None}
    return {"n": int(s.size), "mean": float(s.mean()), "median": float(s.median()), "min": float(s.min()),
            "max": float(s.max())}


def _survey_date(df: pd.DataFrame) -> str | None:
    for c in SUBMIT_COLUMNS:
        if c in df.columns:
            d = pd.to_datetime(df[c].replace("", None), errors="coerce", format="mixed")
            if d.notna().any():
                return d.max().date().isoformat()
    return None


def _row_ids(df: pd.DataFrame) -> list[str]:
    for c in ("序号", "编号", "答卷编号"):
        if c in df.columns:
            return [str(v) for v in df[c]]
    return [str(i + 1) for i in range(len(df))]


def shown_labels(cells: dict, t: str, lv: str) -> tuple[str, str]:
    """(type, level) as printed next to a verbatim comment: a group of fewer than SUPPRESS_MIN respondents
    is not named (an anonymous survey: a comment must not point to one institution)."""
    n_cell = cells.get((t, lv), 0)
    n_type = sum(v for (tt, _), v in cells.items() if tt == t)
    return (t if n_type >= SUPPRESS_MIN else "—", lv if n_cell >= SUPPRESS_MIN or lv in (NOT_APPLICABLE,) else "—")


def analyse(df: pd.DataFrame) -> SurveyAnalysis:
    """Counts and shares per question, by respondent type (公立/社会办/零售药店) and level (三级/二级/一级),
    each with its base; impossible answers (:mod:`yibao.workgroup.survey_rules`) and answers matching no
    option are invalid: listed, not counted; numeric answers summarised; free text themed; arrears flagged."""
    from yibao.workgroup import survey_rules as rules
    qn = questionnaire()
    cols = match_columns(df.columns)
    n = len(df)
    ids = _row_ids(df)
    rtype = (df[cols["unit_type"]].map(respondent_type) if "unit_type" in cols
             else pd.Series([NOT_STATED] * n, index=df.index))
    rlevel = (pd.Series([respondent_level(a, t) for a, t in zip(df[cols["level"]], rtype)], index=df.index)
              if "level" in cols else rtype.map(lambda t: NOT_APPLICABLE if t == "零售药店" else NOT_STATED))
    types = rtype.value_counts().reindex([*TYPES, NOT_STATED], fill_value=0)
    levels = rlevel.value_counts().reindex([*LEVELS, NOT_APPLICABLE, NOT_STATED], fill_value=0)
    profile = pd.crosstab(rtype, rlevel).reindex(index=[*TYPES, NOT_STATED],
                                                 columns=[*LEVELS, NOT_APPLICABLE, NOT_STATED], fill_value=0)
    cells = {(t, lv): int(profile.loc[t, lv]) for t in profile.index for lv in profile.columns}
    # parse every choice answer once; find the invalid ones
    parsed = {q.id: [parse_answer(q, v) for v in df[cols[q.id]]] for q in qn.questions
              if q.id in cols and q.type in ("single", "multi")}
    invalid: list[dict] = []
    bad: dict[str, set[int]] = {}

    def flag(q: Question, i: int, answer, reason: str) -> None:
        bad.setdefault(q.id, set()).add(i)
        invalid.append({"row": ids[i], "question": q.number, "answer": mask_identifiers(str(answer).strip()),
                        "reason": reason})

    for q in qn.questions:
        if q.id not in cols:
            continue
        for i, v in enumerate(df[cols[q.id]]):
            if not str(v).strip():
                continue
            reason = None
            dep = rules.SKIP.get(q.id)
            if dep and dep[0] in parsed:
                pk = [k for k, _ in parsed[dep[0]][i]]
                if pk and None not in pk and dep[1] not in pk:
                    pq = qn[dep[0]]
                    reason = f"第{pq.number}题答“{pq.option(pk[0]).text}”，本题不应作答"
            if reason is None and q.id in parsed:
                picks = parsed[q.id][i]
                if any(k is None for k, _ in picks):
                    reason = "无法识别为本题的选项（选项须完整匹配）"
                elif len({k for k, _ in picks}) > 1 and set(rules.EXCLUSIVE.get(q.id, ())) & {k for k, _ in picks}:
                    ex = next(k for k in rules.EXCLUSIVE[q.id] if k in {k2 for k2, _ in picks})
                    reason = f"选项 {ex}（{q.option(ex).text}）为排他选项，不能与其他选项同选"
                else:
                    for k, f in picks:
                        if q.option(k).fill == "number" and f.strip():
                            x = parse_number(f)
                            reason = (f"填写内容“{f}”不是数字" if x is None else rules.out_of_range(q.id, x, fill=True))
            elif reason is None and q.type == "number":
                x = parse_number(v)
                reason = "无法识别为数字" if x is None else rules.out_of_range(q.id, x)
            if reason:
                flag(q, i, v, reason)
    results, missing = [], []
    for q in qn.questions:
        if q.id not in cols:
            missing.append(q)
            continue
        col = df[cols[q.id]]
        skip = bad.get(q.id, set())
        if q.type in ("single", "multi"):
            results.append(_analyse_choice(q, parsed[q.id], col, rtype, rlevel, skip, cells))
        elif q.type == "number":
            vals, unread, by = [], [], {t: [] for t in TYPES}
            for i, (v, t) in enumerate(zip(col, rtype)):
                if not str(v).strip():
                    continue
                if i in skip:
                    if parse_number(v) is None:
                        unread.append(str(v))
                    continue
                x = parse_number(v)
                vals.append(x)
                if t in by:
                    by[t].append(x)
            nbt = pd.DataFrame([{"类别": t, **_summary(by[t])} for t in TYPES])
            results.append(QuestionResult(q, len(vals), numeric=_summary(vals), numeric_by_type=nbt,
                                          unreadable=unread, invalid=len(skip)))
        else:
            texts = []
            for v, t, lv in zip(col, rtype, rlevel):
                v = str(v).strip()
                if v and v not in ("无", "(空)", "（空）", "-"):
                    st, sl = shown_labels(cells, t, lv)
                    texts.append({"text": mask_identifiers(v), "type": st, "level": sl, "theme": rules.theme_of(v)})
            answered = sum(1 for v in col if str(v).strip())
            results.append(QuestionResult(q, answered, texts=texts))
    arrears = []
    for qid, keys in rules.ARREARS_OPTIONS.items():
        q = qn[qid]
        for i, picks in enumerate(parsed.get(qid, [])):
            if i not in bad.get(qid, set()) and any(k in keys for k, _ in picks):
                arrears.append({"row": ids[i], "question": q.number, "text": q.option(picks[0][0]).text,
                                "type": shown_labels(cells, rtype.iloc[i], rlevel.iloc[i])[0]})
    for q in qn.questions:
        if q.id not in cols or q.id in rules.ARREARS_OPTIONS:
            continue
        for i, v in enumerate(df[cols[q.id]]):
            if i not in bad.get(q.id, set()) and rules.mentions_arrears(v):
                arrears.append({"row": ids[i], "question": q.number, "text": mask_identifiers(str(v).strip()),
                                "type": shown_labels(cells, rtype.iloc[i], rlevel.iloc[i])[0]})
    return SurveyAnalysis(n, profile, types, levels, results, missing, _survey_date(df), invalid, arrears, cells)


def _analyse_choice(q: Question, parsed: list, col: pd.Series, rtype: pd.Series, rlevel: pd.Series,
                    skip: set[int], cells: dict) -> QuestionResult:
    chosen: list[list[str]] = []
    fills, fill_nums = [], []
    for i, (picks, t, lv) in enumerate(zip(parsed, rtype, rlevel)):
        if i in skip:
            chosen.append([])
            continue
        ks = []
        for k, f in picks:
            ks.append(k)
            o = q.option(k)
            if o.fill and f.strip():
                if o.fill == "number":
                    fill_nums.append(parse_number(f))
                    continue
                st, sl = shown_labels(cells, t, lv)
                fills.append({"option": o.text, "text": mask_identifiers(f.strip()), "type": st, "level": sl})
        chosen.append(sorted(set(ks)))
    answered = sum(1 for ks in chosen if ks)
    has = pd.Series([bool(ks) for ks in chosen], index=col.index)
    bases = {t: int((has & (rtype == t)).sum()) for t in TYPES}
    bases.update({lv: int((has & (rlevel == lv)).sum()) for lv in LEVELS})
    rows = []
    for o in q.options:
        mask = [o.key in ks for ks in chosen]
        cnt = int(sum(mask))
        row = {"选项": f"{o.key}. {o.text}", "人数": cnt,
               "占比(%)": round(cnt / answered * 100, 2) if answered else None}
        m = pd.Series(mask, index=col.index)
        for t in TYPES:
            row[t] = int((m & (rtype == t)).sum())
        for lv in LEVELS:
            row[lv] = int((m & (rlevel == lv)).sum())
        rows.append(row)
    res = QuestionResult(q, answered, counts=pd.DataFrame(rows), fills=fills, bases=bases, invalid=len(skip))
    if fill_nums:
        res.fill_numbers = _summary(fill_nums)
    return res


# ---- sample responses ----------------------------------------------------------------------

_WEIGHTS = {
    "q1": (60, 25, 8, 7), "q2": (70, 65, 55, 40, 8), "q3": (35, 30, 10, 25), "q4": (55, 35, 8, 2),
    "q5": (80, 20), "q6": (55, 45), "q8": (45, 25, 15, 10, 5), "q9": (40, 40, 12, 8), "q10": (45, 55),
    "q12": (60, 40), "q14": (55, 45), "q15": (60, 40), "q16": (70, 30), "q17": (70, 25, 15, 5, 10),
    "q18": (60, 15, 25), "q19": (20, 65, 15), "q20": (75, 15, 10), "q21": (30, 35, 30, 5),
    "q22": (25, 45, 30), "q23": (55, 35, 8, 2),
}
_FILL_SAMPLES = {
    "q2": ["病种分值及点值测算", "本机构历年结余留用明细", "药品耗材集采执行情况"],
    "q17": ["通过医保数据工作组会议反馈", "在季度发布会上现场提出"],
    "q19": ["部分月份拨付滞后约一个月", "特例单议审核周期较长", "异地就医清算款到账较慢"],
    "q21": ["药店收银系统改造费用高", "部分药品包装无追溯码"],
    "q22": ["希望尽快开通影像调阅", "建议明确影像上传标准"],
}
_SUGGESTIONS = [
    "建议按月推送本机构病组盈亏明细，便于及时调整。", "希望公开同级同类机构的平均费用和平均住院日作为参照。",
    "建议提前公布年度点值测算方法，稳定机构预期。", "特例单议审核结果希望附上具体理由。",
    "建议增加面对面交流频次，每季度至少一次。", "希望对基层病组的支付标准作进一步说明。",
    "结算清单质控规则变化时请提前培训。", "建议预付金按季度核定并公开测算口径。",
    "希望数据发布材料能提供可编辑的表格版本。", "建议在发布会上安排医疗机构经验分享。",
]


def sample_responses(n: int = 60, seed: int = 1, date: str = "2025-05-20") -> pd.DataFrame:
    """``n`` plausible responses laid out as a 问卷星 export (按选项文本): 序号, 提交答卷时间, 所用时间, 来源,
    填报单位类别, 机构等级 and one column per question headed ``N、<question text>``; multiple choice joined
    with ``┋``, option blanks as ``选项〖内容〗``. Deterministic for a seed."""
    rng = random.Random(int(seed))
    qn = questionnaire()
    start = dt.datetime.fromisoformat(date) + dt.timedelta(hours=9)
    rows = []
    for i in range(int(n)):
        t = rng.choices(["公立医疗机构", "社会办医疗机构", "零售药店"], weights=(55, 25, 20))[0]
        lv = "" if t == "零售药店" else rng.choices(["三级", "二级", "一级"], weights=(20, 35, 45))[0]
        row = {"序号": i + 1,
               "提交答卷时间": (start + dt.timedelta(minutes=3 * i + rng.randint(0, 2))).strftime("%Y/%m/%d %H:%M:%S"),
               "所用时间": f"{rng.randint(90, 600)}秒", "来源": rng.choice(["微信", "手机提交", "链接"]),
               "填报单位类别": t, "机构等级": lv}
        ans: dict[str, str] = {}
        for q in qn.questions:
            ans[q.id] = _sample_answer(q, rng, ans, t)
        for q in qn.questions:
            row[q.header] = ans[q.id]
        rows.append(row)
    return pd.DataFrame(rows)


def _sample_answer(q: Question, rng: random.Random, prev: dict, rtype: str) -> str:
    def text_of(o: Option) -> str:
        if o.fill == "number":
            return f"{o.text}〖{rng.choice([3, 5, 7, 10, 15, 20, 30])}〗"
        if o.fill == "text":
            return f"{o.text}〖{rng.choice(_FILL_SAMPLES.get(q.id, ['无']))}〗"
        return o.text

    # skip logic a real questionnaire has (blank when it does not apply)
    if q.id == "q7" and prev.get("q6") != "是":
        return ""
    if q.id == "q11" and prev.get("q10") != "是":
        return ""
    if q.id == "q13" and prev.get("q12") != "是":
        return ""
    if q.id == "q17" and prev.get("q16") != "是":
        return ""
    if q.id in ("q10", "q11", "q12", "q13", "q14", "q15") and rtype == "零售药店":
        return ""
    if q.type == "number":
        if q.id == "q7":
            return str(rng.choice([1, 1, 1.5, 2, 2, 3]))
        if q.id == "q11":
            return str(round(rng.lognormvariate(3.5, 0.9), 1))
        return str(rng.choice([60, 70, 75, 80, 85, 90, 95]))
    if q.type == "text":
        return rng.choice(_SUGGESTIONS) if rng.random() < 0.45 else ""
    w = _WEIGHTS.get(q.id, tuple(1 for _ in q.options))
    if q.type == "multi":
        k = rng.choice([1, 1, 2, 2, 3])
        picks = []
        while len(picks) < k:
            o = rng.choices(q.options, weights=w)[0]
            if o not in picks:
                picks.append(o)
        from yibao.workgroup.survey_rules import EXCLUSIVE
        ex = [o for o in picks if o.key in EXCLUSIVE.get(q.id, ())]
        if ex:
            picks = ex[:1]  # an exclusive option is chosen alone
        picks.sort(key=lambda o: o.key)
        return "┋".join(text_of(o) for o in picks)
    o = rng.choices(q.options, weights=w)[0]
    return text_of(o)


def write_responses(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write responses as the platform would (xlsx, or csv in UTF-8 with BOM), atomically."""
    from yibao.escape import xlsx_workbook
    from yibao.fsutil import atomic_path
    p = Path(path)
    with atomic_path(p) as tmp:
        if p.suffix.lower() == ".csv":
            df.to_csv(tmp, index=False, encoding="utf-8-sig")
        else:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                df.to_excel(xw, index=False, sheet_name="Sheet1")
                xlsx_workbook(xw.book)  # answers stay text (never a formula)
    return p
