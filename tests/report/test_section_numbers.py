"""Section numbers are generated: every example page numbers its sections 1, 2, 3, ... without gaps."""

from __future__ import annotations

import re

import pytest

from recsys_causal.report import build_report


@pytest.mark.parametrize("design", ["ab", "holdout", "switchback"])
def test_sections_are_numbered_consecutively(example_dir, design):
    html_path, _, _ = build_report(example_dir / f"{design}.yaml", example_dir / "r.html", example_dir / "r.json")
    numbers = [int(n) for n in re.findall(r'<h2 id="[a-z-]+">(\d+)\. ', html_path.read_text())]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 4, numbers
