"""Seeded outputs of the simulators, the switchback schedule/block helpers and log validation, frozen.

The fixtures in ``tests/simulate/frozen/`` were written by the code before its functions were split into
smaller ones; every case must reproduce them (floats to 1e-12 relative, everything else exactly). Regenerate
only for a deliberate change of behaviour: ``python tests/simulate/test_frozen_outputs.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_causal.logs.readers import read_decision_log
from recsys_causal.logs.validation import ValidationOptions, validate_long_frame
from recsys_causal.simulate import make_world, simulate_decision_log, simulate_holdout, simulate_switchback
from recsys_causal.simulate.ab import simulate_ab, simulate_ab_log, simulate_ab_panel
from recsys_causal.simulate.sample import make_dirty
from recsys_causal.simulate.switchback import switchback_block_outcomes
from recsys_causal.switchback.blocks import aggregate_events
from recsys_causal.switchback.design import make_schedule
from recsys_causal.switchback.randomization import randomization_test
from recsys_causal.switchback.schedule import SwitchbackDesign, validate_schedule

FROZEN = Path(__file__).with_name("frozen")
AS_OF = pd.Timestamp("2026-07-01", tz="UTC")


def _arrays(**arrays: np.ndarray) -> pd.DataFrame:
    """Arrays of any shape as one long frame (name, flat index, value)."""
    parts = [pd.DataFrame({"name": k, "i": np.arange(np.asarray(v).size), "value": np.asarray(v).ravel()})
             for k, v in arrays.items()]
    return pd.concat(parts, ignore_index=True)


def _nested(d: dict, prefix: str = "") -> dict[str, float]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        out.update(_nested(v, key + "/") if isinstance(v, dict) else {key: float(v)})
    return out


def _truth(d: dict) -> pd.DataFrame:
    flat = _nested(d)
    return pd.DataFrame({"key": list(flat), "value": list(flat.values())})


def _sim_log(sim) -> dict[str, pd.DataFrame]:
    return {"requests": sim.log.requests, "candidates": sim.log.candidates, "events": sim.outcome_events,
            "arrays": _arrays(offsets=sim.log.offsets.astype(float), relevance=sim.relevance,
                              pgc=sim.purchase_given_click, hide=sim.hide_rate, probs=sim.logging_position_probs,
                              theta=sim.position_bias)}


def case_decision_log() -> dict[str, pd.DataFrame]:
    return _sim_log(simulate_decision_log(n_requests=80, n_candidates=(4, 9), slate_size=3, seed=3,
                                          with_events=True))


def case_decision_log_experiment() -> dict[str, pd.DataFrame]:
    world = make_world(n_users=60, n_items=40, seed=5)
    return _sim_log(simulate_decision_log(
        n_requests=120, n_candidates=6, slate_size=3, epsilon=0.3, ineligible_share=0.2, world=world,
        experiment={"control": 0.5, "treatment": 0.3, "b": 0.2}, treatment_score="pred_bold", click_model="cascade",
        log_prefix_propensity=True, seed=11))


def case_world() -> dict[str, pd.DataFrame]:
    w = make_world(n_users=50, n_items=30, seed=2)
    return {"users": pd.DataFrame({"id": w.user_ids, "prior": w.user_prior_interactions, "seg": w.user_segment,
                                   "region": w.user_region}),
            "items": pd.DataFrame({"id": w.item_ids, "cat": w.item_category, "q": w.item_quality,
                                   "a": w.item_annoyance}),
            "affinity": _arrays(affinity=w.user_affinity)}


def case_ab() -> dict[str, pd.DataFrame]:
    sim = simulate_ab(n_units=300, split={"control": 0.4, "treatment": 0.4, "b": 0.2}, effect_scale={"b": 2.0},
                      srm_drop=0.2, hide_lift=0.1, latency_shift=0.05, seed=5)
    default = simulate_ab(n_units=120, seed=0)
    return {"units": sim.units, "truth": _truth(sim.truth), "default": default.units,
            "default_truth": _truth(default.truth)}


def case_ab_panel() -> dict[str, pd.DataFrame]:
    panel, truth = simulate_ab_panel(n_units=50, n_days=8, enroll_days=3, seed=2)
    return {"panel": panel, "truth": _truth(truth)}


def case_ab_log() -> dict[str, pd.DataFrame]:
    req, cand, truth = simulate_ab_log(n_users=80, split={"control": 0.5, "treatment": 0.3, "b": 0.2},
                                       latency_shift=0.1, n_dual_assigned=5, seed=4)
    req0, cand0, truth0 = simulate_ab_log(n_users=40, seed=0)
    return {"requests": req, "candidates": cand, "truth": _truth(truth), "requests0": req0, "candidates0": cand0,
            "truth0": _truth(truth0)}


def case_holdout() -> dict[str, pd.DataFrame]:
    return {"units": simulate_holdout(n_units=300, seed=7).units}


def case_switchback() -> dict[str, pd.DataFrame]:
    sb = simulate_switchback(n_clusters=3, n_blocks=20, carryover_effect=0.2, events_per_block=8, seed=4)
    design = SwitchbackDesign()
    sched = validate_schedule(sb.schedule, design)
    blocks, counts = aggregate_events(sb.events, sched, burn_in_minutes=10)
    ev = sb.events.assign(den=np.arange(len(sb.events)) % 3)
    ratio, ratio_counts = aggregate_events(ev, sched, aggregate="ratio", denominator_col="den")
    total, _ = aggregate_events(ev, sched, aggregate="sum")
    r = randomization_test(blocks, design, m=1, n_draws=300, seed=2)
    w = np.array([[True, False] * 10 + [False, True] * 10] * 2)
    y = switchback_block_outcomes(w, np.tile(np.arange(20), 2), np.repeat([0, 1], 20), noise_ar=0.3, seed=9)
    return {"schedule": sb.schedule, "events": sb.events, "validated": sched, "blocks": blocks, "ratio": ratio,
            "sum": total, "counts": pd.DataFrame([counts, ratio_counts]), "randomization": r.to_frame(),
            "block_outcomes": _arrays(y=y)}


def case_schedules() -> dict[str, pd.DataFrame]:
    out = {}
    for design in (SwitchbackDesign(), SwitchbackDesign("balanced", 0.3),
                   SwitchbackDesign("minimax", carryover_order=2)):
        out[design.kind] = make_schedule(n_clusters=2, n_blocks=14, design=design, seed=6)
    return out


def case_validation() -> dict[str, pd.DataFrame]:
    frame = make_dirty()
    log, report = validate_long_frame(frame, source="dirty", options=ValidationOptions(
        require_propensity=True, as_of=AS_OF, unit_column="user_id"))
    out = {"requests": log.requests, "candidates": log.candidates, "quarantine": report.quarantine,
           "issues": report.to_frame(), "counts": _truth(report.quarantine_counts)}
    log2, report2 = read_decision_log(frame.drop(columns=["propensity"]), as_of=AS_OF, rewards=["click"],
                                      request_columns=["surface"], max_position=2, full_candidate_set=False)
    out.update({"requests2": log2.requests, "candidates2": log2.candidates, "issues2": report2.to_frame(),
                "counts2": _truth(report2.quarantine_counts)})
    return out


CASES = {name[5:]: fn for name, fn in globals().copy().items() if name.startswith("case_")}


def _path(case: str, name: str) -> Path:
    return FROZEN / f"{case}.{name}.parquet"


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns of lists or mixed values as text, so that Parquet stores them."""
    frame = frame.reset_index(drop=True).copy()
    frame.columns = [str(c) for c in frame.columns]
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].map(lambda v: None if v is None or v is pd.NA else repr(v)).astype(object)
    return frame


@pytest.mark.parametrize("case", sorted(CASES))
def test_frozen_output(case: str) -> None:
    frames = CASES[case]()
    stored = sorted(p.name.split(".")[1] for p in FROZEN.glob(f"{case}.*.parquet"))
    assert stored == sorted(frames), f"{case}: outputs {sorted(frames)} but frozen {stored}"
    for name, frame in frames.items():
        expected = pd.read_parquet(_path(case, name))
        pd.testing.assert_frame_equal(_plain(frame), expected, check_exact=False, rtol=1e-12, atol=0,
                                      obj=f"{case}.{name}")


def _write() -> None:
    FROZEN.mkdir(exist_ok=True)
    for case, fn in CASES.items():
        for name, frame in fn().items():
            plain = _plain(frame)
            plain.to_parquet(_path(case, name), index=False)
            pd.testing.assert_frame_equal(plain, pd.read_parquet(_path(case, name)), check_exact=True)


if __name__ == "__main__":
    sys.exit(_write())
