"""cumulative_looks(data) and novelty_panel(data): old keywords warn and give the same frames; the looks carry
``value`` beside the old ``estimate`` column, and integer variant labels work."""

import numpy as np
import pandas as pd
import pytest

from recsys_causal.experiments import MonitoringPlan, cumulative_looks, monitoring_table
from recsys_causal.experiments.novelty import novelty_panel
from recsys_causal.logs.model import DecisionLog


def units(seed=0, n=400):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"variant": rng.choice(["control", "treatment"], n), "t": rng.random(n),
                         "y": rng.normal(size=n)})


def test_cumulative_looks_old_df_keyword_and_integer_labels():
    u = units()
    new = cumulative_looks(u, metric="y", time_col="t", n_looks=4)
    with pytest.warns(DeprecationWarning, match="'df' is deprecated"):
        old = cumulative_looks(df=u, metric="y", time_col="t", n_looks=4)
    pd.testing.assert_frame_equal(old, new)
    coded = u.assign(variant=(u["variant"] == "treatment").astype(int))
    pd.testing.assert_frame_equal(cumulative_looks(coded, metric="y", time_col="t", n_looks=4, control=0,
                                                   treatment=1), new)
    last = new.iloc[-1]
    y, t = u["y"].to_numpy(), (u["variant"] == "treatment").to_numpy()
    assert last["value"] == last["estimate"] == pytest.approx(y[t].mean() - y[~t].mean(), rel=1e-12)


def test_monitoring_table_value_is_the_estimate():
    tab = monitoring_table([0.5, 0.4], [0.3, 0.2], plan=MonitoringPlan(planned_n=100), n=[50, 100])
    assert tab["value"].tolist() == tab["estimate"].tolist() == [0.5, 0.4]


def test_novelty_panel_old_log_keyword():
    req = pd.DataFrame({"request_id": ["a", "b"], "user_id": ["u1", "u1"], "variant": "treatment",
                        "decision_time": pd.to_datetime(["2026-06-01T10:00Z", "2026-06-03T11:00Z"])})
    cand = pd.DataFrame({"request_id": ["a", "b"], "item_id": "i", "shown": True, "position": 1.0, "click": 1.0})
    log = DecisionLog.from_frames(req, cand)
    kw = {"metric": "click", "unit": "user_id", "variant_col": "variant", "as_of": "2026-06-05T00:00Z", "days": 7}
    with pytest.warns(DeprecationWarning, match="'log' is deprecated"):
        old = novelty_panel(log=log, **kw)
    pd.testing.assert_frame_equal(old, novelty_panel(log, **kw))
    assert old["value"].tolist() == [1.0, 0.0, 1.0]
