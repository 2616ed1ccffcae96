"""Execute a publication notebook inside this process — the fast path for many small notebooks.

papermill starts a kernel per notebook (2–4 s of imports before the first cell); a batch of 56
institution reports spends most of its time there. :func:`execute_inprocess` produces the same executed
notebook — papermill's ``injected-parameters`` cell after the ``parameters`` cell, every display output
of every cell with its metadata, execution counts — by running the cells with an in-process IPython shell
whose display publisher records the outputs. Each notebook gets a fresh namespace; modules stay imported,
so the second notebook of a worker starts at once. A cell that raises stops the run with
:class:`NotebookError` naming the cell (as papermill does); nothing is written then.

Use it only for notebooks written for it — thin notebooks of function calls that emit through
:class:`yibao.publications.display.Report` (``print`` output is kept as a stream, as a kernel would).
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path


class NotebookError(RuntimeError):
    def __init__(self, cell: int, ename: str, evalue: str):
        super().__init__(f"notebook cell {cell} failed: {ename}: {evalue}")
        self.exec_count, self.ename, self.evalue = cell, ename, evalue


_SHELL = None


def _shell():
    """One InteractiveShell per process with a display publisher that records (data, metadata)."""
    global _SHELL
    if _SHELL is None:
        from IPython.core.displaypub import DisplayPublisher
        from IPython.core.interactiveshell import InteractiveShell

        class Recorder(DisplayPublisher):
            outputs: list = []

            def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):
                self.outputs.append({"output_type": "display_data", "data": dict(data),
                                     "metadata": dict(metadata or {})})

            def clear_output(self, wait=False):
                self.outputs.clear()

        shell = InteractiveShell.instance()
        shell.display_pub = Recorder(shell=shell)
        shell.display_pub.outputs = []
        _SHELL = shell
    return _SHELL


def _param_source(params: dict) -> str:
    lines = ["# Parameters"]
    for k, v in params.items():
        lines.append(f"{k} = {json.dumps(v, ensure_ascii=False) if isinstance(v, str) else repr(v)}")
    return "\n".join(lines) + "\n"


def execute_inprocess(src: Path, dst: Path, params: dict, cwd: Path | None = None) -> None:
    """Run notebook ``src`` with ``params`` into ``dst`` (see the module docstring)."""
    import os

    import nbformat
    from nbformat.v4 import new_code_cell, new_output

    from yibao.fsutil import atomic_path
    nb = nbformat.read(str(src), as_version=4)
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type == "code" and "parameters" in (cell.metadata.get("tags") or []):
            inj = new_code_cell(_param_source(params))
            inj.metadata["tags"] = ["injected-parameters"]
            inj["id"] = "injected-parameters"
            cells.append(inj)
    nb.cells = cells
    shell = _shell()
    ns: dict = {"__name__": "__main__"}
    old = os.getcwd()
    count = 0
    try:
        if cwd:
            os.chdir(cwd)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            count += 1
            cell.execution_count = count
            shell.display_pub.outputs = []
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(cell.source, f"<cell {count}>", "exec"), ns)  # noqa: S102 - our own notebook
            except Exception as exc:  # noqa: BLE001 - reported as the cell's failure
                raise NotebookError(count, type(exc).__name__, str(exc)) from exc
            outputs = []
            if out.getvalue():
                outputs.append(new_output("stream", name="stdout", text=out.getvalue()))
            for o in shell.display_pub.outputs:
                outputs.append(new_output("display_data", data=o["data"], metadata=o["metadata"]))
            cell.outputs = outputs
    finally:
        os.chdir(old)
        shell.display_pub.outputs = []
        try:
            import matplotlib.pyplot as plt
            plt.close("all")
        except Exception:  # noqa: BLE001
            pass
    nb.metadata.setdefault("papermill", {})["parameters"] = params
    with atomic_path(Path(dst)) as tmp:
        nbformat.write(nb, str(tmp))


__all__ = ["NotebookError", "execute_inprocess"]
