"""analyze_holdout's vocabulary: the ``data`` argument (old ``units`` deprecated) and group labels compared as
text, so integer labels give the same numbers as string labels."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recsys_causal.incrementality import analyze_holdout
from recsys_causal.simulate import simulate_holdout


@pytest.fixture(scope="module")
def units():
    return simulate_holdout(n_units=4_000, seed=11).units


def test_old_units_keyword_warns_and_gives_the_same_result(units):
    new = analyze_holdout(data=units)
    with pytest.warns(DeprecationWarning, match="'units' is deprecated.*'data'"):
        old = analyze_holdout(units=units)
    pd.testing.assert_frame_equal(old.to_frame(), new.to_frame())


def test_integer_group_labels_work_like_strings(units):
    coded = units.assign(group=(units["group"] == "treated").astype(int))
    as_text = analyze_holdout(units)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_int = analyze_holdout(coded, holdout_label=0, treated_label=1)
        as_str = analyze_holdout(coded, holdout_label="0", treated_label="1")
    pd.testing.assert_frame_equal(as_int.to_frame(), as_text.to_frame())
    pd.testing.assert_frame_equal(as_str.to_frame(), as_text.to_frame())
    # the ITT is Welch's difference in means of the coded arms, worked independently with scipy
    y = coded["converted"].to_numpy(float)
    t = coded["group"].to_numpy() == 1
    welch = stats.ttest_ind(y[t], y[~t], equal_var=False)
    itt = as_int["ITT lift (absolute)"]
    assert itt.value == pytest.approx(y[t].mean() - y[~t].mean(), rel=1e-12)
    assert itt.value / itt.se == pytest.approx(welch.statistic, rel=1e-9)


def test_estimates_name_their_quantity_and_metric(units):
    r = analyze_holdout(units)
    assert r["ITT lift (absolute)"].details == {"quantity": "lift", "metric": "converted"}
    assert r["ITT lift (relative)"].details["quantity"] == "relative lift"
    assert r["exposure rate (treated)"].details == {"quantity": "value", "metric": "exposed"}
    assert set(r.to_frame()["quantity"]) <= {"value", "lift", "relative lift", "effect on exposed",
                                            "incremental total", "ratio"}
    assert np.isfinite(r.to_frame()["value"]).all()
