"""Clinical building blocks of the synthetic dataset (see docs/synth.md).

A *condition* is what a simulated inpatient is admitted for: an ADRG of CHS-DRG 2.0, the ICD-10
医保版 2.0 subcategories its principal diagnosis is drawn from (real leaf codes from
``resources/reference/icd10_yibao_v2.csv``), the ICD-9-CM-3 procedure of surgical conditions, a base
relative weight, an average length of stay, a relative frequency and how often each hospital level
treats it. DRG regions group a case into ``ADRG + severity suffix`` (only suffixes that exist in the
national list ``drg.csv``); DIP regions group it into a local ``<subcategory>-<nnnn>`` code
(diagnosis × treatment), as DIP libraries do.

Everything here is small (≈ 80 conditions, a few hundred groups) and built once per dataset.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from yibao.data import reference

# hospital level groups used throughout the generator (index into affinity tuples)
LEVELS = ("三级", "二级", "一级", "基层")
T, S, P, B = 0, 1, 2, 3

GEN = (1.0, 1.0, 1.0, 0.8)
BASE = (0.8, 1.1, 1.5, 2.0)
SURG = (1.0, 0.9, 0.4, 0.03)
HIGH = (1.0, 0.4, 0.04, 0.0)
TERT = (1.0, 0.12, 0.0, 0.0)

# severity: 0 = 伴严重合并症或并发症 (MCC, suffix 1), 1 = 伴一般合并症 (CC, 3), 2 = 不伴 (5)
SEV_COST = np.array([1.6, 1.25, 1.0])
SEV_LOS = np.array([1.45, 1.15, 0.92])
SEV_WEIGHT = {"1": 1.6, "3": 1.25, "5": 1.0}


@dataclass(frozen=True)
class Condition:
    key: str
    adrg: str
    icd: tuple[tuple[str, float], ...]  # (ICD prefix: category or subcategory, weight)
    ops: tuple[tuple[str, str], ...]  # (ICD-9-CM-3 医保版 code, name); empty = medical
    rw: float  # base relative weight (不伴合并症 subgroup)
    alos: float  # average stay, days
    freq: float  # relative frequency (per mille of a general hospital's cases)
    aff: tuple[float, float, float, float]  # frequency multiplier by level 三级/二级/一级/基层
    flags: str = ""  # b = 基层病组 candidate, l = typical of 低标入院 (low weight, short stay)
    demo: str = "any"  # any | old | F (adult women) | Frep (women 20-42) | M (men 50+)
    med_type: str = "21"
    kind: str = ""  # '' | chemo | dental | obstetric (specialty mixes)


C = Condition
CONDITIONS: tuple[Condition, ...] = (
    # ---- nervous system
    C("stroke", "BR1", (("I63.9", 60), ("I63.8", 12), ("I63.5", 10), ("I63.3", 3), ("I63.0", 3), ("I63.1", 2),
                        ("I63.2", 4), ("I63.4", 4), ("I63.6", 2)), (), 1.05, 11, 48, (1.0, 1.15, 0.7, 0.25), "", "old"),
    C("tia", "BR2", (("G45.9", 5), ("I67.2", 3), ("I65.2", 2)), (), 0.72, 8, 16, (1.0, 1.1, 1.0, 0.6), "", "old"),
    C("headache", "BV3", (("G43.9", 4), ("G44.2", 6)), (), 0.52, 5, 5, BASE, "l"),
    C("facial", "BX2", (("G51.0", 6), ("G50.0", 4)), (), 0.7, 10, 6, GEN),
    C("vertigo", "DS1", (("H81.1", 4), ("H81.3", 3), ("H81.0", 3)), (), 0.55, 6, 12, BASE, "l", "old"),
    C("neuro_interv", "BE2", (("I67.1", 1),), (("39.7200", "头颈部血管内栓塞术"),), 4.2, 9, 1.5, TERT),
    # ---- ENT / mouth
    C("uri", "DT1", (("J06.9", 5), ("J02.9", 2.5), ("J03.9", 2.5)), (), 0.45, 5, 14, BASE, "bl"),
    C("tonsil", "DG2", (("J35.0", 5), ("J35.3", 5)), (("28.2x00", "扁桃体切除术"), ("28.3x00", "扁桃体伴腺样体切除术")),
      0.7, 4, 3, (1.0, 0.8, 0.2, 0.0)),
    C("sinus", "DF2", (("J32.9", 6), ("J33.9", 4)), (("22.6300", "筛窦切除术"), ("21.3100", "鼻内病损切除术")),
      0.85, 5, 3, (1.0, 0.7, 0.1, 0.0)),
    C("dental", "DW1", (("K04.0", 3), ("K05.3", 3), ("K08.8", 2), ("K12.2", 2)), (), 0.5, 4, 0.8, GEN, "", "any",
      "21", "dental"),
    C("oral_cyst", "DV1", (("K09.0", 6), ("D10.3", 4)), (), 0.6, 5, 0.4, GEN, "", "any", "21", "dental"),
    C("oral_tumour", "DC4", (("D11.0", 6), ("D10.3", 4)), (("26.2900", "唾液腺病损切除术"),), 1.2, 7, 0.5, HIGH, "",
      "any", "21", "dental"),
    # ---- respiratory
    C("pneumonia", "ES3", (("J18.9", 55), ("J18.0", 15), ("J15.9", 10), ("J22", 20)), (), 0.85, 8, 70,
      (1.0, 1.2, 1.4, 1.5), "b"),
    C("copd", "ET2", (("J44.1", 6), ("J44.0", 2.5), ("J44.9", 1.5)), (), 0.95, 9, 32, (1.0, 1.2, 1.3, 1.2), "b", "old"),
    C("asthma", "EX1", (("J45.9", 7), ("J45.0", 3)), (), 0.7, 7, 7, BASE, "b"),
    C("bronchitis", "EX2", (("J20.9", 8), ("J40", 2)), (), 0.5, 6, 16, BASE, "bl"),
    C("lung_cancer", "ER1", (("C34.9", 5), ("C34.1", 3), ("C34.3", 2)), (), 1.25, 10, 10, (1.0, 0.4, 0.05, 0.0), "",
      "old"),
    C("effusion", "EW1", (("J90", 1),), (), 0.95, 9, 4, GEN, "", "old"),
    C("thoracic_other", "EJ1", (("J93.1", 35), ("J86.9", 20), ("J90", 25), ("J98.4", 20)),
      (("34.0600", "胸腔镜下胸膜腔引流术"), ("34.5100", "肺剥脱术"), ("34.2100", "经胸膜胸腔镜检查")),
      1.5, 11, 14, (1.0, 0.4, 0.03, 0.0)),
    C("lobectomy", "EB1", (("C34.1", 6), ("C34.3", 4)), (("32.4100", "胸腔镜下肺叶切除术"),), 3.2, 12, 4, TERT, "", "old"),
    # ---- circulatory
    C("angina", "FR4", (("I20.0", 4), ("I20.9", 4), ("I20.8", 2)), (), 0.8, 7, 25, (1.0, 1.1, 0.9, 0.5), "", "old"),
    C("chd", "FR5", (("I25.1", 1),), (), 0.7, 6, 14, BASE, "b", "old"),
    C("heart_failure", "FR2", (("I50.0", 4), ("I50.9", 4), ("I11.0", 2)), (), 1.1, 9, 20, (1.0, 1.1, 0.9, 0.5), "",
      "old"),
    C("hypertension", "FV2", (("I10", 8), ("I11.9", 2)), (), 0.6, 7, 16, BASE, "bl", "old"),
    C("arrhythmia", "FU2", (("I48", 5), ("I49.9", 3), ("I47.1", 2)), (), 0.75, 6, 10, GEN, "", "old"),
    C("syncope", "FV3", (("R55", 1),), (), 0.6, 5, 4, BASE, "l", "old"),
    C("veins", "FW2", (("I80.2", 5), ("I83.9", 5)), (), 0.8, 8, 5, GEN),
    C("ami", "FR1", (("I21.9", 5), ("I21.4", 5)), (), 1.6, 9, 5, (1.0, 0.6, 0.1, 0.0), "", "old"),
    C("pci", "FM3", (("I25.1", 4), ("I20.0", 4), ("I21.4", 2)), (("36.0700", "药物洗脱冠状动脉支架置入术"),), 2.6, 6, 12,
      (1.0, 0.3, 0.0, 0.0), "", "old"),
    C("angiography", "FM5", (("I25.1", 6), ("I20.9", 4)), (("88.5600", "冠状动脉造影术（双导管）"),), 0.9, 4, 8,
      (1.0, 0.6, 0.05, 0.0), "", "old"),
    C("ablation", "FL2", (("I48", 1),), (("37.3400", "心脏病损射频消融术"),), 3.8, 6, 2, TERT, "", "old"),
    C("pacemaker", "FK4", (("I49.5", 5), ("I44.2", 5)), (("37.8300", "双腔永久起搏器置入术"),), 3.0, 8, 2, TERT, "",
      "old"),
    # ---- digestive
    C("gastroenteritis", "GW1", (("K52.9", 45), ("A09.0", 20), ("K29.7", 20), ("K21.0", 15)), (), 0.5, 5, 22, BASE,
      "bl"),
    C("obstruction", "GV1", (("K56.7", 5), ("R10.4", 5)), (), 0.7, 7, 10, GEN),
    C("gi_bleed", "GS1", (("K92.2", 6), ("K92.1", 2), ("K92.0", 2)), (), 0.9, 7, 7, GEN, "", "old"),
    C("ulcer", "GU2", (("K25.9", 5), ("K26.9", 5)), (), 0.7, 7, 6, BASE),
    C("gi_cancer", "GR1", (("C16.9", 4), ("C18.9", 3), ("C20", 3)), (), 1.2, 10, 8, (1.0, 0.5, 0.05, 0.0), "", "old"),
    C("gastrectomy", "GB2", (("C16.9", 1),), (("43.7x00", "胃部分切除伴胃空肠吻合术"),), 3.5, 16, 2, TERT, "", "old"),
    C("colectomy", "GB3", (("C18.9", 6), ("C18.2", 4)), (("17.3300", "腹腔镜下右半结肠切除术"),), 3.2, 15, 2, TERT, "",
      "old"),
    C("appendix", "GE2", (("K35.8", 6), ("K35.3", 2), ("K36", 2)),
      (("47.0100", "腹腔镜下阑尾切除术"), ("47.0900", "阑尾切除术")), 0.95, 6, 10, SURG, "b"),
    C("hernia", "GF3", (("K40.9", 9), ("K40.2", 1)),
      (("53.0400", "单侧腹股沟斜疝无张力修补术"), ("17.1200", "腹腔镜下单侧腹股沟斜疝无张力修补术")), 0.9, 5, 8, SURG, "b", "M"),
    C("haemorrhoids", "GG1", (("K64", 1),), (("49.4600", "痔切除术"),), 0.6, 5, 7, SURG, "b"),
    C("colonoscopy", "GK3", (("K63.5", 6), ("D12.6", 4)), (("45.4200", "内镜下结肠息肉切除术"),), 0.6, 3, 10,
      (1.0, 0.9, 0.3, 0.0)),
    C("gastroscopy", "GK2", (("K31.7", 6), ("D13.1", 4)), (("43.4100", "内镜下胃病损切除术"),), 0.65, 3, 4,
      (1.0, 0.8, 0.2, 0.0)),
    # ---- hepatobiliary
    C("cholecystitis", "HU1", (("K81.0", 4), ("K80.1", 3), ("K83.0", 3)), (), 0.85, 7, 9, GEN),
    C("cholecystectomy", "HC2", (("K80.1", 5), ("K80.2", 3), ("K81.1", 2)), (("51.2300", "腹腔镜下胆囊切除术"),), 1.15, 6,
      9, SURG),
    C("pancreatitis", "HT2", (("K85.9", 1),), (), 1.0, 9, 5, GEN),
    C("cirrhosis", "HS2", (("K74.6", 7), ("K70.3", 3)), (), 1.0, 10, 5, GEN, "", "old"),
    C("liver_cancer", "HR1", (("C22.0", 1),), (), 1.3, 10, 4, (1.0, 0.4, 0.0, 0.0), "", "old"),
    # ---- musculoskeletal
    C("back", "IU2", (("M51.2", 4), ("M47.8", 2), ("M54.5", 2), ("M48.0", 2)), (), 0.7, 9, 25, (1.0, 1.2, 1.4, 1.3),
      "bl"),
    C("arthrosis", "IU1", (("M17.9", 6), ("M16.9", 2), ("M19.9", 2)), (), 0.7, 9, 8, GEN, "", "old"),
    C("arthroplasty", "IC2", (("M16.9", 3), ("M17.9", 4), ("S72.0", 3)),
      (("81.5100", "全髋关节置换术"), ("81.5400", "全膝关节置换术")), 3.2, 12, 5, (1.0, 0.5, 0.02, 0.0), "", "old"),
    C("femur_orif", "IE2", (("S72.0", 4), ("S72.1", 4), ("S72.3", 2)), (("79.3500", "股骨骨折切开复位内固定术"),), 2.2,
      13, 5, (1.0, 0.7, 0.1, 0.0), "", "old"),
    C("arm_orif", "IE5", (("S52.5", 5), ("S42.2", 3), ("S52.6", 2)),
      (("79.3200", "桡骨和尺骨骨折切开复位内固定术"), ("79.3100", "肱骨骨折切开复位内固定术")), 1.3, 8, 6, SURG),
    C("implant_removal", "IF1", (("Z47.0", 1),), (("78.6500", "股骨内固定装置去除术"), ("78.6300", "桡骨和尺骨内固定装置去除术")),
      0.7, 4, 4, SURG, "b"),
    C("discectomy", "IB3", (("M51.2", 6), ("M48.0", 4)), (("80.5100", "椎间盘切除术"),), 1.8, 10, 4,
      (1.0, 0.5, 0.05, 0.0)),
    C("contusion", "IS2", (("S20.2", 4), ("S30.0", 4), ("S80.0", 2)), (), 0.55, 6, 5, BASE, "l"),
    C("femur_fracture", "IR2", (("S72.0", 6), ("S72.1", 4)), (), 1.0, 12, 3, GEN, "", "old"),
    # ---- endocrine, kidney, urology
    C("diabetes", "KS1", (("E11.9", 4), ("E11.6", 2), ("E11.4", 2), ("E11.2", 2)), (), 0.8, 9, 20, (1.0, 1.1, 1.3, 1.3),
      "b", "old"),
    C("metabolic", "KT1", (("E87.6", 4), ("E05.9", 3), ("E86", 3)), (), 0.7, 7, 4, GEN),
    C("thyroid", "KD2", (("E04.1", 5), ("D34", 5)), (("06.3900", "甲状腺部分切除术"), ("06.2x00", "单侧甲状腺叶切除术")),
      1.1, 6, 4, (1.0, 0.6, 0.05, 0.0), "", "F"),
    C("uti", "LU1", (("N39.0", 7), ("N10", 3)), (), 0.65, 7, 9, BASE, "b"),
    C("stones", "LX1", (("N20.0", 4), ("N20.1", 4), ("N13.2", 2)), (), 0.6, 5, 8, BASE, "b"),
    C("pcnl", "LB1", (("N20.0", 7), ("N20.2", 3)), (("55.0400", "经皮肾镜碎石取石术"),), 1.6, 8, 3, (1.0, 0.5, 0.05, 0.0)),
    C("renal_failure", "LR1", (("N18.5", 4), ("N18.9", 3), ("N17.9", 3)), (), 1.1, 10, 5, GEN, "", "old"),
    C("prostate", "MB1", (("N40", 1),), (("60.2900", "经尿道前列腺电切术"),), 1.1, 8, 4, (1.0, 0.7, 0.1, 0.0), "", "M"),
    # ---- obstetrics, gynaecology, breast
    C("vaginal_delivery", "OR1", (("O80", 1),), (), 0.55, 3, 8, (1.0, 1.0, 0.3, 0.0), "b", "Frep", "52", "obstetric"),
    C("caesarean", "OB1", (("O34.2", 5), ("O32.1", 2), ("O82.9", 3)), (("74.1x00", "子宫下段剖宫产术"),), 0.95, 5, 6,
      (1.0, 1.0, 0.2, 0.0), "", "Frep", "52", "obstetric"),
    C("abortion", "OF2", (("O02.1", 6), ("O03.9", 4)), (("69.5100", "负压吸宫术"),), 0.35, 2, 3, (1.0, 1.0, 0.5, 0.0),
      "l", "Frep", "52", "obstetric"),
    C("pregnancy", "OZ1", (("O21.0", 3), ("O47.0", 4), ("O36.5", 3)), (), 0.45, 4, 3, (1.0, 1.0, 0.3, 0.0), "", "Frep",
      "52", "obstetric"),
    C("hysteroscopy", "NE1", (("N84.0", 1),), (("68.2900", "子宫病损切除术"),), 0.55, 3, 4, (1.0, 1.0, 0.3, 0.0), "", "F",
      "21", "obstetric"),
    C("hysterectomy", "NC1", (("D25.9", 1),), (("68.4100", "腹腔镜全子宫切除术"),), 1.4, 8, 3, (1.0, 0.7, 0.05, 0.0), "",
      "F", "21", "obstetric"),
    C("ovary", "ND1", (("N83.2", 6), ("D27", 4)), (("65.2500", "腹腔镜下卵巢病损切除术"),), 1.0, 6, 3, (1.0, 0.8, 0.1, 0.0),
      "", "F", "21", "obstetric"),
    C("breast_benign", "JB3", (("D24", 1),), (("85.2100", "乳房病损局部切除术"),), 0.55, 3, 4, SURG, "", "F", "21",
      "obstetric"),
    C("mastectomy", "JA2", (("C50.9", 1),), (("85.4500", "单侧乳房根治性切除术"),), 2.0, 12, 2, TERT, "", "F"),
    # ---- eye
    C("cataract", "CB5", (("H25.9", 6), ("H26.9", 4)), (("13.4100", "白内障超声乳化抽吸术"),), 0.6, 3, 8,
      (1.0, 1.0, 0.4, 0.0), "b", "old"),
    # ---- other medical
    C("chemo", "RN1", (("Z51.1", 1),), (("99.2500", "注射或输注癌症化学治疗药物"),), 0.75, 4, 30, (1.0, 0.25, 0.0, 0.0),
      "", "old", "21", "chemo"),
    C("anaemia", "QS5", (("D64.9", 6), ("D50.9", 4)), (), 0.8, 7, 3, GEN, "", "old"),
    C("viral", "SU1", (("B34.9", 1),), (), 0.5, 5, 4, BASE, "l"),
    C("fever", "ST1", (("R50.9", 1),), (), 0.6, 6, 3, GEN),
    C("rehab", "XR2", (("I69.3", 6), ("Z50.9", 4)), (), 1.0, 18, 8, (1.0, 1.1, 1.0, 0.8), "", "old"),
    C("symptoms", "XS1", (("R42", 5), ("R07.4", 5)), (), 0.45, 4, 5, BASE, "l"),
    C("depression", "TS1", (("F32.9", 1),), (), 1.5, 21, 1, (1.0, 0.6, 0.1, 0.0)),
    C("concussion", "VR1", (("S06.0", 1),), (), 0.7, 7, 2, GEN),
)
COND_INDEX = {c.key: i for i, c in enumerate(CONDITIONS)}

# comorbidity codes for other_diag_codes, by the severity they justify (real 医保版 2.0 codes)
MCC_CODES = ("J96.000", "N17.900", "I50.900", "A41.900", "R57.000", "J18.900", "K72.000")
CC_CODES = ("E87.600", "D64.900", "N39.000", "E87.100", "I48.000", "E11.400", "J44.900", "N18.400")
MINOR_CODES = ("I10.x00", "E11.900", "E78.500", "K76.000", "I25.100", "M81.000", "K29.700", "E04.100")

QC_ERRORS = ("主要诊断编码不规范", "主要诊断选择错误", "手术操作缺失", "手术操作编码不规范", "费用与明细不符",
             "离院方式缺失", "入院病情缺失", "其他诊断漏填", "呼吸机使用时间缺失", "新生儿体重缺失")
QC_ERROR_P = np.array([0.26, 0.12, 0.16, 0.08, 0.16, 0.06, 0.06, 0.06, 0.02, 0.02])


@lru_cache(maxsize=None)
def _icd_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 医保版 code list as sorted numpy arrays (codes, names) for fast prefix look-ups."""
    df = reference.icd10()
    codes = np.asarray(df["code"].to_numpy(dtype=object), dtype=str)
    names = np.asarray(df["name"].to_numpy(dtype=object), dtype=object)
    order = np.argsort(codes, kind="stable")
    return codes[order], names[order]


def _prefix_range(prefix: str) -> tuple[int, int]:
    codes, _ = _icd_arrays()
    return int(np.searchsorted(codes, prefix, "left")), int(np.searchsorted(codes, prefix + "\uffff", "left"))


def icd_name(prefix: str) -> str:
    """Display name of an ICD prefix: its default code's name (``I63.3`` → I63.300 …, ``J90`` → J90.x00)."""
    codes, names = _icd_arrays()
    a, b = _prefix_range(prefix)
    cand = [(len(c), c, n) for c, n in zip(codes[a:b], names[a:b]) if "+" not in c and "*" not in c]
    if len(prefix) == 3:
        for suffix in (".900", ".x00"):
            hit = [x for x in cand if x[1] == prefix + suffix]
            if hit:
                return str(hit[0][2])
    return str(min(cand)[2]) if cand else prefix


@lru_cache(maxsize=None)
def icd_leaves(prefix: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Leaf codes of the 医保版 list under an ICD prefix (category or subcategory) with draw weights.

    The default code (``.x00`` / ``.n00``) gets 60 %; the extension codes share the rest. Dagger /
    asterisk combinations are left out.
    """
    allc, _ = _icd_arrays()
    a, b = _prefix_range(prefix)
    codes = sorted(str(c) for c in allc[a:b] if "+" not in c and "*" not in c)
    if not codes:
        raise ValueError(f"ICD prefix {prefix} has no codes in icd10_yibao_v2.csv")
    base = min(codes, key=lambda c: (len(c), c))
    if len(codes) == 1:
        return (base,), (1.0,)
    others = [c for c in codes if c != base][:8]
    w = [0.6] + [0.4 / len(others)] * len(others)
    return tuple([base] + others), tuple(w)


def resolve_codes(codes: tuple[str, ...]) -> tuple[str, ...]:
    """Keep comorbidity codes that exist in the reference list (guards against list updates)."""
    known = set(_icd_arrays()[0].tolist())
    return tuple(c for c in codes if c in known)


@dataclass
class Leaf:
    """One principal-diagnosis leaf code of a condition (flattened over the condition's prefixes)."""
    cond: int
    code: str
    sub: str  # ICD prefix it came from (I63.3 …)
    p: float  # probability within the condition


def condition_leaves() -> tuple[list[Leaf], np.ndarray, np.ndarray]:
    """All leaves; ``start[c]:start[c+1]`` are condition c's leaves; ``cum`` their cumulative probabilities."""
    leaves: list[Leaf] = []
    start = [0]
    for ci, c in enumerate(CONDITIONS):
        tot = sum(w for _, w in c.icd)
        for prefix, w in c.icd:
            codes, ws = icd_leaves(prefix)
            for code, wc in zip(codes, ws):
                leaves.append(Leaf(ci, code, prefix, w / tot * wc))
        start.append(len(leaves))
    cum = np.zeros(len(leaves))
    for ci in range(len(CONDITIONS)):
        a, b = start[ci], start[ci + 1]
        p = np.array([lf.p for lf in leaves[a:b]])
        cum[a:b] = np.cumsum(p / p.sum())
        cum[b - 1] = 1.0
    return leaves, np.array(start), cum


def drg_splits() -> dict[str, str]:
    """ADRG -> the suffixes it splits into in CHS-DRG 2.0 (e.g. 'EJ1' -> '135')."""
    d = reference.drg()
    out: dict[str, str] = {}
    for code in d["drg_code"]:
        out[code[:3]] = "".join(sorted(out.get(code[:3], "") + code[3]))
    return out


def suffix_for(splits: str, sev: int) -> str:
    """DRG suffix for a severity (0 MCC, 1 CC, 2 none) given the ADRG's national split pattern."""
    if "9" in splits:
        return "9"
    want = "135"[sev]
    if want in splits:
        return want
    if want == "3":  # 1/5 split: CC falls into 5 (不伴严重); 3/5 split handled below
        return "5" if "1" in splits else "3"
    if want == "1":  # 3/5 split: MCC is 3 (伴合并症或并发症)
        return "3"
    return "5"


def drg_names() -> dict[str, str]:
    d = reference.drg()
    return dict(zip(d["drg_code"], d["drg_name"]))


def adrg_mdc() -> dict[str, str]:
    a = reference.adrg()
    return dict(zip(a["adrg_code"], a["mdc_code"]))


def build_drg_catalog(region: str, base_rate: float, rng: np.random.Generator, n_extra: int) -> pd.DataFrame:
    """The region's local DRG catalogue: every subgroup of the ADRGs the conditions use, plus
    ``n_extra`` further national ADRGs (all their subgroups), with local weights (…1 > …3 > …5),
    pay_std = weight × base rate and the 基层病组 flag."""
    splits = drg_splits()
    names = drg_names()
    mdc = adrg_mdc()
    used: dict[str, float] = {}
    base_adrgs: set[str] = set()
    for c in CONDITIONS:
        used.setdefault(c.adrg, c.rw)
        if "b" in c.flags:
            base_adrgs.add(c.adrg)
    others = sorted(a for a in splits if a not in used and not a.startswith(("A", "Z", "W", "Y")))
    extra = rng.choice(others, size=min(n_extra, len(others)), replace=False)
    for a in sorted(extra):
        used[a] = float(np.round(np.exp(rng.normal(0.1, 0.55)), 2))
    rows = []
    for a in sorted(used):
        bw = used[a] * float(np.exp(rng.normal(0, 0.04)))
        for suf in splits[a]:
            if suf == "9":
                w = bw * 1.1
            else:
                w = bw * SEV_WEIGHT[suf]
            code = a + suf
            base = "1" if a in base_adrgs and suf in "59" else "0"
            rows.append((region, code, names[code], a, mdc[a], round(w, 4), round(w * base_rate, 2), base))
    return pd.DataFrame(rows, columns=["poolarea_no", "drg_code", "drg_name", "adrg_code", "mdc_code", "weight",
                                       "pay_std", "base_group"])


# DIP: diagnosis-category factors that make the upcoding of I63 visible in scores
DIP_SUB_FACTOR = {"I63.3": 1.32, "I63.5": 1.18, "I63.4": 1.12, "I63.0": 1.1, "I63.1": 1.1, "I63.2": 1.08,
                  "I63.6": 1.15, "I63.8": 0.85, "I63.9": 1.0}


def build_dip_groups(rng: np.random.Generator) -> pd.DataFrame:
    """DIP groups (diagnosis prefix × treatment) of every condition: one row per (condition, prefix).

    Codes are ``<prefix>-<nnnn>``: ``0001`` 保守治疗, ``0002``… a procedure, numbered per prefix.
    ``score`` = RW × 1000 × a diagnosis factor (I63.3 > I63.5 > I63.9 …).
    """
    seq: dict[str, int] = {}
    rows = []
    for ci, c in enumerate(CONDITIONS):
        for prefix, _ in c.icd:
            if c.ops:
                seq[prefix] = max(seq.get(prefix, 1), 1) + 1
                n = seq[prefix]
                treat = c.ops[0][1] if c.kind != "chemo" else "化学治疗"
            else:
                n = 1
                treat = "保守治疗"
            code = f"{prefix}-{n:04d}"
            nm = icd_name(prefix)
            f = DIP_SUB_FACTOR.get(prefix, float(np.round(np.exp(rng.normal(0, 0.08)), 3)))
            score = round(c.rw * 1000 * f, 1)
            rows.append((ci, prefix, code, f"{nm}（{treat}）", prefix[:3], score,
                         "1" if ("b" in c.flags and not c.ops) or ("b" in c.flags and c.ops and c.rw < 1.0) else "0"))
    df = pd.DataFrame(rows, columns=["cond", "prefix", "dip_code", "dip_name", "icd_category", "score", "base_group"])
    # two conservative conditions on the same prefix share one group (the first one's score)
    first = df.drop_duplicates("dip_code").set_index("dip_code")
    for col in ("dip_name", "score", "base_group"):
        df[col] = df["dip_code"].map(first[col])
    return df
