"""The verifiable draw (issue 17): freeze → draw → verify, the append-only log, eligibility from data.

Each case of the issue is built here: a steered seed, a forged id, silent rotation, keyword misses,
duplicate people and extra nominees."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pandas as pd
import pytest

from yibao.cli import main
from yibao.errors import YibaoError
from yibao.workgroup import draw as wg, eligibility as el, ledger

YEAR = 2027
LVS = ["01", "02", "03", "05", "06", "07", "08", "09", "10", "11", "08", "09"] * 2


def make_pool(n_hosp: int = len(LVS), per: int = 2) -> pd.DataFrame:
    rows = []
    for h in range(n_hosp):
        for k in range(per):
            i = len(rows)
            rows.append({"person_id": f"P{i:04d}", "name": f"成员{i}", "fixmedins_code": f"H{h:04d}",
                         "fixmedins_name": f"第{h}医院", "hosp_lv": LVS[h % len(LVS)],
                         "title": ("院长", "医保办主任", "财务科长")[k % 3], "employer": f"第{h}医院",
                         "served_years": ""})
    return pd.DataFrame(rows)


@pytest.fixture
def clock(monkeypatch):
    """A settable clock for the ledger (UTC)."""
    state = {"t": dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.timezone.utc)}
    monkeypatch.setattr(ledger, "now", lambda: state["t"])
    return state


def frozen(tmp_path, clock, pool: pd.DataFrame | None = None, **kw):
    pool_path = tmp_path / "pool.csv"
    (pool if pool is not None else make_pool()).to_csv(pool_path, index=False, encoding="utf-8-sig")
    out = tmp_path / "draw"
    args = dict(first_draw="本统筹区首次组建工作组")
    args.update(kw)
    ledger.freeze(pool_path, YEAR, "2027-01-06T20:30", "2027年1月6日中国福利彩票3D开奖号码", out, **args)
    clock["t"] = dt.datetime(2027, 1, 6, 13, 0, tzinfo=dt.timezone.utc)  # 21:00 Beijing, after the draw time
    return pool_path, out


def log(out) -> list[dict]:
    return ledger.read_log(out)[0]


# ---- 1. steered seed / forged id / refused runs ---------------------------------------------------

def test_seed_is_derived_from_pool_hash_and_public_value(tmp_path, clock):
    pool_path, out = frozen(tmp_path, clock)
    res, _ = ledger.run_draw(out, pool_path, "472")
    pool_sha = hashlib.sha256(pool_path.read_bytes()).hexdigest()
    assert res.seed == hashlib.sha256(f"{pool_sha}:472".encode()).hexdigest()
    first = res.candidates[res.candidates["eligible"]].sort_values("lottery").iloc[0]
    assert first["lottery"] == hashlib.sha256(f"{res.seed}:{first['person_id']}".encode()).hexdigest()


def test_steered_seed_operator_cannot_try_values_until_one_fits(tmp_path, clock):
    pool_path, out = frozen(tmp_path, clock)
    res, _ = ledger.run_draw(out, pool_path, "472")
    target = next(p for p in make_pool()["person_id"] if p not in res.person_ids)
    refused = 0
    for v in range(20261201, 20261301):  # the 100 "seeds" of the issue, now as public values
        with pytest.raises(YibaoError, match="不同的值不被接受"):
            ledger.run_draw(out, pool_path, str(v))
        refused += 1
    # the same public value gives the same roster (a repeat run), and the target is still not on it
    again, _ = ledger.run_draw(out, pool_path, " 472 ")
    assert again.person_ids == res.person_ids and target not in again.person_ids
    entries = [e for e in log(out) if e["action"] == "draw"]
    assert len(entries) == 102 and sum(e["outcome"] == "refused" for e in entries) == refused == 100
    rec = json.loads((out / "draw.json").read_text(encoding="utf-8"))
    assert len(rec["governance"]["log"]) == 103  # the freeze and every run, refused ones included


def test_draw_before_the_draw_time_is_refused_and_logged(tmp_path, clock):
    pool_path, out = frozen(tmp_path, clock)
    clock["t"] = dt.datetime(2027, 1, 6, 12, 0, tzinfo=dt.timezone.utc)  # 20:00 Beijing, 30 min early
    with pytest.raises(YibaoError, match="未到抽取时刻"):
        ledger.run_draw(out, pool_path, "472")
    assert log(out)[-1]["outcome"] == "refused" and not (out / "draw.json").exists()


def test_freeze_refuses_a_draw_time_already_past(tmp_path, clock):
    pool_path = tmp_path / "pool.csv"
    make_pool().to_csv(pool_path, index=False)
    with pytest.raises(YibaoError, match="不晚于冻结时刻"):
        ledger.freeze(pool_path, YEAR, "2027-01-04T08:00", "福彩3D", tmp_path / "d", first_draw="首次")
    assert log(tmp_path / "d")[-1]["outcome"] == "refused"


def test_forged_id_after_the_seed_is_known_is_refused(tmp_path, clock):
    pool_path, out = frozen(tmp_path, clock)
    pool_sha = hashlib.sha256(pool_path.read_bytes()).hexdigest()
    seed = ledger.derive_seed(pool_sha, "472")
    # an id picked to sort first under the now-known seed, for a chosen person
    forged = next(f"P9{k:03d}" for k in range(5000)
                  if wg.lottery_number(seed, f"P9{k:03d}").startswith("000"))
    pool = make_pool()
    pool.loc[0, "person_id"] = forged
    pool.to_csv(pool_path, index=False, encoding="utf-8-sig")
    with pytest.raises(YibaoError, match="与公示（冻结）的 .* 不同"):
        ledger.run_draw(out, pool_path, "472")
    last = log(out)[-1]
    assert last["outcome"] == "refused" and last["pool_sha256"] != pool_sha
    assert not (out / "draw.json").exists()


def test_edited_freeze_or_log_is_detected(tmp_path, clock):
    pool_path, out = frozen(tmp_path, clock)
    fz = json.loads((out / "freeze.json").read_text(encoding="utf-8"))
    fz["draw_time"] = "2027-01-05T20:30:00+08:00"
    (out / "freeze.json").write_text(json.dumps(fz, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(YibaoError, match="冻结后被改动"):
        ledger.run_draw(out, pool_path, "472")
    lines = (out / "draw-log.jsonl").read_text(encoding="utf-8").splitlines()
    (out / "draw-log.jsonl").write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")  # drop the freeze line
    assert any("prev_sha256" in p for p in ledger.read_log(out)[1])
    with pytest.raises(YibaoError, match="日志不完整"):
        ledger.run_draw(out, pool_path, "472")


def test_second_freeze_needs_a_reason_and_stays_in_the_log(tmp_path, clock):
    pool_path, out = frozen(tmp_path, clock)
    ledger.run_draw(out, pool_path, "472")
    clock["t"] = dt.datetime(2027, 1, 7, 1, 0, tzinfo=dt.timezone.utc)
    with pytest.raises(YibaoError, match="--supersede"):
        ledger.freeze(pool_path, YEAR, "2027-01-08T20:30", "福彩3D", out, first_draw="首次")
    ledger.freeze(pool_path, YEAR, "2027-01-08T20:30", "福彩3D 2027008期", out, first_draw="首次",
                  supersede="成员库漏列一家机构的推荐人选，经组长批准重新公示")
    clock["t"] = dt.datetime(2027, 1, 9, 1, 0, tzinfo=dt.timezone.utc)
    ledger.run_draw(out, pool_path, "815")
    outcomes = [e["outcome"] for e in log(out)]
    assert outcomes == ["frozen", "drawn", "refused", "superseded", "frozen", "drawn"]
    md = (out / "draw.md").read_text(encoding="utf-8")
    assert "经组长批准重新公示" in md and "| 拒绝 |" in md and "| 作废 |" in md


def test_cli_freeze_draw_verify_end_to_end(tmp_path, clock, capsys):
    pool_path = tmp_path / "pool.xlsx"
    make_pool().rename(columns={"person_id": "人员ID", "name": "姓名", "fixmedins_code": "定点医药机构编号",
                                "title": "职务", "employer": "工作单位", "hosp_lv": "医院等级"}).to_excel(pool_path, index=False)
    out = tmp_path / "d"
    assert main(["workgroup", "freeze", "--pool", str(pool_path), "--year", str(YEAR), "--draw-time",
                 "2027-01-06T20:30", "--beacon", "2027年1月6日福彩3D开奖号码", "--first-draw", "首次组建",
                 "--out", str(out)]) == 0
    assert "福彩3D" in (out / "freeze.md").read_text(encoding="utf-8")
    clock["t"] = dt.datetime(2027, 1, 6, 13, 0, tzinfo=dt.timezone.utc)
    assert main(["workgroup", "draw", "--out", str(out), "--pool", str(pool_path), "--beacon-value", "472",
                 "--witness", "王纪检（市纪委监委驻局纪检组）", "--witness", "李代表（第3医院）",
                 "--operator", "赵经办"]) == 0
    md = (out / "draw.md").read_text(encoding="utf-8")
    assert "## 监督与签字" in md and "监督人（纪检监察部门）" in md and "王纪检（市纪委监委驻局纪检组）" in md
    assert "赵经办" in md and "472" in md
    rec = json.loads((out / "draw.json").read_text(encoding="utf-8"))
    assert rec["command"].startswith("yibao workgroup verify")
    capsys.readouterr()
    assert main(["workgroup", "verify", "--out", str(out)]) == 0
    assert "复核结论：全部一致" in capsys.readouterr().out
    # someone edits the roster record afterwards: verify says so
    rec["selected"][0]["person_id"] = "P9999"
    (out / "draw.json").write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    assert main(["workgroup", "verify", "--out", str(out)]) == 1
    assert "不一致  重新计算的名单与记录一致" in capsys.readouterr().out


def test_cli_impossible_pool_refused_at_freeze(tmp_path, clock, capsys):
    pool_path = tmp_path / "pool.csv"
    make_pool(n_hosp=4, per=1).to_csv(pool_path, index=False)
    assert main(["workgroup", "freeze", "--pool", str(pool_path), "--year", str(YEAR), "--draw-time",
                 "2027-01-06T20:30", "--beacon", "福彩3D", "--first-draw", "首次", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "三级医疗机构代表至少 2 人" in err or "二级医疗机构代表至少 3 人" in err
    assert not (tmp_path / "o" / "freeze.json").exists()


# ---- 2. rotation against last year's draw ----------------------------------------------------------

def last_year(tmp_path, clock, pool: pd.DataFrame):
    """Last year's real draw directory (2026), drawn through the ledger."""
    d = tmp_path / "y2026"
    p = tmp_path / "pool2026.csv"
    pool.to_csv(p, index=False)
    clock["t"] = dt.datetime(2026, 1, 4, 9, 0, tzinfo=dt.timezone.utc)
    ledger.freeze(p, YEAR - 1, "2026-01-06T20:30", "福彩3D", d, first_draw="首次")
    clock["t"] = dt.datetime(2026, 1, 7, 9, 0, tzinfo=dt.timezone.utc)
    res, _ = ledger.run_draw(d, p, "123")
    clock["t"] = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.timezone.utc)
    return d, res.person_ids


def test_silent_rotation_last_years_members_never_drawn_without_served_column(tmp_path, clock):
    pool = make_pool().drop(columns=["served_years"])
    hist, members = last_year(tmp_path, clock, pool)
    # same people, new ids this year (the office reissued them): matched on name + institution
    pool2 = pool.copy()
    pool2["person_id"] = pool2["person_id"].str.replace("P", "Q")
    prev, _ = el.read_history(hist, YEAR)
    renamed = {m.replace("P", "Q") for m in members}
    for s in range(40):
        res = wg.draw(pool2, YEAR, f"s{s}", previous=prev, rotation="上年抽取记录")
        assert not set(res.person_ids) & renamed
    cand = wg.annotate(pool2, YEAR, "x", previous=prev)
    assert cand.loc[cand["person_id"].isin(renamed), "reason"].str.contains("2026年已任工作组成员（上年抽取记录）").all()
    checks = {c["check"]: c["result"] for c in wg.check_roster(res)}
    assert any("依据：上年抽取记录" in k and v == "通过" for k, v in checks.items())
    # without last year's list the record does not claim the rotation was checked
    bare = wg.draw(pool2, YEAR, "s0")
    row = next(c for c in wg.check_roster(bare) if "不连任" in c["check"])
    assert row["result"] == "未核对"


def test_freeze_refuses_missing_or_wrong_history(tmp_path, clock):
    pool = make_pool()
    hist, _ = last_year(tmp_path, clock, pool)
    p = tmp_path / "pool.csv"
    pool.to_csv(p, index=False)
    with pytest.raises(YibaoError, match="--history"):
        ledger.freeze(p, YEAR, "2027-01-06T20:30", "福彩3D", tmp_path / "a")  # neither history nor first-draw
    with pytest.raises(YibaoError, match="找不到上年抽取记录"):
        ledger.freeze(p, YEAR, "2027-01-06T20:30", "福彩3D", tmp_path / "b", history=tmp_path / "nowhere")
    with pytest.raises(YibaoError, match="需要 2027 年的记录"):
        ledger.freeze(p, YEAR + 1, "2027-01-06T20:30", "福彩3D", tmp_path / "c", history=hist)
    roster = pd.read_excel(hist / "roster.xlsx", dtype=str)
    roster.loc[0, "人员ID"] = "P0999"
    roster.to_excel(hist / "roster.xlsx", index=False)
    with pytest.raises(YibaoError, match="上年名单与上年抽取记录 draw.json 的入选名单不一致"):
        ledger.freeze(p, YEAR, "2027-01-06T20:30", "福彩3D", tmp_path / "e", history=hist)
    (hist / "draw.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(YibaoError, match="无法读取"):
        ledger.freeze(p, YEAR, "2027-01-06T20:30", "福彩3D", tmp_path / "f", history=hist)
    for d in "abcef":
        assert log(tmp_path / d)[-1]["outcome"] == "refused"


# ---- 2. eligibility from data ------------------------------------------------------------------------

@pytest.mark.parametrize("title, employer, ok", [
    ("信息科工程师（东软派驻）", "第0医院", False),
    ("医保接口技术支持", "第0医院", False),
    ("HIS维护人员", "第0医院", False),
    ("临床科室医生", "第0医院", False),
    ("医保办科员", "第0医院", False),
    ("医院管理有限公司总经理（院长）", "第0医院", True),
    ("副院长", "第0医院", True),
    ("医保办主任", "东软集团股份有限公司", False),
    ("财务科长", "", False),
    ("计财处处长", "本院", True),
    ("医疗保险管理处负责人", "H0000", True),
])
def test_keyword_misses_titles_and_employer(title, employer, ok):
    pool = make_pool(n_hosp=1, per=1)
    pool.loc[0, ["title", "employer"]] = [title, employer]
    cand = wg.annotate(pool, YEAR, "x")
    assert bool(cand.loc[0, "eligible"]) is ok, cand.loc[0, "reason"]


def test_title_override_list_is_explicit_and_printed(tmp_path):
    pool = make_pool(n_hosp=1, per=1)
    pool.loc[0, "title"] = "院长助理（分管医保）"
    assert not wg.annotate(pool, YEAR, "x").loc[0, "eligible"]
    ov = tmp_path / "ov.csv"
    pd.DataFrame({"person_id": ["P0000"], "role": ["院领导"], "reason": ["院长办公会指定分管医保"]}).to_csv(ov, index=False)
    cand = wg.annotate(pool, YEAR, "x", overrides=el.read_overrides(ov))
    assert cand.loc[0, "eligible"] and cand.loc[0, "role"] == "院领导（例外）"
    pd.DataFrame({"person_id": ["P0000"], "role": ["院领导"], "reason": [""]}).to_csv(ov, index=False)
    with pytest.raises(YibaoError, match="未写理由"):
        el.read_overrides(ov)


def test_one_person_one_ticket_and_two_nominees_per_institution():
    pool = make_pool()
    h = "H0003"
    extra = pd.DataFrame([{"person_id": f"X{k}", "name": f"加塞{k}", "fixmedins_code": h, "fixmedins_name": "第3医院",
                           "hosp_lv": LVS[3], "title": "副院长", "employer": "第3医院", "served_years": ""}
                          for k in range(5)])
    same = pool[pool["fixmedins_code"] == "H0004"].iloc[[0]].copy()
    same["person_id"], same["name"] = "Z0001", " ".join(same["name"].iloc[0])  # "成 员 8": same person, new id
    pool2 = pd.concat([pool, extra, same], ignore_index=True)
    cand = wg.annotate(pool2, YEAR, "x").set_index("person_id")
    assert cand.loc[[f"X{k}" for k in range(5)], "reason"].str.contains("超出每家机构推荐2人的上限").all()
    assert "同一人重复推荐" in cand.loc["Z0001", "reason"]
    # five extra nominees do not raise the hospital's chance of a seat
    seats = sum(h in set(wg.draw(pool2, YEAR, f"s{s}").roster["fixmedins_code"]) for s in range(200))
    base = sum(h in set(wg.draw(pool, YEAR, f"s{s}").roster["fixmedins_code"]) for s in range(200))
    assert seats == base

