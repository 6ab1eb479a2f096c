"""Unit metrics from decision logs: windows, immature exclusion, quarantine; power and planning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_causal.errors import DataValidationError
from recsys_causal.experiments.power import mde, power, proportion_sd, required_sample_size
from recsys_causal.experiments.readout import Metric, analyze_by_window
from recsys_causal.experiments.unit_metrics import (
    join_unit_tables,
    unit_metrics_from_log,
    windowed_unit_metrics,
)
from recsys_causal.logs.model import DecisionLog
from recsys_causal.simulate.ab import simulate_ab_log


def _tiny_log() -> DecisionLog:
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    requests = pd.DataFrame({
        "request_id": ["r1", "r2", "r3", "r4", "r5"],
        "decision_time": [t0, t0 + pd.Timedelta(days=2), t0 + pd.Timedelta(days=9), t0 + pd.Timedelta(days=1),
                          t0 + pd.Timedelta(days=6)],
        "user_id": ["a", "a", "a", "b", "c"],
        "experiment_id": "e", "variant": ["control", "control", "control", "treatment", "treatment"],
    })
    candidates = pd.DataFrame({
        "request_id": ["r1", "r1", "r2", "r3", "r4", "r4", "r5"],
        "item_id": list("xyzxyzx"), "shown": [True, False, True, True, True, True, True],
        "position": [1, None, 1, 1, 1, 2, 1],
        "click": [1.0, np.nan, 0.0, 1.0, np.nan, 1.0, 1.0],
    })
    return DecisionLog.from_frames(requests, candidates)


def test_unit_metrics_by_hand():
    um = unit_metrics_from_log(_tiny_log(), window="7D", as_of="2026-01-10")
    units = um.units.set_index("user_id")
    # user a: first exposure day 0, window [0, 7): requests r1 (1 shown, 1 click) and r2 (1 shown, 0 clicks)
    assert units.loc["a", "impressions"] == 2 and units.loc["a", "click"] == 1 and units.loc["a", "n_requests"] == 2
    # user b: 2 shown, one click unobserved (NaN): it adds nothing and is counted as missing
    assert units.loc["b", "impressions"] == 2 and units.loc["b", "click"] == 1
    assert um.missing_outcomes == {"click": 1}
    # user c: first exposure day 6, window closes day 13 > as_of day 10 -> excluded and counted
    assert "c" not in units.index and um.n_immature == 1 and um.immature_examples == ["c"]


def test_dual_assigned_users_quarantined_in_log():
    req, cand, _ = simulate_ab_log(n_users=500, n_dual_assigned=6, seed=2)
    um = unit_metrics_from_log(DecisionLog.from_frames(req, cand), window="30D", as_of="2026-06-01")
    assert um.quarantine.count == 6
    assert len(um.units) == 494
    assert "6 units" in um.quarantine.message() and "quarantined" in repr(um)


def test_windows_and_readout_per_window():
    req, cand, _ = simulate_ab_log(n_users=1500, seed=3)
    log = DecisionLog.from_frames(req, cand)
    as_of = req["decision_time"].min() + pd.Timedelta(days=18)
    w = windowed_unit_metrics(log, windows=("7D", "14D", "30D"), as_of=as_of)
    sizes = [len(w[k].units) for k in ("7D", "14D", "30D")]
    assert sizes[0] > sizes[1] > sizes[2] == 0  # a 30-day window has not closed for anyone yet
    assert w["30D"].n_immature == 1500
    readouts = analyze_by_window({k: v.units for k, v in w.items() if len(v.units)},
                                 metrics=[Metric.ratio("ctr", "click", "impressions")], unit_col="user_id",
                                 expected_split={"control": 0.5, "treatment": 0.5})
    assert set(readouts) == {"7D", "14D"}


def test_join_unit_tables():
    units = pd.DataFrame({"user_id": ["a", "b", "c"], "variant": ["control", "treatment", "control"]})
    revenue = pd.DataFrame({"user_id": ["a", "c"], "revenue": [5.0, 2.0]})
    retention = pd.DataFrame({"user_id": ["a", "b", "c"], "retained_d7": [1.0, 0.0, 1.0]})
    out = join_unit_tables(units, revenue, retention, fill={"revenue": 0.0})
    assert out["revenue"].tolist() == [5.0, 0.0, 2.0] and out["retained_d7"].tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(DataValidationError, match="duplicate"):
        join_unit_tables(units, pd.concat([revenue, revenue]))


def test_power_mde_sample_size_consistent_and_by_simulation():
    n = required_sample_size(mde=0.1, sd=1.0, power=0.8)
    # by hand: n = 2 * (1.959964 + 0.841621)^2 / 0.1^2 = 1569.8 -> 1570
    assert n == 1570
    assert power(n_per_arm=n, effect=0.1, sd=1.0) == pytest.approx(0.8, abs=0.002)
    assert mde(n_per_arm=n, sd=1.0) == pytest.approx(0.1, rel=1e-3)
    assert required_sample_size(mde=0.1, sd=1.0, variance_reduction=0.5) == 785
    assert mde(n_per_arm=10_000, sd=proportion_sd(0.1), baseline=0.1) == pytest.approx(
        2.8016 * 0.3 * np.sqrt(2 / 10_000) / 0.1, rel=1e-3)
    rng = np.random.default_rng(0)
    t = rng.normal(0.1, 1.0, (2000, n)).mean(1)
    c = rng.normal(0.0, 1.0, (2000, n)).mean(1)
    assert np.mean(np.abs(t - c) / np.sqrt(2 / n) > 1.959964) == pytest.approx(0.8, abs=0.03)
