"""Person identifiers in free text (survey answers, feedback notes): masked before anything is shown."""
from __future__ import annotations

import re

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
