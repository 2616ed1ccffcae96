"""Feedback follow-up (handbook 六(八) 监测与反馈: 原则上，下期发布时要做好上期收集意见的采纳情况反馈).

Reads the optional contract table ``feedback`` (received_date, fixmedins_code, channel, topic, text, status
已采纳/部分采纳/未采纳/处理中, response_date, response). A row belongs to a region through its
institution (``fixmedins.poolarea_no``). The window is set by **release dates**, not calendar periods:
a publication of kind K (monthly, quarterly, annual) for period P shows the feedback received from the
release of K for P's previous period up to (not including) its own release — the feedback on the
previous release (:func:`window`; dates from :func:`yibao.publications.plan.schedule`, or the
``release_date`` the notebook is given). Items received earlier that were still 处理中 are carried
forward (结转) into every later publication until they are closed; an item closed (response_date) in the
window is reported once more as 已办结.

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

import datetime as dt

from yibao.data.periods import Period
from yibao.fmt import date_zh

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


KIND_LABEL = {"monthly": "月推送", "quarterly": "季发布", "annual": "年通报"}


def release_date(kind: str, period) -> dt.date:
    """The scheduled release date of the ``kind`` publication of ``period`` (plan.schedule)."""
    from yibao.publications.plan import schedule
    p = Period.parse(period)
    for year in (p.year, p.year + 1, p.year + 2):
        for e in schedule(year):
            if e["kind"] == kind and e["period"] == p.code:
                return dt.date.fromisoformat(e["date"])
    raise ValueError(f"no {kind} release for {p.code}")


def window(kind: str, period, release: str | dt.date | None = None) -> tuple[dt.date, dt.date, Period]:
    """(previous release date, this release date, previous period): feedback received in
    [previous release, this release) is the feedback on the previous release."""
    p = Period.parse(period)
    prev = p.previous() if kind != "annual" else Period.parse(str(p.year - 1))
    end = dt.date.fromisoformat(str(release)[:10]) if release else release_date(kind, p)
    return release_date(kind, prev), end, prev


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["status"] = df["status"].map(normalise_status)
    df["topic"] = df["topic"].fillna("").replace("", "其他").astype(str)
    return df


def _item(r, mask_identifiers) -> dict:
    return {"topic": r.topic, "status": r.status, "fixmedins_name": str(r.fixmedins_name or r.fixmedins_code or ""),
            "received_date": str(r.received_date)[:10],
            "text": mask_identifiers(str(r.text or "")), "response": mask_identifiers(str(r.response or "")),
            "response_date": None if pd.isna(r.response_date) else str(r.response_date)[:10]}


def summarise(wh_or_data_dir, region: str, period: str, kind: str = "quarterly",
              release: str | dt.date | None = None) -> dict | None:
    """The feedback on the previous release for the ``kind`` publication of ``period`` (None without
    the table): received in :func:`window`, plus the items carried forward."""
    from yibao.data.privacy import mask_identifiers
    p = Period.parse(period)
    start, end, prev = window(kind, p, release)
    raw = load(wh_or_data_dir, region, start.isoformat(), end.isoformat())
    if raw is None:
        return None
    df = _prepare(raw)
    before = _prepare(load(wh_or_data_dir, region, "1900-01-01", start.isoformat()))
    resp = pd.to_datetime(before["response_date"], errors="coerce")
    still_open = before[before["status"] == "处理中"]
    closed_now = before[(before["status"] != "处理中") & resp.notna()
                        & (resp >= pd.Timestamp(start)) & (resp < pd.Timestamp(end))]
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
        "kind": kind,
        "feedback_period": prev.code,
        "feedback_period_label": prev.label,
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "previous_release": f"{prev.label}{KIND_LABEL.get(kind, '')}，{_cn_date(start)}",
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
        "adopted": [_item(r, mask_identifiers) for r in adopted.itertuples(index=False)],
        "carried_open": [_item(r, mask_identifiers) for r in still_open.itertuples(index=False)],
        "window_open": [_item(r, mask_identifiers) for r in df[df["status"] == "处理中"].itertuples(index=False)],
        "carried_closed": [_item(r, mask_identifiers) for r in closed_now.itertuples(index=False)],
    }


def _cn_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def sentence(summary: dict) -> str:
    """The figures in one paragraph (Chinese)."""
    from yibao.fmt import num, pct
    s = summary
    label = f"上期发布（{s['previous_release']}）以来"
    if not s["total"]:
        return f"{label}未收到定点医药机构对数据发布的新的意见建议。"
    st = s["by_status"]
    ch = "、".join(f"{k} {v} 条" for k, v in s["by_channel"].items())
    text = (f"{label}共收到 {s['institutions']} 家定点医药机构的意见建议 {s['total']} 条（{ch}），"
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
    if summary["total"]:
        cols = [s for s in summary["by_status"]]
        rows = [{"主题": t["topic"], "条数": str(t["total"]), **{s: str(t[s]) for s in cols}} for t in summary["by_topic"]]
        tot = {"主题": "合计", "条数": str(summary["total"]), **{s: str(summary["by_status"][s]) for s in cols}}
        rep.table(pd.DataFrame(rows + [tot]), "上期发布以来收到的意见建议按主题和处理状态统计",
                  note=f"收到日期 {date_zh(summary['window_start'])} 至 {date_zh(summary['window_end'])}（不含）；采纳率 =（已采纳 + 部分采纳）÷"
                       "（已采纳 + 部分采纳 + 未采纳）；处理中的意见不计入。")
        if summary["adopted"]:
            t = pd.DataFrame([{"主题": a["topic"], "提出机构": a["fixmedins_name"], "处理状态": a["status"],
                               "采纳情况": a["response"] or "—"} for a in summary["adopted"]])
            rep.table(t, f"上期发布以来意见建议采纳情况（{len(t)} 条）")
    if summary["carried_closed"]:
        t = pd.DataFrame([{"收到日期": date_zh(a["received_date"]), "主题": a["topic"], "提出机构": a["fixmedins_name"],
                           "办结日期": date_zh(a["response_date"]) if a["response_date"] else "—", "处理结果": a["status"], "答复": a["response"] or "—"}
                          for a in summary["carried_closed"]])
        rep.table(t, f"前期结转意见本期办结情况（{len(t)} 条）")
    open_now = summary["carried_open"] + summary["window_open"]
    if open_now:
        t = pd.DataFrame([{"收到日期": date_zh(a["received_date"]), "主题": a["topic"], "提出机构": a["fixmedins_name"],
                           "意见内容": a["text"] or "—"} for a in open_now])
        rep.table(t, f"尚在处理中的意见（{len(t)} 条，结转下期）",
                  note="处理中的意见在办结前每期结转列示，办结后在下一期通报处理结果。")
    return True


def section(ctx, rep, kind: str, heading: str | None = "## 上期意见建议采纳情况反馈",
            release: str | None = None) -> bool:
    """For the monthly, quarterly and annual notebooks: the feedback on the previous release of ``kind``
    for ``ctx`` (a publication Context) when the dataset has the ``feedback`` table; nothing otherwise."""
    return report_section(rep, summarise(ctx.wh, ctx.region, ctx.period.code, kind, release), heading)


def quarterly_section(ctx, rep, heading: str | None = "## 上期意见建议采纳情况反馈",
                      release: str | None = None) -> bool:
    """For notebooks/quarterly.ipynb (kept for notebooks written before :func:`section`)."""
    return section(ctx, rep, "quarterly", heading, release)


def write_csv(summary: dict | None, path: str | os.PathLike) -> Path | None:
    """The by-topic counts as CSV (for the working group's records); None without a summary."""
    if summary is None:
        return None
    from yibao.fsutil import write_text
    df = pd.DataFrame(summary["by_topic"])
    return write_text(path, df.to_csv(index=False))
