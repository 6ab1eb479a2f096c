"""Every analysis result speaks the results protocol: OPE, gate and A/B readouts included."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from recsys_causal.experiments import analyze_ab
from recsys_causal.gate import screen
from recsys_causal.ope import evaluate_policies, policies
from recsys_causal.results import IntervalError, ResultProtocol
from recsys_causal.simulate import simulate_decision_log
from recsys_causal.simulate.ab import simulate_ab


@pytest.fixture(scope="module")
def log():
    return simulate_decision_log(n_requests=3000, n_candidates=6, slate_size=1, seed=0).log


def _protocol_holds(result, first_name: str) -> None:
    assert isinstance(result, ResultProtocol)
    json.dumps(result.to_dict(), allow_nan=False)
    frame = result.to_frame()
    row = frame[frame["name"] == first_name].iloc[0]
    ci = result.conf_int()
    assert ci.loc[first_name, "lower"] == row["ci_low"] and ci.loc[first_name, "upper"] == row["ci_high"]
    assert result[first_name].value == row["value"]
    text = result.summary()
    assert first_name[:20] in text
    with pytest.raises(KeyError, match="names"):
        result["no such estimate"]


def test_ope_result_follows_the_protocol(log):
    res = evaluate_policies(log, {"new": policies.softmax(log, "pred_new", 1)}, rewards=["click"])
    _protocol_holds(res, "new | click | IPS")
    e = res["new | click | IPS"]
    lo, hi = res.conf_int(0.10).loc["new | click | IPS"]
    q = stats.norm.ppf(0.95)
    assert np.isclose(lo, e.value - q * e.se, rtol=1e-12) and np.isclose(hi, e.value + q * e.se, rtol=1e-12)
    assert "Support" in res.to_html() and "<script" not in res.to_html()


def test_gate_result_follows_the_protocol_and_keeps_its_own_page(log):
    g = screen(log, {"new": policies.softmax(log, "pred_new", 1)}, primary="click")
    name = g.candidates[0].primary.name
    _protocol_holds(g, name)
    assert g.to_dict()["schema_version"] == 1  # the gate's own JSON, not the protocol's
    assert "<html" not in g._repr_html_().lower()  # a notebook shows tables, not the whole page


def test_ab_readout_follows_the_protocol():
    sim = simulate_ab(n_units=2000, seed=3)
    r = analyze_ab(sim.units, control="control", metrics=["revenue"], expected_split={"control": 0.5,
                                                                                      "treatment": 0.5})
    _protocol_holds(r, "revenue treatment abs")
    with pytest.raises(IntervalError):  # the relative lift's interval is Fieller's, not value ± q·se
        r.conf_int(0.10)
