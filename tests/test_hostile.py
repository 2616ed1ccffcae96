"""A hostile corpus (issue 12, docs/security.md): variants of a generated dataset and hostile arguments, each
with its exact outcome — exit status, the one message naming file / column / rule, no traceback, nothing
written — or the correct, escaped output.

Every variant is built in code from the tiny synthetic dataset (conftest.synth_dataset), never from files
checked in.
"""
from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import synth_dataset
from yibao import cli, escape

REGION, PERIOD = "350100", "2026Q3"
HOSTILE = "<script>alert(1)</script> *a* $b$ @c #d"
NAME, CERT = "张伟测试", "350102199001011234"


@pytest.fixture(scope="module")
def tiny() -> Path:
    return synth_dataset("tiny", 5)


def _copy(tiny: Path, tmp_path: Path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(tiny, d)
    return d


def _setl(d: Path) -> pd.DataFrame:
    return pd.read_parquet(d / "setl.parquet")


def _setl_to_csv(d: Path, df: pd.DataFrame, encoding: str = "utf-8", **kw) -> Path:
    (d / "setl.parquet").unlink(missing_ok=True)
    path = d / "setl.csv"
    df.to_csv(path, index=False, encoding=encoding, **kw)
    return path


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _cli(capsys, *args) -> tuple[int, str]:
    rc = cli.main([str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


# ---- 1. the validation gate: every computing command stops on invalid data ---------------------------

def _in_scope(df: pd.DataFrame, region: str = REGION, period: str = PERIOD, k: int = 0) -> int:
    """The index of the k-th settlement (not a reversal) of ``region`` in ``period``'s months: a row the
    region's job reads (the gate checks the region's rows in the months the job reads, data/validate_scope.py)."""
    from yibao.data.periods import Period
    months = Period.parse(period).months
    m = pd.to_datetime(df["setl_time"]).dt.strftime("%Y-%m")
    own = df.index[(df["poolarea_no"] == region) & (df["insu_admdvs"] == region) & m.isin(months)
                   & (df["refd_setl_flag"].astype(str) != "1")]
    return int(own[k])


def _amount(value, region=REGION, period=PERIOD):
    def mutate(d):
        df = _setl(d).astype({"medfee_sumamt": object})
        df.loc[_in_scope(df, region, period), "medfee_sumamt"] = value
        _setl_to_csv(d, df)
    return mutate


def _date(d):
    df = _setl(d).astype({"begndate": object})
    df.loc[_in_scope(df, k=1), "begndate"] = "2026/13/45"
    _setl_to_csv(d, df)


def _duplicate(d):
    df = _setl(d)
    df.loc[_in_scope(df, k=3), "setl_id"] = df.loc[_in_scope(df, k=2), "setl_id"]
    df.to_parquet(d / "setl.parquet", index=False)


def _gbk_without_total(d):
    df = _setl(d).drop(columns=["medfee_sumamt"]).rename(columns={"setl_id": "结算ID"})
    _setl_to_csv(d, df, encoding="gbk")


def _empty(d):
    (d / "setl.parquet").unlink()
    (d / "setl.csv").write_bytes(b"")


def _header_only(d):
    _setl_to_csv(d, _setl(d).head(0))


def _binary_inf(d):
    df = _setl(d)
    df.loc[_in_scope(df, k=4), "hifp_pay"] = float("inf")
    df.to_parquet(d / "setl.parquet", index=False)


def _poolarea_bad_method(d):
    pa = pd.read_csv(d / "poolarea.csv", dtype=str)
    pa.loc[0, "pay_method"] = "XYZ"
    pa.to_csv(d / "poolarea.csv", index=False)


def _ragged_csv(d):
    df = _setl(d)
    path = _setl_to_csv(d, df)
    lines = path.read_text(encoding="utf-8").splitlines()
    i = _in_scope(df, k=5) + 1  # below the header
    lines[i] = ",".join(lines[i].split(",")[:3])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


GATE = {  # variant -> (mutation, file, column, rule text)
    "text_amount": (_amount("八十元"), "setl.csv", "medfee_sumamt", "金额不是数值"),
    "amount_1e20": (_amount("1e20"), "setl.csv", "medfee_sumamt", "超出合理范围"),
    "amount_inf": (_amount("inf"), "setl.csv", "medfee_sumamt", "超出合理范围"),
    "amount_minus_inf": (_amount("-Infinity"), "setl.csv", "medfee_sumamt", "超出合理范围"),
    "amount_nan": (_amount("NaN"), "setl.csv", "medfee_sumamt", "超出合理范围"),
    "amount_absurd": (_amount("123456789012"), "setl.csv", "medfee_sumamt", "超出合理范围"),
    "parquet_inf": (_binary_inf, "setl.parquet", "hifp_pay", "超出合理范围"),
    "bad_date": (_date, "setl.csv", "begndate", "日期无法解析"),
    "duplicate_setl_id": (_duplicate, "setl.parquet", "setl_id", "键重复"),
    "gbk_missing_total": (_gbk_without_total, "setl.csv", "medfee_sumamt", "缺少必需列"),
    "empty_table": (_empty, "setl.csv", "—", "文件为空"),
    "header_only": (_header_only, "setl.csv", "—", "表无数据行"),
    "bad_pay_method": (_poolarea_bad_method, "poolarea.csv", "pay_method", "代码不在取值范围"),
    "ragged_row": (_ragged_csv, "setl.csv", "", "必填值为空"),
}


@pytest.mark.parametrize("variant", sorted(GATE))
def test_gate_stops_indicators(variant, tiny, tmp_path, capsys):
    mutate, file, column, rule = GATE[variant]
    d = _copy(tiny, tmp_path)
    mutate(d)
    out = tmp_path / "out"
    rc, text = _cli(capsys, "indicators", "--data", d, "--region", REGION, "--period", PERIOD, "--out", out)
    assert rc == 1
    assert "Traceback" not in text
    assert "数据校验未通过" in text and "未计算任何结果" in text
    line = next(ln for ln in text.splitlines() if rule in ln)
    assert line.strip().startswith("[错误 error]") and f"{file} · " in line
    if column:
        assert f" · {column} · " in line
    assert _files(out) == []  # nothing computed, nothing written


@pytest.mark.parametrize("command", ["findings", "run", "topics", "plan", "workgroup sample-pool"])
def test_gate_stops_every_computing_command(command, tiny, tmp_path, capsys):
    d = _copy(tiny, tmp_path)
    _duplicate(d)
    out = tmp_path / "out"
    args = {"findings": ["--region", REGION, "--period", PERIOD, "--out", out],
            "workgroup sample-pool": ["--region", REGION, "--out", out / "pool.csv"],
            "run": ["--region", REGION, "--period", PERIOD, "--out", out, "--formats", "html", "--no-progress"],
            "topics": ["--region", REGION, "--year", "2026"],
            "plan": ["--year", "2027", "--out", out]}[command]
    rc, text = _cli(capsys, *command.split(), "--data", d, *args)
    assert rc == 1 and "Traceback" not in text
    assert "setl.parquet · setl_id · " in text and "键重复" in text
    assert _files(out) == []


def test_no_settlements_for_the_period_is_an_error(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    rc, text = _cli(capsys, "indicators", "--data", tiny, "--region", REGION, "--period", "2019Q3", "--out", out)
    assert rc == 1 and "Traceback" not in text
    assert f"统筹区 {REGION} 在 2019年第三季度（2019Q3）没有任何结算记录" in text and text.count("\n") == 1
    assert _files(out) == []


def test_region_with_no_settlements_is_an_error(tiny, tmp_path, capsys):
    d = _copy(tiny, tmp_path)
    df = _setl(d)
    df[df["poolarea_no"] != REGION].to_parquet(d / "setl.parquet", index=False)
    sl = pd.read_parquet(d / "setl_list.parquet")
    sl[sl["setl_id"].isin(df.loc[df["poolarea_no"] != REGION, "setl_id"])].to_parquet(d / "setl_list.parquet",
                                                                                          index=False)
    sc = pd.read_csv(d / "special_case.csv", dtype=str)
    sc[sc["setl_id"].isin(df.loc[df["poolarea_no"] != REGION, "setl_id"])].to_csv(d / "special_case.csv",
                                                                                      index=False)
    out = tmp_path / "out"
    rc, text = _cli(capsys, "findings", "--data", d, "--region", REGION, "--period", PERIOD, "--out", out)
    assert rc == 1 and "没有任何结算记录" in text and "Traceback" not in text
    assert _files(out) == []


def test_unknown_region_names_the_known_ones(tiny, tmp_path, capsys):
    rc, text = _cli(capsys, "indicators", "--data", tiny, "--region", "999999", "--period", PERIOD,
                    "--out", tmp_path / "out")
    assert rc == 1 and "统筹区 999999 不在数据集中" in text and "350100" in text and "Traceback" not in text


def test_valid_dataset_passes_and_the_verdict_is_cached(tiny, tmp_path, monkeypatch):
    from yibao.data import gate, validate
    monkeypatch.setenv("YIBAO_CACHE_DIR", str(tmp_path / "cache"))
    gate._MEMO.clear()
    assert gate.require_valid(tiny, REGION, PERIOD) == []
    cache = tmp_path / "cache" / "gate"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700 and len(list(cache.glob("*.json"))) == 1
    gate._MEMO.clear()
    monkeypatch.setattr(validate, "validate", lambda *a, **k: pytest.fail("validated again"))
    assert gate.require_valid(tiny, REGION, PERIOD) == []
    assert gate.cached_warnings(tiny, REGION, PERIOD) == []
    assert gate.cached_warnings(tiny, "350200", PERIOD) is None  # that verdict does not speak for 350200


def _indicators(capsys, d, region, out, period=PERIOD):
    return _cli(capsys, "indicators", "--data", d, "--region", region, "--period", period, "--out", out)


def test_gate_checks_only_the_region_and_months_the_command_reads(tiny, tmp_path, capsys):
    """An error in another region's rows (or in months the period does not read) does not stop a region's
    job; the same error in the region's own rows does, with the validator's exact line."""
    d = _copy(tiny, tmp_path)
    df = _setl(d).astype({"medfee_sumamt": object})
    other, old = _in_scope(df, "350200"), _in_scope(df, REGION, "2024Q1")
    df.loc[[other, old], "medfee_sumamt"] = "八十元"
    _setl_to_csv(d, df)
    rc, text = _indicators(capsys, d, REGION, tmp_path / "a")
    assert rc == 0 and "Traceback" not in text and "八十元" not in text
    assert (tmp_path / "a" / PERIOD / REGION / "indicators.csv").exists()
    rc, text = _indicators(capsys, d, "350200", tmp_path / "b")  # the other region's job stops
    assert rc == 1 and _files(tmp_path / "b") == []
    assert (f"  [错误 error] setl.csv · medfee_sumamt · 行 {other + 1} · 金额不是数值 / amount is not a number"
            f"（例 e.g. '八十元'）") in text.splitlines()
    assert f"行 {old + 1} " not in text  # 2024Q1 is not read for 2026Q3
    own = _in_scope(df, REGION)
    df.loc[own, "medfee_sumamt"] = "八十元"
    _setl_to_csv(d, df)
    rc, text = _indicators(capsys, d, REGION, tmp_path / "c")
    lines = text.splitlines()
    assert rc == 1 and "Traceback" not in text and _files(tmp_path / "c") == []
    assert lines[0].startswith(f"错误 / error: {d}: 数据校验未通过（统筹区 {REGION} · 2024-06 至 2026-09），共 1 个错误，"
                               f"未计算任何结果")
    assert lines[1:] == [f"  [错误 error] setl.csv · medfee_sumamt · 行 {own + 1} · 金额不是数值 / amount is not "
                         f"a number（例 e.g. '八十元'）"]
    rc, text = _cli(capsys, "validate", "--data", d)  # `yibao validate` still lists every row
    line = next(ln for ln in text.splitlines() if "金额不是数值" in ln)
    assert rc == 1 and f"行 {', '.join(str(i + 1) for i in sorted([own, other, old]))} · " in line


def test_gate_scopes_settlement_lists_by_their_settlement(tiny, tmp_path):
    """A settlement list row belongs to its settlement's region: an invalid qc_stas in a 350100 list row is
    an error of 350100's scope only, one in a 350200 list row of 350200's only; the whole dataset has both."""
    from yibao.data.validate import Scope, validate
    d = _copy(tiny, tmp_path)
    setl, lists = _setl(d), pd.read_parquet(d / "setl_list.parquet")
    rows = {r: int(lists.index[lists["setl_id"] == setl.loc[_in_scope(setl, r, k=k), "setl_id"]][0])
            for r in ("350100", "350200") for k in range(30)
            if (lists["setl_id"] == setl.loc[_in_scope(setl, r, k=k), "setl_id"]).any()}
    lists.loc[list(rows.values()), "qc_stas"] = "X"
    lists.to_parquet(d / "setl_list.parquet", index=False)

    def errors(scope=None):
        return [str(p) for p in validate(d, scope=scope) if p.severity == "error"]
    rule = " · qc_stas · 行 {} · 代码不在取值范围（0/1）/ invalid code (allowed: 0, 1)（例 e.g. 'X'）"
    for region, row in rows.items():
        assert errors(Scope.of(regions=[region], period=PERIOD)) == [
            "[错误 error] setl_list.parquet" + rule.format(row + 1)]
    assert errors(Scope.of(regions=["350300"], period=PERIOD)) == []
    assert errors() == ["[错误 error] setl_list.parquet" + rule.format(", ".join(str(r + 1) for r in sorted(rows.values())))]


def test_gate_verdict_for_one_scope_never_answers_for_another(tiny, tmp_path, monkeypatch):
    from yibao.data import gate, validate
    from yibao.errors import DataError
    monkeypatch.setenv("YIBAO_CACHE_DIR", str(tmp_path / "cache"))
    d = _copy(tiny, tmp_path)
    df = _setl(d).astype({"medfee_sumamt": object})
    df.loc[_in_scope(df, "350200"), "medfee_sumamt"] = "八十元"
    _setl_to_csv(d, df)
    gate._MEMO.clear()
    assert gate.require_valid(d, REGION, PERIOD, tables=gate.INDICATOR_TABLES) == []  # 350100: passes, cached
    assert len(list((tmp_path / "cache" / "gate").glob("*.json"))) == 1
    for scope in [dict(region="350200", period=PERIOD, tables=gate.INDICATOR_TABLES),  # another region
                  dict(region=REGION, period=PERIOD, tables=gate.INDICATOR_TABLES),   # after the memo is gone
                  ]:
        gate._MEMO.clear()
        if scope["region"] == REGION:
            calls = []
            real = validate.validate
            monkeypatch.setattr(validate, "validate", lambda *a, **k: calls.append(1) or real(*a, **k))
            assert gate.require_valid(d, **scope) == [] and calls == []  # the same scope: from the cache
        else:
            with pytest.raises(DataError, match="金额不是数值"):
                gate.require_valid(d, **scope)
    gate._MEMO.clear()
    with pytest.raises(DataError, match="金额不是数值"):  # the whole dataset: not the region's verdict either
        gate.validated(d)
    with pytest.raises(DataError, match="金额不是数值"):  # every region of a run
        gate.require_valid(d, regions=[REGION, "350200"], period=PERIOD)
    assert len(list((tmp_path / "cache" / "gate").glob("*.json"))) == 1  # failing verdicts are not stored


# ---- 3. arguments are values, not paths ---------------------------------------------------------------

ARGS = {
    "period_q5": (["indicators", "--region", REGION, "--period", "2026Q5"], "--period '2026Q5'"),
    "period_month_13": (["indicators", "--region", REGION, "--period", "2026-13"], "--period '2026-13'"),
    "period_text": (["findings", "--region", REGION, "--period", "last quarter"], "--period 'last quarter'"),
    "region_dotdot": (["indicators", "--region", "../../x", "--period", PERIOD], "--region '../../x'"),
    "region_absolute": (["findings", "--region", "/tmp/x", "--period", PERIOD], "--region '/tmp/x'"),
    "region_markup": (["run", "--region", "<script>", "--period", PERIOD], "--region '<script>'"),
    "topic_path": (["run", "--region", REGION, "--period", PERIOD, "--kind", "topic", "--topic", "../FM1"],
                   "--topic '../FM1'"),
    "jobs_zero": (["run", "--period", PERIOD, "--jobs", "0"], "--jobs 0"),
    "jobs_negative": (["run", "--period", PERIOD, "--jobs", "-2"], "--jobs -2"),
    "format_exe": (["run", "--period", PERIOD, "--formats", "html,exe"], "--formats exe"),
}


@pytest.mark.parametrize("case", sorted(ARGS))
def test_arguments_rejected_before_any_work(case, tiny, tmp_path, capsys, monkeypatch):
    from yibao.data import gate
    monkeypatch.setattr(gate, "validated", lambda *a, **k: pytest.fail("work started"))
    args, named = ARGS[case]
    out = tmp_path / "out"
    rc, text = _cli(capsys, *args[:1], "--data", tiny, *args[1:], "--out", out)
    assert rc == 1 and "Traceback" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"错误 / error: {named}") and "(rule: " in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("region", ["../../x", "/tmp/evil", "<script>alert(1)</script>"])
def test_survey_region_cannot_leave_out(region, tmp_path, capsys):
    out = tmp_path / "out"
    rc, text = _cli(capsys, "survey", "--region", region, "--out", out, "--sample", "5",
                    "--responses", tmp_path / "r.csv")
    assert rc == 1 and text.startswith(f"错误 / error: --region {region!r}") and "Traceback" not in text
    assert _files(tmp_path) == []


def test_render_rejects_unknown_format(tmp_path, capsys):
    nb = tmp_path / "x.ipynb"
    nb.write_text("{}", encoding="utf-8")
    rc, text = _cli(capsys, "render", nb, "--to", "exe")
    assert rc == 1 and text.startswith("错误 / error: --to exe: 未知的输出格式")


# ---- 4. no identifier on disk; 5. CSV as RFC 4180 -------------------------------------------------------

def _with_identifiers(d: Path, encoding: str) -> None:
    df = _setl(d)
    df.insert(1, "姓名", NAME)
    df.insert(2, "身份证号", CERT)
    _setl_to_csv(d, df, encoding=encoding)


def _holds_identifier(path: Path) -> bool:
    data = path.read_bytes()
    return any(v.encode(enc) in data for v in (NAME, CERT) for enc in ("utf-8", "gb18030", "utf-16-le"))


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_no_identifier_reaches_any_file_written(encoding, tiny, tmp_path, capsys, monkeypatch):
    import tempfile

    from yibao.data import gate, load
    d = _copy(tiny, tmp_path)
    _with_identifiers(d, encoding)
    temp, cache, out = tmp_path / "tmp", tmp_path / "cache", tmp_path / "out"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("YIBAO_CACHE_DIR", str(cache))
    monkeypatch.setattr(load, "_PRIVATE", [])
    monkeypatch.setattr(load, "_CACHE", {})
    gate._MEMO.clear()
    seen: set[Path] = set()
    real_replace = os.replace

    def spy(src, dst, *a, **k):  # every file the commands put in place, wherever it is
        seen.add(Path(dst))
        return real_replace(src, dst, *a, **k)
    monkeypatch.setattr(os, "replace", spy)
    for command in ("indicators", "findings"):
        rc, text = _cli(capsys, command, "--data", d, "--region", REGION, "--period", PERIOD, "--out", out)
        assert rc == 0, text
        # the transcoded copy sits in a private directory while the process runs
        if encoding == "gbk":
            priv = load._PRIVATE[0]
            assert stat.S_IMODE(priv.stat().st_mode) == 0o700
            assert any(priv.glob("*.csv"))
    written = [p for root in (temp, cache, out) for p in root.rglob("*") if p.is_file()]
    written += [p for p in seen if p.is_file()]
    assert any(p.name == "indicators.csv" for p in written) and any(p.suffix == ".csv" for p in temp.rglob("*"))
    assert [str(p) for p in written if _holds_identifier(p)] == []
    assert [str(p) for p in seen if p.is_dir() and any(_holds_identifier(f) for f in p.rglob("*") if f.is_file())] == []


def test_private_directory_of_a_killed_process_is_removed(tmp_path, monkeypatch):
    import tempfile

    from yibao.data import load
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(load, "_PRIVATE", [])
    dead = tmp_path / "yibao-private-999999999-abc"
    dead.mkdir()
    (dead / "x.csv").write_text("a\n")
    mine = load.private_dir()
    assert mine.is_dir() and not dead.exists() and stat.S_IMODE(mine.stat().st_mode) == 0o700


def _names_csv(d: Path, encoding: str) -> pd.DataFrame:
    fix = pd.read_csv(d / "fixmedins.csv", dtype=str, keep_default_na=False)
    fix.loc[0, "fixmedins_name"] = 'A "B" 医院'
    fix.loc[1, "fixmedins_name"] = "第一行\n第二行医院"
    fix.to_csv(d / "fixmedins.csv", index=False, encoding=encoding)  # pandas writes RFC 4180: "" and quoted \n
    return fix


@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "utf-8-sig"])
def test_csv_doubled_quotes_and_quoted_newlines(encoding, tiny, tmp_path, capsys):
    from yibao.data.warehouse import Warehouse
    d = _copy(tiny, tmp_path)
    fix = _names_csv(d, encoding)
    raw = (d / "fixmedins.csv").read_bytes()
    assert b'"A ""B"" ' in raw and b"\n" in raw.split(b'"A ""B"" ')[1]
    rc, text = _cli(capsys, "validate", "--data", d)
    assert rc == 0, text
    with Warehouse(d) as wh:
        got = wh.df("SELECT fixmedins_code, fixmedins_name, hosp_lv FROM fixmedins ORDER BY fixmedins_code")
    assert len(got) == len(fix)
    want = fix.set_index("fixmedins_code")
    for _, r in got.iterrows():
        assert r["fixmedins_name"] == want.loc[r["fixmedins_code"], "fixmedins_name"]
        assert r["hosp_lv"] == want.loc[r["fixmedins_code"], "hosp_lv"]  # no column shifted


# ---- 2. escaping by format -----------------------------------------------------------------------------

def test_markdown_text_is_literal():
    assert escape.markdown_text(HOSTILE) == r"\<script\>alert\(1\)\</script\> \*a\* \$b\$ \@c \#d"
    assert escape.markdown_text("a\n# b") == r"a \# b"


def test_markdown_prose_keeps_strong_and_blocks_only():
    text = f"## 标题\n- {escape.strong(HOSTILE)} 费用`x` [l](u) ~s~ ^p^ | 带*的"
    assert escape.markdown_prose(text) == (
        "## 标题\n- **\\<script\\>alert(1)\\</script\\> \\*a\\* \\$b\\$ \\@c \\#d** 费用\\`x\\` \\[l\\](u) "
        "\\~s\\~ \\^p\\^ \\| 带\\*的")
    assert escape.markdown_prose("**未闭合") == "\\*\\*未闭合"


MD_HOSTILE = "A**B**C __d__ ~~e~~ `f` [g](h) ***i*** _j_"


def test_markdown_in_data_never_toggles_prose_markup():
    """``**`` / ``__`` / ``~~`` / backticks / links inside a data string stay literal in prose — only the
    section's own :func:`escape.strong` is strong — and the strong marks never leak into other formats."""
    import pypandoc
    prose = escape.markdown_prose(f"{escape.strong('说明。')}医院{MD_HOSTILE}的费用。{escape.strong(MD_HOSTILE)}")
    assert prose == ("**说明。**医院A\\*\\*B\\*\\*C \\_\\_d\\_\\_ \\~\\~e\\~\\~ \\`f\\` \\[g\\](h) \\*\\*\\*i\\*\\*\\* "
                     "\\_j\\_的费用。**A\\*\\*B\\*\\*C \\_\\_d\\_\\_ \\~\\~e\\~\\~ \\`f\\` \\[g\\](h) \\*\\*\\*i\\*\\*\\* \\_j\\_**")
    html = pypandoc.convert_text(prose, "html5", format="markdown-smart")
    assert html.count("<strong>") == 2 and "<em>" not in html and "<del>" not in html and "<code>" not in html
    assert "<a " not in html and " ".join(html.split()).count(MD_HOSTILE) == 2  # (pandoc wraps long lines)
    assert " ".join(pypandoc.convert_text(prose, "plain", format="markdown-smart").split()).count(MD_HOSTILE) == 2
    for text in (escape.markdown_text(escape.strong("x")), escape.markdown_inline(escape.strong("x")),
                 escape.html(escape.strong("x")), escape.typst(escape.strong("x")), escape.plain(escape.strong("x"))):
        assert "strong" not in text and "x" in text


def test_html_and_typst_escaping():
    assert escape.html(HOSTILE + "\"'&") == ("&lt;script&gt;alert(1)&lt;/script&gt; *a* $b$ @c #d"
                                             "&quot;&#x27;&amp;")
    assert escape.typst(HOSTILE) == r"\<script\>alert(1)\<\/script\> \*a\* \$b\$ \@c \#d"


def test_pandoc_reads_escaped_text_back_literally(tmp_path):
    import pypandoc
    md = escape.markdown_prose(f"医院：{HOSTILE}。") + "\n\n| 名称 |\n|---|\n| " + escape.markdown_text(HOSTILE) + " |\n"
    plain = pypandoc.convert_text(md, "plain", format="markdown-smart")
    assert plain.count(HOSTILE) == 2
    html = pypandoc.convert_text(md, "html5", format="markdown-smart")
    assert "<script>" not in html and html.count("&lt;script&gt;alert(1)&lt;/script&gt; *a* $b$ @c #d") == 2
    typ = pypandoc.convert_text(md, "typst", format="markdown-smart")
    assert "#d" not in typ.replace("\\#d", "")  # every # of the name escaped for Typst


@pytest.mark.parametrize("value", ["=1+2", "+1", "-1+2", "@SUM(A1)", "=HYPERLINK(\"http://x\")"])
def test_xlsx_text_never_a_formula(value, tmp_path):
    from openpyxl import Workbook, load_workbook
    wb = Workbook()
    wb.active["A1"] = value
    wb.active["A2"] = 3
    escape.xlsx_workbook(wb)
    wb.save(tmp_path / "x.xlsx")
    cell = load_workbook(tmp_path / "x.xlsx").active["A1"]
    assert cell.value == value and cell.data_type == "s" and cell.quotePrefix
    with zipfile.ZipFile(tmp_path / "x.xlsx") as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()


def test_digao_keeps_a_formula_name_as_text(tiny, tmp_path, capsys):
    from openpyxl import load_workbook
    d = _copy(tiny, tmp_path)
    fix = pd.read_csv(d / "fixmedins.csv", dtype=str, keep_default_na=False)
    row = fix.index[(fix["poolarea_no"] == REGION) & (fix["fixmedins_type"] == "1")][0]
    fix.loc[row, "fixmedins_name"] = "=1+2"
    fix.to_csv(d / "fixmedins.csv", index=False)
    rc, text = _cli(capsys, "indicators", "--data", d, "--region", REGION, "--period", PERIOD,
                    "--out", tmp_path / "out")
    assert rc == 0, text
    path = tmp_path / "out" / PERIOD / REGION / "digao.xlsx"
    cells = [c for ws in load_workbook(path).worksheets for r in ws.iter_rows() for c in r if c.value == "=1+2"]
    assert cells and all(c.data_type == "s" for c in cells)
    with zipfile.ZipFile(path) as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_hostile_names_render_literally_and_the_job_succeeds(tiny, tmp_path, capsys):
    """The region and its largest hospital renamed to hostile strings (markup of HTML, Markdown, Typst and
    citations): HTML (text content), DOCX (python-docx) and PDF (pdftotext) show them as written, in the
    prose (which names the region in its sentences) as in the tables."""
    import subprocess
    from readback import flat, text as read_text
    d = _copy(tiny, tmp_path)
    pa = pd.read_csv(d / "poolarea.csv", dtype=str, keep_default_na=False)
    pa.loc[pa["poolarea_no"] == REGION, "poolarea_name"] = f"{HOSTILE} {MD_HOSTILE}"
    pa.to_csv(d / "poolarea.csv", index=False)
    fix = pd.read_csv(d / "fixmedins.csv", dtype=str, keep_default_na=False)
    top = _setl(d).query("poolarea_no == @REGION")["fixmedins_code"].value_counts().index[0]
    fix.loc[fix["fixmedins_code"] == top, "fixmedins_name"] = f"{HOSTILE} {MD_HOSTILE} 医院"
    fix.to_csv(d / "fixmedins.csv", index=False)
    out = tmp_path / "out"
    rc, msg = _cli(capsys, "run", "--data", d, "--region", REGION, "--period", PERIOD, "--kind", "quarterly",
                   "--out", out, "--no-progress")
    assert rc == 0, msg
    pub = out / PERIOD / REGION
    html = (pub / "quarterly.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; *a* $b$ @c #d" in html
    assert "<em>a</em>" not in html and "<math" not in html and "citation" not in html
    for markup in ("<strong>B</strong>", "<strong>d</strong>", "<del>", "<code>f</code>", '<a href="h"', "<em>j</em>"):
        assert markup not in html, markup
    for name in ("quarterly.html", "quarterly.docx"):
        shown = " ".join(read_text(pub / name).split())  # (pandoc wraps long lines)
        assert HOSTILE in shown and shown.count(MD_HOSTILE) >= 3, name  # title, prose, tables
    pdf = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pub / "quarterly.pdf"), "-"], capture_output=True,
                         text=True, check=True).stdout
    assert flat(HOSTILE) in flat(pdf) and flat(pdf).count(flat(MD_HOSTILE)) >= 3


# ---- 6. faults -------------------------------------------------------------------------------------------

def test_readonly_output_is_one_line(tiny, tmp_path, capsys, monkeypatch):
    import errno
    import tempfile
    real = tempfile.mkstemp

    def readonly(*a, dir=None, **k):
        if dir is not None and str(tmp_path / "out") in str(dir):
            raise PermissionError(errno.EROFS, "Read-only file system", str(dir))
        return real(*a, dir=dir, **k)
    monkeypatch.setattr(tempfile, "mkstemp", readonly)
    rc, text = _cli(capsys, "indicators", "--data", tiny, "--region", REGION, "--period", PERIOD,
                    "--out", tmp_path / "out")
    assert rc == 1 and "Traceback" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"错误 / error: {tmp_path / 'out' / PERIOD / REGION}: 没有写入权限或只读")
    assert [f for f in _files(tmp_path / "out") if not f.startswith(".")] == []


def test_disk_full_is_one_line(tmp_path, capsys, monkeypatch):
    import errno

    import pyarrow.parquet as pq
    real = pq.ParquetWriter.write_table
    calls = []

    def full(self, *a, **k):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "syn"))
        return real(self, *a, **k)
    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    rc, text = _cli(capsys, "synth", "--out", tmp_path / "syn", "--scale", "tiny", "--seed", "3")
    assert rc == 1 and "Traceback" not in text
    lines = text.strip().splitlines()
    assert lines[-1] == (f"错误 / error: {tmp_path / 'syn'}: 磁盘已满 / no space left on device（已写出的文件保持原样，"
                         f"未留下半成品）(rule: output folder must be writable with free space)")
    assert not (tmp_path / "syn").exists() or not list((tmp_path / "syn").glob("*.parquet"))


def test_stale_staging_directories_are_removed(tmp_path):
    from yibao.batch.runner import remove_leftovers
    period = tmp_path / PERIOD
    dead = period / ".stage-999999999-quarterly-abc"
    alive = period / f".stage-{os.getppid()}-quarterly-def"
    old_layout = period / ".stage-quarterly-ghi"
    for d in (dead, alive, old_layout):
        (d / "_out").mkdir(parents=True)
        (d / "_out" / "x.csv").write_text("x")
    removed = remove_leftovers(period)
    assert sorted(removed) == sorted([dead, old_layout])
    assert alive.is_dir() and not dead.exists() and not old_layout.exists()


def test_concurrent_manifest_writes_lose_nothing(tmp_path):
    import threading

    from yibao.batch.runner import JobResult, _write_manifests
    out = tmp_path / "out"

    def writer(k):
        for i in range(6):
            _write_manifests([JobResult(f"R{k}/job{i}", f"R{k}", "quarterly", PERIOD, None, "ok", 0.1)],
                             str(out), "builtin", ["html"])
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    import json
    jobs = json.loads((out / PERIOD / "manifest.json").read_text(encoding="utf-8"))["jobs"]
    assert len(jobs) == 36 and len({j["job"] for j in jobs}) == 36


def test_resume_rebuilds_a_truncated_output(tiny, tmp_path, capsys):
    import json
    out = tmp_path / "out"
    args = ["run", "--data", tiny, "--region", REGION, "--period", PERIOD, "--kind", "quarterly",
            "--formats", "html", "--out", out, "--no-progress"]
    rc, text = _cli(capsys, *args)
    assert rc == 0, text
    html = out / PERIOD / REGION / "quarterly.html"
    size = html.stat().st_size
    html.write_bytes(b"")
    rc, text = _cli(capsys, *args)
    assert rc == 0 and "跳过" not in text and "完成" in text
    assert html.stat().st_size == size
    from yibao.fsutil import sha256
    job = {j["job"]: j for j in json.loads((out / PERIOD / "manifest.json").read_text(encoding="utf-8"))["jobs"]}
    recorded = {f["path"]: f["sha256"] for f in job[f"{REGION}/quarterly"]["files"]}
    assert recorded[f"{REGION}/quarterly.html"] == sha256(html)
    rc, text = _cli(capsys, *args)  # unchanged now: skipped
    assert rc == 0 and "跳过" in text


# ---- 7. reproducible ---------------------------------------------------------------------------------------

def test_same_inputs_and_release_date_give_identical_bytes(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["run", "--data", tiny, "--region", REGION, "--period", PERIOD, "--kind", "quarterly",
            "--out", out, "--no-progress", "--release-date", "2026-10-15", "--force"]
    names = ["quarterly.ipynb", "quarterly.html", "quarterly.docx", "quarterly.pdf", "indicators.csv",
             "checks.csv", "findings.csv", "commendations.csv", "digao.xlsx"]
    runs = []
    for _ in range(2):
        rc, text = _cli(capsys, *args)
        assert rc == 0, text
        runs.append({n: (out / PERIOD / REGION / n).read_bytes() for n in names})
    assert [n for n in names if runs[0][n] != runs[1][n]] == []
    nb = runs[0]["quarterly.ipynb"].decode("utf-8")
    assert ".stage-" not in nb and "start_time" not in nb and "2026年10月15日" in runs[0]["quarterly.html"].decode()
    with zipfile.ZipFile(out / PERIOD / REGION / "quarterly.docx") as z:
        assert {i.date_time[:3] for i in z.infolist()} == {(2026, 10, 15)}
    assert b"D:20261015000000" in runs[0]["quarterly.pdf"]


def _yibao(*args, **kw):
    import subprocess
    import sys
    code = "import sys; from yibao import cli; sys.exit(cli.main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *[str(a) for a in args]], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)


def _wait(cond, seconds: float) -> bool:
    import time
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.2)
    return False


def test_sigterm_stops_queued_jobs_and_records_what_finished(tiny, tmp_path):
    import json
    import signal
    out = tmp_path / "out"
    proc = _yibao("run", "--data", tiny, "--period", PERIOD, "--kind", "quarterly", "--formats", "html",
                  "--jobs", "2", "--out", out, "--no-progress")
    assert _wait(lambda: any((out / PERIOD).glob("[0-9]*/quarterly.html")), 600)  # published, not staged
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "已中断" in err and "Traceback" not in err
    assert (out / PERIOD / "manifest.json").exists(), (err, _files(out))
    jobs = json.loads((out / PERIOD / "manifest.json").read_text(encoding="utf-8"))["jobs"]
    done = {j["region"] for j in jobs}
    assert done and all(j["status"] == "ok" for j in jobs)
    for r in ("350100", "350200", "350300"):  # a job that did not finish published nothing
        assert (out / PERIOD / r / "quarterly.html").exists() == (r in done)
    assert _wait(lambda: not list((out / PERIOD).glob(".stage-*")), 30)


def test_sigkill_of_the_parent_stops_the_workers_and_the_next_run_leaves_no_kernel_file(tiny, tmp_path):
    """SIGKILL to a running ``yibao run``: its workers and kernels exit, nothing is published; the next run
    removes the staging folders, and no kernel connection file of the killed run remains anywhere — not in
    a staging folder, not in ``jupyter --runtime-dir``, not in the temporary directory."""
    import signal
    import subprocess
    import sys
    out = tmp_path / "out"
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"), JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"))
    (tmp_path / "tmp").mkdir()
    runtime = Path(subprocess.run([sys.executable, "-m", "jupyter", "--runtime-dir"], env=env, text=True,
                                  capture_output=True, check=True).stdout.strip())
    assert runtime == tmp_path / "jupyter-data" / "runtime"
    proc = _yibao("run", "--data", tiny, "--period", PERIOD, "--kind", "quarterly", "--formats", "html",
                  "--jobs", "2", "--out", out, "--no-progress", env=env)

    def kernel_files():
        return sorted(str(p) for p in (out / PERIOD).glob(".stage-*/.jupyter-runtime/kernel-*.json"))
    assert _wait(lambda: kernel_files(), 600), _files(out)  # a kernel runs, its connection file in the stage
    first = kernel_files()
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)

    def group_gone():
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        return False
    assert _wait(group_gone, 30)  # every worker and kernel of the killed run exited
    assert not any((out / PERIOD).glob("[0-9]*/quarterly.html"))  # and none went on to publish

    again = _yibao("run", "--data", tiny, "--period", PERIOD, "--region", REGION, "--kind", "quarterly",
                   "--formats", "html", "--out", out, "--no-progress", env=env)
    _, err = again.communicate(timeout=900)
    assert again.returncode == 0, err
    assert (out / PERIOD / REGION / "quarterly.html").exists()
    assert not list((out / PERIOD).glob(".stage-*"))  # the killed run's staging folders are gone
    assert not any(Path(f).exists() for f in first)
    for where in (out, runtime, tmp_path / "tmp"):
        left = [p for p in where.rglob("*.json") if p.name.startswith("kernel-")
                or b'"shell_port"' in p.read_bytes()] if where.exists() else []
        assert left == [], (where, left)


def test_chart_labels_from_data_are_never_mathtext(tmp_path):
    import matplotlib.pyplot as plt

    from yibao.publications import charts
    charts.setup()
    fig, ax = plt.subplots()
    ax.bar([r"$\x$ 医院", "$b$"], [1, 2])  # invalid mathtext: would fail the chart (and the job) if parsed
    ax.set_title(HOSTILE)
    fig.savefig(tmp_path / "c.png")
    plt.close(fig)
    assert (tmp_path / "c.png").stat().st_size > 1000
