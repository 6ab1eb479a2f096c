"""causal-report on a holdout read from its decision log (reports/examples/holdout_log.yaml): the same units as
the unit-table example, so every shared estimate equals it; the request accounting reconciles."""

from __future__ import annotations

import json

import pytest
import yaml

from recsys_causal.errors import ConfigError
from recsys_causal.report import build_report


def test_the_log_example_reproduces_the_unit_table_example(example_dir):
    _, log_json, _ = build_report(example_dir / "holdout_log.yaml", example_dir / "l.html", example_dir / "l.json")
    _, unit_json, _ = build_report(example_dir / "holdout.yaml", example_dir / "u.html", example_dir / "u.json")
    got = {e["name"]: e for e in json.loads(log_json.read_text())["holdout"]["estimates"]}
    want = {e["name"]: e for e in json.loads(unit_json.read_text())["holdout"]["estimates"]}
    shared = ["exposure rate (treated)", "ITT lift (absolute)", "ITT lift (relative)", "effect on exposed (Wald)",
              "effect on exposed (ghost)", "incremental conversions (treated population)"]
    for name in shared:
        for key in ("value", "se", "ci_low", "ci_high"):
            assert got[name][key] == pytest.approx(want[name][key], rel=1e-12, abs=1e-15), (name, key)
    data = json.loads(log_json.read_text())
    um = data["data_quality"]["unit_metrics"]
    assert um["reconciles"] and um["requests_read"] == um["requests_used"] + sum(um["requests_quarantined"].values()) \
        + sum(um["requests_excluded"].values())
    assert data["holdout"]["counts"]["ghost_requests"] > 0 and data["holdout"]["counts"]["holdout_leaks"] == 0


def test_a_log_holdout_without_as_of_is_a_config_error(example_dir):
    cfg = yaml.safe_load((example_dir / "holdout_log.yaml").read_text())
    del cfg["data"]["as_of"]
    path = example_dir / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="as_of"):
        build_report(path, example_dir / "b.html", example_dir / "b.json")
