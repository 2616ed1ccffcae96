"""Feedback follow-up (issue 7.4): the previous period's figures and the report section."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from yibao.publications import feedback
from yibao.publications.display import Report

ROWS = [  # received, code, channel, topic, text, status, response_date, response
    # the 2025Q2 quarterly report is released 2025-08-15; the previous one (2025Q1) on 2025-05-15
    ("2025-05-20", "H001", "邮箱", "数据口径", "希望说明CMI口径", "已采纳", "2025-05-30", "已在附录中补充CMI口径说明"),
    ("2025-06-03", "H002", "座谈会", "发布频次", "希望按月推送", "部分采纳", "2025-06-10", "月推送已增加入组情况"),
    ("2025-06-18", "H002", "邮箱", "数据口径", "希望公开标杆值", "已采纳", "2025-07-10", "季报增加同级标杆值"),
    ("2025-07-15", "H001", "电话", "数据口径", "请联系13912345678提供明细", "不予采纳", "2025-08-01", "涉及个人信息不予提供"),
    ("2025-07-20", "H002", "邮箱", "结算进度", "拨付慢", "", "", ""),                         # open: carried forward
    ("2025-07-25", "H101", "邮箱", "数据口径", "另一统筹区", "已采纳", "2025-07-30", "x"),   # other region
    ("2025-05-14", "H001", "邮箱", "数据口径", "上一窗口收到", "已采纳", "2025-05-16", "y"),  # closed in the window
    ("2025-03-01", "H002", "座谈会", "结算进度", "旧意见仍在研究", "研究中", "", ""),         # still open, older
    ("2025-08-15", "H001", "邮箱", "数据口径", "发布当天收到", "已采纳", "2025-08-20", "z"),  # next window
]
WINDOW = ("2025-05-15", "2025-08-15")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fb")
    pd.DataFrame([
        {"fixmedins_code": "H001", "fixmedins_name": "东岚市第一人民医院", "poolarea_no": "350100", "fixmedins_type": "1",
         "hosp_lv": "01", "beds": "800", "drg_dip_flag": "1"},
        {"fixmedins_code": "H002", "fixmedins_name": "东岚市中医院", "poolarea_no": "350100", "fixmedins_type": "1",
         "hosp_lv": "05", "beds": "300", "drg_dip_flag": "1"},
        {"fixmedins_code": "H101", "fixmedins_name": "西岭市人民医院", "poolarea_no": "350200", "fixmedins_type": "1",
         "hosp_lv": "01", "beds": "900", "drg_dip_flag": "1"},
    ]).to_csv(d / "fixmedins.csv", index=False)
    pd.DataFrame(ROWS, columns=["received_date", "fixmedins_code", "channel", "topic", "text", "status",
                                "response_date", "response"]).to_csv(d / "feedback.csv", index=False)
    return d


def expected() -> dict:
    """Computed here from ROWS, independently of the module."""
    rows = [r for r in ROWS if WINDOW[0] <= r[0] < WINDOW[1] and r[1] in ("H001", "H002")]
    days = [(pd.Timestamp(r[6]) - pd.Timestamp(r[0])).days for r in rows if r[6]]
    return {"total": len(rows), "days": days}


def test_summary_of_previous_period(data):
    s = feedback.summarise(data, "350100", "2025Q2")
    e = expected()
    assert s["feedback_period"] == "2025Q1" and s["total"] == e["total"] == 5
    assert s["by_status"] == {"已采纳": 2, "部分采纳": 1, "未采纳": 1, "处理中": 1}
    assert s["adoption_rate"] == pytest.approx(3 / 4 * 100)
    assert s["response_days"]["n"] == len(e["days"])
    assert s["response_days"]["median"] == pytest.approx(pd.Series(e["days"]).median())
    assert s["response_days"]["mean"] == pytest.approx(sum(e["days"]) / len(e["days"]))
    topics = {t["topic"]: t["total"] for t in s["by_topic"]}
    assert topics == {"数据口径": 3, "发布频次": 1, "结算进度": 1}
    assert {a["topic"] for a in s["adopted"]} == {"数据口径", "发布频次"}
    assert all("西岭" not in a["fixmedins_name"] for a in s["adopted"])


def test_section_shows_the_figures(data):
    s = feedback.summarise(data, "350100", "2025Q2")
    rep = Report()
    assert feedback.report_section(rep, s)
    text = "\n".join(i["markdown"] for i in rep.items)
    e = expected()
    assert "上期发布（2025年第一季度季发布，2025年5月15日）以来" in text
    assert f"意见建议 {e['total']} 条" in text
    assert "已采纳 2 条、部分采纳 1 条、未采纳 1 条、处理中 1 条" in text
    assert "采纳率（含部分采纳）为 75.0%" in text
    med = pd.Series(e["days"]).median()
    assert f"中位数 {med:.1f} 天" in text
    assert "季报增加同级标杆值" in text and "东岚市中医院" in text
    assert "13912345678" not in text


def test_absent_table_gives_none_and_no_output(tmp_path, data):
    d = tmp_path / "nofb"
    d.mkdir()
    (d / "fixmedins.csv").write_text((data / "fixmedins.csv").read_text(encoding="utf-8"), encoding="utf-8")
    assert feedback.summarise(d, "350100", "2025Q2") is None
    rep = Report()
    assert feedback.report_section(rep, None) is False and rep.items == []


def test_empty_previous_period_and_context(data):
    from yibao.data.periods import Period
    from yibao.data.warehouse import Warehouse
    with Warehouse(data) as wh:
        ctx = SimpleNamespace(wh=wh, region="350100", period=Period.parse("2024Q2"))
        rep = Report()
        assert feedback.quarterly_section(ctx, rep)
    assert "未收到" in rep.items[-1]["markdown"]


def test_status_spellings():
    assert feedback.normalise_status("不予采纳") == "未采纳"
    assert feedback.normalise_status("部分采纳") == "部分采纳"
    assert feedback.normalise_status("采纳") == "已采纳"
    assert feedback.normalise_status("") == "处理中"


# ---- issue 17: by release date, carried forward, every kind -------------------------------------

def test_late_feedback_appears_in_the_next_release_not_two_later(data):
    q2 = feedback.summarise(data, "350100", "2025Q2")
    q3 = feedback.summarise(data, "350100", "2025Q3")
    assert (q2["window_start"], q2["window_end"]) == WINDOW
    texts = lambda s: {a["text"] for a in s["adopted"]}  # noqa: E731
    # received 5 days after the Q1 report (calendar Q2): shown in the Q2 report, not only in Q3's
    assert "希望说明CMI口径" in texts(q2) and "希望说明CMI口径" not in texts(q3)
    assert "发布当天收到" in texts(q3) and "发布当天收到" not in texts(q2)


def test_open_items_are_carried_forward_until_closed(data):
    q2 = feedback.summarise(data, "350100", "2025Q2")
    assert [a["text"] for a in q2["carried_open"]] == ["旧意见仍在研究"]
    assert [a["text"] for a in q2["window_open"]] == ["拨付慢"]
    assert [a["text"] for a in q2["carried_closed"]] == ["上一窗口收到"]
    q3 = feedback.summarise(data, "350100", "2025Q3")
    assert [a["text"] for a in q3["carried_open"]] == ["旧意见仍在研究", "拨付慢"]
    assert q3["carried_closed"] == []
    rep = Report()
    feedback.report_section(rep, q3)
    text = "\n".join(i["markdown"] for i in rep.items)
    assert "尚在处理中的意见（2 条，结转下期）" in text and "拨付慢" in text


def test_monthly_and_annual_have_the_section(data, project_dir):
    m = feedback.summarise(data, "350100", "2025-06", "monthly")
    assert (m["window_start"], m["window_end"]) == ("2025-06-20", "2025-07-21")
    assert m["total"] == 2 and m["previous_release"] == "2025年5月月推送，2025年6月20日"
    a = feedback.summarise(data, "350100", "2024", "annual")
    assert (a["window_start"], a["window_end"]) == ("2024-05-20", "2025-05-20")
    assert a["total"] == 2
    for nb, kind in (("monthly", "monthly"), ("annual", "annual"), ("quarterly", "quarterly")):
        src = (project_dir / "notebooks" / f"{nb}.ipynb").read_text(encoding="utf-8")
        assert f'feedback.section(ctx, rep, \\"{kind}\\"' in src, nb


def test_release_date_given_to_the_notebook_sets_the_window(data):
    s = feedback.summarise(data, "350100", "2025Q2", release="2025-07-16")
    assert s["window_end"] == "2025-07-16" and s["total"] == 4
