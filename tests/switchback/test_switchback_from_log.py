"""analyze_switchback from a decision log: requests as events of their region, the logged variant checked
against the schedule; the readout equals the one from the same events as a table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_causal import analyze_switchback
from recsys_causal.errors import SchemaError
from recsys_causal.logs.model import DecisionLog
from recsys_causal.simulate import simulate_switchback
from recsys_causal.switchback.from_log import switchback_events_from_log, switchback_log_from_events
from recsys_causal.switchback.schedule import SwitchbackDesign, validate_schedule


@pytest.fixture(scope="module")
def sb():
    return simulate_switchback(n_clusters=4, n_blocks=24, seed=3)


def _frame(readout):
    return readout.estimates.to_frame()[["value", "se", "ci_low", "ci_high"]].to_numpy(dtype=float)


def test_the_log_gives_the_events_readout(sb):
    log = switchback_log_from_events(sb.events, sb.schedule)
    got = analyze_switchback(sb.schedule, log, n_draws=200, burn_in_minutes=5)
    want = analyze_switchback(sb.schedule, sb.events, n_draws=200, burn_in_minutes=5)
    np.testing.assert_allclose(_frame(got), _frame(want), rtol=1e-12, atol=0)
    assert got.counts["requests_read"] == len(sb.events) and got.counts["assignment_mismatch"] == 0
    assert got.counts["read"] == want.counts["read"] and got.warnings == want.warnings


def test_mismatched_variants_are_counted_with_examples_and_warned(sb):
    log = switchback_log_from_events(sb.events, sb.schedule)
    flip = np.zeros(log.n_requests, dtype=bool)
    flip[[3, 50, 51, 700]] = True
    v = log.requests["variant"].to_numpy(dtype=object)
    log.requests["variant"] = np.where(flip, np.where(v == "treatment", "control", "treatment"), v)
    r = analyze_switchback(sb.schedule, log, n_draws=200)
    assert r.counts["assignment_mismatch"] == 4
    assert any("4 of" in w and "q3" in w and "intent to treat" in w for w in r.warnings)
    # analysed as scheduled: the numbers do not depend on the logged labels
    np.testing.assert_allclose(_frame(r), _frame(analyze_switchback(sb.schedule, sb.events, n_draws=200)), rtol=1e-12)


def test_reward_outcome_sums_shown_candidates_and_stays_missing_when_unlabelled():
    req = pd.DataFrame({"request_id": ["a", "b", "c"], "decision_time": pd.Timestamp("2026-06-01 00:10", tz="UTC"),
                        "region": ["r1", "r1", None], "variant": "control"})
    cand = pd.DataFrame({"request_id": ["a", "a", "b", "b", "c"], "item_id": ["x", "y", "x", "y", "x"],
                         "shown": [True, True, True, False, True], "click": [1.0, 1.0, np.nan, np.nan, 0.0]})
    log = DecisionLog.from_frames(req, cand, reward_columns=("click",))
    sched = validate_schedule(pd.DataFrame({"cluster": ["r1"], "block_start": ["2026-06-01T00:00:00Z"],
                                            "block_end": ["2026-06-01T01:00:00Z"], "treated": [False]}),
                              SwitchbackDesign())
    ev = switchback_events_from_log(log, sched, value_col="click")
    assert ev.events["click"].tolist()[0] == 2.0 and np.isnan(ev.events["click"].tolist()[1])
    assert ev.counts == {"requests_read": 3, "missing_cluster": 1, "assignment_mismatch": 0,
                         "requests_in_schedule": 2}
    assert ev.examples["missing_cluster"] == ["c"]
    with pytest.raises(SchemaError, match="neither a request column"):
        switchback_events_from_log(log, sched, value_col="purchase")
