"""The validation gate: nothing is computed from a dataset that fails validation.

Every command that computes from a dataset (``yibao indicators``, ``findings``, ``run``, ``run --plan``,
``topics``, ``plan``, ``workgroup sample-pool``) calls :func:`require_valid` (or :func:`validated`) first. It
runs the validator (:func:`yibao.data.validate.validate`) on **the part of the dataset the command reads** — a
:class:`~yibao.data.validate_scope.Scope`: its tables (``INDICATOR_TABLES``, ``FINDING_TABLES``; every table
for a report), its region(s) and the months its figures read (docs/security.md) — and stops with
:class:`~yibao.errors.DataError` — the validator's ``file · column · row(s) · rule`` lines, exit 1 — when
there is any error in that part. A broken row of another region, or of a month long before the period, does
not stop a region's job; the same row in the region's own months does. With a region and period the gate also
requires that the region exists and has settlements in the period (zeros would otherwise be published as
``ok``). Warnings pass; they are printed by the caller and recorded in the 审议 record (check B3).

A passing verdict is remembered under the cache directory (:func:`yibao.data.warehouse.cache_dir`, mode
0700), keyed on every file's path, size and modification time, on the validator's own code **and on the
scope**: the second command on an unchanged dataset and the same scope does not validate again, and a verdict
for one region never answers for another. Only passing verdicts are stored, with their warning lines
(file · column · rows · rule, no person data) and their scope; a failing dataset is validated each time.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from yibao.data.validate_scope import Scope  # noqa: F401 — the commands import it from here
from yibao.errors import DataError
from yibao.fsutil import write_text

MAX_LINES = 20  # error lines quoted in the message; `yibao validate` lists every one
_MEMO: dict[str, tuple[Scope, list]] = {}  # key -> (scope, warnings) of the verdicts of this process
# what the commands read (poolarea and fixmedins, which place rows in a region, are always checked)
INDICATOR_TABLES = ("poolarea", "fixmedins", "psn_insu_month", "fund_report", "budget", "setl", "setl_list",
                    "special_case", "settlement_progress")
FINDING_TABLES = ("poolarea", "fixmedins", "setl", "setl_list", "drg_catalog", "dip_catalog")


def fingerprint(data_dir: str | os.PathLike) -> str:
    """A key of the dataset's files (path, size, mtime) and of the validator's code."""
    d = Path(data_dir)
    items = []
    for path in sorted(d.rglob("*")):
        if path.is_file() and path.name != "planted.json":
            st = path.stat()
            items.append([str(path.relative_to(d)), st.st_size, st.st_mtime_ns])
    h = hashlib.sha256(json.dumps([str(d.resolve()), items]).encode("utf-8"))
    here = Path(__file__).resolve().parent
    for name in ("validate.py", "validate_checks.py", "validate_rules.py", "validate_scope.py", "contract.py",
                 "warehouse.py", "load.py", "gate.py", "ingest.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:32]


def files_fingerprint(data_dir: str | os.PathLike) -> list:
    """Every file of a dataset but the ingest marker: relative path, size, mtime (ns)."""
    from yibao.data.load import INGEST_MARKER
    d = Path(data_dir)
    out = []
    for path in sorted(d.rglob("*")):
        if path.is_file() and path.name != INGEST_MARKER:
            st = path.stat()
            out.append([path.relative_to(d).as_posix(), st.st_size, st.st_mtime_ns])
    return out


def ingest_verdict(data_dir: str | os.PathLike) -> list | None:
    """The warnings that ``yibao ingest`` recorded when it validated the dataset's source, as long as the
    dataset's files are exactly those it wrote (path, size, mtime); None otherwise (the gate then validates
    as for any dataset). A dataset is validated once, when it is ingested (docs/scale.md)."""
    from yibao.data.load import INGEST_FORMAT, INGEST_MARKER
    from yibao.data.validate import Problem
    path = Path(data_dir) / INGEST_MARKER
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        if info.get("format") != INGEST_FORMAT or not (info.get("validation") or {}).get("passed"):
            return None
        if info.get("files") != files_fingerprint(data_dir):
            return None
        return [Problem(**p) for p in info["validation"]["warnings"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _key(data_key: str, scope: Scope) -> str:
    return f"{data_key}-{hashlib.sha256(scope.key().encode('utf-8')).hexdigest()[:16]}"


def _gate_dir() -> Path | None:
    from yibao.data.warehouse import _private_cache, cache_dir
    d = cache_dir()
    if d is None:
        return None
    try:
        _private_cache(d / "gate")
    except OSError:
        return None
    return d / "gate"


def _cache_file(key: str) -> Path | None:
    d = _gate_dir()
    return None if d is None else d / f"{key}.json"


def _read_verdict(path: Path):
    """(scope, warnings) of a stored verdict, or None when it cannot be read."""
    from yibao.data.validate import Problem
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
        sc = rec["scope"]
        scope = Scope(tuple(sc[0]) if sc[0] is not None else None, tuple(sc[1]) if sc[1] is not None else None,
                      sc[2], sc[3])
        return scope, [Problem(**p) for p in rec["warnings"]]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def validated(data_dir: str | os.PathLike, scope: Scope | None = None) -> list:
    """The warnings of the dataset's ``scope`` (default: all of it) when it passes validation;
    :class:`DataError` naming every error otherwise."""
    from yibao.data.validate import ERROR, validate
    d = Path(data_dir)
    if not d.is_dir():
        raise DataError(f"{d}: 数据目录不存在 (rule: --data must be a dataset directory)")
    scope = scope or Scope()
    key = _key(fingerprint(d), scope)
    if key in _MEMO:
        return _MEMO[key][1]
    trusted = ingest_verdict(d)
    if trusted is not None:
        _MEMO[key] = (scope, trusted)
        return trusted
    cache = _cache_file(key)
    if cache is not None and cache.exists():
        got = _read_verdict(cache)
        if got is not None and got[0] == scope:
            _MEMO[key] = got
            return got[1]
    problems = validate(d, scope=scope)
    errors = [p for p in problems if p.severity == ERROR]
    if errors:
        lines = [f"  {p}" for p in errors[:MAX_LINES]]
        if len(errors) > MAX_LINES:
            lines.append(f"  … 另有 {len(errors) - MAX_LINES} 个错误 / more errors: yibao validate --data {d}")
        raise DataError(f"{d}: 数据校验未通过{scope.label()}，共 {len(errors)} 个错误，未计算任何结果 / validation "
                        f"failed, nothing computed (rule: data contract, see yibao validate)\n" + "\n".join(lines),
                        problems)
    warnings = [p for p in problems if p.severity != ERROR]
    if cache is not None:
        try:
            write_text(cache, json.dumps({"data": str(d.resolve()), "scope": json.loads(scope.key()),
                                          "warnings": [asdict(p) for p in warnings]}, ensure_ascii=False))
        except OSError:  # a read-only cache: the verdict is simply not remembered
            pass
    _MEMO[key] = (scope, warnings)
    return warnings


def cached_warnings(data_dir: str | os.PathLike, region: str | None = None, period=None) -> list | None:
    """The warnings of a remembered passing verdict on the dataset whose scope covers ``region`` and
    ``period`` (any verdict on it when neither is given), or None when there is none (never validates: the
    审议 record reads what the command's gate found)."""
    try:
        data_key = fingerprint(data_dir)
    except OSError:
        return None
    trusted = ingest_verdict(data_dir)
    if trusted is not None:
        return trusted
    month = None
    if period is not None:
        from yibao.data.periods import Period, PeriodError
        try:
            month = Period.parse(period).last_month
        except PeriodError:
            month = None
    verdicts = [v for k, v in _MEMO.items() if k.startswith(data_key + "-")]
    d = _gate_dir()
    if d is not None:
        verdicts += [v for v in map(_read_verdict, sorted(d.glob(f"{data_key}-*.json"))) if v is not None]
    for scope, warnings in verdicts:
        if scope.covers(region, month):
            return warnings
    return None


def require_valid(data_dir: str | os.PathLike, region: str | None = None, period=None,
                  regions: list[str] | None = None, tables=None) -> list:
    """Validate the part of the dataset a command reads — ``tables`` (default: every table) for the region(s)
    and the period's months (cached) — and, when given, that each region exists and has settlements in the
    period. Returns the warnings; raises :class:`DataError` on any error."""
    wanted = [str(r) for r in (regions or ([region] if region is not None else []))]
    scope = Scope.of(tables=tables, regions=wanted or None, period=period)
    warnings = validated(data_dir, scope)
    if not wanted:
        return warnings
    from yibao.data.periods import Period
    from yibao.data.warehouse import Warehouse, period_filter
    p = Period.parse(period) if period is not None else None
    with Warehouse(data_dir) as wh:
        for r in wanted:
            wh.region(r)  # DataError naming the known regions
            if p is None or not wh.has("setl"):
                continue
            n = wh.scalar(f"SELECT count(*) FROM setl_net WHERE poolarea_no = ? AND {period_filter(p)}", [r])
            if not n:
                raise DataError(f"setl: 统筹区 {r} 在 {p.label}（{p.code}）没有任何结算记录，不能发布全为零的结果 / "
                                f"no settlements for region {r} in {p.code} (rule: a region and period with "
                                f"settlements)")
    return warnings


def print_warnings(warnings: list, stream=None) -> None:
    """The warnings, one line each, on stderr (commands print them before their own output)."""
    import sys
    stream = stream or sys.stderr
    if not warnings:
        return
    print(f"数据校验通过，有 {len(warnings)} 个警告 / validation passed with warnings:", file=stream)
    for p in warnings[:MAX_LINES]:
        print(f"  {p}", file=stream)
    if len(warnings) > MAX_LINES:
        print(f"  … 另有 {len(warnings) - MAX_LINES} 个警告 / more: yibao validate", file=stream)
