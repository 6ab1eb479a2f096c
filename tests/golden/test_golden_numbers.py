"""Golden numbers: the shipped examples' reports and gate screen give the frozen values to 1e-12."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from golden_numbers import REPORTS, current, differences, load  # noqa: E402


@pytest.fixture(scope="module")
def produced():
    return current()


@pytest.mark.parametrize("name", [f"report_{r}" for r in REPORTS] + ["gate_screen"])
def test_numbers_equal_the_frozen_values(produced, name):
    expected = load(name)
    assert len(expected) > 20  # a real document, not an empty freeze
    moved = differences(expected, produced[name])
    assert not moved, f"{len(moved)} numbers moved (first 20):\n" + "\n".join(moved[:20])


def test_the_comparison_catches_a_moved_number():
    frozen = {"a": 1.0, "b": None, "c": float("nan")}
    assert differences(frozen, {"a": 1.0, "b": None, "c": float("nan")}) == []
    assert differences(frozen, {"a": 1.0 + 1e-9, "b": None, "c": float("nan")}) == ["a: 1.0 -> 1.000000001"]
    assert differences(frozen, {"a": 1.0, "b": 0.0, "c": 1.0, "d": 2.0}) == [
        "b: None -> 0.0", "c: nan -> 1.0", "new: d"]
