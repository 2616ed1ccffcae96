"""Step 1 of rendering: an executed notebook reduced to report content (:func:`prepare`) and its title-page
fields (:func:`document_meta`); the constants and the error shared by the two routes (:mod:`.builtin`,
:mod:`.quarto`) and the entry points (:mod:`.engine`).
"""
from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

from yibao.errors import YibaoError

FORMATS = ("html", "docx", "pdf", "pptx")  # pptx: the 发布会 deck (render/deck.py)
RESOURCES = Path(__file__).resolve().parent / "resources"
DEFAULT_CONFIDENTIALITY = "数据仅限本统筹地区定点医药机构内部使用，不得对外传播"
#: cells with these tags never reach a report (papermill's parameter cells; Quarto's / JupyterLab's remove tags)
REMOVE_CELL_TAGS = {"parameters", "injected-parameters", "remove-cell", "remove_cell", "hide", "no-report"}
KEEP_MIMES = ("text/markdown", "image/png")


class RenderError(YibaoError):
    """The notebook cannot be rendered (not executed, a cell error, a converter failure)."""


# ---- 1. prepare: the executed notebook as report content only ----------------------------------

def _report_preprocessor():
    from nbconvert.preprocessors import Preprocessor

    class ReportOutputs(Preprocessor):
        """Keep only what a reader should see: Markdown and PNG outputs. Streams (print, warnings,
        logging), errors, and outputs that are only a repr (``text/plain``) or an HTML DataFrame
        are dropped; code is cleared."""

        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type != "code":
                return cell, resources
            kept = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    raise RenderError(
                        f"单元格 {index + 1} 执行出错（{out.get('ename')}: {out.get('evalue')}）：报告不能渲染，请先修正并重新执行")
                if out.get("output_type") not in ("display_data", "execute_result"):
                    continue
                data = out.get("data", {})
                meta = (out.get("metadata") or {}).get("yibao") or {}
                if meta.get("kind") == "meta":
                    kept.append(out)
                    continue
                if not any(m in data for m in KEEP_MIMES):
                    continue
                if "image/png" not in data and not str(data.get("text/markdown", "")).strip():
                    continue
                out = copy.deepcopy(out)
                out["data"] = {k: v for k, v in data.items() if k in KEEP_MIMES or k == "text/plain"}
                if out.get("output_type") == "execute_result":
                    out["output_type"] = "display_data"
                    out.pop("execution_count", None)
                kept.append(out)
            cell.outputs = kept
            cell.source = ""
            cell.execution_count = None
            return cell, resources

    return ReportOutputs


def prepare(nb):
    """A copy of an executed notebook holding only report content (nbconvert preprocessors):
    parameter / injected-parameters cells removed, code cleared, streams, warnings, errors and raw
    reprs dropped, empty cells removed. Raises RenderError if the notebook was never executed or
    holds a cell error."""
    from nbconvert.preprocessors import TagRemovePreprocessor

    nb = copy.deepcopy(nb)
    code = [c for c in nb.cells if c.cell_type == "code" and not (set(c.metadata.get("tags", [])) & REMOVE_CELL_TAGS)]
    if code and not any(c.get("outputs") for c in code):
        raise RenderError("笔记本尚未执行（没有任何输出）：先用 yibao run 或 papermill 执行，再渲染")
    resources = {}
    tag = TagRemovePreprocessor(remove_cell_tags=REMOVE_CELL_TAGS, remove_input_tags={"remove-input", "remove_input"},
                                remove_all_outputs_tags={"remove-output", "remove_output"})
    tag.enabled = True
    nb, resources = tag.preprocess(nb, resources)
    pre = _report_preprocessor()()
    pre.enabled = True
    nb, resources = pre.preprocess(nb, resources)
    # raw cells (a user's own front matter, nbconvert templates) are dropped: the title page is ours
    nb.cells = [c for c in nb.cells if (c.cell_type == "markdown" and c.source.strip())
                or (c.cell_type == "code" and c.outputs)]
    return nb


def document_meta(nb) -> dict:
    """Title page fields: from ``Report.meta`` outputs, then ``nb.metadata['yibao']`` (which wins)."""
    meta: dict = {}
    for c in nb.cells:
        for out in c.get("outputs", []) if c.cell_type == "code" else []:
            y = (out.get("metadata") or {}).get("yibao") or {}
            if y.get("kind") == "meta":
                meta.update({k: v for k, v in (y.get("meta") or {}).items() if v})
    meta.update({k: v for k, v in (nb.metadata.get("yibao") or {}).items() if v not in (None, "")})
    meta.setdefault("title", "医保数据发布")
    meta.setdefault("confidentiality", DEFAULT_CONFIDENTIALITY)
    meta.setdefault("date", dt.date.today().isoformat())
    if not meta.get("issuer") and meta.get("region_name"):
        meta["issuer"] = f"{meta['region_name']}医保数据工作组"
    meta["date_label"] = _date_label(str(meta["date"]))
    return meta


def _date_label(date: str) -> str:
    try:
        d = dt.date.fromisoformat(date[:10])
    except ValueError:
        return date
    return f"{d.year}年{d.month}月{d.day}日"
