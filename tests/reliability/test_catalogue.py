"""The reliability catalogue as a whole: its size, and docs/reliability.md generated from it."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from reliability_table import collect, render  # noqa: E402


def test_catalogue_has_at_least_150_cases():
    rows = collect()
    assert sum(n for _, _, n, _ in rows) >= 150, rows


def test_every_class_states_its_promise():
    for module, cls, n, promise in collect():
        assert n > 0 and len(promise) > 10, (module, cls)


def test_docs_table_is_current():
    """docs/reliability.md is regenerated whenever a case is added (python scripts/reliability_table.py)."""
    assert render(collect()) == (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
