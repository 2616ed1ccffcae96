"""The contacts file of ``yibao push``: which recipients each institution's package goes to.

``params/contacts-<region>.yaml`` maps a ``fixmedins_code`` to its name and one or more e-mail addresses::

    H350100001: {name: 东岚市中心医院, email: [a@x.cn, b@x.cn]}
    H350100002: {name: 东岚市第一医院, email: yb@x.cn}

A malformed file or address is refused with one line naming the file, the code and the rule.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from yibao.errors import YibaoError

EMAIL_RX = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class Contact:
    code: str
    name: str
    emails: tuple[str, ...]


def load(path) -> dict[str, Contact]:
    import yaml
    path = Path(path)
    if not path.is_file():
        raise YibaoError(f"--contacts {path}: 文件不存在 (rule: a YAML file mapping fixmedins_code to name and email)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise YibaoError(f"{path}: 不是有效的 YAML（{str(exc).splitlines()[0]}）(rule: contacts file is YAML)") from None
    if not isinstance(raw, dict):
        raise YibaoError(f"{path}: 顶层应为 机构编号: {{name, email}} 的映射 (rule: contacts file layout)")
    out = {}
    for code, entry in raw.items():
        code = str(code).strip()
        if not isinstance(entry, dict):
            raise YibaoError(f"{path} · {code}: 应为 {{name: …, email: […]}} (rule: contacts entry layout)")
        emails = entry.get("email") or []
        emails = [emails] if isinstance(emails, str) else list(emails)
        emails = [str(e).strip() for e in emails if str(e).strip()]
        bad = [e for e in emails if not EMAIL_RX.fullmatch(e)]
        if bad:
            raise YibaoError(f"{path} · {code} · email: {', '.join(bad)} 不是有效的电子邮件地址 (rule: name@domain)")
        out[code] = Contact(code, str(entry.get("name") or "").strip(), tuple(emails))
    return out


__all__ = ["Contact", "load"]
