"""Deprecation warnings point at the user's line, however many wrappers the public function carries."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from recsys_causal.logs import read_decision_log
from recsys_causal.ope import evaluate_policies, policies
from recsys_causal.simulate import simulate_decision_log


def test_slate_true_deprecation_points_at_the_callers_line():
    sim = simulate_decision_log(n_requests=100, n_candidates=5, slate_size=2, seed=1)
    log = read_decision_log(sim.log.to_long_frame(), require_propensity=True).log
    target = {"t": policies.top_k(log, "pred_new", 2)}
    with pytest.warns(DeprecationWarning, match="slate=True is deprecated") as caught:
        line = sys._getframe().f_lineno + 1
        evaluate_policies(log, target, slate=True)
    found = [w for w in caught if "slate=True" in str(w.message)]
    assert len(found) == 1 and Path(found[0].filename) == Path(__file__) and found[0].lineno == line
