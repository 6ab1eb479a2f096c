"""Readouts at several horizons: each equals analyze_ab on mature units filtered by hand, with its counts."""

import json

import numpy as np
import pandas as pd
import pytest

from recsys_causal import ConfigError, IntervalError
from recsys_causal.experiments import analyze_ab
from recsys_causal.experiments.horizons import analyze_horizons
from recsys_causal.logs import DecisionLog
from recsys_causal.simulate.visits import simulate_visits

SPLIT = {"control": 0.5, "treatment": 0.5}


@pytest.fixture(scope="module")
def sim():
    return simulate_visits(n_users=500, seed=11)


@pytest.fixture(scope="module")
def log(sim):
    return DecisionLog.from_frames(sim.requests, sim.candidates)


def _hand_units(sim, h: float, purchases: bool = False) -> pd.DataFrame:
    """Mature units at horizon h, by plain pandas: clicks and impressions over [t0, t0 + h), retention = another
    request in (t0, t0 + h], repeat purchase = a purchase event of the user in [t0, t0 + h]."""
    req = sim.requests.copy()
    t0 = req.groupby("user_id")["decision_time"].transform("min")
    req["t0"] = t0
    win = pd.Timedelta(days=h)
    clicks = sim.candidates.groupby("request_id")["click"].sum()
    req["click"] = req["request_id"].map(clicks)
    inside = req.loc[req["decision_time"] < req["t0"] + win]
    units = inside.groupby("user_id").agg(variant=("variant", "first"), t0=("t0", "first"),
                                          click=("click", "sum"), impressions=("request_id", "size"))
    units["impressions"] *= sim.design.slate_size
    later = req.loc[(req["decision_time"] > req["t0"]) & (req["decision_time"] <= req["t0"] + win)]
    units["retention"] = units.index.isin(later["user_id"]).astype(float)
    if purchases:
        ev = sim.events.loc[sim.events["event"] == "purchase"].merge(req[["request_id", "user_id", "t0"]])
        hit = ev.loc[(ev["event_time"] >= ev["t0"]) & (ev["event_time"] <= ev["t0"] + win), "user_id"]
        units["repeat_purchase"] = units.index.isin(hit).astype(float)
    units = units.loc[units["t0"] + win <= sim.as_of]
    return units.reset_index()


@pytest.mark.parametrize("h", [7, 14, 30])
def test_each_horizon_equals_analyze_ab_on_hand_filtered_mature_units(sim, log, h):
    r = analyze_horizons(log, metrics=["click", "impressions", "retention"], outcomes=["retention after exposure"],
                         horizons=[7, 14, 30], as_of=sim.as_of, expected_split=SPLIT)
    hand = _hand_units(sim, h)
    ref = analyze_ab(hand, metrics=["click", "impressions", "retention"], expected_split=SPLIT, unit_col="user_id")
    for m in ("click", "impressions", "retention"):
        for rel in (False, True):
            got, want = r.lift(m, h, relative=rel), ref.lift(m, relative=rel)
            assert (got.value, got.se, got.ci_low, got.ci_high) == pytest.approx(
                (want.value, want.se, want.ci_low, want.ci_high), rel=1e-12, abs=1e-14)
            assert got.details["n_mature_units"] == len(hand) and got.name.endswith(f"@ {h}d")
    row = r.counts.set_index("horizon_days").loc[h]
    n_users = sim.requests["user_id"].nunique()
    assert row["units_used"] == len(hand) and row["units_immature"] == n_users - len(hand)
    assert row["requests_read"] == row["requests_used"] + row["requests_quarantined"] + row["requests_excluded"]


def test_immature_units_shrink_the_long_horizon_only(sim, log):
    r = analyze_horizons(log, metrics=["click"], horizons=[30, 7], as_of=sim.as_of)
    c = r.counts.set_index("horizon_days")
    assert r.horizons == (7, 30)
    # first exposures span 14 days and as_of is day 40: every 7-day window has closed, not every 30-day one
    assert c.loc[7, "units_immature"] == 0 and c.loc[30, "units_immature"] > 0
    late = sim.requests.groupby("user_id")["decision_time"].min() + pd.Timedelta(days=30) > sim.as_of
    assert c.loc[30, "units_immature"] == late.sum()


def test_flagged_users_are_excluded_and_counted_by_flag(sim, log):
    flags = pd.DataFrame({"user_id": ["u0", "u1", "u2", "nobody"],
                          "flag": ["fraud_flag", "user_deleted", "fraud_flag", "fraud_flag"]})
    plain = analyze_horizons(log, metrics=["click"], horizons=[7], as_of=sim.as_of)
    r = analyze_horizons(log, metrics=["click"], horizons=[7], as_of=sim.as_of, flags=flags)
    row = r.counts.iloc[0]
    assert (row["units_excluded_fraud_flag"], row["units_excluded_user_deleted"]) == (2, 1)
    assert row["units_used"] == plain.counts.iloc[0]["units_used"] - 3
    moved = sim.requests.loc[sim.requests["user_id"].isin(["u0", "u1", "u2"])].merge(
        sim.requests.groupby("user_id")["decision_time"].min().rename("t0").reset_index())
    moved = int((moved["decision_time"] < moved["t0"] + pd.Timedelta(days=7)).sum())
    assert row["requests_excluded"] == plain.counts.iloc[0]["requests_excluded"] + moved
    assert row["requests_read"] == row["requests_used"] + row["requests_quarantined"] + row["requests_excluded"]


def test_repeat_purchase_by_user_per_horizon(sim, log):
    r = analyze_horizons(log, metrics=["repeat_purchase"], outcomes=["repeat_purchase by user"], horizons=[14],
                         as_of=sim.as_of, events=sim.events)
    hand = _hand_units(sim, 14, purchases=True)
    assert hand["repeat_purchase"].sum() > 10
    ref = analyze_ab(hand, metrics=["repeat_purchase"], unit_col="user_id")
    assert r.lift("repeat_purchase", 14).value == pytest.approx(ref.lift("repeat_purchase", relative=False).value,
                                                                abs=1e-14)


def test_results_protocol(sim, log):
    r = analyze_horizons(log, metrics=["click"], horizons=[7, 14], as_of=sim.as_of, expected_split=SPLIT)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["horizons_days"] == [7, 14] and "lifts by horizon" in d["sections"]
    assert r["click treatment abs @ 14d"] is r.lift("click", 14)
    frame = r.to_frame()
    assert set(frame["horizon_days"]) == {7, 14} and "n_mature_units" in frame.columns
    assert "@ 7d" in r.summary() and "@ 14d" in r.to_markdown() and "<table" in r.to_html()
    e = r.lift("click", 7)
    assert tuple(r.conf_int().loc["click treatment abs @ 7d"]) == (e.ci_low, e.ci_high)
    with pytest.raises(IntervalError):  # the relative lifts' intervals are Fieller, not Wald
        r.conf_int(0.1)


@pytest.mark.parametrize("kwargs, match", [
    ({"horizons": [0, 7]}, "positive"),
    ({"horizons": [7, 7]}, "distinct"),
    ({"horizons": ["a week"]}, "not numbers"),
    ({"outcomes": ["click within 7d"]}, "names window"),
    ({"outcomes": ["click by user", "purchase by user as click"]}, "more than once"),
    ({"outcomes": ["return after purchase"]}, "not user-level"),
    ({"outcomes": ["purchase by user"]}, "need the outcome events"),
    ({"outcomes": ["retention after exposure as click"]}, "would replace"),
])
def test_bad_specs_are_config_errors(sim, log, kwargs, match):
    args = {"metrics": ["click"], "horizons": [7], "as_of": sim.as_of, **kwargs}
    with pytest.raises(ConfigError, match=match):
        analyze_horizons(log, **args)


def test_unknown_user_outcome_excludes_the_unit_and_counts_it(sim, log):
    ev = sim.events.copy()
    first = sim.requests.sort_values("decision_time").iloc[0]
    bad = pd.DataFrame({"request_id": [first["request_id"]], "item_id": ["i0_0"], "event": ["purchase"],
                        "event_time": ["not a time"], "value": [1.0]})
    ev = pd.concat([ev.assign(event_time=ev["event_time"].map(pd.Timestamp.isoformat)), bad], ignore_index=True)
    r = analyze_horizons(log, metrics=["repeat_purchase"], outcomes=["repeat_purchase by user"], horizons=[7],
                         as_of=sim.as_of, events=ev)
    hand = _hand_units(sim, 7, purchases=True)
    user = first["user_id"]
    expected = int(hand.loc[hand["user_id"] == user, "repeat_purchase"].iloc[0] == 0)
    assert r.counts.iloc[0]["units_excluded_unknown_outcome"] == expected
    assert r.counts.iloc[0]["units_used"] == len(hand) - expected
    assert np.isfinite(r.lift("repeat_purchase", 7).value)


def test_user_level_outcomes_follow_the_unit_column(sim):
    """With another unit column (an account holding the user), retention is any request of the same account."""
    req = sim.requests.assign(account=sim.requests["user_id"].str.replace("u", "a"), user_id=None)
    log = DecisionLog.from_frames(req, sim.candidates)
    r = analyze_horizons(log, metrics=["retention"], outcomes=["retention after exposure"], horizons=[14],
                         as_of=sim.as_of, unit_col="account")
    hand = _hand_units(sim, 14)
    ref = analyze_ab(hand, metrics=["retention"], unit_col="user_id")
    assert r.lift("retention", 14).value == pytest.approx(ref.lift("retention", relative=False).value, abs=1e-14)

