"""srm_test's vocabulary: ``data`` (old ``df`` deprecated) and labels compared as text (integer variants)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recsys_causal.experiments.srm import srm_from_counts, srm_test


def table():
    return pd.DataFrame({"variant": [0] * 5000 + [1] * 5400, "day": np.tile(["d1", "d2"], 5200)})


def test_old_df_keyword_warns_and_gives_the_same_result():
    new = srm_test(table(), expected_split={0: 0.5, 1: 0.5})
    with pytest.warns(DeprecationWarning, match="'df' is deprecated"):
        old = srm_test(df=table(), expected_split={0: 0.5, 1: 0.5})
    assert (old.chi2, old.p_value) == (new.chi2, new.p_value)


def test_integer_variant_labels_are_counted():
    r = srm_test(table(), expected_split={0: 0.5, 1: 0.5}, segment_col="day")
    chi2, p = stats.chisquare([5000, 5400], [5200, 5200])
    assert r.observed == {"0": 5000, "1": 5400}
    assert r.chi2 == pytest.approx(chi2, rel=1e-12) and r.p_value == pytest.approx(p, rel=1e-12) and r.flagged
    by_day = r.by_segment.set_index("group")
    d1 = table().query("day == 'd1'")["variant"].value_counts().sort_index().to_numpy()
    assert by_day.loc["d1", "chi2"] == pytest.approx(stats.chisquare(d1).statistic, rel=1e-12)
    # string labels in the split and integers in the table (and the reverse) agree
    assert srm_test(table(), expected_split={"0": 0.5, "1": 0.5}).chi2 == r.chi2
    assert srm_from_counts({0: 5000, 1: 5400}, {"0": 0.5, "1": 0.5}).chi2 == r.chi2
