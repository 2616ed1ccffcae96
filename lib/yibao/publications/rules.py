"""The rules a publication's compliance statements rest on (caps, deadlines), with their source.

A sentence such as "特例单议通过病例占出院病例的0.75%（未超过5%的上限）" is a claim about a rule; a
reader must be able to check it. Every such statement in a publication comes from the region's rule
table in ``params/regions.yaml`` (``rulebooks:``, chosen by ``rulebook:`` under ``defaults`` or a
region), which names the document and the article. Where the region has no rule for it, the statement
is left out — the figure is given without a judgement.

    book = rules.for_region("350200")
    cap = book.special_case_cap("DIP")     # Rule(limit=0.5, …) or None
    cap.cite()                             # '依据《…》（吉医保发〔2024〕14号）第一部分第（三）项'

``YIBAO_REGIONS_YAML`` names another regions file (tests; a data office keeping its settings elsewhere).
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from yibao import PROJECT_DIR
from yibao.errors import YibaoError


@dataclass(frozen=True)
class Rule:
    name: str            # special_case_cap | settlement_days
    limit: float         # the cap in % of discharges, or working days
    document: str
    article: str

    def cite(self) -> str:
        return f"依据{self.document}{self.article}"

    def permille_or_pct(self) -> str:
        """A cap written as the document writes it: 5‰ for 0.5 %, 5% for 5 %."""
        if self.limit < 1:
            return f"{self.limit * 10:g}‰"
        return f"{self.limit:g}%"


@dataclass(frozen=True)
class RuleBook:
    key: str | None
    document: str
    entries: dict

    def _rule(self, name: str, value_key: str) -> Rule | None:
        e = self.entries.get(name)
        if not isinstance(e, dict) or e.get(value_key) in (None, ""):
            return None
        try:
            limit = float(e[value_key])
        except (TypeError, ValueError):
            raise YibaoError(f"params/regions.yaml · rulebooks.{self.key}.{name}.{value_key} · "
                             f"{e[value_key]!r} 不是数字 (rule: numeric limit)") from None
        return Rule(name, limit, self.document, str(e.get("article") or ""))

    def special_case_cap(self, pay_method: str) -> Rule | None:
        """特例单议总量上限 (% of discharges) for the payment method, or None."""
        return self._rule("special_case_cap", str(pay_method).upper())

    def settlement_days(self) -> Rule | None:
        """费用结算期限 in working days from the declaration, or None."""
        return self._rule("settlement_days", "working_days")


EMPTY = RuleBook(None, "", {})


def regions_yaml() -> Path:
    return Path(os.environ.get("YIBAO_REGIONS_YAML") or PROJECT_DIR / "params" / "regions.yaml")


def for_region(region: str, path: Path | None = None) -> RuleBook:
    """The region's rule book (``regions.<code>.rulebook``, else ``defaults.rulebook``); an empty book
    when none is set or the file is absent."""
    import yaml
    path = Path(path) if path else regions_yaml()
    if not path.is_file():
        return EMPTY
    cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    reg = (cfg.get("regions") or {}).get(str(region)) or (cfg.get("regions") or {}).get(_int(region)) or {}
    key = reg["rulebook"] if "rulebook" in reg else (cfg.get("defaults") or {}).get("rulebook")
    if not key:
        return EMPTY
    books = cfg.get("rulebooks") or {}
    if key not in books:
        raise YibaoError(f"{path} · rulebook · 统筹区 {region} 的规则表 {key!r} 未在 rulebooks 中定义 "
                         f"(rule: rulebook must name an entry of rulebooks)")
    book = books[key] or {}
    return RuleBook(str(key), str(book.get("document") or key), {k: v for k, v in book.items() if k != "document"})


def _int(s):
    try:
        return int(s)
    except (TypeError, ValueError):
        return s


def due_date(declared: dt.date, working_days: float) -> dt.date:
    """The last day a claim declared on ``declared`` may be paid: ``working_days`` Monday–Friday days
    after it (public holidays are not known to the system)."""
    return np.busday_offset(np.datetime64(declared, "D"), int(working_days), roll="forward").astype(dt.date)


def classify_claims(claims, deadline: Rule | None):
    """Each claim (a row of :func:`yibao.metrics.analysis.settlement_claims`) as paid in full (已付清), paid
    short (已拨付但少付), not yet due (未到期: unpaid and the deadline after the data's date), overdue (逾期未付)
    or, without a deadline rule, unpaid (未拨付). Adds ``state``, ``due`` (the deadline, NaT without a
    rule) and ``short`` (payable − paid of a paid claim)."""
    import pandas as pd
    df = claims.copy()
    if df.empty:
        return df.assign(state=[], due=[], short=[])
    paid = df["paid_date"].notna() & (df["paid"].fillna(0) > 0)
    as_of = pd.to_datetime(df["as_of"])
    if deadline is not None:
        decl = pd.to_datetime(df["declare_date"])
        due = [pd.Timestamp(due_date(d.date(), deadline.limit)) if pd.notna(d) else pd.NaT for d in decl]
        df["due"] = pd.to_datetime(pd.Series(due, index=df.index))
    else:
        df["due"] = pd.NaT
    df["short"] = (df["payable"].fillna(0) - df["paid"].fillna(0)).where(paid, 0.0).clip(lower=0)
    state = pd.Series("未拨付", index=df.index)
    state[paid] = "已付清"
    state[paid & (df["short"] > 0.005)] = "少付"
    if deadline is not None:
        not_due = ~paid & (df["declare_date"].isna() | (df["due"] > as_of))
        state[not_due] = "未到期"
        state[~paid & ~not_due] = "逾期未付"
    df["state"] = state
    return df
