"""The synthetic world: scales, regions, institutions, insured persons and the anomaly plan.

Nothing here draws a settlement; :mod:`yibao.synth.claims` does that from the :class:`World` built
here. Every random choice comes from a generator seeded by ``(seed, purpose…)`` so that the dataset
is identical for a seed whatever the chunking.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from yibao.synth.conditions import B, CONDITIONS, P, S, T

# ---- calendar ------------------------------------------------------------------------------
MONTHS = [f"{y}-{m:02d}" for y in (2024, 2025, 2026) for m in range(1, 13)][:33]  # 2024-01 … 2026-09
ANALYSIS_PERIOD = "2026Q3"
DATA_END = date(2026, 9, 30)
EXTRACT_DATE = date(2026, 10, 20)  # the export date: uploads, payments and reviews known up to here
EPOCH = date(1970, 1, 1)


def day_no(d: date) -> int:
    return (d - EPOCH).days


MONTH_START = np.array([day_no(date(2024 + i // 12, i % 12 + 1, 1)) for i in range(34)], dtype=np.int64)
MONTH_DAYS = np.diff(MONTH_START)
MONTH_CAL = np.array([i % 12 + 1 for i in range(33)])  # calendar month 1..12
MONTH_YEAR = np.array([2024 + i // 12 for i in range(33)])
END_DAY = day_no(DATA_END)
EXTRACT_DAY = day_no(EXTRACT_DATE)


def month_index(month: str) -> int:
    return MONTHS.index(month)


# inpatient seasonality (winter peak, Spring Festival dip), by calendar month
SEASON = np.array([1.05, 0.86, 1.03, 0.99, 1.0, 0.98, 1.0, 1.01, 0.98, 0.99, 1.02, 1.09])


def rng_for(seed: int, *parts) -> np.random.Generator:
    """An independent generator for one purpose: ``rng_for(seed, 'op', region, month, chunk)``."""
    key = [int(seed) & 0xFFFFFFFF]
    for p in parts:
        key.append(p if isinstance(p, int) else zlib.crc32(str(p).encode()))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))


# ---- scales -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
    name: str
    ip: dict  # region -> inpatient settlements per month (2025 level)
    roster: dict  # region -> (三级, 二级, 一级, 基层, pharmacies); 二级 excludes specialty + new campus
    partitioned: bool
    extra_adrgs: int
    heavy_ip: float = 1.0  # large: multiplier of the main region's analysis quarter
    heavy_op: float = 1.0
    chunk_rows: int = 1_500_000
    op_factor: float = 1.0  # outpatient and pharmacy volumes × this (small: fewer rows, same structure)
    planted_min: dict = field(default_factory=dict)  # rule -> minimum inpatients a month of its planted hospital
    regions: tuple = ()  # the pooling regions (RegionDef); empty: the three regions of REGIONS


# small: inpatients a month a planted hospital needs at least (the rule's minimum volumes in one quarter
# with room for chance; the upcoding rules need ~60 cases of one ADRG / ICD category a quarter)
SMALL_PLANTED_MIN = {"UPCODING_DRG": 120.0, "UPCODING_ICD": 120.0, "BASE_GROUP_TERTIARY": 50.0, "COST_DEVIATION": 40.0,
                     "CASE_GROWTH_HIGH": 25.0, "READMIT_15D": 35.0, "SPLIT_ADMISSION": 35.0,
                     "LOW_STANDARD_ADMISSION": 20.0, "OPIP_RATIO_LOW": 15.0, "QC_PASS_LOW": 15.0, "UPLOAD_LOW": 20.0,
                     "OUT_OF_CATALOG_HIGH": 15.0}
SCALES = {
    "tiny": Scale("tiny", {"350100": 90, "350200": 60, "350300": 25},
                  {"350100": (5, 7, 7, 4, 3), "350200": (4, 6, 6, 4, 3), "350300": (1, 3, 3, 3, 2)}, False, 30),
    # small (tests): ~1/2.4 of the inpatients of medium's per-hospital volumes and 0.65 × the outpatient ratio
    # (门诊住院人次比 ≈ 8), a few hundred thousand settlements; planted hospitals get at least the volume the
    # findings rules need to see their anomaly in one quarter
    "small": Scale("small", {"350100": 560, "350200": 460, "350300": 150},
                   {"350100": (6, 7, 7, 5, 6), "350200": (5, 6, 6, 5, 5), "350300": (2, 3, 3, 3, 3)}, False, 50,
                   op_factor=0.65, planted_min=SMALL_PLANTED_MIN),
    "medium": Scale("medium", {"350100": 14000, "350200": 9000, "350300": 3500},
                    {"350100": (8, 16, 14, 16, 40), "350200": (8, 12, 12, 14, 30), "350300": (2, 5, 6, 10, 12)},
                    True, 60),
    "large": Scale("large", {"350100": 14000, "350200": 9000, "350300": 3500},
                   {"350100": (8, 16, 14, 16, 40), "350200": (8, 12, 12, 14, 30), "350300": (2, 5, 6, 10, 12)},
                   True, 60, heavy_ip=25.0, heavy_op=42.0),
}
HEAVY_MONTHS = ("2026-07", "2026-08", "2026-09")


# ---- regions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegionDef:
    code: str
    name: str
    pay_method: str
    kind: str  # city | county
    rate: float  # 元 per DRG weight, or per DIP point × 1000
    specialty: str
    districts: tuple[str, ...]
    towns: tuple[str, ...]


PROV_NAME = "闽江省"
REGIONS = (
    RegionDef("350100", "东岚市", "DRG", "city", 13500.0, "口腔",
              ("云台区", "江北区", "望海区", "青石区", "枫桥区", "临川区"),
              ("白沙镇", "桐口镇", "石湾镇", "梅溪镇", "官坂镇", "竹岐乡", "潭头镇", "雁塔镇", "鸿尾乡", "大湖乡")),
    RegionDef("350200", "西岭市", "DIP", "city", 12800.0, "妇产",
              ("松涛区", "石门区", "龙泉区", "白鹭区", "翠屏区"),
              ("大坪镇", "新圩镇", "灌口镇", "莲花镇", "汀溪镇", "马巷镇", "内厝镇", "后溪镇", "古宅乡", "五显镇")),
    RegionDef("350300", "南屿县", "DRG", "county", 11000.0, "口腔",
              ("城厢片区", "东海片区"),
              ("城关镇", "大岙镇", "霞屿镇", "东峤镇", "笏石镇", "北高镇", "平海镇", "埭头镇", "山亭乡", "月塘乡")),
)
MAIN_DRG, MAIN_DIP = "350100", "350200"

# the province scale: the three regions above and nine more of 闽江省, each a copy of one of the three in
# structure (DRG/DIP, city/county, roster and volumes of the small scale), with its own code, name and data
_PROVINCE_MORE = (("350900", "北岚市", 0), ("351000", "东屿市", 1), ("351100", "临溪县", 2), ("351200", "青崖市", 0),
                  ("351300", "南岭市", 1), ("351400", "白沙县", 2), ("351500", "云江市", 0), ("351600", "石港市", 1),
                  ("351700", "梅川县", 2))
PROVINCE_REGIONS = REGIONS + tuple(
    RegionDef(code, name, REGIONS[t].pay_method, REGIONS[t].kind, REGIONS[t].rate, REGIONS[t].specialty,
              REGIONS[t].districts, REGIONS[t].towns) for code, name, t in _PROVINCE_MORE)
_SMALL = SCALES["small"]
SCALES["province"] = Scale(
    "province", {**_SMALL.ip, **{code: _SMALL.ip[REGIONS[t].code] for code, _, t in _PROVINCE_MORE}},
    {**_SMALL.roster, **{code: _SMALL.roster[REGIONS[t].code] for code, _, t in _PROVINCE_MORE}}, False,
    _SMALL.extra_adrgs, op_factor=_SMALL.op_factor, planted_min=_SMALL.planted_min, regions=PROVINCE_REGIONS)


def regions_of(scale: Scale) -> tuple:
    """The pooling regions of a scale."""
    return scale.regions or REGIONS
# insured regions outside the dataset (异地 patients): 6-digit codes and weights
OUTSIDE_ADMDVS = ("350400", "350500", "350600", "350700", "350800", "360100", "330100", "440300", "110000",
                  "320500")
OUTSIDE_W = np.array([0.18, 0.16, 0.12, 0.1, 0.08, 0.1, 0.08, 0.08, 0.05, 0.05])

LEVEL_IP_SHARE = np.array([0.52, 0.30, 0.13, 0.05])
PHARMACY_RATIO = 1.6  # pharmacy (41) settlements per inpatient settlement of the region
LEVEL_OP_RATIO = np.array([9.0, 11.0, 16.0, 55.0])
LEVEL_OWN = np.array([0.062, 0.052, 0.04, 0.03])
LEVEL_COST = np.array([1.1, 0.95, 0.82, 0.72])
LEVEL_LOS = np.array([1.0, 0.95, 0.9, 0.88])
LEVEL_P_MCC = np.array([0.12, 0.07, 0.04, 0.03])
LEVEL_P_CC = np.array([0.30, 0.27, 0.22, 0.2])
TERTIARY_BASE = 0.45  # 三级 hospitals admit fewer of the simple (基层病组) conditions
HOSP_LV_CODES = {T: ("02", "02", "03", "01"), S: ("05", "05", "06", "07"), P: ("08", "09", "08", "10"), B: ("11",)}


# ---- the anomaly catalogue ------------------------------------------------------------------------
# rule -> (level the planted hospital has, regions where it applies)
RULES = {
    "OPIP_RATIO_LOW": (S, ("DRG", "DIP")),
    "OUT_OF_CATALOG_HIGH": (P, ("DRG", "DIP")),
    "CASE_GROWTH_HIGH": (S, ("DRG", "DIP")),
    "BASE_GROUP_TERTIARY": (T, ("DRG", "DIP")),
    "COST_DEVIATION": (S, ("DRG", "DIP")),
    "UPCODING_DRG": (T, ("DRG",)),
    "UPCODING_ICD": (T, ("DRG", "DIP")),
    "READMIT_15D": (S, ("DRG", "DIP")),
    "SPLIT_ADMISSION": (P, ("DRG", "DIP")),
    "LOW_STANDARD_ADMISSION": (P, ("DRG", "DIP")),
    "GROUP_ADMISSION": (P, ("DRG", "DIP")),
    "IMPOSSIBLE_TRAVEL": (B, ("DRG", "DIP")),
    "QC_PASS_LOW": (S, ("DRG", "DIP")),
    "UPLOAD_LOW": (T, ("DRG", "DIP")),
}
BY_VOLUME = ("UPCODING_DRG", "UPCODING_ICD", "COST_DEVIATION", "GROUP_ADMISSION")
UPCODING_ADRG = "EJ1"
UPCODING_ICD_CATEGORY = "I63"


@dataclass
class Institutions:
    """All institutions of the dataset as parallel arrays (index = global institution number)."""
    df: pd.DataFrame  # the fixmedins table (contract columns)
    region: np.ndarray  # region index 0..2
    level: np.ndarray  # 0..3 for hospitals, 4 for pharmacies
    is_pharm: np.ndarray
    kind: np.ndarray  # 'general' | 'specialty' | 'new_campus' | 'pharmacy'
    size: np.ndarray  # inpatient per month at full operation (pharmacies: settlements per month)
    op_ratio: np.ndarray
    own: np.ndarray  # self-pay share (fulamt_ownpay / medfee)
    cost: np.ndarray  # cost factor (× level cost)
    los: np.ndarray
    growth: np.ndarray  # annual volume growth
    qc: np.ndarray  # settlement-list QC pass probability
    upload: np.ndarray  # upload probability
    grouped: np.ndarray  # grp_stas = 1 probability
    readmit: np.ndarray  # share of discharges followed by a (natural) readmission
    drg_dip: np.ndarray  # drg_dip_flag == '1'
    mix: np.ndarray  # [n, n_conditions] admission probabilities (rows of pharmacies are 0)
    codes: np.ndarray = None  # fixmedins_code (object array)


POOLS = {"any": 0, "old": 1, "F": 2, "Frep": 3, "M": 4, "op": 5, "chronic": 6, "adult": 7}


@dataclass
class Persons:
    """Insured persons of one region (local pool) or the 异地 visitors a region receives."""
    gid0: int  # global id of person 0 (psn_no = 'PSN' + 10 digits)
    n: int
    gend: np.ndarray  # 1 男 2 女
    birth: np.ndarray  # birth year
    insutype: np.ndarray  # 0 = 310, 1 = 390
    assist: np.ndarray  # 医疗救助对象
    admdvs: np.ndarray  # index into World.admdvs_codes
    pools: dict = field(default_factory=dict)  # name -> (index array, cumulative weights)

    def draw(self, pool, u: np.ndarray) -> np.ndarray:
        idx, cum = self.pools[POOLS[pool] if isinstance(pool, str) else int(pool)]
        if cum is None:  # uniform
            return idx[np.minimum((u * len(idx)).astype(np.int64), len(idx) - 1)]
        return idx[np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(idx) - 1)]


@dataclass
class Planted:
    rule_id: str
    region: int
    hosp: int  # global institution index
    subject: str = ""
    params: dict = field(default_factory=dict)


@dataclass
class World:
    seed: int
    scale: Scale
    clean: bool
    regions: tuple[RegionDef, ...]
    inst: Institutions
    persons: list[Persons]  # local pools, one per region
    visitors: list[Persons]  # outside-dataset visitors, one per treated region
    admdvs_codes: tuple[str, ...]
    plan: list[Planted]
    drg_catalog: pd.DataFrame
    dip_catalog: pd.DataFrame
    dip_groups: pd.DataFrame  # per (condition, prefix) with dip_code
    cache: dict = field(default_factory=dict)  # arrow dictionaries and other derived look-ups

    def region_index(self, code: str) -> int:
        return [r.code for r in self.regions].index(code)

    def planted(self, rule: str, region: int) -> Planted | None:
        for p in self.plan:
            if p.rule_id == rule and p.region == region:
                return p
        return None

    def planted_at(self, hosp: int) -> list[Planted]:
        return [p for p in self.plan if p.hosp == hosp]


# ---- names --------------------------------------------------------------------------------------
_CN = "一二三四五六七八九十"
_PRIVATE = ("仁和", "康华", "博爱", "协和", "华夏", "安康", "瑞慈", "同济", "济民", "惠仁", "普仁", "德康", "益民", "长庚",
            "圣爱", "爱心", "新华", "广济", "永和", "宏康")
_BRANDS = ("百信", "康宁", "仁心", "惠民", "一心堂", "益丰", "老百姓", "国大", "天和", "海王")


def _cn(n: int) -> str:
    return _CN[n - 1] if n <= 10 else f"{_CN[n // 10 - 1] if n // 10 > 1 else ''}十{_CN[n % 10 - 1] if n % 10 else ''}"


def _unique_names(rows: list[dict]) -> None:
    """Institution names are unique within a region, as on the platform: a repeated 镇卫生院 or 中心医院
    (towns are reused when a region has more institutions than towns) becomes 第二…, 第三…."""
    seen: dict[str, int] = {}
    for r in rows:
        name = r["name"]
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            for tail in ("社区卫生服务中心", "中心医院", "卫生院", "医院"):
                if name.endswith(tail):
                    r["name"] = f"{name[:-len(tail)]}第{_cn(seen[name])}{tail}"
                    break


def _spread(rng: np.random.Generator, n: int, half_width: float) -> np.ndarray:
    """``n`` multiplicative factors evenly spread over exp(±half_width), in random order.

    Evenly spread rather than random so that no clean hospital is an accidental outlier among its
    peers (robust peer comparisons must not flag it).
    """
    if n <= 1:
        return np.ones(n)
    return np.exp(rng.permutation(np.linspace(-half_width, half_width, n)))


def _lin(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    if n <= 1:
        return np.full(n, (lo + hi) / 2)
    return rng.permutation(np.linspace(lo, hi, n))


# ---- building the world -------------------------------------------------------------------------
def build_institutions(seed: int, scale: Scale) -> tuple[Institutions, dict]:
    """Hospitals (by level, incl. one specialty hospital and one new campus per region) and pharmacies."""
    rows, attrs = [], []
    for ri, reg in enumerate(regions_of(scale)):
        rng = rng_for(seed, "inst", reg.code)
        nT, nS, nP, nB, nR = scale.roster[reg.code]
        vol = scale.ip[reg.code]
        city = reg.name
        seq = 0
        hosp_rows = []
        # tertiary
        tnames = [f"{city}第一医院", f"{city}中医院", f"闽江医科大学附属{city}医院", f"{city}第二医院", f"{city}中心医院",
                  f"{city}人民医院", f"{city}第三医院", f"{city}中西医结合医院", f"{city}第四医院", f"{city}第五医院"]
        sizes = _spread(rng, nT, 0.45)
        for i in range(nT):
            name = tnames[i] if i < len(tnames) else f"{city}第{_cn(i + 1)}医院"
            mt = "中医医院" if "中医" in name or "中西医" in name else "综合医院"
            hosp_rows.append(dict(level=T, name=name, medins_type=mt, ownership="公立", kind="general",
                                  size=LEVEL_IP_SHARE[T] * vol / nT * sizes[i]))
        # secondary (+ specialty + new campus)
        sizes = _spread(rng, nS, 0.45)
        priv = set(rng.choice(nS, size=max(1, nS // 4), replace=False).tolist()) if nS > 2 else set()
        n_gen = nS + 1.3  # the specialty (0.5) and the campus (0.8) share the level's volume
        for i in range(nS):
            d = reg.districts[i % len(reg.districts)]
            if i in priv:
                name, own = f"{city}{_PRIVATE[(i + ri * 7) % len(_PRIVATE)]}医院", "民营"
            elif i < len(reg.districts):
                name, own = f"{city}{d}人民医院", "公立"
            else:
                name, own = f"{city}{d}中医院" if i < 2 * len(reg.districts) else f"{city}{d}第{_cn(i // len(reg.districts))}医院", "公立"
            mt = "中医医院" if "中医" in name else "综合医院"
            hosp_rows.append(dict(level=S, name=name, medins_type=mt, ownership=own, kind="general",
                                  size=LEVEL_IP_SHARE[S] * vol / n_gen * sizes[i]))
        spec_name = {"口腔": f"{city}美维口腔医院", "妇产": f"{city}玛丽妇产医院"}[reg.specialty]
        hosp_rows.append(dict(level=S, name=spec_name, medins_type="专科医院", ownership="民营", kind="specialty",
                              specialty=reg.specialty, size=LEVEL_IP_SHARE[S] * vol / n_gen * 0.5))
        hosp_rows.append(dict(level=S, name=f"{city}{reg.districts[-1]}人民医院新城院区", medins_type="综合医院",
                              ownership="公立", kind="new_campus",
                              size=LEVEL_IP_SHARE[S] * vol / n_gen * 0.8))
        # primary
        sizes = _spread(rng, nP, 0.45)
        for i in range(nP):
            if i % 2 == 0:
                name, own = f"{city}{reg.towns[i % len(reg.towns)]}中心医院", "公立"
            else:
                name, own = f"{city}{reg.districts[i % len(reg.districts)]}{_PRIVATE[(3 * i + ri * 5 + 4) % len(_PRIVATE)]}医院", "民营"
            hosp_rows.append(dict(level=P, name=name, medins_type="综合医院", ownership=own, kind="general",
                                  size=LEVEL_IP_SHARE[P] * vol / nP * sizes[i]))
        # 基层
        sizes = _spread(rng, nB, 0.45)
        for i in range(nB):
            if reg.kind == "city" and i % 2 == 0:
                d = reg.districts[(i // 2) % len(reg.districts)]
                name, mt = f"{city}{d}{'东西南北中'[(i // 2) % 5]}街道社区卫生服务中心", "社区卫生服务中心"
            else:
                name, mt = f"{city}{reg.towns[(i + 3) % len(reg.towns)]}卫生院", "乡镇卫生院"
            hosp_rows.append(dict(level=B, name=name, medins_type=mt, ownership="公立", kind="general",
                                  size=LEVEL_IP_SHARE[B] * vol / nB * sizes[i]))
        _unique_names(hosp_rows)
        # order: by level, shuffled within a level so codes do not reveal roles
        order = []
        for lv in (T, S, P, B):
            idx = [i for i, h in enumerate(hosp_rows) if h["level"] == lv]
            order += [idx[j] for j in rng.permutation(len(idx))]
        for i in order:
            h = hosp_rows[i]
            seq += 1
            h["code"] = f"H{reg.code}{seq:03d}"
            h["region"] = ri
            rows.append(h)
        # pharmacies
        sizes = _spread(rng, nR, 0.5)
        for i in range(nR):
            rows.append(dict(level=4, name=f"{city}{_BRANDS[(i + ri) % len(_BRANDS)]}大药房（{reg.districts[i % len(reg.districts)]}"
                                           f"{'一二三四五六七八九十'[i // len(reg.districts) % 10]}店）",
                             medins_type="定点零售药店", ownership="民营", kind="pharmacy",
                             size=PHARMACY_RATIO * vol / nR * sizes[i], code=f"P{reg.code}{i + 1:03d}", region=ri))
        attrs.append(rng)
    n = len(rows)
    region = np.array([r["region"] for r in rows])
    level = np.array([r["level"] for r in rows])
    kind = np.array([r["kind"] for r in rows], dtype=object)
    size = np.array([r["size"] for r in rows], dtype=float)
    is_pharm = level == 4
    op_ratio = np.zeros(n)
    own = np.zeros(n)
    cost = np.ones(n)
    los = np.ones(n)
    growth = np.zeros(n)
    qc = np.ones(n)
    upload = np.ones(n)
    grouped = np.ones(n)
    readmit = np.zeros(n)
    beds = np.zeros(n, dtype=np.int64)
    begn = []
    lv_code = []
    for ri, reg in enumerate(regions_of(scale)):
        rng = rng_for(seed, "behaviour", reg.code)
        for lv in (T, S, P, B):
            idx = np.flatnonzero((region == ri) & (level == lv))
            k = len(idx)
            op_ratio[idx] = LEVEL_OP_RATIO[lv] * _spread(rng, k, 0.1)
            own[idx] = LEVEL_OWN[lv] * _spread(rng, k, 0.12)
            cost[idx] = _spread(rng, k, 0.06)
            los[idx] = _spread(rng, k, 0.06)
            growth[idx] = _lin(rng, k, 0.02, 0.06)
            qc[idx] = _lin(rng, k, 0.97, 0.99)
            upload[idx] = _lin(rng, k, 0.985, 1.0)
            grouped[idx] = _lin(rng, k, 0.975, 0.995)
            readmit[idx] = _lin(rng, k, 0.025, 0.035)
        idx = np.flatnonzero((region == ri) & is_pharm)
        op_ratio[idx] = 0.0
        own[idx] = 0.12 * _spread(rng, len(idx), 0.15)
        growth[idx] = _lin(rng, len(idx), 0.0, 0.08)
    for i, r in enumerate(rows):
        rng = rng_for(seed, "inst-row", r["code"])
        lv = r["level"]
        if lv == 4:
            lv_code.append("11")
            begn.append(date(2010 + int(rng.integers(0, 13)), int(rng.integers(1, 13)), int(rng.integers(1, 28))))
            continue
        codes = HOSP_LV_CODES[lv]
        lv_code.append(codes[int(rng.integers(0, len(codes)))] if r["kind"] == "general" else
                       ("06" if r["kind"] == "specialty" else "05"))
        if r["kind"] == "new_campus":
            begn.append(date(2025, 11, 1))
        else:
            begn.append(date(1998 + int(rng.integers(0, 21)), int(rng.integers(1, 13)), int(rng.integers(1, 28))))
        bed = r["size"] * 0.42 * float(np.exp(rng.normal(0, 0.08)))
        beds[i] = max(20 if lv == B else 30, int(round(bed / 5.0)) * 5) if lv != B else max(20, int(round(bed * 3 / 5.0)) * 5)
        if r["kind"] == "specialty":
            op_ratio[i] = 40.0 if r.get("specialty") == "口腔" else 14.0
            own[i] = 0.31
            qc[i], upload[i], grouped[i], readmit[i] = 0.98, 0.995, 0.985, 0.02
            growth[i] = 0.04
        if r["kind"] == "new_campus":
            op_ratio[i] = LEVEL_OP_RATIO[S]
            own[i] = LEVEL_OWN[S]
            qc[i], upload[i], grouped[i], readmit[i] = 0.975, 0.995, 0.985, 0.03
            growth[i] = 0.0
    drg_dip = (~is_pharm) & (level != B)
    df = pd.DataFrame({
        "fixmedins_code": [r["code"] for r in rows],
        "fixmedins_name": [r["name"] for r in rows],
        "poolarea_no": [regions_of(scale)[r["region"]].code for r in rows],
        "fixmedins_type": np.where(is_pharm, "2", "1"),
        "hosp_lv": lv_code,
        "medins_type": [r["medins_type"] for r in rows],
        "ownership": [r["ownership"] for r in rows],
        "specialty": [r.get("specialty", "") for r in rows],
        "beds": beds,
        "drg_dip_flag": np.where(drg_dip, "1", "0"),
        "begn_date": [d.isoformat() for d in begn],
    })
    inst = Institutions(df=df, region=region, level=level, is_pharm=is_pharm, kind=kind, size=size,
                        op_ratio=op_ratio, own=own, cost=cost, los=los, growth=growth, qc=qc, upload=upload,
                        grouped=grouped, readmit=readmit, drg_dip=drg_dip,
                        mix=np.zeros((n, len(CONDITIONS))), codes=np.array([r["code"] for r in rows], dtype=object))
    return inst, {}


def base_mix(level: int) -> np.ndarray:
    """Admission probabilities of the conditions at a hospital level (general hospitals)."""
    w = np.array([c.freq * c.aff[level] * (0.4 if c.kind == "dental" else 1.0)
                  * (TERTIARY_BASE if level == T and "b" in c.flags else 1.0) for c in CONDITIONS], dtype=float)
    return w / w.sum()


def specialty_mix(specialty: str) -> np.ndarray:
    w = np.zeros(len(CONDITIONS))
    kind = {"口腔": "dental", "妇产": "obstetric"}[specialty]
    for i, c in enumerate(CONDITIONS):
        if c.kind == kind:
            w[i] = c.freq * (3.0 if c.key in ("vaginal_delivery", "caesarean", "dental") else 1.0)
    return w / w.sum()


def build_persons(seed: int, scale: Scale) -> tuple[list[Persons], list[Persons], tuple[str, ...]]:
    """Local insured pools (≈ 月末参保人数) and the 异地 visitor pools, with draw sub-pools."""
    regions = regions_of(scale)
    step = 10 ** 9 if len(regions) <= 4 else 10 ** 8  # psn_no keeps its 10 digits (province: < 10⁸ persons a region)
    admdvs = tuple(r.code for r in regions) + OUTSIDE_ADMDVS
    local, visitors = [], []
    for ri, reg in enumerate(regions):
        n = int(round(scale.ip[reg.code] * 12 / 0.165 * 0.93))
        local.append(_pool(rng_for(seed, "persons", reg.code), (ri + 1) * step, n,
                           np.full(n, ri), 0.62 if reg.kind == "city" else 0.4))
        nv = max(200, n // 25)
        rng = rng_for(seed, "visitors", reg.code)
        adm = len(regions) + rng.choice(len(OUTSIDE_ADMDVS), size=nv, p=OUTSIDE_W / OUTSIDE_W.sum())
        # (person ids: locals from 10⁹, visitors after every region's locals)
        visitors.append(_pool(rng, (ri + 1 + max(4, len(regions))) * step, nv, adm, 0.55))
    return local, visitors, admdvs


def _pool(rng: np.random.Generator, gid0: int, n: int, admdvs: np.ndarray, p310_adult: float) -> Persons:
    # age distribution (2026): 0-14 15 %, 15-44 40 %, 45-64 28 %, 65+ 17 %
    band = rng.choice(4, size=n, p=[0.15, 0.40, 0.28, 0.17])
    lo = np.array([0, 15, 45, 65])[band]
    hi = np.array([15, 45, 65, 95])[band]
    age26 = lo + (rng.random(n) * (hi - lo)).astype(np.int64)
    birth = 2026 - age26
    gend = np.where(rng.random(n) < 0.5, 1, 2).astype(np.int8)
    p310 = np.where(age26 < 18, 0.0, np.where(age26 >= 60, p310_adult * 0.6, p310_adult))
    insutype = np.where(rng.random(n) < p310, 0, 1).astype(np.int8)
    assist = (insutype == 1) & (rng.random(n) < 0.05)
    pers = Persons(gid0=gid0, n=n, gend=gend, birth=birth, insutype=insutype, assist=assist, admdvs=admdvs)
    allidx = np.arange(n)
    w_ip = np.select([age26 < 1, age26 < 15, age26 < 45, age26 < 65], [1.0, 0.45, 0.5, 1.2], 3.0)
    w_old = np.select([age26 < 40, age26 < 60], [0.05, 1.0], 3.0)
    female = gend == 2

    def pool(mask, w=None):
        idx = allidx[mask]
        if len(idx) == 0:
            idx = allidx[:1]
        return idx, (None if w is None else np.cumsum(w[idx]))

    pers.pools = {POOLS[k]: v for k, v in {
        "any": pool(age26 >= 0, w_ip),
        "old": pool(age26 >= 18, w_old),
        "F": pool(female & (age26 >= 18), w_ip),
        "Frep": pool(female & (age26 >= 21) & (age26 <= 42)),
        "M": pool((~female) & (age26 >= 50), w_old),
        "op": pool(age26 >= 0),
        "chronic": pool((age26 >= 45) & (rng.random(n) < 0.25), w_old),
        "adult": pool((age26 >= 25) & (age26 <= 65)),
    }.items()}
    return pers


def assign_plan(seed: int, inst: Institutions, clean: bool) -> list[Planted]:
    """Pick the planted hospitals: distinct general hospitals of the rule's level in the main DRG
    region and the DIP region (never the specialty hospital or the new campus)."""
    if clean:
        return []
    plan = []
    for ri, reg in enumerate(REGIONS):
        if reg.code not in (MAIN_DRG, MAIN_DIP):
            continue
        rng = rng_for(seed, "plan", reg.code)
        used: set[int] = set()
        for rule, (lv, methods) in RULES.items():
            if reg.pay_method not in methods:
                continue
            cand = np.flatnonzero((inst.region == ri) & (inst.level == lv) & (inst.kind == "general"))
            free = [int(c) for c in cand if int(c) not in used]
            pool = free or [int(c) for c in cand]
            if rule in BY_VOLUME:  # rules about one group's case mix need the volume of a large hospital
                h = max(pool, key=lambda c: (inst.size[c], -c))
            else:
                h = int(pool[int(rng.integers(0, len(pool)))])
            used.add(h)
            plan.append(Planted(rule, ri, h))
    return plan


def plant_volumes(inst: Institutions, plan: list[Planted], scale: Scale) -> None:
    """Give each planted hospital at least ``scale.planted_min[rule]`` inpatients a month (small scale:
    a rule needs some dozens of the hospital's cases in one quarter to tell its anomaly from chance,
    the two upcoding rules some dozens within one ADRG / ICD category); beds follow."""
    for p in plan:
        h, floor = p.hosp, float(scale.planted_min.get(p.rule_id, 0.0))
        if floor <= 0 or inst.size[h] >= floor:
            continue
        f = floor / inst.size[h]
        inst.size[h] = floor
        beds = int(inst.df.at[h, "beds"])
        inst.df.at[h, "beds"] = max(beds, int(round(beds * f / 5.0)) * 5)
        p.params["volume_raised_to"] = f"{floor:g} 住院人次/月"
