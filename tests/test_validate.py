"""`yibao validate` on the broken-dataset corpus (tests/broken.py): every variant gives its expected
clear line (file · column · row(s) · rule), the exit status is right and nothing prints a traceback;
valid variants in every accepted format validate clean; identifier columns never reach the warehouse."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import broken  # noqa: E402

from yibao import cli  # noqa: E402

SEVERITY = {"error": "[错误 error]", "warning": "[警告 warning]"}


def _lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("[")]


def _rows_of(line: str) -> set[str]:
    parts = line.split(" · ")
    if len(parts) < 4 or not parts[2].startswith("行"):
        return set()
    return set(re.findall(r"[\w/=.\-]*:?\d+", parts[2].removeprefix("行")))


@pytest.mark.parametrize("name", sorted(broken.VARIANTS))
def test_variant_reports_its_problem(name, tmp_path, capsys):
    v = broken.VARIANTS[name]
    d = tmp_path / "ds"
    d.mkdir()
    data = v.build(d)
    rc = cli.main(["validate", "--data", str(data)])
    cap = capsys.readouterr()
    out = cap.out
    assert "Traceback" not in out + cap.err
    assert rc == v.exit, out
    lines = _lines(out)
    if v.exit == 0 and not v.expect:
        assert not [x for x in lines if x.startswith(SEVERITY["error"])], out
        return
    for e in v.expect:
        hits = [x for x in lines if x.startswith(SEVERITY.get(e.severity, "["))
                and e.file in x.split(" · ")[0]
                and (not e.column or e.column in x.split(" · ")[1])
                and all(w in x for w in e.words)
                and all(str(r) in _rows_of(x) or f":{r}" in x for r in e.rows)]
        assert hits, f"{name}: expected {e} in\n{out}"


def test_report_groups_and_counts(tmp_path, capsys):
    d = tmp_path / "ds"
    d.mkdir()
    broken.VARIANTS["duplicate_setl_id"].build(d)
    assert cli.main(["validate", "--data", str(d)]) == 1
    out = capsys.readouterr().out
    assert "校验未通过 / validation failed: 1 个错误 errors" in out
    assert "setl.csv · setl_id · 行 2, 6 · 键重复" in out


def test_missing_directory_is_one_clear_line(tmp_path, capsys):
    assert cli.main(["validate", "--data", str(tmp_path / "nope")]) == 1
    cap = capsys.readouterr()
    assert "nope" in cap.out + cap.err and "Traceback" not in cap.out + cap.err


def test_identifier_columns_dropped_at_load(tmp_path):
    """psn_name / certno / tel in an input file never become warehouse columns."""
    import pandas as pd
    from yibao.data.warehouse import Warehouse
    d = tmp_path / "ds"
    d.mkdir()
    t = broken.base()
    for i, r in enumerate(t["setl"]):
        r["psn_name"] = f"张三{i}"
        r["certno"] = f"35010219800101{i:04d}"
        r["tel"] = f"1380000{i:04d}"
    broken.write_dataset(d, t)
    raw = pd.read_csv(d / "setl.csv", dtype=str)
    assert "certno" in raw.columns  # the raw file keeps them (raw data are immutable) …
    with Warehouse(d) as wh:
        cols = set(wh.df("SELECT * FROM setl LIMIT 1").columns) | set(wh.df("SELECT * FROM raw_setl LIMIT 1").columns)
        assert not cols & {"psn_name", "certno", "tel"}  # … the warehouse never sees them


def test_data_readme_is_generated_from_the_contract():
    import subprocess
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "tools" / "build_data_readme.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = (root / "data" / "README.md").read_text(encoding="utf-8")
    from yibao.data.contract import TABLES
    for name in TABLES:
        assert f"## {name} — " in text
