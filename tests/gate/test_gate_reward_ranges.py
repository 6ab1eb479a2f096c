"""The gate's YAML declares reward ranges: a declared range admits a reward the binary presumption refuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from recsys_causal.gate import main as gate_main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def screen_with_revenue(tmp_path):
    """The shipped screen on a copy of the log with a ``revenue`` reward: 0/1 except one purchase of 7.5."""
    shutil.copytree(ROOT / "decision_logs", tmp_path / "decision_logs")
    log = pd.read_parquet(ROOT / "decision_logs" / "sample_decision_log.parquet")
    shown = log["shown"].to_numpy(bool)
    revenue = np.where(shown, (np.arange(len(log)) % 97 == 0).astype(float), np.nan)
    revenue[np.flatnonzero(shown)[3]] = 7.5
    log.assign(revenue=revenue).to_parquet(tmp_path / "decision_logs" / "revenue_log.parquet")
    cfg = yaml.safe_load((ROOT / "reports" / "examples" / "screen.yaml").read_text())
    cfg["log"]["path"] = "decision_logs/revenue_log.parquet"
    cfg["log"]["outcome_events"] = "decision_logs/sample_outcome_events.parquet"
    cfg["primary"]["reward"] = "revenue"
    cfg.pop("output")

    def write(**extra) -> Path:
        path = tmp_path / "screen.yaml"
        path.write_text(yaml.safe_dump({**cfg, **extra}))
        return path
    return write


def test_undeclared_range_refuses_a_value_outside_the_presumed_binary_range(screen_with_revenue, capsys):
    assert gate_main([str(screen_with_revenue())]) == 2
    err = capsys.readouterr().err
    assert "revenue" in err and "reward_ranges" in err and "Traceback" not in err


def test_declared_range_in_the_yaml_admits_it(screen_with_revenue, capsys):
    assert gate_main([str(screen_with_revenue(reward_ranges={"revenue": [0, 10]}))]) in (0, 1, 3)
    assert "revenue" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [[5, 1], [0, float("inf")], [0]])
def test_invalid_declared_range_is_a_config_error(screen_with_revenue, capsys, bad):
    assert gate_main([str(screen_with_revenue(reward_ranges={"revenue": bad}))]) == 2
    err = capsys.readouterr().err
    assert "reward_ranges" in err and "Traceback" not in err
