"""Shared fixtures. Synthetic datasets are generated once per test session (per xdist worker)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return PROJECT


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> Path:
    """A small synthetic dataset (seed 7) with planted anomalies; planted.json beside the tables."""
    from yibao import synth
    out = tmp_path_factory.mktemp("synth-small") / "data"
    synth.generate(out, scale="small", seed=7)
    return out


@pytest.fixture(scope="session")
def small_planted(small_data) -> dict:
    return json.loads((small_data / "planted.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def clean_data(tmp_path_factory) -> Path:
    """A small synthetic dataset with no planted anomalies (false-alarm checks)."""
    from yibao import synth
    out = tmp_path_factory.mktemp("synth-clean") / "data"
    synth.generate(out, scale="small", seed=11, clean=True)
    return out
