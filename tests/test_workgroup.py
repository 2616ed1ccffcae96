"""Member draw (issue 7.1): quotas, exclusions, reproducibility, the quota error, the record."""
from __future__ import annotations


import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.workgroup import draw as wg
from yibao.errors import YibaoError

YEAR = 2026
LV_BY_GROUP = {"三级": ["01", "02", "03", "04"], "二级": ["05", "06", "07"], "一级及基层": ["08", "09", "10", "11"]}


def make_pool(hospitals: list[tuple[str, int]], served_prev: set[int] = frozenset(), third: set[int] = frozenset(),
              ) -> pd.DataFrame:
    """hospitals: (hosp_lv, people) pairs; served_prev / third: row numbers that served last year / are vendors."""
    rows = []
    for h, (lv, n) in enumerate(hospitals):
        for k in range(n):
            i = len(rows)
            rows.append({"person_id": f"P{i:04d}", "name": f"成员{i}", "fixmedins_code": f"H{h:04d}",
                         "title": "第三方运维工程师" if i in third else ("院领导", "医保办主任")[k % 2],
                         "served_years": f"{YEAR - 3};{YEAR - 1}" if i in served_prev else f"{YEAR - 2}",
                         "hosp_lv": lv, "employer": "本院"})
    return pd.DataFrame(rows, columns=["person_id", "name", "fixmedins_code", "title", "served_years", "hosp_lv",
                                       "employer"])


@st.composite
def pools(draw):
    hospitals = []
    for g, lvs in LV_BY_GROUP.items():
        for _ in range(draw(st.integers(0, 7))):
            hospitals.append((draw(st.sampled_from(lvs)), draw(st.integers(1, 2))))
    n = sum(p for _, p in hospitals)
    served = draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=n // 3)) if n else set()
    third = draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=2)) if n else set()
    return make_pool(hospitals, served, third), draw(st.integers(0, 10_000)), draw(st.sampled_from([8, 8, 10, 13]))


def eligible(pool: pd.DataFrame) -> pd.DataFrame:
    """Independent of the module: who may be drawn."""
    ok = ~pool["title"].str.contains("第三方|运维|外包|厂商") & ~pool["served_years"].str.contains(str(YEAR - 1))
    out = pool[ok].copy()
    out["g"] = out["hosp_lv"].map({lv: g for g, lvs in LV_BY_GROUP.items() for lv in lvs})
    return out


def feasible(el: pd.DataFrame, size: int) -> bool:
    q = wg.quotas(size)
    return all((el["g"] == g).sum() >= q[g] for g in q) and len(el) >= size


def distinct_feasible(el: pd.DataFrame, size: int) -> bool:
    q = wg.quotas(size)
    hosp = el.drop_duplicates("fixmedins_code")
    return all((hosp["g"] == g).sum() >= q[g] for g in q) and len(hosp) >= size


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_draw_meets_every_quota_or_names_the_shortfall(case):
    pool, seed, size = case
    el = eligible(pool)
    if not feasible(el, size):
        with pytest.raises(YibaoError, match=r"至少 \d+ 人，成员库中符合条件的仅 \d+ 人（缺 \d+ 人）"):
            wg.draw(pool, YEAR, seed, size=size)
        return
    res = wg.draw(pool, YEAR, seed, size=size)
    r = res.roster
    assert len(r) == size
    groups = r["hosp_lv"].map({lv: g for g, lvs in LV_BY_GROUP.items() for lv in lvs})
    assert (groups == "三级").sum() >= 2
    assert (groups == "二级").sum() >= 3
    assert (groups == "一级及基层").sum() >= 3
    assert (groups == "一级及基层").sum() * 4 >= size
    assert set(r["person_id"]) <= set(el["person_id"])  # no previous-year members, no vendor staff
    assert not r["title"].str.contains("第三方").any()
    assert not r["served_years"].str.contains(str(YEAR - 1)).any()
    assert r["person_id"].is_unique
    if distinct_feasible(el, size):
        assert r["fixmedins_code"].is_unique, "at most one per hospital when the quotas allow it"
    assert all(c["result"] in ("通过", "例外（见说明）") or "不连任" in c["check"] and c["result"] == "未核对"
               for c in wg.check_roster(res))
    # same seed -> identical roster, whatever the row order of the file
    again = wg.draw(pool.sample(frac=1, random_state=seed), YEAR, seed, size=size)
    assert again.person_ids == res.person_ids


def big_pool() -> pd.DataFrame:
    hospitals = [(lv, 2) for g, lvs in LV_BY_GROUP.items() for lv in lvs * 3]
    return make_pool(hospitals, served_prev={0, 5, 9}, third={2})


def test_different_seeds_usually_differ():
    pool = big_pool()
    rosters = {tuple(sorted(wg.draw(pool, YEAR, s).person_ids)) for s in range(20)}
    assert len(rosters) >= 15


def test_previous_year_members_and_vendors_excluded_with_reasons():
    pool = big_pool()
    cand = wg.annotate(pool, YEAR, 1)
    reasons = dict(zip(cand["person_id"], cand["reason"]))
    assert "不连任" in reasons["P0000"] and "2025" in reasons["P0000"]
    assert "第三方" in reasons["P0002"]
    assert reasons["P0001"] == ""
    for s in range(30):
        ids = set(wg.draw(pool, YEAR, s).person_ids)
        assert not ids & {"P0000", "P0005", "P0009", "P0002"}


def test_second_person_of_a_hospital_only_when_needed():
    # two secondary hospitals with 2 people each: the 二级 quota of 3 needs a second person from one of them
    hospitals = [("01", 1), ("02", 1), ("05", 2), ("06", 2), ("08", 1), ("09", 1), ("11", 1), ("10", 1)]
    res = wg.draw(make_pool(hospitals), YEAR, 3)
    sec = res.roster[res.roster["group"] == "二级"]
    assert len(sec) == 3 and sec["fixmedins_code"].nunique() == 2
    assert any("同一机构" in n for n in res.notes)


def test_impossible_pool_names_quota_and_shortfall():
    hospitals = [("01", 1), ("05", 2), ("06", 2), ("07", 1), ("08", 2), ("11", 2)]
    with pytest.raises(YibaoError) as exc:
        wg.draw(make_pool(hospitals), YEAR, 1)
    assert "三级医疗机构代表至少 2 人，成员库中符合条件的仅 1 人（缺 1 人）" in str(exc.value)


def test_levels_from_fixmedins_and_unknown_institutions(tmp_path):
    pool = big_pool().drop(columns=["hosp_lv"])
    fx = pd.DataFrame({"fixmedins_code": [f"H{h:04d}" for h in range(33)],
                       "fixmedins_name": [f"第{h}人民医院" for h in range(33)],
                       "hosp_lv": [lv for g, lvs in LV_BY_GROUP.items() for lv in lvs * 3][:33],
                       "fixmedins_type": ["1"] * 32 + ["2"]})
    fx_path = tmp_path / "fixmedins.csv"
    fx.to_csv(fx_path, index=False, encoding="gbk")
    cand = wg.annotate(pool, YEAR, 1, wg.read_fixmedins(fx_path))
    assert cand.loc[cand["fixmedins_code"] == "H0032", "reason"].str.contains("零售药店").all()
    assert cand.loc[cand["fixmedins_code"] == "H0033", "reason"].str.contains("等级未知").all()
    assert cand.loc[cand["fixmedins_code"] == "H0000", "fixmedins_name"].eq("第0人民医院").all()
    # a dataset directory works too
    d = tmp_path / "ds"
    d.mkdir()
    fx.to_csv(d / "fixmedins.csv", index=False)
    assert len(wg.read_fixmedins(d)) == 33


def test_quota_group_texts():
    assert wg.quota_group("03") == "三级" and wg.quota_group("7") == "二级" and wg.quota_group("11") == "一级及基层"
    assert wg.quota_group("", "三甲") == "三级" and wg.quota_group("", "社区卫生服务中心") == "一级及基层"
    assert wg.quota_group("", "") is None
    assert wg.served_in("2023年、2025年") == {2023, 2025}
    assert wg.served_in("二〇二五年") == {2025} and wg.served_in("二零二四年;2025") == {2024, 2025}


@pytest.mark.parametrize("name, content, needle", [
    ("pool.xls", b"\xd0\xcf\x11\xe0 old binary excel", "另存为 .xlsx"),
    ("pool.xlsx", b"not really a zip", "无法读取 Excel 文件"),
])
def test_cli_unreadable_pool_is_a_clear_error(tmp_path, capsys, name, content, needle):
    (tmp_path / name).write_bytes(content)
    from yibao.cli import main
    assert main(["workgroup", "freeze", "--pool", str(tmp_path / name), "--year", str(YEAR),
                 "--draw-time", "2099-01-01T10:00", "--beacon", "福彩3D", "--first-draw", "首次",
                 "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert needle in err and name in err and "Traceback" not in err
    assert not (tmp_path / "o" / "freeze.json").exists()
    assert '"outcome": "refused"' in (tmp_path / "o" / "draw-log.jsonl").read_text(encoding="utf-8")
