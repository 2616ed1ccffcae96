"""Render an executed publication notebook to HTML, DOCX and PDF — without re-executing it.

Two engines, one input (DESIGN.md, "Choices"; docs/render.md):

* ``quarto`` (production, whenever ``quarto`` is on PATH): the prepared notebook — the executed one
  with the parameter cells, streams and stray reprs removed and the front matter in a first raw cell —
  is rendered by ``quarto render NB.ipynb --to html|docx|typst`` beside a ``_quarto.yml`` made from the
  project's ``_quarto.yml`` (``echo: false``, ``format: typst`` with ``mainfont`` / ``font-paths``).
  Quarto does not execute .ipynb input.
* ``builtin`` (everywhere): nbconvert preprocessors prepare the notebook the same way; its cells become
  one Markdown document; pandoc (pypandoc-binary) writes self-contained HTML and a DOCX styled by a
  reference document (CJK fonts, heading and table styles, header with the confidentiality line, page
  numbers); pandoc writes Typst with ``render/resources/report.typst`` and the ``typst`` package
  compiles the A4 PDF (title page, table of contents, running header, page numbers) with the CJK fonts
  of the ``mplfonts`` package embedded.

``pptx`` is the 发布会 deck (:mod:`yibao.render.deck`): the slides the notebook's sections emitted for it,
written by pandoc with a reference deck (builtin) or by Quarto's ``pptx`` format (quarto), finished alike.

Publication metadata (title, subtitle, issuer, date, confidentiality …) comes from
``nb.metadata["yibao"]`` (set by ``yibao run``) and ``Report.meta`` outputs.

This module holds the entry points (``yibao render``); the steps are :mod:`yibao.render.prepare`,
:mod:`yibao.render.builtin` and :mod:`yibao.render.quarto`.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from yibao.render.builtin import reference_docx, render_docx, render_html, render_pdf, to_markdown
from yibao.render.deck import render_pptx
from yibao.render.prepare import FORMATS, RenderError, document_meta, prepare
from yibao.render.quarto import PROJECT_QUARTO, quarto_project, render_quarto, render_quarto_pptx

__all__ = ["FORMATS", "render", "prepare", "document_meta", "to_markdown", "reference_docx",
           "quarto_project", "engine_for", "RenderError", "PROJECT_QUARTO"]


# ---- entry points --------------------------------------------------------------------------------

def engine_for(engine: str) -> str:
    if engine == "auto":
        return "quarto" if shutil.which("quarto") else "builtin"
    if engine not in ("quarto", "builtin"):
        raise RenderError(f"--engine {engine}：应为 auto、quarto 或 builtin")
    return engine


def render(notebook: str | os.PathLike, formats=("html", "docx", "pdf"), engine: str = "auto",
           out_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Render an executed notebook to ``<out_dir>/<stem>.{html,docx,pdf}``; returns {format: path}.
    Each file appears atomically; the notebook is never executed."""
    import nbformat

    notebook = Path(notebook)
    if not notebook.is_file():
        raise RenderError(f"{notebook}：文件不存在")
    formats = [f.strip().lower() for f in formats if f and f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise RenderError(f"--to {','.join(bad)}：格式应为 {', '.join(FORMATS)}")
    try:
        raw_nb = nbformat.read(str(notebook), as_version=4)
    except Exception as exc:  # noqa: BLE001
        raise RenderError(f"{notebook}：不是可读的 Jupyter 笔记本（{exc}）") from exc
    out_dir = (Path(out_dir) if out_dir else notebook.parent).resolve()  # converters run in a work dir
    out_dir.mkdir(parents=True, exist_ok=True)
    nb = prepare(raw_nb)
    meta = document_meta(raw_nb)
    eng = engine_for(engine)
    with tempfile.TemporaryDirectory(prefix=".render-", dir=out_dir) as tmp:
        def one(fmt: str) -> dict[str, Path]:
            work = Path(tmp) / fmt  # each format in its own work directory: nothing shared between them
            work.mkdir()
            target = out_dir / f"{notebook.stem}.{fmt}"
            if fmt == "pptx":  # the 发布会 deck, from the deck outputs of the same executed notebook
                (render_quarto_pptx if eng == "quarto" else render_pptx)(raw_nb, meta, work, target)
                return {fmt: target}
            if eng == "quarto":
                return render_quarto(nb, meta, work, notebook.stem, [fmt], out_dir)
            {"html": render_html, "docx": render_docx, "pdf": render_pdf}[fmt](nb, meta, work, target)
            return {fmt: target}
        return _each_format(one, formats)


def _each_format(one, formats: list[str]) -> dict[str, Path]:
    """``one(fmt)`` for every format, in parallel threads: the work is pandoc, Typst and Quarto processes
    (and the Typst compiler, which does not hold the interpreter), so the formats of one publication take about
    as long as the slowest. ``YIBAO_RENDER_SERIAL=1`` renders one after another. The first failure is raised
    after the others have finished (each output appears atomically or not at all)."""
    import concurrent.futures as cf
    if len(formats) <= 1 or os.environ.get("YIBAO_RENDER_SERIAL"):
        done = {}
        for fmt in formats:
            done.update(one(fmt))
        return done
    with cf.ThreadPoolExecutor(max_workers=len(formats), thread_name_prefix="yibao-render") as pool:
        futs = [pool.submit(one, fmt) for fmt in formats]
        cf.wait(futs)
    done = {}
    for f in futs:
        done.update(f.result())
    return {fmt: done[fmt] for fmt in formats}


def run_cli(args) -> int:
    done = render(args.notebook, formats=args.to, engine=args.engine, out_dir=args.out)
    for fmt, path in done.items():
        print(f"{fmt}: {path}")
    return 0
