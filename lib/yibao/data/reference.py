"""National reference code lists shipped with the system (copied from ../shared/reference, see
resources/reference/README.md for sources): MDC, ADRG and DRG lists of CHS-DRG 2.0, ICD-10 chapters,
the ICD-10 医保版 2.0 code list and the 数据底稿 indicator table (digao-2025-03.csv).
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

from yibao import PACKAGE_DIR

REF_DIR = PACKAGE_DIR / "resources" / "reference"


@lru_cache(maxsize=None)
def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(REF_DIR / name, dtype=str, keep_default_na=False)


def mdc() -> pd.DataFrame:
    """26 MDCs: mdc_code (MDCA…), mdc_name, mdc_name_chs11."""
    return _read("mdc.csv").copy()


def adrg() -> pd.DataFrame:
    """409 ADRGs of CHS-DRG 2.0: adrg_code, adrg_name, mdc_code."""
    return _read("adrg.csv").copy()


def drg() -> pd.DataFrame:
    """634 DRGs of CHS-DRG 2.0: drg_code, drg_name, adrg_code (weight is empty nationally)."""
    return _read("drg.csv").drop(columns=["weight"]).copy()


def icd10_chapters() -> pd.DataFrame:
    """22 ICD-10 chapters: chapter (1..22), roman (I..XXII), code_range, chapter_name."""
    df = _read("icd10_chapters.csv").copy()
    df["roman"] = [to_roman(int(c)) for c in df["chapter"]]
    return df


@lru_cache(maxsize=None)
def icd10() -> pd.DataFrame:
    """ICD-10 医保版 2.0: code, name, category3, subcategory4, chapter."""
    return _read("icd10_yibao_v2.csv")


def digao() -> pd.DataFrame:
    """The 49 rows of the 数据底稿 table (reference/digao-2025-03.csv)."""
    return _read("digao-2025-03.csv").copy()


def to_roman(n: int) -> str:
    vals = [(10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for v, s in vals:
        while n >= v:
            out += s
            n -= v
    return out


def chapter_of(icd_code: str) -> str | None:
    """Chapter number ('1'..'22') of an ICD-10 code or 3-character category, by code range."""
    c = str(icd_code or "").strip().upper()[:3]
    if len(c) < 3:
        return None
    for _, r in _read("icd10_chapters.csv").iterrows():
        lo, hi = r["code_range"].split("-")
        if lo <= c <= hi[:3]:
            return r["chapter"]
    return None


@lru_cache(maxsize=None)
def icd_names() -> dict[str, str]:
    """Display names for ICD-10 categories (``I63``) and subcategories (``I63.3``).

    The 医保版 list has leaf codes only (see resources/reference/README.md, "Gap"), so names are
    taken from leaf codes: a subcategory's from its ``.n00`` code (e.g. I63.300 大脑动脉血栓形成引起的
    脑梗死); a category's from its ``.900`` (未特指) or ``.x00`` code (I63.900 脑梗死), else the
    shortest code of the category.
    """
    df = icd10()
    out: dict[str, str] = {}
    d = df.assign(_len=df["code"].str.len()).sort_values(["_len", "code"])
    sub = d[d["subcategory4"] != ""].drop_duplicates("subcategory4")
    out.update(dict(zip(sub["subcategory4"], sub["name"])))
    names = dict(zip(df["code"], df["name"]))
    for cat, grp in d.groupby("category3", sort=False):
        nm = names.get(f"{cat}.900") or names.get(f"{cat}.x00") or grp["name"].iloc[0]
        out[cat] = nm
    return out
