"""Who may be drawn into the working group — from the pool's data, not from keywords alone.

Rules (../shared/seeds):

* NHSA notice 二(一), handbook 二(三): representatives are recommended by their hospital and are
  院领导、财务、医保等业务处室负责人; 原则上每家定点医疗机构可推荐2人.
* handbook 二(一), notice 二(一): 第三方运维单位人员等不作为数据工作组成员.
* handbook 二(三), Fujian 第六条: 每年轮换一次 / 任期一年，原则上不连任 — checked against last year's frozen
  draw record and roster (:func:`read_history`), not only the pool's self-declared ``served_years``.

The checks, each giving a reason printed in the draw record:

* **one person, one ticket**: a person is the same when the ``person_id`` repeats *or* the normalised name
  (NFKC, no spaces or middle dots) repeats within the same institution; later rows are refused;
* **at most two nominees per institution**: distinct persons in file order; the third and later are refused;
* **title**: must be a 院领导 (院长, 副院长, 书记, 总会计师 …) or the head (主任, 科长, 处长, 部长, 负责人 …)
  of a 医保 or 财务 office (:func:`title_role`); anything else is refused unless the person is on the
  explicit override list (``--title-overrides``: person_id, role, reason), which the record prints;
* **employer**: the ``employer`` column (工作单位) must name the nominating institution (its name, its code,
  or 本院/本单位); a different employer (a vendor, a maintenance company) marks third-party staff; an empty
  employer cannot be confirmed and is refused. Titles naming a vendor role (第三方, 运维, 外包, 驻场, 派驻 …)
  are refused as well;
* **rotation**: served in ``year − 1`` according to last year's draw (same person_id, or same normalised
  name at the same institution) or according to ``served_years`` (``2025``, ``2025年``, ``二〇二五年``).
"""
from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path

import pandas as pd

from yibao.errors import YibaoError
from yibao.fsutil import sha256

#: words in a title that name a vendor / maintenance role (handbook 二(一))
THIRD_PARTY_WORDS = ("第三方", "运维", "外包", "厂商", "驻场", "派驻", "供应商", "技术服务商", "技术支持")
#: hospital leadership (院领导)
LEADER_WORDS = ("院长", "书记", "总会计师", "院领导", "理事长")
#: heads of an office (负责人)
HEAD_WORDS = ("主任", "科长", "处长", "部长", "负责人", "主管", "总监")
#: the offices the notice names besides the leadership
OFFICE_WORDS = {"医保": ("医保", "医疗保险", "医保办", "医保科", "医保处"),
                "财务": ("财务", "计财", "计划财务", "经济管理", "运营管理", "总会计")}
ROLES = ("院领导", "医保负责人", "财务负责人")
OWN_EMPLOYER = ("本院", "本单位", "本机构")
MAX_NOMINEES = 2

_CN_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")


def norm_name(s) -> str:
    """A name for matching: NFKC (full-width → half-width), no whitespace, no middle dots."""
    t = unicodedata.normalize("NFKC", str(s or ""))
    return re.sub(r"[\s·•・.]", "", t)


def person_key(name, fixmedins_code) -> str:
    return f"{norm_name(name)}@{str(fixmedins_code or '').strip()}"


def served_in(served_years: str) -> set[int]:
    """Years in a ``served_years`` cell: ``2024;2025``, ``2024年、2025年``, ``二〇二五年`` …"""
    t = str(served_years or "").translate(_CN_DIGITS)
    return {int(y) for y in re.findall(r"(?<!\d)(\d{4})(?!\d)", t)}


def is_third_party(title: str) -> str | None:
    """The word of :data:`THIRD_PARTY_WORDS` found in a title, else None."""
    t = unicodedata.normalize("NFKC", str(title or ""))
    for w in THIRD_PARTY_WORDS:
        if w in t:
            return w
    return None


def title_role(title: str) -> str | None:
    """院领导 / 医保负责人 / 财务负责人 when the title is one the notice names, else None."""
    t = unicodedata.normalize("NFKC", str(title or ""))
    if any(w in t for w in LEADER_WORDS) and "助理" not in t:  # 院长助理 is not 院领导
        return "院领导"
    if any(w in t for w in HEAD_WORDS):
        for role, words in OFFICE_WORDS.items():
            if any(w in t for w in words):
                return role + "负责人"
    return None


def employer_problem(employer: str, code: str, inst_name: str) -> str | None:
    """None when the employer is the nominating institution, else the reason it is not accepted."""
    e = norm_name(employer)
    if not e:
        return "未填写工作单位，无法确认为本机构人员"
    if e in OWN_EMPLOYER or e == norm_name(code):
        return None
    n = norm_name(inst_name)
    if n and (e == n or n in e or e in n):
        return None
    if not n:
        return f"工作单位“{employer}”无法与机构核对（缺机构名称，请提供 --fixmedins 或 fixmedins_name 列）"
    return f"工作单位为“{employer}”，非本机构（{inst_name}）人员，按第三方人员不作为工作组成员"


# ---- reading ----------------------------------------------------------------------------------

def read_frame(path: Path) -> pd.DataFrame:
    from yibao.data.load import detect_encoding
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path, dtype=str, encoding=detect_encoding(path), keep_default_na=False)
    if suffix == ".xls":
        raise YibaoError(f"{path}: 旧版 Excel（.xls）不受支持，请在 Excel/WPS 中另存为 .xlsx 后重试")
    if suffix in (".xlsx", ".xlsm"):
        try:
            return pd.read_excel(path, dtype=str).fillna("")
        except Exception as exc:  # noqa: BLE001 - a damaged or mis-named file is bad input, not a crash
            raise YibaoError(f"{path}: 无法读取 Excel 文件（{type(exc).__name__}: {exc}）") from exc
    if suffix == ".parquet":
        df = pd.read_parquet(path)
        return df.astype(str).replace({"None": "", "nan": "", "<NA>": ""})
    raise YibaoError(f"{path}: 不支持的文件类型 {suffix}（成员库应为 csv、xlsx 或 parquet）")


def clean(v) -> str:
    s = "" if v is None else str(v).strip()
    if s.lower() in ("nan", "none", "<na>"):
        return ""
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    return s


# ---- override list ---------------------------------------------------------------------------

def read_overrides(path: str | os.PathLike | None) -> dict[str, dict]:
    """person_id -> {role, reason} from a csv/xlsx with columns person_id (人员ID), role (认定角色), reason (理由)."""
    if not path:
        return {}
    p = Path(path)
    if not p.is_file():
        raise YibaoError(f"--title-overrides {p}: 文件不存在")
    df = read_frame(p)
    alias = {"person_id": ("person_id", "人员id", "人员编号"), "role": ("role", "认定角色", "角色"),
             "reason": ("reason", "理由", "依据", "说明")}
    cols = {}
    for canon, names in alias.items():
        for c in df.columns:
            if str(c).strip().lower() in names:
                cols[canon] = c
                break
    missing = [c for c in ("person_id", "reason") if c not in cols]
    if missing:
        raise YibaoError(f"--title-overrides {p.name}: 缺少列 {', '.join(missing)}（需要 person_id, role, reason）")
    out = {}
    for i, r in df.iterrows():
        pid, why = clean(r[cols["person_id"]]), clean(r[cols["reason"]])
        if not pid:
            continue
        if not why:
            raise YibaoError(f"--title-overrides {p.name} 第 {i + 2} 行: 人员 {pid} 未写理由（每个例外都要写明理由）")
        out[pid] = {"role": clean(r[cols["role"]]) if "role" in cols else "", "reason": why}
    return out


# ---- last year's draw ------------------------------------------------------------------------

def read_history(directory: str | os.PathLike, year: int) -> tuple[pd.DataFrame, dict]:
    """Last year's members from the directory of last year's draw (``draw.json``, checked against
    ``roster.xlsx`` when present). Raises YibaoError when it is missing, unreadable, of another year, or
    when the roster and the record disagree — a draw is never made on an unchecked rotation."""
    d = Path(directory)
    rec_path = d / "draw.json" if d.is_dir() else d
    if not rec_path.is_file():
        raise YibaoError(f"--history {directory}: 找不到上年抽取记录 draw.json，无法核对轮换（不连任）；"
                         f"首次抽取请改用 --first-draw \"理由\"")
    try:
        rec = json.loads(rec_path.read_text(encoding="utf-8"))
        selected = rec["selected"]
        rec_year = int(rec["year"])
        prev = pd.DataFrame([{"person_id": str(s.get("person_id", "")), "name": str(s.get("name", "")),
                              "fixmedins_code": str(s.get("fixmedins_code", ""))} for s in selected])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise YibaoError(f"--history {rec_path}: 上年抽取记录无法读取（{type(exc).__name__}: {exc}）") from None
    if rec_year != year - 1:
        raise YibaoError(f"--history {rec_path}: 这是 {rec_year} 年的抽取记录，核对 {year} 年轮换需要 {year - 1} 年的记录")
    if prev.empty:
        raise YibaoError(f"--history {rec_path}: 上年抽取记录没有入选名单")
    roster_path = rec_path.parent / "roster.xlsx"
    if roster_path.is_file():
        try:
            roster = pd.read_excel(roster_path, dtype=str).fillna("")
            ids = set(roster["人员ID"].map(str))
        except Exception as exc:  # noqa: BLE001 - an unreadable roster is bad input
            raise YibaoError(f"--history {roster_path}: 上年名单无法读取（{type(exc).__name__}）") from None
        if ids != set(prev["person_id"]):
            raise YibaoError(f"--history {roster_path}: 上年名单与上年抽取记录 draw.json 的入选名单不一致"
                             f"（名单 {len(ids)} 人，记录 {len(prev)} 人），请核实哪一份被改动")
    info = {"path": str(rec_path), "sha256": sha256(rec_path), "year": rec_year, "members": int(len(prev)),
            "roster_path": str(roster_path) if roster_path.is_file() else None,
            "roster_sha256": sha256(roster_path) if roster_path.is_file() else None}
    return prev, info


# ---- the checks ------------------------------------------------------------------------------

def reasons(df: pd.DataFrame, year: int, previous: pd.DataFrame | None = None,
            overrides: dict[str, dict] | None = None) -> tuple[list[str], list[str]]:
    """(reason, role) per row of an annotated pool (columns person_id, name, fixmedins_code, title,
    served_years, employer, fixmedins_name); an empty reason means eligible."""
    overrides = overrides or {}
    prev_ids = set(previous["person_id"]) if previous is not None else set()
    prev_keys = ({person_key(n, c) for n, c in zip(previous["name"], previous["fixmedins_code"])}
                 if previous is not None else set())
    has_employer = "employer" in df.columns
    seen_ids: dict[str, str] = {}
    seen_keys: dict[str, str] = {}
    nominees: dict[str, int] = {}
    out_reasons, out_roles = [], []
    for r in df.itertuples(index=False):
        why = []
        key = person_key(r.name, r.fixmedins_code)
        duplicate = False
        if not r.person_id:
            why.append("缺少人员ID")
        elif r.person_id in seen_ids:
            why.append("人员ID重复（保留首次出现的一行）")
            duplicate = True
        elif r.name and key in seen_keys:
            why.append(f"同一人重复推荐（与 {seen_keys[key]} 同名同机构，一人一签）")
            duplicate = True
        if not r.fixmedins_code:
            why.append("缺少定点医疗机构编号")
        elif not duplicate:
            nominees[r.fixmedins_code] = nominees.get(r.fixmedins_code, 0) + 1
            k = nominees[r.fixmedins_code]
            if k > MAX_NOMINEES:
                why.append(f"超出每家机构推荐{MAX_NOMINEES}人的上限（本机构第{k}人）")
        w = is_third_party(r.title)
        if w:
            why.append(f"第三方运维/厂商人员（职务含“{w}”），不作为工作组成员")
        role = title_role(r.title)
        ov = overrides.get(r.person_id)
        if role is None and ov:
            role = (ov.get("role") or "例外认定") + "（例外）"
        if role is None and not w:
            why.append(f"职务“{r.title}”不是院领导或医保、财务处室负责人（可列入例外名单并写明理由）")
        if has_employer:
            prob = employer_problem(r.employer, r.fixmedins_code, r.fixmedins_name)
            if prob:
                why.append(prob)
        else:
            why.append("成员库缺少工作单位（employer）列，无法确认为本机构人员")
        if r.person_id in prev_ids or (r.name and key in prev_keys):
            why.append(f"{year - 1}年已任工作组成员（上年抽取记录），原则上不连任")
        elif (year - 1) in served_in(r.served_years):
            why.append(f"{year - 1}年已任工作组成员（成员库已任年度），原则上不连任")
        if r.person_id and r.person_id not in seen_ids:
            seen_ids[r.person_id] = r.person_id
        if r.name and key not in seen_keys:
            seen_keys[key] = r.person_id
        out_reasons.append("；".join(why))
        out_roles.append(role or "")
    return out_reasons, out_roles
