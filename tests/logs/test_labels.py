"""Label windows: mature labels are 0/1 (or summed values), immature ones are missing, never 0."""

import numpy as np
import pandas as pd
import pytest

from recsys_causal import ConfigError, LabelSpec, SchemaError, read_decision_log, simulate_decision_log


def test_parse_specs():
    s = LabelSpec.parse("click within 30m as click_30m")
    assert (s.column, s.event, s.window, s.aggregate) == ("click_30m", "click", pd.Timedelta(minutes=30), "any")
    with pytest.raises(ConfigError, match="within"):
        LabelSpec.parse("click in 30 minutes")


def test_hand_worked_windows(frame):
    frame = frame.drop(columns=["click"])
    events = pd.DataFrame({
        "request_id": ["r1", "r2", "r3", "r1", "r2"],
        "item_id": ["a", "a", "c", "b", "a"],
        "event": ["purchase", "purchase", "purchase", "purchase", "purchase"],
        # r1/a after 2 days (inside 7d); r2/a after 8 days (outside); r1/b is not shown
        "event_time": ["2026-06-03T10:00:00Z", "2026-06-09T09:00:00Z", "2026-06-02T10:00:00Z",
                       "2026-06-01T12:00:00Z", "2026-06-01T09:30:00Z"],
        "value": [10.0, 20.0, 5.0, 1.0, 2.0],
    })
    log, report = read_decision_log(
        frame, outcome_events=events, as_of="2026-06-08T12:00:00Z",
        labels=["purchase within 7d", "value of purchase within 7d as revenue"],
    )
    purchase = log.reward("purchase")
    revenue = log.reward("revenue")
    # r1 (decided 06-01 10:00) and r2 (06-01 09:00) have closed windows at 06-08 12:00; r3 (06-02 09:30) has not
    shown = log.shown
    assert purchase[shown].tolist()[:2] == [1.0, 1.0]  # r2/a: the 09:30 event is inside the window
    assert revenue[shown].tolist()[:2] == [10.0, 2.0]
    assert np.isnan(purchase[shown][2]) and np.isnan(revenue[shown][2])  # immature, not 0
    assert np.isnan(purchase[~shown]).all()
    assert report.issue("outcome_on_unshown").count == 1
    assert report.issue("immature_label").count == 1
    assert report.issue("immature_label").examples == ("r3",)


def test_labels_from_simulated_events_match_simulated_outcomes():
    sim = simulate_decision_log(n_requests=500, n_candidates=6, slate_size=2, seed=3, with_events=True)
    frame = sim.log.to_long_frame().drop(columns=["click", "purchase", "hide"])
    log, report = read_decision_log(frame, outcome_events=sim.outcome_events, labels=["click within 30d"],
                                    as_of="2027-06-01T00:00:00Z")
    np.testing.assert_array_equal(log.reward("click"), sim.log.reward("click"))
    assert not report.has("immature_label")


def test_broken_events_hand_worked(frame):
    """Hand-worked: a retried event counts once, broken events leave their labels missing (not 0), and every
    event is accounted for (read = used + quarantined + excluded)."""
    frame = frame.drop(columns=["click"])
    events = pd.DataFrame({
        "request_id": ["r1", "r1", "r2", "r3", "r3", None],
        "item_id": ["a", "a", "a", "c", "c", "a"],
        "event": ["purchase"] * 6,
        # r1/a twice (an exact retry); r2/a with a non-numeric value; r3/c: one event with no time, one valid
        "event_time": ["2026-06-03T10:00:00Z", "2026-06-03T10:00:00Z", "2026-06-02T10:00:00Z", "",
                       "2026-06-04T10:00:00Z", "2026-06-04T10:00:00Z"],
        "value": ["10", "10", "ten", "4", "6", "1"],
    })
    log, report = read_decision_log(frame, outcome_events=events, as_of="2026-07-01T00:00:00Z",
                                    labels=["purchase within 7d", "value of purchase within 7d as revenue"])
    shown = log.shown
    purchase, revenue = log.reward("purchase")[shown], log.reward("revenue")[shown]
    # shown candidates in request order: r1/a, r2/a, r3/c
    np.testing.assert_array_equal(purchase, [1.0, np.nan, 1.0])  # r3/c: a valid event makes the 0/1 label known
    np.testing.assert_array_equal(revenue, [10.0, np.nan, np.nan])  # r3/c: 6 + unknown is unknown
    assert report.events_quarantined == {"missing_event_key": 1, "unparsable_event_time": 1,
                                         "invalid_event_value": 1}
    assert report.events_excluded == {"duplicate_outcome_event": 1}
    assert (report.n_events_read, report.n_events_used) == (6, 2)
    assert report.reconciles()
    assert report.event_quarantine["quarantine_reason"].tolist() == [
        "invalid_event_value", "unparsable_event_time", "missing_event_key"]  # in file order
    assert report.issue("invalid_event_value").examples == ("r2",)


def test_whole_column_event_problems_are_typed_errors(frame):
    events = pd.DataFrame({"request_id": ["r1"], "item_id": ["a"], "event": ["click"], "event_time": [""]})
    with pytest.raises(SchemaError, match="empty on all 1 events"):
        read_decision_log(frame.drop(columns=["click"]), outcome_events=events, labels=["click within 1d"])
    events["event_time"] = ["2026-06-01T11:00:00"]
    with pytest.raises(SchemaError, match="no timezone"):
        read_decision_log(frame.drop(columns=["click"]), outcome_events=events, labels=["click within 1d"])
