"""The surrogate index on bad input (typed errors naming the sample, column and fix; quarantine and exclusion
counted, read = used + quarantined + excluded), the weak-surrogate warning, and the results protocol."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from recsys_causal.errors import ConfigError, DataValidationError, SchemaError
from recsys_causal.experiments.surrogate import WeakSurrogateWarning, estimate_surrogate_index
from recsys_causal.results import IntervalError
from recsys_causal.simulate.longterm import simulate_longterm

S, X = ["sessions_7d", "purchases_7d"], ["pre_sessions", "tenure"]
KW = {"long_term": "long_term", "surrogates": S, "covariates": X, "n_boot": 50, "seed": 0}


@pytest.fixture(scope="module")
def sim():
    return simulate_longterm(n_historical=300, n_experiment=200, seed=4)


def test_dirty_rows_are_counted_and_the_estimate_equals_the_clean_one(sim):
    hist, exp = sim.historical.copy(), sim.experiment.copy()
    hist.loc[[0, 1], "sessions_7d"] = np.nan  # quarantined
    hist.loc[[2, 3, 4], "long_term"] = np.nan  # immature: excluded
    exp.loc[[5], "tenure"] = np.inf  # quarantined
    exp.loc[[6, 7], "variant"] = "other"  # excluded
    r = estimate_surrogate_index(hist, exp, unit_col="unit_id", treatment="treatment", **KW)
    c = r.counts
    assert c["historical"] == {"read": 300, "used": 295, "quarantined": {"missing_surrogate_or_covariate": 2},
                               "excluded": {"long_term_missing": 3}}
    assert c["experiment"] == {"read": 200, "used": 197, "quarantined": {"missing_surrogate_or_covariate": 1},
                               "excluded": {"other_variant": 2}}
    assert r.reconciles()
    assert any("'h0'" in w for w in r.warnings) and any("'e6'" in w for w in r.warnings)
    clean = estimate_surrogate_index(hist.drop(index=range(5)), exp.drop(index=[5, 6, 7]), **KW)
    assert r.lift.value == pytest.approx(clean.lift.value, abs=1e-12)
    assert not hist["sessions_7d"].isna().all()  # the inputs are not modified
    assert exp.loc[6, "variant"] == "other"


def test_missing_and_non_numeric_columns_are_schema_errors(sim):
    with pytest.raises(SchemaError, match=r"historical sample.*'sesions_7d'.*did you mean 'sessions_7d'"):
        estimate_surrogate_index(sim.historical, sim.experiment, **{**KW, "surrogates": ["sesions_7d"]})
    exp = sim.experiment.assign(tenure=sim.experiment["tenure"].astype(str))
    with pytest.raises(SchemaError, match=r"experiment sample's column\(s\) \['tenure'\] are not numeric") as info:
        estimate_surrogate_index(sim.historical, exp, **KW)
    assert "indicator" in info.value.fix


def test_bad_settings_are_config_errors(sim):
    h, e = sim.historical, sim.experiment
    for kw, pattern in (({"learner": "forest"}, "learner must be"), ({"n_boot": 10}, "n_boot must be at least"),
                        ({"folds": 1}, "folds must be between"), ({"surrogates": []}, "at least one surrogate"),
                        ({"folds": [0, 1]}, "one fold label per usable historical row")):
        with pytest.raises(ConfigError, match=pattern):
            estimate_surrogate_index(h, e, **{**KW, **kw})
    three = e.assign(variant=np.where(np.arange(len(e)) % 3 == 0, "b", e["variant"]))
    with pytest.raises(ConfigError, match="non-control variants"):
        estimate_surrogate_index(h, three, **KW)
    with pytest.raises(DataValidationError, match="no experiment unit has variant = 'ctrl'"):
        estimate_surrogate_index(h, e, **{**KW, "control": "ctrl"})


def test_too_few_usable_rows_is_a_data_error(sim):
    hist = sim.historical.assign(long_term=np.nan)
    with pytest.raises(DataValidationError, match="historical sample has 0 usable rows") as info:
        estimate_surrogate_index(hist, sim.experiment, **KW)
    assert "long_term_missing" in str(info.value)


def test_weak_surrogates_warn_and_are_flagged(sim):
    rng = np.random.default_rng(0)
    hist = sim.historical.assign(long_term=rng.standard_normal(len(sim.historical)))  # unrelated to the surrogates
    with pytest.warns(WeakSurrogateWarning, match="explain"):
        r = estimate_surrogate_index(hist, sim.experiment, **KW)
    assert r.weak_surrogates and r.r2_out_of_fold < 0.1
    assert any("explain" in w for w in r.warnings)
    with warnings.catch_warnings():
        warnings.simplefilter("error", WeakSurrogateWarning)
        strong = estimate_surrogate_index(sim.historical, sim.experiment, **KW)
    assert not strong.weak_surrogates
    assert issubclass(WeakSurrogateWarning, UserWarning)


def test_results_protocol(sim):
    r = estimate_surrogate_index(sim.historical, sim.experiment, validate=True, **KW)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["r2_out_of_fold"] == pytest.approx(r.r2_out_of_fold)
    assert [row["name"] for row in d["sections"]["estimates"]["estimates"]][-1] == "validation gap (surrogate − realised)"
    assert "out-of-fold R²" in r.to_markdown() and "<table" in r.to_html()
    assert "long-term lift (surrogate index)" in r.summary()
    lo, hi = r.lift.conf_int(0.1).loc["long-term lift (surrogate index)"]
    assert (hi - lo) / (r.lift.ci_high - r.lift.ci_low) == pytest.approx(1.6449 / 1.9600, rel=1e-4)
    with pytest.raises(IntervalError):
        r.conf_int(0.1)  # the relative row's interval is Fieller's
    assert r.gap is r["validation gap (surrogate − realised)"]
    assert len(r.to_frame()) == 5


def test_units_in_both_samples_are_named(sim):
    exp = sim.experiment.copy()
    exp.loc[[0, 1, 2], "unit_id"] = ["h7", "h8", "h9"]
    r = estimate_surrogate_index(sim.historical, exp, unit_col="unit_id", **KW)
    assert any(w.startswith("3 units are in both") and "'h7'" in w for w in r.warnings)
    assert not any("in both" in w for w in estimate_surrogate_index(sim.historical, sim.experiment,
                                                                    unit_col="unit_id", **KW).warnings)
