"""The decision summary states the level of every interval it quotes, from the report's alpha."""

from __future__ import annotations

import pytest
import yaml

from recsys_causal.report import build_report


@pytest.mark.parametrize(("alpha", "label"), [(0.05, "95% interval (two-sided)"), (0.1, "90% interval (two-sided)")])
def test_decision_reasons_name_the_interval_level(example_dir, alpha, label):
    cfg = yaml.safe_load((example_dir / "ab.yaml").read_text())
    cfg["alpha"] = alpha
    cfg.pop("segments", None)
    cfg.pop("novelty", None)
    path = example_dir / f"ab_{alpha}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    _, _, result = build_report(path, example_dir / "a.html", example_dir / "a.json")
    quoted = [r for r in result["decision"]["reasons"] if "Primary metric" in r and "[" in r]
    assert quoted, result["decision"]["reasons"]
    assert all(label in r for r in quoted)
    if alpha != 0.05:
        assert not any("95%" in r for r in quoted)


@pytest.mark.parametrize("design", ["holdout", "switchback"])
def test_holdout_and_switchback_reasons_name_the_interval_level(example_dir, design):
    cfg = yaml.safe_load((example_dir / f"{design}.yaml").read_text())
    cfg["alpha"] = 0.1
    path = example_dir / f"{design}_0.1.yaml"
    path.write_text(yaml.safe_dump(cfg))
    _, _, result = build_report(path, example_dir / "d.html", example_dir / "d.json")
    quoted = [r for r in result["decision"]["reasons"] if "[" in r]
    assert quoted and all("90% interval (two-sided)" in r and "95%" not in r for r in quoted), quoted
