"""The working group's member draw (成员库抽取定点医疗机构代表).

Rules (../shared/seeds):

* NHSA notice 二(一) and Fujian rules 第五条: hospital representatives (定点医疗机构代表) are drawn from the
  成员库 — each designated hospital recommends up to 2 people (院领导/医保/财务 heads); at least 8 people,
  原则上 三级医院 ≥ 2, 二级医院 ≥ 3, 一级医院及基层医疗卫生机构 ≥ 3; 第三方运维单位人员等不作为数据工作组成员.
* Handbook 二(三): drawn at random every year at the start of the year, covering different levels and
  types; 基层医疗机构代表应不少于四分之一 (here: the 一级及基层 group ≥ ⌈size / 4⌉); rotated every year.
* Fujian rules 第六条: 任期一年，原则上不连任 — nobody who served in the previous year is eligible.

How the draw works (the freeze, the seed and the log are in :mod:`yibao.workgroup.ledger`):

1. Candidates are excluded, each with a reason, by the rules of :mod:`yibao.workgroup.eligibility`
   (one person one ticket, two nominees per institution, titles, employer, rotation against last year's
   draw), or when their institution is not a designated *medical* institution or its level is unknown.
2. Every eligible candidate gets a lottery number ``sha256("<seed>:<person_id>")`` (hex), the seed being
   derived from the frozen pool's hash and a public value published after the freeze. Sorting by it
   gives the draw order; it depends only on the seed and the person_id (not on the file's row order, the
   Python version or any library), so the order can be recomputed by anyone.
3. For each level group (三级, 二级, 一级及基层) the quota is filled in draw order, taking at most one
   person per hospital; if that is not enough, a second person of an already represented hospital is
   taken in draw order (the "unless the quotas cannot otherwise be met" exception, noted in the record).
   Remaining seats (when ``size`` exceeds the sum of the quotas) are filled from all remaining eligible
   candidates in draw order, again one per hospital first.
4. When a quota cannot be met at all, :class:`~yibao.errors.YibaoError` names the quota and the shortfall.

Outputs in the draw directory: ``roster.xlsx`` / ``roster.md`` (the drawn members) and ``draw.json`` /
``draw.md`` (the draw record: sha256 of the pool and fixmedins files, seed, quotas, pool size per level,
every exclusion with its reason, the draw order, the result, the freeze, the log and the signatures).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from yibao.data.contract import TABLES, header_map, level_group
from yibao.errors import YibaoError
from yibao.escape import markdown_inline, xlsx_workbook
from yibao.fsutil import atomic_path, sha256, write_text
from yibao.workgroup.eligibility import clean as _clean, is_third_party, read_frame as _read_frame, served_in
from yibao.workgroup.eligibility import reasons as eligibility_reasons

# ---- rules as data -------------------------------------------------------------------------

#: quota groups in display order
GROUPS = ("三级", "二级", "一级及基层")
#: minimum per group (NHSA notice 二(一); Fujian rules 第五条)
GROUP_MIN = {"三级": 2, "二级": 3, "一级及基层": 3}
#: minimum total (NHSA notice 二(一); handbook 二(二)/(三); Fujian rules 第五条)
MIN_TOTAL = 8
#: 基层 share (handbook 二(三): 基层医疗机构代表应不少于四分之一)
BASE_SHARE = 0.25
QUOTA_SOURCES = {
    "total": "国家医保局办公室通知 二(一)；手册 二(三)；福建规则 第五条：人数不少于8人",
    "三级": "国家医保局办公室通知 二(一)；福建规则 第五条：三级医院不少于2人",
    "二级": "国家医保局办公室通知 二(一)；福建规则 第五条：二级医院不少于3人",
    "一级及基层": "国家医保局办公室通知 二(一)；福建规则 第五条：一级医院及基层医疗卫生机构不少于3人；"
               "手册 二(三)：基层医疗机构代表应不少于四分之一",
}
GROUP_LABEL = {"三级": "三级医疗机构代表", "二级": "二级医疗机构代表", "一级及基层": "一级及基层医疗机构代表",
               "total": "定点医疗机构代表"}
#: titles the sample pool uses (NHSA notice 二(一): 院领导、财务、医保等业务处室负责人)
SAMPLE_TITLES = ("院领导", "医保办主任", "财务科长")

POOL_SPEC = TABLES["workgroup_pool"]
_POOL_EXTRA = {  # accepted extra pool columns -> canonical name
    "hosp_lv": ("hosp_lv", "医院等级", "医疗机构等级"),
    "level": ("level", "机构等级", "等级", "level_group", "级别"),
    "fixmedins_name": ("fixmedins_name", "定点医药机构名称", "机构名称", "医疗机构名称", "单位", "单位名称"),
    "fixmedins_type": ("fixmedins_type", "定点医药机构类型", "机构类型"),
    "medins_type": ("medins_type", "医疗机构类别"),
    "poolarea_no": ("poolarea_no", "统筹区编号"),
    "employer": ("employer", "工作单位", "所在单位", "人事关系单位", "劳动合同单位"),
}
_POOL_ALIASES = {"name": ("姓名", "人员姓名", "name"), "title": ("职务", "职务/职称", "岗位"),
                 "served_years": ("已任年度", "任职年度", "曾任年度", "served"),
                 "person_id": ("人员ID", "人员编号", "成员编号", "序号ID"),
                 "fixmedins_code": ("定点医药机构编号", "机构编码", "定点机构编号", "医疗机构编码")}


# ---- reading --------------------------------------------------------------------------------

def read_pool(path: str | os.PathLike) -> pd.DataFrame:
    """The 成员库 with canonical columns (person_id, name, fixmedins_code, title, served_years and, when
    present, hosp_lv, level, fixmedins_name, fixmedins_type, medins_type, poolarea_no); every value a string.

    Headers may be the field names or their Chinese labels (姓名 is kept here: members' names are what a
    roster is for; they are not patient identifiers).
    """
    path = Path(path)
    if not path.is_file():
        raise YibaoError(f"--pool {path}: 文件不存在")
    raw = _read_frame(path)
    hm = header_map(POOL_SPEC)
    for canon, names in {**_POOL_ALIASES, **_POOL_EXTRA}.items():
        for n in names:
            hm[n.lower()] = canon
    rename, seen = {}, set()
    for h in raw.columns:
        key = str(h).strip().lstrip("\ufeff").lower()
        canon = hm.get(key)
        if canon and canon not in seen:
            rename[h] = canon
            seen.add(canon)
    df = raw[list(rename)].rename(columns=rename)
    missing = [f for f in ("person_id", "name", "fixmedins_code", "title") if f not in df.columns]
    if missing:
        raise YibaoError(f"--pool {path.name}: 缺少列 {', '.join(missing)}（成员库 workgroup_pool 需要 person_id, name, "
                         f"fixmedins_code, title, served_years；见 docs/workgroup.md）")
    for c in df.columns:
        df[c] = df[c].map(_clean)
    if "served_years" not in df.columns:
        df["served_years"] = ""
    if "hosp_lv" in df.columns:
        df["hosp_lv"] = df["hosp_lv"].map(lambda v: v.zfill(2) if v.isdigit() else v)
    return df.reset_index(drop=True)


def read_fixmedins(source: str | os.PathLike) -> pd.DataFrame:
    """fixmedins from a table file (csv/xlsx/parquet) or a dataset directory, contract column names."""
    from yibao.data.load import plan_headers, read_table
    p = Path(source)
    if p.is_dir():
        df = read_table(p, "fixmedins", required=True)
    elif p.is_file():
        raw = _read_frame(p)
        plan = plan_headers(TABLES["fixmedins"], list(raw.columns))
        df = raw[list(plan.mapping)].rename(columns=plan.mapping)
        for c in df.columns:
            df[c] = df[c].map(_clean)
    else:
        raise YibaoError(f"--fixmedins {p}: 文件或目录不存在")
    if "fixmedins_code" not in df.columns or "hosp_lv" not in df.columns:
        raise YibaoError(f"--fixmedins {p}: 需要 fixmedins_code 和 hosp_lv 两列")
    df = df.copy()
    df["hosp_lv"] = df["hosp_lv"].map(lambda v: _clean(v).zfill(2) if _clean(v).isdigit() else _clean(v))
    return df


def quota_group(hosp_lv: str = "", level: str = "") -> str | None:
    """Quota group of a platform hosp_lv code (01–04 三级, 05–07 二级, 08–11 一级及基层) or of a level
    text (三级/三甲/二级/一级/基层/社区/乡镇/无等级…); None when unknown."""
    code = _clean(hosp_lv)
    if code.isdigit() and 1 <= int(code) <= 11:
        g = level_group(code.zfill(2))
        return g if g in ("三级", "二级") else "一级及基层"
    t = _clean(level) or ("" if code.isdigit() else code)
    if not t:
        return None
    if t.startswith("三") or t.startswith("3"):
        return "三级"
    if t.startswith("二") or t.startswith("2"):
        return "二级"
    if t.startswith(("一", "1", "基层", "社区", "乡镇", "卫生院", "无等级", "未定级", "村")):
        return "一级及基层"
    return None


def lottery_number(seed, person_id: str) -> str:
    """The candidate's lottery number: hex sha256 of ``"<seed>:<person_id>"``; the draw order sorts by it.
    ``seed`` is the derived seed of a frozen draw (64 hex digits, see :mod:`yibao.workgroup.ledger`)."""
    return hashlib.sha256(f"{seed}:{person_id}".encode("utf-8")).hexdigest()


def quotas(size: int = MIN_TOTAL) -> dict[str, int]:
    """Minimum per quota group for a draw of ``size`` people (the 一级及基层 minimum is the larger of 3 and
    a quarter of ``size``, rounded up)."""
    return {"三级": GROUP_MIN["三级"], "二级": GROUP_MIN["二级"],
            "一级及基层": max(GROUP_MIN["一级及基层"], math.ceil(size * BASE_SHARE))}


# ---- the draw -------------------------------------------------------------------------------

@dataclass
class DrawResult:
    year: int
    seed: str | int
    size: int
    quotas: dict[str, int]
    roster: pd.DataFrame  # the drawn members
    candidates: pd.DataFrame  # every pool row with group, eligible, reason, role, lottery
    notes: list[str] = field(default_factory=list)
    rotation: str = ""  # how last year's members were identified (printed in the record)

    @property
    def person_ids(self) -> list[str]:
        return self.roster["person_id"].tolist()


def annotate(pool: pd.DataFrame, year: int, seed, fixmedins: pd.DataFrame | None = None,
             previous: pd.DataFrame | None = None, overrides: dict | None = None) -> pd.DataFrame:
    """Every pool row with its institution details, quota ``group``, ``eligible`` flag, exclusion
    ``reason``, accepted ``role`` and ``lottery`` number (rules: :mod:`yibao.workgroup.eligibility`).
    ``previous``: last year's members (:func:`~yibao.workgroup.eligibility.read_history`)."""
    df = pool.copy()
    for c in ("hosp_lv", "level", "fixmedins_name", "fixmedins_type", "medins_type", "served_years"):
        if c not in df.columns:
            df[c] = ""
    if fixmedins is not None:
        fx = fixmedins.set_index("fixmedins_code")
        for src, dst in (("hosp_lv", "hosp_lv"), ("fixmedins_name", "fixmedins_name"),
                         ("fixmedins_type", "fixmedins_type"), ("medins_type", "medins_type")):
            if src in fx.columns:
                mapped = df["fixmedins_code"].map(fx[src].map(_clean).to_dict())
                df[dst] = mapped.where(mapped.notna() & (mapped != ""), df[dst]).fillna("")
        df["in_fx_"] = df["fixmedins_code"].isin(fx.index)
    else:
        df["in_fx_"] = True
    df["group"] = [quota_group(lv, lvl) for lv, lvl in zip(df["hosp_lv"], df["level"])]
    why, roles = eligibility_reasons(df, year, previous, overrides)
    for i, r in enumerate(df.itertuples(index=False)):
        extra = ""
        if r.fixmedins_type and r.fixmedins_type not in ("1", "01"):
            extra = "非定点医疗机构（零售药店等），不属医疗机构代表"
        elif r.group is None:
            extra = "机构等级未知（fixmedins 中无此机构且成员库无等级列）" if not r.in_fx_ else "机构等级未知"
        if extra:
            why[i] = "；".join(x for x in (why[i], extra) if x)
    df["reason"] = why
    df["role"] = roles
    df["eligible"] = df["reason"] == ""
    df["lottery"] = [lottery_number(seed, pid) for pid in df["person_id"]]
    return df.drop(columns=["in_fx_"])


def draw(pool: pd.DataFrame, year: int, seed, fixmedins: pd.DataFrame | None = None,
         size: int = MIN_TOTAL, previous: pd.DataFrame | None = None, overrides: dict | None = None,
         rotation: str = "") -> DrawResult:
    """Draw ``size`` hospital representatives for ``year`` (see the module docstring for the rules).

    Raises YibaoError naming every quota the pool cannot meet and the shortfall.
    """
    size = max(int(size), MIN_TOTAL)
    q = quotas(size)
    cand = annotate(pool, year, seed, fixmedins, previous, overrides)
    elig = cand[cand["eligible"]].sort_values("lottery", kind="mergesort")
    short = []
    for g in GROUPS:
        n = int((elig["group"] == g).sum())
        if n < q[g]:
            short.append(f"{GROUP_LABEL[g]}至少 {q[g]} 人，成员库中符合条件的仅 {n} 人（缺 {q[g] - n} 人）")
    if len(elig) < size:
        short.append(f"{GROUP_LABEL['total']}至少 {size} 人，成员库中符合条件的仅 {len(elig)} 人（缺 {size - len(elig)} 人）")
    if short:
        excl = int((~cand["eligible"]).sum())
        raise YibaoError("成员库无法满足配额：" + "；".join(short)
                         + f"。（成员库 {len(cand)} 人，其中 {excl} 人不符合条件，原因见 docs/workgroup.md）")

    chosen: list[tuple[int, str]] = []  # (index, basis)
    notes: list[str] = []
    taken_hosp: set[str] = set()

    def fill(rows: pd.DataFrame, need: int, basis: str) -> int:
        got = 0
        for second_pass in (False, True):
            for idx, r in rows.iterrows():
                if got >= need:
                    return got
                if idx in {i for i, _ in chosen}:
                    continue
                if r["fixmedins_code"] in taken_hosp and not second_pass:
                    continue
                if second_pass:
                    notes.append(f"{basis}：同一机构（{r['fixmedins_code']}）第2人 {r['person_id']} 入选 — "
                                 f"不同机构的候选人不足以满足配额（本系统约定原则上每机构1人，以兼顾各机构代表性）")
                chosen.append((idx, basis if not second_pass else basis + "（同机构第2人）"))
                taken_hosp.add(r["fixmedins_code"])
                got += 1
        return got

    for g in GROUPS:
        fill(elig[elig["group"] == g], q[g], f"{g}配额")
    fill(elig, size - len(chosen), "其余名额")
    assert len(chosen) == size

    order = {idx: k for k, idx in enumerate(elig.index)}
    roster = cand.loc[[i for i, _ in chosen]].copy()
    roster["basis"] = [b for _, b in chosen]
    roster["draw_order"] = [order[i] + 1 for i, _ in chosen]
    roster["_g"] = roster["group"].map({g: k for k, g in enumerate(GROUPS)})
    roster = roster.sort_values(["_g", "draw_order"], kind="mergesort").drop(columns="_g").reset_index(drop=True)
    return DrawResult(year, seed, size, q, roster, cand, notes, rotation)


# ---- outputs --------------------------------------------------------------------------------

ROSTER_COLUMNS = {"序号": None, "人员ID": "person_id", "姓名": "name", "定点医疗机构编号": "fixmedins_code",
                  "定点医疗机构名称": "fixmedins_name", "机构等级": "group", "职务": "title", "认定角色": "role",
                  "抽签顺序": "draw_order", "入选依据": "basis"}


def roster_table(res: DrawResult) -> pd.DataFrame:
    out = pd.DataFrame({zh: (res.roster[c] if c else range(1, len(res.roster) + 1))
                        for zh, c in ROSTER_COLUMNS.items()})
    return out.reset_index(drop=True)


def _md_table(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(markdown_inline(v) for v in row) + " |")
    return "\n".join(lines)


def record(res: DrawResult, pool_path: Path | None, fixmedins_path: Path | None, command: str) -> dict:
    cand = res.candidates
    per_level = []
    for g in (*GROUPS, None):
        sub = cand[cand["group"].isna()] if g is None else cand[cand["group"] == g]
        if g is None and sub.empty:
            continue
        per_level.append({
            "group": g or "等级未知", "pool": int(len(sub)), "hospitals": int(sub["fixmedins_code"].nunique()),
            "eligible": int(sub["eligible"].sum()),
            "eligible_hospitals": int(sub.loc[sub["eligible"], "fixmedins_code"].nunique()),
            "quota": res.quotas.get(g) if g else None,
            "drawn": int((res.roster["group"] == g).sum()) if g else 0,
        })
    elig = cand[cand["eligible"]].sort_values("lottery", kind="mergesort")
    return {
        "kind": "yibao workgroup draw record",
        "year": res.year,
        "seed": res.seed,
        "size": res.size,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "command": command,
        "pool_file": str(pool_path) if pool_path else None,
        "pool_sha256": sha256(pool_path) if pool_path else None,
        "fixmedins_file": str(fixmedins_path) if fixmedins_path else None,
        "fixmedins_sha256": (sha256(fixmedins_path) if fixmedins_path and Path(fixmedins_path).is_file() else None),
        "rotation": res.rotation,
        "method": ("抽签号 = SHA-256(\"<种子>:<人员ID>\") 的十六进制；符合条件的候选人按抽签号升序排成抽签顺序；"
                   "按 三级、二级、一级及基层 依次在本级候选人中按顺序抽满配额（每家机构至多1人，不足时才取同机构第2人），"
                   "其余名额在全部剩余候选人中按同一顺序抽取。"),
        "quotas": [{"group": g, "label": GROUP_LABEL[g], "min": res.quotas[g], "source": QUOTA_SOURCES[g]}
                   for g in GROUPS] + [{"group": "total", "label": GROUP_LABEL["total"], "min": res.size,
                                        "source": QUOTA_SOURCES["total"]}],
        "pool_by_level": per_level,
        "excluded": [{"person_id": r.person_id, "name": r.name, "fixmedins_code": r.fixmedins_code,
                      "title": r.title, "reason": r.reason}
                     for r in cand[~cand["eligible"]].itertuples(index=False)],
        "draw_order": [{"order": k + 1, "person_id": r.person_id, "group": r.group, "fixmedins_code": r.fixmedins_code,
                        "lottery": r.lottery} for k, r in enumerate(elig.itertuples(index=False))],
        "selected": [{"person_id": r.person_id, "name": r.name, "fixmedins_code": r.fixmedins_code,
                      "fixmedins_name": r.fixmedins_name, "group": r.group, "title": r.title, "role": r.role,
                      "draw_order": int(r.draw_order), "basis": r.basis}
                     for r in res.roster.itertuples(index=False)],
        "notes": res.notes,
        "checks": check_roster(res),
    }


def check_roster(res: DrawResult) -> list[dict]:
    """The quota checks on the drawn roster, each with 通过/不通过."""
    r = res.roster
    out = []
    for g in GROUPS:
        n = int((r["group"] == g).sum())
        out.append({"check": f"{GROUP_LABEL[g]}不少于{res.quotas[g]}人", "value": n,
                    "result": "通过" if n >= res.quotas[g] else "不通过"})
    n = len(r)
    out.append({"check": f"{GROUP_LABEL['total']}不少于{MIN_TOTAL}人", "value": n,
                "result": "通过" if n >= MIN_TOTAL else "不通过"})
    base = int((r["group"] == "一级及基层").sum())
    out.append({"check": "基层医疗机构代表不少于四分之一", "value": f"{base}/{n}",
                "result": "通过" if base * 4 >= n else "不通过"})
    dup = int(r["fixmedins_code"].duplicated().sum())
    out.append({"check": "每家机构至多1人（配额无法满足时除外）", "value": dup,
                "result": "通过" if dup == 0 else "例外（见说明）"})
    prev = int(sum((res.year - 1) in served_in(s) for s in r["served_years"]))
    if res.rotation:
        out.append({"check": f"无{res.year - 1}年已任成员（不连任；依据：{res.rotation}）", "value": prev,
                    "result": "通过" if prev == 0 else "不通过"})
    else:
        out.append({"check": f"无{res.year - 1}年已任成员（不连任）", "value": "未读取上年名单",
                    "result": "未核对"})
    tp = int(sum(bool(is_third_party(t)) for t in r["title"]))
    out.append({"check": "无第三方运维/厂商人员（职务与工作单位）", "value": tp, "result": "通过" if tp == 0 else "不通过"})
    bad_role = int((r["role"] == "").sum()) if "role" in r.columns else len(r)
    out.append({"check": "职务均为院领导或医保、财务处室负责人（含例外名单）", "value": bad_role,
                "result": "通过" if bad_role == 0 else "不通过"})
    return out


def record_markdown(rec: dict, roster: pd.DataFrame) -> str:
    lines = [f"# {rec['year']}年数据工作组定点医疗机构代表抽取记录", "",
             f"- 抽取年度：{rec['year']}", f"- 种子：{rec['seed']}", f"- 抽取人数：{rec['size']}",
             f"- 成员库文件：`{rec['pool_file']}`（SHA-256 `{rec['pool_sha256']}`）"]
    if rec.get("fixmedins_file"):
        lines.append(f"- 机构等级来源：`{rec['fixmedins_file']}`"
                     + (f"（SHA-256 `{rec['fixmedins_sha256']}`）" if rec.get("fixmedins_sha256") else ""))
    lines += [f"- 生成时间：{rec['created']}", "", "## 复核方法", "",
              "任何人可用同一成员库文件（SHA-256 一致）运行下列命令复核本次抽取（重新计算种子和名单，不改动任何文件）：", "",
              "```", rec["command"], "```", "", rec["method"], "", "## 配额", ""]
    lines.append(_md_table(pd.DataFrame([{"配额": q["label"], "最少人数": q["min"], "依据": q["source"]}
                                         for q in rec["quotas"]])))
    lines += ["", "## 成员库各级人数", ""]
    lines.append(_md_table(pd.DataFrame([{"机构等级": p["group"], "成员库人数": p["pool"], "机构数": p["hospitals"],
                                         "符合条件人数": p["eligible"], "符合条件机构数": p["eligible_hospitals"],
                                         "配额": "" if p["quota"] is None else p["quota"], "入选": p["drawn"]}
                                        for p in rec["pool_by_level"]])))
    lines += ["", "## 入选名单", "", _md_table(roster), "", "## 配额核对", ""]
    lines.append(_md_table(pd.DataFrame([{"核对项": c["check"], "结果值": c["value"], "结论": c["result"]}
                                         for c in rec["checks"]])))
    if rec["notes"]:
        lines += ["", "## 说明", ""] + [f"- {n}" for n in rec["notes"]]
    lines += ["", f"## 不符合条件的候选人（{len(rec['excluded'])} 人）", ""]
    if rec["excluded"]:
        lines.append(_md_table(pd.DataFrame([{"人员ID": e["person_id"], "姓名": e["name"], "机构编号": e["fixmedins_code"],
                                             "职务": e["title"], "原因": e["reason"]} for e in rec["excluded"]])))
    else:
        lines.append("无。")
    lines += ["", "## 抽签顺序（符合条件的候选人）", ""]
    lines.append(_md_table(pd.DataFrame([{"顺序": d["order"], "人员ID": d["person_id"], "机构等级": d["group"],
                                         "机构编号": d["fixmedins_code"], "抽签号（前16位）": d["lottery"][:16]}
                                        for d in rec["draw_order"]])))
    return "\n".join(lines) + "\n"


def write_outputs(res: DrawResult, out_dir: str | os.PathLike, pool_path: Path | None = None,
                  fixmedins_path: Path | None = None, command: str | None = None, extra: dict | None = None,
                  extra_md=None) -> dict[str, Path]:
    """roster.xlsx, roster.md, draw.json, draw.md in ``out_dir`` (each written atomically). ``extra`` is
    merged into the record; ``extra_md(record)`` returns Markdown appended to draw.md (the freeze, the
    log and the signature table of :mod:`yibao.workgroup.ledger`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if command is None:
        command = default_command(pool_path, out)
    table = roster_table(res)
    rec = record(res, pool_path, fixmedins_path, command)
    rec.update(extra or {})
    paths = {"roster.xlsx": out / "roster.xlsx", "roster.md": out / "roster.md",
             "draw.json": out / "draw.json", "draw.md": out / "draw.md"}
    with atomic_path(paths["roster.xlsx"]) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            table.to_excel(xw, sheet_name="工作组成员名单", index=False)
            ws = xw.sheets["工作组成员名单"]
            for col, width in zip("ABCDEFGHIJ", (6, 14, 10, 18, 28, 12, 14, 12, 10, 22)):
                ws.column_dimensions[col].width = width
            xlsx_workbook(xw.book)  # names from the pool stay text (never a formula)
    md = [f"# {res.year}年数据工作组定点医疗机构代表名单", "",
          f"种子 {res.seed}；抽取记录见 draw.md。", "", _md_table(table), ""]
    write_text(paths["roster.md"], "\n".join(md))
    write_text(paths["draw.json"], json.dumps(rec, ensure_ascii=False, indent=1) + "\n")
    md_text = record_markdown(rec, table)
    if extra_md is not None:
        md_text += "\n" + extra_md(rec)
    write_text(paths["draw.md"], md_text)
    return paths


def default_command(pool_path, out) -> str:
    """The command that re-checks a draw directory (``yibao workgroup verify``)."""
    parts = ["yibao", "workgroup", "verify", "--out", str(out), "--pool", str(pool_path)]
    return " ".join(shlex.quote(p) for p in parts)


def read_roster(path: str | os.PathLike) -> pd.DataFrame:
    """A roster written by :func:`write_outputs` (xlsx, csv or md is not supported) with its Chinese headers."""
    p = Path(path)
    if p.suffix.lower() == ".csv":
        from yibao.data.load import detect_encoding
        return pd.read_csv(p, dtype=str, encoding=detect_encoding(p), keep_default_na=False)
    return pd.read_excel(p, dtype=str).fillna("")


# ---- sample pool ----------------------------------------------------------------------------

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
_GIVEN = ("建华", "丽娟", "志强", "海燕", "国平", "秀英", "文斌", "晓东", "春梅", "永红", "立新", "玉兰", "振宇", "慧敏",
          "德明", "雪梅", "俊杰", "红霞", "世杰", "凤英", "明辉", "淑芬", "家豪", "婷婷", "伟民", "桂英", "思远", "静怡")


def sample_pool(data_dir: str | os.PathLike, region: str, seed: int = 1, year: int | None = None) -> pd.DataFrame:
    """A plausible 成员库 for a region of a dataset: every designated hospital of the region recommends 1–2
    people (院领导/医保办主任/财务科长), some with ``served_years`` (incl. the year before ``year``), plus two
    third-party maintenance staff who must be excluded. ``year`` defaults to the year after the dataset's
    last settlement month (the draw at the start of the next year). Synthetic names only.
    """
    import random

    from yibao.data.warehouse import Warehouse
    with Warehouse(data_dir) as wh:
        inst = wh.institutions(str(region), hospitals_only=True)
        if year is None:
            try:
                months = wh.months()
                year = int(months[-1][:4]) + 1 if months else dt.date.today().year
            except Exception:  # noqa: BLE001 - a dataset without setl still gets a pool
                year = dt.date.today().year
    if inst.empty:
        raise YibaoError(f"--region {region}: 数据集 {data_dir} 中该统筹区没有定点医疗机构")
    rng = random.Random(int(seed))
    rows = []
    used_names: set[str] = set()

    def name() -> str:
        while True:
            n = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
            if n not in used_names or len(used_names) > 1000:
                used_names.add(n)
                return n

    for r in inst.sort_values("fixmedins_code").itertuples(index=False):
        k = 2 if rng.random() < 0.7 else 1
        for title in rng.sample(SAMPLE_TITLES, k):
            roll = rng.random()
            served = "" if roll < 0.6 else str(year - 1) if roll < 0.8 else f"{year - 3};{year - 2}" if roll < 0.9 \
                else str(year - 2)
            rows.append({"person_id": "", "name": name(), "fixmedins_code": r.fixmedins_code,
                         "fixmedins_name": r.fixmedins_name, "hosp_lv": r.hosp_lv, "title": title,
                         "employer": r.fixmedins_name, "served_years": served})
    picks = rng.sample(range(len(inst)), min(2, len(inst)))
    for i, (title, employer) in zip(picks, (("信息科工程师（驻场）", "东岚信息技术有限公司"),
                                            ("医保接口技术支持", "某HIS系统厂商"))):
        r = inst.iloc[i]
        rows.append({"person_id": "", "name": name(), "fixmedins_code": r["fixmedins_code"],
                     "fixmedins_name": r["fixmedins_name"], "hosp_lv": r["hosp_lv"], "title": title,
                     "employer": employer, "served_years": ""})
    df = pd.DataFrame(rows)
    df["person_id"] = [f"WG{region}{k:04d}" for k in range(1, len(df) + 1)]
    return df[["person_id", "name", "fixmedins_code", "fixmedins_name", "hosp_lv", "title", "employer",
               "served_years"]]


# ---- command line ---------------------------------------------------------------------------

def run_cli(args) -> int:
    if args.action == "sample-pool":
        from yibao.data.gate import Scope, print_warnings, validated
        # nothing is computed from invalid data: the region's institutions and settlements (their months)
        print_warnings(validated(args.data, Scope.of(tables=("setl",), regions=[str(args.region)])))
        df = sample_pool(args.data, args.region, seed=args.seed, year=getattr(args, "year", None))
        out = Path(args.out)
        if out.suffix.lower() == ".xlsx":
            with atomic_path(out) as tmp:
                with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                    df.to_excel(xw, index=False)
                    xlsx_workbook(xw.book)
        else:
            write_text(out, df.to_csv(index=False), encoding="utf-8-sig")
        tp = int((df["employer"] != df["fixmedins_name"]).sum())
        print(f"成员库样例 / sample pool: {out}（{len(df)} 人，{df['fixmedins_code'].nunique()} 家机构，"
              f"其中第三方人员 {tp} 人）")
        return 0
    raise YibaoError(f"workgroup: 未知操作 {args.action}")

