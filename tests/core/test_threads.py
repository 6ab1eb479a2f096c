"""Model fits run with capped BLAS / OpenMP thread pools (recsys_causal.threads), restored afterwards."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from recsys_causal.errors import ConfigError
from recsys_causal.threads import ENV_VAR, configured_threads, model_threads


def _threads() -> set[int]:
    return {p["num_threads"] for p in threadpool_info()}


def test_the_cap_applies_inside_and_is_restored(monkeypatch):
    before = _threads()
    monkeypatch.setenv(ENV_VAR, "2")
    assert configured_threads() == 2
    with model_threads():
        assert _threads() <= {1, 2}
    with model_threads(1):
        assert _threads() == {1}
    assert _threads() == before


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_setting_is_a_typed_error(monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(ConfigError, match=ENV_VAR):
        configured_threads()


def test_reward_model_fits_run_on_one_thread(monkeypatch):
    """The cross-fitted reward model fits inside the cap (its estimator sees one thread per pool)."""
    from recsys_causal.ope.reward_model import RewardModel
    from recsys_causal.simulate import simulate_decision_log

    seen = []

    class Recording:
        def get_params(self, deep=True):
            return {}

        def set_params(self, **params):
            return self

        def fit(self, X, y):
            seen.append(_threads())
            self.mean_ = float(np.mean(y))
            return self

        def predict(self, X):
            return np.full(len(X), self.mean_)

    monkeypatch.delenv(ENV_VAR, raising=False)
    log = simulate_decision_log(n_requests=400, n_candidates=5, slate_size=2, seed=1).log
    RewardModel(estimator=Recording(), folds=2).predict(log, "click")
    assert seen == [{1}, {1}]
