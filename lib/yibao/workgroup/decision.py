"""The 审议 meeting and its decision (handbook 六(五): 做好成员审议意见记录，经成员签字确认).

:mod:`yibao.workgroup.review` writes the record before the meeting (automatic checks, the roster, the
files with their SHA-256 and the version). After the meeting the secretary writes what happened in a
small YAML file and runs ``yibao workgroup decide --dir OUT/P/R --meeting meeting.yaml``:

.. code-block:: yaml

    date: 2026-11-10            # 会议日期
    form: 现场会议               # 现场会议 | 视频会议 | 书面审议
    chair: 张建华                # 主持人
    minute_taker: 李丽娟         # 记录人
    attendance:                 # 应到成员，逐人：出席与否、审议意见
      - {name: 张建华, role: 工作组组长, present: true, opinion: 同意发布}
      - {name: 王志强, role: 定点医疗机构代表, present: false, reason: 外出学习}
    decision: 修改后通过          # 通过 | 修改后通过 | 不通过
    corrections:                # 审议提出的修改意见及复审
      - {item: 表3住院人次与底稿不一致, raised_by: 王志强, status: 已整改,
         rereview_date: 2026-11-12, rereview_by: 张建华, version: 3f9a0c2b1d4e}

The record is rewritten with the meeting, every member's opinion in the sign-off table, the decision,
the corrections and their re-review, and the version and SHA-256 of every file on the signed page.
The decision is **refused** (nothing written, the reason named) when:

* a field is missing or not one of the allowed values, or an attendee signing as 定点医疗机构代表 (or
  without a role) is not on the drawn roster of the sign-off table;
* 通过 while an automatic check is 不通过, or while a correction is listed;
* 修改后通过 without corrections, or with a correction not re-reviewed (状态 已整改, 复审日期, 复审人) on the
  version being signed (``version`` = the record's current 版本标识: files changed after the re-review
  need another one);
* 通过 when the files changed after the record was made (the version members read is not the one signed).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from yibao.errors import YibaoError

DECISIONS = ("通过", "修改后通过", "不通过")
FORMS = ("现场会议", "视频会议", "书面审议")
PUBLISHABLE = {"通过": "可以发布", "修改后通过": "整改已复审，可以发布", "不通过": "不得发布"}


def _date(v, where: str) -> str:
    try:
        return dt.date.fromisoformat(str(v)[:10]).isoformat()
    except ValueError:
        raise YibaoError(f"{where}: 日期 {v!r} 无法识别（应为 YYYY-MM-DD）") from None


def load_meeting(path) -> dict:
    """The meeting YAML, checked field by field (errors name the file and the field)."""
    p = Path(path)
    if not p.is_file():
        raise YibaoError(f"--meeting {p}: 文件不存在")
    try:
        m = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise YibaoError(f"--meeting {p.name}: YAML 无法读取（{exc}）") from None
    if not isinstance(m, dict):
        raise YibaoError(f"--meeting {p.name}: 应为键值表（date, form, chair, minute_taker, attendance, decision）")
    errs = []
    for k in ("date", "form", "chair", "minute_taker", "attendance", "decision"):
        if not m.get(k):
            errs.append(f"缺少 {k}")
    if errs:
        raise YibaoError(f"--meeting {p.name}: " + "；".join(errs))
    out = {"date": _date(m["date"], f"--meeting {p.name} date"), "form": str(m["form"]).strip(),
           "chair": str(m["chair"]).strip(), "minute_taker": str(m["minute_taker"]).strip(),
           "decision": str(m["decision"]).strip(), "attendance": [], "corrections": []}
    if out["form"] not in FORMS:
        errs.append(f"form 应为 {'/'.join(FORMS)}，收到 {out['form']}")
    if out["decision"] not in DECISIONS:
        errs.append(f"decision 应为 {'/'.join(DECISIONS)}，收到 {out['decision']}")
    for i, a in enumerate(m["attendance"] or [], start=1):
        if not isinstance(a, dict) or not str(a.get("name") or "").strip():
            errs.append(f"attendance 第 {i} 项缺少 name")
            continue
        present = bool(a.get("present", True))
        row = {"name": str(a["name"]).strip(), "role": str(a.get("role") or "").strip(), "present": present,
               "opinion": str(a.get("opinion") or "").strip(), "reason": str(a.get("reason") or "").strip()}
        if present and not row["opinion"]:
            errs.append(f"attendance 第 {i} 项（{row['name']}）出席但没有审议意见")
        out["attendance"].append(row)
    for i, c in enumerate(m.get("corrections") or [], start=1):
        if not isinstance(c, dict) or not str(c.get("item") or "").strip():
            errs.append(f"corrections 第 {i} 项缺少 item")
            continue
        out["corrections"].append({
            "item": str(c["item"]).strip(), "raised_by": str(c.get("raised_by") or "").strip(),
            "status": str(c.get("status") or "未整改").strip(),
            "rereview_date": _date(c["rereview_date"], f"corrections 第 {i} 项 rereview_date")
            if c.get("rereview_date") else "",
            "rereview_by": str(c.get("rereview_by") or "").strip(), "version": str(c.get("version") or "").strip()})
    if errs:
        raise YibaoError(f"--meeting {p.name}: " + "；".join(errs))
    return out


def check_decision(meeting: dict, checks, roster_names: set[str], version: str, reviewed_version: str | None) -> None:
    """Raise YibaoError naming every reason the decision cannot stand (see the module docstring)."""
    from yibao.workgroup.review_files import FAIL
    errs = []
    d = meeting["decision"]
    if roster_names:  # hospital representatives must be the drawn ones
        strangers = [a["name"] for a in meeting["attendance"] if a["name"] not in roster_names
                     and (not a["role"] or a["role"].startswith("定点医疗机构代表"))]
        if strangers:
            errs.append("出席名单中的 " + "、".join(strangers) + " 不在审议记录的成员名单上")
    if not any(a["present"] for a in meeting["attendance"]):
        errs.append("没有出席成员")
    fails = [c.id for c in checks if c.result == FAIL]
    if d == "通过":
        if fails:
            errs.append(f"自动检查 {'、'.join(fails)} 不通过，不能直接“通过”（应为“修改后通过”或“不通过”）")
        if meeting["corrections"]:
            errs.append("列有修改意见，结论应为“修改后通过”")
        if reviewed_version and reviewed_version != version:
            errs.append(f"审议记录生成后文件已改动（版本 {reviewed_version} → {version}），须重新生成审议记录后再审议")
    if d == "修改后通过":
        if not meeting["corrections"]:
            errs.append("“修改后通过”须列出修改意见（corrections）及其复审")
        for c in meeting["corrections"]:
            if c["status"] != "已整改" or not c["rereview_date"] or not c["rereview_by"]:
                errs.append(f"修改意见“{c['item']}”尚未整改并复审（需 status: 已整改、rereview_date、rereview_by）")
            elif c["version"] != version:
                errs.append(f"修改意见“{c['item']}”的复审针对版本 {c['version'] or '（未写）'}，"
                            f"与本次签字的版本 {version} 不同")
        if fails:
            errs.append(f"整改后的自动检查仍有不通过项（{'、'.join(fails)}）")
    if errs:
        raise YibaoError("审议结论不能成立：" + "；".join(errs))


def decision_lines(meeting: dict) -> dict:
    """The header lines the record prints for the meeting."""
    present = [a for a in meeting["attendance"] if a["present"]]
    absent = [a for a in meeting["attendance"] if not a["present"]]
    return {
        "审议会议": f"{meeting['date']}，{meeting['form']}",
        "主持人": meeting["chair"], "记录人": meeting["minute_taker"],
        "出席情况": f"应到 {len(meeting['attendance'])} 人，实到 {len(present)} 人"
                    + ("；缺席：" + "、".join(f"{a['name']}（{a['reason'] or '未说明'}）" for a in absent) if absent else ""),
        "审议结论": f"{meeting['decision']}（{PUBLISHABLE[meeting['decision']]}）",
    }


def corrections_rows(meeting: dict) -> list[dict]:
    return [{"序号": str(i), "修改意见": c["item"], "提出人": c["raised_by"], "整改情况": c["status"],
             "复审日期": c["rereview_date"], "复审人": c["rereview_by"], "复审版本": c["version"]}
            for i, c in enumerate(meeting["corrections"], start=1)]
