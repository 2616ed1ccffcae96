"""The release questionnaire (handbook 六(六), 附录4 调查问卷) — as data, sample responses, analysis, report.

The questionnaire lives in ``resources/survey_questions.yaml``: the 24 questions exactly as printed in
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
* multiple-choice answers: the chosen options joined by ``┋`` (问卷星), ``；``, ``;`` or ``|``.
  (The Chinese comma is *not* a separator: option texts contain it.)
* numbers: the first number in the cell (``3``, ``约3个月``, ``85%``); text that holds no number is
  listed as unreadable.
* empty cells are "not answered" and do not count in the base of a share.

Shares: for every question, share = respondents choosing the option / respondents who answered the
question × 100 (for multiple choice the shares add up to more than 100%).

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

from . import PACKAGE_DIR, PROJECT_DIR
from .errors import YibaoError

QUESTIONS_FILE = PACKAGE_DIR / "resources" / "survey_questions.yaml"
NOTEBOOK = PROJECT_DIR / "notebooks" / "survey.ipynb"
MULTI_SEPARATORS = ("┋", "；", ";", "|")
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
    """The 附录4 questionnaire from ``resources/survey_questions.yaml``."""
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
        from .load import detect_encoding
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


def parse_choice(q: Question, answer: str) -> tuple[str | None, str]:
    """One chosen option: (option key or None when unreadable, filling text)."""
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
        if _norm(rest) in (_norm(o.text), _norm(o.label)):
            return key, ""
        rx = _label_regex(o)
        if rx and rx.match(_norm(rest)):
            return key, _fill_text(rx.match(_norm(rest)).group(1))
        if _norm(rest).startswith(_norm(o.text)):
            return key, _fill_text(rest[len(o.text):]) if o.fill else ""
        # a letter we know followed by other words: trust the letter (platforms print "A.选项")
        return key, rest if o.fill else ""
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
        if s.startswith(o.text) or ns.startswith(_norm(o.text)):
            rest = s[len(o.text):] if s.startswith(o.text) else s
            return o.key, _fill_text(rest) if o.fill else ""
    return None, s


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
        out, seen = [], set()
        for p in parts:
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


_MASKS = (
    (re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"), "[证件号已隐去]"),
    (re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"), "[手机号已隐去]"),
    (re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)"), "[电话已隐去]"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), "[邮箱已隐去]"),
)


def mask_identifiers(text: str) -> str:
    """Free text with ID numbers, mobile/phone numbers and e-mail addresses replaced (问卷无记名)."""
    for rx, repl in _MASKS:
        text = rx.sub(repl, text)
    return text


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
    texts: list[dict] = field(default_factory=list)  # free text: text, type, level
    unreadable: list[str] = field(default_factory=list)


@dataclass
class SurveyAnalysis:
    n: int
    profile: pd.DataFrame  # 类别 × 等级 counts
    types: pd.Series  # respondents per type (TYPES + 未填)
    levels: pd.Series  # respondents per level (LEVELS + 不适用 + 未填)
    results: list[QuestionResult]
    missing_questions: list[Question]
    date: str | None = None

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
                             "share": row["占比(%)"]})
                for dim, groups in (("类别", TYPES), ("等级", LEVELS)):
                    for g in groups:
                        rows.append({"question_id": r.question.id, "number": r.question.number,
                                     "option": row["选项"], "breakdown": dim, "group": g,
                                     "count": int(row[g]), "base": None, "share": None})
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


def analyse(df: pd.DataFrame) -> SurveyAnalysis:
    """Counts and shares per question, by respondent type (公立/社会办/零售药店) and level (三级/二级/一级);
    numeric answers summarised (n, mean, median, min, max); free text and fillings listed."""
    qn = questionnaire()
    cols = match_columns(df.columns)
    n = len(df)
    rtype = (df[cols["unit_type"]].map(respondent_type) if "unit_type" in cols
             else pd.Series([NOT_STATED] * n, index=df.index))
    rlevel = (pd.Series([respondent_level(a, t) for a, t in zip(df[cols["level"]], rtype)], index=df.index)
              if "level" in cols else rtype.map(lambda t: NOT_APPLICABLE if t == "零售药店" else NOT_STATED))
    types = rtype.value_counts().reindex([*TYPES, NOT_STATED], fill_value=0)
    levels = rlevel.value_counts().reindex([*LEVELS, NOT_APPLICABLE, NOT_STATED], fill_value=0)
    profile = pd.crosstab(rtype, rlevel).reindex(index=[*TYPES, NOT_STATED],
                                                 columns=[*LEVELS, NOT_APPLICABLE, NOT_STATED], fill_value=0)
    results, missing = [], []
    for q in qn.questions:
        if q.id not in cols:
            missing.append(q)
            continue
        col = df[cols[q.id]]
        if q.type in ("single", "multi"):
            results.append(_analyse_choice(q, col, rtype, rlevel))
        elif q.type == "number":
            vals, bad, by = [], [], {t: [] for t in TYPES}
            for v, t in zip(col, rtype):
                if not str(v).strip():
                    continue
                x = parse_number(v)
                if x is None:
                    bad.append(str(v))
                    continue
                vals.append(x)
                if t in by:
                    by[t].append(x)
            nbt = pd.DataFrame([{"类别": t, **_summary(by[t])} for t in TYPES])
            results.append(QuestionResult(q, len(vals) + len(bad), numeric=_summary(vals), numeric_by_type=nbt,
                                          unreadable=bad))
        else:
            texts = [{"text": mask_identifiers(str(v).strip()), "type": t, "level": lv}
                     for v, t, lv in zip(col, rtype, rlevel) if str(v).strip() and str(v).strip() not in ("无", "(空)", "（空）", "-")]
            answered = sum(1 for v in col if str(v).strip())
            results.append(QuestionResult(q, answered, texts=texts))
    return SurveyAnalysis(n, profile, types, levels, results, missing, _survey_date(df))


def _analyse_choice(q: Question, col: pd.Series, rtype: pd.Series, rlevel: pd.Series) -> QuestionResult:
    chosen: list[list[str]] = []
    fills, fill_nums, bad = [], [], []
    for v, t, lv in zip(col, rtype, rlevel):
        picks = parse_answer(q, v)
        ks = []
        for k, f in picks:
            if k is None:
                bad.append(f)
                ks.append(UNREADABLE)
                continue
            ks.append(k)
            o = q.option(k)
            if o.fill and f.strip():
                if o.fill == "number":
                    x = parse_number(f)
                    if x is not None:
                        fill_nums.append(x)
                    continue
                fills.append({"option": o.text, "text": mask_identifiers(f.strip()), "type": t, "level": lv})
        chosen.append(sorted(set(ks)))
    answered = sum(1 for ks in chosen if ks)
    rows = []
    options = [(o.key, o.text) for o in q.options] + ([(UNREADABLE, UNREADABLE)] if bad else [])
    for key, text in options:
        mask = [key in ks for ks in chosen]
        cnt = int(sum(mask))
        row = {"选项": f"{key}. {text}" if key != UNREADABLE else text, "人数": cnt,
               "占比(%)": round(cnt / answered * 100, 2) if answered else None}
        m = pd.Series(mask, index=col.index)
        for t in TYPES:
            row[t] = int((m & (rtype == t)).sum())
        for lv in LEVELS:
            row[lv] = int((m & (rlevel == lv)).sum())
        rows.append(row)
    res = QuestionResult(q, answered, counts=pd.DataFrame(rows), fills=fills, unreadable=bad)
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
        picks.sort(key=lambda o: o.key)
        return "┋".join(text_of(o) for o in picks)
    o = rng.choices(q.options, weights=w)[0]
    return text_of(o)


def write_responses(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write responses as the platform would (xlsx, or csv in UTF-8 with BOM), atomically."""
    from .fsutil import atomic_path
    p = Path(path)
    with atomic_path(p) as tmp:
        if p.suffix.lower() == ".csv":
            df.to_csv(tmp, index=False, encoding="utf-8-sig")
        else:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                df.to_excel(xw, index=False, sheet_name="Sheet1")
    return p


# ---- the report (used by notebooks/survey.ipynb) -------------------------------------------

def _pct(v) -> str:
    from .fmt import pct
    return pct(v, 1)


def _num(v, digits=1) -> str:
    from .fmt import num
    return num(v, digits)


def choice_table(r: QuestionResult) -> pd.DataFrame:
    """The display table of a choice question: option, 人数, 占比 and counts by type and level."""
    t = r.counts.copy()
    t["占比"] = t["占比(%)"].map(_pct)
    cols = ["选项", "人数", "占比", *TYPES, *LEVELS]
    t = t[cols].rename(columns={"公立": "公立医疗机构", "社会办": "社会办医疗机构",
                                "三级": "三级机构", "二级": "二级机构", "一级": "一级机构"})
    return t.astype(str)


def choice_sentence(r: QuestionResult) -> str:
    if not r.answered:
        return "本题无人作答。"
    top = r.counts[r.counts["选项"] != UNREADABLE].sort_values("人数", ascending=False, kind="mergesort")
    first = top.iloc[0]
    name = str(first["选项"]).split(". ", 1)[-1]
    s = f"本题有效作答 {r.answered} 人，选择“{name}”的最多，{int(first['人数'])} 人，占 {_pct(first['占比(%)'])}"
    if len(top) > 1 and int(top.iloc[1]["人数"]) > 0:
        second = top.iloc[1]
        s += f"；其次为“{str(second['选项']).split('. ', 1)[-1]}”，{int(second['人数'])} 人，占 {_pct(second['占比(%)'])}"
    s += "。"
    if r.question.type == "multi":
        s += "（多选题，各选项占比之和可超过100%。）"
    if r.fill_numbers:
        fn = r.fill_numbers
        s += (f"填写了具体{'时间' if r.question.id == 'q18' else '数值'}的 {fn['n']} 人中，平均 {_num(fn['mean'])}"
              f"{r.question.options[0].fill_unit or ''}，中位数 {_num(fn['median'])}{r.question.options[0].fill_unit or ''}。")
    return s


def numeric_table(r: QuestionResult) -> pd.DataFrame:
    rows = [{"类别": "全部", **r.numeric}] + r.numeric_by_type.to_dict("records")
    out = []
    for row in rows:
        out.append({"类别": {"公立": "公立医疗机构", "社会办": "社会办医疗机构"}.get(row["类别"], row["类别"]),
                    "作答人数": str(row["n"]), "平均值": _num(row["mean"], 2), "中位数": _num(row["median"], 2),
                    "最小值": _num(row["min"], 2), "最大值": _num(row["max"], 2)})
    return pd.DataFrame(out)


def choice_chart(r: QuestionResult):
    """Horizontal bars of the shares (%) of a choice question (house style of :mod:`yibao.charts`),
    options in questionnaire order from the top."""
    t = r.counts
    d = pd.DataFrame({"选项": [_wrap(str(x), 18) for x in t["选项"]],
                      "占比": [0.0 if v is None else float(v) for v in t["占比(%)"]]}).iloc[::-1]
    try:
        from . import charts
        return charts.bar(d, x="选项", y="占比", horizontal=True, sort=False, fmt=lambda v: f"{v:.1f}%",
                          xlabel="占作答人数比例（%）")
    except ImportError:  # pragma: no cover - charts ships with the package
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6.3, 0.3 * len(d) + 0.9))
        ax.barh(d["选项"], d["占比"])
        return fig


def _wrap(s: str, width: int) -> str:
    return "\n".join(s[i:i + width] for i in range(0, len(s), width))


def _cn_date(date: str | None) -> str:
    if not date:
        return ""
    d = dt.date.fromisoformat(date[:10])
    return f"{d.year}年{d.month}月{d.day}日"


def _share(res: SurveyAnalysis, qid: str, keys: tuple[str, ...]) -> tuple[int, int, float | None]:
    """(respondents choosing any of ``keys``, respondents answering, share %) for a question."""
    try:
        r = res[qid]
    except KeyError:
        return 0, 0, None
    if r.counts is None or not r.answered:
        return 0, r.answered, None
    prefix = tuple(f"{k}. " for k in keys)
    n = int(r.counts.loc[r.counts["选项"].str.startswith(prefix), "人数"].sum())
    return n, r.answered, n / r.answered * 100


def overview(rep, res: SurveyAnalysis, region_name: str, date: str | None = None) -> None:
    """一、调查概况: how many responded, by type and level, and the headline figures."""
    qn = questionnaire()
    when = _cn_date(date or res.date)
    tp = res.types
    rep.md(f"{region_name}医保数据工作组在{when + '的' if when else ''}数据发布活动现场发放《{qn.title}》"
           f"（{qn.source}），共回收有效问卷 {res.n} 份，其中公立医疗机构 {int(tp['公立'])} 份、"
           f"社会办医疗机构 {int(tp['社会办'])} 份、零售药店 {int(tp['零售药店'])} 份"
           + (f"、未填写单位类别 {int(tp[NOT_STATED])} 份" if int(tp[NOT_STATED]) else "") + "。问卷无记名填写。")
    prof = res.profile.copy()
    keep_cols = [c for c in prof.columns if prof[c].sum() > 0 or c in LEVELS]
    keep_rows = [i for i in prof.index if prof.loc[i].sum() > 0 or i in TYPES]
    prof = prof.loc[keep_rows, keep_cols]
    prof["合计"] = prof.sum(axis=1)
    prof.loc["合计"] = prof.sum()
    prof.index = [{"公立": "公立医疗机构", "社会办": "社会办医疗机构"}.get(i, i) for i in prof.index]
    prof = prof.rename_axis("填报单位类别").reset_index()
    rep.table(prof.astype(str), "回收问卷的填报单位类别与机构等级", note="零售药店不填机构等级（不适用）。")
    facts = []
    for qid, keys, text in (("q1", ("A",), "认为本统筹地区医保部门按月或按季度发布医保数据"),
                            ("q4", ("A", "B"), "认为数据工作组及时反馈医院数据对完善管理“非常重要”或“重要”"),
                            ("q5", ("A",), "知晓医保预付金政策"),
                            ("q8", ("A",), "表示2024年已足额结算医保基金"),
                            ("q19", ("A",), "反映出现过结算审核不及时、资金拨付不及时或医保服务不到位的情况"),
                            ("q23", ("A", "B"), "对本统筹地区医保部门的工作表示“满意”或“基本满意”")):
        n, base, share = _share(res, qid, keys)
        if share is not None:
            facts.append(f"{_pct(share)}（{n}/{base}）的作答者{text}")
    if facts:
        rep.md("主要结果：" + "；".join(facts) + "。")
    if res.missing_questions:
        rep.md("导出文件中缺少以下题目，未作分析：第" + "、".join(str(q.number) for q in res.missing_questions) + "题。")


def question_sections(rep, res: SurveyAnalysis, charts: bool = True, heading_level: int = 2) -> None:
    """二、各题作答情况: per question the counts and shares (by type and level), a chart, fillings;
    numeric questions summarised; free-text questions point to the list of suggestions."""
    h = "#" * heading_level
    rep.md("占比 = 选择该项的人数 ÷ 该题作答人数 × 100%（多选题各项占比之和可超过100%）；表中“公立医疗机构”"
           "至“一级机构”各列为选择该项的人数。")
    for r in res.results:
        q = r.question
        rep.md(f"{h} {q.number}. {q.text}")
        if q.type in ("single", "multi"):
            rep.md(choice_sentence(r))
            rep.table(choice_table(r), f"第{q.number}题作答情况（{'多选' if q.type == 'multi' else '单选'}）",
                      note=f"作答 {r.answered} 人，未作答 {res.n - r.answered} 人。")
            if charts and r.answered:
                rep.figure(choice_chart(r), f"第{q.number}题各选项占比")
            if r.fills:
                ft = pd.DataFrame([{"选项": f["option"], "填写内容": f["text"],
                                    "填报单位类别": _type_label(f["type"])} for f in r.fills])
                rep.table(ft, f"第{q.number}题选项中填写的内容（{len(ft)} 条）")
        elif q.type == "number":
            nm = r.numeric
            u = q.unit or ""
            if nm["n"]:
                rep.md(f"本题有效填写 {nm['n']} 人，平均 {_num(nm['mean'], 2)}{u}，中位数 {_num(nm['median'], 2)}{u}，"
                       f"最小 {_num(nm['min'], 2)}{u}，最大 {_num(nm['max'], 2)}{u}。")
                rep.table(numeric_table(r), f"第{q.number}题填写数值汇总（单位：{u}）")
            else:
                rep.md("本题无人填写。")
            if r.unreadable:
                rep.md(f"另有 {len(r.unreadable)} 条填写内容无法识别为数字：" + "；".join(r.unreadable[:10]) + "。")
        else:
            rep.md(f"本题收到意见建议 {len(r.texts)} 条，见“三、意见建议汇总”。" if r.texts else "本题无人填写。")


def _type_label(t: str) -> str:
    return {"公立": "公立医疗机构", "社会办": "社会办医疗机构"}.get(t, t)


def suggestions(rep, res: SurveyAnalysis) -> None:
    """三、意见建议汇总: every free-text answer (question 24), listed as written (contact details masked)."""
    texts = [t for r in res.results if r.question.type == "text" for t in r.texts]
    if not texts:
        rep.md("本次问卷未收到文字意见建议。")
        return
    by = pd.Series([t["type"] for t in texts]).value_counts()
    rep.md(f"第24题共收到文字意见建议 {len(texts)} 条（"
           + "、".join(f"{_type_label(k)} {int(v)} 条" for k, v in by.items())
           + "），逐条列示如下，已隐去可能的个人联系方式。工作组应逐条研究，在下期发布时反馈采纳情况（手册 六(八)）。")
    tt = pd.DataFrame([{"序号": str(i + 1), "意见建议": t["text"], "填报单位类别": _type_label(t["type"]),
                        "机构等级": t["level"]} for i, t in enumerate(texts)])
    rep.table(tt, f"意见建议（{len(tt)} 条）")


def write_report(rep, res: SurveyAnalysis, region_name: str, date: str | None = None, charts: bool = True) -> None:
    """The whole report body with its own top-level headings (the notebook uses the three parts)."""
    rep.md("# 一、调查概况")
    overview(rep, res, region_name, date)
    rep.md("# 二、各题作答情况")
    question_sections(rep, res, charts=charts)
    rep.md("# 三、意见建议汇总")
    suggestions(rep, res)


# ---- command line --------------------------------------------------------------------------

def region_name(region: str) -> str:
    """The region's name from params/regions.yaml (``regions.<code>.name``), else the argument itself."""
    try:
        import yaml
        p = PROJECT_DIR / "params" / "regions.yaml"
        cfg = yaml.safe_load(p.read_text(encoding="utf-8")) if p.exists() else {}
        reg = ((cfg or {}).get("regions") or {}).get(str(region)) or {}
        for k in ("name", "poolarea_name", "region_name"):
            if reg.get(k):
                return str(reg[k])
    except Exception:  # noqa: BLE001
        pass
    return str(region)


def out_dir_for(out: str | os.PathLike, region: str, date: str) -> Path:
    """``OUT/survey/<region>/<YYYY-MM-DD>/``: one directory per release event (the questionnaire's date)."""
    return Path(out) / "survey" / str(region) / date


def build_report(responses: str | os.PathLike, region: str, out: str | os.PathLike = "reports",
                 formats=("html", "docx", "pdf"), engine: str = "auto", name: str | None = None,
                 date: str | None = None) -> dict[str, Path]:
    """Execute notebooks/survey.ipynb with papermill for one responses file and render it.

    Returns {'ipynb': …, 'csv': …, 'html': …, …}. Work happens in a staging directory; finished files are
    moved into ``OUT/survey/<region>/<date>/`` one by one.
    """
    import shutil
    import tempfile

    import nbformat

    responses = Path(responses).resolve()
    df = read_responses(responses)
    res = analyse(df)
    date = date or res.date or dt.date.today().isoformat()
    name = name or region_name(region)
    dest = out_dir_for(out, region, date)
    dest.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".stage-survey-", dir=dest))
    try:
        nb_out = stage / "survey.ipynb"
        from .batch import execute_notebook
        execute_notebook(NOTEBOOK, nb_out, {"responses": str(responses), "region": str(region),
                                            "region_name": name, "date": date})
        nb = nbformat.read(str(nb_out), as_version=4)
        d = dt.date.fromisoformat(date)
        nb.metadata["yibao"] = {
            "title": f"{name}医保数据发布调查问卷分析报告",
            "subtitle": f"{d.year}年{d.month}月{d.day}日数据发布活动",
            "region": str(region), "region_name": name, "period": date,
            "period_label": f"{d.year}年{d.month}月{d.day}日",
            "issuer": f"{name}医保数据工作组", "date": dt.date.today().isoformat(),
            "confidentiality": "数据仅限本统筹地区医保部门及数据工作组内部使用，不得对外传播",
            "kind": "survey",
        }
        nbformat.write(nb, str(nb_out))
        res.tidy().to_csv(stage / "survey-counts.csv", index=False, encoding="utf-8-sig")
        if formats:
            from . import render
            render.render(nb_out, formats=tuple(formats), engine=engine, out_dir=stage)
        outputs = {}
        for f in sorted(stage.iterdir()):
            if f.is_file() and not f.name.startswith("."):
                os.replace(f, dest / f.name)
                outputs[f.suffix.lstrip(".") if f.suffix != ".csv" else "csv"] = dest / f.name
        return outputs
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def run_cli(args) -> int:
    if not args.responses:
        raise YibaoError("survey: 需要 --responses FILE（问卷平台导出的 xlsx 或 csv）")
    if args.sample:
        write_responses(sample_responses(args.sample, args.seed), args.responses)
        print(f"样例问卷 / sample responses: {args.responses}（{args.sample} 份）")
    outputs = build_report(args.responses, args.region, args.out, formats=args.formats, engine=args.engine)
    print("调查问卷分析报告 / survey report:")
    for k, p in outputs.items():
        print(f"  {p}")
    return 0
