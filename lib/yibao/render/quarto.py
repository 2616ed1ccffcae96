"""Step 3, the Quarto route: the prepared notebook with its front matter in a first raw cell, rendered by
``quarto render NB.ipynb --to html|docx|typst`` beside a ``_quarto.yml`` made from the project's ``_quarto.yml``.
"""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

from yibao import PROJECT_DIR
from yibao.escape import markdown_text
from yibao.fsutil import atomic_path
from yibao.render.builtin import _typst_fonts, reference_docx
from yibao.render.prepare import RESOURCES, RenderError

PROJECT_QUARTO = PROJECT_DIR / "_quarto.yml"


# ---- 3. the Quarto route -----------------------------------------------------------------------

def quarto_project(work: Path, meta: dict) -> Path:
    """``_quarto.yml`` for a render directory: the project's ``_quarto.yml`` with the resource paths
    (CSS, DOCX reference document, Typst header include, CJK font directory) made absolute."""
    import yaml

    cfg = yaml.safe_load(PROJECT_QUARTO.read_text(encoding="utf-8")) if PROJECT_QUARTO.exists() else {}
    cfg = cfg or {}
    fmt = cfg.setdefault("format", {})
    shutil.copy(RESOURCES / "report.css", work / "report.css")
    reference_docx(work / "reference.docx", meta)
    (work / "header.typ").write_text(_typst_header(meta), encoding="utf-8")
    fmt.setdefault("html", {})["css"] = str(work / "report.css")
    fmt.setdefault("docx", {})["reference-doc"] = str(work / "reference.docx")
    typ = fmt.setdefault("typst", {})
    typ["font-paths"] = [str(_typst_fonts(work))]
    typ["include-in-header"] = [str(work / "header.typ")]
    cfg.pop("project", None)
    cfg["project"] = {"type": "default"}
    path = work / "_quarto.yml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _typst_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _typst_header(meta: dict) -> str:
    """Raw Typst for Quarto's preamble: the running header (title · confidentiality line) from page 2."""
    return (
        "#set page(header: context { if counter(page).get().first() > 1 { "
        "set text(size: 8pt, fill: rgb(\"#555555\")); "
        f"grid(columns: (1fr, auto), {_typst_str(meta['title'])}, {_typst_str(meta['confidentiality'])}); "
        "v(-4pt); line(length: 100%, stroke: 0.4pt + rgb(\"#888888\")) } })\n"
        "#show figure: set block(breakable: true)\n")


def quarto_notebook(nb, meta: dict):
    """The prepared notebook for Quarto: the front matter as the first raw cell; table outputs carry
    their caption as a pandoc table caption; code cells keep their (cleaned) outputs."""
    import nbformat

    import yaml
    nb = copy.deepcopy(nb)
    md = markdown_text  # Quarto reads front-matter values as Markdown: names from data are escaped
    front = {"title": md(meta["title"]), "date": md(meta["date_label"]), "lang": "zh",
             "confidentiality": md(meta["confidentiality"])}
    if meta.get("subtitle"):
        front["subtitle"] = md(meta["subtitle"])
    if meta.get("issuer"):
        front["author"] = md(meta["issuer"])
    raw = nbformat.v4.new_raw_cell("---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---")
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs = []
        for out in cell.outputs:
            y = (out.get("metadata") or {}).get("yibao") or {}
            if y.get("kind") == "meta":
                continue
            if y.get("kind") == "table" and y.get("table"):
                out = copy.deepcopy(out)
                md = f"{y['table']}\n\n: {markdown_text(y['caption'])}\n" + (f"\n{y['note']}\n" if y.get("note") else "")
                out["data"]["text/markdown"] = md
            outs.append(out)
        cell.outputs = outs
        cell.source = ""
    nb.cells.insert(0, raw)
    return nb


def render_quarto(nb, meta: dict, work: Path, stem: str, formats, out_dir: Path) -> dict[str, Path]:
    import nbformat

    quarto = shutil.which("quarto")
    if not quarto:
        raise RenderError("--engine quarto：PATH 中没有 quarto（conda install -c conda-forge quarto，或改用 --engine builtin）")
    quarto_project(work, meta)
    src = work / f"{stem}.ipynb"
    nbformat.write(quarto_notebook(nb, meta), str(src))
    done = {}
    for fmt in formats:
        to = "typst" if fmt == "pdf" else fmt
        proc = subprocess.run([quarto, "render", src.name, "--to", to], cwd=work, capture_output=True, text=True)
        produced = work / f"{stem}.{fmt}"
        if proc.returncode != 0 or not produced.exists():
            raise RenderError(f"quarto render --to {to} 失败：{(proc.stderr or proc.stdout).strip()[-800:]}")
        target = out_dir / f"{stem}.{fmt}"
        with atomic_path(target) as tmp:
            shutil.copy(produced, tmp)
        done[fmt] = target
    return done
