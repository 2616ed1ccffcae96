"""render/inprocess.py: a notebook executed inside the process gives what papermill gives (issue 15)."""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from yibao.render.inprocess import NotebookError, execute_inprocess


def _nb(tmp_path, *cells):
    params = new_code_cell('n = 1\nname = "x"')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, *cells])
    path = tmp_path / "src.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_outputs_parameters_and_fresh_namespace(tmp_path):
    src = _nb(tmp_path, new_markdown_cell("# 标题"),
              new_code_cell("from yibao.publications.display import Report\nrep = Report()\n"
                            "rep.md(f'{name} 有 {n * 2} 项')\nprint('log line')"),
              new_code_cell("import pandas as pd\nrep.table(pd.DataFrame({'a': ['1']}), '表题')"))
    dst = tmp_path / "out.ipynb"
    execute_inprocess(src, dst, {"n": 21, "name": "东岚市"})
    nb = nbformat.read(str(dst), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[1].metadata["tags"] == ["injected-parameters"] and 'name = "东岚市"' in code[1].source
    assert [c.execution_count for c in code] == [1, 2, 3, 4]
    outs = code[2].outputs
    assert outs[0]["output_type"] == "stream" and outs[0]["text"] == "log line\n"
    assert outs[1]["data"]["text/markdown"] == "东岚市 有 42 项" and outs[1]["metadata"]["yibao"]["kind"] == "md"
    table = code[3].outputs[0]
    assert table["metadata"]["yibao"]["kind"] == "table" and table["metadata"]["yibao"]["number"] == 1
    # a second notebook starts from a fresh namespace: nothing of the first is defined
    src2 = _nb(tmp_path, new_code_cell("assert 'rep' not in globals()"))
    execute_inprocess(src2, tmp_path / "out2.ipynb", {})


def test_failing_cell_names_the_cell_and_writes_nothing(tmp_path):
    src = _nb(tmp_path, new_code_cell("x = 1"), new_code_cell("raise ValueError('数据缺失')"))
    dst = tmp_path / "out.ipynb"
    with pytest.raises(NotebookError) as exc:
        execute_inprocess(src, dst, {})
    assert exc.value.exec_count == 4 and "ValueError: 数据缺失" in str(exc.value)
    assert not dst.exists()
