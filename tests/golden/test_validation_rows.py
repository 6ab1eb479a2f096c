"""Golden rows of the validation table: every study gives its frozen rows at a few runs (same seeds as the table)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validation_rows import load, rows_of, studies  # noqa: E402

FROZEN = load()


def test_every_study_is_frozen():
    assert sorted(FROZEN) == sorted(studies())


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_study_rows_equal_the_frozen_rows(name):
    frozen = FROZEN[name]
    assert frozen and all(row[2] > 0 for row in frozen)  # real rows with runs, not an empty freeze
    assert rows_of(name) == frozen
