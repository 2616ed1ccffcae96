"""``yibao feedback import``: the hospitals' answers in returned 疑点明细 workbooks → the feedback table.

For every finding of a returned workbook (:func:`yibao.publications.institution_xlsx.read`) that carries an
answer — on its summary row or on any of its cases — one row is added to the dataset's ``feedback`` table
(the contract's optional extension, ``feedback.csv`` / ``.parquet`` in the dataset directory; created
when absent): received_date, fixmedins_code, channel ``疑点核实``, topic ``疑点核实：<问题线索>``, text =
the counts of 属实 / 部分属实 / 不属实 over the cases answered and the hospital's explanations, status
``处理中`` (the working group decides and answers; the next publications carry it forward). The text holds
no case ids: the feedback table is summarised in region-wide publications, and a hospital's cases are for
its own package only. Importing the same answers again adds nothing (a row with the same institution,
topic and text already exists).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from yibao.errors import YibaoError

CHANNEL = "疑点核实"
COLUMNS = ["received_date", "fixmedins_code", "channel", "topic", "text", "status", "response_date", "response"]
MAX_NOTES = 5


def rows_from(answers: dict, received: dt.date) -> list[dict]:
    """The feedback rows of one returned workbook (see the module docstring)."""
    from yibao.data.periods import Period
    meta = answers["meta"]
    label = meta.get("period_label") or Period.parse(meta["period"]).label
    out = []
    for f in answers["findings"]:
        answered = [c for c in f["cases"] if c["核实结果"]]
        own = f["核实结果"]
        notes = [n for n in [f.get("说明")] + [c.get("说明") for c in answered] if n]
        if not answered and not own and not notes:
            continue
        parts = [f"{label}疑点明细第{f['序号']}项"]
        if f["cases"]:
            counts = {a: sum(1 for c in answered if c["核实结果"] == a) for a in ("属实", "部分属实", "不属实")}
            parts.append(f"列出病例{len(f['cases'])}例，已核实{len(answered)}例（"
                         + "、".join(f"{k}{v}例" for k, v in counts.items()) + "）")
        if own:
            parts.append(f"总体核实结果：{own}")
        text = "，".join(parts) + "。"
        uniq = list(dict.fromkeys(notes))
        if uniq:
            text += "说明：" + "；".join(uniq[:MAX_NOTES]) + (f"；另有{len(uniq) - MAX_NOTES}条说明" if len(uniq) > MAX_NOTES else "") + "。"
        out.append({"received_date": received.isoformat(), "fixmedins_code": meta["fixmedins_code"], "channel": CHANNEL,
                    "topic": f"疑点核实：{f['问题线索']}", "text": text, "status": "处理中", "response_date": "",
                    "response": ""})
    return out


def _table(data_dir: Path) -> tuple[Path, pd.DataFrame]:
    from yibao.data.load import find_source
    src = find_source(data_dir, "feedback")
    if src is None:
        return data_dir / "feedback.csv", pd.DataFrame(columns=COLUMNS)
    path = Path(src.path)
    if src.fmt == "csv":
        from yibao.data.load import detect_encoding
        return path, pd.read_csv(path, dtype=str, keep_default_na=False, encoding=detect_encoding(path))
    if src.fmt == "parquet":
        return path, pd.read_parquet(path).astype(str).replace({"None": "", "nan": "", "NaT": ""})
    raise YibaoError(f"{path}: 意见反馈表为 {src.fmt} 格式，导入只支持 CSV 或 Parquet (rule: feedback table format)")


def import_files(data_dir, files: list, received: dt.date | None = None) -> tuple[int, int, Path]:
    """Read the workbooks into the dataset's feedback table; returns (rows added, rows already there, file)."""
    from yibao.fsutil import atomic_path
    from yibao.publications import institution_xlsx
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise YibaoError(f"--data: 数据目录 {data_dir} 不存在")
    received = received or dt.date.today()
    new = []
    for f in files:
        new += rows_from(institution_xlsx.read(f), received)
    path, table = _table(data_dir)
    for c in COLUMNS:
        if c not in table.columns:
            table[c] = ""
    have = set(zip(table["fixmedins_code"].astype(str), table["topic"].astype(str), table["text"].astype(str)))
    add = [r for r in new if (r["fixmedins_code"], r["topic"], r["text"]) not in have]
    if add:
        out = pd.concat([table, pd.DataFrame(add)], ignore_index=True)
        with atomic_path(path) as tmp:
            if path.suffix == ".parquet":
                out.to_parquet(tmp, index=False)
            else:
                tmp.write_text(out.to_csv(index=False), encoding="utf-8-sig")
    return len(add), len(new) - len(add), path


def run_cli(args) -> int:
    received = None
    if args.received_date:
        try:
            received = dt.date.fromisoformat(args.received_date)
        except ValueError:
            raise YibaoError(f"--received-date {args.received_date!r}: 应为日期 YYYY-MM-DD (rule: date pattern)") from None
    added, known, path = import_files(args.data, args.files, received)
    print(f"意见反馈表 {path}: 新增 {added} 条" + (f"，{known} 条已导入过（未重复）" if known else ""))
    return 0


__all__ = ["CHANNEL", "import_files", "rows_from", "run_cli"]
