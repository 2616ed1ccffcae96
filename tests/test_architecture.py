"""The pipeline's layering, read from the source with ``ast`` (docs/architecture.md).

Every module of ``lib/yibao`` belongs to a stage; a stage may import itself, the stages below it and the
foundation, never a stage above it. No import cycle between modules, counting imports inside functions too
(a lazy import hides a cycle from Python, not from a reader).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "lib" / "yibao"

# stage → rank; a module may import modules of equal or lower rank. The foundation (errors, fsutil, fmt and
# the package's __init__) is rank 0; the command line is the top.
RANK = {"foundation": 0, "data": 1, "metrics": 2, "synth": 2, "findings": 3, "publications": 4, "render": 5,
        "workgroup": 6, "batch": 7, "delivery": 7,
        "cli": 8}
FOUNDATION = {"yibao", "yibao.errors", "yibao.fsutil", "yibao.fmt", "yibao.escape"}
MAX_LINES = 800


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def stage_of(module: str) -> str:
    if module in FOUNDATION:
        return "foundation"
    if module == "yibao.cli":
        return "cli"
    stage = module.split(".")[1]
    if stage not in RANK:
        raise AssertionError(f"{module}: not in any stage of tests/test_architecture.py RANK")
    return stage


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> dict[str, int]:
    """The yibao modules a file imports (module name → first line), relative imports resolved."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found: dict[str, int] = {}

    def add(name: str, line: int) -> None:
        if name in known and name != me:
            found.setdefault(name, line)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for a in node.names:
                add(a.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("yibao"):
                continue
            # `from yibao.x import y` imports y if y is a module, else x
            for a in node.names:
                sub = f"{target}.{a.name}"
                add(sub if sub in known else target, node.lineno)
    return found


def graph() -> dict[str, dict[str, int]]:
    mods = modules()
    return {m: imports_of(p, set(mods)) for m, p in mods.items()}


def rel(module: str) -> str:
    return str(modules()[module].relative_to(PKG.parents[1]))


def test_every_module_is_in_a_stage():
    for m in modules():
        stage_of(m)


def test_no_upward_import():
    bad = []
    for m, deps in graph().items():
        for d, line in deps.items():
            if RANK[stage_of(d)] > RANK[stage_of(m)] or (
                    stage_of(m) == "synth" and stage_of(d) not in ("synth", "data", "foundation")) or (
                    stage_of(m) == "metrics" and stage_of(d) == "synth"):
                bad.append(f"{rel(m)}:{line} imports {rel(d)} ({stage_of(m)} → {stage_of(d)})")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def find_cycle(g: dict[str, dict[str, int]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for d in sorted(g.get(n, {})):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                c = visit(d)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state:
            c = visit(n)
            if c:
                return c
    return None


def test_no_import_cycle():
    g = graph()
    cycle = find_cycle(g)
    assert cycle is None, "import cycle: " + " → ".join(
        f"{rel(a)}:{g[a][b]}" for a, b in zip(cycle, cycle[1:])) + f" → {rel(cycle[-1])}"


def test_the_checker_sees_cycles_and_upward_imports():
    assert find_cycle({"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {}}) is None
    tree = {m: imports_of(p, set(modules())) for m, p in modules().items()}
    # the real graph has the edges the stages rely on, resolved from relative and absolute imports
    assert "yibao.data.warehouse" in tree["yibao.metrics.indicators"]
    assert stage_of("yibao.batch.runner") == "batch" and stage_of("yibao.fmt") == "foundation"


def test_imports_resolve_relative_and_lazy(tmp_path, monkeypatch):
    pkg = tmp_path / "yibao"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "data" / "__init__.py").write_text("")
    (pkg / "data" / "load.py").write_text("def f():\n    from ..batch import runner\n    from . import periods\n")
    monkeypatch.setattr(__import__(__name__), "PKG", pkg)
    found = imports_of(pkg / "data" / "load.py", {"yibao.batch.runner", "yibao.data.periods", "yibao.batch"})
    assert found == {"yibao.batch.runner": 2, "yibao.data.periods": 3}


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_module_size(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(PKG.parents[1])}: {n} lines (at most {MAX_LINES}; split it by topic)"
