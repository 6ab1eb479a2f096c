"""Golden numbers of the notebooks: every number the notebooks display equals its frozen value to 1e-12."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from notebook_numbers import FROZEN, NOTEBOOKS, compare, run_notebook  # noqa: E402

FROZEN_NUMBERS = json.loads(FROZEN.read_text())


@pytest.mark.parametrize("name", sorted(FROZEN_NUMBERS))
def test_notebook_numbers_equal_the_frozen_values(name):
    expected = FROZEN_NUMBERS[name]
    assert len(expected) > 50  # a real freeze, not an empty one
    moved = compare(expected, run_notebook(NOTEBOOKS / f"{name}.ipynb"))
    assert not moved, f"{len(moved)} numbers moved (first 20):\n" + "\n".join(moved[:20])


def test_every_notebook_is_frozen():
    assert sorted(FROZEN_NUMBERS) == sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def test_the_notebook_comparison_catches_a_moved_or_missing_number():
    frozen = {"a": 1.0, "b": None, "c": float("nan")}
    assert compare(frozen, {"a": 1.0, "b": None, "c": float("nan"), "new": 2.0}) == []
    assert compare(frozen, {"a": 1.0 + 1e-9, "b": None}) == ["a: 1.0 -> 1.000000001", "missing: c"]
