"""The synthetic dataset generator (``yibao synth``, docs/synth.md).

Determinism, atomic writing and the CLI on the tiny scale plus one regeneration of the shared small
dataset; contract, structure and every planted anomaly on the shared small datasets of conftest.py
(seed 7 with anomalies, seed 11 clean), which are generated once per session. Anomalies are
re-measured here with plain SQL, independently of the findings engine and of synth_measure.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from yibao.data import reference
from yibao.synth import generate as synth
from yibao.cli import main as cli_main
from yibao.data.contract import TABLES
from yibao.errors import YibaoError
from yibao.data.warehouse import Warehouse

Q3 = "('2026-07', '2026-08', '2026-09')"
Q2 = "('2026-04', '2026-05', '2026-06')"
Q3_25 = "('2025-07', '2025-08', '2025-09')"
# the tables synth writes: every required table of the contract plus two optional ones
WRITTEN = ("setl", "setl_list", *synth.CSV_TABLES)


def _digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _warehouse(data: Path) -> Warehouse:
    """The warehouse's views, with the netted settlements materialised once (the tests query them often)."""
    w = Warehouse(data)
    w.sql("SET enable_progress_bar = false")
    for view in ("setl_net", "setl_list_net"):
        w.sql(f"CREATE TEMP TABLE {view}_m AS SELECT * FROM {view}")
        w.sql(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {view}_m")
    return w


@pytest.fixture(scope="module")
def wh(small_data):
    w = _warehouse(small_data)
    yield w
    w.close()


@pytest.fixture(scope="module")
def wh_clean(clean_data):
    w = _warehouse(clean_data)
    yield w
    w.close()


# ---- determinism, atomicity, CLI ---------------------------------------------------------------------------
def test_same_seed_same_bytes(small_data, small_planted, tmp_path):
    """The shared small dataset regenerated from scratch: every file byte-identical (parquet included)."""
    again = synth.generate(tmp_path / "again", scale="small", seed=7)
    assert again == small_planted
    da, db = _digest(small_data), _digest(tmp_path / "again")
    assert set(da) == set(db) and da == db


def test_other_seed_differs(tmp_path):
    a = synth.generate(tmp_path / "a", scale="tiny", seed=3)
    b = synth.generate(tmp_path / "b", scale="tiny", seed=4)
    assert a["seed"] == 3 and b["seed"] == 4
    da, db = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert set(da) == set(db)
    assert da["setl.parquet"] != db["setl.parquet"] and da["planted.json"] != db["planted.json"]
    assert a["regions"] == b["regions"] and a["months"] == b["months"]  # same world, other draws


def test_regenerate_replaces_atomically(tmp_path, monkeypatch):
    out = tmp_path / "data"
    synth.generate(out, scale="tiny", seed=5)
    before = _digest(out)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(synth.st, "feedback", boom)
    with pytest.raises(RuntimeError):
        synth.generate(out, scale="tiny", seed=6)
    assert _digest(out) == before  # the old dataset is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no half-written sibling left
    monkeypatch.undo()
    synth.generate(out, scale="tiny", seed=6, clean=True)
    assert json.loads((out / "planted.json").read_text(encoding="utf-8"))["seed"] == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_refuses_to_overwrite_foreign_directory(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(YibaoError):
        synth.generate(d, scale="tiny", seed=1)
    assert (d / "notes.txt").read_text(encoding="utf-8") == "keep me"
    with pytest.raises(YibaoError, match="规模"):
        synth.generate(tmp_path / "x", scale="huge", seed=1)


def test_cli_summary(tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli_main(["synth", "--out", str(out), "--scale", "tiny", "--seed", "2", "--clean"]) == 0
    text = capsys.readouterr().out
    assert "东岚市" in text and "setl" in text and str(out.resolve()) in text
    planted = json.loads((out / "planted.json").read_text(encoding="utf-8"))
    assert planted["clean"] is True and planted["anomalies"] == [] and planted["scale"] == "tiny"


# ---- contract -------------------------------------------------------------------------------------------------
def test_every_table_present_with_required_fields(wh, small_data):
    required = {name for name, spec in TABLES.items() if spec.required}
    assert required <= set(WRITTEN)  # every required table (and settlement_progress, feedback)
    assert {"settlement_progress", "feedback"} <= set(WRITTEN)
    for name in WRITTEN:
        spec = TABLES[name]
        assert wh.has(name), name
        assert not wh.missing_columns[name], (name, wh.missing_columns[name])
        req = [f.name for f in spec.fields if f.required]
        counts = wh.df("SELECT count(*) AS n_rows, " + ", ".join(f'count_if("{c}" IS NULL) AS "{c}"' for c in req)
                       + f" FROM {name}").iloc[0]
        assert counts["n_rows"] > 0, name
        assert not counts[req].any(), (name, counts[req][counts[req] > 0].to_dict())  # required fields filled
    # optional tables of the annual briefing are not generated (docs/annual.md)
    names = {p.name.split(".")[0] for p in small_data.iterdir()}
    assert names == set(WRITTEN) | {"planted"}
    # large tables as parquet (one file each at this scale), small ones as UTF-8 CSV with codes kept as text
    assert (small_data / "setl.parquet").exists() and (small_data / "setl_list.parquet").exists()
    schema = pq.read_schema(small_data / "setl.parquet")
    assert schema.names == TABLES["setl"].names
    assert pq.read_schema(small_data / "setl_list.parquet").names == TABLES["setl_list"].names
    for col in ("poolarea_no", "insutype", "med_type", "fixmedins_code", "setl_id", "psn_no", "refd_setl_flag"):
        assert str(schema.field(col).type) == "string", col
    assert str(schema.field("setl_time").type).startswith("timestamp") and str(schema.field("begndate").type) == "date32[day]"
    fx = pd.read_csv(small_data / "fixmedins.csv", dtype=str, encoding="utf-8")
    assert set(fx["hosp_lv"]) <= {f"{i:02d}" for i in range(1, 12)} and "02" in set(fx["hosp_lv"])
    assert fx["poolarea_no"].str.fullmatch(r"\d{6}").all()
    assert fx["fixmedins_code"].str.fullmatch(r"[HP]\d{9}").all() and fx["fixmedins_code"].is_unique
    assert set(wh.df("SELECT DISTINCT insutype FROM setl")["insutype"]) == {"310", "390"}
    assert set(wh.df("SELECT DISTINCT med_type FROM setl")["med_type"]) == {"11", "14", "51", "41", "21", "52"}
    assert wh.scalar("SELECT count(*) - count(DISTINCT setl_id) FROM setl") == 0
    assert wh.scalar("SELECT count(*) - count(DISTINCT setl_id) FROM setl_list") == 0
    assert wh.scalar("SELECT count(*) FROM setl s LEFT JOIN fixmedins f USING (fixmedins_code) "
                     "WHERE f.fixmedins_code IS NULL OR f.poolarea_no <> s.poolarea_no") == 0


def test_yibao_validate_passes(small_data, capsys):
    assert cli_main(["validate", "--data", str(small_data)]) == 0
    assert "0 个错误 errors" in capsys.readouterr().out


# ---- structure ---------------------------------------------------------------------------------------------------
def test_regions_months_and_levels(wh, small_planted):
    pa = wh.df("SELECT * FROM poolarea ORDER BY poolarea_no")
    assert list(pa["poolarea_no"]) == [r["poolarea_no"] for r in small_planted["regions"]]
    assert {"DRG", "DIP"} <= set(pa["pay_method"]) and len(pa) >= 3
    assert pa["prov_name"].nunique() == 1
    months = small_planted["months"]
    assert len(months) >= 24 and months == sorted(months)
    # every region has settlements, insured counts and fund flows in every month
    d = wh.df("SELECT poolarea_no, count(DISTINCT month) AS n FROM setl_net GROUP BY 1")
    assert (d["n"] == len(months)).all() and len(d) == len(pa)
    for t in ("psn_insu_month", "fund_report"):
        d = wh.df(f"SELECT poolarea_no, count(DISTINCT month) AS n FROM {t} GROUP BY 1")
        assert (d["n"] == len(months)).all() and len(d) == len(pa), t
    # each region: hospitals of all four level groups, pharmacies, a specialty hospital and a new campus
    fx = wh.df("SELECT * FROM fixmedins_x")
    for region, g in fx.groupby("poolarea_no"):
        assert g["fixmedins_name"].is_unique, region
        hosp = g[g["fixmedins_type"] == "1"]
        assert {"三级", "二级", "一级", "基层/无等级"} <= set(hosp["lv_group"]), region
        assert (g["fixmedins_type"] == "2").sum() >= 3 and (g.loc[g["fixmedins_type"] == "2", "beds"] == 0).all()
        spec = hosp[hosp["medins_type"] == "专科医院"]
        assert len(spec) == 1 and spec["specialty"].iloc[0] in ("口腔", "妇产"), region
        assert (pd.to_datetime(hosp["begn_date"]) >= "2025-01-01").sum() == 1, region
        assert (hosp["beds"] > 0).all() and set(hosp["ownership"]) == {"公立", "民营"}
        assert {"综合医院", "中医医院", "专科医院"} <= set(hosp["medins_type"])
    # DRG/DIP payment at 三级–一级 hospitals, not at 基层
    flags = fx[fx["fixmedins_type"] == "1"].groupby("lv_group")["drg_dip_flag"].agg(set)
    assert flags["三级"] == {"1"} and flags["基层/无等级"] == {"0"}


def test_special_institutions(wh, small_planted, clean_data):
    clean = json.loads((clean_data / "planted.json").read_text(encoding="utf-8"))
    for planted in (small_planted, clean):
        kinds = {(s["poolarea_no"], s["kind"]) for s in planted["special_institutions"]}
        for r in planted["regions"]:
            assert (r["poolarea_no"], "specialty") in kinds and (r["poolarea_no"], "new_campus") in kinds
    fx = wh.df("SELECT * FROM fixmedins").set_index("fixmedins_code")
    special = {s["fixmedins_code"]: s for s in small_planted["special_institutions"]}
    for code, s in special.items():
        row = fx.loc[code]
        assert s["fixmedins_name"] == row["fixmedins_name"] and s["hosp_lv"] == row["hosp_lv"] and s["note"]
        if s["kind"] == "specialty":
            assert row["specialty"] in ("口腔", "妇产") and row["ownership"] == "民营"
            assert row["medins_type"] == "专科医院"
        else:  # opened recently: nothing before, then a ramp-up
            assert str(row["begn_date"])[:7] >= "2025-10"
            assert wh.scalar(f"SELECT count(*) FROM setl_net WHERE fixmedins_code = '{code}' "
                             f"AND setl_time < DATE '{row['begn_date']}'") == 0
            m = wh.df(f"SELECT month, count(*) AS n FROM setl_net WHERE fixmedins_code = '{code}' AND is_ip "
                      f"GROUP BY 1 ORDER BY 1")["n"].to_numpy()
            assert len(m) >= 6 and m[-3:].mean() > 2 * m[:2].mean()
    planted_codes = {a["fixmedins_code"] for a in small_planted["anomalies"]}
    assert not planted_codes & set(special)


def test_outpatient_far_exceeds_inpatient(wh):
    d = wh.df(f"SELECT poolarea_no, count_if(is_op) AS op, count_if(is_ip) AS ip, count_if(cls = '药店') AS rx "
              f"FROM setl_net WHERE month IN {Q3} GROUP BY 1")
    ratio = d["op"] / d["ip"]
    assert (ratio >= 6).all() and (ratio <= 25).all(), ratio.tolist()  # small: 0.65 × medium's ≈ 12
    assert (d["rx"] > 0.5 * d["ip"]).all()
    mix = wh.df("SELECT med_type, count(*) AS n FROM setl_net GROUP BY 1").set_index("med_type")["n"]
    assert mix["11"] > mix["14"] > mix["51"] and mix["21"] > mix["52"] and mix["41"] > 0
    # 基层 hospitals are mostly outpatient; 三级 hospitals carry most of the inpatients
    lv = wh.df("""SELECT f.lv_group, count_if(is_op) / count_if(is_ip) AS ratio, count_if(is_ip) AS ip
                   FROM setl_net s JOIN fixmedins_x f USING (fixmedins_code) WHERE f.fixmedins_type = '1'
                   GROUP BY 1""").set_index("lv_group")
    assert lv.loc["基层/无等级", "ratio"] > 3 * lv.loc["三级", "ratio"]
    assert lv.loc["三级", "ip"] > lv["ip"].sum() * 0.4


def test_amounts_add_up(wh):
    assert wh.scalar("""SELECT count(*) FROM setl WHERE abs(medfee_sumamt - (hifp_pay + acct_pay + hifmi_pay + maf_pay
                        + oth_pay + psn_cash_pay)) > 0.005""") == 0
    assert wh.scalar("""SELECT count(*) FROM setl WHERE refd_setl_flag = '0' AND NOT (medfee_sumamt >= fulamt_ownpay_amt
                        AND fulamt_ownpay_amt >= 0 AND hifp_pay >= 0 AND psn_cash_pay >= 0 AND acct_pay >= 0)""") == 0
    assert wh.scalar("""SELECT count(*) FROM setl WHERE refd_setl_flag = '0' AND abs(medfee_sumamt - (fulamt_ownpay_amt
                        + overlmt_selfpay + preselfpay_amt + inscp_scp_amt)) > 0.005""") == 0
    assert wh.scalar("SELECT count(*) FROM setl WHERE acct_pay <> 0 AND insutype = '390'") == 0  # no 个人账户
    # settlement lists: fee components add up to the cent to their settlement's total
    assert wh.scalar("""SELECT count(*) FROM setl_list l JOIN setl s USING (setl_id) WHERE s.refd_setl_flag = '0'
                        AND abs(s.medfee_sumamt - (fee_drug + fee_mcs + fee_exam + fee_lab + fee_trt + fee_oprn
                        + fee_srvc + fee_oth)) > 0.005""") == 0
    assert wh.scalar("SELECT count(*) FROM setl_list l LEFT JOIN setl s USING (setl_id) "
                     "WHERE s.setl_id IS NULL OR s.med_type NOT IN ('21', '52')") == 0
    # magnitudes: inpatient stays cost thousands to tens of thousands of 元, outpatient visits hundreds
    d = wh.df("SELECT cls, median(medfee_sumamt) AS m FROM setl_net GROUP BY 1").set_index("cls")["m"]
    assert 5000 < d["住院类"] < 30000 and 80 < d["门诊类"] < 800 and 30 < d["药店"] < 300
    share = wh.scalar("SELECT sum(hifp_pay) / sum(medfee_sumamt) FROM setl_net WHERE is_ip")
    assert 0.45 < share < 0.8


def test_reversals(wh):
    d = wh.df("""SELECT r.setl_id, r.init_setl_id, r.setl_time AS t_rev, o.setl_time AS t_orig, r.medfee_sumamt AS m_rev,
                        o.medfee_sumamt AS m_orig, r.mdtrt_id = o.mdtrt_id AS same_visit, o.refd_setl_flag AS o_flag,
                        r.med_type = o.med_type AS same_type
                 FROM setl r LEFT JOIN setl o ON o.setl_id = r.init_setl_id WHERE r.refd_setl_flag = '1'""")
    assert len(d) > 0
    assert d["t_orig"].notna().all()  # every reversal points to an existing settlement
    assert (d["t_rev"] > d["t_orig"]).all() and (d["m_rev"] < 0).all()
    assert np.allclose(d["m_rev"], -d["m_orig"]) and d["same_visit"].all() and (d["o_flag"] == "0").all()
    assert d["init_setl_id"].is_unique and d["same_type"].all()
    share = wh.scalar("SELECT avg((refd_setl_flag = '1')::INT) FROM setl")
    assert 0.003 <= share <= 0.01
    # some reversed visits were settled again (same mdtrt_id, a later non-reversal row)
    again = wh.scalar("""SELECT count(DISTINCT r.mdtrt_id) FROM setl r JOIN setl n ON n.mdtrt_id = r.mdtrt_id
                         AND n.refd_setl_flag = '0' AND n.setl_time > r.setl_time WHERE r.refd_setl_flag = '1'""")
    assert 0.3 * len(d) <= again <= 0.7 * len(d)
    assert wh.scalar("SELECT count(*) FROM setl WHERE refd_setl_flag = '0' AND init_setl_id IS NOT NULL") == 0
    # reversed inpatient settlements keep no settlement list of their own; reversal rows never have one
    assert wh.scalar("SELECT count(*) FROM setl_list l JOIN setl s USING (setl_id) WHERE s.refd_setl_flag = '1'") == 0


def test_inpatient_stays_and_patients(wh):
    d = wh.df("""SELECT s.begndate, s.enddate, s.setl_time, l.ipt_days, s.age, s.gend FROM setl_net s
                 JOIN setl_list l USING (setl_id)""")
    days = (pd.to_datetime(d["enddate"]) - pd.to_datetime(d["begndate"])).dt.days
    assert (days >= 1).all() and (days == d["ipt_days"]).all() and 5 <= days.median() <= 12
    day = pd.to_datetime(d["setl_time"]).dt.normalize()
    assert (day >= pd.to_datetime(d["enddate"])).all()  # settled at discharge (re-settlements a little later)
    assert (day == pd.to_datetime(d["enddate"])).mean() > 0.99
    assert d["gend"].isin(["1", "2"]).all() and d["age"].between(0, 110).all() and d["age"].median() > 40
    assert wh.scalar("SELECT count(*) FROM setl WHERE med_type IN ('11', '14', '51', '41') AND begndate <> enddate") == 0
    assert wh.scalar("SELECT min(setl_time) >= TIMESTAMP '2024-01-01' AND max(setl_time) < TIMESTAMP '2026-10-01' "
                     "FROM setl")
    # 生育住院 (52) only for women of child-bearing age
    assert wh.scalar("SELECT count(*) FROM setl_net WHERE med_type = '52' AND (gend <> '2' OR age NOT BETWEEN 18 AND 50)") == 0
    # out-of-region patients: from outside the dataset and from the dataset's other regions
    out = wh.df("""SELECT avg((insu_admdvs <> poolarea_no)::INT) AS share,
                          count(DISTINCT insu_admdvs) FILTER (WHERE insu_admdvs <> poolarea_no) AS places,
                          count_if(insu_admdvs <> poolarea_no AND insu_admdvs IN (SELECT poolarea_no FROM poolarea)) AS cross_
                   FROM setl_net WHERE is_ip""").iloc[0]
    assert 0.04 <= out["share"] <= 0.12 and out["places"] >= 8 and out["cross_"] > 0
    assert wh.scalar("SELECT count(*) FROM setl WHERE NOT regexp_matches(insu_admdvs, '^[0-9]{6}$')") == 0
    op_out = wh.scalar("SELECT avg((insu_admdvs <> poolarea_no)::INT) FROM setl_net WHERE is_op")
    assert 0.01 <= op_out <= 0.08


def test_upload_qc_grouping_special_cases(wh):
    d = wh.df("""SELECT count(l.setl_id) / count(*) AS upload, avg((l.qc_stas = '1')::INT) AS qc,
                         avg((l.grp_stas = '1')::INT) AS grp, avg((l.setl_way = '1')::INT) AS way1
                  FROM setl_net s LEFT JOIN setl_list l USING (setl_id) WHERE s.is_ip AND s.poolarea_no = '350300'""")
    assert d["upload"][0] > 0.97 and 0.9 < d["qc"][0] < 0.995 and 0.96 < d["grp"][0] < 1 and d["way1"][0] > 0.85
    # QC failures carry their problems (';'-separated), passes none
    assert wh.scalar("SELECT count(*) FROM setl_list WHERE qc_stas = '0' AND qc_errs IS NULL") == 0
    assert wh.scalar("SELECT count(*) FROM setl_list WHERE qc_stas = '1' AND qc_errs IS NOT NULL") == 0
    assert wh.scalar("SELECT count(*) FROM setl_list WHERE qc_stas = '0'") > 100
    assert wh.scalar("SELECT count(*) FROM setl_list WHERE qc_errs LIKE '%;%'") > 0
    assert wh.scalar("SELECT count(*) FROM setl_list WHERE grp_stas = '1' AND drg_code IS NULL AND dip_code IS NULL") == 0
    assert wh.scalar("SELECT count(*) FROM setl_list WHERE grp_stas = '1' AND (weight IS NULL OR pay_std IS NULL)") == 0
    assert wh.scalar("SELECT count(*) FROM setl_list WHERE grp_stas = '0' AND setl_way <> '2'") == 0
    ways = set(wh.df("SELECT DISTINCT setl_way FROM setl_list")["setl_way"])
    assert ways == {"1", "2", "3", "4"}
    assert set(wh.df("SELECT DISTINCT dscg_way FROM setl_list")["dscg_way"]) == {"1", "2", "3", "4", "5", "9"}
    # 特例单议: applications for settlements paid by special review, after discharge, reviewed or pending
    sc = wh.df("""SELECT c.*, l.setl_way, s.enddate, s.medfee_sumamt, l.pay_std FROM special_case c
                  LEFT JOIN setl_list l USING (setl_id) LEFT JOIN setl s USING (setl_id)""")
    assert len(sc) > 50 and (sc["setl_way"] == "3").all() and sc["setl_id"].is_unique
    assert (pd.to_datetime(sc["apply_date"]) > pd.to_datetime(sc["enddate"])).all()
    assert set(sc["review_result"]) == {"0", "1", "9"}
    ok = sc[sc["review_result"] == "1"]
    assert (ok["approved_amt"] > 0).all() and (ok["approved_amt"] <= ok["medfee_sumamt"] - ok["pay_std"] + 0.01).all()
    assert sc.loc[sc["review_result"] == "9", "review_date"].isna().all()
    assert (sc["medfee_sumamt"] > 2 * sc["pay_std"]).all()


def test_fund_flows_and_residents_contributions(wh):
    d = wh.df("""SELECT poolarea_no, substr(month, 1, 4) AS y,
                        sum(amount) FILTER (WHERE substr(month, 6, 2) IN ('01', '02')) / sum(amount) AS janfeb
                 FROM fund_report WHERE fund = '390' AND item = 'inc_personal' GROUP BY 1, 2""")
    assert len(d) == 9 and (d["janfeb"] >= 0.8).all()  # 居民医保按年缴: lumped in January–February
    emp = wh.df("""SELECT poolarea_no, max(amount) / min(amount) AS spread FROM fund_report
                   WHERE fund = '310' AND item = 'inc_contrib' AND month LIKE '2025%' GROUP BY 1""")
    assert (emp["spread"] < 1.5).all()  # employees contribute every month
    funds = wh.df("SELECT DISTINCT fund, item FROM fund_report")
    assert set(funds["fund"]) == {"310", "310A", "390", "MAF"}
    assert {"inc_contrib", "inc_personal", "inc_sub_central", "inc_sub_prov", "inc_sub_local", "inc_other",
            "exp_total", "exp_assist", "bal_cum"} == set(funds["item"])
    # balances evolve with the flows
    f = wh.df("""SELECT poolarea_no, fund, month, sum(amount) FILTER (WHERE item LIKE 'inc_%') AS inc,
                        sum(amount) FILTER (WHERE item = 'exp_total') AS exp, sum(amount) FILTER (WHERE item = 'bal_cum') AS bal
                 FROM fund_report GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""")
    for _, g in f.groupby(["poolarea_no", "fund"]):
        step = g["bal"].diff().iloc[1:].to_numpy()
        flow = (g["inc"] - g["exp"]).iloc[1:].to_numpy()
        assert np.allclose(step, flow, atol=0.05)
        assert (g["bal"] > 0).all()
    # expenditure of the same magnitude as the settlements' pooled-fund payments
    r = wh.df("""SELECT (SELECT sum(amount) FROM fund_report WHERE poolarea_no = '350100' AND fund = '310'
                         AND item = 'exp_total' AND month LIKE '2025%') AS exp,
                        (SELECT sum(hifp_pay) FROM setl_net WHERE insu_admdvs = '350100' AND insutype = '310'
                         AND month LIKE '2025%') AS hifp""")
    assert 0.95 < r["exp"][0] / r["hifp"][0] < 1.2
    # insured persons: employees and residents, residents re-enrolling each January
    p = wh.df("SELECT poolarea_no, insutype, month, psn_cnt FROM psn_insu_month ORDER BY 1, 2, 3")
    assert (p["psn_cnt"] > 1000).all() and set(p["insutype"]) == {"310", "390"}
    rate = wh.scalar("""SELECT count(*) / (SELECT avg(psn_cnt) * 1 FROM (SELECT month, sum(psn_cnt) AS psn_cnt
                         FROM psn_insu_month WHERE poolarea_no = '350100' AND month LIKE '2025%' GROUP BY 1))
                         FROM setl_net WHERE is_ip AND insu_admdvs = '350100' AND month LIKE '2025%'""")
    assert 0.1 < rate < 0.3  # 住院率 about 16 % a year


def test_budget_and_settlement_progress(wh):
    assert wh.scalar("SELECT count(DISTINCT year) FROM budget WHERE fixmedins_code IS NULL") == 4  # 2024 … 2027
    assert set(wh.df("SELECT DISTINCT item FROM budget")["item"]) == {"inpatient", "outpatient", "drg_dip", "other"}
    assert wh.scalar("SELECT count(*) FROM budget WHERE fixmedins_code IS NOT NULL AND item = 'drg_dip'") > 10
    # per-institution budgets go to DRG/DIP hospitals and stay below the region's total
    b = wh.df("""SELECT b.poolarea_no, b.year, sum(b.amount) AS inst,
                        any_value(t.amount) AS total, bool_and(f.drg_dip_flag = '1') AS flagged
                 FROM budget b JOIN budget t ON t.poolarea_no = b.poolarea_no AND t.year = b.year
                      AND t.item = 'drg_dip' AND t.fixmedins_code IS NULL
                 JOIN fixmedins f ON f.fixmedins_code = b.fixmedins_code
                 WHERE b.item = 'drg_dip' GROUP BY 1, 2""")
    assert b["flagged"].all() and (b["inst"] <= b["total"]).all()
    sp = wh.df("SELECT * FROM settlement_progress")
    assert (sp["payable_amt"] + sp["refused_amt"] - sp["declared_amt"]).abs().max() < 0.02
    assert (sp["paid_amt"] <= sp["payable_amt"] + 0.005).all() and (sp["refused_amt"] >= 0).all()
    assert (pd.to_datetime(sp["declare_date"]) > pd.to_datetime(sp["month"] + "-01")).all()
    paid = sp[sp["paid_date"].notna()]
    assert (pd.to_datetime(paid["paid_date"]) > pd.to_datetime(paid["declare_date"])).all()
    assert sp["paid_date"].isna().sum() > 0  # the latest months are not paid yet at the extract date
    assert sp["fixmedins_code"].str.startswith("H").all()
    # declared amounts are the hospitals' pooled-fund payments of that month
    r = wh.df("""SELECT p.declared_amt AS d, s.h FROM settlement_progress p JOIN
                 (SELECT fixmedins_code, month, sum(hifp_pay) AS h FROM setl_all GROUP BY 1, 2) s USING (fixmedins_code, month)
                 WHERE p.month = '2025-06'""")
    assert np.allclose(r["d"], r["h"], rtol=0.02, atol=1.0)


def test_real_codes_and_catalogues(wh):
    drg_ref = reference.drg()
    drg = set(drg_ref["drg_code"])
    icd = set(reference.icd10()["code"])
    used = set(wh.df("SELECT DISTINCT drg_code FROM setl_list WHERE drg_code IS NOT NULL")["drg_code"])
    assert used and used <= drg
    cat = wh.df("SELECT * FROM drg_catalog")
    assert set(cat["drg_code"]) <= drg and 150 <= cat.groupby("poolarea_no").size().min() <= 320
    # names, ADRG and MDC as in the national CHS-DRG 2.0 lists
    names = dict(zip(drg_ref["drg_code"], drg_ref["drg_name"]))
    assert (cat["drg_name"] == cat["drg_code"].map(names)).all()
    adrg = reference.adrg().set_index("adrg_code")
    assert (cat["adrg_code"] == cat["drg_code"].str[:3]).all() and (cat["mdc_code"] == "MDC" + cat["drg_code"].str[0]).all()
    assert set(cat["adrg_code"]) <= set(adrg.index) and (cat["mdc_code"] == cat["adrg_code"].map(adrg["mdc_code"])).all()
    assert set(cat["mdc_code"]) <= set(reference.mdc()["mdc_code"]) and cat["mdc_code"].nunique() >= 15
    assert 10 <= cat[cat["poolarea_no"] == "350100"]["base_group"].eq("1").sum() <= 60  # 基层病组
    for _, g in cat.groupby(["poolarea_no", "adrg_code"]):  # subgroup weights …1 > …3 > …5
        w = dict(zip(g["drg_code"].str[3], g["weight"]))
        if "1" in w and "3" in w:
            assert w["1"] > w["3"]
        if "3" in w and "5" in w:
            assert w["3"] > w["5"]
        if "1" in w and "5" in w:
            assert w["1"] > w["5"]
    assert np.allclose(cat["pay_std"] / cat["weight"], (cat["pay_std"] / cat["weight"]).groupby(cat["poolarea_no"])
                       .transform("median"), rtol=0.01)
    # the ADRGs used have all their national subgroups in the catalogue (e.g. EJ11/EJ13/EJ15)
    for a in {c[:3] for c in used}:
        assert set(drg_ref[drg_ref["adrg_code"] == a]["drg_code"]) <= set(cat["drg_code"])
    diags = set(wh.df("SELECT DISTINCT main_diag_code FROM setl_list")["main_diag_code"])
    assert diags <= icd and len(diags) > 100
    chapters = {reference.chapter_of(c) for c in diags}
    assert len(chapters) >= 12
    others = wh.df("SELECT DISTINCT unnest(string_split(other_diag_codes, ';')) AS c FROM setl_list "
                   "WHERE other_diag_codes IS NOT NULL")["c"]
    assert set(others) <= icd
    # grouped DRG cases sit in their catalogue with its weight; DIP codes link to an ICD category of the diagnosis
    lst = wh.df("""SELECT s.poolarea_no, l.drg_code, l.dip_code, l.weight, l.main_diag_code FROM setl_list l
                   JOIN setl s USING (setl_id) WHERE l.grp_stas = '1'""")
    drg_cases = lst[lst["drg_code"].notna()].merge(cat, on=["poolarea_no", "drg_code"], how="left",
                                                   suffixes=("", "_cat"))
    assert drg_cases["weight_cat"].notna().all() and np.allclose(drg_cases["weight"], drg_cases["weight_cat"])
    dcat = wh.df("SELECT * FROM dip_catalog")
    dip_cases = lst[lst["dip_code"].notna()].merge(dcat, on=["poolarea_no", "dip_code"], how="left")
    assert dip_cases["score"].notna().all() and np.allclose(dip_cases["weight"], dip_cases["score"])
    assert (dip_cases["icd_category"] == dip_cases["main_diag_code"].str[:3]).all()
    dip = wh.df("SELECT * FROM dip_catalog")
    assert dip["dip_code"].str.fullmatch(r"[A-Z]\d{2}(\.\d)?-\d{4}").all()
    assert (dip["dip_code"].str[:3] == dip["icd_category"]).all() and set(dip["icd_category"]) <= {c[:3] for c in icd}
    assert wh.scalar("SELECT count(*) FROM setl_list l JOIN setl s USING (setl_id) JOIN poolarea p USING (poolarea_no) "
                     "WHERE (p.pay_method = 'DRG' AND l.dip_code IS NOT NULL) "
                     "OR (p.pay_method = 'DIP' AND l.drg_code IS NOT NULL)") == 0
    ops = wh.df("SELECT DISTINCT main_oprn_code FROM setl_list WHERE main_oprn_code IS NOT NULL")["main_oprn_code"]
    assert len(ops) > 20 and ops.str.fullmatch(r"\d{2}\.[0-9x]{2,4}").all()


# ---- planted.json matches the data ----------------------------------------------------------------------------
def test_planted_json_well_formed(small_data, small_planted, wh):
    p = small_planted
    raw = (small_data / "planted.json").read_text(encoding="utf-8")
    assert raw.endswith("}\n") and "东岚市" in raw  # UTF-8, not \\u-escaped
    assert list(p) == ["seed", "scale", "clean", "generator", "months", "analysis_period", "prov_name", "regions",
                       "anomalies", "special_institutions", "counts", "notes"]
    assert p["seed"] == 7 and p["scale"] == "small" and p["clean"] is False and p["generator"].startswith("yibao.synth/")
    assert p["analysis_period"] == "2026Q3" and p["prov_name"] == "闽江省"
    assert p["months"][0] == "2024-01" and p["months"][-1] == "2026-09" and len(p["months"]) == 33
    methods = {r["pay_method"] for r in p["regions"]}
    assert {"DRG", "DIP"} <= methods and len(p["regions"]) >= 3
    fx = wh.df("SELECT fixmedins_code, poolarea_no, fixmedins_type, fixmedins_name FROM fixmedins").set_index("fixmedins_code")
    for a in p["anomalies"]:
        assert list(a) == ["rule_id", "poolarea_no", "fixmedins_code", "subject", "period", "description", "params"]
        assert a["period"] == "2026Q3" and a["description"] and isinstance(a["params"], dict)
        assert fx.loc[a["fixmedins_code"], "poolarea_no"] == a["poolarea_no"]
        assert fx.loc[a["fixmedins_code"], "fixmedins_type"] == "1"
        assert fx.loc[a["fixmedins_code"], "fixmedins_name"] in a["description"]
        m = a["params"]["measured"]
        assert m.get("metric"), a["rule_id"]  # what synth_measure found in the written data
        assert (a["subject"] != "") == (a["rule_id"] in ("COST_DEVIATION", "UPCODING_DRG", "UPCODING_ICD"))
    by = {(a["rule_id"], a["poolarea_no"]): a for a in p["anomalies"]}
    assert by[("UPCODING_DRG", "350100")]["subject"] == "EJ1"
    assert by[("UPCODING_ICD", "350200")]["subject"] == "I63"
    assert by[("COST_DEVIATION", "350200")]["subject"] in set(wh.df("SELECT dip_code FROM dip_catalog")["dip_code"])
    # the measurement agrees with what the rule is about
    m = by[("OUT_OF_CATALOG_HIGH", "350100")]["params"]["measured"]
    assert m["value"] > 2.5 * m["peer_median"]
    m = by[("IMPOSSIBLE_TRAVEL", "350200")]["params"]["measured"]
    assert m["incidents"] == 6 and m["persons"] == 2
    m = by[("QC_PASS_LOW", "350100")]["params"]["measured"]
    assert m["value"] < 75 and m["region_without_it"] > 90


def test_counts_equal_the_data(wh, small_planted):
    c = small_planted["counts"]
    assert c["setl_rows"] == wh.scalar("SELECT count(*) FROM setl")
    assert c["setl_reversals"] == wh.scalar("SELECT count(*) FROM setl WHERE refd_setl_flag = '1'")
    assert c["setl_list_rows"] == wh.scalar("SELECT count(*) FROM setl_list")
    assert c["setl_inpatient_rows"] == wh.scalar("SELECT count(*) FROM setl WHERE med_type IN ('21', '52')")
    assert c["setl_outpatient_rows"] == wh.scalar("SELECT count(*) FROM setl WHERE med_type IN ('11', '14', '51')")
    assert c["setl_pharmacy_rows"] == wh.scalar("SELECT count(*) FROM setl WHERE med_type = '41'")
    for t in ("special_case", "settlement_progress", "fund_report", "budget", "psn_insu_month", "drg_catalog",
              "dip_catalog", "feedback", "fixmedins"):
        assert c[f"{t}_rows"] == wh.scalar(f"SELECT count(*) FROM {t}"), t
    for region, rc in c["by_region"].items():
        assert rc["setl_rows"] == wh.scalar(f"SELECT count(*) FROM setl WHERE poolarea_no = '{region}'")
    share = c["setl_reversals"] / c["setl_rows"]
    assert 0.003 <= share <= 0.01


# ---- every planted anomaly is measurably present ------------------------------------------------------------
def _anomalies(planted, rule):
    found = [a for a in planted["anomalies"] if a["rule_id"] == rule]
    assert found, rule
    return found


def _peer_values(wh, df, col, code, exclude):
    lv = wh.scalar(f"SELECT lv_group FROM fixmedins_x WHERE fixmedins_code = '{code}'")
    peers = wh.df(f"SELECT fixmedins_code FROM fixmedins_x WHERE lv_group = '{lv}' AND fixmedins_type = '1'")
    d = df[df["fixmedins_code"].isin(peers["fixmedins_code"]) & ~df["fixmedins_code"].isin(exclude)]
    return d[col].astype(float)


@pytest.fixture(scope="module")
def exclude(small_planted):
    return {a["fixmedins_code"] for a in small_planted["anomalies"]} | {
        s["fixmedins_code"] for s in small_planted["special_institutions"]}


def test_every_rule_planted_in_both_payment_regions(small_planted):
    regions = {r["poolarea_no"]: r["pay_method"] for r in small_planted["regions"]}
    rules = {}
    for a in small_planted["anomalies"]:
        rules.setdefault(a["rule_id"], set()).add(regions[a["poolarea_no"]])
    expected = {"OPIP_RATIO_LOW", "OUT_OF_CATALOG_HIGH", "CASE_GROWTH_HIGH", "BASE_GROUP_TERTIARY", "COST_DEVIATION",
                "UPCODING_DRG", "UPCODING_ICD", "READMIT_15D", "SPLIT_ADMISSION", "LOW_STANDARD_ADMISSION",
                "GROUP_ADMISSION", "IMPOSSIBLE_TRAVEL", "QC_PASS_LOW", "UPLOAD_LOW"}
    assert set(rules) == expected
    for rule, methods in rules.items():
        assert methods == ({"DRG"} if rule == "UPCODING_DRG" else {"DRG", "DIP"}), rule
    for region in regions:
        codes = [a["fixmedins_code"] for a in small_planted["anomalies"] if a["poolarea_no"] == region]
        assert len(codes) == len(set(codes))  # a distinct hospital for each rule
        assert all(c.startswith(f"H{region}") for c in codes)


def test_opip_ratio_low(wh, small_planted, exclude):
    d = wh.df(f"""SELECT fixmedins_code, count_if(is_op) / count_if(is_ip) AS ratio FROM setl_net
                  WHERE is_local AND month IN {Q3} GROUP BY 1 HAVING count_if(is_ip) > 0""")
    for a in _anomalies(small_planted, "OPIP_RATIO_LOW"):
        v = d.set_index("fixmedins_code")["ratio"][a["fixmedins_code"]]
        assert v < 0.5 * _peer_values(wh, d, "ratio", a["fixmedins_code"], exclude).median()


def test_out_of_catalog_high_and_specialty_natural(wh, small_planted, exclude):
    d = wh.df(f"""SELECT fixmedins_code, sum(fulamt_ownpay_amt) / sum(medfee_sumamt) AS share FROM setl_net
                  WHERE is_local AND (is_op OR is_ip) AND month IN {Q3} GROUP BY 1""")
    s = d.set_index("fixmedins_code")["share"]
    for a in _anomalies(small_planted, "OUT_OF_CATALOG_HIGH"):
        assert s[a["fixmedins_code"]] > 2.5 * _peer_values(wh, d, "share", a["fixmedins_code"], exclude).median()
    for sp in small_planted["special_institutions"]:
        if sp["kind"] == "specialty":  # naturally high self-pay, and not planted
            assert s[sp["fixmedins_code"]] > 0.2


def test_case_growth_high_and_new_campus(wh, small_planted, exclude):
    d = wh.df(f"""SELECT fixmedins_code, count_if(month IN {Q3}) AS q3, count_if(month IN {Q2}) AS q2,
                         count_if(month IN {Q3_25}) AS q3_25 FROM setl_net WHERE is_ip GROUP BY 1""")
    d = d.assign(yoy=d["q3"] / d["q3_25"].replace(0, np.nan) - 1, qoq=d["q3"] / d["q2"].replace(0, np.nan) - 1)
    s = d.set_index("fixmedins_code")
    for a in _anomalies(small_planted, "CASE_GROWTH_HIGH"):
        h = a["fixmedins_code"]
        assert s.loc[h, "yoy"] > 0.8 and s.loc[h, "qoq"] > 0.6
        peers = _peer_values(wh, d[d["q3_25"] >= 20], "yoy", h, exclude)
        assert abs(peers.median()) < 0.2
    for sp in small_planted["special_institutions"]:
        if sp["kind"] == "new_campus":
            assert s.loc[sp["fixmedins_code"], "q3_25"] == 0 and s.loc[sp["fixmedins_code"], "qoq"] > 0.1


def test_base_group_tertiary(wh, small_planted, exclude):
    d = wh.df(f"""SELECT l.fixmedins_code, avg((coalesce(c.base_group, p.base_group) = '1')::INT) AS share
                  FROM setl_list_net l
                  LEFT JOIN drg_catalog c ON c.poolarea_no = l.poolarea_no AND c.drg_code = l.drg_code
                  LEFT JOIN dip_catalog p ON p.poolarea_no = l.poolarea_no AND p.dip_code = l.dip_code
                  WHERE l.grp_stas = '1' AND l.month IN {Q3} GROUP BY 1""")
    s = d.set_index("fixmedins_code")["share"]
    for a in _anomalies(small_planted, "BASE_GROUP_TERTIARY"):
        h = a["fixmedins_code"]
        assert wh.scalar(f"SELECT lv_group FROM fixmedins_x WHERE fixmedins_code = '{h}'") == "三级"
        peers = _peer_values(wh, d, "share", h, exclude)
        assert s[h] > 1.8 * peers.median() and s[h] - peers.max() > 0.1


def test_cost_deviation(wh, small_planted, exclude):
    for a in _anomalies(small_planted, "COST_DEVIATION"):
        col = "drg_code" if a["poolarea_no"] != "350200" else "dip_code"
        top = wh.df(f"""SELECT {col} AS g FROM setl_list_net WHERE poolarea_no = '{a['poolarea_no']}'
                        AND month IN {Q3} AND {col} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 10""")
        assert a["subject"] in set(top["g"])
        d = wh.df(f"""SELECT fixmedins_code, avg(medfee_sumamt) AS cost, count(*) AS n FROM setl_list_net
                      WHERE {col} = '{a['subject']}' AND month IN {Q3} GROUP BY 1 HAVING count(*) >= 5""")
        v = d.set_index("fixmedins_code")["cost"][a["fixmedins_code"]]
        assert v > 1.5 * _peer_values(wh, d, "cost", a["fixmedins_code"], exclude).median()


def _shares(wh, hosp, months, where, cases):
    d = wh.df(f"SELECT {', '.join(f'avg(({c})::INT) AS s{i}' for i, c in enumerate(cases))}, count(*) AS n "
              f"FROM setl_list_net WHERE fixmedins_code = '{hosp}' AND month IN {months} AND {where}")
    return d.iloc[0]


def test_upcoding_drg(wh, small_planted):
    for a in _anomalies(small_planted, "UPCODING_DRG"):
        adrg = a["subject"]
        cases = [f"drg_code = '{adrg}1'", f"drg_code = '{adrg}5'"]
        before = _shares(wh, a["fixmedins_code"], Q3_25, f"drg_code LIKE '{adrg}%'", cases)
        after = _shares(wh, a["fixmedins_code"], Q3, f"drg_code LIKE '{adrg}%'", cases)
        assert before["n"] >= 30 and after["n"] >= 30
        assert after["s0"] - before["s0"] > 0.15  # 伴严重合并症 share up
        assert after["s1"] < before["s1"]  # 不伴合并症 share down


def test_upcoding_icd(wh, small_planted):
    for a in _anomalies(small_planted, "UPCODING_ICD"):
        assert a["subject"] == "I63"
        cases = ["main_diag_code LIKE 'I63.3%'", "main_diag_code LIKE 'I63.5%'", "main_diag_code LIKE 'I63.9%'"]
        y24 = _shares(wh, a["fixmedins_code"], "('2024-07', '2024-08', '2024-09')", "main_diag_code LIKE 'I63%'", cases)
        y25 = _shares(wh, a["fixmedins_code"], Q3_25, "main_diag_code LIKE 'I63%'", cases)
        y26 = _shares(wh, a["fixmedins_code"], Q3, "main_diag_code LIKE 'I63%'", cases)
        assert y26["s0"] - y25["s0"] > 0.06 and y26["s0"] > y24["s0"] + 0.08  # I63.3 up
        assert y26["s0"] + y26["s1"] > y25["s0"] + y25["s1"] + 0.12  # I63.3 + I63.5 up
        assert y25["s2"] - y26["s2"] > 0.15  # I63.9 down


def _readmission_rates(wh, lo, hi, same_diag):
    src = "setl_list_net" if same_diag else "(SELECT * FROM setl_net WHERE is_ip)"
    diag = "AND a.main_diag_code = b.main_diag_code" if same_diag else ""
    return wh.df(f"""
        WITH ip AS (SELECT * FROM {src}),
        hit AS (SELECT DISTINCT a.setl_id FROM ip a JOIN ip b ON a.psn_no = b.psn_no
                AND a.fixmedins_code = b.fixmedins_code AND a.setl_id <> b.setl_id
                AND date_diff('day', a.enddate, b.begndate) BETWEEN {lo} AND {hi} {diag})
        SELECT a.fixmedins_code, count(hit.setl_id) / count(*) AS rate, count(*) AS n
        FROM ip a LEFT JOIN hit USING (setl_id) WHERE a.month IN {Q3} GROUP BY 1""")


def test_readmit_15d(wh, small_planted, exclude):
    d = _readmission_rates(wh, 0, 15, False)
    s = d.set_index("fixmedins_code")["rate"]
    for a in _anomalies(small_planted, "READMIT_15D"):
        peers = _peer_values(wh, d[d["n"] >= 30], "rate", a["fixmedins_code"], exclude)
        assert s[a["fixmedins_code"]] > 0.07 and s[a["fixmedins_code"]] > 3 * peers.median()


def test_split_admission(wh, small_planted, exclude):
    d = _readmission_rates(wh, 0, 3, True)
    s = d.set_index("fixmedins_code")["rate"]
    for a in _anomalies(small_planted, "SPLIT_ADMISSION"):
        peers = _peer_values(wh, d[d["n"] >= 30], "rate", a["fixmedins_code"], exclude)
        assert s[a["fixmedins_code"]] > 0.03 and peers.median() < 0.01


def test_low_standard_admission(wh, small_planted, exclude):
    d = wh.df(f"""SELECT fixmedins_code, avg((ipt_days <= 2 AND weight < CASE WHEN drg_code IS NOT NULL THEN 0.6
                         ELSE 600 END)::INT) AS share, count(*) AS n FROM setl_list_net
                  WHERE grp_stas = '1' AND month IN {Q3} GROUP BY 1""")
    s = d.set_index("fixmedins_code")["share"]
    for a in _anomalies(small_planted, "LOW_STANDARD_ADMISSION"):
        peers = _peer_values(wh, d[d["n"] >= 20], "share", a["fixmedins_code"], exclude)
        assert s[a["fixmedins_code"]] > 0.2 and peers.median() < 0.08


def _together(w):
    return w.df("""
        WITH ip AS (SELECT psn_no, fixmedins_code, begndate FROM setl_net WHERE is_ip AND year(setl_time) = 2026)
        SELECT a.fixmedins_code, a.psn_no AS p1, b.psn_no AS p2, count(*) AS k
        FROM ip a JOIN ip b ON a.fixmedins_code = b.fixmedins_code AND a.psn_no < b.psn_no
             AND abs(date_diff('day', a.begndate, b.begndate)) <= 1
        GROUP BY 1, 2, 3 HAVING count(*) >= 3""")


def test_group_admission(wh, small_planted):
    d = _together(wh)
    for a in _anomalies(small_planted, "GROUP_ADMISSION"):
        g = d[d["fixmedins_code"] == a["fixmedins_code"]]
        persons = set(g["p1"]) | set(g["p2"])
        assert len(persons) >= 4 and len(g) >= 6
    assert set(d["fixmedins_code"]) == {a["fixmedins_code"] for a in _anomalies(small_planted, "GROUP_ADMISSION")}


def _travel(w):
    return w.df(f"""
        WITH s AS (SELECT psn_no, poolarea_no, fixmedins_code, setl_time FROM setl_net WHERE month IN {Q3})
        SELECT b.fixmedins_code, count(*) AS n FROM s a JOIN s b ON a.psn_no = b.psn_no
             AND a.poolarea_no <> b.poolarea_no AND b.setl_time > a.setl_time
             AND b.setl_time <= a.setl_time + INTERVAL 15 MINUTE
        GROUP BY 1""")


def test_impossible_travel(wh, small_planted):
    d = _travel(wh).set_index("fixmedins_code")["n"]
    planted = {a["fixmedins_code"] for a in _anomalies(small_planted, "IMPOSSIBLE_TRAVEL")}
    for h in planted:
        assert d[h] >= 3
    assert set(d.index) == planted  # nowhere else


def test_qc_pass_low(wh, small_planted):
    for a in _anomalies(small_planted, "QC_PASS_LOW"):
        d = wh.df(f"""SELECT fixmedins_code = '{a['fixmedins_code']}' AS is_h, avg((qc_stas = '1')::INT) AS rate
                      FROM setl_list_net WHERE poolarea_no = '{a['poolarea_no']}' AND month IN {Q3} GROUP BY 1""")
        rate = d.set_index("is_h")["rate"]
        assert rate[True] < 0.75 and rate[False] > 0.9


def test_upload_low(wh, small_planted):
    for a in _anomalies(small_planted, "UPLOAD_LOW"):
        d = wh.df(f"""SELECT s.fixmedins_code = '{a['fixmedins_code']}' AS is_h, count(l.setl_id) / count(*) AS rate
                      FROM setl_net s LEFT JOIN setl_list l USING (setl_id)
                      WHERE s.is_ip AND s.poolarea_no = '{a['poolarea_no']}' AND s.month IN {Q3} GROUP BY 1""")
        rate = d.set_index("is_h")["rate"]
        assert rate[True] < 0.8 and rate[False] > 0.97


# ---- clean ---------------------------------------------------------------------------------------------------------
def test_clean_dataset_has_no_planted_patterns(wh_clean, clean_data):
    planted = json.loads((clean_data / "planted.json").read_text(encoding="utf-8"))
    assert planted["clean"] is True and planted["anomalies"] == []
    assert _together(wh_clean).empty
    assert _travel(wh_clean).empty
    d = wh_clean.df(f"""SELECT s.fixmedins_code, count(l.setl_id) / count(*) AS upload, avg((l.qc_stas = '1')::INT) AS qc,
                               count(*) AS n FROM setl_net s LEFT JOIN setl_list l USING (setl_id)
                        WHERE s.is_ip AND s.month IN {Q3} GROUP BY 1 HAVING count(*) >= 50""")
    assert (d["upload"] > 0.93).all() and (d["qc"] > 0.85).all()
    g = wh_clean.df(f"""SELECT s.fixmedins_code, f.lv_group, count_if(month IN {Q3}) / count_if(month IN {Q3_25}) - 1 AS yoy
                        FROM setl_net s JOIN fixmedins_x f USING (fixmedins_code)
                        WHERE s.is_ip AND f.begn_date < DATE '2025-01-01' GROUP BY 1, 2
                        HAVING count_if(month IN {Q3_25}) >= 60""")
    assert (g["yoy"].abs() < 0.35).all()
