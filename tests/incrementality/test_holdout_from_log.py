"""analyze_holdout from a decision log: exposure from shown module items, ghost exposures from suppressed
slates, every request accounted for; the readout equals the one from the simulator's own unit table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_causal import analyze_holdout
from recsys_causal.errors import ConfigError, DataValidationError, SchemaError
from recsys_causal.incrementality.from_log import holdout_units_from_log
from recsys_causal.logs.model import DecisionLog
from recsys_causal.simulate import simulate_holdout
from recsys_causal.simulate.holdout_log import simulate_holdout_log

T0 = pd.Timestamp("2026-05-01", tz="UTC")


def _hand_log() -> DecisionLog:
    """u1 treated, shown on home; u2 treated, browse only; u3 holdout with a suppressed home slate (ghost);
    u4 holdout, browse only; u5 in both arms; a request without a variant; u1 again after its 7-day window; u6
    first seen a day before as_of (window open); u2's orders unknown on one request; u7 treated, browse only."""
    req = pd.DataFrame([
        ("r1", 0, "u1", "treated", "home", 1.0), ("r2", 0, "u2", "treated", "browse", 0.0),
        ("r3", 1, "u3", "holdout", "home", 0.0), ("r4", 1, "u4", "holdout", "browse", 1.0),
        ("r5", 1, "u5", "treated", "home", 1.0), ("r6", 2, "u5", "holdout", "browse", 0.0),
        ("r7", 2, None, "treated", "browse", 1.0), ("r8", 2, "u9", None, "browse", 1.0),
        ("r9", 9, "u1", "treated", "browse", 1.0), ("r10", 19, "u6", "holdout", "home", 0.0),
        ("r11", 2, "u2", "treated", "browse", np.nan), ("r12", 3, "u7", "treated", "browse", 0.0)],
        columns=["request_id", "day", "user_id", "variant", "surface", "orders"])
    req["decision_time"] = T0 + pd.to_timedelta(req.pop("day"), unit="D")
    slates = {"r1": (True, False), "r3": (False, True), "r5": (True, False), "r10": (False, True)}
    rows = [(r, f"i{k}", *slates.get(r, (k == 1, False)), float(k), 0.5) for r in req["request_id"] for k in (1, 2)]
    cand = pd.DataFrame(rows, columns=["request_id", "item_id", "shown", "suppressed", "position", "propensity"])
    return DecisionLog.from_frames(req, cand, reward_columns=())


def test_units_exposure_ghosts_and_accounting_by_hand():
    log = _hand_log()
    hu = holdout_units_from_log(log, window="7D", as_of=T0 + pd.Timedelta(days=20), outcome="orders",
                                module={"surface": "home"})
    u = hu.units.set_index("user_id").sort_index()
    assert list(u.index) == ["u1", "u2", "u3", "u4", "u7"]
    assert u["exposed"].tolist() == [True, False, False, False, False]
    assert u["ghost_exposed"].tolist() == [True, False, True, False, False]  # treated: ghost = exposed
    assert u["orders"].iloc[[0, 2, 3, 4]].tolist() == [1.0, 0.0, 1.0, 0.0] and np.isnan(u.loc["u2", "orders"])
    m = hu.metrics
    assert m.requests_quarantined == {"missing_unit": 1, "missing_variant": 1, "multi_variant_unit": 2}
    assert m.requests_excluded == {"outside_window": 1, "immature_unit": 1}
    assert hu.reconciles() and m.n_requests_read == 12 and m.n_requests_used == 6
    assert hu.counts["ghost_requests"] == 2 and hu.counts["module_requests"] == 4  # r3 and r10; r1 r3 r5 r10
    assert hu.counts["holdout_leaks"] == 0 and hu.counts["suppressed_in_treated"] == 0


def test_the_readout_from_the_log_equals_the_readout_from_the_unit_table():
    """The simulated log encodes simulate_holdout's units (same seed): the log's readout must reproduce the
    readout of that unit table exactly (exposure, ghosts, outcome and covariate all rebuilt from the log)."""
    sim = simulate_holdout_log(n_units=6000, seed=4)
    from_log = analyze_holdout(sim.log, window="7D", as_of=sim.as_of, outcome_col="orders",
                               module={"surface": "home"}, unit_table=sim.pre_period, covariates=["pre_conversions"])
    table = simulate_holdout(6000, seed=4).units.rename(columns={"converted": "orders"})
    direct = analyze_holdout(table, outcome_col="orders", covariates=["pre_conversions"], ghost_col="ghost_exposed")
    got, want = from_log.estimates.to_frame(), direct.estimates.to_frame()
    assert list(got["name"]) == list(want["name"])
    np.testing.assert_allclose(got[["value", "se", "ci_low", "ci_high"]].to_numpy(dtype=float),
                               want[["value", "se", "ci_low", "ci_high"]].to_numpy(dtype=float), rtol=1e-12, atol=0)
    c = from_log.counts
    assert c["requests_read"] == c["requests_used"] + c["requests_quarantined"] + c["requests_excluded"]
    assert c["ghost_requests"] == int(table.loc[table["group"] == "holdout", "ghost_exposed"].sum())


def test_a_holdout_leak_is_refused_unless_allowed():
    log = _hand_log()
    log.candidates.loc[(log.request_index == 2) & (log.candidates["position"] == 1).to_numpy(), "shown"] = True
    log.requests.loc[log.requests["request_id"] == "r11", "orders"] = 0.0  # exposure 1/3 treated vs 1/2 holdout
    opts = dict(window="7D", as_of=T0 + pd.Timedelta(days=20), outcome_col="orders", module={"surface": "home"})
    with pytest.raises(DataValidationError, match="holdout leak"):
        analyze_holdout(log, **opts)
    r = analyze_holdout(log, allow_holdout_exposure=True, **opts)
    assert r.counts["holdout_leaks"] == 1 and any("compliers" in w for w in r.warnings)


def test_suppressed_items_in_the_treated_arm_are_counted_and_warned():
    log = _hand_log()
    log.candidates.loc[log.request_index == 0, "suppressed"] = True  # r1 (treated): shown and one suppressed
    log.candidates.loc[(log.request_index == 0) & (log.candidates["position"] == 2).to_numpy(), "shown"] = False
    r = analyze_holdout(log, window="7D", as_of=T0 + pd.Timedelta(days=20), outcome_col="orders",
                        module={"surface": "home"})
    assert r.counts["suppressed_in_treated"] == 1 and any("holdout only" in w for w in r.warnings)


def test_table_options_and_unknown_outcomes_are_typed_errors():
    log = _hand_log()
    opts = dict(window="7D", as_of=T0 + pd.Timedelta(days=20))
    with pytest.raises(ConfigError, match="exposed_col"):
        analyze_holdout(log, exposed_col="seen", outcome_col="orders", **opts)
    with pytest.raises(SchemaError, match="neither a request column"):
        analyze_holdout(log, outcome_col="revenue", **opts)
    with pytest.raises(SchemaError, match="surfce"):
        analyze_holdout(log, outcome_col="orders", module={"surfce": "home"}, **opts)


def test_a_parquet_log_read_back_gives_the_same_readout(tmp_path):
    """The suppressed marker survives write → Parquet → read_decision_log (not taken for an outcome)."""
    from recsys_causal import read_decision_log, write_decision_log

    sim = simulate_holdout_log(n_units=3000, seed=2)
    path = tmp_path / "holdout_log.parquet"
    write_decision_log(sim.log, path)
    log, report = read_decision_log(path, unit_column="user_id", request_columns=["orders"])
    assert log.reward_columns == () and report.n_requests_quarantined == 0
    opts = dict(window="7D", as_of=sim.as_of, outcome_col="orders", module={"surface": "home"})
    a, b = analyze_holdout(log, **opts).estimates.to_frame(), analyze_holdout(sim.log, **opts).estimates.to_frame()
    np.testing.assert_allclose(a[["value", "se"]].to_numpy(float), b[["value", "se"]].to_numpy(float), rtol=1e-12)


def test_the_shipped_holdout_log_gives_the_shipped_unit_tables_readout():
    """decision_logs/sample_holdout_log.parquet encodes sample_holdout_units.parquet (same units): read with the
    reader, its readout equals the unit table's to 1e-12."""
    from pathlib import Path

    from recsys_causal import read_decision_log

    data = Path(__file__).resolve().parents[2] / "decision_logs"
    log, report = read_decision_log(data / "sample_holdout_log.parquet", unit_column="user_id",
                                    request_columns=["orders"])
    pre = pd.read_parquet(data / "sample_holdout_pre_period.parquet")
    got = analyze_holdout(log, window="7D", as_of="2026-05-11T00:00:00Z", outcome_col="orders",
                          module={"surface": "home"}, unit_table=pre, covariates=["pre_conversions"])
    units = pd.read_parquet(data / "sample_holdout_units.parquet").rename(columns={"converted": "orders"})
    want = analyze_holdout(units[["unit_id", "group", "exposed", "ghost_exposed", "orders", "pre_conversions"]],
                           outcome_col="orders", covariates=["pre_conversions"])
    cols = ["value", "se", "ci_low", "ci_high"]
    np.testing.assert_allclose(got.estimates.to_frame()[cols].to_numpy(float),
                               want.estimates.to_frame()[cols].to_numpy(float), rtol=1e-12, atol=1e-15)
    assert report.n_requests_quarantined == 0 and got.counts["requests_read"] == log.n_requests
