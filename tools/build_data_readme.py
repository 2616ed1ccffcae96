"""Write data/README.md from lib/yibao/data/contract.py (the contract as implemented).

    .venv/bin/python tools/build_data_readme.py          # rewrite data/README.md
    .venv/bin/python tools/build_data_readme.py --check  # exit 1 if data/README.md is out of date (tests)
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from yibao.data.contract import IDENTIFIER_COLUMNS, TABLES  # noqa: E402

INTRO = """# 数据集 / datasets

A dataset is a directory with one entry per table (`<table>.parquet`, `<table>.csv`, `<table>.xlsx` or a
directory `<table>/` of parquet files, hive partitions such as `setl/month=2025-01/part-0.parquet` allowed).
The contract is `../shared/DATA_CONTRACT.md` (v1); this page lists what this implementation accepts — the
same names, plus the Chinese header aliases it recognises and the optional tables it adds (extensions never
rename anything). The machine-readable version is `lib/yibao/data/contract.py`; this page is generated from it by
`tools/build_data_readme.py`.

- CSV: UTF-8 (with or without BOM) or GB18030/GBK, detected automatically. Raw files are never modified.
- Headers: the field name, its Chinese label or an alias below (case-insensitive). Unknown columns are ignored.
- Codes stay strings and are zero-padded where the platform pads them (`hosp_lv` `2` → `02`).
- Identifier columns are dropped at load and never written anywhere: {identifiers}.
- `yibao validate --data DIR` checks a dataset against all of this (see docs/validate.md).
- Demo data: `make demo` writes a synthetic dataset to `data/demo/` (not committed); `planted.json` beside it lists the anomalies planted on purpose.
"""


def render() -> str:
    ids = ", ".join(f"`{k}` ({v})" for k, v in IDENTIFIER_COLUMNS.items())
    out = [INTRO.format(identifiers=ids)]
    for t in TABLES.values():
        status = "required" if t.required else (f"required for {t.required_if}" if t.required_if else "optional")
        out.append(f"## {t.name} — {t.zh} ({status})\n")
        if t.note:
            out.append(f"{t.note}\n")
        out.append("| field | 中文 | kind | required | other accepted headers |")
        out.append("|---|---|---|---|---|")
        for f in t.fields:
            kind = f"{f.kind} (width {f.pad})" if f.pad else f.kind
            out.append(f"| `{f.name}` | {f.zh} | {kind} | {'yes' if f.required else ''} | {', '.join(f.aliases)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str]) -> int:
    path = ROOT / "data" / "README.md"
    text = render()
    if "--check" in argv:
        if path.read_text(encoding="utf-8") != text:
            print(f"{path} is out of date: run .venv/bin/python tools/build_data_readme.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
