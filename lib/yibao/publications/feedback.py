"""Feedback follow-up (handbook 六(八) 监测与反馈: 原则上，下期发布时要做好上期收集意见的采纳情况反馈).

Reads the optional contract table ``feedback`` (received_date, fixmedins_code, channel, topic, text, status
已采纳/部分采纳/未采纳/处理中, response_date, response). A row belongs to a region through its
institution (``fixmedins.poolarea_no``) and to the period in which it was *received*; the quarterly
report of period P shows what was received in P's previous period (上期) and how it was handled.

Figures (:func:`summarise`):

* counts by status and by topic (and by channel);
* 采纳率 = (已采纳 + 部分采纳) / (已采纳 + 部分采纳 + 未采纳) × 100 — items still 处理中 are not in the base;
* response time = response_date − received_date in days, over the items with a response date
  (n, mean, median, max);
* the adopted items (已采纳, 部分采纳): topic, the institution that raised it (the region's own
  institutions may be named), the response. Only the table's own columns are used — no person names
  are read; phone numbers, ID numbers and e-mail addresses inside the texts are masked.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from yibao.data.periods import Period

STATUSES = ("已采纳", "部分采纳", "未采纳", "处理中")


def normalise_status(s) -> str:
    """已采纳 / 部分采纳 / 未采纳 / 处理中 from the spellings exports use (empty = 处理中)."""
    t = str(s or "").strip()
    if not t or t.lower() in ("nan", "none"):
        return "处理中"
    if "部分" in t:
        return "部分采纳"
    if any(w in t for w in ("未采纳", "不采纳", "不予采纳", "未予采纳", "暂不采纳")):
        return "未采纳"
    if "采纳" in t or t in ("已办结", "已落实"):
        return "已采纳"
    if any(w in t for w in ("处理", "办理", "待", "研究")):
        return "处理中"
    return t


def _open(wh_or_data_dir):
    from yibao.data.warehouse import Warehouse
    if isinstance(wh_or_data_dir, Warehouse):
        return wh_or_data_dir, False
    if hasattr(wh_or_data_dir, "wh") and isinstance(getattr(wh_or_data_dir, "wh"), Warehouse):
        return wh_or_data_dir.wh, False  # a publication Context
    return Warehouse(Path(wh_or_data_dir)), True


def load(wh_or_data_dir, region: str, start, end) -> pd.DataFrame | None:
    """Feedback rows of the region's institutions received in [start, end); None without the table."""
    wh, close = _open(wh_or_data_dir)
    try:
        if not wh.has("feedback"):
            return None
        has_fx = wh.has("fixmedins")
        join = ("LEFT JOIN fixmedins x ON x.fixmedins_code = f.fixmedins_code" if has_fx else "")
        name = "x.fixmedins_name" if has_fx else "NULL"
        where = "x.poolarea_no = ?" if has_fx else "TRUE"
        params = [str(region)] if has_fx else []
        return wh.df(f"""
            SELECT f.received_date, f.fixmedins_code, {name} AS fixmedins_name, f.channel, f.topic, f.text,
                   f.status, f.response_date, f.response
            FROM feedback f {join}
            WHERE {where} AND f.received_date >= ? AND f.received_date < ?
            ORDER BY f.received_date, f.fixmedins_code, f.topic""", params + [str(start), str(end)])
    finally:
        if close:
            wh.close()


def summarise(wh_or_data_dir, region: str, period: str) -> dict | None:
    """The previous period's feedback for the quarterly report of ``period`` (None without the table)."""
    from yibao.data.privacy import mask_identifiers
    p = Period.parse(period)
    prev = p.previous()
    df = load(wh_or_data_dir, region, prev.start.isoformat(), prev.end.isoformat())
    if df is None:
        return None
    df = df.copy()
    df["status"] = df["status"].map(normalise_status)
    df["topic"] = df["topic"].fillna("").replace("", "其他").astype(str)
    counts = {s: int((df["status"] == s).sum()) for s in STATUSES}
    for s in sorted(set(df["status"]) - set(STATUSES)):
        counts[s] = int((df["status"] == s).sum())
    by_topic = []
    for topic, g in df.groupby("topic", sort=False):
        row = {"topic": topic, "total": int(len(g))}
        row.update({s: int((g["status"] == s).sum()) for s in counts})
        by_topic.append(row)
    by_topic.sort(key=lambda r: (-r["total"], r["topic"]))
    days = (pd.to_datetime(df["response_date"]) - pd.to_datetime(df["received_date"])).dt.days
    days = days[days.notna() & (days >= 0)]
    closed = counts["已采纳"] + counts["部分采纳"] + counts["未采纳"]
    adopted = df[df["status"].isin(["已采纳", "部分采纳"])]
    return {
        "region": str(region),
        "period": p.code,
        "feedback_period": prev.code,
        "feedback_period_label": prev.label,
        "total": int(len(df)),
        "by_status": counts,
        "by_topic": by_topic,
        "by_channel": {str(k): int(v) for k, v in df["channel"].fillna("未注明").value_counts().items()},
        "institutions": int(df["fixmedins_code"].nunique()),
        "closed": closed,
        "adoption_rate": (counts["已采纳"] + counts["部分采纳"]) / closed * 100 if closed else None,
        "responded": int(len(days)),
        "response_days": {"n": int(len(days)),
                          "mean": float(days.mean()) if len(days) else None,
                          "median": float(days.median()) if len(days) else None,
                          "max": int(days.max()) if len(days) else None},
        "adopted": [{"topic": r.topic, "status": r.status,
                     "fixmedins_name": str(r.fixmedins_name or r.fixmedins_code or ""),
                     "text": mask_identifiers(str(r.text or "")),
                     "response": mask_identifiers(str(r.response or "")),
                     "response_date": None if pd.isna(r.response_date) else str(r.response_date)[:10]}
                    for r in adopted.itertuples(index=False)],
    }


def sentence(summary: dict) -> str:
    """The figures in one paragraph (Chinese)."""
    from yibao.fmt import num, pct
    s = summary
    label = s["feedback_period_label"]
    if not s["total"]:
        return f"上期（{label}）未收到定点医药机构对数据发布的意见建议。"
    st = s["by_status"]
    ch = "、".join(f"{k} {v} 条" for k, v in s["by_channel"].items())
    text = (f"上期（{label}）共收到 {s['institutions']} 家定点医药机构的意见建议 {s['total']} 条（{ch}），"
            f"已采纳 {st['已采纳']} 条、部分采纳 {st['部分采纳']} 条、未采纳 {st['未采纳']} 条、处理中 {st['处理中']} 条")
    extra = [f"{k} {v} 条" for k, v in st.items() if k not in STATUSES]
    if extra:
        text += "、" + "、".join(extra)
    if s["adoption_rate"] is not None:
        text += f"，已办结的 {s['closed']} 条中采纳率（含部分采纳）为 {pct(s['adoption_rate'], 1)}"
    rd = s["response_days"]
    if rd["n"]:
        text += (f"；已答复 {rd['n']} 条，从收到到答复平均 {num(rd['mean'], 1)} 天、中位数 {num(rd['median'], 1)} 天、"
                 f"最长 {rd['max']} 天")
    return text + "。"


def report_section(rep, summary: dict | None, heading: str | None = "## 上期意见建议采纳情况反馈") -> bool:
    """The quarterly report's short section on last period's feedback via the Report API
    (``rep.md`` / ``rep.table``). Writes nothing and returns False when ``summary`` is None."""
    if summary is None:
        return False
    if heading:
        rep.md(heading)
    rep.md(sentence(summary))
    if not summary["total"]:
        return True
    cols = [s for s in summary["by_status"]]
    rows = [{"主题": t["topic"], "条数": str(t["total"]), **{s: str(t[s]) for s in cols}} for t in summary["by_topic"]]
    tot = {"主题": "合计", "条数": str(summary["total"]), **{s: str(summary["by_status"][s]) for s in cols}}
    rep.table(pd.DataFrame(rows + [tot]), f"上期（{summary['feedback_period_label']}）意见建议按主题和处理状态统计",
              note="采纳率 =（已采纳 + 部分采纳）÷（已采纳 + 部分采纳 + 未采纳）；处理中的意见不计入。")
    if summary["adopted"]:
        t = pd.DataFrame([{"主题": a["topic"], "提出机构": a["fixmedins_name"], "处理状态": a["status"],
                           "采纳情况": a["response"] or "—"} for a in summary["adopted"]])
        rep.table(t, f"上期意见建议采纳情况（{len(t)} 条）")
    if summary["by_status"].get("处理中"):
        rep.md(f"尚有 {summary['by_status']['处理中']} 条意见处于处理中，将在办结后反馈提出机构，并在下期发布时通报。")
    return True


def quarterly_section(ctx, rep, heading: str | None = "## 上期意见建议采纳情况反馈") -> bool:
    """For notebooks/quarterly.ipynb: the section for ``ctx`` (a publication Context) when the dataset has
    the ``feedback`` table; nothing otherwise."""
    return report_section(rep, summarise(ctx.wh, ctx.region, ctx.period.code), heading)


def write_csv(summary: dict | None, path: str | os.PathLike) -> Path | None:
    """The by-topic counts as CSV (for the working group's records); None without a summary."""
    if summary is None:
        return None
    from yibao.fsutil import write_text
    df = pd.DataFrame(summary["by_topic"])
    return write_text(path, df.to_csv(index=False))
