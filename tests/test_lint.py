"""Lint: pyflakes reports nothing for the package, the tests, the benchmarks and the tools."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyflakes")

PROJECT = Path(__file__).resolve().parent.parent


def test_pyflakes_clean():
    r = subprocess.run([sys.executable, "-m", "pyflakes", "lib", "tests", "benchmarks", "tools"],
                       cwd=PROJECT, capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert out == "" and r.returncode == 0, f"pyflakes (rc={r.returncode}):\n{out}"
