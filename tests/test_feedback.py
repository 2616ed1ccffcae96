"""Feedback follow-up (issue 7.4): the previous period's figures and the report section."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from yibao.publications import feedback
from yibao.publications.display import Report

ROWS = [  # received, code, channel, topic, text, status, response_date, response
    ("2025-01-10", "H001", "邮箱", "数据口径", "希望说明CMI口径", "已采纳", "2025-01-20", "已在附录中补充CMI口径说明"),
    ("2025-02-03", "H002", "座谈会", "发布频次", "希望按月推送", "部分采纳", "2025-02-10", "月推送已增加入组情况"),
    ("2025-02-18", "H002", "邮箱", "数据口径", "希望公开标杆值", "已采纳", "2025-03-10", "季报增加同级标杆值"),
    ("2025-03-15", "H001", "电话", "数据口径", "请联系13912345678提供明细", "不予采纳", "2025-04-01", "涉及个人信息不予提供"),
    ("2025-03-20", "H002", "邮箱", "结算进度", "拨付慢", "", "", ""),
    ("2025-03-25", "H101", "邮箱", "数据口径", "另一统筹区", "已采纳", "2025-03-30", "x"),   # other region
    ("2024-12-30", "H001", "邮箱", "数据口径", "上上期", "已采纳", "2025-01-05", "y"),        # before the period
    ("2025-04-02", "H001", "邮箱", "数据口径", "本期", "已采纳", "2025-04-05", "z"),          # current period
]


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
    rows = [r for r in ROWS if "2025-01-01" <= r[0] < "2025-04-01" and r[1] in ("H001", "H002")]
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
    assert "2025年第一季度" in text
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
        ctx = SimpleNamespace(wh=wh, region="350100", period=Period.parse("2024Q3"))
        rep = Report()
        assert feedback.quarterly_section(ctx, rep)
    assert "未收到" in rep.items[-1]["markdown"]


def test_status_spellings():
    assert feedback.normalise_status("不予采纳") == "未采纳"
    assert feedback.normalise_status("部分采纳") == "部分采纳"
    assert feedback.normalise_status("采纳") == "已采纳"
    assert feedback.normalise_status("") == "处理中"
