"""Topic codes: an ADRG, ICD-10 category, subcategory or chapter resolved to what a study selects, and the
study's thresholds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from yibao.data import reference
from yibao.metrics.catalogue import SUPPRESS_MIN
from yibao.errors import YibaoError



MIN_CASES = 10        # averages, ranking and shares need at least this many cases
SUPPRESS = SUPPRESS_MIN  # hospital × group counts below this show as "<5" (the one threshold: catalogue)
SHARE_PP = 10.0       # high-cost share rise (percentage points) that asks for verification
COST_PCT = 20.0       # |average cost change| (%) that asks for verification
VOLUME_PCT = 50.0     # |case count change| (%) that asks for verification
TOP_N = 10            # 前十位 / 后十位
MAX_CHILDREN = 15     # chapters: categories shown (the rest is 其他)

COMPLICATION = {  # last character of a CHS-DRG code (reference/README.md)
    "1": "伴严重合并症或并发症", "3": "伴一般合并症或并发症", "5": "不伴合并症或并发症",
    "9": "不区分合并症或并发症", "7": "死亡或转院", "0": "特殊情形",
}
FEE_LABELS = {"fee_drug": "药品费", "fee_mcs": "卫生材料费", "fee_exam": "检查费", "fee_lab": "化验费",
              "fee_trt": "治疗费", "fee_oprn": "手术费", "fee_srvc": "护理床位等服务费", "fee_oth": "其他费"}
KIND_UNIT = {"adrg": "ADRG", "category": "诊断类目", "subcategory": "诊断亚目", "chapter": "ICD-10章"}
CN_DIGITS = "零一二三四五六七八九"
# The DIP 病种库's 20 chapters: ICD-10 chapters I–XIX and XXI. Chapter XX (V01–Y98, external causes)
# is never a principal diagnosis and XXII (U00–U99) holds special-purpose codes, so neither forms
# DIP groups (handbook 五(三): "病种库涉及的ICD-10中的20个章").
DIP_CHAPTERS = tuple(str(i) for i in list(range(1, 20)) + [21])
UPCODING_RULES = ("UPCODING_DRG", "UPCODING_ICD")


# ---- topic codes ------------------------------------------------------------------------------------

def cn_number(n: int) -> str:
    """1..99 in Chinese numerals: 9 → 九, 19 → 十九, 21 → 二十一."""
    n = int(n)
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


@dataclass(frozen=True)
class Topic:
    """A resolved topic code. ``kind``: adrg | category | subcategory | chapter."""
    code: str                    # canonical: EJ1, I63, I63.3, IX
    kind: str
    name: str
    mdc: str | None = None       # MDCE (ADRG topics)
    chapter: str | None = None   # '9' (ICD topics)
    code_range: str | None = None  # I00-I99 (chapters)

    @property
    def title(self) -> str:
        """Report title: 'EJ1 呼吸系统其他手术', 'I63 脑梗死', '第九章 循环系统疾病（I00-I99）'."""
        if self.kind == "chapter":
            return f"第{cn_number(int(self.chapter))}章 {self.name}（{self.code_range}）"
        return f"{self.code} {self.name}".strip()

    @property
    def unit(self) -> str:
        return KIND_UNIT[self.kind]

    @property
    def ref(self) -> str:
        """How prose refers to the topic briefly: 'EJ1', 'I63', '第九章'."""
        return f"第{cn_number(int(self.chapter))}章" if self.kind == "chapter" else self.code

    @property
    def notebook(self) -> str:
        return "topic_adrg" if self.kind == "adrg" else "topic_icd"

    def child_unit(self, pay_method: str) -> str:
        """What the structure section breaks the topic into."""
        if self.kind == "adrg":
            return "DRG细分组"
        if self.kind == "category":
            return "诊断亚目"
        if self.kind == "subcategory":
            return "DRG病组" if pay_method == "DRG" else "DIP病种"
        return "诊断类目"

    @property
    def coverage_key(self) -> str | None:
        """The MDC (ADRG topics) or chapter number (ICD topics) the topic counts toward."""
        return self.mdc if self.kind == "adrg" else self.chapter


_RE_ADRG = re.compile(r"^[A-Z]{2}\d$")
_RE_DRG = re.compile(r"^([A-Z]{2}\d)[0-9A-Z]$")
_RE_CAT = re.compile(r"^[A-Z]\d{2}$")
_RE_SUB = re.compile(r"^([A-Z]\d{2})\.?([0-9X])$")
_RE_RANGE = re.compile(r"^[A-Z]\d{2}-[A-Z]\d{2}$")
_RE_CN_CHAPTER = re.compile(r"^第?([0-9]{1,2}|[一二三四五六七八九十]{1,3})章$")


def _chapter_rows() -> pd.DataFrame:
    return reference.icd10_chapters()


def _cn_to_int(s: str) -> int:
    if s.isdigit():
        return int(s)
    if "十" not in s:
        return CN_DIGITS.index(s)
    a, _, b = s.partition("十")
    return (CN_DIGITS.index(a) if a else 1) * 10 + (CN_DIGITS.index(b) if b else 0)


def resolve(code: str, pay_method: str | None = None) -> Topic:
    """Parse a topic code.

    ``EJ1`` → ADRG; ``I63`` → ICD-10 category; ``I63.3`` → subcategory; ``IX`` / ``9`` / ``第九章`` /
    ``I00-I99`` → chapter. With ``pay_method='DIP'`` an ADRG is refused (DIP regions have no ADRGs);
    ICD topics are valid in both kinds of region.
    """
    raw = str(code or "").strip()
    c = raw.upper().replace("．", ".").replace("－", "-").replace("—", "-")
    pay = str(pay_method or "").upper()
    chapters = _chapter_rows()
    topic = None
    if _RE_ADRG.match(c):
        a = reference.adrg().set_index("adrg_code")
        name = str(a["adrg_name"].get(c, ""))
        topic = Topic(c, "adrg", name, mdc="MDC" + c[0])
    elif _RE_CAT.match(c):
        topic = Topic(c, "category", _icd_name(c), chapter=reference.chapter_of(c))
    elif _RE_SUB.match(c):
        m = _RE_SUB.match(c)
        sub = f"{m.group(1)}.{m.group(2).lower() if m.group(2) == 'X' else m.group(2)}"
        topic = Topic(sub, "subcategory", _icd_name(sub), chapter=reference.chapter_of(m.group(1)))
    else:
        num = None
        romans = dict(zip(chapters["roman"], chapters["chapter"]))
        if c in romans:
            num = romans[c]
        elif c.isdigit() and 1 <= int(c) <= len(chapters):
            num = str(int(c))
        elif _RE_CN_CHAPTER.match(raw):
            n = _cn_to_int(_RE_CN_CHAPTER.match(raw).group(1))
            num = str(n) if 1 <= n <= len(chapters) else None
        elif _RE_RANGE.match(c):
            hit = chapters[chapters["code_range"] == c]
            num = hit["chapter"].iloc[0] if len(hit) else None
        if num is not None:
            r = chapters[chapters["chapter"] == num].iloc[0]
            topic = Topic(r["roman"], "chapter", r["chapter_name"], chapter=num, code_range=r["code_range"])
    if topic is None:
        m = _RE_DRG.match(c)
        hint = (f"{raw} 是DRG细分组编码，专题按ADRG分析，请使用 {m.group(1)}" if m else
                "专题编码应为ADRG（如 EJ1）、ICD-10类目（如 I63）、亚目（如 I63.3）或章（如 IX、9、I00-I99）")
        raise YibaoError(f"--topic {raw!r}: 无法识别的专题编码 — {hint}")
    if topic.kind == "adrg" and pay == "DIP":
        raise YibaoError(f"--topic {topic.code}: ADRG 专题仅适用于按DRG付费的统筹地区；按DIP付费的地区请选择"
                         f"ICD-10类目、亚目或章（如 I63、I63.3、IX）")
    return topic


def _icd_name(code: str) -> str:
    names = reference.icd_names()
    name = names.get(code, "")
    # a subcategory .9 whose default code carries the category's own name is the 未特指 one
    if len(code) == 5 and code.endswith(".9") and name and name == names.get(code[:3]):
        name = f"{name}，未特指"
    return name


def notebook_for(code: str, pay_method: str | None = None) -> str:
    """'topic_adrg' for an ADRG, 'topic_icd' for ICD-10 categories, subcategories and chapters.

    Raises YibaoError for a code that is no topic at all. A pay-method mismatch (an ADRG in a DIP
    region) is reported by the notebook itself, so that one region's bad topic fails only its own job.
    """
    return resolve(code).notebook


def topic_title(code: str, pay_method: str | None = None) -> str:
    """The report title of a topic from the national reference names (pure, no data):
    'EJ1 呼吸系统其他手术', 'I63 脑梗死', 'I63.3 大脑动脉血栓形成引起的脑梗死', '第九章 循环系统疾病（I00-I99）'."""
    return resolve(code).title
