"""Region-period aggregates computed once and read many times (docs/scale.md, "Compute once, read many").

An aggregate is the result of one function of ``(warehouse, region, period, *args)`` — a 数据底稿 of a
period, the 复核 table, a cube or table of :mod:`yibao.metrics.analysis`. :mod:`yibao.metrics.aggregates`
computes the ones the publications use and writes them into a :class:`Store` (a directory of Parquet
files); a notebook's :class:`~yibao.publications.context.Context` attaches the store to its warehouse, and
every function decorated with :func:`shared` then returns the stored frame instead of querying the data.
Without a store (JupyterLab, a store without that entry) the function computes as before: same result.

A frame is only stored when it reads back equal to itself (:meth:`Store.put`), so reading it can never
change a number or a column type in a publication.
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import pandas as pd

STORE_DIR = ".aggregates"  # beside the precomputed indicators.csv (hidden: never published)


def key(name: str, region: str, period: str | None, args: tuple = ()) -> str:
    """The store name of one aggregate."""
    text = json.dumps([name, str(region), None if period is None else str(period), list(args)], ensure_ascii=False)
    return f"{name}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"


class Store:
    """A directory of aggregates (``<key>.parquet``); frames are read once and handed out as copies."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._frames: dict[str, pd.DataFrame] = {}
        self.hits: list[str] = []  # what was read from the store (tests, benchmark)

    def get(self, k: str) -> pd.DataFrame | None:
        if k not in self._frames:
            f = self.path / f"{k}.parquet"
            if not f.is_file():
                return None
            self._frames[k] = pd.read_parquet(f)
        self.hits.append(k)
        return self._frames[k].copy()

    def put(self, k: str, df: pd.DataFrame) -> bool:
        """Store ``df`` when it survives the Parquet round trip unchanged; returns whether it was stored."""
        from yibao.fsutil import atomic_path
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / f"{k}.parquet"
        try:
            with atomic_path(target) as tmp:
                df.to_parquet(tmp, index=True)
                back = pd.read_parquet(tmp)
                if not _same(df, back):
                    raise ValueError("not equal after the round trip")
        except (ValueError, TypeError, ImportError, OverflowError) as exc:  # stays computed in the notebook
            target.unlink(missing_ok=True)
            self.skipped = getattr(self, "skipped", []) + [f"{k}: {exc}"]
            return False
        return True


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        return True
    except AssertionError:
        return False


def attach(wh, store: Store | None) -> None:
    """Let the :func:`shared` functions called with this warehouse read from ``store``."""
    wh.__dict__["_yibao_aggregates"] = store


def shared(fn):
    """Decorate ``fn(wh, region, period, *args)``: the stored frame when the warehouse has a store with it."""
    @functools.wraps(fn)
    def wrapper(wh, region, period=None, *args):
        store = getattr(wh, "__dict__", {}).get("_yibao_aggregates")
        if store is not None:
            got = store.get(key(fn.__name__, region, period, args))
            if got is not None:
                return got
        return fn(wh, region, period, *args) if period is not None or args else fn(wh, region)
    wrapper.shared_name = fn.__name__
    return wrapper
