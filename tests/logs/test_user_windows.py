"""User-level and chained label windows against hand-built event tables whose labels are worked by hand."""

import numpy as np
import pandas as pd
import pytest

from recsys_causal import ConfigError, LabelSpec, SchemaError
from recsys_causal.logs import DecisionLog, ValidationReport, attach_labels
from recsys_causal.logs.window_sums import window_sums

T0 = pd.Timestamp("2026-06-01T00:00:00Z")
DAY, SEC = pd.Timedelta(days=1), pd.Timedelta(seconds=1)
NO_EVENTS = pd.DataFrame(columns=["request_id", "item_id", "event", "event_time"])


def _log(rows) -> DecisionLog:
    """rows: (request_id, user_id, decision_time, [(item_id, shown), ...])."""
    req = pd.DataFrame({"request_id": [r[0] for r in rows], "user_id": [r[1] for r in rows],
                        "decision_time": pd.DatetimeIndex([r[2] for r in rows])})
    cand = pd.DataFrame([{"request_id": r[0], "item_id": i, "shown": s, "position": k + 1 if s else np.nan}
                         for r in rows for k, (i, s) in enumerate(r[3])])
    return DecisionLog.from_frames(req, cand)


def _events(rows) -> pd.DataFrame:
    """rows: (request_id, item_id, event, time[, value[, user_id]])."""
    out = pd.DataFrame({"request_id": [r[0] for r in rows], "item_id": [r[1] for r in rows],
                        "event": [r[2] for r in rows],
                        "event_time": [r[3].isoformat() if isinstance(r[3], pd.Timestamp) else r[3] for r in rows],
                        "value": [r[4] if len(r) > 4 else 1.0 for r in rows]})
    if any(len(r) > 5 for r in rows):
        out["user_id"] = [r[5] if len(r) > 5 else None for r in rows]
    return out


def test_grammar_of_user_and_chained_specs():
    s = LabelSpec.parse("retention within 14d after exposure")
    assert (s.column, s.event, s.scope, s.window) == ("retention", "retention", "user", 14 * DAY)
    s = LabelSpec.parse("value of purchase within 30d by user as revenue_30d")
    assert (s.column, s.event, s.scope, s.aggregate) == ("revenue_30d", "purchase", "user", "sum")
    s = LabelSpec.parse("return within 30d after purchase as returned")
    assert (s.column, s.event, s.scope, s.anchor, s.anchor_window) == ("returned", "return", "chain", "purchase",
                                                                      None)
    assert LabelSpec.parse("retention after exposure", window=7 * DAY).window == 7 * DAY
    with pytest.raises(ConfigError, match="names window"):
        LabelSpec.parse("retention within 7d after exposure", window=7 * DAY)
    with pytest.raises(ConfigError, match="has no window"):
        LabelSpec.parse("retention after exposure")
    with pytest.raises(ConfigError, match="no value"):
        LabelSpec.parse("value of retention within 7d after exposure as r")
    with pytest.raises(ConfigError, match="cannot read"):
        LabelSpec.parse("return within 30d before purchase")


def test_retention_boundaries_immaturity_and_non_exposures():
    log = _log([
        ("a1", "u1", T0, [("x", True)]),
        ("a2", "u1", T0, [("y", True)]),               # same instant as a1: not "after" a1
        ("a3", "u1", T0 + 14 * DAY, [("x", True)]),    # exactly 14d after a1/a2: inside (end included)
        ("b1", "u2", T0, [("x", True)]),
        ("b2", "u2", T0 + 14 * DAY + SEC, [("x", False)]),  # 1 s too late for b1; not an exposure itself
        ("c1", "u3", T0 + 20 * DAY, [("x", True)]),    # window closes at day 34 > as_of (day 30): immature
        ("z1", None, T0, [("x", True)]),               # no user: no user-level label
    ])
    report = ValidationReport(source="log")
    out = attach_labels(log, NO_EVENTS, ["retention within 14d after exposure"], as_of=T0 + 30 * DAY,
                        report=report)
    got = out.requests.set_index("request_id")["retention"]
    # a1 and a2: a3 at +14d; a3: nothing later by day 28 (mature: 14 + 14 <= 30); b1: b2 is 1 s late
    assert got[["a1", "a2", "a3", "b1"]].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert np.isnan(got["b2"]) and np.isnan(got["c1"])  # not an exposure; immature (missing, never 0)
    assert np.isnan(got["z1"])
    assert out.metadata["request_labels"] == ("retention",)
    assert report.issue("immature_label").count == 1
    assert "retention" not in out.reward_columns  # a request column, not a candidate reward
    shorter = attach_labels(log, NO_EVENTS, ["retention within 14d after exposure as r"],
                            as_of=T0 + 30 * DAY).requests["r"]
    assert shorter.iloc[0] == 1.0
    just_short = attach_labels(log, NO_EVENTS, ["retention within 335h after exposure as r"], as_of=T0 + 30 * DAY)
    assert just_short.requests["r"].iloc[:2].tolist() == [0.0, 0.0]  # 13d23h: a3 falls outside


def test_repeat_purchase_by_user_any_item_and_accounting():
    log = _log([
        ("a1", "u1", T0, [("x", True), ("z", False)]),
        ("a2", "u1", T0 + 40 * DAY, [("x", True)]),
        ("b1", "u2", T0, [("x", True)]),
        ("c1", "u3", T0, [("x", True)]),              # a user with no events at all: 0
    ])
    ev = _events([
        ("a1", "x", "purchase", T0, 5.0),                      # at the exposure instant: inside [t, t + 30d]
        ("a2", "x", "purchase", T0 + 30 * DAY, 7.0),           # another request of u1, at exactly +30d: inside
        (None, None, "purchase", T0 + 30 * DAY + SEC, 100.0, "u1"),  # no request, user given: 1 s too late
        ("b1", "x", "purchase", T0 + 30 * DAY + SEC, 3.0),     # 1 s after b1's window
        ("a1", "z", "purchase", T0 + DAY, 2.0),                # on a not-shown item: any item counts by user
        ("b1", "x", "click", T0 + DAY, 1.0),                   # another event: not labelled
    ])
    report = ValidationReport(source="log")
    out = attach_labels(log, ev, ["repeat_purchase within 30d by user",
                                  "value of purchase within 30d by user as revenue_30d"],
                        as_of=T0 + 80 * DAY, report=report)
    r = out.requests.set_index("request_id")
    assert r["repeat_purchase"].tolist() == [1.0, 0.0, 0.0, 0.0]
    # a1: 5 + 7 + 2 (the 100 is 1 s late); a2 (day 40): every purchase is earlier: 0
    assert r["revenue_30d"].tolist() == [14.0, 0.0, 0.0, 0.0]
    # a1's events: used; the no-request event and b1's late purchase: outside every window; the click: unused
    assert report.n_events_read == 6 and report.n_events_used == 3
    assert report.events_excluded == {"event_not_labelled": 3} and report.events_quarantined == {}


def test_broken_event_makes_a_zero_user_label_missing():
    log = _log([("a1", "u1", T0, [("x", True)]), ("b1", "u2", T0, [("x", True)])])
    ev = _events([("a1", "x", "purchase", "not a time"), ("b1", "x", "purchase", T0 + DAY)])
    out = attach_labels(log, ev, ["purchase within 7d by user as p"], as_of=T0 + 10 * DAY)
    assert np.isnan(out.requests["p"].iloc[0]) and out.requests["p"].iloc[1] == 1.0


def test_chained_return_after_purchase():
    items = [(i, True) for i in "abcdef"]
    log = _log([("r1", "u1", T0, items), ("r2", "u2", T0 + 20 * DAY, [("a", True)])])
    p = "purchase"
    ev = _events([
        ("r1", "a", p, T0 + 2 * DAY), ("r1", "a", "return", T0 + 32 * DAY),            # end included: 1
        ("r1", "b", p, T0 + 8 * DAY), ("r1", "b", "return", T0 + 9 * DAY),             # purchase after 7d: 0
        ("r1", "c", p, T0 + DAY), ("r1", "c", "return", T0 + 31 * DAY + SEC),          # return 1 s late: 0
        ("r1", "d", "return", T0 + DAY),                                               # no purchase: 0
        ("r1", "e", p, T0 + DAY), ("r1", "e", p, T0 + 3 * DAY),
        ("r1", "e", "return", T0 + 32 * DAY),      # inside the 2nd purchase's window, not the first's: 0
        ("r1", "f", p, T0 + DAY), ("r1", "a", "return", T0 + DAY),  # f: its return is logged on item a: 0 for f
        ("r2", "a", p, T0 + 21 * DAY), ("r2", "a", "return", T0 + 22 * DAY),           # immature chain
    ])
    as_of = T0 + 40 * DAY  # r1: 0 + 7 + 30 <= 40 mature; r2: 20 + 37 > 40 immature
    report = ValidationReport(source="log")
    out = attach_labels(log, ev, ["purchase within 7d", "return within 30d after purchase"], as_of=as_of,
                        report=report)
    ret = out.reward("return")
    assert ret[:6].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0] and np.isnan(ret[6])
    explicit = attach_labels(log, ev, ["return within 30d after purchase within 7d as ret"], as_of=as_of)
    np.testing.assert_array_equal(explicit.reward("ret"), ret)
    # a 1-day anchor window drops b (day 8) as before and e's second purchase is irrelevant
    one_day = attach_labels(log, ev, ["return within 30d after purchase within 1d as ret"], as_of=as_of)
    assert one_day.reward("ret")[:6].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert report.reconciles() and report.n_events_read == len(ev)
    with pytest.raises(ConfigError, match="no window is given"):
        attach_labels(log, ev, ["return within 30d after purchase"], as_of=as_of)


def test_flagged_users_and_unavailable_items_are_excluded_and_counted():
    log = _log([
        ("a1", "u1", T0, [("x", True), ("y", True)]),
        ("b1", "u2", T0, [("x", True), ("y", True)]),
        ("c1", "u3", T0, [("x", True)]),
    ])
    ev = _events([("a1", "x", "purchase", T0 + DAY), ("b1", "y", "purchase", T0 + DAY)])
    flags = pd.DataFrame({
        "user_id": ["u1", "u1", None, None],
        "item_id": [None, None, "x", "y"],
        "flag": ["fraud_flag", "user_deleted", "item_unavailable", "item_unavailable"],
        # x unavailable for the whole 7d window; y only from day 3: it was available for part of it
        "start": [None, None, "2026-05-01T00:00:00Z", "2026-06-03T00:00:00Z"],
        "end": [None, None, "2026-06-08T00:00:00Z", None],
    })
    report = ValidationReport(source="log")
    out = attach_labels(log, ev, ["purchase within 7d", "purchase within 7d by user as p_user"],
                        as_of=T0 + 10 * DAY, report=report, flags=flags)
    purchase = out.reward("purchase")
    # a1 (u1 flagged): both missing; b1/x unavailable: missing; b1/y: 1; c1/x unavailable: missing
    assert np.isnan(purchase[[0, 1, 2, 4]]).all() and purchase[3] == 1.0
    assert out.requests["p_user"].isna().tolist() == [True, False, False]  # item flags leave user labels
    assert out.metadata["label_exclusions"] == {"flagged_user": {"fraud_flag": 3},
                                                "item_unavailable": {"item_unavailable": 2}}
    assert report.issue("flagged_user").count == 3 and report.issue("item_unavailable").count == 2


@pytest.mark.parametrize("flags, match", [
    (pd.DataFrame({"user_id": ["u1"]}), "flag"),
    (pd.DataFrame({"user_id": ["u1", None], "item_id": [None, None], "flag": ["f", "g"]}), "1 flag rows"),
    (pd.DataFrame({"item_id": ["x"], "flag": ["f"], "start": ["2026-06-01T00:00:00"]}), "timezone"),
    (pd.DataFrame({"item_id": ["x"], "flag": ["f"], "start": ["2026-06-05T00:00:00Z"],
                   "end": ["2026-06-01T00:00:00Z"]}), "end before"),
])
def test_bad_flags_tables_are_typed_errors(flags, match):
    log = _log([("a1", "u1", T0, [("x", True)])])
    with pytest.raises(SchemaError, match=match):
        attach_labels(log, NO_EVENTS, ["purchase within 7d"], as_of=T0 + 10 * DAY, flags=flags)


def test_window_sums_equal_a_brute_force_count():
    rng = np.random.default_rng(5)
    n_ev, n_a = 400, 300
    e_key, a_key = rng.integers(-1, 8, n_ev), rng.integers(-1, 8, n_a)
    e_t, a_t = rng.integers(0, 50, n_ev), rng.integers(0, 50, n_a)  # many ties on purpose
    w = rng.integers(0, 10, n_a)
    weight = rng.normal(size=n_ev)
    for include_start in (True, False):
        got = window_sums(a_key, a_t, e_key, e_t, weight, w, include_start=include_start)
        for i in range(n_a):
            low = e_t >= a_t[i] if include_start else e_t > a_t[i]
            inside = (e_key == a_key[i]) & (a_key[i] >= 0) & low & (e_t <= a_t[i] + w[i])
            assert got.counts[i] == inside.sum()
            assert got.sums[i] == pytest.approx(weight[inside].sum(), abs=1e-12)
        chosen = rng.random(n_a) < 0.3
        brute = np.zeros(n_ev, dtype=bool)
        for i in np.flatnonzero(chosen):
            low = e_t >= a_t[i] if include_start else e_t > a_t[i]
            brute |= (e_key == a_key[i]) & (a_key[i] >= 0) & low & (e_t <= a_t[i] + w[i])
        np.testing.assert_array_equal(got.events_in(chosen), brute)
