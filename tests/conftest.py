"""Fixtures shared by the test suites."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch copy of the example configs (``reports/examples/*.yaml``) and the shipped decision logs, laid
    out as in the repository, so runs read and write only inside ``tmp_path``."""
    (tmp_path / "reports" / "examples").mkdir(parents=True)
    for f in (ROOT / "reports" / "examples").glob("*.yaml"):
        shutil.copy(f, tmp_path / "reports" / "examples" / f.name)
    shutil.copytree(ROOT / "decision_logs", tmp_path / "decision_logs")
    return tmp_path
