"""The validation gate: nothing is computed from a dataset that fails validation.

Every command that computes from a dataset (``yibao indicators``, ``findings``, ``run``, ``run --plan``,
``topics``, ``plan``, ``workgroup sample-pool``) calls :func:`require_valid` first. It runs the validator
(:func:`yibao.data.validate.validate`) and stops with :class:`~yibao.errors.DataError` — the validator's
``file · column · row(s) · rule`` lines, exit 1 — when there is any error. With a region and period it also
requires that the region exists and has settlements in the period (zeros would otherwise be published as
``ok``). Warnings pass; they are printed by the caller and recorded in the 审议 record (check B3).

A passing verdict is remembered under the cache directory (:func:`yibao.data.warehouse.cache_dir`, mode
0700), keyed on every file's path, size and modification time and on the validator's own code: the second
command on an unchanged dataset does not validate again. Only passing verdicts are stored, with their
warning lines (file · column · rows · rule, no person data); a failing dataset is validated each time.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from yibao.errors import DataError
from yibao.fsutil import write_text

MAX_LINES = 20  # error lines quoted in the message; `yibao validate` lists every one
_MEMO: dict[str, list] = {}


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
    for name in ("validate.py", "validate_checks.py", "validate_rules.py", "contract.py", "warehouse.py",
                 "load.py", "gate.py", "ingest.py"):
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


def _cache_file(key: str) -> Path | None:
    from yibao.data.warehouse import _private_cache, cache_dir
    d = cache_dir()
    if d is None:
        return None
    try:
        _private_cache(d / "gate")
    except OSError:
        return None
    return d / "gate" / f"{key}.json"


def validated(data_dir: str | os.PathLike) -> list:
    """The warnings of a dataset that passes validation; :class:`DataError` naming every error otherwise."""
    from yibao.data.validate import ERROR, Problem, validate
    d = Path(data_dir)
    if not d.is_dir():
        raise DataError(f"{d}: 数据目录不存在 (rule: --data must be a dataset directory)")
    key = fingerprint(d)
    if key in _MEMO:
        return _MEMO[key]
    trusted = ingest_verdict(d)
    if trusted is not None:
        _MEMO[key] = trusted
        return trusted
    cache = _cache_file(key)
    if cache is not None and cache.exists():
        try:
            warnings = [Problem(**p) for p in json.loads(cache.read_text(encoding="utf-8"))["warnings"]]
            _MEMO[key] = warnings
            return warnings
        except (OSError, ValueError, KeyError, TypeError):
            pass
    problems = validate(d)
    errors = [p for p in problems if p.severity == ERROR]
    if errors:
        lines = [f"  {p}" for p in errors[:MAX_LINES]]
        if len(errors) > MAX_LINES:
            lines.append(f"  … 另有 {len(errors) - MAX_LINES} 个错误 / more errors: yibao validate --data {d}")
        raise DataError(f"{d}: 数据校验未通过，共 {len(errors)} 个错误，未计算任何结果 / validation failed, nothing "
                        f"computed (rule: data contract, see yibao validate)\n" + "\n".join(lines), problems)
    warnings = [p for p in problems if p.severity != ERROR]
    if cache is not None:
        try:
            write_text(cache, json.dumps({"data": str(d.resolve()), "warnings": [asdict(p) for p in warnings]},
                                         ensure_ascii=False))
        except OSError:  # a read-only cache: the verdict is simply not remembered
            pass
    _MEMO[key] = warnings
    return warnings


def cached_warnings(data_dir: str | os.PathLike) -> list | None:
    """The warnings of the dataset's remembered passing verdict, or None when there is none (never
    validates: the 审议 record reads what the command's gate found)."""
    from yibao.data.validate import Problem
    try:
        key = fingerprint(data_dir)
    except OSError:
        return None
    if key in _MEMO:
        return _MEMO[key]
    trusted = ingest_verdict(data_dir)
    if trusted is not None:
        return trusted
    cache = _cache_file(key)
    if cache is None or not cache.exists():
        return None
    try:
        return [Problem(**p) for p in json.loads(cache.read_text(encoding="utf-8"))["warnings"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def require_valid(data_dir: str | os.PathLike, region: str | None = None, period=None,
                  regions: list[str] | None = None) -> list:
    """Validate the dataset (cached) and, when given, that each region exists and has settlements in the
    period. Returns the warnings; raises :class:`DataError` on any error."""
    warnings = validated(data_dir)
    wanted = [str(r) for r in (regions or ([region] if region is not None else []))]
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
