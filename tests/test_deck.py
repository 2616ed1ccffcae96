"""The 发布会 deck (issue 14, Must 4): ``yibao run --kind quarterly --formats pptx`` on a small generated region,
rendered by the builtin route (pandoc + reference deck) and by Quarto's pptx format, each opened in LibreOffice
(``soffice --headless --convert-to pdf``) and read back: every slide's text inside the slide and above the
confidentiality line, that line on every slide, Chinese in an SC face, the key figures equal to indicators.csv,
the named hospitals of findings.csv with the deadline, 下一步 with dates."""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import readback
from conftest import needs, plan_rejects
from quarto_support import render_with_quarto

from yibao import cli, fmt
from yibao.publications.display import Report
from yibao.render import deck
from yibao.render import engine as render

REGION, PERIOD, RELEASE = "350100", "2026Q3", "2026-11-16"
CONF = "数据仅限本统筹地区定点医药机构内部使用，不得对外传播"
#: indicator id → how the key-figure slide writes it (the report's own fmt functions)
KEY = {"1": fmt.money, "8": fmt.money, "15": fmt.balance, "28": fmt.pct, "29": fmt.pct, "30": fmt.pct,
       "x_cmi": lambda v: fmt.ratio(v, 2), "40": lambda v: fmt.ratio(v, 2), "45": fmt.pct, "41": fmt.pct}


def _lo() -> None:
    needs(shutil.which("soffice") is not None, "LibreOffice (soffice; Debian: libreoffice-impress)")
    needs(shutil.which("pdftotext") is not None and shutil.which("pdftoppm") is not None,
          "poppler-utils (pdftotext, pdftoppm)")


def to_pdf(pptx: Path, work: Path) -> Path:
    """LibreOffice's rendering of a deck, with a private profile (parallel tests do not share one)."""
    work.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["soffice", f"-env:UserInstallation=file://{work / 'lo-profile'}", "--headless",
                           "--convert-to", "pdf", "--outdir", str(work), str(pptx)],
                          capture_output=True, text=True, timeout=300)
    pdf = work / (pptx.stem + ".pdf")
    assert pdf.exists(), f"LibreOffice did not convert {pptx}: {proc.stderr[-500:]}"
    return pdf


def pages_words(pdf: Path) -> list[dict]:
    """pdftotext -bbox: per page its size and words with their boxes (points)."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    xml = re.sub(r"<!DOCTYPE[^>]*>", "", xml)
    root = ET.fromstring(xml)
    out = []
    for page in root.iter("{http://www.w3.org/1999/xhtml}page"):
        words = [{"t": w.text or "", **{k: float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")}}
                 for w in page.iter("{http://www.w3.org/1999/xhtml}word")]
        out.append({"w": float(page.get("width")), "h": float(page.get("height")), "words": words})
    return out


# ---- the deck of a generated region, through both routes ---------------------------------------------------

@pytest.fixture(scope="module")
def run_dir(small_data, tmp_path_factory) -> Path:
    """``yibao run --kind quarterly --formats pptx`` (builtin route) for one region of the small dataset."""
    out = tmp_path_factory.mktemp("deck-run")
    rc = cli.main(["run", "--data", str(small_data), "--period", PERIOD, "--kind", "quarterly", "--region", REGION,
                   "--formats", "pptx", "--engine", "builtin", "--release-date", RELEASE, "--out", str(out),
                   "--no-progress"])
    assert rc == 0, "yibao run --formats pptx failed"
    return out / PERIOD / REGION


@pytest.fixture(scope="module", params=["builtin", "quarto"])
def rendered(request, run_dir, tmp_path_factory) -> dict:
    _lo()
    if request.param == "builtin":
        pptx = run_dir / "quarterly.pptx"
    else:
        out = tmp_path_factory.mktemp("deck-quarto")
        pptx = render_with_quarto(run_dir / "quarterly.ipynb", out, formats=("pptx",))["pptx"]
    pdf = to_pdf(pptx, tmp_path_factory.mktemp(f"deck-lo-{request.param}"))
    pages = pages_words(pdf)
    texts = [readback.flat(p) for p in readback.pdf_pages(pdf)]
    return {"route": request.param, "pptx": pptx, "pdf": pdf, "pages": pages, "texts": texts}


def test_run_writes_only_the_deck_and_the_data_files(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert "quarterly.pptx" in names and "indicators.csv" in names and "quarterly.ipynb" in names
    assert not names & {"quarterly.html", "quarterly.docx", "quarterly.pdf"}
    # the 审议 record lists the deck among the publication's files and its privacy checks read the slides
    import json
    rec = json.loads((run_dir / "review.json").read_text(encoding="utf-8"))
    assert "quarterly.pptx" in {f["文件"] for f in rec["files"]}
    c1 = {c["id"]: c for c in rec["checks"]}["C1"]
    # what C1 scanned: the deck, the notebook and the data files (indicators, checks, digao, findings,
    # commendations, benchmarks) — 8 files, the deck among them
    assert "8 个文件" in c1["detail"] and "benchmarks.csv" in names, c1


def test_every_slide_keeps_its_text_inside_the_slide_and_above_the_confidentiality_line(rendered):
    footer_top = deck.FOOTER_TOP * 72
    assert len(rendered["pages"]) >= 8
    for n, page in enumerate(rendered["pages"], start=1):
        assert page["words"], f"slide {n} is blank"
        for w in page["words"]:
            assert 0 <= w["xMin"] and w["xMax"] <= page["w"] and 0 <= w["yMin"] and w["yMax"] <= page["h"], \
                f"{rendered['route']} slide {n}: {w['t']!r} lies outside the slide"
        body = [w for w in page["words"] if w["yMin"] < footer_top - 1]
        foot = [w for w in page["words"] if w["yMin"] >= footer_top - 1]
        low = [w["t"] for w in body if w["yMax"] > footer_top]
        assert not low, f"{rendered['route']} slide {n}: text runs into the confidentiality line: {low}"
        # the band below the body holds the confidentiality line and the slide number, nothing else
        assert readback.flat("".join(w["t"] for w in foot)) == readback.flat(
            f"内部资料知悉范围：{CONF}{n}/{len(rendered['pages'])}"), f"slide {n}: foot {[w['t'] for w in foot]}"


def test_shapes_stay_on_the_slide_and_tables_fit_their_room(rendered):
    from pptx import Presentation
    from pptx.util import Emu
    prs = Presentation(str(rendered["pptx"]))
    for n, slide in enumerate(prs.slides, start=1):
        for sh in slide.shapes:
            assert sh.left >= 0 and sh.top >= 0, f"slide {n}: {sh.name} starts off the slide"
            assert sh.left + sh.width <= prs.slide_width and sh.top + sh.height <= prs.slide_height, \
                f"slide {n}: {sh.name} ends off the slide"
            if getattr(sh, "has_table", False) and sh.has_table:
                widths = [Emu(c.width).inches for c in sh.table.columns]
                tall = sum(max(deck._row_height([c.text_frame.text], [w]) for c, w in zip(r.cells, widths))
                           for r in sh.table.rows)
                assert Emu(sh.top).inches + tall <= deck.FOOTER_TOP, f"slide {n}: the table would run off"


def test_title_slide_and_the_confidentiality_line_on_every_slide(rendered):
    first = rendered["texts"][0]
    for part in ("东岚市医保数据季度发布分析报告", "东岚市2026年第三季度", "面对面数据发布", "东岚市医保数据工作组",
                 "2026年11月16日"):
        assert part in first, f"title slide lacks {part}"
    for n, t in enumerate(rendered["texts"], start=1):
        assert "内部资料" in t and f"知悉范围：{CONF}" in t, f"slide {n} lacks the confidentiality line"


def test_key_figures_equal_indicators_csv(rendered, run_dir):
    ind = pd.read_csv(run_dir / "indicators.csv", dtype={"indicator_id": str, "fixmedins_code": str})
    region = ind[ind["fixmedins_code"].isna() & (ind["status"] == "ok")].set_index("indicator_id")["value"]
    text = "".join(rendered["texts"])
    for group, slide_title in (("钱", "钱：基金收支"), ("效", "效：支付方式改革运行成效"), ("错", "错：重点关注指标")):
        assert any(t.startswith(slide_title) for t in rendered["texts"]), f"no {group} slide"
    for iid, write in KEY.items():
        want = readback.flat(write(float(region[iid])))
        assert want in text, f"key figure {iid}: {want} not on the deck"
    # hand check of one figure: indicators.csv holds 元, the slide 亿元/万元 with 2 decimals
    v1 = float(region["1"])
    assert (f"{v1 / 1e8:,.2f}亿元" if v1 >= 1e8 else f"{v1 / 1e4:,.2f}万元") in text


def test_named_hospitals_deadline_and_next_steps(rendered, run_dir, small_data):
    f = pd.read_csv(run_dir / "findings.csv", dtype=str)
    named = f[f["severity"].isin(["high", "medium"])]
    assert len(named), "the small dataset plants anomalies: some hospital must be named"
    text = "".join(rendered["texts"])
    for name in named["fixmedins_name"].unique():
        assert readback.flat(name) in text, f"named hospital {name} missing from the deck"
    assert f"{len(named)}条" in text and f"涉及{named['fixmedins_code'].nunique()}家机构" in text
    # 15 days after the release date (params explain_days)
    assert "请以下机构于2026年12月1日前提交书面说明" in text
    nxt = [t for t in rendered["texts"] if t.startswith("下一步工作安排")]
    assert nxt and "问题线索核查说明（2026年12月1日）" in nxt[0] and "意见反馈（收到报告后10个工作日内）" in nxt[0]
    # clean hospitals are not named: no other hospital of the region is on the explain slides
    explain = "".join(t for t in rendered["texts"] if t.startswith("请以下机构于"))
    inst = pd.read_csv(small_data / "fixmedins.csv", dtype=str)
    clean = set(inst[inst["poolarea_no"] == REGION]["fixmedins_name"]) - set(named["fixmedins_name"])
    assert clean, "the region should have hospitals without findings"
    # (a clean name that is a prefix of a named one, 东岚市人民医院 / 东岚市人民医院分院, would be ambiguous)
    clean = {c for c in clean if not any(n.startswith(c) for n in named["fixmedins_name"])}
    assert not [c for c in clean if readback.flat(c) in explain]


def test_chinese_glyphs_in_an_sc_face(rendered, tmp_path):
    out = subprocess.run(["pdffonts", str(rendered["pdf"])], capture_output=True, text=True).stdout
    assert re.search(r"NotoSansCJK|NotoSerifCJK|SourceHan", out), out
    assert "东岚市医保数据季度发布分析报告" in rendered["texts"][0]
    # pdffonts names every face of the Noto CJK collection ...jp (one shared CFF); the face shows in the glyphs:
    # the deck's fonts render 直 / 骨 exactly as Noto Sans CJK SC does, and not as the JP face
    probes = {}
    for name, face, lang in (("deck", deck.EA_FONT, deck.LANG), ("sc", "Noto Sans CJK SC", "zh-CN"),
                             ("jp", "Noto Sans CJK JP", "ja-JP")):
        probes[name] = _probe_png(tmp_path / name, face, lang)
    assert probes["deck"] == probes["sc"], "the deck's East Asian font does not render in the SC face"
    assert probes["sc"] != probes["jp"], "the probe cannot tell SC from JP (no CJK font?)"


def test_fonts_in_the_pptx_xml_are_the_windows_chinese_faces(rendered):
    """What PowerPoint and WPS read (docs/render.md, "Fonts"): the theme's major and minor fonts name 微软雅黑 as
    the East Asian face (GB2312 charset and its panose, so an Office without it substitutes a Chinese sans such as
    黑体) and as the Hans script font; every run of every slide, table cells included, names 微软雅黑 and
    zh-CN itself; the default text styles of the master and of the presentation are zh-CN (pandoc's: en-US)."""
    import zipfile
    a = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
    z = zipfile.ZipFile(rendered["pptx"])
    assert deck.EA_FALLBACKS[0] == deck.EA_FONT == "微软雅黑"
    themes = [n for n in z.namelist() if re.fullmatch(r"ppt/theme/theme\d+\.xml", n)]
    assert themes
    for name in themes:
        scheme = ET.fromstring(z.read(name)).find(f".//{a}fontScheme")
        for kind in ("majorFont", "minorFont"):
            font = scheme.find(f"{a}{kind}")
            ea = font.find(f"{a}ea")
            assert (ea.get("typeface"), ea.get("charset"), ea.get("panose")) == (
                "微软雅黑", "-122", deck.EA_PANOSE), (name, kind, ea.attrib)
            assert font.find(f"{a}latin").get("typeface") == "Arial"
            scripts = {f.get("script"): f.get("typeface") for f in font.findall(f"{a}font")}
            assert scripts.get("Hans") == "微软雅黑" and "Hant" not in scripts, (name, kind)
    slides = [n for n in z.namelist() if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)]
    runs = tables = 0
    for name in slides:
        root = ET.fromstring(z.read(name))
        tables += len(root.findall(f".//{a}tbl"))
        for r in root.iter(f"{a}r"):
            runs += 1
            rpr = r.find(f"{a}rPr")
            assert rpr is not None and rpr.get("lang") == "zh-CN", (name, r.findtext(f"{a}t"))
            ea, latin = rpr.find(f"{a}ea"), rpr.find(f"{a}latin")
            assert ea is not None and ea.get("typeface") == "微软雅黑", (name, r.findtext(f"{a}t"))
            assert latin is not None and latin.get("typeface") == "Arial"
    assert runs > 50 and tables >= 2, (runs, tables)
    master = ET.fromstring(z.read("ppt/slideMasters/slideMaster1.xml")).find(
        "{http://schemas.openxmlformats.org/presentationml/2006/main}txStyles")
    pres = ET.fromstring(z.read("ppt/presentation.xml")).find(
        "{http://schemas.openxmlformats.org/presentationml/2006/main}defaultTextStyle")
    langs = {d.get("lang") for el in (master, pres) for d in el.iter(f"{a}defRPr")}
    assert langs == {"zh-CN"}, langs


def _probe_png(work: Path, face: str, lang: str) -> bytes:
    from pptx import Presentation
    from pptx.oxml.ns import qn
    from pptx.util import Inches, Pt
    work.mkdir()
    prs = Presentation()
    s = prs.slides.add_slide(prs.slide_layouts[6])
    r = s.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1)).text_frame.paragraphs[0].add_run()
    r.text = "直骨返"
    r.font.size = Pt(40)
    rpr = r._r.get_or_add_rPr()
    deck._set_run_fonts(rpr)
    rpr.set("lang", lang)
    rpr.find(qn("a:ea")).set("typeface", face)
    prs.save(str(work / "probe.pptx"))
    pdf = to_pdf(work / "probe.pptx", work)
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-singlefile", str(pdf), str(work / "probe")], check=True)
    return (work / "probe.png").read_bytes()


# ---- the renderer on its own: escaping, clear errors -------------------------------------------------------

HOSTILE = "<b>东岚*医院*</b> | $x$ @y [z](http://e.x)"


def _deck_notebook(tmp_path: Path, monkeypatch) -> Path:
    got = []

    def emit(data, meta, extra_metadata=None):
        got.append(nbformat.v4.new_output("display_data", data=data, metadata={"yibao": meta}))

    monkeypatch.setattr(Report, "_emit", staticmethod(emit))
    rep = Report()
    rep.deck("key", group="钱", title="钱：基金收支",
             figures=[{"indicator": "1", "label": "医保基金收入", "value": "1.55亿元", "note": "同比增长7.0%"}])
    rep.deck("explain", due="2026年12月1日", to="东岚市医疗保障局",
             rows=[{"name": HOSTILE, "topics": ["门诊住院人次比明显偏低的原因"], "count": "2"}])
    rep.deck("next", items=[{"title": "意见反馈", "date": "10个工作日内", "text": "通过数据工作组邮箱反馈"}])
    monkeypatch.undo()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("q.overview(ctx, rep)")
    cell.outputs = got
    nb.cells = [cell]
    nb.metadata["yibao"] = {"title": "东岚市医保数据季度发布分析报告", "subtitle": "2026年第三季度",
                            "period_label": "2026年第三季度", "region_name": "东岚市", "date": RELEASE,
                            "issuer": "东岚市医保数据工作组", "confidentiality": CONF}
    path = tmp_path / "quarterly.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_data_strings_are_literal_on_the_slides(tmp_path, monkeypatch):
    from pptx import Presentation
    nb = _deck_notebook(tmp_path, monkeypatch)
    done = render.render(nb, formats=("pptx",), engine="builtin", out_dir=tmp_path / "out")
    prs = Presentation(str(done["pptx"]))
    texts = [sh.text_frame.text if sh.has_text_frame else "\n".join(c.text_frame.text for r in sh.table.rows
                                                                       for c in r.cells)
             for s in prs.slides for sh in s.shapes if sh.has_text_frame or getattr(sh, "has_table", False)]
    assert HOSTILE in texts or any(HOSTILE in t for t in texts), texts
    assert prs.core_properties.language == "zh-CN" and prs.core_properties.author == "东岚市医保数据工作组"
    # every run carries zh-CN and the East Asian font
    for s in prs.slides:
        for sh in s.shapes:
            if sh.has_text_frame:
                for p in sh.text_frame.paragraphs:
                    for r in p.runs:
                        rpr = r._r.get_or_add_rPr()
                        assert rpr.get("lang") == "zh-CN"
                        assert rpr.find("{http://schemas.openxmlformats.org/drawingml/2006/main}ea").get(
                            "typeface") == deck.EA_FONT
    # the same inputs and release date: the same bytes
    again = render.render(nb, formats=("pptx",), engine="builtin", out_dir=tmp_path / "again")
    assert again["pptx"].read_bytes() == done["pptx"].read_bytes()


def test_a_notebook_without_deck_content_is_a_clear_error(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("rep.md('x')")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": "正文"},
                                           metadata={"yibao": {"kind": "md"}})]
    nb.cells = [cell]
    path = tmp_path / "monthly.ipynb"
    nbformat.write(nb, str(path))
    with pytest.raises(render.RenderError, match="没有发布会幻灯片内容"):
        render.render(path, formats=("pptx",), engine="builtin", out_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "monthly.pptx").exists()


def test_explain_rows_split_over_slides_when_they_would_not_fit():
    rows = [{"name": f"东岚市第{i}人民医院", "topics": ["医保目录外费用占比偏高的原因，是否存在将目录内费用转为患者自付"] * 2,
             "count": "2"} for i in range(30)]
    slides = deck._explain_slides({"due": "2026年12月1日", "to": "东岚市医疗保障局", "rows": rows})
    assert len(slides) > 2 and "（续1）" in slides[1]
    room = deck.BODY_BOTTOM - deck.BODY_TOP
    for s in slides:
        body = [ln for ln in s.splitlines() if ln.startswith("| 东岚市")]
        assert body and sum(deck._row_height([c.strip() for c in ln.strip("|").split("|")]) for ln in body) <= room
    assert sum(s.count("| 东岚市") for s in slides) == 30


# ---- `deck` in the publication plan ---------------------------------------------------------------------

def test_plan_quarterly_releases_carry_deck_and_the_yaml_keeps_it(tmp_path):
    from yibao.publications import plan
    s = plan.schedule(2027)
    assert [e.get("deck") for e in s if e["kind"] == "quarterly"] == [True] * 4
    assert not [e for e in s if e["kind"] != "quarterly" and e.get("deck")]
    p = {"year": 2027, "data": None, "regions": {"350100": {"name": "东岚市", "pay_method": "DRG", "releases": s}}}
    text = plan.dump_plan(p)
    assert '{kind: quarterly, period: "2026Q4", date: "2027-02-15", form: 面对面, deck: true}' in text
    path = tmp_path / "plan-2027.yaml"
    path.write_text(text, encoding="utf-8")
    assert plan.load_plan(path)["regions"]["350100"]["releases"] == s
    plan_rejects(path, [("{kind: monthly, period: 2027-01, date: 2027-02-22, deck: true}", "只有季发布"),
                        ("{kind: quarterly, period: 2026Q4, date: 2027-02-15, deck: yes please}", "true 或 false")])


def test_run_plan_due_adds_the_deck_only_where_the_plan_asks(small_data, tmp_path, monkeypatch):
    from yibao.batch import runner
    from yibao.publications import plan
    src = {"year": 2026, "data": str(small_data), "regions": {
        "350100": {"name": "东岚市", "pay_method": "DRG", "releases": [
            {"kind": "quarterly", "period": "2026Q2", "date": "2026-08-17", "form": "线上", "deck": True}]},
        "350200": {"name": "西岭市", "pay_method": "DIP", "releases": [
            {"kind": "quarterly", "period": "2026Q2", "date": "2026-08-17", "form": "书面", "deck": False}]}}}
    path = tmp_path / "plan-2026.yaml"
    path.write_text(plan.dump_plan(src), encoding="utf-8")
    calls = []
    monkeypatch.setattr(runner, "run_batch", lambda jobs, data, out, formats, *a, **k:
                        calls.append(({j.region for j in jobs}, list(formats))) or [])
    monkeypatch.setattr(runner, "report_results", lambda results, out: 0)
    assert cli.main(["run", "--plan", str(path), "--due", "2026-08", "--formats", "html,docx", "--out",
                     str(tmp_path / "out"), "--no-progress"]) == 0
    assert sorted(calls) == [({"350100"}, ["html", "docx", "pptx"]), ({"350200"}, ["html", "docx"])]
