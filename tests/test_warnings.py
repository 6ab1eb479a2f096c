"""Statistical caveats are emitted as warnings of the project's classes, once per public call, at the caller's
line, filterable like any warning; the result fields stay as they were."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import recsys_causal as rc
from recsys_causal.caveats import caveat, emits_caveats, estimate_caveats
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.experiments import fit_decay, srm_test
from recsys_causal.logs import read_decision_log
from recsys_causal.ope import evaluate_policies
from recsys_causal.ope.support import SupportThresholds
from recsys_causal.scale import Softmax, TopK
from recsys_causal.simulate import simulate_decision_log
from recsys_causal.switchback.estimators import carryover_disagreements

ROOT = Path(__file__).resolve().parents[1]


def _units(n_control: int, n_treatment: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_control + n_treatment
    return pd.DataFrame({"unit_id": [f"u{i}" for i in range(n)],
                         "variant": ["control"] * n_control + ["treatment"] * n_treatment,
                         "y": rng.normal(1.0, 1.0, n)})


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [w for w in caught if issubclass(w.category, rc.StatisticalWarning)]


def test_the_classes_form_one_filterable_hierarchy():
    for cls in (rc.SupportWarning, rc.DataQualityWarning, rc.AssumptionWarning):
        assert issubclass(cls, rc.StatisticalWarning)
    assert issubclass(rc.StatisticalWarning, UserWarning)
    assert rc.StatisticalWarning.__module__ == "recsys_causal.caveats"


def test_sample_ratio_mismatch_is_an_assumption_warning_at_the_callers_line_once():
    units = _units(400, 520)
    # independent: the chi-square test of 400 vs 520 against 50/50 rejects at the default 0.001
    assert stats.chisquare([400, 520]).pvalue < 0.001
    line = sys._getframe().f_lineno + 1
    r, caught = _caught(lambda: rc.analyze_ab(units, metrics=["y"], expected_split={"control": .5, "treatment": .5}))
    assert r.srm.flagged
    srm = [w for w in caught if w.category is rc.AssumptionWarning]
    # once, although analyze_ab runs srm_test (itself a warning function) inside
    assert len(srm) == 1 and "sample-ratio mismatch" in str(srm[0].message)
    assert Path(srm[0].filename) == Path(__file__) and srm[0].lineno == line
    assert str(srm[0].message) in r.warnings  # the result field is unchanged: the same text is still there


def test_srm_test_alone_warns_and_a_balanced_split_does_not():
    with pytest.warns(rc.AssumptionWarning, match="observed split differs"):
        srm_test(_units(400, 520), expected_split={"control": .5, "treatment": .5})
    assert stats.chisquare([460, 460]).pvalue == 1.0
    _, caught = _caught(lambda: srm_test(_units(460, 460), expected_split={"control": .5, "treatment": .5}))
    assert caught == []


def test_a_unit_in_both_variants_is_a_data_quality_warning():
    units = _units(300, 300)
    both = units.iloc[[0]].assign(variant="treatment")
    with pytest.warns(rc.DataQualityWarning, match="1 units in column 'unit_id' appear in more than one variant"):
        r = rc.analyze_ab(pd.concat([units, both]), metrics=["y"], unit_col="unit_id",
                          expected_split={"control": .5, "treatment": .5})
    assert r.quarantine.count == 1 and all(type(w) is not str or w for w in r.warnings)


def test_quarantined_log_rows_warn_once_per_reason_with_their_count():
    frame = simulate_decision_log(n_requests=200, n_candidates=4, slate_size=1, seed=3).log.to_long_frame()
    bad = frame["request_id"].isin(frame["request_id"].unique()[:7]) & frame["shown"]
    frame.loc[bad, "propensity"] = 1.7  # invalid for 7 requests
    (log, report), caught = _caught(lambda: read_decision_log(frame, require_propensity=True))
    dq = [str(w.message) for w in caught if w.category is rc.DataQualityWarning]
    assert report.n_requests_quarantined == 7 == report.n_requests_read - report.n_requests_used
    assert len(dq) == len({i.code for i in report.issues if i.severity in ("quarantine", "warning")})
    assert any("7 requests" in m for m in dq)


def _support_log():
    sim = simulate_decision_log(n_requests=600, n_candidates=5, slate_size=1, epsilon=0.3, seed=1)
    frame = sim.log.to_long_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rc.StatisticalWarning)
        return frame, read_decision_log(frame, require_propensity=True).log


def test_weak_support_is_a_support_warning_only_for_the_weak_policy():
    frame, log = _support_log()
    # independent: ESS ratio of the deterministic top-1 target, w = 1{shown item is the eligible argmax} / propensity
    shown = frame[frame["shown"] & (frame["position"] == 1)]
    eligible = frame[frame["eligible"]]
    best = eligible.loc[eligible.groupby("request_id")["pred_new"].idxmax(), ["request_id", "item_id"]]
    w = (shown.merge(best, on="request_id", suffixes=("", "_best")).eval("item_id == item_id_best")
         / shown["propensity"].to_numpy())
    ess_ratio = w.sum() ** 2 / (len(w) * (w ** 2).sum())
    assert ess_ratio < 0.5
    th = SupportThresholds(min_ess_ratio=0.5)
    r, caught = _caught(lambda: evaluate_policies(log, {"top": TopK("pred_new"),
                                                        "flat": Softmax("pred_new", temperature=50)},
                                                  estimators=["IPS"], thresholds=th))
    assert r.support[("top", "click")].ess_ratio == pytest.approx(ess_ratio, rel=1e-9)
    support = [str(w.message) for w in caught if w.category is rc.SupportWarning]
    assert [(p, v.verdict) for (p, _), v in r.support.items()] == [("top", "weak"), ("flat", "supported")]
    assert support == [r.support[("top", "click")].caveat("top | click")]


def test_the_gate_warns_about_weak_support_once_per_candidate():
    from recsys_causal.gate import screen

    _, log = _support_log()
    with pytest.warns(rc.SupportWarning, match="^top: support is weak") as caught:
        screen(log, {"top": TopK("pred_new").to_local(log)}, primary="click", estimator="IPS", cross_check=[],
               thresholds=SupportThresholds(min_ess_ratio=0.5))
    assert sum(w.category is rc.SupportWarning for w in caught) == 1


def test_decay_fit_with_independent_days_warns_that_the_interval_may_be_too_narrow():
    days = np.arange(1.0, 15.0)
    effects = 0.1 + 0.5 * np.exp(-days / 3)
    with pytest.warns(rc.StatisticalWarning, match="daily effects treated as independent"):
        fit_decay(days, effects, np.full(days.size, 0.05))


def test_carryover_orders_that_disagree_in_sign_or_significance_are_named():
    def est(m, value, se):
        return Estimate.from_normal(name=f"effect (m={m})", value=value, se=se, n=100, method="m",
                                    details={"carryover_order": m})
    # worked by hand: z = 3 (p 0.0027, significant), z = -2.5 (other sign), z = 1 (p 0.32, not significant)
    table = EstimateTable([est(0, 0.3, 0.1), est(1, -0.25, 0.1), est(2, 0.1, 0.1), est(3, 0.35, 0.1)])
    found = carryover_disagreements(table, 0)
    assert [f.split(" gives")[0] for f in found] == ["carryover order m=1", "carryover order m=2"]
    assert carryover_disagreements(EstimateTable([est(0, 0.3, 0.1), est(3, 0.35, 0.1)]), 0) == []


def test_a_caveat_shared_by_many_rows_is_one_warning():
    rows = [Estimate.from_normal(name=f"seg{i}", value=1.0, se=0.1, n=10, method="m",
                               warnings=("control mean is 0",))
            for i in range(5)]
    assert estimate_caveats(rows) == [(rc.StatisticalWarning, "control mean is 0 (seg0, seg1, seg2 and 2 more)")]
    assert estimate_caveats(rows, known=["seg0: control mean is 0", "control mean is 0"]) == []


def test_ignore_filter_silences_them_and_the_fields_stay():
    units = _units(400, 520)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", rc.StatisticalWarning)
        r = rc.analyze_ab(units, metrics=["y"])
    assert not [w for w in caught if issubclass(w.category, rc.StatisticalWarning)]
    assert any("no expected_split given" in w for w in r.warnings)


def test_a_caveat_is_a_plain_string_everywhere_but_keeps_its_category():
    c = caveat("3 rows quarantined", rc.DataQualityWarning)
    assert c == "3 rows quarantined" and json.dumps([c]) == '["3 rows quarantined"]'
    back = pickle.loads(pickle.dumps(c))
    assert back == c and back.category is rc.DataQualityWarning
    assert type(str(c)) is str


def test_nested_calls_emit_only_at_the_outer_call():
    @emits_caveats
    def inner():
        return type("R", (), {"warnings": ["inner caveat"]})()

    @emits_caveats
    def outer():
        inner()
        return type("R", (), {"warnings": ["outer caveat"]})()

    _, caught = _caught(outer)
    assert [str(w.message) for w in caught] == ["outer caveat"]


SCRIPT = """
import pandas as pd, recsys_causal as rc
units = pd.DataFrame({"variant": ["control"] * 50 + ["treatment"] * 50, "y": [float(i % 7) for i in range(100)]})
rc.analyze_ab(units, metrics=["y"])
print("finished")
"""


@pytest.mark.parametrize("flag", [[], ["-W", "error::recsys_causal.StatisticalWarning"]])
def test_python_W_error_turns_a_caveat_into_an_exception(flag):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, *flag, "-c", SCRIPT], capture_output=True, text=True, env=env,
                         timeout=120)
    if flag:
        assert run.returncode == 1 and "finished" not in run.stdout
        assert "recsys_causal.caveats.AssumptionWarning: no expected_split given" in run.stderr
    else:
        assert run.returncode == 0 and run.stdout.strip() == "finished"
        assert "AssumptionWarning: no expected_split given" in run.stderr


def test_immature_units_are_a_data_quality_warning_with_their_count():
    from recsys_causal.experiments import unit_metrics_from_log

    path = ROOT / "decision_logs" / "sample_ab_decision_log.parquet"
    raw = pd.read_parquet(path, columns=["user_id", "decision_time"])
    first = pd.to_datetime(raw["decision_time"], utc=True).groupby(raw["user_id"]).min()
    as_of = pd.Timestamp("2026-06-20T00:00:00Z")
    immature = int((first + pd.Timedelta("7D") > as_of).sum())  # independent count from the raw file
    assert immature > 0
    log = read_decision_log(path).log
    with pytest.warns(rc.DataQualityWarning, match=f"^{immature} units whose 7 days") as caught:
        um = unit_metrics_from_log(log, window="7D", as_of=as_of)
    assert um.n_immature == immature
    assert sum(w.category is rc.DataQualityWarning for w in caught) == 1


def test_an_exploratory_cate_tree_warns_once_not_once_per_leaf():
    from recsys_causal.hte import fit_cate, segment_tree

    rng = np.random.default_rng(4)
    n = 1200
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n), "t": rng.integers(0, 2, n)})
    frame["y"] = (frame["x"] > 0) * frame["t"] + rng.normal(size=n)
    fit = fit_cate(frame, outcome="y", treatment="t", covariates=["x", "z"], treatment_probability=0.5,
                   method="linear", progress=False)
    with pytest.warns(rc.StatisticalWarning, match="^exploratory: segment found by search") as caught:
        leaves = segment_tree(frame, fit, outcome="y", treatment="t", max_depth=2)
    assert len(leaves) >= 2
    assert sum("exploratory" in str(w.message) for w in caught) == 1


def test_exposed_holdout_units_and_missing_outcomes_warn_in_their_families():
    rng = np.random.default_rng(5)
    n = 2000
    treated = rng.random(n) < 0.5
    exposed = treated | (rng.random(n) < 0.02)  # a few holdout units exposed: a leak
    units = pd.DataFrame({"unit_id": np.arange(n), "group": np.where(treated, "treated", "holdout"),
                          "exposed": exposed, "converted": (rng.random(n) < 0.1).astype(float)})
    units.loc[:4, "converted"] = np.nan
    n_leak = int((exposed & ~treated)[5:].sum())  # worked from the table: exposed holdout units kept
    r, caught = _caught(lambda: rc.analyze_holdout(units, allow_holdout_exposure=True))
    by = {w.category: str(w.message) for w in caught}
    assert by[rc.AssumptionWarning].startswith(f"{n_leak} holdout units were exposed")
    assert by[rc.DataQualityWarning] == "5 units with missing converted excluded (not counted as 0)"
    assert r.counts["holdout_exposed"] == n_leak


def test_an_imbalanced_cuped_covariate_of_a_holdout_is_an_assumption_warning():
    rng = np.random.default_rng(6)
    n = 2000
    t = rng.random(n) < 0.5
    units = pd.DataFrame({"unit_id": np.arange(n), "group": np.where(t, "treated", "holdout"), "exposed": t,
                          "converted": (rng.random(n) < 0.1).astype(float), "pre": rng.normal(size=n) + 0.5 * t})
    welch = stats.ttest_ind(units["pre"][t], units["pre"][~t], equal_var=False)  # independent: the imbalance
    assert welch.pvalue < 0.001
    with pytest.warns(rc.AssumptionWarning, match=r"CUPED covariate 'pre' differs between arms .*Welch p = "
                                                  f"{welch.pvalue:.2g} < 0.001"):
        rc.analyze_holdout(units, covariates=["pre"])
