"""Outputs appear atomically or not at all — also when the process is stopped with SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yibao import cli
from yibao.fsutil import atomic_path

LIB = Path(__file__).resolve().parent.parent / "lib"


def test_atomic_path_success_and_failure(tmp_path):
    target = tmp_path / "out.csv"
    with atomic_path(target) as tmp:
        tmp.write_text("a,b\n", encoding="utf-8")
        assert not target.exists()            # nothing visible until the block ends
    assert target.read_text(encoding="utf-8") == "a,b\n"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "a,b\n"   # the old output stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from yibao.fsutil import atomic_path, sigterm_as_interrupt
d = Path(sys.argv[1])
try:
    with sigterm_as_interrupt():
        with atomic_path(d / "report") as tmp:     # a directory being filled
            tmp.mkdir()
            (tmp / "part.html").write_text("half")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
except KeyboardInterrupt as exc:
    sys.exit(143 if str(exc) == "SIGTERM" else 1)
"""


def test_sigterm_leaves_nothing_behind(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(LIB))
    t0 = time.time()
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, timeout=60)
    assert r.returncode == 143
    assert time.time() - t0 < 25                       # stopped at once, not after the sleep
    assert list(tmp_path.iterdir()) == []              # no report, no temporary directory


def test_cli_exit_code_on_sigterm(monkeypatch, capsys):
    from yibao.data import validate

    def stopped(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        return 0
    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(validate, "run_cli", stopped)
    assert cli.main(["validate", "--data", "nowhere"]) == 143
    assert "interrupted" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) == before   # the handler is only installed while running
