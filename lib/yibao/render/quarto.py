"""Step 3, the Quarto route: the prepared notebook with its front matter in a first raw cell, rendered by
``quarto render NB.ipynb --to html|docx|typst`` beside a ``_quarto.yml`` made from the project's ``_quarto.yml``.
"""
from __future__ import annotations

import copy
import html
import json
import shutil
import subprocess
from pathlib import Path

from yibao import PROJECT_DIR
from yibao.escape import markdown_text
from yibao.fsutil import atomic_path
from yibao.render import docx_finish, webfonts
from yibao.render.builtin import _typst_fonts, landscape, reference_docx, wide_table
from yibao.render.prepare import RESOURCES, RenderError

PROJECT_QUARTO = PROJECT_DIR / "_quarto.yml"


# ---- 3. the Quarto route -----------------------------------------------------------------------
#
# Quarto ignores a ``_quarto.yml`` in a directory whose path has a hidden component (``.stage-…``,
# ``.render-…``): such a file is outside any project, and the page comes out unstyled with its resources
# linked instead of embedded. So the whole configuration travels in the notebook's own front matter
# (the project's ``_quarto.yml`` with resource paths made absolute), and Quarto renders in a work
# directory of its own under the system's temporary directory.

TYPST_SHOW = """#show: doc => yibao-doc(
  title: [$title$],
$if(subtitle)$
  subtitle: [$subtitle$],
$endif$
  authors: ($for(by-author)$[$it.name.literal$],$endfor$),
$if(date)$
  date: [$date$],
$endif$
  confidentiality: [$confidentiality$],
  toc: $if(toc)$true$else$false$endif$,
  toc-title: [$if(toc-title)$$toc-title$$else$目录$endif$],
  toc-depth: $if(toc-depth)$$toc-depth$$else$2$endif$,
  doc,
)
"""


def quarto_project(work: Path, meta: dict) -> dict:
    """The project's ``_quarto.yml`` for one render: resource paths made absolute (CSS, DOCX reference
    document, Typst partials and CJK fonts, the HTML confidentiality banner), ``project:`` dropped.
    Also written to ``work/_quarto.yml`` so the render directory is a project of its own."""
    import yaml

    cfg = yaml.safe_load(PROJECT_QUARTO.read_text(encoding="utf-8")) if PROJECT_QUARTO.exists() else {}
    cfg = dict(cfg or {})
    cfg.pop("project", None)
    fmt = cfg.setdefault("format", {})
    shutil.copy(RESOURCES / "report.css", work / "report.css")
    reference_docx(work / "reference.docx", meta)
    (work / "typst-template.typ").write_text((RESOURCES / "yibao.typ").read_text(encoding="utf-8"),
                                             encoding="utf-8")
    (work / "typst-show.typ").write_text(TYPST_SHOW, encoding="utf-8")
    (work / "banner.html").write_text(
        f'<div class="confidential">{html.escape(meta["confidentiality"])}</div>\n', encoding="utf-8")
    htm = fmt.setdefault("html", {})
    htm["css"] = str(work / "report.css")
    htm["include-before-body"] = [str(work / "banner.html")]
    fmt.setdefault("docx", {})["reference-doc"] = str(work / "reference.docx")
    typ = fmt.setdefault("typst", {})
    # Quarto resolves these against the notebook's directory: relative names
    typ["font-paths"] = [_typst_fonts(work).name]
    typ["template-partials"] = ["typst-template.typ", "typst-show.typ"]
    # wide tables on landscape pages: the filter lifts their page(flipped: true) out of the cell's blocks
    shutil.copy(RESOURCES / "landscape.lua", work / "landscape.lua")
    typ["filters"] = [*(typ.get("filters") or []), "landscape.lua"]
    (work / "_quarto.yml").write_text(
        yaml.safe_dump({"project": {"type": "default"}}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return cfg


def front_matter(meta: dict, cfg: dict) -> dict:
    """The document's front matter: title page fields, then the project configuration. The date is
    given as an ISO date and written by ``date-format`` (2026年12月17日) in every format."""
    md = markdown_text  # Quarto reads front-matter values as Markdown: names from data are escaped
    front = {"title": md(meta["title"])}
    if meta.get("subtitle"):
        front["subtitle"] = md(meta["subtitle"])
    if meta.get("issuer"):
        front["author"] = md(meta["issuer"])
    front["date"] = str(meta["date"])[:10]
    front["confidentiality"] = md(meta["confidentiality"])
    front.update(cfg)
    return front


def _typst_string(s: str) -> str:
    """A Typst string literal (JSON's escapes of quote, backslash and control characters are Typst's)."""
    return json.dumps(str(s), ensure_ascii=False)


def table_markdown(y: dict) -> str:
    """A table output for Quarto: the pipe table with its pandoc caption (HTML, DOCX) and, because
    Quarto's Typst writer drops the caption of a table without a cross-reference label, the caption
    again as a Typst block above it; the note ('注：…') in small type in every format. Caption and note
    reach Typst as string literals, so no character of theirs is Typst markup."""
    caption = str(y.get("caption") or "")
    parts = []
    if caption:
        parts.append("```{=typst}\n#block(sticky: true, width: 100%, above: 1.1em, below: 0.6em, align(center, "
                     f"text(font: yibao-sans, size: 9.5pt, {_typst_string(caption)})))\n```")
    parts.append(f"{y['table']}\n\n: {markdown_text(caption)}" if caption else y["table"])
    if y.get("note"):
        parts.append(f'::: {{.content-hidden when-format="typst"}}\n::: {{.note custom-style="Table Note"}}\n'
                     f"{y['note']}\n:::\n:::")
        parts.append("```{=typst}\n#block(above: 0.5em, below: 1em)[#set text(size: 8.5pt, fill: rgb(\"#444444\")); "
                     f"#set par(first-line-indent: 0pt); #{_typst_string(y['note'])}]\n```")
    if wide_table(y["table"]):
        # on landscape pages in DOCX and PDF, as the builtin route (each raw block reaches its format only).
        # Quarto's Typst sets every cell output in a block, where Typst allows no page(): resources/landscape.lua
        # unwraps the blocks around the page
        return landscape(landscape("\n\n".join(parts), "docx"), "typst") + "\n"
    return "\n\n".join(parts) + "\n"


def quarto_notebook(nb, meta: dict, cfg: dict | None = None):
    """The prepared notebook for Quarto: the front matter as the first raw cell; table outputs carry
    their caption as a pandoc table caption; code cells keep their (cleaned) outputs."""
    import nbformat

    import yaml
    nb = copy.deepcopy(nb)
    front = front_matter(meta, cfg or {})
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
                out["data"]["text/markdown"] = table_markdown(y)
            outs.append(out)
        cell.outputs = outs
        cell.source = ""
    # DOCX: the table of contents has its own page and the body starts on the next (as the builtin route)
    page_break = nbformat.v4.new_markdown_cell('```{=openxml}\n<w:p><w:r><w:br w:type="page"/></w:r></w:p>\n```')
    nb.cells[:0] = [raw, page_break]
    return nb


def render_quarto(nb, meta: dict, work: Path, stem: str, formats, out_dir: Path) -> dict[str, Path]:
    import nbformat

    quarto = shutil.which("quarto")
    if not quarto:
        raise RenderError("--engine quarto：PATH 中没有 quarto（conda install -c conda-forge quarto，或改用 --engine builtin）")
    cfg = quarto_project(work, meta)
    src = work / f"{stem}.ipynb"
    nbformat.write(quarto_notebook(nb, meta, cfg), str(src))
    done = {}
    for fmt in formats:
        to = "typst" if fmt == "pdf" else fmt
        proc = subprocess.run([quarto, "render", src.name, "--to", to], cwd=work, capture_output=True, text=True)
        produced = work / f"{stem}.{fmt}"
        if proc.returncode != 0 or not produced.exists():
            raise RenderError(f"quarto render --to {to} 失败：{(proc.stderr or proc.stdout).strip()[-800:]}")
        target = out_dir / f"{stem}.{fmt}"
        with atomic_path(target) as tmp:
            if fmt == "html":
                tmp.write_text(webfonts.embed(produced.read_text(encoding="utf-8")), encoding="utf-8")
            elif fmt == "docx":
                tmp.write_bytes(docx_finish.finish(produced.read_bytes(), meta))
            else:
                shutil.copy(produced, tmp)
        done[fmt] = target
    return done


def render_quarto_pptx(raw_nb, meta: dict, work: Path, target: Path) -> None:
    """The 发布会 deck through Quarto's ``pptx`` format: the same slide Markdown as the builtin route
    (:func:`yibao.render.deck.deck_markdown`) with the title slide in its front matter and the reference deck
    as ``reference-doc``; Quarto does not execute a ``.md`` file. Then :func:`yibao.render.deck.finish`."""
    import yaml

    from yibao.render import deck

    quarto = shutil.which("quarto")
    if not quarto:
        raise RenderError("--engine quarto：PATH 中没有 quarto（conda install -c conda-forge quarto，或改用 --engine builtin）")
    content = deck.deck_content(raw_nb)
    body = deck.deck_markdown(content, work / "assets-deck")
    ref = deck.reference_pptx(work / "reference.pptx")
    front = dict(deck.deck_meta(meta))
    front["date"] = str(meta["date"])[:10]  # Quarto parses the date; date-format writes it 2026年11月16日
    front["date-format"] = "YYYY[年]M[月]D[日]"
    front["format"] = {"pptx": {"reference-doc": ref.name, "slide-level": 2}}
    (work / "_quarto.yml").write_text(
        yaml.safe_dump({"project": {"type": "default"}}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    src = work / "deck.md"
    src.write_text("---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n\n" + body,
                   encoding="utf-8")
    proc = subprocess.run([quarto, "render", src.name, "--to", "pptx"], cwd=work, capture_output=True, text=True)
    produced = work / "deck.pptx"
    if proc.returncode != 0 or not produced.exists():
        raise RenderError(f"quarto render --to pptx 失败：{(proc.stderr or proc.stdout).strip()[-800:]}")
    deck.finish(produced, meta, deck.key_titles(content))
    deck.write_stable(produced, meta, target)
