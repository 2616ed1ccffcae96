"""The publications as the readers' programs show them (issue 14): the quarterly report and an ICD topic
study of one region, built once, then opened the way readers open them.

* LibreOffice (headless) converts every DOCX, XLSX (and any PPTX) of the run to PDF; poppler reads the
  PDFs: ``pdftotext`` finds the table of contents with its page numbers, ``pdffonts`` and the glyphs drawn
  show Chinese text set in the simplified-Chinese (SC) faces, not the Japanese ones; ``pdftoppm`` shows
  no blank page. The workbooks print landscape, one page wide, their header row on every page.
* Headless Chromium, with a font configuration that holds no CJK font at all, prints the HTML: the text
  is drawn with the font subsets embedded in the page.
* The executed notebooks read as JupyterLab reads them (CommonMark, markdown-it-py): every bold run
  closes, and no stray output (``True``) is left.

Runs where the programs exist (Debian: libreoffice-writer, libreoffice-calc, libreoffice-impress,
poppler-utils, fonts-noto-cjk, chromium — README "Tests"); skipped with the reason elsewhere and failed
under CI (``conftest.needs``), where ``.ci/run`` installs them.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest
import readback
import conftest
from conftest import needs

from yibao import cli

REGION, PERIOD, TOPIC = "350100", "2026Q3", "I63"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
POPPLER = all(shutil.which(p) for p in ("pdftotext", "pdffonts", "pdftoppm", "pdfinfo"))
CHROMIUM = next((shutil.which(p) for p in ("chromium", "chromium-browser", "google-chrome") if shutil.which(p)), None)
DEB = "Debian packages libreoffice-writer libreoffice-calc libreoffice-impress poppler-utils fonts-noto-cjk"


def _once(tmp_path_factory, name: str, build) -> Path:
    return conftest.build_once(tmp_path_factory, "real-programs", name, build)


@pytest.fixture(scope="module")
def pub(small_data, tmp_path_factory) -> Path:
    """The region's publication directory: quarterly report and the I63 study (HTML, DOCX, PDF) with the
    数据底稿 workbook and the 审议 records, built by ``yibao run`` (builtin route)."""
    def build(out: Path) -> None:
        for kind, extra in (("quarterly", []), ("topic", ["--topic", TOPIC])):
            rc = cli.main(["run", "--data", str(small_data), "--period", PERIOD, "--kind", kind, "--region", REGION,
                           *extra, "--formats", "html,docx,pdf", "--engine", "builtin", "--jobs", "1",
                           "--out", str(out), "--no-progress", "--release-date", "2026-10-20"])
            assert rc == 0, f"yibao run --kind {kind} failed"
    return _once(tmp_path_factory, "run", build) / PERIOD / REGION


@pytest.fixture(scope="module")
def converted(pub, tmp_path_factory) -> dict[str, Path]:
    """{file name: its PDF} for every DOCX, XLSX and PPTX of the run, converted by one LibreOffice."""
    needs(bool(SOFFICE), f"LibreOffice (soffice; {DEB})")
    needs(POPPLER, f"poppler-utils (pdftotext, pdffonts, pdftoppm; {DEB})")

    def build(out: Path) -> None:
        for suffix in (".docx", ".xlsx", ".pptx"):  # review.docx and review.xlsx both make review.pdf
            files = sorted(p for p in pub.iterdir() if p.suffix == suffix)
            if files:
                subprocess.run([SOFFICE, f"-env:UserInstallation=file://{out}/profile", "--headless", "--convert-to",
                                "pdf", "--outdir", str(out / suffix[1:]), *map(str, files)],
                               check=True, capture_output=True, timeout=600)
    out = _once(tmp_path_factory, "converted", build)
    pdfs = {p.name: out / p.suffix[1:] / f"{p.stem}.pdf" for p in pub.iterdir()
            if p.suffix in (".docx", ".xlsx", ".pptx")}
    missing = [n for n, p in pdfs.items() if not p.exists()]
    assert not missing, f"LibreOffice did not convert {missing}"
    return pdfs


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def _page_sizes(pdf: Path) -> list[tuple[float, float]]:
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(pdf)], capture_output=True, text=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", out)]


# ---- DOCX: the table of contents, the fonts, no blank page ----------------------------------------------

@pytest.mark.parametrize("name", ["quarterly.docx", f"topic-{TOPIC}.docx"])
def test_docx_contents_show_headings_and_their_pages(pub, converted, name):
    """Opened without updating fields (LibreOffice), page 2 lists every level-1 heading with the page it
    is on — the page numbers are the ones the converted document really has."""
    pages = _pages(converted[name])
    toc = pages[1]
    assert "目录" in toc
    nb = nbformat.read(str(pub / name.replace(".docx", ".ipynb")), as_version=4)
    heads = [line[2:].strip() for c in nb.cells if c.cell_type == "markdown"
             for line in c.source.splitlines() if line.startswith("# ")]
    assert len(heads) >= 3
    flat = readback.flat
    toc_lines = [flat(line) for line in toc.splitlines()]
    for h in heads:
        m = next((re.search(r"\.{3,}(\d+)$", line) for line in toc_lines if line.startswith(flat(h))), None)
        assert m, f"{h!r} missing from the contents of {name}:\n{toc[:1500]}"
        page = int(m.group(1))
        assert any(flat(line).startswith(flat(h)) for line in pages[page - 1].splitlines()), \
            f"{name}: contents say {h!r} is on page {page}"


def _cjk_regions(pdf: Path) -> dict[str, set[str]]:
    """{'SC': characters, 'JP': characters} drawn with a glyph specific to the simplified-Chinese or to the
    Japanese face of the system's Noto CJK fonts (where the two differ, e.g. 说, 门, 骨). The faces of a
    Noto CJK collection share one glyph table named …CJKjp…, so pdffonts' names cannot tell them apart;
    the glyphs LibreOffice embeds keep their original CIDs (``cidNNNNN``), which do."""
    from fontTools import t1Lib
    from fontTools.ttLib import TTCollection, TTFont
    from pypdf import PdfReader

    maps: dict[tuple[str, str], dict[int, str]] = {}
    listing = subprocess.run(["fc-list", ":", "file", "family"], capture_output=True, text=True).stdout
    for path in sorted({line.split(":")[0] for line in listing.splitlines() if "CJK" in line}):
        fonts = TTCollection(path).fonts if path.endswith(".ttc") else [TTFont(path)]
        for f in fonts:
            fam = f["name"].getDebugName(1) or ""
            for region in ("SC", "JP"):
                if fam.endswith(f" {region}") and "Mono" not in fam:
                    maps.setdefault(("serif" if "Serif" in fam else "sans", region), {}).update(f.getBestCmap())
    found: dict[str, set[str]] = {"SC": set(), "JP": set()}
    seen = set()
    for page in PdfReader(str(pdf)).pages:
        for font in (page.get("/Resources") or {}).get("/Font", {}).values():
            font = font.get_object()
            fd = font.get("/FontDescriptor")
            fd = fd.get_object() if fd is not None else {}
            ref = font.indirect_reference
            if "/FontFile" not in fd or "/ToUnicode" not in font or ref in seen or "CJK" not in str(font["/BaseFont"]):
                continue
            seen.add(ref)
            with tempfile.NamedTemporaryFile(suffix=".pfa") as tmp:
                tmp.write(fd["/FontFile"].get_object().get_data())
                tmp.flush()
                t1 = t1Lib.T1Font(tmp.name)
                t1.parse()
            enc = t1.font.get("Encoding")
            fam = "serif" if "Serif" in str(font["/BaseFont"]) else "sans"
            cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            pairs = [(int(a, 16), bytes.fromhex(b).decode("utf-16-be", "replace"))
                     for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S)
                     for a, b in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block)]
            for code, ch in pairs:
                name = enc[code] if isinstance(enc, list) and code < len(enc) else ""
                if len(ch) != 1 or not name.startswith("cid") or not "\u4e00" <= ch <= "\u9fff":
                    continue
                sc, jp = maps.get((fam, "SC"), {}).get(ord(ch)), maps.get((fam, "JP"), {}).get(ord(ch))
                if sc and jp and sc != jp:
                    cid = int(name[3:])
                    if cid == int(sc[3:]):
                        found["SC"].add(ch)
                    elif cid == int(jp[3:]):
                        found["JP"].add(ch)
    return found


@pytest.mark.parametrize("name", ["quarterly.docx", "review.docx"])
def test_docx_text_is_set_in_the_sc_fonts(converted, name):
    """宋体 falls back to Noto Serif CJK SC, 黑体 to Noto Sans CJK SC: both faces are in the PDF and the
    characters whose Chinese and Japanese forms differ are drawn in the Chinese form."""
    fonts = subprocess.run(["pdffonts", str(converted[name])], capture_output=True, text=True, check=True).stdout
    assert "NotoSerifCJK" in fonts and "NotoSansCJK" in fonts, fonts
    found = _cjk_regions(converted[name])
    assert len(found["SC"]) >= 10 and not found["JP"], found


def test_no_page_is_blank(converted):
    """Every page of every converted file has ink between its running header and footer (the empty
    table of contents once left page 2 blank)."""
    from PIL import Image
    for name, pdf in converted.items():
        with tempfile.TemporaryDirectory() as d:
            subprocess.run(["pdftoppm", "-r", "20", "-gray", str(pdf), f"{d}/p"], check=True)
            for png in sorted(Path(d).iterdir()):
                im = Image.open(png)
                w, h = im.size
                body = im.crop((0, int(h * 0.12), w, int(h * 0.88)))
                assert body.getextrema()[0] < 128, f"{name}: page {png.stem} is blank"


# ---- the wide tables, review.docx ---------------------------------------------------------------------

def test_wide_topic_tables_are_set_on_landscape_pages(converted):
    """表4 and 表5 of the ICD study (twelve columns) are on landscape pages, their headers on one line."""
    pdf = converted[f"topic-{TOPIC}.docx"]
    pages, sizes = _pages(pdf), _page_sizes(pdf)
    assert len(pages) == len(sizes)
    flat = readback.flat
    for caption in ("表4", "表5"):
        i = next(i for i, p in enumerate(pages) if any(flat(line).startswith(caption + "东岚市") or
                                                       flat(line).startswith(caption + "2026")
                                                       for line in p.splitlines()))
        assert sizes[i][0] > sizes[i][1], f"{caption} is on a portrait page"
    assert sizes[0][0] < sizes[0][1]  # the title page stays portrait
    header = next(p for p in pages if any(flat(line).startswith("表5") for line in p.splitlines()))
    # the headers whole on their line (at most the year in brackets goes to a second line), not wrapped
    # every two or three characters as on a portrait page (the "<5" marks once made the count and share
    # columns text columns, whose headers got a text column's narrow share: they broke after 高费用占)
    assert any(flat(line).count("高费用占比") == 2 and "I63.9" in line and "机构名称" in line
               for line in header.splitlines()), header[:1200]


@pytest.mark.parametrize("name", ["quarterly.pdf", "quarterly.docx"])
def test_budget_balances_stay_on_one_line(pub, request, name):
    """The budget execution table (each hospital's 结余/超支): every value, e.g. "超支 31.74", on one line of
    the Typst PDF and of the DOCX as LibreOffice prints it (the column once wrapped it as "超支 31." / "74")."""
    needs(POPPLER, f"poppler-utils ({DEB})")
    pdf = pub / name if name.endswith(".pdf") else request.getfixturevalue("converted")[name]
    nb = nbformat.read(str(pub / "quarterly.ipynb"), as_version=4)
    y = next(y for c in nb.cells if c.cell_type == "code" for o in c.outputs
             for y in [(o.get("metadata") or {}).get("yibao") or {}] if "预算执行情况" in str(y.get("caption", "")))
    rows = [[v.strip() for v in line.strip().strip("|").split("|")] for line in y["table"].splitlines()]
    col = rows[0].index("结余/超支（万元）")
    values = [readback.flat(r[col]) for r in rows[2:]]
    assert len(values) >= 5 and all(re.fullmatch(r"(结余|超支)[\d,]+\.\d\d", v) for v in values), values
    flat = readback.flat
    lines = [flat(line) for p in _pages(pdf) for line in p.splitlines()]
    cap = flat(y["caption"])
    start = next(i for i, line in enumerate(lines) if line.startswith(cap))
    body = lines[start:]
    broken = [v for v in values if not any(v in line for line in body)]
    assert not broken, f"{name}: balances broken across lines {broken[:5]}"


def test_review_docx_prints_as_a_record(pub, converted):
    """Header with the record's name, '第 N 页 共 M 页' on every page, the sign-off table on one page."""
    pages = _pages(converted["review.docx"])
    assert len(pages) >= 2
    for i, p in enumerate(pages, start=1):
        assert "数据发布工作组审议记录" in p.splitlines()[0] or "数据发布工作组审议记录" in p[:300]
        assert re.search(rf"第\s*{i}\s*页\s*共\s*{len(pages)}\s*页", p), f"page {i} has no page number"
    sign = [p for p in pages if "姓名" in p and "签字" in p]
    assert len(sign) == 1, "the sign-off table runs over more than one page"
    import docx
    d = docx.Document(str(pub / "review.docx"))
    assert d.core_properties.author == "东岚市医保数据工作组" and d.core_properties.language == "zh-CN"
    widths = [c.width.cm for c in d.tables[0].rows[0].cells]
    assert widths[4] > 2 * widths[2] > 4 * widths[1]  # 说明 gets the room, not an equal share
    head = d.tables[0].rows[0]._tr.trPr
    assert head is not None and head.find(docx.oxml.ns.qn("w:tblHeader")) is not None


# ---- the workbooks -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, header", [("digao.xlsx", "序号"), ("review.xlsx", "检查项")])
def test_workbooks_print_landscape_one_page_wide(converted, name, header):
    """digao.xlsx once printed as 22 pages of four-column strips: now each sheet is one page wide, on
    landscape pages, its header row repeated on every page of the sheet."""
    pages, sizes = _pages(converted[name]), _page_sizes(converted[name])
    assert all(w > h for w, h in sizes), sizes
    assert len(pages) <= 8, f"{name} prints on {len(pages)} pages"
    first = next(i for i, p in enumerate(pages) if header in p)
    # the widest column's header (the last one of the sheet) is on the same page as the first
    last = {"digao.xlsx": "计算口径说明", "review.xlsx": "说明"}[name]
    assert last in pages[first]


# ---- HTML without any Chinese font on the machine -----------------------------------------------------

def test_html_reads_on_a_machine_without_chinese_fonts(pub, tmp_path):
    """Chromium with a fontconfig that knows only DejaVu prints the report: every font that draws Chinese
    text is one the page embedded (Chromium writes the CFF web fonts as Type 3), none a system font,
    and the title and headings come out as text."""
    needs(bool(CHROMIUM), f"Chromium (Debian package chromium; {DEB})")
    needs(POPPLER, f"poppler-utils ({DEB})")
    dejavu = next((d for d in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu") if Path(d).is_dir()), None)
    needs(dejavu is not None, "the DejaVu fonts (Debian fonts-dejavu-core)")
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig><dir>{dejavu}</dir>'
                    f"<cachedir>{tmp_path}/fc-cache</cachedir></fontconfig>\n", encoding="utf-8")
    env = dict(os.environ, FONTCONFIG_FILE=str(conf), HOME=str(tmp_path))
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, env=env).stdout
    assert not listed.strip(), f"the test's fontconfig still finds Chinese fonts: {listed[:200]}"
    pdf = tmp_path / "page.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--user-data-dir={tmp_path}/profile", f"--print-to-pdf={pdf}",
                    (pub / "quarterly.html").as_uri()], capture_output=True, env=env, timeout=240)
    assert pdf.exists() and pdf.stat().st_size > 10_000
    text = readback.flat(subprocess.run(["pdftotext", "-l", "2", str(pdf), "-"], capture_output=True,
                                        text=True).stdout)
    assert "东岚市医保数据季度发布分析报告" in text and "一、基金收支及结算情况（钱）" in text
    from pypdf import PdfReader
    cjk_fonts = set()
    for page in PdfReader(str(pdf)).pages[:3]:
        for font in (page.get("/Resources") or {}).get("/Font", {}).values():
            font = font.get_object()
            if "/ToUnicode" in font and any("\u4e00" <= c <= "\u9fff" for c in _mapped(font["/ToUnicode"])):
                cjk_fonts.add((str(font.get("/Subtype")), str(font.get("/BaseFont", ""))))
    assert cjk_fonts and all(sub == "/Type3" and "DejaVu" not in base for sub, base in cjk_fonts), cjk_fonts


def _mapped(to_unicode) -> str:
    """The characters a font's ToUnicode CMap maps to (bfchar and bfrange entries)."""
    cmap = to_unicode.get_object().get_data().decode("latin-1")
    out = []
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        out += [bytes.fromhex(b).decode("utf-16-be", "replace")
                for _, b in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block)]
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for a, b, c in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            start = int(c, 16)
            out += [chr(start + i) for i in range(int(b, 16) - int(a, 16) + 1) if start + i < 0x110000]
    return "".join(out)


# ---- the notebooks in JupyterLab ----------------------------------------------------------------------

def _markdown_sources(nb) -> list[str]:
    out = []
    for c in nb.cells:
        if c.cell_type == "markdown":
            out.append(c.source)
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            md = (o.get("data") or {}).get("text/markdown")
            if md:
                out.append(md if isinstance(md, str) else "".join(md))
    return out


@pytest.mark.parametrize("name", ["quarterly.ipynb", f"topic-{TOPIC}.ipynb"])
def test_notebook_markdown_reads_right_in_jupyterlab(pub, name):
    """JupyterLab renders Markdown as CommonMark: every ``**…**`` of the executed notebook becomes bold
    (none is left as literal asterisks), and no cell shows a stray value such as ``True``."""
    from markdown_it import MarkdownIt
    md = MarkdownIt("commonmark")
    nb = nbformat.read(str(pub / name), as_version=4)
    sources = _markdown_sources(nb)
    bold = sum(s.count("**") // 2 for s in sources)
    assert bold >= 7  # the report does use bold (lead words of its list items)
    left = [m for s in sources for m in re.findall(r".{0,12}\*\*.{0,12}", re.sub(r"<code>.*?</code>", "", md.render(s)))]
    assert not left, f"asterisks JupyterLab would show: {left[:5]}"
    stray = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if o.get("output_type") == "execute_result"]
    assert not stray, [o.get("data", {}).get("text/plain") for o in stray]


def test_suppressed_rows_render_one_way(pub):
    """特例单议: every row whose 申请例数 is '<5' shows its 通过金额 withheld the one way every withheld cell
    is shown ('<5', publications/disclosure.py) — never '0.00' in one row and a mark in the next."""
    nb = nbformat.read(str(pub / "quarterly.ipynb"), as_version=4)
    table = next(o["metadata"]["yibao"]["table"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
                 if "特例单议申请和审核情况" in str((o.get("metadata") or {}).get("yibao", {}).get("caption", "")))
    rows = [[v.strip() for v in line.strip().strip("|").split("|")] for line in table.splitlines()]
    head, body = rows[0], rows[2:]
    a, amt = head.index("申请例数"), head.index("通过金额（万元）")
    small = [r for r in body if r[a] in ("\\<5", "<5")]
    assert small, "the dataset has no suppressed 特例单议 row to look at"
    assert {r[amt].replace("\\", "") for r in small} == {"<5"}


def test_review_record_counts_the_skipped_checks(pub):
    """review.md says how many 复核 checks were not run (checks.csv 'skip'), beside passed and failed."""
    import pandas as pd
    st = pd.read_csv(pub / "checks.csv", dtype=str)["status"]
    n_skip, n_pass = int((st == "skip").sum()), int((st == "pass").sum())
    assert n_skip > 0
    line = next(ln for ln in (pub / "review.md").read_text(encoding="utf-8").splitlines() if "| A1 |" in ln)
    assert f"复核清单共 {len(st)} 项：通过 {n_pass} 项" in line and f"未执行 {n_skip} 项" in line
