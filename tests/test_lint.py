"""Lint: pyflakes reports nothing for the package, the tests, the benchmarks and the tools."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from conftest import needs

PROJECT = Path(__file__).resolve().parent.parent


def test_pyflakes_clean():
    # requirements.txt installs pyflakes; only a hand-made environment lacks it (a failure under CI)
    needs(importlib.util.find_spec("pyflakes") is not None, "pyflakes (requirements.txt)")
    r = subprocess.run([sys.executable, "-m", "pyflakes", "lib", "tests", "benchmarks", "tools"],
                       cwd=PROJECT, capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert out == "" and r.returncode == 0, f"pyflakes (rc={r.returncode}):\n{out}"


def test_needs_fails_under_ci_and_skips_elsewhere(monkeypatch):
    import conftest
    import pytest
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI: the thing is missing"):
        needs(False, "the thing")
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="the thing not available"):
        needs(False, "the thing")
    needs(True, "the thing")  # present: nothing happens
