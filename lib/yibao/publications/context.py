"""What every publication notebook starts from: the region, the period, the warehouse, the 底稿
indicators of the period (and of 上期 and 同比 for comparisons), the findings, the institutions.

    ctx = Context.open(data_dir, region, period)
    ctx.value(39)                      # region value of indicator 39 in the period
    ctx.value(40, "H350100001")        # an institution's value
    ctx.change(1, "同比")              # '同比增长5.2%'
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from yibao import fmt
from yibao.data.periods import Period
from yibao.data.warehouse import Warehouse
from yibao.metrics import shared


@dataclass
class Context:
    data_dir: Path
    region: str
    period: Period
    wh: Warehouse
    info: dict = field(default_factory=dict)

    precomputed: Path | None = None

    @classmethod
    def open(cls, data_dir, region: str, period: str, precomputed=None) -> "Context":
        """``precomputed``: a directory holding this region and period's indicators.csv, findings.csv and
        commendations.csv (``yibao run`` writes them before executing the notebook and passes the
        directory): the notebook then shows exactly those files instead of computing them again.
        Empty or None: everything is computed here (JupyterLab)."""
        from yibao.errors import DataError
        wh = Warehouse(data_dir)
        region = str(region)
        info = wh.region(region)
        if str(info.get("pay_method") or "").upper() not in ("DRG", "DIP"):
            raise DataError(f"poolarea · pay_method · 统筹区 {region} · 支付方式为 {info.get('pay_method')!r}，"
                            f"必须为 DRG 或 DIP (rule: pay_method in DRG/DIP)")
        pre = Path(precomputed) if precomputed else None
        pre = pre if pre is not None and pre.is_dir() else None
        if pre is not None and (pre / shared.STORE_DIR).is_dir():
            # the region-period aggregates the job computed once (metrics/aggregates.py): sections read them
            shared.attach(wh, shared.Store(pre / shared.STORE_DIR))
        return cls(Path(data_dir), region, Period.parse(period), wh, info, pre)

    def _stored(self, period: Period, strict: bool) -> pd.DataFrame | None:
        store = self.wh.__dict__.get("_yibao_aggregates")
        if store is None:
            return None
        from yibao.metrics.aggregates import indicators_key
        return store.get(indicators_key(self.region, period.code, strict))

    def _precomputed(self, name: str, numeric: tuple[str, ...]) -> pd.DataFrame | None:
        if self.precomputed is None or not (self.precomputed / name).is_file():
            return None
        df = pd.read_csv(self.precomputed / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        for c in numeric:
            if c in df.columns:
                df[c] = pd.to_numeric(df[c], errors="coerce")
        return df

    # ---- identity -----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.info.get("poolarea_name") or self.region)

    @property
    def pay_method(self) -> str:
        return str(self.info.get("pay_method") or "").upper()

    @property
    def label(self) -> str:
        return self.period.label

    @property
    def group_col(self) -> str:
        return "drg_code" if self.pay_method == "DRG" else "dip_code"

    @cached_property
    def rules(self):
        """The region's rule table (caps, deadlines with their source), :mod:`yibao.publications.rules`."""
        from yibao.publications import rules
        return rules.for_region(self.region)

    @property
    def today(self) -> dt.date:
        return dt.date.today()

    # ---- data -----------------------------------------------------------------------------------
    @cached_property
    def institutions(self) -> pd.DataFrame:
        return self.wh.institutions(self.region)

    @cached_property
    def hospitals(self) -> pd.DataFrame:
        return self.institutions[self.institutions["fixmedins_type"] == "1"].reset_index(drop=True)

    def hospital_name(self, code: str) -> str:
        m = self.institutions.set_index("fixmedins_code")["fixmedins_name"]
        return str(m.get(code, code))

    def _indicators(self, period: Period) -> pd.DataFrame:
        from yibao.metrics import indicators
        cache = self.__dict__.setdefault("_ind_cache", {})
        if period.code not in cache:  # for a year, 上期 and 同比 are the same period: computed once
            stored = self._stored(period, True)
            cache[period.code] = stored if stored is not None else indicators.compute(self.wh, self.region, period.code)
        return cache[period.code]

    @cached_property
    def ind(self) -> pd.DataFrame:
        pre = self._precomputed("indicators.csv", ("value",))
        if pre is not None and set(pre["period"]) <= {self.period.code}:
            return pre
        return self._indicators(self.period)

    @cached_property
    def ind_prev(self) -> pd.DataFrame:
        return self._indicators(self.period.previous())

    @cached_property
    def ind_yoy(self) -> pd.DataFrame:
        return self._indicators(self.period.year_ago())

    def _lookup(self, df: pd.DataFrame, iid, code: str | None):
        # the first row of each (indicator, institution), indexed once per frame (sections look up hundreds)
        indexes = self.__dict__.setdefault("_lookup_index", {})
        got = indexes.get(id(df))
        if got is None or got[0] is not df:
            first: dict = {}
            for k, st, v in zip(zip(df["indicator_id"].astype(str), df["fixmedins_code"].fillna("").astype(str)),
                                df["status"], df["value"]):
                first.setdefault(k, (st, v))
            got = indexes[id(df)] = (df, first)
        st, v = got[1].get((str(iid), code or ""), (None, None))
        if st != "ok":
            return None
        return None if pd.isna(v) or v == "" else float(v)

    def value(self, iid, code: str | None = None):
        return self._lookup(self.ind, iid, code)

    @cached_property
    def ind_all(self) -> pd.DataFrame:
        """The period's indicators ignoring publication frequency (e.g. the yearly 46/47 in a quarter)."""
        from yibao.metrics import indicators
        stored = self._stored(self.period, False)
        if stored is not None:
            return stored
        return indicators.compute(self.wh, self.region, self.period.code, strict_frequency=False)

    def value_any(self, iid, code: str | None = None):
        """``value`` if the indicator is published for this period, else computed regardless of frequency —
        a 参考值: the region-level ones quoted this way are remembered (``quoted_reference``) so that the
        appendix shows them with the same value, marked 参考值, instead of 不适用."""
        v = self.value(iid, code)
        if v is not None:
            return v
        v = self._lookup(self.ind_all, iid, code)
        if v is not None and not code:
            self.quoted_reference.add(str(iid))
        return v

    @cached_property
    def quoted_reference(self) -> set:
        return set()

    def value_prev(self, iid, code: str | None = None):
        return self._lookup(self.ind_prev, iid, code)

    def value_yoy(self, iid, code: str | None = None):
        return self._lookup(self.ind_yoy, iid, code)

    def change(self, iid, basis: str = "同比", code: str | None = None, unit_pct: bool | None = None) -> str:
        """同比/环比 of an indicator as the appendix and digao.xlsx give it (metrics.indicators.change_words):
        a 累计 figure only has 同比; a balance that is a deficit is worded as one."""
        from yibao.metrics import catalogue, indicators
        try:
            ind = catalogue.get(str(iid))
        except KeyError:
            ind = None
        if ind is not None and ind.timing == "cumulative":
            basis = "同比"
        base = self.value_yoy(iid, code) if basis == "同比" else self.value_prev(iid, code)
        if self.period.kind == "year":  # a year's 上期 is the year before: say 同比
            basis = "同比"
        if ind is not None and unit_pct is None:
            return indicators.change_words(ind, self.value(iid, code), base, basis) or f"{basis}无可比数据"
        if unit_pct is None:
            unit_pct = self.unit(iid) == "%"
        return fmt.change(self.value(iid, code), base, basis, unit_pct=unit_pct)

    def unit(self, iid) -> str:
        d = self.ind[self.ind["indicator_id"].astype(str) == str(iid)]
        return "" if d.empty else str(d["unit"].iloc[0] if pd.notna(d["unit"].iloc[0]) else "")

    def per_hospital(self, iid, df: pd.DataFrame | None = None) -> pd.DataFrame:
        """Institution rows of one indicator, joined with name and level; ``value`` NaN where not ok."""
        df = self.ind if df is None else df
        d = df[(df["indicator_id"].astype(str) == str(iid)) & (df["fixmedins_code"].fillna("") != "")]
        d = d[["fixmedins_code", "value", "status"]].copy()
        d["value"] = pd.to_numeric(d["value"], errors="coerce").where(d["status"] == "ok")
        h = self.hospitals[["fixmedins_code", "fixmedins_name", "lv_group", "hosp_lv", "specialty", "begn_date",
                            "ownership", "beds"]]
        return h.merge(d, on="fixmedins_code", how="left")

    @cached_property
    def checks(self) -> pd.DataFrame:
        """The 复核 table of the period (check_id, status, detail): checks.csv when precomputed with the
        indicators.csv the notebook shows (the data step ran the checks on exactly those rows), else run here."""
        pre = self._precomputed("checks.csv", ())
        ind = self._precomputed("indicators.csv", ())
        if pre is not None and ind is not None and set(ind["period"]) <= {self.period.code}:  # as ``ind`` does
            return pre
        from yibao.metrics import checks
        return checks.run_checks(self.wh, self.region, self.period.code, self.ind)

    @cached_property
    def findings(self) -> pd.DataFrame:
        pre = self._precomputed("findings.csv", ("value", "benchmark"))
        if pre is not None:
            return pre
        from yibao.findings import engine as findings
        return findings.find(self.wh, self.region, self.period.code)

    @cached_property
    def benchmarks(self) -> pd.DataFrame:
        """The comparison groups the findings rules used (rule_id, basis, peer_group, levels, n, stat, value,
        min, max): the one source of every peer median a publication prints (benchmarks.csv beside
        findings.csv when precomputed)."""
        pre = self._precomputed("benchmarks.csv", ("n", "value", "min", "max"))
        if pre is not None:
            return pre
        from yibao.findings import engine as findings
        return findings.benchmarks(self.wh, self.region, self.period.code)

    @cached_property
    def commendations(self) -> pd.DataFrame:
        from yibao.findings import engine as findings
        pre = self._precomputed("commendations.csv", tuple(c for c in findings.COMMEND_COLUMNS
                                                          if c not in ("fixmedins_code", "fixmedins_name",
                                                                       "level", "reason")))
        if pre is not None:
            return pre
        return findings.commend(self.wh, self.region, self.period.code)

    def close(self) -> None:
        self.wh.close()
