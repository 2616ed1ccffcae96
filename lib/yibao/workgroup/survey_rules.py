"""What makes a questionnaire answer impossible, the themes of the suggestions, and arrears (拖欠).

Rules of the 附录4 questionnaire that a reader applies without thinking, written down:

* **skip logic**: question 7 (months of 预付金) only when question 6 is 是; 11 only when 10 is 是; 13 only
  when 12 is 是; 17 (channels) only when 16 is 是 (the question starts 如知道);
* **ranges**: months of 预付金 0–24, 结余留用 ≥ 0 万元, pass rate 0–100 %, the days of question 18 0–365;
* **exclusive options**: question 17 E (不了解，不清楚是否有正常的反馈渠道) cannot be chosen with another option.

An answer breaking a rule is *invalid*: it is not counted in its question's base and is listed with the
rule (answers that match no option whole are invalid too). Arrears: handbook 六(七) asks to find out by
questionnaire whether the region's 医保部门 owes hospitals money (拖欠医疗机构资金) and to resolve it.
"""
from __future__ import annotations

import re

#: question -> (question it depends on, the option that opens it)
SKIP = {"q7": ("q6", "A"), "q11": ("q10", "A"), "q13": ("q12", "A"), "q17": ("q16", "A")}
#: number questions: (min, max or None)
RANGES = {"q7": (0, 24), "q11": (0, None), "q13": (0, 100)}
#: number blanks inside an option: question -> (min, max)
FILL_RANGES = {"q18": (0, 365)}
#: question -> options that exclude every other option
EXCLUSIVE = {"q17": ("E",)}

#: themes of the free-text suggestions: the theme with most keyword hits wins, ties by this order
THEMES = (
    ("结算拨付与预付金", ("拨付", "结算款", "未结算", "结算周期", "回款", "到账", "拖欠", "预付金", "清算")),
    ("特例单议与审核", ("特例单议", "审核", "扣款", "申诉")),
    ("支付标准与点值测算", ("点值", "分值", "支付标准", "费率", "病组", "测算", "权重")),
    ("数据发布内容与形式", ("数据", "发布", "推送", "明细", "表格", "公开", "参照", "平均")),
    ("培训、交流与政策解读", ("培训", "交流", "面对面", "解读", "说明", "分享", "宣传")),
    ("信息系统与编码质控", ("系统", "结算清单", "质控", "编码", "追溯码", "接口", "影像")),
)
OTHER_THEME = "其他"
#: words that point to money owed to an institution (handbook 六(七))
ARREARS_WORDS = ("拖欠", "欠款", "欠费", "拨付不及时", "拨付滞后", "拨付慢", "拨付较慢", "未拨付", "迟迟未",
                 "未结算", "回款慢", "到账较慢", "到账慢", "压款", "压账")
#: the choice answers that report arrears by themselves: question -> options
ARREARS_OPTIONS = {"q8": ("D",)}


def theme_of(text: str) -> str:
    """The theme with the most keyword hits (ties: the earlier theme); 其他 without any hit."""
    t = str(text or "")
    best, hits = OTHER_THEME, 0
    for theme, words in THEMES:
        n = sum(1 for w in words if w in t)
        if n > hits:
            best, hits = theme, n
    return best


def mentions_arrears(text: str) -> str | None:
    """The arrears word found in a text, else None."""
    t = re.sub(r"\s+", "", str(text or ""))
    return next((w for w in ARREARS_WORDS if w in t), None)


def out_of_range(qid: str, x: float, fill: bool = False) -> str | None:
    rng = (FILL_RANGES if fill else RANGES).get(qid)
    if rng is None or x is None:
        return None
    lo, hi = rng
    if x < lo or (hi is not None and x > hi):
        return f"数值 {x:g} 超出合理范围（{lo}–{hi if hi is not None else '∞'}）"
    return None
