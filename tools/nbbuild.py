"""Build a publication notebook from a compact outline (kept so notebooks stay easy to regenerate).

Usage in code: write_notebook(path, [("params", src), ("md", text), ("code", src), ...]).
Notebooks are written without outputs; the first code cell is tagged ``parameters``.
"""
from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def write_notebook(path, cells, title: str) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["yibao"] = {"title": title}
    for kind, src in cells:
        if kind == "params":
            c = new_code_cell(src.strip())
            c.metadata["tags"] = ["parameters"]
        elif kind == "md":
            c = new_markdown_cell(src.strip())
        else:
            c = new_code_cell(src.strip())
        nb.cells.append(c)
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i:02d}"
    nbformat.write(nb, str(path))
