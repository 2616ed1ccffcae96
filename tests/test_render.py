"""Rendering (issue 3): the builtin pandoc + Typst route read back from HTML, DOCX and PDF; the Quarto
route against a stand-in `quarto` on PATH; bad input; atomic outputs."""
from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import readback

from yibao import cli
from yibao.escape import strong
from yibao.render import engine as render
from yibao.publications.display import Report

TITLE = "东岚市医保数据季度发布分析报告"
CONF = "数据仅限本统筹地区定点医药机构内部使用，不得对外传播"
SECRET = "P35010000123"  # a person number that sits in the injected parameters and a print(): never in output


def _outputs(monkeypatch, build) -> list[dict]:
    """The display outputs Report would put into a notebook cell."""
    got = []

    def emit(data, meta, extra_metadata=None):
        md = {"yibao": meta}
        md.update(extra_metadata or {})
        got.append(nbformat.v4.new_output("display_data", data=data, metadata=md))

    monkeypatch.setattr(Report, "_emit", staticmethod(emit))
    build()
    return got


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    try:
        import matplotlib
        matplotlib.use("Agg")
        from yibao.publications import charts
        charts.setup()
        rep = Report()

        def body():
            rep.md("2026年1-9月，东岚市医保基金支出合计1.55亿元，同比增长7.0%。其中" + strong("住院") + "统筹基金支出5,233.10万元。")
            rep.table(pd.DataFrame({"机构名称": ["东岚市第一医院", "东岚市中医院"], "出院人次": ["12,345", "6,789"],
                                    "质控通过率": ["95.12%", "88.40%"]}),
                      "2026年第三季度各医院结算清单质控情况", note="质控通过率＝质控通过的结算清单数÷上传数。")
            import matplotlib.pyplot as plt
            fig, ax = plt.subplots(figsize=(5, 2.5))
            ax.plot(["7月", "8月", "9月"], [1, 3, 2])
            ax.set_ylabel("万元")
            rep.figure(fig, "近3个月统筹基金支出趋势", note="资料来源：医保信息平台结算数据。")
            rep.callout("居民医保按年缴费，收入集中在一季度。")

        outs = _outputs(mp, body)
    finally:
        mp.undo()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('region = "350100"\nperiod = "2026Q3"')
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell(f'region = "350100"\npsn_no = "{SECRET}"')
    injected.metadata["tags"] = ["injected-parameters"]
    code = nbformat.v4.new_code_cell("rep.md(...)")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"debug {SECRET}\n"),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: something odd\n"),
        *outs,
        nbformat.v4.new_output("execute_result", data={"text/plain": "<Figure size 640x480 with 1 Axes>"},
                               execution_count=3),
        nbformat.v4.new_output("display_data", data={"text/plain": "   a  b\n0  1  2",
                                                     "text/html": "<table><tr><td>raw repr</td></tr></table>"}),
    ]
    nb.cells = [params, injected, nbformat.v4.new_markdown_cell("# 一、基金收支及结算情况（钱）\n\n## （一）收入情况"),
                code, nbformat.v4.new_markdown_cell("# 二、下一步工作安排\n\n请各定点医疗机构于15日内书面说明。")]
    nb.metadata["yibao"] = {"title": TITLE, "subtitle": "2026年第三季度", "issuer": "东岚市医保数据工作组",
                            "date": "2026-11-20", "confidentiality": CONF, "region_name": "东岚市"}
    d = tmp_path_factory.mktemp("render")
    path = d / "quarterly.ipynb"
    nbformat.write(nb, str(path))
    return path


@pytest.fixture(scope="module")
def builtin(executed):
    out = executed.parent / "out"
    done = render.render(executed, formats=("html", "docx", "pdf"), engine="builtin", out_dir=out)
    return {"done": done, "out": out}


def _html_text(path: Path) -> str:
    return readback.flat(readback.text(path))


def _docx_text(path: Path) -> str:
    return readback.flat(readback.text(path))


def _pdf_pages(path: Path) -> list[str]:
    return [readback.flat(p) for p in readback.pdf_pages(path)]


CONTENT = ["一、基金收支及结算情况（钱）", "（一）收入情况", "医保基金支出合计1.55亿元，同比增长7.0%", "5,233.10万元",
           "表1", "2026年第三季度各医院结算清单质控情况", "东岚市第一医院", "12,345", "95.12%",
           "注：质控通过率＝质控通过的结算清单数÷上传数", "图1", "近3个月统筹基金支出趋势", "资料来源：医保信息平台结算数据",
           "居民医保按年缴费", "二、下一步工作安排", "请各定点医疗机构于15日内书面说明"]
NEVER = [SECRET, "UserWarning", "<Figure", "Figuresize", "rawrepr", "psn_no", "rep.md", "injected-parameters",
         "region=\"350100\""]


@pytest.mark.parametrize("fmt", ["html", "docx", "pdf"])
def test_every_format_has_the_content_and_nothing_else(builtin, fmt):
    path = builtin["done"][fmt]
    assert path == builtin["out"] / f"quarterly.{fmt}" and path.stat().st_size > 1000
    text = {"html": _html_text, "docx": _docx_text, "pdf": lambda p: "".join(_pdf_pages(p))}[fmt](path)
    for s in CONTENT + [TITLE, "2026年第三季度", "东岚市医保数据工作组", "2026年11月20日"]:
        assert re.sub(r"\s+", "", s) in text, (fmt, s)
    for s in NEVER:
        assert s not in text, (fmt, s)
    # the table number appears once as a caption, not twice (JupyterLab's bold caption line is replaced)
    assert text.count("表1") == 1, fmt
    # nothing left behind in the output directory but the three reports
    assert sorted(p.name for p in builtin["out"].iterdir()) == ["quarterly.docx", "quarterly.html", "quarterly.pdf"]


def test_pdf_layout_title_page_toc_header_and_fonts(builtin):
    pages = _pdf_pages(builtin["done"]["pdf"])
    assert len(pages) >= 3
    first = pages[0]
    assert TITLE in first and "2026年11月20日" in first and CONF in first and "表1" not in first
    assert "目录" in pages[1] and "一、基金收支及结算情况（钱）" in pages[1]
    body = pages[2]
    assert body.startswith(TITLE + CONF) or (TITLE in body[:80] and CONF in body[:80])  # running header
    assert "—1—" in body  # page numbers start at 1 in the body
    raw = builtin["done"]["pdf"].read_bytes()
    assert b"NotoSerifCJK" in raw and b"NotoSansCJK" in raw  # CJK fonts embedded
    from pypdf import PdfReader
    assert PdfReader(str(builtin["done"]["pdf"])).pages[0].mediabox.width == pytest.approx(595.3, abs=1)  # A4


def test_html_is_self_contained_with_real_captions(builtin):
    html = builtin["done"]["html"].read_text(encoding="utf-8")
    assert "<caption>" in html and "表1 2026年第三季度各医院结算清单质控情况" in html
    assert "<figcaption" in html and "图1 近3个月统筹基金支出趋势" in html
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html)
    assert not re.search(r'(src|href)="(?!data:|#)[^"]+"', html)  # no external files
    assert '<nav id="TOC"' in html and CONF in html and 'lang="zh-CN"' in html
    assert '<td style="text-align: right;">12,345</td>' in html  # numbers right-aligned
    assert html.count(">目录<") == 1 and 'content: "目录"' not in html  # one 目录, not a second from the CSS


def test_html_embeds_the_cjk_fonts_it_needs(builtin):
    """Issue 14: the CJK fonts are embedded as subsets holding every character of the page (and little
    more), so a reader without any Chinese font sees the text."""
    import base64
    import io
    from fontTools.ttLib import TTFont
    from yibao.render import webfonts
    page = builtin["done"]["html"].read_text(encoding="utf-8")
    faces = dict(re.findall(r'font-family: "(Yibao \w+)";[^}]*?base64,([A-Za-z0-9+/=]+)\)', page))
    assert set(faces) == {"Yibao Sans", "Yibao Serif"}
    cmaps = {k: TTFont(io.BytesIO(base64.b64decode(v))).getBestCmap() for k, v in faces.items()}
    text = readback.text(builtin["done"]["html"])
    cjk = {c for c in text if "\u4e00" <= c <= "\u9fff"}
    assert len(cjk) > 50 and cjk <= {chr(u) for u in cmaps["Yibao Serif"]}
    assert set("东岚市医保数据季度发布") <= {chr(u) for u in cmaps["Yibao Serif"]}
    assert len(cmaps["Yibao Serif"]) < len(webfonts.page_characters(page)) + 10  # a subset: the page's only
    assert set("基金收支及结算情况目录") <= {chr(u) for u in cmaps["Yibao Sans"]}  # headings' characters
    assert '"Yibao Serif"' in page.split("</style>")[0] or 'font-family: "Yibao Serif", "Noto Serif CJK SC"' in page


def test_docx_styles_for_a_chinese_report(builtin):
    import docx
    from docx.oxml.ns import qn
    d = docx.Document(str(builtin["done"]["docx"]))
    normal = d.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert normal.get(qn("w:eastAsia")) == "宋体"
    h1 = d.styles["Heading 1"].element.rPr.find(qn("w:rFonts"))
    assert h1.get(qn("w:eastAsia")) == "黑体"
    sec = d.sections[0]
    assert round(sec.page_width.cm, 1) == 21.0 and round(sec.page_height.cm, 1) == 29.7
    assert CONF in "".join(p.text for p in sec.header.paragraphs)
    with zipfile.ZipFile(builtin["done"]["docx"]) as z:
        names = z.namelist()
        footers = "".join(z.read(n).decode("utf-8") for n in names if n.startswith("word/footer"))
        document = z.read("word/document.xml").decode("utf-8")
    assert "PAGE" in footers  # page numbers
    # the contents written out (issue 14): each heading a TOC line linking a bookmark, with a PAGEREF
    # field LibreOffice computes; no empty TOC field that only Word would fill
    assert "TOC \\o" not in document
    from docx.text.paragraph import Paragraph
    every = [Paragraph(p, d) for p in d.element.body.iter(qn("w:p"))]  # the contents sit in a w:sdt
    entries = [p for p in every if p.style.name in ("TOC 1", "TOC 2")]
    assert [p.text.split("\t")[0] for p in entries] == ["一、基金收支及结算情况（钱）", "（一）收入情况", "二、下一步工作安排"]
    marks = re.findall(r'w:bookmarkStart w:id="\d+" w:name="(_Toc\d+)"', document)
    assert re.findall(r"PAGEREF (_Toc\d+) \\h", document) == marks and len(marks) == 3
    assert all(re.search(r"\t\d+$", p.text) for p in entries)  # a stored page number after the tab
    assert 'w:pageBreakBefore' in document and '<w:br w:type="page"/>' not in document
    # zh-CN and East Asian fonts with their fallbacks; the issuer as author
    styles = zipfile.ZipFile(builtin["done"]["docx"]).read("word/styles.xml").decode("utf-8")
    lang = re.search(r"<w:docDefaults>.*?<w:lang ([^>]*)/>", styles, flags=re.S).group(1)
    assert 'w:val="zh-CN"' in lang and 'w:eastAsia="zh-CN"' in lang
    fonts = zipfile.ZipFile(builtin["done"]["docx"]).read("word/fontTable.xml").decode("utf-8")
    assert re.search(r'w:name="宋体"><w:altName w:val="SimSun;Noto Serif CJK SC;Source Han Serif SC"/>', fonts)
    assert re.search(r'w:name="黑体"><w:altName w:val="SimHei;Noto Sans CJK SC', fonts)
    assert d.core_properties.language == "zh-CN" and d.core_properties.author not in ("", "python-docx")
    assert any(n.startswith("word/media/") for n in names)  # the chart is embedded
    tables = d.tables
    assert len(tables) == 1 and tables[0].style.name == "Table"
    assert [c.text for c in tables[0].rows[0].cells] == ["机构名称", "出院人次", "质控通过率"]
    captions = [p.text for p in d.paragraphs if p.style.name == "Table Caption"]
    assert captions == ["表1 2026年第三季度各医院结算清单质控情况"]
    notes = [p.text for p in d.paragraphs if p.style.name == "Table Note"]
    assert notes[0].startswith("注：质控通过率")


def test_unexecuted_notebook_and_cell_errors_are_clear(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("# 一、标题")]
    path = tmp_path / "q.ipynb"
    nbformat.write(nb, str(path))
    assert cli.main(["render", str(path), "--to", "html", "--engine", "builtin"]) == 1
    assert "尚未执行" in capsys.readouterr().err
    nb.cells[0].outputs = [nbformat.v4.new_output("error", ename="KeyError", evalue="'hifp_pay'", traceback=[])]
    nbformat.write(nb, str(path))
    assert cli.main(["render", str(path), "--to", "html", "--engine", "builtin"]) == 1
    err = capsys.readouterr().err
    assert "单元格 1" in err and "KeyError" in err
    assert cli.main(["render", str(tmp_path / "missing.ipynb")]) == 1
    assert "missing.ipynb" in capsys.readouterr().err
    assert cli.main(["render", str(path), "--to", "odt", "--engine", "builtin"]) == 1
    assert "odt" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [path]  # nothing written


def test_failure_midway_leaves_no_partial_file(executed, tmp_path, monkeypatch):
    import typst

    def boom(*a, **k):
        raise RuntimeError("error: unknown font family")

    class Compiler:  # the compiler the builtin route uses with the process's font set
        def __init__(self, *a, **k):
            pass

        compile = boom

    monkeypatch.setattr(typst, "compile", boom)
    monkeypatch.setattr(typst, "Compiler", Compiler)
    with pytest.raises(render.RenderError, match="Typst"):
        render.render(executed, formats=("html", "pdf"), engine="builtin", out_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quarterly.html"]


FAKE_QUARTO = r'''#!{python}
"""A stand-in for `quarto render NB.ipynb --to FMT`: checks what Quarto would read and writes the output."""
import json, sys, pathlib, yaml
log = pathlib.Path({log!r})
args = sys.argv[1:]
cwd = pathlib.Path.cwd()
with log.open("a") as fh:
    fh.write(json.dumps({{"args": args, "cwd": str(cwd)}}) + "\n")
assert args[0] == "render" and args[2] == "--to", args
nb = json.loads((cwd / args[1]).read_text())
first = nb["cells"][0]
assert first["cell_type"] == "raw" and "".join(first["source"]).startswith("---")
# the configuration travels in the notebook's front matter (Quarto ignores a _quarto.yml under a hidden path)
cfg = yaml.safe_load("".join(first["source"]).strip().strip("-"))
assert cfg["execute"]["enabled"] is False and cfg["execute"]["echo"] is False
assert cfg["date"] == "2026-11-20" and cfg["date-format"] == "YYYY[年]M[月]D[日]"
typ = cfg["format"]["typst"]
assert typ["mainfont"] == "Noto Serif CJK SC" and all((cwd / p).is_dir() for p in typ["font-paths"])
assert all((cwd / p).is_file() for p in typ["template-partials"])
assert "landscape.lua" in typ["filters"] and all((cwd / p).is_file() for p in typ["filters"])  # wide tables
assert pathlib.Path(cfg["format"]["docx"]["reference-doc"]).is_file()
assert cfg["format"]["html"]["embed-resources"] is True
if {fail}:
    sys.exit("ERROR: quarto failed on purpose")
text = ["".join(first["source"])]
for c in nb["cells"][1:]:
    assert not ("tags" in c["metadata"] and "parameters" in c["metadata"]["tags"])
    if c["cell_type"] == "code":
        assert "".join(c["source"]) == ""
        for o in c["outputs"]:
            text.append("".join(o.get("data", {{}}).get("text/markdown", "")))
    else:
        text.append("".join(c["source"]))
ext = {{"typst": "pdf"}}.get(args[3], args[3])
(cwd / (pathlib.Path(args[1]).stem + "." + ext)).write_text("\n".join(text))
'''


def _fake_quarto(tmp_path: Path, monkeypatch, fail: bool = False) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "quarto-calls.jsonl"
    q = bindir / "quarto"
    q.write_text(FAKE_QUARTO.format(python=sys.executable, log=str(log), fail=fail))
    q.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{__import__('os').environ['PATH']}")
    return log


def test_quarto_route_when_quarto_is_on_path(executed, tmp_path, monkeypatch):
    log = _fake_quarto(tmp_path, monkeypatch)
    assert render.engine_for("auto") == "quarto"
    out = tmp_path / "out"
    done = render.render(executed, formats=("html", "docx", "pdf"), engine="auto", out_dir=out)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    # the three formats render in parallel, each in its own private directory, then moved
    assert sorted(c["args"][3] for c in calls) == ["docx", "html", "typst"]
    assert all(c["args"][:3] == ["render", "quarterly.ipynb", "--to"] for c in calls)
    assert all(Path(c["cwd"]).parent.parent == out for c in calls) and len({c["cwd"] for c in calls}) == 3
    assert sorted(p.name for p in out.iterdir()) == ["quarterly.docx", "quarterly.html", "quarterly.pdf"]
    text = done["html"].read_text()
    assert f"title: {TITLE}" in text and "author: 东岚市医保数据工作组" in text
    assert "\n: 表1 2026年第三季度各医院结算清单质控情况" in text  # a pandoc table caption Quarto renders
    # … and, for Typst, where Quarto drops the caption of an unlabelled table, as a Typst string
    assert '#block(sticky: true' in text and '"表1 2026年第三季度各医院结算清单质控情况"' in text
    assert "一、基金收支及结算情况（钱）" in text and SECRET not in text and "UserWarning" not in text


def test_quarto_failure_is_reported_and_writes_nothing(executed, tmp_path, monkeypatch):
    _fake_quarto(tmp_path, monkeypatch, fail=True)
    out = tmp_path / "out"
    with pytest.raises(render.RenderError, match="quarto render --to html"):
        render.render(executed, formats=("html",), engine="quarto", out_dir=out)
    assert list(out.iterdir()) == []


def test_project_quarto_config_follows_quartos_ipynb_options():
    import yaml
    cfg = yaml.safe_load(render.PROJECT_QUARTO.read_text(encoding="utf-8"))
    assert cfg["execute"]["enabled"] is False and cfg["execute"]["echo"] is False
    assert set(cfg["format"]) == {"html", "docx", "typst"}
    assert cfg["format"]["typst"]["mainfont"] == "Noto Serif CJK SC" and cfg["format"]["typst"]["papersize"] == "a4"


def test_cli_with_relative_paths(executed, tmp_path, monkeypatch, capsys):
    """`yibao render quarterly.ipynb --to docx` typed in the report's directory writes beside it."""
    import shutil
    shutil.copy(executed, tmp_path / "quarterly.ipynb")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["render", "quarterly.ipynb", "--to", "docx,html", "--engine", "builtin"]) == 0
    assert (tmp_path / "quarterly.docx").stat().st_size > 1000 and (tmp_path / "quarterly.html").exists()
    assert "quarterly.docx" in capsys.readouterr().out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_pdf_keeps_only_small_tables_unbreakable():
    from yibao.publications.display import markdown_table
    from yibao.render.builtin import _short_table
    short, _ = markdown_table(pd.DataFrame({"机构": ["甲医院", "乙医院"], "人次": ["1,234", "56"]}))
    assert _short_table(short)
    many, _ = markdown_table(pd.DataFrame({"机构": [f"医院{i}" for i in range(40)], "人次": ["1"] * 40}))
    assert not _short_table(many)
    # a short list of findings whose messages wrap over many lines can be taller than a page
    long_text, _ = markdown_table(pd.DataFrame({"机构": ["甲医院"] * 5, "问题线索": ["同比增长140.3%，请核查" * 6] * 5}))
    assert not _short_table(long_text)
