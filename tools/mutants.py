"""Mutation testing of the code that decides publication numbers (``make mutants``; docs/testing.md).

A small purpose-built mutator on :mod:`ast` rather than mutmut: mutmut 3 copies the project into
``mutants/`` and needs a ``src`` layout and a trampoline in every function, which breaks the DuckDB SQL
held in module-level strings (the indicator catalogue), and its per-mutant pytest start-up (pandas,
DuckDB, pyarrow: ~3 s) would by itself take the run over the time budget on a shared 2-core machine.

How it works
------------
1. For each target module (``TARGETS``) the source is parsed and every *mutation point* listed: a
   comparison operator (``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``==`` ↔ ``!=``, ``in`` ↔ ``not in``), an
   arithmetic operator (``+`` ↔ ``-``, ``*`` ↔ ``/``, ``//`` → ``/``), ``and`` ↔ ``or``, a dropped
   ``not``, a number constant (``n`` → ``n + 1`` and ``n − 1``; ``0`` ↔ ``1``) and, inside SQL text (string constants
   and f-string parts that read like SQL), the same operators and integer literals plus ``AND`` ↔ ``OR``,
   ``<>`` ↔ ``=``, ``IS NULL`` ↔ ``IS NOT NULL``, ``NOT IN`` → ``IN``, ``sum(`` → ``max(``,
   ``count(`` → ``max(`` and a dropped ``DISTINCT``. Docstrings, messages and lines carrying
   ``# no mutate`` (with a reason) are left alone; ``functions`` restricts a module to the named
   functions/classes that decide numbers.
2. The parent process imports the heavy third-party libraries once and never imports ``yibao``. Each
   mutant runs in a forked child: the child compiles the mutated tree under the module's real file name,
   installs it in ``sys.modules`` before anything of yibao is imported, and runs pytest in-process on the
   module's own test selection (``-x``, no xdist, no cache). A failing run, an error or a timeout
   (``TIMEOUT_FACTOR`` × the clean run) kills the mutant; a passing run is a survivor.
3. It prints, per module, killed / total and the score, then the survivors (file:line, the change), and
   exits 1 when a module scores below ``--min-score`` (default 85).

Usage: ``python tools/mutants.py [--module periods] [--min-score 85] [--list] [--max N] [--every K]
[--shard I/N] [--only N,M,…] [-v]``. ``--only`` runs the mutants with those numbers (as ``--list`` and ``-v``
number them: the survivors of an earlier run, say). ``--shard I/N`` runs the mutants whose number is I modulo N: N runs side by side
(``--shard 0/2`` and ``--shard 1/2``) together run every mutant once, and their killed / total add up.
"""
from __future__ import annotations

import argparse
import ast
import copy
import io
import os
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "lib"
TIMEOUT_FACTOR = 4.0
TIMEOUT_MIN = 20.0

# module -> the tests that are written for its behaviour, and optionally the functions that decide numbers
TARGETS: dict[str, dict] = {
    "periods": dict(module="yibao.data.periods", tests=["tests/test_periods.py::test_periods"]),
    "growth": dict(module="yibao.fmt", functions=["_bad", "growth_pct", "change"],
                   tests=["tests/test_periods.py::test_growth"]),
    "suppression": dict(module="yibao.metrics.indicators", functions=["_inst_status", "change", "_round", "_num"],
                        tests=["tests/test_numbers.py::test_suppression", "tests/test_numbers.py::test_change",
                               "tests/test_indicators.py::test_every_indicator_by_hand",
                               "tests/test_indicators.py::test_missing_settlement_progress",
                               "tests/test_numbers.py::test_institution_without_progress_rows"]),
    "suppression_digao": dict(module="yibao.metrics.suppression",
                              tests=[f"tests/test_disclosure_releases.py::test_{t}" for t in (
                                  "unknowns_of_a_year_against_quarters_and_months", "protect_by_hand",
                                  "protect_picks_the_smallest_value_not_the_first_code_and_breaks_ties_by_siblings",
                                  "the_quarter_hides_the_hospitals_whose_months_would_give_a_hidden_value_back",
                                  "the_year_hides_what_its_quarter_and_months_would_give_back",
                                  "no_combination_of_published_monthly_quarterly_and_annual_values_gives_the_3_back")]
                              + ["tests/test_disclosure_digao.py"]),
    "indicator_sql": dict(module="yibao.metrics.catalogue", sql_only=True,
                          tests=["tests/test_indicators.py::test_every_indicator_by_hand",
                                 "tests/test_indicators.py::test_frequency_ignored_values",
                                 "tests/test_indicators.py::test_dip_region",
                                 "tests/test_indicators.py::test_h1_payment_rate",
                                 "tests/test_indicators.py::test_edge_region_by_hand",
                                 "tests/test_numbers.py::test_suppression"]),
    "findings_rules": dict(module="yibao.findings.rules_admissions", functions=["_readmissions", "_rate_rule"],
                           tests=["tests/test_boundaries.py::test_readmission_windows",
                                  "tests/test_boundaries.py::test_minimum_volumes"]),
    "findings_thresholds": dict(module="yibao.findings.rules",
                                functions=[f"{r}.{k}" for r in ("READMIT_15D", "SPLIT_ADMISSION")
                                           for k in ("days", "min_adm", "min_events")],
                                tests=["tests/test_boundaries.py::test_readmission_windows",
                                       "tests/test_boundaries.py::test_minimum_volumes"]),
    "netting": dict(module="yibao.data.warehouse", functions=["_derive"], sql_only=True,
                    tests=["tests/test_boundaries.py::test_netting",
                           "tests/test_indicators.py::test_netting_matches_warehouse"]),
}

# ---- mutation points ------------------------------------------------------------------------------
CMP_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BIN_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
            ast.Mod: ast.FloorDiv}
BOOL_SWAP = {ast.And: ast.Or, ast.Or: ast.And}
SQL_HINT = re.compile(r"\b(SELECT|WHERE|CASE WHEN|GROUP BY|JOIN|FROM)\b")
# (pattern, replacement) applied one occurrence at a time inside SQL text
SQL_OPS = [
    (r"(?<=\s)<=(?=\s)", "<"), (r"(?<=\s)>=(?=\s)", ">"), (r"(?<=\s)<(?=\s)", "<="), (r"(?<=\s)>(?=\s)", ">="),
    (r"(?<=\s)<>(?=\s)", "="), (r"(?<=\s)=(?=\s)", "<>"),
    (r"\bAND\b", "OR"), (r"\bOR\b(?! REPLACE)", "AND"), (r"\bIS NOT NULL\b", "IS NULL"), (r"\bIS NULL\b", "IS NOT NULL"),
    (r"\bNOT IN\b", "IN"), (r"\bsum\(", "max("), (r"\bcount\(", "max("), (r"\bDISTINCT\s", ""),
    (r"(?<![\w.'{-])(\d+)(?![\w.'}-])", None),  # integer literal -> +1 (and −1 above 1)
]


@dataclass
class Mutant:
    line: int
    desc: str
    index: int  # the mutation point's position in the walk
    variant: int = 0


def _docstring_ids(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                out.add(id(body[0].value))
    return out


def _message_ids(tree: ast.AST) -> set[int]:
    """Constants inside ``raise …(…)`` and f-strings that are not SQL (messages, labels): not mutated."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            out.update(id(n) for n in ast.walk(node))
    return out


def _sql_sites(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, old, new) for every SQL mutation in a string."""
    sites = []
    for pat, rep in SQL_OPS:
        for m in re.finditer(pat, text):
            if rep is None:  # an integer literal: +1, and −1 above 1 (0 ↔ 1)
                n = int(m.group(1))
                for new in ([n + 1, n - 1] if n > 1 else [1 - n]):
                    sites.append((m.start(), m.end(), m.group(0), str(new)))
            else:
                sites.append((m.start(), m.end(), m.group(0), rep))
    return sorted(sites)


class Points(ast.NodeVisitor):
    """Lists (node, kind, variants) in a deterministic walk; ``kind`` tells how to mutate."""

    def __init__(self, source_lines: list[str], functions: list[str] | None, sql_only: bool, skip: set[int]):
        self.lines = source_lines
        self.functions = set(functions or [])
        self.sql_only = sql_only
        self.skip = skip
        self.scope: list[str] = []
        self.points: list[tuple] = []  # node, kind, variant, description, line offset

    def _active(self, node) -> bool:
        # a restriction "f" keeps what is inside function/class/dict key/keyword f; "a.b" needs both a and b
        if self.functions and not any(set(f.split(".")) <= set(self.scope) for f in self.functions):
            return False
        line = getattr(node, "lineno", 0)
        return not (line and "no mutate" in self.lines[line - 1])

    def _def(self, node):
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _def

    def visit_Dict(self, node):
        for k, v in zip(node.keys, node.values):
            if k is not None:
                self.visit(k)
            named = isinstance(k, ast.Constant) and isinstance(k.value, str)
            if named:
                self.scope.append(k.value)
            self.visit(v)
            if named:
                self.scope.pop()

    def visit_keyword(self, node):
        if node.arg:
            self.scope.append(node.arg)
        self.generic_visit(node)
        if node.arg:
            self.scope.pop()

    def visit_Compare(self, node):
        if not self.sql_only and self._active(node):
            for i, op in enumerate(node.ops):
                if type(op) in CMP_SWAP:
                    self.points.append((node, "cmp", i, f"{type(op).__name__} -> {CMP_SWAP[type(op)].__name__}", 0))
        self.generic_visit(node)

    def visit_BinOp(self, node):
        if not self.sql_only and self._active(node) and type(node.op) in BIN_SWAP \
                and not (isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)):
            self.points.append((node, "bin", 0, f"{type(node.op).__name__} -> {BIN_SWAP[type(node.op)].__name__}", 0))
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        if not self.sql_only and self._active(node):
            self.points.append((node, "bool", 0, f"{type(node.op).__name__} -> {BOOL_SWAP[type(node.op)].__name__}", 0))
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if not self.sql_only and self._active(node) and isinstance(node.op, ast.Not):
            self.points.append((node, "not", 0, "drop not", 0))
        self.generic_visit(node)

    def visit_Constant(self, node):
        if id(node) in self.skip or not self._active(node):
            return
        v = node.value
        if isinstance(v, bool) or v is None:
            return
        if isinstance(v, (int, float)) and not self.sql_only:
            for i in (0, 1) if isinstance(v, int) and v > 1 else (0,):
                self.points.append((node, "num", i, f"{v!r} -> {_num_mutant(v, i)!r}", 0))
        elif isinstance(v, str) and SQL_HINT.search(v) or (isinstance(v, str) and getattr(node, "_in_sql", False)):
            for i, (a, b, old, new) in enumerate(_sql_sites(v)):
                self.points.append((node, "sql", i, f"SQL {old!r} -> {new!r} in …{_context(v, a, b)}…",
                                    v[:a].count("\n")))

    def visit_JoinedStr(self, node):
        # an f-string is SQL when its literal parts together read like SQL
        text = "".join(p.value for p in node.values if isinstance(p, ast.Constant) and isinstance(p.value, str))
        if SQL_HINT.search(text) or re.search(r"\b(CASE|THEN|BETWEEN|sum\(|count\()", text):
            for p in node.values:
                if isinstance(p, ast.Constant):
                    p._in_sql = True
        elif not self.sql_only:
            for p in node.values:  # f-string messages: leave their text alone, still visit the expressions
                if isinstance(p, ast.Constant):
                    self.skip.add(id(p))
        self.generic_visit(node)


def _context(text: str, a: int, b: int) -> str:
    return re.sub(r"\s+", " ", text[max(0, a - 30):b + 30]).strip()


def _num_mutant(v, variant: int = 0):
    """0 ↔ 1; otherwise n + 1 (variant 0) or, for integers above 1, n − 1 (variant 1)."""
    if v == 0:
        return 1
    if v == 1:
        return 0
    return v - 1 if variant else v + 1


def points_of(path: Path, functions=None, sql_only=False):
    src = path.read_text(encoding="utf-8")
    tree = ast.parse(src)
    skip = _docstring_ids(tree) | _message_ids(tree)
    pts = Points(src.splitlines(), functions, sql_only, skip)
    pts.visit(tree)
    return src, tree, pts.points


def mutate(tree: ast.AST, functions, sql_only, lines, k: int) -> ast.AST:
    """A copy of ``tree`` with the k-th mutation point applied."""
    t = copy.deepcopy(tree)
    skip = _docstring_ids(t) | _message_ids(t)
    pts = Points(lines, functions, sql_only, skip)
    pts.visit(t)
    node, kind, i = pts.points[k][:3]
    if kind == "cmp":
        node.ops[i] = CMP_SWAP[type(node.ops[i])]()
    elif kind == "bin":
        node.op = BIN_SWAP[type(node.op)]()
    elif kind == "bool":
        node.op = BOOL_SWAP[type(node.op)]()
    elif kind == "not":
        node._drop_not = True  # replaced by its operand below
    elif kind == "num":
        node.value = _num_mutant(node.value, i)
    elif kind == "sql":
        a, b, _, new = _sql_sites(node.value)[i]
        node.value = node.value[:a] + new + node.value[b:]
    if kind == "not":
        class Drop(ast.NodeTransformer):
            def visit_UnaryOp(self, n):
                self.generic_visit(n)
                return n.operand if getattr(n, "_drop_not", False) else n
        t = Drop().visit(t)
    return ast.fix_missing_locations(t)


# ---- running ----------------------------------------------------------------------------------------
def _preload() -> None:
    """Import the heavy third-party libraries once, in the parent (never yibao itself)."""
    import importlib
    for name in ("duckdb", "numpy", "pandas", "pyarrow", "pyarrow.parquet", "pytest", "openpyxl", "xdist"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _child(module: str, code, tests: list[str], basetemp: str) -> int:
    import importlib.util
    import pytest
    if code is not None:
        parent = module.rpartition(".")[0]
        importlib.import_module(parent)
        spec = importlib.util.find_spec(module)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[module] = mod
        exec(code, mod.__dict__)  # noqa: S102 - the mutated module, compiled from our own source
        setattr(sys.modules[parent], module.rpartition(".")[2], mod)
    devnull = open(os.devnull, "w")
    os.dup2(devnull.fileno(), 1)
    os.dup2(devnull.fileno(), 2)
    sys.stdout = sys.stderr = io.StringIO()
    return int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:randomly",
                            "--basetemp", basetemp, "-W", "ignore", *tests]))


def run_one(module: str, code, tests: list[str], timeout: float) -> tuple[str, float]:
    """('killed' | 'survived' | 'timeout' | 'error', seconds)."""
    basetemp = tempfile.mkdtemp(prefix="yibao-mutant-")
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        rc = 1
        try:
            os.chdir(ROOT)
            rc = _child(module, code, tests, basetemp)
        except BaseException:  # noqa: BLE001 - a mutant that cannot even import is killed
            rc = 99
        os._exit(rc)
    _CHILD[0] = pid
    deadline = t0 + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            _rmtree(basetemp)
            return "timeout", time.monotonic() - t0
        time.sleep(0.05)
    _CHILD[0] = 0
    _rmtree(basetemp)
    rc = os.waitstatus_to_exitcode(status)
    return ("survived" if rc == 0 else "killed"), time.monotonic() - t0


_CHILD = [0]  # the running mutant's pid: killed with us (SIGTERM, Ctrl-C)


def _stop(signum, frame):
    if _CHILD[0]:
        try:
            os.kill(_CHILD[0], signal.SIGKILL)
        except ProcessLookupError:
            pass
    raise SystemExit(f"stopped (signal {signum})")


def _rmtree(p: str) -> None:
    import shutil
    shutil.rmtree(p, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--module", action="append", choices=sorted(TARGETS), help="only these targets")
    ap.add_argument("--min-score", type=float, default=85.0)
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    ap.add_argument("--max", type=int, default=0, help="at most N mutants per module (a quick look)")
    ap.add_argument("--every", type=int, default=1,
                    help="run every K-th mutant only (a sampled score, reported as such)")
    ap.add_argument("--only", default="", help="N,M,…: only the mutants with these numbers (e.g. earlier survivors)")
    ap.add_argument("--shard", default="", help="I/N: only the mutants numbered I modulo N (runs side by side)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every mutant's result as it comes")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sys.path.insert(0, str(LIB))
    _preload()
    names = args.module or list(TARGETS)
    results = {}
    t_all = time.monotonic()
    for name in names:
        tgt = TARGETS[name]
        rel = tgt["module"].replace(".", "/") + ".py"
        path = LIB / rel
        src, tree, pts = points_of(path, tgt.get("functions"), tgt.get("sql_only", False))
        lines = src.splitlines()
        pts = list(enumerate(pts))
        if args.every > 1:
            pts = pts[::args.every]
        if args.shard:
            i, n_sh = (int(x) for x in args.shard.split("/"))
            pts = [p for p in pts if p[0] % n_sh == i]
        if args.only:
            wanted = {int(x) for x in args.only.split(",") if x.strip()}
            pts = [p for p in pts if p[0] in wanted]
        if args.max:
            pts = pts[:args.max]
        if args.list:
            for k, (node, _, _, desc, off) in pts:
                print(f"{name} #{k} lib/{rel}:{getattr(node, 'lineno', 0) + off}: {desc}")
            continue
        state, base = run_one(tgt["module"], None, tgt["tests"], 600)
        if state != "survived":
            print(f"{name}: the tests fail on the unmutated code ({state}); fix them first", flush=True)
            return 2
        timeout = max(TIMEOUT_MIN, TIMEOUT_FACTOR * base)
        killed, survivors = 0, []
        t0 = time.monotonic()
        for k, (node, _, _, desc, off) in pts:
            code = compile(mutate(tree, tgt.get("functions"), tgt.get("sql_only", False), lines, k), str(path), "exec")
            st, secs = run_one(tgt["module"], code, tgt["tests"], timeout)
            if args.verbose:
                print(f"  #{k} {st:8s} {secs:5.1f} s  lib/{rel}:{getattr(node, 'lineno', 0) + off}: {desc}", flush=True)
            if st == "survived":
                survivors.append(f"lib/{rel}:{getattr(node, 'lineno', 0) + off}: {desc}")
            else:
                killed += 1
        n = len(pts)
        score = 100.0 * killed / n if n else 100.0
        results[name] = (killed, n, score, survivors, time.monotonic() - t0)
        sample = (f", every {args.every}th mutant" if args.every > 1 else "") + \
            (f", shard {args.shard}" if args.shard else "") + (", the mutants named by --only" if args.only else "")
        print(f"{name:22s} {tgt['module']:32s} killed {killed:4d} / {n:4d}  score {score:5.1f} %  "
              f"({time.monotonic() - t0:.0f} s, clean run {base:.1f} s{sample})", flush=True)
        for s in survivors:
            print(f"    survived  {s}", flush=True)
    if args.list:
        return 0
    k = sum(r[0] for r in results.values())
    n = sum(r[1] for r in results.values())
    print(f"{'total':22s} {'':32s} killed {k:4d} / {n:4d}  score {100.0 * k / max(n, 1):5.1f} %  "
          f"({time.monotonic() - t_all:.0f} s)")
    low = [m for m, r in results.items() if r[2] < args.min_score]
    if low:
        print(f"below {args.min_score:.0f} %: {', '.join(low)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
