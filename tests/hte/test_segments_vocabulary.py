"""segment_effects' vocabulary: ``data`` (old ``units``), ``multiplicity`` (old ``correction``), ``value``
columns, and variant labels compared as text (integer labels give the same numbers as string labels)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from recsys_causal.hte import segment_effects


@pytest.fixture(scope="module")
def units():
    rng = np.random.default_rng(4)
    n = 3000
    u = pd.DataFrame({"variant": rng.choice(["control", "treatment"], n), "seg": rng.choice(list("abc"), n)})
    effect = u["seg"].map({"a": 0.0, "b": 0.0, "c": -0.4}).to_numpy()
    u["y"] = rng.normal(size=n) + effect * (u["variant"] == "treatment")
    return u


def test_old_names_warn_and_give_the_same_result(units):
    new = segment_effects(units, metrics=["y"], segments=["seg"], multiplicity="fdr_bh")
    with pytest.warns(DeprecationWarning) as caught:
        old = segment_effects(units=units, metrics=["y"], segments=["seg"], correction="fdr_bh")
    assert {str(w.message).split("'")[1] for w in caught} == {"units", "correction"}
    pd.testing.assert_frame_equal(old.to_frame(), new.to_frame())
    pd.testing.assert_frame_equal(old.versus_rest, new.versus_rest)
    holm = segment_effects(units, metrics=["y"], segments=["seg"])
    p = new.to_frame()["p_value"].to_numpy()
    assert new.to_frame()["p_adjusted"].to_numpy() == pytest.approx(multipletests(p, method="fdr_bh")[1], rel=1e-12)
    assert holm.to_frame()["p_adjusted"].to_numpy() == pytest.approx(multipletests(p, method="holm")[1], rel=1e-12)


def test_integer_variant_labels_work_like_strings(units):
    coded = units.assign(variant=(units["variant"] == "treatment").astype(int))
    as_text = segment_effects(units, metrics=["y"], segments=["seg"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_int = segment_effects(coded, metrics=["y"], segments=["seg"], control=0, treatment=1)
        as_str = segment_effects(coded, metrics=["y"], segments=["seg"], control="0", treatment="1")
    cols = ["name", "value", "se", "ci_low", "ci_high", "p_value", "p_adjusted"]
    pd.testing.assert_frame_equal(as_int.to_frame()[cols], as_text.to_frame()[cols])
    pd.testing.assert_frame_equal(as_str.to_frame()[cols], as_text.to_frame()[cols])
    m = (coded["seg"] == "c").to_numpy()
    y, t = coded["y"].to_numpy(), coded["variant"].to_numpy() == 1
    welch = stats.ttest_ind(y[m & t], y[m & ~t], equal_var=False)
    assert as_int.to_frame().set_index("segment").loc["c", "p_value"] == pytest.approx(welch.pvalue, rel=1e-9)
    assert set(as_int.to_frame()["variant"]) == {"1"}


def test_value_columns_with_their_old_aliases(units):
    r = segment_effects(units, metrics=["y"], segments=["seg"])
    rest = r.versus_rest
    assert (rest["value"] == rest["difference"]).all()
    assert list(r.harms["segment"]) == ["c"] and (r.harms["value"] == r.harms["effect"]).all()
    assert set(r.to_frame()["quantity"]) == {"lift"}
