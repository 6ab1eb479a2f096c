"""fit_cate and calibration_test read ``data`` (old keyword ``frame`` deprecated, same result), and both
results derive the results protocol."""

import json

import numpy as np
import pandas as pd
import pytest

from recsys_causal.hte import calibration_test, fit_cate


@pytest.fixture(scope="module")
def units():
    rng = np.random.default_rng(3)
    n = 600
    df = pd.DataFrame({"x": rng.normal(size=n), "t": (rng.random(n) < 0.5).astype(int)})
    df["y"] = df.x + (1 + df.x) * df.t + rng.normal(size=n)
    return df


def test_fit_cate_old_frame_keyword_warns_and_gives_the_same_fit(units):
    kw = {"outcome": "y", "treatment": "t", "covariates": ["x"], "treatment_probability": 0.5, "method": "linear"}
    new = fit_cate(units, **kw)
    with pytest.warns(DeprecationWarning, match="'frame' is deprecated"):
        old = fit_cate(frame=units, **kw)
    np.testing.assert_array_equal(old.effects, new.effects)
    assert old.ate == new.ate and new["average effect"] is new.ate
    assert json.loads(json.dumps(new.to_dict()))["sections"]["average effect"]["estimates"][0]["value"] == \
        pytest.approx(new.ate.value, rel=1e-15)


def test_calibration_test_old_frame_keyword_warns_and_gives_the_same_result(units):
    kw = {"outcome": "y", "treatment": "t", "covariates": ["x"], "treatment_probability": 0.5, "n_splits": 1,
          "n_groups": 2}
    new = calibration_test(units, **kw)
    with pytest.warns(DeprecationWarning, match="'frame' is deprecated"):
        old = calibration_test(frame=units, **kw)
    pd.testing.assert_frame_equal(old.to_frame(), new.to_frame())
    assert "BLP heterogeneity loading (β2)" in new.summary()
